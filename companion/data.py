"""Datasets: registry, resolution, loaders, blur kernels, MNIST and training patches.

Each dataset resolves, in this order:

1. a directory the user names (the ``root`` argument, else ``COMPANION_DATA_DIR``), holding
   ``<root>/<folder>/<files>``;
2. the per-user cache (``COMPANION_CACHE_DIR``, else the OS cache), ``<cache>/data/<folder>``;
3. a download from the public source, each file pinned by the sha256 in ``checksums.txt``
   (skipped when ``COMPANION_OFFLINE=1``);
4. an embedded fallback, with a ``FallbackWarning`` that says which files are missing and where
   to put them (numbers computed on a fallback are not comparable with the papers'):

   - images: images that ship with scikit-image (``_fallback_arrays``);
   - ``mnist``: 5,000 digits of the MNIST test split shipped in ``companion/fallback/``
     (``load_mnist``; made by ``scripts/make_mnist_subset.py``, licence in that folder);
   - ``levin09`` and ``kernels_12``: synthetic kernels made in code (``synthetic_kernels``).

   ``fallback=False`` (``resolve``, ``load``, ``load_kernels``, ``load_mnist``) raises
   ``DataNotFoundError`` instead.

Files found in a folder (named, cached or downloaded) are checked against their pinned sha256
(``io.sha256_cached``: hashed once, then remembered by size and modification time). A file that
differs is kept, with a ``ModifiedDataWarning`` naming it, and the set is marked not comparable
with the papers' (``comparable=False``). ``fingerprint`` says what a dataset resolves to now
(source and content hash) without downloading, so that ``reproduce`` can tell stale results.

Sources are the authors' repositories (see ``Dataset.repo`` / ``Dataset.path``, at
``Dataset.commit``); the sha256 values are those of the files published there.

Paired sets (``kind='pairs'``: ``polyu``, ``cc``, ``sidd_val``) hold real camera noise: each noisy
shot with its clean reference (the mean of many shots of the same scene), read by ``load_pairs``
and paired by name (``pair_names``). They resolve as above but have no embedded fallback: when
one is nowhere to be found, ``load_pairs`` raises ``DataNotFoundError``, naming the missing half
of any incomplete pair. A set with no sha256 pinned here (``Dataset.files``: ``cc``, ``sidd_val``)
is only read from a folder you name or the cache, never downloaded.
"""

import gzip
import hashlib
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from . import config
from .batching import by_size
from .checks import count, lookup, one_line
from .io import checksums, sha256_cached

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class DataNotFoundError(FileNotFoundError):
    """A dataset that is nowhere to be found (asked for with ``fallback=False``)."""


class FallbackWarning(UserWarning):
    """Data come from an embedded fallback (scikit-image images, the MNIST subset or synthetic
    kernels), not the benchmark set."""


class ModifiedDataWarning(UserWarning):
    """Files of a dataset differ from the published ones (their pinned sha256): they are used as
    found, and numbers computed on them are not comparable with the papers'."""


@dataclass(frozen=True)
class Dataset:
    """One entry of the registry: where the files live and what they are."""

    name: str
    folder: str
    repo: str
    path: str
    kind: str  # 'gray', 'color', 'kernels', 'digits' or 'pairs' (noisy and clean, ``load_pairs``)
    description: str
    names: tuple = ()
    commit: str = "HEAD"  # the commit downloads come from (the pinned sha256 fixes the content either way)
    licence: str = ""  # the terms its source states, where it states any
    home: str = ""  # where it is published, when that is not a folder of a git repository
    files: tuple = ()  # its files when no sha256 is pinned for it in checksums.txt (never downloaded)
    pair: tuple = ()  # 'pairs' kept as files: the name suffixes of a noisy file and of its clean reference

    def url(self, filename: str) -> str:
        """Where ``filename`` is downloaded from."""
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}/{filename}"

    @property
    def source(self) -> str:
        """Where the set is published: its folder in the repository at ``commit``, or ``home``."""
        return self.home or f"https://github.com/{self.repo}/tree/{self.commit}/{self.path}"


SET12_NAMES = ("cameraman", "house", "peppers", "starfish", "monarch", "airplane", "parrot",
               "lena", "barbara", "boat", "man", "couple")

