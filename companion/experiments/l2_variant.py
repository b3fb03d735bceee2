"""Notebook 06: L2-denoising-PGD and OBSATK, and whether adversarial noise still looks Gaussian.

Ning et al. (arXiv:2306.16050), Sec. V-C and V-D (Algorithm 1, Figures 14 and 15), and Yan et al.,
*Towards Adversarially Robust Deep Image Denoising* (IJCAI 2022), Sec. 3 (OBSATK, Table 1). The
noise statistics of Figure 14, the attack effect of Figure 15, Yan et al.'s Table 1 and the
L2 samples' transfer across the zoo, with the paper values they are read against and the claim
checks of 06.
"""

import numpy as np
import pandas as pd

from .. import adversarial_sets, claims, config, metrics, noise, robustness
from ..attacks import l2_denoising_pgd
from ..models import selection

SECTION = "06"

PAPER_W = {"L2": 0.0017, "L-inf": 0.0024}
"""Ning et al. Sec. V-D, Figure 14: Wasserstein distance of each attack's noise to the Gaussian noise."""
PAPER_DROP = {"L2": "about 0.8", "L-inf": 1.06}
"""Ning et al. Sec. V-D, Figure 15: DnCNN-S's PSNR drop (dB) under each attack."""
PAPER_T1 = {("set12", 15, "Gaussian"): 32.78, ("set12", 15, "Atk-7/255"): 26.25}
"""Yan et al. Table 1: the two cells quoted (DnCNN-B, Set12 at 15/255)."""
TABLE1_MODEL = {"set12": "dncnn_b", "bsd68": "dncnn_b", "cbsd68": "cdncnn_b"}
"""Yan et al. Table 1: the model that denoises each set."""
TABLE_MODELS = {1: ["dncnn_s25", "ffdnet_gray", "dncnn_b", "ecndnet_s25", "rddcnn_b", "dpir_gray", "deamnet"],
                3: ["ffdnet_color", "cdncnn_b", "n2n_color", "fan", "dpir_color"]}
"""The L2 transfer's targets per channel count when ``transfer_models='tables'``: the models of
Ning et al.'s Tables IV and VII."""
COLOR_SOURCE = "ffdnet_color"
"""The source of the color L2 samples (Ning et al. Sec. IV-E attacks color FFDNet)."""
SOURCES = {"figure14_noise_statistics": f"Ning et al. Sec. V-D, Figure 14 (W: L2 {PAPER_W['L2']}, L-inf "
                                        f"{PAPER_W['L-inf']})",
           "figure15_attack_effect": f"Ning et al. Sec. V-D, Figure 15 (drop: L2 {PAPER_DROP['L2']} dB, L-inf "
                                     f"{PAPER_DROP['L-inf']} dB)"}
"""The source line of the tables that quote the paper's values."""
L2, LINF, FLOOR = "L2-denoising-PGD x' - y", "denoising-PGD x' - y", "independent Gaussian draw"


def transfer_targets(transfer_models: str, sigma: float, channels: int) -> list:
    """The models the L2 samples of ``channels`` channels are denoised by: 'all' the zoo models
    that denoise Gaussian noise at ``sigma`` (``selection.gaussian_models``), 'tables' the
    papers' (``TABLE_MODELS``)."""
    if transfer_models not in ("all", "tables"):
        raise ValueError(f"transfer_models={transfer_models!r}: use 'all' or 'tables'")
    return selection.gaussian_models(sigma, channels) if transfer_models == "all" else TABLE_MODELS[channels]


def check_l2_radius(l2_set, clean: list, radius: float | None) -> None:
    """Raise unless every L2 sample's noise x' - y lies in its ball: radius ``radius``, or the norm
    of the Gaussian noise x - y when None (Algorithm 1 as ``attacks.l2_denoising_pgd`` runs it)."""
    for a, x, y in zip(l2_set.adv, l2_set.noisy, clean):
        bound = float((x - y).norm()) if radius is None else radius
        if float((a - y).norm()) > bound * (1 + 1e-5):
            raise AssertionError(f"an L2 sample's noise has norm {float((a - y).norm()):.6f} > its radius {bound:.6f}")


def noise_samples(linf_set, l2_set, clean: list, sigma: float) -> dict:
    """Figure 14's samples, pooled over the images (0-1 scale): the Gaussian noise x - y, an
    independent Gaussian draw of the same level (image i seeded 10,000 + i), and each attack's
    x' - y."""
    pooled = lambda tensors: np.concatenate([t.numpy().ravel() for t in tensors])
    return {"Gaussian x - y": pooled(x - y for x, y in zip(linf_set.noisy, clean)),
            FLOOR: pooled(noise.gaussian(y, sigma, seed=10_000 + i) - y for i, y in enumerate(clean)),
            LINF: pooled(a - y for a, y in zip(linf_set.adv, clean)),
            L2: pooled(a - y for a, y in zip(l2_set.adv, clean))}


