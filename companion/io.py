"""Files, written whole or not at all, and checked by their sha256.

Every file the package writes (results, summaries, figures, checkpoints, model cards, attack
caches, training states) goes through ``atomic``: a temporary file beside the target, renamed
onto it only when the writer finished, so a killed run never leaves half a file. Every file it
reads from outside (datasets, official weights) is checked against the sha256 pinned in
``companion/checksums.txt``.
"""

import contextlib
import hashlib
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path


@contextlib.contextmanager
def atomic(path: str | Path, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds,
    remove it when it fails. ``suffix`` keeps the extension a writer may infer the format from.
    The temporary file is ``.<name><suffix>`` in a private folder: its name is the same on every
    run (``torch.save`` names the archive inside a checkpoint after it, so the bytes are too)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.")
    tmp = Path(folder) / f".{path.name}{suffix}"
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # results are ordinary files, whatever the umask
        os.replace(tmp, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (``atomic``) and return the path."""
    with atomic(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_torch(obj, path: str | Path) -> Path:
    """``torch.save`` atomically (``atomic``): never half a checkpoint."""
    import torch

    with atomic(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def sha256_of(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums() -> dict:
    """``{'set12/01.png': sha256, 'dncnn/dncnn_25.pth': sha256, ...}``: every file the package
    pins, from ``companion/checksums.txt`` (paths relative to the data or weights root)."""
    text = resources.files("companion").joinpath("checksums.txt").read_text()
    table = {}
    for line in text.splitlines():
        if line.strip():
            digest, path = line.split()
            table[path.removeprefix("data/").removeprefix("weights/")] = digest
    return table
