"""Notebook 00: the official DnCNN-S and FFDNet on Set12 at sigma 25, against their published
mean PSNR (Zhang et al. 2017, Table II; Zhang et al. 2018, Table III)."""

from functools import partial

import pandas as pd

from .. import claims

PUBLISHED = {"dncnn_s25": ("dncnn_s25_set12", 30.44), "ffdnet_gray": ("ffdnet_gray_set12", 30.43)}
"""Model -> (its claim, its published mean PSNR in dB on Set12 at sigma 25): DnCNN-S from Zhang et
al. 2017, Table II; FFDNet from Zhang et al. 2018, Table III."""

TOLERANCE = 0.1
"""dB: a different noise draw moves the Set12 mean by a few hundredths of a dB."""


def means(table: pd.DataFrame, models: list) -> pd.DataFrame:
    """Mean PSNR, SSIM, MAE and noisy PSNR of each model (rows in the order of ``models``)."""
    return table.groupby("model")[["psnr", "ssim", "mae", "noisy_psnr"]].mean().loc[models]


def summary(means: pd.DataFrame) -> list:
    """The means beside the published PSNR, one row per model."""
    return [{"model": name, "psnr": row.psnr, "paper psnr": PUBLISHED.get(name, (None, None))[1], "ssim": row.ssim,
             "mae": row.mae, "noisy psnr": row.noisy_psnr} for name, row in means.iterrows()]


def published_claims(models: list) -> list:
    """``(claim id, [model])`` for every published figure, the models run first (in their order),
    then those not run (with no model to rest on)."""
    ran = [(PUBLISHED[m][0], [m]) for m in models if m in PUBLISHED]
    return ran + [(claim_id, []) for m, (claim_id, _) in PUBLISHED.items() if m not in models]


def _published(model: str, means: pd.DataFrame, images, sigma: float) -> tuple:
    """Holds when ``model``'s mean PSNR is within ``TOLERANCE`` of the published one, in the
    published setting only (all of Set12, sigma 25)."""
    if model not in means.index:
        return None, f"{model} was not run here (see the notes)"
    if images.dataset != "set12" or len(images) != 12 or sigma != 25:
        return None, f"not the published setting: {images.label}, sigma {sigma}"
    psnr, paper = means.loc[model, "psnr"], PUBLISHED[model][1]
    return abs(psnr - paper) <= TOLERANCE, f"ours {psnr:.2f} dB vs paper {paper:.2f} dB"


for _model, (_claim_id, _) in PUBLISHED.items():
    claims.check(_claim_id)(partial(_published, _model))
