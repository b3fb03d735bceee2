"""Which zoo models a notebook can use, and our reduced variants standing in for the papers'.

The papers' DPIR, CurvPnP, DeamNet and FAN are too large to train on a CPU and have no official
file we can fetch for all of them; where their weights are absent, our reduced variant (trained
by us, see its model card) stands in, and ``model.info['stands_in_for']`` says so.
"""

import torch

from ..weights import short_reason
from .registry import create, list_models, spec

STAND_INS = {"dpir_gray": "dpir_small_gray", "dpir_color": "dpir_small_color", "curvpnp": "curvpnp_small",
             "deamnet": "deamnet_small", "fan": "fan_small"}
"""The paper's model -> our reduced variant of the same architecture."""


def denoises_gaussian(name: str, sigma: float, channels: int) -> bool:
    """True when model ``name`` takes ``channels`` channels and can remove Gaussian noise of
    level ``sigma``: blind, trained for that sigma, or bindable to it."""
    s = spec(name)
    return s.channels == channels and s.noise == "gaussian" and (s.sigma in (None, sigma) or s.bindable)


def gaussian_models(sigma: float, channels: int) -> list:
    """Every zoo model that ``denoises_gaussian(name, sigma, channels)``."""
    return [n for n in list_models(channels, collection="zoo") if denoises_gaussian(n, sigma, channels)]


def load(names: list, sigma: float, device: str | torch.device = "cpu", channels: int | None = None) -> tuple:
    """Create each model of ``names`` with its best weights, bound to ``sigma`` if it takes one.

    A model whose weights are missing is replaced by its stand-in (``STAND_INS``) when that one
    loads; a model that cannot be used is skipped. Returns ``(loaded, skipped)``:
    ``{name: model}`` in the order asked (stand-ins under their own name, once) and
    ``{name: reason}``. An unknown name, or one of the wrong ``channels``, is an error.
    """
    for name in names:
        if spec(name).channels != (channels or spec(name).channels):
            raise ValueError(f"{name} is a {spec(name).channels}-channel model; this list takes {channels}-channel "
                             f"models: {', '.join(gaussian_models(sigma, channels))}")
    loaded, skipped = {}, {}
    for name in names:
        for candidate in [name] + ([STAND_INS[name]] if name in STAND_INS else []):
            if candidate in loaded:
                break
            try:
                model = create(candidate, sigma=sigma if spec(candidate).bindable else None, device=device)
            except Exception as err:  # missing or corrupt weights: say why, try the stand-in
                skipped[candidate] = short_reason(err)
                continue
            if candidate != name:
                model.info["stands_in_for"] = name
            loaded[candidate] = model
            break
    return loaded, skipped
