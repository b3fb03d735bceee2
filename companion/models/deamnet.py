"""DeamNet (Ren, He, Zhang, Wang & Zhang, "Adaptive Consistency Prior based Deep Network for
Image Denoising", CVPR 2021), gray, the unfolding model of Ning et al.

Facts used (the authors' code, chaoren88/DeamNet: DeamNet.py, train.py):
- A feature transform T (3x3 conv to 64 features + a residual conv-ReLU-conv branch) gives
  y0 = T(noisy); x0 = y0.
- Four unrolled stages of the adaptive consistency prior: z = NLO(x_{k-1}) (a non-linear
  filtering subnetwork, one set of weights shared by all stages), then the DEAM update
  x_k = (1 - d_k) z + d_k y0 with an element-wise reliability map d_k = W_k(z, y0) of its own
  per stage: 3x3 conv of y0, concatenated with z, 1x1 conv to 64, 3x3 conv to 4, ReLU, 3x3
  conv to 64, sigmoid.
- The NLO is a U-Net of 64 features at all four scales: two 3x3 conv+ReLU per level, a 3x3
  stride-2 conv+ReLU down; two conv+ReLU at the bottom; each decoder level fuses the skip and
  the nearest-upsampled deeper features with the same DEAM weighting, then concatenates a
  second upsampled copy, 1x1 conv, two conv+ReLU; a last 3x3 conv, added to the NLO input.
- The inverse transform (a residual conv-ReLU-conv branch, 3x3 conv to the image) gives the
  clean image directly. Sizes must be multiples of 16 (reflection padding, then cropped).
- Training (authors' code): MSE, Adam 1e-4, 128x128 crops, one model per sigma.
The authors' module also creates four convolutions it never uses (dilated 3/5/7 and a 1x1);
they are left out, so their official files need those keys dropped before loading.
``features=32`` is the reduced variant we train (``deamnet_small``).
"""

import torch
import torch.nn.functional as F
from torch import nn

from .base import Denoiser, pad_to_multiple
from .registry import ModelSpec, register


def _conv(cin, cout, k=3, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _conv_relu(cin, cout, stride=1):
    return [_conv(cin, cout, stride=stride), nn.ReLU(inplace=True)]


class ResidualBranch(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(_conv(c, c), nn.ReLU(inplace=True), _conv(c, c))

    def forward(self, x):
        return x + self.body(x)


class DEAM(nn.Module):
    """Dual element-wise attention: w = sigmoid(conv(ReLU(conv(1x1([conv(a), b]))))), returns
    (1 - w) b + w a: the reliable part of ``a`` (the observation) replaces that of ``b``."""

    def __init__(self, c: int):
        super().__init__()
        self.conv_a = _conv(c, c)
        self.weight = nn.Sequential(_conv(2 * c, c, 1), _conv(c, max(c // 16, 1)), nn.ReLU(inplace=True),
                                    _conv(max(c // 16, 1), c), nn.Sigmoid())

    def forward(self, a, b):
        w = self.weight(torch.cat([self.conv_a(a), b], 1))
        return (1 - w) * b + w * a


class NLO(nn.Module):
    """The non-linear filtering subnetwork (a four-level U-Net with DEAM skip fusion)."""

    def __init__(self, c: int, levels: int = 4):
        super().__init__()
        self.enc = nn.ModuleList([nn.Sequential(*_conv_relu(c, c), *_conv_relu(c, c)) for _ in range(levels)])
        self.down = nn.ModuleList([nn.Sequential(*_conv_relu(c, c, stride=2)) for _ in range(levels)])
        self.bottom = nn.Sequential(*_conv_relu(c, c), *_conv_relu(c, c))
        self.up_fuse = nn.ModuleList([nn.Sequential(*_conv_relu(c, c)) for _ in range(levels)])
        self.fuse = nn.ModuleList([DEAM(c) for _ in range(levels)])
        self.after_fuse = nn.ModuleList([nn.Sequential(*_conv_relu(c, c)) for _ in range(levels)])
        self.up_copy = nn.ModuleList([nn.Sequential(*_conv_relu(c, c)) for _ in range(levels)])
        self.dec = nn.ModuleList([nn.Sequential(_conv(2 * c, c, 1), *_conv_relu(c, c), *_conv_relu(c, c))
                                  for _ in range(levels)])
        self.last = _conv(c, c)

    def forward(self, x):
        skips, g = [], x
        for enc, down in zip(self.enc, self.down):
            g = enc(g)
            skips.append(g)
            g = down(g)
        g = self.bottom(g)
        for i in reversed(range(len(skips))):
            up = F.interpolate(g, scale_factor=2, mode="nearest")
            fused = self.fuse[i](skips[i], self.up_fuse[i](up))
            g = self.dec[i](torch.cat([self.after_fuse[i](fused), self.up_copy[i](up)], 1))
        return x + self.last(g)


class DeamNet(Denoiser):
    def __init__(self, in_channels: int = 1, features: int = 64, stages: int = 4):
        super().__init__()
        self.in_channels = in_channels
        c = features
        self.transform = nn.Sequential(_conv(in_channels, c), ResidualBranch(c))
        self.nlo = NLO(c)
        self.deam = nn.ModuleList([DEAM(c) for _ in range(stages)])
        self.inverse = nn.Sequential(ResidualBranch(c), _conv(c, in_channels))

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (trained for one level)."""
        self.check_input(x)
        h, w = x.shape[-2:]
        y0 = self.transform(pad_to_multiple(x, 16, mode="reflect" if min(h, w) > 16 else "replicate"))
        z = y0
        for deam in self.deam:
            z = deam(y0, self.nlo(z))
        return self.inverse(z)[..., :h, :w]


PAPER = "Ren et al., CVPR 2021 (DeamNet)"

register(
    ModelSpec("deamnet", lambda **kw: DeamNet(1, 64), 1, "unfolding", PAPER, sigma=25.0,
              notes="full size (64 features); no official file is registered: pass weights=<path>"),
    ModelSpec("deamnet_small", lambda **kw: DeamNet(1, 32), 1, "unfolding", PAPER, sigma=25.0,
              ours="deamnet_small", variant="reduced", notes="reduced DeamNet: 32 features (the paper: 64)"),
)
