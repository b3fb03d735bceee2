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
- The loop asks the device whether any pixel is active only every ``CHECK_EVERY`` steps (one
  host round trip each); the steps in between are exact no-ops once none is, and the trace is
  cut at the step where the rule stops, so the result is that of checking every step.
"""

import torch

from ..checks import as_batch, budget, check_noisy_range, check_unit_range, count, real, step_size
from ..evaluation import eval_mode
from . import engine

CHECK_EVERY = 8
"""Steps between the checks of the stopping rule on the host. A step after the last active pixel
changes nothing (its mask, hence its step, is zero), so checking every step would only cost a
device-to-host round trip each; the trace is cut where the rule stops."""

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
    one row per step taken. The model is used in eval mode and left in the mode it had. The
    arguments are checked first (``companion.checks``): clean finite in [0, 1], the target finite
    on the [0, 1] scale, whole steps >= 0, finite gamma and tolerance > 0, eps in [0, 1] or None.
    """
    x = as_batch(clean, "clean image").detach()
    check_unit_range(x, "clean image")
    y = as_batch(target, "target image").detach().to(x.device)
    check_noisy_range(y, "target image")
    if x.shape != y.shape:
        raise ValueError(f"clean {tuple(x.shape)} and target {tuple(y.shape)} differ in shape")
    if per not in ("pixel", "value"):
        raise ValueError(f"per must be 'pixel' or 'value', got {per!r}")
    steps, gamma = count(steps, "steps"), step_size(gamma, "gamma")
    tolerance = real(tolerance, "tolerance", above=0, hint="the distance at which an output value is done")
    bound = 1.0 if eps is None else budget(eps, "eps")
    delta = torch.zeros_like(x)
    direction = y - x
    active_rows, distance_rows = [], []
    with eval_mode(model):
        for t in range(steps):
            adv = (x + delta).clamp(0, 1).requires_grad_(True)
            with torch.enable_grad():
                out = model(adv).clamp(0, 1)
                mask = _active(out.detach(), y, tolerance, per)
                done = t % CHECK_EVERY == 0 and not mask.any()
                grad = engine.input_gradient(model, (mask * out * direction).sum(), adv, first=t == 0 and not done)
            active_rows.append(mask.flatten(1).mean(1))
            distance_rows.append((out.detach() - y).abs().flatten(1).mean(1))
            if done:
                break
            norm = grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            step = torch.where(norm > 0, gamma * grad / norm.clamp_min(1e-12), torch.zeros_like(grad))
            delta = engine.project_linf(delta + mask * step, torch.zeros_like(delta), bound)
    if not active_rows:
        return (x + delta).clamp(0, 1).detach(), {"active": torch.empty(0, len(x)), "distance": torch.empty(0, len(x))}
    active, distance = torch.stack(active_rows).cpu(), torch.stack(distance_rows).cpu()
    finished = (active.sum(1) == 0).nonzero()
    taken = int(finished[0]) + 1 if len(finished) else len(active)  # the steps the per-step stopping rule takes
    return (x + delta).clamp(0, 1).detach(), {"active": active[:taken], "distance": distance[:taken]}


def dag(model: torch.nn.Module, clean, target, steps: int = 40, gamma: float = 0.1, tolerance: float = 0.04,
        per: str = "pixel", eps: float | None = None) -> torch.Tensor:
    """The adversarial inputs of ``dag_trace`` alone."""
    return dag_trace(model, clean, target, steps, gamma, tolerance, per, eps)[0]
