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
attack take lists of mixed-size images and checks them once, at the attack's entry (``pair``:
the checks ``evaluation.denoise`` makes, so an attack refuses what a measurement refuses; each
attack checks its budget, step size and step count with ``companion.checks``); it runs each
group of one size in chunks (``evaluation.chunk_of``: measured per model, image size and device),
which give the model's bits of one image at a time. Every declared attack takes the keyword
``speed`` (``evaluation.Speed``): its chunk and how the passes run.
``input_gradient`` is the white-box attacks' gradient: it refuses a model without one and warns
when it is zero at the first step (a non-differentiable layer would otherwise leave the input
silently unchanged). ``ascent_step`` is their step (signed or normalized); ``project_linf``,
``norms`` and ``losses`` are the per-image helpers.
"""

import contextvars
import functools
import inspect
import warnings

import torch

from ..batching import by_size, chunks
from ..checks import as_batch, check_noisy_range, check_unit_range
from ..evaluation import chunk_of, current_speed, eval_mode, forward, running, using
from ..models.base import NotDifferentiableError

_MODEL = contextvars.ContextVar("companion_attacked_model", default=None)
"""The model of the declared attack running (``declare``), whose chunk ``per_size`` uses."""


class ZeroGradientWarning(UserWarning):
    """A white-box attack's first gradient is exactly zero for every image: it cannot move them."""


def same_level(sigma: float, params: dict) -> float:
    """The observation of most attacks: the Gaussian-noisy image at sigma itself."""
    return sigma


def declare(observation=same_level):
    """Decorate an attack with what its caller needs: ``observation(sigma, params)``, the noise
    level (0-255) of the observation the attack with ``params`` starts from when the test noise
    is sigma (kept as ``attack.observation``); and give it the keyword ``speed``: how its passes
    run (``evaluation.Speed``, its text, or None: the enclosing call's, else ``COMPANION_SPEED``,
    else the default), its chunk included (``per_size``)."""
    def decorate(attack):
        @functools.wraps(attack)
        def call(model, *args, speed=None, **kwargs):
            token = _MODEL.set(model)
            try:
                with using(speed):
                    return attack(model, *args, **kwargs)
            finally:
                _MODEL.reset(token)

        params = list(inspect.signature(attack).parameters.values())
        rest = [p for p in params if p.kind == p.VAR_KEYWORD]
        call.__signature__ = inspect.signature(attack).replace(parameters=[
            *(p for p in params if p.kind != p.VAR_KEYWORD),
            inspect.Parameter("speed", inspect.Parameter.KEYWORD_ONLY, default=None), *rest])
        call.observation = observation
        return call
    return decorate


def observation_sigma(attack, sigma: float, params: dict) -> float:
    """The noise level of the observation ``attack`` (with ``params``) starts from: what it
    declared (``declare``), sigma itself for a function that declared nothing."""
    return getattr(attack, "observation", same_level)(sigma, params)


STEP_RULES = ("sign", "l2")
"""The ascent steps of the gradient attacks on a denoiser (``ascent_step``)."""


def ascent_step(rule: str, alpha: float):
    """The step ``(x', g) -> x' + s`` of an attack with step size alpha, per image:

    - ``"sign"``: s = alpha sign(g), the signed step of L-infinity PGD (Madry et al. 2018) that
      Ning et al.'s denoising-PGD (Sec. III-B) and their Algorithm 1 take;
    - ``"l2"``: s = alpha sqrt(m) g / ||g||_2, m the image's number of values: the normalized step
      of L2 PGD, scaled to the L2 length alpha sqrt(m) of a signed step (whose gradient has no zero).
    """
    if rule not in STEP_RULES:
        raise ValueError(f"unknown step rule {rule!r}: choose one of {STEP_RULES}")
    if rule == "sign":
        return lambda adv, grad: adv + alpha * grad.sign()
    return lambda adv, grad: adv + alpha * grad[0].numel() ** 0.5 * grad / norms(grad).clamp_min(1e-12)


def project_linf(adv: torch.Tensor, center: torch.Tensor, eps: float) -> torch.Tensor:
    """The projection onto the L-infinity ball of radius eps around ``center``, per value:
    min(max(x', center - eps), center + eps)."""
    return torch.min(torch.max(adv, center - eps), center + eps)


def norms(x: torch.Tensor) -> torch.Tensor:
    """Per-image L2 norms of an NCHW tensor, shaped (N, 1, 1, 1) for broadcasting."""
    return x.flatten(1).norm(dim=1).view(-1, 1, 1, 1)


