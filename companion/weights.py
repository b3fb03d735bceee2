"""Weights: the officially published files and the project's own checkpoints.

An official file is looked up, in order, in an explicit directory (argument, else
``COMPANION_WEIGHTS_DIR``), in the per-user cache (``<cache>/weights``), and finally downloaded
from its public source. Wherever it is found it must match its pinned sha256; a file with no
pinned sha256 is used only from a directory the user names (never downloaded), with a warning.
Everything loads with ``torch.load(weights_only=True)``. ``resolve(entry, choice)`` says which file
a registry entry's ``weights=`` choice ('best', 'official', 'ours' or a path) means.

The project's own checkpoints live in ``companion/checkpoints/<name>.pt`` beside a model card
``<name>.json`` that says how the checkpoint was trained, how well it denoises, and its sha256.
"""

import json
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from . import config
from .checks import one_line
from .io import checksums, save_torch, sha256_of, write_atomic


class WeightsError(RuntimeError):
    """Weights that are missing, corrupt or do not fit the architecture."""


class WeightsNotFoundError(WeightsError):
    """An official file that is neither in the named directory, nor cached, nor downloadable.

    ``short``: one line for a notebook that skips a section without it (``short_reason``)."""

    def __init__(self, message: str, short: str | None = None):
        super().__init__(message)
        self.short = short or message


def short_reason(err: Exception) -> str:
    """One line saying why a model could not be built: for missing official weights, which file
    and where it goes; otherwise the error's type and its first sentence (``checks.one_line``)."""
    return err.short if isinstance(err, WeightsNotFoundError) else one_line(err)


class UnpinnedWeightsWarning(UserWarning):
    """An official file without a pinned sha256 was used as the user gave it."""


@dataclass(frozen=True)
class WeightFile:
    """One official file: where it lives, its sha256 and how its keys map to ours."""

    key: str
    filename: str
    url: str
    source: str
    architecture: str
    strip_prefix: str = ""

    @property
    def sha256(self) -> str | None:
        return checksums().get(self.filename)


