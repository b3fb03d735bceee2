"""Weights: the officially published files and the project's own checkpoints.

An official file is looked up, in order, in an explicit directory (argument, else
``COMPANION_WEIGHTS_DIR``), in the per-user cache (``<cache>/weights``), and finally downloaded
from its public source. Wherever it is found it must match its pinned sha256; a file in a git
repository with no sha256 pinned yet must match its git blob SHA-1 (the commit is in its URL), and
its sha256 is then recorded in the cache; a file with neither pin is used only from a directory
the user names (never downloaded), with a warning.
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
from .checks import flat, one_line
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


REAL_FILE = "verified on the real file"
SYNTHETIC_ONLY = "layout verified on a synthetic file only"
NOT_VERIFIED = "layout not verified here"


@dataclass(frozen=True)
class WeightFile:
    """One official file: where it lives, its sha256 and how its keys map to ours.

    git_sha1: the file's git blob SHA-1 (``git hash-object``) where its source is a file in a
        git repository at a fixed commit: it pins the content until the sha256 is pinned; a
        verified download records its sha256 in the cache (``recorded_sha256``).
    verified: how its key layout was checked: ``REAL_FILE`` (the file itself loaded and scored),
        ``SYNTHETIC_ONLY`` (a file with the authors' key names and shapes built from their model
        code: tests/test_official_layouts.py) or ``NOT_VERIFIED``.
    """

    key: str
    filename: str
    url: str
    source: str
    architecture: str
    strip_prefix: str = ""
    git_sha1: str | None = None
    verified: str = REAL_FILE

    @property
    def sha256(self) -> str | None:
        """The sha256 pinned in the package, else the one recorded when its git blob verified."""
        return checksums().get(self.filename) or (recorded_sha256().get(self.git_sha1) if self.git_sha1 else None)


def _raw(repo: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/HEAD/{path}"


def _at(repo: str, commit: str, path: str) -> str:
    """The immutable address of a file of a git repository at one commit."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_KAIR = "https://github.com/cszn/KAIR/releases/download/v1.0/"
