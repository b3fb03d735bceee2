"""Transferability (Ning et al. eq. 3), the adversarial-set cache and the model selection."""

import pytest
import torch

from companion import adversarial_sets, robustness
from companion.models import selection
from toys import box, smooth_images

M = robustness.DEFAULT_MARGIN


def _row(source, target, image, noisy, gauss, drop):
    return {"source": source, "target": target, "image": image, "psnr_noisy": noisy, "psnr_gauss": gauss,
            "psnr_adv": gauss - drop, "drop": drop}


def test_eq3_success_set_on_hand_made_numbers():
    rows = [  # source A; on A itself: image 1 succeeds, image 2 does not (drop below M), image 3 succeeds
        _row("A", "A", "1", 20.0, 28.0, 1.0), _row("A", "A", "2", 20.0, 28.0, 0.05), _row("A", "A", "3", 20.0, 28.0, 0.8),
        # target B: transfers on 1, denoises 3 worse than its noisy input (so 3 leaves the set)
        _row("A", "B", "1", 20.0, 27.0, 0.4), _row("A", "B", "2", 20.0, 27.0, 0.9), _row("A", "B", "3", 20.0, 19.0, 0.9),
        # target C: image 1 in the set but its drop is below M
        _row("A", "C", "1", 20.0, 27.0, 0.05), _row("A", "C", "2", 20.0, 27.0, 0.5), _row("A", "C", "3", 20.0, 27.0, 0.3)]
    df = robustness.success_set(rows, margin=M).set_index(["target", "image"])
    assert df.loc[("A", "1"), "source_drop"] == 1.0 and df.loc[("C", "2"), "source_drop"] == 0.05
    assert df.in_success_set.to_dict() == {("A", "1"): True, ("A", "2"): False, ("A", "3"): True,
                                           ("B", "1"): True, ("B", "2"): False, ("B", "3"): False,
                                           ("C", "1"): True, ("C", "2"): False, ("C", "3"): True}
    assert df.transferred[df.transferred].index.tolist() == [("A", "1"), ("A", "3"), ("B", "1"), ("C", "3")]
    summary = robustness.transfer_summary(rows, margin=M).set_index("target")
    assert summary.success_set.to_dict() == {"A": 2, "B": 1, "C": 2}
    assert summary.transfer_rate.to_dict() == {"A": 1.0, "B": 1.0, "C": 0.5}
    assert summary.loc["B", "drop"] == pytest.approx((0.4 + 0.9 + 0.9) / 3)  # means over every image
    # M = 0.5: B keeps image 1 but its drop (0.4) no longer counts; M = 1: no attack succeeds, the
    # rates are undefined, not 0
    assert robustness.transfer_summary(rows, margin=0.5).set_index("target").loc["B", "transfer_rate"] == 0.0
    assert robustness.transfer_summary(rows, margin=1.0).transfer_rate.isna().all()


def test_eq3_refuses_bad_input():
    rows = [_row("A", "B", "1", 20.0, 27.0, 0.4)]
    with pytest.raises(ValueError, match="add \\['A'\\] to the targets"):
        robustness.success_set(rows)
    with pytest.raises(ValueError, match="margin"):
        robustness.success_set(rows + [_row("A", "A", "1", 20.0, 28.0, 1.0)], margin=-1)
    with pytest.raises(ValueError, match="columns"):
        robustness.success_set([{"source": "A"}])


