import numpy as np
import pytest
import torch

from companion import data, metrics, models, noise, robustness, weights
from companion.attacks import COLOR_EPS, GRAY_EPS, clean_image_pgd, denoising_pgd
from companion.evaluation import denoise


@pytest.fixture(scope="module")
def gray():
    import os
    if not os.environ.get("COMPANION_DATA_DIR"):
        pytest.skip("COMPANION_DATA_DIR is not set")
    return data.load("set12", limit=3, crop=48)


def _noisy(images, sigma=25, seed=0):
    return noise.gaussian(images, sigma, seed=seed)


def _one_per_architecture() -> list:
    """Every registered denoiser (deblurring ones: tests/test_deblurring.py), except the other
    noise levels of an official file in its authors' layout (deamnet_15, brdnet_color_75...): without
    the file they are the same network as the first one, with random weights."""
    names, seen = [], set()
    for name in models.list_models():
        entry = models.spec(name)
        if entry.collection in ("classical", "deblurring"):
            continue
        key = (entry.build.__module__, entry.channels) if entry.layout else name
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names


@pytest.mark.parametrize("name", _one_per_architecture())
def test_the_budget_holds_for_every_model(name, data_dir, weights_dir):
    entry = models.spec(name)
    color = entry.channels == 3
    clean = data.load("set3c" if color else "set12", limit=2, crop=40).images
    eps = COLOR_EPS if color else GRAY_EPS
    # full-size models whose official file is not on this machine: the attack needs no weights
    has_weights = entry.ours or (entry.official and (weights_dir / weights.official(entry.official).filename).is_file())
    model = models.create(name, weights="best" if has_weights else None)
    x = _noisy(clean)
    adv = denoising_pgd(model, x, clean, eps=eps, steps=3)
    assert (adv - x).abs().max() <= eps + 1e-6
    assert not adv.requires_grad and all(p.grad is None for p in model.parameters()) and not model.training


def test_attack_beats_random_sign_noise(gray, weights_dir):
    model = models.create("dncnn_s25")
    clean = gray.images
    x = _noisy(clean)
    adv = denoising_pgd(model, x, clean)
    rng = np.random.default_rng(0)
    signs = torch.from_numpy(rng.choice([-1.0, 1.0], size=x.shape).astype(np.float32)) * GRAY_EPS
    psnr = {k: metrics.psnr(denoise(model, v).clamp(0, 1), clean).mean().item()
            for k, v in {"gauss": x, "adv": adv, "random": x + signs}.items()}
    assert psnr["gauss"] - psnr["adv"] > 0.5
    assert psnr["gauss"] - psnr["adv"] > 5 * abs(psnr["gauss"] - psnr["random"])


def test_deterministic_and_batch_independent(gray):
    torch.manual_seed(0)
    model = models.DnCNN(1, depth=4, features=8)
    clean = gray.images
    x = _noisy(clean)
    a = denoising_pgd(model, x, clean, seed=3)
    assert torch.equal(a, denoising_pgd(model, x, clean, seed=3))
    assert not torch.equal(a, denoising_pgd(model, x, clean, seed=4))
    one = denoising_pgd(model, x[1:2], clean[1:2], seed=4)  # image 1 of the batch uses seed 3 + 1
    assert torch.allclose(a[1:2], one, atol=1e-6)


def test_mixed_sizes_are_grouped(gray):
    torch.manual_seed(0)
    model = models.DnCNN(1, depth=4, features=8)
    clean = [gray.images[0:1], gray.images[1:2, :, :32, :40], gray.images[2:3]]
    x = [noise.gaussian(c, 25, seed=i) for i, c in enumerate(clean)]
    out = denoising_pgd(model, x, clean, seed=0)
    assert [o.shape for o in out] == [c.shape for c in clean]
    assert torch.allclose(out[1], denoising_pgd(model, x[1], clean[1], seed=1), atol=1e-6)


def test_model_mode_is_restored_and_clipping(gray):
    model = models.DnCNN(1, depth=4, features=8).train()
    clean = gray.images
    adv = denoising_pgd(model, noise.gaussian(clean, 25, clip=True), clean, clip=True, steps=2)
    assert model.training and adv.min() >= 0 and adv.max() <= 1


def test_zero_budget_and_no_steps_change_nothing(gray):
    model = models.DnCNN(1, depth=4, features=8)
    x = _noisy(gray.images)
    assert torch.equal(denoising_pgd(model, x, gray.images, eps=0.0), x)
    assert torch.equal(denoising_pgd(model, x, gray.images, steps=0, random_start=False), x)


def test_clean_image_attack_starts_from_the_clean_image(gray):
    model = models.DnCNN(1, depth=4, features=8)
    adv = clean_image_pgd(model, gray.images, steps=2)
    assert (adv - gray.images).abs().max() <= 0.157 + 1e-6


def test_bad_input(gray):
    model = models.DnCNN(1, depth=4, features=8)
    with pytest.raises(ValueError, match="differ in shape"):
        denoising_pgd(model, gray.images, gray.images[:, :, :20])
    with pytest.raises(ValueError, match="need a finite eps >= 0"):
        denoising_pgd(model, gray.images, gray.images, eps=-1)
    with pytest.raises(ValueError, match="color=False"):
        denoising_pgd(model, torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16))


def test_dmr_and_tables(gray, weights_dir):
    model = models.create("dncnn_s25")
    rows, _ = robustness.gauss_vs_adv(model, gray, sigma=25, seed=0)
    assert [r["image"] for r in rows] == gray.names
    expected = np.mean([r["psnr_adv"] for r in rows]) - np.mean([r["psnr_gauss"] for r in rows])
    assert robustness.dmr(rows) == pytest.approx(expected) and robustness.dmr(rows) < 0
    assert all(r["linf_perturbation"] <= GRAY_EPS + 1e-6 for r in rows)
    control = robustness.noise_level_control(model, gray, rows)
    assert all(abs(c["sigma_control"] - r["noise_std_adv"]) < 1e-9 for c, r in zip(control, rows))
    with pytest.raises(ValueError):
        robustness.dmr([])
