import json
import subprocess
import sys

import torch

from companion import io, models, train


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "companion", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_train_writes_a_checkpoint_and_its_model_card(data_dir, tmp_path):
    out = _cli("train", "dncnn_s25", "--steps", "3", "--batch-size", "2", "--patch-size", "24", "--weight-init",
               "identity", "--out", str(tmp_path), "--state", str(tmp_path / "state.pt"))
    assert out.returncode == 0, out.stderr[-2000:]
    card = json.loads((tmp_path / "dncnn_s25.json").read_text())
    assert card["sha256"] == io.sha256_of(tmp_path / "dncnn_s25.pt")
    assert card["config"]["steps"] == 3 and card["evaluation"]["set12"]["psnr"] > 0
    assert card["config"]["batch_size"] == 2 and card["config"]["sigma"] == train.recipe("dncnn_s25", "quick")["sigma"]
    assert "--steps 3" in card["trained_by"] and card["profile"] == "quick" and card["weight_init"].startswith("identity")
    net = models.create("dncnn_s25", weights=tmp_path / "dncnn_s25.pt")  # the official layout
    assert not any("running" in k for k in net.state_dict())
    assert torch.load(tmp_path / "state.pt", weights_only=True)["step"] == 3


def test_fine_tuning_starts_from_the_official_weights_and_stores_float16(data_dir, weights_dir, tmp_path):
    out = _cli("train", "dncnn_s25_hat1", "--steps", "2", "--batch-size", "2", "--patch-size", "24",
               "--out", str(tmp_path), "--state", str(tmp_path / "state.pt"))
    assert out.returncode == 0, out.stderr[-2000:]
    card = json.loads((tmp_path / "dncnn_s25_hat1.json").read_text())
    assert not card["from_scratch"] and card["initialized_from"].startswith("dncnn_s25, official")
    assert card["config"]["adversarial"] == "hat" and card["config"]["hat_alpha"] == 1.0
    assert card["stored_as"].startswith("float16")
    state = torch.load(tmp_path / "dncnn_s25_hat1.pt", weights_only=True)
    assert {v.dtype for v in state.values()} == {torch.float16}
    assert card["evaluation"]["set12"]["psnr"] > 29  # two small steps leave the official DnCNN-S (30.4 dB) nearly as it was
    tuned = models.create("dncnn_s25_hat1", weights=tmp_path / "dncnn_s25_hat1.pt")
    assert next(tuned.parameters()).dtype == torch.float32


def test_train_refuses_an_unknown_profile():
    out = _cli("train", "rddcnn_b", "--profile", "huge")
    assert out.returncode == 2 and "invalid choice: 'huge'" in out.stderr
    out = _cli("train", "dncnn_s25_nt", "--weight-init", "identity")
    assert out.returncode == 2 and "fine-tuned from dncnn_s25" in out.stderr


def test_models_and_datasets_listings():
    out = _cli("models")
    assert out.returncode == 0 and "dncnn_b" in out.stdout and "ffdnet_color" in out.stdout
    out = _cli("datasets")
    assert out.returncode == 0 and "set12" in out.stdout and "levin09" in out.stdout


def test_reproduce_refuses_unknown_parameters():
    out = _cli("reproduce", "--only", "00", "-p", "sigmaa=15")
    assert out.returncode == 2 and "unknown parameter(s) ['sigmaa']" in out.stderr
