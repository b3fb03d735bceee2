"""The model zoo: ``create(name)``, ``list_models()``, ``spec(name)``.

Every denoiser is a ``Denoiser`` with ``forward(x, sigma=None)`` (``base.py``); the deblurring
networks are ``Restorer``s with ``forward(y, kernel, sigma)``. Each architecture module declares
its registered names and weights beside its class and registers them (``registry.py``, the
mechanism); importing this package imports them all. ``hub.register_with_timm`` makes them timm
models (``import companion`` arranges it once timm is imported).
"""

# importing an architecture module registers its models; this order is the registry's
from . import dncnn, ecndnet, noise2noise, ffdnet, brdnet, rddcnn, drunet, fan, curvpnp, deamnet  # noqa: F401
from . import mprnet, dwdn, lgd, classical  # noqa: F401
from .base import Denoiser, Restorer
from .brdnet import BRDNet
from .classical import BM3D, NonLocalMeans, TotalVariation, WaveletShrinkage
from .curvpnp import CurvPnP
from .deamnet import DeamNet
from .dncnn import DnCNN
from .dpir import DPIR
from .drunet import DRUNet
from .dwdn import DWDN, DWDNFull
from .ecndnet import ECNDNet
from .fan import FAN
from .ffdnet import FFDNet
from .lgd import RGDN, LearnedGradientDescent
from .mprnet import MPRNet, MPRNetFull
from .noise2noise import Noise2NoiseUNet
from .rddcnn import RDDCNN
from .registry import MODELS, ModelSpec, create, list_models, spec

__all__ = ["Denoiser", "Restorer", "ModelSpec", "create", "list_models", "spec", "MODELS", "BM3D", "BRDNet",
           "CurvPnP", "DeamNet", "DnCNN", "DPIR", "DRUNet", "DWDN", "DWDNFull", "ECNDNet", "FAN", "FFDNet",
           "LearnedGradientDescent", "MPRNet", "MPRNetFull", "NonLocalMeans", "Noise2NoiseUNet", "RDDCNN", "RGDN",
           "TotalVariation", "WaveletShrinkage"]
