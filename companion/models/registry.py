"""The model registry: ``ModelSpec`` entries, ``register``, ``create``, ``list_models``, ``spec``.

The generic mechanism only, as timm's ``_registry.py``: it knows no model. Each architecture
module declares its registered names and pretrained configurations beside its class and calls
``register``; ``companion.models`` imports them all. ``weights.resolve`` finds the weights an
entry names.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import config
from .. import weights as wts
from ..checks import lookup, noise_level
from .base import Denoiser


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    family: 'non-blind' (one noise level), 'blind', 'plug-and-play', 'unfolding' or 'classical'.
    sigma: the noise level (0-255) the weights were trained for, or the default a non-blind
        model with a noise-level input (FFDNet) is bound to; None for blind models.
    bindable: True when ``create(name, sigma=...)`` may bind another noise level.
    official / ours: the weight key in ``weights.OFFICIAL`` / our checkpoint name, if any.
    train_kwargs: what ``build`` gets to make the training network (the papers train DnCNN and
        FFDNet with batch normalization; ``deployable()`` folds it after training).
    variant: 'full' (the paper's size) or 'reduced' (narrower, so that we can train it on a CPU).
    noise: the noise the weights were trained to remove: 'gaussian', 'poisson' or 'impulse'.
    init: the registered model whose best weights training starts from (fine-tuning), if any.
    collection: 'zoo' (the deep denoisers of the papers), 'adversarial_training' (notebook 04's
        DnCNNs trained by each mode of ``train.TrainConfig.adversarial``), 'classical' (notebook
        05's model-driven denoisers: no weights, no gradient, bound to a noise level) or
        'noise2noise' (notebook 08's U-Nets trained on noisy targets, one per noise and loss),
        'deblurring' (notebook 07's deblurring networks, restorers of ``forward(y, kernel, sigma)``) or
        'real_noise' (notebook 10's color DnCNN-Cs trained normally, with vAT and with HAT).
    layout: for an official file in its authors' layout, ``layout(path, strip_prefix)`` reads it
        into this class's state_dict (renamed keys, converted arrays: ``models/layouts.py``); None
        when the file's keys are ours. How well each layout is checked: ``weights.WeightFile.verified``.

    How each is trained is the trainer's business: ``companion.train.recipe(name, profile)``.
    """

    name: str
    build: Callable[..., Denoiser]
    channels: int
    family: str
    paper: str
    sigma: float | None = None
    bindable: bool = False
    official: str | None = None
    ours: str | None = None
    notes: str = ""
    train_kwargs: tuple = ()
    variant: str = "full"
    noise: str = "gaussian"
    init: str | None = None
    collection: str = "zoo"
    layout: Callable | None = None


TRAIN_WITH_BATCH_NORM = (("batch_norm", True),)
"""``ModelSpec.train_kwargs`` of a network its paper trains with batch normalization."""

MODELS: dict = {}
"""Registered name -> ``ModelSpec``, in the order of registration."""


def register(*entries: ModelSpec) -> None:
    """Add ``entries`` to the registry; a name registered twice is an error."""
    for entry in entries:
        if entry.name in MODELS:
            raise ValueError(f"model {entry.name!r} is registered twice")
        MODELS[entry.name] = entry


def list_models(channels: int | None = None, family: str | None = None, collection: str | None = None) -> list:
    """Registered model names, sorted, optionally only gray (1) / color (3) ones, one family or one
    collection ('zoo', 'adversarial_training', 'classical', 'noise2noise', 'deblurring' or 'real_noise')."""
    return sorted(n for n, s in MODELS.items() if (channels is None or s.channels == channels)
                  and (family is None or s.family == family) and (collection is None or s.collection == collection))


def spec(name: str) -> ModelSpec:
    """The registry entry ``name``."""
    return lookup(MODELS, name, "model", list_models())


def create(name: str, weights: str | Path | None = "best", sigma: float | None = None,
           device: str | torch.device = "cpu") -> Denoiser:
    """Build registered model ``name`` in eval mode.

    Args:
        weights: 'best' (official if available, else ours), 'official', 'ours', a path to a
            state_dict file, or None (random initialization); see ``weights.resolve``.
        sigma: noise level (0-255, finite, >= 0) to bind a non-blind model with a noise-level
            input to (FFDNet); defaults to the registry's. Refused for models that cannot take it.
        device: 'cpu', 'cuda', 'auto', ...
    """
    entry = spec(name)
    if sigma is not None:
        sigma = noise_level(sigma)
    if sigma is not None and not entry.bindable:
        raise ValueError(f"{name} cannot be bound to a noise level (it is {entry.family}"
                         + (f", trained for sigma {entry.sigma:g}: pick dncnn_s15/s25/s50" if entry.sigma else "")
                         + "); create it without sigma")
    model = entry.build(sigma=float(sigma if sigma is not None else entry.sigma or 0.0))
    info = {"name": name, "family": entry.family, "paper": entry.paper,
            "sigma": entry.sigma if sigma is None else sigma}
    if entry.family == "classical":
        if weights not in (None, "best"):
            raise wts.WeightsError(f"{name} is a classical method and has no weights; create it without weights=")
        info["weights"] = "none (classical method)"
    elif weights is None:
        info["weights"] = "none (random init)"
    else:
        path, prefix, info["weights"] = wts.resolve(entry, weights)
        authors = entry.layout is not None and info["weights"].startswith("official")
        wts.load_into(model, entry.layout(path, prefix) if authors else wts.read_state_dict(path, prefix), str(path))
    model.info = info
    return model.eval().to(config.device(device))
