"""The zoo's architectures (issue 3): sizes, shapes, gradients, and the models' own parts."""

import math

import pytest
import torch
import torch.nn.functional as F

from companion import data, evaluation, models, weights
from companion.models.brdnet import BatchRenorm2d
from companion.models.curvpnp import gaussian_curvature
from companion.models.dpir import DPIR
from companion.physics import blur
from companion.models.fan import haar_iswt, haar_swt, rgb_to_yuv, yuv_to_rgb

# Parameter counts of the papers' full-size networks, counted from the authors' layer
# definitions (DRUNet: 32.6M in the DPIR paper; DeamNet: without its four unused convs)
FULL_SIZE = {"brdnet_s25": 1_112_725, "brdnet_color_s25": 1_117_483, "rddcnn_b": 556_302,
             "dpir_gray": 32_638_656, "deamnet": 1_873_313, "curvpnp": 53_739_072}
TRAINED = ["brdnet_s25", "brdnet_color_s25", "rddcnn_b", "dpir_small_gray", "dpir_small_color", "fan_small",
           "curvpnp_small", "deamnet_small"]


@pytest.mark.parametrize("name", sorted(FULL_SIZE))
def test_full_size_matches_the_papers(name):
    entry = models.spec(name)
    assert entry.variant == "full"
    assert sum(p.numel() for p in entry.build().parameters()) == FULL_SIZE[name]


def test_reduced_variants_say_so():
    for name in models.list_models():
        entry = models.spec(name)
        assert (entry.variant == "reduced") == ("small" in name), name
        if entry.variant == "reduced":
            assert entry.ours and "reduced" in entry.notes


@pytest.mark.parametrize("name", TRAINED)
def test_odd_sizes_keep_their_shape_and_gradients_reach_the_input(name):
    torch.manual_seed(0)
    model = models.create(name, weights=None)
    x = torch.rand(1, models.spec(name).channels, 37, 29, requires_grad=True)
    y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_full_size_unets_run_on_odd_sizes():
    x = torch.rand(1, 1, 21, 19)
    for name in ("dpir_gray", "curvpnp", "deamnet"):
        assert models.create(name, weights=None)(x).shape == x.shape


def test_dpir_full_size_needs_a_file_the_user_names(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(weights.WeightsNotFoundError, match="drunet_gray.pth.*never downloaded"):
        models.create("dpir_gray")
    torch.save(models.spec("dpir_gray").build().state_dict(), tmp_path / "drunet_gray.pth")
    with pytest.warns(weights.UnpinnedWeightsWarning):
        assert models.create("dpir_gray").info["weights"].startswith("official")


def test_batch_renorm_without_correction_is_batch_norm_and_eval_uses_moving_statistics():
    torch.manual_seed(0)
    brn = BatchRenorm2d(4)  # r_max = 1, d_max = 0 for the first 5k steps
    brn.weight.data.uniform_(0.5, 2)
    brn.bias.data.normal_()
    x = 3 + 2 * torch.randn(8, 4, 5, 5)
    expected = F.batch_norm(x, None, None, brn.weight, brn.bias, training=True, eps=brn.eps)
    assert torch.allclose(brn(x), expected, atol=1e-5)
    assert brn.running_mean.mean() == pytest.approx(0.03, abs=0.01)  # 1% of the way to 3
    brn.eval()
    scale = brn.weight / brn.running_std
    assert torch.allclose(brn(x), (x - brn.running_mean.view(1, -1, 1, 1)) * scale.view(1, -1, 1, 1)
                          + brn.bias.view(1, -1, 1, 1), atol=1e-5)


def test_batch_renorm_corrects_towards_the_moving_statistics():
    brn = BatchRenorm2d(1, plain_steps=0, r_steps=0, d_steps=0)  # fully relaxed at once
    brn.running_std.fill_(2.0)  # the batch has std 1, the moving std 2: r = 0.5
    x = torch.randn(64, 1, 8, 8)
    x = (x - x.mean()) / x.std(unbiased=False)
    assert brn(x).std(unbiased=False).item() == pytest.approx(0.5, abs=1e-3)


def test_wavelet_and_color_transforms_invert():
    x = torch.rand(2, 1, 9, 12)
    bands = haar_swt(x)
    assert bands.shape == (2, 4, 9, 12)
    assert torch.allclose(haar_iswt(bands), x, atol=1e-6)
    assert torch.allclose(bands.square().sum(), 4 * x.square().sum(), rtol=1e-5)  # undecimated, 2-D: energy x 4
    rgb = torch.rand(2, 3, 5, 5)
    assert torch.allclose(yuv_to_rgb(rgb_to_yuv(rgb)), rgb, atol=1e-6)
    assert torch.allclose(rgb_to_yuv(rgb)[:, 0], (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1))


def test_gaussian_curvature_is_zero_on_planes_and_not_on_a_bump():
    i, j = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    plane = (0.01 * i + 0.02 * j).view(1, 1, 16, 16)
    assert gaussian_curvature(plane)[..., 1:-1, 1:-1].abs().max() < 1e-6  # periodic border aside
    bump = torch.exp(-((i - 8) ** 2 + (j - 8) ** 2) / 8).view(1, 1, 16, 16)
    k = gaussian_curvature(bump)
    assert k[0, 0, 8, 8].abs() > 1e-3 and k.shape == bump.shape  # (the authors' signs are mixed)


def test_dpir_schedule_and_data_step():
    prior = models.create("dpir_small_gray", weights=None)
    dpir = DPIR(prior)
    levels, rhos = dpir.schedule(7.65)
    assert len(levels) == 8 and levels[0] == pytest.approx(49) and levels[-1] == pytest.approx(7.65)
    ratios = [b / a for a, b in zip(levels, levels[1:])]
    assert max(ratios) == pytest.approx(min(ratios))  # log-spaced
    assert rhos[-1] == pytest.approx(0.23) and all(a < b for a, b in zip(rhos, rhos[1:]))
    x = torch.rand(1, 1, 16, 16)
    delta = torch.zeros(5, 5)
    delta[2, 2] = 1
    assert torch.allclose(blur(x, delta), x, atol=1e-6)
    box = torch.ones(3, 3) / 9
    assert torch.allclose(blur(x, box), F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), box.view(1, 1, 3, 3)),
                          atol=1e-5)
    identity = DPIR(lambda v, sigma: v)  # with no prior the loop tends to the least-squares solution
    y = blur(x, box)
    assert (identity(y, box, 1.0) - x).abs().mean() < (y - x).abs().mean()
    with pytest.raises(ValueError, match="kernel must be 2-D"):
        dpir(y, box[None, None], 1.0)


