"""A battery of bad command lines (issue 30), one row per case, run in-process (``cli.main``).

``TRAIN`` and ``REPRODUCE``: the arguments, the exit code and a phrase of the message. A refusal
is exit code 2 and one line, ``error: ...`` from the package or argparse's
``companion ...: error: argument ...`` after its usage, never a traceback. Every ``train`` row
also checks that the shipped checkpoints keep their bytes (sha256) and that no checkpoint was
written: before issue 30, ``train dpir_small_gray --steps 0`` overwrote the shipped
``companion/checkpoints/dpir_small_gray.{pt,json}`` with an untrained model. Placeholders in the
arguments: ``{tmp}`` a fresh folder, ``{file}`` a plain file, ``{ro}`` a read-only folder,
``{pkg}`` the package's checkpoints, ``{link}`` a symbolic link to them, ``{state:KIND}`` a bad
training state (``STATES``). Training rows train on Set12 (12 small images) in 16x16 patches.
"""

import errno
import os
import pickle
from pathlib import Path

import pytest
import torch

from companion import cli, config, io, weights

SHIPPED = weights.checkpoint_path("x", replace_shipped=True).parent
PACKAGE = SHIPPED.parent
TINY = ["--steps", "2", "--batch-size", "2", "--patch-size", "16", "--dataset", "set12"]
OUT = ["--out", "{tmp}/out", "--state", "{tmp}/state.pt"]


