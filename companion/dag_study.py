"""Plummer & Hauser, "Learning-based denoising with adversarial noise", Sec. 3-4, measured:
Noise2Noise denoisers per noise type, DAG on them (``attacks.dag``), and the PSNR ratio.

The test images are small crops of a color test set, 32x32 like the authors' CIFAR-10 images
(``test_crops``). Per noise type the test noise follows the authors' evaluation (``TEST_NOISE``):
Gaussian at sigma 50 (their std-50 model evaluated with std = noise_param), Poisson around 200
photons with their negative binomial (dispersion 75), random-valued impulse with p = 0.2.

The PSNR ratio (their Figure 34; code ``calculate_psnr.py``) is, per image,

    PSNR(D(y), x) / PSNR(D(x'), x),      y = x + noise,  x' = DAG's adversarial input

so a ratio above 1 means the denoised adversarial image is worse than the denoised noisy one.
"""

import numpy as np
import torch

from . import metrics, noise
from .attacks import dag_trace, l2_denoising_pgd
from .attacks.dag import SETTINGS
from .data import PatchSampler, load
from .evaluation import denoise

TEST_NOISE = {"gaussian": (50.0, {}), "poisson": (200.0, {"dispersion": 75.0}), "impulse": (0.2, {})}
"""Noise type -> (level, extra ``noise.add`` arguments) of the test noise (module docstring)."""


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


def _psnr(x: torch.Tensor, ref: torch.Tensor) -> np.ndarray:
    return metrics.psnr(x.clamp(0, 1), ref).cpu().numpy()


def denoising_rows(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor) -> list:
    """Per image: PSNR of the noisy and of the denoised image, and their ratio (Figures 18-26)."""
    before, after = _psnr(noisy, clean), _psnr(denoise(model, noisy), clean)
    return [{"image": i, "noisy_psnr": float(b), "denoised_psnr": float(a), "gain_ratio": float(a / b)}
            for i, (b, a) in enumerate(zip(before, after))]


def dag_rows(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor, kind: str, eps: float | None = None,
             **overrides) -> tuple:
    """DAG with the authors' settings for ``kind`` (``attacks.dag.SETTINGS``; ``overrides``
    replace them) on every image, toward its noisy version. Returns ``(rows, adversarial, trace)``:
    per image the PSNR of D(y) and of D(x'), the ratio, the norms of the adversarial and of the
    original noise, the steps taken and the share of pixels still active at the end; and
    ``attacks.dag_trace``'s trace."""
    adv, trace = dag_trace(model, clean, noisy, **{**SETTINGS[kind], **overrides}, eps=eps)
    denoised_noisy, denoised_adv = _psnr(denoise(model, noisy), clean), _psnr(denoise(model, adv), clean)
    delta, original = (adv - clean).flatten(1), (noisy - clean).flatten(1)
    steps_taken = (trace["active"] > 0).sum(0).numpy()
    rows = [{"image": i, "psnr_denoised_noisy": float(dn), "psnr_denoised_adv": float(da), "ratio": float(dn / da),
             "adv_l2": float(delta[i].norm()), "noise_l2": float(original[i].norm()),
             "adv_linf": float(delta[i].abs().max()), "steps": int(steps_taken[i]),
             "active_end": float(trace["active"][-1, i]) if len(trace["active"]) else 0.0}
            for i, (dn, da) in enumerate(zip(denoised_noisy, denoised_adv))]
    return rows, adv, trace


def ratio_shares(ratios, low: float = 0.95, high: float = 1.05) -> dict:
    """Shares of PSNR ratios below ``low``, within [low, high] and above ``high``."""
    r = np.asarray(ratios, dtype=float)
    if r.size == 0:
        raise ValueError("no ratios to count")
    return {"below": float((r < low).mean()), "within": float(((r >= low) & (r <= high)).mean()),
            "above": float((r > high).mean())}


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
    scores = {name: _psnr(denoise(model, x), clean) for name, x in
              (("dag", adv), ("pgd_l2", pgd), ("random", random.clamp(0, 1)))}
    return [{"image": i, "l2": float(r[i]), **{f"psnr_{k}": float(v[i]) for k, v in scores.items()}}
            for i in range(len(clean))]
