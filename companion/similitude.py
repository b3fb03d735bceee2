"""Robustness similitude of Ning et al. (arXiv:2306.16050), Sec. III-C to III-E and IV-D.

**Circle samples (eq. 4).** For a clean image u, its Gaussian noise n and the denoising-PGD
perturbation v (the adversarial image is u + n + v), take the plane through the noisy image
u + n spanned by e1 = n / ||n|| and e2, the unit vector of v's part orthogonal to n, and N
samples on the circle of radius ||v|| in it:

    s_k = u + n + ||v|| (cos(t_k) e1 + sin(t_k) e2),    t_k = 360 k / N degrees.

Interpretation: the paper's text puts the direction of n at angle 0 while eq. 4 puts it at 90
degrees and leaves <v, n> unnormalized. We use unit vectors and put n at 0 degrees, as the text
says; v then lies at ``atan2(<v, e2>, <v, e1>)``, close to 90 degrees because v is nearly
orthogonal to n, and the paper's adversarial region reads 30-150 degrees.

**Radar (eq. 7)** of a model on one image: per angle, its score on the denoised sample, as a
polygon with one vertex per angle. Taken literally (``kind="literal"``) the score is the PSNR
normalized by its maximum over the circle; it barely varies (a few percent) so every model's
radar is nearly the same circle and Table VI's 0.51 between DnCNN and DnCNN-B cannot come out of
it. The adversarial-effect radar (``kind="adversarial"``, the default) scores the PSNR drop
against the denoised unperturbed noisy image, clipped at 0 and normalized by its maximum over the
circle: it is large where the model is hurt and 0 where it is not, and reproduces the paper's
figures (wedges around 90 degrees). Both are reported.

**DMRS (eq. 6)** of two models is the mean over images of the IoU of their radar polygons,
computed exactly here: inside each angular wedge the two polygons' edges are straight segments
that cross at most once, so the intersection is one or two triangles with the origin.

**Adversarial region** (Figures 4, 5): the angles where a model's drop is at least ``threshold``
times its largest drop on the circle. Default 1/2: if the drop grows linearly with the
perturbation's component along v (sin t at angle t), that gives exactly the paper's 30-150.

**Linear combination (eq. 8)**: s = lambda s1 + (1 - lambda) s2 for two circle samples.
"""

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .evaluation import denoised_psnr

RADAR_KINDS = ("adversarial", "literal")
PAPER_BAND = (30.0, 150.0)


def angles(n: int) -> np.ndarray:
    """The N angles of the circle samples, in degrees: 360 k / N."""
    if n < 3:
        raise ValueError(f"a radar needs at least 3 angles, got {n}")
    return 360.0 * np.arange(n) / n


def circle_basis(noise: torch.Tensor, perturbation: torch.Tensor) -> tuple:
    """``(e1, e2, radius, adv_angle)`` of eq. 4 for one image: unit tensors shaped like the
    image, the radius ||v|| and the angle (degrees, [0, 360)) at which v itself lies."""
    n, v = noise.detach().double().reshape(-1), perturbation.detach().double().reshape(-1)
    if n.norm() == 0 or v.norm() == 0:
        raise ValueError("the noise and the perturbation must both be non-zero to span a plane")
    e1 = n / n.norm()
    v_perp = v - (v @ e1) * e1
    if v_perp.norm() <= 1e-6 * v.norm():
        raise ValueError("the perturbation is parallel to the noise: they span no plane")
    e2 = v_perp / v_perp.norm()
    adv_angle = math.degrees(math.atan2(float(v @ e2), float(v @ e1))) % 360.0
    return (e1.view_as(noise).to(noise.dtype), e2.view_as(noise).to(noise.dtype), float(v.norm()), adv_angle)


