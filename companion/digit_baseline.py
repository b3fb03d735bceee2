"""Plummer & Hauser's Section 2 baseline: how far a digit classifier falls under random noise, under
FGSM and under the One Pixel attack (their Figures 7 and 12).

The classifier and the digits are those of ``purification`` (a timm ResNet; the MNIST test split
cut into disjoint training and test parts). Random noise replaces a fraction of the values
(``noise.sparse_gaussian``: N(0, 1) added; ``noise.salt_and_pepper``: set to 0.05 or 0.95, as
in the authors' code); the attacks are ``attacks.classifier.fgsm`` and ``attacks.one_pixel``.
Every row holds the accuracy on the same test digits.
"""

import torch

from . import noise
from .attacks.classifier import fgsm
from .attacks.one_pixel import one_pixel
from .purification import accuracy, predict

RANDOM_NOISES = {"gaussian": noise.sparse_gaussian, "salt_and_pepper": noise.salt_and_pepper}


def noise_rows(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, fractions, seed: int = 0) -> list:
    """Accuracy under each random noise of ``RANDOM_NOISES`` at each fraction of values replaced
    (Figure 7). Gaussian-noised digits are clipped to [0, 1] before the classifier sees them."""
    return [{"noise": name, "fraction": float(f),
             "accuracy": accuracy(model, add(images, f, seed=seed).clamp(0, 1), labels)}
            for name, add in RANDOM_NOISES.items() for f in fractions]


def fgsm_rows(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, eps_values) -> list:
    """Accuracy under FGSM at each L-infinity budget (on the [0, 1] scale)."""
    return [{"attack": "fgsm", "eps": float(e), "accuracy": accuracy(model, fgsm(model, images, labels, e), labels)}
            for e in eps_values]


def one_pixel_rows(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, pixel_counts,
                   population: int = 400, generations: int = 100, seed: int = 0, progress: bool = False) -> list:
    """Accuracy under the One Pixel attack for each number of pixels (Figure 12), and the success
    rate on the digits the classifier got right."""
    from tqdm.auto import tqdm

    right = predict(model, images) == labels
    rows = []
    for k in tqdm(list(pixel_counts), desc="one pixel", disable=not progress):
        adv = one_pixel(model, images, labels, pixels=int(k), population=population, generations=generations,
                        seed=seed)
        fooled = predict(model, adv) != labels
        rows.append({"attack": "one_pixel", "pixels": int(k), "accuracy": float((~fooled).float().mean()),
                     "success_rate": float((fooled & right).sum() / max(int(right.sum()), 1))})
    return rows
