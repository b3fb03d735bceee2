import json

import numpy as np
import pytest
import torch

from companion import train
from companion.models import DnCNN, FFDNet


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return [torch.from_numpy(rng.random((1, 1, 48, 48), dtype=np.float32)) for _ in range(4)]


def _small(seed=0):
    torch.manual_seed(seed)
    return DnCNN(1, depth=3, features=8)


def test_resume_continues_exactly(images, tmp_path, monkeypatch):
    cfg = train.TrainConfig(steps=6, batch_size=4, patch_size=16, checkpoint_every=3)
    straight = _small()
    train.train(straight, images, cfg, tmp_path / "a.pt", progress=False)

    real_batch = train.PatchSampler.batch

    def crash_at_step_4(self, step):
        if step == 4:
            raise KeyboardInterrupt
        return real_batch(self, step)

    monkeypatch.setattr(train.PatchSampler, "batch", crash_at_step_4)
    with pytest.raises(KeyboardInterrupt):
        train.train(_small(), images, cfg, tmp_path / "b.pt", progress=False)
    assert torch.load(tmp_path / "b.pt", weights_only=True)["step"] == 3
    monkeypatch.setattr(train.PatchSampler, "batch", real_batch)
    resumed = _small(seed=123)  # the saved state, not the init, must decide the weights
    history = train.train(resumed, images, cfg, tmp_path / "b.pt", progress=False)["loss"]
    assert len(history) == 6
    assert all(torch.equal(a, b) for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()))


def test_training_reduces_the_loss_and_leaves_eval_mode(images, tmp_path):
    model = _small()
    cfg = train.TrainConfig(steps=40, batch_size=8, patch_size=16, lr=3e-3, sigma=50)
    loss = train.train(model, images, cfg, tmp_path / "s.pt", progress=False)["loss"]
    assert np.mean(loss[-10:]) < np.mean(loss[:5]) and not model.training


def test_another_configuration_is_refused(images, tmp_path):
    cfg = train.TrainConfig(steps=2, batch_size=2, patch_size=16)
    train.train(_small(), images, cfg, tmp_path / "s.pt", progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        train.train(_small(), images, train.TrainConfig(steps=2, batch_size=2, patch_size=16, lr=1e-2),
                    tmp_path / "s.pt", progress=False)


def test_noise_levels_per_patch():
    clean = torch.zeros(500, 1, 8, 8)
    cfg = train.TrainConfig(sigma=(0, 75))
    noisy, target, sigma = train.noisy_batch(clean, cfg, step=0)
    assert torch.equal(target, clean)
    assert sigma.min() >= 0 and sigma.max() <= 75 and sigma.std() > 15
    measured = noisy.flatten(1).std(1) * 255
    assert np.corrcoef(measured.numpy(), sigma.numpy())[0, 1] > 0.95
    assert torch.equal(noisy, train.noisy_batch(clean, cfg, step=0)[0])


def test_ffdnet_takes_one_level_per_image():
    torch.manual_seed(0)
    net = FFDNet(1, depth=3, features=8)
    x = torch.rand(2, 1, 16, 16)
    both = net(x, sigma=torch.tensor([10.0, 60.0]))
    assert torch.allclose(both[:1], net(x[:1], sigma=10), atol=1e-6)
    assert torch.allclose(both[1:], net(x[1:], sigma=60), atol=1e-6)


def test_noise2noise_targets_are_independent_draws_at_the_same_level():
    clean = torch.full((400, 1, 16, 16), 0.5)
    cfg = train.TrainConfig(mode="noise2noise", sigma=(10, 50))
    noisy, target, sigma = train.noisy_batch(clean, cfg, step=3)
    a, b = (noisy - clean).flatten(1), (target - clean).flatten(1)
    assert np.corrcoef(a.std(1).numpy(), b.std(1).numpy())[0, 1] > 0.95  # same level per patch
    assert abs(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1]) < 0.01  # independent noise


def test_poisson_and_impulse_draws():
    clean = torch.full((64, 3, 16, 16), 0.4)
    poisson, target, _ = train.noisy_batch(clean, train.TrainConfig(mode="noise2noise", noise="poisson", sigma=50.0), 0)
    assert poisson.mean().item() == pytest.approx(0.4, abs=0.01)
    assert poisson.var().item() == pytest.approx(0.4 / 50, rel=0.1)  # Poisson(50 x) / 50
    assert torch.allclose(poisson * 50, (poisson * 50).round(), atol=1e-4)
    impulse, _, _ = train.noisy_batch(clean, train.TrainConfig(mode="noise2noise", noise="impulse", sigma=0.3), 0)
    hit = (impulse != clean).any(1)
    assert hit.float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert ((impulse != clean).all(1) | ~hit).all()  # a pixel is replaced in all its channels


