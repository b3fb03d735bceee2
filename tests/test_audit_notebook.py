"""Notebook 09 (the robustness audit, issue 33): it runs in the smoke profile on the shared data and
weights, saves the card (JSON, HTML, one PNG per figure), records the card's tables and figures in
its results and no claim (the audit is our tool, no paper's); the model picker and the progress
callback it uses (``companion.widgets``)."""

import json

import pytest

from companion import config, reproduce, widgets
from companion.audit import Card
from companion.claims import CLAIMS
from companion.models import list_models


def test_the_notebook_has_no_claims_and_its_sizes_in_every_profile():
    assert not [cid for cid, c in CLAIMS.items() if c.notebook == "09_audit"]
    assert config.profile("quick").sizes_for("09")["budget"] == "quick"
    assert config.profile("paper").sizes_for("09")["budget"] == "standard"
    assert config.profile("paper").sizes_for("09", budget="quick", images=3) == {"budget": "quick", "images": 3,
                                                                                  "crop": None}
    declared = reproduce.declared_parameters(reproduce.select(["09"])[0])
    assert set(config.PROFILES["smoke"].parameters["09"]) <= set(declared)


def test_progress_reports_the_tasks_done_of_the_total(capsys):
    with widgets.progress("audit of x") as bar:
        bar(1, 4)
        bar(4, 4)
    err = capsys.readouterr().err
    assert "audit of x" in err and "4/4" in err


def test_the_notebook_runs_in_the_smoke_profile_and_saves_the_card(data_dir, weights_dir, tmp_path, monkeypatch,
                                                                    capsys):
    info = reproduce.run(profile="smoke", only=["09"], output=tmp_path, progress=False)
    assert info["notebooks"]["09_audit"]["status"] == "done", info["notebooks"]["09_audit"]
    results = json.loads((tmp_path / "09_audit.json").read_text())
    assert results["claims"] == []
    assert results["data_sources"] == {"set12": "user"}
    assert results["weights"]["dncnn_s25"].startswith("official")

    folder = tmp_path / "09_audit_card"
    card = Card.from_json((folder / "card.json").read_text())
    assert (folder / "card.html").read_text().startswith("<!DOCTYPE html>")
    pngs = sorted(p.stem for p in folder.glob("*.png"))
    assert pngs == sorted(card.figures) and "radar" in pngs
    assert sorted(results["figures"]) == sorted(f"figures/09_audit_{name}.png" for name in pngs)
    assert all((tmp_path / f).stat().st_size > 0 for f in results["figures"])

    smoke = config.PROFILES["smoke"].parameters["09"]
    assert card.target["name"] == "dncnn_s25" and card.protocol["name"] == "quick"
    assert card.protocol["images"] == smoke["max_images"] == len({r["image"] for r in card.per_image})
    assert card.protocol["crop"] == smoke["crop"] and card.grid["computed"] + card.grid["cached"] == card.grid["tasks"]

    tables = {t["id"]: t["rows"] for t in results["tables"]}
    expected = card.tables
    assert set(tables) == {"summary", *expected}
    for name, table in expected.items():
        assert len(tables[name]) == len(table), name
    assert tables["summary"] == [json.loads(json.dumps(card.summary))]
    assert [r["psnr"] for r in tables["clean"]] == pytest.approx(expected["clean"]["psnr"].tolist())
    assert {r["attack"] for r in tables["curves"]} >= {"apgd", "square", "ensemble"}
    summary = (tmp_path / "summary.md").read_text()
    assert "| 09_audit | done |" in summary and "Gradient-masking checks" in summary

    # the picker: inert when built, an audit with the notebook's settings once a model is chosen
    calls = []
    monkeypatch.setattr(widgets, "audit", lambda name, **kwargs: calls.append((name, kwargs)) or card)
    box = widgets.audit_picker("dncnn_s25", budget="quick", images=1)
    pick = box.children[0]
    assert list(pick.options) == list_models() and pick.value == "dncnn_s25" and not calls
    pick.value = "dncnn_b"
    assert [(n, {k: v for k, v in kw.items() if k != "progress"}) for n, kw in calls] == [
        ("dncnn_b", {"budget": "quick", "images": 1})]
    assert callable(calls[0][1]["progress"])
