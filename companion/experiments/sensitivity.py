"""The paper's unstated protocol, mapped: how DMR (eq. 5) moves with what Ning et al.
(arXiv:2306.16050) leave unsaid, beside the value they report (notebooks 01, 02 and 06).

The paper gives the budget (eps 0.012 gray, 0.055 color) and T = 5, but no step size, and its
color budget costs color models far more on held-out images than its Table VII reports. Rather
than tune our defaults to its numbers, each notebook sweeps one model (``STUDIES``) over:

- the step size alpha, from eps/20 to eps (``STEP_FRACTIONS``; eps/5 is our default at T = 5,
  the rule of the paper's Algorithm 1), with **signed** steps alpha sign(g) (denoising-PGD, Sec.
  III-B) and **normalized** steps alpha sqrt(m) g / ||g||_2 (m: the image's number of values, so
  a normalized step is as long in L2 as a signed one; ``attacks.engine.ascent_step``);
- the budget eps (alpha = eps / T): around the gray 0.012 (``GRAY_BUDGETS``, 0.004-0.05) and
  from 0.012 to the color 0.055 (``COLOR_BUDGETS``, with 0.006 below);
- the stated budget read on another scale (``SCALE_READINGS``), the errors that are plausible
  for a budget printed as a number on [0, 1] (0.012 ~ 3/255 and 0.055 ~ 14/255 are whole grey
  levels, so the paper writes [0, 1] budgets):
  * code that works on 0-255 images with the printed number as its radius: the perturbation is
    then eps grey levels, eps / 255 on [0, 1];
  * code that works on [-1, 1] images (a Normalize(0.5, 0.5) pipeline): eps / 2 on [0, 1].
  A budget converted twice (eps * 255 / 255) is the stated one, and no reading makes the
  perturbation larger than stated (that would need images on a range narrower than [0, 1]);
  an ImageNet-normalized input (eps * 0.226) would fall inside the color sweep (0.012 for the
  color 0.055) but no model of Table VII normalizes its input so.

Each protocol is scored with ``robustness.gauss_vs_adv`` and ``robustness.dmr`` on fewer images
than the notebook's main section (``config``: ``sensitivity_images``, ``sensitivity_crop``).
``reproduction`` says which protocols, if any, give the paper's value within ``MATCH_TOLERANCE``
plus ``MATCH_SE`` standard errors, and where along the budget the paper's value lies.
The claims stay judged at our stated default; this section is reported beside them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import robustness
from ..attacks import denoising_pgd, l2_denoising_pgd
from ..checks import budget, count, lookup, real, step_size
from . import attack, l2_variant, transfer

STEP_FRACTIONS = (1 / 20, 1 / 10, 1 / 5, 1 / 2, 1)
"""alpha / eps of the step-size sweep: log-spaced from eps/20 to eps (eps/5 = eps/T, our default)."""
GRAY_BUDGETS = (0.004, 0.006, 0.012, 0.02, 0.03, 0.05)
"""eps of the gray budget sweep (01, 06), around the paper's 0.012; 0.05 brackets Table III's DnCNN-B."""
COLOR_BUDGETS = (0.006, 0.012, 0.02, 0.03, 0.055)
"""eps of the color budget sweep (02): from the gray 0.012 to Table VII's 0.055, and 0.006, which
brackets Table VII's value from below."""
SCALE_READINGS = {"0-255 code: eps / 255": 1 / 255, "[-1, 1] code: eps / 2": 1 / 2}
"""The stated budget read on another scale: the factor of its value on [0, 1] (module docstring)."""
RULES = {"sign": "signed", "l2": "normalized"}
"""The step rules swept (``attacks.engine.ascent_step``) and their names in the tables."""
MATCH_TOLERANCE = 0.3
"""dB: a protocol reproduces the paper's value when its DMR is within this, plus ``MATCH_SE``
standard errors, of it. The paper attacked other checkpoints than ours (its DnCNN-B scores 30.31
dB on Set12 where the official weights score 0.05-0.07 dB more) and gives no spread, so 0.3 dB, a
few times that difference, is as close as a match can mean anything."""
MATCH_SE = 2
"""Standard errors of our mean DMR added to ``MATCH_TOLERANCE`` (about a 95 % interval): the
sweep runs on few images, whose drops differ by content (the ``se`` column: 0.03-0.8 dB on the
quick profile's 3 crops, larger at larger drops)."""


