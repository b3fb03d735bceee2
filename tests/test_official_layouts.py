"""Loaders for the official files a user can download (issue 31, section 3).

No official file of DeamNet, BRDNet, MPRNet, DWDN or RGDN is here, so each layout is checked on a
synthetic file: the authors' key names and shapes, re-stated below from their model code (the
repositories and files each model module cites), every tensor a distinct constant. It must load
strictly into our full-size class through ``models.create(weights='official')``, each constant
landing where the mapping sends it, in a layer of the same kind (stride, transposed) as the
authors'; a file with a key missing or one too many is refused. With random weights, BRDNet
(its Keras file, batch renormalization folded), DeamNet and RGDN are checked against a
re-statement of the authors' forward on their own keys.
The git blob SHA-1 that pins these files is checked on its own.
"""

import dataclasses
import functools
import json
import re

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion import models, physics, weights
from companion.models import deamnet, dwdn, lgd, mprnet
from companion.models.layouts import rename

# ----------------------------------------------------------------------------------------------
# the authors' layouts: {key: (shape, {'stride': s, 'transposed': True})}


def _conv(keys, name, cout, cin, k, bias=True, **kind):
    keys[f"{name}.weight"] = ((cin, cout, k, k) if kind.get("transposed") else (cout, cin, k, k), kind)
    if bias:
        keys[f"{name}.bias"] = ((cout,), {})


