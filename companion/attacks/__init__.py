"""Attacks on restoration models, on one contract (``engine.py``): a function
``attack(model, noisy, clean, *, <budget>..., seed)`` returning adversarial inputs, batched and
device-agnostic, declaring what its caller needs (``engine.declare``: OBSATK's observation is
noisy at sigma - r).

On denoisers (Ning et al.; Yan et al.; Athalye et al.; Uesato et al.):
- ``denoising_pgd``, ``clean_image_pgd`` (``linf_pgd.py``): L-infinity PGD, ``GRAY_EPS``/``COLOR_EPS``;
- ``l2_denoising_pgd`` (``l2_pgd.py``): the noise kept in an L2 ball;
- ``obsatk`` (``obsatk.py``): the zero-mean observation attack;
- ``bpda_pgd`` and ``BPDA`` (``bpda.py``): PGD through a stand-in gradient;
- ``spsa`` (``spsa.py``): gradient-free, from queries;
- ``apgd`` (``apgd.py``): Auto-PGD (Croce & Hein 2020) on the squared error, L-infinity or L2, no step size;
- ``square``, ``square_trace`` (``square.py``): the Square attack (Andriushchenko et al. 2020), random
  search from queries, L-infinity or L2 (budgets of both: ``balls.py``).
Two attacks start elsewhere: ``dag``/``dag_trace`` (``dag.py``) take (model, clean, target),
Plummer & Hauser's DAG from the clean image; ``deblur_pgd`` (``deblur_pgd.py``) takes (model,
blurred), Gandikota et al.'s targeted and untargeted attacks on deblurring networks.
Attacks on classifiers (FGSM, PGD, One Pixel) are in ``companion.attacks.classifier``.
"""

from .apgd import apgd
from .bpda import BPDA, bpda_pgd
from .dag import dag, dag_trace
from .deblur_pgd import deblur_pgd
from .l2_pgd import l2_denoising_pgd
from .linf_pgd import COLOR_EPS, GRAY_EPS, clean_image_pgd, denoising_pgd
from .obsatk import obsatk
from .spsa import spsa
from .square import square, square_trace

__all__ = ["dag", "dag_trace", "deblur_pgd", "denoising_pgd", "clean_image_pgd", "l2_denoising_pgd", "obsatk", "BPDA",
           "bpda_pgd", "spsa", "GRAY_EPS", "COLOR_EPS", "apgd", "square", "square_trace"]
