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
    noisy, sigma = train.noisy_batch(clean, cfg, step=0)
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
