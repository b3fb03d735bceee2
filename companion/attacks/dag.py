"""DAG on denoisers: Dense Adversary Generation (Xie et al., ICCV 2017) as Plummer & Hauser adapt it
("Learning-based denoising with adversarial noise", Sec. 4; facts from their code,
``tasks/adversarial_denoising/DAG.py``).

Xie et al. perturb an image so that every pixel of a segmentation takes an adversarial label: each
step follows the normalized gradient of the summed margin (adversarial score minus true score) over
the pixels not yet fooled. Plummer & Hauser turn this on a denoiser D: they start from the *clean*
image x, take the *noisy* image y as the target output, and look for a perturbation delta such that
D(x + delta) reproduces y, i.e. for noise the denoiser lets through:

    x'_t = clip(x + delta_t, 0, 1),          o_t = clip(D(x'_t), 0, 1)
    m_t  = 1 where o_t is still far from y:  |o_t - y| >= tolerance  (per pixel or per value)
    r_t  = sum(m_t * o_t * (y - x))          (the "adversarial minus true" score, target y, truth x)
    delta_{t+1} = clamp(delta_t + gamma * m_t * grad r_t / ||grad r_t||_2, -1, 1)

until no pixel is active. The step has L2 norm at most gamma, so ``steps * gamma`` bounds
||delta||_2. The authors' settings per noise type (``SETTINGS``): Gaussian 40 steps, gamma 0.1, a
pixel is done when its three channels together are within 0.04; Poisson 20, 0.5, each value
within 0.01; impulse 20, 0.07, each value equal to the target after casting to 8 bits (here:
within 1/255).

Interpretations and options:
- The gradient is normalized per image (the authors attack one image at a time), so a batch gives
  the same result as its images one by one.
- The original bounds delta only by [-1, 1]; ``eps`` adds the L-infinity projection onto
  ||delta||_inf <= eps, the usual constraint of an adversarial example (issue option).
- ``dag_trace`` also returns, per step, the fraction of active pixels and the mean distance
  |o_t - y| of each image, the quantities the stopping rule watches.
"""

import torch

from ..checks import as_batch, check_unit_range
from ..evaluation import eval_mode
from . import engine

SETTINGS = {
    "gaussian": dict(steps=40, gamma=0.1, tolerance=0.04, per="pixel"),
    "poisson": dict(steps=20, gamma=0.5, tolerance=0.01, per="value"),
    "impulse": dict(steps=20, gamma=0.07, tolerance=1 / 255, per="value"),
}
"""Plummer & Hauser's DAG settings per noise type (their code; see the module docstring)."""


def _active(out: torch.Tensor, target: torch.Tensor, tolerance: float, per: str) -> torch.Tensor:
    """The mask m_t: 1 where the output is still at least ``tolerance`` from the target."""
    gap = (out - target).abs()
    if per == "pixel":
        gap = gap.sum(dim=1, keepdim=True).expand_as(out)
    return (gap >= tolerance).float()


def dag_trace(model: torch.nn.Module, clean, target, steps: int = 40, gamma: float = 0.1, tolerance: float = 0.04,
              per: str = "pixel", eps: float | None = None) -> tuple:
    """DAG (module docstring) from ``clean`` toward the output ``target`` (the noisy image).

    Returns ``(adversarial, trace)``: the adversarial inputs clip(x + delta, 0, 1), NCHW, and
    ``{'active': steps x N, 'distance': steps x N}`` (fraction of active values, mean |o_t - y|),
    one row per step taken. The model is used in eval mode and left in the mode it had.
    """
    x = as_batch(clean, "clean image").detach()
    check_unit_range(x, "clean image")
    y = as_batch(target, "target image").detach().to(x.device)
    if x.shape != y.shape:
        raise ValueError(f"clean {tuple(x.shape)} and target {tuple(y.shape)} differ in shape")
    if per not in ("pixel", "value"):
        raise ValueError(f"per must be 'pixel' or 'value', got {per!r}")
    if steps < 0 or gamma <= 0 or tolerance <= 0 or (eps is not None and eps < 0):
        raise ValueError(f"need steps >= 0, gamma > 0, tolerance > 0 and eps >= 0 or None; got steps={steps}, "
                         f"gamma={gamma}, tolerance={tolerance}, eps={eps}")
    bound = 1.0 if eps is None else min(float(eps), 1.0)
    delta = torch.zeros_like(x)
    direction = y - x
    active_rows, distance_rows = [], []
    with eval_mode(model):
        for _ in range(steps):
            adv = (x + delta).clamp(0, 1).requires_grad_(True)
            with torch.enable_grad():
                out = model(adv).clamp(0, 1)
                mask = _active(out.detach(), y, tolerance, per)
                grad, = torch.autograd.grad((mask * out * direction).sum(), adv)
            active_rows.append(mask.flatten(1).mean(1).cpu())
            distance_rows.append((out.detach() - y).abs().flatten(1).mean(1).cpu())
            if not mask.any():
                break
            norm = grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            step = torch.where(norm > 0, gamma * grad / norm.clamp_min(1e-12), torch.zeros_like(grad))
            delta = engine.project_linf(delta + mask * step, torch.zeros_like(delta), bound)
    trace = {"active": torch.stack(active_rows) if active_rows else torch.empty(0, len(x)),
             "distance": torch.stack(distance_rows) if distance_rows else torch.empty(0, len(x))}
    return (x + delta).clamp(0, 1).detach(), trace


def dag(model: torch.nn.Module, clean, target, steps: int = 40, gamma: float = 0.1, tolerance: float = 0.04,
        per: str = "pixel", eps: float | None = None) -> torch.Tensor:
    """The adversarial inputs of ``dag_trace`` alone."""
    return dag_trace(model, clean, target, steps, gamma, tolerance, per, eps)[0]
