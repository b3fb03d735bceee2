"""denoising-PGD: the L-infinity attack of Ning et al. (arXiv:2306.16050, Sec. III-B).

The attack perturbs the noisy observation x (not the clean image y) so that the denoiser D
fails: it maximizes ||D(x') - y||_2^2 over x' in the L-infinity ball of radius eps around x,
by projected gradient ascent (Madry et al. 2018):

    x'_0 = x + u,                     u ~ U[-eps, eps]  (per pixel)
    x'_{t+1} = Proj_{B_inf(x, eps)}( x'_t + alpha * sign(grad_{x'} ||D(x'_t) - y||^2) )

for t = 0 .. T-1. Paper defaults: sigma 25, eps = 0.012 for gray images and 0.055 for color,
T = 5. The step size alpha is not given in the paper; the default here is alpha = eps / T,
the choice Ning et al.'s Algorithm 1 (the L2 variant) makes, so T steps can cross the ball.

Interpretations, where the paper is silent:
- Images are unclipped noisy observations (the convention of the official DnCNN results), so
  x' is not clipped to [0, 1]; ``clip=True`` clips it, for noisy images that were clipped.
- The random start is drawn per image with NumPy, seeded ``seed + i`` for image i, like the
  Gaussian noise: a batch gives the same result as one image at a time, on any device.
- The loss is summed per image, so an image's gradient never depends on its batch.
- ``restarts`` > 1 runs the attack from that many random starts (restart k seeds image i with
  seed + i + k * 1_000_003) and keeps, per image, the sample with the largest loss: the usual
  check that a defended model is not merely hard to optimize (Madry et al. 2018, Sec. 5).

Section V-A also attacks the clean image itself (x = y, 10 iterations, eps = 0.157); that is
``clean_image_pgd``, the same algorithm from the other starting point.
"""

import torch

from ..checks import as_batch, budget, count, step_size
from ..noise import draw_per_image
from . import engine

GRAY_EPS = 0.012
COLOR_EPS = 0.055


@engine.declare()
def denoising_pgd(model: torch.nn.Module, noisy, clean, *, eps: float = GRAY_EPS, steps: int = 5,
                  alpha: float | None = None, seed: int = 0, clip: bool = False,
                  random_start: bool = True, restarts: int = 1, step: str = "sign"):
    """Adversarial noisy images for ``model`` (see the module docstring for the algorithm).

    Args:
        noisy, clean: NCHW tensors of one size, or lists of 1CHW tensors of mixed sizes (grouped
            by size and returned as a list in the same order).
        eps: L-infinity radius on the [0, 1] scale (0.012 gray, 0.055 color in the paper).
        steps: T, the number of signed-gradient steps.
        alpha: step size (> 0); None gives eps / steps.
        seed: image i's random start is seeded with seed + i.
        clip: clip x' to [0, 1] (only for noisy images that were themselves clipped).
        random_start: start from x + U[-eps, eps] (True, the paper) or from x.
        restarts: random starts per image; the worst sample for the model is kept.
        step: "sign" (the paper's signed steps) or "l2" (normalized: alpha sqrt(m) g / ||g||_2,
            ``engine.ascent_step``).

    The model is used in eval mode and left in the mode it had; no gradient is kept. Every
    argument is checked first (``companion.checks``; the images by ``engine.pair``): a finite eps
    in [0, 1] (0 returns the start), whole steps >= 0 and restarts >= 1, a finite alpha > 0.
    """
    eps, steps, restarts = budget(eps, "eps"), count(steps, "steps"), count(restarts, "restarts", least=1)
    alpha = eps / max(steps, 1) if alpha is None else step_size(alpha, "alpha")
    move = engine.ascent_step(step, alpha)

    def attack_batch(noisy, clean, seeds):
        x = as_batch(noisy, "noisy image").detach()

        def project(adv):
            adv = engine.project_linf(adv, x, eps)
            return adv.clamp(0, 1) if clip else adv

        def attempt(k):
            restart_seeds = [s + k * 1_000_003 for s in seeds]

            def start(x):
                return x + draw_per_image(x, restart_seeds, lambda rs, shape: rs.uniform(-eps, eps, size=shape)) \
                    if random_start else x.clone()

            return engine.run(model, x, clean, steps, start, move, project)

        best = attempt(0)
        if restarts > 1:
            best_loss = engine.losses(model, best, clean)
            for k in range(1, restarts):
                adv = attempt(k)
                loss = engine.losses(model, adv, clean)
                better = loss > best_loss
                best = torch.where(better.view(-1, 1, 1, 1), adv, best)
                best_loss = torch.where(better, loss, best_loss)
        return best

    return engine.per_size(attack_batch, noisy, clean, seed)


def clean_image_pgd(model: torch.nn.Module, clean, *, eps: float = 0.157, steps: int = 10,
                    alpha: float | None = None, seed: int = 0, clip: bool = False):
    """Ning et al. Sec. V-A: denoising-PGD started from the clean image itself (x = y)."""
    return denoising_pgd(model, clean, clean, eps=eps, steps=steps, alpha=alpha, seed=seed, clip=clip)
