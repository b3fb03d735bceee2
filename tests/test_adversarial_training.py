"""Adversarial training modes (Ning et al. Sec. IV-F; Yan et al. HAT / vAT), PGD restarts, and
the attack table of notebook 04."""

import numpy as np
import pytest
import torch

from companion import robustness, train
from companion.attacks import denoising_pgd, obsatk
from companion.attacks.engine import losses
from companion.models import DnCNN, FFDNet, create, list_models, selection, spec
from companion.train import ADVERSARIAL_MODES, recipe
from toys import box, smooth_images


@pytest.fixture
def images():
    return list(smooth_images(6, 48).images.split(1))


def _small(seed=0):
    torch.manual_seed(seed)
    return DnCNN(1, depth=3, features=8)


def _batch(cfg, step=0):
    clean = torch.cat([img[..., :16, :16] for img in smooth_images(4, 48).images.split(1)])
    return train.noisy_batch(clean, cfg, step)


@pytest.mark.parametrize("mode", sorted(ADVERSARIAL_MODES))
def test_each_mode_lowers_its_loss(mode, images, tmp_path):
    cfg = train.TrainConfig(steps=40, batch_size=8, patch_size=16, lr=3e-3, sigma=50.0, **ADVERSARIAL_MODES[mode])
    model = _small()
    loss = train.train(model, images, cfg, tmp_path / "s.pt", progress=False)["loss"]
    assert np.mean(loss[-10:]) < 0.8 * np.mean(loss[:5]) and not model.training


def test_hat_with_alpha_zero_is_normal_training(images, tmp_path):
    base = dict(steps=4, batch_size=4, patch_size=16, lr=3e-3)
    normal, hat = _small(), _small()
    train.train(normal, images, train.TrainConfig(**base), tmp_path / "n.pt", progress=False)
    train.train(hat, images, train.TrainConfig(**base, adversarial="hat", attack_steps=1, hat_alpha=0.0),
                tmp_path / "h.pt", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(normal.state_dict().values(), hat.state_dict().values()))


def test_objectives_follow_their_equations():
    model = _small()
    base = train.TrainConfig(batch_size=4, patch_size=16)
    noisy, target, level = _batch(base)
    normal = train.objective(model, noisy, target, level, base, 0)
    # with a zero budget every attack returns its input: Ning's mix and vAT are then normal
    # training, and HAT's consistency term vanishes, leaving 1 / (1 + a) of it
    for mode, zero, share in (("ning", dict(attack_eps=0.0), 1.0), ("vat", dict(attack_r=0.0), 1.0),
                              ("hat", dict(attack_r=0.0, hat_alpha=3.0), 0.25)):
        cfg = train.TrainConfig(batch_size=4, patch_size=16, adversarial=mode, **zero)
        assert torch.allclose(train.objective(model, noisy, target, level, cfg, 0), share * normal, rtol=1e-6), mode
    # HAT, eq. 5, by hand
    cfg = train.TrainConfig(batch_size=4, patch_size=16, adversarial="hat", attack_steps=1, hat_alpha=2.0)
    adv = obsatk(model, noisy, target, r=5.0, steps=1, step="ours", clip="none")
    out = model(noisy)
    expected = (torch.mean((out - target) ** 2) + 2 * torch.mean((model(adv) - out) ** 2)) / 3
    assert torch.allclose(train.objective(model, noisy, target, level, cfg, 0), expected, rtol=1e-5)
    # Ning et al.: the first half stays Gaussian, the second half is denoising-PGD's
    cfg = train.TrainConfig(batch_size=4, patch_size=16, adversarial="ning", attack_steps=5)
    adv = denoising_pgd(model, noisy[2:], target[2:], eps=0.012, steps=5, seed=0)
    expected = torch.mean((model(torch.cat([noisy[:2], adv])) - target) ** 2)
    assert torch.allclose(train.objective(model, noisy, target, level, cfg, 0), expected, rtol=1e-6)


