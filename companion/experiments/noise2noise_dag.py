"""Notebook 08: Plummer & Hauser, "Learning-based denoising with adversarial noise", Sec. 2-4, measured:
Noise2Noise denoisers per noise type, DAG on them (``attacks.dag``) and the PSNR ratio, and the
digit classifier baseline (the classifier and its digits are ``purification``'s).

The test images are small crops of a color test set, 32x32 like the authors' CIFAR-10 images
(``test_crops``). Per noise type the test noise follows the authors' evaluation (``TEST_NOISE``):
Gaussian at sigma 50 (their std-50 model evaluated with std = noise_param), Poisson around 200
photons with their negative binomial (dispersion 75), random-valued impulse with p = 0.2.

The PSNR ratio (their Figure 34; code ``calculate_psnr.py``) is, per image,

    PSNR(D(y), x) / PSNR(D(x'), x),      y = x + noise,  x' = DAG's adversarial input

so a ratio above 1 means the denoised adversarial image is worse than the denoised noisy one.

The classifier baseline (Sec. 2, Figures 7 and 12): random noise replaces a fraction of the
values (``noise.sparse_gaussian``: N(0, 1) added; ``noise.salt_and_pepper``: set to 0.05 or 0.95,
as in the authors' code); the attacks are ``attacks.classifier.fgsm`` and ``one_pixel``. Every
row holds the accuracy on the same test digits.
"""

import numpy as np
import pandas as pd
import torch

from .. import claims, metrics, models, noise, weights
from ..attacks import dag_trace, l2_denoising_pgd
from ..attacks.classifier import fgsm, one_pixel
from ..attacks.dag import SETTINGS
from ..data import PatchSampler, load
from ..evaluation import denoised_psnr
from ..train.recipes import recipe
from .purification import accuracy, predict

TEST_NOISE = {"gaussian": (50.0, {}), "poisson": (200.0, {"dispersion": 75.0}), "impulse": (0.2, {})}
"""Noise type -> (level, extra ``noise.add`` arguments) of the test noise (module docstring)."""
IMPULSE_LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5]
"""The impulse probabilities p of the loss comparison (Lehtinen et al. Sec. 3.3 test up to 0.5)."""
PAPER_WITHIN = {"gaussian": 0.29}
"""Plummer & Hauser Figure 34: the share of the Gaussian model's PSNR ratios within [0.95, 1.05]."""
RANDOM_NOISES = {"gaussian": noise.sparse_gaussian, "salt_and_pepper": noise.salt_and_pepper}


def check_models(ours: dict, authors: dict, impulse_losses: list) -> None:
    """Raise unless ``ours`` and ``authors`` name one color model per noise type of ``TEST_NOISE``
    and ``impulse_losses`` only our impulse U-Nets."""
    kinds = list(TEST_NOISE)
    for role, chosen in (("ours", ours), ("authors", authors)):
        if set(chosen) != set(kinds):
            raise ValueError(f"{role} must name one model per noise type {kinds}, got {sorted(chosen)}")
        for kind, name in chosen.items():
            if models.spec(name).noise != kind or models.spec(name).channels != 3:
                raise ValueError(f"{name!r} is not a color {kind} denoiser; choose from "
                                 f"{[n for n in models.list_models(3) if models.spec(n).noise == kind]}")
    for name in impulse_losses:
        if models.spec(name).collection != "noise2noise" or models.spec(name).noise != "impulse":
            choices = [n for n in models.list_models(collection="noise2noise") if models.spec(n).noise == "impulse"]
            raise ValueError(f"{name!r} is not one of our impulse U-Nets; choose from {choices}")


def load_models(names: list, device) -> tuple:
    """``(zoo, skipped)``: each model of ``names`` that loads, and for the others (the authors'
    files are official weights only) why it is skipped, with every section on it."""
    zoo, skipped = {}, {}
    for name in names:
        try:
            zoo[name] = models.create(name, device=device)
        except weights.WeightsError as err:
            skipped[name] = f"{name} skipped, and every section on it: {weights.short_reason(err)}"
    return zoo, skipped


def test_crops(images=None, size: int = 32, count: int = 100, seed: int = 0) -> torch.Tensor:
    """``count`` random ``size`` x ``size`` crops (no flips) of a color ``ImageSet`` (default:
    CBSD68), seeded."""
    images = load("cbsd68", color=True) if images is None else images
    return PatchSampler(images, size, count, seed=seed, augment=False).batch(0)


