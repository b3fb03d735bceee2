"""Bad-input battery (issue 30) for data loading, the report's record of its inputs and reproduce's
resume decision: one row per case, each with its input and the expected error (type and a phrase
of its message) or behaviour. Fast: a tiny pinned copy of set3c (three 8x8 PNGs whose sha256
stand in for the published ones), tmp folders, no notebook kernel."""

import hashlib
import json
import shutil
import warnings

import imageio.v3 as iio
import numpy as np
import pytest

from companion import data, io, report, reproduce

NAMES = ("butterfly.png", "leaves.png", "starfish.png")  # set3c's files, in manifest order


def _png(path, seed, shape=(8, 8, 3), compress=None):
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    iio.imwrite(path, pixels, **({} if compress is None else {"compress_level": compress}))
    return pixels


class Tiny:
    """A tiny set3c in ``root/set3c`` pinned by its own sha256 (``data.checksums`` patched)."""

    def __init__(self, tmp_path, monkeypatch):
        self.root, self.tmp = tmp_path / "root", tmp_path
        self.folder = self.root / "set3c"
        self.folder.mkdir(parents=True)
        for seed, name in enumerate(NAMES):
            _png(self.folder / name, seed)
        pins = {f"set3c/{n}": io.sha256_of(self.folder / n) for n in NAMES}
        real = {k: v for k, v in io.checksums().items() if not k.startswith("set3c/")}
        monkeypatch.setattr(data, "checksums", lambda: {**real, **pins})
        monkeypatch.setenv("COMPANION_DATA_DIR", str(self.root))
        self.monkeypatch = monkeypatch

    def load(self, **kwargs):
        """``data.load('set3c')`` with the ModifiedDataWarning messages it gave."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            images = data.load("set3c", **kwargs)
        return images, [str(w.message) for w in caught if issubclass(w.category, data.ModifiedDataWarning)]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    return Tiny(tmp_path, monkeypatch)


# --- data.load: arguments --------------------------------------------------------------------

LOAD_ERRORS = [  # (kwargs, error type, phrase of its message)
    (dict(crop=0), ValueError, "crop (pixels; None keeps whole images) >= 1, got 0"),
    (dict(crop=-3), ValueError, "crop"),
    (dict(crop=(0, 4)), ValueError, "got 0"),
    (dict(crop=(4, -1)), ValueError, "got -1"),
    (dict(crop=(4, 4, 4)), ValueError, "(h, w) pair"),
    (dict(crop=2.5), ValueError, "whole number crop"),
    (dict(crop=float("nan")), ValueError, "whole number crop"),
    (dict(crop=True), TypeError, "crop"),
    (dict(crop="8"), TypeError, "crop"),
    (dict(limit=0), ValueError, "max_images"),
    (dict(limit=-2), ValueError, "max_images"),
    (dict(limit=1.5), ValueError, "whole number limit"),
    (dict(limit=True), TypeError, "limit"),
    (dict(name="set13"), ValueError, "unknown dataset 'set13'; did you mean set3c, set12"),
    (dict(name="levin09"), ValueError, "not an image dataset"),
]


@pytest.mark.parametrize("kwargs, error, phrase", LOAD_ERRORS, ids=[repr(r[0]) for r in LOAD_ERRORS])
def test_load_refuses_bad_arguments_in_one_line(tiny, kwargs, error, phrase):
    kwargs = {"name": "set3c", **kwargs}
    with pytest.raises(error) as err:
        data.load(**kwargs)
    assert phrase in str(err.value) and "\n" not in str(err.value)


LOAD_OK = [  # (kwargs, shape of the images): what is accepted, and how
    (dict(crop=4), (3, 3, 4, 4)),
    (dict(crop=4.0), (3, 3, 4, 4)),  # an integral float is a whole number
    (dict(crop=(4, 6)), (3, 3, 4, 6)),
    (dict(crop=100), (3, 3, 8, 8)),  # larger than the image: the whole image
    (dict(limit=2, color=False), (2, 1, 8, 8)),
    (dict(limit=2.0), (2, 3, 8, 8)),
]


@pytest.mark.parametrize("kwargs, shape", LOAD_OK, ids=[repr(r[0]) for r in LOAD_OK])
def test_load_accepts_good_arguments(tiny, kwargs, shape):
    images, modified = tiny.load(**kwargs)
    assert tuple(images.images.shape) == shape and images.comparable and not modified


def test_mnist_limit_is_checked_before_anything_loads(no_data):
    with pytest.raises(ValueError, match="whole number limit"):
        data.load_mnist(limit=0)


# --- data.load: the files in the folder ------------------------------------------------------

def _replace(folder, name, by):
    shutil.copy(folder / by, folder / name)


def _one_pixel(folder, name):
    pixels = iio.imread(folder / name)
    pixels[0, 0, 0] ^= 1
    iio.imwrite(folder / name, pixels)


def _reencode(folder, name):
    iio.imwrite(folder / name, iio.imread(folder / name), compress_level=0)  # same pixels, other bytes


def _append(folder, name):
    with open(folder / name, "ab") as f:
        f.write(b"trailing bytes")


def _truncate(folder, name):
    blob = (folder / name).read_bytes()
    (folder / name).write_bytes(blob[:len(blob) // 2])


def _after_a_first_load(folder, name):
    data.load("set3c")  # hashes remembered by size and mtime; the change must still be seen
    _replace(folder, name, "starfish.png")


def _garbled_hash_cache(folder, name):
    data.load("set3c")
    store = data.config.cache_dir() / "sha256.json"
    store.write_text('{"truncated": [1, 2')
    _replace(folder, name, "starfish.png")


def _lying_hash_cache(folder, name):
    """A cache entry for another size or time is not trusted."""
    data.load("set3c")
    _replace(folder, name, "starfish.png")
    store = data.config.cache_dir() / "sha256.json"
    known = json.loads(store.read_text())
    key = str((folder / name).resolve())
    known[key] = [0, 0, data.manifest("set3c")[name]]
    store.write_text(json.dumps(known))


FILE_FAULTS = [  # (case, mutation of the folder, expected: 'clean', ('modified', files), ('error', phrase), 'fallback')
    ("pristine", lambda f: None, "clean"),
    ("one_file_replaced_by_another_image", lambda f: _replace(f, "butterfly.png", "leaves.png"),
     ("modified", ["butterfly.png"])),
    ("two_files_replaced", lambda f: (_replace(f, "butterfly.png", "starfish.png"),
                                      _replace(f, "leaves.png", "starfish.png")),
     ("modified", ["butterfly.png", "leaves.png"])),
    ("one_pixel_changed", lambda f: _one_pixel(f, "leaves.png"), ("modified", ["leaves.png"])),
    ("same_pixels_other_bytes", lambda f: _reencode(f, "starfish.png"), ("modified", ["starfish.png"])),
    ("bytes_appended", lambda f: _append(f, "leaves.png"), ("modified", ["leaves.png"])),
    ("replaced_by_a_larger_image", lambda f: _png(f / "leaves.png", 9, (12, 10, 3)), ("modified", ["leaves.png"])),
    ("replaced_after_a_first_load", lambda f: _after_a_first_load(f, "butterfly.png"),
     ("modified", ["butterfly.png"])),
    ("garbled_hash_cache", lambda f: _garbled_hash_cache(f, "leaves.png"), ("modified", ["leaves.png"])),
    ("stale_hash_cache_entry", lambda f: _lying_hash_cache(f, "butterfly.png"), ("modified", ["butterfly.png"])),
    ("truncated_png", lambda f: _truncate(f, "leaves.png"), ("error", "leaves.png cannot be read as an image")),
    ("text_instead_of_png", lambda f: (f / "butterfly.png").write_text("not an image"),
     ("error", "butterfly.png cannot be read as an image")),
    ("empty_file", lambda f: (f / "starfish.png").write_bytes(b""), ("error", "starfish.png cannot be read")),
    ("file_missing", lambda f: (f / "leaves.png").unlink(), "fallback"),
    ("directory_in_place_of_a_file", lambda f: ((f / "leaves.png").unlink(), (f / "leaves.png").mkdir()),
     "fallback"),
]


@pytest.mark.parametrize("mutate, expected", [r[1:] for r in FILE_FAULTS], ids=[r[0] for r in FILE_FAULTS])
def test_files_in_a_named_folder_are_checked(tiny, mutate, expected):
    mutate(tiny.folder)
    if expected == "fallback":
        with pytest.warns(data.FallbackWarning, match="set3c"):
            images = data.load("set3c")
        assert images.source == "fallback" and not images.comparable
        return
    if expected[0] == "error":
        with pytest.raises(ValueError) as err:
            tiny.load()
        assert expected[1] in str(err.value) and "\n" not in str(err.value)
        return
    images, warned = tiny.load()
    assert images.source == "user" and len(images) == 3  # every file is kept and used
    if expected == "clean":
        assert images.comparable and images.modified == () and not warned
        return
    assert not images.comparable and list(images.modified) == expected[1]
    assert len(warned) == 1 and all(name in warned[0] for name in expected[1]) and "NOT comparable" in warned[0]
    assert all(name in images.label for name in expected[1])


def test_a_modified_file_in_the_cache_marks_the_set_too(tiny, monkeypatch):
    cached = data.config.cache_dir() / "data"
    shutil.copytree(tiny.folder, cached / "set3c")
    _replace(cached / "set3c", "starfish.png", "leaves.png")
    monkeypatch.delenv("COMPANION_DATA_DIR")
    images, warned = tiny.load()
    assert images.source == "cache" and images.modified == ("starfish.png",) and "starfish.png" in warned[0]


def test_a_copy_of_set12_with_05_replaced_is_not_comparable(copy_dataset):
    """The issue's case, on the real Set12: 05.png replaced by 06.png."""
    root = copy_dataset("set12")
    shutil.copy(root / "set12" / "06.png", root / "set12" / "05.png")
    with pytest.warns(data.ModifiedDataWarning, match=r"1 of 12 file\(s\).*\(05\.png: sha256"):
        images = data.load("set12", root=root, limit=6)
    assert images.source == "user" and not images.comparable and images.modified == ("05.png",)
    assert data.fingerprint("set12", root)["modified"] == ["05.png"]


