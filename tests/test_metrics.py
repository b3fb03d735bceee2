import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance
from skimage import data as skdata
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from companion import metrics, noise


def _sk(x):
    """NCHW [0, 1] tensor -> list of HxW(xC) float64 arrays on the 0-255 scale."""
    return [(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)) * 255.0 for a in x.double().numpy()]


@pytest.fixture
def pairs():
    cam = torch.from_numpy(skdata.camera()[:200, :240].astype(np.float32) / 255)[None, None]
    gray = torch.cat([cam, cam.flip(-1)])
    rgb = torch.from_numpy(skdata.astronaut()[:150, :180].astype(np.float32) / 255).permute(2, 0, 1)[None]
    return [(noise.gaussian(gray, 25, clip=True), gray), (noise.gaussian(rgb, 15, clip=True), rgb)]


def test_psnr_ssim_match_scikit_image(pairs):
    for noisy, clean in pairs:
        ours_p, ours_s = metrics.psnr(noisy, clean), metrics.ssim(noisy, clean)
        assert ours_p.shape == ours_s.shape == (len(clean),)
        for i, (a, b) in enumerate(zip(_sk(noisy), _sk(clean))):
            channel_axis = 2 if a.ndim == 3 else None
            ref_p = peak_signal_noise_ratio(b, a, data_range=255)
            ref_s = structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                          data_range=255, channel_axis=channel_axis)
            assert abs(ours_p[i].item() - ref_p) < 1e-4
            assert abs(ours_s[i].item() - ref_s) < 1e-4


def test_mae_ncc_and_identities(pairs):
    noisy, clean = pairs[0]
    ref = np.abs(np.stack(_sk(noisy)) - np.stack(_sk(clean))).reshape(2, -1).mean(1)
    assert np.allclose(metrics.mae(noisy, clean).numpy(), ref)
    assert torch.allclose(metrics.ncc(clean, clean), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(metrics.ncc(1 - clean, clean), -torch.ones(2, dtype=torch.float64))
    assert torch.allclose(metrics.ncc(0.5 * clean + 0.2, clean), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(metrics.ssim(clean, clean), torch.ones(2, dtype=torch.float64))
    assert torch.isinf(metrics.psnr(clean, clean)).all()


def test_wasserstein_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5000), rng.uniform(-1, 1, size=4000)
    assert metrics.wasserstein(torch.from_numpy(a), b) == pytest.approx(wasserstein_distance(a, b))
    assert metrics.wasserstein(a, a) == 0


def test_ssim_is_differentiable(pairs):
    noisy, clean = pairs[0]
    noisy = noisy.clone().requires_grad_(True)
    metrics.ssim(noisy, clean).sum().backward()
    assert noisy.grad is not None and torch.isfinite(noisy.grad).all() and noisy.grad.abs().sum() > 0


def test_evaluate_clips_the_output(pairs):
    noisy, clean = pairs[0]
    over = noisy + 0.5
    assert np.allclose(metrics.evaluate(over, clean)["psnr"], metrics.psnr(over.clamp(0, 1), clean).numpy())


def test_bad_input(pairs):
    noisy, clean = pairs[0]
    with pytest.raises(ValueError, match="differs"):
        metrics.psnr(noisy[:, :, :100], clean)
    with pytest.raises(ValueError, match="smaller than"):
        metrics.ssim(clean[..., :8, :8], clean[..., :8, :8])
    with pytest.raises(ValueError, match="channels"):
        metrics.psnr(torch.rand(1, 4, 16, 16), torch.rand(1, 4, 16, 16))
