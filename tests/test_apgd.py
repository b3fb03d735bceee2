import math
import os
from pathlib import Path

import pytest
import torch
from test_attacks import _one_per_architecture

from companion import data, metrics, models, noise, weights
from companion.attacks import COLOR_EPS, GRAY_EPS, apgd, denoising_pgd, engine
from companion.attacks.apgd import checkpoints
from companion.evaluation import clipped_denoise
from companion.models.base import NotDifferentiableError


def _tiny():
    torch.manual_seed(0)
    return models.DnCNN(1, depth=3, features=8)


def _images(n=2, size=16, seed=0):
    clean = torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed))
    return noise.gaussian(clean, 25, seed=seed), clean


class Identity(torch.nn.Module):
    """D(x) = w x with w = 1: the objective ||x' - y||^2 has a closed-form maximum over the ball."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x, sigma=None):
        return self.w * x


class NoGradient(torch.nn.Module):
    def forward(self, x, sigma=None):
        with torch.no_grad():
            return x.clone()


def _has_weights(name: str) -> bool:
    entry = models.spec(name)
    folder = os.environ.get("COMPANION_WEIGHTS_DIR")
    return bool(entry.ours or (entry.official and folder and
                               (Path(folder) / weights.official(entry.official).filename).is_file()))


def _one_per_network() -> list:
    """One name per network and channel count among ``_one_per_architecture()`` (the DnCNN,
    Noise2Noise... variants share one network; the test stays within its time): the first with
    trained weights here, else the first."""
    chosen = {}
    for name in _one_per_architecture():
        entry = models.spec(name)
        key = (entry.build.__module__, entry.channels)
        if key not in chosen or (not _has_weights(chosen[key]) and _has_weights(name)):
            chosen[key] = name
    return list(chosen.values())


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("clip", [False, True])
def test_the_budget_holds_exactly(norm, clip):
    model = _tiny().train()
    x, clean = _images()
    x = x.clamp(0, 1) if clip else x
    eps = 0.03
    adv = apgd(model, x, clean, eps=eps, steps=4, norm=norm, clip=clip)
    d = adv - x
    if norm == "linf":
        assert d.abs().max() <= eps + 1e-6
        assert d.abs().max() >= eps - 1e-6  # it used the budget
    else:
        radius = eps * math.sqrt(x[0].numel())
        assert (engine.norms(d) <= radius * (1 + 1e-6)).all() and (engine.norms(d) >= 0.5 * radius).all()
        assert d.abs().max() > eps  # an L2 ball, not the L-infinity one
    if clip:
        assert adv.min() >= 0 and adv.max() <= 1
    assert model.training and not adv.requires_grad and all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_a_batch_is_one_image_at_a_time_bit_for_bit(norm):
    model = _tiny()
    x, clean = _images(3)
    adv = apgd(model, x, clean, steps=5, norm=norm, seed=7, restarts=2)
    alone = torch.cat([apgd(model, x[i:i + 1], clean[i:i + 1], steps=5, norm=norm, seed=7 + i, restarts=2)
                       for i in range(3)])
    assert torch.equal(adv, alone)
    assert torch.equal(adv, apgd(model, x, clean, steps=5, norm=norm, seed=7, restarts=2))
    assert not torch.equal(adv, apgd(model, x, clean, steps=5, norm=norm, seed=8, restarts=2))
    mixed = apgd(model, [x[:1], x[1:2, :, :12, :10]], [clean[:1], clean[1:2, :, :12, :10]], steps=3, norm=norm)
    assert torch.equal(mixed[0], apgd(model, x[:1], clean[:1], steps=3, norm=norm))
    assert mixed[1].shape == (1, 1, 12, 10)


def test_the_checkpoints_of_the_paper():
    # p_j = 0, .22, .41, .57, .70, .80, .87, .93, .99, 1.05 (Croce & Hein 2020, Sec. 3.2)
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert checkpoints(10) == [3, 5, 6, 7, 8, 9]  # ceil(2.2), ceil(4.1), ceil(5.7), 7, 8, ceil(8.7), ceil(9.3)
    assert checkpoints(5) == [2, 3, 4]  # equal w_j counted once
    assert checkpoints(1) == []


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_it_reaches_the_closed_form_maximum(norm):
    """For D = identity, max ||x' - y||^2 over the ball around x is sum (|x - y| + eps)^2
    (L-infinity: every value pushed away from y) or (||x - y|| + R)^2 (L2: along x - y). With
    |x - y| > eps everywhere no ascent can stop at another vertex of the L-infinity ball."""
    g = torch.Generator().manual_seed(0)
    clean = 0.2 + 0.6 * torch.rand(2, 1, 8, 8, generator=g)
    x = clean + 0.1 * torch.randn(2, 1, 8, 8, generator=g).sign()
    eps = 0.02
    adv = apgd(Identity(), x, clean, eps=eps, steps=20, norm=norm)
    got = ((adv - clean) ** 2).flatten(1).sum(dim=1)
    d = (x - clean).flatten(1)
    best = ((d.abs() + eps) ** 2).sum(dim=1) if norm == "linf" else (d.norm(dim=1) + eps * math.sqrt(64)) ** 2
    assert torch.allclose(got, best, rtol=1e-5)


def test_bad_input_gets_one_line_errors():
    model = _tiny()
    x, clean = _images()
    cases = [({"norm": "l1"}, "choose 'linf' or 'l2'"), ({"eps": -0.1}, "eps >= 0"),
             ({"eps": float("nan")}, "finite eps"),
             ({"eps": 8}, "not 8"), ({"steps": 0}, "steps >= 1"), ({"restarts": 0}, "restarts >= 1"),
             ({"rho": 1.5}, "rho"), ({"momentum": 0}, "momentum"), ({"clip": True}, "clip the noisy images first")]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            apgd(model, x, clean, **kwargs)
        assert "\n" not in str(err.value)
    bad = x.clone()
    bad[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        apgd(model, bad, clean)
    with pytest.raises(NotDifferentiableError, match="spsa"):
        apgd(NoGradient(), x, clean)


@pytest.mark.parametrize("name", _one_per_network())
def test_at_or_below_denoising_pgd_for_every_network(name, data_dir, weights_dir):
    """At the same budget and steps, APGD's robust PSNR is at or below denoising-PGD's. An untrained
    network (its official file is not here) has outputs far outside [0, 1], where the clipped PSNR
    is not what the attacks maximize: there the objective itself is compared."""
    color = models.spec(name).channels == 3
    clean = data.load("set3c" if color else "set12", limit=2, crop=32).images
    trained = _has_weights(name)
    model = models.create(name, weights="best" if trained else None)
    x = noise.gaussian(clean, 25)
    eps = COLOR_EPS if color else GRAY_EPS
    ours, theirs = (attack(model, x, clean, eps=eps, steps=5) for attack in (apgd, denoising_pgd))
    if trained:
        assert metrics.psnr(clipped_denoise(model, ours), clean).mean() <= \
            metrics.psnr(clipped_denoise(model, theirs), clean).mean()
    else:
        assert engine.losses(model, ours, clean).mean() >= engine.losses(model, theirs, clean).mean()
