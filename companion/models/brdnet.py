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

The authors' files (Keras 2 HDF5, ``weights.OFFICIAL['brdnet_<gray|color>_<sigma>']``) load into
``BRDNet(c, renorm=False)``, the inference network, each batch renormalization folded into the
convolution before it by the layer's inference formula. Their ``BatchRenormalization`` (mode 0)
returns, outside training, ``K.batch_normalization(x, running_mean, running_std, beta, gamma,
epsilon)`` = gamma (x - running_mean) / sqrt(running_std + 1e-3) + beta, its ``running_std``
holding the moving *variance* (the layer's own comment), so W' = W gamma / sqrt(var + eps) and
b' = (b - mean) gamma / sqrt(var + eps) + beta (``base.fold_batch_norm``). The arrays are read with
h5py (``layouts.read_keras_h5``), the layers taken in the order the authors' ``models.BRDNet()``
creates them: upper branch convs 1-17, lower 18-34, merge 35; renormalizations 1-16 upper,
17-19 lower. Keras kernels are (kh, kw, in, out); ours (out, in, kh, kw).
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import WeightsError, official
from . import layouts
from .base import Denoiser, fold_batch_norm
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


UPPER = [(1, True)] * 16
LOWER = [(1, True)] + [(2, False)] * 7 + [(1, True)] + [(2, False)] * 6 + [(1, True)]
"""Each branch's 64-feature layers before its last conv: (dilation, followed by batch renormalization)."""


def _branch(channels: int, features: int, layers: list, renorm: bool) -> nn.Sequential:
    """Conv (+BRN) + ReLU for each of ``layers``, then a conv to the image channels; without
    ``renorm`` the BRN is left out (folded into the conv: the inference network)."""
    modules = []
    for i, (dilation, has_brn) in enumerate(layers):
        modules.append(nn.Conv2d(channels if i == 0 else features, features, 3, padding=dilation, dilation=dilation))
        modules += ([BatchRenorm2d(features)] if has_brn and renorm else []) + [nn.ReLU(inplace=True)]
    return nn.Sequential(*modules, nn.Conv2d(features, channels, 3, padding=1))


class BRDNet(Denoiser):
    """``renorm=False``: the inference network, the batch renormalizations folded into the convs."""

    def __init__(self, in_channels: int = 1, features: int = 64, renorm: bool = True):
        super().__init__()
        self.in_channels = in_channels
        self.upper = _branch(in_channels, features, UPPER, renorm)
        self.lower = _branch(in_channels, features, LOWER, renorm)
        self.merge = nn.Conv2d(2 * in_channels, in_channels, 3, padding=1)

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

KERAS_CONV = ("kernel:0", "bias:0")
KERAS_RENORM = ("gamma:0", "beta:0", "running_mean:0", "running_std:0")
KERAS_EPS = 1e-3  # BatchRenormalization(axis=-1, epsilon=1e-3) in the authors' models.BRDNet()


def _weights(layer: tuple, names: tuple, origin: str) -> list:
    name, found = layer
    if set(found) != set(names):
        raise WeightsError(f"{origin}: layer {name} holds {sorted(found)}, the authors' holds {list(names)}")
    return [layouts.tensor(found[n], origin, f"{name}/{n}") for n in names]


def from_keras(arrays: dict, origin: str) -> dict:
    """Our ``BRDNet(c, renorm=False)`` state_dict from the arrays of the authors' Keras file
    (``layouts.read_keras_h5``): layers in creation order, renormalizations folded (module
    docstring)."""
    layers = layouts.keras_layers(arrays, ("conv2d", "batch_renormalization"), origin)
    convs, renorms = iter(layers["conv2d"]), iter(layers["batch_renormalization"])
    wanted = (2 * (len(UPPER) + 1) + 1, sum(b for _, b in UPPER + LOWER))
    if (len(layers["conv2d"]), len(layers["batch_renormalization"])) != wanted:
        found = len(layers["conv2d"]), len(layers["batch_renormalization"])
        raise WeightsError(f"{origin} has {found[0]} convolutions and {found[1]} batch renormalizations; the authors' "
                           f"BRDNet has {wanted[0]} and {wanted[1]}")
    state = {}

    def conv(key: str, has_brn: bool) -> None:
        kernel, bias = _weights(next(convs), KERAS_CONV, origin)
        folded = nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2])
        folded.weight.data, folded.bias.data = kernel.permute(3, 2, 0, 1).contiguous(), bias
        if has_brn:
            gamma, beta, mean, var = _weights(next(renorms), KERAS_RENORM, origin)
            brn = nn.BatchNorm2d(len(gamma), eps=KERAS_EPS).eval()
            brn.weight.data, brn.bias.data, brn.running_mean, brn.running_var = gamma, beta, mean, var
            folded = fold_batch_norm(nn.Sequential(folded, brn))[0]
        state[f"{key}.weight"], state[f"{key}.bias"] = folded.weight.detach(), folded.bias.detach()

    for branch, layers_ in (("upper", UPPER), ("lower", LOWER)):
        for i, (_, has_brn) in enumerate(layers_):
            conv(f"{branch}.{2 * i}", has_brn)  # conv, ReLU at each layer of the inference network
        conv(f"{branch}.{2 * len(layers_)}", False)
    conv("merge", False)
    return state


def _official(path, strip_prefix: str = "") -> dict:
    return from_keras(layouts.read_keras_h5(path), str(path))


register(*[ModelSpec(f"brdnet{'' if kind == 'gray' else '_color'}{'' if s == 25 else f'_{s}'}",
                     lambda c=c, **kw: BRDNet(c, renorm=False), c, "non-blind",
                     "Tian, Xu & Zuo, Neural Networks 2020 (BRDNet)", sigma=float(s), official=f"brdnet_{kind}_{s}",
                     layout=_official, notes=f"the authors' Keras file, batch renormalization folded; "
                     f"{official(f'brdnet_{kind}_{s}').verified}")
           for kind, c, levels in (("gray", 1, (15, 25, 50)), ("color", 3, (15, 25, 35, 50, 75))) for s in levels])
