"""The budgets of the norm-agnostic attacks (``apgd``, ``square``): an L-infinity or an L2 ball
around the noisy image x, and optionally the box [0, 1].

- ``norm="linf"``: ||x' - x||_inf <= eps, eps on the [0, 1] scale (denoising-PGD's budget).
- ``norm="l2"``: ||x' - x||_2 <= eps * sqrt(m), m = C*H*W of the image: eps is a per-pixel RMS
  budget, the way OBSATK's rho = r sqrt(m) scales (Yan et al. 2022), so one eps reads the same on
  every image size and the L2 ball holds the L-infinity ball of the same eps.
- ``clip=True`` also keeps x' in [0, 1]. That is possible within the ball only when x itself is in
  [0, 1] (a noisy image that was clipped); an unclipped one is refused with ``clip=True``
  (``check_clip``), so that both constraints hold exactly. Then clipping after the ball's
  projection keeps x' in the ball (each value moves toward x).
"""

import math

import torch

from ..checks import real
from . import engine

NORMS = ("linf", "l2")


def norm_of(norm) -> str:
    """``norm`` checked: "linf" or "l2"."""
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r} is not supported: choose 'linf' or 'l2'")
    return norm


def eps_of(eps, norm: str) -> float:
    """The budget eps checked: finite, in [0, 1] (the [0, 1] scale; for "l2" a per-pixel RMS)."""
    what = "an L-infinity radius" if norm == "linf" else "a per-pixel RMS budget (L2 radius eps * sqrt(C*H*W))"
    return real(eps, "eps", at_least=0, at_most=1, hint=f"{what} on the [0, 1] scale: write 8/255, not 8")


def radius(norm: str, eps: float, x: torch.Tensor) -> float:
    """The ball's radius for images shaped like ``x`` (NCHW): eps, or eps * sqrt(C*H*W) for "l2"."""
    return eps if norm == "linf" else eps * math.sqrt(x[0].numel())


def check_clip(x: torch.Tensor, clip: bool) -> None:
    """With ``clip``, refuse noisy images outside [0, 1]: the ball around them may leave no point
    in [0, 1] (module docstring)."""
    if clip and bool(((x < 0) | (x > 1)).any()):
        raise ValueError("clip=True needs noisy images in [0, 1] (an unclipped value would leave the budget when "
                         "clipped): clip the noisy images first (x.clamp(0, 1)) or pass clip=False")


def project(norm: str, adv: torch.Tensor, x: torch.Tensor, r: float, clip: bool) -> torch.Tensor:
    """``adv`` projected onto the ball of radius ``r`` around ``x`` (per value for "linf"
    (``engine.project_linf``), by scaling x' - x per image for "l2"), then clipped to [0, 1] with
    ``clip``."""
    if norm == "linf":
        adv = engine.project_linf(adv, x, r)
    else:
        d = adv - x
        adv = x + d * torch.clamp(r / engine.norms(d).clamp_min(1e-12), max=1.0)
    return adv.clamp(0, 1) if clip else adv
