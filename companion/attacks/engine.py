"""The loop every gradient attack on a denoiser shares, the contract of an attack, and the
per-image bookkeeping.

The contract: an attack on a restoration model is a function
``attack(model, noisy, clean, *, <budget>..., seed)`` that returns adversarial versions of the
noisy images (an NCHW batch, or a list of 1CHW tensors of mixed sizes, returned as a list);
``declare`` records on it what its caller must know, e.g. the noise level of the observation it
attacks (``observation_sigma``).

``run(model, noisy, clean, steps, start, step, project)`` maximizes ||D(x') - y||^2 (the loss is
summed per image, so an image's gradient never depends on its batch):

    x'_0 = start(x);   x'_{t+1} = project(step(x'_t, grad_{x'} ||D(x'_t) - y||^2))

with the model in eval mode and left in the mode it had, no gradient kept. ``per_size`` lets an
attack take lists of mixed-size images; ``project_linf``, ``norms`` and ``losses`` are the
per-image helpers.
"""

import torch

from ..batching import by_size
from ..checks import as_batch
from ..evaluation import denoise, eval_mode


def same_level(sigma: float, params: dict) -> float:
    """The observation of most attacks: the Gaussian-noisy image at sigma itself."""
    return sigma


def declare(observation=same_level):
    """Decorate an attack with what its caller needs: ``observation(sigma, params)``, the noise
    level (0-255) of the observation the attack with ``params`` starts from when the test noise
    is sigma (kept as ``attack.observation``)."""
    def decorate(attack):
        attack.observation = observation
        return attack
    return decorate


def observation_sigma(attack, sigma: float, params: dict) -> float:
    """The noise level of the observation ``attack`` (with ``params``) starts from: what it
    declared (``declare``), sigma itself for a function that declared nothing."""
    return getattr(attack, "observation", same_level)(sigma, params)


def project_linf(adv: torch.Tensor, center: torch.Tensor, eps: float) -> torch.Tensor:
    """The projection onto the L-infinity ball of radius eps around ``center``, per value:
    min(max(x', center - eps), center + eps)."""
    return torch.min(torch.max(adv, center - eps), center + eps)


def norms(x: torch.Tensor) -> torch.Tensor:
    """Per-image L2 norms of an NCHW tensor, shaped (N, 1, 1, 1) for broadcasting."""
    return x.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def losses(model: torch.nn.Module, adv: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Per image ||D(x') - y||^2, the loss every attack maximizes (``evaluation.denoise``: eval
    mode, no gradient, the model's mode restored)."""
    return ((denoise(model, adv) - clean.to(adv.device)) ** 2).flatten(1).sum(dim=1)


def run(model: torch.nn.Module, noisy, clean, steps: int, start, step, project) -> torch.Tensor:
    """The attack loop on one batch of same-size images (see the module docstring)."""
    noisy, clean = as_batch(noisy, "noisy image"), as_batch(clean, "clean image")
    if noisy.shape != clean.shape:
        raise ValueError(f"noisy {tuple(noisy.shape)} and clean {tuple(clean.shape)} differ in shape")
    x, clean = noisy.detach(), clean.to(noisy.device)
    adv = project(start(x))
    with eval_mode(model):
        for _ in range(steps):
            adv.requires_grad_(True)
            with torch.enable_grad():
                loss = ((model(adv) - clean) ** 2).sum()
                grad, = torch.autograd.grad(loss, adv)
            adv = project(step(adv.detach(), grad))
    return adv.detach()


def per_size(attack_batch, noisy, clean, seed: int):
    """Apply ``attack_batch(noisy, clean, seeds)`` to a batch (image i seeded ``seed + i``) or to
    lists of 1CHW tensors of mixed sizes, grouped by size (``batching.by_size``) and returned as a
    list in order."""
    if not isinstance(noisy, (list, tuple)):
        return attack_batch(noisy, clean, [seed + i for i in range(as_batch(noisy).shape[0])])
    if not isinstance(clean, (list, tuple)) or len(clean) != len(noisy):
        raise ValueError("noisy and clean must both be lists of the same length")
    out = [None] * len(noisy)
    for indices in by_size(noisy):
        adv = attack_batch(torch.cat([as_batch(noisy[i]) for i in indices]),
                           torch.cat([as_batch(clean[i]) for i in indices]), [seed + i for i in indices])
        for j, i in enumerate(indices):
            out[i] = adv[j:j + 1]
    return out
