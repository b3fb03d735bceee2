"""Noise models, all seeded: the same seed gives the same noise on any device.

Noise is drawn with NumPy's ``RandomState`` on the CPU and moved to the input's device, so a
GPU run sees exactly the noise of a CPU run. Image ``i`` of a batch uses ``seed + i`` (or
``seed[i]`` when a sequence of seeds is given), so an image's noise does not depend on which
other images share its batch.

Noise levels are given on the 0-255 scale (``sigma=25``) and converted here, once. Every level,
probability and count is checked where it enters (``companion.checks``: finite, in its range), and
so is the clean image (finite, in [0, 1]).
"""

import numpy as np
import torch

from .checks import as_batch, check_unit_range, lookup, noise_level, real


def _seeds(seed, n: int) -> list:
    if isinstance(seed, (int, np.integer)):
        return [int(seed) + i for i in range(n)]
    seeds = [int(s) for s in seed]
    if len(seeds) != n:
        raise ValueError(f"got {len(seeds)} seeds for {n} images")
    return seeds


def draw_per_image(x: torch.Tensor, seed, fn) -> torch.Tensor:
    """Stack ``fn(RandomState, shape)`` over the images of ``x``, as a float32 tensor on x's
    device; image i's RandomState is seeded ``seed + i`` (or ``seed[i]`` for a sequence)."""
    shape = tuple(x.shape[1:])
    arrays = [fn(np.random.RandomState(s), shape) for s in _seeds(seed, x.shape[0])]
    return torch.from_numpy(np.stack(arrays).astype(np.float32)).to(x.device)


def _prepare(x) -> torch.Tensor:
    x = as_batch(x, "clean image")
    check_unit_range(x, "clean image")
    return x


def gaussian(x, sigma: float, seed=0, clip: bool = False) -> torch.Tensor:
    """x + N(0, (sigma/255)^2), unclipped by default (the official DnCNN/FFDNet convention)."""
    sigma = noise_level(sigma)
    x = _prepare(x)
    y = x + draw_per_image(x, seed, lambda rs, shape: rs.randn(*shape)) * (sigma / 255.0)
    return y.clamp(0, 1) if clip else y


def uniform(x, sigma: float, seed=0, clip: bool = False) -> torch.Tensor:
    """x + U(-a, a) with a = sqrt(3) sigma/255, the uniform noise with standard deviation sigma."""
    sigma = noise_level(sigma)
    x = _prepare(x)
    half = np.sqrt(3.0) * sigma / 255.0
    y = x + draw_per_image(x, seed, lambda rs, shape: rs.uniform(-half, half, size=shape))
    return y.clamp(0, 1) if clip else y


def negative_binomial_photons(rs: np.random.RandomState, photons: float, dispersion: float, size=None):
    """Photon counts drawn from the negative binomial of Plummer & Hauser (their code,
    ``denoising/data_loader.py``: NB(n = photons / d, p = 1 / photons) * d / photons, dispersion
    d = 75), so an image's photon count varies around ``photons``: the mean is photons - 1 and
    the variance grows with d. Counts are at least 1 (a count of 0 would divide by zero)."""
    photons = np.asarray(photons, dtype=np.float64)
    if not np.all(np.isfinite(photons)) or np.any(photons <= 1) or not (np.isfinite(dispersion) and dispersion > 0):
        raise ValueError(f"need photons > 1 and dispersion > 0, got photons={photons}, dispersion={dispersion}")
    draw = rs.negative_binomial(photons / dispersion, 1.0 / photons, size=size) * dispersion / photons
    return np.maximum(draw, 1.0)


def poisson(x, photons: float, seed=0, dispersion: float = 0.0) -> torch.Tensor:
    """Shot noise: Poisson(photons * x) / photons, with ``photons`` the count at intensity 1.

    ``dispersion`` > 0 draws each image's photon count from ``negative_binomial_photons`` (the
    image's RandomState draws the count first, then the shot noise)."""
    photons = real(photons, "photons", above=0, hint="the photon count at intensity 1, e.g. 100")
    dispersion = real(dispersion, "dispersion", at_least=0)
    x = _prepare(x)
    lam = x.detach().clamp(0, 1).cpu().double().numpy()
    counts = []
    for i, s in enumerate(_seeds(seed, len(lam))):
        rs = np.random.RandomState(s)
        n = negative_binomial_photons(rs, photons, dispersion) if dispersion > 0 else photons
        counts.append(rs.poisson(lam[i] * n) / n)
    return torch.from_numpy(np.stack(counts)).float().to(x.device)


def impulse(x, p: float, seed=0) -> torch.Tensor:
    """Random-valued impulse noise as in Noise2Noise (Lehtinen et al. 2018, Sec. 3.3).

    Each pixel is replaced, with probability ``p``, by a random color drawn uniformly from
    [0, 1] (each channel independently); the other pixels keep their value.
    """
    p = real(p, "p", at_least=0, at_most=1, hint="p is a probability")
    x = _prepare(x)
    c, h, w = x.shape[1:]

    def draw(rs, shape):
        mask = rs.uniform(size=(1, h, w)) < p
        values = rs.uniform(size=(c, h, w))
        return np.concatenate([np.broadcast_to(mask, (c, h, w)), values])

    both = draw_per_image(x, seed, lambda rs, shape: draw(rs, shape))
    mask, values = both[:, :c] > 0.5, both[:, c:]
    return torch.where(mask, values, x)


def _replace_fraction(x, fraction: float, seed, values) -> torch.Tensor:
    """Replace exactly round(fraction * numel) distinct values of each image by ``values(rs, k)``
    (the authors' classifier noises touch a fixed count of distinct positions)."""
    fraction = real(fraction, "fraction", at_least=0, at_most=1, hint="fraction is in [0, 1]")
    x = _prepare(x)
    flat = x.detach().cpu().flatten(1).numpy().copy()
    k = int(round(fraction * flat.shape[1]))
    for i, s in enumerate(_seeds(seed, len(flat))):
        rs = np.random.RandomState(s)
        where = rs.choice(flat.shape[1], size=k, replace=False)
        flat[i, where] = values(rs, flat[i, where])
    return torch.from_numpy(flat).view_as(x).to(x.device)


def salt_and_pepper(x, fraction: float, seed=0) -> torch.Tensor:
    """A ``fraction`` of the values set to 0.05 or 0.95 with equal odds (Plummer & Hauser, Sec. 2;
    their code, ``data/data_transforms.py``, uses these two levels rather than 0 and 1)."""
    return _replace_fraction(x, fraction, seed, lambda rs, v: np.where(rs.randint(2, size=v.shape) == 0, 0.05, 0.95))


def sparse_gaussian(x, fraction: float, std: float = 1.0, seed=0) -> torch.Tensor:
    """N(0, std^2) added to a ``fraction`` of the values, the rest untouched, unclipped (Plummer &
    Hauser, Sec. 2: std 1 on the [0, 1] scale, in their code ``data/data_transforms.py``)."""
    std = real(std, "std", at_least=0, hint="a standard deviation on the [0, 1] scale")
    return _replace_fraction(x, fraction, seed, lambda rs, v: v + std * rs.randn(*v.shape))


NOISES = {"gaussian": gaussian, "uniform": uniform, "poisson": poisson, "impulse": impulse}


def add(kind: str, x, level: float, seed=0, **kwargs) -> torch.Tensor:
    """Dispatch by name: ``add('gaussian', x, 25)``, ``add('impulse', x, 0.2)``."""
    return lookup(NOISES, kind, "noise")(x, level, seed=seed, **kwargs)
