"""Notebook 04: adversarial training (Ning et al.'s 1:1 mix, Yan et al.'s HAT and vAT) under attack.

Ning et al. (arXiv:2306.16050), Sec. IV-F (Table VIII, Figures 10 and 11), and Yan et al.,
*Towards Adversarially Robust Deep Image Denoising* (IJCAI 2022), Sec. 4 (HAT, Tables 2 and 3).
Two tracks of checkpoints trained by ``companion.train`` in each adversarial-training mode
(``TRACKS``, ``MODES``); every model scored under every attack (``attack_grid``), Table VIII and
Yan et al.'s Table 2 read from those scores, a strength sweep against gradient masking, and the
claim checks of 04.
"""

import json
from pathlib import Path

import pandas as pd

from .. import claims, config, models, noise, robustness, weights
from ..attacks import denoising_pgd, l2_denoising_pgd, obsatk
from ..train.recipes import ADVERSARIAL_MODES
from . import panels

SECTION = "04"
TRACKS = {"fine-tuned DnCNN-S": "dncnn_s25", "DnCNN-B from scratch": "dncnn_b25"}
"""Track -> the prefix of its checkpoints: the official DnCNN-S fine-tuned, or DnCNN-B from scratch."""
FINE_TUNED, FROM_SCRATCH = TRACKS
MODES = list(ADVERSARIAL_MODES)
BEFORE = "dncnn_s25"
"""The official DnCNN-S the fine-tuning track starts from (mode 'before')."""
SWEPT = [(FINE_TUNED, "before"), (FINE_TUNED, "ning"), (FROM_SCRATCH, "hat1")]
"""The models of the strength sweep."""
PAPER_DROP = {"before": 0.8, "after": 0.1}
"""Ning et al. Table VIII: DnCNN's denoising-PGD PSNR drop (dB) before and after the 1:1 training."""
SOURCES = {"table8": f"Ning et al. Table VIII (the drop: about {PAPER_DROP['before']} dB before, "
                     f"{PAPER_DROP['after']} dB after)"}
"""The source line of the tables that quote the paper's values."""


def model_name(track: str, mode: str) -> str:
    """The registered name of the model of ``track`` trained in ``mode`` ('before': ``BEFORE``)."""
    return BEFORE if mode == "before" else f"{TRACKS[track]}_{mode}"


def _trained(name: str, checkpoint_dir, device) -> tuple:
    """Our checkpoint ``name`` and its model card: from ``checkpoint_dir`` when it holds one, else the shipped one."""
    path = Path(checkpoint_dir or ".") / f"{name}.pt"
    if checkpoint_dir is not None and path.is_file():
        return models.create(name, weights=path, device=device), json.loads(path.with_suffix(".json").read_text())
    return models.create(name, weights="ours", device=device), weights.model_card(name)


def load_zoo(checkpoint_dir, device) -> tuple:
    """Every model of both tracks: ``(zoo, cards, note)``. ``zoo`` maps (track, mode) to the model
    (the fine-tuning track also holds 'before', DnCNN-S with its best weights); ``cards`` tables
    each trained model's recipe, wall time and Set12 PSNR from its model card; ``note`` says when
    'before' is not the official DnCNN-S the fine-tuned checkpoints started from (else None)."""
    if checkpoint_dir is not None and not Path(checkpoint_dir).is_dir():
        raise NotADirectoryError(f"checkpoint_dir {checkpoint_dir!r} is not a folder: give the --out folder of your "
                                 "training runs")
    before = models.create(BEFORE, device=device)  # the best weights: the official file, else our checkpoint
    zoo, cards, note = {(FINE_TUNED, "before"): before}, [], None
    if not before.info["weights"].startswith("official"):
        note = ("before = our dncnn_s25 (no official DnCNN-S file: put dncnn_25.pth in COMPANION_WEIGHTS_DIR); the "
                "fine-tuned checkpoints started from the official one, so before and after start from different "
                "weights")
    for track in TRACKS:
        for mode in MODES:
            zoo[track, mode], card = _trained(model_name(track, mode), checkpoint_dir, device)
            cards.append({"track": track, "mode": mode, "steps": card["config"]["steps"],
                          "batch": card["config"]["batch_size"], "patch": card["config"]["patch_size"],
                          "lr": card["config"]["lr"], "start": card.get("initialized_from", card.get("weight_init")),
                          "wall time (s)": card["wall_time_s"],
                          "Set12 PSNR (card)": card["evaluation"]["set12"]["psnr"],
                          "trained by": card["trained_by"].split(": ", 1)[-1]})
    return zoo, pd.DataFrame(cards), note


