"""CurvPnP (Li & Duan, "A curvature-guided plug-and-play denoiser", arXiv 2211.07286, 2022;
Signal Processing 2025), the denoiser of Ning et al.'s plug-and-play group.

Facts used (the authors' inference code, Duanlab123/CurvPnP: models/network_estnunet.py,
models/network_dnunet.py, DisCuNew.py; no training code was released):
- Both subnetworks are four-scale U-Nets (96, 192, 384, 768 features; head 3x3 conv, 2x2
  strided-conv downsampling, 2x2 transposed-conv upsampling, added skips, tail 3x3 conv, no
  bias) built from ConvNeXt-style blocks without normalization: 7x7 depthwise conv, linear
  to 4x the width, ReLU, linear back, residual. Two blocks per scale in the estimator, four in
  the denoiser (18.9M + 34.8M parameters).
- The estimator maps the noisy image to C + 1 channels: channel 0, averaged over the image,
  is the noise level fed to the denoiser as a constant map; the other C are a residual giving
  a first clean estimate, whose Gaussian curvature (``gaussian_curvature``) guides the denoiser.
- The denoiser reads [noisy, noise map, curvature] (2C + 1 channels); its finest skip is
  modulated by a curvature attention: F1 = 1x1(x1), img = 1x1(x1) -> C channels + noisy,
  F2 = sigmoid(1x1(img)), F3 = sigmoid(1x1(curvature)), F4 = 1x1([F2, F3]), skip = F1 F4 + x1.
  The output is noisy + tail (a global residual).
``features=(16, 32, 64, 128)`` with one block per scale is the reduced variant we train
(``curvpnp_small_*``); we train it end to end on the denoised output (MSE), as the authors'
training losses are not published with the code.
"""

import torch
from torch import nn

from .base import Denoiser, pad_to_multiple
from .drunet import SMALL_FEATURES, AdditiveUNet
from .registry import ModelSpec, register

FULL_FEATURES = (96, 192, 384, 768)


def gaussian_curvature(u: torch.Tensor) -> torch.Tensor:
    """The discrete Gaussian curvature of each channel of ``u`` (N, C, H, W) (CurvPnP,
    DisCuNew.py): eight normal curvatures over the 3x3 neighbourhood (periodic boundary),
    four axial ones with +1 and four diagonal ones with +2 in the denominator; the result is
    the product of the one of smallest and the one of largest magnitude."""
    def shift(v, dy, dx):  # shift(v, 1, 0)[i, j] = v[i - 1, j]
        return torch.roll(v, shifts=(dy, dx), dims=(-2, -1))

    u1, u2, u3, u4 = shift(u, 1, 0), shift(u, -1, 0), shift(u, 0, 1), shift(u, 0, -1)
    u5, u6, u7, u8 = shift(u, 1, 1), shift(u, -1, -1), shift(u, 1, -1), shift(u, -1, 1)
    mid = [(u1 + u) / 2, (u2 + u) / 2, (u3 + u) / 2, (u4 + u) / 2, (u5 + u3 + u1 + u) / 4,
           (u6 + u4 + u2 + u) / 4, (u7 + u4 + u1 + u) / 4, (u8 + u3 + u2 + u) / 4]
    num_den = [
        (2 * u - u3 - u4, (2 * u1 - u3 - u4) ** 2 + (u3 - u4) ** 2),
        (u3 + u4 - 2 * u, (2 * u2 - u3 - u4) ** 2 + (u4 - u3) ** 2),
        (u1 + u2 - 2 * u, (u1 + u2 - 2 * u3) ** 2 + (u2 - u1) ** 2),
        (2 * u - u1 - u2, (u1 + u2 - 2 * u4) ** 2 + (u1 - u2) ** 2),
        (u5 + u7 + u8 - u1 - u3 - u, (u8 - u5) ** 2 + (u7 - u5) ** 2),
        (u + u2 + u4 - u6 - u7 - u8, (u7 - u6) ** 2 + (u8 - u6) ** 2),
        (u + u1 + u4 - u5 - u6 - u7, (u7 - u6) ** 2 + (u5 - u7) ** 2),
        (u5 + u6 + u8 - u2 - u3 - u, (u8 - u5) ** 2 + (u6 - u8) ** 2),
    ]
    kappa = torch.stack([num / torch.sqrt(den + 4) / ((m - u) ** 2 + (1 if i < 4 else 2))
                         for i, ((num, den), m) in enumerate(zip(num_den, mid))])
    magnitude = kappa.abs()
    smallest = kappa.gather(0, magnitude.argmin(0, keepdim=True))[0]
    largest = kappa.gather(0, magnitude.argmax(0, keepdim=True))[0]
    return smallest * largest


