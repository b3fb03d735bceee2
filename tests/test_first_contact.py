"""First contact: every notebook runs to the end on a fresh offline machine (no data directory,
no weights directory, an empty cache, downloads off), and no claim is judged on that evidence.
One test per notebook, so that test workers share them out."""

import json
import re

import pytest

from companion import reproduce
from companion.claims import CLAIMS

NOTEBOOKS = [path.stem for path in reproduce.available()]


def test_every_claim_belongs_to_a_notebook():
    assert {claim.notebook for claim in CLAIMS.values()} <= set(NOTEBOOKS)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_notebook_runs_offline_and_judges_nothing(notebook, no_data, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPANION_WEIGHTS_DIR", raising=False)
    info = reproduce.run(profile="smoke", only=[notebook], output=tmp_path, progress=False)
    assert info["notebooks"][notebook]["status"] == "done", info["notebooks"][notebook]
    results = json.loads((tmp_path / f"{notebook}.json").read_text())
    recorded = results["claims"]
    assert {c["id"] for c in recorded} == {cid for cid, c in CLAIMS.items() if c.notebook == notebook}
    assert not [c["id"] for c in recorded if c["status"] in ("supported", "contradicted")]
    assert all(c["basis"] or c["evidence"] for c in recorded if c["status"] != "indicative")
    assert not set(results["data_sources"].values()) & {"user", "cache", "download"}, results["data_sources"]
    if notebook == "00_quickstart":
        assert results["data_sources"] == {"set12": "fallback"}
        assert all(w.startswith("ours") for w in results["weights"].values())  # our checkpoints stand in
    summary = (tmp_path / "summary.md").read_text()
    assert "0 supported, 0 contradicted" in summary
    assert ("embedded fallback" in summary) == ("fallback" in results["data_sources"].values())
    notebooks_table = summary.split("## Notebooks")[1].split("##")[0]
    assert sum(bool(re.match(r"\| \d\d_", line)) for line in notebooks_table.splitlines()) == 1
