"""The robustness audit (issue 33): its card, seeds, grid, cache, bad input and command line.

The audits here run a tiny protocol (``TINY``: one 24 x 24 crop, a few iterations and queries,
one budget per norm), in this process unless the test is about worker processes; the masking
checks, Dask and the leaderboard are in test_audit_masking.py and test_audit_grid.py."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import companion
from companion.audit import grid, protocol
from companion.audit.card import Card
from companion.audit.target import resolve
from companion.cli import main

TINY = dataclasses.replace(protocol.PROTOCOLS["quick"], name="tiny", images=1, crop=24, apgd_steps=3,
                           square_queries=10, more_steps=2, more_restarts=1, unbounded_steps=3, radar_angles=6,
                           factors=(1.0,))


def box() -> torch.nn.Module:
    """A 3 x 3 mean filter: a differentiable denoiser of forward(x) with no noise-level input."""
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect", bias=False)
    torch.nn.init.constant_(conv.weight, 1 / 9)
    return conv.eval()


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPANION_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("COMPANION_OFFLINE", "1")
    try:
        yield companion.audit(box(), budget=TINY, radar=False, cache_dir=False, threads=1)
    finally:
        mp.undo()


def test_the_card_holds_every_field(card, data_dir):
    assert card.target["kind"] == "denoiser" and card.target["spec"] is None
    assert card.probe["status"] == "ok" and not card.probe["randomized"]
    assert {"clean", "apgd", "square", "pgd", "transfer", "obsatk", "random", "apgd_long", "apgd_unbounded"} \
        <= set(card.members)
    tables = card.tables
    assert set(tables) >= {"clean", "curves", "dmr", "masking", "timing"}
    clean = tables["clean"]
    assert list(clean["sigma"]) == [25.0] and 15 < clean["psnr"].iloc[0] < 40 and 0 < clean["ssim"].iloc[0] <= 1
    curves = tables["curves"]
    for norm in ("linf", "l2"):
        part = curves[(curves["norm"] == norm) & np.isclose(curves["budget"], 0.012)]
        ensemble = part[part["attack"] == "ensemble"]["psnr"].item()
        assert ensemble == pytest.approx(part[part["attack"] != "ensemble"]["psnr"].min(), abs=1e-9) or \
            ensemble < part[part["attack"] != "ensemble"]["psnr"].min()  # the worst case per image is at most any mean
        assert ensemble < clean["psnr"].iloc[0]  # the ensemble hurts the model
        assert card.summary[f"robust_psnr_{norm}"] == pytest.approx(ensemble)
    rows = card.rows()
    l2 = rows[(rows["norm"] == "l2") & rows["worst"]]
    assert (l2["l2rms"] <= l2["budget"] + 1e-6).all()  # every L2 member stays in its ball
    linf = rows[(rows["norm"] == "linf") & rows["attack"].isin(["apgd", "square", "pgd"])]
    assert (linf["linf"] <= linf["budget"] + 1e-6).all()
    assert card.summary["dmr_linf"] == pytest.approx(card.summary["robust_psnr_linf"] - card.summary["clean_psnr"])
    assert {c["check"] for c in card.masking} == {"gradient", "gradient_free_linf", "gradient_free_l2", "more_steps",
                                                   "random_linf", "random_l2", "unbounded"}
    assert all(c["status"] in ("pass", "flag", "n/a") and c["evidence"] for c in card.masking)
    assert set(card.timing) == set(card.members) and all(v >= 0 for v in card.timing.values())
    assert card.versions["torch"] == torch.__version__ and card.command
    assert card.images["dataset"] == "set12" and card.images["names"] == sorted({r["image"] for r in card.per_image})
    assert card.images["source"] in ("user", "cache", "download", "fallback") and card.images["crop"] == 24
    assert card.images["comparable"] == (card.images["source"] != "fallback")


def test_the_card_round_trips_through_json_and_html(card, tmp_path):
    text = card.to_json()
    again = Card.from_json(text)
    assert again == card and again.to_json() == text
    figures = card.figures
    assert set(figures) == {"robust_psnr_linf", "robust_psnr_l2", "dmr"}
    assert all(fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel() for fig in figures.values())
    page = card.to_html()
    assert page.count("data:image/png;base64,") == 3 and "<script" not in page and "http" not in page.split("<body>")[1]
    card.save(tmp_path)
    assert json.loads((tmp_path / "card.json").read_text())["summary"] == card.summary
    assert {p.name for p in tmp_path.iterdir()} == {"card.json", "card.html", "robust_psnr_linf.png",
                                                    "robust_psnr_l2.png", "dmr.png"}


def test_the_same_seed_gives_the_same_bits(card, data_dir):
    again = companion.audit(box(), budget=TINY, radar=False, cache_dir=False, threads=1)
    assert again.per_image == card.per_image


def _job(images: int = 3):
    from toys import smooth_images

    imgs = smooth_images(images, 24)
    return grid.Job(resolve(box()), TINY, [img[0].numpy() for _, img in imgs], list(imgs.names), "toy", threads=1)


def _tasks(job, size: int):
    return [grid.Task("box", 25.0, norm, 0.012, attack, "raw" if attack == "apgd" else None, lo, hi)
            for attack in ("apgd", "square") for norm in ("linf", "l2") for lo, hi in grid.shards(len(job.names), size)]


def _per_image(outcome) -> dict:
    out = {}
    for task, result in outcome.results.items():
        for j, i in enumerate(range(task.start, task.stop)):
            out[task.cell() + (i,)] = result["psnr"][j]
    return out


def test_a_task_seed_depends_only_on_its_coordinates():
    a = grid.Task("m", 25.0, "linf", 0.012, "apgd", "raw", 0, 2)
    assert a.seed == grid.Task("m", 25.0, "linf", 0.012, "apgd", "raw", 0, 2).seed
    assert a.seed != dataclasses.replace(a, attack="square").seed != dataclasses.replace(a, sigma=15.0).seed
    assert dataclasses.replace(a, start=1, stop=2).seed == a.seed + 1  # image i's seed is the same in any shard
    import subprocess
    import sys
    code = "from companion.audit.grid import stable_seed; print(stable_seed('m', 25.0, 'linf', 0.012, 'apgd', 'raw'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "1", "PATH": ""}).stdout.strip()
    assert other == str(a.seed)  # no salted hash(): another process (another string hash) agrees


def test_the_grid_gives_the_same_numbers_in_any_order_and_any_shards():
    job = _job()
    prints = {25.0: "box"}
    whole = _per_image(grid.run(job, _tasks(job, 3), prints, workers=0))
    split = _per_image(grid.run(job, list(reversed(_tasks(job, 1))), prints, workers=0))
    assert whole == split and len(whole) == 12


def test_a_rerun_computes_nothing_and_a_lost_result_is_made_again(tmp_path, monkeypatch):
    job = dataclasses.replace(_job(2), cache_dir=str(tmp_path))
    calls = []
    real = grid.run_task
    monkeypatch.setattr(grid, "run_task", lambda job, task: calls.append(task) or real(job, task))
    tasks = _tasks(job, 1)
    first = grid.run(job, tasks, {25.0: "box"}, workers=0)
    assert (first.computed, first.cached, len(calls)) == (8, 0, 8)
    again = grid.run(job, tasks, {25.0: "box"}, workers=0)
    assert (again.computed, again.cached, len(calls)) == (0, 8, 8) and again.results == first.results
    next((tmp_path / "audit").glob("*.json")).unlink()  # a worker lost before writing its result
    resumed = grid.run(job, tasks, {25.0: "box"}, workers=0)
    assert (resumed.computed, len(calls)) == (1, 9) and _per_image(resumed) == _per_image(first)
    other = grid.run(job, tasks, {25.0: "other weights"}, workers=0)
    assert other.computed == 8  # another model's fingerprint never reads these results


@pytest.mark.parametrize("target, message", [
    ("dncnn_s26", "unknown model"),
    ("not a spec:", "bad factory spec"),
    ("no_such_module_xyz:build", "cannot import"),
    ("math:no_such_factory", "no callable"),
    ("collections:OrderedDict", "not a torch.nn.Module"),
])
def test_a_bad_target_is_refused_in_one_line(target, message):
    with pytest.raises(ValueError, match=message) as err:
        resolve(target)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"sigma": math.nan}, "finite sigma"),
    ({"sigma": [25, math.inf]}, "finite sigma"),
    ({"budget": "fast"}, "unknown audit budget 'fast'"),
    ({"dataset": "set13"}, "unknown dataset"),
])
def test_bad_audit_settings_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        companion.audit(box(), **kwargs)
    assert "\n" not in str(err.value)


def test_the_contract_is_read_from_forward():
    from companion.audit.target import kind_of
    from companion.models import create

    class Given(torch.nn.Module):
        def forward(self, x, sigma):
            return x

    assert kind_of(box()) == "denoiser" and kind_of(Given()) == "denoiser_sigma"
    assert kind_of(create("dncnn_b", weights=None)) == "denoiser_sigma"
    assert kind_of(create("mprnet_small", weights=None)) == "restorer"


FACTORY = '''
import torch

def build():
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect", bias=False)
    torch.nn.init.constant_(conv.weight, 1 / 9)
    return conv
'''


def test_the_command_line_writes_a_card(tmp_path, monkeypatch, capsys, data_dir, weights_dir):
    (tmp_path / "audit_factory_mod.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(protocol.PROTOCOLS, "quick", TINY)
    weights = tmp_path / "w.pt"
    torch.save({"weight": torch.full((1, 1, 3, 3), 1 / 9)}, weights)
    out = tmp_path / "card"
    assert main(["audit", "audit_factory_mod:build", "--weights", str(weights), "--workers", "0",
                 "--threads", "1", "--output", str(out)]) == 0
    assert (out / "card.html").is_file() and json.loads((out / "card.json").read_text())["target"]["spec"] == \
        "audit_factory_mod:build"
    assert "masking flags" in capsys.readouterr().out
    assert main(["audit", "no_such_zoo_model"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown model") and err.count("\n") == 1
    with pytest.raises(SystemExit) as stop:
        main(["audit", "dncnn_s25", "--sigma", "nan"])
    assert stop.value.code == 2 and "finite sigma" in capsys.readouterr().err
