"""OBSATK as its authors run it (issue 31): their loop restated line by line, the exact
constraints on saturated images, their step size and their budget over the average image size."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from companion import models, noise
from companion.attacks import obsatk
from companion.attacks.obsatk import centre, project, rho


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return models.DnCNN(1, depth=4, features=8).eval()


def saturated_crops(n: int = 2, size: int = 32) -> torch.Tensor:
    """Cameraman-like crops, seeded: a white sky (1.0), a black figure (0.0) and a textured ground."""
    g = torch.Generator().manual_seed(3)
    out = torch.ones(n, 1, size, size)
    for k in range(n):
        out[k, :, size // 4:, size // 3 + k:size // 2 + k] = 0.0
        out[k, :, 3 * size // 4:] = 0.3 + 0.4 * torch.rand(size // 4, size, generator=g)
    return out


def their_loop(net, clean, sigma_obs, r, steps=5, frac=0.3, seed=0):
    """HanshuYAN/ObsAtk as main_eval_single.py runs it, restated line by line: the observation
    (``datasets/misc.py adding_guas_noise``, our seeded noise), then ``perturb_iterative`` of
    ``advertorch/attacks4IP/zero_mean_pgd.py`` with ord 2 on one image at a time, eps = r/255
    sqrt(average size), eps_iter = 0.3 eps, nb_iter 5, no random start, clip [0, 1], MSE loss."""
    avg_size = sum(c.numel() for c in clean) / len(clean)
    eps = r / 255 * math.sqrt(avg_size)
    eps_iter = frac * eps
    outputs = []
    for i in range(len(clean)):
        target = clean[i:i + 1]
        xvar = torch.clamp(noise.gaussian(target, sigma_obs, seed=seed + i), min=0, max=1)
        delta = torch.zeros_like(xvar)
        delta.requires_grad_()
        for _ in range(steps):
            outputs_ = net(xvar + delta)
            loss = torch.nn.MSELoss()(outputs_, target)
            loss.backward()
            grad = delta.grad.data
            norm = torch.max(grad.view(1, -1).norm(p=2, dim=1), torch.ones(1) * 1e-6)  # normalize_by_pnorm
            grad = grad / norm.view(-1, 1, 1, 1)
            delta.data = delta.data + eps_iter * grad
            delta.data = torch.clamp(xvar.data + delta.data, 0, 1) - xvar.data
            data = delta.data.view(1, 1, -1)  # zero_mean_projection
            normal = torch.ones_like(data).transpose(1, 2)
            inner = torch.bmm(data, normal) / (normal ** 2).sum(dim=(1, 2), keepdim=True)
            delta.data = (data - inner * normal.transpose(1, 2)).view_as(xvar)
            norm = delta.data.view(1, -1).norm(p=2, dim=1)  # clamp_by_pnorm
            factor = torch.min(eps / norm, torch.ones_like(norm))
            delta.data = delta.data * factor.view(-1, 1, 1, 1)
            delta.grad.data.zero_()
        outputs.append(torch.clamp(xvar + delta, 0, 1).detach())
    return torch.cat(outputs)


def _psnr(model, x, clean):
    with torch.no_grad():
        mse = ((model(x).clamp(0, 1) - clean) ** 2).flatten(1).mean(dim=1)
    return 10 * torch.log10(1 / mse)


@pytest.mark.parametrize("kind", ["smooth", "saturated"])
def test_matches_a_restatement_of_the_authors_loop(net, kind):
    if kind == "smooth":
        t = torch.linspace(0, 1, 32)
        clean = torch.stack([0.5 + 0.3 * torch.sin(2 * np.pi * (k + 1) * t)[None, :] * torch.cos(np.pi * t)[:, None]
                             for k in range(2)])[:, None]
    else:
        clean = saturated_crops()
    theirs = their_loop(net, clean, 20, 5)
    y = noise.gaussian(clean, 20, seed=0)  # unclipped: the attack clips the observation as theirs is
    ours = obsatk(net, y, clean, r=5)
    # ours = their output with the last projection made exact within [0, 1] (their final clip
    # leaves a mean; the exact one removes it from the pixels left free)
    observed = y.clamp(0, 1)
    exact = observed + project(theirs - observed, rho(5, clean[0].numel()), -observed, 1 - observed)
    # their loop is chaotic at the level of float rounding (moving its input by 1e-7 moves single
    # output pixels by up to 0.5/255 on DnCNN-B); on this small net the two agree far closer
    assert (ours - exact).abs().max() < 0.02 / 255
    assert torch.allclose(_psnr(net, ours, clean), _psnr(net, exact, clean), atol=1e-3)
    shift = (theirs - exact).abs().max()
    assert shift < 0.02 / 255 if kind == "smooth" else 0.1 / 255 < shift < 1 / 255
    assert (_psnr(net, theirs, clean) < _psnr(net, observed, clean)).all()  # it is an attack
    # our earlier rules are measurably not theirs
    for other in (dict(step="ours"), dict(clip="final"), dict(clip="final", step="ours", rho_size="per_image")):
        assert (obsatk(net, y, clean, r=5, **other) - theirs).abs().max() > 0.2 / 255, other


def test_constraints_hold_exactly_on_saturated_images(net):
    clean = saturated_crops()
    y = noise.gaussian(clean, 20, seed=0)
    budget = rho(7, clean[0].numel())
    adv = obsatk(net, y, clean, r=7)
    delta = adv - y.clamp(0, 1)
    assert adv.min() >= 0 and adv.max() <= 1
    assert delta.flatten(1).mean(dim=1).abs().max() < 1e-7
    assert (delta.flatten(1).norm(dim=1) <= budget * (1 + 1e-6)).all()
    assert (delta.flatten(1).norm(dim=1) > 0.9 * budget).all()  # the budget is used
    # the authors' own final clip leaves the mean off zero; our earlier rule breaks both constraints
    theirs = their_loop(net, clean, 20, 7) - y.clamp(0, 1)
    assert theirs.flatten(1).mean(dim=1).abs().max() > 1e-6
    old = obsatk(net, y, clean, r=7, clip="final", step="ours") - y
    assert (old.flatten(1).norm(dim=1) > 1.05 * budget).all() and old.flatten(1).mean(dim=1).abs().max() > 0.1 / 255


def test_centre_within_the_box_is_the_projection_onto_box_and_hyperplane():
    """min ||z - v|| s.t. mean z = 0, low <= z <= high (low <= 0 <= high), by a numerical solver."""
    rng = np.random.default_rng(0)
    for trial in range(10):
        y = np.clip(rng.uniform(-0.3, 1.3, 8), 0, 1)  # saturated values at 0 and 1
        v = rng.normal(0.1, 0.2, 8)
        low, high = -y, 1 - y
        best = minimize(lambda z: ((z - v) ** 2).sum(), np.zeros(8), bounds=list(zip(low, high)),
                        constraints=[{"type": "eq", "fun": lambda z: z.sum()}], method="SLSQP",
                        options={"ftol": 1e-14, "maxiter": 500}).x
        t = [torch.from_numpy(a).view(1, 1, 2, 4) for a in (v, low, high)]
        ours = centre(*t).view(-1).numpy()
        assert np.allclose(ours, best, atol=1e-6), trial
        assert abs(ours.mean()) < 1e-12 and (ours >= low - 1e-12).all() and (ours <= high + 1e-12).all()
    inside = torch.randn(2, 1, 4, 4) * 0.01
    assert torch.equal(centre(inside, -torch.ones_like(inside), torch.ones_like(inside)), centre(inside))


def test_authors_step_and_ours():
    """One step from delta = 0: 0.3 rho along the normalized gradient, centred (theirs), or
    2.5 rho / T = 2.5 rho, centred and scaled back onto the ball (ours)."""
    net = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False).eval()
    torch.nn.init.normal_(net.weight, generator=torch.Generator().manual_seed(0))
    clean = torch.full((1, 1, 16, 16), 0.5)
    y = noise.gaussian(clean, 5, seed=1)  # no value near 0 or 1: no clipping
    budget = rho(5, 256)
    x = y.clone().requires_grad_(True)
    grad, = torch.autograd.grad(((net(x) - clean) ** 2).sum(), x)
    direction = centre(grad / grad.norm())
    assert torch.allclose(obsatk(net, y, clean, r=5, steps=1), y + 0.3 * budget * direction, atol=1e-7)
    ours = y + budget * direction / direction.norm()
    assert torch.allclose(obsatk(net, y, clean, r=5, steps=1, step="ours"), ours, atol=1e-7)
    smaller = obsatk(net, y, clean, r=5, steps=1, eta=0.1 * budget)
    assert torch.allclose(smaller, y + 0.1 * budget * direction, atol=1e-7)


def test_rho_from_the_average_size_of_the_images_given(net):
    clean = [torch.full((1, 1, 16, 16), 0.5), torch.full((1, 1, 32, 32), 0.5)]
    y = [noise.gaussian(c, 5, seed=i) for i, c in enumerate(clean)]

    def norms(**kw):  # one big step ("ours", T = 1) lands on the ball
        adv = obsatk(net, y, clean, r=5, steps=1, step="ours", **kw)
        return [float((a - b).flatten().norm()) for a, b in zip(adv, y)]

    average = (16 * 16 + 32 * 32) / 2
    assert norms() == pytest.approx([rho(5, average)] * 2, rel=1e-5)
    assert norms(rho_size="per_image") == pytest.approx([rho(5, 256), rho(5, 1024)], rel=1e-5)
    assert norms(rho_size=400) == pytest.approx([rho(5, 400)] * 2, rel=1e-5)


def test_bad_options(net):
    x = torch.full((1, 1, 8, 8), 0.5)
    with pytest.raises(ValueError, match="clip=True: choose one of"):
        obsatk(net, x, x, clip=True)
    with pytest.raises(ValueError, match="rho_size='mean'"):
        obsatk(net, x, x, rho_size="mean")
    with pytest.raises(ValueError, match="rho_size"):
        obsatk(net, x, x, rho_size=0)
    with pytest.raises(ValueError, match="unknown step rule 'normalized'"):
        obsatk(net, x, x, step="normalized")