def attacks(eps: float, steps: int, budgets: list) -> dict:
    """The attacks of the grid (``robustness.attack_rows``): denoising-PGD and L2-denoising-PGD
    at ``eps`` and T = ``steps``, OBSATK at each budget r (Atk-r/255)."""
    return {"PGD": (denoising_pgd, dict(eps=eps, steps=steps)),
            "L2-PGD": (l2_denoising_pgd, dict(eps=eps, steps=steps)),
            **{f"Atk-{r}": (obsatk, dict(r=float(r), steps=steps)) for r in budgets}}


def _scored(model, images, sigma: float, attack_set: dict, seed: int, cache_dir, source: str) -> list:
    return robustness.attack_rows(model, images, sigma, attack_set, seed=seed, cache_dir=cache_dir, source=source)


def attack_grid(zoo: dict, images: dict, levels: list, attack_set: dict, seed: int = 0, cache_dir=None,
                progress: bool = False) -> tuple:
    """Every model of ``zoo`` under every attack of ``attack_set`` on every set of ``images``, at
    each noise level of ``levels`` for the from-scratch (blind) track, at 25 for the fine-tuned one;
    OBSATK only where its budget r <= sigma. Returns ``(scores, means)``: one row per model, set,
    level, attack and image, and the mean PSNR / drop / SSIM per model, set, level and attack."""
    from tqdm.auto import tqdm

    jobs = [(track, mode, ds, s) for (track, mode) in zoo for ds in images
            for s in (levels if track == FROM_SCRATCH else [25])]
    rows = []
    for track, mode, ds, s in tqdm(jobs, desc="attacks", disable=not progress):
        usable = {k: v for k, v in attack_set.items() if not k.startswith("Atk-") or float(k[4:]) <= s}
        for r in _scored(zoo[track, mode], images[ds], s, usable, seed, cache_dir, model_name(track, mode)):
            rows.append({"track": track, "mode": mode, "dataset": ds, "sigma": s, **r})
    scores = pd.DataFrame(rows)
    means = scores.groupby(["track", "mode", "dataset", "sigma", "attack"], sort=False)[
        ["psnr_adv", "drop", "ssim_adv"]].mean().reset_index()
    return scores, means


