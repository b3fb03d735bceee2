"""Image-quality metrics on the 0-255 scale, batched, gray and color.

``psnr`` and ``ssim`` follow scikit-image's ``peak_signal_noise_ratio`` and
``structural_similarity`` with the settings of Wang et al. 2004 that the denoising papers use
(gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, no sample-covariance correction,
data_range 255); the tests hold them to 1e-4 of scikit-image. They are written in torch so
they run on a GPU and are differentiable. Each returns one float64 value per image, shape (N,).
Inputs are NCHW tensors on the [0, 1] scale; nothing is clipped here (callers clip the
denoised output first, as the papers do).
"""

import numpy as np
import torch
import torch.nn.functional as F

from .checks import as_batch


def _pair(x, ref):
    x, ref = as_batch(x, "image"), as_batch(ref, "reference")
    if x.shape != ref.shape:
        raise ValueError(f"image shape {tuple(x.shape)} differs from reference {tuple(ref.shape)}")
    return x.double() * 255.0, ref.double().to(x.device) * 255.0


def mse(x, ref) -> torch.Tensor:
    """Mean squared error per image, 0-255 scale."""
    a, b = _pair(x, ref)
    return ((a - b) ** 2).flatten(1).mean(1)


def psnr(x, ref) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image: 10 log10(255^2 / MSE)."""
    return 10.0 * torch.log10(255.0 ** 2 / mse(x, ref))


def mae(x, ref) -> torch.Tensor:
    """Mean absolute error per image, 0-255 scale."""
    a, b = _pair(x, ref)
    return (a - b).abs().flatten(1).mean(1)


def _gaussian_window(sigma: float, truncate: float, dtype, device) -> torch.Tensor:
    radius = int(truncate * sigma + 0.5)  # scipy.ndimage.gaussian_filter's radius
    t = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    w = torch.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


def ssim(x, ref, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004, eq. 13), mean over channels.

    Local statistics use a separable gaussian window (radius 3.5 sigma, like scipy), evaluated
    only where the window fits inside the image: scikit-image filters the whole image and then
    crops that border, which gives the same values.
    """
    a, b = _pair(x, ref)
    n, c, h, w = a.shape
    g = _gaussian_window(sigma, 3.5, a.dtype, a.device)
    if min(h, w) < g.numel():
        raise ValueError(f"images of {h}x{w} are smaller than the {g.numel()}x{g.numel()} SSIM window")

    def blur(t):
        t = F.conv2d(t, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        return F.conv2d(t, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * 255.0) ** 2, (k2 * 255.0) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def ncc(x, ref) -> torch.Tensor:
    """Normalized cross-correlation per image: <x - mean x, r - mean r> / (|x - mean x| |r - mean r|)."""
    a, b = _pair(x, ref)
    a = a.flatten(1) - a.flatten(1).mean(1, keepdim=True)
    b = b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def wasserstein(sample_a, sample_b) -> float:
    """1-D Wasserstein distance between two noise samples (pooled values, scipy), in their units."""
    from scipy.stats import wasserstein_distance

    def flat(s):
        return (s.detach().cpu().double().numpy() if isinstance(s, torch.Tensor) else np.asarray(s, float)).ravel()

    return float(wasserstein_distance(flat(sample_a), flat(sample_b)))


METRICS = {"psnr": psnr, "ssim": ssim, "mae": mae}


def evaluate(x, ref, clip: bool = True) -> dict:
    """PSNR, SSIM and MAE per image as NumPy arrays; ``x`` is clipped to [0, 1] first by default."""
    x = as_batch(x, "image")
    if clip:
        x = x.clamp(0, 1)
    return {name: fn(x, ref).cpu().numpy() for name, fn in METRICS.items()}



def noise_statistics(sample, reference, subsample: int = 5000, seed: int = 0) -> dict:
    """How Gaussian a noise sample looks (Ning et al. Sec. V-D, Figure 14).

    Returns the 1-D Wasserstein distance to a ``reference`` sample (e.g. the Gaussian noise of the
    same images), the mean, the standard deviation, the excess kurtosis (0 for a Gaussian) and
    D'Agostino and Pearson's omnibus normality test (statistic and p-value) on ``subsample``
    values drawn with ``seed``: on hundreds of thousands of values the test rejects any real-world
    sample, so it is run on a fixed-size subsample to stay comparable between samples.
    """
    from scipy import stats

    values = (sample.detach().cpu().double().numpy() if isinstance(sample, torch.Tensor)
              else np.asarray(sample, float)).ravel()
    picked = np.random.default_rng(seed).choice(values, size=min(subsample, values.size), replace=False)
    test = stats.normaltest(picked)
    return {"wasserstein": wasserstein(values, reference), "mean": float(values.mean()), "std": float(values.std()),
            "excess_kurtosis": float(stats.kurtosis(values)), "normaltest": float(test.statistic),
            "normaltest_p": float(test.pvalue)}
