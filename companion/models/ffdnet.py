"""FFDNet (Zhang, Zuo & Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based
Image Denoising", IEEE TIP 2018).

Facts used: the noisy image is reversibly downsampled into four sub-images (pixel unshuffle by
2), a uniform noise-level map sigma/255 is concatenated, a plain Conv+ReLU stack (BN folded)
maps them to the four clean sub-images, which pixel shuffle puts back. Gray: 15 layers of 64
features; color: 12 layers of 96. The released KAIR weights put the noise map as the LAST input
channel (5 = 4 + 1 for gray, 13 = 12 + 1 for color) and are laid out as ``model.{0,2,...}``.
Odd sizes are padded by replicating the last row/column, then cropped back. Middle layers are
Conv+BN+ReLU in the paper; ``batch_norm=True`` builds that training network and
``deployable()`` folds the BN into the official layout.

FFDNet is non-blind: the model is bound to a noise level when created (``sigma``, 0-255
scale) and ``forward(x)`` uses it; ``forward(x, sigma=...)`` overrides it for one call, with a
number or one level per image (a tensor of shape (N,), as in training on a range of levels).
"""

import torch
import torch.nn.functional as F

from ..checks import noise_level
from .base import Denoiser, conv_stack, pad_to_multiple
from .registry import TRAIN_WITH_BATCH_NORM, ModelSpec, register


class FFDNet(Denoiser):
    def __init__(self, in_channels: int = 1, depth: int | None = None,
                 features: int | None = None, sigma: float = 25.0, batch_norm: bool = False):
        super().__init__()
        self.in_channels = in_channels
        depth = depth or (15 if in_channels == 1 else 12)
        features = features or (64 if in_channels == 1 else 96)
        self.model = conv_stack(4 * in_channels + 1, 4 * in_channels, features, depth, batch_norm)
        self.sigma = float(noise_level(sigma))

    def forward(self, x, sigma: float | torch.Tensor | None = None):
        self.check_input(x)
        h, w = x.shape[-2:]
        sub = F.pixel_unshuffle(pad_to_multiple(x, 2), 2)
        return F.pixel_shuffle(self.model(self.with_noise_map(sub, sigma)), 2)[..., :h, :w]

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


PAPER = "Zhang, Zuo & Zhang, IEEE TIP 2018 (FFDNet)"


def _ffdnet(channels: int):
    return lambda sigma=25.0, batch_norm=False, **kw: FFDNet(channels, sigma=sigma, batch_norm=batch_norm)


register(*[ModelSpec(f"ffdnet_{kind}", _ffdnet(c), c, "non-blind", PAPER, sigma=25.0, bindable=True,
                     official=f"ffdnet_{kind}", ours="ffdnet_gray" if c == 1 else None,
                     notes="noise-level map input, sigma in [0, 75]", train_kwargs=TRAIN_WITH_BATCH_NORM)
           for c, kind in ((1, "gray"), (3, "color"))])