# --- data.fingerprint ------------------------------------------------------------------------

def _fp_same_twice(t):
    return data.fingerprint("set3c") == data.fingerprint("set3c")


def _fp_file_changed(t):
    before = data.fingerprint("set3c")
    _one_pixel(t.folder, "starfish.png")
    after = data.fingerprint("set3c")
    return after["sha256"] != before["sha256"] and after["modified"] == ["starfish.png"]


def _fp_env_unset(t):
    t.monkeypatch.delenv("COMPANION_DATA_DIR")
    found = data.fingerprint("levin09")  # synthetic kernels: a cheap fallback
    return found["source"] == "fallback" and found == data.fingerprint("levin09")


def _fp_explicit_root(t):
    t.monkeypatch.delenv("COMPANION_DATA_DIR")
    return data.fingerprint("set3c", t.root)["source"] == "user" and data.fingerprint("set3c")["source"] != "user"


def _fp_no_warning_no_download(t):
    t.monkeypatch.delenv("COMPANION_DATA_DIR")
    t.monkeypatch.delenv("COMPANION_OFFLINE")  # online: fingerprint must still not download
    t.monkeypatch.setattr(data, "_download", lambda *a: pytest.fail("fingerprint downloaded"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return data.fingerprint("kernels_12")["source"] == "fallback"


def _fp_kernel_sets_differ(t):
    t.monkeypatch.delenv("COMPANION_DATA_DIR")
    return data.fingerprint("levin09")["sha256"] != data.fingerprint("kernels_12")["sha256"]


FINGERPRINTS = [
    ("stable", _fp_same_twice), ("changes_with_a_file", _fp_file_changed),
    ("fallback_when_unset", _fp_env_unset), ("explicit_root", _fp_explicit_root),
    ("silent_and_offline", _fp_no_warning_no_download), ("fallbacks_told_apart", _fp_kernel_sets_differ),
]


@pytest.mark.parametrize("case", [r[1] for r in FINGERPRINTS], ids=[r[0] for r in FINGERPRINTS])
def test_fingerprint(tiny, case):
    assert case(tiny)


# --- report: what a notebook's results record about their inputs -----------------------------

def _results(t, **load):
    r = report.Results("00_quickstart", t.tmp / "out", {"profile": "quick"})
    r.load_images("set3c", **load)
    return r


def _stale(r):
    return report.stale_inputs(json.loads(json.dumps(r.data)))  # as reproduce reads it back


def _weights_file(t, name="w.pt", content=b"weights"):
    path = t.tmp / name
    path.write_bytes(content)
    return path


def _r_unchanged(t):
    return _stale(_results(t)) == []


def _r_env_unset(t):
    r = _results(t)
    t.monkeypatch.delenv("COMPANION_DATA_DIR")
    t.monkeypatch.setattr(data, "_FALLBACK_SHA256", {})  # a stand-in fallback, forgotten after the test
    t.monkeypatch.setattr(data, "_fallback_arrays", lambda color: [("x", np.zeros((4, 4, 3), np.float32))])
    return _stale(r) == ["dataset set3c now resolves to fallback (was user)"]


def _r_file_changed(t):
    r = _results(t)
    _one_pixel(t.folder, "leaves.png")
    return _stale(r) == ["files of dataset set3c changed in user"]


def _r_moved_to_cache(t):
    r = _results(t)
    shutil.copytree(t.folder, data.config.cache_dir() / "data" / "set3c")
    t.monkeypatch.delenv("COMPANION_DATA_DIR")
    return _stale(r) == ["dataset set3c now resolves to cache (was user)"]


def _r_explicit_root_kept(t):
    r = _results(t, root=str(t.root))
    t.monkeypatch.delenv("COMPANION_DATA_DIR")  # loaded from root=: the environment plays no part
    return _stale(r) == [] and r.data["inputs"]["data"]["set3c"]["root"] == str(t.root.resolve())


def _r_modified_label(t):
    _replace(t.folder, "leaves.png", "starfish.png")
    r = _results(t)
    printed = t.capsys.readouterr().out  # where a notebook's reader sees it
    return (r.data["data_sources"] == {"set3c": "user (modified: leaves.png)"}
            and r.data["inputs"]["data"]["set3c"]["modified"] == ["leaves.png"]
            and "WARNING: dataset 'set3c': 1 of 3 file(s)" in printed and "(user (modified: leaves.png))" in printed)


def _r_modified_is_no_verdict(t):
    _replace(t.folder, "leaves.png", "starfish.png")
    r = _results(t)
    r.model("dncnn_s25", "official: cszn/KAIR release v1.0")
    r.claim("dncnn_s25_set12", True, "measured", datasets=["set3c"])
    return "differ from the published benchmark set (set3c)" in r.data["claims"][0]["basis"]


def _r_old_results(t):
    r = _results(t)
    del r.data["inputs"]
    return _stale(r) == ["its results record no inputs (written by an older version)"]


def _r_unregistered_dataset(t):
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.source("portraits", "user")
    return r.data["inputs"]["data"] == {"portraits": None} and _stale(r) == []


def _r_file_weights(t):
    path = _weights_file(t)
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("mine", f"file: {path}")
    recorded = r.data["inputs"]["weights"]["mine"]
    return recorded["sha256"] == hashlib.sha256(b"weights").hexdigest() and _stale(r) == []


def _r_file_weights_changed(t):
    path = _weights_file(t)
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("mine", f"file: {path}")
    path.write_bytes(b"other weights")
    return _stale(r) == [f"weights of mine changed or are gone ({path})"]


def _r_file_weights_gone(t):
    path = _weights_file(t)
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("mine", f"file: {path}")
    path.unlink()
    return len(_stale(r)) == 1 and "weights of mine changed or are gone" in _stale(r)[0]


def _r_relative_weights_path(t):
    _weights_file(t)
    t.monkeypatch.chdir(t.tmp)
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("mine", "file: w.pt")
    t.monkeypatch.chdir(t.root)  # reproduce runs elsewhere than the notebook's kernel
    return r.data["inputs"]["weights"]["mine"]["file"] == str(t.tmp / "w.pt") and _stale(r) == []


def _r_ours(t):
    from companion import weights

    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("dpir_small_gray", "ours: companion/checkpoints/dpir_small_gray.pt")
    recorded = r.data["inputs"]["weights"]["dpir_small_gray"]
    return recorded["sha256"] == io.sha256_of(weights.ours("dpir_small_gray")) and recorded["official_sha256"] is None


def _r_random_init(t):
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("dncnn_s25", "none (random init)")
    recorded = r.data["inputs"]["weights"]["dncnn_s25"]
    return recorded["sha256"] is None and _stale(r) == []


def _r_official_weights_unset(t):
    weights_dir = t.request.getfixturevalue("weights_dir")
    t.monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(weights_dir))
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("dncnn_s25", "official: cszn/KAIR release v1.0")
    pinned = io.checksums()["dncnn_25.pth"]
    recorded = r.data["inputs"]["weights"]["dncnn_s25"]
    t.monkeypatch.delenv("COMPANION_WEIGHTS_DIR")
    return recorded["sha256"] == recorded["official_sha256"] == pinned and len(_stale(r)) == 1


def _r_official_weights_now_found(t):
    """Run with ours while the official file was absent; a weights folder set later reruns it."""
    weights_dir = t.request.getfixturevalue("weights_dir")
    t.monkeypatch.delenv("COMPANION_WEIGHTS_DIR", raising=False)
    r = report.Results("00_quickstart", t.tmp / "out", {})
    r.model("dncnn_s25", "file: " + str(_weights_file(t)))
    t.monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(weights_dir))
    return _stale(r) == ["official weights of dncnn_s25 are now found"]


