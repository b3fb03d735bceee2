import dataclasses
import json
import warnings

import pytest
import timm
import torch

from companion import data, evaluation, io, models, train, weights
from companion.models import DnCNN

# Measured with the official weights: Gaussian sigma 25, image i seeded with i, output clipped.
# They sit where the published Set12 / CBSD68 results put these models; a change of layout,
# key mapping, noise or metric moves them by far more than the tolerance.
REFERENCE = {
    "dncnn_s25": ("set12", [30.2127, 33.1079]),
    "dncnn_b": ("set12", [30.0383, 33.0852]),
    "ffdnet_gray": ("set12", [30.0564, 33.2721]),
    "ecndnet_s25": ("set12", [30.1416, 32.9969]),  # released without BN counters (PyTorch < 0.4.1)
    "n2n_color": ("set3c", [30.4514, 29.7539]),
    "n2n_ph_gaussian50": ("set3c", [29.9373, 29.5006]),
    "cdncnn_b": ("cbsd68", [28.2382, 32.2774]),
    "ffdnet_color": ("cbsd68", [28.1452, 32.2533]),
}


def test_registry_names():
    assert {"dncnn_s15", "dncnn_s25", "dncnn_s50", "dncnn_b", "cdncnn_b", "ffdnet_gray",
            "ffdnet_color", "ecndnet_s15", "ecndnet_s25", "ecndnet_s50"} <= set(models.list_models())
    assert set(models.list_models(channels=3)) >= {"cdncnn_b", "ffdnet_color"}
    assert "dncnn_b" in models.list_models(family="blind")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_official_weights_denoise_two_images(name, data_dir, weights_dir):
    dataset, expected = REFERENCE[name]
    model = models.create(name)
    assert model.info["weights"].startswith("official") and not model.training
    rows, _ = evaluation.gaussian_denoising(model, data.load(dataset, limit=2), sigma=25, seed=0)
    assert [r["psnr"] for r in rows] == pytest.approx(expected, abs=0.01)
    assert all(r["psnr"] > r["noisy_psnr"] + 6 for r in rows)


def test_ffdnet_is_bound_to_its_noise_level(weights_dir):
    x = torch.rand(1, 1, 31, 33)  # odd sizes are padded and cropped back
    m15, m50 = models.create("ffdnet_gray", sigma=15), models.create("ffdnet_gray", sigma=50)
    assert m15.sigma == 15 and m15(x).shape == x.shape
    assert not torch.allclose(m15(x), m50(x))
    assert torch.allclose(m50(x), m15(x, sigma=50))


def test_timm_builds_every_model(weights_dir):
    for name in models.list_models():
        assert name in timm.list_models()
    assert timm.create_model("dncnn_b", pretrained=True).info["weights"].startswith("official")
    net = timm.create_model("ffdnet_color", sigma=30)
    assert net.info["weights"].startswith("none") and net.sigma == 30


def test_bad_requests():
    with pytest.raises(ValueError, match="unknown model 'dncnn'.*dncnn_b"):
        models.create("dncnn")
    with pytest.raises(ValueError, match="dncnn_s15/s25/s50"):
        models.create("dncnn_s25", weights=None, sigma=15)
    model = models.create("dncnn_b", weights=None)
    with pytest.raises(ValueError, match="gray model.*color=False"):
        model(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="NCHW"):
        model(torch.rand(16, 16))
    with pytest.raises(weights.WeightsError, match="neither"):
        models.create("dncnn_b", weights="no/such/file.pth")


def test_corrupt_weights_are_refused(weights_dir, tmp_path, monkeypatch):
    blob = bytearray((weights_dir / "dncnn_25.pth").read_bytes())
    blob[-100] ^= 0xFF
    (tmp_path / "dncnn_25.pth").write_bytes(bytes(blob))
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(weights.WeightsError, match="corrupt.*sha256"):
        models.create("dncnn_s25", weights="official")


def test_missing_weights_say_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(weights.WeightsError, match="KAIR/releases/download/v1.0/dncnn_25.pth.*COMPANION_WEIGHTS_DIR"):
        models.create("dncnn_s25", weights="official")
    with pytest.raises(weights.WeightsError, match="never downloaded automatically"):
        models.create("dncnn_s50")  # no checkpoint of ours to fall back to either


def test_our_shipped_checkpoints_match_their_model_cards():
    for name in weights.our_checkpoints():
        card = weights.model_card(name)
        assert card["sha256"] == io.sha256_of(weights.ours(name))
        scores = [v["psnr"] for v in card["evaluation"].values() if isinstance(v, dict)]
        # Gaussian sigma 25 cards: above 25 dB; Noise2Noise cards are scored on their own noise, where
        # the noisy input is about 15 dB (impulse p = 0.2) and L2 on impulse noise is a weak loss
        floor = 25 if card["evaluation"].get("noise", "gaussian") == "gaussian" else 20
        assert scores and min(scores) > floor and card["trained_by"].startswith("companion.train:")
        model = models.create(card["model"], weights="ours")
        assert model.info["weights"] == f"ours: companion/checkpoints/{name}.pt"


