"""Projected Adam attacks on deblurring networks (Gandikota et al., "On adversarial robustness of
deep image deblurring", ICIP 2022, Sec. 3, Eq. 2 and 3).

For a deblurring network N (its kernel and noise level bound: ``experiments.deblurring.Bound``) and
a blurred observation y, with ||delta||_inf <= eps:

    untargeted (Eq. 2): max_delta ||N(y + delta) - N(y)||_2^2   (move the output away from the
                                                                  unattacked restoration)
    targeted (Eq. 3):   min_delta ||N(y + delta) - x_t||_2^2      (make the output the target x_t;
                                                                  a localized target changes only a
                                                                  small region of the image)

solved with Adam on delta (the paper: step 1e-3; 250 untargeted, 500 targeted steps), delta
clamped back into the ball after every step.

Interpretations, where the paper is silent:
- delta starts at U[-eps, eps] per pixel, drawn per image with NumPy seeded ``seed + i``: the
  untargeted objective has a zero gradient at delta = 0 (N(y + 0) = N(y)).
- Losses are summed per image and Adam's moments are per pixel, so an image's result never
  depends on its batch.
- Observations are unclipped (blur plus Gaussian noise), so y + delta is not clipped to [0, 1];
  ``clip=True`` keeps it a valid image.
"""

import torch

from ..checks import as_batch, budget, check_noisy_range, count, step_size
from ..evaluation import eval_mode
from ..noise import draw_per_image
from . import engine


def deblur_pgd(model: torch.nn.Module, blurred, eps: float, steps: int = 250, lr: float = 1e-3, target=None,
               seed: int = 0, clip: bool = False) -> torch.Tensor:
    """The adversarial observation y + delta for ``model`` (``forward(y)``; module docstring).

    Args:
        blurred: y, an NCHW batch of blurred (noisy) images.
        eps: the L-infinity radius on the [0, 1] scale (the paper: 4, 8, 12 / 255).
        steps, lr: Adam steps and step size (the paper: 250 untargeted, 500 targeted, 1e-3).
        target: None for the untargeted attack, or the target images x_t (shape of y).
        seed: image i's random start is seeded ``seed + i``.
        clip: keep y + delta in [0, 1].

    The model is used in eval mode and left in the mode it had; no gradient is kept. The arguments
    are checked first (``companion.checks``): finite images on the [0, 1] scale, eps in [0, 1],
    whole steps >= 0, a finite lr > 0.
    """
    y = as_batch(blurred, "blurred image").detach()
    check_noisy_range(y, "blurred image")
    eps, steps, lr = budget(eps, "eps"), count(steps, "steps"), step_size(lr, "lr")
    if target is not None:
        target = as_batch(target, "target image")
        check_noisy_range(target, "target image")
        if target.shape != y.shape:
            raise ValueError(f"target {tuple(target.shape)} and blurred {tuple(y.shape)} differ in shape")

    def project(delta):
        delta = engine.project_linf(delta, torch.zeros_like(delta), eps)
        return (y + delta).clamp(0, 1) - y if clip else delta

    with eval_mode(model), torch.enable_grad():
        if target is None:
            with torch.no_grad():
                goal = model(y)
        else:
            goal = target.to(y).detach()
        delta = project(draw_per_image(y, seed, lambda rs, shape: rs.uniform(-eps, eps, size=shape)))
        delta.requires_grad_(True)
        optimizer = torch.optim.Adam([delta], lr=lr)
        sign = -1.0 if target is None else 1.0  # Adam minimizes: the untargeted loss is negated
        for t in range(steps):
            loss = sign * ((model(y + delta) - goal) ** 2).sum()
            delta.grad = engine.input_gradient(model, loss, delta, first=t == 0)  # the weights get no gradient
            optimizer.step()
            with torch.no_grad():
                delta.copy_(project(delta))
    return (y + delta).detach()
