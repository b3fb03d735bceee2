"""Classical denoisers (05_bm3d), BPDA, SPSA, the classifier attacks and the purifier study."""

import pytest
import torch

from companion import data, metrics, models, noise, robustness
from companion.adversarial_sets import adversarial_set
from companion.attacks import BPDA, bpda_pgd, denoising_pgd, spsa
from companion.attacks.classifier import fgsm, pgd
from companion.experiments import purification
from companion.models import classical
from companion.weights import WeightsError
from toys import box, smooth_images

GRAY = ["bm3d", "tv", "nlm", "wavelet"]
COLOR = ["cbm3d", "tv_color", "nlm_color", "wavelet_color"]


@pytest.mark.parametrize("name", GRAY + COLOR)
def test_each_classical_denoiser_improves_psnr(name, data_dir):
    color = models.spec(name).channels == 3
    images = data.load("set3c" if color else "set12", limit=2, crop=64 if color else 96, color=color)
    model = models.create(name, sigma=25)
    for i, (_, clean) in enumerate(images):
        noisy = noise.gaussian(clean, 25, seed=i)
        gain = metrics.psnr(model(noisy).clamp(0, 1), clean) - metrics.psnr(noisy.clamp(0, 1), clean)
        assert float(gain) > 2.0, f"{name} gains only {float(gain):.2f} dB"


def test_classical_registry_binding_and_bad_input():
    assert models.list_models(collection="classical") == sorted(GRAY + COLOR)
    assert not set(GRAY + COLOR) & set(models.list_models(collection="zoo"))
    model = models.create("tv", sigma=15)
    assert model.sigma == 15 and model.info["weights"].startswith("none")
    with pytest.raises(WeightsError, match="classical method and has no weights"):
        models.create("bm3d", weights="official")
    with pytest.raises(ValueError, match="sigma > 0"):
        classical.BM3D(1, 0)
    with pytest.raises(ValueError, match="takes 1 channel"):
        model(torch.rand(1, 3, 16, 16))


def test_bm3d_gives_the_same_numbers_twice():
    x = noise.gaussian(smooth_images(1, 40).images, 25, seed=0)
    model = models.create("bm3d")
    assert torch.equal(model(x), model(x))


def test_a_direct_gradient_attack_is_refused_with_the_alternatives():
    clean = smooth_images(1, 24).images
    with pytest.raises(classical.NotDifferentiableError, match="BPDA.*spsa"):
        denoising_pgd(models.create("tv"), noise.gaussian(clean, 25, seed=0), clean)


def test_bpda_keeps_the_forward_value_and_takes_the_stand_in_gradient():
    clean = smooth_images(1, 24).images
    x = noise.gaussian(clean, 25, seed=0).requires_grad_(True)
    tv = models.create("tv")
    for stand_in in (None, box(3)):
        out = BPDA(tv, stand_in)(x)
        assert torch.allclose(out, tv(x.detach()))
        grad, = torch.autograd.grad(((out - clean) ** 2).sum(), x)
        residual = 2 * (tv(x.detach()) - clean)
        expected = residual if stand_in is None else torch.autograd.grad(stand_in(x), x, residual)[0]
        assert torch.allclose(grad, expected, atol=1e-6)


def test_bpda_pgd_respects_eps_and_hurts_tv():
    images = smooth_images(2, 32)
    clean = torch.cat([img for _, img in images])
    noisy = noise.gaussian(clean, 25, seed=0)
    tv = models.create("tv")
    adv = bpda_pgd(tv, noisy, clean, eps=0.02, steps=5, seed=0)
    assert float((adv - noisy).abs().max()) <= 0.02 + 1e-6
    assert (metrics.psnr(tv(adv).clamp(0, 1), clean) < metrics.psnr(tv(noisy).clamp(0, 1), clean)).all()


def test_spsa_respects_eps_is_seeded_and_raises_the_loss():
    images = smooth_images(2, 24)
    clean = torch.cat([img for _, img in images])
    noisy = noise.gaussian(clean, 25, seed=0)
    model = box(3)
    adv = spsa(model, noisy, clean, eps=0.03, iterations=8, samples=16, seed=3)
    assert float((adv - noisy).abs().max()) <= 0.03 + 1e-6
    assert torch.equal(adv, spsa(model, noisy, clean, eps=0.03, iterations=8, samples=16, seed=3))
    one = spsa(model, noisy[1:], clean[1:], eps=0.03, iterations=8, samples=16, seed=4)
    assert torch.allclose(adv[1:], one, atol=1e-6)  # image i seeded seed + i, whatever the batch
    loss = lambda x: ((model(x) - clean) ** 2).flatten(1).sum(1)
    assert (loss(adv) > loss(noisy)).all()
    with pytest.raises(ValueError, match="samples >= 1"):
        spsa(model, noisy, clean, samples=0)