def test_our_model_cards_hold_the_registry_recipe():
    """A card's command reproduces its checkpoint only if the registry's recipe is the one it was
    trained with: the fields a card records equal the recipe's, those added to TrainConfig after the
    card was written hold their defaults (the recipe does not set them)."""
    def as_card(config):  # a card stores the config as JSON: tuples become lists
        return json.loads(json.dumps(config))

    defaults = as_card({f.name: f.default for f in dataclasses.fields(train.TrainConfig)})
    for name in weights.our_checkpoints():
        card = weights.model_card(name)
        cfg, _ = train.from_recipe(train.recipe(card["model"], card["profile"]))
        recipe = as_card(vars(cfg))
        assert {field: card["config"].get(field, defaults[field]) for field in recipe} == recipe, name


def test_unpinned_official_file_loads_from_a_named_directory(tmp_path, monkeypatch):
    torch.save(DnCNN(1, 17).state_dict(), tmp_path / "dncnn_15.pth")
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    with pytest.warns(weights.UnpinnedWeightsWarning):
        assert models.create("dncnn_s15").info["weights"].startswith("official")


def test_weights_that_do_not_fit(weights_dir):
    with pytest.raises(weights.WeightsError, match="does not fit DnCNN.*unexpected"):
        models.create("dncnn_s25", weights=weights_dir / "dncnn_gray_blind.pth")


def test_loading_is_weights_only(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    torch.save({"model.0.weight": torch.zeros(1), "evil": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(weights.WeightsError, match="could not read"):
        weights.read_state_dict(tmp_path / "evil.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(weights.WeightsError, match="corrupt or not a state_dict"):
        models.create("dncnn_b", weights=tmp_path / "junk.pth")


def test_denoise_restores_the_training_mode():
    model = models.create("dncnn_b", weights=None).train()
    with warnings.catch_warnings():
        evaluation.denoise(model, torch.rand(1, 1, 16, 16))
    assert model.training


def test_denoise_refuses_0_255_input():
    model = models.create("dncnn_b", weights=None)
    with pytest.raises(ValueError, match="Divide 0-255 data by 255"):
        evaluation.denoise(model, torch.rand(1, 1, 16, 16) * 255)


@pytest.fixture
def our_checkpoint(tmp_path, monkeypatch):
    """A checkpoint of ours with its model card, and a registry entry that has only it."""
    import json

    net = DnCNN(1, 20)
    torch.save(net.state_dict(), tmp_path / "dncnn_b_test.pt")
    card = {"sha256": io.sha256_of(tmp_path / "dncnn_b_test.pt"), "trained": "a test"}
    (tmp_path / "dncnn_b_test.json").write_text(json.dumps(card))
    monkeypatch.setattr(weights, "_checkpoints", lambda: tmp_path)
    entry = models.ModelSpec("test_ours", lambda **kw: DnCNN(1, 20), 1, "blind", "test", ours="dncnn_b_test")
    monkeypatch.setitem(models.MODELS, "test_ours", entry)
    return tmp_path, net


def test_our_checkpoints_load_and_are_verified(our_checkpoint):
    folder, net = our_checkpoint
    assert weights.our_checkpoints() == ["dncnn_b_test"]
    model = models.create("test_ours")
    assert model.info["weights"] == "ours: companion/checkpoints/dncnn_b_test.pt"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), net.state_dict().values()))
    with pytest.raises(weights.WeightsError, match="has no official weights"):
        models.create("test_ours", weights="official")
    torch.save(DnCNN(1, 20).state_dict(), folder / "dncnn_b_test.pt")  # no longer what the card says
    with pytest.raises(weights.WeightsError, match="corrupt"):
        models.create("test_ours")


def test_best_falls_back_to_ours_only_when_the_official_file_is_absent(our_checkpoint, weights_dir,
                                                                      tmp_path, monkeypatch):
    both = models.ModelSpec("test_both", lambda **kw: DnCNN(1, 20), 1, "blind", "test",
                            official="dncnn_gray_blind", ours="dncnn_b_test")
    monkeypatch.setitem(models.MODELS, "test_both", both)
    assert models.create("test_both").info["weights"].startswith("official")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(empty))
    with pytest.warns(UserWarning, match="official weights not found, using ours"):
        assert models.create("test_both").info["weights"].startswith("ours")
    with pytest.raises(weights.WeightsNotFoundError):
        models.create("test_both", weights="official")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "dncnn_gray_blind.pth").write_bytes(b"tampered")
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(corrupt))
    with pytest.raises(weights.WeightsError, match="corrupt"):
        models.create("test_both")


@pytest.mark.parametrize("name", ["dncnn_s25", "ffdnet_gray"])
def test_batch_norm_training_network_folds_into_the_official_layout(name):
    entry = models.spec(name)
    torch.manual_seed(0)
    net = entry.build(**dict(entry.train_kwargs)).train()
    for _ in range(3):  # give the BN layers running statistics that are not the identity
        net(torch.rand(4, 1, 24, 24) * 2)
    net.eval()
    plain = net.deployable()
    x = torch.rand(2, 1, 23, 25)
    with torch.no_grad():
        assert torch.allclose(net(x), plain(x), atol=1e-5)
    assert set(plain.state_dict()) == set(entry.build().state_dict())
    assert plain.deployable() is plain and net.model is not plain.model


def test_noise2noise_takes_any_size_and_every_plummer_hauser_model_loads(weights_dir):
    names = [n for n in models.list_models() if n.startswith("n2n_ph_")]
    assert len(names) == 7
    for name in names:
        assert models.create(name).info["weights"].startswith("official")
    net = models.create("n2n_color")
    x = torch.rand(1, 3, 45, 70)
    with torch.no_grad():
        assert net(x).shape == x.shape
