"""Notebook 02: transferability of denoising-PGD samples (Ning et al. arXiv:2306.16050, Sections
III-C, IV-C and IV-E): the source x target matrix of eq. 3, Tables IV, V and VII beside the
paper's, the samples of one source on every target (Figures 8 and 9), and the claims they check."""

import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import adversarial_sets, claims, metrics, robustness
from ..evaluation import denoise
from ..models import selection, spec
from . import stand_ins
from .attack import PAPER_DMR

TABLE_IV = ["ffdnet_gray", "dncnn_b", "dpir_gray"]
"""Ning et al. Table IV: the targets of DnCNN-S's samples."""
TABLE_V = ["ffdnet_gray", "ecndnet_s25", "dncnn_b", "rddcnn_b", "rddcnn_s25", "dpir_gray", "deamnet"]
"""Ning et al. Table V: the targets of DnCNN-B's samples, and beside our blind RDDCNN-B the
authors' non-blind sigma-25 RDDCNN (official weights, no paper value)."""
TABLE_VII = ["ffdnet_color", "brdnet_color_s25", "n2n_color", "fan", "dpir_color"]
"""Ning et al. Table VII: the targets of color FFDNet's samples (its CurvPnP has no color model here)."""
TABLES = {1: ["dncnn_s25"] + TABLE_V, 3: TABLE_VII}
"""The tables' models by number of channels, sources and targets both."""

PAPER_IV = {"ffdnet_gray": (29.8, 29.1), "dncnn_b": (29.6, 28.9), "dpir_gray": (30.3, 29.4)}
"""Ning et al. Table IV: mean (Gauss, Adv) PSNR on Set12 of DnCNN-S's samples on each target."""
PAPER_V = {"ffdnet_gray": (29.66, 29.73), "ecndnet_s25": (29.74, 29.63), "dncnn_b": (29.78, 25.77),
           "rddcnn_b": (29.60, 26.99), "dpir_gray": (30.25, 30.15), "deamnet": (30.11, 29.96)}
"""Ning et al. Table V: mean (Gauss, Adv) PSNR on Set12 of DnCNN-B's samples on each target."""
PAPER_VII = {"ffdnet_color": (31.06, 30.13), "brdnet_color_s25": (31.22, 30.63), "n2n_color": (29.24, 28.87),
             "fan": (31.58, 31.24), "curvpnp (color)": (31.68, 30.51), "dpir_color": (31.60, 30.49)}
"""Ning et al. Table VII: mean (Gauss, Adv) PSNR on set3c of color FFDNet's samples on each target."""

PAPER_SETTINGS = dict(sigma=25, gray_eps=0.012, color_eps=0.055, steps=5)
"""The paper's attacks (Sec. IV-C, IV-E): sigma 25, eps 0.012 (gray) and 0.055 (color), T = 5."""


def paper_drop(paper: dict, name: str) -> float:
    """The paper's PSNR drop (Gauss - Adv, 2 decimals) of target ``name`` in table ``paper``."""
    return round(paper[name][0] - paper[name][1], 2)


PAPER_SELF = {"dncnn_s25": ("Table III", -PAPER_DMR["dncnn_s25"][2]), "dncnn_b": ("Table V", paper_drop(PAPER_V, "dncnn_b")),
              "ffdnet_color": ("Table VII", paper_drop(PAPER_VII, "ffdnet_color"))}
"""Each table's source on its own samples: (where, the paper's drop in dB)."""


def model_names(key: str, value, channels: int, sigma: float) -> list:
    """The models of parameter ``key``: the tables' models of ``channels`` channels, then
    ``value``'s ('all': every such zoo model that can denoise ``sigma``; 'tables': none more; or a list)."""
    if not (value in ("all", "tables") or isinstance(value, list)):
        raise ValueError(f"{key}={value!r}: use 'all', 'tables' or a list of model names")
    extra = selection.gaussian_models(sigma, channels) if value == "all" else [] if value == "tables" else value
    return list(dict.fromkeys(TABLES[channels] + extra))


def scope(profile: str, sizes: dict, gray_images, color_images, **settings) -> str:
    """The note evidence carries outside the paper's protocol (``stand_ins.scope``); ``settings``:
    sigma, gray_eps, color_eps, steps."""
    return stand_ins.scope("02", profile, sizes, [gray_images, color_images], settings, PAPER_SETTINGS,
                           f"{len(gray_images)} gray + {len(color_images)} color images, crop {sizes['crop']}")


def make_sets(models: dict, images, sigma: float, seed: int, cache_dir, eps: float, steps: int,
              alpha: float | None) -> dict:
    """One denoising-PGD adversarial set per source model (``adversarial_sets``, cached)."""
    sets = {}
    for name, model in tqdm(models.items(), desc=f"adversarial sets, {images.dataset}"):
        sets[name] = adversarial_sets.adversarial_set(model, images, sigma, seed, cache_dir=cache_dir,
                                                      eps=eps, steps=steps, alpha=alpha)
    for name, s in sets.items():
        if not all((a - x).abs().max() <= eps + 1e-6 for a, x in zip(s.adv, s.noisy)):
            raise RuntimeError(f"{name}'s adversarial set leaves the L-inf ball of radius {eps}")
    return sets