def corrupt(kind: str, clean: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The test noise of ``kind`` (``TEST_NOISE``), image i seeded ``seed + i``, clipped to [0, 1]
    as the authors' 8-bit noisy images are."""
    if kind not in TEST_NOISE:
        raise ValueError(f"unknown noise {kind!r}; choose one of {sorted(TEST_NOISE)}")
    level, extra = TEST_NOISE[kind]
    return noise.add(kind, clean, level, seed=seed, **extra).clamp(0, 1)


def denoising_rows(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor) -> list:
    """Per image: PSNR of the noisy and of the denoised image, and their ratio (Figures 18-26)."""
    before, after = metrics.psnr(noisy.clamp(0, 1), clean).cpu().numpy(), denoised_psnr(model, noisy, clean)
    return [{"image": i, "noisy_psnr": float(b), "denoised_psnr": float(a), "gain_ratio": float(a / b)}
            for i, (b, a) in enumerate(zip(before, after))]


def denoising_table(zoo: dict, noise_of: dict, clean: torch.Tensor, noisy: dict, full, full_name: str, seed: int = 0,
                    progress: bool = False) -> tuple:
    """Each model of ``zoo`` on its own noise type (``noise_of``), on the crops and on the whole
    images of ``full`` (image i seeded seed + i). Returns ``(table, rows)``: mean PSNRs per model
    (rounded to 0.01 dB), and each model's ``denoising_rows`` on the crops."""
    from tqdm.auto import tqdm

    table, rows = [], {}
    for name, model in tqdm(zoo.items(), desc="denoising", disable=not progress):
        kind = noise_of[name]
        rows[name] = denoising_rows(model, clean, noisy[kind])
        whole = [denoising_rows(model, img, corrupt(kind, img, seed=seed + i))[0] for i, (_, img) in enumerate(full)]
        table.append({"model": name, "noise": kind, "origin": model.info["weights"],
                      "crops_noisy_psnr": np.mean([r["noisy_psnr"] for r in rows[name]]),
                      "crops_denoised_psnr": np.mean([r["denoised_psnr"] for r in rows[name]]),
                      f"{full_name}_noisy_psnr": np.mean([r["noisy_psnr"] for r in whole]),
                      f"{full_name}_denoised_psnr": np.mean([r["denoised_psnr"] for r in whole])})
    return pd.DataFrame(table).round(2), rows


def impulse_losses_table(zoo: dict, names: list, clean: torch.Tensor, seed: int = 0) -> pd.DataFrame:
    """The same U-Net trained with each loss (``names``, the loss from its quick recipe) on
    random-valued impulse noise at each p of ``IMPULSE_LEVELS``: mean PSNR on the crops, rounded."""
    return pd.DataFrame([{"model": name, "loss": recipe(name, "quick")["loss"], "p": p,
                          "psnr": np.mean([r["denoised_psnr"] for r in denoising_rows(
                              zoo[name], clean, noise.impulse(clean, p, seed=seed))])}
                         for name in names for p in IMPULSE_LEVELS], columns=["model", "loss", "p", "psnr"]).round(2)


def dag_rows(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor, kind: str, eps: float | None = None,
             **overrides) -> tuple:
    """DAG with the authors' settings for ``kind`` (``attacks.dag.SETTINGS``; ``overrides``
    replace them) on every image, toward its noisy version. Returns ``(rows, adversarial, trace)``:
    per image the PSNR of D(y) and of D(x'), the ratio, the norms of the adversarial and of the
    original noise, the steps taken and the share of pixels still active at the end; and
    ``attacks.dag_trace``'s trace."""
    adv, trace = dag_trace(model, clean, noisy, **{**SETTINGS[kind], **overrides}, eps=eps)
    denoised_noisy, denoised_adv = denoised_psnr(model, noisy, clean), denoised_psnr(model, adv, clean)
    delta, original = (adv - clean).flatten(1), (noisy - clean).flatten(1)
    steps_taken = (trace["active"] > 0).sum(0).numpy()
    rows = [{"image": i, "psnr_denoised_noisy": float(dn), "psnr_denoised_adv": float(da), "ratio": float(dn / da),
             "adv_l2": float(delta[i].norm()), "noise_l2": float(original[i].norm()),
             "adv_linf": float(delta[i].abs().max()), "steps": int(steps_taken[i]),
             "active_end": float(trace["active"][-1, i]) if len(trace["active"]) else 0.0}
            for i, (dn, da) in enumerate(zip(denoised_noisy, denoised_adv))]
    return rows, adv, trace


def dag_study(zoo: dict, roles: dict, clean: torch.Tensor, noisy: dict, eps: float, progress: bool = False) -> tuple:
    """DAG on every model of ``roles`` (``{role: {noise type: name}}``), the original (bounded by
    [-1, 1] only) and inside the L-infinity ball of radius ``eps``. Returns ``(attacked,
    adversarial, traces)``: ``dag_rows``' rows with model, role, noise and setting; the
    adversarial inputs per (model, setting); and the mean share of active values per step."""
    from tqdm.auto import tqdm

    attacked, adversarial, traces = [], {}, []
    for role, chosen in roles.items():
        for kind, name in tqdm(chosen.items(), desc=f"DAG on {role}", disable=not progress):
            for setting, bound in (("original", None), ("bounded", eps)):
                rows, adversarial[name, setting], trace = dag_rows(zoo[name], clean, noisy[kind], kind, eps=bound)
                traces += [{"model": name, "role": role, "noise": kind, "setting": setting, "step": t,
                            "active": float(a)} for t, a in enumerate(trace["active"].mean(1))]
                attacked += [{**r, "model": name, "role": role, "noise": kind, "setting": setting} for r in rows]
    return pd.DataFrame(attacked), adversarial, pd.DataFrame(traces)


def ratio_shares(ratios, low: float = 0.95, high: float = 1.05) -> dict:
    """Shares of PSNR ratios below ``low``, within [low, high] and above ``high``."""
    r = np.asarray(ratios, dtype=float)
    if r.size == 0:
        raise ValueError("no ratios to count")
    return {"below": float((r < low).mean()), "within": float(((r >= low) & (r <= high)).mean()),
            "above": float((r > high).mean())}


def ratio_table(attacked: pd.DataFrame) -> pd.DataFrame:
    """Figure 34 per role, noise, model and setting: ``ratio_shares`` and the median ratio, norms,
    steps and final active share, beside the paper's share within (``PAPER_WITHIN``); rounded."""
    shares = []
    for (role, kind, name, setting), part in attacked.groupby(["role", "noise", "model", "setting"], sort=False):
        shares.append({"role": role, "noise": kind, "model": name, "setting": setting, **ratio_shares(part.ratio),
                       "median_ratio": part.ratio.median(), "adv_l2": part.adv_l2.median(),
                       "noise_l2": part.noise_l2.median(), "adv_linf": part.adv_linf.median(),
                       "steps": part.steps.median(), "active_end": part.active_end.median(),
                       "paper_within": PAPER_WITHIN.get(kind)})
    return pd.DataFrame(shares).round(3)


def noise_resemblance(ours: dict, adversarial: dict, clean: torch.Tensor, noisy: dict) -> pd.DataFrame:
    """Figures 31 and 33: the Wasserstein distance of each model's (original) DAG noise to each
    test noise, both scaled to unit standard deviation (the shape of a histogram, whatever its
    width), and the closest; rounded."""
    scaled = lambda t: t / t.std()
    rows = []
    for kind, name in ours.items():
        adv_noise = adversarial[name, "original"] - clean
        distances = {f"to_{other}": metrics.wasserstein(scaled(adv_noise), scaled(noisy[other] - clean))
                     for other in noisy}
        rows.append({"model": name, "noise": kind, **distances,
                     "closest": min(distances, key=distances.get).removeprefix("to_")})
    return pd.DataFrame(rows).round(3)


def matched_norm_rows(model: torch.nn.Module, clean: torch.Tensor, adv: torch.Tensor, steps: int = 10,
                      seed: int = 0) -> list:
    """DAG against denoising-PGD at the same perturbation norm, on the same images.

    Per image, r = ||x' - x||_2 of DAG's sample. The control is a random Gaussian perturbation
    rescaled to norm r; L2-denoising-PGD (``attacks.l2_denoising_pgd``, Ning et al. Algorithm 1)
    starts there and maximizes ||D(x') - x||^2 within the L2 ball of radius r around x, clipped to
    [0, 1] like DAG's inputs. The step scale is twice the largest per-value RMS of DAG's
    perturbations. Returns per image the PSNR of D(.) against x for the three inputs."""
    delta = adv - clean
    r = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    g = noise.draw_per_image(clean, seed, lambda rs, shape: rs.standard_normal(shape))
    random = (clean + g * r / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1).clamp_min(1e-12))
    eps = 2 * float((r.flatten() / np.sqrt(delta[0].numel())).max())
    pgd = l2_denoising_pgd(model, random, clean, eps=max(eps, 1e-6), steps=steps, seed=seed, clip=True)
    scores = {name: denoised_psnr(model, x, clean) for name, x in
              (("dag", adv), ("pgd_l2", pgd), ("random", random.clamp(0, 1)))}
    return [{"image": i, "l2": float(r[i]), **{f"psnr_{k}": float(v[i]) for k, v in scores.items()}}
            for i in range(len(clean))]


