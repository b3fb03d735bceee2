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


def writable(folder: str | Path, what: str = "folder") -> Path:
    """Make ``folder`` (and its parents) and check that ``atomic`` can write into it, before a long
    job that ends by writing there; an ``OSError`` of one line naming ``what`` otherwise."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(dir=folder).cleanup()
    except OSError as err:
        file = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        reason = f"{file} is a file" if file else err.strerror or type(err).__name__
        raise OSError(f"cannot write into {folder} ({what}): {reason}") from None
    return folder


def sha256_of(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_cached(paths) -> dict:
    """``{path: sha256}`` of the files ``paths``, each hashed once and then remembered by
    (path, size, mtime) in ``<cache>/sha256.json``, so checking a data set or the package on
    every run costs a ``stat`` per file. The cache is only a shortcut: an unreadable one is
    ignored and rebuilt, one that cannot be written leaves the hashes uncached."""
    import json

    from . import config

    store = config.cache_dir() / "sha256.json"
    try:
        known = json.loads(store.read_text())
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    out, fresh = {}, False
    for path in paths:
        key, stat = str(Path(path).resolve()), os.stat(path)
        stamp = [stat.st_size, stat.st_mtime_ns]
        entry = known.get(key)
        if not (isinstance(entry, list) and len(entry) == 3 and entry[:2] == stamp):
            known[key], fresh = stamp + [sha256_of(path)], True
        out[path] = known[key][2]
    if fresh:
        try:
            write_atomic(store, json.dumps(known))
        except OSError:
            pass
    return out


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
