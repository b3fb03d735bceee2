"""A fresh machine: no data directory, no weights directory, no network. The embedded MNIST
subset and the synthetic kernels stand in for the missing files, and a file that is missing
with no network is a local error that says what to do, never a socket traceback."""

import hashlib
import socket
import traceback
import warnings

import numpy as np
import pytest
import torch

from companion import data, weights
from companion.experiments import purification


def test_mnist_falls_back_to_the_embedded_subset(no_data):
    with pytest.warns(data.FallbackWarning, match=r"dataset 'mnist' not found.*t10k-images.*embedded MNIST subset"):
        digits = data.load_mnist()
    x, y = digits
    assert digits.source == "fallback" and not digits.comparable
    assert x.shape == (5000, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= x.min() and x.max() == 1 and sorted(set(y.tolist())) == list(range(10))
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the first labels of the MNIST test split
    assert digits.indices[:2].tolist() == [0, 1] and digits.indices[-1] == 9999
    assert np.all(np.diff(digits.indices) > 0)
    raw = data.mnist_subset()
    assert raw["images"].dtype == np.uint8 and raw["images"].shape == (5000, 28, 28)
    assert torch.equal(x[7, 0], torch.from_numpy(raw["images"][7].astype(np.float32) / 255))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.FallbackWarning)
        assert len(data.load_mnist(limit=30)[1]) == 30
        with pytest.raises(data.DataNotFoundError, match="dataset 'mnist' not found"):
            data.load_mnist(fallback=False)


def test_the_subset_is_the_test_split_at_its_indices(data_dir):
    x, y = data.load_mnist()
    raw = data.mnist_subset()
    idx = torch.from_numpy(raw["indices"].astype(np.int64))
    assert torch.equal(x[idx, 0], torch.from_numpy(raw["images"].astype(np.float32) / 255))
    assert torch.equal(y[idx], torch.from_numpy(raw["labels"].astype(np.int64)))


def test_the_subset_file_is_the_one_its_readme_names():
    from importlib import resources

    folder = resources.files("companion").joinpath("fallback")
    blob = folder.joinpath("mnist_subset.npz").read_bytes()
    assert len(blob) < 1_000_000
    readme = folder.joinpath("README.md").read_text()
    assert hashlib.sha256(blob).hexdigest() in readme and "CC BY-SA 3.0" in readme and "LeCun" in readme


def test_digit_split_on_the_subset(no_data, capsys):
    with pytest.warns(data.FallbackWarning):
        small = purification.digits(300, 20)
    assert small.source == "fallback" and small.note is None
    x_train, y_train, x_test, y_test = small
    assert x_train.shape == (300, 1, 28, 28) and x_test.shape == (20, 1, 28, 28)
    assert y_test[-1].item() == 6  # the last digit of the MNIST test split: the same digits as the whole split
    with pytest.warns(data.FallbackWarning):
        cut = purification.digits(8000, 40)
    assert (cut.train, cut.test) == (4960, 40) and "digits_train 8000 cut to 4960" in cut.note
    assert "NOTE: digits_train 8000 cut to 4960" in capsys.readouterr().out
    assert len(cut[0]) == 4960 and len(cut[2]) == 40
    with pytest.warns(data.FallbackWarning), pytest.raises(ValueError, match="leaves none to train on"):
        purification.digits(10, 5000)


def test_synthetic_kernels(no_data):
    with pytest.warns(data.FallbackWarning, match=r"dataset 'levin09' not found.*Levin09\.mat.*synthetic"):
        levin = data.load_kernels("levin09")
    with pytest.warns(data.FallbackWarning, match="kernels_12.mat"):
        k12 = data.load_kernels("kernels_12")
    assert [k.shape for k in levin] == [(s, s) for s in (19, 17, 15, 27, 13, 21, 23, 23)]
    assert len(k12) == 12 and all(k.shape == (25, 25) for k in k12)
    for k in levin + k12:
        assert k.dtype == np.float32 and k.min() >= 0 and abs(float(k.sum()) - 1) < 1e-5
        assert np.unravel_index(k.argmax(), k.shape) != (0, 0)  # drawn inside the square, not piled on a border
    again = data.synthetic_kernels("levin09") + data.synthetic_kernels("kernels_12")
    assert all(np.array_equal(a, b) for a, b in zip(levin + k12, again))  # no randomness
    assert len({k.tobytes() for k in levin + k12}) == 20  # all different
    gauss = k12[:4]  # isotropic Gaussians: symmetric, wider and wider
    assert all(np.allclose(g, g.T) and np.allclose(g, g[::-1]) for g in gauss)
    assert [float(g.max()) for g in gauss] == sorted((float(g.max()) for g in gauss), reverse=True)
    horizontal = levin[0]  # angle 0, length 15 on the middle row (x 1.5 to 16.5: 17 columns, the end ones partly)
    assert np.count_nonzero(horizontal.sum(1) > 1e-6) == 1 and horizontal[9].sum() == pytest.approx(1)
    assert np.count_nonzero(horizontal[9] > 1e-6) == 17 and np.ptp(horizontal[9, 3:16]) < 1e-6
    with pytest.raises(data.DataNotFoundError, match="kernels_12.mat"):
        data.load_kernels("kernels_12", fallback=False)


