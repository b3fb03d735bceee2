"""L2-denoising-PGD: Ning et al. (arXiv:2306.16050), Sec. V-C, Algorithm 1.

The L-infinity attack changes the noise distribution a little; this variant keeps the whole
noise x' - y inside an L2 ball, so that its energy never exceeds that of a Gaussian noise:

    x'_0 = x + g,                      g ~ N(0, s^2) per pixel (a Gaussian, not uniform, start)
    x'_{t+1} = x'_t + alpha * sign(grad_{x'} ||D(x'_t) - y||^2),   alpha = eps / T
    x'_{t+1} = y + clip_L2(x'_{t+1} - y, radius)

with ``clip_L2(d, r) = d * min(1, r / ||d||_2)`` per image.

Interpretations, where Algorithm 1 is silent:
- ``radius`` defaults to ||x - y||_2 per image, the norm of the Gaussian noise itself: the
  adversarial noise is then a rotation of the Gaussian noise, never a louder one. Pass a number
  to bound it by that instead.
- The Gaussian start's standard deviation ``start_std`` defaults to eps / sqrt(3), the standard
  deviation of the uniform start U[-eps, eps] of the L-infinity attack, so the two attacks start
  equally far from x.
- Algorithm 1 ends each step by clipping to the image range. Our noisy images are unclipped
  (the official DnCNN convention), and clipping them would itself change the noise at dark and
  bright pixels, so ``clip=False`` is the default; ``clip=True`` follows Algorithm 1 to the letter
  (use it for noisy images that were themselves clipped).
- Seeds, batching and the model's mode follow ``denoising_pgd``: image i's start is seeded
  ``seed + i``.
"""

import math

import torch

from ..checks import as_batch, budget, count, real, step_size
from ..noise import draw_per_image
from . import engine
from .linf_pgd import GRAY_EPS


@engine.declare()
def l2_denoising_pgd(model: torch.nn.Module, noisy, clean, *, eps: float = GRAY_EPS, steps: int = 5,
                     alpha: float | None = None, radius: float | None = None, start_std: float | None = None,
                     seed: int = 0, clip: bool = False, step: str = "sign"):
    """Adversarial noisy images whose noise x' - y stays within an L2 ball (module docstring).

    Args:
        noisy, clean: NCHW tensors of one size, or lists of 1CHW tensors of mixed sizes.
        eps: sets the step alpha = eps / T (as in Algorithm 1) and the start's scale.
        steps: T.
        alpha: step size (> 0); None gives eps / steps.
        radius: L2 bound of x' - y on the [0, 1] scale; None: ||x - y||_2 of each image.
        start_std: standard deviation of the Gaussian start; None: eps / sqrt(3).
        seed: image i's start is seeded seed + i.
        clip: clip x' to [0, 1] after each step (Algorithm 1; see the module docstring).
        step: "sign" (Algorithm 1) or "l2" (normalized: alpha sqrt(m) g / ||g||_2, ``engine.ascent_step``).
    """
    eps, steps = budget(eps, "eps"), count(steps, "steps")
    if radius is not None:
        radius = real(radius, "radius", above=0, hint="an L2 norm on the [0, 1] scale")
    alpha = eps / max(steps, 1) if alpha is None else step_size(alpha, "alpha")
    std = eps / math.sqrt(3.0) if start_std is None else real(start_std, "start_std", at_least=0)
    move = engine.ascent_step(step, alpha)

    def attack_batch(noisy, clean, seeds):
        x = as_batch(noisy, "noisy image").detach()
        y = as_batch(clean, "clean image").to(x.device)
        bound = engine.norms(x - y) if radius is None else torch.full_like(engine.norms(x), float(radius))

        def project(adv):
            d = adv - y
            adv = y + d * torch.clamp(bound / engine.norms(d).clamp_min(1e-12), max=1.0)
            return adv.clamp(0, 1) if clip else adv

        def start(x):
            return x + draw_per_image(x, seeds, lambda rs, shape: rs.standard_normal(shape) * std)

        return engine.run(model, x, y, steps, start, move, project)

    return engine.per_size(attack_batch, noisy, clean, seed)
