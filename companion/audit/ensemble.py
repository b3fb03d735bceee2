"""The attack ensemble of an audit: who attacks, at which budgets, through which gradient.

Members (``MEMBERS``), each a function ``(model, noisy, clean, eps, norm, seed, protocol)``:

- ``apgd`` (Croce & Hein 2020, adapted to regression: ``attacks.apgd``), L-infinity and L2, at
  every budget of the curves: the parameter-free white-box attack;
- ``square`` (Andriushchenko et al. 2020: ``attacks.square``), L-infinity and L2, at every budget:
  gradient-free, so a masked gradient cannot hide a weakness from it;
- ``pgd``: denoising-PGD at the paper's settings (Ning et al. Sec. III-B), L-infinity;
- ``transfer``: DnCNN-S's cached denoising-PGD set (``adversarial_sets``), black-box, L-infinity;
- ``bpda_apgd`` / ``eot_apgd``: APGD through BPDA (Athalye et al. 2018, Sec. 4.1; identity
  stand-in) for a model whose gradient is absent or zero, and through an EOT-averaged gradient
  (Athalye et al. 2018, Sec. 4.3; ``EOT_SAMPLES`` draws) for a randomized model, added
  automatically (``plan``);
- ``obsatk``: Yan et al.'s Atk-5 on its own protocol (observation at sigma - r), reported per
  attack for comparability and kept out of the worst case (its observation is another image).

The controls of the masking checks (``masking``) are members that never enter the worst case:
``random`` (noise of the same budget), ``apgd_long`` (more iterations and restarts) and
``apgd_unbounded`` (an L-infinity radius of 1). ``clean`` is the Gaussian baseline (no attack).

The ensemble's robust PSNR of an image is the minimum over the members that ran at that budget,
as AutoAttack reports an image robust only when every attack fails (Croce & Hein 2020, Sec. 5).
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..attacks import BPDA, denoising_pgd, engine, obsatk
from ..attacks.engine import ZeroGradientWarning
from ..models.base import NotDifferentiableError
from ..noise import draw_per_image
from .protocol import PAPER_OBSATK_R, PAPER_PGD_STEPS, Protocol

NORMS = ("linf", "l2")
EOT_SAMPLES = 8
"""Draws averaged per EOT gradient (Athalye et al. 2018 average tens; 8 keeps a CPU audit short)."""


class EOT(nn.Module):
    """A randomized model with an averaged output under gradient (Expectation over
    Transformation): ``samples`` draws averaged when a gradient is taken, one draw otherwise."""

    def __init__(self, model: nn.Module, samples: int = EOT_SAMPLES):
        super().__init__()
        self.model, self.samples = model, samples
        self.info = {"name": f"EOT({getattr(model, 'info', {}).get('name', type(model).__name__)})"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (torch.is_grad_enabled() and x.requires_grad):
            return self.model(x)
        return torch.stack([self.model(x) for _ in range(self.samples)]).mean(0)


def _apgd(model, noisy, clean, eps, norm, seed, p: Protocol, steps=None, restarts=1):
    from ..attacks.apgd import apgd

    return apgd(model, noisy, clean, eps=eps, steps=steps or p.apgd_steps, norm=norm, seed=seed, restarts=restarts)


def _square(model, noisy, clean, eps, norm, seed, p: Protocol):
    from ..attacks.square import square

    return square(model, noisy, clean, eps=eps, queries=p.square_queries, norm=norm, seed=seed)


def _pgd(model, noisy, clean, eps, norm, seed, p: Protocol):
    return denoising_pgd(model, noisy, clean, eps=eps, steps=PAPER_PGD_STEPS, seed=seed)


def _obsatk(model, noisy, clean, eps, norm, seed, p: Protocol):
    return obsatk(model, noisy, clean, r=eps * 255.0, steps=PAPER_PGD_STEPS, seed=seed)


def _random(model, noisy, clean, eps, norm, seed, p: Protocol):
    """Noise of the attack's budget without its direction: a random sign at +-eps per value
    (L-infinity, a corner of the ball as the attacks reach) or a Gaussian direction scaled onto
    the L2 sphere of radius eps sqrt(C H W)."""
    if norm == "linf":
        return noisy + draw_per_image(noisy, seed, lambda rs, shape: rs.choice([-eps, eps], size=shape))
    direction = draw_per_image(noisy, seed, lambda rs, shape: rs.standard_normal(shape))
    radius = eps * math.sqrt(noisy[0].numel())
    return noisy + direction / engine.norms(direction) * radius


def _long(model, noisy, clean, eps, norm, seed, p: Protocol):
    return _apgd(model, noisy, clean, eps, norm, seed, p, steps=p.apgd_steps * p.more_steps,
                 restarts=p.more_restarts)


def _unbounded(model, noisy, clean, eps, norm, seed, p: Protocol):
    return _apgd(model, noisy, clean, 1.0, "linf", seed, p, steps=p.unbounded_steps)


@dataclass(frozen=True)
class Member:
    """One attack of the ensemble: its function, its kind ('gradient', 'gradient-free',
    'transfer', 'control', 'baseline'), the gradient it takes ('raw', 'bpda', 'eot' or None for
    none), and whether its result enters the worst case (``worst``)."""

    name: str
    run: object
    kind: str
    through: str | None
    worst: bool = True


MEMBERS = {m.name: m for m in (
    Member("clean", None, "baseline", None, False),
    Member("apgd", _apgd, "gradient", "raw"),
    Member("square", _square, "gradient-free", None),
    Member("pgd", _pgd, "gradient", "raw"),
    Member("transfer", None, "transfer", None),
    Member("obsatk", _obsatk, "gradient", "raw", False),
    Member("bpda_apgd", _apgd, "gradient", "bpda"),
    Member("eot_apgd", _apgd, "gradient", "eot"),
    Member("random", _random, "control", None, False),
    Member("apgd_long", _long, "control", "raw", False),
    Member("apgd_unbounded", _unbounded, "control", "raw", False),
)}
"""Every member by name (module docstring)."""


def through(model: nn.Module, mode: str | None) -> nn.Module:
    """``model`` as a member taking gradient ``mode`` sees it: itself ('raw' or None), behind BPDA
    with the identity stand-in ('bpda'), or behind EOT ('eot')."""
    if mode == "bpda":
        return BPDA(model)
    if mode == "eot":
        return EOT(model)
    return model


def probe(model: nn.Module, noisy: torch.Tensor, clean: torch.Tensor) -> dict:
    """What the model's gradient looks like on one batch: ``status`` 'ok', 'absent' (no gradient:
    ``NotDifferentiableError``), 'zero' (exactly zero: ``ZeroGradientWarning``) or 'non-finite';
    ``randomized`` when two forward passes on the same input differ; the gradient's L2 norm and the
    share of exactly-zero values as evidence."""
    with torch.no_grad():
        randomized = not torch.equal(model(noisy), model(noisy))
    x = noisy.detach().clone().requires_grad_(True)
    out = {"randomized": bool(randomized), "grad_norm": None, "zero_share": None}
    try:
        with torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("error", ZeroGradientWarning)
            loss = ((model(x) - clean) ** 2).sum()
            grad = engine.input_gradient(model, loss, x, first=True)
    except NotDifferentiableError:
        return {**out, "status": "absent"}
    except ZeroGradientWarning:
        return {**out, "status": "zero", "grad_norm": 0.0, "zero_share": 1.0}
    finite = bool(torch.isfinite(grad).all())
    out.update(grad_norm=float(grad.norm()) if finite else float("nan"), zero_share=float((grad == 0).float().mean()))
    out["status"] = "ok" if finite else "non-finite"
    return out


def plan(status: str, randomized: bool, kind: str) -> dict:
    """``{member: gradient mode}`` of the members an audit runs, chosen from the gradient probe:
    raw gradient members only where a gradient exists; ``bpda_apgd`` where it is absent, zero or
    non-finite; ``eot_apgd`` for a randomized model. The paper's comparators (``pgd``,
    ``transfer``, ``obsatk``) attack denoisers only (a restorer's observation is blurred)."""
    raw = status in ("ok", "zero")
    chosen = {"clean": None, "square": None, "random": None}
    if raw:
        chosen.update(apgd="raw", apgd_long="raw", apgd_unbounded="raw")
    if status != "ok":
        chosen["bpda_apgd"] = "bpda"
        if not raw:
            chosen.update(apgd_long="bpda", apgd_unbounded="bpda")
    if randomized:
        chosen["eot_apgd"] = "eot"
    if kind != "restorer":
        chosen["transfer"] = None
        if raw:
            chosen.update(pgd="raw", obsatk="raw")
    return chosen


def worst_case(psnr: dict) -> np.ndarray:
    """Per image the lowest PSNR over the members given (``{member: per-image PSNRs}``)."""
    return np.min(np.stack([np.asarray(v, dtype=np.float64) for v in psnr.values()]), axis=0)


def obsatk_budget() -> float:
    """OBSATK's L2 budget as a per-pixel RMS: r / 255 (``attacks.obsatk.rho``)."""
    return PAPER_OBSATK_R / 255.0