def circle_points(noisy: torch.Tensor, e1: torch.Tensor, e2: torch.Tensor, radius: float, degrees) -> torch.Tensor:
    """The samples u + n + radius (cos t e1 + sin t e2) at the given angles, stacked (N, C, H, W)."""
    t = torch.as_tensor(np.deg2rad(np.asarray(degrees, dtype=np.float64)), dtype=noisy.dtype, device=noisy.device)
    shape = (-1,) + (1,) * (noisy.dim() - 1)
    return noisy + radius * (torch.cos(t).view(shape) * e1 + torch.sin(t).view(shape) * e2)


def circle_samples(clean: torch.Tensor, noisy: torch.Tensor, adv: torch.Tensor, n: int) -> tuple:
    """Eq. 4 for one image (1CHW tensors): ``(samples (N, C, H, W), radius, adv_angle)``."""
    e1, e2, radius, adv_angle = circle_basis(noisy - clean, adv - noisy)
    return circle_points(noisy, e1, e2, radius, angles(n)), radius, adv_angle


def combine(s1: torch.Tensor, s2: torch.Tensor, lambdas) -> torch.Tensor:
    """Eq. 8: lambda s1 + (1 - lambda) s2 for every lambda, stacked along the batch dimension."""
    lam = torch.as_tensor(np.asarray(lambdas, dtype=np.float64), dtype=s1.dtype, device=s1.device)
    shape = (-1,) + (1,) * (s1.dim() - 1)
    return lam.view(shape) * s1 + (1 - lam).view(shape) * s2


@dataclass
class CircleStudy:
    """Every model's PSNR on every image's circle samples.

    ``psnr[model]`` is (images, N); ``center[model]`` (images,) is the PSNR of D(u + n);
    ``radius`` and ``adv_angle`` (images,) describe each image's circle.
    """

    degrees: np.ndarray
    names: list
    radius: np.ndarray
    adv_angle: np.ndarray
    psnr: dict = field(default_factory=dict)
    center: dict = field(default_factory=dict)

    def drop(self, model: str) -> np.ndarray:
        """PSNR of D(u + n) minus PSNR of D(s_k): (images, N), positive where the model is hurt."""
        return self.center[model][:, None] - self.psnr[model]

    def radar(self, model: str, kind: str = "adversarial") -> np.ndarray:
        """Eq. 7's radii, (images, N): see the module docstring for the two kinds."""
        return radar(self.psnr[model], self.center[model], kind)

    def region(self, model: str, threshold: float = 0.5) -> np.ndarray:
        """Boolean (images, N): the adversarial region of ``adversarial_region``."""
        return adversarial_region(self.drop(model), threshold)


def circle_study(models: dict, images, adv_set, n: int = 100, batch_size: int | None = None,
                 progress: bool = False) -> CircleStudy:
    """Run every model once over all N x images circle samples of ``adv_set`` (an
    ``AdversarialSet`` made on ``images``), batched (``batch_size`` samples at a time; default
    the package's chunk, measured per model, image size and device: ``batching.chunk_size``;
    ``benchmarks/similitude_cost.py`` compares it with a whole circle per pass)."""
    adv_set.check_made_on(images)
    degrees = angles(n)
    bases = [circle_basis(x - y.cpu(), xa - x) for (_, y), x, xa in zip(images, adv_set.noisy, adv_set.adv)]
    study = CircleStudy(degrees, list(images.names), np.array([b[2] for b in bases]), np.array([b[3] for b in bases]))
    jobs = [(m, i) for m in models for i in range(len(images))]
    if progress:
        from tqdm.auto import tqdm
        jobs = tqdm(jobs, desc=f"{len(models)} models x {len(images)} circles of {n}")
    clean = [y for _, y in images]
    for name, i in jobs:
        model = models[name]
        if name not in study.psnr:
            study.psnr[name], study.center[name] = np.zeros((len(images), n)), np.zeros(len(images))
        e1, e2, radius, _ = bases[i]
        x = adv_set.noisy[i]
        samples = torch.cat([x, circle_points(x, e1, e2, radius, degrees)])
        values = denoised_psnr(model, samples, clean[i], batch_size)
        study.center[name][i], study.psnr[name][i] = values[0], values[1:]
    return study


