"""Robustness measures of Ning et al. (arXiv:2306.16050): Gauss vs Adv tables, DMR, transfer.

For each clean image y (image i of a set): x = y + n with Gaussian n (seeded seed + i), x' the
attack's adversarial version of x. "Gauss" scores D(x) against y, "Adv" scores D(x'), both
clipped to [0, 1], on the 0-255 scale (Tables I and II).

DMR, the denoising model robustness of eq. 5, is the mean over the test set of
PSNR(D(x'), y) - PSNR(D(x), y): negative, and the closer to 0 the more robust (Table III:
DnCNN 30.40 -> 29.47 gives -0.94).

Transferability (Sec. III-C, eq. 3): the adversarial set made on a source model A is denoised
by a target model B. A sample counts only when both models denoise its Gaussian-noisy image
(PSNR(D(x), y) > PSNR(x, y)) and the attack succeeded on the source (a drop larger than a
margin M); the transfer rate is the share of those samples whose drop on B also exceeds M.
"""

import numpy as np
import pandas as pd
import torch

from . import metrics, noise
from .adversarial_sets import adversarial_set
from .attacks import clean_image_pgd, denoising_pgd, engine, obsatk
from .attacks.obsatk import observation_sigma
from .evaluation import clipped_denoise, denoised_psnr, model_device

METRIC_NAMES = ("psnr", "mae", "ssim")

DEFAULT_MARGIN = 0.1
"""M of eq. 3, in dB. The paper gives no value. 0.1 dB is twice the per-image spread of PSNR
between independent sigma-25 noise draws (median standard deviation 0.046 dB for DnCNN-S and
0.053 dB for DnCNN-B over five draws on the full-size Set12, measured on our CPU), and above the
drop that a random sign perturbation of the gray budget (+-0.012) causes (0.03-0.04 dB): a drop
beyond M is not chance. For the color budget (eps 0.055) a random perturbation alone costs
0.7-1.2 dB, so transfer tables also report ``control_drop`` (see ``transfer_rows``)."""


def gauss_vs_adv(model: torch.nn.Module, images, sigma: float = 25, seed: int = 0, attack=denoising_pgd,
                 keep_outputs: bool = False, cache_dir=None, **attack_params) -> tuple:
    """Attack every image of an ``ImageSet`` and score Gauss vs Adv (``score_set`` on the
    model's own adversarial set). With ``cache_dir`` the adversarial set is read from (or
    written to) the cache of ``adversarial_sets``."""
    made = adversarial_set(model, images, sigma, seed, attack, cache_dir, **attack_params)
    return score_set(model, made, images, keep_outputs)


def score_set(model: torch.nn.Module, made, images, keep_outputs: bool = False, control_seed: int | None = None) -> tuple:
    """Score ``model`` on an adversarial set ``made`` (of this model, or of another: a transfer,
    Ning et al. Sec. V-B's BM3D on DnCNN's samples) of ``images``.

    Returns ``(rows, outputs)``: per image the Gauss and Adv PSNR / MAE / SSIM, their
    differences (Adv - Gauss), the standard deviations (0-255) of the Gaussian noise x - y and
    of the adversarial noise x' - y; and, when ``keep_outputs``, ``{name: dict of tensors}``
    with clean, noisy, adversarial and both denoised images. With ``control_seed`` the rows also
    hold ``psnr_control``, the PSNR on x + shuffled(x' - x) (``shuffled_perturbation``, image i
    seeded control_seed + i: the same perturbation values without their structure), and
    ``control_diff`` = psnr_control - psnr_gauss.
    """
    made.check_made_on(images)
    device = model_device(model)
    clean = [img.to(device) for _, img in images]
    noisy, adv = [x.to(device) for x in made.noisy], [x.to(device) for x in made.adv]
    rows, outputs = [], {}
    for i, name in enumerate(images.names):
        denoised_gauss, denoised_adv = clipped_denoise(model, noisy[i]), clipped_denoise(model, adv[i])
        g, a = metrics.evaluate(denoised_gauss, clean[i]), metrics.evaluate(denoised_adv, clean[i])
        row = {"image": name}
        for m in METRIC_NAMES:
            row[f"{m}_gauss"], row[f"{m}_adv"] = float(g[m][0]), float(a[m][0])
            row[f"{m}_diff"] = row[f"{m}_adv"] - row[f"{m}_gauss"]
        row["noise_std_gauss"] = float((noisy[i] - clean[i]).std() * 255)
        row["noise_std_adv"] = float((adv[i] - clean[i]).std() * 255)
        row["linf_perturbation"] = float((adv[i] - noisy[i]).abs().max())
        if control_seed is not None:
            control = shuffled_perturbation(noisy[i], adv[i], control_seed + i)
            row["psnr_control"] = float(denoised_psnr(model, control, clean[i])[0])
            row["control_diff"] = row["psnr_control"] - row["psnr_gauss"]
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
                    "psnr_control": float(denoised_psnr(model, control, img)[0])})
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
                     "psnr_clean_attack": float(denoised_psnr(model, xc, y)[0]),
                     "psnr_gauss_matched": float(denoised_psnr(model, x, y)[0]),
                     "psnr_noisy_attack": float(denoised_psnr(model, xa, y)[0])})
    return rows


