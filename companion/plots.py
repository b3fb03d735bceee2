"""Figures shared by the notebooks (matplotlib / seaborn).

Every notebook calls ``use_theme()`` once, in its import cell, so that all figures share one look.
Each function here builds one figure and returns it (``results.figure(fig, name)`` saves it);
every axis carries its unit, and legends sit outside the data. Figures made here use matplotlib's
constrained layout, so titles, tick labels and colour bars do not overlap.
"""

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import seaborn as sns
import torch
from scipy.stats import norm

THEME = {"style": "whitegrid", "context": "notebook", "font_scale": 0.85,
         "rc": {"axes.titlesize": 10, "figure.titlesize": 11, "legend.fontsize": 8, "legend.title_fontsize": 8}}
"""The seaborn theme of every figure (``use_theme``)."""


def use_theme() -> None:
    """Set the theme of every notebook figure: seaborn's whitegrid style, the notebook context at
    0.85 font scale, 10 pt axes titles and 8 pt legends (``THEME``). Call it once, after the imports."""
    sns.set_theme(**THEME)


# ---------------------------------------------------------------------------- helpers

def _as_image(img) -> np.ndarray:
    """HW (gray) or HWC (color) array in [0, 1] from a tensor or array shaped 1CHW, CHW or HW."""
    arr = img.detach().cpu().float().numpy() if isinstance(img, torch.Tensor) else np.asarray(img, dtype=np.float32)
    if arr.ndim == 4:
        arr = arr[0]
    if arr.ndim == 3:
        arr = arr[0] if arr.shape[0] == 1 else np.moveaxis(arr, 0, -1)
    return np.clip(arr, 0, 1)


def _show(ax, img, title: str = "", fontsize: int = 9) -> None:
    """Draw an image (1CHW, CHW or HW, values in [0, 1]) without ticks, gray colour map for gray."""
    ax.imshow(_as_image(img), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize=fontsize)
    ax.set_xticks([]), ax.set_yticks([])
    ax.grid(False)


