"""A battery of bad inputs into images, models, weights and attacks (issue 30), one row per case.

``REFUSED``: the call, the error it must raise and a phrase of its one-line message (each row
passed silently or failed deep in torch before the issue). ``WARNED``: the warning a call must
give. ``HANDLED``: inputs at the edge of what is allowed, and what must come out. Every attack of
the package (denoising-PGD, L2-PGD, OBSATK, BPDA, SPSA, DAG, deblurring PGD, classifier FGSM, PGD
and One Pixel) gets the shared budget, step size, step count and image rows. Tensors are tiny.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from companion import checks, evaluation, models, noise, weights
from companion.attacks import (bpda_pgd, dag, deblur_pgd, denoising_pgd, l2_denoising_pgd, obsatk,
                               spsa)
from companion.attacks.classifier import fgsm, one_pixel, pgd
from companion.attacks.engine import ZeroGradientWarning
from companion.models.base import NotDifferentiableError

NAN, INF = float("nan"), float("inf")

torch.manual_seed(0)
X = 0.2 + 0.6 * torch.rand(2, 1, 8, 8)  # clean, in [0, 1]
N = X + 0.1 * torch.randn(2, 1, 8, 8)  # noisy, unclipped
LABELS = torch.tensor([0, 2])
NET = models.DnCNN(1, depth=3, features=4).eval()
COLOR = models.DnCNN(3, depth=3, features=4).eval()
FFD = models.FFDNet(1, depth=3, features=4, sigma=25)
CLF = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 3)).eval()


def with_value(x: torch.Tensor, value: float, index: int = 5) -> torch.Tensor:
    """``x`` with one value replaced (a NaN pixel, an inf)."""
    x = x.clone()
    x.view(-1)[index] = value
    return x


class Rounding(nn.Module):
    """A network with a non-differentiable layer: its input gradient is zero everywhere."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.round(x * 4) / 4)


