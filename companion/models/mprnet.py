"""A multi-stage progressive restorer for blind deblurring, reduced from MPRNet (Zamir et al.,
"Multi-Stage Progressive Image Restoration", CVPR 2021, Sec. 3 and Fig. 2).

Facts from the paper and the authors' released configuration (the deblurring network: 96
features, encoder-decoder levels growing by 48, two channel-attention blocks per level, an
original-resolution subnetwork 32 features wider with three blocks of 8, reduction 4, PReLU;
20.1M parameters):
- channel attention block (CAB): conv3x3, PReLU, conv3x3, then channel attention (global
  average pool, 1x1 conv to C / 4, ReLU, 1x1 conv, sigmoid) scaling the features, plus the input;
- stages 1 and 2: a three-level U-Net encoder-decoder of CABs (bilinear down/up-sampling with
  1x1 convolutions, skip connections through a CAB); stage 1 sees the image as four
  non-overlapping quarters, stage 2 as two halves; stage 3 works at the original resolution
  (ORSNet: original-resolution blocks of CABs, each closed by a conv and a residual);
- between stages a supervised attention module (SAM) turns features into a restored image and
  an attention map that gates what passes on; cross-stage feature fusion (CSFF) adds stage 1's
  encoder and decoder features (1x1 convs) to stage 2's encoder;
- the output is stage 3's image plus the input (a residual).
Simplified here: stage 3 fuses only stage 2's full-resolution features (MPRNet upsamples all three
levels into it), so the full-size layout has a few more parameters than the paper's. The network is
blind: it sees only the blurred image.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .base import Restorer, pad_to_multiple
from .registry import ModelSpec, register


def _conv(cin, cout, k=3):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class CAB(nn.Module):
    """Channel attention block: x + CA(conv(PReLU(conv(x))))."""

    def __init__(self, features: int, reduction: int = 4):
        super().__init__()
        self.body = nn.Sequential(_conv(features, features), nn.PReLU(), _conv(features, features))
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(features, max(features // reduction, 1), 1),
                                       nn.ReLU(inplace=True), nn.Conv2d(max(features // reduction, 1), features, 1),
                                       nn.Sigmoid())

    def forward(self, x):
        r = self.body(x)
        return x + r * self.attention(r)


def _cabs(features, n):
    return nn.Sequential(*[CAB(features) for _ in range(n)])


class _Resample(nn.Module):
    """Bilinear x0.5 or x2, then a 1x1 conv to the next level's width."""

    def __init__(self, cin, cout, factor):
        super().__init__()
        self.factor, self.conv = factor, nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x, size=None):
        x = F.interpolate(x, size=size, scale_factor=None if size else self.factor, mode="bilinear",
                          align_corners=False)
        return self.conv(x)


class EncoderDecoder(nn.Module):
    """Three levels of CABs (widths f, f + s, f + 2s) down and up; ``encode`` takes the CSFF
    features of the previous stage to add at each level."""

    def __init__(self, f, s, cabs):
        super().__init__()
        widths = (f, f + s, f + 2 * s)
        self.enc = nn.ModuleList(_cabs(w, cabs) for w in widths)
        self.down = nn.ModuleList(_Resample(widths[i], widths[i + 1], 0.5) for i in range(2))
        self.dec = nn.ModuleList(_cabs(w, cabs) for w in widths)
        self.up = nn.ModuleList(_Resample(widths[i + 1], widths[i], 2.0) for i in range(2))
        self.skip = nn.ModuleList(CAB(w) for w in widths[:2])
        self.csff_enc = nn.ModuleList(nn.Conv2d(w, w, 1) for w in widths)
        self.csff_dec = nn.ModuleList(nn.Conv2d(w, w, 1) for w in widths)

    def encode(self, x, previous=None):
        feats = []
        for i, level in enumerate(self.enc):
            if i:
                x = self.down[i - 1](x)
            if previous is not None:
                enc, dec = previous
                x = x + self.csff_enc[i](enc[i]) + self.csff_dec[i](dec[i])
            x = level(x)
            feats.append(x)
        return feats

    def decode(self, feats):
        x = self.dec[2](feats[2])
        out = [x]
        for i in (1, 0):
            x = self.up[i](x, size=feats[i].shape[-2:]) + self.skip[i](feats[i])
            x = self.dec[i](x)
            out.insert(0, x)
        return out


class SAM(nn.Module):
    """Supervised attention module: image = conv(x) + input; gate = sigmoid(conv(image));
    features out = conv(x) * gate + x."""

    def __init__(self, features, channels):
        super().__init__()
        self.conv1, self.to_image = _conv(features, features), _conv(features, channels)
        self.from_image = _conv(channels, features)

    def forward(self, x, image):
        restored = self.to_image(x) + image
        return self.conv1(x) * torch.sigmoid(self.from_image(restored)) + x, restored


