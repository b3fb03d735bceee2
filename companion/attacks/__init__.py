"""Attacks on restoration models: plain functions ``attack(model, noisy, clean, **params)``
that return adversarial inputs, batched and device-agnostic (see each module's docstring)."""

from .pgd import COLOR_EPS, GRAY_EPS, clean_image_pgd, denoising_pgd

__all__ = ["denoising_pgd", "clean_image_pgd", "GRAY_EPS", "COLOR_EPS"]
