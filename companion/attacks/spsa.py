"""SPSA: a gradient-free attack on a denoiser (Uesato et al., ICML 2018, Sec. 3.1; Spall 1992).

It needs only the denoiser's outputs, so it attacks classical denoisers (``models.classical``)
directly. It maximizes the loss of denoising-PGD, L(x') = ||D(x') - y||^2, over the
L-infinity ball of radius eps around the noisy image x. Each iteration estimates the gradient
from ``samples`` pairs of queries along random Rademacher directions v_k (entries +-1):

    g = (1/K) sum_k [L(x' + delta v_k) - L(x' - delta v_k)] / (2 delta) v_k
    x' <- Proj_{B_inf(x, eps)}(x' + alpha sign(g))

The cost is ``iterations x 2 x samples`` calls of D per image, plus one to score the result.

Interpretations: Uesato et al. feed g to Adam (learning rate 0.01, delta 0.01) for budgets of
eps = 8/255 and more; for the much smaller denoising budget (eps = 0.012 gray) we take signed
steps alpha = eps / 4 (default), the update of denoising-PGD, so that both attacks move alike
and differ only in how the gradient is obtained. The attack starts at x (no random start); the
last iterate is returned, as in PGD. The directions of image i at iteration t are drawn from
NumPy's generator seeded (seed + i, t): a batch gives the same result as one image at a time.
"""

import numpy as np
import torch

from ..checks import as_batch, budget, count, real, step_size
from . import engine
from .linf_pgd import GRAY_EPS


@engine.declare()
def spsa(model: torch.nn.Module, noisy, clean, *, eps: float = GRAY_EPS, iterations: int = 10, samples: int = 8,
         delta: float = 0.01, alpha: float | None = None, seed: int = 0, clip: bool = False):
    """Adversarial noisy images for ``model`` from queries alone (see the module docstring).

    Args:
        noisy, clean: NCHW tensors of one size, or lists of 1CHW tensors of mixed sizes.
        eps: L-infinity radius on the [0, 1] scale.
        iterations, samples: gradient estimates, and direction pairs per estimate.
        delta: the finite-difference step.
        alpha: step size (> 0); None gives eps / 4.
        seed: image i's directions come from the generator seeded (seed + i, iteration).
        clip: clip x' to [0, 1].
    """
    eps, iterations = budget(eps, "eps"), count(iterations, "iterations")
    samples, delta = count(samples, "samples", least=1), real(delta, "delta", above=0, hint="the finite-difference step")
    alpha = eps / 4 if alpha is None else step_size(alpha, "alpha")

    def attack_batch(noisy, clean, seeds):
        x = as_batch(noisy, "noisy image").detach()
        clean = as_batch(clean, "clean image").to(x.device)
        n, shape = x.shape[0], x.shape[1:]
        adv = x.clone()
        for t in range(iterations):
            v = torch.from_numpy(np.stack([
                np.random.default_rng([s, t]).choice(np.array([-1.0, 1.0], dtype=np.float32), size=(samples, *shape))
                for s in seeds])).to(x)
            probes = torch.cat([adv[:, None] + delta * v, adv[:, None] - delta * v], 1).flatten(0, 1)
            targets = clean[:, None].expand(n, 2 * samples, *shape).flatten(0, 1)
            loss = engine.losses(model, probes, targets).view(n, 2, samples)
            slope = (loss[:, 0] - loss[:, 1]) / (2 * delta)
            grad = (slope.view(n, samples, 1, 1, 1) * v).mean(1)
            adv = engine.project_linf(adv + alpha * grad.sign(), x, eps)
            if clip:
                adv = adv.clamp(0, 1)
        return adv

    return engine.per_size(attack_batch, noisy, clean, seed)
