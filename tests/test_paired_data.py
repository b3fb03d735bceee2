"""Real camera noise (Yan et al. Sec. 4.3, Table 4): the paired sets of the data registry (PolyU
pinned and paired by name; CC and SIDD-val registered, never downloaded)."""

import random
import shutil

import imageio.v3 as iio
import numpy as np
import pytest
import scipy.io
import torch

from companion import data, metrics

def _linked(data_dir, root, skip=(), copy=()):
    """``root/polyu`` holding links to the shared PolyU files (none of ``skip``; real copies of
    ``copy``, which a test may change); returns ``root``."""
    folder = root / "polyu"
    folder.mkdir(parents=True)
    for source in (data_dir / "polyu").glob("*.JPG"):
        if source.name in skip:
            continue
        if source.name in copy:
            shutil.copy(source, folder / source.name)
        else:
            (folder / source.name).symlink_to(source)
    return root


# --- the registry ---------------------------------------------------------------------------------

def test_polyu_pairs_each_noisy_shot_with_its_mean_by_name():
    pairs = data.pair_names("polyu")
    assert len(pairs) == 100 and len(data.manifest("polyu")) == 200
    assert all(noisy == f"{key}_real.JPG" and clean == f"{key}_mean.JPG" for key, noisy, clean in pairs)
    assert {f for _, n, c in pairs for f in (n, c)} == set(data.manifest("polyu"))
    files = list(data.manifest("polyu"))
    random.Random(0).shuffle(files)
    assert data.pair_names("polyu", files) == pairs  # by name, not by position
    entry = data.dataset("polyu")
    assert "3af0f2646b267a00446fe4b7113a15e67bc80b4e" in entry.url("x.JPG") and "non-commercial" in entry.licence


def test_a_missing_half_is_a_clear_error_naming_it():
    files = [f for f in data.manifest("polyu") if f != "Sony_3-5_200_1600_classroom_13_mean.JPG"]
    with pytest.raises(data.DataNotFoundError) as err:
        data.pair_names("polyu", files)
    message = str(err.value)
    assert "\n" not in message and "Sony_3-5_200_1600_classroom_13_real.JPG has no clean half" in message
    assert "put Sony_3-5_200_1600_classroom_13_mean.JPG there" in message
    with pytest.raises(data.DataNotFoundError, match="_real.JPG there"):
        data.pair_names("polyu", ["NikonD800_6-3_125_5000_plant__4_mean.JPG"])


def test_a_missing_half_in_the_folder_you_name_is_named(data_dir, tmp_path):
    root = _linked(data_dir, tmp_path / "root", skip={"Canon80D_8_8_3200_ball_16_mean.JPG"})
    with pytest.raises(data.DataNotFoundError, match=r"Canon80D_8_8_3200_ball_16_real.JPG has no clean half "
                                                     r"Canon80D_8_8_3200_ball_16_mean.JPG"):
        data.load_pairs("polyu", root=root, limit=1)


def test_polyu_loads_paired_cropped_and_pinned(data_dir):
    names = ["Sony_3-5_200_1600_classroom_10", "NikonD800_10_100_6400_planandsofa_2"]
    pairs = data.load_pairs("polyu", names=names, crop=48)
    assert pairs.names == names and pairs.source == "user" and pairs.comparable and len(pairs) == 2
    for name, noisy, clean in pairs:
        assert noisy.shape == clean.shape == (1, 3, 48, 48) and noisy.dtype == torch.float32
        assert 0 <= noisy.min() and noisy.max() <= 1 and not torch.equal(noisy, clean)
        assert 25 < metrics.psnr(noisy, clean).item() < 50  # real noise, light to strong
    whole = data.load_pairs("polyu", names=names[:1])
    assert whole.noisy[0].shape == (1, 3, 512, 512)
    assert torch.equal(whole.noisy[0][..., 232:280, 232:280], pairs.noisy[0])  # the same center crop of both halves
    with pytest.raises(ValueError, match="unknown pair of polyu 'Sony_3-5_200_1600_classroom_1'; did you mean"):
        data.load_pairs("polyu", names=["Sony_3-5_200_1600_classroom_1"])
    with pytest.raises(ValueError, match="not an image dataset; use .*load_pairs"):
        data.load("polyu")


