"""The robustness card: what an audit found, as tables, figures, JSON and one HTML page.

A ``Card`` holds plain data only (numbers, text, per-image rows), so ``Card.from_json(card.
to_json())`` gives the same card; its tables (pandas) and figures (matplotlib) are made from
that data on demand:

- ``clean``: PSNR / SSIM of the Gaussian-noisy images denoised, per sigma;
- ``curves``: the robust PSNR against the budget, L-infinity and L2, per attack and for the
  ensemble (per image the worst case over the members, as AutoAttack reports accuracy);
- ``dmr``: eq. 5 of Ning et al. (``robustness.dmr``: mean attacked PSNR minus mean Gaussian
  PSNR) per attack at its budget and for each norm's ensemble at the paper's budget;
- ``masking``: the checks of ``masking`` (pass / flag, evidence, threshold);
- ``radar``: the adversarial radar (Ning et al. eq. 7, ``similitude.radar``) on the circle of
  DnCNN-S's samples, and DMRS (eq. 6) with the zoo's reference models;
- ``leaderboard``: the model's place among the zoo under the same protocol;
- ``timing``: seconds per attack (summed over its tasks); the command and versions to redo it.
"""

import base64
import html
import io
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic, write_atomic
from ..robustness import dmr
from . import ensemble


@dataclass
class Card:
    """An audit's results (module docstring). ``per_image``: one record per (sigma, norm, budget,
    attack, image) with its PSNR and perturbation size; ``summary``: the headline numbers;
    ``images``: what the images were (dataset, where the files came from: ``data.ImageSet``'s
    source, label and whether they compare with the paper's, names, crop)."""

    target: dict
    protocol: dict
    probe: dict
    members: dict
    per_image: list
    clean: list
    masking: list
    summary: dict
    timing: dict
    radar: dict | None = None
    leaderboard: dict | None = None
    command: str = ""
    versions: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ tables
    def rows(self) -> pd.DataFrame:
        """The per-image records with each member's kind, gradient and worst-case role."""
        rows = pd.DataFrame(self.per_image)
        rows["kind"] = rows["attack"].map(lambda a: ensemble.MEMBERS[a].kind)
        rows["worst"] = rows["attack"].map(lambda a: ensemble.MEMBERS[a].worst)
        return rows

    @property
    def tables(self) -> dict:
        """``{'clean', 'curves', 'dmr', 'masking', 'timing'[, 'dmrs', 'leaderboard']}``: DataFrames."""
        out = {"clean": pd.DataFrame(self.clean), "curves": curves(self.rows()), "dmr": dmr_table(self.rows()),
               "masking": pd.DataFrame(self.masking),
               "timing": pd.DataFrame([{"attack": k, "seconds": v} for k, v in self.timing.items()])}
        if self.radar:
            out["dmrs"] = pd.DataFrame([{"reference": k, "dmrs": v} for k, v in self.radar["dmrs"].items()])
        if self.leaderboard:
            out["leaderboard"] = pd.DataFrame(self.leaderboard["rows"])
        return out

    @property
    def figures(self) -> dict:
        """``{'robust_psnr_linf', 'robust_psnr_l2', 'dmr'[, 'radar']}``: matplotlib figures made from
        the card's data (the curves at the main noise level)."""
        from .. import plots

        table, sigma = self.tables["curves"], self.summary["sigma"]
        figs = {}
        for norm in ensemble.NORMS:
            part = table[(table["norm"] == norm) & (table["sigma"] == sigma)]
            if len(part):
                figs[f"robust_psnr_{norm}"] = plots.line_chart(
                    part, "budget", "psnr", "attack", xlabel=f"{norm} budget eps ([0, 1] scale; L2: per-pixel RMS)",
                    ylabel="PSNR (dB)", hline=(self.summary["clean_psnr"], "no attack"),
                    title=f"{self.target['name']}: robust PSNR against the {norm} budget, sigma {sigma:g}")
        dmr = self.tables["dmr"]
        figs["dmr"] = plots.bar_chart(dmr, "attack", "dmr", "sigma", ylabel="DMR (dB, eq. 5)", zero_line=True,
                                      xlabel="attack (at its budget) or ensemble (at the paper's budget)",
                                      title=f"{self.target['name']}: DMR per attack (closer to 0: more robust)",
                                      rotate=30)
        if self.radar:
            figs["radar"] = plots.radar_plot(np.asarray(self.radar["degrees"]),
                                             {k: np.asarray(v) for k, v in self.radar["radars"].items()},
                                             title=f"adversarial radar on {self.radar['source']}'s samples")
        return figs

    # ------------------------------------------------------------------ files
    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, default=_plain)

    @classmethod
    def from_json(cls, text: str) -> "Card":
        data = json.loads(text)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})

    def to_html(self, pngs: dict | None = None) -> str:
        """One self-contained page: the tables and the figures as PNG data URIs (``pngs``: the
        figures' PNG bytes by name when made already; else made here)."""
        pngs = self.pngs() if pngs is None else pngs
        parts = [f"<h1>Robustness card: {html.escape(self.target['name'])}</h1>",
                 f"<p>weights: {html.escape(str(self.target.get('weights')))}; protocol "
                 f"<b>{html.escape(self.protocol['name'])}</b>; images: {html.escape(self.images.get('label', '?'))}"
                 f"; flags: {self.summary.get('flags', 0)}</p>",
                 "<h2>Summary</h2>", _html_table(pd.DataFrame([self.summary]))]
        for name, table in self.tables.items():
            parts += [f"<h2>{html.escape(name)}</h2>", _html_table(table)]
        for name, png in pngs.items():
            parts.append(f'<h2>{html.escape(name)}</h2><img alt="{name}" src="data:image/png;base64,'
                         f'{base64.b64encode(png).decode()}">')
        parts += ["<h2>Reproduce</h2>", f"<pre>{html.escape(self.command)}</pre>",
                  f"<pre>{html.escape(json.dumps(self.versions, indent=1))}</pre>"]
        style = "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}" \
                "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}img{max-width:100%}"
        return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>card</title><style>{style}</style></head>" \
               f"<body>{''.join(parts)}</body></html>"

    def save(self, folder) -> Path:
        """Write ``card.json``, ``card.html`` and one PNG per figure into ``folder``, atomically."""
        folder, pngs = Path(folder), self.pngs()
        write_atomic(folder / "card.json", self.to_json())
        write_atomic(folder / "card.html", self.to_html(pngs))
        for name, png in pngs.items():
            with atomic(folder / f"{name}.png", suffix=".png") as tmp:
                tmp.write_bytes(png)
        return folder

    def pngs(self) -> dict:
        """``{name: PNG bytes}`` of the figures (each figure closed once drawn)."""
        return {name: _png(fig) for name, fig in self.figures.items()}

    def _repr_html_(self) -> str:
        return self.to_html()