_DEAMNET = ("chaoren88/DeamNet", "827c736dec2fe675e7bf4de06c3f026d9aaf4dbf")
_BRDNET = ("hellloxiaotian/BRDNet", "d65aeb5245c94b88e8883f843c25ac797ac2ec26")
_MPRNET = ("shimhy97/MPRNet-main", "29305b9673c6680e76d7b5804c06b983a9be2ad7")
_DWDN = ("xlei1o/Adversarial_Robustness", "a2e94fcc8e190a90ec253bc523be5871fcb5705b")
_RGDN = ("donggong1/learn-optimizer-rgdn", "561468463372a5727b553efa0330fc75901e29fc")
_BRDNET_SHA1 = {  # git blob SHA-1 of <kind>image/<sigma>/model_50.h5 at _BRDNET's commit
    ("gray", 15): "ff3ad82292410c149b8f41355c9d06217b1e69d5", ("gray", 25): "d386feb0b1346a036417f60418bb85167b23a239",
    ("gray", 50): "a8a0520e0ab02f9d2a752d6e92dfc4b907ec3961", ("color", 15): "ca61b9d56d13fad62b69eb7d5228374720f996ae",
    ("color", 25): "5702c55008694d3f086e3e3433c84cb3ebe7e2fd",
    ("color", 35): "cdb0f4ffb2d6fdb2ca29d753a1b8f6fe21cc48cc",
    ("color", 50): "5e9ae848f56c4824ac0ee15f10d2b6be25f64310",
    ("color", 75): "9ca23c1073a6d9b8de6c6c33d88995be5a6ba8d3"}

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
                 f"DRUNet {k} (DPIR), 32.6M parameters; not pinned: used only from a folder you name",
                 verified=NOT_VERIFIED) for k in ("gray", "color")],
    WeightFile("n2n_gaussian", "n2n/noise2noise_gaussian.pt",
               _raw("joeylitalien/noise2noise-pytorch", "ckpts/gaussian/n2n-gaussian.pt"),
               "joeylitalien/noise2noise-pytorch (MIT)", "Noise2Noise U-Net, RGB, gaussian"),
    *[WeightFile(f"n2n_ph_{k}", f"n2n/plummer_hauser/n2n_{k}.pt",
                 _raw("hauserkristen/adversarial_denoising", f"denoising/models/n2n_{k}.pt"),
                 "hauserkristen/adversarial_denoising", f"Noise2Noise U-Net (Plummer & Hauser), {k}")
      for k in ("gaussian_std_50", "gaussian_std_100", "impulse_std50_p0.2", "impulse_std50_p0.5",
                "poisson_100", "poisson_200", "poisson_500")],
    WeightFile("rddcnn_s25", "rddcnn/trans_rddcnn_25.pdparams",
               _at("XDpaddle/rddcnn_paddle", "60a49cc07e1d6fbca4aeb46948ed5432bbec5fb6",
                   "trans_weights/trans_rddcnn_25.pdparams"),
               "XDpaddle/rddcnn_paddle @ 60a49cc (PaddlePaddle conversion of hellloxiaotian/RDDCNN's weights)",
               "RDDCNN, gray, non-blind sigma 25 (a pickle of numpy arrays, read by weights_paddle only)"),
    # files in git at a fixed commit, pinned by their git blob SHA-1 (no sha256 recorded yet)
    *[WeightFile(f"deamnet_{s}", f"deamnet/noise{s}.pth", _at(*_DEAMNET, f"Deam_models/noise{s}.pth"),
                 f"{_DEAMNET[0]} @ {_DEAMNET[1][:7]}", f"DeamNet, gray, sigma {s}", strip_prefix="module.",
                 git_sha1=sha1, verified=SYNTHETIC_ONLY)
      for s, sha1 in ((15, "5560297cd5b5ef57d023743ebec5eec399aa84ae"),
                      (25, "ca8571168592bb40f300a596cabb3147eda78eb4"),
                      (50, "7068d12902135a88bd0d4b084ec7cda1b036230b"))],
    *[WeightFile(f"brdnet_{kind}_{s}", f"brdnet/brdnet_{kind}_{s}.h5", _at(*_BRDNET, f"{kind}image/{s}/model_50.h5"),
                 f"{_BRDNET[0]} @ {_BRDNET[1][:7]}", f"BRDNet, {kind}, sigma {s} (Keras 2 HDF5)", git_sha1=sha1,
                 verified=SYNTHETIC_ONLY) for (kind, s), sha1 in _BRDNET_SHA1.items()],
    WeightFile("mprnet_deblurring", "mprnet/model_deblurring.pth",
               _at(*_MPRNET, "Deblurring/pretrained_models/model_deblurring.pth"),
               f"{_MPRNET[0]} @ {_MPRNET[1][:7]} (a fork of swz30/MPRNet)", "MPRNet deblurring, RGB",
               strip_prefix="module.", git_sha1="a7cbe87e33d71e69a0fb1a734bc7f2b2f5b36946", verified=SYNTHETIC_ONLY),
    WeightFile("dwdn", "dwdn/model_DWDN.pt", _at(*_DWDN, "DWDN/model/model_DWDN.pt"),
               f"{_DWDN[0]} @ {_DWDN[1][:7]} (the authors' dongjxjx/dwdn model)", "DWDN, RGB",
               git_sha1="887d837d899d19c8276d1bf4ca0e8a7c90a2be8f", verified=SYNTHETIC_ONLY),
    WeightFile("rgdn", "rgdn/rgdn.tr", _at(*_RGDN, "rgdn.tr"), f"{_RGDN[0]} @ {_RGDN[1][:7]}",
               "RGDN (learned gradient descent), RGB", git_sha1="bee2ca16c217567bd18fe43bd76f2f8e4e078fa1",
               verified=SYNTHETIC_ONLY),
]}