def test_a_modified_file_marks_polyu_not_comparable(data_dir, tmp_path):
    changed = "Canon600D_3-5_125_1600_waterhouse_10_real.JPG"
    root = _linked(data_dir, tmp_path / "root", copy={changed})
    with open(root / "polyu" / changed, "ab") as f:
        f.write(b"\0")  # a JPEG still, but not the published bytes
    with pytest.warns(data.ModifiedDataWarning, match=changed):
        pairs = data.load_pairs("polyu", root=root, names=["Canon600D_3-5_125_1600_waterhouse_10"])
    assert pairs.modified == (changed,) and not pairs.comparable
    assert data.fingerprint("polyu", root)["modified"] == [changed]


def test_without_polyu_there_is_no_stand_in(no_data, tmp_path):
    assert data.fingerprint("polyu") == {"source": "missing", "sha256": None, "modified": []}
    with pytest.raises(data.DataNotFoundError, match="dataset 'polyu' not found: put its 200 file"):
        data.load_pairs("polyu")
    with pytest.raises(data.DataNotFoundError):
        data.resolve("polyu", fallback=True)  # no fallback for real noise, even when asked


def test_cc_and_sidd_are_registered_unpinned_and_never_downloaded(no_data, monkeypatch):
    import pooch

    monkeypatch.delenv("COMPANION_OFFLINE")
    monkeypatch.setattr(pooch, "HTTPDownloader", lambda **kw: pytest.fail("an unpinned set was downloaded"))
    cc, sidd = data.dataset("cc"), data.dataset("sidd_val")
    assert len(data.manifest("cc")) == 30 and set(data.manifest("cc").values()) == {None}
    assert len(data.pair_names("cc")) == 15 and "MCWNNM-ICCV2017" in cc.source and sidd.home in sidd.source
    for name in ("cc", "sidd_val"):
        with pytest.raises(data.DataNotFoundError, match="never downloaded"):
            data.load_pairs(name)


def test_cc_loads_from_a_folder_you_name_and_is_not_comparable(tmp_path):
    folder = tmp_path / "cc"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for file in data.manifest("cc"):
        iio.imwrite(folder / file, rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    pairs = data.load_pairs("cc", root=tmp_path)
    assert len(pairs) == 15 and pairs.names[0] == "5dmark3_iso3200_1" and not pairs.pinned and not pairs.comparable


def test_sidd_blocks_are_read_from_its_two_matlab_files(tmp_path):
    folder = tmp_path / "sidd_val"
    folder.mkdir()
    rng = np.random.default_rng(0)
    blocks = {key: rng.integers(0, 256, (2, 3, 8, 8, 3), dtype=np.uint8)
              for key in ("ValidationNoisyBlocksSrgb", "ValidationGtBlocksSrgb")}
    for key, array in blocks.items():
        scipy.io.savemat(folder / f"{key}.mat", {key: array})
    pairs = data.load_pairs("sidd_val", root=tmp_path, names=["01_02", "00_00"])
    assert pairs.names == ["01_02", "00_00"] and not pairs.comparable
    expected = torch.from_numpy(blocks["ValidationNoisyBlocksSrgb"][1, 2]).permute(2, 0, 1)[None] / 255.0
    assert torch.allclose(pairs.noisy[0], expected)
    assert len(data.load_pairs("sidd_val", root=tmp_path)) == 6
    one_image = blocks["ValidationGtBlocksSrgb"][:1]
    scipy.io.savemat(folder / "ValidationGtBlocksSrgb.mat", {"ValidationGtBlocksSrgb": one_image})
    with pytest.raises(ValueError, match="must both be uint8 images x blocks x H x W x 3"):
        data.load_pairs("sidd_val", root=tmp_path)
