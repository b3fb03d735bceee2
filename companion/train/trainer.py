"""One trainer for every zoo model: resumable, deterministic, with the modes the papers use.

Modes (``TrainConfig.mode``):
- ``supervised``: clean patches as targets; one noise level (non-blind models such as
  DnCNN-S) or a level drawn uniformly per patch from a range (blind models: U[0, 55] for
  DnCNN-B and RDDCNN-B; models with a noise-level input, such as FFDNet and DRUNet, are told
  each patch's level). Facts: 40x40 patches of Train400 with flips and rotations, Adam, MSE
  (DnCNN, Zhang et al. 2017, Sec. IV-A; FFDNet, Zhang et al. 2018, Sec. IV-A).
- ``noise2noise``: the target is a second, independent noisy draw of the same patch at the
  same level (Lehtinen et al. 2018, Sec. 3): Gaussian with the L2 loss, Poisson with L1 and
  random-valued impulse with the annealed L0 loss (|f(x) - y| + 1e-8)^gamma, gamma going
  linearly from 2 to 0 over training (Lehtinen et al. Sec. 3.3; Plummer & Hauser use the same
  three losses). ``dispersion`` > 0 draws each patch's Poisson photon count from Plummer &
  Hauser's negative binomial around ``sigma`` (``noise.negative_binomial_photons``).
- ``deblur``: each clean patch blurred (circular) by its own kernel, drawn from
  ``physics.kernel_bank`` of the ``kernels`` set (each kernel resized to 11-25 px and turned by the
  eight flips/rotations), plus Gaussian noise of a level drawn per patch (Gandikota et al., ICIP
  2022, Sec. 4: kernels of DPIR's set, sigma in [0, 2.55]); non-blind networks are told each
  patch's kernel and level, blind ones see the blurred patch alone; ``unroll`` draws the number
  of steps an unrolled network runs for each batch.
- adversarial modes (``TrainConfig.adversarial``, on top of ``supervised``), each batch's
  attack made on the fly against the current weights (model in eval mode for the attack):
  ``ning``: half of each batch replaced by denoising-PGD samples of those patches (T steps,
  L-inf eps; Ning et al. Sec. IV-F mix them 1:1 with Gaussian noisy images, T = 5, eps = 0.012);
  ``vat``: every input replaced by its adversarial sample (vanilla adversarial training, Yan et
  al. Sec. 4); ``hat``: hybrid adversarial training, Yan et al. eq. 5,
      (1 / (1 + a)) ||f(y) - x||^2 + (a / (1 + a)) ||f(y') - f(y)||^2,
  y' = OBSATK(y) with the budget Atk-r in T steps (one step in Yan et al.); ``vat`` uses the same
  OBSATK samples, so that vAT and HAT differ only in the loss. a = 0 is normal training.

The optimizer comes from timm (``create_optimizer_v2``), and so does the learning-rate
schedule (step decay at fractions of the run, or cosine), updated from the step count alone.

Resuming: the state (weights, optimizer, step, RNG state, loss history) is written atomically
every ``checkpoint_every`` steps; patches and noise of step ``t`` depend only on ``(seed, t)``,
so a resumed run continues exactly where the interrupted one stopped.
"""

import functools
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import noise, physics
from ..attacks import denoising_pgd, obsatk
from ..data import PatchSampler, load_kernels
from ..evaluation import model_device
from ..io import save_torch

