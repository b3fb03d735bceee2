import hashlib

import numpy as np
import pytest
import torch

from companion import data, io


def test_registry_lists_every_dataset_of_the_issue():
    assert set(data.list_datasets()) == {"set12", "bsd68", "cbsd68", "set3c", "kodak24", "mcmaster",
                                         "train400", "cbsd432", "mnist", "levin09", "kernels_12",
                                         "polyu", "cc", "sidd_val"}  # real noise (tests/test_paired_data.py)
    counts = {name: len(data.manifest(name)) for name in data.list_datasets()}
    assert counts["set12"] == 12 and counts["bsd68"] == 68 and counts["cbsd68"] == 68
    assert counts["kodak24"] == 24 and counts["mcmaster"] == 18 and counts["train400"] == 400
    assert counts["levin09"] == counts["kernels_12"] == 1 and counts["mnist"] == 2


def test_pinned_sha256_matches_the_shared_files(data_dir):
    for name in ("set12", "set3c", "levin09"):
        entry = data.dataset(name)
        for filename, digest in data.manifest(name).items():
            blob = (data_dir / entry.folder / filename).read_bytes()
            assert hashlib.sha256(blob).hexdigest() == digest


def test_set12_from_the_named_directory(data_dir):
    s = data.load("set12")
    assert s.source == "user" and s.comparable
    assert s.names == list(data.SET12_NAMES)
    assert isinstance(s.images, list) and len(s) == 12
    sizes = [tuple(img.shape) for _, img in s]
    assert sizes[:7] == [(1, 1, 256, 256)] * 7 and sizes[7:] == [(1, 1, 512, 512)] * 5
    assert all(img.dtype == torch.float32 and 0 <= img.min() and img.max() <= 1 for _, img in s)
    groups = list(s.groups())
    assert [g[0] for g in groups] == [list(range(7)), list(range(7, 12))]


def test_explicit_root_beats_the_environment(copy_dataset, monkeypatch, tmp_path):
    root = copy_dataset("set12")
    monkeypatch.setenv("COMPANION_DATA_DIR", str(tmp_path / "nothing-here"))
    s = data.load("set12", root=root, limit=2)
    assert s.source == "user" and s.meta["folder"] == str(root / "set12")


def test_incomplete_directory_is_skipped_for_the_cache(copy_dataset, monkeypatch, tmp_path):
    root = copy_dataset("set3c")
    (root / "set3c" / "leaves.png").unlink()
    monkeypatch.setenv("COMPANION_DATA_DIR", str(root))
    cache = tmp_path / "cache"
    copy_dataset("set3c", cache / "data")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(cache))
    assert data.load("set3c").source == "cache"


def test_download_is_verified_by_sha256(no_data, data_dir, monkeypatch, tmp_path):
    """Simulate the network with a downloader that copies the published files; pooch checks
    the sha256 for real. Corrupt bytes must fail verification and lead to the fallback."""
    import pooch

    monkeypatch.delenv("COMPANION_OFFLINE")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    requested = []

    class FakeDownloader:
        def __init__(self, corrupt):
            self.corrupt = corrupt

        def __call__(self, url, output_file, _pooch):
            requested.append(url)
            blob = (data_dir / "set3c" / url.rsplit("/", 1)[1]).read_bytes()
            with open(output_file, "wb") as f:
                f.write(blob[:-1] + b"x" if self.corrupt else blob)

    monkeypatch.setattr(pooch, "HTTPDownloader", lambda **kw: FakeDownloader(corrupt=False))
    s = data.load("set3c")
    assert s.source == "download" and len(s) == 3
    assert requested[0] == "https://raw.githubusercontent.com/cszn/DPIR/HEAD/testsets/set3c/butterfly.png"
    assert data.load("set3c").source == "cache"

    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache2"))
    monkeypatch.setattr(pooch, "HTTPDownloader", lambda **kw: FakeDownloader(corrupt=True))
    with pytest.warns(data.FallbackWarning, match="download failed.*hash"):
        assert data.load("set3c").source == "fallback"


def test_fallback_when_nothing_is_there(no_data):
    with pytest.warns(data.FallbackWarning, match="NOT comparable"):
        gray = data.load("set12")
    assert gray.source == "fallback" and not gray.comparable
    assert gray.images.shape[1] == 1 and 0 <= gray.images.min() and gray.images.max() <= 1
    assert gray.images.shape == (12, 1, 256, 256)
    with pytest.warns(data.FallbackWarning):
        color = data.load("cbsd68", limit=3)
    assert color.images.shape == (3, 3, 256, 256) and color.names[0] == "astronaut"