def curves(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR per (sigma, norm, budget, attack) of the members in the worst case, and the
    ensemble's (per image the minimum over them, then the mean)."""
    rows = rows[rows["worst"]]
    keys = ["sigma", "norm", "budget"]
    per_attack = rows.groupby(keys + ["attack"], as_index=False)["psnr"].mean()
    worst = rows.groupby(keys + ["image"], as_index=False)["psnr"].min().groupby(keys, as_index=False)["psnr"].mean()
    worst["attack"] = "ensemble"
    return pd.concat([per_attack, worst], ignore_index=True).sort_values(keys + ["attack"], ignore_index=True)


def dmr_table(rows: pd.DataFrame) -> pd.DataFrame:
    """DMR (Ning et al. eq. 5, ``robustness.dmr``) per sigma, attack and budget (the controls left
    out), and of each norm's ensemble at every budget where more than one member ran."""
    gauss = rows[rows["attack"] == "clean"].set_index(["sigma", "image"])["psnr"]

    def eq5(sigma, per_image) -> float:
        return dmr([{"psnr_adv": p, "psnr_gauss": gauss[(sigma, image)]} for image, p in per_image.items()])

    out = []
    attacked = rows[~rows["kind"].isin(["baseline", "control"])]
    for (sigma, norm, budget, attack), part in attacked.groupby(["sigma", "norm", "budget", "attack"]):
        out.append({"sigma": sigma, "attack": f"{attack} ({norm} {budget:g})", "norm": norm, "budget": budget,
                    "dmr": eq5(sigma, part.set_index("image")["psnr"])})
    for (sigma, norm, budget), part in rows[rows["worst"]].groupby(["sigma", "norm", "budget"]):
        if part["attack"].nunique() > 1:
            out.append({"sigma": sigma, "attack": f"ensemble ({norm} {budget:g})", "norm": norm, "budget": budget,
                        "dmr": eq5(sigma, part.groupby("image")["psnr"].min())})
    return pd.DataFrame(out)


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _html_table(table: pd.DataFrame) -> str:
    return table.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0, escape=True)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