def official(key: str) -> WeightFile:
    if key not in OFFICIAL:
        raise WeightsError(f"no official weight file {key!r}; known: {', '.join(sorted(OFFICIAL))}")
    return OFFICIAL[key]


def git_blob_sha1(path: str | Path) -> str:
    """What ``git hash-object FILE`` prints: SHA-1 of ``b"blob <size>\\0"`` followed by the bytes."""
    import hashlib

    path = Path(path)
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_path() -> Path:
    return config.cache_dir() / "weights" / "recorded_sha256.json"


def recorded_sha256() -> dict:
    """``{git blob SHA-1: sha256}`` of the git-pinned official files verified on this machine
    (cache metadata, never the package); an unreadable record is ignored."""
    try:
        known = json.loads(_recorded_path().read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def verify_git_blob(path: Path, git_sha1: str, what: str) -> Path:
    """``path`` if its git blob SHA-1 is ``git_sha1``, recording its sha256 (``recorded_sha256``)."""
    actual = git_blob_sha1(path)
    if actual != git_sha1:
        raise WeightsError(f"{path} is corrupt or not the official {what}: git blob SHA-1 {actual} "
                           f"!= expected {git_sha1}. Delete it and fetch it again.")
    known = recorded_sha256()
    if git_sha1 not in known:
        known[git_sha1] = sha256_of(path)
        try:
            write_atomic(_recorded_path(), json.dumps(known, indent=1))
        except OSError:  # a read-only cache: the git blob SHA-1 still pins the file
            pass
    return path


def _verify(path: Path, expected: str | None, what: str, git_sha1: str | None = None) -> Path:
    if expected is None and git_sha1 is not None:
        return verify_git_blob(path, git_sha1, what)
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
        return _verify(named / entry.filename, entry.sha256, entry.architecture, entry.git_sha1)
    cached = config.cache_dir() / "weights" / entry.filename
    if cached.is_file():
        return _verify(cached, entry.sha256, entry.architecture, entry.git_sha1)

    def missing(failure: str) -> WeightsNotFoundError:
        where = f"{named / entry.filename} does not exist" if named is not None else f"{config.WEIGHTS_ENV} is unset"
        return WeightsNotFoundError(
            f"official weights {entry.filename} ({entry.architecture}) not found: download {entry.url} "
            f"(source: {entry.source}) into a folder as {entry.filename} and set {config.WEIGHTS_ENV} to that "
            f"folder (or pass directory=). Looked here: {where}, {cached} is absent; {failure}.",
            short=f"no official weights {entry.filename} (put it at ${config.WEIGHTS_ENV}/{entry.filename}; from {entry.url})")

    if entry.sha256 is None and entry.git_sha1 is None:
        raise missing("this file has no pinned sha256, so it is never downloaded automatically")
    if not download or config.offline():
        raise missing("downloads are off (COMPANION_OFFLINE=1)" if download else "download=False")
    import pooch

    try:
        pooch.retrieve(entry.url, known_hash=f"sha256:{entry.sha256}" if entry.sha256 else None,
                       fname=Path(entry.filename).name, path=cached.parent,
                       downloader=pooch.HTTPDownloader(timeout=60, progressbar=False))
    except Exception as err:  # network down, host gone, or a sha256 mismatch
        error = missing(f"download failed ({one_line(err, 80)})")
    else:
        if entry.sha256 is None:  # pinned by its git blob SHA-1 only: check it, record its sha256
            try:
                return verify_git_blob(cached, entry.git_sha1, entry.architecture)
            except WeightsError:
                cached.unlink(missing_ok=True)
                raise
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
            caveat = "" if w.verified == REAL_FILE else f" ({w.verified})"
            return locate(entry.official), w.strip_prefix, f"official: {w.source}{caveat}"
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
    """Load a state_dict safely (``weights_only=True``), unwrapping {'state_dict': ...}. A file
    torch refuses is a ``WeightsError`` that keeps torch's whole reason on one line (for a pickle
    of other objects, its warning that loading it otherwise can execute code)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch's whole message, which warns that weights_only=False can run code
        raise WeightsError(f"could not read {path} as a PyTorch checkpoint of tensors ({type(err).__name__}: "
                           f"{flat(str(err))}); the file is corrupt or not a state_dict") from err
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
    plays no part in inference: only that omission is filled in from the model. Weights with a
    NaN or an infinity are refused (the first such tensor named): a diverged or corrupt file.
    """
    for key, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise WeightsError(f"{origin} holds non-finite weights: {key!r} has {bad} of {value.numel()} values NaN "
                               f"or inf (a diverged training run or a corrupt file); retrain or fetch the file again")
    own = model.state_dict()
    state = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked")}, **state}
    mine, theirs = set(own), set(state)
    if mine != theirs:
        raise WeightsError(f"{origin} does not fit {type(model).__name__}: missing "
                           f"{sorted(mine - theirs)[:5]}, unexpected {sorted(theirs - mine)[:5]}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise WeightsError(f"{origin} does not fit {type(model).__name__}: {flat(str(err))[:400]}") from err
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


def user_checkpoints() -> Path:
    """The default folder of checkpoints a user trains: ``outputs/checkpoints`` under the project
    root, beside the runs (``outputs/<profile>-<device>``) and training states (``outputs/train``)."""
    return config.project_root() / "outputs" / "checkpoints"


def checkpoint_path(name: str, folder: str | Path | None = None, replace_shipped: bool = False) -> Path:
    """Where ``save_ours`` writes checkpoint ``name``: ``<folder>/<name>.pt``, ``folder`` defaulting
    to ``user_checkpoints()``. The package (``companion/checkpoints``, what ``models.create`` loads
    as 'ours') is written only with ``replace_shipped=True``, and then nowhere else: a retrained
    model there replaces the shipped one for every later ``create(name)``. Any other folder inside
    the package is refused; ``name`` is a plain file name (no folder in it)."""
    if not isinstance(name, str) or not name or name.startswith(".") or Path(name).name != name or "\\" in name:
        raise ValueError(f"checkpoint name {name!r} must be a plain file name (no folder, not starting with '.')")
    shipped = Path(str(_checkpoints())).resolve()
    if replace_shipped:
        if folder is not None and Path(folder).expanduser().resolve() != shipped:
            raise ValueError(f"replacing the shipped checkpoints (--replace-shipped, replace_shipped=True) writes into "
                             f"{shipped} only, not {folder}: drop one of the two")
        return shipped / f"{name}.pt"
    target = Path(folder).expanduser() if folder is not None else user_checkpoints()
    package = shipped.parent
    if target.resolve() == package or package in target.resolve().parents:
        raise ValueError(f"{target} is inside the package ({package}); the shipped checkpoints are replaced only "
                         f"on purpose (--replace-shipped, replace_shipped=True): write elsewhere")
    return target / f"{name}.pt"


def save_ours(name: str, model: torch.nn.Module, card: dict, folder: str | Path | None = None,
              replace_shipped: bool = False) -> Path:
    """Write our checkpoint ``<name>.pt`` (a plain state_dict) and its model card ``<name>.json``
    (``card`` plus the checkpoint's sha256) into ``folder`` (default ``user_checkpoints()``), or
    into the package's ``companion/checkpoints`` with ``replace_shipped=True`` only
    (``checkpoint_path``). Weights with a NaN or an infinity are refused and nothing is written."""
    path = checkpoint_path(name, folder, replace_shipped)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"{name}: {len(bad)} weight tensor(s) hold NaN or inf, the first {bad[0]!r} (training "
                         f"diverged); nothing written")
    save_torch(state, path)
    write_atomic(path.with_suffix(".json"), json.dumps({**card, "sha256": sha256_of(path)}, indent=1))
    return path
