"""ECNDNet (Tian, Xu, Fei, Yan, "Enhanced CNN for image denoising", CAAI Trans. Intell.
Technol. 2019).

Facts used (the paper and the authors' released model): 15 layers of Conv(3x3, no bias) + BN +
ReLU with 64 features, the convolutions of layers 2, 5, 9 and 12 dilated by 2 (to enlarge the
receptive field); a 16th Conv (features -> image channels, no bias) followed by a ReLU; then a
3x3 Conv with bias on that estimate; residual learning, so the output is x - that. The
parameter names (``conv1_1 .. conv1_16``, ``conv3``) are those of the released weights (which
add a ``module.`` prefix that the weights table strips). Non-blind: one model per sigma.
"""

from torch import nn

from .base import Denoiser
from .registry import ModelSpec, register

DILATED_LAYERS = (2, 5, 9, 12)


class ECNDNet(Denoiser):
    def __init__(self, in_channels: int = 1, layers: int = 15, features: int = 64):
        super().__init__()
        self.in_channels, self.layers = in_channels, layers
        for i in range(1, layers + 1):
            d = 2 if i in DILATED_LAYERS else 1
            conv = nn.Conv2d(in_channels if i == 1 else features, features, 3, padding=d, dilation=d, bias=False)
            self.add_module(f"conv1_{i}", nn.Sequential(conv, nn.BatchNorm2d(features), nn.ReLU(inplace=True)))
        self.add_module(f"conv1_{layers + 1}", nn.Sequential(
            nn.Conv2d(features, in_channels, 3, padding=1, bias=False), nn.ReLU(inplace=True)))
        self.conv3 = nn.Conv2d(in_channels, in_channels, 3, padding=1)

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (one model per level)."""
        self.check_input(x)
        h = x
        for i in range(1, self.layers + 2):
            h = getattr(self, f"conv1_{i}")(h)
        return x - self.conv3(h)


PAPER = "Tian et al., CAAI Trans. Intell. Technol. 2019 (ECNDNet)"

register(*[ModelSpec(f"ecndnet_s{s}", lambda **kw: ECNDNet(1), 1, "non-blind", PAPER, sigma=s,
                     official=f"ecndnet_{s}", notes="dilated convolutions at layers 2, 5, 9, 12")
           for s in (15, 25, 50)])
