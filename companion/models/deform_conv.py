"""Deformable convolution (Dai et al., "Deformable Convolutional Networks", ICCV 2017, Eq. 2)
in plain, differentiable torch.

    y(p0) = sum_k w_k * x(p0 + p_k + dp_k)

p_k runs over the kernel grid (with stride, padding and dilation as in ``conv2d``), dp_k are
learned fractional offsets predicted per output position, and x at a fractional position is
bilinearly interpolated, reading zero outside the image. The offsets come in torchvision's
layout: ``2 * kh * kw`` channels, (dy, dx) for each kernel position in row-major order. With
zero offsets the layer is exactly ``conv2d``.

Modulated deformable convolution (DCNv2, Zhu et al., CVPR 2019, Eq. 3) also multiplies each
sample by a learned mask m_k in [0, 1]: pass ``mask`` (N, kh*kw, Ho, Wo).

The sampling is one ``grid_sample`` call for all kernel positions, so gradients reach the
input, the weights and the offsets (attacks differentiate through it). RDDCNN uses it.

``clamp=True`` does what the RDDCNN authors' deformable convolution does (hellloxiaotian/RDDCNN,
``gray/deform_conv_v2.py``: it zero-pads the input by ``padding`` and clamps every sampling
position into that padded image): positions are clamped to [-padding, size - 1 + padding]. With
padding >= 1 a clamped position lies on the zero padding, where reading zeros beyond the image
gives the same value, so the two differ only by rounding (measured on the official RDDCNN
weights: ``models/rddcnn.py``). Their bilinear weights at a clamped position add up to 2 or 4
instead of 1, which multiplies the padding's zeros, so it is not reproduced here.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair


def deform_conv2d(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor,
                  bias: torch.Tensor | None = None, stride=1, padding=0, dilation=1,
                  mask: torch.Tensor | None = None, clamp: bool = False) -> torch.Tensor:
    """Deformable convolution of ``x`` (N, C, H, W) with ``weight`` (O, C, kh, kw);
    ``offset`` is (N, 2*kh*kw, Ho, Wo), Ho and Wo being ``conv2d``'s output size; ``mask``
    (N, kh*kw, Ho, Wo), if given, weights each sample (DCNv2); ``clamp`` keeps every sampling
    position within the padded image, as the RDDCNN authors' code does (module docstring)."""
    n, c, h, w = x.shape
    out_ch, in_ch, kh, kw = weight.shape
    if in_ch != c:
        raise ValueError(f"weight expects {in_ch} input channels, got {c}")
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    k = kh * kw
    if offset.shape != (n, 2 * k, ho, wo):
        raise ValueError(f"offset must have shape {(n, 2 * k, ho, wo)}, got {tuple(offset.shape)}")
    dev, dt = x.device, x.dtype
    # regular sampling positions p0 + p_k, in pixels: (k, ho, wo)
    ky, kx = torch.meshgrid(torch.arange(kh, device=dev, dtype=dt) * dh,
                            torch.arange(kw, device=dev, dtype=dt) * dw, indexing="ij")
    oy = torch.arange(ho, device=dev, dtype=dt) * sh - ph
    ox = torch.arange(wo, device=dev, dtype=dt) * sw - pw
    py = ky.reshape(k, 1, 1) + oy.view(1, ho, 1)
    px = kx.reshape(k, 1, 1) + ox.view(1, 1, wo)
    off = offset.view(n, k, 2, ho, wo)
    py = py + off[:, :, 0]
    px = px + off[:, :, 1]
    if clamp:
        py, px = py.clamp(-ph, h - 1 + ph), px.clamp(-pw, w - 1 + pw)
    # grid_sample with align_corners=True maps -1..1 to pixel centres 0..size-1
    gy = 2 * py / max(h - 1, 1) - 1
    gx = 2 * px / max(w - 1, 1) - 1
    grid = torch.stack([gx, gy], -1).view(n, k * ho, wo, 2)
    cols = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    cols = cols.view(n, c, k, ho, wo)
    if mask is not None:
        cols = cols * mask.unsqueeze(1)
    out = torch.einsum("nckhw,ock->nohw", cols, weight.reshape(out_ch, c, k))
    return out if bias is None else out + bias.view(1, -1, 1, 1)


class DeformConv2d(nn.Module):
    """A deformable convolution whose offsets (and, if ``modulated``, mask) are predicted from
    its input by plain convs of the same geometry, zero-initialized: training starts from the
    regular grid (and a mask of 0.5, as in DCNv2). ``clamp``: as ``deform_conv2d``'s."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, dilation: int = 1, bias: bool = True, modulated: bool = False,
                 clamp: bool = False):
        super().__init__()
        self.stride, self.padding, self.dilation, self.clamp = stride, padding, dilation, clamp
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        self.offset = nn.Conv2d(in_channels, 2 * kernel_size * kernel_size, kernel_size, stride,
                                padding, dilation)
        self.mask = nn.Conv2d(in_channels, kernel_size * kernel_size, kernel_size, stride, padding,
                              dilation) if modulated else None
        for conv in (self.offset, self.mask):
            if conv is not None:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    def forward(self, x):
        mask = torch.sigmoid(self.mask(x)) if self.mask is not None else None
        return deform_conv2d(x, self.offset(x), self.weight, self.bias, self.stride, self.padding,
                             self.dilation, mask, self.clamp)
