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

``DWDNFull`` is the authors' network (dongjxjx/dwdn, model/deblur.py and utils_deblur.py; the file
is their model_DWDN.pt as copied to xlei1o/Adversarial_Robustness), RGB: 5x5 convolutions; a
feature extractor (conv to 16 + ReLU, three residual blocks); each of the 16 feature maps padded
by the kernel size (replicated border) and Wiener-deconvolved with an NSR estimated from that map
alone, NSR = var(median3x3(f) - f) / std(f) * 8 / 30 (their ``wiener_filter_para``, its sample
count the padded height squared, as written; the 3x3 median of the MedianPool2d it imports,
reflected border), then cropped; a two-scale encoder-decoder run at half then full resolution
with shared weights, the full-scale pass also taking the half-scale features upsampled
(bilinear); conv to the image. It ignores sigma (the NSR comes from the data). The encoder
halves twice at each scale, so sizes are padded to a multiple of 8 (replicated) and cropped.
Its file (a plain state_dict) loads by ``AUTHORS``.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import noise_level
from ..physics import kernel_otf
from ..weights import official, read_state_dict
from .base import Restorer, pad_to_multiple
from .layouts import rename
from .registry import ModelSpec, register


class ResBlock(nn.Module):
    def __init__(self, features, k: int = 3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features, features, k, padding=k // 2), nn.ReLU(inplace=True),
                                  nn.Conv2d(features, features, k, padding=k // 2))

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
        level = torch.as_tensor(noise_level(sigma), dtype=y.dtype, device=y.device).reshape(-1, 1, 1, 1) / 255.0
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


def _stage(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """5x5 conv + ReLU, then three 5x5 residual blocks (the authors' Conv + 3 ResBlock)."""
    return nn.Sequential(nn.Sequential(nn.Conv2d(cin, cout, 5, stride, 2), nn.ReLU(inplace=True)),
                         *[ResBlock(cout, 5) for _ in range(3)])


def _up(cin: int, cout: int) -> nn.Sequential:
    """Three residual blocks, then a transposed conv doubling the size + ReLU."""
    return nn.Sequential(*[ResBlock(cin, 5) for _ in range(3)],
                         nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1), nn.ReLU(inplace=True)))


def median3x3(x: torch.Tensor) -> torch.Tensor:
    """3x3 median of each channel, reflected border (differentiable: the gradient reaches the median)."""
    return F.unfold(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3).unflatten(1, (x.shape[1], 9)).median(2).values \
        .unflatten(-1, x.shape[-2:])


def estimated_nsr(f: torch.Tensor) -> torch.Tensor:
    """The authors' noise-to-signal ratio of each map of ``f`` (N, C, H, W) -> (N, C, 1, 1)."""
    n = f.shape[-2] ** 2  # their sample count (rows squared), exact for square maps
    diff = median3x3(f) - f
    var_n = (diff - diff.sum((2, 3), keepdim=True) / n).square().sum((2, 3), keepdim=True) / (n - 1)
    std_s = ((f - f.sum((2, 3), keepdim=True) / n).square().sum((2, 3), keepdim=True) / (n - 1)).sqrt()
    return var_n / std_s * 8.0 / 3.0 / 10.0


class DWDNFull(Restorer):
    """The authors' DWDN (module docstring): ``forward(y, kernel, sigma=None)``, RGB, y blurred
    by ``kernel`` (kh, kw) or one per image (N, kh, kw); sigma is ignored."""

    def __init__(self, in_channels: int = 3, features: int = 16, width: int = 32):
        super().__init__()
        self.in_channels, c, f, w = in_channels, in_channels, features, width
        self.features = _stage(c, f)
        self.in_coarse, self.in_fine = _stage(f, w), _stage(f + w, w)
        self.enc1, self.enc2 = _stage(w, 2 * w, 2), _stage(2 * w, 4 * w, 2)
        self.dec2, self.dec1 = _up(4 * w, 2 * w), _up(2 * w, w)
        self.out = nn.Sequential(*[ResBlock(w, 5) for _ in range(3)])
        self.tail = nn.Conv2d(w, c, 5, padding=2)

    def deconvolve(self, y: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """The Wiener-deconvolved feature maps (module docstring)."""
        kernel = kernel.to(y)
        kernel = kernel / kernel.sum((-2, -1), keepdim=True)
        kh, kw = kernel.shape[-2:]
        feats = F.pad(self.features(y), (kw, kw, kh, kh), mode="replicate")
        otf = kernel_otf(kernel, feats.shape[-2:])
        spectrum = otf.conj() * torch.fft.fft2(feats) / (otf.abs() ** 2 + estimated_nsr(feats))
        return torch.fft.ifft2(spectrum).real[..., kh:-kh, kw:-kw]

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma=None) -> torch.Tensor:
        self.check_input(y)
        h, w = y.shape[-2:]
        clear = self.deconvolve(pad_to_multiple(y, 8), kernel)
        previous = None
        for size in ((clear.shape[-2] // 2, clear.shape[-1] // 2), clear.shape[-2:]):
            x = F.interpolate(clear, size, mode="bilinear", align_corners=False)
            if previous is None:
                x = self.in_coarse(x)
            else:
                x = self.in_fine(torch.cat([x, F.interpolate(previous, size, mode="bilinear", align_corners=False)], 1))
            e1 = self.enc1(x)
            previous = self.out(self.dec1(self.dec2(self.enc2(e1)) + e1) + x)
        return self.tail(previous)[..., :h, :w]


_RES = r"\.([0-2])\.body\.([02])\.body\.0\.(weight|bias)"
_NAMES = {"FeatureBlock": "features", "inBlock1": "in_coarse", "inBlock2": "in_fine", "encoder_first": "enc1",
          "encoder_second": "enc2", "decoder_second": "dec2", "decoder_first": "dec1", "outBlock": "out"}
_STAGE = r"(FeatureBlock|inBlock1|inBlock2|encoder_first|encoder_second)"
AUTHORS = [  # (the authors' key, as a regex; ours)
    (rf"{_STAGE}\.0\.body\.0\.(weight|bias)", lambda m: f"{_NAMES[m[1]]}.0.0.{m[2]}"),
    (rf"{_STAGE}\.([1-3])\.body\.([02])\.body\.0\.(weight|bias)",
     lambda m: f"{_NAMES[m[1]]}.{m[2]}.body.{m[3]}.{m[4]}"),
    (rf"(decoder_second|decoder_first|outBlock){_RES}", lambda m: f"{_NAMES[m[1]]}.{m[2]}.body.{m[3]}.{m[4]}"),
    (r"(decoder_second|decoder_first)\.3\.body\.0\.(weight|bias)", lambda m: f"{_NAMES[m[1]]}.3.0.{m[2]}"),
    (r"outBlock2\.0\.body\.0\.(weight|bias)", r"tail.\1"),
]
"""The authors' keys (their ``DEBLUR`` module names; ``Conv``/``Deconv`` wrap their layer in
``body``, ``ResBlock`` holds two ``Conv`` at ``body.0`` and ``body.2``) to ours."""


def _official(path, strip_prefix: str = "") -> dict:
    return rename(read_state_dict(path, strip_prefix), AUTHORS, str(path))


register(ModelSpec("dwdn_small", lambda **kw: DWDN(1, 16, (16, 32, 64), 2), 1, "non-blind",
                   "Dong, Roth & Schiele, NeurIPS 2020 (DWDN)", ours="dwdn_small", variant="reduced",
                   collection="deblurring", notes="non-blind deblurring; reduced deep Wiener deconvolution: "
                   "16 features, refinement widths 16-64"))

register(ModelSpec("dwdn", lambda **kw: DWDNFull(3), 3, "non-blind", "Dong, Roth & Schiele, NeurIPS 2020 (DWDN)",
                   official="dwdn", layout=_official, collection="deblurring",
                   notes=f"non-blind deblurring, NSR estimated from the data; the authors' network and file, "
                   f"{official('dwdn').verified}"))