@dataclass(frozen=True)
class Study:
    """One notebook's sweep: the ``model`` attacked with ``attack`` over ``budgets``, beside the
    paper's DMR (adversarial minus Gaussian PSNR) ``paper_dmr`` from ``source``."""

    model: str
    attack: object
    budgets: tuple
    paper_dmr: float
    source: str


def _about(value) -> float:
    """A paper value given as a number or read off a figure ('about 0.8')."""
    return float(str(value).split()[-1])


STUDIES = {
    "01": Study("dncnn_b", denoising_pgd, GRAY_BUDGETS, attack.PAPER_DMR["dncnn_b"][2],
                "Ning et al. Table III: DnCNN-B's DMR on Set12"),
    "02": Study("ffdnet_color", denoising_pgd, COLOR_BUDGETS, -transfer.PAPER_SELF["ffdnet_color"][1],
                "Ning et al. Table VII: color FFDNet on its own samples (set3c)"),
    "06": Study("dncnn_s25", l2_denoising_pgd, GRAY_BUDGETS, -_about(l2_variant.PAPER_DROP["L2"]),
                "Ning et al. Figure 15: DnCNN-S under L2-denoising-PGD (read off the figure)"),
}
"""The model each notebook sweeps and the paper's value it is read against (the experiment modules')."""


def protocols(eps: float, steps: int, budgets, alpha: float | None = None) -> pd.DataFrame:
    """The protocols of the three sweeps ('step size', 'budget', 'scale reading'), one row each:
    sweep, rule, eps, alpha, ``alpha / eps``, the scale ``reading`` and ``default`` (signed steps,
    ``eps``, ``alpha``: None gives eps / T; the stated protocol the claims are judged at, in the
    step and budget sweeps)."""
    eps, steps = budget(eps, "eps"), count(steps, "steps", least=1)
    if eps == 0:
        raise ValueError("the sweeps are relative to a stated budget eps > 0; got eps 0")
    alpha = eps / steps if alpha is None else step_size(alpha, "alpha")
    budgets = sorted({_exact(budget(b, "budget")) for b in budgets} | {_exact(eps)})
    fractions = sorted({_exact(f) for f in STEP_FRACTIONS} | {_exact(alpha / eps)})
    rows = [("step size", rule, eps, f * eps) for f in fractions for rule in RULES]
    rows += [("budget", rule, b, b / steps if b != _exact(eps) else alpha) for b in budgets for rule in RULES]
    rows += [("scale reading", rule, eps * k, eps * k / steps) for k in SCALE_READINGS.values() for rule in RULES]
    table = pd.DataFrame(rows, columns=["sweep", "rule", "eps", "alpha"])
    table[["eps", "alpha"]] = table[["eps", "alpha"]].map(_exact)  # one protocol, one key: eps/5 = 0.2 eps
    table["alpha / eps"] = [_exact(a / e) if e > 0 else np.nan for e, a in zip(table.eps, table.alpha)]
    table["reading"] = ""
    readings = table.sweep == "scale reading"
    table.loc[readings, "reading"] = [name for name in SCALE_READINGS for _ in RULES]
    table["default"] = (table.rule == "sign") & np.isclose(table.eps, eps) & np.isclose(table.alpha, alpha) \
        & (table.sweep != "scale reading")
    return table


def _exact(value: float) -> float:
    """``value`` to 10 significant digits: the same number however it was computed."""
    return float(f"{value:.10g}")