def test_gradients_reach_the_input_through_the_whole_dpir_loop():
    dpir = DPIR(models.create("dpir_small_gray", weights=None), iterations=3)
    y = torch.rand(1, 1, 24, 24, requires_grad=True)
    dpir(y, torch.ones(3, 3) / 9, 10.0).sum().backward()
    assert y.grad.abs().sum() > 0


@pytest.mark.parametrize("name", TRAINED)
def test_our_checkpoint_denoises_two_images(name, data_dir):
    entry = models.spec(name)
    model = models.create(name, weights="ours")
    assert model.info["weights"].startswith("ours")
    dataset = "set12" if entry.channels == 1 else "set3c"
    rows, _ = evaluation.gaussian_denoising(model, data.load(dataset, limit=2), sigma=25, seed=0)
    assert all(r["psnr"] > r["noisy_psnr"] + 4 for r in rows), rows  # measured: +4.9 (fan_small, leaves) to +9
    assert not math.isnan(rows[0]["ssim"])


def test_our_checkpoints_fit_in_git():
    folder = weights._checkpoints()
    sizes = {name: folder.joinpath(f"{name}.pt").stat().st_size for name in weights.our_checkpoints()}
    assert set(weights.our_checkpoints()) >= {models.spec(n).ours for n in TRAINED}
    zoo = {n: size for n, size in sizes.items() if models.spec(n).collection == "zoo"}
    assert sum(zoo.values()) < 40e6, zoo  # issue 3's budget for the zoo
    assert sum(sizes.values()) < 55e6, sizes  # with the later collections (adversarial training, N2N, deblurring,
    # real noise: issue 35's three color DnCNN-Cs, 1.35 MB each, took the total from 46.0 to 50.0 MB)


def test_dpir_with_our_reduced_prior_deblurs(data_dir):
    import numpy as np

    from companion import metrics, noise

    kernel = torch.as_tensor(np.asarray(data.load_kernels("kernels_12")[0]), dtype=torch.float32)
    kernel = kernel / kernel.sum()
    x = data.load("set12", limit=1).images[:1]
    y = noise.gaussian(blur(x, kernel).clamp(0, 1), 2.55, seed=0)
    with torch.no_grad():
        restored = DPIR(models.create("dpir_small_gray"))(y, kernel, 2.55).clamp(0, 1)
    assert metrics.psnr(restored, x) > metrics.psnr(y.clamp(0, 1), x) + 2  # measured: 28.6 -> 33.4 dB
