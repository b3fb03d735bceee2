"""First contact: every notebook runs to the end on a fresh offline machine (no data directory,
no weights directory, an empty cache, downloads off), and no claim is judged on that evidence."""

import json

from companion import reproduce
from companion.claims import CLAIMS


def test_every_notebook_runs_offline_and_judges_nothing(no_data, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_WEIGHTS_DIR", raising=False)
    info = reproduce.run(profile="smoke", output=tmp_path, progress=False)
    status = {nb: s["status"] for nb, s in info["notebooks"].items()}
    assert len(status) == len(reproduce.available()) and set(status.values()) == {"done"}, status
    recorded = [c for nb in status for c in json.loads((tmp_path / f"{nb}.json").read_text())["claims"]]
    assert {c["id"] for c in recorded} == set(CLAIMS)  # every claim is accounted for, run or not
    quickstart = json.loads((tmp_path / "00_quickstart.json").read_text())
    assert quickstart["data_sources"] == {"set12": "fallback"}
    assert all(w.startswith("ours") for w in quickstart["weights"].values())  # our checkpoints stand in
    assert not [c["id"] for c in recorded if c["status"] in ("supported", "contradicted")]
    assert all(c["basis"] or c["evidence"] for c in recorded if c["status"] != "indicative")
    summary = (tmp_path / "summary.md").read_text()
    assert "0 supported, 0 contradicted" in summary and "embedded fallback" in summary
    notebooks_table = summary.split("## Notebooks")[1].split("##")[0]
    assert sum(line.startswith("| 0") for line in notebooks_table.splitlines()) == len(status)
