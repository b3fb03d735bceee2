"""OBSATK, the observation-based zero-mean attack: Yan et al., "Towards Adversarially Robust
Deep Image Denoising", IJCAI 2022 (arXiv:2201.04397), Sec. 3, Algorithm 1, run as its authors
run it.

For a noisy observation y of a clean image x (Yan et al.'s notation), find a zero-mean
perturbation delta with ||delta||_2 <= rho that maximizes ||f(y + delta) - x||_2^2:

    delta_0 = 0
    delta <- delta + eta * grad / ||grad||_2,  grad = grad_delta ||f(y + delta) - x||^2
    delta <- clip(y + delta, 0, 1) - y                 (their code, inside every step)
    delta <- delta - mean(delta)                       (eq. 4a: onto the zero-mean hyperplane)
    delta <- delta * min(1, rho / ||delta||_2)         (eq. 4b: onto the rho-ball)
    after T steps: y' = y + delta, made exact in [0, 1] (below)

Their Theorem 1: the two projections in this order give the exact projection onto the
intersection of the hyperplane and the ball (``project`` does it; the tests check it against a
numerical solver). The budget Atk-r is rho = r / 255 * sqrt(m), m the number of pixel values
(channels included); T = 5. In their protocol the observation is noisy at sigma - r, so that
the total noise energy stays that of sigma (``observation_sigma``; the attack declares it to its
callers, ``engine.declare``). The mean is taken per image over all its pixel values.

The defaults are the authors' evaluation (HanshuYAN/ObsAtk: ``L2PGDAttack`` of
``advertorch/attacks4IP/zero_mean_pgd.py`` as ``main_eval_single.py`` sets it: 5 steps from
delta = 0, ``eps_iter = 0.3 * eps``, clipping to [0, 1]); the paper gives none of them. Each of
our earlier rules stays as a named option:

- ``step``: "authors" divides the gradient by its L2 norm per image and steps eta = 0.3 rho;
  "ours" is the same direction with eta = 2.5 rho / T (0.5 rho at T = 5, the L2-PGD rule of
  Madry et al., our earlier default: 0.5 dB stronger than theirs on DnCNN-B at sigma 25);
  "gradient" is Algorithm 1 as printed, a plain gradient step, and needs an explicit ``eta``.
- ``clip``: "step" clips the observation y to [0, 1] first (their noisy observations are clipped:
  ``datasets/misc.py``) and y + delta in every step before the projections, as their loop does.
  Removing the mean after that clip pushes pixels the clip put on 0 or 1 slightly back out of
  [0, 1]; their code clips y + delta once more at the end, so its final perturbation is zero-mean
  only to about 0.005/255. We keep their loop and make the last projection exact instead: the
  mean is removed within [0, 1] (``centre``: the shift c that makes clip(y + delta - c, 0, 1) - y
  zero-mean), and the scaling into the ball keeps y + delta in [0, 1]. So on every image
  y' = y + delta lies in [0, 1], delta is zero-mean and ||delta|| <= rho, all three exactly, and
  y' differs from their output by that last shift alone (at most 0.005/255 per pixel on four
  128x128 Set12 crops with DnCNN-B, the same mean PSNR to 0.01 dB; their loop itself is chaotic at
  the level of rounding: moving its input by 1e-7 moves single output pixels by up to 0.5/255, so
  two runs agree pixel for pixel only with the same arithmetic). "final" is our earlier rule: no
  clipping in the loop, y + delta clipped once at the end, which breaks both constraints at
  saturated pixels (a final delta of 1.41 rho with mean 1.2/255 on a cameraman crop); "none"
  never clips (the trainer's samples).
- ``rho_size``: "average" takes m as the average number of pixel values over the images of the
  call, as their ``get_avg_size`` does over the test set: passed a whole test set at once (as
  the notebooks do), every image gets the authors' budget, and on the whole Set12 (256x256 and
  512x512) the 256x256 images get 1.5x the per-pixel budget of their own size. With one image
  size (the quick profile's crops) it is each image's own m. "per_image" is our earlier rule
  (each image's own m); an int is m itself. The paper profile runs whole test sets, so its
  budgets are the authors'.
"""

import math

import torch

from .. import checks
from ..checks import as_batch
from . import engine

STEP_RULES = ("authors", "ours", "gradient")
CLIP_RULES = ("step", "final", "none")
RHO_SIZES = ("average", "per_image")
AUTHORS_STEP = 0.3
"""eta / rho of the authors' evaluation (``main_eval_single.py``: ``eps_iter=0.3*l2_adv``)."""


def rho(r: float, pixels: float) -> float:
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


