"""The trainer: supervised Gaussian denoising on random patches, resumable, deterministic.

This is the mode every zoo model starts from: a fixed noise level (non-blind models such as
DnCNN-S) or a level drawn uniformly per patch from a range (blind models, and models with a
noise-level input such as FFDNet, which are then told each patch's level). Facts from the
papers: 40x40 patches of Train400 with flips and rotations, Adam, MSE loss, learning rate
divided by 10 late in training (DnCNN, Zhang et al. 2017, Sec. IV-A; FFDNet, Zhang et al. 2018,
Sec. IV-A, which draws sigma from [0, 75]).

Resuming: the state (weights, optimizer, step, loss history) is written atomically every
``checkpoint_every`` steps; patches and noise of step ``t`` depend only on ``(seed, t)``, so a
resumed run continues exactly where the interrupted one stopped.
"""

import inspect
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .data import PatchSampler
from .evaluation import model_device
from .weights import save_atomic


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 64
    patch_size: int = 40
    lr: float = 1e-3
    lr_drops: tuple = (0.6, 0.85)  # fractions of ``steps`` after which lr is divided by 10
    sigma: float | tuple = 25.0  # one level, or (low, high) drawn uniformly per patch (0-255)
    seed: int = 0
    checkpoint_every: int = 100

    def lr_at(self, step: int) -> float:
        return self.lr * 0.1 ** sum(step >= f * self.steps for f in self.lr_drops)


def noisy_batch(clean: torch.Tensor, cfg: TrainConfig, step: int) -> tuple:
    """Gaussian noise for batch ``step``: returns (noisy, per-patch sigma on the 0-255 scale)."""
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
    n = clean.shape[0]
    if isinstance(cfg.sigma, (tuple, list)):
        low, high = cfg.sigma
        sigma = low + (high - low) * torch.rand(n, generator=g)
    else:
        sigma = torch.full((n,), float(cfg.sigma))
    noise = torch.randn(clean.shape, generator=g) * (sigma / 255.0).view(-1, 1, 1, 1)
    return clean + noise.to(clean.device), sigma.to(clean.device)


def _takes_sigma(model: torch.nn.Module) -> bool:
    return "sigma" in inspect.signature(model.forward).parameters


def train(model: torch.nn.Module, images, cfg: TrainConfig, state_path: str | Path,
          progress: bool = True) -> dict:
    """Train ``model`` in place on patches of ``images``; returns the loss history.

    ``state_path`` holds the resumable state: an existing one with the same configuration is
    continued, one with another configuration is an error (delete it to start over).
    """
    from tqdm.auto import tqdm

    state_path = Path(state_path)
    device = model_device(model)
    sampler = PatchSampler(images, cfg.patch_size, cfg.batch_size, seed=cfg.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step, history, elapsed = 0, [], 0.0
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
    if state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=True)
        if state["config"] != config:
            raise ValueError(f"{state_path} was written with another configuration "
                             f"({state['config']}); delete it to start over")
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise ValueError(f"{state_path} holds the state of another network; delete it to start "
                             f"over ({str(err)[:200]})") from err
        optimizer.load_state_dict(state["optimizer"])
        step, history, elapsed = state["step"], state["history"], state["elapsed_s"]
    takes_sigma = _takes_sigma(model)
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="training", disable=not progress)
    t0 = time.perf_counter() - elapsed
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr_at(step)
        clean = sampler.batch(step).to(device)
        noisy, sigma = noisy_batch(clean, cfg, step)
        out = model(noisy, sigma=sigma) if takes_sigma else model(noisy)
        loss = F.mse_loss(out, clean)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        step += 1
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{sum(history[-20:]) / 20:.2e}")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save_atomic({"config": config, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "step": step, "history": history, "elapsed_s": time.perf_counter() - t0}, state_path)
    bar.close()
    model.eval()
    return {"loss": history, "elapsed_s": time.perf_counter() - t0}