DATASETS = {d.name: d for d in [
    Dataset("set12", "set12", "cszn/DnCNN", "testsets/Set12", "gray",
            "Set12: 12 gray test images, 256x256 and 512x512", SET12_NAMES),
    Dataset("bsd68", "bsd68", "cszn/DnCNN", "testsets/BSD68", "gray",
            "BSD68: 68 gray natural images, 481x321"),
    Dataset("cbsd68", "cbsd68", "cszn/FFDNet", "testsets/CBSD68", "color",
            "CBSD68: the color BSD68"),
    Dataset("set3c", "set3c", "cszn/DPIR", "testsets/set3c", "color",
            "set3c: butterfly, leaves, starfish, 256x256 color"),
    Dataset("kodak24", "kodak24", "cszn/FFDNet", "testsets/Kodak24", "color",
            "Kodak24: 24 color photographs, 768x512"),
    Dataset("mcmaster", "mcmaster", "cszn/FFDNet", "testsets/McMaster", "color",
            "McMaster: 18 color images, 500x500"),
    Dataset("train400", "train400", "cszn/DnCNN",
            "TrainingCodes/DnCNN_TrainingCodes_v1.0/data/Train400", "gray",
            "Train400: DnCNN's gray training set, 180x180"),
    Dataset("cbsd432", "cbsd432", "Magauiya/Extended_SURE", "Dataset/CBSD432", "color",
            "CBSD432: BSDS500 minus CBSD68, color training set"),
    Dataset("levin09", "kernels", "cszn/DPIR", "kernels", "kernels",
            "Levin et al. 2009: 8 motion blur kernels, 13-27 px"),
    Dataset("kernels_12", "kernels", "cszn/DPIR", "kernels", "kernels",
            "DPIR's 12 kernels, 25x25: 4 isotropic + 4 anisotropic Gaussian, 4 motion"),
    Dataset("mnist", "mnist", "dohe0342/Seq2Seq_mnist", "MNIST_data/MNIST/raw", "digits",
            "MNIST test split: 10,000 digits 28x28"),
    Dataset("polyu", "polyu", "csjunxu/PolyU-Real-World-Noisy-Images-Dataset", "CroppedImages", "pairs",
            "PolyU (Xu et al. 2018): 100 real-noise crops, 512x512 RGB JPEG, 5 cameras; *_real.JPG one shot, "
            "*_mean.JPG the mean of many (clean reference); named camera_aperture_shutter_ISO_scene_index",
            commit="3af0f2646b267a00446fe4b7113a15e67bc80b4e", pair=("_real", "_mean"),
            licence="non-commercial use only: teaching, research, demonstrations (the repository's License.txt, "
                    "The Hong Kong Polytechnic University)"),
    Dataset("cc", "cc", "csjunxu/MCWNNM-ICCV2017", "Real_ccnoise_denoised_part", "pairs",
            "CC (Nam et al., CVPR 2016): 15 real-noise crops, 512x512 RGB PNG, 3 cameras; *_real.png one shot, "
            "*_mean.png the mean of many (clean reference); as Xu et al.'s MCWNNM repository distributes them",
            commit="aa344066ea9cfbe66f27c921cabfafd9ec6e127d", pair=("_real", "_mean"),
            files=tuple(f"{camera}_{i}_{half}.png" for camera in ("5dmark3_iso3200", "d600_iso3200", "d800_iso1600",
                                                                  "d800_iso3200", "d800_iso6400")
                        for i in (1, 2, 3) for half in ("mean", "real")),
            licence="non-commercial use only (the MCWNNM repository's License.txt, The Hong Kong Polytechnic "
                    "University)"),
    Dataset("sidd_val", "sidd_val", "", "", "pairs",
            "SIDD validation (Abdelhamed et al., CVPR 2018): 1,280 sRGB blocks 256x256 (40 images x 32), noisy and "
            "ground truth in two MATLAB files, uint8 arrays 40 x 32 x 256 x 256 x 3 named as the files",
            home="https://www.eecs.yorku.ca/~kamel/sidd/benchmark.php",
            files=("ValidationGtBlocksSrgb.mat", "ValidationNoisyBlocksSrgb.mat"),
            licence="the SIDD website's terms"),
]}

_KERNEL_FILES = {"levin09": "Levin09.mat", "kernels_12": "kernels_12.mat"}


def list_datasets() -> list:
    """Names of the registered datasets."""
    return sorted(DATASETS)


def dataset(name: str) -> Dataset:
    """The registry entry ``name``, with a clear error suggesting the closest names for unknown ones."""
    return lookup(DATASETS, name, "dataset")


def manifest(name: str) -> dict:
    """``{filename: sha256}`` of the files that make up dataset ``name``, sorted by name; the
    sha256 is None for a set with none pinned here (``Dataset.files``)."""
    entry = dataset(name)
    prefix = entry.folder + "/"
    files = {path[len(prefix):]: digest for path, digest in checksums().items()
             if path.startswith(prefix) and "/" not in path[len(prefix):]}
    if entry.kind == "kernels":
        files = {k: v for k, v in files.items() if k == _KERNEL_FILES[name]}
    return dict(sorted((files or dict.fromkeys(entry.files)).items()))


@dataclass
class Resolved:
    """Where a dataset was found: its folder, which source gave it, and the files there that
    differ from their pinned sha256 (``modified``)."""

    folder: Path | None
    source: str  # 'user', 'cache', 'download' or 'fallback'
    modified: tuple = ()


def _complete(folder: Path, files) -> bool:
    return folder.is_dir() and all((folder / f).is_file() for f in files)


def _local(name: str, root: str | Path | None) -> Resolved | None:
    """Steps 1 and 2 of the resolution order (the named folder, then the cache): no network."""
    entry, files = dataset(name), manifest(name)
    named = Path(root).expanduser() if root is not None else config.data_dir()
    if named is not None and _complete(named / entry.folder, files):
        return Resolved(named / entry.folder, "user")
    cached = config.cache_dir() / "data" / entry.folder
    return Resolved(cached, "cache") if _complete(cached, files) else None


