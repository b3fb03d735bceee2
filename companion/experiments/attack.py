"""Notebook 01: denoising-PGD on every model (Ning et al. arXiv:2306.16050, Sections III-B, IV-A,
IV-B and V-A): the per-image Tables I and II, DMR (eq. 5) in Table III, the noise-level control,
the attack on the clean image (Figure 12), and the claims they check."""

import pandas as pd
from tqdm.auto import tqdm

from .. import claims, metrics, robustness
from ..models import selection, spec
from . import stand_ins

TABLE_III = ["dncnn_s25", "ecndnet_s25", "dncnn_b", "rddcnn_b", "rddcnn_s25", "dpir_gray", "deamnet"]
"""The models of Ning et al. Table III, and beside our blind RDDCNN-B the authors' non-blind sigma-25
RDDCNN (official weights; the paper attacked RDDCNN-B, whose weights are not public)."""

PAPER_DMR = {"dncnn_s25": (30.40, 29.47, -0.94), "ecndnet_s25": (None, None, -0.87),
             "dncnn_b": (30.31, 25.78, -4.53), "rddcnn_b": (None, None, -3.80),
             "dpir_gray": (None, None, -2.14), "deamnet": (None, None, -1.27)}
"""Ning et al., Set12 at sigma 25: (mean Gauss PSNR, mean Adv PSNR, DMR) from Tables I-III (the
PSNRs only for the two models of Tables I and II)."""

PAPER_SETTINGS = dict(sigma=25, eps=0.012, steps=5)
"""The paper's attack on gray images (Sec. IV): sigma 25, eps 0.012, T = 5."""

BLIND_PAIR = ("dncnn_s25", "dncnn_b")
"""The models of claim 'blind_drops_more_than_dncnn' (Tables I and II)."""

METRIC_COLUMNS = [f"{m}_{k}" for m in ("psnr", "mae", "ssim") for k in ("gauss", "adv", "diff")]


def model_names(models, table_models: list, sigma: float) -> list:
    """The models to attack: ``table_models`` first, then ``models`` (None: Table III's; 'all':
    every gray zoo model that can denoise ``sigma``; or a list)."""
    names = selection.gaussian_models(sigma, channels=1) if models == "all" else (models or TABLE_III)
    return list(dict.fromkeys(table_models + names))


def scope(profile: str, sizes: dict, images, sigma: float, eps: float, steps: int) -> str:
    """The note evidence carries outside the paper's protocol (``stand_ins.scope``)."""
    return stand_ins.scope("01", profile, sizes, [images], dict(sigma=sigma, eps=eps, steps=steps), PAPER_SETTINGS,
                           f"{len(images)} images, crop {sizes['crop']}")


def attack_all(lineup: stand_ins.Lineup, images, sigma: float, seed: int, cache_dir, eps: float, steps: int,
               alpha: float | None) -> tuple:
    """denoising-PGD on every model (``robustness.gauss_vs_adv``, sets cached in ``cache_dir``):
    ``({name: per-image rows}, {name: per-image outputs})``."""
    rows, outputs = {}, {}
    for name, model in tqdm(lineup.models.items(), desc="denoising-PGD"):
        rows[name], outputs[name] = robustness.gauss_vs_adv(model, images, sigma, seed, keep_outputs=True,
                                                            cache_dir=cache_dir, eps=eps, steps=steps, alpha=alpha)
    worst = max((r["linf_perturbation"] for rs in rows.values() for r in rs), default=0.0)
    if worst > eps + 1e-6:
        raise RuntimeError(f"an adversarial sample left the L-inf ball: {worst} > eps {eps}")
    return rows, outputs


def per_image(rows: list) -> pd.DataFrame:
    """Tables I and II: PSNR, MAE and SSIM of Gauss, Adv and their difference per image, and the average."""
    df = pd.DataFrame(rows).set_index("image")[METRIC_COLUMNS]
    df.loc["average"] = df.mean()
    return df


