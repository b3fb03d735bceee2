"""FAN (Mo, Hu, Wang, Zhao & Tang, "Frequency Attention Network: Blind Noise Removal for Real
Images", ACCV 2020), color.

Facts used (the authors' code, momo1689/FAN: networks/FAN.py, SigmaNet.py, UNet_enhance.py,
subBlock.py, SWT.py):
- A noise-estimation net (3x3 conv 3 -> 64 + PReLU, 5 x conv + PReLU, conv -> 3) predicts a
  3-channel noise map.
- Image and map go to YUV (BT.601 weights, +0.5 on U and V). The Y channel is split by a
  one-level undecimated (stationary) Haar wavelet transform with periodic boundary into four
  full-size bands; the U-Net reads [4 bands, U, V, 3-channel map] (9 channels) and predicts
  the 4 clean bands and clean U, V (6 channels); the inverse transform and YUV -> RGB give the
  clean image directly (no global residual).
- The U-Net has 4 scales of 64, 128, 256, 512 features, average-pool downsampling, 2x2
  transposed-conv upsampling with concatenated skips; a stage is a 3x3 conv + PReLU and
  max(n - 1, 1) residual blocks (3x3 conv + PReLU + identity), n = 3, 2, 1 from fine to
  coarse (1 in the bottleneck), and each encoder stage ends in a spatial-channel attention
  block (``SCAB``). 11.9M parameters here; a count of the authors' layer definitions gives
  about 12.3M, so some detail (not the layout above) differs.
- Training (paper code): L1 on the image (+ 0.2 L1 on the map, which we leave out), Adam 2e-4
  with a cosine schedule, synthetic sigma drawn from [15, 50].
``width=16`` is the reduced variant we train (``fan_small``).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Denoiser, pad_to_multiple
from .registry import ModelSpec, register

_YUV = torch.tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])


def rgb_to_yuv(x: torch.Tensor) -> torch.Tensor:
    yuv = torch.einsum("ij,njhw->nihw", _YUV.to(x), x)
    return yuv + torch.tensor([0.0, 0.5, 0.5], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)


def yuv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    yuv = x - torch.tensor([0.0, 0.5, 0.5], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(_YUV).to(x), yuv)


def haar_swt(x: torch.Tensor) -> torch.Tensor:
    """One-level undecimated Haar transform (periodic) of (N, 1, H, W) -> (N, 4, H, W):
    low = (x[i] + x[i+1]) / sqrt 2, high = (x[i+1] - x[i]) / sqrt 2, rows then columns."""
    def split(v, dim):
        nxt = torch.roll(v, -1, dims=dim)
        return (v + nxt) / math.sqrt(2), (nxt - v) / math.sqrt(2)

    lo, hi = split(x, -2)
    bands = [b for part in (lo, hi) for b in split(part, -1)]
    return torch.cat(bands, 1)


def haar_iswt(bands: torch.Tensor) -> torch.Tensor:
    """The inverse of ``haar_swt``: each sample is recovered from two positions (i and i-1)
    and the two are averaged, as pywt.iswt2 does."""
    def merge(lo, hi, dim):
        here = (lo - hi) / math.sqrt(2)
        before = (torch.roll(lo, 1, dims=dim) + torch.roll(hi, 1, dims=dim)) / math.sqrt(2)
        return (here + before) / 2

    ll, lh, hl, hh = bands.split(1, 1)
    return merge(merge(ll, lh, -1), merge(hl, hh, -1), -2)


def _conv(cin, cout, k=3, dilation=1):
    return nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation)


class ResidualPReLU(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_conv(c, c), nn.PReLU())

    def forward(self, x):
        return x + self.body(x)


def stage(cin: int, cout: int, n: int) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cout), nn.PReLU(), *[ResidualPReLU(cout) for _ in range(max(n - 1, 1))])


class SCAB(nn.Module):
    """Spatial-channel attention block: F = conv(PReLU(conv(x))); channel attention (global
    pool, 1x1 to C/16, PReLU, 1x1, sigmoid); spatial attention through dilated convs (rates 2
    and 4) down to one sigmoid map; the two attended copies of F are concatenated, a 3x3 conv
    merges them and the block input is added."""

    def __init__(self, c: int):
        super().__init__()
        r, q = max(c // 4, 1), max(c // 16, 1)
        self.features = nn.Sequential(_conv(c, c), nn.PReLU(), _conv(c, c))
        self.channel = nn.Sequential(nn.AdaptiveAvgPool2d(1), _conv(c, q, 1), nn.PReLU(), _conv(q, c, 1), nn.Sigmoid())
        self.spatial = nn.Sequential(_conv(c, c), nn.PReLU(), _conv(c, r, 1), nn.PReLU(), _conv(r, r, 3, 2), nn.PReLU(),
                                     _conv(r, q, 1), nn.PReLU(), _conv(q, q, 3, 4), nn.PReLU(), _conv(q, 1, 1),
                                     nn.Sigmoid())
        self.merge = _conv(2 * c, c)

    def forward(self, x):
        f = self.features(x)
        return x + self.merge(torch.cat([f * self.spatial(f), f * self.channel(f)], 1))


class FANUNet(nn.Module):
    def __init__(self, cin: int = 9, cout: int = 6, width: int = 64):
        super().__init__()
        w = [width * 2 ** i for i in range(4)]
        reps = (3, 2, 1)
        self.down = nn.ModuleList([nn.Sequential(stage(cin if i == 0 else w[i - 1], w[i], reps[i]), SCAB(w[i]))
                                   for i in range(3)])
        self.bottom = stage(w[2], w[3], 1)
        self.up = nn.ModuleList([nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2) for i in range(3)])
        self.dec = nn.ModuleList([stage(2 * w[i], w[i], reps[i]) for i in range(3)])
        self.head = _conv(w[0], cout)

    def forward(self, x):
        skips = []
        for down in self.down:
            x = down(x)
            skips.append(x)
            x = F.avg_pool2d(x, 2)
        x = self.bottom(x)
        for i in reversed(range(3)):
            x = self.dec[i](torch.cat([self.up[i](x), skips[i]], 1))
        return self.head(x)


class FAN(Denoiser):
    def __init__(self, width: int = 64):
        super().__init__()
        self.in_channels = 3
        self.estimator = nn.Sequential(_conv(3, width), nn.PReLU(),
                                       *[m for _ in range(5) for m in (_conv(width, width), nn.PReLU())],
                                       _conv(width, 3))
        self.unet = FANUNet(9, 6, width)

    def noise_map(self, x: torch.Tensor) -> torch.Tensor:
        """The estimated 3-channel noise map of an RGB batch."""
        return self.estimator(x)

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (blind: it estimates its noise map)."""
        self.check_input(x)
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, 8)
        yuv, noise = rgb_to_yuv(x), rgb_to_yuv(self.noise_map(x))
        out = self.unet(torch.cat([haar_swt(yuv[:, :1]), yuv[:, 1:], noise], 1))
        y = haar_iswt(out[:, :4])
        return yuv_to_rgb(torch.cat([y, out[:, 4:]], 1))[..., :h, :w]


PAPER = "Mo et al., ACCV 2020 (FAN)"

register(
    ModelSpec("fan", lambda **kw: FAN(64), 3, "blind", PAPER, notes="full size (width 64); no official file is "
              "registered: pass weights=<path>"),
    ModelSpec("fan_small", lambda **kw: FAN(16), 3, "blind", PAPER, ours="fan_small", variant="reduced",
              notes="reduced FAN: width 16 (the paper: 64)"),
)
