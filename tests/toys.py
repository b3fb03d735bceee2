"""Tiny denoisers and images for fast tests of the robustness measures (no weights, no data)."""

import numpy as np
import torch

from companion.data import ImageSet


def box(size: int) -> torch.nn.Module:
    """A size x size mean filter: it denoises sigma-25 noise on smooth images."""
    conv = torch.nn.Conv2d(1, 1, size, padding=size // 2, padding_mode="reflect", bias=False)
    torch.nn.init.constant_(conv.weight, 1.0 / size ** 2)
    return conv.eval()


def smooth_images(n: int = 3, size: int = 32) -> ImageSet:
    """``n`` smooth gray images (products of sines and a cosine), values in [0.2, 0.8]."""
    t = torch.linspace(0, 1, size)
    imgs = [0.5 + 0.3 * torch.sin(2 * np.pi * (k + 1) * t)[None, :] * torch.cos(np.pi * t)[:, None] for k in range(n)]
    return ImageSet("toy", torch.stack(imgs)[:, None], [f"toy{k}" for k in range(n)], "user")
