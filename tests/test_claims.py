"""The verdict policy (claims.judge), the summary that counts verdicts and indicative checks
apart, and a report a person can read (one-line failures, table cells that stay in their row)."""

import json

import pytest

from companion import checks, claims, report, reproduce

OFFICIAL = "official: cszn/KAIR release v1.0"
OURS = "ours: companion/checkpoints/dpir_small_gray.pt"


@pytest.mark.parametrize("sources, weights, profile, status, leaning", [
    ({"set12": "user"}, {"dncnn_s25": OFFICIAL, "bm3d": "none (classical method)"}, "quick", "supported", None),
    ({"set12": "download"}, {"dncnn_s25": OFFICIAL}, "paper", "supported", None),
    ({"set12": "fallback"}, {"dncnn_s25": OFFICIAL}, "quick", "indicative", "supported"),
    ({"set12": "user"}, {"dncnn_s25": OFFICIAL, "dpir_small_gray": OURS}, "quick", "indicative", "supported"),
    ({"set12": "user"}, {"dncnn_s25": "file: /tmp/mine.pth"}, "quick", "indicative", "supported"),
    ({"set12": "user"}, {"dncnn_s25": "none (random init)"}, "quick", "indicative", "supported"),
    ({"set12": "user"}, {"dncnn_s25": OFFICIAL}, "smoke", "indicative", "supported"),
])
def test_verdicts_need_the_papers_data_and_models(sources, weights, profile, status, leaning):
    got = claims.judge("attack_every_model_drops", True, sources, weights, profile)
    assert (got["status"], got["leaning"]) == (status, leaning)
    assert bool(got["basis"]) and (status == "supported") == (got["basis"] == "the papers' data and models")
    assert claims.judge("attack_every_model_drops", False, sources, weights, profile)["status"] == (
        "contradicted" if status == "supported" else "indicative")


def test_the_basis_names_what_is_not_the_papers():
    basis = claims.judge("attack_every_model_drops", False, {"set12": "fallback", "bsd68": "user"},
                         {"dncnn_s25": OFFICIAL, "dpir_small_gray": OURS}, "quick")["basis"]
    assert "fallback data" in basis and "set12" in basis and "bsd68" not in basis
    assert "dpir_small_gray" in basis and "dncnn_s25" not in basis


def test_a_published_figure_is_not_judged_on_other_evidence():
    got = claims.judge("dncnn_s25_set12", False, {"set12": "fallback"}, {"dncnn_s25": OURS})
    assert got["status"] == "not run" and "published figure" in got["basis"] and "fallback" in got["basis"]
    assert claims.judge("dncnn_s25_set12", True, {"set12": "user"}, {"dncnn_s25": OFFICIAL})["status"] == "supported"
    assert claims.judge("dncnn_s25_set12", None, {"set12": "user"}, {"dncnn_s25": OFFICIAL})["status"] == "not run"


def test_results_judge_a_claim_on_the_models_it_names(tmp_path):
    r = report.Results("01_attack", tmp_path, {"profile": "quick"})
    r.source("set12", "user")
    r.model("dncnn_s25", OFFICIAL)
    r.model("dncnn_b", OFFICIAL)
    r.model("dpir_small_gray", OURS)
    assert r.claim("blind_drops_more_than_dncnn", True, "e", models=["dncnn_s25", "dncnn_b"]) == "supported"
    assert r.claim("attack_every_model_drops", True, "e") == "indicative"  # every recorded model by default
    with pytest.raises(ValueError, match=r"\['dpir_gray'\] were not recorded"):
        r.claim("nonblind_most_robust", True, "e", models=["dpir_gray"])
    with pytest.raises(ValueError, match="dataset"):
        r.claim("nonblind_most_robust", True, "e", datasets=["bsd68"])
    smoke = report.Results("01_attack", tmp_path, {"profile": "smoke"})
    smoke.source("set12", "user")
    smoke.model("dncnn_s25", OFFICIAL)
    assert smoke.claim("attack_every_model_drops", True, "e") == "indicative"


def test_summary_counts_indicative_checks_apart(tmp_path):
    r = report.Results("01_attack", tmp_path, {"profile": "quick"})
    r.source("set12", "fallback")
    r.model("dncnn_s25", OFFICIAL)
    r.claim("attack_every_model_drops", True, "all drop")
    r.claim("blind_drops_more_than_dncnn", False, "no")
    r.save()
    rows = report.claim_rows(report.load_results(tmp_path))
    status = {row["notebook"] + row["claim"][:10]: row["status"] for row in rows}
    assert "indicative (leans supported)" in status.values() and "indicative (leans contradicted)" in status.values()
    n = len(claims.CLAIMS)
    assert report.claim_counts(rows) == (f"0 supported, 0 contradicted, 2 indicative (1 leaning supported, "
                                         f"1 leaning contradicted), {n - 2} not run")
    text = report.summary_markdown(tmp_path)
    assert "set12: embedded fallback" in text and "indicative" in text


def test_table_cells_stay_in_their_row():
    table = report.markdown_table([{"a": "||v|| grows\nwith eps", "b|c": 1.5}])
    lines = table.strip().splitlines()
    assert len(lines) == 3 and lines[0] == "| a | b\\|c |"
    assert lines[2] == "| \\|\\|v\\|\\| grows with eps | 1.50 |"
    assert all(line.count(" | ") == 1 for line in lines[::2])


def test_failure_lines_are_the_exception_itself():
    class Executed(Exception):  # papermill's PapermillExecutionError carries the cell's ename / evalue
        ename, evalue = "DataNotFoundError", "dataset 'mnist' not found:\nput the files in <dir>/mnist"
    assert reproduce.failure(Executed("Traceback ...\n----\nsocket")) == \
        "DataNotFoundError: dataset 'mnist' not found: put the files in <dir>/mnist"
    long = ValueError("official weights x.pth not found: a first sentence that is long enough. " + "more " * 80)
    line = checks.one_line(long)
    assert line == "ValueError: official weights x.pth not found: a first sentence that is long enough."
    assert "\n" not in checks.one_line(OSError("a\nb")) and checks.one_line(KeyError()) == "KeyError"


def test_a_failed_rerun_takes_its_claims_out_of_the_summary(tmp_path):
    r = report.Results("00_quickstart", tmp_path, {})
    r.source("set12", "user")
    r.model("dncnn_s25", OFFICIAL)
    r.claim("dncnn_s25_set12", True, "30.45 vs 30.44", models=["dncnn_s25"])
    r.save()
    info = {"notebooks": {"00_quickstart": {"status": "failed: RuntimeError: boom"}}}
    text = report.summary_markdown(tmp_path, info)
    assert "| 00_quickstart | failed: RuntimeError: boom |" in text
    assert "0 supported" in text and "30.45 vs 30.44" not in text
    assert json.loads((tmp_path / "00_quickstart.json").read_text())["claims"]  # the file itself is untouched
