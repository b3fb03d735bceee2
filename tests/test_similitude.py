"""Robustness similitude (Ning et al. eqs. 4, 6, 7, 8): circle samples, radars, exact IoU, DMRS."""

import numpy as np
import pytest
import torch

from companion import adversarial_sets, similitude as S
from toys import box, smooth_images


def _image_noise_perturbation(seed=0, shape=(1, 1, 16, 16)):
    g = torch.Generator().manual_seed(seed)
    clean = torch.rand(shape, generator=g) * 0.8 + 0.1
    n = torch.randn(shape, generator=g) * 0.1
    v = (torch.rand(shape, generator=g) - 0.5) * 0.02
    return clean, clean + n, clean + n + v


def test_circle_samples_lie_on_the_circle_in_the_plane_of_n_and_v():
    clean, noisy, adv = _image_noise_perturbation()
    samples, radius, adv_angle = S.circle_samples(clean, noisy, adv, 12)
    n, v = (noisy - clean).reshape(-1).double(), (adv - noisy).reshape(-1).double()
    assert radius == pytest.approx(float(v.norm()), rel=1e-6)
    offsets = (samples - noisy).reshape(12, -1).double()
    assert torch.allclose(offsets.norm(dim=1), torch.full((12,), radius, dtype=torch.float64), rtol=1e-5)
    basis, _ = torch.linalg.qr(torch.stack([n, v], dim=1))  # any orthonormal basis of span{n, v}
    residual = offsets - offsets @ basis @ basis.T
    assert residual.norm(dim=1).max() < 1e-5 * radius
    # angle 0 is the direction of the noise, and v itself sits at adv_angle
    assert torch.allclose(offsets[0], radius * n / n.norm(), atol=1e-6)
    e1, e2, _, _ = S.circle_basis(noisy - clean, adv - noisy)
    assert torch.allclose(S.circle_points(noisy, e1, e2, radius, [adv_angle])[0], adv[0], atol=1e-6)
    assert 0 <= adv_angle < 360


def test_circle_refuses_degenerate_input():
    clean, noisy, _ = _image_noise_perturbation()
    with pytest.raises(ValueError, match="parallel"):
        S.circle_basis(noisy - clean, 0.1 * (noisy - clean))
    with pytest.raises(ValueError, match="non-zero"):
        S.circle_basis(noisy - clean, torch.zeros_like(noisy))
    with pytest.raises(ValueError, match="at least 3"):
        S.angles(2)


def test_eq8_endpoints_reproduce_the_two_samples():
    clean, noisy, adv = _image_noise_perturbation()
    s1, s2 = noisy[0], adv[0]
    out = S.combine(s1[None], s2[None], np.linspace(0, 1, 11))
    assert torch.equal(out[0], s2) and torch.equal(out[10], s1)
    assert torch.allclose(out[5], (s1 + s2) / 2)


def test_radar_kinds():
    psnr = np.array([[30.0, 29.0, 28.0, 30.5]])
    center = np.array([30.0])
    assert np.allclose(S.radar(psnr, center, "literal"), psnr / 30.5)
    assert np.allclose(S.radar(psnr, center, "adversarial"), [[0.0, 0.5, 1.0, 0.0]])  # gains clip to 0
    assert np.allclose(S.radar(np.full((1, 4), 31.0), center), 0.0)  # nothing drops: an empty radar
    with pytest.raises(ValueError, match="unknown radar kind"):
        S.radar(psnr, center, "area")


def test_areas_and_iou_on_hand_made_polygons():
    d = S.angles(4)  # 0, 90, 180, 270: a square of "radius" r has area 2 r^2
    assert S.radar_area(np.ones(4), d) == pytest.approx(2.0)
    assert S.iou(np.ones(4), np.ones(4), d) == pytest.approx(1.0)
    assert S.iou(np.ones(4), np.full(4, 0.5), d) == pytest.approx(0.25)  # nested: area ratio
    d8 = S.angles(8)
    wedge_a, wedge_b = np.array([1, 1, 1, 0, 0, 0, 0, 0.0]), np.array([0, 0, 0, 0, 1, 1, 1, 0.0])
    assert S.intersection_area(wedge_a, wedge_b, d8) == 0 and S.iou(wedge_a, wedge_b, d8) == 0
    # a known crossing: on the wedge 0-90 the edges (2, 0)-(0, 1) and (1, 0)-(0, 2) cross at (2/3, 2/3);
    # the intersection is the quadrilateral (0, 0) (1, 0) (2/3, 2/3) (0, 1), area 2/3; each polygon has area 1
    a, b = np.array([2.0, 1.0, 0.0, 0.0]), np.array([1.0, 2.0, 0.0, 0.0])
    assert S.intersection_area(a, b, d) == pytest.approx(2 / 3)
    assert S.iou(a, b, d) == pytest.approx(0.5)
    assert np.isnan(S.iou(np.zeros(4), np.zeros(4), d))
    with pytest.raises(ValueError, match=">= 0"):
        S.radar_area(-np.ones(4), d)
    with pytest.raises(ValueError, match="180"):
        S.radar_area(np.ones(3), np.array([0.0, 10.0, 20.0]))