def shuffled_perturbation(noisy: torch.Tensor, adv: torch.Tensor, seed: int) -> torch.Tensor:
    """x + P(x' - x), P a random permutation of the perturbation's pixels (seeded): the same
    values, hence the same L-inf and L2 size and histogram, without the adversarial structure."""
    delta = (adv - noisy).reshape(-1)
    perm = torch.from_numpy(np.random.RandomState(seed).permutation(delta.numel())).to(delta.device)
    return noisy + delta[perm].view_as(noisy)


def transfer_rows(sets: dict, models: dict, images, control_seed: int = 20_000) -> list:
    """Every target model denoises every source's adversarial set (Ning et al. Sec. III-C).

    Args:
        sets: ``{source name: AdversarialSet}`` (``adversarial_sets.adversarial_set``), all made
            on ``images``.
        models: ``{target name: model}``; include the sources to apply eq. 3 (``success_set``).
        control_seed: image i's shuffled perturbation is seeded ``control_seed + i``.

    Returns one row per (source, target, image): the PSNR of the noisy input (``psnr_noisy``),
    of the target's output on x (``psnr_gauss``), on x' (``psnr_adv``) and on the control
    x + shuffled(x' - x) (``psnr_control``), and the drops ``drop = psnr_gauss - psnr_adv``
    and ``control_drop = psnr_gauss - psnr_control``. Cost: one inference per target and image
    on x (shared by the sources whose noisy images are the same) and two per source, target
    and image; no attack is run.
    """
    rows, gauss = [], {}
    clean = [img.cpu() for _, img in images]
    for source, made in sets.items():
        made.check_made_on(images)
        noisy_psnr = [float(metrics.psnr(x.clamp(0, 1), y)[0]) for x, y in zip(made.noisy, clean)]
        control = [shuffled_perturbation(x, xa, control_seed + i) for i, (x, xa) in enumerate(zip(made.noisy, made.adv))]
        noise_key = (made.params.get("sigma"), made.params.get("seed"), made.params.get("images"))
        for target, model in models.items():
            if (target, noise_key) not in gauss:
                gauss[target, noise_key] = denoised_psnr(model, made.noisy, clean).tolist()
            adv, ctrl = denoised_psnr(model, made.adv, clean).tolist(), denoised_psnr(model, control, clean).tolist()
            for i, name in enumerate(made.names):
                g = gauss[target, noise_key][i]
                rows.append({"source": source, "target": target, "image": name, "psnr_noisy": noisy_psnr[i],
                             "psnr_gauss": g, "psnr_adv": adv[i], "psnr_control": ctrl[i],
                             "drop": g - adv[i], "control_drop": g - ctrl[i]})
    return rows


def success_set(rows: list, margin: float = DEFAULT_MARGIN) -> pd.DataFrame:
    """Eq. 3 on the rows of ``transfer_rows``: a DataFrame of the rows with

    - ``source_drop``: the drop the source's own samples cause on the source (its row with
      target == source);
    - ``in_success_set``: the source and the target both denoise the Gaussian-noisy image
      (PSNR of D(x) above that of x) and ``source_drop > margin``;
    - ``transferred``: in the success set and ``drop > margin`` on the target.
    """
    if margin < 0:
        raise ValueError(f"the margin M of eq. 3 is a PSNR drop in dB, >= 0; got {margin}")
    df = pd.DataFrame(rows)
    required = {"source", "target", "image", "psnr_noisy", "psnr_gauss", "drop"}
    if df.empty or not required <= set(df.columns):
        raise ValueError(f"success_set needs rows of transfer_rows with columns {sorted(required)}")
    own = df[df.source == df.target].set_index(["source", "image"])
    missing = sorted(set(df.source) - set(own.index.get_level_values(0)))
    if missing:
        raise ValueError(f"eq. 3 needs each source's drop on itself: add {missing} to the targets")
    key = pd.MultiIndex.from_arrays([df.source, df.image])
    df["source_drop"] = own["drop"].reindex(key).to_numpy()
    source_denoises = (own.psnr_gauss > own.psnr_noisy).reindex(key).to_numpy()
    df["in_success_set"] = source_denoises & (df.psnr_gauss > df.psnr_noisy).to_numpy() & (df.source_drop > margin)
    df["transferred"] = df.in_success_set & (df["drop"] > margin)
    return df