def radar(psnr: np.ndarray, center: np.ndarray, kind: str = "adversarial") -> np.ndarray:
    """Radar radii from PSNRs on the circle (..., N) and of the unperturbed sample (...).

    'literal': PSNR / its max over the circle (eq. 7 as written). 'adversarial': the drop
    max(center - PSNR, 0) / its max over the circle (all zeros where nothing drops).
    """
    psnr = np.asarray(psnr, dtype=np.float64)
    if kind == "literal":
        return psnr / psnr.max(axis=-1, keepdims=True)
    if kind == "adversarial":
        drop = np.clip(np.asarray(center, dtype=np.float64)[..., None] - psnr, 0, None)
        top = drop.max(axis=-1, keepdims=True)
        return np.divide(drop, top, out=np.zeros_like(drop), where=top > 0)
    raise ValueError(f"unknown radar kind {kind!r}: choose one of {RADAR_KINDS}")


def _wedges(degrees) -> np.ndarray:
    d = np.asarray(degrees, dtype=np.float64)
    if d.ndim != 1 or len(d) < 3 or np.any(np.diff(d) <= 0) or d[0] < 0 or d[-1] >= 360:
        raise ValueError("angles must be at least 3 increasing values in [0, 360)")
    widths = np.diff(np.append(d, d[0] + 360.0))
    if np.any(widths >= 180):
        raise ValueError("consecutive angles must be less than 180 degrees apart")
    return np.deg2rad(widths)


def _check_radii(r, degrees) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    if r.shape[-1] != len(degrees) or np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError(f"radar radii must be finite, >= 0 and {len(degrees)} per polygon (one per angle)")
    return r


def radar_area(r, degrees) -> np.ndarray:
    """Area enclosed by the radar polygon with radii ``r`` (..., N) at ``degrees``."""
    width = _wedges(degrees)
    r = _check_radii(r, degrees)
    return 0.5 * np.sum(r * np.roll(r, -1, axis=-1) * np.sin(width), axis=-1)


def _cross(ax, ay, bx, by):
    return ax * by - ay * bx


def intersection_area(r1, r2, degrees) -> np.ndarray:
    """Exact area of the intersection of two radar polygons on the same angles (..., N).

    In each wedge between consecutive angles both polygons are the triangle of the origin and
    one edge; the two edges cross at most once. Without a crossing the intersection is the
    lower edge's triangle; with one it is two triangles through the crossing point.
    """
    width = _wedges(degrees)
    a0, b0 = _check_radii(r1, degrees), _check_radii(r2, degrees)
    a0, b0 = np.broadcast_arrays(a0, b0)
    a1, b1 = np.roll(a0, -1, axis=-1), np.roll(b0, -1, axis=-1)
    c, s = np.cos(width), np.sin(width)
    lo0, lo1 = np.minimum(a0, b0), np.minimum(a1, b1)
    area = 0.5 * lo0 * lo1 * s
    crossing = (a0 - b0) * (a1 - b1) < 0
    if np.any(crossing):
        # in the wedge's frame: edge A from (a0, 0) to (a1 c, a1 s), edge B likewise
        dax, day, dbx, dby = a1 * c - a0, a1 * s, b1 * c - b0, b1 * s
        denom = _cross(dax, day, dbx, dby)
        t = np.divide(_cross(b0 - a0, 0.0, dbx, dby), denom, out=np.zeros_like(denom), where=crossing)
        px, py = a0 + t * dax, t * day
        split = 0.5 * (np.abs(_cross(lo0, 0.0, px, py)) + np.abs(_cross(px, py, lo1 * c, lo1 * s)))
        area = np.where(crossing, split, area)
    return area.sum(axis=-1)


def iou(r1, r2, degrees) -> np.ndarray:
    """Intersection over union of two radar polygons; NaN where both are empty (zero area)."""
    inter = intersection_area(r1, r2, degrees)
    union = radar_area(r1, degrees) + radar_area(r2, degrees) - inter
    return np.divide(inter, union, out=np.full_like(np.asarray(union, dtype=np.float64), np.nan), where=union > 0)


