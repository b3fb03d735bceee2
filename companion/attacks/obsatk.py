"""OBSATK, the observation-based zero-mean attack: Yan et al., "Towards Adversarially Robust
Deep Image Denoising", IJCAI 2022 (arXiv:2201.04397), Sec. 3, Algorithm 1.

For a noisy observation y of a clean image x (Yan et al.'s notation), find a zero-mean
perturbation delta with ||delta||_2 <= rho that maximizes ||f(y + delta) - x||_2^2:

    delta_0 = 0
    delta <- delta + eta * step(grad_delta ||f(y + delta) - x||^2)
    delta <- delta - mean(delta)                       (eq. 4a: onto the zero-mean hyperplane)
    delta <- delta * min(1, rho / ||delta||_2)         (eq. 4b: onto the rho-ball)
    after T steps: y' = clip(y + delta, 0, 1)

Their Theorem 1: the two projections in this order give the exact projection onto the
intersection of the hyperplane and the ball (``project`` does it; the tests check it against a
numerical solver). The budget Atk-r is rho = r / 255 * sqrt(m), m the number of pixel values
(channels included); T = 5. In their protocol the observation is noisy at sigma - r, so that
the total noise energy stays that of sigma (``observation_sigma``; the attack declares it to its
callers, ``engine.declare``).

The step rule: Algorithm 1 writes a plain gradient step, whose scale depends on the model and
the image; ``step="normalized"`` (the default) divides the gradient by its L2 norm per image, the
rule of L2 PGD (Madry et al. 2018), with eta = 2.5 rho / T so that T steps can cross the ball.
``step="gradient"`` is the literal rule and needs an explicit ``eta``. The mean is taken per
image over all its pixel values (channels included), like rho's m.
"""

import math

import torch

from ..checks import as_batch
from . import engine

STEP_RULES = ("normalized", "gradient")


def rho(r: float, pixels: int) -> float:
    """Atk-r's L2 budget for an image of ``pixels`` values: r / 255 * sqrt(pixels)."""
    return r / 255.0 * math.sqrt(pixels)


def observation_sigma(sigma: float, r: float) -> float:
    """The noise level of the observation before an Atk-r attack: sigma - r (Yan et al.)."""
    if r > sigma:
        raise ValueError(f"the attack budget r={r} exceeds the noise level sigma={sigma}")
    return sigma - r


def observation(sigma: float, params: dict) -> float:
    """What OBSATK declares (``engine.declare``): its observation is noisy at sigma - r, r given
    in ``params``."""
    if "r" not in params:
        raise ValueError("give every OBSATK entry its budget r: the observation's noise level is sigma - r")
    return observation_sigma(sigma, params["r"])


def project(delta: torch.Tensor, radius) -> torch.Tensor:
    """Eqs. 4a then 4b, per image: remove the mean, then scale into the L2 ball of ``radius``."""
    centred = delta - delta.flatten(1).mean(dim=1).view(-1, 1, 1, 1)
    return centred * torch.clamp(radius / engine.norms(centred).clamp_min(1e-12), max=1.0)


@engine.declare(observation)
def obsatk(model: torch.nn.Module, noisy, clean, *, r: float = 5.0, steps: int = 5, eta: float | None = None,
           step: str = "normalized", clip: bool = True, seed: int = 0):
    """OBSATK adversarial observations (module docstring).

    Args:
        noisy, clean: the observation y and the clean image x: NCHW tensors of one size, or lists
            of 1CHW tensors of mixed sizes.
        r: the budget Atk-r on the 0-255 scale (rho = r / 255 * sqrt(m)).
        steps: T.
        eta: step size; for ``step="normalized"`` None gives 2.5 rho / T.
        step: "normalized" (gradient / its L2 norm) or "gradient" (Algorithm 1 as written).
        clip: clip y + delta to [0, 1] at the end (Algorithm 1).
        seed: unused by the attack itself (it starts at delta = 0); kept for the common signature.
    """
    if step not in STEP_RULES:
        raise ValueError(f"unknown step rule {step!r}: choose one of {STEP_RULES}")
    if step == "gradient" and eta is None:
        raise ValueError("step='gradient' needs an explicit eta (a plain gradient's scale depends on the model)")
    if r < 0 or steps < 0:
        raise ValueError(f"r and steps must be >= 0, got r={r}, steps={steps}")

    def attack_batch(noisy, clean, seeds):
        y = as_batch(noisy, "noisy image").detach()
        budget = rho(r, y[0].numel())
        size = 2.5 * budget / max(steps, 1) if eta is None else float(eta)

        def move(adv, grad):
            if step == "normalized":
                grad = grad / engine.norms(grad).clamp_min(1e-12)
            return adv + size * grad

        adv = engine.run(model, y, clean, steps, lambda y: y.clone(), move,
                         lambda adv: y + project(adv - y, budget))
        return adv.clamp(0, 1) if clip else adv

    return engine.per_size(attack_batch, noisy, clean, seed)