def _shift_in_box(delta: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Per image, clip(delta - c, low, high) with the c that makes its mean 0 (low <= 0 <= high).

    The mean is non-increasing in c: bisection between the c where every value sits on ``high``
    and the c where every value sits on ``low``, then c solved exactly on the values left free."""
    v, lo, hi = (t.flatten(1).double() for t in (delta, low, high))
    a, b = (v - hi).min(dim=1).values, (v - lo).max(dim=1).values
    for _ in range(64):
        c = (a + b) / 2
        above = torch.clamp(v - c[:, None], lo, hi).sum(dim=1) > 0
        a, b = torch.where(above, c, a), torch.where(above, b, c)
    c = (a + b) / 2
    z = v - c[:, None]
    free = (z > lo) & (z < hi)
    pinned = torch.where(z <= lo, lo, 0.0) + torch.where(z >= hi, hi, 0.0)
    exact = ((v * free).sum(dim=1) + pinned.sum(dim=1)) / free.sum(dim=1).clamp_min(1)
    c = torch.where(free.any(dim=1), exact, c)
    return torch.clamp(v - c[:, None], lo, hi).view_as(delta).to(delta.dtype)


def centre(delta: torch.Tensor, low: torch.Tensor | None = None, high: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 4a per image: delta minus its mean. Within a box [low, high] (per value, low <= 0 <=
    high: -y and 1 - y) the shift is the one that keeps the clipped result zero-mean, which is the
    mean itself for an image whose centred values all stay in the box."""
    centred = delta - delta.flatten(1).mean(dim=1).view(-1, 1, 1, 1)
    if low is None:
        return centred
    out = ((centred < low) | (centred > high)).flatten(1).any(dim=1)
    if bool(out.any()):
        centred = centred.clone()
        centred[out] = _shift_in_box(delta[out], low[out], high[out])
    return centred


def within(delta: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """delta clipped into [low, high] per value: with low = -y and high = 1 - y, clip(y + delta, 0, 1) - y."""
    return torch.max(torch.min(delta, high), low)


def project(delta: torch.Tensor, radius, low: torch.Tensor | None = None,
            high: torch.Tensor | None = None) -> torch.Tensor:
    """Eqs. 4a then 4b, per image: remove the mean, then scale into the L2 ball of ``radius``.
    With a box [low, high] (low <= 0 <= high), delta is first clipped into it (``within``) and its
    mean removed within it (``centre``); the scaling keeps it there."""
    if low is not None:
        delta = within(delta, low, high)
    centred = centre(delta, low, high)
    return centred * torch.clamp(radius / engine.norms(centred).clamp_min(1e-12), max=1.0)


def _pixels(noisy, rho_size) -> float | None:
    """m of rho for every image of the call: the average size, the given int, or None (each its own)."""
    if rho_size == "per_image":
        return None
    if rho_size == "average":
        sizes = [as_batch(x)[0].numel() for x in (noisy if isinstance(noisy, (list, tuple)) else [noisy])]
        return sum(sizes) / len(sizes) if sizes else None
    return checks.count(rho_size, "rho_size", least=1)


@engine.declare(observation)
def obsatk(model: torch.nn.Module, noisy, clean, *, r: float = 5.0, steps: int = 5, eta: float | None = None,
           step: str = "authors", clip: str = "step", rho_size="average", seed: int = 0):
    """OBSATK adversarial observations (module docstring: the authors' protocol by default).

    Args:
        noisy, clean: the observation y and the clean image x: NCHW tensors of one size, or lists
            of 1CHW tensors of mixed sizes.
        r: the budget Atk-r on the 0-255 scale (rho = r / 255 * sqrt(m)).
        steps: T.
        eta: step size; None gives 0.3 rho for ``step="authors"``, 2.5 rho / T for "ours".
        step: "authors", "ours" (both: the gradient divided by its L2 norm) or "gradient"
            (Algorithm 1 as printed; needs ``eta``).
        clip: "step" (the authors': y and y + delta in [0, 1] in every step, the output exactly
            zero-mean and within rho), "final" (ours: clip once at the end) or "none".
        rho_size: "average" (m averaged over the images given, the authors'), "per_image" or an int.
        seed: unused by the attack itself (it starts at delta = 0); kept for the common signature.
    """
    if step not in STEP_RULES:
        raise ValueError(f"unknown step rule {step!r}: choose one of {STEP_RULES}")
    if clip not in CLIP_RULES:
        raise ValueError(f"clip={clip!r}: choose one of {CLIP_RULES} ('step' is the authors' rule)")
    if not (rho_size in RHO_SIZES or isinstance(rho_size, int)):
        raise ValueError(f"rho_size={rho_size!r}: choose one of {RHO_SIZES} or give the number of pixel values")
    if step == "gradient" and eta is None:
        raise ValueError("step='gradient' needs an explicit eta (a plain gradient's scale depends on the model)")
    r, steps = checks.budget(r, "r", linf=False), checks.count(steps, "steps")
    eta = None if eta is None else checks.step_size(eta, "eta")
    pixels = _pixels(noisy, rho_size)

    def attack_batch(noisy, clean, seeds):
        y = as_batch(noisy, "noisy image").detach()
        if clip == "step":
            y = y.clamp(0, 1)
        budget = rho(r, pixels or y[0].numel())
        size = eta if eta is not None else AUTHORS_STEP * budget if step == "authors" else 2.5 * budget / max(steps, 1)
        box = (-y, 1 - y) if clip == "step" else (None, None)

        def move(adv, grad):
            if step != "gradient":
                grad = grad / engine.norms(grad).clamp_min(1e-12)
            return adv + size * grad

        def their_step(adv):  # clip y + delta (if "step"), then eqs. 4a, 4b
            return y + project(adv - y if box[0] is None else within(adv - y, *box), budget)

        adv = engine.run(model, y, clean, steps, lambda y: y.clone(), move, their_step)
        if clip == "step":  # the last projection made exact within [0, 1]
            adv = y + project(adv - y, budget, *box)
        return adv if clip == "none" else adv.clamp(0, 1)

    return engine.per_size(attack_batch, noisy, clean, seed)