def dmrs(r1, r2, degrees) -> float:
    """Eq. 6: mean over images of the IoU of two models' radars (images, N); images where both
    radars are empty are left out."""
    values = iou(r1, r2, degrees)
    return float(np.nanmean(values)) if np.any(np.isfinite(values)) else float("nan")


def dmrs_matrix(study: CircleStudy, kind: str = "adversarial", models: list | None = None) -> pd.DataFrame:
    """Table VI: DMRS of every pair of models of ``study`` (symmetric, ones on the diagonal).
    Only polygon work: M models cost M sweeps (``circle_study``), not M^2."""
    names = list(models or study.psnr)
    radars = {m: study.radar(m, kind) for m in names}
    out = pd.DataFrame(np.ones((len(names), len(names))), index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out.loc[a, b] = out.loc[b, a] = dmrs(radars[a], radars[b], study.degrees)
    return out


def adversarial_region(drop, threshold: float = 0.5) -> np.ndarray:
    """Angles (boolean, same shape as ``drop`` (..., N)) where the PSNR drop is positive and at
    least ``threshold`` times the largest drop on that circle."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold is a share of the largest drop, in (0, 1]; got {threshold}")
    drop = np.asarray(drop, dtype=np.float64)
    return (drop > 0) & (drop >= threshold * drop.max(axis=-1, keepdims=True))


def band_share(region: np.ndarray, degrees, band: tuple = PAPER_BAND) -> float:
    """Share of the region's angles (over every image) that fall inside ``band`` (degrees)."""
    d = np.asarray(degrees)
    inside = (d >= band[0]) & (d <= band[1])
    total = region.sum()
    return float((region & inside).sum() / total) if total else float("nan")


def region_agreement(region: np.ndarray) -> float:
    """Mean Jaccard index of the regions of every pair of images (rows of ``region``): 1 when
    every image has the same adversarial region."""
    region = np.asarray(region, dtype=bool)
    pairs = [(i, j) for i in range(len(region)) for j in range(i + 1, len(region))]
    if not pairs:
        return float("nan")
    scores = [(region[i] & region[j]).sum() / max((region[i] | region[j]).sum(), 1) for i, j in pairs]
    return float(np.mean(scores))


def adversarial_arc(drop, degrees, threshold: float = 0.5) -> tuple:
    """The two ends (degrees) of the contiguous arc of the adversarial region around the largest
    drop on one circle (``drop``: N values): the two most distant adversarial samples of that arc,
    the s1 and s2 of eq. 8 in the notebook."""
    drop = np.asarray(drop, dtype=np.float64)
    region, n = adversarial_region(drop, threshold), len(drop)
    if not region.any():
        raise ValueError("nothing drops on this circle: it has no adversarial region")
    peak = int(drop.argmax())
    lo = hi = peak
    for _ in range(n - 1):
        if region[(lo - 1) % n] and (lo - 1) % n != hi % n:
            lo -= 1
        elif region[(hi + 1) % n] and (hi + 1) % n != lo % n:
            hi += 1
        else:
            break
    return float(degrees[lo % n]), float(degrees[hi % n])


def combination_sweep(model, clean: torch.Tensor, adv_set, image: int, degrees_pair: tuple, lambdas,
                      batch_size: int | None = None) -> tuple:
    """Eq. 8 on one image: the PSNR of D(lambda s1 + (1 - lambda) s2) for each lambda, s1 and s2
    the circle samples at ``degrees_pair``, and the PSNR of D(u + n); returns ``(psnr, center)``."""
    x, xa = adv_set.noisy[image], adv_set.adv[image]
    e1, e2, radius, _ = circle_basis(x - clean.cpu(), xa - x)
    s1, s2 = circle_points(x, e1, e2, radius, list(degrees_pair))
    samples = torch.cat([x, combine(s1[None], s2[None], lambdas)])
    values = denoised_psnr(model, samples, clean, batch_size)
    return values[1:], values[0]
