"""Notebook 03: robustness similitude (Ning et al. arXiv:2306.16050, Sections III-D, III-E and
IV-D): DnCNN's adversarial set on the circles of eq. 4, the radars of eq. 7 (Figure 3), the
adversarial regions (Figures 4 and 5), DMRS (eq. 6) in Table VI, the combinations of eq. 8
(Figure 6), and the claims they check. The measures themselves are ``companion.similitude``."""

import numpy as np
import pandas as pd

from .. import adversarial_sets, claims
from ..models import selection, spec
from ..similitude import (RADAR_KINDS, adversarial_arc, band_share, combination_sweep, dmrs_matrix,
                          region_agreement)
from . import stand_ins

TABLE_VI = ["dncnn_s25", "ecndnet_s25", "dncnn_b", "rddcnn_b", "rddcnn_s25", "deamnet", "dpir_gray"]
"""The models of Ning et al. Table VI, and beside our blind RDDCNN-B the authors' non-blind sigma-25
RDDCNN (official weights, no paper value)."""

PAPER_VI = {("dncnn_s25", "ecndnet_s25"): 0.97, ("dncnn_s25", "dncnn_b"): 0.51, ("dncnn_s25", "rddcnn_b"): 0.56,
            ("dncnn_s25", "deamnet"): 0.93, ("dncnn_s25", "dpir_gray"): 0.88, ("ecndnet_s25", "deamnet"): 0.94,
            ("ecndnet_s25", "dpir_gray"): 0.90, ("dncnn_b", "rddcnn_b"): 0.83, ("deamnet", "dpir_gray"): 0.92}
"""Ning et al. Table VI: DMRS of pairs of models on Set12."""

PAPER_SETTINGS = dict(sigma=25, eps=0.012, steps=5)
"""The paper's attack on DnCNN (Sec. IV-D, as in Sec. IV-B): sigma 25, eps 0.012, T = 5."""

LAMBDAS = np.round(np.linspace(0, 1, 11), 2)
"""The lambdas of eq. 8's combinations (Figure 6): 0, 0.1, ..., 1."""

HYBRID = ("plug-and-play", "unfolding")


def model_names(models, sigma: float) -> list:
    """DnCNN-S first (its adversarial set is the one studied), then ``models`` (None: Table VI's;
    'all': Table VI's and every gray zoo model that can denoise ``sigma``; or a list)."""
    names = list(dict.fromkeys(TABLE_VI + selection.gaussian_models(sigma, 1))) if models == "all" else (models or TABLE_VI)
    return ["dncnn_s25"] + [m for m in names if m != "dncnn_s25"]


def check_radar_kind(kind: str) -> None:
    if kind not in RADAR_KINDS:
        raise ValueError(f"radar_kind={kind!r}: choose one of {RADAR_KINDS}")


def scope(profile: str, sizes: dict, images, sigma: float, eps: float, steps: int) -> str:
    """The note evidence carries outside the paper's protocol (``stand_ins.scope``)."""
    return stand_ins.scope("03", profile, sizes, [images], dict(sigma=sigma, eps=eps, steps=steps), PAPER_SETTINGS,
                           f"{len(images)} images, crop {sizes['crop']}, {sizes['angles']} angles")


def dncnn_set(lineup: stand_ins.Lineup, images, sigma: float, seed: int, cache_dir, eps: float, steps: int,
              alpha: float | None) -> tuple:
    """DnCNN-S's denoising-PGD set (from the cache 01 and 02 fill, or made here) and a note saying which."""
    made = adversarial_sets.adversarial_set(lineup.models["dncnn_s25"], images, sigma, seed, cache_dir=cache_dir,
                                            eps=eps, steps=steps, alpha=alpha)
    return made, f"DnCNN's adversarial set {'came from the cache' if made.from_cache else 'was made here'}: {made.path}"


def circles(study, images, made) -> pd.DataFrame:
    """Each image's circle (eq. 4): its radius ||v||, the angle of v, and ||n||."""
    return pd.DataFrame({"image": images.names, "radius ||v||": study.radius, "adv_angle (deg)": study.adv_angle,
                         "||n||": [float((x - y.cpu()).norm()) for x, (_, y) in zip(made.noisy, images)]})


def radars(study, lineup: stand_ins.Lineup, image: int) -> dict:
    """Figure 3: for each radar kind (eq. 7 literal, adversarial), every model's radii on one image."""
    return {kind: {lineup.label(m): study.radar(m, kind)[image] for m in lineup.models} for kind in ("literal", "adversarial")}


def literal_spread(study, lineup: stand_ins.Lineup) -> dict:
    """Mean over images of (max - min) of each model's literal radar: how little eq. 7 as written varies."""
    return {m: float(np.ptp(study.radar(m, "literal"), axis=1).mean()) for m in lineup.models}


def region_panels(study, lineup: stand_ins.Lineup, threshold: float) -> dict:
    """Figure 5: the adversarial regions of every model but DnCNN-S, by label."""
    return {lineup.label(m): study.region(m, threshold) for m in lineup.models if m != "dncnn_s25"}


def _circular_mean(region: np.ndarray, degrees) -> float:
    """The mean direction (degrees, 0-360) of the angles in ``region``, over every image."""
    t = np.deg2rad(degrees)
    w = region.astype(float)
    return float(np.rad2deg(np.arctan2((w * np.sin(t)).sum(), (w * np.cos(t)).sum())) % 360)