class Payload:
    """A pickle that would create a file if it were ever unpickled with code execution."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _truncated(path: Path):
    torch.save({"model": {"w": torch.zeros(4096)}, "step": 3}, path)
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


STATES = {
    "garbage": lambda p: p.write_bytes(os.urandom(256)),
    "empty": lambda p: p.write_bytes(b""),
    "truncated": _truncated,
    "json": lambda p: p.write_text('{"step": 3}'),
    "list": lambda p: torch.save([1, 2, 3], p),
    "other_config": lambda p: torch.save({"config": {"steps": 1}, "model": {}, "optimizer": {}, "step": 1,
                                          "history": [0.1], "rng": torch.get_rng_state(), "elapsed_s": 0.0}, p),
    "pickle": lambda p: p.write_bytes(pickle.dumps(Payload(str(p.parent / "ran")), protocol=2)),
}

TRAIN = [
    # the data-loss case and the package
    pytest.param(["dpir_small_gray", "--steps", "0", "--state", "{tmp}/x.pt"], 2,
                 "argument --steps: need a whole number of steps >= 1, got 0", id="steps-0-data-loss"),
    pytest.param(["dpir_small_gray", *TINY, "--out", "{pkg}"], 2, "is inside the package", id="out-package"),
    pytest.param(["dncnn_s25", *TINY, "--out", str(PACKAGE)], 2, "is inside the package", id="out-package-root"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{pkg}/mine"], 2, "is inside the package", id="out-under-package"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{pkg}/../checkpoints"], 2, "is inside the package",
                 id="out-package-dotdot"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{link}"], 2, "is inside the package", id="out-symlink-to-package"),
    pytest.param(["dncnn_s25", *TINY, "--name", "../checkpoints/dncnn_s25", "--out", "{pkg}/../../outputs"], 2,
                 "must be a plain file name", id="name-climbs-out"),
    pytest.param(["dncnn_s25", *TINY, "--name", "a/b", *OUT], 2, "must be a plain file name", id="name-with-folder"),
    pytest.param(["dncnn_s25", *TINY, "--name", ".hidden", *OUT], 2, "must be a plain file name", id="name-hidden"),
    pytest.param(["dncnn_s25", *TINY, "--replace-shipped", "--out", "{tmp}/out"], 2, "only, not",
                 id="replace-shipped-elsewhere"),
    pytest.param(["dncnn_s25", *TINY[:-1], "set13", "--replace-shipped", "--state", "{tmp}/s.pt"], 2,
                 "unknown dataset 'set13'", id="replace-shipped-accepted-then-bad-dataset"),
    # which model
    pytest.param(["dncnn_s52"], 2, "unknown model 'dncnn_s52'; did you mean", id="unknown-model"),
    pytest.param(["DnCNN_S25"], 2, "did you mean dncnn_s25", id="model-case"),
    pytest.param(["bm3d"], 2, "bm3d is a classical method: nothing to train", id="classical"),
    pytest.param(["tv_color"], 2, "classical method: nothing to train", id="classical-color"),
    pytest.param(["ecndnet_s25"], 2, "has no training recipe", id="official-only"),
    pytest.param(["dncnn_s25", "--profile", "huge"], 2, "invalid choice: 'huge'", id="unknown-profile"),
    pytest.param(["dncnn_s25", "--profile", "smoke"], 2, "no 'smoke' training recipe", id="profile-without-recipe"),
    pytest.param(["dncnn_s25_nt", "--weight-init", "identity"], 2, "fine-tuned from dncnn_s25", id="identity-finetune"),
    pytest.param(["dncnn_s25", "--weight-init", "orthogonal"], 2, "invalid choice: 'orthogonal'", id="weight-init"),
    # numbers
    pytest.param(["dncnn_s25", "--steps", "-3"], 2, "whole number of steps >= 1, got -3", id="steps-negative"),
    pytest.param(["dncnn_s25", "--steps", "2.5"], 2, "whole number of steps >= 1, got 2.5", id="steps-fraction"),
    pytest.param(["dncnn_s25", "--steps", "abc"], 2, "argument --steps: need a number, got 'abc'", id="steps-text"),
    pytest.param(["dncnn_s25", "--steps", "nan"], 2, "whole number of steps", id="steps-nan"),
    pytest.param(["dncnn_s25", "--batch-size", "0"], 2, "whole number batch size >= 1", id="batch-0"),
    pytest.param(["dncnn_s25", "--patch-size", "0"], 2, "whole number patch size >= 1", id="patch-0"),
    pytest.param(["dncnn_s25", "--lr", "0"], 2, "need a finite learning rate > 0", id="lr-0"),
    pytest.param(["dncnn_s25", "--lr=-1e-3"], 2, "need a finite learning rate > 0", id="lr-negative"),
    pytest.param(["dncnn_s25", "--lr", "inf"], 2, "need a finite learning rate > 0, got inf", id="lr-inf"),
    pytest.param(["dncnn_s25", "--lr", "nan"], 2, "need a finite learning rate > 0, got nan", id="lr-nan"),
    pytest.param(["dncnn_s25", "--sigma", "-5"], 2, "need a finite sigma >= 0, got -5", id="sigma-negative"),
    pytest.param(["dncnn_s25", "--sigma", "nan"], 2, "need a finite sigma >= 0, got nan", id="sigma-nan"),
    pytest.param(["dncnn_b", "--sigma-range", "0", "inf"], 2, "need a finite sigma >= 0, got inf", id="range-inf"),
    pytest.param(["dncnn_b", "--sigma-range", "50", "10", *OUT], 2, "low <= high", id="range-reversed"),
    pytest.param(["dncnn_s25", "--eval-sigma", "-1"], 2, "argument --eval-sigma: need a finite sigma >= 0",
                 id="eval-sigma-negative"),
    pytest.param(["dncnn_s25", "--seed", "-1"], 2, "whole number seed >= 0", id="seed-negative"),
    pytest.param(["dncnn_s25", "--seed", "1e20", *OUT], 2, "TrainConfig.seed must be in [0, 2**31)", id="seed-huge"),
    pytest.param(["dncnn_s25", "--save-every", "0"], 2, "whole number of steps between saves >= 1", id="save-every-0"),
    pytest.param(["dncnn_s25", "--save-every", "1.5"], 2, "of steps between saves", id="save-every-fraction"),
    # where it writes
    pytest.param(["dncnn_s25", *TINY, "--out", "{ro}", "--state", "{tmp}/s.pt"], 2,
                 "cannot write into {ro} (the checkpoint's folder, --out): Permission denied", id="out-read-only"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{file}", "--state", "{tmp}/s.pt"], 2, "{file} is a file",
                 id="out-is-a-file"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{file}/sub", "--state", "{tmp}/s.pt"], 2, "{file} is a file",
                 id="out-under-a-file"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{tmp}/out", "--state", "{ro}/s.pt"], 2,
                 "cannot write into {ro} (the training state's folder, --state): Permission denied",
                 id="state-read-only"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{tmp}/out", "--state", "{file}/s.pt"], 2, "{file} is a file",
                 id="state-under-a-file"),
    pytest.param(["dncnn_s25", *TINY, "--out", "{tmp}/out", "--state", "{tmp}"], 2, "is a folder; give a file path",
                 id="state-is-a-folder"),
    # what it reads
    *[pytest.param(["dncnn_s25", *TINY, "--out", "{tmp}/out", "--state", f"{{state:{kind}}}"], 2, phrase,
                   id=f"state-{kind}")
      for kind, phrase in [("garbage", "is not a readable training state"),
                           ("empty", "is not a readable training state"),
                           ("truncated", "is not a readable training state"),
                           ("json", "is not a readable training state"),
                           ("list", "not written by companion.train"),
                           ("other_config", "was written with another configuration"),
                           ("pickle", "is not a readable training state")]],
    pytest.param(["dncnn_s25", *TINY[:-1], "set13", *OUT], 2, "unknown dataset 'set13'",
                 id="unknown-dataset"),
    pytest.param(["dncnn_s25", *TINY[:-1], "kernels_12", *OUT], 2, "not an image dataset", id="kernels-as-dataset"),
    pytest.param(["dncnn_s25", *TINY, "--device", "tpu", *OUT], 2, "unknown device 'tpu'", id="unknown-device"),
    # how it ends
    pytest.param(["dncnn_s25", *TINY, "--lr", "1e30", *OUT], 2, "training diverged at step", id="nan-loss"),
]

REPRODUCE = [
    pytest.param(["--only", "00", "-p", "sigma"], 2, "got 'sigma'", id="param-no-equals"),
    pytest.param(["--only", "00", "-p", 'models=["dncnn_s52"]'], 2,
                 "-p models: unknown model 'dncnn_s52'; did you mean", id="param-model-typo"),
    pytest.param(["--only", "01", "-p", 'table_models=["dncnn_s25", "dncnnb"]'], 2,
                 "-p table_models: unknown model 'dncnnb'; did you mean dncnn_b", id="param-table-models-typo"),
    pytest.param(["--only", "02", "-p", 'gray_models=["ffdnet"]'], 2, "-p gray_models: unknown model 'ffdnet'",
                 id="param-gray-models-typo"),
    pytest.param(["--only", "00", "-p", "sigmaa=15"], 2, "unknown parameter(s) ['sigmaa']", id="param-unknown"),
    pytest.param(["--only", "00", "-p", "output_dir=x"], 2, "with their own options", id="param-standard"),
    pytest.param(["--only", "99"], 2, "no notebook matches '99'", id="unknown-notebook"),
    pytest.param(["--only", "00", "--device", "tpu"], 2, "unknown device 'tpu'", id="unknown-device"),
    pytest.param(["--only", "00", "--profile", "huge"], 2, "invalid choice: 'huge'", id="unknown-profile"),
    pytest.param(["--only", "00", "--output", "{file}"], 2, "cannot write into {file} (--output): {file} is a file",
                 id="output-is-a-file"),
    pytest.param(["--only", "00", "--output", "{file}/run"], 2, "{file} is a file", id="output-under-a-file"),
    pytest.param(["--only", "00", "--output", "{ro}"], 2, "cannot write into {ro} (--output): Permission denied",
                 id="output-read-only"),
    pytest.param(["--only", "00", "--output", "{ro}/run"], 2, "Permission denied", id="output-under-read-only"),
]

OTHER = [
    pytest.param([], 2, "the following arguments are required: command", id="no-command"),
    pytest.param(["fly"], 2, "invalid choice: 'fly'", id="unknown-command"),
    pytest.param(["train"], 2, "the following arguments are required: model", id="train-no-model"),
    pytest.param(["datasets", "--resolved"], 2, "unrecognized arguments: --resolved", id="unknown-flag"),
]


@pytest.fixture
def places(tmp_path, monkeypatch):
    """The placeholders' values. ``{ro}`` is read-only (mode 555); as root, who may write
    anywhere, creating something in it is refused the way the kernel refuses everyone else."""
    ro, file = tmp_path / "ro", tmp_path / "afile"
    ro.mkdir()
    file.write_text("not a folder")
    ro.chmod(0o555)
    if os.geteuid() == 0:
        real_mkdir = os.mkdir

        def mkdir(path, *args, **kwargs):
            if ro in (Path(path).absolute(), *Path(path).absolute().parents):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", mkdir)
    (tmp_path / "link").symlink_to(SHIPPED)
    yield {"tmp": str(tmp_path), "file": str(file), "ro": str(ro), "pkg": str(SHIPPED), "link": str(tmp_path / "link")}
    ro.chmod(0o755)


def _fill(text: str, places: dict, tmp_path: Path) -> str:
    if text.startswith("{state:"):
        kind = text[len("{state:"):-1]
        path = tmp_path / f"{kind}.state"
        STATES[kind](path)
        return str(path)
    return text.format(**places)


def _run(argv, capsys) -> tuple:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr()


def _refused_in_one_line(code, captured, expected_code, phrase):
    assert code == expected_code, captured.err[-2000:]
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if "error: " in line]
    assert len(lines) == 1 and phrase in lines[0], captured.err[-2000:]
    assert captured.err.rstrip().endswith(lines[0])  # the last thing said


@pytest.fixture(scope="module")
def shipped():
    return {p.name: io.sha256_of(p) for p in sorted(SHIPPED.iterdir())}


def _written(folder: Path) -> list:
    """The checkpoints and model cards under ``folder`` (symbolic links not followed)."""
    return [name for _, _, names in os.walk(folder) for name in names if name.endswith((".pt", ".json"))]


@pytest.mark.parametrize("argv, code, phrase", TRAIN)
def test_train(argv, code, phrase, places, tmp_path, capsys, shipped, request, monkeypatch):
    monkeypatch.setattr(config, "project_root", lambda: tmp_path / "project")  # the default outputs/
    if any(a.startswith("{state:") for a in argv) or "1e30" in argv:  # these train on Set12 before refusing
        request.getfixturevalue("data_dir")
    argv = ["train"] + [_fill(a, places, tmp_path) for a in argv]
    result, captured = _run(argv, capsys)
    _refused_in_one_line(result, captured, code, phrase.format(**places))
    assert {p.name: io.sha256_of(p) for p in sorted(SHIPPED.iterdir())} == shipped
    assert _written(tmp_path) == []  # no checkpoint, no model card, no training state
    assert not (tmp_path / "ran").exists()  # the pickle never ran


@pytest.mark.parametrize("argv, code, phrase", REPRODUCE)
def test_reproduce(argv, code, phrase, places, tmp_path, capsys):
    argv = ["reproduce"] + [_fill(a, places, tmp_path) for a in argv]
    if "--output" not in argv:
        argv += ["--output", str(tmp_path / "run")]
    result, captured = _run(argv, capsys)
    _refused_in_one_line(result, captured, code, phrase.format(**places))
    assert not list(tmp_path.rglob("*.ipynb"))  # no notebook ran


@pytest.mark.parametrize("argv, code, phrase", OTHER)
def test_other(argv, code, phrase, capsys):
    result, captured = _run(argv, capsys)
    _refused_in_one_line(result, captured, code, phrase)