class ConvNeXtBlock(nn.Module):
    """7x7 depthwise conv, linear to 4x, ReLU, linear back, residual (no norm, no bias)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim, bias=False)
        self.pwconv1 = nn.Linear(dim, 4 * dim, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.pwconv2 = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)
        return x + self.pwconv2(self.act(self.pwconv1(y))).permute(0, 3, 1, 2)


class CurvatureAttention(nn.Module):
    """The curvature attention on the denoiser's finest skip (see the module docstring)."""

    def __init__(self, features: int, channels: int):
        super().__init__()
        self.f1 = nn.Conv2d(features, features, 1, bias=False)
        self.to_image = nn.Conv2d(features, channels, 1, bias=False)
        self.from_image = nn.Conv2d(channels, features, 1, bias=False)
        self.from_curvature = nn.Conv2d(channels, features, 1, bias=False)
        self.merge = nn.Conv2d(2 * features, features, 1, bias=False)

    def forward(self, x1, noisy, curvature):
        f2 = torch.sigmoid(self.from_image(self.to_image(x1) + noisy))
        f3 = torch.sigmoid(self.from_curvature(curvature))
        return self.f1(x1) * self.merge(torch.cat([f2, f3], 1)) + x1


class CurvPnP(Denoiser):
    def __init__(self, in_channels: int = 1, features=FULL_FEATURES, estimator_blocks: int = 2,
                 denoiser_blocks: int = 4):
        super().__init__()
        self.in_channels = c = in_channels
        self.estimator = AdditiveUNet(c, c + 1, features, estimator_blocks, ConvNeXtBlock)
        self.denoiser = AdditiveUNet(2 * c + 1, c, features, denoiser_blocks, ConvNeXtBlock)
        self.attention = CurvatureAttention(features[0], c)

    def estimate(self, x: torch.Tensor) -> tuple:
        """(noise-level map, first clean estimate) of a padded batch."""
        out = self.estimator(x)
        level = out[:, :1].mean((2, 3), keepdim=True).expand_as(x[:, :1])
        return level, x + out[:, 1:]

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (blind: it estimates its noise level)."""
        self.check_input(x)
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, 8)
        level, first = self.estimate(x)
        curvature = gaussian_curvature(first)
        y = self.denoiser(torch.cat([x, level, curvature], 1),
                          head_skip=lambda x1: self.attention(x1, x, curvature))
        return (x + y)[..., :h, :w]


PAPER = "Li & Duan, arXiv 2211.07286 / Signal Processing 2025 (CurvPnP)"

register(
    ModelSpec("curvpnp", lambda **kw: CurvPnP(1), 1, "plug-and-play", PAPER,
              notes="full size (96-768 features, 53.7M parameters); no official file is registered: pass "
              "weights=<path>"),
    ModelSpec("curvpnp_small", lambda **kw: CurvPnP(1, SMALL_FEATURES, 1, 1), 1, "plug-and-play", PAPER,
              ours="curvpnp_small", variant="reduced",
              notes=f"reduced CurvPnP: features {SMALL_FEATURES}, 1 block per scale (the paper: 96-768; 2 and 4)"),
)
