"""BRDNet (Tian, Xu & Zuo, "Image denoising using deep CNN with batch renormalization",
Neural Networks 2020).

Facts used (paper Sec. 3 and Fig. 1; layer list of the authors' Keras code,
hellloxiaotian/BRDNet): two 17-layer branches of 64-feature 3x3 convolutions.
- Upper branch: Conv+BRN+ReLU, 15 x Conv+BRN+ReLU, Conv to the image channels.
- Lower branch: Conv+BRN+ReLU, 7 x dilated (rate 2) Conv+ReLU, Conv+BRN+ReLU,
  6 x dilated Conv+ReLU, Conv+BRN+ReLU, Conv to the image channels.
Each branch predicts the noise, so each gives ``x - branch(x)``; the two estimates are
concatenated, a 3x3 conv maps them to a residual and the output is ``x - conv(concat)``.
BRN is batch renormalization (Ioffe, NeurIPS 2017), which corrects the mini-batch statistics
towards the moving ones with r and d clipped at r_max = 3, d_max = 5 (Keras defaults the
authors used), epsilon 1e-3, relaxed on Ioffe's schedule. In eval mode it is plain
normalization by the moving statistics.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .base import Denoiser
from .registry import ModelSpec, register


class BatchRenorm2d(nn.Module):
    """Batch renormalization (Ioffe 2017, Algorithm 1): in training
    y = gamma * ((x - mu_B) / sigma_B * r + d) + beta, with r = clip(sigma_B / sigma, 1/r_max, r_max)
    and d = clip((mu_B - mu) / sigma, -d_max, d_max) treated as constants; mu and sigma are the
    moving averages. Schedule of Ioffe's experiments (Sec. 4): plain batch norm (r_max = 1,
    d_max = 0) for the first 5k steps, then relaxed linearly to r_max = 3 at 40k steps and
    d_max = 5 at 25k. Short runs therefore train with batch norm, which is also what the
    BRDNet authors' Keras layer does in effect (it reads r_max and d_max once, at 1 and 0)."""

    def __init__(self, channels: int, r_max: float = 3.0, d_max: float = 5.0, momentum: float = 0.01,
                 eps: float = 1e-3, plain_steps: int = 5_000, r_steps: int = 40_000, d_steps: int = 25_000):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_std", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.r_max, self.d_max, self.momentum, self.eps = r_max, d_max, momentum, eps
        self.plain_steps, self.r_steps, self.d_steps = plain_steps, r_steps, d_steps

    def _relaxed(self, until: int) -> float:
        if until <= self.plain_steps:
            return 1.0
        t = self.num_batches_tracked.item()
        return min(1.0, max(0.0, (t - self.plain_steps) / (until - self.plain_steps)))

    def forward(self, x):
        shape = (1, -1, 1, 1)
        if not self.training:  # (x - mu) / sigma * gamma + beta, in one fused pass
            return F.batch_norm(x, self.running_mean, self.running_std.square(), self.weight, self.bias,
                                training=False, eps=0.0)
        mean = x.mean((0, 2, 3))
        std = (x.var((0, 2, 3), unbiased=False) + self.eps).sqrt()
        r_max = 1 + (self.r_max - 1) * self._relaxed(self.r_steps)
        d_max = self.d_max * self._relaxed(self.d_steps)
        with torch.no_grad():
            r = (std / self.running_std).clamp(1 / r_max, r_max)
            d = ((mean - self.running_mean) / self.running_std).clamp(-d_max, d_max)
            self.running_mean.lerp_(mean, self.momentum)
            self.running_std.lerp_(std, self.momentum)
            self.num_batches_tracked += 1
        x_hat = (x - mean.view(shape)) / std.view(shape) * r.view(shape) + d.view(shape)
        return x_hat * self.weight.view(shape) + self.bias.view(shape)


def _layer(features: int, dilation: int = 1, renorm: bool = False) -> list:
    layers = [nn.Conv2d(features, features, 3, padding=dilation, dilation=dilation)]
    return layers + ([BatchRenorm2d(features)] if renorm else []) + [nn.ReLU(inplace=True)]


class BRDNet(Denoiser):
    def __init__(self, in_channels: int = 1, features: int = 64):
        super().__init__()
        self.in_channels = in_channels
        c, f = in_channels, features
        head = [nn.Conv2d(c, f, 3, padding=1), BatchRenorm2d(f), nn.ReLU(inplace=True)]
        self.upper = nn.Sequential(*head, *[m for _ in range(15) for m in _layer(f, renorm=True)],
                                   nn.Conv2d(f, c, 3, padding=1))
        lower = [*[nn.Conv2d(c, f, 3, padding=1), BatchRenorm2d(f), nn.ReLU(inplace=True)]]
        lower += [m for _ in range(7) for m in _layer(f, dilation=2)] + _layer(f, renorm=True)
        lower += [m for _ in range(6) for m in _layer(f, dilation=2)] + _layer(f, renorm=True)
        self.lower = nn.Sequential(*lower, nn.Conv2d(f, c, 3, padding=1))
        self.merge = nn.Conv2d(2 * c, c, 3, padding=1)

    identity_stacks = ("upper", "lower")

    @torch.no_grad()
    def start_from_identity(self) -> "BRDNet":
        """Both branches start as the identity and the merge at zero, so the untrained network
        is the identity (``Denoiser.start_from_identity``)."""
        super().start_from_identity()
        nn.init.zeros_(self.merge.weight)
        nn.init.zeros_(self.merge.bias)
        return self

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (one model per level)."""
        self.check_input(x)
        both = torch.cat([x - self.upper(x), x - self.lower(x)], 1)
        return x - self.merge(both)


register(*[ModelSpec(f"brdnet{'' if c == 1 else '_color'}_s25", lambda c=c, **kw: BRDNet(c), c, "non-blind",
                     "Tian, Xu & Zuo, Neural Networks 2020 (BRDNet)", sigma=25.0,
                     ours=f"brdnet{'' if c == 1 else '_color'}_s25",
                     notes="two 17-layer branches, batch renormalization, dilated convolutions; quick: from the "
                     "identity start") for c in (1, 3)])
