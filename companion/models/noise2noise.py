"""The Noise2Noise U-Net (Lehtinen et al., "Noise2Noise: Learning Image Restoration without
Clean Data", ICML 2018, appendix Table 2), in the PyTorch layout of the released models
(joeylitalien/noise2noise-pytorch, and Plummer & Hauser's CIFAR-10 models, which share it).

Facts used: 3x3 convolutions with ReLU; encoder: two 48-feature convs and a 2x2 max-pool, then
four stages of one 48-feature conv and a max-pool, all four using the SAME weights
(``_block2``); a 48-feature conv and a stride-2 3x3 transposed conv (padding 1, output padding
1) for upsampling; decoder: two 96-feature convs + upsampling on the concatenation with the
skip, then three stages of that (144 -> 96 -> 96 + upsampling) sharing the SAME weights
(``_block5``); last: the concatenation with the input -> 64 -> 32 -> image channels, followed
by a LeakyReLU(0.1). The output is the clean image (not a residual). Five poolings need sizes
that are multiples of 32: inputs are padded (replicating the border) and the output cropped.
"""

import torch
from torch import nn

from .base import Denoiser, pad_to_multiple
from .registry import ModelSpec, register


def _conv(cin: int, cout: int) -> list:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True)]


def _up(channels: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(channels, channels, 3, stride=2, padding=1, output_padding=1)


class Noise2NoiseUNet(Denoiser):
    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.in_channels = in_channels
        self._block1 = nn.Sequential(*_conv(in_channels, 48), *_conv(48, 48), nn.MaxPool2d(2))
        self._block2 = nn.Sequential(*_conv(48, 48), nn.MaxPool2d(2))
        self._block3 = nn.Sequential(*_conv(48, 48), _up(48))
        self._block4 = nn.Sequential(*_conv(96, 96), *_conv(96, 96), _up(96))
        self._block5 = nn.Sequential(*_conv(144, 96), *_conv(96, 96), _up(96))
        self._block6 = nn.Sequential(*_conv(96 + in_channels, 64), *_conv(64, 32),
                                     nn.Conv2d(32, in_channels, 3, padding=1), nn.LeakyReLU(0.1))

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (blind)."""
        self.check_input(x)
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, 32)
        skips = [x, self._block1(x)]
        for _ in range(3):
            skips.append(self._block2(skips[-1]))
        up = self._block3(self._block2(skips[-1]))
        up = self._block4(torch.cat([up, skips.pop()], 1))
        for _ in range(3):
            up = self._block5(torch.cat([up, skips.pop()], 1))
        return self._block6(torch.cat([up, skips.pop()], 1))[..., :h, :w]


PLUMMER_HAUSER = {  # registry name: (weight key, noise type, what it was trained on)
    "n2n_ph_gaussian50": ("n2n_ph_gaussian_std_50", "gaussian", "Gaussian, sigma up to 50"),
    "n2n_ph_gaussian100": ("n2n_ph_gaussian_std_100", "gaussian", "Gaussian, sigma up to 100"),
    "n2n_ph_impulse_p02": ("n2n_ph_impulse_std50_p0.2", "impulse", "random-valued impulse, p up to 0.2"),
    "n2n_ph_impulse_p05": ("n2n_ph_impulse_std50_p0.5", "impulse", "random-valued impulse, p up to 0.5"),
    "n2n_ph_poisson100": ("n2n_ph_poisson_100", "poisson", "Poisson, 100 photons"),
    "n2n_ph_poisson200": ("n2n_ph_poisson_200", "poisson", "Poisson, 200 photons"),
    "n2n_ph_poisson500": ("n2n_ph_poisson_500", "poisson", "Poisson, 500 photons"),
}
"""Plummer & Hauser's released CIFAR-10 U-Nets."""

OURS = {  # registry name: (noise, loss)
    "n2n_gaussian_l2": ("gaussian", "l2"),
    "n2n_poisson_l1": ("poisson", "l1"),
    "n2n_impulse_l0": ("impulse", "l0"),
    "n2n_impulse_l2": ("impulse", "l2"),
    "n2n_impulse_l1": ("impulse", "l1"),
}
"""Notebook 08's U-Nets, trained by us on noisy targets only, one per noise and loss (their noise
levels and schedules: ``companion.train.N2N_OURS``)."""


def _unet(**kw) -> Noise2NoiseUNet:
    return Noise2NoiseUNet(3)


register(
    ModelSpec("n2n_color", _unet, 3, "blind", "Lehtinen et al., ICML 2018 (Noise2Noise)", official="n2n_gaussian",
              notes="trained on noisy targets, Gaussian sigma up to 50, 64x64 crops (joeylitalien)"),
    *[ModelSpec(name, _unet, 3, "blind", "Plummer & Hauser (Noise2Noise U-Net trained on CIFAR-10)", official=key,
                notes=notes, noise=noise) for name, (key, noise, notes) in PLUMMER_HAUSER.items()],
    *[ModelSpec(name, _unet, 3, "blind", "Lehtinen et al., ICML 2018 (Noise2Noise), for the noises of Plummer & Hauser",
                ours=name, noise=noise, collection="noise2noise",
                notes=f"our Noise2Noise U-Net: {noise} noise, {loss.upper()} loss, noisy targets only")
      for name, (noise, loss) in OURS.items()],
)
