"""Deep Wiener deconvolution for non-blind deblurring, reduced (Dong, Roth & Schiele, "Deep Wiener
Deconvolution: Wiener Meets Deep Learning for Image Deblurring", NeurIPS 2020, Sec. 3, Fig. 2).

Facts from the paper: a small CNN extracts features from the blurred image; each feature map is
deconvolved with the known kernel by a Wiener filter in the Fourier domain,
    z_c = F^-1[ conj(K) F(f_c) / (|K|^2 + NSR_c) ],
which is valid because convolution commutes with the (linear) feature extraction; a multi-scale
encoder-decoder then refines the deconvolved features into the sharp image, coarse to fine.
Interpretation: DWDN estimates each feature's noise-to-signal ratio from the data; here NSR_c =
exp(a_c) (sigma_0^2 + (sigma / 255)^2) with a learned a_c per feature and sigma_0 = 1/255 (a
floor for noise-free inputs), so the filter tracks the given noise level; the image itself is
deconvolved alongside the features, and the refinement adds its residual to that Wiener estimate.
Circular boundaries (the FFT model, ``companion.physics``).
"""

import math

import torch
from torch import nn

from ..physics import kernel_otf
from .base import Restorer, pad_to_multiple
from .registry import ModelSpec, register


class ResBlock(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(features, features, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class DWDN(Restorer):
    """``forward(y, kernel, sigma)``: y (N, C, H, W) blurred by ``kernel`` (kh, kw), or one per
    image (N, kh, kw), with Gaussian noise of level ``sigma`` (0-255, a number or one per image)."""

    def __init__(self, in_channels: int = 1, features: int = 16, widths: tuple = (32, 64, 128), blocks: int = 2):
        super().__init__()
        self.in_channels = in_channels
        self.extract = nn.Sequential(nn.Conv2d(in_channels, features, 5, padding=2), nn.ReLU(inplace=True),
                                     nn.Conv2d(features, features, 5, padding=2), nn.ReLU(inplace=True),
                                     nn.Conv2d(features, features, 5, padding=2))
        self.log_nsr = nn.Parameter(torch.full((features + in_channels,), math.log(1e-2 / 2e-4)))
        self.head = nn.Conv2d(features + in_channels, widths[0], 3, padding=1)
        self.enc = nn.ModuleList(nn.Sequential(*[ResBlock(w) for _ in range(blocks)]) for w in widths)
        self.down = nn.ModuleList(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1)
                                  for i in range(len(widths) - 1))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[i + 1], widths[i], 4, stride=2, padding=1)
                                for i in range(len(widths) - 1))
        self.dec = nn.ModuleList(nn.Sequential(*[ResBlock(w) for _ in range(blocks)]) for w in widths[:-1])
        self.tail = nn.Conv2d(widths[0], in_channels, 3, padding=1)

    def deconvolve(self, y, kernel, sigma):
        """The Wiener-deconvolved image and features (module docstring)."""
        feats = torch.cat([y, self.extract(y)], 1)
        level = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).reshape(-1, 1, 1, 1) / 255.0
        nsr = self.log_nsr.exp().view(1, -1, 1, 1) * (1 / 255.0 ** 2 + level ** 2)
        otf = kernel_otf(kernel.to(y), y.shape[-2:])
        spectrum = otf.conj() * torch.fft.fft2(feats) / (otf.abs() ** 2 + nsr)
        return torch.fft.ifft2(spectrum).real

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma=0.0) -> torch.Tensor:
        self.check_input(y)
        feats = self.deconvolve(y, kernel, sigma)
        h, w = y.shape[-2:]
        x = pad_to_multiple(self.head(feats), 2 ** (len(self.enc) - 1))
        skips = []
        for i, level in enumerate(self.enc):
            if i:
                skips.append(x)
                x = self.down[i - 1](x)
            x = level(x)
        for i in reversed(range(len(self.dec))):
            x = self.dec[i](self.up[i](x) + skips[i])
        return feats[:, :self.in_channels] + self.tail(x)[..., :h, :w]


register(ModelSpec("dwdn_small", lambda **kw: DWDN(1, 16, (16, 32, 64), 2), 1, "non-blind",
                   "Dong, Roth & Schiele, NeurIPS 2020 (DWDN)", ours="dwdn_small", variant="reduced",
                   collection="deblurring", notes="non-blind deblurring; reduced deep Wiener deconvolution: "
                   "16 features, refinement widths 16-64"))
