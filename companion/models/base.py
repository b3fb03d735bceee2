"""What every denoiser in the zoo shares: an input check and a record of its weights."""

import torch
from torch import nn


class Denoiser(nn.Module):
    """An ``nn.Module`` whose ``forward(x)`` maps a noisy NCHW batch to its clean estimate.

    ``info`` records what ``companion.models.create`` built: the registry name and which
    weights were loaded (official, ours, a user file or none), so results can say so.
    """

    in_channels: int = 1

    def __init__(self):
        super().__init__()
        self.info = {}

    def check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{type(self).__name__} takes an NCHW tensor, got {shape}")
        if x.shape[1] != self.in_channels:
            kind = "gray" if self.in_channels == 1 else "color"
            raise ValueError(f"{type(self).__name__} is a {kind} model and takes {self.in_channels} "
                             f"channel(s), got {x.shape[1]}; load the images with "
                             f"color={self.in_channels == 3}")