def test_adversarial_training_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="adversarial must be one of"):
        train.TrainConfig(adversarial="trades")
    with pytest.raises(ValueError, match="clean targets"):
        train.TrainConfig(adversarial="hat", mode="noise2noise")
    with pytest.raises(ValueError, match=">= 0"):
        train.TrainConfig(adversarial="hat", hat_alpha=-1)
    cfg = train.TrainConfig(batch_size=2, patch_size=16, adversarial="vat")
    noisy, target, level = _batch(cfg)
    with pytest.raises(ValueError, match="takes a noise level"):
        train.objective(FFDNet(1, depth=3, features=8), noisy, target, level, cfg, 0)


def test_restarts_keep_the_worst_sample_within_the_budget():
    torch.manual_seed(0)
    model = _small().eval()
    clean = smooth_images(3, 24).images
    noisy = clean + 0.1 * torch.randn_like(clean)
    assert torch.equal(denoising_pgd(model, noisy, clean, eps=0.02, steps=2, restarts=1),
                       denoising_pgd(model, noisy, clean, eps=0.02, steps=2))
    best = denoising_pgd(model, noisy, clean, eps=0.02, steps=2, restarts=4)
    assert (best - noisy).abs().max() <= 0.02 + 1e-6
    tries = [denoising_pgd(model, noisy, clean, eps=0.02, steps=2, seed=k * 1_000_003) for k in range(4)]
    tried = torch.stack([losses(model, t, clean) for t in tries])
    assert torch.allclose(losses(model, best, clean), tried.max(dim=0).values)
    with pytest.raises(ValueError, match="restarts"):
        denoising_pgd(model, noisy, clean, restarts=0)


def test_attack_rows_share_the_noise_and_use_the_observation_protocol():
    images = smooth_images(2, 32)
    model = box(3)
    model.info = {"name": "box3"}
    rows = robustness.attack_rows(model, images, 25, {"PGD": (denoising_pgd, {"eps": 0.02, "steps": 3}),
                                                      "Atk-5": (obsatk, {"r": 5.0})})
    assert [r["attack"] for r in rows] == ["Gaussian"] * 2 + ["PGD"] * 2 + ["Atk-5"] * 2
    assert len({r["psnr_gauss"] for r in rows if r["image"] == "toy0"}) == 1
    assert all(r["drop"] > 0 for r in rows if r["attack"] == "PGD")
    assert all(r["drop"] == 0 for r in rows if r["attack"] == "Gaussian")
    with pytest.raises(ValueError, match="reserved"):
        robustness.attack_rows(model, images, 25, {"Gaussian": (denoising_pgd, {})})
    with pytest.raises(ValueError, match="budget r"):
        robustness.attack_rows(model, images, 25, {"Atk": (obsatk, {})})


def test_the_adversarially_trained_dncnns_stay_out_of_the_zoo():
    trained = list_models(collection="adversarial_training")
    assert len(trained) == 2 * len(ADVERSARIAL_MODES)
    assert not set(trained) & set(selection.gaussian_models(25, 1))
    for name in trained:
        entry = spec(name)
        assert recipe(name, "quick")["store_half"] and recipe(name, "paper")["store_half"]
        assert entry.ours == name
        if name.startswith("dncnn_s25_"):  # fine-tuned from the official DnCNN-S
            assert entry.init == "dncnn_s25" and recipe(name, "quick").get("weight_init", "default") == "default"
        else:  # from scratch, from an identity start in the quick profile
            assert entry.init is None and recipe(name, "quick")["weight_init"] == "identity"


def test_shipped_checkpoints_denoise_and_say_how_they_were_made(data_dir, weights_dir):
    from companion import data, evaluation, weights

    set12 = data.load("set12", limit=2, crop=96)
    for name in [n for n in list_models(collection="adversarial_training") if spec(n).ours]:
        card = weights.model_card(name)
        mode = name.rsplit("_", 1)[1]
        assert card["config"]["adversarial"] == ADVERSARIAL_MODES[mode]["adversarial"]
        assert card["stored_as"].startswith("float16") and card["trained_by"].endswith(f"train {name} --profile quick")
        rows, _ = evaluation.gaussian_denoising(create(name), set12, 25, seed=0)
        assert all(r["psnr"] > r["noisy_psnr"] + 4 for r in rows), name