def sweep(study: Study, models: dict, images, sigma: float, seed: int, eps: float, steps: int,
          alpha: float | None = None, progress: bool = True, **attack_params) -> tuple:
    """Score every protocol of ``protocols`` on ``study.model`` (taken from the loaded ``models``):
    ``(table, reason)``. The table adds to each protocol the mean Gauss and Adv PSNR, DMR (eq. 5),
    the drop (-DMR), the standard error of DMR over the images (``se``) and the step rule's name;
    a protocol shared by two sweeps is attacked once. ``(None, reason)`` when the model is not
    loaded. ``attack_params`` go to every attack (e.g. ``random_start=False``)."""
    if study.model not in models:
        return None, f"sensitivity section skipped: {study.model} is not loaded (see the skipped models)"
    table = protocols(eps, steps, study.budgets, alpha)
    runs = table[["rule", "eps", "alpha"]].drop_duplicates()
    scored = {}
    for rule, e, a in tqdm(list(runs.itertuples(index=False)), desc=f"sensitivity, {study.model}", disable=not progress):
        rows, _ = robustness.gauss_vs_adv(models[study.model], images, sigma, seed, attack=study.attack, eps=e,
                                          steps=steps, alpha=a or None, step=rule, **attack_params)
        diffs = np.array([r["psnr_adv"] - r["psnr_gauss"] for r in rows])
        scored[rule, e, a] = {"psnr_gauss": float(np.mean([r["psnr_gauss"] for r in rows])),
                              "psnr_adv": float(np.mean([r["psnr_adv"] for r in rows])),
                              "DMR": robustness.dmr(rows),
                              "se": float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else np.nan}
    measured = pd.DataFrame([scored[k] for k in zip(table.rule, table.eps, table.alpha)], index=table.index)
    table = pd.concat([table, measured], axis=1)
    table["drop"] = -table.DMR
    table["step"] = table.rule.map(RULES)
    table.insert(0, "model", study.model)
    return table, None


def describe(row) -> str:
    """A protocol in words: 'signed steps, eps 0.012, alpha = eps/5'."""
    if row["eps"] == 0:
        return f"{RULES[row['rule']]} steps, eps 0 (no perturbation)"
    fraction = row["alpha"] / row["eps"]
    step = "alpha = eps" if np.isclose(fraction, 1) else f"alpha = eps/{1 / fraction:.3g}"
    reading = f" ({row['reading']})" if row.get("reading") else ""
    return f"{RULES[row['rule']]} steps, eps {row['eps']:.4g}{reading}, {step}"


def matches(table: pd.DataFrame, paper_dmr: float, tolerance: float = MATCH_TOLERANCE) -> pd.DataFrame:
    """The distinct protocols of ``table`` whose DMR is within ``tolerance`` dB plus ``MATCH_SE``
    standard errors (its ``se`` column, 0 where unknown) of ``paper_dmr``, closest first."""
    paper_dmr = real(paper_dmr, "paper_dmr", hint="the paper's DMR in dB")
    tolerance = real(tolerance, "tolerance", at_least=0, hint="a PSNR difference in dB")
    if table is None or not len(table) or "DMR" not in table:
        raise ValueError("matches needs the table of sensitivity.sweep (a DMR column, at least one protocol)")
    distinct = table.drop_duplicates(subset=["rule", "eps", "alpha"]).copy()
    distinct["off"] = (distinct.DMR - paper_dmr).abs()
    se = distinct["se"].fillna(0) if "se" in distinct else 0
    return distinct[distinct.off <= tolerance + MATCH_SE * se].sort_values("off")


