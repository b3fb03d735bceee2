"""Attacks on restoration models: plain functions ``attack(model, noisy, clean, **params)``
that return adversarial inputs, batched and device-agnostic (see each module's docstring).
``dag`` takes (model, clean, target): Plummer & Hauser's DAG starts from the clean image.
``deblur_pgd`` takes (model, blurred): Gandikota et al.'s targeted and untargeted attacks on
deblurring networks. ``companion.attacks.classifier`` holds FGSM and PGD on classifiers (purifier experiments) and
``companion.attacks.one_pixel`` the One Pixel attack (differential evolution)."""

from .bpda import BPDA, bpda_pgd
from .dag import dag, dag_trace
from .deblur_pgd import deblur_pgd
from .l2_pgd import l2_denoising_pgd
from .obsatk import obsatk
from .pgd import COLOR_EPS, GRAY_EPS, clean_image_pgd, denoising_pgd
from .spsa import spsa

__all__ = ["dag", "dag_trace", "deblur_pgd", "denoising_pgd", "clean_image_pgd", "l2_denoising_pgd", "obsatk", "BPDA", "bpda_pgd", "spsa", "GRAY_EPS",
           "COLOR_EPS"]
