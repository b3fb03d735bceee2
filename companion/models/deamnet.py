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

Their files (``Deam_models/noise{15,25,50}.pth``, the state_dict of ``nn.DataParallel(Deam(False))``,
keys prefixed ``module.``) load into ``DeamNet(1, 64)`` by ``AUTHORS`` (their module names, from
DeamNet.py, to ours). Their evaluation (Synthetic_test.py) pads the bottom and right by
reflection to the next multiple of 16 strictly above the size (16 rows when already a
multiple); ours pads to the multiple itself, which changes only the border.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import official, read_state_dict
from .base import Denoiser, pad_to_multiple
from .layouts import rename
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

_W = r"(weight|bias)"
_DEAM = r"(?:line(?P<stage>[1-4])(?P=stage)(?:\.weight)?|net2\.attention(?P<level>[0-3]))"
"""A DEAM module: a stage's (``line11``..``line44``, its weights under ``weight.conv_du``) or an
NLO level's (``attention0``..``attention3``, ``conv_du`` directly)."""


def _deam(m) -> str:
    return f"deam.{int(m['stage']) - 1}" if m["stage"] else f"nlo.fuse.{m['level']}"


AUTHORS = [  # (the authors' key after ``module.``, as a regex; ours)
    (rf"transform_function\.ext\.conv2d\.{_W}", r"transform.0.\1"),
    (rf"transform_function\.pre\.([02])\.conv2d\.{_W}", r"transform.1.body.\1.\2"),
    (rf"inverse_transform_function\.pre\.([02])\.conv2d\.{_W}", r"inverse.0.body.\1.\2"),
    (rf"inverse_transform_function\.ext\.conv2d\.{_W}", r"inverse.1.\1"),
    (rf"{_DEAM}\.C\.conv2d\.{_W}", lambda m: f"{_deam(m)}.conv_a.{m[3]}"),
    (rf"{_DEAM}\.cat\.conv2d\.{_W}", lambda m: f"{_deam(m)}.weight.0.{m[3]}"),
    (rf"{_DEAM}\.conv_du\.([02])\.conv2d\.{_W}", lambda m: f"{_deam(m)}.weight.{int(m[3]) + 1}.{m[4]}"),
    (rf"net2\.attention([0-3])\.ConvTranspose\.conv2d\.block\.0\.{_W}", r"nlo.up_fuse.\1.0.\2"),
    (rf"net2\.e([0-3])\.body\.([01])\.block\.0\.{_W}", lambda m: f"nlo.enc.{m[1]}.{2 * int(m[2])}.{m[3]}"),
    (rf"net2\.e([0-3])\.body\.2\.block\.0\.{_W}", r"nlo.down.\1.0.\2"),
    (rf"net2\.mid\.([01])\.block\.0\.{_W}", lambda m: f"nlo.bottom.{2 * int(m[1])}.{m[2]}"),
    (rf"net2\.de([0-3])\.upsample\.conv1\.block\.0\.{_W}", r"nlo.after_fuse.\1.0.\2"),
    (rf"net2\.de([0-3])\.upsample\.ConvTranspose\.conv2d\.block\.0\.{_W}", r"nlo.up_copy.\1.0.\2"),
    (rf"net2\.de([0-3])\.upsample\.cat\.conv2d\.{_W}", r"nlo.dec.\1.0.\2"),
    (rf"net2\.de([0-3])\.body\.([01])\.block\.0\.{_W}", lambda m: f"nlo.dec.{m[1]}.{2 * int(m[2]) + 1}.{m[3]}"),
    (rf"net2\.final\.conv2d\.{_W}", r"nlo.last.\1"),
]
"""The authors' keys (their module names in DeamNet.py) to ours; the ``Sequential`` indices
differ where ours interleave ReLUs (``2 i``, ``2 i + 1``)."""
UNUSED = (rf"net2\.conv_dila[123]\.conv2d\.{_W}", rf"net2\.cat1\.{_W}")
"""Convolutions the authors' ``ziwangluo1`` creates and never calls."""


def _official(path, strip_prefix: str = "module.") -> dict:
    return rename(read_state_dict(path, strip_prefix), AUTHORS, str(path), drop=UNUSED)


register(*[ModelSpec("deamnet" if s == 25 else f"deamnet_{s}", lambda **kw: DeamNet(1, 64), 1, "unfolding", PAPER,
                     sigma=float(s), official=f"deamnet_{s}", layout=_official,
                     notes=f"full size (64 features); the authors' file, {official(f'deamnet_{s}').verified}")
           for s in (25, 15, 50)],
    ModelSpec("deamnet_small", lambda **kw: DeamNet(1, 32), 1, "unfolding", PAPER, sigma=25.0,
              ours="deamnet_small", variant="reduced", notes="reduced DeamNet: 32 features (the paper: 64)"),
)
