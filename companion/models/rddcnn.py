"""RDDCNN (Zhang, Tian et al., "A robust deformed convolutional neural network (CNN) for image
denoising", CAAI Trans. Intell. Technol. 2023); RDDCNN-B is the blind model.

Facts used (layer list of the authors' code, hellloxiaotian/RDDCNN, gray/models.py): 17 layers
of 64 features, all convolutions 3x3 without bias.
- Deformable block: a modulated deformable convolution (DCNv2: offsets and a sigmoid mask
  predicted by 3x3 convs of the input) + ReLU, then 11 x Conv+BN+ReLU.
- Enhanced block: a dilated (rate 2) Conv+BN+ReLU, then 3 x Conv+BN+ReLU.
- Residual block: a Conv to the image channels and the output ``x - net(x)``.
BN keeps eps 1e-4 as in the authors' code. Blind training draws sigma from U[0, 55] per patch.
Our deformable convolution (``deform_conv.py``) reads zeros outside the image; the authors'
clamps sampling positions to the padded border, which differs only at the image edge.
"""

from torch import nn

from .base import Denoiser
from .deform_conv import DeformConv2d
from .registry import ModelSpec, register


def _conv_bn_relu(features: int, dilation: int = 1) -> list:
    return [nn.Conv2d(features, features, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(features, eps=1e-4), nn.ReLU(inplace=True)]


class RDDCNN(Denoiser):
    identity_stacks = ("body",)  # the deformable layer keeps its start; the rest begins as the identity

    def __init__(self, in_channels: int = 1, features: int = 64):
        super().__init__()
        self.in_channels = in_channels
        f = features
        deformable = [DeformConv2d(in_channels, f, 3, padding=1, bias=False, modulated=True), nn.ReLU(inplace=True),
                      *[m for _ in range(11) for m in _conv_bn_relu(f)]]
        enhanced = [*_conv_bn_relu(f, dilation=2), *[m for _ in range(3) for m in _conv_bn_relu(f)]]
        self.body = nn.Sequential(*deformable, *enhanced, nn.Conv2d(f, in_channels, 3, padding=1, bias=False))

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (blind)."""
        self.check_input(x)
        return x - self.body(x)


register(ModelSpec("rddcnn_b", lambda **kw: RDDCNN(1), 1, "blind",
                   "Zhang, Tian et al., CAAI Trans. Intell. Technol. 2023 (RDDCNN)", ours="rddcnn_b",
                   notes="modulated deformable first layer; trained for sigma in [0, 55]; quick: from the identity "
                   "start"))
