"""Notebook 07's experiment: deblurring networks under attack, their evaluation and the blurs
(Gandikota et al., "On adversarial robustness of deep image deblurring", ICIP 2022).

The four networks the paper attacks, as reduced variants we train (``companion.models``,
collection 'deblurring': restorers, ``models.base.Restorer``, ``forward(y, kernel, sigma)``)
plus DPIR's HQS loop around our reduced DRUNet (``network``):
- ``mprnet_small``: blind, end to end (MPRNet, Zamir et al. 2021): sees y alone;
- ``dwdn_small``: non-blind deep Wiener deconvolution (Dong et al. 2020): y, kernel, sigma;
- ``lgd_small``: non-blind learned gradient descent (Gong et al. 2020): y, kernel; unrolled for
  ``LGD_EVAL_STEPS`` = 50 steps when evaluated and ``LGD_ATTACK_STEPS`` = 10 when attacked
  (Gandikota et al. Sec. 4);
- ``dpir_small``: non-blind plug-and-play (DPIR, Zhang et al. 2021): 8 HQS iterations with the
  FFT data step and ``dpir_small_gray`` as the prior.
Blurs are circular (``physics.blur``), as the networks' FFT steps assume; the test kernels are
Levin et al.'s eight (``levin09``), which no network saw in training (they train on DPIR's
``kernels_12``), at noise level ``SIGMA`` = 2.55 (1 %, the top of the training range).

Notebook 07's experiments (Gandikota et al. Sec. 4): ``table1_rows`` / ``table1`` (Table 1: clean,
targeted and untargeted similarity, PSNR and NCC), ``attack_panels`` (Figures 2 and 6),
``localized_rows`` / ``localized_table`` (Fig. 5: a sign with digits pasted into a small region
of the target), ``kernel_size_table`` (Fig. 7), the checks of the notebook's four claims, and the
test images (``load_images``): crops of BSD68 and ``portraits``, face crops of Set12's three
portraits, which stand in for CelebA-HQ (on the embedded fallback, which has no portraits: the
faces of scikit-image's astronaut and cameraman). Without Levin's kernels (``levin09``) the
synthetic ones of ``data.synthetic_kernels`` stand in, with a warning.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import claims, data, metrics, models, physics, weights
from ..attacks import deblur_pgd
from ..checks import lookup
from ..evaluation import eval_mode, model_device
from ..models.base import Restorer

NETWORKS = {
    "mprnet_small": "blind end-to-end (MPRNet)",
    "dwdn_small": "non-blind Wiener deconvolution (DWDN)",
    "lgd_small": "non-blind learned gradient descent",
    "dpir_small": "non-blind plug-and-play (DPIR)",
}
DPIR_PRIOR = "dpir_small_gray"  # the registered denoiser in dpir_small's HQS loop
SIGMA = 2.55
LGD_EVAL_STEPS, LGD_ATTACK_STEPS = 50, 10


class Deblurrer(nn.Module):
    """A restorer as notebook 07 runs it: named, ``forward(y, kernel, sigma=SIGMA)``, and an
    unrolled one (learned gradient descent) run for ``steps`` iterations (None: as built; the
    other networks ignore ``steps``)."""

    def __init__(self, net: Restorer, name: str, steps: int | None = None):
        super().__init__()
        self.net, self.name, self.steps = net, name, steps if net.unrolled else None
        self.blind = net.blind

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma=SIGMA) -> torch.Tensor:
        if self.net.unrolled:
            return self.net(y, kernel, sigma, steps=self.steps)
        return self.net(y, kernel, sigma)


class Bound(nn.Module):
    """A deblurrer with its kernel and noise level fixed: ``forward(y)``, what the attacks call."""

    def __init__(self, deblurrer: Deblurrer, kernel: torch.Tensor, sigma=SIGMA):
        super().__init__()
        self.deblurrer, self.kernel, self.sigma = deblurrer, kernel, sigma

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.deblurrer(y, self.kernel.to(y), self.sigma)


def network(name: str, weights="ours", device="cpu", steps: int | None = None) -> Deblurrer:
    """Network ``name`` of ``NETWORKS`` in eval mode: a registered restorer (``models.create``),
    or for ``dpir_small`` DPIR's HQS loop (``models.DPIR``, no weights of its own) around the
    registered prior ``DPIR_PRIOR``. An unrolled network runs ``steps`` iterations (default
    ``LGD_EVAL_STEPS``, 50, as Gandikota et al. evaluate it)."""
    lookup(NETWORKS, name, "deblurring network", known=list(NETWORKS))
    if name == "dpir_small":
        net = models.DPIR(models.create(DPIR_PRIOR, weights=weights, device=device))
        net.info = {"name": name, "weights": net.prior.info["weights"]}
    else:
        net = models.create(name, weights=weights, device=device)
    return Deblurrer(net, name, LGD_EVAL_STEPS if steps is None else steps).eval()


def test_kernels(size: int | None = None, kernels: list | None = None) -> torch.Tensor:
    """Levin et al.'s eight kernels (or ``kernels``, e.g. those of ``data.load_kernels('levin09')``
    already loaded), each resized to ``size`` if given, centred in one square."""
    kernels = [torch.as_tensor(k) for k in (data.load_kernels("levin09") if kernels is None else kernels)]
    return physics.stack_kernels([physics.resize_kernel(k, size) for k in kernels] if size else kernels)


def kernels_for(n: int, kernels: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """One kernel per image: image i gets ``kernels[(offset + i) % len(kernels)]``."""
    return kernels[[(offset + i) % len(kernels) for i in range(n)]]


@torch.no_grad()
def restore(deblurrer: nn.Module, y: torch.Tensor, kernel: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    """The deblurred images, clipped to [0, 1], without gradients, in eval mode."""
    with eval_mode(deblurrer):
        return deblurrer(y, kernel.to(y), sigma).clamp(0, 1)


def evaluate(deblurrer: nn.Module, images, kernels: torch.Tensor | None = None, sigma: float = SIGMA,
             seed: int = 0) -> list:
    """Blur image i of an ``ImageSet`` by kernel i (cycling through ``kernels``, Levin's by
    default), add noise, deblur, measure: one row per image with psnr, ssim, ncc (to the sharp
    image) and the blurred input's psnr."""
    kernels = test_kernels() if kernels is None else kernels
    device = model_device(deblurrer)
    rows = [None] * len(images)
    for indices, clean in images.groups():
        clean = clean.to(device)
        kernel = kernels[[i % len(kernels) for i in indices]].to(device)
        y = physics.degrade(clean, kernel, sigma, seed=[seed + i for i in indices])
        out = restore(deblurrer, y, kernel, sigma)
        scores = {"psnr": metrics.psnr(out, clean), "ssim": metrics.ssim(out, clean), "ncc": metrics.ncc(out, clean),
                  "blurred_psnr": metrics.psnr(y.clamp(0, 1), clean)}
        for j, i in enumerate(indices):
            rows[i] = {"image": images.names[i], "kernel": i % len(kernels),
                       **{k: float(v[j]) for k, v in scores.items()}}
    return rows