def _compare(name: str, folder: Path) -> tuple:
    """``({filename: sha256}, modified)``: the sha256 of dataset ``name``'s files in ``folder``
    (``io.sha256_cached``) and the names of those that differ from their pinned sha256."""
    files = manifest(name)
    found = sha256_cached([folder / f for f in files])
    hashes = {f: found[folder / f] for f in files}
    return hashes, tuple(f for f, digest in hashes.items() if files[f] is not None and digest != files[f])


def _checked(name: str, where: Resolved) -> Resolved:
    """``where`` with the files that differ from their pinned sha256, warned about by name."""
    files = manifest(name)
    modified = _compare(name, where.folder)[1]
    if modified:
        listed = ", ".join(modified[:5]) + (f" and {len(modified) - 5} more" if len(modified) > 5 else "")
        warnings.warn(f"dataset {name!r}: {len(modified)} of {len(files)} file(s) in {where.folder} differ from "
                      f"the published ones ({listed}: sha256 not the one pinned in companion/checksums.txt). "
                      f"They are used as found, but numbers on them are NOT comparable with the papers' "
                      f"(comparable=False); restore the originals from {dataset(name).url(modified[0])} to compare.",
                      ModifiedDataWarning, stacklevel=4)
    return Resolved(where.folder, where.source, modified)


def _download(entry: Dataset, files: dict, target: Path) -> None:
    import pooch

    downloader = pooch.HTTPDownloader(timeout=30, progressbar=False)
    for filename, digest in files.items():
        pooch.retrieve(entry.url(filename), known_hash=f"sha256:{digest}", fname=filename,
                       path=target, downloader=downloader)


_FALLBACKS = {
    "gray": "the embedded scikit-image fallback images",
    "color": "the embedded scikit-image fallback images",
    "digits": "the embedded MNIST subset (companion/fallback/mnist_subset.npz: 5,000 digits of the test split)",
    "kernels": "synthetic blur kernels (data.synthetic_kernels)",
}