def test_exact_intersection_matches_shapely():
    shapely = pytest.importorskip("shapely.geometry")
    rng = np.random.default_rng(0)
    for n in (3, 5, 24, 100):
        d = S.angles(n)
        t = np.deg2rad(d)
        for _ in range(50):
            a, b = rng.uniform(0.01, 1, n), rng.uniform(0.01, 1, n)
            pa = shapely.Polygon(np.c_[a * np.cos(t), a * np.sin(t)])
            pb = shapely.Polygon(np.c_[b * np.cos(t), b * np.sin(t)])
            assert S.intersection_area(a, b, d) == pytest.approx(pa.intersection(pb).area, abs=1e-12)
            assert S.radar_area(a, d) == pytest.approx(pa.area, abs=1e-12)


def test_dmrs_matrix_is_symmetric_with_ones_on_the_diagonal():
    rng = np.random.default_rng(1)
    d = S.angles(24)
    study = S.CircleStudy(d, ["a", "b", "c"], np.ones(3), np.full(3, 90.0))
    for m in ("m1", "m2", "m3"):
        study.center[m] = np.full(3, 30.0)
        study.psnr[m] = 30.0 - rng.uniform(0, 2, (3, 24))
    for kind in S.RADAR_KINDS:
        table = S.dmrs_matrix(study, kind)
        assert np.allclose(table.values, table.values.T) and np.allclose(np.diag(table.values), 1.0)
        assert ((table.values > 0) & (table.values <= 1)).all()
    assert S.dmrs_matrix(study).loc["m1", "m2"] == pytest.approx(
        np.mean([S.iou(study.radar("m1")[i], study.radar("m2")[i], d) for i in range(3)]))


def test_regions():
    d = S.angles(12)
    drop = np.array([[0.1, 0.6, 1.0, 0.8, 0.2, 0, -0.1, 0, 0, 0, 0, 0],
                     [0.0, 0.5, 0.9, 1.2, 0.7, 0, 0, 0, 0, 0, 0, 0]])
    region = S.adversarial_region(drop, 0.5)
    assert region.tolist()[0] == [False, True, True, True] + [False] * 8
    assert region.tolist()[1] == [False, False, True, True, True] + [False] * 7
    assert S.band_share(region, d) == 1.0  # 30, 60, 90 and 60, 90, 120 degrees
    assert S.region_agreement(region) == pytest.approx(2 / 4)
    assert not S.adversarial_region(np.zeros((1, 12))).any()
    with pytest.raises(ValueError, match="threshold"):
        S.adversarial_region(drop, 0)


def test_circle_study_runs_each_model_once_per_image(tmp_path):
    images = smooth_images(n=2)
    models = {"box3": box(3), "box5": box(5)}
    made = adversarial_sets.adversarial_set(models["box3"], images, 25, 0, eps=0.03, steps=3)
    calls = {n: 0 for n in models}
    for name, m in models.items():
        m.register_forward_hook(lambda *a, name=name: calls.__setitem__(name, calls[name] + 1))
    study = S.circle_study(models, images, made, n=16, batch_size=17)
    assert calls == {"box3": 2, "box5": 2}  # one batch per image holds its whole circle and the centre
    again = S.circle_study(models, images, made, n=16, batch_size=1)  # batching changes no number
    assert np.allclose(again.psnr["box5"], study.psnr["box5"], atol=1e-4)
    assert study.psnr["box3"].shape == (2, 16) and study.center["box5"].shape == (2,)
    assert (study.drop("box3").max(axis=1) > 0).all()
    # the attacked model is hurt most near the adversarial direction
    peak = study.degrees[study.drop("box3").argmax(axis=1)]
    assert (np.abs((peak - study.adv_angle + 180) % 360 - 180) <= 90).all()
    psnr, center = S.combination_sweep(models["box3"], list(images)[0][1], made, 0, (45, 90), [0.0, 1.0])
    assert psnr[0] == pytest.approx(study.psnr["box3"][0][study.degrees.tolist().index(90.0)], abs=1e-4)
    assert psnr[1] == pytest.approx(study.psnr["box3"][0][study.degrees.tolist().index(45.0)], abs=1e-4)
    assert center == pytest.approx(study.center["box3"][0], abs=1e-4)
    with pytest.raises(ValueError, match="not on these images"):
        S.circle_study(models, smooth_images(n=3), made, n=16)


def test_adversarial_arc_follows_the_region_around_the_peak_and_wraps():
    d = S.angles(12)
    drop = np.array([0.8, 0.2, 0, 0, 0, 0, 0, 0, 0.9, 0, 0.6, 1.0])  # arc 300-330-0; 240 is a separate island
    assert S.adversarial_arc(drop, d) == (300.0, 0.0)
    assert S.adversarial_arc(np.roll(drop, 3), d) == (30.0, 90.0)
    with pytest.raises(ValueError, match="no adversarial region"):
        S.adversarial_arc(np.zeros(12), d)