MODES = ("supervised", "noise2noise", "deblur")
ADVERSARIAL = ("none", "ning", "vat", "hat")
NOISES = ("gaussian", "poisson", "impulse")
LOSSES = ("l2", "l1", "l0")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 64
    patch_size: int = 40
    lr: float = 1e-3
    lr_drops: tuple = (0.6, 0.85)  # fractions of ``steps`` where the lr is multiplied by lr_decay
    lr_decay: float = 0.1
    schedule: str = "step"  # 'step' (lr_drops) or 'cosine' (to lr * 1e-3)
    sigma: float | tuple = 25.0  # the noise level, or (low, high) drawn per patch: Gaussian sigma
    # (0-255), Poisson photons at intensity 1, or impulse probability
    mode: str = "supervised"
    noise: str = "gaussian"
    loss: str = "l2"
    seed: int = 0
    checkpoint_every: int = 100
    adversarial: str = "none"  # 'none', 'ning', 'vat' or 'hat' (module docstring)
    attack_steps: int = 5  # T of the training attack
    attack_eps: float = 0.012  # denoising-PGD's L-inf radius ('ning')
    attack_r: float = 5.0  # OBSATK's budget Atk-r, rho = r / 255 * sqrt(m) ('vat', 'hat')
    hat_alpha: float = 1.0  # a of eq. 5 ('hat')
    dispersion: float = 0.0  # Poisson: > 0 draws each patch's photons from noise.negative_binomial_photons
    kernels: str = "kernels_12"  # 'deblur': the kernel set of the training blurs (data.load_kernels)
    unroll: tuple = ()  # 'deblur': (low, high) draws each batch's number of unrolled steps for
    # networks that take ``steps`` (learned gradient descent), so they stay stable when run longer

    def __post_init__(self):
        for field, value, allowed in (("mode", self.mode, MODES), ("noise", self.noise, NOISES),
                                      ("loss", self.loss, LOSSES), ("schedule", self.schedule, ("step", "cosine")),
                                      ("adversarial", self.adversarial, ADVERSARIAL)):
            if value not in allowed:
                raise ValueError(f"TrainConfig.{field} must be one of {allowed}, got {value!r}")
        if self.mode in ("supervised", "deblur") and self.noise != "gaussian":
            raise ValueError(f"{self.mode} training uses Gaussian noise; other noises train with mode='noise2noise'")
        if self.adversarial != "none" and self.mode != "supervised":
            raise ValueError("adversarial training needs clean targets: use mode='supervised'")
        if min(self.attack_steps, self.attack_eps, self.attack_r, self.hat_alpha, self.dispersion) < 0:
            raise ValueError("attack_steps, attack_eps, attack_r, hat_alpha and dispersion must be >= 0")
        if self.unroll and (self.mode != "deblur" or len(self.unroll) != 2
                            or not 1 <= self.unroll[0] <= self.unroll[1]):
            raise ValueError(f"unroll takes (low, high) with 1 <= low <= high in mode 'deblur', got {self.unroll}")
        if self.dispersion and self.noise != "poisson":
            raise ValueError("dispersion draws Poisson photon counts; it needs noise='poisson'")


RECIPE_EXTRAS = {"weight_init": "default", "recalibrate_batches": 0, "store_half": False}
"""Recipe keys that are not ``TrainConfig`` fields: what the command line does before and after
training (``weight_init`` 'identity': ``Denoiser.start_from_identity``;
``recalibrate`` batches; store the checkpoint in float16)."""


def from_recipe(recipe: dict) -> tuple:
    """``(TrainConfig, extras)`` from a training recipe (``recipes.recipe``)."""
    fields = dict(recipe)
    extras = {k: fields.pop(k, default) for k, default in RECIPE_EXTRAS.items()}
    if extras["weight_init"] not in ("default", "identity"):
        raise ValueError(f"weight_init must be 'default' or 'identity', got {extras['weight_init']!r}")
    return TrainConfig(**fields), extras