def matched_norm_table(zoo: dict, chosen: dict, clean: torch.Tensor, adversarial: dict, steps: int = 10, seed: int = 0,
                       progress: bool = False) -> pd.DataFrame:
    """``matched_norm_rows`` for every model of ``chosen`` (``{noise type: name}`` pairs) on its
    original DAG samples: the mean PSNRs per model, rounded."""
    from tqdm.auto import tqdm

    rows = []
    for kind, name in tqdm(chosen, desc="matched norm", disable=not progress):
        rows += [{**r, "model": name, "noise": kind}
                 for r in matched_norm_rows(zoo[name], clean, adversarial[name, "original"], steps=steps, seed=seed)]
    return pd.DataFrame(rows).groupby(["model", "noise"], sort=False)[
        ["l2", "psnr_random", "psnr_dag", "psnr_pgd_l2"]].mean().round(2).reset_index()


def noise_rows(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, fractions, seed: int = 0) -> list:
    """Accuracy under each random noise of ``RANDOM_NOISES`` at each fraction of values replaced
    (Figure 7). Gaussian-noised digits are clipped to [0, 1] before the classifier sees them."""
    return [{"noise": name, "fraction": float(f),
             "accuracy": accuracy(model, add(images, f, seed=seed).clamp(0, 1), labels)}
            for name, add in RANDOM_NOISES.items() for f in fractions]