def deamnet_keys() -> dict:
    """chaoren88/DeamNet DeamNet.py: ``Deam(Isreal=False)``, without the ``module.`` prefix."""
    keys, c = {}, 64
    _conv(keys, "transform_function.ext.conv2d", c, 1, 3)
    _conv(keys, "inverse_transform_function.ext.conv2d", 1, c, 3)
    for owner in ("transform_function", "inverse_transform_function"):
        for i in (0, 2):
            _conv(keys, f"{owner}.pre.{i}.conv2d", c, c, 3)
    for n in (11, 22, 33, 44):
        _conv(keys, f"line{n}.cat.conv2d", c, 2 * c, 1)
        _conv(keys, f"line{n}.C.conv2d", c, c, 3)
        _conv(keys, f"line{n}.weight.conv_du.0.conv2d", c // 16, c, 3)
        _conv(keys, f"line{n}.weight.conv_du.2.conv2d", c, c // 16, 3)
    for i, k in ((1, 3), (2, 5), (3, 7)):
        _conv(keys, f"net2.conv_dila{i}.conv2d", c, c, k)
    _conv(keys, "net2.cat1", c, 3 * c, 1)
    for level in range(4):
        for j in range(3):
            _conv(keys, f"net2.e{level}.body.{j}.block.0", c, c, 3, stride=2 if j == 2 else 1)
        _conv(keys, f"net2.attention{level}.conv_du.0.conv2d", c // 16, c, 3)
        _conv(keys, f"net2.attention{level}.conv_du.2.conv2d", c, c // 16, 3)
        _conv(keys, f"net2.attention{level}.cat.conv2d", c, 2 * c, 1)
        _conv(keys, f"net2.attention{level}.C.conv2d", c, c, 3)
        _conv(keys, f"net2.attention{level}.ConvTranspose.conv2d.block.0", c, c, 3)
        _conv(keys, f"net2.de{level}.upsample.conv1.block.0", c, c, 3)
        _conv(keys, f"net2.de{level}.upsample.ConvTranspose.conv2d.block.0", c, c, 3)
        _conv(keys, f"net2.de{level}.upsample.cat.conv2d", c, 2 * c, 1)
        for j in range(2):
            _conv(keys, f"net2.de{level}.body.{j}.block.0", c, c, 3)
    for j in range(2):
        _conv(keys, f"net2.mid.{j}.block.0", c, c, 3)
    _conv(keys, "net2.final.conv2d", c, c, 3)
    return keys


def mprnet_keys() -> dict:
    """swz30/MPRNet Deblurring/MPRNet.py: ``MPRNet()`` (96 features, +48 per level, ORSNet +32,
    8 CABs per ORB, reduction 4, no biases, one PReLU shared by every CAB)."""
    keys, f, s, o = {}, 96, 48, 32
    widths, g = (f, f + s, f + 2 * s), f + o

    def cab(name, c):
        _conv(keys, f"{name}.body.0", c, c, 3, bias=False)
        keys[f"{name}.body.1.weight"] = ((1,), {"shared": True})
        _conv(keys, f"{name}.body.2", c, c, 3, bias=False)
        _conv(keys, f"{name}.CA.conv_du.0", c // 4, c, 1, bias=False)
        _conv(keys, f"{name}.CA.conv_du.2", c, c // 4, 1, bias=False)

    for i in (1, 2, 3):
        _conv(keys, f"shallow_feat{i}.0", f, 3, 3, bias=False)
        cab(f"shallow_feat{i}.1", f)
    for stage in (1, 2):
        for level, c in enumerate(widths, 1):
            for j in (0, 1):
                cab(f"stage{stage}_encoder.encoder_level{level}.{j}", c)
                cab(f"stage{stage}_decoder.decoder_level{level}.{j}", c)
            if stage == 2:
                _conv(keys, f"stage2_encoder.csff_enc{level}", c, c, 1, bias=False)
                _conv(keys, f"stage2_encoder.csff_dec{level}", c, c, 1, bias=False)
        _conv(keys, f"stage{stage}_encoder.down12.down.1", widths[1], widths[0], 1, bias=False)
        _conv(keys, f"stage{stage}_encoder.down23.down.1", widths[2], widths[1], 1, bias=False)
        cab(f"stage{stage}_decoder.skip_attn1", widths[0])
        cab(f"stage{stage}_decoder.skip_attn2", widths[1])
        _conv(keys, f"stage{stage}_decoder.up21.up.1", widths[0], widths[1], 1, bias=False)
        _conv(keys, f"stage{stage}_decoder.up32.up.1", widths[1], widths[2], 1, bias=False)
    for orb in (1, 2, 3):
        for j in range(8):
            cab(f"stage3_orsnet.orb{orb}.body.{j}", g)
        _conv(keys, f"stage3_orsnet.orb{orb}.body.8", g, g, 3, bias=False)
        _conv(keys, f"stage3_orsnet.conv_enc{orb}", g, f, 1, bias=False)
        _conv(keys, f"stage3_orsnet.conv_dec{orb}", g, f, 1, bias=False)
    for kind in ("enc", "dec"):
        _conv(keys, f"stage3_orsnet.up_{kind}1.up.1", f, f + s, 1, bias=False)
        _conv(keys, f"stage3_orsnet.up_{kind}2.0.up.1", f + s, f + 2 * s, 1, bias=False)
        _conv(keys, f"stage3_orsnet.up_{kind}2.1.up.1", f, f + s, 1, bias=False)
    for sam in ("sam12", "sam23"):
        _conv(keys, f"{sam}.conv1", f, f, 1, bias=False)
        _conv(keys, f"{sam}.conv2", 3, f, 1, bias=False)
        _conv(keys, f"{sam}.conv3", f, 3, 1, bias=False)
    _conv(keys, "concat12", f, 2 * f, 3, bias=False)
    _conv(keys, "concat23", g, 2 * f, 3, bias=False)
    _conv(keys, "tail", 3, g, 3, bias=False)
    return keys


def dwdn_keys() -> dict:
    """dongjxjx/dwdn model/deblur.py and model/common.py: ``DEBLUR`` with n_colors 3."""
    keys = {}

    def res(name, c):
        for j in (0, 2):
            _conv(keys, f"{name}.body.{j}.body.0", c, c, 5)

    for name, cin, cout, stride in (("FeatureBlock", 3, 16, 1), ("inBlock1", 16, 32, 1), ("inBlock2", 48, 32, 1),
                                    ("encoder_first", 32, 64, 2), ("encoder_second", 64, 128, 2)):
        _conv(keys, f"{name}.0.body.0", cout, cin, 5, stride=stride)
        for j in (1, 2, 3):
            res(f"{name}.{j}", cout)
    for name, cin, cout in (("decoder_second", 128, 64), ("decoder_first", 64, 32)):
        for j in (0, 1, 2):
            res(f"{name}.{j}", cin)
        _conv(keys, f"{name}.3.body.0", cout, cin, 3, stride=2, transposed=True)
    for j in (0, 1, 2):
        res(f"outBlock.{j}", 32)
    _conv(keys, "outBlock2.0.body.0", 3, 32, 5)
    return keys


def rgdn_keys(num_batches_tracked: bool = True) -> dict:
    """donggong1/learn-optimizer-rgdn models/model_rgdn.py, models/module_basic.py:
    ``OptimizerRGDN``'s three ``ConvBlock``s (torch >= 0.4.1 adds ``num_batches_tracked``)."""
    keys = {}
    for block in ("CNNOptimizer", "GradAdj", "GradScaler"):
        _conv(keys, f"{block}.main.0", 64, 3, 5, bias=False)
        for i, transposed in ((2, False), (5, False), (8, True), (11, True)):
            _conv(keys, f"{block}.main.{i}", 64, 64, 5, bias=False, transposed=transposed)
            for stat in ("weight", "bias", "running_mean", "running_var"):
                keys[f"{block}.main.{i + 1}.{stat}"] = ((64,), {})
            if num_batches_tracked:
                keys[f"{block}.main.{i + 1}.num_batches_tracked"] = ((), {})
        _conv(keys, f"{block}.main.14", 3, 64, 5, bias=False, transposed=True)
    return keys


TORCH_LAYOUTS = {  # registry name: (the authors' keys, our mapping rules, keys it drops, how their file wraps them)
    "deamnet": (deamnet_keys, deamnet.AUTHORS, deamnet.UNUSED, lambda s: {f"module.{k}": v for k, v in s.items()}),
    "mprnet": (mprnet_keys, mprnet.AUTHORS, (),
               lambda s: {"epoch": 3000, "state_dict": {f"module.{k}": v for k, v in s.items()}}),
    "dwdn": (dwdn_keys, dwdn.AUTHORS, (), lambda s: s),
    "rgdn": (rgdn_keys, lgd.AUTHORS, (), lambda s: s),
}


def _unused(key: str, unused: tuple) -> bool:
    return any(re.fullmatch(u, key) for u in unused)


@functools.cache
def built(name: str) -> nn.Module:
    """Registry model ``name`` at random initialization, built once for this module."""
    return models.spec(name).build().eval()


def _constants(layout: dict) -> dict:
    """Each tensor a distinct constant (the shared PReLU one value everywhere, as a real file)."""
    return {k: torch.full(shape, 0.25 if kind.get("shared") else float(i + 1),
                          dtype=torch.long if k.endswith("num_batches_tracked") else torch.float32)
            for i, (k, (shape, kind)) in enumerate(layout.items())}


@pytest.fixture
def named_folder(tmp_path, monkeypatch):
    """A weights folder, a fresh cache, offline; ``pin(key, write)`` writes official ``key``'s file
    there by ``write(path)`` and pins ``key`` to its git blob SHA-1, as the table pins the real one."""
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")

    def pin(key: str, write) -> None:
        path = tmp_path / "weights" / weights.official(key).filename
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
        pinned = dataclasses.replace(weights.official(key), git_sha1=weights.git_blob_sha1(path))
        monkeypatch.setitem(weights.OFFICIAL, key, pinned)
    return pin


@pytest.mark.parametrize("name", sorted(TORCH_LAYOUTS))
def test_the_authors_file_loads_strictly_each_tensor_where_the_mapping_says(name, named_folder):
    keys, rules, unused, wrap = TORCH_LAYOUTS[name]
    layout, key = keys(), models.spec(name).official
    state = _constants(layout)
    named_folder(key, lambda path: torch.save(wrap(state), path))
    model = models.create(name, weights="official")
    assert model.info["weights"].endswith(f"({weights.SYNTHETIC_ONLY})")
    ours = model.state_dict()
    where = rename({k: k for k in layout}, rules, "the authors' layout", drop=unused)  # ours -> theirs
    assert set(where) == set(ours), (set(ours) - set(where), set(where) - set(ours))
    assert set(layout) - set(where.values()) == {k for k in layout if _unused(k, unused)}
    for dest, theirs in where.items():
        assert torch.equal(ours[dest], state[theirs]), (theirs, dest)
        kind = layout[theirs][1]
        module = model.get_submodule(dest.rpartition(".")[0])
        if "stride" in kind:
            assert module.stride == (kind["stride"],) * 2, (theirs, dest)
        if dest.endswith(".weight") and isinstance(module, nn.modules.conv._ConvNd):
            assert module.transposed == bool(kind.get("transposed")), (theirs, dest)


@pytest.mark.parametrize("name", sorted(TORCH_LAYOUTS))
def test_our_full_size_classes_have_the_authors_parameter_counts(name):
    """Counted from the layouts above: learned tensors only, the shared PReLU once."""
    keys, _, unused, _ = TORCH_LAYOUTS[name]
    layout = keys()
    learned = [(k, shape, kind) for k, (shape, kind) in layout.items()
               if not re.search(r"running_|num_batches", k) and not _unused(k, unused)]
    expected = sum(int(np.prod(shape)) for _, shape, kind in learned if not kind.get("shared"))
    expected += any(kind.get("shared") for *_, kind in learned)
    assert sum(p.numel() for p in built(name).parameters()) == expected
    if name == "mprnet":
        assert round(expected / 1e6, 1) == 20.1  # the MPRNet paper's count for deblurring


@pytest.mark.parametrize("name", ["deamnet", "dwdn", "rgdn"])
def test_a_file_with_a_key_missing_or_one_too_many_is_refused(name, tmp_path):
    keys, _, _, wrap = TORCH_LAYOUTS[name]
    entry = models.spec(name)
    state = _constants(keys())
    prefix = weights.official(entry.official).strip_prefix
    missing = dict(state)
    del missing[sorted(missing)[0]]
    torch.save(wrap(missing), tmp_path / "missing.pth")
    with pytest.raises(weights.WeightsError, match=r"does not fit .*missing \['"):
        weights.load_into(built(name), entry.layout(tmp_path / "missing.pth", prefix), "missing.pth")
    torch.save(wrap({**state, "net2.extra.weight": torch.ones(3)}), tmp_path / "extra.pth")
    with pytest.raises(weights.WeightsError, match=r"keys the authors' layout does not have: \['net2.extra.weight'\]"):
        entry.layout(tmp_path / "extra.pth", prefix)


def test_the_rgdn_file_of_an_older_torch_without_batch_counters_loads(named_folder):
    state = _constants(rgdn_keys(num_batches_tracked=False))
    named_folder("rgdn", lambda path: torch.save(state, path))
    model = models.create("rgdn", weights="official")
    assert torch.equal(model.scale[12].running_var, state["GradScaler.main.12.running_var"])


def _random(layout: dict, seed: int = 0) -> dict:
    """The layout filled with random weights that keep activations near 1 (BN statistics sane)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, (shape, _) in layout.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.tensor(0)
        elif k.endswith(("running_var", ".weight")) and len(shape) == 1:  # BN scale, variance
            out[k] = torch.rand(shape, generator=g) + 0.5
        elif len(shape) == 4:
            fan_in = shape[1] * shape[2] * shape[3] if "main.8" not in k and "main.11" not in k else shape[0] * 25
            out[k] = torch.randn(shape, generator=g) * (1 / fan_in) ** 0.5
        else:
            out[k] = torch.randn(shape, generator=g) * 0.1
    return out


def deamnet_by_hand(x: torch.Tensor, s: dict) -> torch.Tensor:
    """The authors' ``Deam.forward`` re-stated on their keys (DeamNet.py): T, four NLO passes
    each weighed against y by its ``line`` module, the inverse transform."""
    def conv(h, name, stride=1, relu=False):
        w = s[f"{name}.weight"]
        h = F.conv2d(h, w, s[f"{name}.bias"], stride=stride, padding=w.shape[-1] // 2)
        return F.relu(h) if relu else h

    def weigh(x, y, name, du):  # sigmoid(du2(relu(du0(cat[C(x), y])))): the DEAM weight
        h = conv(torch.cat([conv(x, f"{name}.C.conv2d"), y], 1), f"{name}.cat.conv2d")
        return torch.sigmoid(conv(conv(h, f"{du}.0.conv2d", relu=True), f"{du}.2.conv2d"))

    def nlo(z):
        skips, h = [], z
        for i in range(4):
            h = conv(conv(h, f"net2.e{i}.body.0.block.0", relu=True), f"net2.e{i}.body.1.block.0", relu=True)
            skips.append(h)
            h = conv(h, f"net2.e{i}.body.2.block.0", stride=2, relu=True)
        g = conv(conv(h, "net2.mid.0.block.0", relu=True), "net2.mid.1.block.0", relu=True)
        for i in (3, 2, 1, 0):
            a, de = f"net2.attention{i}", f"net2.de{i}"
            up_g = conv(F.interpolate(g, scale_factor=2), f"{a}.ConvTranspose.conv2d.block.0", relu=True)
            w = weigh(skips[i], up_g, a, f"{a}.conv_du")
            rich = (1 - w) * up_g + w * skips[i]
            h = torch.cat([conv(rich, f"{de}.upsample.conv1.block.0", relu=True),
                           conv(F.interpolate(g, scale_factor=2), f"{de}.upsample.ConvTranspose.conv2d.block.0",
                                relu=True)], 1)
            h = conv(h, f"{de}.upsample.cat.conv2d")
            g = conv(conv(h, f"{de}.body.0.block.0", relu=True), f"{de}.body.1.block.0", relu=True)
        return z + conv(g, "net2.final.conv2d")

    y = conv(x, "transform_function.ext.conv2d")
    y = y + conv(conv(y, "transform_function.pre.0.conv2d", relu=True), "transform_function.pre.2.conv2d")
    z = y
    for n in (11, 22, 33, 44):
        z = nlo(z)
        d = weigh(y, z, f"line{n}", f"line{n}.weight.conv_du")
        z = (1 - d) * z + d * y
    inverse = "inverse_transform_function"
    z = z + conv(conv(z, f"{inverse}.pre.0.conv2d", relu=True), f"{inverse}.pre.2.conv2d")
    return conv(z, f"{inverse}.ext.conv2d")


def rgdn_by_hand(y: torch.Tensor, kernel: torch.Tensor, s: dict, steps: int) -> torch.Tensor:
    """The authors' ``OptimizerRGDN.forward`` re-stated on their keys (model_rgdn.py,
    module_basic.py), with their test's k (the flipped kernel) and kt (the kernel)."""
    def block(h, name):
        for i, transposed in ((0, False), (2, False), (5, False), (8, True), (11, True), (14, True)):
            op = F.conv_transpose2d if transposed else F.conv2d
            h = op(h, s[f"{name}.main.{i}.weight"], padding=2)
            if i not in (0, 14):
                bn = f"{name}.main.{i + 1}"
                h = F.batch_norm(h, s[f"{bn}.running_mean"], s[f"{bn}.running_var"], s[f"{bn}.weight"],
                                 s[f"{bn}.bias"])
            h = F.relu(h) if i != 14 else h
        return h

    c, p = y.shape[1], kernel.shape[-1] // 2
    k, kt = kernel.flip(-2, -1).expand(c, 1, -1, -1), kernel.expand(c, 1, -1, -1)
    x = y
    for _ in range(steps):
        grad = F.conv2d(F.conv2d(x, k, padding=p, groups=c) - y, kt, padding=p, groups=c)
        x = 0.8 * x + 0.2 * block(block(grad, "GradAdj") - block(x, "CNNOptimizer"), "GradScaler")
    return x


def test_deamnet_and_rgdn_compute_as_the_authors_networks_on_their_keys(named_folder):
    """Random weights in the authors' layout: our class, loaded through the mapping, gives the
    output of a re-statement of the authors' forward on their own keys (same-shaped layers
    swapped by the mapping would differ)."""
    deam = _random(deamnet_keys())
    named_folder("deamnet_25", lambda path: torch.save({f"module.{k}": v for k, v in deam.items()}, path))
    x = torch.rand(1, 1, 32, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = deamnet_by_hand(x, deam)
        assert expected.std() > 0.01 and torch.allclose(models.create("deamnet", weights="official")(x), expected,
                                                         rtol=1e-4, atol=1e-5)
    rgdn = _random(rgdn_keys())
    named_folder("rgdn", lambda path: torch.save(rgdn, path))
    y, kernel = torch.rand(1, 3, 12, 14, generator=torch.Generator().manual_seed(2)), torch.rand(5, 5)
    with torch.no_grad():
        expected = rgdn_by_hand(y, kernel / kernel.sum(), rgdn, steps=3)
        ours = models.create("rgdn", weights="official")(y, kernel / kernel.sum(), steps=3)
    assert expected.std() > 0.01 and torch.allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_the_full_size_restorers_run_and_keep_the_size():
    torch.manual_seed(0)
    kernel = torch.rand(7, 7)
    y = torch.rand(2, 3, 13, 18)  # padded to multiples of 8 and cropped back
    with torch.no_grad():
        assert built("mprnet")(y[:1]).shape == y[:1].shape
        assert built("dwdn")(y, torch.stack([kernel, kernel.T])).shape == y.shape
        assert built("rgdn")(y, kernel, steps=2).shape == y.shape
    with pytest.raises(ValueError, match="odd kernel sizes"):
        built("rgdn")(y, torch.rand(6, 6), steps=1)


def test_rgdn_data_term_is_the_blur_and_its_adjoint():
    """k x is the true convolution (``physics.blur``, valid where no zero padding enters) and
    k^T its adjoint, as the authors' test feeds the flipped kernel as k."""
    torch.manual_seed(0)
    kernel, x, r = torch.rand(2, 5, 5), torch.rand(2, 3, 16, 18), torch.rand(2, 3, 16, 18)
    kx = lgd.same_convolution(x, kernel)
    for i in range(2):
        assert torch.allclose(kx[i:i + 1, :, 2:-2, 2:-2], physics.blur(x[i:i + 1], kernel[i], "valid"), atol=1e-5)
    assert torch.allclose((kx * r).sum(), (x * lgd.same_convolution(r, kernel, adjoint=True)).sum(), rtol=1e-5)


def test_dwdn_noise_estimate_uses_a_reflected_3x3_median():
    from scipy import ndimage

    x = torch.rand(2, 3, 9, 11)
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    expected = ndimage.median_filter(padded, size=(1, 1, 3, 3))[..., 1:-1, 1:-1]
    assert np.array_equal(dwdn.median3x3(x).numpy(), expected)
    noisy = torch.rand(1, 2, 16, 16)
    assert (dwdn.estimated_nsr(noisy) > 0).all() and dwdn.estimated_nsr(noisy).shape == (1, 2, 1, 1)


# ----------------------------------------------------------------------------------------------
# BRDNet: a Keras 2 HDF5 file


UPPER = [(1, True)] * 16 + [(1, False)]
LOWER = [(1, True)] + [(2, False)] * 7 + [(1, True)] + [(2, False)] * 6 + [(1, True), (1, False)]
"""grayimage/models.py ``BRDNet()``: each conv's (dilation, followed by BatchRenormalization)."""


def brdnet_h5(path, channels: int, seed: int = 0, extra: bool = False, drop: str | None = None) -> dict:
    """A Keras 2.0 ``model.save`` file of the authors' BRDNet with random weights, laid out as
    Keras writes one (``model_weights/<layer>/<weight name>``, ``layer_names`` and
    ``weight_names`` attributes, weightless layers included); returns {layer: {weight: array}}."""
    rng = np.random.default_rng(seed)
    layers, names = {}, ["input_1"]
    n_conv = n_brn = 0

    def conv(cin, cout):
        nonlocal n_conv
        n_conv += 1
        name = f"conv2d_{n_conv}"
        layers[name] = {"kernel:0": rng.normal(0, (9 * cin) ** -0.5, (3, 3, cin, cout)).astype(np.float32),
                        "bias:0": rng.normal(0, 0.05, cout).astype(np.float32)}
        names.append(name)

    for branch in (UPPER, LOWER):
        for i, (_, brn) in enumerate(branch):
            last = i == len(branch) - 1
            conv(channels if i == 0 else 64, channels if last else 64)
            if brn:
                n_brn += 1
                name = f"batch_renormalization_{n_brn}"
                layers[name] = {f"{name}_{w}:0": v.astype(np.float32) for w, v in (
                    ("gamma", rng.uniform(0.5, 1.5, 64)), ("beta", rng.normal(0, 0.1, 64)),
                    ("running_mean", rng.normal(0, 0.1, 64)), ("running_std", rng.uniform(0.2, 2.0, 64)))}
                names.append(name)
            names.append(f"activation_{len(names)}")
    conv(2 * channels, channels)
    if extra:
        layers["dense_1"] = {"kernel:0": np.ones((2, 2), np.float32)}
        names.append("dense_1")
    names += ["subtract_1", "subtract_2", "concatenate_1", "subtract_3"]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"], f.attrs["backend"] = b"2.0.8", b"tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Model"}).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [n.encode() for n in names]
        for name in names:
            g = group.create_group(name)
            found = {w: v for w, v in layers.get(name, {}).items() if w != drop}
            full = [f"{name}/{w}" for w in found]
            g.attrs["weight_names"] = [w.encode() for w in full]
            for w, v in zip(full, found.values()):
                g.create_dataset(w, data=v)
    return layers


def brdnet_by_hand(x: torch.Tensor, layers: dict) -> torch.Tensor:
    """The authors' network re-stated with the Keras arrays: 'same' 3x3 convs (dilated where
    the authors dilate), BatchRenormalization at inference = gamma (x - mean) /
    sqrt(running_std + 1e-3) + beta (running_std holds the variance), ReLU, x - branch, merge."""
    convs = iter(sorted((k for k in layers if k.startswith("conv2d")), key=lambda k: int(k.split("_")[1])))
    brns = iter(sorted((k for k in layers if k.startswith("batch")), key=lambda k: int(k.split("_")[2])))

    def layer(h, dilation):
        w = layers[next(convs)]
        return F.conv2d(h, torch.from_numpy(w["kernel:0"]).permute(3, 2, 0, 1), torch.from_numpy(w["bias:0"]),
                        padding=dilation, dilation=dilation)

    outs = []
    for branch in (UPPER, LOWER):
        h = x
        for i, (dilation, brn) in enumerate(branch):
            h = layer(h, dilation)
            if brn:
                name = next(brns)
                g, b, m, v = (torch.from_numpy(layers[name][f"{name}_{w}:0"]).view(1, -1, 1, 1)
                              for w in ("gamma", "beta", "running_mean", "running_std"))
                h = g * (h - m) / torch.sqrt(v + 1e-3) + b
            if i < len(branch) - 1:
                h = F.relu(h)
        outs.append(x - h)
    return x - layer(torch.cat(outs, 1), 1)


@pytest.mark.parametrize("channels", [1, 3])
def test_brdnet_keras_file_loads_folded_and_denoises_as_the_authors_network(channels, named_folder):
    name = "brdnet" if channels == 1 else "brdnet_color"
    layers = {}
    named_folder(models.spec(name).official, lambda path: layers.update(brdnet_h5(path, channels)))
    model = models.create(name, weights="official")
    assert model.info["weights"].endswith(f"({weights.SYNTHETIC_ONLY})")
    assert not any("renorm" in type(m).__name__.lower() for m in model.modules())  # folded
    assert [m.dilation[0] for m in model.lower if isinstance(m, nn.Conv2d)] == [d for d, _ in LOWER]
    x = torch.rand(2, channels, 14, 17, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = brdnet_by_hand(x, layers)
        assert expected.std() > 0.1 and torch.allclose(model(x), expected, rtol=1e-4, atol=1e-5)


def test_brdnet_keras_file_with_a_weight_missing_or_a_layer_too_many_is_refused(tmp_path):
    entry = models.spec("brdnet")
    brdnet_h5(tmp_path / "extra.h5", 1, extra=True)
    with pytest.raises(weights.WeightsError, match=r"authors' model does not have: \['dense_1/dense_1/kernel:0'\]"):
        entry.layout(tmp_path / "extra.h5", "")
    brdnet_h5(tmp_path / "missing.h5", 1, drop="batch_renormalization_3_running_std:0")
    with pytest.raises(weights.WeightsError, match="renormalization_3 holds .*'beta:0', 'gamma:0', 'running_mean:0'"):
        entry.layout(tmp_path / "missing.h5", "")
    brdnet_h5(tmp_path / "color.h5", 3)
    with pytest.raises(weights.WeightsError, match="does not fit BRDNet"):
        weights.load_into(built("brdnet"), entry.layout(tmp_path / "color.h5", ""), "color.h5")  # into a gray one
    (tmp_path / "not.h5").write_bytes(b"not an hdf5 file")
    with pytest.raises(weights.WeightsError, match="could not read .* as a Keras 2 HDF5 model"):
        entry.layout(tmp_path / "not.h5", "")


# ----------------------------------------------------------------------------------------------
# the table and its git blob SHA-1 pin

GIT_PINNED = [k for k, w in weights.OFFICIAL.items() if w.git_sha1]


def test_git_pinned_entries_name_an_immutable_address_and_say_how_they_were_checked():
    assert len(GIT_PINNED) == 3 + 8 + 3  # DeamNet 15/25/50, BRDNet gray 3 + color 5, MPRNet, DWDN, RGDN
    for key in GIT_PINNED:
        w = weights.official(key)
        repo_commit = w.url.removeprefix("https://raw.githubusercontent.com/").split("/")
        assert len(repo_commit[2]) == 40 and int(repo_commit[2], 16) >= 0, w.url  # the commit, not a branch
        assert len(w.git_sha1) == 40 and int(w.git_sha1, 16) >= 0
        assert w.verified == weights.SYNTHETIC_ONLY
    registered = {n: s.official for n, s in models.MODELS.items() if s.official in GIT_PINNED}
    assert set(registered.values()) == set(GIT_PINNED)
    assert all(models.spec(n).layout is not None and models.spec(n).variant == "full" for n in registered)


def test_git_blob_sha1_is_what_git_hash_object_prints(tmp_path):
    (tmp_path / "hello").write_bytes(b"hello\n")
    (tmp_path / "empty").write_bytes(b"")
    assert weights.git_blob_sha1(tmp_path / "hello") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert weights.git_blob_sha1(tmp_path / "empty") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_a_git_pinned_file_passes_then_is_refused_with_a_flipped_byte(named_folder, tmp_path):
    data = bytes(range(256)) * 40
    named_folder("rgdn", lambda path: path.write_bytes(data))
    path = tmp_path / "weights" / weights.official("rgdn").filename
    assert weights.locate("rgdn") == path
    assert weights.recorded_sha256() == {weights.git_blob_sha1(path): weights.sha256_of(path)}
    assert weights.official("rgdn").sha256 == weights.sha256_of(path)  # recorded in the cache, not the package
    assert weights.checksums().get("rgdn/rgdn.tr") is None
    flipped = bytearray(data)
    flipped[1000] ^= 1
    path.write_bytes(bytes(flipped))
    with pytest.raises(weights.WeightsError, match="corrupt or not the official RGDN.*sha256"):
        weights.locate("rgdn")
    (tmp_path / "cache" / "weights" / "recorded_sha256.json").unlink()  # no record: the git blob SHA-1 decides
    with pytest.raises(weights.WeightsError, match="git blob SHA-1 [0-9a-f]{40} != expected"):
        weights.locate("rgdn")


def test_a_download_is_checked_against_its_git_blob_and_removed_when_it_differs(tmp_path, monkeypatch):
    import pooch

    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("COMPANION_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("COMPANION_OFFLINE", raising=False)
    served = {"bytes": b"the official file\n"}

    def retrieve(url, known_hash, fname, path, downloader):
        assert known_hash is None and "/561468463372a5727b553efa0330fc75901e29fc/" in url
        (path / fname).parent.mkdir(parents=True, exist_ok=True)
        (path / fname).write_bytes(served["bytes"])
        return str(path / fname)

    monkeypatch.setattr(pooch, "retrieve", retrieve)
    (tmp_path / "good").write_bytes(served["bytes"])
    monkeypatch.setitem(weights.OFFICIAL, "rgdn", dataclasses.replace(
        weights.official("rgdn"), git_sha1=weights.git_blob_sha1(tmp_path / "good")))
    served["bytes"] = b"a changed file\n"
    with pytest.raises(weights.WeightsError, match="git blob SHA-1"):
        weights.locate("rgdn")
    assert not (tmp_path / "weights" / "rgdn" / "rgdn.tr").exists()
    served["bytes"] = b"the official file\n"
    assert weights.locate("rgdn").read_bytes() == served["bytes"]
    assert weights.recorded_sha256() == {weights.git_blob_sha1(tmp_path / "good"): weights.sha256_of(tmp_path / "good")}


def test_offline_a_missing_official_file_says_which_where_and_from_which_url(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_OFFLINE", "1")
    with pytest.raises(weights.WeightsNotFoundError) as err:
        models.create("deamnet", weights="official")
    assert "deamnet/noise25.pth" in str(err.value) and "downloads are off" in str(err.value)
    assert "raw.githubusercontent.com/chaoren88/DeamNet/827c736dec2fe675e7bf4de06c3f026d9aaf4dbf/" in err.value.short
    assert "\n" not in str(err.value)
