"""``audit``: one call from a model to its robustness card.

The steps: resolve the target (``target.resolve``), load the protocol's images, probe the
gradient and choose the ensemble (``ensemble.probe``, ``ensemble.plan``), lay out the grid
(``tasks``) and run it (``grid.run``: local processes, this process or a Dask cluster, cached),
then the masking checks (``masking.checks``), the radar against DnCNN-S's samples (in this
process: ``similitude.circle_study``) and the place in a stored leaderboard, all into a ``Card``.
"""

import dataclasses
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import __version__, config, data, similitude
from ..adversarial_sets import adversarial_set, model_fingerprint
from ..attacks import denoising_pgd
from ..checks import noise_level
from ..models import MODELS, create
from ..weights import WeightsNotFoundError
from . import ensemble, grid, masking
from .card import Card
from .protocol import PAPER_PGD_STEPS, Protocol, protocol as get_protocol
from .ranking import place
from .target import resolve

def main_sigma(p: Protocol) -> float:
    """The level where the masking checks, the radar and the leaderboard look: 25 (the papers'),
    else the protocol's first."""
    return 25.0 if 25.0 in p.sigmas else p.sigmas[0]


def tasks(name: str, p: Protocol, channels: int, chosen: dict, n: int) -> list:
    """The grid of an audit (``grid.Task``s): for every sigma the Gaussian baseline, each curve
    member at every budget of both norms, the paper's comparators at their budgets, and at the main
    sigma the masking controls."""
    cells = []
    main = p.main_budget(channels)
    for sigma in p.sigmas:
        cells.append((sigma, "none", 0.0, "clean"))
        for norm in ensemble.NORMS:
            budgets = p.linf_budgets(channels) if norm == "linf" else p.l2_budgets(channels)
            cells += [(sigma, norm, eps, m) for eps in budgets for m in ("apgd", "square", "bpda_apgd", "eot_apgd")
                      if m in chosen]
        cells += [(sigma, "linf", main, m) for m in ("pgd", "transfer") if m in chosen]
        if "obsatk" in chosen and sigma > ensemble.obsatk_budget() * 255:
            cells.append((sigma, "l2", ensemble.obsatk_budget(), "obsatk"))
        if sigma == main_sigma(p):
            cells += [(sigma, norm, main, "random") for norm in ensemble.NORMS]
            cells += [(sigma, "linf", main, m) for m in ("apgd_long", "apgd_unbounded") if m in chosen]
    return [grid.Task(name, float(s), norm, float(eps), m, chosen[m], lo, hi)
            for s, norm, eps, m in cells for lo, hi in grid.shards(n, p.shard)]


def _with(p: Protocol, sigma, dataset, images, crop) -> Protocol:
    changes = {}
    if sigma is not None:
        levels = [sigma] if isinstance(sigma, (int, float)) else list(sigma)
        if not levels:
            raise ValueError("give at least one noise level, e.g. sigma=25")
        changes["sigmas"] = tuple(float(noise_level(s, "sigma", positive=True)) for s in levels)
    if dataset is not None:
        data.dataset(dataset)
        changes["dataset"] = dataset
    if images is not None:
        changes["images"] = images
    if crop is not None:
        changes["crop"] = crop
    return dataclasses.replace(p, **changes) if changes else p


def _radar(target, p: Protocol, images, device, cache) -> dict | None:
    """The adversarial radar of the target and the references on DnCNN-S's circle samples at
    sigma 25 (Ning et al. Sec. III-D), with DMRS (eq. 6); None where it does not apply."""
    sigma = main_sigma(p)
    source = f"dncnn_s{sigma:g}"
    if target.kind == "restorer" or target.channels != 1 or source not in MODELS:
        return None
    reference = create(source, device=device)
    made = adversarial_set(reference, images, sigma, p.seed, denoising_pgd, cache, eps=p.main_budget(1),
                           steps=PAPER_PGD_STEPS)
    models = {target.name: target.bound(sigma, device)}
    for name in (source, *p.references):
        if name != target.name and name not in models:
            try:
                models[name] = create(name, device=device)
            except WeightsNotFoundError:  # a reference without weights here (offline): left out of the radar
                continue
    study = similitude.circle_study(models, images, made, n=p.radar_angles)
    mine = study.radar(target.name)
    return {"source": source, "sigma": sigma, "degrees": study.degrees.tolist(),
            "radars": {m: study.radar(m).mean(0).tolist() for m in models},
            "dmrs": {m: similitude.dmrs(mine, study.radar(m), study.degrees) for m in models if m != target.name}}


def _versions() -> dict:
    import numpy

    out = {"companion": __version__, "python": platform.python_version(), "torch": torch.__version__,
           "numpy": numpy.__version__, "platform": platform.platform()}
    try:
        import dask
        out["dask"] = dask.__version__
    except ImportError:
        pass
    return out


