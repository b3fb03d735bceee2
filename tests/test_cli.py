"""The command line, run in-process (``cli.main``) except for one check of ``python -m companion``
itself; the bad-input cases are in ``test_battery_cli.py``."""

import json
import subprocess
import sys

import pytest
import torch

from companion import cli, config, io, models, train, weights


def _run(capsys, *argv):
    """``(exit code, stdout, stderr)`` of ``companion ARGV``."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's refusals
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _shipped() -> dict:
    folder = weights.checkpoint_path("x", replace_shipped=True).parent
    return {p.name: io.sha256_of(p) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def two_images(monkeypatch):
    """The training set and the model card's test set cut to their first two images (``data.load``
    with limit=2 unless a limit is asked): these tests check what the command writes, not how well
    three steps train."""
    from companion import data

    load = data.load
    monkeypatch.setattr(data, "load", lambda name, *args, **kwargs: load(name, *args, **{"limit": 2, **kwargs}))


def test_train_writes_a_checkpoint_and_its_model_card_outside_the_package(data_dir, tmp_path, monkeypatch, capsys,
                                                                           two_images):
    """No --out, no --state: both go under the project's outputs/ (here a temporary root), never
    into companion/checkpoints, whose files keep their bytes."""
    monkeypatch.setattr(config, "project_root", lambda: tmp_path)
    before = _shipped()
    code, out, err = _run(capsys, "train", "dncnn_s25", "--steps", "3", "--batch-size", "2", "--patch-size", "24",
                          "--weight-init", "identity", "--save-every", "2")
    assert code == 0, err[-2000:]
    ckpt = tmp_path / "outputs" / "checkpoints" / "dncnn_s25.pt"
    assert f"wrote {ckpt}" in out and f"weights='{ckpt}'" in out
    card = json.loads(ckpt.with_suffix(".json").read_text())
    assert card["sha256"] == io.sha256_of(ckpt)
    assert card["config"]["steps"] == 3 and card["evaluation"]["set12"]["psnr"] > 0
    assert card["config"]["batch_size"] == 2 and card["config"]["sigma"] == train.recipe("dncnn_s25", "quick")["sigma"]
    assert card["config"]["checkpoint_every"] == 2
    assert "--steps 3" in card["trained_by"] and card["profile"] == "quick"
    assert card["weight_init"].startswith("identity")
    net = models.create("dncnn_s25", weights=ckpt)  # the official layout
    assert not any("running" in k for k in net.state_dict())
    assert torch.load(tmp_path / "outputs" / "train" / "dncnn_s25.state.pt", weights_only=True)["step"] == 3
    assert _shipped() == before


def test_fine_tuning_starts_from_the_official_weights_and_stores_float16(data_dir, weights_dir, tmp_path, capsys,
                                                                        two_images):
    code, _, err = _run(capsys, "train", "dncnn_s25_hat1", "--steps", "2", "--batch-size", "2", "--patch-size", "24",
                        "--out", str(tmp_path), "--state", str(tmp_path / "state.pt"))
    assert code == 0, err[-2000:]
    card = json.loads((tmp_path / "dncnn_s25_hat1.json").read_text())
    assert not card["from_scratch"] and card["initialized_from"].startswith("dncnn_s25, official")
    assert card["config"]["adversarial"] == "hat" and card["config"]["hat_alpha"] == 1.0
    assert card["stored_as"].startswith("float16")
    state = torch.load(tmp_path / "dncnn_s25_hat1.pt", weights_only=True)
    assert {v.dtype for v in state.values()} == {torch.float16}
    assert card["evaluation"]["set12"]["psnr"] > 29  # two small steps leave the official DnCNN-S (30.4 dB) as it was
    tuned = models.create("dncnn_s25_hat1", weights=tmp_path / "dncnn_s25_hat1.pt")
    assert next(tuned.parameters()).dtype == torch.float32


def test_train_refuses_an_unknown_profile(capsys):
    code, _, err = _run(capsys, "train", "rddcnn_b", "--profile", "huge")
    assert code == 2 and "invalid choice: 'huge'" in err
    code, _, err = _run(capsys, "train", "dncnn_s25_nt", "--weight-init", "identity")
    assert code == 2 and err.strip().splitlines() == ["error: dncnn_s25_nt is fine-tuned from dncnn_s25; an identity "
                                                      "start is for training from scratch"]


def test_models_and_datasets_listings(capsys):
    code, out, _ = _run(capsys, "models")
    assert code == 0 and "dncnn_b" in out and "ffdnet_color" in out
    assert len(out.splitlines()) == len(models.MODELS)
    code, out, _ = _run(capsys, "datasets")
    assert code == 0 and "set12" in out and "levin09" in out


def test_reproduce_refuses_unknown_parameters(capsys, tmp_path):
    code, _, err = _run(capsys, "reproduce", "--only", "00", "-p", "sigmaa=15", "--output", str(tmp_path / "run"))
    assert code == 2 and "unknown parameter(s) ['sigmaa']" in err and len(err.strip().splitlines()) == 1


def test_python_dash_m_companion_refuses_in_one_line():
    """The module entry point: argparse's refusal, and the package's, without a traceback."""
    out = subprocess.run([sys.executable, "-m", "companion", "train", "bm3d"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2 and out.stderr.strip() == "error: bm3d is a classical method: nothing to train"
    out = subprocess.run([sys.executable, "-m", "companion", "train", "dncnn_s25", "--steps", "0"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "argument --steps: need a whole number of steps >= 1, got 0" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("argv", [["train", "dncnn_s25"], ["reproduce", "--only", "00"]])
def test_a_bug_keeps_its_traceback(argv, monkeypatch):
    """Only the package's refusals of bad input become one line; anything else is a bug and
    surfaces whole."""
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr("companion.train.card.train_model", broken)
    monkeypatch.setattr("companion.reproduce.run", broken)
    with pytest.raises(KeyError, match="a bug"):
        cli.main(argv)
