"""Gradient-masking checks (Carlini et al. 2019, "On Evaluating Adversarial Robustness",
arXiv:1902.06705, Sec. 5 and its checklist), each returning pass / flag with its evidence and
the threshold it used. A flag says the robust PSNR of the card may be too optimistic: an
attack failed for a reason other than the model's robustness.

1. ``gradient``: the gradient is absent, exactly zero or non-finite (Carlini Sec. 5.2.2; Athalye
   et al. 2018's shattered gradients): a white-box attack cannot move the input.
2. ``gradient_free``: the gradient-free Square attack lowers the PSNR more than the best gradient
   attack at the same budget (Carlini Sec. 5.3, "gradient-free attacks should not beat white-box
   ones"), by more than ``MARGIN_DB``.
3. ``more_steps``: APGD with ``more_steps`` x the iterations and ``more_restarts`` starts lowers
   the PSNR by more than ``MORE_STEPS_SHARE`` of the attack's own drop (Carlini Sec. 5.2.1:
   the attack has not converged) and by more than ``MARGIN_DB``.
4. ``random``: noise of the same budget without the attack's direction costs at least
   ``RANDOM_SHARE`` of the ensemble's drop (Carlini Sec. 5.2.4: an attack no better than random
   search finds no adversarial direction).
5. ``unbounded``: APGD with an L-infinity radius of 1 (no constraint that matters) leaves the
   output within ``UNBOUNDED_PSNR_DB`` of the clean image (Carlini Sec. 5.2.3: an unbounded attack
   must succeed).

Checks 2-5 look at the protocol's main noise level and the paper's budget; each uses the mean
over the audit's images.
"""

import numpy as np
import pandas as pd

from ..robustness import DEFAULT_MARGIN

MARGIN_DB = DEFAULT_MARGIN
"""0.1 dB: twice the per-image PSNR spread between independent noise draws at sigma 25
(``robustness.DEFAULT_MARGIN``'s measurement); a difference below it is not evidence."""
MORE_STEPS_SHARE = 0.1
"""The longer attack may add at most a tenth of the reported drop: beyond that the card's drop
would be understated by more than 10 %."""
RANDOM_SHARE = 0.5
"""An attack should cost far more than random noise of its size (DnCNN-S at sigma 25: random
signs of +-0.012 cost 0.03-0.04 dB, denoising-PGD about 1 dB; ``robustness.DEFAULT_MARGIN``); half
the attack's drop from noise alone means the attack found little beyond noise."""
UNBOUNDED_PSNR_DB = 12.0
"""An unbounded attack should drive the output far from the clean image: 12 dB is an RMS error of
64/255, a quarter of the range (a denoiser's ordinary error at sigma 25 is near 30 dB, 8/255)."""


def _check(name: str, flag: bool | None, evidence: str, threshold: str) -> dict:
    status = "n/a" if flag is None else "flag" if flag else "pass"
    return {"check": name, "status": status, "evidence": evidence, "threshold": threshold}


def _mean(rows: pd.DataFrame, **where) -> float | None:
    sel = rows
    for key, value in where.items():
        sel = sel[np.isclose(sel[key], value)] if isinstance(value, float) else sel[sel[key] == value]
    return float(sel["psnr"].mean()) if len(sel) else None


def gradient(probe: dict) -> dict:
    status = probe.get("status")
    evidence = {"absent": "the model's output has no gradient with respect to its input (BPDA was used)",
                "zero": "the gradient is exactly zero for every image (BPDA was added)",
                "non-finite": "the gradient holds NaN or inf values (BPDA was added)"}.get(status)
    if evidence is None:
        evidence = f"gradient norm {probe['grad_norm']:.3g}, {100 * probe['zero_share']:.0f} % exactly zero values"
    if probe.get("randomized"):
        evidence += "; the model is randomized (EOT was added)"
    return _check("gradient", status != "ok", evidence, "a gradient that is absent, all zero or non-finite")


def _gradient_members(rows: pd.DataFrame) -> pd.DataFrame:
    gradient = rows[rows["kind"] == "gradient"]
    raw = gradient[gradient["through"] == "raw"]
    return raw if len(raw) else gradient


