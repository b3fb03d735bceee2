"""What an audit attacks: a zoo model by name, a factory ``pkg.mod:factory`` (with optional
weights), or an ``nn.Module`` given from Python, seen by the attacks as a denoiser ``D(x)``.

Three contracts are recognized from ``forward``'s signature (its positional parameters):
``forward(x)`` (a denoiser that knows its noise level), ``forward(x, sigma)`` (a denoiser given
the level, 0-255: the zoo's ``models.base.Denoiser``) and ``forward(y, kernel, sigma)`` (a
deblurring ``models.base.Restorer``). ``Bound`` fixes sigma (and, for a restorer, the blur
kernel) so every attack sees ``D(x)``. A restorer is audited on y = k * x + n (``physics.degrade``)
with the kernel ``RESTORER_KERNEL``: the attack perturbs the blurred noisy observation.

A target named by text (a zoo name or a factory) is rebuilt in each worker process of the grid
(``Target.spec``); an ``nn.Module`` from Python cannot travel and runs in the calling process.
Weights are read with ``torch.load(weights_only=True)`` (``weights.read_state_dict``).
"""

import importlib
import inspect
import re
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import data, physics
from .. import noise as noises
from ..checks import noise_level
from ..models import create, spec as model_spec
from ..models.base import Restorer
from ..weights import load_into, read_state_dict

KINDS = ("denoiser", "denoiser_sigma", "restorer")
RESTORER_KERNEL = data.SYNTHETIC_KERNELS["kernels_12"][2]
"""The blur of a restorer's audit: ``kernels_12``'s isotropic Gaussian of sigma 1.6 px on 25 x 25
(a mid-strength blur of the synthetic set the deblurring notebook uses)."""
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def kind_of(module: nn.Module) -> str:
    """'restorer', 'denoiser_sigma' or 'denoiser' from ``module.forward``'s positional parameters
    (module docstring); a one-line ValueError for a forward that takes none."""
    if isinstance(module, Restorer):
        return "restorer"
    params = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not params:
        raise ValueError(f"{type(module).__name__}.forward takes no image; an audited model needs forward(x), "
                         f"forward(x, sigma) or forward(y, kernel, sigma)")
    return KINDS[min(len(params), 3) - 1]


def restorer_kernel() -> torch.Tensor:
    _, size, major, minor, angle = RESTORER_KERNEL
    return torch.from_numpy(data.gaussian_kernel(size, major, minor, angle))


class Bound(nn.Module):
    """``module`` as a denoiser ``D(x)`` at noise level ``sigma`` (0-255): ``module(x)``,
    ``module(x, sigma)`` or ``module(x, kernel, sigma)`` by ``kind``."""

    def __init__(self, module: nn.Module, kind: str, sigma: float, name: str):
        super().__init__()
        self.module, self.kind, self.sigma = module, kind, float(sigma)
        self.info = {**getattr(module, "info", {}), "name": name}
        if kind == "restorer":
            self.register_buffer("kernel", restorer_kernel(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "denoiser":
            return self.module(x)
        if self.kind == "denoiser_sigma":
            return self.module(x, self.sigma)
        return self.module(x, self.kernel, self.sigma)

    def extra_repr(self) -> str:
        return f"kind={self.kind}, sigma={self.sigma:g}"

    def observe(self, clean: torch.Tensor, seeds: list) -> torch.Tensor:
        """The observation the model restores: clean + Gaussian noise at sigma (image i seeded
        ``seeds[i]``), blurred first for a restorer (``physics.degrade``)."""
        if self.kind == "restorer":
            return physics.degrade(clean, self.kernel.to(clean.device), self.sigma, seed=seeds)
        return noises.gaussian(clean, self.sigma, seed=seeds)


@dataclass
class Target:
    """An audited model. ``spec``: the zoo name or factory it is rebuilt from (None: only
    ``module``, in this process); ``weights``: the weights file given, if any; ``label``: which
    weights were loaded (official, ours, a file, none)."""

    name: str
    spec: str | None
    weights: str | None
    kind: str
    channels: int
    label: str
    zoo: bool = False
    module: nn.Module | None = field(default=None, repr=False, compare=False)

    @property
    def portable(self) -> bool:
        """Whether worker processes can rebuild it (a zoo name or a factory spec)."""
        return self.spec is not None

    def build(self, device="cpu") -> nn.Module:
        """The network in eval mode on ``device``: the module given, else rebuilt from the spec."""
        if self.module is None:
            self.module = _build(self.spec, self.weights)[0]
        return self.module.to(device).eval()

    def bound(self, sigma: float, device="cpu") -> Bound:
        """The network as ``D(x)`` at ``sigma`` (``Bound``)."""
        return Bound(self.build(device), self.kind, noise_level(sigma), self.name).to(device).eval()

    def __getstate__(self):  # a spec target travels without its module; a module target stays home
        state = dict(self.__dict__)
        if self.spec is not None:
            state["module"] = None
        return state


def _factory(text: str, weights: str | None) -> nn.Module:
    module_name, _, attribute = text.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"cannot import {module_name!r} for the factory {text!r} ({err}); put its folder on "
                         f"PYTHONPATH or install its package") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(f"{module_name} has no callable {attribute!r}; the target is pkg.module:factory, a function "
                         f"that returns an nn.Module")
    model = factory()
    if not isinstance(model, nn.Module):
        raise ValueError(f"the factory {text} returned a {type(model).__name__}, not a torch.nn.Module; return the "
                         f"network itself")
    if weights is not None:
        load_into(model, read_state_dict(weights), str(weights))
    return model


def _build(text: str, weights: str | None) -> tuple:
    """(module, label, zoo) of a spec: a factory when it holds ':', else a zoo name."""
    if ":" in text:
        if not _FACTORY.match(text):
            raise ValueError(f"bad factory spec {text!r}: write pkg.module:factory (a function returning an "
                             f"nn.Module), or a zoo name (python -m companion models)")
        model = _factory(text, weights)
        return model, f"file {weights}" if weights else "the factory's own", False
    model = create(text, weights=weights or "best")
    return model, model.info.get("weights", "?"), True


def resolve(target, weights: str | None = None, channels: int | None = None) -> Target:
    """The ``Target`` of a zoo name, a ``pkg.mod:factory`` spec or an ``nn.Module``; one-line
    ValueErrors for an unknown name, a bad spec, a factory returning no module, a missing file."""
    if isinstance(target, nn.Module):
        if weights is not None:
            load_into(target, read_state_dict(weights), str(weights))
        name = getattr(target, "info", {}).get("name") or type(target).__name__
        chans = channels or getattr(target, "in_channels", None) or 1
        return Target(name, None, weights, kind_of(target), int(chans), "given in Python", False, target.eval())
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"the audit target must be a zoo name, pkg.module:factory or an nn.Module, got "
                         f"{type(target).__name__}")
    text = target.strip()
    module, label, zoo = _build(text, weights)
    chans = model_spec(text).channels if zoo else channels or getattr(module, "in_channels", None) or 1
    return Target(text, text, weights, kind_of(module), int(chans), label, zoo, module.eval())