def _advice(name: str, entry: Dataset, files: dict, named: Path | None, cached: Path, failure: str) -> str:
    """What is missing and what to do, first; where we looked and why the download did not help, last."""
    listed = ", ".join(list(files)[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    looked = (f"{named / entry.folder} is incomplete or missing" if named is not None
              else f"{config.DATA_ENV} is unset") + f", {cached} holds no copy"
    source = entry.url(next(iter(files))) if len(files) == 1 and not entry.home else entry.source
    return (f"dataset {name!r} not found: put its {len(files)} file(s) ({listed}) from {source} "
            f"into <dir>/{entry.folder}/ and set {config.DATA_ENV}=<dir> (or pass root=<dir>). "
            f"Looked here: {looked}; {failure}.")


def resolve(name: str, root: str | Path | None = None, fallback: bool = True) -> Resolved:
    """Find dataset ``name`` by the resolution order of this module's docstring.

    When nothing is found, ``fallback=True`` warns (``FallbackWarning``, the message says what is
    missing and where to put it) and returns ``Resolved(None, 'fallback')``; ``fallback=False``,
    or a paired set (which has no fallback), raises ``DataNotFoundError`` with the same message.
    A failed download never surfaces as a
    network traceback: it is one clause at the end of the message.
    """
    entry = dataset(name)
    files = manifest(name)
    found = _local(name, root)
    if found is not None:
        return _checked(name, found)
    named = Path(root).expanduser() if root is not None else config.data_dir()
    cached = config.cache_dir() / "data" / entry.folder
    failure = "downloads are off (COMPANION_OFFLINE=1)"
    if None in files.values():
        failure = "no sha256 is pinned for it here, so it is never downloaded"
    elif not config.offline():
        try:
            _download(entry, files, cached)
            return _checked(name, Resolved(cached, "download"))
        except Exception as err:  # network down, host gone, or a sha256 mismatch
            failure = f"download failed ({one_line(err, 80)})"
    advice = _advice(name, entry, files, named, cached, failure)
    if not fallback or entry.kind not in _FALLBACKS:
        raise DataNotFoundError(advice)
    warnings.warn(f"{advice} Using {_FALLBACKS[entry.kind]} instead: numbers computed on it are NOT "
                  f"comparable with the papers'.", FallbackWarning, stacklevel=3)
    return Resolved(None, "fallback")


def fingerprint(name: str, root: str | Path | None = None) -> dict:
    """What dataset ``name`` resolves to now, without downloading or warning: ``{'source':
    'user' | 'cache' | 'fallback' | 'missing' (a paired set, which has no fallback), 'sha256',
    'modified'}``. ``sha256`` hashes the content: the
    sha256 of each of the set's files in its folder (the same hashes the pinned check uses, so it
    costs a ``stat`` per file), or the fallback's pixels. A downloaded set is in the cache, so it
    reads 'cache' here. Two equal fingerprints mean the same data."""
    found = _local(name, root)
    if found is None and dataset(name).kind not in _FALLBACKS:  # a paired set: nothing stands in
        return {"source": "missing", "sha256": None, "modified": []}
    if found is None:
        return {"source": "fallback", "sha256": _fallback_digest(dataset(name).kind, name), "modified": []}
    hashes, modified = _compare(name, found.folder)
    listing = "".join(f"{f} {digest}\n" for f, digest in hashes.items())
    return {"source": found.source, "sha256": hashlib.sha256(listing.encode()).hexdigest(),
            "modified": list(modified)}


_FALLBACK_SHA256: dict = {}  # (kind, kernel set name or ''): computed once per process


def _fallback_digest(kind: str, name: str, arrays: list | None = None) -> str:
    """sha256 of the embedded fallback that stands in for a dataset of ``kind`` (kernel set
    ``name``): its pixels, or the bytes of the MNIST subset. ``arrays``: the fallback images
    when ``load`` has them already (reading them costs about a second)."""
    key = (kind, name if kind == "kernels" else "")
    if key not in _FALLBACK_SHA256:
        digest = hashlib.sha256()
        if kind == "digits":
            digest.update(resources.files("companion").joinpath(MNIST_SUBSET).read_bytes())
        elif kind == "kernels":
            for k in synthetic_kernels(name):
                digest.update(np.ascontiguousarray(k, dtype=np.float32).tobytes())
        else:
            for image_name, arr in arrays or _fallback_arrays(kind == "color"):
                digest.update(image_name.encode() + repr(arr.shape).encode())
                digest.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
        _FALLBACK_SHA256[key] = digest.hexdigest()
    return _FALLBACK_SHA256[key]


@dataclass
class ImageSet:
    """Images of one dataset as float32 [0, 1] tensors, with their names.

    ``images`` is one NCHW tensor when every image has the same size, else a list of 1CHW
    tensors. ``source`` says where the files came from ('user', 'cache', 'download' or
    'fallback'); only the first three give numbers comparable with the papers', and only when no
    file of the set differs from the published one (``modified``: those that do).
    """

    dataset: str
    images: torch.Tensor | list
    names: list
    source: str
    meta: dict = field(default_factory=dict)
    modified: tuple = ()

    @property
    def comparable(self) -> bool:
        return self.source != "fallback" and not self.modified

    @property
    def label(self) -> str:
        """What the images really are, for titles: '4 set12 images', '4 set12 images (modified:
        05.png)' or '4 scikit-image images (fallback for set12)'."""
        plural = "s" * (len(self) != 1)
        if self.source == "fallback":
            return f"{len(self)} scikit-image image{plural} (fallback for {self.dataset})"
        return f"{len(self)} {self.dataset} image{plural}" + (
            f" (modified: {', '.join(self.modified)})" if self.modified else "")

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        """Yield ``(name, 1CHW tensor)`` pairs."""
        for i, name in enumerate(self.names):
            yield name, self.images[i:i + 1] if isinstance(self.images, torch.Tensor) else self.images[i]

    def groups(self):
        """Yield ``(indices, NCHW tensor)`` for runs of same-size images, for batched work."""
        images = [img for _, img in self]
        for indices in by_size(images):
            yield indices, torch.cat([images[i] for i in indices])


def to_gray(x: np.ndarray) -> np.ndarray:
    """HxWx3 -> HxW with ITU-R BT.601 luma weights (MATLAB's rgb2gray)."""
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def _read_image(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    try:
        img = np.asarray(iio.imread(path))
    except Exception as err:  # each image library raises its own type for a damaged file
        raise ValueError(f"{path} cannot be read as an image ({one_line(err, 100)}): the file is damaged or "
                         f"not an image; replace it with the published one") from None
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255.0
    elif img.dtype == np.uint16:
        img = img.astype(np.float32) / 65535.0
    else:
        raise ValueError(f"{path}: unsupported pixel type {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return img


def _fallback_arrays(color: bool) -> list:
    """The embedded fallback: images shipped inside scikit-image, center-cropped to 256x256
    (12 gray: 8 gray originals and 4 color ones in luma; 8 color)."""
    from skimage import data as skdata

    gray = ["camera", "moon", "brick", "grass", "gravel", "coins", "clock", "cell"]
    rgb = ["astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field",
           "retina", "colorwheel"]
    out = []
    for name in (rgb if color else gray + rgb[:4]):
        img = getattr(skdata, name)()
        img = img.astype(np.float32) / 255.0
        if not color and img.ndim == 3:
            img = to_gray(img)
        top, left = (img.shape[0] - 256) // 2, (img.shape[1] - 256) // 2
        out.append((name, img[top:top + 256, left:left + 256]))
    return out


def _crop_size(crop) -> tuple:
    """``crop`` (a size or an (h, w) pair, whole numbers of pixels >= 1) as an (h, w) pair."""
    parts = tuple(crop) if isinstance(crop, (tuple, list)) else (crop, crop)
    if len(parts) != 2:
        raise ValueError(f"crop must be a size in pixels or an (h, w) pair, got {crop!r}; None keeps whole images")
    return tuple(count(part, "crop (pixels; None keeps whole images)", least=1) for part in parts)


def _center_crop(img: torch.Tensor, size: tuple) -> torch.Tensor:
    th, tw = size
    h, w = img.shape[-2:]
    th, tw = min(th, h), min(tw, w)
    top, left = (h - th) // 2, (w - tw) // 2
    return img[..., top:top + th, left:left + tw]


def load(name: str, root: str | Path | None = None, color: bool | None = None,
         limit: int | None = None, crop: int | tuple | None = None,
         device: str | torch.device = "cpu", fallback: bool = True) -> ImageSet:
    """Load an image dataset as float32 [0, 1] NCHW tensors.

    Args:
        name: a registered image dataset (see ``list_datasets()``).
        root: a data directory holding ``<root>/<folder>/``; defaults to ``COMPANION_DATA_DIR``.
        color: True gives 3 channels, False 1 channel (BT.601 luma); None keeps the dataset's.
        limit: keep the first ``limit`` images (sorted by file name).
        crop: center-crop every image to this size (int or (h, w)).
        device: where the tensors go.
        fallback: when the dataset is nowhere to be found, use the embedded scikit-image images
            (with a ``FallbackWarning``); False raises ``DataNotFoundError`` instead.
    """
    entry = dataset(name)
    if entry.kind not in ("gray", "color"):
        raise ValueError(f"{name!r} is not an image dataset; use load_kernels(), load_mnist() or load_pairs()")
    limit = None if limit is None else count(limit, "limit (images; a notebook's max_images)", least=1)
    crop = None if crop is None else _crop_size(crop)
    want_color = entry.kind == "color" if color is None else bool(color)
    where = resolve(name, root, fallback)
    if where.source == "fallback":
        pairs = _fallback_arrays(entry.kind == "color")
        _fallback_digest(entry.kind, name, pairs)  # for report.Results, at no extra reading
    else:
        files = list(manifest(name))
        names = entry.names if len(entry.names) == len(files) else [Path(f).stem for f in files]
        pairs = [(n, f) for n, f in zip(names, files)]
    pairs = pairs[:limit] if limit is not None else pairs
    tensors, names = [], []
    for image_name, item in pairs:
        arr = _read_image(where.folder / item) if where.source != "fallback" else item
        if want_color and arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        elif not want_color and arr.ndim == 3:
            arr = to_gray(arr)
        t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
        if crop is not None:
            t = _center_crop(t, crop)
        tensors.append(t.to(device))
        names.append(image_name)
    same = len({tuple(t.shape) for t in tensors}) == 1
    images = torch.cat(tensors) if same else tensors
    return ImageSet(name, images, names, where.source,
                    {"folder": str(where.folder) if where.folder else None, "color": want_color}, where.modified)


@dataclass
class PairSet:
    """Real noisy images with their clean references, as float32 [0, 1] RGB 1CHW tensors
    (``noisy[i]`` and ``clean[i]`` of pair ``names[i]``), from ``load_pairs``.

    ``source``: 'user', 'cache' or 'download'; ``modified``: the files that differ from their
    pinned sha256; ``pinned``: False for a set with no sha256 pinned here, whose files cannot be
    checked. Only a pinned set with no modified file is ``comparable`` with the papers'.
    """

    dataset: str
    noisy: list
    clean: list
    names: list
    source: str
    meta: dict = field(default_factory=dict)
    modified: tuple = ()
    pinned: bool = True

    @property
    def comparable(self) -> bool:
        return self.pinned and not self.modified

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self):
        """Yield ``(name, noisy, clean)``, each image 1CHW."""
        return iter(zip(self.names, self.noisy, self.clean))


def pair_names(name: str, files=None) -> list:
    """The pairs of paired set ``name`` kept as files: ``[(pair, noisy file, clean file)]`` sorted
    by pair name, each noisy file matched by name with its clean reference (``Dataset.pair``: PolyU's
    ``X_real.JPG`` with ``X_mean.JPG``). ``files``: the file names to pair (default: the set's
    manifest). A file whose other half is not among them is a ``DataNotFoundError`` naming both."""
    entry = dataset(name)
    if not entry.pair:
        raise ValueError(f"{name!r} is not a paired set kept as files; those are: "
                         f"{', '.join(n for n, d in DATASETS.items() if d.pair)}")
    halves = {}
    for file in files if files is not None else manifest(name):
        stem = Path(file).stem
        for role, suffix in zip(("noisy", "clean"), entry.pair):
            if stem.endswith(suffix):
                halves.setdefault(stem[:-len(suffix)], {})[role] = file
    pairs = []
    for key, found in sorted(halves.items()):
        if len(found) < 2:
            (role, present), = found.items()
            other = "clean" if role == "noisy" else "noisy"
            missing = key + entry.pair[role == "noisy"] + Path(present).suffix
            raise DataNotFoundError(f"dataset {name!r}: {present} has no {other} half {missing} beside it (each "
                                    f"{entry.pair[0]} shot is paired by name with its {entry.pair[1]} reference); "
                                    f"put {missing} there from {entry.source}")
        pairs.append((key, found["noisy"], found["clean"]))
    return pairs


def _blocks(folder: Path, entry: Dataset) -> tuple:
    """SIDD's paired blocks: ``(names, noisy, clean)``, the images uint8 N x H x W x 3, from the two
    MATLAB files of ``entry.files``, each holding an array named as its file (images x blocks x H x
    W x 3; 'Noisy' in the noisy one's name); block b of image i is named 'ii_bb'."""
    import scipy.io

    arrays = {}
    for file in entry.files:
        key = Path(file).stem
        try:
            arrays["noisy" if "Noisy" in key else "clean"] = scipy.io.loadmat(str(folder / file))[key]
        except (ValueError, KeyError, NotImplementedError, OSError) as err:
            raise ValueError(f"{folder / file} cannot be read as SIDD's {key} ({one_line(err, 100)}): replace it with "
                             f"the published file ({entry.source})") from None
    noisy, clean = arrays["noisy"], arrays["clean"]
    if noisy.shape != clean.shape or noisy.ndim != 5 or noisy.shape[-1] != 3 or noisy.dtype != np.uint8:
        raise ValueError(f"{folder}: SIDD's noisy and clean blocks must both be uint8 images x blocks x H x W x 3, "
                         f"got {noisy.dtype} {noisy.shape} and {clean.dtype} {clean.shape}")
    names = [f"{i:02d}_{b:02d}" for i in range(noisy.shape[0]) for b in range(noisy.shape[1])]
    return names, noisy.reshape(-1, *noisy.shape[2:]), clean.reshape(-1, *clean.shape[2:])


def load_pairs(name: str, root: str | Path | None = None, limit: int | None = None, crop: int | tuple | None = None,
               names: list | None = None, device: str | torch.device = "cpu") -> PairSet:
    """Load paired set ``name`` (real camera noise: ``polyu``, ``cc``, ``sidd_val``) as a ``PairSet``.

    Resolution is ``resolve``'s without a fallback: a set nowhere to be found is a
    ``DataNotFoundError`` that says where to put it, and names the missing half when a pair in the
    folder you named is incomplete (``pair_names``).

    Args:
        root: a data directory holding ``<root>/<folder>/``; defaults to ``COMPANION_DATA_DIR``.
        limit: keep the first ``limit`` pairs (sorted by name, or of ``names``).
        crop: center-crop both images of every pair to this size (int or (h, w)).
        names: load only these pairs, in this order (``pair_names``' names; 'ii_bb' for SIDD's
            block b of image i); an unknown one is an error.
        device: where the tensors go.
    """
    entry = dataset(name)
    if entry.kind != "pairs":
        raise ValueError(f"{name!r} is not a paired set; those are: "
                         f"{', '.join(n for n, d in DATASETS.items() if d.kind == 'pairs')}")
    limit = None if limit is None else count(limit, "limit (pairs)", least=1)
    crop = None if crop is None else _crop_size(crop)
    try:
        where = resolve(name, root, fallback=False)
    except DataNotFoundError:
        named = Path(root).expanduser() if root is not None else config.data_dir()
        if entry.pair and named is not None:  # an incomplete pair there: name its missing half
            pair_names(name, [f for f in manifest(name) if (named / entry.folder / f).is_file()])
        raise
    if entry.pair:  # each pair: the paths of its two files
        listed = {key: [where.folder / noisy, where.folder / clean] for key, noisy, clean in pair_names(name)}
    else:  # each pair: its two uint8 blocks
        keys, *blocks = _blocks(where.folder, entry)
        listed = {key: [b[i] for b in blocks] for i, key in enumerate(keys)}
    for key in names or ():
        lookup(listed, key, f"pair of {name}")  # an unknown name is one line with the closest ones
    chosen = list(listed) if names is None else list(names)
    noisy, clean = [], []
    for key in chosen[:limit]:
        halves = []
        for item in listed[key]:
            arr = _read_image(item) if isinstance(item, Path) else item.astype(np.float32) / 255.0
            t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(2, 0, 1)[None]
            halves.append((_center_crop(t, crop) if crop is not None else t).to(device))
        if halves[0].shape != halves[1].shape:
            raise ValueError(f"{name}: the two halves of pair {key} differ in size ({tuple(halves[0].shape[-2:])} and "
                             f"{tuple(halves[1].shape[-2:])}); replace them with the published files ({entry.source})")
        noisy.append(halves[0])
        clean.append(halves[1])
    return PairSet(name, noisy, clean, chosen[:limit], where.source, {"folder": str(where.folder)}, where.modified,
                   pinned=None not in manifest(name).values())


LEVIN_SIZES = (19, 17, 15, 27, 13, 21, 23, 23)
"""The sizes of Levin et al.'s eight kernels (``levin09``), which the synthetic stand-ins keep."""


def motion_kernel(size: int, length: float, angle: float) -> np.ndarray:
    """A linear motion blur: a segment of ``length`` pixels through the centre of a ``size`` x
    ``size`` square at ``angle`` degrees (counterclockwise from the x axis, as displayed), drawn
    with bilinear weights at 16 samples per pixel; float32, sums to 1."""
    c = (size - 1) / 2
    t = np.linspace(-length / 2, length / 2, int(16 * length) + 1)
    rad = np.deg2rad(angle)
    xs, ys = c + t * np.cos(rad), c - t * np.sin(rad)
    k = np.zeros((size, size), dtype=np.float64)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        np.add.at(k, (np.clip(y0 + dy, 0, size - 1), np.clip(x0 + dx, 0, size - 1)), w)
    return (k / k.sum()).astype(np.float32)


def gaussian_kernel(size: int, sigma_major: float, sigma_minor: float | None = None,
                    angle: float = 0.0) -> np.ndarray:
    """A Gaussian blur on a ``size`` x ``size`` grid centred in it: standard deviations
    ``sigma_major`` along the axis at ``angle`` degrees (counterclockwise from the x axis) and
    ``sigma_minor`` across it (default: isotropic); float32, sums to 1."""
    sigma_minor = sigma_major if sigma_minor is None else sigma_minor
    c = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    x, y = xx - c, c - yy
    rad = np.deg2rad(angle)
    u, v = x * np.cos(rad) + y * np.sin(rad), -x * np.sin(rad) + y * np.cos(rad)
    k = np.exp(-0.5 * ((u / sigma_major) ** 2 + (v / sigma_minor) ** 2))
    return (k / k.sum()).astype(np.float32)


SYNTHETIC_KERNELS = {
    "levin09": [("motion", size, size - 4, 22.5 * i) for i, size in enumerate(LEVIN_SIZES)],
    "kernels_12": [*[("gaussian", 25, s, s, 0.0) for s in (0.7, 1.2, 1.6, 2.0)],
                   ("gaussian", 25, 2.6, 1.4, 0.0), ("gaussian", 25, 3.0, 1.2, 60.0),
                   ("gaussian", 25, 2.8, 1.2, 135.0), ("gaussian", 25, 2.6, 2.2, 20.0),
                   *[("motion", 25, length, angle) for length, angle in ((13, 30.0), (17, 75.0), (19, 120.0),
                                                                          (21, 165.0))]],
}
"""The recipes of ``synthetic_kernels``: ('motion', size, length, angle) or ('gaussian', size,
sigma_major, sigma_minor, angle); lengths and sigmas in pixels, angles in degrees."""


def synthetic_kernels(name: str = "kernels_12") -> list:
    """Blur kernels made in code, the offline stand-ins of ``levin09`` and ``kernels_12``
    (deterministic: no random numbers; each float32, non-negative, sums to 1).

    - ``levin09``-like: 8 linear motion blurs (``motion_kernel``) of Levin et al.'s sizes
      19, 17, 15, 27, 13, 21, 23 and 23 px, each of length size - 4 px, at angles 0, 22.5, 45, ...,
      157.5 degrees (kernel i at 22.5 i). Levin's kernels are curved camera-shake trajectories;
      these are straight.
    - ``kernels_12``-like, all 25 x 25, in the order of DPIR's file: 4 isotropic Gaussians of
      sigma 0.7, 1.2, 1.6 and 2.0 px (DPIR's); 4 anisotropic Gaussians (``gaussian_kernel``,
      sigma major / minor at angle) 2.6 / 1.4 at 0, 3.0 / 1.2 at 60, 2.8 / 1.2 at 135 and
      2.6 / 2.2 at 20 degrees (close to DPIR's four in spread); 4 linear motion blurs of length
      13, 17, 19 and 21 px at 30, 75, 120 and 165 degrees, angles that none of the levin09-like
      kernels has, so that networks trained on these are tested on blurs they did not see.
    """
    if name not in SYNTHETIC_KERNELS:
        raise ValueError(f"no synthetic kernel set {name!r}; choose 'levin09' or 'kernels_12'")
    make = {"motion": motion_kernel, "gaussian": gaussian_kernel}
    return [make[kind](*args) for kind, *args in SYNTHETIC_KERNELS[name]]


class Kernels(list):
    """The list of kernels ``load_kernels`` returns, with ``source``: 'user', 'cache', 'download' or
    'fallback' (``synthetic_kernels``), and ``modified``: the file if it differs from the published one."""

    def __init__(self, kernels, source: str, modified: tuple = ()):
        super().__init__(kernels)
        self.source, self.modified = source, modified

    @property
    def comparable(self) -> bool:
        return self.source != "fallback" and not self.modified


def load_kernels(name: str = "kernels_12", root: str | Path | None = None, fallback: bool = True) -> Kernels:
    """Blur kernels as a list of float32 HxW arrays that sum to 1 (a ``Kernels`` list, whose
    ``source`` says where they came from).

    ``levin09`` (MAT v7.3, read with h5py; MATLAB stores column-major, so each is transposed)
    or ``kernels_12`` (read with scipy.io). When the .mat file is nowhere to be found, the
    synthetic kernels of ``synthetic_kernels`` stand in, with a ``FallbackWarning``
    (``fallback=False``: ``DataNotFoundError``).
    """
    entry = dataset(name)
    if entry.kind != "kernels":
        raise ValueError(f"{name!r} is not a kernel set; choose 'levin09' or 'kernels_12'")
    where = resolve(name, root, fallback)
    if where.source == "fallback":
        return Kernels(synthetic_kernels(name), "fallback")
    path = where.folder / _KERNEL_FILES[name]
    kernels = _read_kernels(path, name)
    return Kernels([(k / k.sum()).astype(np.float32) for k in kernels], where.source, where.modified)


def _read_kernels(path: Path, name: str) -> list:
    """The kernels of ``name``'s .mat file, each checked: a non-empty finite 2-D array with a
    positive sum. A damaged file, or one without a 'kernels' array, is a one-line ValueError."""
    try:
        if name == "levin09":
            import h5py

            with h5py.File(path, "r") as f:
                kernels = [np.array(f[ref], dtype=np.float64).T for ref in f["kernels"][:].ravel()]
        else:
            import scipy.io

            kernels = [np.asarray(k, dtype=np.float64) for k in scipy.io.loadmat(str(path))["kernels"].ravel()]
    except Exception as err:  # scipy, h5py and numpy each raise their own type for a damaged file
        raise ValueError(f"{path} cannot be read as the {name} kernels ({one_line(err, 100)}): the file is damaged; "
                         f"replace it with the published one ({dataset(name).source})") from None
    for i, k in enumerate(kernels):
        if k.ndim != 2 or not k.size or not np.isfinite(k).all() or k.sum() <= 0:
            raise ValueError(f"{path}: kernel {i} of {name} is not a finite 2-D kernel with a positive sum "
                             f"(shape {k.shape}); replace the file with the published one")
    if not kernels:
        raise ValueError(f"{path} holds no kernels; replace it with the published one ({dataset(name).source})")
    return kernels


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format: big-endian header, then uint8 data)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


MNIST_TEST_SIZE = 10_000
MNIST_SUBSET = "fallback/mnist_subset.npz"
"""The embedded MNIST subset, inside the package: the first 4,000 and the last 1,000 digits of the
test split, in order (``images`` uint8 N x 28 x 28, ``labels`` uint8, ``indices`` into the split)."""


class Digits(tuple):
    """``(images, labels)`` from ``load_mnist``, unpacked like a pair, with where they came from.

    ``source``: 'user', 'cache', 'download' or 'fallback' (the embedded subset); ``indices``: the
    position of each digit in the 10,000 of the MNIST test split; ``modified``: the files that
    differ from the published ones.
    """

    def __new__(cls, images: torch.Tensor, labels: torch.Tensor, source: str, indices: np.ndarray,
                modified: tuple = ()):
        self = super().__new__(cls, (images, labels))
        self.source, self.indices, self.modified = source, indices, modified
        return self

    images = property(lambda self: self[0])
    labels = property(lambda self: self[1])

    @property
    def comparable(self) -> bool:
        return self.source != "fallback" and not self.modified


def mnist_subset() -> dict:
    """The embedded MNIST subset as ``{'images', 'labels', 'indices'}`` NumPy arrays."""
    with resources.files("companion").joinpath(MNIST_SUBSET).open("rb") as f:
        with np.load(f) as z:
            return {k: z[k] for k in ("images", "labels", "indices")}


def load_mnist(root: str | Path | None = None, limit: int | None = None, fallback: bool = True) -> Digits:
    """The MNIST test split: ``(images N x 1 x 28 x 28 float32 in [0, 1], labels int64)``, a
    ``Digits`` pair whose ``source`` says where it came from.

    When the split is nowhere to be found, the embedded subset stands in (``MNIST_SUBSET``: 5,000
    digits, the first 4,000 and the last 1,000 of the split, in order) with a ``FallbackWarning``;
    ``fallback=False`` raises ``DataNotFoundError`` instead.
    """
    limit = None if limit is None else count(limit, "limit (digits)", least=1)
    where = resolve("mnist", root, fallback)
    if where.source == "fallback":
        subset = mnist_subset()
        images, labels, indices = subset["images"], subset["labels"], subset["indices"].astype(np.int64)
    else:
        images = _read_idx(where.folder / "t10k-images-idx3-ubyte.gz")
        labels = _read_idx(where.folder / "t10k-labels-idx1-ubyte.gz")
        indices = np.arange(len(labels))
    images, labels, indices = images[:limit], labels[:limit], indices[:limit]
    return Digits(torch.from_numpy(images.astype(np.float32) / 255.0)[:, None],
                  torch.from_numpy(labels.astype(np.int64)), where.source, indices, where.modified)


class PatchSampler:
    """Random training patches with the eight flips/rotations (DnCNN's augmentation).

    DnCNN (Zhang et al. 2017, Sec. IV-A) trains on 40x40 patches of Train400 with flips and
    rotations; here patches are cropped at random positions each draw rather than from a fixed
    pre-extracted grid. Batch ``step`` is a function of ``(seed, step)`` alone, so a resumed
    training run sees exactly the batches it would have seen without the interruption.
    """

    def __init__(self, images, size: int = 40, batch_size: int = 128, seed: int = 0,
                 augment: bool = True):
        if isinstance(images, ImageSet):
            items = [img for _, img in images]
        elif isinstance(images, torch.Tensor):
            items = [img[None] for img in images]
        else:
            items = [img if img.dim() == 4 else img[None] for img in images]
        if not items:
            raise ValueError("PatchSampler needs at least one image")
        small = [tuple(i.shape[-2:]) for i in items if min(i.shape[-2:]) < size]
        if small:
            raise ValueError(f"patch size {size} exceeds image sizes {small[:3]}")
        self.images, self.size, self.batch_size, self.augment = items, size, batch_size, augment
        self.seed = seed

    def batch(self, step: int) -> torch.Tensor:
        """Batch number ``step``: ``batch_size x C x size x size``."""
        rng = np.random.default_rng([self.seed, step])
        out = []
        s = self.size
        for k in rng.integers(len(self.images), size=self.batch_size):
            img = self.images[k]
            top = int(rng.integers(img.shape[-2] - s + 1))
            left = int(rng.integers(img.shape[-1] - s + 1))
            patch = img[0, :, top:top + s, left:left + s]
            if self.augment:
                mode = int(rng.integers(8))
                patch = torch.rot90(patch, mode % 4, dims=(-2, -1))
                if mode >= 4:
                    patch = torch.flip(patch, dims=(-1,))
            out.append(patch)
        return torch.stack(out)
