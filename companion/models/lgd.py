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
"""

import torch
from torch import nn

from ..physics import kernel_otf
from .base import Restorer, conv_stack
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


register(ModelSpec("lgd_small", lambda **kw: LearnedGradientDescent(1, 32, 5, steps=10), 1, "non-blind",
                   "Gong et al., IEEE TNNLS 2020 (learned gradient descent)", ours="lgd_small", variant="reduced",
                   collection="deblurring",
                   notes="non-blind deblurring; reduced learned gradient descent: 5-layer regularizer and 3-layer "
                   "step network of 32 features, trained unrolled for 10 to 40 steps"))
