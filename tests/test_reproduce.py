import json
import shutil

import nbformat
import pytest

from companion import io, report, reproduce, weights
from companion.claims import CLAIMS
from companion.experiments.attack import TABLE_III
from companion.experiments.similitude import TABLE_VI


def _notebook(path, parameters, body):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


WRITE = ("from companion import report\n"
         "r = report.Results(NAME, output_dir, {'value': value})\n"
         "r.table('t', 'a table', [{'value': value, 'paper': 1}])\n"
         "r.save()")


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A copy of the package's modules in place of the package whose files the resume key covers,
    so that a resume test sees only the edits it makes itself."""
    copy = tmp_path / "companion"
    copy.mkdir()
    for path in reproduce.PACKAGE.glob("*.py"):
        shutil.copy(path, copy)
    monkeypatch.setattr(reproduce, "PACKAGE", copy)
    return copy


@pytest.fixture
def folder(tmp_path, package):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "01_tiny.ipynb", 'profile = "quick"\ndevice = "cpu"\noutput_dir = "."\nvalue = 1',
              WRITE.replace("NAME", "'01_tiny'"))
    _notebook(nbs / "02_broken.ipynb", 'profile = "quick"\ndevice = "cpu"\noutput_dir = "."',
              "raise RuntimeError('deliberate failure')")
    return nbs


def test_unknown_parameters_are_refused_before_running(folder, tmp_path):
    with pytest.raises(reproduce.ParameterError, match=r"unknown parameter\(s\) \['valeu'\].*value"):
        reproduce.run(parameters={"valeu": 2}, folder=folder, output=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    with pytest.raises(reproduce.ParameterError, match="--profile"):
        reproduce.run(parameters={"profile": "paper"}, folder=folder, progress=False)
    with pytest.raises(reproduce.ParameterError, match="no notebook matches '07'"):
        reproduce.select(["07"], folder)
    with pytest.raises(ValueError, match="unknown profile"):
        reproduce.run(profile="fast", folder=folder, progress=False)


def test_notebooks_must_declare_the_standard_parameters(tmp_path):
    _notebook(tmp_path / "03_bad.ipynb", "x = 1", "pass")
    with pytest.raises(reproduce.ParameterError, match="output_dir"):
        reproduce.declared_parameters(tmp_path / "03_bad.ipynb")


def test_run_resume_and_failure(folder, tmp_path):
    out = tmp_path / "run"
    info = reproduce.run(folder=folder, output=out, progress=False, parameters={"value": 3})
    assert info["notebooks"]["01_tiny"]["status"] == "done"
    assert info["notebooks"]["02_broken"]["status"] == "failed: RuntimeError: deliberate failure"  # its own last line
    assert json.loads((out / "01_tiny.json").read_text())["parameters"] == {"value": 3}
    assert (out / "01_tiny.ipynb").is_file() and (out / "02_broken.failed.ipynb").is_file()
    assert not list(out.glob(".*partial*"))
    summary = (out / "summary.md").read_text()
    assert "| 02_broken | failed" in summary and (out / "summary.html").is_file()

    again = reproduce.run(folder=folder, output=out, only=["01"], progress=False, parameters={"value": 3})
    assert again["notebooks"]["01_tiny"]["status"] == "done (resumed)"
    changed = reproduce.run(folder=folder, output=out, only=["01"], progress=False, parameters={"value": 4})
    assert changed["notebooks"]["01_tiny"]["status"] == "done"
    assert json.loads((out / "01_tiny.json").read_text())["parameters"] == {"value": 4}


LOADS = ("from companion import report\n"
         "r = report.Results('01_loads', output_dir, {})\n"
         "r.load_images('set12', limit=1, crop=8)\n"
         "r.save()")


def test_resume_reruns_when_the_package_or_the_data_changed(data_dir, package, tmp_path, monkeypatch):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "01_loads.ipynb", 'profile = "quick"\ndevice = "cpu"\noutput_dir = "."', LOADS)
    out = tmp_path / "run"

    def run():
        return reproduce.run(folder=nbs, output=out, progress=False)["notebooks"]["01_loads"]

    assert run()["status"] == "done"
    assert json.loads((out / "01_loads.json").read_text())["inputs"]["data"]["set12"]["source"] == "user"
    assert run()["status"] == "done (resumed)"
    with open(package / "metrics.py", "a") as f:
        f.write("# edited\n")
    again = run()
    assert again["status"] == "done" and again["rerun_because"] == "changed: package"
    assert not (out / "01_loads.previous.json").exists()  # superseded by the rerun's results
    assert run()["status"] == "done (resumed)"

    monkeypatch.delenv("COMPANION_DATA_DIR")  # the benchmark set is gone: the fallback stands in
    again = run()
    assert again["status"] == "done" and again["rerun_because"] == "dataset set12 now resolves to fallback (was user)"
    assert json.loads((out / "01_loads.json").read_text())["data_sources"] == {"set12": "fallback"}
    assert run()["status"] == "done (resumed)"


SAVES_THEN_FAILS = ("from companion import report\n"
                    "r = report.Results('00_quickstart', output_dir, {})\n"
                    "r.claim('dncnn_s25_set12', True, 'measured')\n"
                    "r.save()\n"
                    "assert not fail, 'deliberate failure after saving'")


def test_a_failed_rerun_takes_the_old_claims_out_of_the_summary(folder, tmp_path):
    _notebook(folder / "00_quickstart.ipynb", 'profile = "quick"\ndevice = "cpu"\noutput_dir = "."\nfail = False',
              SAVES_THEN_FAILS)
    out = tmp_path / "run"
    claim_row = "| The official DnCNN-S"
    reproduce.run(folder=folder, output=out, only=["00"], progress=False)
    assert "| 00_quickstart | supported |" in next(line for line in (out / "summary.md").read_text().splitlines()
                                                    if line.startswith(claim_row))
    failed = reproduce.run(folder=folder, output=out, only=["00"], progress=False, parameters={"fail": True})
    assert failed["notebooks"]["00_quickstart"]["status"] == "failed: AssertionError: deliberate failure after saving"
    assert not (out / "00_quickstart.json").exists()
    assert (out / "00_quickstart.failed.json").is_file()  # written before the failure: kept aside
    assert json.loads((out / "00_quickstart.previous.json").read_text())["claims"][0]["status"] == "supported"
    def check_summary():
        summary = (out / "summary.md").read_text()
        row = next(line for line in summary.splitlines() if line.startswith(claim_row))
        assert "| 00_quickstart | not run |" in row and "| 00_quickstart | failed" in summary

    check_summary()
    reproduce.run(folder=folder, output=out, only=["01"], progress=False)  # a later run of another notebook
    check_summary()
    assert "| 00_quickstart | failed (earlier run): AssertionError" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_quickstart_runs_headless(data_dir, weights_dir, tmp_path):
    info = reproduce.run(profile="quick", device="cpu", only=["00"], output=tmp_path, progress=False)
    assert info["notebooks"]["00_quickstart"]["status"] == "done"
    results = json.loads((tmp_path / "00_quickstart.json").read_text())
    assert results["data_sources"] == {"set12": "user"}
    assert {c["id"]: c["status"] for c in results["claims"]} == {
        "dncnn_s25_set12": "supported", "ffdnet_gray_set12": "supported"}
    assert all((tmp_path / f).is_file() for f in results["figures"]) and len(results["figures"]) == 2
    summary = (tmp_path / "summary.md").read_text()
    assert "2 supported, 0 contradicted" in summary


@pytest.mark.slow
def test_attack_transfer_and_similitude_notebooks_run_in_the_quick_profile(data_dir, weights_dir, tmp_path):
    """01, 02 and 03 in one run, so that they share the adversarial sets as in `make reproduce`."""
    info = reproduce.run(profile="quick", device="cpu", only=["01", "02", "03"], output=tmp_path, progress=False,
                         parameters={"max_images": 2, "crop": 64, "sensitivity_images": 1,
                                                 "sensitivity_crop": 32})  # smaller than quick, for make test's budget
    assert info["notebooks"]["01_attack"]["status"] == "done"
    results = json.loads((tmp_path / "01_attack.json").read_text())
    claims = {c["id"]: c["status"] for c in results["claims"]}
    assert set(claims) == {cid for cid, c in CLAIMS.items() if c.notebook == "01_attack"}
    assert claims["attack_every_model_drops"] == "indicative"  # it rests on our stand-ins too
    assert claims["blind_drops_more_than_dncnn"] in ("supported", "contradicted")  # official weights, Set12 crops
    table3 = next(t for t in results["tables"] if t["id"] == "table_iii")
    dmr = {r["model"]: r["DMR"] for r in table3["rows"] if r["DMR"] is not None}
    assert {"dncnn_s25", "dncnn_b", "rddcnn_b", "ecndnet_s25", "dpir_small_gray", "deamnet_small"} <= set(dmr)
    assert all(v < 0 for v in dmr.values())
    assert len(results["figures"]) == 6 and all((tmp_path / f).is_file() for f in results["figures"])

    assert info["notebooks"]["02_transfer"]["status"] == "done"
    results = json.loads((tmp_path / "02_transfer.json").read_text())
    assert {c["id"] for c in results["claims"]} == {cid for cid, c in CLAIMS.items() if c.notebook == "02_transfer"}
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    assert {"matrix_gray", "matrix_color", "table_iv", "table_v", "table_vii"} <= set(tables)
    gray = {(r["source"], r["target"]) for r in tables["matrix_gray"]}
    sources = {s for s, _ in gray}
    assert len(sources) >= 8 and gray == {(s, t) for s in sources for t in sources}  # the full square
    # 01's six Table III sets were reused, not made again
    assert any(n.startswith(f"{len(TABLE_III)} of ") and "came from the cache" in n for n in results["notes"])
    assert len(list((tmp_path / "adversarial_sets").glob("*.pt"))) == len(sources) + len(
        {r["source"] for r in tables["matrix_color"]})
    assert len(results["figures"]) == 5 and all((tmp_path / f).is_file() for f in results["figures"])

    assert info["notebooks"]["03_similitude"]["status"] == "done"
    results = json.loads((tmp_path / "03_similitude.json").read_text())
    assert {c["id"] for c in results["claims"]} == {cid for cid, c in CLAIMS.items() if c.notebook == "03_similitude"}
    assert any(n.startswith("DnCNN's adversarial set came from the cache") for n in results["notes"])
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    dmrs = tables["dmrs_matrix_adversarial"]
    assert len(dmrs) == len(TABLE_VI) and all(row[row["model"]] == 1.0 for row in dmrs)
    assert all(0 < r["DMRS (adversarial)"] < r["DMRS (literal)"] <= 1 for r in tables["table_vi"])
    assert len(results["figures"]) == 5 and all((tmp_path / f).is_file() for f in results["figures"])


@pytest.mark.slow
def test_l2_variant_notebook_runs_in_the_quick_profile(data_dir, weights_dir, tmp_path):
    info = reproduce.run(profile="quick", device="cpu", only=["06"], output=tmp_path, progress=False,
                         parameters={"max_images": 2, "crop": 64, "transfer_models": "tables",
                                     "sensitivity_images": 1, "sensitivity_crop": 32})
    assert info["notebooks"]["06_l2_variant"]["status"] == "done"
    results = json.loads((tmp_path / "06_l2_variant.json").read_text())
    assert {c["id"] for c in results["claims"]} == {cid for cid, c in CLAIMS.items() if c.notebook == "06_l2_variant"}
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    table1 = tables["yan_table1"]
    assert {(r["dataset"], r["noise"]) for r in table1} == {
        (d, k) for d in ("set12", "bsd68", "cbsd68") for k in ("Gaussian", "uniform", "Atk-5/255", "Atk-7/255")}
    psnr = {(r["dataset"], r["noise"]): r["mean"] for r in table1}
    assert all(psnr[d, "Atk-7/255"] < psnr[d, "Atk-5/255"] < psnr[d, "Gaussian"] for d in ("set12", "bsd68", "cbsd68"))
    stats = {r["noise"]: r for r in tables["figure14_noise_statistics"]}
    assert stats["Gaussian x - y"]["wasserstein"] == 0.0
    assert len(list((tmp_path / "adversarial_sets").glob("*.pt"))) == 3  # L-inf and L2 on DnCNN, L2 on color FFDNet
    assert all((tmp_path / f).is_file() for f in results["figures"])


@pytest.mark.slow
def test_adversarial_training_notebook_runs_in_the_quick_profile(data_dir, weights_dir, tmp_path):
    from companion.train import ADVERSARIAL_MODES

    mine = tmp_path / "my_checkpoints"  # a checkpoint of the user's replaces the shipped one
    mine.mkdir()
    shipped = weights.ours("dncnn_b25_nt")
    for path in (shipped, shipped.with_suffix(".json")):
        shutil.copy(path, mine)
    info = reproduce.run(profile="quick", device="cpu", only=["04"], output=tmp_path, progress=False,
                         parameters={"max_images": 1, "crop": 48, "budgets": [5], "strengths": [2, 4], "restarts": 2,
                                     "checkpoint_dir": str(mine)})
    assert info["notebooks"]["04_adversarial_training"]["status"] == "done"
    results = json.loads((tmp_path / "04_adversarial_training.json").read_text())
    assert {c["id"] for c in results["claims"]} == {
        cid for cid, c in CLAIMS.items() if c.notebook == "04_adversarial_training"}
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    grid = tables["attack_grid"]
    assert {(r["track"], r["mode"]) for r in grid} == {("fine-tuned DnCNN-S", "before")} | {
        (track, m) for track in ("fine-tuned DnCNN-S", "DnCNN-B from scratch") for m in ADVERSARIAL_MODES}
    claims = {c["id"]: c["evidence"] for c in results["claims"]}
    assert claims["hat_beats_vat_and_nt"].startswith("DnCNN-B from scratch")  # Yan et al.'s setting
    assert results["weights"]["dncnn_b25_nt"] == f"file: {mine / 'dncnn_b25_nt.pt'}"
    assert {r["attack"] for r in grid} == {"Gaussian", "PGD", "L2-PGD", "Atk-5"}
    assert all(r["drop"] == 0 for r in grid if r["attack"] == "Gaussian")
    assert {r["attack"] for r in tables["strength_sweep"]} == {"T=2", "T=4", "T=20 x 2 restarts"}
    assert all(w.startswith("ours") for k, w in results["weights"].items() if k not in ("dncnn_s25", "dncnn_b25_nt"))
    assert len(results["figures"]) == 4 and all((tmp_path / f).is_file() for f in results["figures"])


@pytest.mark.slow
def test_bm3d_notebook_runs_in_the_quick_profile(data_dir, weights_dir, tmp_path):
    info = reproduce.run(profile="quick", device="cpu", only=["05"], output=tmp_path, progress=False, parameters={
        "max_images": 2, "crop": 48, "classical": ["bm3d", "tv"], "whitebox_targets": ["tv"], "whitebox_images": 1,
        "whitebox_crop": 32, "bpda_steps": 2, "spsa_iterations": 2, "spsa_samples": 2, "purifiers": ["dncnn_b", "tv"],
        "purifier_steps": 2, "digits_train": 300, "digits_test": 20, "classifier_epochs": 1})
    assert info["notebooks"]["05_bm3d"]["status"] == "done"
    results = json.loads((tmp_path / "05_bm3d.json").read_text())
    assert {c["id"] for c in results["claims"]} == {cid for cid, c in CLAIMS.items() if c.notebook == "05_bm3d"}
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    assert {r["method"] for r in tables["figure13_means"]} == {"dncnn_s25", "bm3d", "tv"}
    assert {(r["target"], r["attack"]) for r in tables["whitebox"]} == {
        ("dncnn_s25", "denoising-PGD"), ("dncnn_s25", "BPDA (identity)"), ("dncnn_s25", "SPSA"),
        ("tv", "BPDA (identity)"), ("tv", "BPDA (DnCNN-S)"), ("tv", "SPSA")}
    assert {(r["purifier"], r["attack"]) for r in tables["purification"]} >= {
        ("dncnn_b", "adaptive PGD"), ("tv", "adaptive PGD (BPDA)"), ("none", "PGD")}
    assert all(0 <= r["accuracy"] <= 1 for r in tables["purification"])
    assert len(results["figures"]) == 4 and all((tmp_path / f).is_file() for f in results["figures"])


@pytest.mark.slow
def test_noise2noise_dag_notebook_runs_in_the_quick_profile(data_dir, weights_dir, tmp_path):
    info = reproduce.run(profile="quick", device="cpu", only=["08"], output=tmp_path, progress=False, parameters={
        "n_crops": 3, "impulse_losses": ["n2n_impulse_l0", "n2n_impulse_l1"], "pgd_steps": 2, "digits_train": 300,
        "digits_test": 10, "classifier_epochs": 1, "noise_fractions": [0.0, 0.2], "fgsm_eps": [0.1],
        "pixel_counts": [1], "one_pixel_digits": 2, "de_population": 10, "de_generations": 2})
    assert info["notebooks"]["08_noise2noise_dag"]["status"] == "done"
    results = json.loads((tmp_path / "08_noise2noise_dag.json").read_text())
    assert {c["id"] for c in results["claims"]} == {cid for cid, c in CLAIMS.items() if c.notebook == "08_noise2noise_dag"}
    assert all(c["status"] != "not run" for c in results["claims"])
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    assert {(r["role"], r["noise"], r["setting"]) for r in tables["dag_ratio_shares"]} == {
        (role, kind, setting) for role in ("ours", "authors") for kind in ("gaussian", "poisson", "impulse")
        for setting in ("original", "bounded")}
    assert all(r["adv_linf"] <= 0.03 + 1e-6 for r in tables["dag_ratio_shares"] if r["setting"] == "bounded")
    assert {r["noise"] for r in tables["classifier_noise"]} == {"gaussian", "salt_and_pepper"}
    assert all((tmp_path / f).is_file() for f in results["figures"]) and len(results["figures"]) == 12


@pytest.mark.slow
def test_deblurring_notebook_runs_in_the_quick_profile(data_dir, weights_dir, tmp_path):
    info = reproduce.run(profile="quick", device="cpu", only=["07"], output=tmp_path, progress=False, parameters={
        "crop_size": 32, "n_bsd": 2, "eps_255": [4, 12], "steps_targeted": 3, "steps_untargeted": 3,
        "kernel_sizes": [11, 25], "figure_eps_255": 12,
        "networks": ["mprnet_small", "dwdn_small", "dpir_small"]})  # lgd_small: tests/test_deblurring.py
    assert info["notebooks"]["07_deblurring"]["status"] == "done"
    results = json.loads((tmp_path / "07_deblurring.json").read_text())
    assert {c["id"] for c in results["claims"]} == {cid for cid, c in CLAIMS.items() if c.notebook == "07_deblurring"}
    assert all(c["status"] != "not run" for c in results["claims"])
    tables = {t["id"]: t["rows"] for t in results["tables"]}
    assert {(r["network"], r["eps_255"], r["group"]) for r in tables["table1"]} == {
        (n, e, g) for n in ("mprnet_small", "dwdn_small", "dpir_small") for e in (4.0, 12.0)
        for g in ("bsd68", "portraits")}
    assert {r["kernel_size"] for r in tables["kernel_sizes"]} == {11, 25}
    assert all((tmp_path / f).is_file() for f in results["figures"]) and len(results["figures"]) == 3


def test_report_marks_claims_nobody_checked_as_not_run(tmp_path):
    r = report.Results("00_quickstart", tmp_path, {})
    r.claim("dncnn_s25_set12", True, "ours 30.45 vs paper 30.44")
    with pytest.raises(ValueError, match="belongs to 00_quickstart"):
        report.Results("01_attack", tmp_path, {}).claim("dncnn_s25_set12", True, "")
    with pytest.raises(ValueError, match="unknown claim"):
        r.claim("no_such_claim", True, "")
    r.table("t", "nan becomes null", [{"x": float("nan")}])
    r.save()
    text = report.summary_markdown(tmp_path)
    assert f"1 supported, 0 contradicted, 0 indicative (0 leaning supported, 0 leaning contradicted), " \
           f"{len(CLAIMS) - 1} not run" in text
    assert json.loads((tmp_path / "00_quickstart.json").read_text())["tables"][0]["rows"] == [{"x": None}]


def test_write_atomic_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a" / "b.json"
    io.write_atomic(target, "{}")
    io.write_atomic(target, '{"x": 1}')
    assert target.read_text() == '{"x": 1}' and [p.name for p in target.parent.iterdir()] == ["b.json"]


def test_parse_value():
    assert reproduce.parse_value("15") == 15
    assert reproduce.parse_value('["dncnn_b"]') == ["dncnn_b"]
    assert reproduce.parse_value("dncnn_b") == "dncnn_b"


def _after(path, *prefixes):
    nb = nbformat.read(path, as_version=4)
    nb.metadata["companion"] = {"after": list(prefixes)}
    nbformat.write(nb, path)


def test_schedule_runs_at_most_jobs_at_once_and_waits_for_what_a_notebook_reads(tmp_path):
    import threading
    import time

    for name in ("00_a", "01_b", "02_c", "03_d", "04_e"):
        _notebook(tmp_path / f"{name}.ipynb", "profile = 1", "pass")
    _after(tmp_path / "02_c.ipynb", "01")
    _after(tmp_path / "03_d.ipynb", "1", "09")  # 09 is not in the run: no wait
    notebooks = reproduce.available(tmp_path)
    assert reproduce.after(notebooks[3]) == ["01", "09"] and reproduce.after(notebooks[0]) == []
    lock, running, events = threading.Lock(), set(), []

    def task(nb):
        with lock:
            running.add(nb.stem)
            events.append(("start", nb.stem, len(running)))
        time.sleep(0.05 if nb.stem != "01_b" else 0.3)
        with lock:
            running.discard(nb.stem)
            events.append(("end", nb.stem, len(running)))
        return nb.stem.upper()

    done = []
    results = reproduce.schedule(notebooks, 2, task, on_done=lambda nb, r: done.append(r))
    assert results == {nb.stem: nb.stem.upper() for nb in notebooks} and sorted(done) == sorted(results.values())
    assert max(n for kind, _, n in events if kind == "start") == 2
    order = [(kind, stem) for kind, stem, _ in events]
    for waiting in ("02_c", "03_d"):
        assert order.index(("end", "01_b")) < order.index(("start", waiting))
    assert order.index(("start", "04_e")) < order.index(("start", "02_c"))  # a free lane takes the next ready one
    events.clear()
    reproduce.schedule(notebooks, 1, task)
    assert [stem for kind, stem, _ in events if kind == "start"] == [nb.stem for nb in notebooks]

    _after(tmp_path / "01_b.ipynb", "02")
    with pytest.raises(reproduce.ParameterError, match="wait on each other"):
        reproduce.schedule(notebooks, 2, task)


def test_jobs_give_the_same_run_as_one_at_a_time(folder, tmp_path, capfd):
    _notebook(folder / "03_tiny.ipynb", 'profile = "quick"\ndevice = "cpu"\noutput_dir = "."\nvalue = 1',
              WRITE.replace("NAME", "'03_tiny'"))
    _after(folder / "03_tiny.ipynb", "01")
    runs = {jobs: reproduce.run(folder=folder, output=tmp_path / f"j{jobs}", progress=False, jobs=jobs,
                                parameters={"value": 5}) for jobs in (1, 2)}
    statuses = {jobs: {k: v["status"] for k, v in info["notebooks"].items()} for jobs, info in runs.items()}
    assert statuses[1] == statuses[2] and list(statuses[2]) == ["01_tiny", "02_broken", "03_tiny"]
    assert statuses[2]["02_broken"].startswith("failed: RuntimeError")
    for stem in ("01_tiny", "03_tiny"):
        tables = [json.loads((tmp_path / f"j{jobs}" / f"{stem}.json").read_text())["tables"] for jobs in (1, 2)]
        assert tables[0] == tables[1]
    assert "over TCP" not in capfd.readouterr().err  # the kernels listen on IPC sockets, each its own
    recorded = json.loads((tmp_path / "j2" / "run.json").read_text())
    assert recorded["jobs"] == 2 and recorded["threads"] == max(1, reproduce.default_threads() // 2)
    with pytest.raises(ValueError, match="jobs"):
        reproduce.run(folder=folder, jobs=0, progress=False)
