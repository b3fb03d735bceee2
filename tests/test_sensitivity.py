"""The sensitivity sweeps of 01, 02 and 06 (issue 31, part 4): the step rules, the grid of
protocols, invariants of DMR along the sweeps, the 'which protocol reproduces' sentence, bad input."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from companion import data, models, plots  # noqa: E402
from companion.attacks import denoising_pgd, engine, l2_denoising_pgd  # noqa: E402
from companion.experiments import attack, l2_variant, sensitivity, transfer  # noqa: E402
from companion.noise import gaussian  # noqa: E402
from toys import box, smooth_images  # noqa: E402

EPS, STEPS = 0.012, 5


def test_signed_step_is_alpha_times_the_sign():
    grad = torch.randn(2, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    x = torch.zeros_like(grad)
    assert torch.equal(engine.ascent_step("sign", 0.01)(x, grad), 0.01 * grad.sign())


def test_normalized_step_has_the_l2_length_of_a_signed_step_per_image():
    grad = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    grad[1] *= 100  # one image's gradient scale must not change the other's step
    step = engine.ascent_step("l2", 0.01)(torch.zeros_like(grad), grad)
    lengths = step.flatten(1).norm(dim=1)
    assert torch.allclose(lengths, torch.full((2,), 0.01 * np.sqrt(48)), rtol=1e-5)
    cosine = torch.nn.functional.cosine_similarity(step.flatten(1), grad.flatten(1))
    assert torch.allclose(cosine, torch.ones(2), atol=1e-5)
    alone = engine.ascent_step("l2", 0.01)(torch.zeros_like(grad[:1]), grad[:1])
    assert torch.allclose(alone, step[:1])


def test_unknown_step_rule_is_refused_at_the_attacks_entry():
    clean = smooth_images(1, 16).images
    with pytest.raises(ValueError, match="step rule 'linf'.*sign"):
        denoising_pgd(box(3), gaussian(clean, 25, seed=0), clean, step="linf")
    with pytest.raises(ValueError, match="step rule"):
        l2_denoising_pgd(box(3), gaussian(clean, 25, seed=0), clean, step="")


@pytest.mark.parametrize("attack_fn", [denoising_pgd, l2_denoising_pgd])
def test_normalized_steps_keep_the_constraint_and_batch_equals_one_image(attack_fn):
    clean = smooth_images(3, 16).images
    noisy = gaussian(clean, 25, seed=0)
    adv = attack_fn(box(3), noisy, clean, eps=EPS, steps=3, step="l2", seed=4)
    if attack_fn is denoising_pgd:
        assert float((adv - noisy).abs().max()) <= EPS + 1e-6
    else:
        assert bool(((adv - clean).flatten(1).norm(dim=1) <= (noisy - clean).flatten(1).norm(dim=1) * (1 + 1e-5)).all())
    assert not torch.equal(adv, attack_fn(box(3), noisy, clean, eps=EPS, steps=3, seed=4))  # the rule matters
    one = attack_fn(box(3), noisy[1:2], clean[1:2], eps=EPS, steps=3, step="l2", seed=5)
    assert torch.allclose(one, adv[1:2], atol=1e-6)


def test_the_grid_holds_every_sweep_and_one_stated_protocol():
    table = sensitivity.protocols(EPS, STEPS, sensitivity.GRAY_BUDGETS)
    rules = len(sensitivity.RULES)
    counts = table.sweep.value_counts()
    assert counts["step size"] == len(sensitivity.STEP_FRACTIONS) * rules  # eps / T is in the grid
    assert counts["budget"] == len(sensitivity.GRAY_BUDGETS) * rules  # so is 0.012
    assert counts["scale reading"] == len(sensitivity.SCALE_READINGS) * rules
    stated = table[table.default]
    assert list(stated.sweep) == ["step size", "budget"] and set(stated.rule) == {"sign"}
    assert np.allclose(stated.eps, EPS) and np.allclose(stated.alpha, EPS / STEPS)
    steps = table[table.sweep == "step size"]
    assert np.allclose(sorted(set(steps["alpha / eps"])), sorted(sensitivity.STEP_FRACTIONS))
    readings = table[table.sweep == "scale reading"]
    assert np.allclose(sorted(set(readings.eps)), sorted(EPS * k for k in sensitivity.SCALE_READINGS.values()))
    assert set(readings.reading) == set(sensitivity.SCALE_READINGS)


def test_a_stated_protocol_off_the_grid_joins_it():
    table = sensitivity.protocols(0.01, STEPS, sensitivity.GRAY_BUDGETS, alpha=0.003)
    rules = len(sensitivity.RULES)
    assert (table.sweep == "step size").sum() == (len(sensitivity.STEP_FRACTIONS) + 1) * rules
    assert (table.sweep == "budget").sum() == (len(sensitivity.GRAY_BUDGETS) + 1) * rules
    stated = table[table.default]
    assert np.allclose(stated.alpha, 0.003) and np.allclose(stated.eps, 0.01)


@pytest.mark.parametrize("kwargs, message", [
    (dict(eps=0.0), "eps > 0"), (dict(eps=3.0), "8/255"), (dict(eps=float("nan")), "finite eps"),
    (dict(steps=0), "steps >= 1"), (dict(alpha=-0.01), "alpha"), (dict(budgets=[0.01, float("inf")]), "budget"),
])
def test_bad_sweep_input_is_refused_in_one_line(kwargs, message):
    args = {**dict(eps=EPS, steps=STEPS, budgets=sensitivity.GRAY_BUDGETS), **kwargs}
    with pytest.raises(ValueError, match=message) as err:
        sensitivity.protocols(args.pop("eps"), args.pop("steps"), args.pop("budgets"), **args)
    assert "\n" not in str(err.value)


def _identity_study(budgets=(0.0, 0.004, 0.012, 0.03), paper=-1.0):
    return sensitivity.Study("identity", denoising_pgd, budgets, paper, "a synthetic value")


def test_dmr_never_rises_with_the_step_or_the_budget_on_an_identity_denoiser():
    """D(x) = x without random start: every step moves each value away from y, by min(T alpha,
    eps) (signed) or up to it (normalized), so PSNR can only fall as alpha or eps grow."""
    table, reason = sensitivity.sweep(_identity_study(), {"identity": box(1)}, smooth_images(2, 16), 25, 0, EPS, STEPS,
                                      progress=False, random_start=False)
    assert reason is None and table.DMR.notna().all() and np.allclose(table["drop"], -table.DMR)
    assert (table[table.eps == 0].DMR == 0).all()  # no budget: the noisy image itself
    for rule in sensitivity.RULES:
        for sweep, x in (("budget", "eps"), ("step size", "alpha")):
            rows = table[(table.sweep == sweep) & (table.rule == rule)].sort_values(x)
            assert (np.diff(rows.DMR) <= 1e-9).all(), (rule, sweep, rows.DMR.tolist())
        readings = table[(table.sweep == "scale reading") & (table.rule == rule)]
        stated = table[(table.sweep == "budget") & (table.rule == rule) & np.isclose(table.eps, EPS)]
        assert (readings.DMR >= stated.DMR.iloc[0] - 1e-9).all()  # both readings shrink the budget
    shared = table.groupby(["rule", "eps", "alpha"]).DMR.nunique()
    assert (shared == 1).all()  # a protocol in two sweeps is one measurement
    assert table.se.notna().all() and (table.se >= 0).all()


def test_dncnn_b_drops_more_with_the_budget_within_noise(data_dir, weights_dir, monkeypatch):
    monkeypatch.setattr(sensitivity, "STEP_FRACTIONS", (1 / STEPS,))
    monkeypatch.setattr(sensitivity, "SCALE_READINGS", {})
    study = sensitivity.Study("dncnn_b", denoising_pgd, (0.03,), -4.0, "a synthetic value")
    images = data.load("set12", limit=1, crop=40)
    table, _ = sensitivity.sweep(study, {"dncnn_b": models.create("dncnn_b")}, images, 25, 0, 0.004, STEPS,
                                 progress=False)
    for rule in sensitivity.RULES:
        rows = table[(table.sweep == "budget") & (table.rule == rule)].sort_values("eps")
        assert (np.diff(rows.DMR) <= 0.05).all() and rows.DMR.iloc[-1] < rows.DMR.iloc[0] - 0.5, rows.DMR.tolist()


def test_the_sweep_says_why_when_its_model_is_not_loaded():
    table, reason = sensitivity.sweep(_identity_study(), {}, smooth_images(1, 8), 25, 0, EPS, STEPS, progress=False)
    assert table is None and "identity is not loaded" in reason


def _synthetic(paper):
    """The grid with DMR = -100 eps - 10 (alpha / eps) - (0.5 for normalized steps): every protocol
    a distinct value."""
    table = sensitivity.protocols(EPS, STEPS, sensitivity.GRAY_BUDGETS)
    table["DMR"] = -100 * table.eps - 10 * table["alpha / eps"] - 0.5 * (table.rule == "l2")
    table["drop"] = -table.DMR
    return table, sensitivity.Study("dncnn_b", denoising_pgd, sensitivity.GRAY_BUDGETS, paper, "the synthetic paper")


def test_the_sentence_names_the_protocol_that_reproduces_the_paper():
    table, _ = _synthetic(0)
    target = table[(table.rule == "l2") & (table.sweep == "step size") & np.isclose(table["alpha / eps"], 0.5)].iloc[0]
    table, study = _synthetic(target.DMR + 0.05)
    hits = sensitivity.matches(table, study.paper_dmr, tolerance=0.1)
    assert len(hits) == 1 and np.isclose(hits.DMR.iloc[0], target.DMR)
    sentence = sensitivity.reproduction(table, study, "2 toy images", tolerance=0.1)
    assert "1 reproduces the synthetic paper" in sentence and sensitivity.describe(target) in sentence
    assert "normalized steps, eps 0.012, alpha = eps/2" in sentence
    assert f"{table[table.default].DMR.iloc[0]:+.2f} dB" in sentence and "\n" not in sentence


def test_the_budget_bracket_interpolates_or_names_the_nearest_end():
    table, _ = _synthetic(0)  # signed budget sweep: DMR = -100 eps - 2
    inside = sensitivity.budget_bracket(table, -100 * 0.009 - 2)
    assert "between eps 0.006 (-2.60) and 0.012 (-3.20)" in inside
    assert f"about eps {np.sqrt(0.006 * 0.012):.2g}" in inside  # halfway in DMR, halfway in log eps
    beyond = sensitivity.budget_bracket(table, -50.0)
    assert "beyond the swept range" in beyond and "eps 0.05 (-7.00)" in beyond


def test_the_standard_error_widens_the_match():
    table, study = _synthetic(-2.0)
    table["se"] = 0.0
    far = table.loc[(table.DMR + 2.0).abs().sort_values().index[-1]]
    assert far.name not in sensitivity.matches(table, -2.0, 0.1).index
    table.loc[far.name, "se"] = (abs(far.DMR + 2.0) - 0.1) / sensitivity.MATCH_SE + 1e-6
    assert far.name in sensitivity.matches(table, -2.0, 0.1).index
    assert f"{far.DMR:+.2f} +- {table.loc[far.name, 'se']:.2f}" in sensitivity.reproduction(table, study, "x", 0.1)


def test_the_sentence_says_none_and_names_the_closest():
    table, study = _synthetic(-50.0)
    sentence = sensitivity.reproduction(table, study, "2 toy images")
    closest = table.loc[(table.DMR + 50).abs().idxmin()]
    assert "none reproduces" in sentence and sensitivity.describe(closest) in sentence


@pytest.mark.parametrize("paper, tolerance, message", [
    (float("nan"), 0.3, "finite paper_dmr"), (-1.0, -0.1, "tolerance >= 0"), ("-1", 0.3, "paper_dmr must be a number"),
])
def test_bad_match_input_is_refused(paper, tolerance, message):
    table, _ = _synthetic(-1.0)
    with pytest.raises((ValueError, TypeError), match=message):
        sensitivity.matches(table, paper, tolerance)
    with pytest.raises(ValueError, match="table of sensitivity.sweep"):
        sensitivity.matches(None, -1.0)


def test_each_notebook_reads_its_paper_value_from_the_experiment_modules():
    gauss, adv = transfer.PAPER_VII["ffdnet_color"]
    assert sensitivity.for_notebook("01").paper_dmr == attack.PAPER_DMR["dncnn_b"][2]
    assert np.isclose(sensitivity.for_notebook("02").paper_dmr, adv - gauss)
    assert str(-sensitivity.for_notebook("06").paper_dmr) in str(l2_variant.PAPER_DROP["L2"])
    assert sensitivity.for_notebook("02").budgets[-1] == transfer.PAPER_SETTINGS["color_eps"]
    with pytest.raises(ValueError, match="unknown notebook with a sensitivity section '07'"):
        sensitivity.for_notebook("07")


def test_the_figure_draws_both_sweeps_and_the_paper_line():
    table, _ = _synthetic(-2.0)
    table["step"] = table.rule.map(sensitivity.RULES)
    fig = plots.sensitivity_panels(table, -2.0, "paper")
    left, right = fig.axes[:2]
    assert left.get_xscale() == right.get_xscale() == "log"
    assert all(any(np.allclose(line.get_ydata(), -2.0) for line in ax.get_lines()) for ax in (left, right))
    assert "DMR (dB)" in left.get_ylabel() and "[0, 1]" in right.get_xlabel()


def test_record_writes_the_table_and_the_sentence_or_the_reason(tmp_path):
    from companion import report

    table, study = _synthetic(-2.0)
    results = report.Results("01_attack", tmp_path, {"profile": "quick"})
    line = sensitivity.record(results, study, table, None, "2 toy images")
    assert results.data["notes"] == [line] and line == sensitivity.reproduction(table, study, "2 toy images")
    recorded = results.data["tables"][0]
    assert recorded["id"] == "sensitivity" and len(recorded["rows"]) == len(table)
    assert {r["paper DMR"] for r in recorded["rows"]} == {-2.0}
    skipped = sensitivity.record(results, study, None, "model absent", "2 toy images")
    assert skipped == "model absent" and results.data["notes"][-1] == "model absent" and len(results.data["tables"]) == 1
