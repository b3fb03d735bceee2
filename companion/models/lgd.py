"""Learned gradient descent for non-blind deconvolution: a recurrent gradient descent network,
reduced (Gong et al., "Learning Deep Gradient Descent Optimization for Image Deconvolution",
IEEE TNNLS 2020, Sec. III, Eq. 4-6 and Fig. 2).

Facts from the paper: deconvolution min_x ||y - k * x||^2 + R(x) solved by unrolled gradient
descent whose every step is the same learned optimizer (a recurrent network, so it can run for
more steps than it was trained with):
    g_t = k^T * (k * x_t - y)              the data term's gradient, exact (FFT here)
    x_{t+1} = x_t - H(g_t + R(x_t))        R: a CNN standing for the regularizer's gradient,
                                           H: a CNN that turns the sum into a descent step
starting from x_0 = y. Gandikota et al. (ICIP 2022, Sec. 4) attack it unrolled for 10 steps and
evaluate it with 50. Interpretation: both CNNs are plain conv+ReLU stacks; H also sees x_t and
is written as a learned step size times the sum plus a learned correction,
H(v, x) = alpha v + C(v, x), with the last layers of R and C starting at zero, so that the
untrained network is plain gradient descent (Landweber iteration) and training learns the
regularizer and the correction from there.
Circular boundaries (the FFT model, ``companion.physics``).

``RGDN`` is the authors' network (donggong1/learn-optimizer-rgdn, models/model_rgdn.py and
models/module_basic.py; their file rgdn.tr), RGB. Three CNNs of one design (5x5 convs of 64
without bias: conv + ReLU, two conv + BN + ReLU, two transposed conv + BN + ReLU, a transposed
conv to the image), shared by all steps: R(x) the regularizer's gradient, H the gradient
adjustment, D the scaler. Each step, from x_0 = y:
    g_t = k^T (k x_t - y)                  zero-padded 'same' convolutions (theirs: conv2d with
                                           the flipped kernel and with the kernel)
    x_{t+1} = 0.8 x_t + 0.2 D(H(g_t) - R(x_t))
(the update of their ``OptimizerRGDN.forward``, momentum 0.8), 40 steps by default (their
test's ``StepNum``). Their test feeds the kernel flipped as ``k`` and the kernel as ``kt``, so
k x is the true convolution with the blur kernel (``physics.blur``). Odd kernel sizes only
(their 'same' padding). Its file (a plain state_dict) loads by ``AUTHORS``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..physics import kernel_otf
from ..weights import official, read_state_dict
from .base import Restorer, conv_stack
from .layouts import rename
from .registry import ModelSpec, register


class LearnedGradientDescent(Restorer):
    """``forward(y, kernel, sigma=None, steps=None)``: y (N, C, H, W) blurred by ``kernel``
    (kh, kw), or one per image (N, kh, kw); sigma is ignored (the learned step sees the data
    term's gradient, not the noise level); ``steps`` unrolled steps (default ``self.steps``), an
    option of this unrolled network beyond the ``Restorer`` contract."""

    unrolled = True

    def __init__(self, in_channels: int = 1, features: int = 32, depth: int = 5, steps: int = 10):
        super().__init__()
        self.in_channels, self.steps = in_channels, steps
        self.regularizer = conv_stack(in_channels, in_channels, features, depth)
        self.optimizer = conv_stack(2 * in_channels, in_channels, features, 3)
        self.step_size = nn.Parameter(torch.tensor(1.0))
        for last in (self.regularizer[-1], self.optimizer[-1]):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma=None, steps: int | None = None) -> torch.Tensor:
        self.check_input(y)
        steps = self.steps if steps is None else steps
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        otf = kernel_otf(kernel.to(y), y.shape[-2:])
        x = y
        for _ in range(steps):
            residual = torch.fft.ifft2(otf * torch.fft.fft2(x)).real - y
            gradient = torch.fft.ifft2(otf.conj() * torch.fft.fft2(residual)).real
            direction = gradient + self.regularizer(x)
            x = x - self.step_size * direction - self.optimizer(torch.cat([direction, x], 1))
        return x


def _rgdn_cnn(channels: int = 3, features: int = 64) -> nn.Sequential:
    """One of RGDN's three CNNs (module docstring); BN after the middle layers only."""
    layers = [nn.Conv2d(channels, features, 5, 1, 2, bias=False), nn.ReLU(inplace=True)]
    for transposed in (False, False, True, True):
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        layers += [conv(features, features, 5, 1, 2, bias=False), nn.BatchNorm2d(features), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.ConvTranspose2d(features, channels, 5, 1, 2, bias=False))


def same_convolution(x: torch.Tensor, kernel: torch.Tensor, adjoint: bool = False) -> torch.Tensor:
    """The true convolution of every channel of ``x`` (N, C, H, W) with ``kernel`` (kh, kw, odd),
    or image i with ``kernel[i]`` (N, kh, kw), zero padded to the same size (RGDN's k x: the
    authors' ``F.conv2d`` with the flipped kernel); ``adjoint``: its adjoint k^T (the correlation)."""
    n, c, (kh, kw) = x.shape[0], x.shape[1], kernel.shape[-2:]
    weight = kernel.to(x).expand(n, kh, kw).repeat_interleave(c, 0)[:, None]  # one per (image, channel)
    weight = weight if adjoint else weight.flip(-2, -1)
    out = F.conv2d(x.reshape(1, n * c, *x.shape[-2:]), weight, padding=(kh // 2, kw // 2), groups=n * c)
    return out.reshape(x.shape)


class RGDN(Restorer):
    """The authors' recurrent gradient descent network (module docstring): ``forward(y, kernel,
    sigma=None, steps=None)``, RGB, y blurred by ``kernel`` (kh, kw) or one per image (N, kh, kw)."""

    unrolled = True
    momentum = 0.8

    def __init__(self, steps: int = 40):
        super().__init__()
        self.in_channels, self.steps = 3, steps
        self.regularizer, self.adjust, self.scale = _rgdn_cnn(), _rgdn_cnn(), _rgdn_cnn()

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma=None, steps: int | None = None) -> torch.Tensor:
        self.check_input(y)
        steps = self.steps if steps is None else steps
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        kh, kw = kernel.shape[-2:]
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"RGDN takes odd kernel sizes ('same' zero padding), got {kh}x{kw}: pad the kernel by one")
        x = y
        for _ in range(steps):
            gradient = same_convolution(same_convolution(x, kernel) - y, kernel, adjoint=True)
            direction = self.adjust(gradient) - self.regularizer(x)
            x = self.momentum * x + (1 - self.momentum) * self.scale(direction)
        return x


AUTHORS = [(r"(CNNOptimizer|GradAdj|GradScaler)\.main\.(.*)",
            lambda m: f"{dict(CNNOptimizer='regularizer', GradAdj='adjust', GradScaler='scale')[m[1]]}.{m[2]}")]
"""The authors' keys (``OptimizerRGDN``'s three ``ConvBlock``s, each a ``main`` Sequential laid out
as ours) to ours."""


def _official(path, strip_prefix: str = "") -> dict:
    return rename(read_state_dict(path, strip_prefix), AUTHORS, str(path))


register(ModelSpec("lgd_small", lambda **kw: LearnedGradientDescent(1, 32, 5, steps=10), 1, "non-blind",
                   "Gong et al., IEEE TNNLS 2020 (learned gradient descent)", ours="lgd_small", variant="reduced",
                   collection="deblurring",
                   notes="non-blind deblurring; reduced learned gradient descent: 5-layer regularizer and 3-layer "
                   "step network of 32 features, trained unrolled for 10 to 40 steps"))

register(ModelSpec("rgdn", lambda **kw: RGDN(), 3, "non-blind", "Gong et al., IEEE TNNLS 2020 (RGDN)",
                   official="rgdn", layout=_official, collection="deblurring",
                   notes=f"non-blind deblurring, the authors' recurrent gradient descent network and file, 40 steps; "
                   f"{official('rgdn').verified}"))
