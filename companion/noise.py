"""Noise models, all seeded: the same seed gives the same noise on any device.

Noise is drawn with NumPy's ``RandomState`` on the CPU and moved to the input's device, so a
GPU run sees exactly the noise of a CPU run. Image ``i`` of a batch uses ``seed + i`` (or
``seed[i]`` when a sequence of seeds is given), so an image's noise does not depend on which
other images share its batch.

Noise levels are given on the 0-255 scale (``sigma=25``) and converted here, once.
"""

import numpy as np
import torch

from .checks import as_batch, check_unit_range


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
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 (0-255 scale), got {sigma}")
    x = _prepare(x)
    y = x + draw_per_image(x, seed, lambda rs, shape: rs.randn(*shape)) * (sigma / 255.0)
    return y.clamp(0, 1) if clip else y


def uniform(x, sigma: float, seed=0, clip: bool = False) -> torch.Tensor:
    """x + U(-a, a) with a = sqrt(3) sigma/255, the uniform noise with standard deviation sigma."""
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 (0-255 scale), got {sigma}")
    x = _prepare(x)
    half = np.sqrt(3.0) * sigma / 255.0
    y = x + draw_per_image(x, seed, lambda rs, shape: rs.uniform(-half, half, size=shape))
    return y.clamp(0, 1) if clip else y


def poisson(x, photons: float, seed=0) -> torch.Tensor:
    """Shot noise: Poisson(photons * x) / photons, with ``photons`` the count at intensity 1."""
    if photons <= 0:
        raise ValueError(f"photons must be > 0, got {photons}")
    x = _prepare(x)
    lam = (x.detach().clamp(0, 1).cpu().double().numpy() * photons)
    counts = [np.random.RandomState(s).poisson(lam[i]) for i, s in enumerate(_seeds(seed, len(lam)))]
    return torch.from_numpy(np.stack(counts) / photons).float().to(x.device)


def impulse(x, p: float, seed=0) -> torch.Tensor:
    """Random-valued impulse noise as in Noise2Noise (Lehtinen et al. 2018, Sec. 3.3).

    Each pixel is replaced, with probability ``p``, by a random color drawn uniformly from
    [0, 1] (each channel independently); the other pixels keep their value.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"p is a probability in [0, 1], got {p}")
    x = _prepare(x)
    c, h, w = x.shape[1:]

    def draw(rs, shape):
        mask = rs.uniform(size=(1, h, w)) < p
        values = rs.uniform(size=(c, h, w))
        return np.concatenate([np.broadcast_to(mask, (c, h, w)), values])

    both = draw_per_image(x, seed, lambda rs, shape: draw(rs, shape))
    mask, values = both[:, :c] > 0.5, both[:, c:]
    return torch.where(mask, values, x)


NOISES = {"gaussian": gaussian, "uniform": uniform, "poisson": poisson, "impulse": impulse}


def add(kind: str, x, level: float, seed=0, **kwargs) -> torch.Tensor:
    """Dispatch by name: ``add('gaussian', x, 25)``, ``add('impulse', x, 0.2)``."""
    if kind not in NOISES:
        raise ValueError(f"unknown noise {kind!r}; choose one of {sorted(NOISES)}")
    return NOISES[kind](x, level, seed=seed, **kwargs)