def perturbations(linf_set, l2_set) -> dict:
    """Each attack's perturbation x' - x pooled over the images, on the 0-255 scale."""
    return {f"{kind} x' - x": np.concatenate([(a - x).numpy().ravel() for a, x in zip(made.adv, made.noisy)]) * 255
            for kind, made in (("denoising-PGD", linf_set), ("L2-denoising-PGD", l2_set))}


def noise_table(samples: dict) -> pd.DataFrame:
    """Figure 14: ``metrics.noise_statistics`` of every sample against the Gaussian noise, with the
    standard deviation also on the 0-255 scale."""
    reference = samples["Gaussian x - y"]
    stats = pd.DataFrame([{"noise": k, **metrics.noise_statistics(v, reference)} for k, v in samples.items()])
    stats["std (0-255)"] = stats["std"] * 255
    return stats


def attack_effect(gray: dict, linf_set, l2_set, images) -> pd.DataFrame:
    """Figure 15: both attacks made on DnCNN-S, denoised by DnCNN-S and DnCNN-B (those loaded in
    ``gray``): per model and attack, the mean PSNR on x and on x' and the mean drop."""
    effect = []
    for name in [n for n in ("dncnn_s25", "dncnn_b") if n in gray]:
        for kind, made in (("denoising-PGD", linf_set), ("L2-denoising-PGD", l2_set)):
            rows = robustness.transfer_rows({"dncnn_s25": made}, {name: gray[name]}, images)
            effect += [{"model": name, "attack": kind, **{k: r[k] for k in ("image", "psnr_gauss", "psnr_adv", "drop")}}
                       for r in rows]
    return pd.DataFrame(effect).groupby(["model", "attack"])[["psnr_gauss", "psnr_adv", "drop"]].mean().reset_index()


def table1_skipped(loaded: dict, skipped: dict) -> list:
    """Why each model of ``TABLE1_MODEL`` not in ``loaded`` leaves its sets out of Table 1."""
    return [f"Yan et al. Table 1 skipped for {[d for d, m in TABLE1_MODEL.items() if m == name]}: {name} "
            f"({skipped.get(name, 'not loaded')})"
            for name in dict.fromkeys(TABLE1_MODEL.values()) if name not in loaded]


def table1(loaded: dict, sets: dict, levels: list, seeds: list, budgets: list, progress: bool = False) -> pd.DataFrame:
    """Yan et al. Table 1: per set and noise level, the PSNR of its model (``TABLE1_MODEL``) under
    Gaussian, uniform and OBSATK noise (``robustness.noise_type_rows``), mean and standard
    deviation over the seeds, beside the paper's value where quoted (``PAPER_T1``)."""
    from tqdm.auto import tqdm

    rows = []
    jobs = [(ds, s) for ds in sets for s in levels if TABLE1_MODEL[ds] in loaded]
    for ds, s in tqdm(jobs, desc="Table 1", disable=not progress):
        for row in robustness.noise_type_rows(loaded[TABLE1_MODEL[ds]], sets[ds], s, seeds, budgets):
            rows.append({"dataset": ds, "model": TABLE1_MODEL[ds], **row})
    rows = pd.DataFrame(rows, columns=["dataset", "model", "sigma", "noise", "psnr"] if not rows else None)
    t1 = rows.groupby(["dataset", "model", "sigma", "noise"], sort=False).psnr.agg(["mean", "std"]).reset_index()
    t1["paper"] = [PAPER_T1.get((d, s, k)) for d, s, k in zip(t1.dataset, t1.sigma, t1.noise)]
    return t1