def audit(model, *, weights=None, sigma=None, dataset=None, channels=None, budget="quick", images=None, crop=None,
          scheduler=None, workers=None, device="cpu", threads=None, output=None, cache_dir=None, radar=True,
          command=None, progress=None) -> Card:
    """Audit ``model`` (a zoo name, ``pkg.module:factory`` or an ``nn.Module``) under the
    protocol ``budget`` ('quick' or 'standard'; ``sigma``, ``dataset``, ``images`` and ``crop``
    override its own) and return its ``Card`` (written to ``output`` when given).

    ``scheduler``: a Dask scheduler address (or ``Client``) to run the grid on; ``workers``: local
    worker processes (0: this process; an ``nn.Module`` always runs here); ``threads``: torch
    threads per task (None: one per core shared among the workers); ``cache_dir``: where results
    are kept (default ``<companion cache>``; False: no cache); ``radar``: the radar against
    DnCNN-S's samples (gray denoisers).
    """
    began = time.perf_counter()
    p = _with(get_protocol(budget), sigma, dataset, images, crop)
    target = resolve(model, weights, channels)
    device = str(config.device(device))
    cache = None if cache_dir is False else Path(cache_dir or config.cache_dir())
    imgs = data.load(p.dataset, color=target.channels == 3, limit=p.images, crop=p.crop)
    clean = [img for _, img in imgs]
    cores = torch.get_num_threads()
    if threads is None and scheduler is None and target.portable and workers != 0:
        threads = max(1, cores // (workers or min(cores, 4)))
    job = grid.Job(target, p, [c[0].numpy() for c in clean], list(imgs.names), p.dataset, device, threads,
                   str(cache) if cache else None)
    bound = target.bound(main_sigma(p), device)
    first = clean[0].to(device)
    probe = ensemble.probe(bound, bound.observe(first, [p.seed]), first)
    chosen = ensemble.plan(probe["status"], probe["randomized"], target.kind)
    plan = tasks(target.name, p, target.channels, chosen, len(imgs))
    fingerprints = {s: model_fingerprint(target.bound(s, device)) for s in p.sigmas}
    outcome = grid.run(job, plan, fingerprints, workers, scheduler, progress)
    card = _card(target, p, probe, chosen, plan, outcome, imgs.names)
    card.images = {"dataset": imgs.dataset, "source": imgs.source, "label": imgs.label,
                   "comparable": imgs.comparable, "names": list(imgs.names), "crop": p.crop}
    if radar:
        card.radar = _radar(target, p, imgs, device, cache / "adversarial" if cache else None)
    card.leaderboard = place(card, cache)
    card.command = command or f"companion.audit({target.name!r}, budget={p.name!r})"
    card.versions = _versions()
    card.grid = {"tasks": len(plan), "computed": outcome.computed, "cached": outcome.cached,
                 "executor": "dask" if scheduler is not None else "in-process" if not target.portable or workers == 0
                 else "processes", "device": device, "threads": threads, "seconds": time.perf_counter() - began}
    if output is not None:
        card.save(output)
    return card


def _card(target, p: Protocol, probe: dict, chosen: dict, plan: list, outcome, names: list) -> Card:
    records, timing = [], {}
    for t in plan:
        result = outcome.results[t]
        timing[t.attack] = timing.get(t.attack, 0.0) + result["seconds"]
        for j, i in enumerate(range(t.start, t.stop)):
            records.append({"sigma": t.sigma, "norm": t.norm, "budget": t.budget, "attack": t.attack,
                            "through": t.through, "image": names[i], "psnr": result["psnr"][j],
                            "linf": result["linf"][j], "l2rms": result["l2rms"][j],
                            **({"ssim": result["ssim"][j]} if "ssim" in result else {})})
    rows = pd.DataFrame(records)
    rows["kind"] = rows["attack"].map(lambda a: ensemble.MEMBERS[a].kind)
    rows["worst"] = rows["attack"].map(lambda a: ensemble.MEMBERS[a].worst)
    base = rows[rows["attack"] == "clean"]
    clean = [{"sigma": s, "psnr": float(part["psnr"].mean()), "ssim": float(part["ssim"].mean())}
             for s, part in base.groupby("sigma")]
    sigma, eps = main_sigma(p), p.main_budget(target.channels)
    clean_main = float(base[base["sigma"] == sigma]["psnr"].mean())
    worst = {}
    for norm in ensemble.NORMS:
        part = rows[rows["worst"] & (rows["sigma"] == sigma) & (rows["norm"] == norm) & np.isclose(rows["budget"], eps)]
        if len(part):
            worst[norm] = float(part.groupby("image")["psnr"].min().mean())
    checks = masking.checks(rows, probe, sigma, eps, clean_main, worst)
    summary = {"sigma": sigma, "budget": eps, "clean_psnr": clean_main,
               **{f"robust_psnr_{n}": v for n, v in worst.items()},
               **{f"dmr_{n}": v - clean_main for n, v in worst.items()},
               "flags": sum(c["status"] == "flag" for c in checks)}
    info = {"name": target.name, "spec": target.spec, "kind": target.kind, "channels": target.channels,
            "weights": target.label, "zoo": target.zoo}
    return Card(info, p.as_dict(), probe, chosen, records, clean, checks, summary, timing)
