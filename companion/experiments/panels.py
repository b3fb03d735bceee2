"""What an attack panel shows (``plots.attack_panel``; Ning et al. Figures 1 and 7), measured once
for the notebooks that draw one (04, 06, 08): the clean, noisy and adversarial images, both
denoised, and their PSNRs."""

import torch

from .. import metrics
from ..evaluation import denoise, model_device


def attack_panel(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor, adv: torch.Tensor) -> tuple:
    """``(images, psnrs)`` for ``plots.attack_panel``: ``images`` the 1CHW CPU tensors 'clean',
    'noisy', 'adv', 'denoised_gauss', 'denoised_adv' (outputs clipped to [0, 1]); ``psnrs`` the
    PSNR (dB) against ``clean`` of the clipped inputs ('noisy', 'adv') and of the outputs ('gauss',
    'attacked')."""
    device = model_device(model)
    clean, noisy, adv = clean.cpu(), noisy.cpu(), adv.cpu()
    out = {k: denoise(model, v.to(device)).clamp(0, 1).cpu() for k, v in (("gauss", noisy), ("adv", adv))}
    psnr = lambda x: float(metrics.psnr(x, clean)[0])
    images = {"clean": clean, "noisy": noisy, "adv": adv, "denoised_gauss": out["gauss"], "denoised_adv": out["adv"]}
    return images, {"noisy": psnr(noisy.clamp(0, 1)), "adv": psnr(adv.clamp(0, 1)), "gauss": psnr(out["gauss"]),
                    "attacked": psnr(out["adv"])}
