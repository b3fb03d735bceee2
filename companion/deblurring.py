"""Deblurring networks in one call signature, their evaluation and the blurs of notebook 07
(Gandikota et al., "On adversarial robustness of deep image deblurring", ICIP 2022).

The four networks the paper attacks, as reduced variants we train (``companion.models``,
collection 'deblurring') plus DPIR's HQS loop around our reduced DRUNet:
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

Notebook 07's experiments (Gandikota et al. Sec. 4): ``attack_rows`` (Table 1: clean, targeted
and untargeted similarity, PSNR and NCC), ``localized_rows`` (Fig. 5: a sign with digits pasted
into a small region of the target), and the test images: crops of BSD68 and ``portraits``, face
crops of Set12's three portraits, which stand in for CelebA-HQ (on the embedded fallback, which
has no portraits: the faces of scikit-image's astronaut and cameraman). Without Levin's kernels
(``levin09``) the synthetic ones of ``data.synthetic_kernels`` stand in, with a warning.
"""

import inspect

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import data, metrics, models, physics
from .attacks.deblur_pgd import deblur_pgd
from .evaluation import eval_mode, model_device

NETWORKS = {
    "mprnet_small": "blind end-to-end (MPRNet)",
    "dwdn_small": "non-blind Wiener deconvolution (DWDN)",
    "lgd_small": "non-blind learned gradient descent",
    "dpir_small": "non-blind plug-and-play (DPIR)",
}
SIGMA = 2.55
LGD_EVAL_STEPS, LGD_ATTACK_STEPS = 50, 10


class Deblurrer(nn.Module):
    """``forward(y, kernel, sigma)`` for every network: each is told what it takes (blind ones
    neither kernel nor sigma); ``steps`` unrolls a learned gradient descent network that far."""

    def __init__(self, net: nn.Module, name: str, steps: int | None = None):
        super().__init__()
        self.net, self.name, self.steps = net, name, steps
        self.takes = set(inspect.signature(net.forward).parameters)
        self.blind = "kernel" not in self.takes

    def forward(self, y: torch.Tensor, kernel: torch.Tensor, sigma=SIGMA) -> torch.Tensor:
        told = {"kernel": kernel, "sigma": sigma, "steps": self.steps}
        return self.net(y, **{k: v for k, v in told.items() if k in self.takes and v is not None})


class Bound(nn.Module):
    """A deblurrer with its kernel and noise level fixed: ``forward(y)``, what the attacks call."""

    def __init__(self, deblurrer: Deblurrer, kernel: torch.Tensor, sigma=SIGMA):
        super().__init__()
        self.deblurrer, self.kernel, self.sigma = deblurrer, kernel, sigma

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.deblurrer(y, self.kernel.to(y), self.sigma)


def create(name: str, weights="ours", device="cpu", steps: int | None = None) -> Deblurrer:
    """Network ``name`` of ``NETWORKS`` in eval mode; ``steps`` for ``lgd_small`` (default: its
    evaluation setting, 50)."""
    if name not in NETWORKS:
        raise ValueError(f"unknown deblurring network {name!r}; choose from {', '.join(NETWORKS)}")
    if name == "dpir_small":
        net = models.DPIR(models.create("dpir_small_gray", weights=weights, device=device))
        net.info = {"name": name, "weights": net.prior.info["weights"]}
    else:
        net = models.create(name, weights=weights, device=device)
    if name == "lgd_small" and steps is None:
        steps = LGD_EVAL_STEPS
    return Deblurrer(net, name, steps).eval()


def test_kernels(size: int | None = None, kernels: list | None = None) -> torch.Tensor:
    """Levin et al.'s eight kernels (or ``kernels``, e.g. those of ``data.load_kernels('levin09')``
    already loaded), each resized to ``size`` if given, centred in one square."""
    kernels = [torch.as_tensor(k) for k in (data.load_kernels("levin09") if kernels is None else kernels)]
    return physics.stack_kernels([physics.resize_kernel(k, size) for k in kernels] if size else kernels)


def kernels_for(n: int, kernels: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """One kernel per image: image i gets ``kernels[(offset + i) % len(kernels)]``."""
    return kernels[[(offset + i) % len(kernels) for i in range(n)]]


def degrade(clean: torch.Tensor, kernel: torch.Tensor, sigma: float = SIGMA, seed=0) -> torch.Tensor:
    """y = k_i * x_i + n_i (circular blur, ``physics.degrade``; image i seeded ``seed + i``, or
    by ``seed[i]`` for a list)."""
    return physics.degrade(clean, kernel.to(clean), sigma, seed=seed)


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
        y = degrade(clean, kernel, sigma, seed=[seed + i for i in indices])
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


def attack_rows(deblurrer: Deblurrer, clean: torch.Tensor, kernel: torch.Tensor, targets: torch.Tensor, eps: float,
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
    y = degrade(clean, kernel, sigma, seed=seed)
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
    rows, out = attack_rows(deblurrer, clean, kernel, targets, eps, {"targeted": steps}, lr, sigma, seed,
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