def reproduction(table: pd.DataFrame, study: Study, images_label: str, tolerance: float = MATCH_TOLERANCE,
                 shown: int = 6) -> str:
    """One sentence: which of the swept protocols, if any, reproduce ``study``'s paper value
    within ``tolerance`` dB plus ``MATCH_SE`` standard errors (``matches``; up to ``shown`` named,
    closest first), else the closest one; where the paper's value falls along the budget
    (``budget_bracket``); and our default's DMR, at which the claims are judged."""
    hits = matches(table, study.paper_dmr, tolerance)
    distinct = table.drop_duplicates(subset=["rule", "eps", "alpha"])
    default = table[table.default].iloc[0]
    head = f"Sensitivity of {study.model} ({images_label}): of {len(distinct)} protocols, "
    paper = f"{study.source} ({study.paper_dmr:+.2f} dB)"
    within = f"within {tolerance:g} dB plus {MATCH_SE} standard errors of our mean"
    if len(hits):
        named = "; ".join(f"{describe(r)} ({_value(r)})" for _, r in hits.head(shown).iterrows())
        more = f"; and {len(hits) - shown} more" if len(hits) > shown else ""
        body = f"{len(hits)} reproduce{'s' if len(hits) == 1 else ''} {paper} {within}: {named}{more}"
    else:
        closest = distinct.loc[(distinct.DMR - study.paper_dmr).abs().idxmin()]
        body = f"none reproduces {paper} {within}; the closest is {describe(closest)} ({_value(closest)})"
    return (head + body + f"; {budget_bracket(table, study.paper_dmr)}. Our default ({describe(default)}) gives "
            f"{default.DMR:+.2f} dB; the claims are judged there, not at a protocol tuned to the paper.")


def _value(row) -> str:
    """A protocol's DMR, with its standard error where known: '-1.18 +- 0.10'."""
    se = row.get("se")
    return f"{row.DMR:+.2f}" + (f" +- {se:.2f}" if se is not None and np.isfinite(se) else "")


def budget_bracket(table: pd.DataFrame, paper_dmr: float) -> str:
    """Where ``paper_dmr`` falls along the budget (the budget sweep and the scale readings, with
    the stated protocol's step rule): between two budgets, with the eps a log-linear interpolation
    of their DMRs gives, or beyond the swept range."""
    default = table[table.default].iloc[0]
    rows = table[table.sweep.isin(["budget", "scale reading"]) & (table.rule == default.rule) & (table.eps > 0)]
    rows = rows.drop_duplicates(subset="eps").sort_values("eps")
    eps, dmr = rows.eps.to_numpy(), rows.DMR.to_numpy()
    where = f"along the budget ({RULES[default.rule]} steps)"
    for i in range(len(eps) - 1):
        if (dmr[i] - paper_dmr) * (dmr[i + 1] - paper_dmr) <= 0 and dmr[i] != dmr[i + 1]:
            t = (paper_dmr - dmr[i]) / (dmr[i + 1] - dmr[i])
            at = float(np.exp(np.log(eps[i]) + t * (np.log(eps[i + 1]) - np.log(eps[i]))))
            return (f"{where} the paper's value lies between eps {eps[i]:.4g} ({dmr[i]:+.2f}) and {eps[i + 1]:.4g} "
                    f"({dmr[i + 1]:+.2f}), at about eps {at:.2g} by log-linear interpolation")
    end = int(np.argmin(np.abs(dmr - paper_dmr)))
    return (f"{where} the paper's value lies beyond the swept range, whose nearest end is eps {eps[end]:.4g} "
            f"({dmr[end]:+.2f})")


def record(results, study: Study, table, reason: str | None, images_label: str) -> str:
    """Write the sweep into ``results`` (a ``report.Results``): the table (``sweep``'s, with the
    paper's value in a column) and, as a note, the ``reproduction`` sentence, or ``reason`` when the
    sweep was skipped. Returns that line."""
    if table is None:
        results.note(reason)
        return reason
    results.table("sensitivity", f"DMR of {study.model} by step size, step rule and budget ({images_label})",
                  table.assign(**{"paper DMR": study.paper_dmr}), source=study.source)
    line = reproduction(table, study, images_label)
    results.note(line)
    return line


def for_notebook(section: str) -> Study:
    """The study of notebook ``section`` ('01', '02', '06')."""
    return lookup(STUDIES, section, "notebook with a sensitivity section")