class NoGradForward(nn.Module):
    """A network whose forward runs under torch.no_grad: its output has no gradient at all."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    @torch.no_grad()
    def forward(self, x):
        return self.inner(x)


# Every attack, called on the tiny batch: (call(model=..., images=..., **kwargs), budget, step size, step count).
# ``images`` replaces the attacked input (noisy, blurred, or the clean image for DAG and the classifier attacks).
ATTACKS = {
    "denoising_pgd": (lambda m=NET, images=N, **kw: denoising_pgd(m, images, X, **kw), "eps", "alpha", "steps"),
    "l2_denoising_pgd": (lambda m=NET, images=N, **kw: l2_denoising_pgd(m, images, X, **kw), "eps", "alpha", "steps"),
    "obsatk": (lambda m=NET, images=N, **kw: obsatk(m, images, X, **kw), "r", "eta", "steps"),
    "bpda_pgd": (lambda m=NET, images=N, **kw: bpda_pgd(m, images, X, **kw), "eps", "alpha", "steps"),
    "spsa": (lambda m=NET, images=N, **kw: spsa(m, images, X, **{"samples": 2, **kw}), "eps", "alpha", "iterations"),
    "dag": (lambda m=NET, images=X, **kw: dag(m, images, N, **{"steps": 2, **kw}), "eps", "gamma", "steps"),
    "deblur_pgd": (lambda m=NET, images=N, **kw: deblur_pgd(m, images, **{"eps": 0.01, "steps": 2, **kw}),
                   "eps", "lr", "steps"),
    "fgsm": (lambda m=CLF, images=X, **kw: fgsm(m, images, LABELS, **{"eps": 0.1, **kw}), "eps", None, None),
    "pgd": (lambda m=CLF, images=X, **kw: pgd(m, images, LABELS, **{"eps": 0.1, "steps": 2, **kw}),
            "eps", "alpha", "steps"),
    "one_pixel": (lambda m=CLF, images=X, **kw: one_pixel(m, images, LABELS, **{"population": 4, "generations": 1, **kw}),
                  None, None, "generations"),
}
LINF = {"denoising_pgd", "l2_denoising_pgd", "bpda_pgd", "spsa", "dag", "deblur_pgd", "fgsm", "pgd"}
"""The attacks whose budget is a radius on the [0, 1] scale (OBSATK's r is on the 0-255 scale)."""


def _attack_rows():
    rows = []
    for name, (call, eps, step, steps) in ATTACKS.items():
        def bad(**kw):
            return lambda call=call: call(**kw)
        if eps:
            for value in (NAN, INF, -0.01):
                rows.append((f"{name}-{eps}={value}", bad(**{eps: value}), ValueError, f"need a finite {eps} >= 0"))
            if name in LINF:
                rows.append((f"{name}-{eps}=8 (0-255 scale)", bad(**{eps: 8}), ValueError, "write 8/255, not 8"))
            rows.append((f"{name}-{eps}='0.01'", bad(**{eps: "0.01"}), TypeError, f"{eps} must be a number"))
        if step:
            for value in (-0.01, 0.0, NAN, INF):
                rows.append((f"{name}-{step}={value}", bad(**{step: value}), ValueError,
                             f"need a finite {step} > 0.*helps the model"))
        if steps:
            for value in (2.5, -1, INF):
                rows.append((f"{name}-{steps}={value}", bad(**{steps: value}), ValueError,
                             f"need a whole number {steps} >= "))
        what = "images" if name in ("fgsm", "pgd", "one_pixel") else \
            "clean image" if name == "dag" else "blurred image" if name == "deblur_pgd" else "noisy image"
        image = X if name in ("fgsm", "pgd", "one_pixel", "dag") else N
        rows += [
            (f"{name}-one NaN pixel", bad(images=with_value(image, NAN)), ValueError, f"{what} holds 1 non-finite"),
            (f"{name}-an inf pixel", bad(images=with_value(image, INF)), ValueError, f"{what} holds 1 non-finite"),
            (f"{name}-0-255 images", bad(images=image * 255), ValueError, "(?i)divide .*by 255"),
            (f"{name}-empty batch", bad(images=image[:0]), ValueError, "images? is empty"),
            (f"{name}-uint8 images", bad(images=(image * 255).to(torch.uint8)), TypeError, r"x.float\(\) / 255"),
        ]
    return rows


REFUSED = [
    # images: noise models
    ("gaussian-NaN pixel", lambda: noise.gaussian(with_value(X, NAN), 25), ValueError, "clean image holds 1 non-finite"),
    ("gaussian-sigma NaN", lambda: noise.gaussian(X, NAN), ValueError, "need a finite sigma >= 0"),
    ("gaussian-sigma inf", lambda: noise.gaussian(X, INF), ValueError, "need a finite sigma >= 0"),
    ("gaussian-sigma -1", lambda: noise.gaussian(X, -1), ValueError, "need a finite sigma >= 0"),
    ("gaussian-sigma '25'", lambda: noise.gaussian(X, "25"), TypeError, "sigma must be a number"),
    ("gaussian-0-255 clean", lambda: noise.gaussian(X * 255, 25), ValueError, "divide by 255"),
    ("gaussian-empty", lambda: noise.gaussian(X[:0], 25), ValueError, "clean image is empty"),
    ("gaussian-0x0 image", lambda: noise.gaussian(torch.rand(1, 1, 0, 0), 25), ValueError, "is empty"),
    ("gaussian-uint8", lambda: noise.gaussian((X * 255).to(torch.uint8), 25), TypeError, "convert with"),
    ("gaussian-NHWC", lambda: noise.gaussian(X.permute(0, 2, 3, 1), 25), ValueError, "looks like NHWC"),
    ("gaussian-5-D", lambda: noise.gaussian(X[None], 25), ValueError, "expected NCHW"),
    ("uniform-sigma NaN", lambda: noise.uniform(X, NAN), ValueError, "need a finite sigma >= 0"),
    ("poisson-photons NaN", lambda: noise.poisson(X, NAN), ValueError, "need a finite photons > 0"),
    ("poisson-photons 0", lambda: noise.poisson(X, 0), ValueError, "need a finite photons > 0"),
    ("poisson-dispersion NaN", lambda: noise.poisson(X, 100, dispersion=NAN), ValueError, "need a finite dispersion"),
    ("negative binomial-dispersion inf", lambda: noise.negative_binomial_photons(np.random.RandomState(0), 100, INF),
     ValueError, "dispersion > 0"),
    ("impulse-p NaN", lambda: noise.impulse(X, NAN), ValueError, "p is a probability"),
    ("impulse-p 1.5", lambda: noise.impulse(X, 1.5), ValueError, "p is a probability"),
    ("salt and pepper-fraction NaN", lambda: noise.salt_and_pepper(X, NAN), ValueError, "fraction is in"),
    ("sparse gaussian-std NaN", lambda: noise.sparse_gaussian(X, 0.1, std=NAN), ValueError, "need a finite std"),
    ("add-typo", lambda: noise.add("gausian", X, 25), ValueError, "unknown noise 'gausian'; did you mean gaussian"),
    # images: denoising and measuring
    ("denoise-NaN pixel", lambda: evaluation.denoise(NET, with_value(N, NAN)), ValueError, "noisy image holds 1 non-finite"),
    ("denoise-inf pixel", lambda: evaluation.denoise(NET, with_value(N, -INF)), ValueError, "non-finite.*index"),
    ("denoise-0-255", lambda: evaluation.denoise(NET, N * 255), ValueError, "Divide 0-255 data by 255"),
    ("denoise-empty batch", lambda: evaluation.denoise(NET, N[:0]), ValueError, "noisy image is empty"),
    ("denoise-0x0 image", lambda: evaluation.denoise(NET, torch.rand(1, 1, 0, 0)), ValueError, "is empty"),
    ("denoise-uint8", lambda: evaluation.denoise(NET, (X * 255).to(torch.uint8)), TypeError, r"x.float\(\) / 255"),
    ("denoise-NHWC", lambda: evaluation.denoise(NET, N.permute(0, 2, 3, 1)), ValueError, "NHWC"),
    ("denoise-a list", lambda: evaluation.denoise(NET, [[0.5]]), TypeError, "must be a torch.Tensor"),
    ("denoise-bool tensor", lambda: evaluation.denoise(NET, N > 0.5), TypeError, "dtype torch.bool"),
    ("denoised_psnr-NaN clean", lambda: evaluation.denoised_psnr(NET, N, with_value(X, NAN)), ValueError,
     "clean image holds 1 non-finite"),
    ("denoised_psnr-0-255 clean", lambda: evaluation.denoised_psnr(NET, N, X * 255), ValueError, "divide by 255"),
    ("denoised_psnr-NaN noisy", lambda: evaluation.denoised_psnr(NET, with_value(N, NAN), X), ValueError,
     "noisy image holds"),
    ("denoised_psnr-batch_size 0", lambda: evaluation.denoised_psnr(NET, N, X, batch_size=0), ValueError,
     "batch_size >= 1"),
    ("denoised_psnr-batch_size 1.5", lambda: evaluation.denoised_psnr(NET, N, X, batch_size=1.5), ValueError,
     "whole number batch_size"),
    # models: what a forward pass refuses (shape and dtype only)
    ("forward-uint8", lambda: NET((X * 255).to(torch.uint8)), TypeError, r"float images in \[0, 1\].*x.float\(\) / 255"),
    ("forward-float64", lambda: NET(N.double()), TypeError, r"float32 weights.*x.to\(torch.float32\)"),
    ("forward-float16", lambda: NET(N.half()), TypeError, "float32 weights"),
    ("forward-NHWC gray", lambda: NET(torch.rand(1, 48, 48, 1)), ValueError, r"NHWC.*permute\(0, 3, 1, 2\)"),
    ("forward-NHWC color", lambda: COLOR(torch.rand(1, 48, 48, 3)), ValueError, "looks like NHWC"),
    ("forward-color into gray", lambda: NET(torch.rand(1, 3, 8, 8)), ValueError, "gray model.*color=False"),
    ("forward-gray into color", lambda: COLOR(torch.rand(1, 1, 8, 8)), ValueError, "color model.*color=True"),
    ("forward-empty batch", lambda: NET(N[:0]), ValueError, "empty input"),
    ("forward-0x0 image", lambda: NET(torch.rand(1, 1, 0, 0)), ValueError, "empty input"),
    ("forward-HW", lambda: NET(N[0, 0]), ValueError, r"x\[None, None\]"),
    ("forward-CHW", lambda: NET(N[0]), ValueError, r"add the batch dimension, x\[None\]"),
    ("forward-numpy", lambda: NET(N.numpy()), TypeError, "torch.from_numpy"),
    # models: noise levels
    ("create-sigma NaN", lambda: models.create("ffdnet_gray", weights=None, sigma=NAN), ValueError, "need a finite sigma"),
    ("create-sigma inf", lambda: models.create("ffdnet_gray", weights=None, sigma=INF), ValueError, "need a finite sigma"),
    ("create-sigma -5", lambda: models.create("ffdnet_gray", weights=None, sigma=-5), ValueError, "sigma >= 0"),
    ("create-sigma '25'", lambda: models.create("ffdnet_gray", weights=None, sigma="25"), TypeError, "must be a number"),
    ("create-sigma for a one-level model", lambda: models.create("dncnn_s25", weights=None, sigma=15), ValueError,
     "dncnn_s15/s25/s50"),
    ("create-classical sigma 0", lambda: models.create("tv", sigma=0), ValueError, "need a finite sigma > 0"),
    ("create-classical sigma NaN", lambda: models.create("bm3d", sigma=NAN), ValueError, "need a finite sigma"),
    ("ffdnet-forward sigma -5", lambda: FFD(N, sigma=-5), ValueError, "need a finite sigma >= 0"),
    ("ffdnet-forward sigma NaN", lambda: FFD(N, sigma=NAN), ValueError, "need a finite sigma >= 0"),
    ("ffdnet-per-image sigma with a NaN", lambda: FFD(N, sigma=torch.tensor([25.0, NAN])), ValueError,
     "finite noise levels"),
    ("ffdnet-per-image sigma negative", lambda: FFD(N, sigma=[25.0, -1.0]), ValueError, "finite noise levels >= 0"),
    ("ffdnet-built with sigma -5", lambda: models.FFDNet(1, depth=3, features=4, sigma=-5), ValueError, "sigma >= 0"),
    ("drunet-built with sigma NaN", lambda: models.DRUNet(1, (4, 8, 16, 32), 1, sigma=NAN), ValueError, "sigma >= 0"),
    ("classical-forward sigma 0", lambda: models.create("tv")(X, sigma=0), ValueError, "finite sigma > 0"),
    ("dpir-noise level NaN", lambda: models.DPIR(FFD).schedule(NAN), ValueError, "need a finite sigma >= 0"),
    # models: names
    ("create-typo dncnn_s52", lambda: models.create("dncnn_s52"), ValueError,
     "unknown model 'dncnn_s52'; did you mean dncnn_s50, dncnn_s25, dncnn_s15"),
    ("create-typo ffdnet_grey", lambda: models.create("ffdnet_grey"), ValueError, "did you mean ffdnet_gray"),
    ("create-wrong case", lambda: models.create("DnCNN_B"), ValueError, "did you mean dncnn_b"),
    ("create-unrelated name", lambda: models.create("qqqq"), ValueError, "registered: bm3d, .*wavelet_color$"),
    ("create-weights typo", lambda: models.create("dncnn_b", weights="offical"), weights.WeightsError, "neither"),
    # attacks: the rest of each attack's arguments
    ("denoising_pgd-restarts 0", lambda: denoising_pgd(NET, N, X, restarts=0), ValueError, "restarts >= 1"),
    ("denoising_pgd-clean with a NaN", lambda: denoising_pgd(NET, N, with_value(X, NAN)), ValueError,
     "clean image holds 1 non-finite"),
    ("denoising_pgd-0-255 clean", lambda: denoising_pgd(NET, N, X * 255), ValueError, "divide by 255"),
    ("denoising_pgd-shapes differ", lambda: denoising_pgd(NET, N, X[:, :, :4]), ValueError, "differ in shape"),
    ("denoising_pgd-list with a NaN image", lambda: denoising_pgd(NET, [N[:1], with_value(N[1:], NAN)], [X[:1], X[1:]]),
     ValueError, "noisy image holds 1 non-finite"),
    ("l2_denoising_pgd-radius NaN", lambda: l2_denoising_pgd(NET, N, X, radius=NAN), ValueError, "need a finite radius > 0"),
    ("l2_denoising_pgd-start_std -1", lambda: l2_denoising_pgd(NET, N, X, start_std=-1), ValueError, "start_std >= 0"),
    ("spsa-samples 0", lambda: spsa(NET, N, X, samples=0), ValueError, "samples >= 1"),
    ("spsa-delta NaN", lambda: spsa(NET, N, X, delta=NAN), ValueError, "need a finite delta > 0"),
    ("dag-tolerance NaN", lambda: dag(NET, X, N, tolerance=NAN), ValueError, "need a finite tolerance > 0"),
    ("dag-target with a NaN", lambda: dag(NET, X, with_value(N, NAN)), ValueError, "target image holds 1 non-finite"),
    ("deblur_pgd-target with a NaN", lambda: deblur_pgd(NET, N, 0.01, steps=1, target=with_value(X, NAN)), ValueError,
     "target image holds 1 non-finite"),
    ("pgd-labels NaN", lambda: pgd(CLF, X, torch.tensor([0.0, NAN]), 0.1), ValueError, "class indices"),
    ("fgsm-labels -1", lambda: fgsm(CLF, X, [0, -1], 0.1), ValueError, "class indices"),
    ("one_pixel-pixels 0", lambda: one_pixel(CLF, X, LABELS, pixels=0), ValueError, "pixels >= 1"),
    ("one_pixel-population 1.5", lambda: one_pixel(CLF, X, LABELS, population=1.5), ValueError, "population >= 1"),
    # attacks: a model without a gradient
    ("denoising_pgd-forward under no_grad", lambda: denoising_pgd(NoGradForward(NET), N, X), NotDifferentiableError,
     "no gradient.*BPDA"),
    ("obsatk-forward under no_grad", lambda: obsatk(NoGradForward(NET), N, X), NotDifferentiableError, "torch.no_grad"),
    ("dag-forward under no_grad", lambda: dag(NoGradForward(NET), X, N, steps=2), NotDifferentiableError, "spsa"),
    ("deblur_pgd-forward under no_grad", lambda: deblur_pgd(NoGradForward(NET), N, 0.01, steps=2),
     NotDifferentiableError, "no gradient"),
    ("pgd-classifier under no_grad", lambda: pgd(NoGradForward(CLF), X, LABELS, 0.1, steps=2), NotDifferentiableError,
     "no gradient"),
    ("denoising_pgd-classical model", lambda: denoising_pgd(models.create("tv"), N, X, steps=1), NotDifferentiableError,
     "BPDA"),
] + _attack_rows()


@pytest.mark.parametrize("call, error, phrase", [pytest.param(*row[1:], id=row[0]) for row in REFUSED])
def test_refused(call, error, phrase):
    with pytest.raises(error, match=phrase) as info:
        call()
    assert "\n" not in str(info.value), "errors are one line"


def _saved(tmp_path, name, state) -> str:
    path = tmp_path / name
    torch.save(state, path)
    return path


def _dncnn_b_state(**changes) -> dict:
    state = models.create("dncnn_b", weights=None).state_dict()
    return {**state, **changes}


RAN = []


def _mark(message):
    """What the pickled payload calls when it is unpickled: it must never run."""
    RAN.append(message)


class Payload:
    def __reduce__(self):
        return (_mark, ("code ran",))


WEIGHTS = [
    ("all-NaN weights", lambda tmp: models.create("dncnn_b", weights=_saved(
        tmp, "nan.pth", {k: torch.full_like(v, NAN) for k, v in _dncnn_b_state().items()})),
     r"nan.pth holds non-finite weights: 'model.0.weight' has 576 of 576 values"),
    ("one inf in the last layer", lambda tmp: models.create("dncnn_b", weights=_saved(
        tmp, "inf.pth", _dncnn_b_state(**{"model.38.weight": with_value(_dncnn_b_state()["model.38.weight"], INF)}))),
     "'model.38.weight' has 1 of 576 values NaN or inf"),
    ("a pickle that would run code", lambda tmp: weights.read_state_dict(_saved(tmp, "evil.pth", {"w": Payload()})),
     "could not read .*evil.pth.*can result in arbitrary code execution. Do it only if you got the file from a "
     "trusted source.*Unsupported global"),
    ("junk bytes", lambda tmp: models.create("dncnn_b", weights=(tmp / "junk.pth").write_bytes(b"junk") and tmp / "junk.pth"),
     "corrupt or not a state_dict"),
    ("a truncated file", lambda tmp: models.create("dncnn_b", weights=(tmp / "cut.pth").write_bytes(
        _saved(tmp, "full.pth", _dncnn_b_state()).read_bytes()[:5000]) and tmp / "cut.pth"),
     "corrupt or not a state_dict"),
    ("a tensor, not a state_dict", lambda tmp: models.create("dncnn_b", weights=_saved(tmp, "t.pth", torch.zeros(3))),
     "does not hold a state_dict of tensors"),
    ("weights of another architecture", lambda tmp: models.create("dncnn_b", weights=_saved(
        tmp, "small.pth", NET.state_dict())), "does not fit DnCNN"),
    ("weights of another shape", lambda tmp: models.create("dncnn_b", weights=_saved(
        tmp, "shape.pth", _dncnn_b_state(**{"model.0.weight": torch.zeros(64, 3, 3, 3)}))), "does not fit DnCNN"),
    ("a missing file", lambda tmp: models.create("dncnn_b", weights=tmp / "absent.pth"), "neither 'best'"),
]


@pytest.mark.parametrize("call, phrase", [pytest.param(*row[1:], id=row[0]) for row in WEIGHTS])
def test_weights_refused(call, phrase, tmp_path):
    RAN.clear()
    with pytest.raises(weights.WeightsError, match=phrase) as info:
        call(tmp_path)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value), "errors are one line, without escapes"
    assert not RAN, "a pickle in a weight file was executed"


