"""Train a registered model into our checkpoint and its model card (``python -m companion train``).

``train_model`` builds the model (from scratch, or from the weights of its ``init`` model),
trains it with its recipe for a profile (``recipes.recipe``; any override wins), folds what the
deployed network does not need, evaluates it as shipped and writes ``<name>.pt`` and its model
card ``<name>.json`` (``weights.save_ours``): how it was trained, on what, for how long, how well
it denoises (or deblurs), and the command that reproduces it. They go to ``outputs/checkpoints``
or the folder given, never into the package unless asked (``replace_shipped``).
"""

import time
from pathlib import Path

import numpy as np
import torch

from .. import config, data, evaluation, io, models, weights
from ..experiments import deblurring
from .recipes import recipe
from .trainer import from_recipe, recalibrate, train


EVALUATION_SETS = {1: ("set12",), 3: ("set3c", "cbsd68")}
"""The test sets of a model card, by the model's channels."""


class CannotTrain(ValueError):
    """A request the trainer refuses before training (one line, for the command line)."""


def eval_level(noise: str, cfg, gaussian_sigma: float) -> float:
    """The model card's test noise level: ``gaussian_sigma`` for Gaussian models, the training
    photon count for Poisson (the middle of a range), impulse probability 0.2 (Plummer & Hauser's
    "p0.2" model)."""
    if noise == "gaussian":
        return gaussian_sigma
    if noise == "poisson":
        return float(sum(cfg.sigma) / 2 if isinstance(cfg.sigma, tuple) else cfg.sigma)
    return 0.2


def train_model(model_name: str, profile: str = "quick", overrides: dict | None = None, eval_sigma: float = 25.0,
                dataset: str | None = None, device: str = "cpu", name: str | None = None,
                out: str | Path | None = None, state: str | Path | None = None,
                command: str = "python -m companion train", replace_shipped: bool = False) -> tuple:
    """Train registered model ``model_name`` with its ``profile`` recipe updated by ``overrides``
    (``TrainConfig`` fields or ``weight_init``; None values are ignored) on ``dataset`` (default:
    train400 gray, cbsd432 color); write checkpoint ``name`` (default the model's) and its card
    into ``out`` (default ``weights.user_checkpoints()``, outputs/checkpoints; the package's
    companion/checkpoints only with ``replace_shipped``), resuming from ``state`` (default
    outputs/train/<name>.state.pt). ``command`` is what the card says reproduces it.

    Everything that can be refused is refused before training: an unknown or classical model,
    a bad configuration, a folder inside the package, a folder that cannot be written.
    Returns ``(checkpoint path, card)``; raises ``CannotTrain`` for an identity start of a
    fine-tuned model and for a training set that is not available, ``trainer.Diverged`` for a
    NaN or infinite loss (nothing written).
    """
    entry = models.spec(model_name)
    device = config.device(device)
    fields = recipe(model_name, profile)
    fields.update({k: v for k, v in (overrides or {}).items() if v is not None})
    cfg, extras = from_recipe(fields)
    recalibrate_batches, store_half = extras["recalibrate_batches"], extras["store_half"]
    if entry.init and extras["weight_init"] == "identity":
        raise CannotTrain(f"{model_name} is fine-tuned from {entry.init}; an identity start is for training from "
                          "scratch")
    name = name or model_name
    target = weights.checkpoint_path(name, out, replace_shipped)
    io.writable(target.parent, "the checkpoint's folder, --out")
    state = Path(state or config.project_root() / "outputs" / "train" / f"{name}.state.pt").expanduser()
    if state.is_dir():
        raise CannotTrain(f"the training state {state} is a folder; give a file path (--state)")
    io.writable(state.parent, "the training state's folder, --state")
    dataset = dataset or ("train400" if entry.channels == 1 else "cbsd432")
    torch.manual_seed(cfg.seed)
    if entry.init:
        model = models.create(entry.init, device=device)
        initialized_from = f"{entry.init}, {model.info['weights']}"
    else:
        model = entry.build(**dict(entry.train_kwargs)).to(device)
        if extras["weight_init"] == "identity":
            model.start_from_identity()
    images = data.load(dataset, color=entry.channels == 3)
    if images.source == "fallback":
        raise CannotTrain(f"{dataset} is not available (fallback images); set {config.DATA_ENV}")
    result = train(model, images, cfg, state)
    recalibrate(model, images, cfg, recalibrate_batches)
    model = model.deployable()
    if store_half:  # evaluate the weights as shipped
        model = model.half().float()
    level = eval_level(entry.noise, cfg, eval_sigma)
    if entry.bindable:
        model.sigma = float(level)
    scores = {}
    noise_kwargs = {"dispersion": cfg.dispersion} if cfg.dispersion else {}
    for test_set in EVALUATION_SETS[entry.channels]:
        if cfg.mode == "deblur":  # unrolled networks run LGD_EVAL_STEPS, as Gandikota et al. evaluate them
            level, deblurrer = deblurring.SIGMA, deblurring.Deblurrer(model, name, deblurring.LGD_EVAL_STEPS)
            rows = deblurring.evaluate(deblurrer, data.load(test_set, device=device))
            noise_kwargs = {"blur": "circular, Levin et al.'s 8 kernels (image i: kernel i mod 8)",
                            **({"unrolled_steps": deblurrer.steps} if deblurrer.steps else {})}
        else:
            rows, _ = evaluation.denoising(model, data.load(test_set, device=device), entry.noise, level,
                                           seed=0, **noise_kwargs)
        scores[test_set] = {"psnr": round(float(np.mean([r["psnr"] for r in rows])), 3),
                            "ssim": round(float(np.mean([r["ssim"] for r in rows])), 4)}
    trained_level = (f"U[{cfg.sigma[0]:g}, {cfg.sigma[1]:g}] per patch" if isinstance(cfg.sigma, tuple)
                     else f"{cfg.sigma:g}")
    card = {
        "name": name, "model": model_name, "architecture": repr(model).splitlines()[0].rstrip("("),
        "variant": entry.variant, "parameters": sum(p.numel() for p in model.parameters()), "paper": entry.paper,
        "notes": entry.notes, "profile": profile, "trained_by": "companion.train: " + command,
        "data": f"{dataset} ({len(images)} images, {'color' if entry.channels == 3 else 'gray'}), "
                f"random {cfg.patch_size}x{cfg.patch_size} patches with the 8 flips/rotations",
        "noise": f"{cfg.noise}, level {trained_level}" + {"noise2noise": ", noisy targets (Noise2Noise)",
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
        "evaluation": {"noise": "blur + gaussian" if cfg.mode == "deblur" else entry.noise, "level": level,
                       **noise_kwargs, "seed": 0, **scores,
                       "conventions": "noise unclipped, image i seeded with i, output clipped"},
        "date": time.strftime("%Y-%m-%d"),
    }
    path = weights.save_ours(name, model.half() if store_half else model, card, target.parent, replace_shipped)
    return path, card


def summary(path: Path, card: dict) -> str:
    """The line ``python -m companion train`` prints: where the checkpoint went and its scores."""
    evaluated = card["evaluation"]
    scores = ", ".join(f"{k} {evaluated[k]['psnr']:.2f} dB / SSIM {evaluated[k]['ssim']:.4f}"
                       for k in EVALUATION_SETS[models.spec(card["model"]).channels])
    return (f"wrote {path} and its model card: {evaluated['noise']} {evaluated['level']:g}: {scores}; "
            f"load it with models.create({card['model']!r}, weights={str(path)!r})")
