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
clamps sampling positions to the zero-padded border (``clamp=True`` does it too), which gives the
same values up to rounding: on the official weights below Set12 scores 30.4816 dB both ways
(2e-8 dB apart).

``rddcnn_s25`` is the authors' non-blind sigma-25 RDDCNN, from a PaddlePaddle conversion of their
weights (XDpaddle/rddcnn_paddle, ``trans_weights/trans_rddcnn_25.pdparams``), read with an
unpickler that admits numpy arrays only (``weights_paddle``) and mapped index for index
(``read_official``). It scores Set12 30.48 dB at sigma 25 (seed 0, noise unclipped, output
clipped): the check of our layer list and of our deformable convolution against the authors'.
"""

import torch
from torch import nn

from ..weights_paddle import read_pdparams
from . import layouts
from .base import Denoiser
from .deform_conv import DeformConv2d
from .registry import ModelSpec, register


def _conv_bn_relu(features: int, dilation: int = 1) -> list:
    return [nn.Conv2d(features, features, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(features, eps=1e-4), nn.ReLU(inplace=True)]


class RDDCNN(Denoiser):
    identity_stacks = ("body",)  # the deformable layer keeps its start; the rest begins as the identity

    def __init__(self, in_channels: int = 1, features: int = 64, clamp: bool = False):
        """``clamp``: clamp the deformable layer's sampling positions as the authors' code does."""
        super().__init__()
        self.in_channels = in_channels
        f = features
        deformable = [DeformConv2d(in_channels, f, 3, padding=1, bias=False, modulated=True, clamp=clamp),
                      nn.ReLU(inplace=True),
                      *[m for _ in range(11) for m in _conv_bn_relu(f)]]
        enhanced = [*_conv_bn_relu(f, dilation=2), *[m for _ in range(3) for m in _conv_bn_relu(f)]]
        self.body = nn.Sequential(*deformable, *enhanced, nn.Conv2d(f, in_channels, 3, padding=1, bias=False))

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (blind, or trained for one level)."""
        self.check_input(x)
        return x - self.body(x)


# The authors' layout: ``dncnn.<i>`` is entry i of their nn.Sequential, ours of ``body``, index for
# index; their offset conv puts the 9 row offsets first, then the 9 column offsets.
OFFICIAL_RULES = [(r"dncnn\.0\.conv\.weight", "body.0.weight"),
                  (r"dncnn\.0\.p_conv\.(weight|bias)", r"body.0.offset.\1"),
                  (r"dncnn\.0\.m_conv\.(weight|bias)", r"body.0.mask.\1"),
                  (r"dncnn\.(\d+)\._mean", r"body.\1.running_mean"),
                  (r"dncnn\.(\d+)\._variance", r"body.\1.running_var"),
                  (r"dncnn\.(\d+)\.(weight|bias)", r"body.\1.\2")]
PADDLE_TABLE = "StructuredToParameterName@@"


def interleave_offsets(theirs: torch.Tensor, positions: int = 9) -> torch.Tensor:
    """The offset conv's output channels (dim 0) from the authors' order (all row offsets, then
    all column offsets) to ours, (dy, dx) per kernel position: ours[2k] = theirs[k],
    ours[2k + 1] = theirs[positions + k]."""
    order = torch.arange(2 * positions).view(2, positions).t().reshape(-1)
    return theirs[order]


def read_official(path, strip_prefix: str = "") -> dict:
    """The state_dict of ``RDDCNN`` from the authors' weights converted to PaddlePaddle
    (``ModelSpec.layout``): ``weights_paddle.read_pdparams``, renamed by ``OFFICIAL_RULES``
    (BatchNorm's ``_mean`` / ``_variance`` to ``running_mean`` / ``running_var``), offsets
    re-interleaved (``interleave_offsets``)."""
    arrays = layouts.rename(read_pdparams(path, skip=(PADDLE_TABLE,)), OFFICIAL_RULES, str(path))
    state = {key: layouts.tensor(value, str(path), key) for key, value in arrays.items()}
    for key in ("body.0.offset.weight", "body.0.offset.bias"):
        if key in state:
            state[key] = interleave_offsets(state[key])
    return state


PAPER = "Zhang, Tian et al., CAAI Trans. Intell. Technol. 2023 (RDDCNN)"

register(ModelSpec("rddcnn_b", lambda **kw: RDDCNN(1), 1, "blind", PAPER, ours="rddcnn_b",
                   notes="modulated deformable first layer; trained for sigma in [0, 55]; quick: from the identity "
                   "start"),
         ModelSpec("rddcnn_s25", lambda **kw: RDDCNN(1, clamp=True), 1, "non-blind", PAPER, sigma=25,
                   official="rddcnn_s25", layout=read_official,
                   notes="the authors' non-blind sigma-25 weights (PaddlePaddle conversion), index for index; "
                   "sampling positions clamped as in their code"))
