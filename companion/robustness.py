"""Robustness measures of Ning et al. (arXiv:2306.16050): Gauss vs Adv tables and DMR.

For each clean image y (image i of a set): x = y + n with Gaussian n (seeded seed + i), x' the
attack's adversarial version of x. "Gauss" scores D(x) against y, "Adv" scores D(x'), both
clipped to [0, 1], on the 0-255 scale (Tables I and II).

DMR, the denoising model robustness of eq. 5, is the mean over the test set of
PSNR(D(x'), y) - PSNR(D(x), y): negative, and the closer to 0 the more robust (Table III:
DnCNN 30.40 -> 29.47 gives -0.94).
"""

import numpy as np
import torch

from . import metrics, noise
from .attacks import clean_image_pgd, denoising_pgd
from .evaluation import denoise, model_device

METRIC_NAMES = ("psnr", "mae", "ssim")


def _psnr(model, inputs, clean) -> float:
    """PSNR of the clipped denoised ``inputs`` (one image) against ``clean``."""
    return float(metrics.psnr(denoise(model, inputs).clamp(0, 1), clean)[0])


def gauss_vs_adv(model: torch.nn.Module, images, sigma: float = 25, seed: int = 0, attack=denoising_pgd,
                 keep_outputs: bool = False, **attack_params) -> tuple:
    """Attack every image of an ``ImageSet`` and score Gauss vs Adv.

    Returns ``(rows, outputs)``: per image the Gauss and Adv PSNR / MAE / SSIM, their
    differences (Adv - Gauss), the standard deviations (0-255) of the Gaussian noise x - y and
    of the adversarial noise x' - y; and, when ``keep_outputs``, ``{name: dict of tensors}``
    with clean, noisy, adversarial and both denoised images.
    """
    device = model_device(model)
    clean = [img.to(device) for _, img in images]
    noisy = [noise.gaussian(c, sigma, seed=seed + i) for i, c in enumerate(clean)]
    adv = attack(model, noisy, clean, seed=seed, **attack_params)
    rows, outputs = [], {}
    for i, name in enumerate(images.names):
        denoised_gauss, denoised_adv = denoise(model, noisy[i]).clamp(0, 1), denoise(model, adv[i]).clamp(0, 1)
        g, a = metrics.evaluate(denoised_gauss, clean[i]), metrics.evaluate(denoised_adv, clean[i])
        row = {"image": name}
        for m in METRIC_NAMES:
            row[f"{m}_gauss"], row[f"{m}_adv"] = float(g[m][0]), float(a[m][0])
            row[f"{m}_diff"] = row[f"{m}_adv"] - row[f"{m}_gauss"]
        row["noise_std_gauss"] = float((noisy[i] - clean[i]).std() * 255)
        row["noise_std_adv"] = float((adv[i] - clean[i]).std() * 255)
        row["linf_perturbation"] = float((adv[i] - noisy[i]).abs().max())
        rows.append(row)
        if keep_outputs:
            outputs[name] = {"clean": clean[i].cpu(), "noisy": noisy[i].cpu(), "adv": adv[i].cpu(),
                             "denoised_gauss": denoised_gauss.cpu(), "denoised_adv": denoised_adv.cpu()}
    return rows, outputs


def dmr(rows: list) -> float:
    """Eq. 5: mean Adv PSNR minus mean Gauss PSNR over the rows of ``gauss_vs_adv``."""
    if not rows:
        raise ValueError("DMR needs at least one image")
    return float(np.mean([r["psnr_adv"] for r in rows]) - np.mean([r["psnr_gauss"] for r in rows]))


def noise_level_control(model: torch.nn.Module, images, rows: list, seed: int = 10_000) -> list:
    """Section IV-A's control: fresh Gaussian noise with the standard deviation of each image's
    adversarial noise x' - y, denoised; returns per image the control PSNR.

    If the Adv drop were only a matter of more noise, these PSNRs would fall as far as Adv's.
    The control noise is seeded ``seed + i``, apart from the test noise.
    """
    device = model_device(model)
    out = []
    for i, ((name, img), row) in enumerate(zip(images, rows)):
        img = img.to(device)
        control = noise.gaussian(img, row["noise_std_adv"], seed=seed + i)
        out.append({"image": name, "sigma_control": row["noise_std_adv"],
                    "psnr_control": _psnr(model, control, img)})
    return out


def clean_vs_noisy_attack(model: torch.nn.Module, images, seed: int = 0, clean_eps: float = 0.157,
                          clean_steps: int = 10, eps: float = 0.012, steps: int = 5) -> list:
    """Section V-A at matched noise standard deviation, per image i:

    1. attack the clean image y itself (``clean_image_pgd``: eps 0.157, 10 steps) -> x_c;
    2. s = std(x_c - y): draw Gaussian noise of that level, x = y + n (seeded seed + i);
    3. attack that noisy image with denoising-PGD (eps, steps) -> x'.
    Rows hold the noise levels and the PSNR of D(x_c), D(x) and D(x') against y.
    """
    device = model_device(model)
    rows = []
    for i, (name, y) in enumerate(images):
        y = y.to(device)
        xc = clean_image_pgd(model, y, eps=clean_eps, steps=clean_steps, seed=seed + i)
        level = float((xc - y).std() * 255)
        x = noise.gaussian(y, level, seed=seed + i)
        xa = denoising_pgd(model, x, y, eps=eps, steps=steps, seed=seed + i)
        rows.append({"image": name, "std_clean_attack": level, "std_noisy_attack": float((xa - y).std() * 255),
                     "psnr_clean_attack": _psnr(model, xc, y),
                     "psnr_gauss_matched": _psnr(model, x, y),
                     "psnr_noisy_attack": _psnr(model, xa, y)})
    return rows