def losses(model: torch.nn.Module, adv: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Per image ||D(x') - y||^2, the loss every attack maximizes (``evaluation.forward``: eval
    mode, no gradient, the model's mode restored; ``adv`` is an attack's sample of inputs it
    checked at its entry, so it is not checked again)."""
    return ((forward(model, adv) - clean.to(adv.device)) ** 2).flatten(1).sum(dim=1)


def input_gradient(model: torch.nn.Module, loss: torch.Tensor, x: torch.Tensor, first: bool = False) -> torch.Tensor:
    """grad_x ``loss`` (computed from ``model``'s output on ``x``, which requires a gradient).

    A loss without a gradient with respect to x (the model's forward runs under ``torch.no_grad``
    or detaches its input) raises ``NotDifferentiableError``; at an attack's ``first`` step, a
    gradient that is exactly zero for every image gives a ``ZeroGradientWarning`` (a rounding,
    quantizing or argmax layer: the attack would leave the input where it started)."""
    name = getattr(model, "info", {}).get("name", type(model).__name__)
    grad = torch.autograd.grad(loss, x, allow_unused=True)[0] if loss.requires_grad else None
    if grad is None:
        raise NotDifferentiableError(
            f"{name}'s output has no gradient with respect to its input (its forward runs under torch.no_grad or "
            f"detaches the input), so a white-box attack cannot run on it: remove that, or attack it with BPDA "
            f"(companion.attacks.BPDA) or the gradient-free companion.attacks.spsa")
    if first and not bool(grad.any()):
        warnings.warn(f"{name}: the attack's gradient is exactly zero for every image at the first step, so the "
                      f"attack cannot move them (a non-differentiable layer such as rounding, quantization or "
                      f"argmax, or a flat loss); attack it with BPDA (companion.attacks.BPDA) or "
                      f"companion.attacks.spsa", ZeroGradientWarning, stacklevel=3)
    return grad


def run(model: torch.nn.Module, noisy, clean, steps: int, start, step, project) -> torch.Tensor:
    """The attack loop on one batch of same-size images (see the module docstring); the inputs
    are those ``per_size`` checked. The passes run as the attack's speed asks
    (``evaluation.running``)."""
    noisy, clean = _same_shape(as_batch(noisy, "noisy image"), as_batch(clean, "clean image"))
    x, clean = noisy.detach(), clean.to(noisy.device)
    adv = project(start(x))
    with eval_mode(model), running(model, current_speed().options()) as call:
        for t in range(steps):
            adv.requires_grad_(True)
            with torch.enable_grad():
                loss = ((call(adv) - clean) ** 2).sum()
                grad = input_gradient(model, loss, adv, first=t == 0)
            adv = project(step(adv.detach(), grad))
    return adv.detach().contiguous()


def pair(noisy, clean) -> tuple:
    """``(noisy, clean)`` as float32 NCHW batches of one shape, checked once at an attack's entry:
    not empty, finite, the noisy image on the [0, 1] scale (``evaluation.denoise``'s check) and
    the clean one in [0, 1]; a one-line ValueError that says what to do otherwise."""
    noisy, clean = as_batch(noisy, "noisy image"), as_batch(clean, "clean image")
    check_noisy_range(noisy)
    check_unit_range(clean, "clean image")
    return _same_shape(noisy, clean)


def _same_shape(noisy: torch.Tensor, clean: torch.Tensor) -> tuple:
    if noisy.shape != clean.shape:
        raise ValueError(f"noisy {tuple(noisy.shape)} and clean {tuple(clean.shape)} differ in shape")
    return noisy, clean


def per_size(attack_batch, noisy, clean, seed: int):
    """Apply ``attack_batch(noisy, clean, seeds)`` to a batch (image i seeded ``seed + i``) or to
    lists of 1CHW tensors of mixed sizes, grouped by size (``batching.by_size``) and returned as a
    list in order; every pair is checked first (``pair``). Each group runs in chunks
    (``evaluation.chunk_of``: the chunk of the attack's speed, else the size measured for its
    model, the image size and the device)."""
    if not isinstance(noisy, (list, tuple)):
        noisy, clean = pair(noisy, clean)
        return _in_chunks(attack_batch, noisy, clean, [seed + i for i in range(noisy.shape[0])])
    if not isinstance(clean, (list, tuple)) or len(clean) != len(noisy):
        raise ValueError("noisy and clean must both be lists of the same length")
    pairs = [pair(x, y) for x, y in zip(noisy, clean)]
    out = [None] * len(noisy)
    for indices in by_size([x for x, _ in pairs]):
        adv = _in_chunks(attack_batch, torch.cat([pairs[i][0] for i in indices]),
                         torch.cat([pairs[i][1] for i in indices]), [seed + i for i in indices])
        for j, i in enumerate(indices):
            out[i] = adv[j:j + 1]
    return out


def _in_chunks(attack_batch, noisy: torch.Tensor, clean: torch.Tensor, seeds: list) -> torch.Tensor:
    """``attack_batch`` on one group of same-size images, in chunks (``evaluation.chunk_of``; the
    probe: one forward and backward pass, whose output and gradient sign a chunk must reproduce
    bit for bit, so that the sign-gradient attacks give one image's bits); in one piece outside a
    declared attack, which names no model."""
    model = _MODEL.get()
    if model is None:
        return attack_batch(noisy, clean, seeds)
    options = current_speed()

    def probe(k: int) -> tuple:
        x = noisy[:1].repeat(k, 1, 1, 1)
        try:
            with torch.enable_grad():
                out = call(x.requires_grad_(True))
        except NotDifferentiableError:  # a model without gradient (SPSA's): its forward alone
            with torch.no_grad():
                return (call(x.detach()),)
        if not out.requires_grad:
            return (out.detach(),)
        grad, = torch.autograd.grad(((out - clean[:1].to(out.device)) ** 2).sum(), x)
        return out.detach(), grad.sign()

    with eval_mode(model), running(model, options.options()) as call:
        size = chunk_of(model, noisy, options, "attack", probe)
    parts = [attack_batch(noisy[lo:hi], clean[lo:hi], seeds[lo:hi]) for lo, hi in chunks(noisy.shape[0], size)]
    return parts[0] if len(parts) == 1 else torch.cat(parts)