def gradient_free(rows: pd.DataFrame, sigma: float, budget: float) -> list:
    out = []
    for norm in ("linf", "l2"):
        square = _mean(rows, sigma=sigma, norm=norm, budget=budget, attack="square")
        grads = _gradient_members(rows[(rows["sigma"] == sigma) & (rows["norm"] == norm)
                                       & np.isclose(rows["budget"], budget) & rows["worst"]])
        if square is None or not len(grads):
            out.append(_check(f"gradient_free_{norm}", None, "no Square or gradient attack at this budget", ""))
            continue
        means = grads.groupby("attack")["psnr"].mean()
        best, name = float(means.min()), str(means.idxmin())
        out.append(_check(f"gradient_free_{norm}", square < best - MARGIN_DB,
                          f"Square {square:.2f} dB vs the best gradient attack ({name}) {best:.2f} dB at {norm} "
                          f"eps {budget:g}, sigma {sigma:g}", f"Square lower by more than {MARGIN_DB:g} dB"))
    return out


def more_steps(rows: pd.DataFrame, sigma: float, budget: float, clean: float) -> dict:
    long = rows[(rows["attack"] == "apgd_long") & (rows["sigma"] == sigma)]
    if not len(long):
        return _check("more_steps", None, "no longer attack ran", "")
    through = long["through"].iloc[0]
    base = _mean(rows, sigma=sigma, norm="linf", budget=budget, attack="apgd" if through == "raw" else "bpda_apgd")
    longer = float(long["psnr"].mean())
    if base is None:
        return _check("more_steps", None, "no APGD at this budget", "")
    gain, drop = base - longer, clean - base
    flag = gain > max(MARGIN_DB, MORE_STEPS_SHARE * max(drop, 0.0))
    return _check("more_steps", flag, f"APGD {base:.2f} dB; with more iterations and restarts {longer:.2f} dB "
                                      f"(its drop from clean: {drop:.2f} dB)",
                  f"a further drop above {MARGIN_DB:g} dB and {100 * MORE_STEPS_SHARE:.0f} % of the attack's drop")


def random_noise(rows: pd.DataFrame, sigma: float, budget: float, clean: float, worst: dict) -> list:
    out = []
    for norm in ("linf", "l2"):
        rand = _mean(rows, sigma=sigma, norm=norm, budget=budget, attack="random")
        attacked = worst.get(norm)
        if rand is None or attacked is None:
            out.append(_check(f"random_{norm}", None, "no random control or attack at this budget", ""))
            continue
        drop_random, drop_attack = clean - rand, clean - attacked
        flag = drop_attack <= 0 or drop_random >= RANDOM_SHARE * drop_attack
        out.append(_check(f"random_{norm}", flag, f"random noise costs {drop_random:.2f} dB, the ensemble "
                                                  f"{drop_attack:.2f} dB at {norm} eps {budget:g}",
                          f"random noise below {100 * RANDOM_SHARE:.0f} % of the attack's drop"))
    return out


def unbounded(rows: pd.DataFrame, sigma: float) -> dict:
    value = _mean(rows, sigma=sigma, attack="apgd_unbounded")
    if value is None:
        return _check("unbounded", None, "no unbounded attack ran", "")
    return _check("unbounded", value > UNBOUNDED_PSNR_DB, f"APGD with an L-infinity radius of 1 leaves "
                                                          f"{value:.2f} dB", f"at most {UNBOUNDED_PSNR_DB:g} dB")


def checks(rows: pd.DataFrame, probe: dict, sigma: float, budget: float, clean: float, worst: dict) -> list:
    """Every check (module docstring) on the per-image rows of an audit (``Card.per_image`` with
    the members' ``kind``, ``through`` and ``worst``), the gradient ``probe``, at ``sigma`` and
    ``budget``; ``clean``: the mean Gaussian PSNR there; ``worst``: ``{norm: ensemble mean PSNR}``."""
    return [gradient(probe), *gradient_free(rows, sigma, budget), more_steps(rows, sigma, budget, clean),
            *random_noise(rows, sigma, budget, clean, worst), unbounded(rows, sigma)]