REPORT_CASES = [
    ("nothing_changed", _r_unchanged), ("data_dir_unset", _r_env_unset), ("a_file_changed", _r_file_changed),
    ("data_moved_to_the_cache", _r_moved_to_cache), ("explicit_root_recorded", _r_explicit_root_kept),
    ("modified_set_labelled", _r_modified_label), ("modified_set_bears_no_verdict", _r_modified_is_no_verdict),
    ("results_of_an_older_version", _r_old_results), ("dataset_outside_the_registry", _r_unregistered_dataset),
    ("weights_from_a_file", _r_file_weights), ("weights_file_changed", _r_file_weights_changed),
    ("weights_file_gone", _r_file_weights_gone), ("relative_weights_path", _r_relative_weights_path),
    ("our_checkpoint", _r_ours), ("random_init", _r_random_init),
    ("official_weights_folder_unset", _r_official_weights_unset),
    ("official_weights_found_later", _r_official_weights_now_found),
]


@pytest.mark.parametrize("case", [r[1] for r in REPORT_CASES], ids=[r[0] for r in REPORT_CASES])
def test_results_record_their_inputs(tiny, request, capsys, case):
    tiny.request, tiny.capsys = request, capsys
    assert case(tiny)


# --- report: a failed notebook's claims leave the summary ------------------------------------