def test_annealed_l0_goes_from_l2_to_a_constant():
    cfg = train.TrainConfig(steps=100, loss="l0", mode="noise2noise", noise="impulse", sigma=0.2)
    out, target = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    assert train.loss_fn(out, target, cfg, 0).item() == pytest.approx(torch.mean((out - target) ** 2).item(), rel=1e-4)
    assert train.loss_fn(out, target, cfg, 100).item() == pytest.approx(1.0)
    assert train.loss_fn(out, target, cfg, 50).item() == pytest.approx((out - target).abs().mean().item(), rel=1e-4)


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="mode must be one of"):
        train.TrainConfig(mode="adversarial")
    with pytest.raises(ValueError, match="noise2noise"):
        train.TrainConfig(noise="poisson")


def test_identity_start_is_the_identity_and_can_learn():
    from companion.models.base import init_identity
    from companion.models.brdnet import BRDNet
    from companion.models.rddcnn import RDDCNN

    torch.manual_seed(0)
    model = DnCNN(1, depth=6, features=8, batch_norm=True).start_from_identity()
    x = torch.rand(2, 1, 16, 16, requires_grad=True)
    out = model(x)
    assert torch.equal(out, x)
    convs = [m for m in model.model if isinstance(m, torch.nn.Conv2d)]
    centre = convs[2].weight[:, :, 1, 1].detach()
    assert torch.allclose(centre, torch.eye(8), atol=0.05) and convs[2].weight.std() < 0.4
    ((out - 0.5) ** 2).mean().backward()  # the zero last layer still gets a gradient
    assert convs[-1].weight.grad.abs().sum() > 0
    brdnet = BRDNet(1, features=8).start_from_identity()
    assert torch.equal(brdnet(x.detach()), x.detach()) and brdnet.merge.weight.abs().sum() == 0
    rddcnn = RDDCNN(1, features=8)
    deformable = rddcnn.body[0].weight.detach().clone()
    rddcnn.start_from_identity()  # the deformable first layer keeps its start
    assert torch.equal(rddcnn(x.detach()), x.detach()) and torch.equal(rddcnn.body[0].weight, deformable)
    with pytest.raises(ValueError, match="conv stack"):
        init_identity(torch.nn.Sequential(torch.nn.ReLU()))
    with pytest.raises(ValueError, match="no identity start"):
        FFDNet(1).start_from_identity()
    with pytest.raises(ValueError, match="weight_init must be"):
        train.from_recipe({"steps": 2, "weight_init": "orthogonal"})


def test_corrupt_state_gives_a_clear_error(images, tmp_path):
    (tmp_path / "s.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable training state.*delete it"):
        train.train(_small(), images, train.TrainConfig(steps=2, batch_size=2, patch_size=16), tmp_path / "s.pt",
                    progress=False)


def test_recipes_exist_for_both_profiles():
    from companion import models

    for name in models.list_models():
        entry = models.spec(name)
        if entry.ours:
            quick, _ = train.from_recipe(train.recipe(name, "quick"))
            paper, _ = train.from_recipe(train.recipe(name, "paper"))
            assert paper.steps > 10 * quick.steps
    with pytest.raises(ValueError, match="no 'huge' training recipe"):
        train.recipe("rddcnn_b", "huge")


def test_recalibrate_averages_the_statistics_of_the_final_weights(images):
    from companion.models.brdnet import BatchRenorm2d

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.bn, self.brn = torch.nn.BatchNorm2d(4), BatchRenorm2d(4)

        def forward(self, x):
            return self.brn(self.bn(self.conv(x))).mean(1, keepdim=True)

    torch.manual_seed(0)
    net = Net()
    cfg = train.TrainConfig(steps=5, batch_size=4, patch_size=16)
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    train.recalibrate(net, images, cfg, batches=3)
    sampler = train.PatchSampler(images, 16, 4, seed=0)
    feats = [net.conv(train.noisy_batch(sampler.batch(5 + i), cfg, 5 + i)[0]) for i in range(3)]
    expected = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    assert torch.allclose(net.bn.running_mean, expected, atol=1e-5)
    assert not net.training and net.bn.momentum == 0.1 and net.brn.momentum == 0.01
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in weights.items())


@pytest.mark.parametrize("fields, phrase", [
    (dict(steps=0), "whole number TrainConfig.steps >= 1"),
    (dict(steps=2.5), "whole number TrainConfig.steps"),
    (dict(checkpoint_every=0), "TrainConfig.checkpoint_every >= 1"),
    (dict(batch_size=0), "TrainConfig.batch_size >= 1"),
    (dict(patch_size=-4), "TrainConfig.patch_size >= 1"),
    (dict(lr=0.0), "finite TrainConfig.lr > 0"),
    (dict(lr=float("nan")), "finite TrainConfig.lr > 0"),
    (dict(sigma=-1.0), "finite TrainConfig.sigma >= 0"),
    (dict(sigma=(0.0, float("inf"))), "finite TrainConfig.sigma >= 0"),
    (dict(sigma=(50.0, 10.0)), "low <= high"),
])
def test_configurations_that_cannot_train_are_refused(fields, phrase):
    with pytest.raises(ValueError, match=phrase):
        train.TrainConfig(**fields)


