"""Shared fixtures. Every test runs offline with a private, empty cache; the benchmark data and
official weights come from COMPANION_DATA_DIR / COMPANION_WEIGHTS_DIR (CI sets both). Outside
CI, tests that need them are skipped when they are absent; under CI their absence is a failure."""

import os
import shutil
from pathlib import Path

import pytest

import companion  # noqa: F401  (the torchvision shim first)

DATA = os.environ.get("COMPANION_DATA_DIR")
WEIGHTS = os.environ.get("COMPANION_WEIGHTS_DIR")


def _required(value, what):
    if value and Path(value).is_dir():
        return Path(value)
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {what}")
    pytest.skip(f"{what} is not set")


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    """A private empty cache and no downloads, so no test depends on the user's machine."""
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")


@pytest.fixture
def data_dir():
    return _required(DATA, "COMPANION_DATA_DIR (e.g. ../shared/data)")


@pytest.fixture
def weights_dir():
    return _required(WEIGHTS, "COMPANION_WEIGHTS_DIR (e.g. ../shared/weights)")


@pytest.fixture
def no_data(monkeypatch):
    """No data directory named: resolution must go to the cache, download or fallback."""
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)


@pytest.fixture
def copy_dataset(data_dir, tmp_path):
    """Copy a dataset folder of the shared data into a fresh root; returns the root."""
    def copy(folder, root=None):
        root = Path(root or tmp_path / "root")
        shutil.copytree(data_dir / folder, root / folder)
        return root
    return copy
