"""The figure helpers of companion.plots that can be checked without looking at an image."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from companion import plots  # noqa: E402


def _checkerboard(n):
    return torch.from_numpy(np.indices((n, n)).sum(0) % 2).float()


def test_detail_window_finds_the_textured_region_not_the_center():
    """A flat image (black in its center) with one textured patch away from the center: the zoom
    lands exactly on the patch, the same way every time."""
    img = torch.full((1, 1, 96, 96), 0.5)
    img[..., 36:60, 36:60] = 0.0                       # a black center, where the old zoom went
    img[..., 8:32, 60:84] = _checkerboard(24)          # detail, mean 0.5 like its surroundings
    top, left, size = plots.detail_window(img)
    assert size == 24
    assert (top, left) == (8, 60)
    assert plots.detail_window(img) == (top, left, size)
    assert plots.detail_window(img[0, 0].numpy()) == (top, left, size)  # HW arrays too


def test_detail_window_prefers_higher_variance_and_breaks_ties_first():
    img = np.zeros((40, 40))
    img[0:10, 0:10] = np.indices((10, 10)).sum(0) % 2 * 0.2    # weak checkerboard
    img[30:40, 30:40] = np.indices((10, 10)).sum(0) % 2 * 0.9  # strong checkerboard
    assert plots.detail_window(img, size=10)[:2] == (30, 30)
    assert plots.detail_window(np.ones((40, 40)), size=10)[:2] == (0, 0)  # flat: the first window
    with pytest.raises(ValueError):
        plots.detail_window(img, size=41)


def test_attack_panel_outlines_the_detail_window():
    clean = torch.full((1, 1, 64, 64), 0.5)
    clean[..., 40:56, 4:20] = _checkerboard(16)
    images = {k: clean for k in ("clean", "noisy", "adv", "denoised_gauss", "denoised_adv")}
    fig = plots.attack_panel(images, {"noisy": 20.0, "adv": 19.0, "gauss": 30.0, "attacked": 28.0})
    box = fig.axes[0].patches[0]
    assert (box.get_x() + 0.5, box.get_y() + 0.5, box.get_width()) == (4, 40, 16)
    plt.close(fig)


def test_band_wedge_spans_30_to_150_degrees_from_the_centre():
    theta, r = plots.band_wedge((30, 150), 0.9, 1.0)
    degrees = np.rad2deg(theta)
    assert degrees.min() == pytest.approx(30) and degrees.max() == pytest.approx(150)
    assert r.min() == 0.9 and r.max() == 1.0
    centre = r == 0.9
    assert set(np.round(degrees[centre])) == {30, 150}   # the two straight sides meet at the centre
    arc = degrees[r == 1.0]
    assert np.all(np.diff(arc) > 0) and len(arc) > 10     # the outer side is an arc, not two points
    theta, _ = plots.band_wedge((300, 60), 0, 1)          # across 0 degrees
    assert np.rad2deg(theta[1:-2]).min() == pytest.approx(300) and np.rad2deg(theta[1:-2]).max() == pytest.approx(420)


def test_radar_plot_draws_the_wedge_down_to_the_centre_of_a_zoomed_axis():
    degrees = np.linspace(0, 360, 16, endpoint=False)
    radars = {"a": 0.95 + 0.05 * np.cos(np.deg2rad(degrees)) ** 2}
    fig = plots.radar_plot(degrees, radars)
    ax = fig.axes[0]
    r_min, r_max = ax.get_ylim()
    assert 0.85 <= r_min < 0.95 and r_max > 1.0
    wedge = ax.patches[0].get_xy()  # (theta, r) vertices
    assert wedge[:, 1].min() == pytest.approx(r_min)   # from the centre, not a strip at r = 0
    assert np.rad2deg(wedge[:, 0]).min() == pytest.approx(30) and np.rad2deg(wedge[:, 0]).max() == pytest.approx(150)
    plt.close(fig)
    assert plots.radar_limits([np.array([0.0, 1.0])]) == (0.0, 1.05)


def test_bar_chart_legend_is_outside_the_axes_with_readable_labels():
    data = pd.DataFrame({"model": ["a", "a", "b", "b"], "psnr_clean_attack": [30, 31, 29, 30],
                         "psnr_noisy_attack": [27, 28, 26, 27]})
    fig = plots.compare_bars(data, "model", {"psnr_clean_attack": "attack on the clean image",
                                             "psnr_noisy_attack": "attack on the noisy image"},
                             ylabel="PSNR (dB)", legend="below")
    ax = fig.axes[0]
    assert ax.get_legend() is None and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["attack on the clean image", "attack on the noisy image"]
    assert ax.get_ylabel() == "PSNR (dB)"
    fig.canvas.draw()
    legend_box, axes_box = fig.legends[0].get_window_extent(), ax.get_window_extent()
    assert legend_box.y1 <= axes_box.y0  # below the bars, not over them
    plt.close(fig)


def test_transfer_heatmaps_keep_tick_labels_clear_of_the_colour_bar():
    names = ["ffdnet_color", "brdnet_color_s25", "n2n_color", "fan_small", "dpir_small_color"]
    summary = pd.DataFrame([{"source": s, "target": t, "drop": 0.3, "transfer_rate": 0.5} for s in names for t in names])
    fig = plots.transfer_heatmaps(summary, "color")
    fig.canvas.draw()
    left, right = fig.axes[0], fig.axes[1]
    colorbar = [a for a in fig.axes[2:] if a.get_position().x0 < right.get_position().x0][0]
    assert not any(t.get_visible() and t.get_text() for t in right.get_yticklabels())
    assert colorbar.get_tightbbox().x1 <= right.get_window_extent().x0
    assert left.title.get_window_extent().x1 <= right.title.get_window_extent().x0
    plt.close(fig)