def cache_note(*sets: dict) -> str:
    """How many of the adversarial sets ``sets`` came from the cache, and which."""
    every = {k: s for group in sets for k, s in group.items()}
    cached = [n for n, s in every.items() if s.from_cache]
    return f"{len(cached)} of {len(every)} adversarial sets came from the cache: {', '.join(cached) or 'none'}"


def matrix(sets: dict, models: dict, images, margin: float, lineup: stand_ins.Lineup) -> tuple:
    """Every target denoises every source's set: ``(rows with eq. 3's success set,
    one summary row per (source, target) with the target's family and what it stands in for)``."""
    rows = robustness.transfer_rows(sets, models, images)
    summary = robustness.transfer_summary(rows, margin)
    summary.insert(2, "family", [spec(t).family for t in summary.target])
    summary["stands in for"] = [lineup.stands_in.get(t, "") for t in summary.target]
    return robustness.success_set(rows, margin), summary


def table_iv(rows: pd.DataFrame, lineup: stand_ins.Lineup) -> pd.DataFrame:
    """Table IV: DnCNN-S's samples on its targets, Gauss and Adv PSNR per image, the average and
    the paper's average."""
    from_dncnn = rows[rows.source == "dncnn_s25"]
    table = {}
    for name in TABLE_IV:
        if name in lineup.used:
            r = from_dncnn[from_dncnn.target == lineup.used[name]].set_index("image")
            table[(lineup.label_for(name), "Gauss")], table[(lineup.label_for(name), "Adv")] = r.psnr_gauss, r.psnr_adv
    table = pd.DataFrame(table)
    table.loc["average"] = table.mean()
    table.loc["paper average"] = [PAPER_IV[n][k] for n in TABLE_IV if n in lineup.used for k in (0, 1)]
    return table


def flat(table: pd.DataFrame) -> pd.DataFrame:
    """A table with (model, Gauss/Adv) columns as one with 'model Gauss' columns and the index as a column."""
    return table.set_axis([" ".join(c) for c in table.columns], axis=1).reset_index()


def other_targets(rows: pd.DataFrame) -> dict:
    """DnCNN-S's samples on every other gray target: mean Gauss and Adv PSNR, number of targets."""
    others = rows[(rows.source == "dncnn_s25") & (rows.target != "dncnn_s25")]
    return {"Gauss": others.psnr_gauss.mean(), "Adv": others.psnr_adv.mean(), "targets": others.target.nunique()}


def source_table(summary: pd.DataFrame, source: str, paper: dict, lineup: stand_ins.Lineup) -> pd.DataFrame:
    """Tables V and VII: ``source``'s samples on each of the paper's targets, ours beside the paper's."""
    rows = []
    for name, (p_gauss, p_adv) in paper.items():
        row = {"target": lineup.label_for(name) or f"{name}: not in this run", "paper Gauss": p_gauss,
               "paper Adv": p_adv, "paper drop": paper_drop(paper, name)}
        hit = summary[(summary.source == source) & (summary.target == lineup.used.get(name))]
        if len(hit):
            h = hit.iloc[0]
            row.update({"Gauss": h.psnr_gauss, "Adv": h.psnr_adv, "drop": h["drop"], "control drop": h.control_drop,
                        "success set": h.success_set, "transfer rate": h.transfer_rate})
        rows.append(row)
    return pd.DataFrame(rows)


def table_v(summary: pd.DataFrame, lineup: stand_ins.Lineup) -> pd.DataFrame:
    return source_table(summary, "dncnn_b", PAPER_V, lineup)


def table_vii(summary: pd.DataFrame, lineup: stand_ins.Lineup) -> pd.DataFrame:
    return source_table(summary, "ffdnet_color", PAPER_VII, lineup)


def panel(sets: dict, images, lineup: stand_ins.Lineup, source: str, targets: list, shown: str, eps: float,
          device: str | torch.device) -> tuple:
    """Figures 8 and 9: ``source``'s sample of image ``shown`` denoised by it and by the models
    answering for ``targets``; the arguments of ``plots.transfer_panel``."""
    i = images.names.index(shown) if shown in images.names else 0
    s, clean = sets[source], list(images)[i][1]
    outputs = {}
    for t in [source] + [lineup.used[n] for n in targets if n in lineup.used and lineup.used[n] != source]:
        pair = []
        for x in (s.noisy[i], s.adv[i]):
            out = denoise(lineup.models[t], x.to(device)).clamp(0, 1)
            pair.append((out.cpu(), float(metrics.psnr(out, clean)[0])))
        outputs[t] = pair
    return (s.noisy[i], s.adv[i], {t: p[0] for t, p in outputs.items()}, {t: p[1] for t, p in outputs.items()},
            f"{source}'s adversarial sample (eps {eps}) on {images.names[i]}, denoised by each model")


