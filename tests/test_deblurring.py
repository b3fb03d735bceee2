"""Deblurring networks, the trainer's deblur mode and the attacks of Gandikota et al. (issue 10)."""

import pytest
import torch

from companion import models, physics, train
from companion.experiments import deblurring
from companion.attacks import deblur_pgd

NETS = [n for n in deblurring.NETWORKS if n != "dpir_small"]


@pytest.fixture
def crops(data_dir):
    from companion import data

    clean = data.load("set12", limit=2, crop=48).images
    kernels = deblurring.kernels_for(2, deblurring.test_kernels(11))
    return clean, kernels, physics.degrade(clean, kernels, deblurring.SIGMA)


@pytest.mark.parametrize("name", NETS)
def test_networks_keep_odd_sizes_and_pass_gradients(name):
    torch.manual_seed(0)
    net = deblurring.network(name, weights=None, steps=2)
    y = torch.rand(2, 1, 29, 23, requires_grad=True)
    kernel = torch.ones(2, 5, 5) / 25
    out = net(y, kernel, torch.tensor([0.0, 2.55]))
    assert out.shape == y.shape and torch.isfinite(out).all()
    out.square().sum().backward()
    assert y.grad.abs().sum() > 0
    assert net.blind == (name == "mprnet_small")


def test_deblur_mode_blurs_each_patch_with_its_kernel():
    cfg = train.TrainConfig(mode="deblur", sigma=(0.0, 2.55), batch_size=4)
    clean = torch.rand(4, 1, 32, 32)
    y, target, told = train.noisy_batch(clean, cfg, step=3)
    assert torch.equal(target, clean) and set(told) == {"sigma", "kernel"} and told["kernel"].shape == (4, 25, 25)
    assert (told["sigma"] <= 2.55).all() and torch.equal(y, train.noisy_batch(clean, cfg, step=3)[0])
    blurred = torch.fft.ifft2(torch.fft.fft2(clean) * physics.kernel_otf(told["kernel"], (32, 32))).real
    assert (y - blurred).std() < 2.55 / 255 + 1e-3  # what is left is the noise
    with pytest.raises(ValueError, match="deblur training uses Gaussian noise"):
        train.TrainConfig(mode="deblur", noise="poisson")


def test_a_few_deblur_steps_lower_the_loss(tmp_path, data_dir):
    from companion import data

    torch.manual_seed(0)
    net = models.DWDN(1, 4, (4, 8), 1)
    cfg = train.TrainConfig(mode="deblur", sigma=(0.0, 2.55), loss="l1", steps=30, batch_size=4, patch_size=32,
                            lr=3e-3)
    history = train.train(net, data.load("train400", limit=8), cfg, tmp_path / "s.pt", progress=False)["loss"]
    assert sum(history[-5:]) < sum(history[:5])


def test_attacks_keep_the_budget_and_reach_their_goal(crops):
    clean, kernels, y = crops
    bound = deblurring.Bound(deblurring.network("dwdn_small"), kernels)
    eps = 8 / 255
    start = deblur_pgd(bound, y, eps, steps=0, seed=1)
    assert (start - y).abs().max() <= eps + 1e-6
    away = deblur_pgd(bound, y, eps, steps=20, lr=2e-3, seed=1)
    assert (away - y).abs().max() <= eps + 1e-6
    with torch.no_grad():
        base = bound(y)
        assert (bound(away) - base).norm() > 2 * (bound(start) - base).norm()  # pushed away from N(y)
    target = clean.flip(-1)
    toward = deblur_pgd(bound, y, eps, steps=20, lr=2e-3, target=target, seed=1)
    with torch.no_grad():
        assert (bound(toward) - target).norm() < (bound(start) - target).norm()
    # batch independence: the second image attacked alone (seed + 1) gives the same result, up to
    # float rounding that Adam's normalized steps amplify where a gradient is near zero (on an AVX2
    # CPU: 0.7 % of the pixels differ by more than 1e-5, none by a step lr); a wrong seed or
    # images coupled in the loss would move every pixel by up to eps
    alone = deblur_pgd(deblurring.Bound(bound.deblurrer, kernels[1:]), y[1:], eps, steps=20, lr=2e-3, seed=2)
    gap = (alone - away[1:]).abs()
    assert gap.mean() < 1e-5 and gap.max() < 2e-3
    assert all(p.grad is None for p in bound.parameters())
    with pytest.raises(ValueError, match="differ in shape"):
        deblur_pgd(bound, y, eps, steps=1, target=target[:1])
    with pytest.raises(ValueError, match="need a finite eps >= 0"):
        deblur_pgd(bound, y, -1.0)


@pytest.mark.parametrize("name", NETS)
def test_our_checkpoints_deblur(name, crops):
    from companion import metrics

    clean, kernels, y = crops
    restored = deblurring.restore(deblurring.network(name), y, kernels)
    gain = metrics.psnr(restored, clean) - metrics.psnr(y.clamp(0, 1), clean)
    # measured: blind mprnet_small +1.3 / +0.9 dB (it barely deblurs unseen kernels), dwdn_small
    # +7.8 / +4.9, lgd_small +6.5 / +3.9
    assert (gain > (0.5 if name == "mprnet_small" else 3.0)).all(), gain


def test_unknown_network_and_missing_portraits():
    with pytest.raises(ValueError, match="unknown deblurring network 'deblurgan'.*mprnet_small"):
        deblurring.network("deblurgan")
    with pytest.raises(ValueError, match="'lena'.*whole of set12"):
        deblurring.portraits([("cameraman", torch.zeros(1, 1, 64, 64))], 32)
