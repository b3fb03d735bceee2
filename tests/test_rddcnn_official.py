"""The authors' RDDCNN weights (issue 31): a PaddlePaddle pickle read by an unpickler that admits
numpy arrays only, mapped index for index into our RDDCNN, and Set12 30.48 dB at sigma 25."""

import codecs
import os
import pickle
import pickletools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion import data, evaluation, models, weights
from companion.models.deform_conv import DeformConv2d
from companion.models.rddcnn import RDDCNN, read_official
from companion.weights_paddle import read_pdparams


class _Runs:
    """Pickles to the call ``func(*args)``: what a malicious weight file does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _authors_keys(model: RDDCNN) -> dict:
    """Our state_dict under the authors' names and layout (``dncnn.<i>``, their offset order)."""
    out = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        value = value.numpy()
        key = key.replace("body.", "dncnn.", 1)
        key = (key.replace("dncnn.0.weight", "dncnn.0.conv.weight").replace(".offset.", ".p_conv.")
               .replace(".mask.", ".m_conv.").replace("running_mean", "_mean").replace("running_var", "_variance"))
        if ".p_conv." in key:  # ours (dy, dx) per position -> theirs: 9 row offsets, then 9 column offsets
            value = np.concatenate([value[0::2], value[1::2]])
        out[key] = value
    return out


def _write(path, obj, protocol=4):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_any_other_global_is_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "ran"
    attacks = {"os.system": _Runs(os.system, f"touch {marker}"), "eval": _Runs(eval, f"open({str(marker)!r}, 'w')"),
               "numpy.load": _Runs(np.load, str(marker)),
               "a nested call": {"dncnn.2.weight": np.zeros(3, np.float32), "x": [_Runs(os.system, f"touch {marker}")]}}
    for what, payload in attacks.items():
        path = tmp_path / f"{what}.pdparams"
        _write(path, payload, protocol)
        assert any(op.name in ("GLOBAL", "STACK_GLOBAL") for op, _, _ in pickletools.genops(path.read_bytes()))
        with pytest.raises(weights.WeightsError, match="refused to load: the file names the global"):
            read_pdparams(path)
        assert not marker.exists(), what


def test_only_arrays_of_numbers_pass(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.int64),
              "StructuredToParameterName@@": {"a": "linear_0.w_0"}}
    _write(tmp_path / "ok.pdparams", arrays, protocol=2)
    got = read_pdparams(tmp_path / "ok.pdparams", skip=("StructuredToParameterName@@",))
    assert set(got) == {"a", "b"} and np.array_equal(got["a"], arrays["a"]) and got["b"].dtype == np.int64
    with pytest.raises(weights.WeightsError, match="'StructuredToParameterName@@' is dict"):
        read_pdparams(tmp_path / "ok.pdparams")
    _write(tmp_path / "objects.pdparams", {"a": np.array([1, "text"], dtype=object)})
    with pytest.raises(weights.WeightsError, match="not an array of numbers"):
        read_pdparams(tmp_path / "objects.pdparams")
    _write(tmp_path / "codec.pdparams", {"a": _Runs(codecs.encode, "text", "rot13")}, protocol=2)
    with pytest.raises(weights.WeightsError, match="other than to rebuild an array's bytes"):
        read_pdparams(tmp_path / "codec.pdparams")
    _write(tmp_path / "list.pdparams", [np.zeros(2)])
    with pytest.raises(weights.WeightsError, match="holds a list"):
        read_pdparams(tmp_path / "list.pdparams")
    (tmp_path / "cut.pdparams").write_bytes((tmp_path / "ok.pdparams").read_bytes()[:40])
    with pytest.raises(weights.WeightsError, match="corrupt or not one"):
        read_pdparams(tmp_path / "cut.pdparams")