class ORSNet(nn.Module):
    """Original-resolution subnetwork: blocks of CABs, each closed by a conv and a residual,
    with the previous stage's full-resolution encoder and decoder features added (CSFF)."""

    def __init__(self, f, g, blocks, cabs):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(*[CAB(g) for _ in range(cabs)], _conv(g, g)) for _ in range(blocks))
        self.csff_enc = nn.ModuleList(nn.Conv2d(f, g, 1) for _ in range(blocks))
        self.csff_dec = nn.ModuleList(nn.Conv2d(f, g, 1) for _ in range(blocks))

    def forward(self, x, enc, dec):
        for block, ce, cd in zip(self.blocks, self.csff_enc, self.csff_dec):
            x = x + block(x)
            x = x + ce(enc) + cd(dec)
        return x


def _split(x, parts):
    """Four quarters (parts 4) or two halves (parts 2) along the batch axis."""
    top, bottom = x.chunk(2, dim=-2)
    return torch.cat([top, bottom]) if parts == 2 else torch.cat([*top.chunk(2, -1), *bottom.chunk(2, -1)])


def _merge(x, parts, n):
    if parts == 2:
        return torch.cat(x.split(n), dim=-2)
    a, b, c, d = x.split(n)
    return torch.cat([torch.cat([a, b], -1), torch.cat([c, d], -1)], -2)


class MPRNet(Restorer):
    """``forward(y, kernel=None, sigma=None)``: the blind three-stage restorer (module docstring),
    which sees y alone (kernel and sigma are ignored). Full size (the paper's deblurring layout):
    ``MPRNet(3)``; ours: ``MPRNet(1, 16, 8, 8, orsnet_cabs=2)``."""

    blind = True

    def __init__(self, in_channels: int = 1, features: int = 96, scale: int = 48, orsnet_scale: int = 32,
                 cabs: int = 2, orsnet_blocks: int = 3, orsnet_cabs: int = 8):
        super().__init__()
        self.in_channels = in_channels
        f, g = features, features + orsnet_scale
        self.shallow = nn.ModuleList(nn.Sequential(_conv(in_channels, f), CAB(f)) for _ in range(3))
        self.stage1, self.stage2 = EncoderDecoder(f, scale, cabs), EncoderDecoder(f, scale, cabs)
        self.sam1, self.sam2 = SAM(f, in_channels), SAM(f, in_channels)
        self.concat2, self.concat3 = _conv(2 * f, f), _conv(2 * f, g)
        self.orsnet = ORSNet(f, g, orsnet_blocks, orsnet_cabs)
        self.tail = _conv(g, in_channels)

    def forward(self, y: torch.Tensor, kernel: torch.Tensor | None = None, sigma=None) -> torch.Tensor:
        self.check_input(y)
        n, (h, w) = y.shape[0], y.shape[-2:]
        x = pad_to_multiple(y, 16)  # halves, then two down-samplings
        # stage 1: four quarters through the encoder-decoder, merged for the SAM
        quarters = _split(x, 4)
        enc1 = self.stage1.encode(self.shallow[0](quarters))
        dec1 = self.stage1.decode(enc1)
        feat1, _ = self.sam1(_merge(dec1[0], 4, n), x)
        # stage 2: two halves, stage 1's features fused into the encoder (CSFF)
        halves = _split(x, 2)
        to_halves = [_split(_merge(t, 4, n), 2) for t in (*enc1, *dec1)]
        enc2 = self.stage2.encode(self.concat2(torch.cat([self.shallow[1](halves), _split(feat1, 2)], 1)),
                                  (to_halves[:3], to_halves[3:]))
        dec2 = self.stage2.decode(enc2)
        feat2, _ = self.sam2(_merge(dec2[0], 2, n), x)
        # stage 3: the original resolution
        z = self.concat3(torch.cat([self.shallow[2](x), feat2], 1))
        z = self.orsnet(z, _merge(enc2[0], 2, n), _merge(dec2[0], 2, n))
        return (self.tail(z) + x)[..., :h, :w]


register(ModelSpec("mprnet_small", lambda **kw: MPRNet(1, 16, 8, 8, orsnet_cabs=2), 1, "blind",
                   "Zamir et al., CVPR 2021 (MPRNet)", ours="mprnet_small", variant="reduced", collection="deblurring",
                   notes="blind deblurring; reduced multi-stage restorer: 16 features, levels +8, ORSNet 2 CABs per "
                   "block (the paper: 96, +48, 8; MPRNet(3) builds that layout)"))
