"""Adversarial sets: made once per source model and parameters, kept on disk, reused.

An adversarial set is, for every image i of an ``ImageSet``, the Gaussian-noisy image
x_i = y_i + n_i (seeded ``seed + i``, the convention of ``robustness.gauss_vs_adv``) and the
attack's adversarial version x'_i. Transfer experiments (Ning et al. Sec. III-C) denoise one
source's set with every target model, and the similitude notebook reuses the DnCNN set, so the
cost of a source x target study is ``sources`` attacks plus ``sources x targets`` inferences.

The cache file is ``<cache_dir>/<source>-<key>.pt``, where ``key`` hashes everything the
samples depend on: the model's weights and class (and the noise level it is bound to), the
images' pixels and names, sigma, seed, the attack's name, parameters and module source. Change
any of these and the key changes, so a stale set is never returned. Files are written
atomically and read with ``torch.load(weights_only=True)``; a corrupt or mismatched file is
made again, with a warning.
"""

import hashlib
import inspect
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from . import noise
from .attacks import denoising_pgd
from .evaluation import model_device
from .io import save_torch


@dataclass
class AdversarialSet:
    """Noisy and adversarial images of one source model (lists of 1CHW tensors, CPU)."""

    source: str
    names: list
    noisy: list
    adv: list
    params: dict
    path: Path | None = None
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.names)

    def check_made_on(self, images) -> None:
        """A one-line ValueError unless this set was made on ``images`` (the same names, in order)."""
        if list(self.names) != list(images.names):
            raise ValueError(f"the adversarial set of {self.source} was made on {self.names[:3]}..., "
                             "not on these images")


def _sha(*chunks: bytes) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def model_fingerprint(model: torch.nn.Module) -> str:
    """sha256 of a model's class, bound noise level, ``extra_repr`` (settings that are not tensors)
    and every tensor of its state_dict."""
    h = hashlib.sha256(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    h.update(repr(getattr(model, "sigma", None)).encode())
    h.update(model.extra_repr().encode())  # settings outside the state_dict (a classical method's parameters)
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def images_fingerprint(images) -> str:
    """sha256 of an ``ImageSet``'s names and pixels (so crop, limit and data source count)."""
    return _sha(*[name.encode() + img.detach().cpu().contiguous().numpy().tobytes() for name, img in images])


def attack_fingerprint(attack) -> dict:
    """The attack's qualified name and the sha256 of its source (code changes count): for the
    attacks of ``companion.attacks``, every module of that package (they share ``engine.py``);
    for others, the attack's module, or the function alone when it was defined in a notebook."""
    module = sys.modules.get(attack.__module__)
    if attack.__module__.startswith(f"{__package__}.attacks"):
        folder = Path(inspect.getfile(module)).parent
        source = "".join(p.read_text() for p in sorted(folder.glob("*.py")))
    else:
        try:
            source = inspect.getsource(module) if module is not None else ""
        except (OSError, TypeError):  # defined in a notebook or the REPL: fall back to the function
            try:
                source = inspect.getsource(attack)
            except (OSError, TypeError):
                source = ""
    return {"attack": f"{attack.__module__}.{attack.__qualname__}", "attack_source": _sha(source.encode())}


def content_key(params: dict) -> str:
    """The cache key of a result that depends on ``params`` (plain data): a sha256 of their JSON."""
    return _sha(json.dumps(params, sort_keys=True, default=str).encode())[:20]


def _load(path: Path, params: dict, n: int):
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign file
        warnings.warn(f"adversarial set {path.name} could not be read ({type(err).__name__}); making it again",
                      stacklevel=3)
        return None
    ok = (isinstance(stored, dict) and stored.get("params") == params
          and len(stored.get("adv", [])) == n == len(stored.get("noisy", [])))
    if not ok:
        warnings.warn(f"adversarial set {path.name} does not match its parameters; making it again", stacklevel=3)
        return None
    return stored


def adversarial_set(model: torch.nn.Module, images, sigma: float = 25, seed: int = 0, attack=denoising_pgd,
                    cache_dir: str | Path | None = None, source: str | None = None,
                    **attack_params) -> AdversarialSet:
    """The adversarial set of ``model`` on ``images``, from ``cache_dir`` when it was made before.

    Args:
        images: an ``ImageSet`` (images of mixed sizes are fine).
        sigma, seed: the Gaussian noise (0-255) of image i is seeded ``seed + i``; the attack's
            own randomness gets ``seed`` too (``denoising_pgd`` seeds image i with seed + i).
        attack: ``attack(model, noisy, clean, seed=..., **attack_params)`` on lists of images.
        cache_dir: folder of the cache; None computes without caching.
        source: the name recorded with the set (default: ``model.info['name']``).
    """
    source = source or getattr(model, "info", {}).get("name") or type(model).__name__
    params = {"source": source, "model": model_fingerprint(model), "dataset": getattr(images, "dataset", ""),
              "images": images_fingerprint(images), "names": list(images.names), "sigma": float(sigma),
              "seed": int(seed), **attack_fingerprint(attack), "attack_params": attack_params}
    params = json.loads(json.dumps(params, default=str))
    path = Path(cache_dir) / f"{source}-{content_key(params)}.pt" if cache_dir is not None else None
    if path is not None and path.is_file():
        stored = _load(path, params, len(images))
        if stored is not None:
            return AdversarialSet(source, list(images.names), stored["noisy"], stored["adv"], params, path, True)
    device = model_device(model)
    clean = [img.to(device) for _, img in images]
    noisy = [noise.gaussian(c, sigma, seed=seed + i) for i, c in enumerate(clean)]
    adv = attack(model, noisy, clean, seed=seed, **attack_params)
    made = AdversarialSet(source, list(images.names), [x.detach().cpu() for x in noisy],
                          [x.detach().cpu() for x in adv], params, path, False)
    if path is not None:
        save_torch({"params": params, "names": made.names, "noisy": made.noisy, "adv": made.adv}, path)
    return made