def table8(scores: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Ning et al. Table VIII: per image of ``dataset`` (and their average), the Gauss and Adv
    (denoising-PGD) PSNR of the fine-tuned track before training, after ``nt`` and after ``ning``."""
    ft = scores[(scores.track == FINE_TUNED) & (scores.attack == "PGD") & (scores.dataset == dataset)]
    table = ft.pivot_table(index="image", columns="mode", values=["psnr_gauss", "psnr_adv"], sort=False)
    table = table.reindex(columns=[(v, m) for m in ("before", "nt", "ning") for v in ("psnr_gauss", "psnr_adv")])
    table.loc["average"] = table.mean()
    table.columns = [f"{m}: {'Gauss' if v == 'psnr_gauss' else 'Adv'}" for v, m in table.columns]
    return table


def yan_table2(means: pd.DataFrame, budgets: list) -> pd.DataFrame:
    """Yan et al. Table 2 (layout): the mean PSNR under Gaussian noise and OBSATK at each budget,
    per track, set, level and mode."""
    return means[means.attack.isin(["Gaussian"] + [f"Atk-{r}" for r in budgets])].pivot_table(
        index=["track", "dataset", "sigma", "mode"], columns="attack", values="psnr_adv", sort=False)


def _sweep_names(strengths: list, restarts: int) -> list:
    return [f"T={t}" for t in strengths] + [f"T=20 x {restarts} restarts"]


def sweep_attacks(eps: float, strengths: list, restarts: int) -> dict:
    """denoising-PGD at ``eps`` with T in ``strengths`` (step eps/T), then T = 20 with the worst
    of ``restarts`` random starts per image."""
    *fixed, strongest = _sweep_names(strengths, restarts)
    return {**{name: (denoising_pgd, dict(eps=eps, steps=t)) for name, t in zip(fixed, strengths)},
            strongest: (denoising_pgd, dict(eps=eps, steps=20, restarts=restarts))}


def strength_sweep(zoo: dict, images, attack_set: dict, seed: int = 0, cache_dir=None, progress: bool = False):
    """The mean PSNR drop of each model of ``SWEPT`` under each attack of ``attack_set``
    (``sweep_attacks``) at sigma 25: one row per model and attack."""
    from tqdm.auto import tqdm

    sweep = []
    for track, mode in tqdm(SWEPT, desc="strength sweep", disable=not progress):
        for r in _scored(zoo[track, mode], images, 25, attack_set, seed, cache_dir, model_name(track, mode)):
            if r["attack"] != "Gaussian":
                sweep.append({"model": f"{track}: {mode}", **r})
    return pd.DataFrame(sweep).groupby(["model", "attack"], sort=False)["drop"].mean().reset_index()


def figure_panel(model, images, index: int, eps: float, steps: int, seed: int = 0) -> tuple:
    """Figures 10 and 11: image ``index`` of ``images`` with Gaussian noise at 25 (seeded
    seed + index), attacked white-box with denoising-PGD; ``panels.attack_panel``'s images and
    PSNRs."""
    clean = [img for _, img in images][index]
    x = noise.gaussian(clean, 25, seed=seed + index)
    adv = denoising_pgd(model, x, clean, eps=eps, steps=steps, seed=seed + index)
    return panels.attack_panel(model, clean, x, adv)


def scope(profile: str, sizes: dict, images: dict, checkpoint_dir) -> str:
    """'' when the run is the papers' protocol (the paper profile's sizes on the benchmark sets),
    else the note every claim's evidence ends with."""
    if all(s.comparable for s in images.values()) and sizes == config.profile("paper").sizes_for(SECTION):
        return ""
    return (f" [{profile} profile: {sizes['images']} images of {sizes['datasets']}, crop {sizes['crop']}, "
            f"sigma {sizes['sigmas']}, checkpoints trained with the {'given' if checkpoint_dir else 'quick'} recipes; "
            "not the papers' protocol]")


def _at(means: pd.DataFrame, dataset: str):
    """``key(track, mode, attack, sigma=25)``: the row of ``means`` on ``dataset``."""
    m = means.set_index(["track", "mode", "dataset", "sigma", "attack"])
    return lambda track, mode, attack, s=25: m.loc[(track, mode, dataset, s, attack)]


@claims.check("at_cuts_the_drop")
def at_cuts_the_drop(means: pd.DataFrame, dataset: str, scope: str = "") -> tuple:
    """Agrees when the 1:1 fine-tuning leaves a denoising-PGD drop below 0.25 dB and below 30 % of
    the drop before (``means``: ``attack_grid``'s, read on ``dataset``)."""
    key = _at(means, dataset)
    before, after = key(FINE_TUNED, "before", "PGD")["drop"], key(FINE_TUNED, "ning", "PGD")["drop"]
    return bool(after < 0.25 and after < 0.3 * before), (
        f"DnCNN-S denoising-PGD drop: {before:.2f} dB before, {after:.2f} dB after the 1:1 fine-tuning "
        f"(nt control: {key(FINE_TUNED, 'nt', 'PGD')['drop']:.2f}; paper: about {PAPER_DROP['before']} -> "
        f"{PAPER_DROP['after']})" + scope)


