"""companion: the executable companion to research on adversarial robustness of deep denoisers.

Ning et al., "Evaluating Similitude and Robustness of Deep Image Denoising Models via
Adversarial Attack" (arXiv:2306.16050), with Yan et al. (OBSATK, HAT), Plummer & Hauser
(Noise2Noise + DAG) and Gandikota et al. (attacks on deblurring).

Importing the package imports neither torch nor timm: the torchvision shim (``_compat``) runs
just before torchvision is first imported, and the zoo registers with timm once timm is (then
``timm.create_model(name, pretrained=True)``, see ``models.hub``). Import companion before timm or
torchvision: on a CPU-only torch, torchvision 0.28's CUDA-only wheel fails to import without the
shim, and ``import timm`` imports torchvision.
"""

from ._import_hooks import when_imported

__version__ = "0.1.0"


def _patch_torchvision() -> None:
    from . import _compat  # noqa: F401  (its import declares what a CPU-only torch lacks)


def _register_with_timm() -> None:
    from .models.hub import register_with_timm

    register_with_timm()


def __getattr__(name):
    """``companion.audit(model, ...) -> Card``, imported on first use (``companion.audit``)."""
    if name == "audit":
        import importlib

        return importlib.import_module(".audit", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


when_imported("torchvision", before=_patch_torchvision)  # first: timm imports torchvision
when_imported("timm", after=_register_with_timm)
