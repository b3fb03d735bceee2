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
Simplified in our reduced ``MPRNet``: stage 1 decodes the quarters and fuses stage-1 features
before each stage-2 level, stage 3 fuses only stage 2's full-resolution features, convolutions
have biases and every block its own PReLU. The network is blind: it sees only the blurred image.

``MPRNetFull`` is the authors' deblurring network as their Deblurring/MPRNet.py builds it (swz30/
MPRNet; the official file is a fork's copy of their model_deblurring.pth): no biases, one PReLU
shared by every block, 1x1 convolutions in the SAMs, stage-1 quarters paired into halves before
their decoder, each encoder level's CSFF added after its blocks, and the three ORSNet blocks each
fused with one level of stage 2 upsampled to full resolution; RGB. Its file (``ckpt['state_dict']``,
keys maybe prefixed ``module.``) loads by ``AUTHORS``. Their demo pads to a multiple of 8 by
reflection and crops; so does ``MPRNetFull``.
"""

import re

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import official, read_state_dict
from .base import Restorer, pad_to_multiple
from .layouts import rename
from .registry import ModelSpec, register


def _conv(cin, cout, k=3, bias=True):
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


class CAB(nn.Module):
    """Channel attention block: x + CA(conv(PReLU(conv(x)))); ``act``: a PReLU to share (the
    authors' network has one for all its blocks), else its own."""

    def __init__(self, features: int, reduction: int = 4, bias: bool = True, act: nn.Module | None = None):
        super().__init__()
        self.body = nn.Sequential(_conv(features, features, bias=bias), act or nn.PReLU(),
                                  _conv(features, features, bias=bias))
        hidden = max(features // reduction, 1)
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(features, hidden, 1, bias=bias),
                                       nn.ReLU(inplace=True), nn.Conv2d(hidden, features, 1, bias=bias), nn.Sigmoid())

    def forward(self, x):
        r = self.body(x)
        return x + r * self.attention(r)


def _cabs(features, n, **kw):
    return nn.Sequential(*[CAB(features, **kw) for _ in range(n)])


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
    features of the previous stage to add at each level, before its blocks or (``fuse_after``,
    the authors') after them. ``csff=False``: a first stage, without CSFF convolutions."""

    def __init__(self, f, s, cabs, csff: bool = True, fuse_after: bool = False, bias: bool = True, act=None):
        super().__init__()
        widths = (f, f + s, f + 2 * s)
        self.fuse_after = fuse_after
        self.enc = nn.ModuleList(_cabs(w, cabs, bias=bias, act=act) for w in widths)
        self.down = nn.ModuleList(_Resample(widths[i], widths[i + 1], 0.5) for i in range(2))
        self.dec = nn.ModuleList(_cabs(w, cabs, bias=bias, act=act) for w in widths)
        self.up = nn.ModuleList(_Resample(widths[i + 1], widths[i], 2.0) for i in range(2))
        self.skip = nn.ModuleList(CAB(w, bias=bias, act=act) for w in widths[:2])
        if csff:
            self.csff_enc = nn.ModuleList(nn.Conv2d(w, w, 1, bias=bias) for w in widths)
            self.csff_dec = nn.ModuleList(nn.Conv2d(w, w, 1, bias=bias) for w in widths)

    def encode(self, x, previous=None):
        """The features of each level; ``previous``: (encoder, decoder) features of the stage before."""
        feats = []
        for i, level in enumerate(self.enc):
            if i:
                x = self.down[i - 1](x)
            if previous is not None and not self.fuse_after:
                x = self._csff(x, previous, i)
            x = level(x)
            if previous is not None and self.fuse_after:
                x = self._csff(x, previous, i)
            feats.append(x)
        return feats

    def _csff(self, x, previous, i):
        return x + self.csff_enc[i](previous[0][i]) + self.csff_dec[i](previous[1][i])

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

    def __init__(self, features, channels, k: int = 3, bias: bool = True):
        super().__init__()
        self.conv1, self.to_image = _conv(features, features, k, bias), _conv(features, channels, k, bias)
        self.from_image = _conv(channels, features, k, bias)

    def forward(self, x, image):
        restored = self.to_image(x) + image
        return self.conv1(x) * torch.sigmoid(self.from_image(restored)) + x, restored


def _upsamplings(f: int, scale: int, i: int) -> nn.Sequential:
    """Level i's features (width f + i scale) to full resolution and width f, one level at a time."""
    return nn.Sequential(*[_Resample(f + j * scale, f + (j - 1) * scale, 2.0) for j in range(i, 0, -1)])


class ORSNet(nn.Module):
    """Original-resolution subnetwork: blocks of CABs, each closed by a conv and a residual,
    with the previous stage's encoder and decoder features added (CSFF): the full-resolution ones
    after every block, or (``scale``, the authors') those of level i after block i, brought to
    full resolution by i upsamplings (``_Resample``, widths f + i s down to f)."""

    def __init__(self, f, g, blocks, cabs, scale: int | None = None, bias: bool = True, act=None):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(*[CAB(g, bias=bias, act=act) for _ in range(cabs)],
                                                  _conv(g, g, bias=bias)) for _ in range(blocks))
        self.csff_enc = nn.ModuleList(nn.Conv2d(f, g, 1, bias=bias) for _ in range(blocks))
        self.csff_dec = nn.ModuleList(nn.Conv2d(f, g, 1, bias=bias) for _ in range(blocks))
        self.up_enc = nn.ModuleList(_upsamplings(f, scale, i) for i in range(blocks) if scale)
        self.up_dec = nn.ModuleList(_upsamplings(f, scale, i) for i in range(blocks) if scale)

    def forward(self, x, enc: list, dec: list):
        """``enc``, ``dec``: the previous stage's features, full resolution first."""
        for i, (block, ce, cd) in enumerate(zip(self.blocks, self.csff_enc, self.csff_dec)):
            x = x + block(x)
            e, d = (self.up_enc[i](enc[i]), self.up_dec[i](dec[i])) if len(self.up_enc) else (enc[0], dec[0])
            x = x + ce(e) + cd(d)
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
        z = self.orsnet(z, [_merge(enc2[0], 2, n)], [_merge(dec2[0], 2, n)])
        return (self.tail(z) + x)[..., :h, :w]


class MPRNetFull(Restorer):
    """The authors' MPRNet for deblurring (module docstring), RGB, 20.1M parameters:
    ``forward(y, kernel=None, sigma=None)`` sees y alone (blind)."""

    blind = True

    def __init__(self, features: int = 96, scale: int = 48, orsnet_scale: int = 32, orsnet_cabs: int = 8):
        super().__init__()
        self.in_channels = c = 3
        f, g = features, features + orsnet_scale
        act = nn.PReLU()  # one slope for the whole network, as the authors' `act`
        self.shallow = nn.ModuleList(nn.Sequential(_conv(c, f, bias=False), CAB(f, bias=False, act=act))
                                     for _ in range(3))
        self.stage1 = EncoderDecoder(f, scale, 2, csff=False, bias=False, act=act)
        self.stage2 = EncoderDecoder(f, scale, 2, fuse_after=True, bias=False, act=act)
        self.sam1, self.sam2 = SAM(f, c, 1, bias=False), SAM(f, c, 1, bias=False)
        self.concat2, self.concat3 = _conv(2 * f, f, bias=False), _conv(2 * f, g, bias=False)
        self.orsnet = ORSNet(f, g, 3, orsnet_cabs, scale=scale, bias=False, act=act)
        self.tail = _conv(g, c, bias=False)

    def forward(self, y: torch.Tensor, kernel: torch.Tensor | None = None, sigma=None) -> torch.Tensor:
        self.check_input(y)
        n, (h, w) = y.shape[0], y.shape[-2:]
        x = pad_to_multiple(y, 8, mode="reflect" if min(h, w) > 8 else "replicate")
        halves = _split(x, 2)  # [top, bottom] along the batch
        # stage 1: each quarter encoded, the two of each half side by side, decoded per half
        enc1 = [_split(_merge(t, 4, n), 2) for t in self.stage1.encode(self.shallow[0](_split(x, 4)))]
        dec1 = self.stage1.decode(enc1)
        feat1, _ = self.sam1(dec1[0], halves)
        # stage 2: the halves, stage 1's features fused after each encoder level (CSFF)
        enc2 = self.stage2.encode(self.concat2(torch.cat([self.shallow[1](halves), feat1], 1)), (enc1, dec1))
        enc2 = [_merge(t, 2, n) for t in enc2]
        dec2 = self.stage2.decode(enc2)
        feat2, _ = self.sam2(dec2[0], x)
        # stage 3: the original resolution, each block fused with one level of stage 2
        z = self.orsnet(self.concat3(torch.cat([self.shallow[2](x), feat2], 1)), enc2, dec2)
        return (self.tail(z) + x)[..., :h, :w]


_CAB = r"((?:.*\.)?)CA\.conv_du\.([02])\.weight"
AUTHORS = [  # (the authors' key after ``module.``, as a regex; ours); CABs first, then their places
    (r"shallow_feat([123])\.(.*)", lambda m: f"shallow.{int(m[1]) - 1}.{_cab(m[2])}"),
    (r"stage([12])_encoder\.encoder_level([123])\.(.*)", lambda m: f"stage{m[1]}.enc.{int(m[2]) - 1}.{_cab(m[3])}"),
    (r"stage([12])_decoder\.decoder_level([123])\.(.*)", lambda m: f"stage{m[1]}.dec.{int(m[2]) - 1}.{_cab(m[3])}"),
    (r"stage([12])_decoder\.skip_attn([12])\.(.*)", lambda m: f"stage{m[1]}.skip.{int(m[2]) - 1}.{_cab(m[3])}"),
    (r"stage([12])_encoder\.down(12|23)\.down\.1\.weight",
     lambda m: f"stage{m[1]}.down.{int(m[2][0]) - 1}.conv.weight"),
    (r"stage([12])_decoder\.up(21|32)\.up\.1\.weight", lambda m: f"stage{m[1]}.up.{int(m[2][1]) - 1}.conv.weight"),
    (r"stage2_encoder\.csff_(enc|dec)([123])\.weight", lambda m: f"stage2.csff_{m[1]}.{int(m[2]) - 1}.weight"),
    (r"sam(12|23)\.conv([123])\.weight",
     lambda m: f"sam{m[1][0]}.{('conv1', 'to_image', 'from_image')[int(m[2]) - 1]}.weight"),
    (r"concat(12|23)\.weight", lambda m: f"concat{m[1][1]}.weight"),
    (r"tail\.weight", "tail.weight"),
    (r"stage3_orsnet\.orb([123])\.body\.(.*)", lambda m: f"orsnet.blocks.{int(m[1]) - 1}.{_cab(m[2])}"),
    (r"stage3_orsnet\.conv_(enc|dec)([123])\.weight", lambda m: f"orsnet.csff_{m[1]}.{int(m[2]) - 1}.weight"),
    (r"stage3_orsnet\.up_(enc|dec)1\.up\.1\.weight", r"orsnet.up_\1.1.0.conv.weight"),
    (r"stage3_orsnet\.up_(enc|dec)2\.([01])\.up\.1\.weight", r"orsnet.up_\1.2.\2.conv.weight"),
]
"""The authors' keys (their module names in Deblurring/MPRNet.py) to ours. Stage 1 and 2's
encoder and decoder are one ``EncoderDecoder`` each; ``down12`` is our ``down.0``, ``up21`` our
``up.0``; SAM's conv1/conv2/conv3 are conv1/to_image/from_image; in a CAB their
``CA.conv_du.{0,2}`` is our ``attention.{1,3}`` (``_cab``)."""


def _cab(rest: str) -> str:
    """The rest of a key inside one of the authors' CABs (or anything else), in our names."""
    m = re.fullmatch(_CAB, rest)
    return f"{m[1]}attention.{int(m[2]) + 1}.weight" if m else rest


def _official(path, strip_prefix: str = "module.") -> dict:
    return rename(read_state_dict(path, strip_prefix), AUTHORS, str(path))


register(ModelSpec("mprnet_small", lambda **kw: MPRNet(1, 16, 8, 8, orsnet_cabs=2), 1, "blind",
                   "Zamir et al., CVPR 2021 (MPRNet)", ours="mprnet_small", variant="reduced", collection="deblurring",
                   notes="blind deblurring; reduced multi-stage restorer: 16 features, levels +8, ORSNet 2 CABs per "
                   "block (the paper: 96, +48, 8; MPRNet(3) builds that layout)"))

register(ModelSpec("mprnet", lambda **kw: MPRNetFull(), 3, "blind", "Zamir et al., CVPR 2021 (MPRNet)",
                   official="mprnet_deblurring", layout=_official, collection="deblurring",
                   notes=f"blind deblurring; the authors' network and file, {official('mprnet_deblurring').verified}"))
