"""Command line: ``python -m companion reproduce | train | models | datasets``."""

import argparse
import sys

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
    """Train a zoo model with its recipe for ``--profile`` (flags override it) into our checkpoint
    and its model card (``train.card.train_model``)."""
    from .train.card import CannotTrain, summary, train_model

    overrides = {"steps": args.steps, "batch_size": args.batch_size, "patch_size": args.patch_size, "lr": args.lr,
                 "sigma": tuple(args.sigma_range) if args.sigma_range else args.sigma, "seed": args.seed,
                 "weight_init": args.weight_init}
    try:
        path, card = train_model(args.model, args.profile, overrides, args.eval_sigma, args.dataset, args.device,
                                 args.name, args.out, args.state, " ".join(["python -m companion"] + sys.argv[1:]))
    except CannotTrain as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary(path, card))
    return 0


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
