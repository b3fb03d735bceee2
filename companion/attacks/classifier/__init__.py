"""Attacks on image classifiers, for the purifier and digit experiments (notebooks 05 and 08):
``fgsm`` and ``pgd`` (gradient attacks on the cross-entropy, ``gradient.py``) and ``one_pixel``
(differential evolution, ``evolution.py``). Each takes ``(model, images, labels, ...)``, images in
[0, 1] and one label per image (``labelled.batch``)."""

from .evolution import one_pixel
from .gradient import fgsm, pgd

__all__ = ["fgsm", "pgd", "one_pixel"]