def test_tune_ranks_the_grid_by_psnr():
    images = smooth_images(2, 32)
    table = classical.tune("tv", images, 25, grid=[{"weight_per_sigma": 0.01}, {"weight_per_sigma": 0.7}])
    assert list(table.weight_per_sigma) == [0.7, 0.01] and table.psnr.is_monotonic_decreasing
    with pytest.raises(ValueError, match="nothing to tune"):
        classical.tune("bm3d", images)


def test_score_set_scores_another_model_on_a_source_set():
    images = smooth_images(2, 24)
    made = adversarial_set(box(3), images, 25, 0, eps=0.02, steps=2)
    rows, _ = robustness.score_set(models.create("tv"), made, images)
    assert [r["image"] for r in rows] == images.names
    assert all(r["linf_perturbation"] <= 0.02 + 1e-6 for r in rows)
    with pytest.raises(ValueError, match="not on these images"):
        robustness.score_set(box(3), made, smooth_images(3, 24))


def _linear_classifier():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))


def test_classifier_attacks_respect_eps_and_range_and_raise_the_loss():
    model = _linear_classifier()
    x, labels = torch.rand(6, 1, 8, 8), torch.arange(6)
    ce = lambda z: torch.nn.functional.cross_entropy(model(z), labels, reduction="none")
    for adv in (fgsm(model, x, labels, 0.1), pgd(model, x, labels, 0.1, steps=5, seed=1)):
        assert float((adv - x).abs().max()) <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        assert (ce(adv) > ce(x)).all()
    assert torch.equal(pgd(model, x, labels, 0.1, seed=1), pgd(model, x, labels, 0.1, seed=1))
    with pytest.raises(ValueError, match="one class per image"):
        fgsm(model, x, labels[:3], 0.1)
    with pytest.raises(ValueError, match="clean images must be in"):
        fgsm(model, x * 255, labels, 0.1)


def test_purifier_rows_attack_differentiable_purifiers_end_to_end_and_classical_ones_via_bpda():
    model = _linear_classifier()
    x, labels = torch.rand(6, 1, 8, 8), torch.arange(6)
    rows = purification.purifier_rows(model, {"box": box(3), "tv": models.create("tv", sigma=25.5)}, x, labels,
                                      0.1, steps=2)
    attacks = {(r["purifier"], r["attack"]) for r in rows}
    assert attacks == {*((p, a) for p in ("none", "box", "tv") for a in ("clean", "FGSM", "PGD")),
                       ("box", "adaptive PGD"), ("tv", "adaptive PGD (BPDA)")}
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    assert len(purification.purifier_rows(model, {"tv": models.create("tv")}, x, labels, 0.1, 2, adaptive=[])) == 6


def test_digits_split_is_disjoint_and_the_classifier_builds(data_dir):
    x_train, y_train, x_test, y_test = purification.digits(100, 50)
    assert x_train.shape == (100, 1, 28, 28) and x_test.shape == (50, 1, 28, 28)
    full, _ = data.load_mnist(limit=None)
    assert torch.equal(x_test, full[-50:]) and torch.equal(x_train, full[:100])
    with pytest.raises(ValueError, match="train \\+ test <= 10000"):
        purification.digits(9000, 2000)
    net = purification.digit_classifier(seed=0)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 purification.digit_classifier(seed=0).state_dict().values()))
    assert net.eval()(x_test[:2]).shape == (2, 10)


def test_attacks_and_purifiers_leave_every_module_in_its_own_mode():
    classifier = purification.digit_classifier(seed=0).eval()
    before = {k: v.clone() for k, v in classifier.state_dict().items()}
    x, labels = torch.rand(4, 1, 28, 28), torch.arange(4)
    rows = purification.purifier_rows(classifier, {"box": box(3)}, x, labels, 0.1, steps=2)
    assert not any(m.training for m in classifier.modules())  # a wrapper built in training mode must not flip it
    assert all(torch.equal(before[k], v) for k, v in classifier.state_dict().items())  # batch-norm stats unchanged
    clean = [r["accuracy"] for r in rows if r["attack"] == "clean"]
    assert clean[0] == clean[1] == purification.accuracy(purification.Purified(torch.nn.Identity(), classifier), x, labels)


def test_cache_fingerprints_tell_classical_settings_apart():
    from companion.adversarial_sets import model_fingerprint

    tv = models.create("tv")
    assert "weight_per_sigma=0.7" in repr(tv)
    assert model_fingerprint(tv) == model_fingerprint(models.create("tv"))
    assert model_fingerprint(tv) != model_fingerprint(classical.TotalVariation(1, 25, weight_per_sigma=0.8))
    assert model_fingerprint(tv) != model_fingerprint(models.create("tv", sigma=15))
