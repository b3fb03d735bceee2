"""Blur physics (issue 10): the two boundary models, the FFT data step, Wiener deconvolution."""

import pytest
import torch
import torch.nn.functional as F

from companion import data, physics


def _motion():
    """An asymmetric 5x4 kernel (a flip would show), normalized."""
    k = torch.zeros(5, 4)
    k[1, 0], k[2, 1], k[2, 2], k[4, 3] = 0.4, 0.3, 0.2, 0.1
    return k


def test_circular_and_valid_blur_are_the_same_convolution():
    torch.manual_seed(0)
    x, k = torch.rand(2, 3, 20, 17), _motion()
    circular, valid = physics.blur(x, k), physics.blur(x, k, "valid")
    assert valid.shape == (2, 3, 16, 14)
    # cropped by (k - 1) - centre: rows 2 (kh 5, centre 2), columns 1 (kw 4, centre 2)
    assert torch.allclose(circular[..., 2:18, 1:15], valid, atol=1e-5)
    # a true convolution: conv2d (a correlation) with the flipped kernel, wrapping around
    wrapped = F.pad(x, (1, 2, 2, 2), mode="circular")
    expected = F.conv2d(wrapped, k.flip(-2, -1).expand(3, 1, 5, 4), groups=3)
    assert torch.allclose(circular, expected, atol=1e-5)
    assert torch.allclose(physics.blur(x, k / k.sum()).mean(), x.mean(), atol=1e-5)  # normalized kernels keep the mean


def test_data_step_and_wiener_invert_a_well_conditioned_blur():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 24, 24)
    k = torch.zeros(3, 3)
    k[1, 1], k[1, 2], k[2, 1] = 0.7, 0.15, 0.15  # |OTF| >= 0.4 everywhere
    y = physics.blur(x, k)
    otf = physics.kernel_otf(k, (24, 24))
    assert torch.allclose(physics.data_step(y, otf, torch.zeros_like(y), 0.0), x, atol=1e-4)
    z = torch.rand_like(x)
    assert torch.allclose(physics.data_step(y, otf, z, 1e6), z, atol=1e-4)  # a huge rho returns z
    assert torch.allclose(physics.wiener(y, k, 1e-6), x, atol=1e-3)
    with pytest.raises(ValueError, match="nsr"):
        physics.wiener(y, k, 0.0)


def test_degrade_is_seeded_and_bad_input_is_refused(data_dir):
    kernels = data.load_kernels("kernels_12")
    x = data.load("set12", limit=1, crop=64).images
    y = physics.degrade(x, torch.from_numpy(kernels[0]), 2.55, seed=3)
    assert torch.equal(y, physics.degrade(x, torch.from_numpy(kernels[0]), 2.55, seed=3))
    assert 0.005 < (y - physics.blur(x, torch.from_numpy(kernels[0]))).std() < 0.015  # sigma 2.55 / 255
    with pytest.raises(ValueError, match="kernel must be 2-D"):
        physics.blur(x, torch.ones(1, 1, 3, 3))
    with pytest.raises(ValueError, match="kernel must be 2-D \\(kh, kw\\), got"):
        physics.blur(x, torch.ones(1, 3, 3), "valid")  # one kernel per image: circular only
    with pytest.raises(ValueError, match="boundary must be one of"):
        physics.blur(x, torch.ones(3, 3), "reflect")
    with pytest.raises(ValueError, match="larger than the image"):
        physics.blur(x[..., :8, :8], torch.from_numpy(kernels[0]))


def test_one_kernel_per_image_and_the_training_bank():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 20, 20)
    k = _motion()
    square = physics.stack_kernels([k[:, :3], torch.ones(3, 3) / 9])  # 5x3 and 3x3, centred in 5x5
    assert square.shape == (2, 5, 5)
    together = physics.blur(x, square)
    assert torch.allclose(together[:1], physics.blur(x[:1], k[:, :3]), atol=1e-5)  # padding keeps the centre
    assert torch.allclose(together[1:], physics.blur(x[1:], torch.ones(3, 3) / 9), atol=1e-5)
    with pytest.raises(ValueError, match="odd sizes"):
        physics.stack_kernels([k])
    small = physics.resize_kernel(k, 3)
    assert small.shape == (3, 3) and (small >= 0).all() and torch.isclose(small.sum(), torch.tensor(1.0))
    bank = physics.kernel_bank([k[:, :3].numpy()], sizes=(3, 5))
    assert bank.shape == (16, 5, 5) and torch.allclose(bank.sum((1, 2)), torch.ones(16))
    assert len({tuple(b.flatten().tolist()) for b in bank[8:]}) == 8  # the eight flips/rotations differ
    with pytest.raises(ValueError, match="odd"):
        physics.kernel_bank([k.numpy()], sizes=(4,))
