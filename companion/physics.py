"""Blur physics for deblurring: y = k * x + n (Gandikota et al., "On adversarial robustness of deep
image deblurring", ICIP 2022, Sec. 2; DPIR, Zhang et al., TPAMI 2021, Eq. 7).

- ``blur``: convolution with a kernel (kh, kw) in one of two boundary models. ``circular``
  wraps around the image edges, the model the FFT diagonalizes (DPIR's); ``valid`` keeps only the
  output pixels whose whole footprint lies inside the image (H - kh + 1 by W - kw + 1), the
  boundary-free model of a real camera. Both are true convolutions (the kernel flipped), so the
  circular result cropped by (k - 1) - k // 2 rows and columns at the top left is the valid one.
- ``degrade``: blur plus Gaussian noise of level sigma (0-255, unclipped, ``noise.gaussian``).
- ``data_step``: the closed-form solution of min_x ||y - k * x||^2 + rho ||x - z||^2 under the
  circular model, x = F^-1[(conj(K) F y + rho F z) / (|K|^2 + rho)] with K the kernel's optical
  transfer function (``kernel_otf``). DPIR's HQS loop calls it once per iteration; with z = 0
  and rho the noise-to-signal power ratio it is Wiener deconvolution (``wiener``).
Everything is differentiable, so attacks can go through it.
"""

import torch
import torch.nn.functional as F

from . import noise

BOUNDARIES = ("circular", "valid")


def _check_kernel(kernel: torch.Tensor) -> None:
    if kernel.dim() != 2:
        raise ValueError(f"kernel must be 2-D (kh, kw), got shape {tuple(kernel.shape)}")


def kernel_otf(kernel: torch.Tensor, shape: tuple) -> torch.Tensor:
    """The optical transfer function of ``kernel`` (kh, kw) for images of ``shape`` (H, W):
    the kernel zero-padded to the image size, its centre rolled to (0, 0), then the 2-D FFT."""
    _check_kernel(kernel)
    kh, kw = kernel.shape
    if kh > shape[0] or kw > shape[1]:
        raise ValueError(f"kernel {kh}x{kw} is larger than the image {shape[0]}x{shape[1]}")
    padded = kernel.new_zeros(*shape)
    padded[:kh, :kw] = kernel
    return torch.fft.fft2(torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1)))


def blur(x: torch.Tensor, kernel: torch.Tensor, boundary: str = "circular") -> torch.Tensor:
    """Convolve every channel of ``x`` (N, C, H, W) with ``kernel`` (kh, kw); see the module
    docstring for the two ``boundary`` models."""
    _check_kernel(kernel)
    kernel = kernel.to(x)
    if boundary == "circular":
        return torch.fft.ifft2(torch.fft.fft2(x) * kernel_otf(kernel, x.shape[-2:])).real
    if boundary == "valid":
        c = x.shape[1]
        weight = kernel.flip(-2, -1).expand(c, 1, *kernel.shape)
        return F.conv2d(x, weight, groups=c)
    raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")


def degrade(x: torch.Tensor, kernel: torch.Tensor, sigma: float, seed=0, boundary: str = "circular") -> torch.Tensor:
    """y = k * x + n: ``blur`` then Gaussian noise of level ``sigma`` (0-255), image i seeded
    ``seed + i``."""
    return noise.gaussian(blur(x, kernel, boundary), sigma, seed=seed)


def data_step(y: torch.Tensor, otf: torch.Tensor, z: torch.Tensor, rho: float) -> torch.Tensor:
    """argmin_x ||y - k * x||^2 + rho ||x - z||^2 (circular model), with ``otf`` =
    ``kernel_otf(kernel, y.shape[-2:])`` computed once by the caller."""
    if rho < 0:
        raise ValueError(f"rho must be >= 0, got {rho}")
    numerator = otf.conj() * torch.fft.fft2(y) + rho * torch.fft.fft2(z)
    return torch.fft.ifft2(numerator / (otf.abs() ** 2 + rho)).real


def wiener(y: torch.Tensor, kernel: torch.Tensor, nsr: float) -> torch.Tensor:
    """Wiener deconvolution with a constant noise-to-signal power ratio ``nsr`` (> 0):
    conj(K) Y / (|K|^2 + nsr), the ``data_step`` with z = 0."""
    if nsr <= 0:
        raise ValueError(f"nsr is a noise-to-signal power ratio and must be > 0, got {nsr}")
    return data_step(y, kernel_otf(kernel.to(y), y.shape[-2:]), torch.zeros_like(y), nsr)
