"""The audit's grid on worker processes and on a Dask cluster gives the numbers of this process,
bit for bit (every task seeded from its coordinates, the thread count fixed per task); and the
leaderboard ranks the zoo under one protocol."""

import json
from types import SimpleNamespace

import pytest

from companion import config

from companion.audit import grid
from companion.audit.leaderboard import leaderboard
from companion.audit.ranking import place
from companion.audit.target import resolve

from test_audit import TINY


def _job(data_dir):
    from companion import data

    imgs = data.load("set12", color=False, limit=2, crop=16)
    return grid.Job(resolve("dncnn_s25"), TINY, [img[0].numpy() for _, img in imgs], list(imgs.names), "set12",
                    threads=1)


def _tasks():
    return [grid.Task("dncnn_s25", 25.0, norm, 0.012, attack, "raw" if attack == "apgd" else None, i, i + 1)
            for attack in ("apgd", "square") for norm in ("linf", "l2") for i in (0, 1)]


def test_processes_and_a_dask_cluster_give_the_bits_of_this_process(data_dir, weights_dir):
    distributed = pytest.importorskip("distributed")
    job, tasks, prints = _job(data_dir), _tasks(), {25.0: "dncnn_s25"}
    here = grid.run(job, tasks, prints, workers=0).results
    local = grid.run(job, tasks, prints, workers=2).results
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = grid.run(job, tasks, prints, scheduler=cluster.scheduler_address).results
    psnr = lambda results: {t: r["psnr"] for t, r in results.items()}
    assert psnr(here) == psnr(local) == psnr(remote)
    assert len({r["psnr"][0] for r in here.values()}) > 1  # the attacks did differ from one another


def test_the_leaderboard_ranks_two_models_and_writes_three_files(tmp_path, monkeypatch, data_dir, weights_dir):
    from companion.audit import protocol

    monkeypatch.setitem(protocol.PROTOCOLS, "quick", TINY)
    table = leaderboard("dncnn_s25,dncnn_b", budget="quick", output=tmp_path, workers=0, threads=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.html", "leaderboard.json", "leaderboard.md"]
    rows = json.loads((tmp_path / "leaderboard.json").read_text())["rows"]
    assert [r["rank"] for r in rows] == [1, 2] and {r["model"] for r in rows} == {"dncnn_s25", "dncnn_b"}
    assert rows[0]["robust_psnr_linf"] >= rows[1]["robust_psnr_linf"]
    assert all(r["weights"].startswith("official") for r in rows)
    assert list(table["model"]) == [r["model"] for r in rows]
    assert all(r["model"] in (tmp_path / "leaderboard.md").read_text() for r in rows)
    mine = SimpleNamespace(target={"name": "mine", "weights": "file"}, protocol={"name": TINY.name},
                           summary={**{k: None for k in ("clean_psnr", "robust_psnr_l2", "dmr_linf", "dmr_l2")},
                                    "robust_psnr_linf": rows[1]["robust_psnr_linf"] + 1e-3, "flags": 0})
    where = place(mine, config.cache_dir())  # the stored table of the protocol, with this card put in
    assert (where["rank"], where["of"]) == (2, 3) and [r["model"] for r in where["rows"]][1] == "mine"
    with pytest.raises(ValueError, match="unknown model"):
        leaderboard("dncnn_s25,nope", budget="quick")


def test_a_scheduler_without_dask_installed_is_a_one_line_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if `pip install companion` without the extra
    with pytest.raises(ValueError, match=r"^a Dask scheduler needs dask and distributed: pip install "
                                         r"'companion\[distributed\]'$"):
        with grid.executor(scheduler="tcp://127.0.0.1:1"):
            pass