def paper_values(lineup: stand_ins.Lineup, name: str) -> tuple:
    """The paper's (Gauss, Adv, DMR) of model ``name`` or of the paper model it stands in for."""
    return PAPER_DMR.get(name) or PAPER_DMR.get(lineup.stands_in.get(name), (None, None, None))


def table_iii(lineup: stand_ins.Lineup, rows: dict) -> pd.DataFrame:
    """Table III: mean metrics and DMR (eq. 5) of every loaded model beside the paper's, and a row
    for each paper model nothing here answers for."""
    stands_in = lineup.stands_in
    covered = set(lineup.models) | set(stands_in.values())
    table = []
    for name in list(lineup.models) + [n for n in PAPER_DMR if n not in covered]:
        paper = paper_values(lineup, name)
        row = {"model": name, "family": spec(name).family,
               "weights": lineup.models[name].info["weights"].split(":")[0] if name in lineup.models
               else "not on this machine",
               "stands in for": stands_in.get(name, "")}
        if name in rows:
            df = pd.DataFrame(rows[name])
            row.update({"psnr_gauss": df.psnr_gauss.mean(), "psnr_adv": df.psnr_adv.mean(),
                        "DMR": robustness.dmr(rows[name]),
                        "mae_gauss": df.mae_gauss.mean(), "mae_adv": df.mae_adv.mean(),
                        "ssim_gauss": df.ssim_gauss.mean(), "ssim_adv": df.ssim_adv.mean()})
        row.update({"paper psnr_gauss": paper[0], "paper psnr_adv": paper[1], "paper DMR": paper[2]})
        table.append(row)
    return pd.DataFrame(table)


def noise_level_control(lineup: stand_ins.Lineup, images, rows: dict, names: list) -> tuple:
    """Sec. IV-A's control for models ``names``: per image, the Gauss and Adv PSNRs beside the
    PSNR on fresh Gaussian noise of the adversarial noise's standard deviation; ``(rows, means)``."""
    control = []
    for name in names:
        if name not in rows:
            continue
        ctrl = robustness.noise_level_control(lineup.models[name], images, rows[name])
        for r, c in zip(rows[name], ctrl):
            control.append({"model": name, "image": r["image"], "std_gauss": r["noise_std_gauss"],
                            "std_adv": r["noise_std_adv"], "psnr_gauss": r["psnr_gauss"],
                            "psnr_control": c["psnr_control"], "psnr_adv": r["psnr_adv"]})
    control = pd.DataFrame(control)
    means = control.groupby("model")[["std_gauss", "std_adv", "psnr_gauss", "psnr_control", "psnr_adv"]].mean()
    return control, means


def clean_vs_noisy(lineup: stand_ins.Lineup, images, names: list, seed: int, clean_eps: float, clean_steps: int,
                   eps: float, steps: int) -> tuple:
    """Sec. V-A (Figure 12) for models ``names``: the attack on the clean image vs denoising-PGD
    at matched noise level (``robustness.clean_vs_noisy_attack``); ``(rows, means)``."""
    placement = []
    for name in names:
        if name in lineup.models:
            for r in robustness.clean_vs_noisy_attack(lineup.models[name], images, seed, clean_eps, clean_steps,
                                                      eps, steps):
                placement.append({"model": name, **r})
    placement = pd.DataFrame(placement)
    means = placement.groupby("model")[["std_clean_attack", "std_noisy_attack", "psnr_clean_attack",
                                        "psnr_gauss_matched", "psnr_noisy_attack"]].mean()
    return placement, means


def panel_psnrs(output: dict, row: dict) -> dict:
    """Figures 1 and 7: PSNR of the noisy and adversarial inputs and of their denoised outputs."""
    return {"noisy": float(metrics.psnr(output["noisy"].clamp(0, 1), output["clean"])[0]),
            "adv": float(metrics.psnr(output["adv"].clamp(0, 1), output["clean"])[0]),
            "gauss": row["psnr_gauss"], "attacked": row["psnr_adv"]}


