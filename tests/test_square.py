import math

import numpy as np
import pytest
import torch

from companion import data, models, noise
from companion.attacks import GRAY_EPS, engine, square, square_trace
from companion.attacks.square import bump, fraction, pattern, side
from test_apgd import _images, _tiny  # the same tiny DnCNN and noisy images as APGD's tests


class Quantized(torch.nn.Module):
    """A denoiser without gradient: a 3x3 box filter rounded to 8 bits, under torch.no_grad."""

    def forward(self, x, sigma=None):
        with torch.no_grad():
            smooth = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
            return torch.round(smooth * 255) / 255


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("clip", [False, True])
def test_the_budget_holds_exactly(norm, clip):
    model = _tiny().train()
    x, clean = _images()
    x = x.clamp(0, 1) if clip else x
    eps = 0.03
    adv = square(model, x, clean, eps=eps, queries=12, norm=norm, clip=clip)
    d = adv - x
    if norm == "linf":
        assert d.abs().max() <= eps + 1e-6
    else:
        radius = eps * math.sqrt(x[0].numel())
        assert (engine.norms(d) <= radius * (1 + 1e-6)).all()
        if not clip:  # Alg. 3 keeps the perturbation on the sphere
            assert (engine.norms(d) >= radius * (1 - 1e-5)).all()
    if clip:
        assert adv.min() >= 0 and adv.max() <= 1
    else:  # the L-infinity init and updates sit on vertices of the ball
        assert norm == "l2" or torch.allclose(d.abs(), torch.full_like(d, eps), atol=1e-6)
    assert model.training and all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_a_batch_is_one_image_at_a_time_bit_for_bit(norm):
    model = _tiny()
    x, clean = _images(3)
    adv = square(model, x, clean, queries=15, norm=norm, seed=5)
    alone = torch.cat([square(model, x[i:i + 1], clean[i:i + 1], queries=15, norm=norm, seed=5 + i) for i in range(3)])
    assert torch.equal(adv, alone)
    assert torch.equal(adv, square(model, x, clean, queries=15, norm=norm, seed=5))
    assert not torch.equal(adv, square(model, x, clean, queries=15, norm=norm, seed=6))
    mixed = square(model, [x[:1], x[1:2, :, :12, :10]], [clean[:1], clean[1:2, :, :12, :10]], queries=6, norm=norm)
    assert torch.equal(mixed[0], square(model, x[:1], clean[:1], queries=6, norm=norm))
    assert mixed[1].shape == (1, 1, 12, 10)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_the_accepted_loss_never_decreases(norm):
    model = _tiny()
    x, clean = _images(2)
    adv, losses = square_trace(model, x, clean, queries=25, norm=norm, seed=1)
    assert losses.shape == (2, 25)
    assert (losses.diff(dim=1) >= 0).all() and (losses[:, -1] > losses[:, 0]).all()
    assert torch.equal(losses[:, -1], engine.losses(model, adv, clean))  # the trace follows the point returned


def test_the_schedule_and_the_pattern_of_the_paper():
    # p_init halved after iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10 000, rescaled
    assert [fraction(0.8, i, 10_000) for i in (1, 10, 11, 51, 8001)] == [0.8, 0.8, 0.4, 0.2, 0.8 / 512]
    assert fraction(0.8, 1, 100) == 0.2 and fraction(0.8, 99, 100) == 0.8 / 512  # 1 of 100 counts as 100
    assert side(0.05, 32, 32) == 7 and side(1e-6, 32, 32) == 1 and side(0.05, 32, 32, least=2) == 7
    assert side(1.0, 40, 20) == 20
    # eq. (5), n = 2: centre 1 + 1/4 + 1/9, ring 1/4 + 1/9, border 1/9
    assert np.allclose(bump(5, 5)[2], [1 / 9, 13 / 36, 1 + 13 / 36, 13 / 36, 1 / 9])
    eta = pattern(6)
    assert np.isclose(np.linalg.norm(eta), 1) and np.allclose(eta[:, :3], -eta[:, 3:][:, ::-1])


def test_bad_input_gets_one_line_errors():
    model = _tiny()
    x, clean = _images()
    cases = [({"norm": "l1"}, "choose 'linf' or 'l2'"), ({"eps": -0.1}, "eps >= 0"),
             ({"eps": float("inf")}, "finite eps"),
             ({"queries": 0}, "queries >= 1"), ({"p_init": 0}, "p_init > 0"), ({"clip": True}, "clip=False")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            square(model, x, clean, **kwargs)
        assert "\n" not in str(err.value)
    bad = x.clone()
    bad[1, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        square(model, bad, clean)


def test_it_attacks_a_model_without_gradient():
    x, clean = _images(2)
    adv, losses = square_trace(Quantized(), x, clean, queries=20, norm="linf")
    assert (losses[:, -1] > losses[:, 0]).all() and (adv - x).abs().max() <= GRAY_EPS + 1e-6


def test_it_beats_random_noise_of_the_same_budget_on_dncnn(data_dir, weights_dir):
    model = models.create("dncnn_s25")
    clean = data.load("set12", limit=2, crop=32).images
    x = noise.gaussian(clean, 25)
    adv = square(model, x, clean, queries=60)
    signs = torch.from_numpy(np.random.default_rng(0).choice([-1.0, 1.0], size=x.shape).astype(np.float32))
    random = engine.losses(model, x + GRAY_EPS * signs, clean)
    init = engine.losses(model, square(model, x, clean, queries=1), clean)  # the stripes alone
    assert (engine.losses(model, adv, clean) > torch.maximum(random, init)).all()
