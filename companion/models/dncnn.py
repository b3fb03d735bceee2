"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image
Denoising", IEEE TIP 2017).

Facts used: 3x3 convolutions with 64 features; the first layer Conv+ReLU, middle layers
Conv+BN+ReLU, the last a Conv back to the image channels; residual learning, so the output is
x - net(x). Depth 17 for DnCNN-S (one noise level), 20 for the blind DnCNN-B and CDnCNN-B
(sigma in [0, 55]). The released KAIR weights have the batch normalization folded into the
convolution biases, so the inference network is Conv(+bias)+ReLU laid out as
``model.{0,2,...}`` with the ReLUs at the odd indices: the official state_dicts load without
renaming. ``batch_norm=True`` builds the training network of the paper; ``deployable()``
folds its BN and returns the inference layout.
"""

from .base import Denoiser, conv_stack


class DnCNN(Denoiser):
    identity_stacks = ("model",)

    def __init__(self, in_channels: int = 1, depth: int = 17, features: int = 64, batch_norm: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.model = conv_stack(in_channels, in_channels, features, depth, batch_norm)

    def forward(self, x):
        self.check_input(x)
        return x - self.model(x)

