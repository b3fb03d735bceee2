"""DRUNet, the denoiser prior of DPIR (Zhang, Li, Zuo, Zhang, Van Gool & Timofte,
"Plug-and-Play Image Restoration with Deep Denoiser Prior", IEEE TPAMI 2021, Sec. 3 / Fig. 1).

Facts used: a U-Net with four scales of 64, 128, 256, 512 features and four residual blocks
(3x3 conv, ReLU, 3x3 conv, identity skip) per scale, all convolutions without bias;
downsampling by 2x2 strided convolutions, upsampling by 2x2 transposed convolutions; the skips
are added (not concatenated); the head is a 3x3 conv from the image plus a noise-level map
sigma/255 (the LAST input channel), the tail a 3x3 conv to the image, which is the output
(no global residual). 32.6M parameters. The parameter names follow the released KAIR files
(``m_head``, ``m_down1..3``, ``m_body``, ``m_up3..1``, ``m_tail``), so drunet_gray.pth and
drunet_color.pth load when a user has them. Three downsamplings need sizes that are multiples
of 8: inputs are padded by replicating the border and the output is cropped.

``features=(16, 32, 64, 128), blocks=2`` gives the reduced-width DRUNet we train on a CPU
(registered as ``dpir_small_*``); the full size is ``dpir_*``.
"""

import torch
from torch import nn

from ..checks import noise_level
from .base import Denoiser, pad_to_multiple
from .registry import ModelSpec, register


class ResBlock(nn.Module):
    """DRUNet's residual block: 3x3 conv, ReLU, 3x3 conv, identity skip."""

    def __init__(self, features: int):
        super().__init__()
        self.res = nn.Sequential(nn.Conv2d(features, features, 3, padding=1, bias=False), nn.ReLU(inplace=True),
                                 nn.Conv2d(features, features, 3, padding=1, bias=False))

    def forward(self, x):
        return x + self.res(x)


class AdditiveUNet(nn.Module):
    """The four-scale U-Net of DRUNet (and of CurvPnP, with another ``block``): head conv,
    3 x (blocks + 2x2 strided conv), blocks, 3 x (2x2 transposed conv + blocks), tail conv;
    skips are added. No bias anywhere. Sizes must be multiples of 8."""

    def __init__(self, in_channels: int, out_channels: int, features=(64, 128, 256, 512), blocks: int = 4,
                 block=ResBlock):
        super().__init__()
        f = features
        self.m_head = nn.Conv2d(in_channels, f[0], 3, padding=1, bias=False)
        for i in range(3):
            setattr(self, f"m_down{i + 1}", nn.Sequential(
                *[block(f[i]) for _ in range(blocks)], nn.Conv2d(f[i], f[i + 1], 2, stride=2, bias=False)))
            setattr(self, f"m_up{i + 1}", nn.Sequential(
                nn.ConvTranspose2d(f[i + 1], f[i], 2, stride=2, bias=False), *[block(f[i]) for _ in range(blocks)]))
        self.m_body = nn.Sequential(*[block(f[3]) for _ in range(blocks)])
        self.m_tail = nn.Conv2d(f[0], out_channels, 3, padding=1, bias=False)

    def forward(self, x, head_skip=None):
        """``head_skip(x1)``, if given, replaces the finest skip (CurvPnP's attention)."""
        x1 = self.m_head(x)
        x2 = self.m_down1(x1)
        x3 = self.m_down2(x2)
        x4 = self.m_down3(x3)
        y = self.m_body(x4)
        y = self.m_up3(y + x4)
        y = self.m_up2(y + x3)
        y = self.m_up1(y + x2)
        return self.m_tail(y + (x1 if head_skip is None else head_skip(x1)))


class DRUNet(AdditiveUNet, Denoiser):
    def __init__(self, in_channels: int = 1, features=(64, 128, 256, 512), blocks: int = 4,
                 sigma: float = 25.0):
        AdditiveUNet.__init__(self, in_channels + 1, in_channels, features, blocks)
        self.in_channels = in_channels
        self.sigma = float(noise_level(sigma))

    def forward(self, x, sigma: float | torch.Tensor | None = None):
        """``sigma`` (0-255, a number or one per image) overrides the bound noise level."""
        self.check_input(x)
        h, w = x.shape[-2:]
        return AdditiveUNet.forward(self, self.with_noise_map(pad_to_multiple(x, 8), sigma))[..., :h, :w]

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


PAPER = "Zhang et al., IEEE TPAMI 2021 (DPIR, DRUNet prior)"
SMALL_FEATURES = (16, 32, 64, 128)
"""The widths of our reduced DRUNet (and CurvPnP) per scale (the paper: 64, 128, 256, 512)."""

register(
    *[ModelSpec(f"dpir_{kind}", lambda sigma=25.0, c=c, **kw: DRUNet(c, sigma=sigma), c, "plug-and-play", PAPER,
                sigma=25.0, bindable=True, official=f"drunet_{kind}",
                notes="full-size DRUNet (32.6M parameters), noise-level map input, sigma in [0, 50]")
      for c, kind in ((1, "gray"), (3, "color"))],
    *[ModelSpec(f"dpir_small_{kind}", lambda sigma=25.0, c=c, **kw: DRUNet(c, SMALL_FEATURES, 2, sigma=sigma), c,
                "plug-and-play", PAPER, sigma=25.0, bindable=True, ours=f"dpir_small_{kind}", variant="reduced",
                notes=f"reduced DRUNet: features {SMALL_FEATURES}, 2 blocks per scale (the paper: 64-512, 4)")
      for c, kind in ((1, "gray"), (3, "color"))],
)
