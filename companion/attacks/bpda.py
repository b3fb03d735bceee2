"""BPDA: Backward Pass Differentiable Approximation (Athalye, Carlini & Wagner, ICML 2018, Sec. 4.1).

A denoiser D without a usable gradient (BM3D, TV: ``models.classical``) is attacked by keeping
D in the forward pass and replacing it by a differentiable g with g(x) ~ D(x) in the backward
pass:

    forward: D(x);    backward: dD/dx := dg/dx

with g the identity (Athalye et al.'s choice for a purifier that keeps the image) or a deep
denoiser that approximates D (e.g. DnCNN-S for BM3D at the same sigma). ``BPDA(D, g)`` is a
module, so every gradient attack of ``companion.attacks`` runs on it unchanged; ``bpda_pgd`` is
denoising-PGD through it. The attack then maximizes the true loss ||D(x') - y||^2 with
approximate gradients, and evaluates its final sample on D itself.
"""

import torch
from torch import nn

from . import engine
from .linf_pgd import GRAY_EPS, denoising_pgd


class BPDA(nn.Module):
    """``model`` in the forward pass, ``stand_in`` (None: the identity) in the backward pass.

    The output's value is ``model(x)``; its gradient with respect to x is that of
    ``stand_in(x)``. ``model`` is called without gradient, so it may be any callable on NCHW
    tensors (a classical denoiser, a non-differentiable pipeline). Both are submodules, so
    ``eval()`` and ``to(device)`` reach them.
    """

    def __init__(self, model: nn.Module, stand_in: nn.Module | None = None):
        super().__init__()
        self.model, self.stand_in = model, stand_in
        name = lambda m: getattr(m, "info", {}).get("name", type(m).__name__)
        self.info = {"name": f"BPDA({name(model)}, {'identity' if stand_in is None else name(stand_in)})"}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = self.model(x.detach())
        if not (torch.is_grad_enabled() and x.requires_grad):
            return out
        approx = x if self.stand_in is None else self.stand_in(x)
        return approx + (out - approx).detach()


@engine.declare()
def bpda_pgd(model: nn.Module, noisy, clean, *, stand_in: nn.Module | None = None, eps: float = GRAY_EPS,
             steps: int = 5, alpha: float | None = None, seed: int = 0, clip: bool = False, restarts: int = 1):
    """denoising-PGD (``denoising_pgd``, same parameters) on ``model`` with BPDA gradients from
    ``stand_in`` (None: the identity). Each step costs one call of ``model`` and one forward and
    backward pass of the stand-in."""
    return denoising_pgd(BPDA(model, stand_in), noisy, clean, eps=eps, steps=steps, alpha=alpha, seed=seed, clip=clip,
                         restarts=restarts)