def _legend_outside(fig, ax, where: str = "right", title: str | None = None, ncol: int | None = None) -> None:
    """Move the legend of ``ax`` off the data: to the right of the figure (``where='right'``) or
    under it (``'below'``, in as many columns as fit). ``fig`` must use the constrained layout."""
    handles, labels = ax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        title = title if title is not None else ax.get_legend().get_title().get_text()
        ax.get_legend().remove()
    if not handles:
        return
    if where == "below":
        if ncol is None:
            width = fig.get_figwidth() * 72 / 8  # characters of an 8 pt legend that fit across the figure
            ncol = max(1, min(len(labels), int(width // (max(len(s) for s in labels) + 6))))
        fig.legend(handles, labels, title=title or None, loc="outside lower center", ncol=ncol, frameon=False)
    else:
        fig.legend(handles, labels, title=title or None, loc="outside right upper", frameon=False)


def _rotate_xticks(ax, degrees: float) -> None:
    if degrees:
        ax.tick_params(axis="x", labelrotation=degrees)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")


def _relabel(data, column, labels: dict | None):
    """``data`` with the values of ``column`` replaced by ``labels[value]`` (others kept)."""
    if not labels or column is None:
        return data
    return data.assign(**{column: data[column].map(lambda v: labels.get(v, v))})


# ---------------------------------------------------------------------------- images

def detail_window(img, size: int | None = None) -> tuple:
    """``(top, left, size)`` of the ``size`` x ``size`` window where ``img`` varies most: the
    window of highest pixel variance (channels averaged), so that a zoom shows texture rather than
    a flat or black region. Deterministic: ties go to the first window in raster order.

    ``img``: 1CHW / CHW / HW tensor or array; ``size`` defaults to a quarter of the shorter side.
    """
    arr = np.asarray(img.detach().cpu().double() if isinstance(img, torch.Tensor) else img, dtype=np.float64)
    while arr.ndim > 2:
        arr = arr[0] if arr.ndim == 4 else arr.mean(axis=0)
    h, w = arr.shape
    size = int(size or max(1, min(h, w) // 4))
    if not 0 < size <= min(h, w):
        raise ValueError(f"window size {size} does not fit a {h}x{w} image")

    def box_sums(values):  # sum over every size x size window, from the integral image
        s = np.pad(values, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
        return s[size:, size:] - s[:-size, size:] - s[size:, :-size] + s[:-size, :-size]

    n = size * size
    variance = box_sums(arr ** 2) / n - (box_sums(arr) / n) ** 2
    variance = np.round(variance, 12)  # rounding noise of the sums must not decide between equal windows
    top, left = np.unravel_index(int(np.argmax(variance)), variance.shape)
    return int(top), int(left), size


def attack_panel(images: dict, psnr: dict, title: str = "", zoom: tuple | None = None):
    """Ning et al. Figures 1 and 7: clean, noisy, adversarial and both denoised images, PSNR in
    the titles, and a second row zoomed on ``zoom = (top, left, size)``; by default the window of
    the clean image with the most detail (``detail_window``), outlined in red on the top row.

    ``images`` holds 1CHW tensors 'clean', 'noisy', 'adv', 'denoised_gauss', 'denoised_adv';
    ``psnr`` the PSNRs (dB) 'noisy', 'adv', 'gauss', 'attacked'.
    """
    top, left, size = zoom or detail_window(images["clean"])
    panels = [("clean", images["clean"]), (f"noisy ({psnr['noisy']:.2f} dB)", images["noisy"]),
              (f"adversarial ({psnr['adv']:.2f} dB)", images["adv"]),
              (f"denoised noisy ({psnr['gauss']:.2f} dB)", images["denoised_gauss"]),
              (f"denoised adversarial ({psnr['attacked']:.2f} dB)", images["denoised_adv"])]
    fig, axes = plt.subplots(2, len(panels), figsize=(2.6 * len(panels), 5.6), layout="constrained")
    for col, (label, img) in enumerate(panels):
        _show(axes[0, col], img, label)
        axes[0, col].add_patch(plt.Rectangle((left - 0.5, top - 0.5), size, size, fill=False, color="red", lw=1.2))
        _show(axes[1, col], img[..., top:top + size, left:left + size], f"zoom: rows {top}-{top + size - 1}, "
              f"columns {left}-{left + size - 1}" if col == 0 else "zoom", fontsize=8)
    fig.suptitle(title)
    return fig


def image_row(panels, title: str = "", size: float = 2.8, fontsize: int = 9):
    """One row of images without axes: ``panels`` is a list of ``(title, image)`` (images 1CHW,
    CHW or HW in [0, 1])."""
    panels = list(panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size + 0.4), layout="constrained",
                             squeeze=False)
    for ax, (label, img) in zip(axes[0], panels):
        _show(ax, img, label, fontsize)
    if title:
        fig.suptitle(title)
    return fig


def image_grid(rows: dict, columns: list, title: str = "", size: float = 1.9):
    """A grid of images without axes: one row per ``rows`` item (row label -> list of images,
    1CHW, CHW or HW in [0, 1]), one column per ``columns`` title."""
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(size * len(columns), (size + 0.1) * len(rows) + 0.3),
                             layout="constrained", squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c, (ax, img) in enumerate(zip(axes[r], images)):
            _show(ax, img, columns[c] if r == 0 else "", fontsize=8)
        axes[r, 0].set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def transfer_panel(noisy: torch.Tensor, adv: torch.Tensor, gauss: dict, attacked: dict, title: str = ""):
    """Ning et al. Figures 8 and 9: one source's adversarial sample denoised by several targets.

    Top row: the Gaussian-noisy image x and each target's D(x); bottom row: the adversarial
    x' and each target's D(x'). ``gauss`` and ``attacked`` map target -> (1CHW output, PSNR in dB).
    """
    targets = list(gauss)
    fig, axes = plt.subplots(2, len(targets) + 1, figsize=(2.4 * (len(targets) + 1), 5.8), squeeze=False,
                             layout="constrained")
    _show(axes[0, 0], noisy, "noisy x")
    _show(axes[1, 0], adv, "adversarial x'")
    for col, target in enumerate(targets, start=1):
        _show(axes[0, col], gauss[target][0], f"{target}\n{gauss[target][1]:.2f} dB")
        _show(axes[1, col], attacked[target][0], f"{target} on x'\n{attacked[target][1]:.2f} dB")
    fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------- distributions

def noise_histogram(samples: dict, sigma: float | None = None, title: str = "", ax=None, log: bool = False):
    """Density histograms of noise samples (0-255 scale), with the N(0, sigma^2) density when
    ``sigma`` is given; ``log``: logarithmic density axis (to see the tails)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    for label, values in samples.items():
        values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values).ravel()
        sns.histplot(values, bins=120, stat="density", element="step", fill=False, label=label, ax=ax)
    if sigma:
        t = np.linspace(-4 * sigma, 4 * sigma, 400)
        ax.plot(t, norm.pdf(t, scale=sigma), "k--", lw=1, label=f"N(0, {sigma:g}^2)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("noise value (0-255)")
    ax.set_ylabel("density (per unit, log scale)" if log else "density (per unit)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax.figure


def noise_histograms(panels: list, title: str = "", log: bool = False, width: float = 5.5):
    """Several ``noise_histogram`` panels side by side; ``panels`` is a list of dicts of its
    arguments (``samples``, and optionally ``sigma`` and ``title``)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 3.4), layout="constrained", squeeze=False)
    for ax, panel in zip(axes[0], panels):
        noise_histogram(ax=ax, log=log, **panel)
    if title:
        fig.suptitle(title)
    return fig


def psnr_histograms(data, kinds: list):
    """Plummer & Hauser Figures 18-26: per noise type (columns), the PSNR of the noisy crops (gray)
    and of each model's denoised crops (top), and the ratio denoised / noisy PSNR (bottom).
    ``data``: rows with 'noise', 'model', 'noisy_psnr', 'denoised_psnr', 'gain_ratio'."""
    fig, axes = plt.subplots(2, len(kinds), figsize=(4.4 * len(kinds), 6.6), layout="constrained", squeeze=False)
    for col, kind in enumerate(kinds):
        part = data[data.noise == kind]
        sns.histplot(part, x="noisy_psnr", color="gray", element="step", fill=False, label="noisy", ax=axes[0, col])
        sns.histplot(part, x="denoised_psnr", hue="model", element="step", fill=False, ax=axes[0, col])
        axes[0, col].set(title=f"{kind}: noisy (gray) and denoised crops", xlabel="PSNR (dB)", ylabel="crops")
        sns.histplot(part, x="gain_ratio", hue="model", element="step", fill=False, ax=axes[1, col])
        axes[1, col].set(title=f"{kind}: denoised / noisy PSNR", xlabel="PSNR ratio (denoised / noisy)", ylabel="crops")
    return fig


def facet_histograms(data, x: str, *, xlabel: str, hue=None, col=None, row=None, band: tuple | None = None,
                     title: str = "", ylabel: str = "count", legend_title: str | None = None):
    """Step histograms of ``data[x]`` in a grid of panels (``sns.displot``), each panel on its own
    scales; ``band = (low, high)`` shades that interval of x in every panel."""
    grid = sns.displot(data, x=x, hue=hue, col=col, row=row, element="step", fill=False, height=2.8, aspect=1.4,
                       facet_kws=dict(sharex=False, sharey=False))
    for ax in grid.axes.flat:
        if band:
            ax.axvspan(*band, color="gray", alpha=0.15)
    grid.set_axis_labels(xlabel, ylabel)
    if legend_title and grid.legend is not None:
        grid.legend.set_title(legend_title)
    if title:
        grid.figure.suptitle(title, y=1.02)
    return grid.figure


# ---------------------------------------------------------------------------- bars and lines

def bar_chart(data, x: str, y: str, hue: str | None = None, *, ylabel: str, xlabel: str = "", title: str = "",
              labels: dict | None = None, legend_title: str | None = None, zoom: bool = False, zero_line: bool = False,
              rotate: float = 0, legend: str = "right", figsize: tuple = (8, 3.2)):
    """Grouped bars of the mean of ``y`` per ``x`` (and ``hue``), with 95 % bootstrap intervals
    (seeded, so the figure is reproducible). ``labels`` renames hue values for the legend, which
    goes to the right of the axes (``legend='right'``) or under them (``'below'``). ``zoom``: the y
    axis spans the data (min - 1.5 to max + 0.5) instead of starting at 0; ``zero_line``: a line at 0."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    sns.barplot(data=_relabel(data, hue, labels), x=x, y=y, hue=hue, ax=ax, seed=0)
    if zoom:
        ax.set_ylim(data[y].min() - 1.5, data[y].max() + 0.5)
    if zero_line:
        ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    _rotate_xticks(ax, rotate)
    _legend_outside(fig, ax, legend, legend_title if legend_title is not None else hue)
    return fig


def compare_bars(data, x: str, columns: dict, *, ylabel: str, legend_title: str = "", **kwargs):
    """``bar_chart`` of several columns of ``data`` side by side per ``x``: ``columns`` maps each
    column to its legend label (readable, in place of the column name)."""
    long = data.melt(id_vars=[x], value_vars=list(columns), var_name="column", value_name="value")
    return bar_chart(long, x, "value", "column", ylabel=ylabel, labels=columns, legend_title=legend_title, **kwargs)


def dmr_bars(table, paper: str = "paper DMR", title: str = "DMR (eq. 5): lower is less robust"):
    """Ning et al. Table III as bars: the measured DMR of each model (dB, coloured by family) and the
    paper's value as a black cross where there is one. ``table``: columns 'model', 'family', 'DMR'
    and ``paper``."""
    fig, ax = plt.subplots(figsize=(7.5, 3.2), layout="constrained")
    sns.barplot(data=table, x="model", y="DMR", hue="family", dodge=False, ax=ax)
    position = {m: i for i, m in enumerate(dict.fromkeys(table.model))}
    points = table.dropna(subset=[paper])
    ax.scatter([position[m] for m in points.model], points[paper], color="k", marker="x", zorder=3, label="paper")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="model", ylabel="DMR (dB)", title=title)
    _rotate_xticks(ax, 25)
    _legend_outside(fig, ax, "right", "family")
    return fig


def sensitivity_panels(table, paper: float, paper_label: str, title: str = ""):
    """DMR (dB) against the attack's step size (left: alpha / eps at the stated eps) and budget
    (right: eps, alpha = eps / T, with the scale readings as crosses), one line per step rule, the
    stated protocol as a star and the paper's value as a dashed line. ``table``: the rows of
    ``experiments.sensitivity.sweep`` (columns sweep, step, eps, alpha / eps, DMR, reading, default)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True, layout="constrained")
    panels = ((axes[0], table[table.sweep == "step size"], "alpha / eps", "step size alpha (log scale)",
               "step size, eps as stated"),
              (axes[1], table[table.sweep == "budget"], "eps", "eps on the [0, 1] scale (log scale)",
               "budget (alpha = eps / T) and scale readings"))
    for i, (ax, rows, x, xlabel, panel_title) in enumerate(panels):
        sns.lineplot(data=rows, x=x, y="DMR", hue="step", marker="o", ax=ax, legend=i == 0)
        stated = rows[rows.default]
        ax.scatter(stated[x], stated.DMR, marker="*", s=140, color="k", zorder=3, label="stated protocol" if i == 0 else None)
        ax.axhline(paper, color="k", ls="--", lw=1, label=paper_label if i == 0 else None)
        ax.set(xscale="log", xlabel=xlabel, ylabel="DMR (dB): Adv minus Gauss PSNR", title=panel_title)
    fractions = sorted(panels[0][1]["alpha / eps"].unique())
    axes[0].set_xticks(fractions, ["eps" if np.isclose(f, 1) else f"eps/{1 / f:.3g}" for f in fractions])
    axes[0].minorticks_off()
    readings = table[table.sweep == "scale reading"]
    axes[1].scatter(readings.eps, readings.DMR, marker="X", s=50, color="0.3", zorder=3, label="scale readings")
    for _, r in readings.drop_duplicates(subset="reading").iterrows():
        axes[1].annotate(r.reading, (r.eps, r.DMR), textcoords="offset points", xytext=(4, -12), fontsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    extra = axes[1].get_legend_handles_labels()
    if axes[0].get_legend() is not None:
        axes[0].get_legend().remove()
    fig.legend(handles + extra[0], labels + extra[1], title="step rule; references", loc="outside right upper",
               frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def facet_bars(data, x: str, y: str, hue: str, col: str, *, xlabel: str, ylabel: str, title: str = "",
               col_template: str = "{col_var} = {col_name}", legend_title: str | None = None, sharey: bool = True,
               height: float = 3.2, aspect: float = 1.4):
    """``bar_chart`` in one panel per value of ``col`` (``sns.catplot``), legend on the right."""
    grid = sns.catplot(data=data, x=x, y=y, hue=hue, col=col, kind="bar", height=height, aspect=aspect,
                       sharey=sharey, seed=0)
    grid.set_axis_labels(xlabel, ylabel)
    grid.set_titles(col_template=col_template)
    if legend_title is not None and grid.legend is not None:
        grid.legend.set_title(legend_title)
    if title:
        grid.figure.suptitle(title, y=1.04)
    return grid.figure


def line_chart(data, x: str, y: str, hue: str | None = None, *, xlabel: str, ylabel: str, title: str = "",
               kind: str = "line", hline: tuple | None = None, legend_title: str | None = None, figsize=(7.5, 3.4)):
    """Lines of the mean of ``y`` against ``x`` per ``hue`` (``kind='line'``: numeric x,
    ``'point'``: categorical x), with a dashed reference line ``hline = (value, label)``; the
    legend sits to the right of the axes."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    if kind == "point":
        sns.pointplot(data=data, x=x, y=y, hue=hue, ax=ax, seed=0)
    else:
        sns.lineplot(data=data, x=x, y=y, hue=hue, marker="o", ax=ax, seed=0)
    if hline:
        ax.axhline(hline[0], color="k", ls="--", lw=1, label=hline[1])
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    _legend_outside(fig, ax, "right", legend_title if legend_title is not None else hue)
    return fig


def line_panels(data, x: str, panels: dict, hue: str | None = None, *, xlabel: str, title: str = ""):
    """Side by side line charts of several columns of ``data`` against ``x`` (one line per
    ``hue``); ``panels`` maps column -> (panel title, y label with unit); one legend on the right."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels), 3.4), layout="constrained", squeeze=False)
    for i, (ax, (column, (panel_title, ylabel))) in enumerate(zip(axes[0], panels.items())):
        sns.lineplot(data, x=x, y=column, hue=hue, marker="o", ax=ax, legend=i == 0)
        ax.set(title=panel_title, xlabel=xlabel, ylabel=ylabel)
    _legend_outside(fig, axes[0, 0], "right", hue)
    if title:
        fig.suptitle(title)
    return fig


def facet_lines(data, x: str, y: str, *, xlabel: str, ylabel: str, hue=None, col=None, style=None, title: str = "",
                col_template: str = "{col_var} = {col_name}"):
    """Lines of ``y`` against ``x`` in one panel per value of ``col`` (``sns.relplot``)."""
    grid = sns.relplot(data, x=x, y=y, hue=hue, col=col, style=style, kind="line", height=3, aspect=1.4)
    grid.set_axis_labels(xlabel, ylabel)
    grid.set_titles(col_template=col_template)
    if title:
        grid.figure.suptitle(title, y=1.03)
    return grid.figure


def accuracy_curves(noise_rows, fgsm_rows, pixel_rows, title: str = ""):
    """Plummer & Hauser Figures 7 and 12 and FGSM: the digit classifier's accuracy (share of the
    test digits classified right) under random noise (per noise type), FGSM and the One Pixel
    attack, from ``experiments.noise2noise_dag``'s rows."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True, layout="constrained")
    sns.lineplot(noise_rows, x="fraction", y="accuracy", hue="noise", marker="o", ax=axes[0])
    sns.lineplot(fgsm_rows, x="eps", y="accuracy", marker="o", ax=axes[1])
    sns.lineplot(pixel_rows, x="pixels", y="accuracy", marker="o", ax=axes[2])
    for ax, panel_title, xlabel in zip(axes, ["random noise", "FGSM", "One Pixel"],
                                       ["share of pixels replaced (0-1)", "eps (L-infinity, [0, 1] scale)",
                                        "pixels changed"]):
        ax.set(title=panel_title, xlabel=xlabel, ylabel="accuracy (share of digits, 0-1)")
    _legend_outside(fig, axes[0], "right", "random noise")
    if title:
        fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------- heat maps

def _heatmap_pair(grids: list, *, xlabel: str, ylabel: str, title: str = "", square: bool = False,
                  annot_size: int = 8, cell: float = 0.62):
    """Two annotated heat maps side by side, sharing their rows (tick labels on the left one only).
    ``grids``: two (DataFrame, panel title, colour bar label, vmin, vmax). The figure grows with
    the number of cells and the length of the tick labels, so that labels never run into the
    colour bars and the cells stay readable."""
    rows, cols = list(grids[0][0].index), list(grids[0][0].columns)
    row_chars = max(len(str(r)) for r in rows)
    col_chars = max(len(str(c)) for c in cols)
    width = 2 * (cell * len(cols) + 1.3) + 0.075 * row_chars + 0.5
    height = max(cell * len(rows), 2.0) + 0.06 * col_chars + 1.4  # room for the colour bar's label
    fig, axes = plt.subplots(1, 2, figsize=(width, height), layout="constrained", sharey=True)
    for i, (ax, (grid, panel_title, cbar_label, vmin, vmax)) in enumerate(zip(axes, grids)):
        sns.heatmap(grid.astype(float), annot=True, fmt=".2f", cmap="rocket_r", vmin=vmin, vmax=vmax, square=square,
                    cbar_kws={"label": cbar_label, "shrink": 0.7 if square else 0.85, "pad": 0.03}, ax=ax,
                    annot_kws={"fontsize": annot_size})
        ax.set_title(panel_title)
        ax.set_xlabel(xlabel)
        _rotate_xticks(ax, 40)
        if i == 0:
            ax.set_ylabel(ylabel)
            ax.tick_params(axis="y", labelrotation=0)
        else:
            ax.set_ylabel("")
            ax.tick_params(axis="y", labelleft=False)
    if title:
        fig.suptitle(title)
    return fig


def transfer_heatmaps(summary, title: str = ""):
    """Source x target heatmaps (Ning et al. Sec. IV-C) of the mean PSNR drop on the target (dB)
    and of eq. 3's transfer rate (share of images, 0-1), from ``robustness.transfer_summary``;
    rows and columns keep the order of the summary."""
    sources, targets = list(dict.fromkeys(summary.source)), list(dict.fromkeys(summary.target))
    grids = []
    for column, panel_title, cbar_label, limits in [
            ("drop", "mean PSNR drop on the target", "PSNR drop (dB)", (0, None)),
            ("transfer_rate", "transfer rate (eq. 3): share of images", "transfer rate (0-1)", (0, 1))]:
        grid = summary.pivot(index="source", columns="target", values=column).reindex(index=sources, columns=targets)
        grids.append((grid, panel_title, cbar_label, *limits))
    return _heatmap_pair(grids, xlabel="target (denoises the samples)", ylabel="source (made the samples)", title=title)


def dmrs_heatmaps(matrices: dict, default: str | None = None, label=None, title: str = ""):
    """Ning et al. Table VI as two model x model heat maps of DMRS (eq. 9, 0-1), one per radar
    kind (``matrices``: kind -> square DataFrame); ``label`` renames the models, ``default`` marks
    the kind the notebook's claims use."""
    grids = []
    for kind, matrix in matrices.items():
        grid = matrix.rename(index=label, columns=label) if label else matrix
        grids.append((grid, f"Table VI, {kind} radar" + (" (default)" if kind == default else ""),
                      "DMRS (0-1)", 0, 1))
    return _heatmap_pair(grids, xlabel="model", ylabel="model", title=title, square=True, cell=0.7)


# ---------------------------------------------------------------------------- polar figures

def band_wedge(band: tuple, r_min: float, r_max: float, n: int = 61) -> tuple:
    """Polar polygon ``(theta in radians, r)`` of the wedge between the angles ``band`` (degrees,
    counterclockwise from the first to the second): from the centre ``r_min`` out along
    ``band[0]``, around the arc at ``r_max``, and back to the centre along ``band[1]``."""
    start, end = band
    arc = np.deg2rad(np.linspace(start, end if end > start else end + 360, n))
    theta = np.concatenate([[arc[0]], arc, [arc[-1], arc[0]]])
    r = np.concatenate([[r_min], np.full(n, r_max), [r_min, r_min]])
    return theta, r


def radar_limits(values, top: float = 1.0) -> tuple:
    """Radial limits of a radar plot: from 0 when the values spread over [0, 1] (adversarial
    radar), else from just under the smallest value, on a 0.01 grid (literal radar, whose values
    sit near 1), to a little over ``top``."""
    low = float(np.nanmin([np.min(v) for v in values]))
    if low < 0.5:
        return 0.0, 1.05 * top
    r_min = np.floor((low - 0.1 * (top - low) - 0.005) * 100) / 100
    return float(r_min), float(top + 0.05 * (top - r_min))


def radar_plot(degrees, radars: dict, title: str = "", ax=None, band: tuple | None = (30, 150), rlim=None,
               legend: bool = True, rlabel: str = "radius (eq. 7, ratio)"):
    """Ning et al. Figure 3: radar polygons (eq. 7) of several models on one image, angle 0 along
    the Gaussian noise; ``band`` shades the paper's adversarial region as a wedge from the centre.
    ``rlim = (r_min, r_max)``: radial limits, r_min at the centre (default: ``radar_limits``);
    ``rlabel``, the meaning of the radius, goes under the title."""
    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"}, figsize=(4.6, 4.6), layout="constrained")
    r_min, r_max = rlim or radar_limits(list(radars.values()))
    ax.set_ylim(r_min, r_max)  # r_min sits at the centre, where the wedge starts
    if band:
        ax.fill(*band_wedge(band, r_min, r_max), color="0.85", zorder=0, lw=0,
                label=f"{band[0]}-{band[1]} degrees (paper's adversarial region)")
    for label, r in radars.items():
        t = np.deg2rad(np.append(degrees, degrees[0]))
        ax.plot(t, np.append(r, r[0]), lw=1.3, label=label)
    ax.set_title(f"{title}\n{rlabel}" if title and rlabel else title or rlabel, fontsize=9)
    ax.set_xlabel("angle from the Gaussian noise (degrees)", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(axis="y", labelsize=7)
    if legend:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.05, 1.0))
    return ax.figure


RADAR_LABELS = {"literal": "radius: PSNR / its max on the circle (ratio)",
                "adversarial": "radius: PSNR drop / its max on the circle (ratio)"}
"""Radial axis label of each radar kind (``similitude.radar``); both radii are ratios."""


def radar_figure(degrees, radars_by_kind: dict, title: str = "", band: tuple | None = (30, 150)):
    """Ning et al. Figure 3 for every radar kind side by side (``radars_by_kind``: kind ->
    {model: radii}), radial limits per panel by ``radar_limits``, one legend on the right."""
    fig, axes = plt.subplots(1, len(radars_by_kind), subplot_kw={"projection": "polar"},
                             figsize=(4.6 * len(radars_by_kind) + 2.6, 5.0), layout="constrained", squeeze=False)
    for ax, (kind, radars) in zip(axes[0], radars_by_kind.items()):
        radar_plot(degrees, radars, f"{kind} radar", ax=ax, band=band, legend=False,
                   rlabel=RADAR_LABELS.get(kind, "radius (eq. 7, ratio)"))
    _legend_outside(fig, axes[0, 0], "right")
    if title:
        fig.suptitle(title)
    return fig


def region_rings(degrees, region, names: list, title: str = "", ax=None, legend: bool = False):
    """Ning et al. Figures 4 and 5: one ring per image, filled where the angle belongs to the
    model's adversarial region (``region``: boolean, images x angles); ``legend`` names the rings."""
    if ax is None:
        _, ax = plt.subplots(subplot_kw={"projection": "polar"}, figsize=(4, 4), layout="constrained")
    width = 2 * np.pi / len(degrees)
    colors = sns.color_palette("husl", len(names))
    for i, (name, row) in enumerate(zip(names, np.asarray(region, dtype=bool))):
        t = np.deg2rad(np.asarray(degrees)[row])
        ax.bar(t, 0.8, width=width, bottom=i + 1, color=colors[i], edgecolor="none", label=name)
    ax.set_ylim(0, len(names) + 1)
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("angle from the Gaussian noise (degrees)", fontsize=8)
    if legend:
        ax.legend(fontsize=7, title="image (one ring each)", title_fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.1, 1.0))
    return ax.figure


def region_rings_grid(degrees, regions: dict, names: list, title: str = ""):
    """``region_rings`` of several models side by side (``regions``: panel title -> region),
    one legend of the images on the right."""
    fig, axes = plt.subplots(1, len(regions), subplot_kw={"projection": "polar"}, figsize=(3.2 * len(regions) + 1.6, 3.8),
                             layout="constrained", squeeze=False)
    for ax, (panel_title, region) in zip(axes[0], regions.items()):
        region_rings(degrees, region, names, panel_title, ax=ax)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in sns.color_palette("husl", len(names))]
    fig.legend(handles, names, title="image (one ring each)", loc="outside right upper", frameon=False)
    if title:
        fig.suptitle(title)
    return fig