def _their_sampling(x, offset, padding=1, ks=3):
    """The RDDCNN authors' deformable sampling (gray/deform_conv_v2.py), restated: zero-pad,
    positions p = p_0 + p_n + offset with the N row coordinates first, clamped into the padded
    image, bilinear weights from the clamped positions and the clamped corner indices. Returns
    the samples (b, c, h, w, N) in their kernel order."""
    b, c, h, w = x.shape
    n = ks * ks
    xp = F.pad(x, (padding,) * 4)
    hp, wp = xp.shape[-2:]
    k = torch.arange(-(ks - 1) // 2, (ks - 1) // 2 + 1, dtype=x.dtype)
    rows = (torch.arange(1, h + 1, dtype=x.dtype).view(1, 1, h, 1) + k.repeat_interleave(ks).view(1, n, 1, 1)
            + offset[:, :n])
    cols = (torch.arange(1, w + 1, dtype=x.dtype).view(1, 1, 1, w) + k.repeat(ks).view(1, n, 1, 1) + offset[:, n:])
    r0, c0 = rows.floor(), cols.floor()
    rows, cols = rows.clamp(0, hp - 1), cols.clamp(0, wp - 1)
    samples = 0
    for dr, dc in ((0, 0), (1, 1), (0, 1), (1, 0)):
        qr, qc = (r0 + dr).clamp(0, hp - 1), (c0 + dc).clamp(0, wp - 1)
        weight = (1 - (qr - rows).abs() if dr else 1 + (qr - rows)) * (1 - (qc - cols).abs() if dc else 1 + (qc - cols))
        index = (qr * wp + qc).long().view(b, 1, -1).expand(-1, c, -1)
        samples = samples + weight.unsqueeze(1) * xp.flatten(2).gather(2, index).view(b, c, n, h, w)
    return samples.permute(0, 1, 3, 4, 2)


def test_our_clamped_deformable_conv_equals_the_authors_with_mapped_offsets():
    torch.manual_seed(0)
    ours = DeformConv2d(1, 4, 3, padding=1, bias=False, modulated=True, clamp=True)
    for conv in (ours.offset, ours.mask):
        torch.nn.init.normal_(conv.weight, std=3.0)  # offsets of several pixels: positions leave the image
    x = torch.rand(2, 1, 9, 11)
    theirs_offset = torch.cat([ours.offset(x)[:, 0::2], ours.offset(x)[:, 1::2]], dim=1)  # rows first
    mask = torch.sigmoid(ours.mask(x))
    samples = _their_sampling(x, theirs_offset) * mask.permute(0, 2, 3, 1).unsqueeze(1)
    expected = torch.einsum("bchwn,ocn->bohw", samples, ours.weight.flatten(2))
    assert (theirs_offset.abs() > 3).any()
    assert torch.allclose(ours(x), expected, atol=1e-5)
    ours.clamp = False  # reading zeros beyond the image gives the same values (module docstring)
    assert torch.allclose(ours(x), expected, atol=1e-5)


def test_a_file_in_the_authors_layout_loads_index_for_index(tmp_path):
    torch.manual_seed(0)
    source = RDDCNN(1, features=8)
    for p in source.parameters():
        torch.nn.init.normal_(p, std=0.1)
    for name, buf in source.named_buffers():
        if "running" in name:
            buf.uniform_(0.5, 1.5)
    file = {**_authors_keys(source), "StructuredToParameterName@@": {"dncnn.2.weight": "conv2d_0.w_0"}}
    assert len([k for k in file if k.endswith("_mean")]) == 15 and "dncnn.47.weight" in file
    _write(tmp_path / "trans_rddcnn_25.pdparams", file)
    target = weights.load_into(RDDCNN(1, features=8), read_official(tmp_path / "trans_rddcnn_25.pdparams"), "test")
    x = torch.rand(1, 1, 12, 10)
    assert torch.equal(target.eval()(x), source.eval()(x))
    _write(tmp_path / "extra.pdparams", {**file, "dncnn.48.weight": np.zeros(1, np.float32)})
    with pytest.raises(weights.WeightsError, match="unexpected.*body.48.weight"):
        weights.load_into(RDDCNN(1, features=8), read_official(tmp_path / "extra.pdparams"), "extra")


def test_official_rddcnn_is_registered_and_pinned(weights_dir):
    entry = weights.official("rddcnn_s25")
    assert entry.sha256 == weights.sha256_of(weights_dir / entry.filename) and "60a49cc07e1d" in entry.url
    assert models.spec("rddcnn_s25").family == "non-blind" and models.spec("rddcnn_s25").sigma == 25
    assert weights.locate("rddcnn_s25") == weights_dir / entry.filename


@pytest.mark.slow
def test_official_rddcnn_scores_set12(data_dir, weights_dir):
    """The authors' sigma-25 RDDCNN on the whole Set12 (seed 0, image i seeded i): 30.48 dB, the
    figure measured on that file independently; our layer list, our deformable convolution and the offset order all agree."""
    model = models.create("rddcnn_s25")
    assert model.info["weights"].startswith("official") and model.body[0].clamp
    rows, _ = evaluation.gaussian_denoising(model, data.load("set12"), sigma=25, seed=0)
    assert np.mean([r["psnr"] for r in rows]) == pytest.approx(30.48, abs=0.01)
    crop = data.load("set12", limit=1, crop=64).images
    clamped = model(crop)
    model.body[0].clamp = False
    assert torch.allclose(model(crop), clamped, atol=1e-6)
