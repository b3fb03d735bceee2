"""DPIR for restoration: half-quadratic splitting with a denoiser prior (Zhang et al.,
"Plug-and-Play Image Restoration with Deep Denoiser Prior", IEEE TPAMI 2021, Sec. 4, Eq. 6-7).

For y = k * x + n (circular convolution, noise level sigma), each of the K = 8 iterations is

    data step:  x_k = argmin_x ||y - k * x||^2 + mu_k sigma^2 ||x - z_{k-1}||^2
                    = F^-1[(conj(F k) F y + rho_k F z_{k-1}) / (|F k|^2 + rho_k)]   (Eq. 7, FFT)
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


def kernel_otf(kernel: torch.Tensor, shape: tuple) -> torch.Tensor:
    """The optical transfer function of ``kernel`` (kh, kw) for images of ``shape`` (H, W):
    the kernel zero-padded to the image size, its centre rolled to (0, 0), then the 2-D FFT."""
    kh, kw = kernel.shape[-2:]
    padded = kernel.new_zeros(*kernel.shape[:-2], *shape)
    padded[..., :kh, :kw] = kernel
    padded = torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))
    return torch.fft.fft2(padded)


def blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Circular convolution of ``x`` (N, C, H, W) with ``kernel`` (kh, kw): the forward model."""
    return torch.fft.ifft2(torch.fft.fft2(x) * kernel_otf(kernel.to(x), x.shape[-2:])).real


class DPIR(nn.Module):
    """The HQS loop around a denoiser ``prior`` that takes ``prior(x, sigma=level_0_255)``
    (DRUNet: ``companion.models.create('dpir_gray')`` or ``'dpir_small_gray'``)."""

    def __init__(self, prior: nn.Module, iterations: int = 8, sigma_start: float = 49.0, lam: float = 0.23):
        super().__init__()
        self.prior, self.iterations, self.sigma_start, self.lam = prior, iterations, sigma_start, lam

    def schedule(self, sigma: float) -> tuple:
        """(sigma_k, rho_k) of each iteration for noise level ``sigma`` (0-255)."""
        sigma = max(float(sigma), 0.255)  # DPIR's floor for noise-free inputs
        n = self.iterations
        levels = [math.exp(math.log(self.sigma_start) + (math.log(sigma) - math.log(self.sigma_start)) * i / max(n - 1, 1))
                  for i in range(n)]
        return levels, [self.lam * sigma ** 2 / s ** 2 for s in levels]

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma: float) -> torch.Tensor:
        """Restore ``y`` (N, C, H, W in [0, 1]) blurred by ``kernel`` (kh, kw) with noise ``sigma``."""
        if kernel.dim() != 2:
            raise ValueError(f"kernel must be 2-D (kh, kw), got shape {tuple(kernel.shape)}")
        otf = kernel_otf(kernel.to(y), y.shape[-2:])
        otf_y = otf.conj() * torch.fft.fft2(y)
        power = otf.abs() ** 2
        z = y
        for level, rho in zip(*self.schedule(sigma)):
            x = torch.fft.ifft2((otf_y + rho * torch.fft.fft2(z)) / (power + rho)).real
            z = self.prior(x, sigma=level)
        return z