def fgsm_rows(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, eps_values) -> list:
    """Accuracy under FGSM at each L-infinity budget (on the [0, 1] scale)."""
    return [{"attack": "fgsm", "eps": float(e), "accuracy": accuracy(model, fgsm(model, images, labels, e), labels)}
            for e in eps_values]


def one_pixel_rows(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, pixel_counts,
                   population: int = 400, generations: int = 100, seed: int = 0, progress: bool = False) -> list:
    """Accuracy under the One Pixel attack for each number of pixels (Figure 12), and the success
    rate on the digits the classifier got right."""
    from tqdm.auto import tqdm

    right = predict(model, images) == labels
    rows = []
    for k in tqdm(list(pixel_counts), desc="one pixel", disable=not progress):
        adv = one_pixel(model, images, labels, pixels=int(k), population=population, generations=generations,
                        seed=seed)
        fooled = predict(model, adv) != labels
        rows.append({"attack": "one_pixel", "pixels": int(k), "accuracy": float((~fooled).float().mean()),
                     "success_rate": float((fooled & right).sum() / max(int(right.sum()), 1))})
    return rows


@claims.check("n2n_l0_best_for_impulse")
def n2n_l0_best_for_impulse(losses: pd.DataFrame) -> tuple:
    """Agrees when the annealed-L0 U-Net beats every other loss at the test p (``TEST_NOISE``)
    (``losses``: ``impulse_losses_table``); None without it and another loss."""
    p = TEST_NOISE["impulse"][0]
    l0 = losses[losses.p == p].set_index("model").psnr
    if "n2n_impulse_l0" not in l0 or len(l0) < 2:
        return None, "impulse_losses must hold n2n_impulse_l0 and another loss"
    return bool(l0["n2n_impulse_l0"] > l0.drop("n2n_impulse_l0").max()), (
        f"mean PSNR at p = {p}: " + ", ".join(f"{k} {v:.2f} dB" for k, v in l0.items()))


@claims.check("dag_gaussian_least_impulse_most")
def dag_gaussian_least_impulse_most(shares: pd.DataFrame) -> tuple:
    """Agrees when, for our models under the original DAG, the Gaussian model has the lowest median
    PSNR ratio and the impulse model the highest (``shares``: ``ratio_table``)."""
    mine = shares[(shares.role == "ours") & (shares.setting == "original")].set_index("noise")
    order = mine.median_ratio.sort_values()
    return bool(order.index[0] == "gaussian" and order.index[-1] == "impulse"), (
        "median PSNR ratio (ours, original DAG): " + ", ".join(f"{k} {v:.3f}" for k, v in order.items())
        + f"; Gaussian within [0.95, 1.05]: {mine.loc['gaussian', 'within']:.0%} (paper: about "
          f"{PAPER_WITHIN['gaussian'] * 100:.0f} %)")


@claims.check("dag_noise_resembles_training_noise")
def dag_noise_resembles_training_noise(resemblance: pd.DataFrame) -> tuple:
    """Agrees when each model's DAG noise is closest to its own noise type (``noise_resemblance``)."""
    return bool((resemblance.closest == resemblance.noise).all()), (
        "closest test noise to each model's DAG noise: "
        + ", ".join(f"{m} -> {c}" for m, c in zip(resemblance.model, resemblance.closest)))
