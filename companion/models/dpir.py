"""DPIR for restoration: half-quadratic splitting with a denoiser prior (Zhang et al.,
"Plug-and-Play Image Restoration with Deep Denoiser Prior", IEEE TPAMI 2021, Sec. 4, Eq. 6-7).

For y = k * x + n (circular convolution, noise level sigma), each of the K = 8 iterations is

    data step:  x_k = argmin_x ||y - k * x||^2 + mu_k sigma^2 ||x - z_{k-1}||^2
                    = F^-1[(conj(F k) F y + rho_k F z_{k-1}) / (|F k|^2 + rho_k)]   (Eq. 7, FFT;
                      ``physics.data_step``)
    prior step: z_k = Denoiser(x_k, sigma_k)

with the denoiser's noise levels sigma_k log-spaced from 49 down to sigma (0-255 scale) and
rho_k = lambda sigma^2 / sigma_k^2, lambda = 0.23 (the paper's deblurring setting). The first
data step starts from z_0 = y. Everything is differentiable, so attacks can go through the
whole loop (Gandikota et al. attack deblurring this way). The paper's optional x8 geometric
self-ensemble is left out.
"""

import math

import torch
from torch import nn

from ..checks import noise_level
from ..physics import data_step, kernel_otf
from .base import Restorer


class DPIR(Restorer):
    """``forward(y, kernel, sigma)``: the HQS loop around a denoiser ``prior`` that takes
    ``prior(x, sigma=level_0_255)`` (DRUNet: ``companion.models.create('dpir_gray')`` or
    ``'dpir_small_gray'``)."""

    def __init__(self, prior: nn.Module, iterations: int = 8, sigma_start: float = 49.0, lam: float = 0.23):
        super().__init__()
        self.prior, self.iterations, self.sigma_start, self.lam = prior, iterations, sigma_start, lam

    def schedule(self, sigma: float) -> tuple:
        """(sigma_k, rho_k) of each iteration for noise level ``sigma`` (0-255)."""
        sigma = max(float(noise_level(sigma)), 0.255)  # DPIR's floor for noise-free inputs
        n = self.iterations
        levels = [math.exp(math.log(self.sigma_start) + (math.log(sigma) - math.log(self.sigma_start)) * i / max(n - 1, 1))
                  for i in range(n)]
        return levels, [self.lam * sigma ** 2 / s ** 2 for s in levels]

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma: float) -> torch.Tensor:
        """Restore ``y`` (N, C, H, W in [0, 1]) blurred by ``kernel`` (kh, kw) with noise ``sigma``."""
        otf = kernel_otf(kernel.to(y), y.shape[-2:])
        z = y
        for level, rho in zip(*self.schedule(sigma)):
            z = self.prior(data_step(y, otf, z, rho), sigma=level)
        return z