def test_a_non_finite_loss_stops_training_before_the_weights_take_it(images, tmp_path):
    cfg = train.TrainConfig(steps=6, batch_size=2, patch_size=16, lr=1e30, checkpoint_every=1)
    model = _small()
    with pytest.raises(train.Diverged, match=r"training diverged at step \d: the loss is (nan|inf)"):
        train.train(model, images, cfg, tmp_path / "s.pt", progress=False)
    saved = torch.load(tmp_path / "s.pt", weights_only=True)  # the last state, before the loss blew up
    assert 1 <= saved["step"] < 6 and all(np.isfinite(saved["history"]))
    assert all(torch.isfinite(v).all() for v in saved["model"].values())


def test_save_every_sets_the_state_interval_and_does_not_block_a_resume(images, tmp_path, monkeypatch):
    saves = []
    real_save = train.trainer.save_torch
    monkeypatch.setattr(train.trainer, "save_torch",
                        lambda obj, path: saves.append(obj["step"]) or real_save(obj, path))
    cfg = train.TrainConfig(steps=5, batch_size=2, patch_size=16, checkpoint_every=2)
    first = train.train(_small(), images, cfg, tmp_path / "s.pt", progress=False)["loss"]
    assert saves == [2, 4, 5]
    again = train.train(_small(seed=9), images, train.TrainConfig(steps=5, batch_size=2, patch_size=16,
                                                                    checkpoint_every=1), tmp_path / "s.pt",
                        progress=False)["loss"]
    assert again == first and saves == [2, 4, 5]  # the finished state resumed: nothing trained again


def test_states_that_are_not_training_states_are_refused_without_running_them(images, tmp_path):
    cfg = train.TrainConfig(steps=2, batch_size=2, patch_size=16)
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match=r"list.pt is not a readable training state \(not written by companion"):
        train.train(_small(), images, cfg, tmp_path / "list.pt", progress=False)
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "ran"), "w"))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps(Payload(), protocol=2))
    with pytest.raises(ValueError, match=r"evil.pt is not a readable training state.*another state file \(--state\)"):
        train.train(_small(), images, cfg, tmp_path / "evil.pt", progress=False)
    assert not (tmp_path / "ran").exists()


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A stand-in package folder, so that replacing its checkpoints touches no shipped file."""
    shipped = tmp_path / "pkg" / "companion" / "checkpoints"
    shipped.mkdir(parents=True)
    from companion import weights

    monkeypatch.setattr(weights, "_checkpoints", lambda: shipped)
    return shipped


def test_save_ours_writes_into_the_package_only_when_told(package, tmp_path, monkeypatch):
    from companion import config, io, weights

    monkeypatch.setattr(config, "project_root", lambda: tmp_path / "project")
    model = _small()
    path = weights.save_ours("net", model, {"note": 1})
    assert path == tmp_path / "project" / "outputs" / "checkpoints" / "net.pt" == weights.user_checkpoints() / "net.pt"
    assert json.loads(path.with_suffix(".json").read_text()) == {"note": 1, "sha256": io.sha256_of(path)}
    for folder in (package, package.parent, package / "sub", package.parent / ".." / "companion" / "checkpoints"):
        with pytest.raises(ValueError, match="inside the package.*replace_shipped=True"):
            weights.save_ours("net", model, {}, folder)
    (tmp_path / "link").symlink_to(package)
    with pytest.raises(ValueError, match="inside the package"):
        weights.save_ours("net", model, {}, tmp_path / "link")
    assert list(package.iterdir()) == []
    with pytest.raises(ValueError, match="writes into .* only, not"):
        weights.save_ours("net", model, {}, tmp_path / "elsewhere", replace_shipped=True)
    assert weights.save_ours("net", model, {}, replace_shipped=True) == package / "net.pt"
    assert weights.save_ours("net", model, {}, package, replace_shipped=True) == package / "net.pt"


@pytest.mark.parametrize("name", ["../net", "a/b", ".hidden", "", "/abs"])
def test_save_ours_takes_a_plain_file_name(name, package, tmp_path):
    from companion import weights

    with pytest.raises(ValueError, match="must be a plain file name"):
        weights.save_ours(name, _small(), {}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_save_ours_refuses_non_finite_weights(tmp_path):
    from companion import weights

    model = _small()
    with torch.no_grad():
        model.model[0].weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="hold NaN or inf, the first 'model.0.weight'.*nothing written"):
        weights.save_ours("net", model, {}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_models_without_a_recipe_say_why():
    with pytest.raises(ValueError, match="bm3d is a classical method: nothing to train"):
        train.recipe("bm3d", "quick")
    with pytest.raises(ValueError, match="ecndnet_s25 has no training recipe .*did you mean .*dncnn_s25"):
        train.recipe("ecndnet_s25", "quick")
    with pytest.raises(ValueError, match="unknown model 'dncnn_s52'; did you mean .*dncnn_s25"):
        train.recipe("dncnn_s52", "quick")
