"""The zoo as timm models: ``register_with_timm()``.

``import companion`` calls it once timm is imported (at once if timm already is). Then, as for
timm's own models (facts from timm 1.0's ``_registry.py``, ``_pretrained.py``, ``_factory.py``):

- ``timm.list_models("*dncnn*")`` lists the architectures; ``timm.list_models(pretrained=True)``
  lists ``name.tag`` for each set of weights there is: ``.official`` (the published file,
  ``weights.OFFICIAL``) and ``.ours`` (the project's checkpoint, ``companion/checkpoints``);
- ``timm.create_model(name, pretrained=True)`` loads the best weights (official, else ours) through
  ``weights.resolve``, which verifies their sha256 (the official file is downloaded by the same
  resolver when it is not in ``COMPANION_WEIGHTS_DIR`` or the cache); ``name.official`` /
  ``name.ours`` pick one; ``pretrained=False`` leaves the network randomly initialized;
- ``model.pretrained_cfg`` and ``timm.models.get_pretrained_cfg(name)`` describe the weights: url or
  file, sha256, licence, the paper, input size; mean 0 and std 1 per channel, because the models
  take images in [0, 1] as they are (timm replaces a missing mean/std by ImageNet's);
- the keywords a denoiser takes pass through (``sigma``, ``device``, ``in_chans`` when it is the
  model's channel count); any other (``num_classes``, ``pretrained_cfg_overlay``, ``cache_dir``, ...)
  is refused with one line, never dropped.
"""

import warnings
from dataclasses import dataclass
from importlib import resources

from timm.models import PretrainedCfg, generate_default_cfgs, register_model

from .. import weights as wts
from .registry import MODELS, create, spec

OURS_LICENSE = "mit"
"""The licence of the project's own checkpoints (pyproject.toml's)."""

_LICENSES = {"KAIR": "mit", "noise2noise-pytorch": "mit"}
"""Licence of an official file by its source: cszn/KAIR (and the copies of its release v1.0) is
under its repository's MIT licence; joeylitalien/noise2noise-pytorch under MIT (``weights.py``).
Sources not named here state none that we know of: their cfg says ``license=None``."""

INPUT_SIZE = 256
"""The input size the cfgs advertise (Set12's images): the networks are fully convolutional and
take other sizes as well."""

default_cfgs: dict = {}
"""timm's ``register_model`` reads the cfgs of its entrypoints from their module's ``default_cfgs``."""


@dataclass
class DenoiserCfg(PretrainedCfg):
    """timm's ``PretrainedCfg`` with the sha256 the file is verified against."""

    sha256: str | None = None


def _license(source: str) -> str | None:
    return next((name for key, name in _LICENSES.items() if key in source), None)


def pretrained_cfgs(name: str) -> dict:
    """``{tag: DenoiserCfg}`` of registered model ``name``: 'official' and / or 'ours' when it has
    such weights, else one untagged cfg without weights (classical methods, full-size networks
    nobody published)."""
    entry = spec(name)
    common = dict(input_size=(entry.channels, INPUT_SIZE, INPUT_SIZE), fixed_input_size=False,
                  mean=(0.0,) * entry.channels, std=(1.0,) * entry.channels, num_classes=0, crop_pct=1.0,
                  paper_name=entry.paper, description=entry.notes or None)
    cfgs = {}
    if entry.official:
        w = wts.official(entry.official)
        cfgs["official"] = DenoiserCfg(url=w.url, sha256=w.sha256, license=_license(w.source),
                                       notes=(f"source: {w.source}", w.architecture), **common)
    if entry.ours and entry.ours in wts.our_checkpoints():
        card = wts.model_card(entry.ours)
        path = resources.files("companion").joinpath("checkpoints", f"{entry.ours}.pt")
        cfgs["ours"] = DenoiserCfg(file=str(path), sha256=card["sha256"],
                                   license=OURS_LICENSE, notes=(f"model card: companion/checkpoints/{entry.ours}.json",),
                                   **common)
    return cfgs or {"": DenoiserCfg(**common)}


def _weights_choice(entry, tags: dict, pretrained_cfg, kwargs: dict) -> str:
    """The weights a timm call means ('best', 'official' or 'ours'), after refusing, one line each,
    what a denoiser cannot honour; ``kwargs`` keeps what ``registry.create`` takes."""
    name, channels = entry.name, entry.channels
    in_chans = kwargs.pop("in_chans", channels)
    if in_chans != channels:
        raise ValueError(f"{name} takes {channels}-channel images; in_chans={in_chans} cannot be honoured "
                         f"(pick a {'color' if in_chans == 3 else 'gray'} model from timm.list_models())")
    for key in ("pretrained_cfg_overlay", "cache_dir"):
        if kwargs.pop(key, None) is not None:
            raise TypeError(f"{name}: timm's {key}= is not supported here; the weights are found by "
                            f"companion's resolver (COMPANION_WEIGHTS_DIR, COMPANION_CACHE_DIR)")
    takes = ["sigma=", "device="] if entry.bindable else ["device="]
    unknown = sorted(set(kwargs) - {"sigma", "device"})  # a sigma the model cannot bind: create() says why
    if unknown:
        raise TypeError(f"{name} is a denoiser (image in, image out): timm keyword(s) {', '.join(unknown)} "
                        f"do not apply; it takes {', '.join(takes)} and in_chans={channels}")
    if pretrained_cfg is None:
        return "best"
    if isinstance(pretrained_cfg, str) and pretrained_cfg in tags:
        return pretrained_cfg
    asked = repr(pretrained_cfg) if isinstance(pretrained_cfg, str) else f"given as a {type(pretrained_cfg).__name__}"
    raise ValueError(f"{name} has no pretrained tag {asked}; its tags: "
                     f"{', '.join(t for t in tags if t) or 'none (it has no weights)'}")


def _entrypoint(name: str):
    def entrypoint(pretrained: bool = False, pretrained_cfg=None, **kwargs):
        cfgs = pretrained_cfgs(name)
        choice = _weights_choice(spec(name), cfgs, pretrained_cfg, kwargs)
        model = create(name, weights=choice if pretrained else None, **kwargs)
        used = model.info["weights"].split(":")[0]
        cfg = cfgs.get(choice) or cfgs.get(used) or next(iter(cfgs.values()))
        model.pretrained_cfg = model.default_cfg = cfg.to_dict()
        return model

    entrypoint.__name__ = entrypoint.__qualname__ = name
    entrypoint.__module__ = __name__
    entrypoint.__doc__ = f"{name}: {spec(name).paper} (companion's zoo; pretrained=True: verified weights)."
    return entrypoint


def register_with_timm() -> None:
    """Register every model of the registry as a timm entrypoint with its pretrained cfgs (see the
    module docstring); calling it again re-registers them."""
    default_cfgs.clear()
    default_cfgs.update(generate_default_cfgs(
        {f"{name}.{tag}" if tag else name: cfg for name in MODELS for tag, cfg in pretrained_cfgs(name).items()}))
    for name in MODELS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # timm warns when a name is registered again
            # an attribute of this module too, as timm's entrypoints are of theirs (register_model
            # lists every name in the module's __all__)
            globals()[name] = register_model(_entrypoint(name))
