"""The zoo as timm models: ``register_with_timm()``.

``import companion`` calls it once timm is imported (at once if timm already is), so that
``timm.create_model("dncnn_s25", pretrained=True)`` builds our model with its best weights
(``pretrained=False``: random init) and ``timm.list_models("*dncnn*")`` lists them.
"""

import warnings

from .registry import MODELS, create


def register_with_timm() -> None:
    """Register every model of the registry as a timm entrypoint (``pretrained=True`` -> best
    weights); calling it again re-registers them."""
    from timm.models import register_model

    for model_name in MODELS:
        def entrypoint(pretrained=False, _name=model_name, **kwargs):
            # timm adds its own keywords (pretrained_cfg, cache_dir, ...): keep only ours
            ours = {k: v for k, v in kwargs.items() if k in ("sigma", "device")}
            return create(_name, weights="best" if pretrained else None, **ours)

        entrypoint.__name__ = entrypoint.__qualname__ = model_name
        entrypoint.__module__ = __name__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # timm warns when a name is registered again
            register_model(entrypoint)