def _raw(repo: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/HEAD/{path}"


_KAIR = "https://github.com/cszn/KAIR/releases/download/v1.0/"

OFFICIAL = {w.key: w for w in [
    WeightFile("dncnn_15", "dncnn_15.pth", _KAIR + "dncnn_15.pth", "cszn/KAIR release v1.0",
               "DnCNN-S, 17 layers, sigma 15"),
    WeightFile("dncnn_25", "dncnn_25.pth", _KAIR + "dncnn_25.pth", "cszn/KAIR release v1.0",
               "DnCNN-S, 17 layers, sigma 25"),
    WeightFile("dncnn_50", "dncnn_50.pth", _KAIR + "dncnn_50.pth", "cszn/KAIR release v1.0",
               "DnCNN-S, 17 layers, sigma 50"),
    WeightFile("dncnn_gray_blind", "dncnn_gray_blind.pth",
               _raw("zhengdihan/Unsupervised_denoising", "model_zoo/dncnn_gray_blind.pth"),
               "KAIR release v1.0 (copy in zhengdihan/Unsupervised_denoising)",
               "DnCNN-B, 20 layers, blind sigma in [0, 55]"),
    WeightFile("dncnn_color_blind", "dncnn_color_blind.pth",
               _raw("zhengdihan/Unsupervised_denoising", "model_zoo/dncnn_color_blind.pth"),
               "KAIR release v1.0 (copy in zhengdihan/Unsupervised_denoising)",
               "CDnCNN-B, 20 layers, 3 channels, blind"),
    WeightFile("ffdnet_gray", "ffdnet_gray.pth",
               _raw("xyvirtualgroup/AdaptivePnP_SCI", "model_zoo/ffdnet_gray.pth"),
               "KAIR release v1.0 (copy in xyvirtualgroup/AdaptivePnP_SCI)",
               "FFDNet gray, 15 layers of 64"),
    WeightFile("ffdnet_color", "ffdnet_color.pth",
               _raw("zhengdihan/Unsupervised_denoising", "model_zoo/ffdnet_color.pth"),
               "KAIR release v1.0 (copy in zhengdihan/Unsupervised_denoising)",
               "FFDNet color, 12 layers of 96"),
    *[WeightFile(f"ecndnet_{s}", f"ecndnet/ecndnet_sigma{s}.pth",
                 _raw("hellloxiaotian/ECNDNet", f"sigma{s}/model_180.pth"), "hellloxiaotian/ECNDNet",
                 f"ECNDNet, sigma {s}", strip_prefix="module.") for s in (15, 25, 50)],
    *[WeightFile(f"drunet_{k}", f"drunet_{k}.pth", _KAIR + f"drunet_{k}.pth", "cszn/KAIR release v1.0",
                 f"DRUNet {k} (DPIR), 32.6M parameters; not pinned: used only from a folder you name")
      for k in ("gray", "color")],
    WeightFile("n2n_gaussian", "n2n/noise2noise_gaussian.pt",
               _raw("joeylitalien/noise2noise-pytorch", "ckpts/gaussian/n2n-gaussian.pt"),
               "joeylitalien/noise2noise-pytorch (MIT)", "Noise2Noise U-Net, RGB, gaussian"),
    *[WeightFile(f"n2n_ph_{k}", f"n2n/plummer_hauser/n2n_{k}.pt",
                 _raw("hauserkristen/adversarial_denoising", f"denoising/models/n2n_{k}.pt"),
                 "hauserkristen/adversarial_denoising", f"Noise2Noise U-Net (Plummer & Hauser), {k}")
      for k in ("gaussian_std_50", "gaussian_std_100", "impulse_std50_p0.2", "impulse_std50_p0.5",
                "poisson_100", "poisson_200", "poisson_500")],
]}


def official(key: str) -> WeightFile:
    if key not in OFFICIAL:
        raise WeightsError(f"no official weight file {key!r}; known: {', '.join(sorted(OFFICIAL))}")
    return OFFICIAL[key]


def _verify(path: Path, expected: str | None, what: str) -> Path:
    if expected is None:
        warnings.warn(f"{path} ({what}) has no pinned sha256 in this project: it is used as "
                      f"given; check it against its source yourself", UnpinnedWeightsWarning,
                      stacklevel=4)
        return path
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsError(f"{path} is corrupt or not the official {what}: sha256 {actual} "
                           f"!= expected {expected}. Delete it and fetch it again.")
    return path


def locate(key: str, directory: str | Path | None = None, download: bool = True) -> Path:
    """Path of the verified official file ``key`` (see the module docstring for the order).

    A file that is nowhere to be found raises ``WeightsNotFoundError`` whose message starts with
    the file and what to do (the URL, the folder variable) and ends with where it looked and why
    no download helped; a failed download is one clause there, never a chained network traceback.
    """
    entry = official(key)
    named = Path(directory).expanduser() if directory is not None else config.weights_dir()
    if named is not None and (named / entry.filename).is_file():
        return _verify(named / entry.filename, entry.sha256, entry.architecture)
    cached = config.cache_dir() / "weights" / entry.filename
    if cached.is_file():
        return _verify(cached, entry.sha256, entry.architecture)

    def missing(failure: str) -> WeightsNotFoundError:
        where = f"{named / entry.filename} does not exist" if named is not None else f"{config.WEIGHTS_ENV} is unset"
        return WeightsNotFoundError(
            f"official weights {entry.filename} ({entry.architecture}) not found: download {entry.url} "
            f"(source: {entry.source}) into a folder as {entry.filename} and set {config.WEIGHTS_ENV} to that "
            f"folder (or pass directory=). Looked here: {where}, {cached} is absent; {failure}.",
            short=f"no official weights {entry.filename} (put it at ${config.WEIGHTS_ENV}/{entry.filename}; from {entry.url})")

    if entry.sha256 is None:
        raise missing("this file has no pinned sha256, so it is never downloaded automatically")
    if not download or config.offline():
        raise missing("downloads are off (COMPANION_OFFLINE=1)" if download else "download=False")
    import pooch

    try:
        pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}", fname=Path(entry.filename).name,
                       path=cached.parent, downloader=pooch.HTTPDownloader(timeout=60, progressbar=False))
    except Exception as err:  # network down, host gone, or a sha256 mismatch
        error = missing(f"download failed ({one_line(err, 80)})")
    else:
        return cached
    raise error  # outside the except block: no "during handling of ..." network traceback before it