def test_no_fallback_when_asked_for_none(no_data):
    """Kernels and digits fall back too (tests/test_offline.py); fallback=False is a clear error."""
    with pytest.raises(data.DataNotFoundError, match="COMPANION_DATA_DIR"):
        data.load_kernels("levin09", fallback=False)
    with pytest.raises(data.DataNotFoundError, match="Seq2Seq_mnist"):
        data.load_mnist(fallback=False)
    with pytest.raises(data.DataNotFoundError, match="dataset 'set12' not found: put its 12 file"):
        data.load("set12", fallback=False)


def test_kernels(data_dir):
    levin = data.load_kernels("levin09")
    k12 = data.load_kernels("kernels_12")
    assert [k.shape[0] for k in levin] == [19, 17, 15, 27, 13, 21, 23, 23]
    assert len(k12) == 12 and all(k.shape == (25, 25) for k in k12)
    assert all(abs(k.sum() - 1) < 1e-5 and k.min() >= 0 for k in levin + k12)


def test_mnist(data_dir):
    digits = data.load_mnist()
    x, y = digits
    assert digits.source == "user" and digits.comparable and digits.indices[-1] == 9999
    assert x.shape == (10000, 1, 28, 28) and y.shape == (10000,)
    assert 0 <= x.min() and x.max() == 1 and set(y.tolist()) == set(range(10))
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the first labels of the MNIST test split


def test_color_conversion_limit_and_crop(data_dir):
    gray = data.load("set3c", color=False)
    color = data.load("set3c")
    expected = 0.299 * color.images[:, 0] + 0.587 * color.images[:, 1] + 0.114 * color.images[:, 2]
    assert torch.allclose(gray.images[:, 0], expected, atol=1e-6)
    rgb = data.load("set12", color=True, limit=2, crop=64)
    assert rgb.images.shape == (2, 3, 64, 64)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 2])
    with pytest.raises(ValueError, match=r"whole number limit .*max_images\) >= 1, got 0"):  # checks.count
        data.load("set12", limit=0)


def test_named_files_are_hashed_once_then_remembered(copy_dataset, monkeypatch):
    root = copy_dataset("set3c")
    calls = []
    real = io.sha256_of
    monkeypatch.setattr(io, "sha256_of", lambda path: calls.append(path) or real(path))
    assert data.load("set3c", root=root).comparable and len(calls) == 3
    data.load("set3c", root=root)
    assert data.fingerprint("set3c", root)["modified"] == [] and len(calls) == 3  # a stat per file, no hashing
    (root / "set3c" / "leaves.png").touch()  # a new mtime: hashed again, still the published bytes
    assert data.load("set3c", root=root).comparable and len(calls) == 4


def test_a_damaged_image_is_named(copy_dataset):
    root = copy_dataset("set12")
    (root / "set12" / "03.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.warns(data.ModifiedDataWarning, match="03.png"):
        with pytest.raises(ValueError, match=r"set12/03\.png cannot be read as an image"):
            data.load("set12", root=root, limit=3)


def test_bad_names():
    with pytest.raises(ValueError, match="unknown dataset 'set13'.*set12"):
        data.load("set13")
    with pytest.raises(ValueError, match="not an image dataset"):
        data.load("levin09")


def test_patch_sampler():
    rng = np.random.default_rng(0)
    images = [torch.from_numpy(rng.random((1, 1, 60, 70), dtype=np.float32)) for _ in range(3)]
    sampler = data.PatchSampler(images, size=40, batch_size=16, seed=5)
    a = sampler.batch(3)
    assert a.shape == (16, 1, 40, 40) and torch.equal(a, data.PatchSampler(images, 40, 16, seed=5).batch(3))
    assert not torch.equal(a, sampler.batch(4))

    plain = data.PatchSampler(images, size=8, batch_size=32, seed=1, augment=False).batch(0)
    windows = [img[0, 0].unfold(0, 8, 1).unfold(1, 8, 1).reshape(-1, 8, 8) for img in images]
    for patch in plain:
        assert any((w == patch[0]).flatten(1).all(1).any() for w in windows)

    with pytest.raises(ValueError, match="exceeds"):
        data.PatchSampler(images, size=64)