def _gaierror(*args, **kwargs):
    raise socket.gaierror(-3, "Temporary failure in name resolution")


def _shown(err: BaseException) -> str:
    """What Python prints for an uncaught ``err``: the whole chain of tracebacks."""
    return "".join(traceback.format_exception(err))


def test_missing_dataset_without_network_is_a_local_error(no_data, monkeypatch):
    monkeypatch.delenv("COMPANION_OFFLINE")
    monkeypatch.setattr(data, "_download", _gaierror)
    with pytest.raises(data.DataNotFoundError) as caught:
        data.load_mnist(fallback=False)
    message = str(caught.value)
    assert message.startswith("dataset 'mnist' not found: put its 2 file(s) (t10k-images-idx3-ubyte.gz, "
                              "t10k-labels-idx1-ubyte.gz) from https://github.com/dohe0342/Seq2Seq_mnist/tree/HEAD/"
                              "MNIST_data/MNIST/raw into <dir>/mnist/ and set COMPANION_DATA_DIR=<dir>")
    assert message.endswith("download failed (gaierror: [Errno -3] Temporary failure in name resolution).")
    shown = _shown(caught.value)
    assert "socket.gaierror" not in shown and "During handling" not in shown and "direct cause" not in shown
    with pytest.warns(data.FallbackWarning) as warned:
        data.load_kernels("levin09")
    text = str(warned[0].message)
    assert text.startswith("dataset 'levin09' not found: put its 1 file(s) (Levin09.mat) from "
                           "https://raw.githubusercontent.com/cszn/DPIR/HEAD/kernels/Levin09.mat into <dir>/kernels/")
    assert "download failed (gaierror" in text
    assert text.index("COMPANION_DATA_DIR") < text.index("download failed")


def test_missing_weights_without_network_is_a_local_error(monkeypatch, tmp_path):
    import pooch

    monkeypatch.delenv("COMPANION_OFFLINE")
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr(pooch, "retrieve", _gaierror)
    with pytest.raises(weights.WeightsNotFoundError) as caught:
        weights.locate("dncnn_25")
    message = str(caught.value)
    assert message.startswith("official weights dncnn_25.pth (DnCNN-S, 17 layers, sigma 25) not found: download "
                              "https://github.com/cszn/KAIR/releases/download/v1.0/dncnn_25.pth")
    assert "set COMPANION_WEIGHTS_DIR" in message.split("Looked here")[0]
    assert str(tmp_path / "dncnn_25.pth") in message
    assert message.endswith("download failed (gaierror: [Errno -3] Temporary failure in name resolution).")
    shown = _shown(caught.value)
    assert "socket.gaierror" not in shown and "During handling" not in shown and "direct cause" not in shown
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert weights.short_reason(caught.value) == (
        "no official weights dncnn_25.pth (put it at $COMPANION_WEIGHTS_DIR/dncnn_25.pth; "
        "from https://github.com/cszn/KAIR/releases/download/v1.0/dncnn_25.pth)")


def test_fallback_portraits_are_faces_of_people(no_data):
    from companion.experiments import deblurring

    with pytest.warns(data.FallbackWarning):
        set12 = data.load("set12")
    assert not set(deblurring.PORTRAITS) & set(set12.names)  # the fallback has no Set12 portraits
    faces = deblurring.portraits(set12, 48)
    assert deblurring.portrait_names(set12) == ["astronaut", "camera"]
    assert faces.shape == (2, 1, 48, 48) and 0 <= faces.min() and faces.max() <= 1
    assert faces[0].std() > 0.05 and not torch.allclose(faces[0], faces[1])
    kernels = data.Kernels(data.synthetic_kernels("levin09"), "fallback")
    assert deblurring.test_kernels(kernels=kernels).shape == (8, 27, 27)
    assert deblurring.test_kernels(11, kernels).shape == (8, 11, 11)