@claims.check("at_keeps_clean_denoising")
def at_keeps_clean_denoising(means: pd.DataFrame, dataset: str, scope: str = "") -> tuple:
    """Agrees when the 1:1 fine-tuning costs Gaussian denoising at most 0.05 dB."""
    key = _at(means, dataset)
    g_before = key(FINE_TUNED, "before", "Gaussian")["psnr_adv"]
    g_after = key(FINE_TUNED, "ning", "Gaussian")["psnr_adv"]
    return bool(g_after >= g_before - 0.05), (
        f"Gaussian denoising: {g_before:.2f} dB before, {g_after:.2f} dB after (nt control "
        f"{key(FINE_TUNED, 'nt', 'Gaussian')['psnr_adv']:.2f})" + scope)


@claims.check("hat_costs_little_clean")
def hat_costs_little_clean(means: pd.DataFrame, dataset: str, scope: str = "") -> tuple:
    """Agrees when HAT (a = 1) denoises Gaussian noise 0 to 0.5 dB (0.05 of slack) below normal
    training, on the from-scratch track (Yan et al. train DnCNN-B from scratch)."""
    key = _at(means, dataset)
    g_nt, g_hat = key(FROM_SCRATCH, "nt", "Gaussian")["psnr_adv"], key(FROM_SCRATCH, "hat1", "Gaussian")["psnr_adv"]
    return bool(-0.05 <= g_nt - g_hat <= 0.5), (
        f"{FROM_SCRATCH}, Gaussian: NT {g_nt:.2f} dB, HAT (a 1) {g_hat:.2f} dB, HAT (a 2) "
        f"{key(FROM_SCRATCH, 'hat2', 'Gaussian')['psnr_adv']:.2f} dB, vAT "
        f"{key(FROM_SCRATCH, 'vat', 'Gaussian')['psnr_adv']:.2f} dB" + scope)


@claims.check("hat_beats_vat_and_nt")
def hat_beats_vat_and_nt(means: pd.DataFrame, dataset: str, budgets: list, scope: str = "") -> tuple:
    """Agrees when HAT (a = 1) beats vAT and NT under OBSATK at every budget (from-scratch track)."""
    key = _at(means, dataset)
    wins = {a: tuple(key(FROM_SCRATCH, mode, a)["psnr_adv"] for mode in ("hat1", "vat", "nt"))
            for a in [f"Atk-{r}" for r in budgets if r <= 25]}
    return all(h > max(v, n) for h, v, n in wins.values()), (
        f"{FROM_SCRATCH}, PSNR under OBSATK (HAT a 1 / vAT / NT): "
        + "; ".join(f"{a} {h:.2f} / {v:.2f} / {n:.2f}" for a, (h, v, n) in wins.items()) + scope)


@claims.check("robustness_not_masked")
def robustness_not_masked(sweep: pd.DataFrame, strengths: list, restarts: int, scope: str = "") -> tuple:
    """Agrees when, under the strongest sweep attack, the 1:1-trained DnCNN-S drops less than before
    training and its drop grows from the weakest attack by no larger a factor (0.05 of slack)."""
    sw = sweep.set_index(["model", "attack"])["drop"]
    names = _sweep_names(strengths, restarts)
    weakest, strongest = names[0], names[-1]
    drop = {mode: (sw[f"{FINE_TUNED}: {mode}", weakest], sw[f"{FINE_TUNED}: {mode}", strongest])
            for mode in ("ning", "before")}
    growth = {mode: strong / weak for mode, (weak, strong) in drop.items()}
    return bool(drop["ning"][1] < drop["before"][1] and growth["ning"] <= growth["before"] + 0.05), (
        f"fine-tuned DnCNN-S under {strongest}: drop {drop['ning'][1]:.2f} dB after the 1:1 "
        f"training, {drop['before'][1]:.2f} dB before; from {weakest} the drop grows "
        f"x{growth['ning']:.2f} after, x{growth['before']:.2f} before" + scope)