WARNED = [
    (name, lambda call=ATTACKS[name][0], inner=(CLF if name in ("fgsm", "pgd") else NET): call(m=Rounding(inner)))
    for name in ("denoising_pgd", "l2_denoising_pgd", "obsatk", "dag", "deblur_pgd", "fgsm", "pgd")
]


@pytest.mark.parametrize("call", [pytest.param(call, id=f"{name}-rounding layer") for name, call in WARNED])
def test_a_zero_gradient_is_said(call):
    with pytest.warns(ZeroGradientWarning, match="exactly zero for every image at the first step"):
        call()


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b)) if isinstance(a, list) else torch.equal(a, b)


def _moved(adv, start) -> bool:
    return float((adv - start).abs().max()) > 0


HANDLED = [
    ("eps 0 leaves the input where it is", lambda: torch.equal(denoising_pgd(NET, N, X, eps=0.0), N)),
    ("steps 0 is the start itself", lambda: torch.equal(denoising_pgd(NET, N, X, steps=0, random_start=False), N)),
    ("a whole float step count is taken", lambda: torch.equal(denoising_pgd(NET, N, X, steps=3.0), denoising_pgd(NET, N, X, steps=3))),
    ("a numpy budget is taken", lambda: torch.equal(denoising_pgd(NET, N, X, eps=np.float32(0.02)),
                                                    denoising_pgd(NET, N, X, eps=float(np.float32(0.02))))),
    ("an attack inside torch.no_grad still attacks", lambda: _moved(_under_no_grad(lambda: denoising_pgd(NET, N, X,
                                                                                                         random_start=False)), N)),
    ("fgsm inside torch.no_grad still attacks", lambda: _moved(_under_no_grad(lambda: fgsm(CLF, X, LABELS, 0.1)), X)),
    ("a positive alpha raises the loss", lambda: bool((_loss(denoising_pgd(NET, N, X, random_start=False, alpha=0.01))
                                                       > _loss(N)).all())),
    ("lists of mixed sizes", lambda: [a.shape for a in denoising_pgd(NET, [N[:1], N[:1, :, :6]], [X[:1], X[:1, :, :6]])]
     == [(1, 1, 8, 8), (1, 1, 6, 8)]),
    ("an empty list gives an empty list", lambda: denoising_pgd(NET, [], []) == []),
    ("a float64 batch is converted at the entry", lambda: evaluation.denoise(NET, N.double()).dtype == torch.float32),
    ("a float64 model takes float64", lambda: models.DnCNN(1, 3, 4).double()(N.double()).dtype == torch.float64),
    ("sigma 0 gives the clean image", lambda: torch.equal(noise.gaussian(X, 0), X)),
    ("ffdnet sigma 0 is allowed", lambda: models.create("ffdnet_gray", weights=None, sigma=0).sigma == 0.0),
    ("ffdnet takes one level per image", lambda: FFD(N, sigma=torch.tensor([15.0, 50.0])).shape == N.shape),
    ("ffdnet's bound level is the default", lambda: torch.equal(FFD(N), FFD(N, sigma=25))),
    ("dpir's noise-free floor", lambda: models.DPIR(FFD).schedule(0)[0][-1] == pytest.approx(0.255)),
    ("finite weights load", lambda: _same(list(weights.load_into(models.DnCNN(1, 3, 4), NET.state_dict(), "net")
                                               .state_dict().values()), list(NET.state_dict().values()))),
    ("noisy images a little outside [0, 1]", lambda: evaluation.denoise(NET, N * 1.2 - 0.1).shape == N.shape),
    ("lookup names the known table when nothing is close", lambda: "registered: a, b" in _message(
        lambda: checks.lookup({"a": 1, "b": 2}, "zzz", "thing"))),
    ("lookup takes an unhashable key", lambda: "unknown thing [1]" in _message(
        lambda: checks.lookup({"a": 1}, [1], "thing"))),
    ("checks.count returns an int", lambda: checks.count(4.0) == 4 and isinstance(checks.count(np.int64(4)), int)),
    ("checks.real keeps the bounds", lambda: checks.real(0.0, "p", at_least=0, at_most=1) == 0.0
     and math.isclose(checks.real(1.0, "p", at_least=0, at_most=1), 1.0)),
]


def _under_no_grad(call):
    with torch.no_grad():
        return call()


def _loss(x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return ((NET(x) - X) ** 2).flatten(1).sum(1)


def _message(call) -> str:
    try:
        call()
    except ValueError as err:
        return str(err)
    return ""


@pytest.mark.parametrize("call", [pytest.param(call, id=name) for name, call in HANDLED])
def test_handled(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZeroGradientWarning)
        assert call()


def test_the_battery_is_large():
    assert len(REFUSED) + len(WEIGHTS) + len(WARNED) + len(HANDLED) >= 150
