"""L2-denoising-PGD (Ning et al. Algorithm 1) and OBSATK (Yan et al. Algorithm 1)."""

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from companion import metrics, models, noise
from companion.attacks import l2_denoising_pgd, obsatk
from companion.attacks.obsatk import observation_sigma, project, rho
from companion.evaluation import denoise


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.rand(3, 1, 40, 40, generator=g), 5, stride=1, padding=2)
    return (base - base.amin(dim=(1, 2, 3), keepdim=True)) / base.flatten(1).max(1)[0].view(-1, 1, 1, 1) * 0.6 + 0.2


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return models.DnCNN(1, depth=4, features=8).eval()


def _norms(x):
    return x.flatten(1).norm(dim=1)


def test_l2_pgd_keeps_the_whole_noise_within_its_radius(tiny, images):
    x = noise.gaussian(images, 25, seed=0)
    adv = l2_denoising_pgd(tiny, x, images, steps=4)
    assert (_norms(adv - images) <= _norms(x - images) * (1 + 1e-5)).all()  # default radius ||x - y||
    assert (adv - x).abs().max() > 0
    fixed = l2_denoising_pgd(tiny, x, images, radius=1.0, steps=4)
    assert (_norms(fixed - images) <= 1.0 + 1e-5).all()
    clipped = l2_denoising_pgd(tiny, noise.gaussian(images, 25, seed=0, clip=True), images, clip=True)
    assert clipped.min() >= 0 and clipped.max() <= 1
    with pytest.raises(ValueError, match="radius"):
        l2_denoising_pgd(tiny, x, images, radius=0)


def test_l2_pgd_is_deterministic_per_image_and_gaussian_at_the_start(tiny, images):
    x = noise.gaussian(images, 25, seed=0)
    a = l2_denoising_pgd(tiny, x, images, seed=5)
    assert torch.equal(a, l2_denoising_pgd(tiny, x, images, seed=5))
    assert torch.allclose(a[2:3], l2_denoising_pgd(tiny, x[2:3], images[2:3], seed=7), atol=1e-6)
    start = l2_denoising_pgd(tiny, x, images, steps=0, radius=1e6, start_std=0.01, seed=1) - x
    assert float(start.std()) == pytest.approx(0.01, rel=0.05)
    assert abs(float(((start / 0.01) ** 4).mean()) - 3.0) < 0.3  # Gaussian kurtosis, not uniform's 1.8


def test_l2_pgd_hurts_dncnn_with_the_noise_energy_of_a_gaussian(weights_dir):
    from companion import data
    clean = data.load("set12", limit=2, crop=96).images
    model = models.create("dncnn_s25")
    x = noise.gaussian(clean, 25, seed=0)
    adv = l2_denoising_pgd(model, x, clean)
    drop = (metrics.psnr(denoise(model, x).clamp(0, 1), clean) - metrics.psnr(denoise(model, adv).clamp(0, 1), clean))
    assert (drop > 0.3).all()
    assert (_norms(adv - clean) <= _norms(x - clean) * (1 + 1e-5)).all()


def test_obsatk_delta_is_zero_mean_and_within_rho(tiny, images):
    y = noise.gaussian(images, observation_sigma(25, 5), seed=0)
    adv = obsatk(tiny, y, images, r=5, clip="none")
    delta = adv - y
    assert delta.flatten(1).mean(dim=1).abs().max() < 1e-6
    assert (_norms(delta) <= rho(5, 40 * 40) * (1 + 1e-5)).all()
    assert _norms(delta).min() > 0.9 * rho(5, 40 * 40)  # the normalized steps reach the boundary
    assert torch.equal(adv, obsatk(tiny, y, images, r=5, clip="none"))  # no randomness at all
    clipped = obsatk(tiny, y, images, r=5)
    assert clipped.min() >= 0 and clipped.max() <= 1
    plain = obsatk(tiny, y, images, r=5, step="gradient", eta=1e-3, clip="none") - y
    assert plain.flatten(1).mean(dim=1).abs().max() < 1e-6 and (_norms(plain) <= rho(5, 1600) * (1 + 1e-5)).all()


def test_obsatk_bad_input(tiny, images):
    with pytest.raises(ValueError, match="explicit eta"):
        obsatk(tiny, images, images, step="gradient")
    with pytest.raises(ValueError, match="unknown step rule"):
        obsatk(tiny, images, images, step="adam")
    with pytest.raises(ValueError, match="exceeds the noise level"):
        observation_sigma(5, 7)


def test_two_step_projection_is_the_exact_projection_onto_the_intersection():
    """Yan et al. Theorem 1, against a numerical solver of min ||z - v|| s.t. mean z = 0, ||z|| <= rho."""
    rng = np.random.default_rng(0)
    for trial in range(20):
        v = rng.normal(size=8) + rng.uniform(-2, 2)  # a non-zero mean
        radius = float(rng.uniform(0.2, 3.0))
        cons = [{"type": "eq", "fun": lambda z: z.mean()},
                {"type": "ineq", "fun": lambda z, r=radius: r ** 2 - z @ z}]
        best = minimize(lambda z: ((z - v) ** 2).sum(), np.zeros(8), constraints=cons, method="SLSQP",
                        options={"ftol": 1e-12, "maxiter": 500}).x
        ours = project(torch.from_numpy(v).view(1, 1, 2, 4), radius).view(-1).numpy()
        assert np.allclose(ours, best, atol=1e-5), trial


def test_noise_statistics_tell_gaussian_from_uniform():
    rng = np.random.default_rng(0)
    gauss, other_gauss = rng.normal(0, 0.1, 200_000), rng.normal(0, 0.1, 200_000)
    flat = rng.uniform(-0.1 * np.sqrt(3), 0.1 * np.sqrt(3), 200_000)  # the same standard deviation
    g = metrics.noise_statistics(other_gauss, gauss)
    u = metrics.noise_statistics(flat, gauss)
    assert g["wasserstein"] < 0.001 < u["wasserstein"]
    assert abs(g["excess_kurtosis"]) < 0.05 and u["excess_kurtosis"] == pytest.approx(-1.2, abs=0.05)
    assert g["normaltest_p"] > 0.01 > u["normaltest_p"]
    assert g["std"] == pytest.approx(0.1, rel=0.01) and metrics.noise_statistics(gauss, gauss)["wasserstein"] == 0


def test_noise_type_rows_follow_yan_table1(tiny):
    from companion import robustness
    from toys import box, smooth_images
    rows = robustness.noise_type_rows(box(3), smooth_images(n=2), 25, seeds=[0, 1], budgets=(5, 7))
    assert [(r["seed"], r["noise"]) for r in rows] == [
        (s, k) for s in (0, 1) for k in ("Gaussian", "uniform", "Atk-5/255", "Atk-7/255")]
    psnr = {(r["seed"], r["noise"]): r["psnr"] for r in rows}
    assert all(psnr[s, "Atk-7/255"] < psnr[s, "Atk-5/255"] < psnr[s, "Gaussian"] for s in (0, 1))
    assert rows == robustness.noise_type_rows(box(3), smooth_images(n=2), 25, seeds=[0, 1], budgets=(5, 7))
    from companion.evaluation import denoised_psnr
    clean = [img for _, img in smooth_images(n=2)]
    for kind, draw in (("Gaussian", noise.gaussian), ("uniform", noise.uniform)):  # clipped, as the OBSATK rows
        clipped = [draw(c, 25, seed=i, clip=True) for i, c in enumerate(clean)]
        assert psnr[0, kind] == pytest.approx(float(np.mean(denoised_psnr(box(3), clipped, clean, batch_size=1))))
