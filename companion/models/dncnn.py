"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image
Denoising", IEEE TIP 2017).

Facts used: 3x3 convolutions with 64 features; the first layer Conv+ReLU, middle layers
Conv+BN+ReLU, the last a Conv back to the image channels; residual learning, so the output is
x - net(x). Depth 17 for DnCNN-S (one noise level), 20 for the blind DnCNN-B and CDnCNN-B
(sigma in [0, 55]). The released KAIR weights have the batch normalization folded into the
convolution biases, so every layer here is Conv(+bias)+ReLU, laid out as ``model.{0,2,...}``
with the ReLUs at the odd indices: the official state_dicts load without renaming.
"""

from torch import nn

from .base import Denoiser


class DnCNN(Denoiser):
    def __init__(self, in_channels: int = 1, depth: int = 17, features: int = 64):
        super().__init__()
        if depth < 2:
            raise ValueError(f"DnCNN needs depth >= 2, got {depth}")
        self.in_channels = in_channels
        layers = [nn.Conv2d(in_channels, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, in_channels, 3, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        self.check_input(x)
        return x - self.model(x)