def _saved(folder, name="00_quickstart.json"):
    r = report.Results("00_quickstart", folder, {})
    r.claim("dncnn_s25_set12", True, "ours 30.45 vs paper 30.44")
    path = r.save()
    if name != path.name:
        path.rename(folder / name)


SUMMARIES = [  # (case, file name of the saved results, run info, expected claim status, notebook status)
    ("done", "00_quickstart.json", {}, "supported", "done"),
    ("failed_in_this_run", "00_quickstart.json", {"notebooks": {"00_quickstart": {"status": "failed: E: x"}}},
     "not run", "failed: E: x"),
    ("failed_in_an_earlier_run", "00_quickstart.json",
     {"notebooks": {"00_quickstart": {"status": "failed (earlier run): E: x"}}}, "not run", "failed (earlier run)"),
    ("previous_results_kept_aside", "00_quickstart.previous.json", {}, "not run", None),
    ("results_of_a_failed_run_kept_aside", "00_quickstart.failed.json", {}, "not run", None),
]


@pytest.mark.parametrize("file, info, claim, status", [r[1:] for r in SUMMARIES], ids=[r[0] for r in SUMMARIES])
def test_summary_shows_only_claims_of_notebooks_that_finished(tmp_path, file, info, claim, status):
    _saved(tmp_path, file)
    text = report.summary_markdown(tmp_path, info)
    row = next(line for line in text.splitlines() if line.startswith("| The official DnCNN-S"))
    assert f"| 00_quickstart | {claim} |" in row
    if status:
        assert f"| 00_quickstart | {status}" in text
    else:
        assert "| 00_quickstart |" not in text.split("## Paper claims")[0]


