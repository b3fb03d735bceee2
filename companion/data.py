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

Sources are the authors' repositories (see ``Dataset.repo`` / ``Dataset.path``); the sha256
values are those of the files published there.
"""

import gzip
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from . import config
from .batching import by_size
from .checks import one_line
from .io import checksums

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class DataNotFoundError(FileNotFoundError):
    """A dataset that is nowhere to be found (asked for with ``fallback=False``)."""


class FallbackWarning(UserWarning):
    """Data come from an embedded fallback (scikit-image images, the MNIST subset or synthetic
    kernels), not the benchmark set."""


@dataclass(frozen=True)
class Dataset:
    """One entry of the registry: where the files live and what they are."""

    name: str
    folder: str
    repo: str
    path: str
    kind: str  # 'gray', 'color', 'kernels' or 'digits'
    description: str
    names: tuple = ()

    def url(self, filename: str) -> str:
        """Where ``filename`` is downloaded from."""
        return f"https://raw.githubusercontent.com/{self.repo}/HEAD/{self.path}/{filename}"


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
]}

_KERNEL_FILES = {"levin09": "Levin09.mat", "kernels_12": "kernels_12.mat"}


def list_datasets() -> list:
    """Names of the registered datasets."""
    return sorted(DATASETS)


def dataset(name: str) -> Dataset:
    """The registry entry ``name``, with a clear error for unknown names."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; registered: {', '.join(list_datasets())}")
    return DATASETS[name]


def manifest(name: str) -> dict:
    """``{filename: sha256}`` of the files that make up dataset ``name``, sorted by name."""
    entry = dataset(name)
    prefix = entry.folder + "/"
    files = {path[len(prefix):]: digest for path, digest in checksums().items()
             if path.startswith(prefix) and "/" not in path[len(prefix):]}
    if entry.kind == "kernels":
        files = {k: v for k, v in files.items() if k == _KERNEL_FILES[name]}
    return dict(sorted(files.items()))


@dataclass
class Resolved:
    """Where a dataset was found: its folder and which source gave it."""

    folder: Path | None
    source: str  # 'user', 'cache', 'download' or 'fallback'


def _complete(folder: Path, files) -> bool:
    return folder.is_dir() and all((folder / f).is_file() for f in files)


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
    source = entry.url(next(iter(files))) if len(files) == 1 else f"https://github.com/{entry.repo}/tree/HEAD/{entry.path}"
    return (f"dataset {name!r} not found: put its {len(files)} file(s) ({listed}) from {source} "
            f"into <dir>/{entry.folder}/ and set {config.DATA_ENV}=<dir> (or pass root=<dir>). "
            f"Looked here: {looked}; {failure}.")


def resolve(name: str, root: str | Path | None = None, fallback: bool = True) -> Resolved:
    """Find dataset ``name`` by the resolution order of this module's docstring.

    When nothing is found, ``fallback=True`` warns (``FallbackWarning``, the message says what is
    missing and where to put it) and returns ``Resolved(None, 'fallback')``; ``fallback=False``
    raises ``DataNotFoundError`` with the same message. A failed download never surfaces as a
    network traceback: it is one clause at the end of the message.
    """
    entry = dataset(name)
    files = manifest(name)
    named = Path(root).expanduser() if root is not None else config.data_dir()
    if named is not None and _complete(named / entry.folder, files):
        return Resolved(named / entry.folder, "user")
    cached = config.cache_dir() / "data" / entry.folder
    if _complete(cached, files):
        return Resolved(cached, "cache")
    failure = "downloads are off (COMPANION_OFFLINE=1)"
    if not config.offline():
        try:
            _download(entry, files, cached)
            return Resolved(cached, "download")
        except Exception as err:  # network down, host gone, or a sha256 mismatch
            failure = f"download failed ({one_line(err, 80)})"
    advice = _advice(name, entry, files, named, cached, failure)
    if not fallback:
        raise DataNotFoundError(advice)
    warnings.warn(f"{advice} Using {_FALLBACKS[entry.kind]} instead: numbers computed on it are NOT "
                  f"comparable with the papers'.", FallbackWarning, stacklevel=3)
    return Resolved(None, "fallback")


@dataclass
class ImageSet:
    """Images of one dataset as float32 [0, 1] tensors, with their names.

    ``images`` is one NCHW tensor when every image has the same size, else a list of 1CHW
    tensors. ``source`` says where the files came from ('user', 'cache', 'download' or
    'fallback'); only the first three give numbers comparable with the papers'.
    """

    dataset: str
    images: torch.Tensor | list
    names: list
    source: str
    meta: dict = field(default_factory=dict)

    @property
    def comparable(self) -> bool:
        return self.source != "fallback"

    @property
    def label(self) -> str:
        """What the images really are, for titles: '4 set12 images', or '4 scikit-image images
        (fallback for set12)'."""
        if self.comparable:
            return f"{len(self)} {self.dataset} image{'s' * (len(self) != 1)}"
        return f"{len(self)} scikit-image image{'s' * (len(self) != 1)} (fallback for {self.dataset})"

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

    img = np.asarray(iio.imread(path))
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


def _center_crop(img: torch.Tensor, size) -> torch.Tensor:
    th, tw = (size, size) if isinstance(size, int) else size
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
        raise ValueError(f"{name!r} is not an image dataset; use load_kernels() or load_mnist()")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images, got {limit}")
    want_color = entry.kind == "color" if color is None else bool(color)
    where = resolve(name, root, fallback)
    if where.source == "fallback":
        pairs = _fallback_arrays(entry.kind == "color")
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
                    {"folder": str(where.folder) if where.folder else None, "color": want_color})


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
    'fallback' (``synthetic_kernels``)."""

    def __init__(self, kernels, source: str):
        super().__init__(kernels)
        self.source = source

    @property
    def comparable(self) -> bool:
        return self.source != "fallback"


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
    if name == "levin09":
        import h5py

        with h5py.File(path, "r") as f:
            kernels = [np.array(f[ref]).T for ref in f["kernels"][:].ravel()]
    else:
        import scipy.io

        kernels = [np.asarray(k) for k in scipy.io.loadmat(str(path))["kernels"].ravel()]
    return Kernels([(k / k.sum()).astype(np.float32) for k in kernels], where.source)


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
    position of each digit in the 10,000 of the MNIST test split.
    """

    def __new__(cls, images: torch.Tensor, labels: torch.Tensor, source: str, indices: np.ndarray):
        self = super().__new__(cls, (images, labels))
        self.source, self.indices = source, indices
        return self

    images = property(lambda self: self[0])
    labels = property(lambda self: self[1])

    @property
    def comparable(self) -> bool:
        return self.source != "fallback"


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
                  torch.from_numpy(labels.astype(np.int64)), where.source, indices)


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