def mean(rows: list, key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


# face centres (row, column) in Set12's 512x512 portraits
PORTRAITS = {"lena": (290, 300), "barbara": (115, 380), "man": (185, 200)}
# face centres in the 512x512 originals of scikit-image's two images of people (astronaut: Eileen
# Collins, NASA; camera: the cameraman), the portraits of the fallback (a set12 with no portraits)
FALLBACK_PORTRAITS = {"astronaut": (110, 225), "camera": (140, 252)}


def _fallback_faces() -> dict:
    """``{name: 1x1x512x512}`` gray (BT.601 luma) originals of ``FALLBACK_PORTRAITS``."""
    from skimage import data as skdata

    faces = {}
    for name in FALLBACK_PORTRAITS:
        img = getattr(skdata, name)().astype(np.float32) / 255.0
        img = data.to_gray(img) if img.ndim == 3 else img
        faces[name] = torch.from_numpy(np.ascontiguousarray(img))[None, None]
    return faces


def portrait_names(images) -> list:
    """The names of the images ``portraits`` crops faces from: Set12's three portraits, or on the
    fallback (``images.source == 'fallback'``) scikit-image's astronaut and cameraman."""
    return list(FALLBACK_PORTRAITS if getattr(images, "source", None) == "fallback" else PORTRAITS)


def portraits(images, size: int, scale: float = 0.5) -> torch.Tensor:
    """Face crops (size x size) of Set12's portraits (an ``ImageSet`` of set12), after resizing
    by ``scale`` (faces then span about 60 px, as in a 256 px CelebA-HQ image).

    When ``images`` is the embedded fallback (no portraits in it), the faces of scikit-image's two
    images of people stand in (``FALLBACK_PORTRAITS``, ``portrait_names``), from their 512x512
    originals, so that the portrait group still holds faces, two instead of three."""
    fallback = getattr(images, "source", None) == "fallback"
    chosen = _fallback_faces() if fallback else dict(images)
    centres = FALLBACK_PORTRAITS if fallback else PORTRAITS
    crops = []
    for name, (row, col) in centres.items():
        if name not in chosen:
            raise ValueError(f"set12 image {name!r} (a portrait) is missing; load the whole of set12")
        img = chosen[name].to(next(iter(chosen.values())).device)
        img = F.interpolate(img, scale_factor=scale, mode="bilinear", antialias=True, align_corners=False)
        h, w = img.shape[-2:]
        top = min(max(int(row * scale) - size // 2, 0), h - size)
        left = min(max(int(col * scale) - size // 2, 0), w - size)
        crops.append(img[..., top:top + size, left:left + size])
    return torch.cat(crops).clamp(0, 1)


def sign_target(clean: torch.Tensor, text: str = "42", size: int | None = None) -> tuple:
    """(targets, mask): each image with a light square sign bearing ``text`` in dark digits
    pasted at its centre (side ``size``, default a third of the image), and the sign's mask:
    the localized target of Gandikota et al. Fig. 5 (a changed digit on a sign)."""
    from PIL import Image, ImageDraw, ImageFont

    n, c, h, w = clean.shape
    size = size or min(h, w) // 3
    sign = Image.new("L", (size, size), 230)
    draw = ImageDraw.Draw(sign)
    font = ImageFont.load_default(size=max(size * 2 // 3, 6))
    draw.text((size / 2, size / 2), text, fill=20, font=font, anchor="mm")
    patch = torch.from_numpy(np.asarray(sign, dtype=np.float32) / 255.0).to(clean)
    top, left = (h - size) // 2, (w - size) // 2
    mask = torch.zeros(1, 1, h, w, dtype=torch.bool, device=clean.device)
    mask[..., top:top + size, left:left + size] = True
    targets = clean.clone()
    targets[..., top:top + size, left:left + size] = patch
    return targets, mask


def for_attack(deblurrer: Deblurrer) -> Deblurrer:
    """The network as attacked: learned gradient descent unrolled for ``LGD_ATTACK_STEPS``
    (10, Gandikota et al.) instead of 50; the others as they are (same weights)."""
    return Deblurrer(deblurrer.net, deblurrer.name, LGD_ATTACK_STEPS) if deblurrer.steps else deblurrer


def _similarity(out, ref, prefix):
    return {f"{prefix}_psnr": metrics.psnr(out, ref), f"{prefix}_ncc": metrics.ncc(out, ref)}


def table1_rows(deblurrer: Deblurrer, clean: torch.Tensor, kernel: torch.Tensor, targets: torch.Tensor, eps: float,
                steps: dict, lr: float = 1e-3, sigma: float = SIGMA, seed: int = 0,
                attacks=("targeted", "untargeted")) -> tuple:
    """Table 1 of Gandikota et al. for one network and one eps (0-1 scale): blur image i by
    ``kernel[i]``, add noise, attack (``deblur_pgd``: ``steps['targeted']`` toward ``targets``,
    ``steps['untargeted']`` away from N(y)), deblur the adversarial observations with the
    evaluated network. Returns ``(rows, outputs)``: per image the clean restoration's PSNR/NCC to
    the sharp image, the targeted output's to the sharp image (source) and to the target, the
    untargeted output's to the source and its distance from N(y) relative to the perturbation's
    (``amplification`` = ||N(y') - N(y)|| / ||y' - y||); ``outputs`` holds y, N(y) and per attack
    (y', N(y'))."""
    y = physics.degrade(clean, kernel, sigma, seed=seed)
    attacked = Bound(for_attack(deblurrer), kernel, sigma)
    restored = restore(deblurrer, y, kernel, sigma)
    cols = {**_similarity(restored, clean, "clean")}
    outputs = {"blurred": y, "restored": restored}
    for attack in attacks:
        goal = {"targeted": targets, "untargeted": None}[attack]
        adv = deblur_pgd(attacked, y, eps, steps[attack], lr, target=goal, seed=seed)
        out = restore(deblurrer, adv, kernel, sigma)
        outputs[attack] = (adv, out)
        cols.update(_similarity(out, clean, f"{attack}_source"))
        if attack == "targeted":
            cols.update(_similarity(out, targets, "targeted_target"))
        else:
            cols["amplification"] = (out - restored).flatten(1).norm(dim=1) / (adv - y).flatten(1).norm(dim=1)
    rows = [{"network": deblurrer.name, "eps_255": round(eps * 255, 2),
             "image": i, **{k: float(v[i]) for k, v in cols.items()}}
            for i in range(clean.shape[0])]
    return rows, outputs


def localized_rows(deblurrer: Deblurrer, clean: torch.Tensor, kernel: torch.Tensor, eps: float, steps: int,
                   lr: float = 1e-3, sigma: float = SIGMA, seed: int = 0, text: str = "42") -> tuple:
    """Fig. 5 of Gandikota et al.: the targeted attack toward the image with a sign (``sign_target``).
    Returns ``(rows, outputs)``: per image the PSNR of the output to the target inside the sign
    and to the source outside it (attacked and clean restorations), and (y, y', N(y), N(y'),
    targets)."""
    targets, mask = sign_target(clean, text)
    rows, out = table1_rows(deblurrer, clean, kernel, targets, eps, {"targeted": steps}, lr, sigma, seed,
                            attacks=("targeted",))
    adv, attacked = out["targeted"]
    inside, outside = mask.expand_as(clean), ~mask.expand_as(clean)

    def region_psnr(a, b, where):
        mse = (((a - b) * 255.0) ** 2 * where).flatten(1).sum(1) / where.flatten(1).sum(1)
        return 10 * torch.log10(255.0 ** 2 / mse)

    cols = {"sign_psnr_to_target": region_psnr(attacked, targets, inside),
            "sign_psnr_clean_to_target": region_psnr(out["restored"], targets, inside),
            "outside_psnr_to_source": region_psnr(attacked, clean, outside),
            "outside_psnr_clean_to_source": region_psnr(out["restored"], clean, outside)}
    rows = [{"network": r["network"], "eps_255": r["eps_255"], "image": r["image"],
             **{k: float(v[i]) for k, v in cols.items()}} for i, r in enumerate(rows)]
    return rows, {"blurred": out["blurred"], "adversarial": adv, "restored": out["restored"], "attacked": attacked,
                  "targets": targets}


TABLE1_COLUMNS = ["clean_psnr", "clean_ncc", "targeted_source_psnr", "targeted_source_ncc", "targeted_target_psnr",
                  "targeted_target_ncc", "untargeted_source_psnr", "untargeted_source_ncc", "amplification"]
"""Table 1's measures (``table1_rows``), averaged over the images."""
LOCALIZED_COLUMNS = ["sign_psnr_to_target", "sign_psnr_clean_to_target", "outside_psnr_to_source",
                     "outside_psnr_clean_to_source"]
KERNEL_SIZE_COLUMNS = ["clean_psnr", "targeted_target_psnr", "targeted_target_ncc"]
PANEL_COLUMNS = ["blurred y", "N(y)", "target", "targeted y'", "N(y') targeted", "N(y') untargeted", "|difference|"]
"""The columns of Figures 2 and 6 (``attack_panels``)."""
WIENER = "dwdn_small"
"""The deep Wiener deconvolution of claim 'wiener_unstable_untargeted'."""
WIENER_MIN_DROP_DB = 1
"""Claim 'wiener_unstable_untargeted': the untargeted PSNR drop (dB) DWDN loses at least, at every eps."""


def check_parameters(networks: list, eps_255: list, figure_eps_255) -> None:
    """Raise a one-line ValueError for networks not in ``NETWORKS``, no radius, a radius <= 0, or
    a figure radius not among ``eps_255``."""
    unknown = [n for n in networks if n not in NETWORKS]
    if unknown or not networks:
        raise ValueError(f"unknown deblurring networks {unknown}; choose from {list(NETWORKS)}")
    if not eps_255 or min(eps_255) <= 0 or figure_eps_255 not in eps_255:
        raise ValueError(f"eps_255 must list radii > 0 on the 0-255 scale and hold figure_eps_255, got {eps_255} "
                         f"and {figure_eps_255}")


def load_networks(networks: list, device, results) -> dict:
    """``{name: network(name)}`` on ``device``, each recorded in ``results`` with its weights."""
    nets = {name: network(name, device=device) for name in networks}
    for name, net in nets.items():
        results.model(name, net.net.info["weights"])
    return nets


def model_cards(nets: dict) -> pd.DataFrame:
    """Per network: its kind, its weights and the Set12 PSNR under Levin's kernels its model card
    gives (none for ``dpir_small``, whose only card is its prior's, a denoiser's)."""
    return pd.DataFrame([{"network": name, "kind": NETWORKS[name], "weights": net.net.info["weights"],
                          "card_set12_psnr": None if name == "dpir_small"
                          else weights.model_card(name)["evaluation"]["set12"]["psnr"]}
                         for name, net in nets.items()])


@dataclass
class Images:
    """Notebook 07's test images: ``clean`` (the BSD68 crops ``bsd``, then the portraits), the
    ``group`` of each, the ``targets`` of the targeted attack (the previous image of the same group,
    cyclically) and the blur ``kernels`` (Levin kernel i mod 8 for image i)."""

    bsd: torch.Tensor
    clean: torch.Tensor
    group: list
    targets: torch.Tensor
    kernels: torch.Tensor


def load_images(results, n_bsd: int, crop: int, device) -> Images:
    """``n_bsd`` BSD68 crops and the ``portraits`` of Set12, ``crop`` px, loaded through
    ``results`` (which records their sources, Levin's kernels' and, on the fallback, which
    portraits stand in)."""
    bsd = results.load_images("bsd68", limit=n_bsd, crop=crop, device=device).images
    set12 = results.load_images("set12", device=device)
    faces = portraits(set12, crop).to(device)
    if set12.source == "fallback":  # the fallback set12 has no portraits: scikit-image's images of people stand in
        results.note(f"portraits: the faces in scikit-image's {' and '.join(portrait_names(set12))} images "
                     "(the fallback set12 has no portraits), not Set12's")
    levin = data.load_kernels("levin09")  # without Levin09.mat: synthetic motion kernels, with a warning
    results.source("levin09", levin.source)
    groups = {"bsd68": bsd, "portraits": faces}
    clean = torch.cat(list(groups.values()))
    return Images(bsd=bsd, clean=clean, group=[g for g, imgs in groups.items() for _ in range(len(imgs))],
                  targets=torch.cat([imgs.roll(1, 0) for imgs in groups.values()]),
                  kernels=kernels_for(len(clean), test_kernels(kernels=levin)).to(device))


def table1(nets: dict, images: Images, eps_255: list, steps: dict, lr: float, sigma: float, seed: int,
           figure_eps_255) -> tuple:
    """Table 1 of Gandikota et al. for every network and eps (``table1_rows``): ``(rows, summary,
    examples)``, the per-image rows with their group, ``TABLE1_COLUMNS`` averaged per group,
    network and eps, and per network the outputs at ``figure_eps_255``."""
    rows, examples = [], {}
    for name, net in nets.items():
        for eps in tqdm(eps_255, desc=name):
            r, out = table1_rows(net, images.clean, images.kernels, images.targets, eps / 255, steps, lr, sigma, seed)
            rows += [{**row, "group": images.group[i]} for i, row in enumerate(r)]
            if eps == figure_eps_255:
                examples[name] = out
    rows = pd.DataFrame(rows)
    summary = rows.groupby(["group", "network", "eps_255"], sort=False)[TABLE1_COLUMNS].mean().round(3).reset_index()
    return rows, summary, examples


def attack_panels(examples: dict, images: Images) -> dict:
    """Figures 2 and 6 on the first portrait: per network the images of ``PANEL_COLUMNS`` (the
    difference of the untargeted from the clean restoration magnified 4 times)."""
    i = len(images.bsd)
    return {name: [out["blurred"][i], out["restored"][i], images.targets[i], out["targeted"][0][i],
                   out["targeted"][1][i], out["untargeted"][1][i],
                   (out["untargeted"][1][i] - out["restored"][i]).abs() * 4]
            for name, out in examples.items()}


def localized_table(nets: dict, images: Images, eps: float, steps: int, lr: float, sigma: float, seed: int) -> tuple:
    """Fig. 5 of Gandikota et al. for every network (``localized_rows``): ``(table, panels)``,
    ``LOCALIZED_COLUMNS`` averaged per network, and the first image's target beside each
    network's attacked restoration."""
    rows, outputs = [], {}
    for name, net in tqdm(nets.items(), desc="localized"):
        r, outputs[name] = localized_rows(net, images.clean, images.kernels, eps, steps, lr, sigma, seed)
        rows += r
    table = pd.DataFrame(rows).groupby(["network"], sort=False)[LOCALIZED_COLUMNS].mean().round(2).reset_index()
    panels = [("target", next(iter(outputs.values()))["targets"][0])]
    return table, panels + [(f"{n}: N(y')", out["attacked"][0]) for n, out in outputs.items()]


def kernel_size_table(nets: dict, images: Images, kernel_sizes: list, eps: float, steps: dict, lr: float,
                      sigma: float, seed: int) -> pd.DataFrame:
    """Fig. 7 of Gandikota et al.: the targeted attack on the BSD68 crops (each toward the previous
    one) with Levin's kernels resized to each of ``kernel_sizes``; ``KERNEL_SIZE_COLUMNS`` averaged
    per network and kernel size."""
    bsd, rows = images.bsd, []
    for k_size in tqdm(kernel_sizes, desc="kernel sizes"):
        sized = kernels_for(len(bsd), test_kernels(k_size)).to(bsd.device)
        for name, net in nets.items():
            r, _ = table1_rows(net, bsd, sized, bsd.roll(1, 0), eps, steps, lr, sigma, seed, attacks=("targeted",))
            rows += [{**row, "kernel_size": k_size} for row in r]
    return pd.DataFrame(rows).groupby(["network", "kernel_size"], sort=False)[
        KERNEL_SIZE_COLUMNS].mean().round(3).reset_index()


def means(rows: pd.DataFrame) -> pd.DataFrame:
    """``TABLE1_COLUMNS`` of ``table1``'s per-image rows averaged per network and eps."""
    return rows.groupby(["network", "eps_255"])[TABLE1_COLUMNS].mean()


def _blind_and_not(nets: dict) -> tuple:
    return [n for n, net in nets.items() if net.blind], [n for n, net in nets.items() if not net.blind]


_NEEDS_BOTH = "needs a blind and a non-blind network in networks"


@claims.check("blind_deblurring_most_susceptible")
def _blind_most_susceptible(means: pd.DataFrame, nets: dict) -> tuple:
    """Holds when a blind network has the largest untargeted PSNR drop, mean over the eps."""
    blind, non_blind = _blind_and_not(nets)
    if not (blind and non_blind):
        return None, _NEEDS_BOTH
    drop = (means.clean_psnr - means.untargeted_source_psnr).groupby("network").mean()
    return bool(drop.idxmax() in blind), "mean untargeted PSNR drop (dB): " + ", ".join(
        f"{k} {v:.2f}" for k, v in drop.sort_values().items())


@claims.check("nonblind_resist_targeted")
def _nonblind_resist_targeted(means: pd.DataFrame, nets: dict) -> tuple:
    """Holds when at every eps each non-blind network's targeted output has a lower NCC to the
    target than the most similar blind network's."""
    blind, non_blind = _blind_and_not(nets)
    if not (blind and non_blind):
        return None, _NEEDS_BOTH
    ncc = means.targeted_target_ncc.unstack("network")
    resist = all((ncc[n] < ncc[blind].max(axis=1)).all() for n in non_blind)
    return bool(resist), "targeted NCC to the target per eps: " + "; ".join(
        f"{e:g}/255: " + ", ".join(f"{n} {ncc.loc[e, n]:.3f}" for n in nets) for e in ncc.index)


@claims.check("larger_kernels_easier")
def _larger_kernels_easier(sizes: pd.DataFrame) -> tuple:
    """Holds when the attacked output's PSNR to the target (mean over the networks) is larger at
    the largest kernel size than at the smallest."""
    by_size = sizes.groupby("kernel_size").targeted_target_psnr.mean()
    return bool(len(by_size) > 1 and by_size.iloc[-1] > by_size.iloc[0]), "mean PSNR to the target by kernel size: " + \
        ", ".join(f"{k} px {v:.2f} dB" for k, v in by_size.items())


@claims.check("wiener_unstable_untargeted")
def _wiener_unstable(means: pd.DataFrame) -> tuple:
    """Holds when at every eps DWDN amplifies the perturbation (amplification > 1) and loses at
    least ``WIENER_MIN_DROP_DB``."""
    if WIENER not in means.index.get_level_values("network"):
        return None, f"{WIENER} is not in networks"
    w = means.loc[WIENER]
    w_drop = w.clean_psnr - w.untargeted_source_psnr
    return bool((w.amplification > 1).all() and (w_drop >= WIENER_MIN_DROP_DB).all()), "DWDN per eps: " + "; ".join(
        f"{e:g}/255 amplification {a:.2f}, drop {d:.2f} dB" for e, a, d in zip(w.index, w.amplification, w_drop))
