"""Figures shared by the notebooks (matplotlib / seaborn)."""

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from scipy.stats import norm


def _show(ax, img: torch.Tensor, title: str) -> None:
    arr = img[0].detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    ax.imshow(arr[..., 0] if arr.shape[2] == 1 else arr, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])


def attack_panel(images: dict, psnr: dict, title: str = "", zoom: tuple | None = None):
    """Ning et al. Figures 1 and 7: clean, noisy, adversarial and both denoised images, PSNR in
    the titles, and a second row zoomed on ``zoom = (top, left, size)`` (default: the center).

    ``images`` holds 1CHW tensors 'clean', 'noisy', 'adv', 'denoised_gauss', 'denoised_adv';
    ``psnr`` the PSNRs 'noisy', 'adv', 'gauss', 'attacked'.
    """
    h, w = images["clean"].shape[-2:]
    top, left, size = zoom or ((h - min(h, w) // 4) // 2, (w - min(h, w) // 4) // 2, min(h, w) // 4)
    panels = [("clean", images["clean"]), (f"noisy ({psnr['noisy']:.2f} dB)", images["noisy"]),
              (f"adversarial ({psnr['adv']:.2f} dB)", images["adv"]),
              (f"denoised noisy ({psnr['gauss']:.2f} dB)", images["denoised_gauss"]),
              (f"denoised adversarial ({psnr['attacked']:.2f} dB)", images["denoised_adv"])]
    fig, axes = plt.subplots(2, len(panels), figsize=(2.6 * len(panels), 5.4))
    for col, (label, img) in enumerate(panels):
        _show(axes[0, col], img, label)
        axes[0, col].add_patch(plt.Rectangle((left, top), size, size, fill=False, color="red", lw=1))
        _show(axes[1, col], img[..., top:top + size, left:left + size], "zoom")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def noise_histogram(samples: dict, sigma: float | None = None, title: str = "", ax=None):
    """Density histograms of noise samples (0-255 scale), with the N(0, sigma^2) density."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    for label, values in samples.items():
        values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values).ravel()
        sns.histplot(values, bins=120, stat="density", element="step", fill=False, label=label, ax=ax)
    if sigma:
        t = np.linspace(-4 * sigma, 4 * sigma, 400)
        ax.plot(t, norm.pdf(t, scale=sigma), "k--", lw=1, label=f"N(0, {sigma:g}^2)")
    ax.set_xlabel("noise value (0-255)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax.figure


def transfer_heatmaps(summary, title: str = ""):
    """Source x target heatmaps (Ning et al. Sec. IV-C) of the mean PSNR drop on the target (dB)
    and of eq. 3's transfer rate, from ``robustness.transfer_summary``; rows and columns keep
    the order of the summary."""
    sources, targets = list(dict.fromkeys(summary.source)), list(dict.fromkeys(summary.target))
    fig, axes = plt.subplots(1, 2, figsize=(2.2 + 1.3 * len(targets), 0.9 + 0.55 * len(sources)), squeeze=False)
    for ax, (column, label, limits) in zip(axes[0], [("drop", "mean PSNR drop (dB)", (0, None)),
                                                     ("transfer_rate", "transfer rate (eq. 3)", (0, 1))]):
        grid = summary.pivot(index="source", columns="target", values=column).reindex(index=sources, columns=targets)
        sns.heatmap(grid.astype(float), annot=True, fmt=".2f", cmap="rocket_r", vmin=limits[0], vmax=limits[1],
                    cbar_kws={"label": label}, ax=ax, annot_kws={"fontsize": 7})
        ax.set_xlabel("target (denoises the samples)")
        ax.set_ylabel("source (made the samples)")
        ax.set_title(label)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def transfer_panel(noisy: torch.Tensor, adv: torch.Tensor, gauss: dict, attacked: dict, title: str = ""):
    """Ning et al. Figures 8 and 9: one source's adversarial sample denoised by several targets.

    Top row: the Gaussian-noisy image x and each target's D(x); bottom row: the adversarial
    x' and each target's D(x'). ``gauss`` and ``attacked`` map target -> (1CHW output, PSNR).
    """
    targets = list(gauss)
    fig, axes = plt.subplots(2, len(targets) + 1, figsize=(2.4 * (len(targets) + 1), 5.8), squeeze=False)
    _show(axes[0, 0], noisy, "noisy x")
    _show(axes[1, 0], adv, "adversarial x'")
    for col, target in enumerate(targets, start=1):
        _show(axes[0, col], gauss[target][0], f"{target}\n{gauss[target][1]:.2f} dB")
        _show(axes[1, col], attacked[target][0], f"{target} on x'\n{attacked[target][1]:.2f} dB")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _closed(degrees, values):
    t = np.deg2rad(np.append(degrees, degrees[0]))
    return t, np.append(values, values[0])


def radar_plot(degrees, radars: dict, title: str = "", ax=None, band: tuple | None = (30, 150)):
    """Ning et al. Figure 3: radar polygons (eq. 7) of several models on one image, angle 0 along
    the Gaussian noise; ``band`` shades the paper's adversarial region."""
    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"}, figsize=(4.6, 4.6))
    if band:
        ax.fill_between(np.deg2rad(np.linspace(*band, 60)), 0, 1.05, color="0.9", zorder=0, label=f"{band[0]}-{band[1]} deg")
    for label, r in radars.items():
        ax.plot(*_closed(degrees, r), lw=1.3, label=label)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax.figure


def region_rings(degrees, region, names: list, title: str = "", ax=None):
    """Ning et al. Figures 4 and 5: one ring per image, filled where the angle belongs to the
    model's adversarial region (``region``: boolean, images x angles)."""
    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"}, figsize=(4, 4))
    width = 2 * np.pi / len(degrees)
    colors = sns.color_palette("husl", len(names))
    for i, (name, row) in enumerate(zip(names, np.asarray(region, dtype=bool))):
        t = np.deg2rad(np.asarray(degrees)[row])
        ax.bar(t, 0.8, width=width, bottom=i + 1, color=colors[i], edgecolor="none", label=name)
    ax.set_ylim(0, len(names) + 1)
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return ax.figure