def comparison_notes(summaries: list, others: dict, scope: str) -> list:
    """Each table's source on its own samples, our drop beside the paper's (``PAPER_SELF``), then
    DnCNN-S's samples on every other gray target (``others``: ``other_targets``)."""
    lines = []
    for summary in summaries:
        for source, (where, paper) in PAPER_SELF.items():
            own = summary[(summary.source == source) & (summary.target == source)]
            if len(own):
                lines.append(f"{source} on its own samples: {own['drop'].iloc[0]:.2f} dB drop here "
                             f"(control {own.control_drop.iloc[0]:.2f}) vs {paper:.2f} in the paper ({where})" + scope)
    return lines + [f"DnCNN-S's samples on all {others['targets']} other gray targets: {others['Gauss']:.2f} -> "
                    f"{others['Adv']:.2f} dB"]


def _off_diagonal(summary: pd.DataFrame, source: str) -> pd.DataFrame:
    return summary[(summary.source == source) & (summary.target != source)].set_index("target")


def _transfer_ratio(summary: pd.DataFrame) -> float:
    """Median over (source, target) pairs of the target's drop over the source's own drop."""
    own = summary[summary.source == summary.target].set_index("source")["drop"]
    off = summary[summary.source != summary.target]
    return (off["drop"] / off.source.map(own)).median()


@claims.check("dncnn_transfers_to_every_model")
def _dncnn_transfers(summary: pd.DataFrame, margin: float, scope: str = "") -> tuple:
    """Holds when every target drops by more than the margin and than the shuffled control."""
    if "dncnn_s25" not in set(summary.source):
        return None, "dncnn_s25 was not loaded (see the skipped models)"
    t = _off_diagonal(summary, "dncnn_s25")
    ok = bool(((t["drop"] > margin) & (t["drop"] > t.control_drop)).all())
    return ok, "; ".join(f"{n} {r['drop']:.2f} dB (control {r.control_drop:.2f}, rate {r.transfer_rate:.2f})"
                         for n, r in t.iterrows()) + scope


@claims.check("dncnn_b_transfers_to_blind")
def _dncnn_b_transfers_to_blind(summary: pd.DataFrame, scope: str = "") -> tuple:
    """Holds when the blind targets' mean drop exceeds every other family's."""
    if "dncnn_b" not in set(summary.source):
        return None, "dncnn_b was not loaded (see the skipped models)"
    t = _off_diagonal(summary, "dncnn_b")
    by_family = t.groupby("family")["drop"].mean()
    if not ("blind" in by_family and len(by_family) > 1):
        return None, f"needs a blind target and another family; targets: {dict(by_family)}"
    others = [paper_drop(PAPER_V, n) for n in PAPER_V if n not in ("dncnn_b", "rddcnn_b")]
    ok = bool(by_family["blind"] > by_family.drop("blind").max())
    return ok, ("mean drop by target family: " + ", ".join(f"{f} {v:.2f} dB" for f, v in by_family.items())
                + f" (blind targets: {', '.join(t[t.family == 'blind'].index)}; "
                f"paper: RDDCNN-B {paper_drop(PAPER_V, 'rddcnn_b'):.2f}, others {min(others):.2f} to {max(others):.2f})"
                + scope)


@claims.check("color_transfer_weaker")
def _color_transfer_weaker(gray: pd.DataFrame, color: pd.DataFrame, gray_eps: float, color_eps: float,
                           scope: str = "") -> tuple:
    ratio_gray, ratio_color = _transfer_ratio(gray), _transfer_ratio(color)
    return bool(ratio_color < ratio_gray), (
        f"median target drop / source's own drop: color {ratio_color:.2f} (eps {color_eps}) vs gray {ratio_gray:.2f} "
        f"(eps {gray_eps}); median transfer rate color {color.transfer_rate.median():.2f} vs gray "
        f"{gray.transfer_rate.median():.2f}" + scope)


@claims.check("pnp_most_sensitive_to_dncnn")
def _pnp_most_sensitive(summary: pd.DataFrame, lineup: stand_ins.Lineup, scope: str = "") -> tuple:
    """Holds when, of Table IV's targets, the plug-and-play one drops most on DnCNN-S's samples."""
    if not ("dncnn_s25" in set(summary.source) and all(n in lineup.used for n in TABLE_IV)):
        return None, f"needs dncnn_s25 and every Table IV target {TABLE_IV} or its stand-in"
    t = _off_diagonal(summary, "dncnn_s25")
    drops = t.loc[lineup.among(TABLE_IV), "drop"]
    ok = spec(drops.idxmax()).family == "plug-and-play"
    return bool(ok), (", ".join(f"{n} {v:.2f} dB" for n, v in drops.items())
                      + f"; over all {len(t)} targets the largest drop is {t['drop'].idxmax()} ({t['drop'].max():.2f} dB, "
                      f"{spec(t['drop'].idxmax()).family})" + scope)