# --- reproduce: the state file and the resume decision ---------------------------------------

STATE_FILES = [  # (case, bytes of the state file or None for none, warned)
    ("absent", None, False),
    ("valid", b'{"status": "done"}', False),
    ("empty", b"", True),
    ("truncated", b'{"notebook_sha256": "ab', True),
    ("a_list", b"[1, 2]", True),
    ("null", b"null", True),
    ("binary_junk", b"\xff\xfe\x00\x81", True),
]


@pytest.mark.parametrize("content, warned", [r[1:] for r in STATE_FILES], ids=[r[0] for r in STATE_FILES])
def test_a_garbled_state_file_is_ignored_with_a_warning(tmp_path, content, warned):
    path = tmp_path / "01_x.state.json"
    if content is not None:
        path.write_bytes(content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = reproduce.read_json(path, "reproduce's record")
    messages = [str(w.message) for w in caught]
    if warned:
        assert found is None and len(messages) == 1
        assert str(path) in messages[0] and "runs again" in messages[0] and "\n" not in messages[0]
    else:
        assert not messages and found == (None if content is None else json.loads(content))


KEY = {"notebook_sha256": "n1", "companion": "0.1", "package_sha256": "p1", "parameters": {"value": 1}}
NOTHING = {"inputs": {"data": {}, "weights": {}}}

RESUME = [  # (case, state, results, phrase of the reason, None: resumed)
    ("unchanged", {**KEY, "status": "done"}, NOTHING, None),
    ("state_of_an_older_version_without_status", dict(KEY), NOTHING, None),
    ("no_state", None, NOTHING, "no finished run"),
    ("no_results", {**KEY, "status": "done"}, None, "no finished run"),
    ("last_run_failed", {**KEY, "status": "failed: E: x"}, NOTHING, "last run failed"),
    ("parameters_changed", {**KEY, "parameters": {"value": 2}}, NOTHING, "changed: parameters"),
    ("package_changed", {**KEY, "package_sha256": "p0"}, NOTHING, "changed: package"),
    ("notebook_changed", {**KEY, "notebook_sha256": "n0"}, NOTHING, "changed: notebook"),
    ("state_without_package_key", {k: v for k, v in KEY.items() if k != "package_sha256"}, NOTHING,
     "changed: package"),
    ("results_without_inputs", dict(KEY), {"notebook": "01_x"}, "no inputs"),
]


@pytest.mark.parametrize("state, results, reason", [r[1:] for r in RESUME], ids=[r[0] for r in RESUME])
def test_rerun_reason(state, results, reason):
    got = reproduce.rerun_reason(KEY, state, results)
    assert got is None if reason is None else reason in got


def _package(tmp_path):
    package = tmp_path / "companion"
    (package / "checkpoints").mkdir(parents=True)
    for name in ("metrics.py", "data.py", "checksums.txt"):
        shutil.copy(reproduce.PACKAGE / name, package / name)
    (package / "checkpoints" / "m.pt").write_bytes(b"weights")
    return package


def _append_line(path):
    with open(path, "a") as f:
        f.write("# edited\n")


PACKAGE_EDITS = [  # (case, edit, whether the package hash changes)
    ("metrics_py_edited", lambda p: _append_line(p / "metrics.py"), True),
    ("checkpoint_replaced", lambda p: (p / "checkpoints" / "m.pt").write_bytes(b"weightz"), True),
    ("pinned_checksums_edited", lambda p: _append_line(p / "checksums.txt"), True),
    ("file_added", lambda p: (p / "extra.py").write_text("x = 1\n"), True),
    ("file_removed", lambda p: (p / "data.py").unlink(), True),
    ("touched_only", lambda p: (p / "metrics.py").touch(), False),
    ("bytecode_written", lambda p: ((p / "__pycache__").mkdir(), (p / "__pycache__" / "m.pyc").write_bytes(b"x")),
     False),
]


@pytest.mark.parametrize("edit, changes", [r[1:] for r in PACKAGE_EDITS], ids=[r[0] for r in PACKAGE_EDITS])
def test_package_hash_covers_the_package_files(tmp_path, edit, changes):
    package = _package(tmp_path)
    before = reproduce.package_sha256(package)
    edit(package)
    assert (reproduce.package_sha256(package) != before) is changes


# --- data.load_kernels: damaged .mat files ----------------------------------------------------

def _mat(path, **arrays):
    import scipy.io

    scipy.io.savemat(path, arrays)


KERNEL_FAULTS = [  # (id, dataset, write the damaged file, phrase of the one-line error)
    ("text_instead_of_mat", "kernels_12", lambda p: p.write_text("not a mat file"), "cannot be read as the kernels_12"),
    ("empty_file", "kernels_12", lambda p: p.write_bytes(b""), "cannot be read as the kernels_12"),
    ("no_kernels_array", "kernels_12", lambda p: _mat(p, other=np.ones((3, 3))), "cannot be read as the kernels_12"),
    ("nan_in_a_kernel", "kernels_12", lambda p: _mat(p, kernels=np.array([[np.full((3, 3), np.nan)]], dtype=object)),
     "kernel 0 of kernels_12 is not a finite 2-D kernel"),
    ("zero_kernel", "kernels_12", lambda p: _mat(p, kernels=np.array([[np.zeros((3, 3))]], dtype=object)),
     "kernel 0 of kernels_12 is not a finite 2-D kernel"),
    ("levin_text", "levin09", lambda p: p.write_text("not HDF5"), "cannot be read as the levin09"),
]


@pytest.mark.parametrize("name, write, phrase", [r[1:] for r in KERNEL_FAULTS], ids=[r[0] for r in KERNEL_FAULTS])
def test_a_damaged_kernel_file_is_a_one_line_error(name, write, phrase, tmp_path):
    folder = tmp_path / data.dataset(name).folder
    folder.mkdir()
    write(folder / data._KERNEL_FILES[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.ModifiedDataWarning)  # not the published bytes, rightly
        with pytest.raises(ValueError) as err:
            data.load_kernels(name, root=tmp_path, fallback=False)
    assert phrase in str(err.value) and "\n" not in str(err.value) and "replace" in str(err.value)
