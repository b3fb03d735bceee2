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
every ``checkpoint_every`` steps (``--save-every``, which may change between runs); patches and
noise of step ``t`` depend only on ``(seed, t)``, so a resumed run continues exactly where the
interrupted one stopped. The noise is drawn on the device that trains (a generator there, seeded
by ``(seed, t)``), so no batch of noise is copied to it: on a CPU the bits are those of every
earlier version; a GPU's generator draws another stream than the CPU's (deterministic too).
"""

import functools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import noise, physics
from ..attacks import denoising_pgd, obsatk
from ..data import PatchSampler, load_kernels
from ..checks import count, flat, real
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
        for field in ("steps", "batch_size", "patch_size", "checkpoint_every"):
            count(getattr(self, field), f"TrainConfig.{field}", least=1)
        if not 0 <= count(self.seed, "TrainConfig.seed") < 2**31:
            raise ValueError(f"TrainConfig.seed must be in [0, 2**31), got {self.seed}")
        real(self.lr, "TrainConfig.lr", above=0)
        for level in self.sigma if isinstance(self.sigma, (tuple, list)) else (self.sigma,):
            real(level, "TrainConfig.sigma", at_least=0, hint="a noise level, photon count or impulse probability")
        if isinstance(self.sigma, (tuple, list)) and (len(self.sigma) != 2 or self.sigma[0] > self.sigma[1]):
            raise ValueError(f"TrainConfig.sigma takes one level or (low, high) with low <= high, got {self.sigma}")


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
    """One noisy draw of ``clean`` (on the generator ``g``, of ``clean``'s device) with per-patch ``level``."""
    shape, device = (-1, 1, 1, 1), clean.device
    if noise == "gaussian":
        return clean + torch.randn(clean.shape, generator=g, device=device) * (level / 255.0).view(shape)
    if noise == "poisson":
        photons = level.view(shape)
        return torch.poisson(clean.clamp(0, 1) * photons, generator=g) / photons
    hit = torch.rand(clean[:, :1].shape, generator=g, device=device) < level.view(shape)  # impulse: one mask per pixel
    return torch.where(hit, torch.rand(clean.shape, generator=g, device=device), clean)


@functools.lru_cache(maxsize=4)
def training_kernels(name: str, device: str = "cpu") -> torch.Tensor:
    """The kernel bank of mode 'deblur' (``physics.kernel_bank`` of kernel set ``name``), on ``device``."""
    return physics.kernel_bank(load_kernels(name)).to(device)


def noisy_batch(clean: torch.Tensor, cfg: TrainConfig, step: int) -> tuple:
    """(input, target, per-patch level) of batch ``step``: the target is ``clean``, or an
    independent noisy draw in Noise2Noise mode, drawn on ``clean``'s device (module docstring).
    In mode 'deblur' the input is blurred and the third item is the dict of what a non-blind
    network is told: ``{"sigma": level, "kernel": (N, S, S)}``, and ``"steps"`` with ``unroll``."""
    device = clean.device
    g = torch.Generator(device=device).manual_seed(cfg.seed * 1_000_003 + step)
    n = clean.shape[0]
    if isinstance(cfg.sigma, (tuple, list)):
        low, high = cfg.sigma
        level = low + (high - low) * torch.rand(n, generator=g, device=device)
    else:
        level = torch.full((n,), float(cfg.sigma), device=device)
    if cfg.dispersion:
        rs = np.random.RandomState(int(torch.randint(2**31 - 1, (1,), generator=g, device=device)))
        level = torch.from_numpy(noise.negative_binomial_photons(rs, level.cpu().numpy(), cfg.dispersion)).float()
        level = level.to(device)
    if cfg.mode == "deblur":
        bank = training_kernels(cfg.kernels, str(device))
        kernel = bank[torch.randint(len(bank), (n,), generator=g, device=device)]
        blurred = _corrupt(physics.blur(clean, kernel), cfg.noise, level, g)
        told = {"sigma": level, "kernel": kernel}
        if cfg.unroll:
            told["steps"] = int(torch.randint(cfg.unroll[0], cfg.unroll[1] + 1, (1,), generator=g, device=device))
        return blurred, clean, told
    noisy = _corrupt(clean, cfg.noise, level, g)
    target = _corrupt(clean, cfg.noise, level, g) if cfg.mode == "noise2noise" else clean
    return noisy, target, level


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
    adv = obsatk(model, noisy, target, r=cfg.attack_r, steps=cfg.attack_steps, step="ours", clip="none")
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


class Diverged(ValueError):
    """A training loss that became NaN or infinite: the run stops before the weights take it."""


_STATE_KEYS = {"config", "model", "optimizer", "step", "history", "rng", "elapsed_s"}
_RESULT_FREE = {"checkpoint_every"}
"""``TrainConfig`` fields that do not change the weights: a state resumes whatever they are."""


def _resume(state_path: Path, config: dict, model: torch.nn.Module, optimizer, device) -> tuple:
    """Load the training state at ``state_path`` into ``model`` and ``optimizer`` and the RNG;
    return ``(step, history, elapsed_s)``. A file that is not a state of this configuration and
    network is a one-line ValueError that names it and says what to do."""
    what = f"{state_path} is not a readable training state"
    todo = "delete it to start over, or give another state file (--state)"
    try:
        state = torch.load(state_path, map_location=device, weights_only=True)
    except Exception as err:  # truncated, garbage, or a pickle of other objects
        raise ValueError(f"{what} ({type(err).__name__}: {flat(str(err))[:160]}); {todo}") from err
    if not isinstance(state, dict) or not _STATE_KEYS <= set(state) or not isinstance(state["config"], dict):
        raise ValueError(f"{what} (not written by companion.train: no {sorted(_STATE_KEYS)}); {todo}")
    if {k: v for k, v in state["config"].items() if k not in _RESULT_FREE} != \
            {k: v for k, v in config.items() if k not in _RESULT_FREE}:
        raise ValueError(f"{state_path} was written with another configuration ({state['config']}); {todo}")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"].cpu())
        step, history, elapsed = int(state["step"]), list(state["history"]), float(state["elapsed_s"])
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise ValueError(f"{state_path} holds the state of another network or is damaged "
                         f"({type(err).__name__}: {flat(str(err))[:160]}); {todo}") from err
    return step, history, elapsed


def train(model: torch.nn.Module, images, cfg: TrainConfig, state_path: str | Path,
          progress: bool = True) -> dict:
    """Train ``model`` in place on patches of ``images``; returns the loss history.

    ``state_path`` holds the resumable state, written every ``cfg.checkpoint_every`` steps and
    at the end: an existing one with the same configuration (``checkpoint_every`` aside) is
    continued; one with another configuration, or not a state at all, is an error (delete it to
    start over). A NaN or infinite loss stops the run (``Diverged``) before the weights take it.
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
        step, history, elapsed = _resume(state_path, config, model, optimizer, device)
    model.train()
    with tqdm(total=cfg.steps, initial=step, desc="training", disable=not progress) as bar:  # closed on an error too
        t0 = time.perf_counter() - elapsed
        while step < cfg.steps:
            scheduler.step_update(step)
            clean = sampler.batch(step).to(device)
            noisy, target, level = noisy_batch(clean, cfg, step)
            loss = objective(model, noisy, target, level, cfg, step)
            value = loss.item()  # the one host round trip of a step
            if not math.isfinite(value):
                raise Diverged(f"training diverged at step {step + 1}: the loss is {value} with lr "
                               f"{cfg.lr:g}; nothing written but the state saved before it, if any ({state_path}); "
                               "lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.append(value)
            step += 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{sum(history[-20:]) / 20:.2e}")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save_torch({"config": config, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                             "step": step, "history": history, "rng": torch.get_rng_state(),
                             "elapsed_s": time.perf_counter() - t0}, state_path)
    model.eval()
    return {"loss": history, "elapsed_s": time.perf_counter() - t0}