def _corrupt(clean: torch.Tensor, noise: str, level: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """One noisy draw of ``clean`` (on the CPU generator ``g``) with per-patch ``level``."""
    shape = (-1, 1, 1, 1)
    if noise == "gaussian":
        return clean + torch.randn(clean.shape, generator=g) * (level / 255.0).view(shape)
    if noise == "poisson":
        photons = level.view(shape)
        return torch.poisson(clean.clamp(0, 1) * photons, generator=g) / photons
    hit = torch.rand(clean[:, :1].shape, generator=g) < level.view(shape)  # impulse: one mask per pixel
    return torch.where(hit, torch.rand(clean.shape, generator=g), clean)


@functools.lru_cache(maxsize=2)
def training_kernels(name: str) -> torch.Tensor:
    """The kernel bank of mode 'deblur' (``physics.kernel_bank`` of kernel set ``name``)."""
    return physics.kernel_bank(load_kernels(name))


def noisy_batch(clean: torch.Tensor, cfg: TrainConfig, step: int) -> tuple:
    """(input, target, per-patch level) of batch ``step``: the target is ``clean``, or an
    independent noisy draw in Noise2Noise mode. ``clean`` is moved to the CPU for the draw.
    In mode 'deblur' the input is blurred and the third item is the dict of what a non-blind
    network is told: ``{"sigma": level, "kernel": (N, S, S)}``, and ``"steps"`` with ``unroll``."""
    g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
    device, clean = clean.device, clean.cpu()
    n = clean.shape[0]
    if isinstance(cfg.sigma, (tuple, list)):
        low, high = cfg.sigma
        level = low + (high - low) * torch.rand(n, generator=g)
    else:
        level = torch.full((n,), float(cfg.sigma))
    if cfg.dispersion:
        rs = np.random.RandomState(int(torch.randint(2**31 - 1, (1,), generator=g)))
        level = torch.from_numpy(noise.negative_binomial_photons(rs, level.numpy(), cfg.dispersion)).float()
    if cfg.mode == "deblur":
        bank = training_kernels(cfg.kernels)
        kernel = bank[torch.randint(len(bank), (n,), generator=g)]
        blurred = _corrupt(physics.blur(clean, kernel), cfg.noise, level, g)
        told = {"sigma": level.to(device), "kernel": kernel.to(device)}
        if cfg.unroll:
            told["steps"] = int(torch.randint(cfg.unroll[0], cfg.unroll[1] + 1, (1,), generator=g))
        return blurred.to(device), clean.to(device), told
    noisy = _corrupt(clean, cfg.noise, level, g)
    target = _corrupt(clean, cfg.noise, level, g) if cfg.mode == "noise2noise" else clean
    return noisy.to(device), target.to(device), level.to(device)


def loss_fn(out: torch.Tensor, target: torch.Tensor, cfg: TrainConfig, step: int) -> torch.Tensor:
    if cfg.loss == "l2":
        return F.mse_loss(out, target)
    if cfg.loss == "l1":
        return F.l1_loss(out, target)
    gamma = 2.0 * (1.0 - step / cfg.steps)
    return ((out - target).abs() + 1e-8).pow(gamma).mean()


def _scheduler(optimizer, cfg: TrainConfig):
    from timm.scheduler import CosineLRScheduler, MultiStepLRScheduler

    if cfg.schedule == "cosine":
        return CosineLRScheduler(optimizer, t_initial=cfg.steps, lr_min=cfg.lr * 1e-3, t_in_epochs=False)
    return MultiStepLRScheduler(optimizer, decay_t=[int(f * cfg.steps) for f in cfg.lr_drops],
                                decay_rate=cfg.lr_decay, t_in_epochs=False)


def _uses_level(model: torch.nn.Module) -> bool:
    """Whether ``model`` uses a noise level: a denoiser bound to one holds it as ``sigma``
    (FFDNet, DRUNet; ``models.base.Denoiser``); blind ones, and plain modules, have none."""
    return hasattr(model, "sigma")


def _forward(model: torch.nn.Module, noisy: torch.Tensor, level) -> torch.Tensor:
    """The model's output, told each patch's level if it uses one (``model(x, sigma=level)``); in
    mode 'deblur' (``level`` a dict) a restorer's ``model(y, kernel=..., sigma=...)``, and ``steps=``
    with ``unroll`` (``models.base.Restorer``)."""
    if isinstance(level, dict):
        return model(noisy, **level)
    return model(noisy, sigma=level) if _uses_level(model) else model(noisy)


def objective(model: torch.nn.Module, noisy: torch.Tensor, target: torch.Tensor, level: torch.Tensor,
              cfg: TrainConfig, step: int) -> torch.Tensor:
    """The loss of one batch in ``cfg``'s mode (module docstring); the attacks of step ``step``
    are seeded by ``(cfg.seed, step)``, so a resumed run makes the same samples."""
    if cfg.adversarial == "none":
        return loss_fn(_forward(model, noisy, level), target, cfg, step)
    if _uses_level(model):
        raise ValueError(f"adversarial training attacks f(y) alone; {type(model).__name__} takes a noise level too")
    if cfg.adversarial == "ning":
        half = noisy.shape[0] // 2
        adv = denoising_pgd(model, noisy[half:], target[half:], eps=cfg.attack_eps, steps=cfg.attack_steps,
                            seed=cfg.seed * 1_000_003 + step)
        return loss_fn(model(torch.cat([noisy[:half], adv])), target, cfg, step)
    adv = obsatk(model, noisy, target, r=cfg.attack_r, steps=cfg.attack_steps, clip=False)
    if cfg.adversarial == "vat":
        return loss_fn(model(adv), target, cfg, step)
    out, a = model(noisy), cfg.hat_alpha
    return (loss_fn(out, target, cfg, step) + a * loss_fn(model(adv), out, cfg, step)) / (1 + a)


def _has_running_statistics(module: torch.nn.Module) -> bool:
    return hasattr(module, "running_mean") and (hasattr(module, "running_var") or hasattr(module, "running_std"))


@torch.no_grad()
def recalibrate(model: torch.nn.Module, images, cfg: TrainConfig, batches: int) -> None:
    """Re-estimate the running statistics of every batch-(re)normalization layer with the
    final weights, as the plain average over ``batches`` training batches (drawn after the
    training ones). Moving averages with a slow momentum (BRDNet's 0.99 in Keras terms) still
    carry the early weights' statistics after a short run, which the eval-mode network then
    misreads; this is the usual post-training fix. The weights are not touched."""
    layers = [m for m in model.modules() if _has_running_statistics(m)]
    if not layers or batches <= 0:
        return
    device = model_device(model)
    sampler = PatchSampler(images, cfg.patch_size, cfg.batch_size, seed=cfg.seed)
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.running_mean.zero_()
        (m.running_var if hasattr(m, "running_var") else m.running_std).fill_(1.0)
    model.train()
    for i in range(batches):
        for m in layers:
            m.momentum = 1.0 / (i + 1)  # cumulative average
        noisy, _, level = noisy_batch(sampler.batch(cfg.steps + i).to(device), cfg, cfg.steps + i)
        _forward(model, noisy, level)
    for m, momentum in zip(layers, momenta):
        m.momentum = momentum
    model.eval()


def train(model: torch.nn.Module, images, cfg: TrainConfig, state_path: str | Path,
          progress: bool = True) -> dict:
    """Train ``model`` in place on patches of ``images``; returns the loss history.

    ``state_path`` holds the resumable state: an existing one with the same configuration is
    continued, one with another configuration is an error (delete it to start over).
    """
    from timm.optim import create_optimizer_v2
    from tqdm.auto import tqdm

    state_path = Path(state_path)
    device = model_device(model)
    sampler = PatchSampler(images, cfg.patch_size, cfg.batch_size, seed=cfg.seed)
    optimizer = create_optimizer_v2(model, "adam", lr=cfg.lr, weight_decay=0.0)
    scheduler = _scheduler(optimizer, cfg)
    step, history, elapsed = 0, [], 0.0
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
    if state_path.is_file():
        try:
            state = torch.load(state_path, map_location=device, weights_only=True)
        except Exception as err:
            raise ValueError(f"{state_path} is not a readable training state ({type(err).__name__}: "
                             f"{str(err)[:120]}); delete it to start over") from err
        if state["config"] != config:
            raise ValueError(f"{state_path} was written with another configuration "
                             f"({state['config']}); delete it to start over")
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise ValueError(f"{state_path} holds the state of another network; delete it to start "
                             f"over ({str(err)[:200]})") from err
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"].cpu())
        step, history, elapsed = state["step"], state["history"], state["elapsed_s"]
    model.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="training", disable=not progress)
    t0 = time.perf_counter() - elapsed
    while step < cfg.steps:
        scheduler.step_update(step)
        clean = sampler.batch(step).to(device)
        noisy, target, level = noisy_batch(clean, cfg, step)
        loss = objective(model, noisy, target, level, cfg, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        step += 1
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{sum(history[-20:]) / 20:.2e}")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save_torch({"config": config, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "step": step, "history": history, "rng": torch.get_rng_state(),
                         "elapsed_s": time.perf_counter() - t0}, state_path)
    bar.close()
    model.eval()
    return {"loss": history, "elapsed_s": time.perf_counter() - t0}
