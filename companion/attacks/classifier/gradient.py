"""Gradient attacks on image classifiers, for the purifier experiments (05_bm3d; Plummer & Hauser Sec. 2).

- FGSM (Goodfellow, Shlens & Szegedy, ICLR 2015): x' = clip(x + eps sign(grad_x CE(f(x), y))).
- PGD (Madry et al., ICLR 2018): from x + U[-eps, eps], T steps of x' + alpha sign(grad CE),
  each followed by the projection onto the L-infinity ball of radius eps around x and onto
  [0, 1]; alpha = 2.5 eps / T by default (Madry et al.'s rule).

The classifier may be a whole pipeline, e.g. ``nn.Sequential(purifier, classifier)``: attacking
that is the adaptive attack on a purifier (Athalye et al. 2018); wrap a purifier without a
gradient in ``BPDA``. Losses are summed over the batch, so an image's gradient does not depend on
its batch; the model and each of its submodules are used in eval mode and left in the mode they had. The random start of image
i is drawn from NumPy's RandomState seeded ``seed + i`` (``noise.draw_per_image``). Arguments are
checked as the attacks on denoisers check theirs (``companion.checks``; the images in [0, 1] and
finite by ``labelled.batch``), and a classifier without a gradient is refused, one whose first
gradient is zero for every image warned about (``engine.input_gradient``).
"""

import torch
import torch.nn.functional as F

from ...checks import budget, count, step_size
from ...evaluation import eval_mode
from ...noise import draw_per_image
from .. import engine
from . import labelled


def _gradient(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, first: bool) -> torch.Tensor:
    """grad_x of the summed cross-entropy, the model in eval mode (``evaluation.eval_mode``);
    ``first``: the attack's first gradient (``engine.input_gradient``)."""
    x = x.detach().requires_grad_(True)
    with eval_mode(model), torch.enable_grad():
        loss = F.cross_entropy(model(x), labels, reduction="sum")
        return engine.input_gradient(model, loss, x, first)


def fgsm(model: torch.nn.Module, images, labels, eps: float) -> torch.Tensor:
    """One signed-gradient step of size ``eps`` up the cross-entropy, clipped to [0, 1]."""
    eps = budget(eps, "eps")
    x, labels = labelled.batch(images, labels)
    return (x + eps * _gradient(model, x, labels, first=True).sign()).clamp(0, 1).detach()


def pgd(model: torch.nn.Module, images, labels, eps: float, steps: int = 10, alpha: float | None = None,
        seed: int = 0, random_start: bool = True) -> torch.Tensor:
    """Projected gradient ascent on the cross-entropy in the L-infinity ball of radius ``eps``."""
    eps, steps = budget(eps, "eps"), count(steps, "steps")
    alpha = 2.5 * eps / max(steps, 1) if alpha is None else step_size(alpha, "alpha")
    x, labels = labelled.batch(images, labels)
    adv = x.clone()
    if random_start:
        adv = (x + draw_per_image(x, seed, lambda rs, shape: rs.uniform(-eps, eps, size=shape))).clamp(0, 1)
    for t in range(steps):
        adv = adv + alpha * _gradient(model, adv, labels, first=t == 0).sign()
        adv = engine.project_linf(adv, x, eps).clamp(0, 1)
    return adv.detach()
