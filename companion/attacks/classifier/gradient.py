"""Gradient attacks on image classifiers, for the purifier experiments (05_bm3d; Plummer & Hauser Sec. 2).

- FGSM (Goodfellow, Shlens & Szegedy, ICLR 2015): x' = clip(x + eps sign(grad_x CE(f(x), y))).
- PGD (Madry et al., ICLR 2018): from x + U[-eps, eps], T steps of x' + alpha sign(grad CE),
  each followed by the projection onto the L-infinity ball of radius eps around x and onto
  [0, 1]; alpha = 2.5 eps / T by default (Madry et al.'s rule).

The classifier may be a whole pipeline, e.g. ``nn.Sequential(purifier, classifier)``: attacking
that is the adaptive attack on a purifier (Athalye et al. 2018); wrap a purifier without a
gradient in ``BPDA``. Losses are summed over the batch, so an image's gradient does not depend on
its batch; the model and each of its submodules are used in eval mode and left in the mode they had. The random start of image
i is drawn from NumPy's RandomState seeded ``seed + i`` (``noise.draw_per_image``).
"""

import torch
import torch.nn.functional as F

from ...evaluation import eval_mode
from ...noise import draw_per_image
from .. import engine
from . import labelled


def _gradient(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """grad_x of the summed cross-entropy, the model in eval mode (``evaluation.eval_mode``)."""
    x = x.detach().requires_grad_(True)
    with eval_mode(model), torch.enable_grad():
        loss = F.cross_entropy(model(x), labels, reduction="sum")
        grad, = torch.autograd.grad(loss, x)
    return grad


def fgsm(model: torch.nn.Module, images, labels, eps: float) -> torch.Tensor:
    """One signed-gradient step of size ``eps`` up the cross-entropy, clipped to [0, 1]."""
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    x, labels = labelled.batch(images, labels)
    return (x + eps * _gradient(model, x, labels).sign()).clamp(0, 1).detach()


def pgd(model: torch.nn.Module, images, labels, eps: float, steps: int = 10, alpha: float | None = None,
        seed: int = 0, random_start: bool = True) -> torch.Tensor:
    """Projected gradient ascent on the cross-entropy in the L-infinity ball of radius ``eps``."""
    if eps < 0 or steps < 0:
        raise ValueError(f"eps and steps must be >= 0, got eps={eps}, steps={steps}")
    x, labels = labelled.batch(images, labels)
    alpha = 2.5 * eps / max(steps, 1) if alpha is None else float(alpha)
    adv = x.clone()
    if random_start:
        adv = (x + draw_per_image(x, seed, lambda rs, shape: rs.uniform(-eps, eps, size=shape))).clamp(0, 1)
    for _ in range(steps):
        adv = adv + alpha * _gradient(model, adv, labels).sign()
        adv = engine.project_linf(adv, x, eps).clamp(0, 1)
    return adv.detach()