def transfer_summary(rows: list, margin: float = DEFAULT_MARGIN) -> pd.DataFrame:
    """One row per (source, target): mean PSNRs and drops over all images, the size of the
    success set of eq. 3 and the transfer rate (transferred / success set; NaN when empty)."""
    df = success_set(rows, margin)
    means = [c for c in ("psnr_gauss", "psnr_adv", "drop", "psnr_control", "control_drop") if c in df]
    out = df.groupby(["source", "target"], sort=False).agg(
        images=("image", "size"), **{c: (c, "mean") for c in means},
        success_set=("in_success_set", "sum"), transferred=("transferred", "sum")).reset_index()
    out["transfer_rate"] = out.transferred / out.success_set.where(out.success_set > 0)
    return out


def noise_type_rows(model: torch.nn.Module, images, sigma: float, seeds, budgets=(5, 7), **obsatk_params) -> list:
    """Yan et al. Table 1: the mean PSNR of ``model`` on ``images`` under Gaussian and uniform noise
    of level ``sigma`` and under OBSATK Atk-r for each r in ``budgets`` (the observation noisy at
    sigma - r, then the attack), for every seed. One row per (seed, noise) with the mean PSNR.

    Every row's input lies in [0, 1]: the Gaussian and uniform observations are clipped as Yan et
    al.'s data pipeline clips its noisy images (HanshuYAN/ObsAtk ``datasets/misc.py``), which is
    also what OBSATK's default ``clip='step'`` does to its observation, so the rows compare like
    with like (an unclipped Gaussian row beside clipped attack rows would credit the attack with the
    clipping's effect)."""
    rows, device = [], model_device(model)
    clean = [img.to(device) for _, img in images]
    for seed in seeds:
        seeds_i = [seed + i for i in range(len(clean))]
        inputs = {"Gaussian": [noise.gaussian(c, sigma, seed=s, clip=True) for c, s in zip(clean, seeds_i)],
                  "uniform": [noise.uniform(c, sigma, seed=s, clip=True) for c, s in zip(clean, seeds_i)]}
        for r in budgets:
            observed = [noise.gaussian(c, observation_sigma(sigma, r), seed=s) for c, s in zip(clean, seeds_i)]
            inputs[f"Atk-{r:g}/255"] = obsatk(model, observed, clean, r=r, seed=seed, **obsatk_params)
        for kind, noisy in inputs.items():
            rows.append({"sigma": sigma, "seed": seed, "noise": kind,
                         "psnr": float(np.mean(denoised_psnr(model, list(noisy), clean, batch_size=1)))})
    return rows


def attack_rows(model: torch.nn.Module, images, sigma: float, attacks: dict, seed: int = 0, cache_dir=None,
                source: str | None = None) -> list:
    """Score ``model`` under several attacks with the same noise (Ning et al. Table VIII, Yan et
    al. Table 2 layouts).

    Args:
        attacks: ``{label: (attack, params)}``, e.g. ``{"PGD": (denoising_pgd, {"eps": 0.012})}``.
            Each attack starts from the observation it declares (``attacks.engine.declare``): an
            OBSATK entry (its budget ``r`` given) from one noisy at sigma - r (Yan et al.'s
            protocol), every other attack from the Gaussian-noisy image at sigma.
        cache_dir, source: the adversarial sets' cache (``adversarial_sets``) and the name they
            are kept under (default ``model.info['name']``).

    Returns one row per (attack, image): the PSNR and SSIM of the denoised Gaussian-noisy image at
    sigma (image i seeded seed + i; the same for every attack) and of the denoised adversarial
    image, and ``drop = psnr_gauss - psnr_adv``. Label "Gaussian" is reserved for the clean row.
    """
    if "Gaussian" in attacks:
        raise ValueError("the label 'Gaussian' is reserved for the row without attack")
    levels = {label: engine.observation_sigma(attack, sigma, params) for label, (attack, params) in attacks.items()}
    device = model_device(model)
    clean = [img.to(device) for _, img in images]
    gauss = [noise.gaussian(c, sigma, seed=seed + i) for i, c in enumerate(clean)]
    scored = {"Gaussian": gauss}
    for label, (attack, params) in attacks.items():
        made = adversarial_set(model, images, levels[label], seed, attack, cache_dir, source, **params)
        scored[label] = made.adv
    base, rows = {}, []
    for label, inputs in scored.items():
        for i, name in enumerate(images.names):
            out = clipped_denoise(model, inputs[i].to(device))
            m = metrics.evaluate(out, clean[i])
            if label == "Gaussian":
                base[name] = (float(m["psnr"][0]), float(m["ssim"][0]))
            rows.append({"attack": label, "image": name, "psnr_gauss": base[name][0], "ssim_gauss": base[name][1],
                         "psnr_adv": float(m["psnr"][0]), "ssim_adv": float(m["ssim"][0]),
                         "drop": base[name][0] - float(m["psnr"][0])})
    return rows