def dmrs(rows: dict) -> dict:
    """DMR (eq. 5) of every attacked model."""
    return {n: robustness.dmr(rows[n]) for n in rows}


def dmr_notes(lineup: stand_ins.Lineup, dmrs: dict, scope: str) -> list:
    """One line per model with a paper DMR: ours beside the paper's, within a factor 1.5 'about
    the paper's size'."""
    lines = []
    for name, dmr in dmrs.items():
        paper_dmr = paper_values(lineup, name)[2]
        if paper_dmr is None:
            continue
        ratio = dmr / paper_dmr
        verdict = "about the paper's size" if 0.67 <= ratio <= 1.5 else ("smaller" if ratio < 0.67 else "larger")
        variant = f" (our reduced variant for {lineup.stands_in[name]})" if name in lineup.stands_in else ""
        lines.append(f"{name}{variant}: DMR {dmr:+.2f} dB here vs {paper_dmr:+.2f} in the paper: {verdict}{scope}")
    return lines


@claims.check("attack_every_model_drops")
def _every_model_drops(dmrs: dict, scope: str = "") -> tuple:
    return all(v < 0 for v in dmrs.values()), ", ".join(f"{n} {v:+.2f}" for n, v in dmrs.items()) + scope


@claims.check("blind_drops_more_than_dncnn")
def _blind_drops_more(dmrs: dict, skipped: dict, scope: str = "") -> tuple:
    s, b = BLIND_PAIR
    if not set(BLIND_PAIR) <= set(dmrs):
        return None, "needs dncnn_s25 and dncnn_b: " + "; ".join(f"{n}: {skipped[n]}" for n in BLIND_PAIR if n in skipped)
    return dmrs[b] < dmrs[s], (f"DMR DnCNN-B {dmrs[b]:+.2f} vs DnCNN-S {dmrs[s]:+.2f} "
                               f"(paper {PAPER_DMR[b][2]:.2f} vs {PAPER_DMR[s][2]:.2f})" + scope)


@claims.check("nonblind_most_robust")
def _nonblind_most_robust(table: pd.DataFrame, scope: str = "") -> tuple:
    family = table.dropna(subset=["DMR"]).groupby("family").DMR.mean()
    if not {"non-blind", "blind"} <= set(family.index):
        return None, f"needs a non-blind and a blind model; measured families: {sorted(family.index)}"
    ok = family["non-blind"] == family.max() and family["blind"] == family.min()
    missing = sorted({"plug-and-play", "unfolding"} - set(family.index))
    return bool(ok), (", ".join(f"{f} {v:+.2f}" for f, v in family.items())
                      + (f"; no {', '.join(missing)} model in the zoo yet" if missing else "") + scope)


@claims.check("not_a_noise_level_shift")
def _not_a_noise_level_shift(control_means: pd.DataFrame, scope: str = "") -> tuple:
    """Holds when fresh noise of the adversarial noise's level costs less than half the attack's drop."""
    drop_adv = control_means.psnr_gauss - control_means.psnr_adv
    drop_ctrl = control_means.psnr_gauss - control_means.psnr_control
    return bool((drop_ctrl < drop_adv / 2).all()), "; ".join(
        f"{m}: control drop {drop_ctrl[m]:.2f} dB vs adversarial drop {drop_adv[m]:.2f} dB" for m in drop_adv.index) + scope


@claims.check("noisy_attack_beats_clean_attack")
def _noisy_attack_beats_clean(placement_means: pd.DataFrame, scope: str = "") -> tuple:
    return bool((placement_means.psnr_noisy_attack < placement_means.psnr_clean_attack).all()), "; ".join(
        f"{m}: noisy-image attack {r.psnr_noisy_attack:.2f} dB vs clean-image attack {r.psnr_clean_attack:.2f} dB "
        f"(noise std {r.std_noisy_attack:.1f} vs {r.std_clean_attack:.1f})" for m, r in placement_means.iterrows()) + scope
