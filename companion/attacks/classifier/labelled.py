"""The input of every classifier attack: a batch of images in [0, 1] and one class per image."""

import torch

from ...checks import as_batch, check_unit_range


def batch(images, labels) -> tuple:
    """``(images, labels)`` as a detached NCHW batch, finite and in [0, 1], and a long tensor of one
    class per image, on the images' device; a one-line ValueError otherwise."""
    x = as_batch(images, "images")
    check_unit_range(x, "images")
    labels = torch.as_tensor(labels, device=x.device)
    if (labels.is_floating_point() and not torch.equal(labels, labels.round())) or bool((labels < 0).any()):
        raise ValueError(f"labels must be class indices (whole numbers >= 0), got {labels.flatten()[:6].tolist()}")
    labels = labels.long()
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must hold one class per image: shape ({x.shape[0]},), got {tuple(labels.shape)}")
    return x.detach(), labels
