"""companion: the executable companion to research on adversarial robustness of deep denoisers.

Ning et al., "Evaluating Similitude and Robustness of Deep Image Denoising Models via
Adversarial Attack" (arXiv:2306.16050), with Yan et al. (OBSATK, HAT), Plummer & Hauser
(Noise2Noise + DAG) and Gandikota et al. (attacks on deblurring).
"""

from . import _compat  # noqa: F401  (must run before anything imports torchvision or timm)

__version__ = "0.1.0"
