"""The gradient-masking checks (Carlini et al. 2019) fire on masked models and stay quiet on the
official DnCNN-S: a DnCNN behind a quantizing layer (zero gradient), BM3D (no gradient: BPDA is
chosen) and the official DnCNN-S at the quick budget."""

import dataclasses

import pandas as pd
import pytest
import torch

import companion
from companion.audit import masking, protocol
from companion.attacks.engine import ZeroGradientWarning
from companion.audit.ensemble import MEMBERS
from companion.models import create

from test_audit import TINY, box


class Quantized(torch.nn.Module):
    """A denoiser behind a quantizing input layer (8-bit rounding): the output is unchanged up to
    the rounding, the gradient is exactly zero."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(torch.round(x * 255) / 255)


def _status(card) -> dict:
    return {c["check"]: c["status"] for c in card.masking}


def test_a_quantized_dncnn_raises_the_gradient_flags(data_dir, weights_dir):
    masked = Quantized(create("dncnn_s25"))
    budget = dataclasses.replace(TINY, square_queries=100)
    with pytest.warns(ZeroGradientWarning):  # the raw gradient attacks say why they cannot move
        card = companion.audit(masked, budget=budget, radar=False, cache_dir=False, threads=1)
    status = _status(card)
    assert card.probe["status"] == "zero" and card.members["bpda_apgd"] == "bpda" and card.members["apgd"] == "raw"
    assert status["gradient"] == "flag" and status["gradient_free_linf"] == "flag" and status["gradient_free_l2"] == "flag"
    curves = card.tables["curves"]
    linf = curves[curves["norm"] == "linf"].set_index("attack")["psnr"]
    assert linf["bpda_apgd"] < linf["apgd"] - 0.5  # BPDA finds what the zero gradient hid


def test_bm3d_gets_bpda_and_the_gradient_flag(data_dir):
    budget = dataclasses.replace(TINY, apgd_steps=2, square_queries=4, more_steps=1, unbounded_steps=2)
    card = companion.audit("bm3d", budget=budget, radar=False, cache_dir=False, workers=0, threads=1)
    assert card.probe["status"] == "absent"
    assert card.members["bpda_apgd"] == "bpda" and "apgd" not in card.members and "pgd" not in card.members
    assert card.members["apgd_long"] == "bpda" and card.members["apgd_unbounded"] == "bpda"
    assert _status(card)["gradient"] == "flag"


class Randomized(torch.nn.Module):
    """A mean filter of a randomly perturbed input: two passes on one input differ."""

    def __init__(self):
        super().__init__()
        self.blur = box()

    def forward(self, x):
        return self.blur(x + 0.01 * torch.randn_like(x))


def test_a_randomized_model_gets_eot_and_the_same_bits_twice(data_dir):
    cards = [companion.audit(Randomized(), budget=TINY, radar=False, cache_dir=False, threads=1) for _ in range(2)]
    assert cards[0].probe["randomized"] and cards[0].members["eot_apgd"] == "eot"
    assert "EOT" in cards[0].masking[0]["evidence"]
    assert cards[0].per_image == cards[1].per_image  # every draw seeded from the task's coordinates


def _rows(**psnr) -> pd.DataFrame:
    """Per-image rows of a made-up audit: ``attack=(norm, budget, psnr of image 0, of image 1)``."""
    out = []
    for attack, (norm, budget, *values) in psnr.items():
        member = MEMBERS[attack]
        out += [{"sigma": 25.0, "norm": norm, "budget": budget, "attack": attack, "through": member.through,
                 "image": f"i{k}", "psnr": v, "kind": member.kind, "worst": member.worst} for k, v in enumerate(values)]
    return pd.DataFrame(out)


def test_each_check_flags_its_evidence_and_passes_without_it():
    good = _rows(apgd=("linf", 0.012, 28.0, 27.0), square=("linf", 0.012, 29.3, 29.1),
                 apgd_long=("linf", 0.012, 27.98, 26.99), random=("linf", 0.012, 29.45, 29.4),
                 apgd_unbounded=("linf", 1.0, 5.0, 6.0))
    status = {c["check"]: c["status"] for c in masking.checks(good, {"status": "ok", "grad_norm": 2.0, "zero_share": 0.0,
                                                                     "randomized": False}, 25.0, 0.012, 29.5,
                                                              {"linf": 27.5})}
    assert status == {"gradient": "pass", "gradient_free_linf": "pass", "gradient_free_l2": "n/a", "more_steps": "pass",
                      "random_linf": "pass", "random_l2": "n/a", "unbounded": "pass"}
    bad = _rows(apgd=("linf", 0.012, 29.4, 29.3), square=("linf", 0.012, 29.0, 28.9),
                apgd_long=("linf", 0.012, 28.0, 27.9), random=("linf", 0.012, 29.2, 29.2),
                apgd_unbounded=("linf", 1.0, 25.0, 26.0))
    checks = masking.checks(bad, {"status": "non-finite", "randomized": True}, 25.0, 0.012, 29.5, {"linf": 28.95})
    status = {c["check"]: c["status"] for c in checks}
    assert all(status[k] == "flag" for k in ("gradient", "gradient_free_linf", "more_steps", "random_linf", "unbounded"))
    assert "EOT" in checks[0]["evidence"] and "28.95 dB" in checks[1]["evidence"] and checks[1]["threshold"]


def test_the_official_dncnn_s_raises_no_flag_at_the_quick_budget(data_dir, weights_dir):
    quick = dataclasses.replace(protocol.PROTOCOLS["quick"], factors=(1.0,))
    card = companion.audit("dncnn_s25", budget=quick, radar=False, cache_dir=False, workers=0, threads=1)
    assert card.target["weights"].startswith("official")
    assert all(c["status"] == "pass" for c in card.masking), card.masking