def regions(study, lineup: stand_ins.Lineup, threshold: float) -> pd.DataFrame:
    """Figures 4 and 5 in numbers: per model the region's width, centre, share in 30-150 degrees,
    agreement across images, and the largest drop."""
    n = len(study.degrees)
    return pd.DataFrame([{"model": lineup.label(m), "family": spec(m).family,
                          "region width (deg)": float(study.region(m, threshold).sum(axis=1).mean() * 360 / n),
                          "region centre (deg)": _circular_mean(study.region(m, threshold), study.degrees),
                          "share in 30-150": band_share(study.region(m, threshold), study.degrees),
                          "agreement across images": region_agreement(study.region(m, threshold)),
                          "largest drop (dB)": float(study.drop(m).max(axis=1).mean())} for m in lineup.models])


def dmrs_matrices(study) -> dict:
    """DMRS (eq. 6) of every pair of models, one matrix per radar kind."""
    return {kind: dmrs_matrix(study, kind) for kind in RADAR_KINDS}


def table_vi(matrices: dict, lineup: stand_ins.Lineup) -> pd.DataFrame:
    """Table VI: the paper's DMRS of each pair beside ours for both radars, where both models (or
    their stand-ins) ran."""
    used = lineup.used
    table = []
    for (a, b), paper in PAPER_VI.items():
        row = {"pair": f"{a} - {b}", "paper DMRS": paper}
        if a in used and b in used:
            row.update({"models": f"{lineup.label(used[a])} - {lineup.label(used[b])}",
                        **{f"DMRS ({kind})": matrices[kind].loc[used[a], used[b]] for kind in RADAR_KINDS}})
        table.append(row)
    return pd.DataFrame(table)


def combinations(study, lineup: stand_ins.Lineup, images, made, threshold: float) -> pd.DataFrame:
    """Eq. 8 (Figure 6): per model and image, the PSNR drop of D(lambda s1 + (1 - lambda) s2) for
    s1, s2 the ends of the model's adversarial arc, for every lambda of ``LAMBDAS``."""
    combos = []
    for m, model in lineup.models.items():
        for i, (name, clean) in enumerate(images):
            ends = adversarial_arc(study.drop(m)[i], study.degrees, threshold)
            psnr, center = combination_sweep(model, clean, made, i, ends, LAMBDAS)
            combos += [{"model": lineup.label(m), "image": name, "lambda": lam, "arc": f"{ends[0]:.0f}-{ends[1]:.0f}",
                        "drop": center - p} for lam, p in zip(LAMBDAS, psnr)]
    return pd.DataFrame(combos)


def _pair_kind(family_a: str, family_b: str) -> str | None:
    """'high' for non-blind/non-blind and non-blind/hybrid pairs, 'low' for non-blind/blind ones."""
    pair = {family_a, family_b}
    if pair == {"non-blind"} or ("non-blind" in pair and pair & set(HYBRID)):
        return "high"
    return "low" if pair == {"non-blind", "blind"} else None


def _paper_range(kind: str) -> str:
    values = [v for (a, b), v in PAPER_VI.items() if _pair_kind(spec(a).family, spec(b).family) == kind]
    return f"{min(values):.2f}-{max(values):.2f}"


@claims.check("regions_in_30_150")
def _regions_in_band(regions: pd.DataFrame, study, scope: str = "") -> tuple:
    r = regions.set_index("model")
    return bool((r["share in 30-150"] >= 0.8).all()), (
        "share of region angles in 30-150 deg: " + ", ".join(f"{m} {v:.2f} (centre {c:.0f})" for m, v, c in
        zip(r.index, r["share in 30-150"], r["region centre (deg)"]))
        + f"; v lies at {study.adv_angle.mean():.0f} deg on average" + scope)


@claims.check("regions_image_independent")
def _regions_image_independent(regions: pd.DataFrame, scope: str = "") -> tuple:
    r = regions.set_index("model")
    return bool((r["agreement across images"] >= 0.7).all()), (
        "mean Jaccard of the regions of two images: "
        + ", ".join(f"{m} {v:.2f}" for m, v in r["agreement across images"].items()) + scope)


@claims.check("dmrs_nonblind_high_blind_low")
def _dmrs_high_low(dmrs: pd.DataFrame, models: list, radar_kind: str, scope: str = "") -> tuple:
    """Holds when every non-blind/non-blind and non-blind/hybrid pair scores above 0.8 and every
    non-blind/blind pair below 0.7 (the paper: 0.88-0.97 vs 0.51-0.56)."""
    fam = {m: spec(m).family for m in models}
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
    high = [(a, b) for a, b in pairs if _pair_kind(fam[a], fam[b]) == "high"]
    low = [(a, b) for a, b in pairs if _pair_kind(fam[a], fam[b]) == "low"]
    if not (high and low):
        return None, f"needs non-blind/non-blind and non-blind/blind pairs; families: {fam}"
    hi, lo = [dmrs.loc[a, b] for a, b in high], [dmrs.loc[a, b] for a, b in low]
    return bool(min(hi) > 0.8 and max(lo) < 0.7), (
        f"{radar_kind} radar: non-blind/non-blind and non-blind/hybrid pairs "
        + ", ".join(f"{a}-{b} {dmrs.loc[a, b]:.2f}" for a, b in high)
        + "; non-blind/blind pairs " + ", ".join(f"{a}-{b} {dmrs.loc[a, b]:.2f}" for a, b in low)
        + f" (paper: {_paper_range('high')} vs {_paper_range('low')}); every high pair above every low pair: "
        f"{'yes' if min(hi) > max(lo) else 'no'}" + scope)


@claims.check("combinations_stay_adversarial")
def _combinations_adversarial(combos: pd.DataFrame, margin: float, scope: str = "") -> tuple:
    return bool((combos["drop"] > margin).all()), (
        f"smallest drop over every model, image and lambda: {combos['drop'].min():.2f} dB (margin {margin}); "
        + ", ".join(f"{m} {v:.2f}" for m, v in combos.groupby("model")["drop"].min().items()) + scope)