def resolve(entry, choice: str | Path) -> tuple:
    """``(path, strip_prefix, description)`` of the weights ``choice`` of registry entry ``entry``
    (a ``models.ModelSpec``): 'best' (official if available, else ours), 'official', 'ours', or a
    path to a state_dict file. 'best' falls back to ours only when the official file is absent;
    a corrupt one is an error.
    """
    if isinstance(choice, Path) or choice not in ("best", "official", "ours"):
        path = Path(choice)
        if not path.is_file():
            raise WeightsError(f"weights={str(choice)!r} is neither 'best', 'official', 'ours' nor an existing file")
        return path, "", f"file: {path}"
    if choice in ("best", "official") and entry.official:
        try:
            w = official(entry.official)
            return locate(entry.official), w.strip_prefix, f"official: {w.source}"
        except WeightsNotFoundError:
            if choice == "official" or not entry.ours:
                raise
            warnings.warn(f"{entry.name}: official weights not found, using ours "
                          f"(see the model card companion/checkpoints/{entry.ours}.json)", stacklevel=3)
    elif choice == "official":
        raise WeightsError(f"{entry.name} has no official weights; try weights='ours'")
    if choice in ("best", "ours") and entry.ours:
        return ours(entry.ours), "", f"ours: companion/checkpoints/{entry.ours}.pt"
    if choice == "ours":
        raise WeightsError(f"{entry.name} has no checkpoint of ours yet")
    raise WeightsError(f"no weights registered for {entry.name}; pass weights=None for a "
                       f"randomly initialized model, or a path to a state_dict file")


def read_state_dict(path: str | Path, strip_prefix: str = "") -> dict:
    """Load a state_dict safely (``weights_only=True``), unwrapping {'state_dict': ...}."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsError(f"could not read {path} as a PyTorch checkpoint ({type(err).__name__}: "
                           f"{str(err)[:200]}); the file is corrupt or not a state_dict") from err
    for wrapper in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} does not hold a state_dict of tensors")
    if strip_prefix:
        state = {k.removeprefix(strip_prefix): v for k, v in state.items()}
    return state


def load_into(model: torch.nn.Module, state: dict, origin: str) -> torch.nn.Module:
    """``model.load_state_dict(state, strict=True)`` with an error that names what differs.

    Files saved before PyTorch 0.4.1 lack BatchNorm's ``num_batches_tracked`` counter, which
    plays no part in inference: only that omission is filled in from the model.
    """
    own = model.state_dict()
    state = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked")}, **state}
    mine, theirs = set(own), set(state)
    if mine != theirs:
        raise WeightsError(f"{origin} does not fit {type(model).__name__}: missing "
                           f"{sorted(mine - theirs)[:5]}, unexpected {sorted(theirs - mine)[:5]}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise WeightsError(f"{origin} does not fit {type(model).__name__}: {str(err)[:400]}") from err
    return model


def _checkpoints():
    return resources.files("companion").joinpath("checkpoints")


def our_checkpoints() -> list:
    """Names of the project's own checkpoints."""
    folder = _checkpoints()
    return sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".pt")) if folder.is_dir() else []


def model_card(name: str) -> dict:
    """The model card of our checkpoint ``name``."""
    card = _checkpoints().joinpath(f"{name}.json")
    if not card.is_file():
        raise WeightsError(f"no checkpoint of ours named {name!r}; ours: {our_checkpoints()}")
    return json.loads(card.read_text())


def ours(name: str) -> Path:
    """Path of our checkpoint ``name``, verified against the sha256 in its model card."""
    card = model_card(name)
    path = Path(str(_checkpoints().joinpath(f"{name}.pt")))
    return _verify(path, card["sha256"], f"checkpoint {name}")


def save_ours(name: str, model: torch.nn.Module, card: dict, folder: str | Path | None = None) -> Path:
    """Write our checkpoint ``<name>.pt`` (a plain state_dict) and its model card ``<name>.json``
    (``card`` plus the checkpoint's sha256) into ``companion/checkpoints`` or ``folder``."""
    folder = Path(folder) if folder is not None else Path(str(_checkpoints()))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pt"
    save_torch({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
    write_atomic(folder / f"{name}.json", json.dumps({**card, "sha256": sha256_of(path)}, indent=1))
    return path