def test_transfer_matrix_on_two_tiny_models(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_SPEED", "chunk=64")  # whole batches: no chunk-size probe among the counted passes
    images = smooth_images()
    models = {"box3": box(3), "box5": box(5)}
    calls = {name: 0 for name in models}
    for name, m in models.items():
        m.register_forward_hook(lambda *a, name=name: calls.__setitem__(name, calls[name] + 1))
    sets = {n: adversarial_sets.adversarial_set(m, images, 25, 0, cache_dir=tmp_path, source=n, eps=0.03, steps=3)
            for n, m in models.items()}
    attack_calls = dict(calls)
    rows = robustness.transfer_rows(sets, models, images)
    # no re-attack: one batch on x per target, then x' and the control for each source
    assert {n: calls[n] - attack_calls[n] for n in models} == {"box3": 1 + 2 * 2, "box5": 1 + 2 * 2}
    summary = robustness.transfer_summary(rows).set_index(["source", "target"])
    assert len(rows) == 2 * 2 * 3 and len(summary) == 4
    assert (summary.success_set == 3).all()  # both filters denoise, both attacks succeed
    for source in models:  # each attack hurts its own source more than the other model, and more than the control
        assert summary.loc[(source, source), "drop"] > summary.loc[(source, ({"box3", "box5"} - {source}).pop()), "drop"] > 0
        assert summary.loc[(source, source), "drop"] > 3 * summary.loc[(source, source), "control_drop"]
    gauss = {t: [r["psnr_gauss"] for r in rows if r["target"] == t and r["source"] == "box3"] for t in models}
    assert gauss == {t: [r["psnr_gauss"] for r in rows if r["target"] == t and r["source"] == "box5"] for t in models}


def test_transfer_rows_refuses_sets_of_other_images(tmp_path):
    images = smooth_images()
    made = adversarial_sets.adversarial_set(box(3), images, 25, 0, eps=0.03, steps=1)
    with pytest.raises(ValueError, match="not on these images"):
        robustness.transfer_rows({"box3": made}, {"box3": box(3)}, smooth_images(n=2))


def test_the_cache_returns_identical_samples_and_is_invalidated_by_any_parameter(tmp_path):
    images, model = smooth_images(), box(3)
    params = dict(sigma=25, seed=0, cache_dir=tmp_path, eps=0.03, steps=2)
    first = adversarial_sets.adversarial_set(model, images, **params)
    assert not first.from_cache and first.path.is_file()
    assert all((a - x).abs().max() <= 0.03 + 1e-6 for a, x in zip(first.adv, first.noisy))
    again = adversarial_sets.adversarial_set(model, images, **params)
    assert again.from_cache and again.path == first.path
    assert all(torch.equal(a, b) for a, b in zip(first.adv, again.adv))
    assert all(torch.equal(a, b) for a, b in zip(first.noisy, again.noisy))
    changed_weights = box(3)
    with torch.no_grad():
        changed_weights.weight[0, 0, 1, 1] += 0.01
    for other in (dict(params, eps=0.02), dict(params, seed=1), dict(params, sigma=15), dict(params, steps=3)):
        assert not adversarial_sets.adversarial_set(model, images, **other).from_cache
    assert not adversarial_sets.adversarial_set(changed_weights, images, **params).from_cache
    assert not adversarial_sets.adversarial_set(model, smooth_images(size=30), **params).from_cache
    assert len(list(tmp_path.glob("*.pt"))) == 7
    # same parameters, computed without the cache: the same numbers
    fresh = adversarial_sets.adversarial_set(model, images, 25, 0, eps=0.03, steps=2)
    assert all(torch.equal(a, b) for a, b in zip(first.adv, fresh.adv))


def test_a_corrupt_cache_file_is_made_again(tmp_path):
    images, model = smooth_images(), box(3)
    first = adversarial_sets.adversarial_set(model, images, 25, 0, cache_dir=tmp_path, eps=0.03, steps=2)
    first.path.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="could not be read"):
        again = adversarial_sets.adversarial_set(model, images, 25, 0, cache_dir=tmp_path, eps=0.03, steps=2)
    assert not again.from_cache and all(torch.equal(a, b) for a, b in zip(first.adv, again.adv))
    assert adversarial_sets.adversarial_set(model, images, 25, 0, cache_dir=tmp_path, eps=0.03, steps=2).from_cache


def test_selection_stands_in_and_refuses_wrong_names():
    loaded, skipped = selection.load(["fan"], 25)
    assert list(loaded) == ["fan_small"] and loaded["fan_small"].info["stands_in_for"] == "fan"
    assert "fan" in skipped
    with pytest.raises(ValueError, match="3-channel model"):
        selection.load(["ffdnet_color"], 25, channels=1)
    with pytest.raises(ValueError, match="unknown model"):
        selection.load(["dncnn_s26"], 25)
    gray = selection.gaussian_models(25, 1)
    assert "dncnn_s25" in gray and "dncnn_s15" not in gray and "ffdnet_gray" in gray
    assert "n2n_ph_poisson100" not in selection.gaussian_models(25, 3)


def test_the_attack_fingerprint_covers_the_shared_attack_loop():
    from companion.attacks import denoising_pgd, obsatk
    a, b = adversarial_sets.attack_fingerprint(denoising_pgd), adversarial_sets.attack_fingerprint(obsatk)
    assert a["attack"].endswith("denoising_pgd") and a["attack_source"] == b["attack_source"]  # one package hash

    def mine(model, noisy, clean, seed=0):
        return noisy

    assert adversarial_sets.attack_fingerprint(mine)["attack_source"] != a["attack_source"]
