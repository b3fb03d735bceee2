import numpy as np
import pytest
import torch

from companion import noise


@pytest.fixture
def clean():
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.uniform(0.2, 0.8, size=(3, 1, 128, 128)).astype(np.float32))


@pytest.mark.parametrize("kind,level", [("gaussian", 25), ("uniform", 25), ("poisson", 30), ("impulse", 0.3)])
def test_same_seed_same_noise_and_batch_independence(clean, kind, level):
    a = noise.add(kind, clean, level, seed=7)
    assert torch.equal(a, noise.add(kind, clean, level, seed=7))
    assert not torch.equal(a, noise.add(kind, clean, level, seed=8))
    alone = noise.add(kind, clean[2:3], level, seed=9)  # image 2 of the batch uses seed 7 + 2
    assert torch.equal(a[2:3], alone)
    assert torch.equal(a, noise.add(kind, clean, level, seed=[7, 8, 9]))


def test_gaussian_level_and_clipping(clean):
    y = noise.gaussian(clean, 25, seed=0)
    residual = (y - clean).flatten()
    assert abs(residual.std().item() * 255 - 25) < 0.5 and abs(residual.mean().item()) < 2e-3
    x = torch.full((1, 1, 64, 64), 0.98)
    assert noise.gaussian(x, 25).max() > 1  # unclipped by default
    clipped = noise.gaussian(x, 25, clip=True)
    assert clipped.max() <= 1 and clipped.min() >= 0
    assert torch.equal(noise.gaussian(clean, 0), clean)


def test_uniform_has_the_same_standard_deviation(clean):
    r = noise.uniform(clean, 25, seed=0) - clean
    assert abs(r.std().item() * 255 - 25) < 0.5
    assert r.abs().max().item() <= np.sqrt(3) * 25 / 255 + 1e-6


def test_poisson_mean_and_variance():
    x = torch.full((1, 1, 200, 200), 0.5)
    y = noise.poisson(x, photons=40, seed=0)
    assert abs(y.mean().item() - 0.5) < 0.01
    assert abs(y.var().item() - 0.5 / 40) < 0.001
    assert torch.allclose(y * 40, (y * 40).round(), atol=1e-4)  # counts / photons


def test_impulse_replaces_whole_pixels_with_probability_p():
    x = torch.full((1, 3, 128, 128), 0.5)
    y = noise.impulse(x, 0.2, seed=0)
    changed = (y != 0.5)
    pixel_changed = changed.any(1)
    assert abs(pixel_changed.float().mean().item() - 0.2) < 0.01
    assert (changed.all(1) == pixel_changed).float().mean() > 0.999  # all channels together
    assert y.min() >= 0 and y.max() <= 1


def test_bad_input(clean):
    with pytest.raises(ValueError, match="divide by 255"):
        noise.gaussian(clean * 255, 25)
    with pytest.raises(TypeError, match="255"):
        noise.gaussian((clean * 255).to(torch.uint8), 25)
    with pytest.raises(ValueError, match="NCHW"):
        noise.gaussian(clean[None], 25)
    with pytest.raises(ValueError, match="sigma"):
        noise.gaussian(clean, -1)
    with pytest.raises(ValueError, match="probability"):
        noise.impulse(clean, 1.5)
    with pytest.raises(ValueError, match="unknown noise"):
        noise.add("speckle", clean, 1)
    with pytest.raises(ValueError, match="seeds"):
        noise.gaussian(clean, 25, seed=[1, 2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_noise_is_the_same_on_the_gpu(clean):
    assert torch.equal(noise.gaussian(clean.cuda(), 25).cpu(), noise.gaussian(clean, 25))
