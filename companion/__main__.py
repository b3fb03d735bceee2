"""Command line: ``python -m companion reproduce | train | models | datasets``."""

import argparse
import sys
from pathlib import Path

from . import config


def _reproduce(args) -> int:
    from .reproduce import ParameterError, parse_value, run

    params = {}
    for item in args.param:
        if "=" not in item:
            print(f"error: --param takes key=value, got {item!r}", file=sys.stderr)
            return 2
        key, value = item.split("=", 1)
        params[key] = parse_value(value)
    only = [k for part in args.only for k in part.split(",") if k] if args.only else None
    try:
        info = run(args.profile, args.device, only, args.output, params, force=args.force)
    except (ParameterError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, state in info["notebooks"].items():
        print(f"{name:28s} {state['status']}" + (f"  ({state['elapsed_s']} s)" if state.get("elapsed_s") else ""))
    print(f"summary: {info['summary']['markdown']}\n         {info['summary']['html']}")
    return 0 if all(s["status"].startswith("done") for s in info["notebooks"].values()) else 1


def _train(args) -> int:
    """Train a zoo model with its recipe for ``--profile`` (flags override it), from scratch or
    from the weights of its ``init`` model, and write our checkpoint and its model card."""
    import time

    import numpy as np
    import torch

    from . import data, deblurring, evaluation, models, train, weights

    entry = models.spec(args.model)
    device = config.device(args.device)
    recipe = entry.recipe(args.profile)
    overrides = {"steps": args.steps, "batch_size": args.batch_size, "patch_size": args.patch_size, "lr": args.lr,
                 "sigma": tuple(args.sigma_range) if args.sigma_range else args.sigma, "seed": args.seed,
                 "weight_init": args.weight_init}
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    cfg, extras = train.from_recipe(recipe)
    recalibrate_batches, store_half = extras["recalibrate_batches"], extras["store_half"]
    if entry.init and extras["weight_init"] == "identity":
        print(f"error: {args.model} is fine-tuned from {entry.init}; an identity start is for training from scratch",
              file=sys.stderr)
        return 2
    dataset = args.dataset or ("train400" if entry.channels == 1 else "cbsd432")
    torch.manual_seed(cfg.seed)
    if entry.init:
        model = models.create(entry.init, device=device)
        initialized_from = f"{entry.init}, {model.info['weights']}"
    else:
        model = entry.build(**dict(entry.train_kwargs)).to(device)
        if extras["weight_init"] == "identity":
            model.start_from_identity()
    images = data.load(dataset, color=entry.channels == 3)
    if not images.comparable:
        print(f"error: {dataset} is not available (fallback images); set {config.DATA_ENV}", file=sys.stderr)
        return 2
    name = args.name or args.model
    state = Path(args.state or config.project_root() / "outputs" / "train" / f"{name}.state.pt")
    result = train.train(model, images, cfg, state)
    train.recalibrate(model, images, cfg, recalibrate_batches)
    model = model.deployable()
    if store_half:  # evaluate the weights as shipped
        model = model.half().float()
    eval_level = _eval_level(entry.noise, cfg, args.eval_sigma)
    if entry.bindable:
        model.sigma = float(eval_level)
    evaluation_sets = ["set12"] if entry.channels == 1 else ["set3c", "cbsd68"]
    scores = {}
    noise_kwargs = {"dispersion": cfg.dispersion} if cfg.dispersion else {}
    for test_set in evaluation_sets:
        if cfg.mode == "deblur":
            steps = deblurring.LGD_EVAL_STEPS if args.model == "lgd_small" else None  # as Gandikota et al.
            eval_level, deblurrer = deblurring.SIGMA, deblurring.Deblurrer(model, name, steps)
            rows = deblurring.evaluate(deblurrer, data.load(test_set, device=device))
            noise_kwargs = {"blur": "circular, Levin et al.'s 8 kernels (image i: kernel i mod 8)",
                            **({"unrolled_steps": deblurrer.steps} if deblurrer.steps else {})}
        else:
            rows, _ = evaluation.denoising(model, data.load(test_set, device=device), entry.noise, eval_level,
                                           seed=0, **noise_kwargs)
        scores[test_set] = {"psnr": round(float(np.mean([r["psnr"] for r in rows])), 3),
                            "ssim": round(float(np.mean([r["ssim"] for r in rows])), 4)}
    level = (f"U[{cfg.sigma[0]:g}, {cfg.sigma[1]:g}] per patch" if isinstance(cfg.sigma, tuple) else f"{cfg.sigma:g}")
    card = {
        "name": name, "model": args.model, "architecture": repr(model).splitlines()[0].rstrip("("),
        "variant": entry.variant, "parameters": sum(p.numel() for p in model.parameters()), "paper": entry.paper,
        "notes": entry.notes, "profile": args.profile,
        "trained_by": "companion.train: " + " ".join(["python -m companion"] + sys.argv[1:]),
        "data": f"{dataset} ({len(images)} images, {'color' if entry.channels == 3 else 'gray'}), "
                f"random {cfg.patch_size}x{cfg.patch_size} patches with the 8 flips/rotations",
        "noise": f"{cfg.noise}, level {level}" + {"noise2noise": ", noisy targets (Noise2Noise)",
                                                  "deblur": f", after a random blur of the {cfg.kernels} bank "
                                                  "(train.training_kernels)"}.get(cfg.mode, ""),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(cfg).items()},
        "recalibrated_statistics": f"running statistics re-estimated on {recalibrate_batches} batches after training"
        if recalibrate_batches else "as trained",
        "training_network": "with batch normalization, folded into the convolutions after training"
        if dict(entry.train_kwargs).get("batch_norm") else "as shipped",
        "from_scratch": not entry.init, **({"initialized_from": initialized_from} if entry.init else {
            "weight_init": "identity (Denoiser.start_from_identity)" if extras["weight_init"] == "identity"
            else "PyTorch's default"}),
        "stored_as": "float16 (loads into float32)" if store_half else "float32",
        "device": str(device), "torch": torch.__version__,
        "wall_time_s": round(result["elapsed_s"]), "final_loss": float(np.mean(result["loss"][-100:])),
        "evaluation": {"noise": "blur + gaussian" if cfg.mode == "deblur" else entry.noise, "level": eval_level,
                       **noise_kwargs, "seed": 0, **scores,
                       "conventions": "noise unclipped, image i seeded with i, output clipped"},
        "date": time.strftime("%Y-%m-%d"),
    }
    path = weights.save_ours(name, model.half() if store_half else model, card, args.out)
    print(f"wrote {path} and its model card: {card['evaluation']['noise']} {eval_level:g}: "
          + ", ".join(f"{k} {v['psnr']:.2f} dB / SSIM {v['ssim']:.4f}" for k, v in scores.items()))
    return 0


