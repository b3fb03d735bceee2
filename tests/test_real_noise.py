"""Real camera noise (notebook 10, Yan et al. Sec. 4.3, Table 4): the color DnCNN-Cs trained
normally, with vAT and with HAT, the section's tables and claim check, and the notebook run on two
PolyU crops, or skipped with its reason when PolyU is absent. The paired sets themselves (PolyU,
CC, SIDD-val) are tested in test_paired_data.py."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from companion import data, evaluation, models, reproduce, weights
from companion.attacks import obsatk
from companion.claims import CLAIMS, run_check
from companion.experiments import real_noise as rn
from companion.train import recipe

POLYU_CAMERAS = {"Canon5D2": 29, "Canon600D": 11, "Canon80D": 15, "NikonD800": 33, "Sony": 12}
"""PolyU's 100 pairs by camera, counted from the published folder (CroppedImages)."""


# --- the models -----------------------------------------------------------------------------------

def test_the_color_dncnn_cs_and_their_recipes():
    names = models.list_models(collection="real_noise")
    assert names == sorted(f"dncnn_c25_{m}" for m in rn.MODES)
    for name in names:
        entry = models.spec(name)
        assert entry.channels == 3 and entry.family == "blind" and entry.ours == name and entry.init is None
        convs = [m for m in entry.build().modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 20 and convs[0].in_channels == convs[-1].out_channels == 3  # Yan et al.'s DnCNN-C
        quick, paper = recipe(name, "quick"), recipe(name, "paper")
        for fields in (quick, paper):
            assert fields["sigma"] == (0.0, 25.0)
        assert quick["weight_init"] == "identity" and paper.get("weight_init", "default") == "default"
        assert paper["steps"] == 50 * -(-432 * 900 // 128) and paper["batch_size"] == 128 and paper["patch_size"] == 50
        assert paper["lr_drops"] == (0.4, 0.8) and paper["lr_decay"] == 0.2  # epochs 20 and 40 of 50, x0.2
    assert recipe("dncnn_c25_nt", "quick")["adversarial"] == "none"
    assert {k: recipe("dncnn_c25_vat", "quick")[k] for k in ("adversarial", "attack_steps", "attack_r")} == {
        "adversarial": "vat", "attack_steps": 1, "attack_r": 5.0}
    assert recipe("dncnn_c25_hat2", "quick")["hat_alpha"] == 2.0


def test_the_training_budget_is_five_over_255_times_the_root_of_the_patch_values():
    """rho = 5/255 sqrt(m), m counting the three channels (Yan et al.; their script's
    ``eps / 255 * sqrt(3 * patch_size ** 2)`` for DnCNN-C), as the trainer calls OBSATK."""
    torch.manual_seed(0)
    model = models.spec("dncnn_c25_nt").build()
    clean = torch.rand(2, 3, 40, 40) * 0.8 + 0.1
    noisy = clean + 0.05 * torch.randn_like(clean)
    adv = obsatk(model, noisy, clean, r=5.0, steps=1, step="ours", clip="none")
    norms = (adv - noisy).flatten(1).norm(dim=1)
    assert torch.allclose(norms, torch.full((2,), 5 / 255 * (3 * 40 * 40) ** 0.5), rtol=1e-4)


def test_the_shipped_checkpoints_denoise_color_and_say_how_they_were_made(data_dir):
    cbsd68 = data.load("cbsd68", limit=2, crop=64)
    for name in models.list_models(collection="real_noise"):
        card = weights.model_card(name)
        assert card["trained_by"].endswith(f"train {name} --profile quick --replace-shipped")
        assert card["data"].startswith("cbsd432") and card["stored_as"].startswith("float16")
        assert card["config"]["sigma"] == [0.0, 25.0] and "cbsd68" in card["evaluation"]
        rows, _ = evaluation.gaussian_denoising(models.create(name), cbsd68, 25, seed=0)
        assert all(r["psnr"] > r["noisy_psnr"] + 4 for r in rows), name


# --- the section ----------------------------------------------------------------------------------

def test_pick_takes_the_cameras_in_turn():
    names = [key for key, _, _ in data.pair_names("polyu")]
    assert [rn.camera(n) for n in rn.pick(names, 5)] == list(POLYU_CAMERAS)
    assert pd.Series([rn.camera(n) for n in rn.pick(names, 10)]).value_counts().to_dict() == dict.fromkeys(
        POLYU_CAMERAS, 2)
    assert rn.pick(names, None) == names and rn.pick(names, 500) == names


def _scores(psnr: dict) -> pd.DataFrame:
    """Two pairs of two cameras with ``psnr[method]`` (+ 0 and + 1 dB) for each method."""
    rows = [{"method": m, "pair": f"{cam}_x", "camera": cam, "noise_std": 4.0, "psnr": p + i, "ssim": 0.9}
            for m, p in psnr.items() for i, cam in enumerate(("Canon5D2", "Sony"))]
    return pd.DataFrame(rows)


def test_table4_and_the_cameras_put_the_paper_beside_ours():
    scores = _scores({rn.NOISY: 36.0, "CBM3D": 37.0, "NT": 35.5, "vAT": 36.5, "HAT": 37.5})
    table = rn.table4(scores).set_index("method")
    assert list(table.index) == [rn.NOISY, "CBM3D", "NT", "vAT", "HAT"]
    assert table.loc["HAT", "psnr"] == 38.0 and table.loc["HAT", "paper psnr"] == rn.PAPER_TABLE4["polyu"]["HAT"]
    assert np.isnan(table.loc[rn.NOISY, "paper psnr"]) and (table.pairs == 2).all()
    assert table.loc["NT", "psnr - paper"] == pytest.approx(36.0 - 35.86)
    cameras = rn.per_camera(scores).set_index("camera")
    assert cameras.loc["Sony", "HAT"] == 38.5 and cameras.loc["Canon5D2", "pairs"] == 1
    assert rn.per_camera(scores.iloc[:0]).empty and rn.table4(scores.iloc[:0]).psnr.isna().all()


def test_the_claim_check_needs_hat_above_both():
    assert CLAIMS["hat_generalizes_real_noise"].notebook == "10_real_noise"
    agrees, evidence = run_check("hat_generalizes_real_noise",
                                 _scores({rn.NOISY: 36, "CBM3D": 37, "NT": 35.5, "vAT": 36.5, "HAT": 37.5}))
    assert agrees and "HAT 38.00" in evidence and "on 2 of 2 pairs" in evidence
    agrees, evidence = run_check("hat_generalizes_real_noise",
                                 _scores({rn.NOISY: 36, "CBM3D": 37, "NT": 35.5, "vAT": 37.6, "HAT": 37.5}))
    assert agrees is False and "on 0 of 2 pairs" in evidence
    assert run_check("hat_generalizes_real_noise", pd.DataFrame(), skipped="section skipped: no PolyU") == (
        None, "section skipped: no PolyU")


@pytest.mark.parametrize("with_polyu", [True, False], ids=["two PolyU crops", "no PolyU"])
def test_the_section_runs_in_the_smoke_profile_or_says_why_it_is_skipped(with_polyu, data_dir, weights_dir, tmp_path,
                                                                         monkeypatch):
    if not with_polyu:
        monkeypatch.delenv("COMPANION_DATA_DIR")
    info = reproduce.run(profile="smoke", only=["10"], output=tmp_path, progress=False)
    assert info["notebooks"]["10_real_noise"]["status"] == "done"
    results = json.loads((tmp_path / "10_real_noise.json").read_text())
    claim, = results["claims"]
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    assert {r["method"] for r in tables["models"]} == {"NT", "vAT", "HAT"}
    if with_polyu:
        assert results["data_sources"] == {"polyu": "user"} and claim["status"] == "indicative"
        assert {r["method"]: r["pairs"] for r in tables["table4"]} == dict.fromkeys(
            [rn.NOISY, "CBM3D", "NT", "vAT", "HAT"], 2)
        assert {r["camera"] for r in tables["per_camera"]} == {"Canon5D2", "Canon600D"}
        assert re.search(r"HAT [\d.]+ / [\d.]+, vAT", claim["evidence"]) and "smoke profile" in claim["evidence"]
        assert len(results["figures"]) == 2 and all((tmp_path / f).is_file() for f in results["figures"])
    else:
        assert results["data_sources"] == {"polyu": "missing"} and claim["status"] == "not run"
        assert claim["evidence"].startswith("section skipped: PolyU not found (downloads are off")
        assert results["notes"] == [claim["evidence"]] and not results["figures"] and not tables["scores"]
