"""Build companion/fallback/mnist_subset.npz, the MNIST digits shipped inside the package.

The subset is the first 4,000 and the last 1,000 digits of the MNIST test split, in their order,
so that ``purification.digits(train, test)`` with train <= 4,000 and test <= 1,000 gives the same
digits on the subset as on the whole split (training digits from the front, test digits from the
back). Read from the split's IDX files (``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``),
checked against the sha256 pinned in ``companion/checksums.txt``.

The .npz is written byte for byte the same on every run (fixed zip timestamps), so the sha256
printed at the end can be compared with the one in companion/fallback/README.md.

    python scripts/make_mnist_subset.py [MNIST_FOLDER]     # default: $COMPANION_DATA_DIR/mnist
"""

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from companion import data  # noqa: E402
from companion.io import sha256_of  # noqa: E402

FIRST, LAST = 4000, 1000
OUT = ROOT / "companion" / data.MNIST_SUBSET


def npz_bytes(arrays: dict) -> bytes:
    """``np.savez_compressed`` with fixed zip timestamps: the same arrays give the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            z.writestr(info, member.getvalue(), compresslevel=9)
    return buffer.getvalue()


def main(folder: Path) -> None:
    pinned = data.manifest("mnist")
    for filename, digest in pinned.items():
        actual = sha256_of(folder / filename)
        if actual != digest:
            raise SystemExit(f"{folder / filename}: sha256 {actual} is not the pinned {digest}")
    images = data._read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = data._read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (data.MNIST_TEST_SIZE, 28, 28) and labels.shape == (data.MNIST_TEST_SIZE,)
    indices = np.r_[0:FIRST, data.MNIST_TEST_SIZE - LAST:data.MNIST_TEST_SIZE].astype(np.uint16)
    blob = npz_bytes({"images": images[indices], "labels": labels[indices], "indices": indices})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(blob)
    print(f"wrote {OUT}: {len(indices)} digits, {len(blob):,} bytes, sha256 {hashlib.sha256(blob).hexdigest()}; "
          f"per label {np.bincount(labels[indices], minlength=10).tolist()}")


if __name__ == "__main__":
    default = Path(os.environ.get("COMPANION_DATA_DIR", ROOT.parent / "shared" / "data")) / "mnist"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