def _eval_level(noise: str, cfg, gaussian_sigma: float) -> float:
    """The model card's test noise level: ``--eval-sigma`` for Gaussian models, the training
    photon count for Poisson (the middle of a range), impulse probability 0.2 (Plummer & Hauser's
    "p0.2" model)."""
    if noise == "gaussian":
        return gaussian_sigma
    if noise == "poisson":
        return float(sum(cfg.sigma) / 2 if isinstance(cfg.sigma, tuple) else cfg.sigma)
    return 0.2


def _models(args) -> int:
    from .models import MODELS

    for name, s in MODELS.items():
        print(f"{name:18s} {s.channels}ch {s.family:14s} {s.variant:8s} official={s.official or '-':18s} "
              f"ours={s.ours or '-':17s} {s.paper}{'; ' + s.notes if s.notes else ''}")
    return 0


def _datasets(args) -> int:
    from .data import DATASETS, manifest, resolve

    for name, d in DATASETS.items():
        where = ""
        if args.resolve:
            try:
                r = resolve(name)
                where = f"  -> {r.source}: {r.folder}"
            except Exception as err:
                where = f"  -> not found ({type(err).__name__})"
        print(f"{name:10s} {len(manifest(name)):4d} files  {d.description}{where}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run the notebooks headless and write the summary report")
    rep.add_argument("--profile", default="quick", choices=sorted(config.PROFILES))
    rep.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    rep.add_argument("--only", action="append", help="notebook numbers or names, e.g. 01,03")
    rep.add_argument("--output", help="run folder (default outputs/<profile>-<device>)")
    rep.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="a notebook parameter (JSON values: -p sigma=15 -p 'models=[\"dncnn_b\"]')")
    rep.add_argument("--force", action="store_true", help="rerun notebooks that already finished")
    rep.set_defaults(func=_reproduce)
    tr = sub.add_parser("train", help="train a registered model (from scratch, or from its init model) into "
                                      "our checkpoint + model card")
    tr.add_argument("model")
    tr.add_argument("--profile", default="quick", choices=sorted(config.PROFILES),
                    help="the model's training recipe: quick (CPU, minutes) or paper (its paper's, for a GPU)")
    tr.add_argument("--steps", type=int, help="override the recipe's number of steps")
    tr.add_argument("--batch-size", type=int)
    tr.add_argument("--patch-size", type=int)
    tr.add_argument("--lr", type=float)
    tr.add_argument("--sigma", type=float, help="training noise level (0-255)")
    tr.add_argument("--sigma-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                    help="draw the level per patch from [LOW, HIGH] (blind / noise-map models)")
    tr.add_argument("--seed", type=int)
    tr.add_argument("--weight-init", choices=("default", "identity"),
                    help="start from PyTorch's default initialization or from the identity (residual conv stacks)")
    tr.add_argument("--eval-sigma", type=float, default=25.0, help="Gaussian level of the model card's test")
    tr.add_argument("--dataset", help="training set (default: train400 gray, cbsd432 color)")
    tr.add_argument("--device", default="cpu")
    tr.add_argument("--name", help="checkpoint name (default: the model name)")
    tr.add_argument("--out", help="folder for the checkpoint (default: companion/checkpoints)")
    tr.add_argument("--state", help="resumable training state (default: outputs/train/<name>.state.pt)")
    tr.set_defaults(func=_train)
    sub.add_parser("models", help="list the model zoo").set_defaults(func=_models)
    ds = sub.add_parser("datasets", help="list the datasets")
    ds.add_argument("--resolve", action="store_true", help="also say where each one is found")
    ds.set_defaults(func=_datasets)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
