"""Denoise a dataset and measure it: the loop every notebook and benchmark shares.

Conventions (those of the official DnCNN/FFDNet results): Gaussian noise unclipped, image
``i`` of the dataset seeded with ``seed + i``, the denoised output clipped to [0, 1] before
PSNR / SSIM / MAE on the 0-255 scale, averages taken over per-image values.
"""

import contextlib

import numpy as np
import torch

from . import metrics, noise
from .batching import by_size
from .checks import as_batch, check_noisy_range


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module):
    """Run a block with ``model`` and all its submodules in eval mode, then give each module back
    its own mode. (``model.train(was_training)`` would not: it sets every submodule to the outer
    module's flag, e.g. a wrapper built in training mode would leave its eval-mode classifier
    training, its batch-norm statistics then moving with every batch.)"""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, mode in modes:
            module.training = mode


@torch.no_grad()
def denoise(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` without gradients, in eval mode (``eval_mode``).

    Refuses input that is clearly not on the [0, 1] scale (e.g. 0-255 data).
    """
    x = as_batch(x, "noisy image")
    check_noisy_range(x)
    with eval_mode(model):
        return model(x)


def clipped_denoise(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``denoise`` clipped to [0, 1]: the output every measure of the package scores."""
    return denoise(model, x).clamp(0, 1)


def denoised_psnr(model: torch.nn.Module, noisy, clean, batch_size: int | None = None) -> np.ndarray:
    """Per-image PSNR (dB, float64) of the clipped denoised ``noisy`` against ``clean``: the one
    measurement every measure of the package makes, 10 log10(255^2 / MSE(clip(D(x')), y)).

    ``noisy``: an NCHW batch, or a list of 1CHW tensors of mixed sizes (denoised in groups of one
    size, results in list order). ``clean``: the same shape (or list), or one 1CHW image that
    every sample is compared with. ``batch_size``: samples per forward pass (None: a whole group).
    """
    device = model_device(model)
    if isinstance(noisy, (list, tuple)):
        if not isinstance(clean, (list, tuple)) or len(clean) != len(noisy):
            raise ValueError("noisy and clean must both be lists of the same length")
        out = np.empty(len(noisy))
        for indices in by_size(noisy):
            out[indices] = denoised_psnr(model, torch.cat([noisy[i] for i in indices]),
                                         torch.cat([clean[i] for i in indices]), batch_size)
        return out
    noisy = as_batch(noisy, "noisy image")
    clean = as_batch(clean, "clean image").to(device)
    step = batch_size or noisy.shape[0]
    scores = []
    for i in range(0, noisy.shape[0], step):
        x = noisy[i:i + step].to(device)
        y = clean if clean.shape[0] == 1 else clean[i:i + step]
        scores.append(metrics.psnr(clipped_denoise(model, x), y.expand_as(x)).cpu().numpy())
    return np.concatenate(scores).astype(np.float64)


def denoising(model: torch.nn.Module, images, kind: str, level: float, seed: int = 0, keep_outputs: bool = False,
              **noise_kwargs) -> tuple:
    """Add noise ``kind`` at ``level`` (``noise.add``: Gaussian sigma 0-255, Poisson photons,
    impulse probability) to every image of an ``ImageSet``, denoise, measure.

    Returns ``(rows, outputs)``: one dict per image (image, psnr, ssim, mae, noisy_psnr) in
    dataset order, and ``{name: (noisy, denoised)}`` when ``keep_outputs``.
    """
    device = model_device(model)
    rows, outputs = [None] * len(images), {}
    for indices, clean in images.groups():
        clean = clean.to(device)
        noisy = noise.add(kind, clean, level, seed=[seed + i for i in indices], **noise_kwargs)
        out = clipped_denoise(model, noisy)
        scores = metrics.evaluate(out, clean)
        noisy_psnr = metrics.psnr(noisy.clamp(0, 1), clean).cpu().numpy()
        for j, i in enumerate(indices):
            name = images.names[i]
            rows[i] = {"image": name, **{k: float(v[j]) for k, v in scores.items()},
                       "noisy_psnr": float(noisy_psnr[j])}
            if keep_outputs:
                outputs[name] = (noisy[j:j + 1].cpu(), out[j:j + 1].cpu())
    return rows, outputs


def gaussian_denoising(model: torch.nn.Module, images, sigma: float, seed: int = 0,
                       keep_outputs: bool = False) -> tuple:
    """``denoising`` with Gaussian noise of level ``sigma`` (0-255), unclipped."""
    return denoising(model, images, "gaussian", sigma, seed, keep_outputs)