def l2_transfer(gray: dict, color: dict, skipped_color: dict, l2_set, sets: dict, sigma: float, seed: int,
                color_eps: float, steps: int, radius: float | None, cache_dir) -> tuple:
    """The L2 samples across the zoo (Ning et al. Sec. V-C with eq. 3, as 02_transfer): DnCNN-S's
    L2 set on Set12 denoised by every ``gray`` model, and ``COLOR_SOURCE``'s, made here (and
    cached) at ``color_eps`` on CBSD68, by every ``color`` model. Returns ``({'gray': summary,
    'color': summary}, reason)``: ``robustness.transfer_summary`` tables, the color one left out
    with the ``reason`` (else None) when its source is not loaded."""
    gray_rows = robustness.transfer_rows({"dncnn_s25": l2_set}, gray, sets["set12"])
    summaries = {"gray": robustness.transfer_summary(gray_rows)}
    if COLOR_SOURCE not in color:  # its weights are absent (official only): the color half is skipped
        return summaries, (f"L2 transfer on color models skipped: the source {COLOR_SOURCE} is not loaded "
                           f"({skipped_color.get(COLOR_SOURCE, 'not in the model list').split(': download')[0]})")
    color_l2 = adversarial_sets.adversarial_set(color[COLOR_SOURCE], sets["cbsd68"], sigma, seed,
                                                attack=l2_denoising_pgd, cache_dir=cache_dir, eps=color_eps,
                                                steps=steps, radius=radius)
    summaries["color"] = robustness.transfer_summary(robustness.transfer_rows({COLOR_SOURCE: color_l2}, color,
                                                                              sets["cbsd68"]))
    return summaries, None


def scope(profile: str, sizes: dict, sets: dict) -> str:
    """'' when the run is the papers' protocol (the paper profile's sizes on the benchmark sets),
    else the note every claim's evidence ends with."""
    if all(s.comparable for s in sets.values()) and sizes == config.profile("paper").sizes_for(SECTION):
        return ""
    return (f" [{profile} profile: {sizes['images']} images per set, crop {sizes['crop']}, seeds {sizes['seeds']}, "
            f"Table 1 at sigma {sizes['table_sigmas']}; not the papers' protocol]")


@claims.check("l2_noise_closer_to_gaussian")
def l2_noise_closer(stats: pd.DataFrame, scope: str = "") -> tuple:
    """Agrees when the L2 attack's noise is nearer the Gaussian noise (Wasserstein distance) than
    the L-infinity attack's (``stats``: ``noise_table``)."""
    st = stats.set_index("noise")
    w_l2, w_inf, w_floor = st.loc[L2, "wasserstein"], st.loc[LINF, "wasserstein"], st.loc[FLOOR, "wasserstein"]
    return bool(w_l2 < w_inf), (
        f"Wasserstein distance to the Gaussian noise: L2 {w_l2:.5f} vs L-inf {w_inf:.5f} (a fresh Gaussian draw: "
        f"{w_floor:.5f}); excess kurtosis L2 {st.loc[L2, 'excess_kurtosis']:.3f} vs L-inf "
        f"{st.loc[LINF, 'excess_kurtosis']:.3f} (paper: W {PAPER_W['L2']} vs {PAPER_W['L-inf']})" + scope)


@claims.check("l2_attack_still_drops")
def l2_attack_still_drops(effect: pd.DataFrame, scope: str = "") -> tuple:
    """Agrees when L2-denoising-PGD takes more than half of denoising-PGD's drop from DnCNN-S
    (``effect``: ``attack_effect``)."""
    d = effect[effect.model == "dncnn_s25"].set_index("attack")["drop"]
    return bool(d["L2-denoising-PGD"] > 0.5 * d["denoising-PGD"]), (
        f"DnCNN-S drop: L2 {d['L2-denoising-PGD']:.2f} dB vs L-inf {d['denoising-PGD']:.2f} dB (paper: "
        f"{PAPER_DROP['L2']} vs {PAPER_DROP['L-inf']})" + scope)


@claims.check("obsatk_degrades_dncnn_b")
def obsatk_degrades_dncnn_b(t1: pd.DataFrame, loaded: dict, skipped: dict, levels: list, budgets: list,
                            scope: str = "") -> tuple:
    """Agrees when Atk-7/255 costs DnCNN-B at least 2 dB on Set12 at 15/255 (``t1``: ``table1``;
    None when DnCNN-B is not in ``loaded`` (``skipped`` says why) or Table 1 lacks that cell)."""
    if "dncnn_b" not in loaded:
        return None, f"dncnn_b is not loaded ({skipped.get('dncnn_b', 'not asked for')})"
    if not (15 in levels and 7 in budgets):
        return None, f"needs Table 1 at sigma 15 with Atk-7 (table_sigmas {levels}, budgets {budgets})"
    row = t1[(t1.dataset == "set12") & (t1.sigma == 15)].set_index("noise")["mean"]
    drop7 = row["Gaussian"] - row["Atk-7/255"]
    paper = (PAPER_T1["set12", 15, "Gaussian"], PAPER_T1["set12", 15, "Atk-7/255"])
    return bool(drop7 >= 2.0), (f"DnCNN-B on Set12 at 15/255: Gaussian {row['Gaussian']:.2f} -> Atk-7/255 "
                                f"{row['Atk-7/255']:.2f} dB (drop {drop7:.2f}; paper {paper[0]} -> {paper[1]})" + scope)
