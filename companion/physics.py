"""Blur physics for deblurring: y = k * x + n (Gandikota et al., "On adversarial robustness of deep
image deblurring", ICIP 2022, Sec. 2; DPIR, Zhang et al., TPAMI 2021, Eq. 7).

- ``blur``: convolution with a kernel (kh, kw), or one kernel per image (N, kh, kw) in the
  circular model, in one of two boundary models. ``circular``
  wraps around the image edges, the model the FFT diagonalizes (DPIR's); ``valid`` keeps only the
  output pixels whose whole footprint lies inside the image (H - kh + 1 by W - kw + 1), the
  boundary-free model of a real camera. Both are true convolutions (the kernel flipped), so the
  circular result cropped by (k - 1) - k // 2 rows and columns at the top left is the valid one.
- ``degrade``: blur plus Gaussian noise of level sigma (0-255, unclipped, ``noise.gaussian``).
- ``data_step``: the closed-form solution of min_x ||y - k * x||^2 + rho ||x - z||^2 under the
  circular model, x = F^-1[(conj(K) F y + rho F z) / (|K|^2 + rho)] with K the kernel's optical
  transfer function (``kernel_otf``). DPIR's HQS loop calls it once per iteration; with z = 0
  and rho the noise-to-signal power ratio it is Wiener deconvolution (``wiener``).
- ``resize_kernel`` and ``kernel_bank``: the training kernels of the deblurring networks, each
  kernel of a set resized and turned by the eight flips/rotations, centred in one square.
Everything is differentiable, so attacks can go through it.
"""

import torch
import torch.nn.functional as F

from . import noise

BOUNDARIES = ("circular", "valid")


def _check_kernel(kernel: torch.Tensor, batched: bool = False) -> None:
    if kernel.dim() != 2 and not (batched and kernel.dim() == 3):
        raise ValueError(f"kernel must be 2-D (kh, kw){' or one per image (N, kh, kw)' if batched else ''}, "
                         f"got shape {tuple(kernel.shape)}")


def kernel_otf(kernel: torch.Tensor, shape: tuple) -> torch.Tensor:
    """The optical transfer function of ``kernel`` (kh, kw) for images of ``shape`` (H, W):
    the kernel zero-padded to the image size, its centre rolled to (0, 0), then the 2-D FFT.
    One kernel per image (N, kh, kw) gives (N, 1, H, W), which broadcasts over the channels."""
    _check_kernel(kernel, batched=True)
    kh, kw = kernel.shape[-2:]
    if kh > shape[0] or kw > shape[1]:
        raise ValueError(f"kernel {kh}x{kw} is larger than the image {shape[0]}x{shape[1]}")
    padded = kernel.new_zeros(*kernel.shape[:-2], *shape)
    padded[..., :kh, :kw] = kernel
    otf = torch.fft.fft2(torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1)))
    return otf[:, None] if kernel.dim() == 3 else otf


def blur(x: torch.Tensor, kernel: torch.Tensor, boundary: str = "circular") -> torch.Tensor:
    """Convolve every channel of ``x`` (N, C, H, W) with ``kernel`` (kh, kw), or image i with
    ``kernel[i]`` (N, kh, kw, circular only); see the module docstring for the two ``boundary``
    models."""
    _check_kernel(kernel, batched=boundary == "circular")
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


def resize_kernel(kernel: torch.Tensor, size: int) -> torch.Tensor:
    """``kernel`` (kh, kw) resampled to ``size`` x ``size`` (bilinear with antialiasing), kept
    non-negative and normalized to sum 1: the same blur shape over a smaller or larger extent
    (Gandikota et al., Fig. 7, compare kernel sizes 11, 17 and 25)."""
    _check_kernel(kernel)
    if size < 1:
        raise ValueError(f"a kernel size must be >= 1, got {size}")
    out = F.interpolate(kernel[None, None].float(), size=(size, size), mode="bilinear", antialias=True,
                        align_corners=False)[0, 0].clamp(min=0)
    return out / out.sum()


def stack_kernels(kernels) -> torch.Tensor:
    """Odd-sized 2-D kernels (arrays or tensors) centred in the largest one's square: (N, S, S),
    one per image for ``blur``. Zero-padding an odd kernel symmetrically keeps its centre, so
    every entry blurs as its unpadded self."""
    kernels = [torch.as_tensor(k, dtype=torch.float32) for k in kernels]
    for k in kernels:
        _check_kernel(k)
        if k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
            raise ValueError(f"kernels must have odd sizes to be centred, got {tuple(k.shape)}")
    square = max(max(k.shape) for k in kernels)
    return torch.stack([F.pad(k, ((square - k.shape[1]) // 2,) * 2 + ((square - k.shape[0]) // 2,) * 2)
                        for k in kernels])


def kernel_bank(kernels, sizes=(11, 13, 15, 17, 19, 21, 23, 25)) -> torch.Tensor:
    """Every kernel of ``kernels`` (a list of 2-D arrays) resized to each of ``sizes`` and turned
    by the eight flips/rotations, all centred in one square (``stack_kernels``):
    (len x sizes x 8, S, S). The deblurring networks train on random entries (``train``, mode
    'deblur')."""
    if not sizes or any(s % 2 == 0 for s in sizes):
        raise ValueError(f"kernel sizes must be odd (a centred kernel), got {tuple(sizes)}")
    bank = []
    for k in kernels:
        for s in sizes:
            small = resize_kernel(torch.as_tensor(k, dtype=torch.float32), s)
            for turn in range(4):
                rotated = torch.rot90(small, turn)
                bank += [rotated, rotated.flip(-1)]
    return stack_kernels(bank)
