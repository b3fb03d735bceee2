"""APGD for regression: Auto-PGD of Croce & Hein, "Reliable evaluation of adversarial robustness
with an ensemble of diverse parameter-free attacks", ICML 2020 (arXiv:2003.01690), Algorithm 1 and
Sec. 3, on the squared error of a denoiser: no step size to choose.

It maximizes f(x') = ||D(x') - y||^2 per image over the budget S (``balls``: an L-infinity ball of
radius eps around the noisy image x, or an L2 ball of radius eps sqrt(m), m = C*H*W):

    x^(0)   = P_S(x + u),  u uniform in the ball
    x^(1)   = P_S(x^(0) + eta d(x^(0)))
    z^(k+1) = P_S(x^(k) + eta d(x^(k)))
    x^(k+1) = P_S(x^(k) + alpha (z^(k+1) - x^(k)) + (1 - alpha)(x^(k) - x^(k-1)))      (k >= 1)

with d the steepest-ascent direction of the norm: sign(grad f) for L-infinity, grad f / ||grad f||_2
for L2 (the L2 APGD of Croce & Hein 2020/2021). The step starts at eta = 2 eps (L2: 2 eps sqrt(m)),
momentum alpha = 0.75. The best iterate so far x_max (largest f) is kept and returned. At the
checkpoints w_j = ceil(p_j N) (p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03,
0.06); ``checkpoints``) the step is halved, and the search restarts from x_max, when

    Condition 1: the steps since the last checkpoint that raised f number < rho (w_j - w_{j-1}),
                 rho = 0.75;
    Condition 2: the step was not halved at the last checkpoint and f_max did not grow since.

Everything is per image: steps, counters, checkpoint decisions and the best point, so a batch gives
one image at a time bit for bit.

Interpretations, where the paper is silent or written for classification:
- The objective is the squared error to the clean image (engine.losses), not a margin or
  cross-entropy; there is no early stop at misclassification: all N steps run.
- ``steps`` = N counts gradient steps, as denoising-PGD's ``steps`` does: gradients at x^(0) ...
  x^(N-1), and one more forward pass (no backward) to score x^(N). APGD therefore costs N forward
  and backward passes plus one forward pass, denoising-PGD N of both.
- The checkpoints are computed in hundredths (p_j exactly), so no rounding moves one; equal w_j
  (small N) count once, and those at or after N are never reached. At w_j, Condition 1 counts the
  steps x^(i) -> x^(i+1) for w_{j-1} <= i < w_j; w_0 = 0, where Condition 2 sees eta unchanged and
  f_max = f(x^(0)).
- Restarting from x_max takes x_max's gradient and no momentum: the next step has
  x^(k) - x^(k-1) = 0 (the paper's momentum term would be x_max - x^(k-1), a step nobody took).
- The random start is uniform per value in [-eps, eps] (L-infinity, as denoising-PGD) or uniform in
  the L2 ball (a Gaussian direction, radius eps sqrt(m) u^(1/m)), drawn with NumPy seeded
  ``seed + i`` for image i (``noise.draw_per_image``).
- ``restarts`` > 1 runs from that many random starts (restart k seeds image i with
  seed + i + k * 1_000_003, as denoising-PGD) and keeps, per image, the point of largest f.
- Unclipped noisy observations are the package's convention (see ``linf_pgd``); ``clip=True``
  keeps x' in [0, 1] too, for noisy images in [0, 1] (``balls``).
"""

import numpy as np
import torch

from ..checks import as_batch, count, real
from ..evaluation import current_speed, eval_mode, running
from ..noise import draw_per_image
from . import balls, engine
from .linf_pgd import GRAY_EPS

FIRST_CHECKPOINT, SHRINK, LEAST_GAP = 22, 3, 6
"""p_1, the shrink of the gap and its least value, in hundredths of N (Croce & Hein 2020, Sec. 3.2)."""


def checkpoints(steps: int) -> list:
    """The distinct checkpoints w_j = ceil(p_j steps) in (0, steps), in order (module docstring)."""
    marks, before, p = [], 0, FIRST_CHECKPOINT
    while (w := -(-p * steps // 100)) < steps:
        if not marks or w > marks[-1]:
            marks.append(w)
        before, p = p, p + max(p - before - SHRINK, LEAST_GAP)
    return marks


def _uniform_in_ball(norm: str, eps: float, r: float):
    """The random start's draw ``fn(RandomState, shape)`` for ``noise.draw_per_image``."""
    if norm == "linf":
        return lambda rs, shape: rs.uniform(-eps, eps, size=shape)

    def draw(rs, shape):
        g = rs.standard_normal(shape)
        return g / max(np.linalg.norm(g), 1e-12) * r * rs.uniform() ** (1.0 / g.size)
    return draw


@engine.declare()
def apgd(model: torch.nn.Module, noisy, clean, *, eps: float = GRAY_EPS, steps: int = 10, norm: str = "linf",
         seed: int = 0, restarts: int = 1, rho: float = 0.75, momentum: float = 0.75, clip: bool = False):
    """Adversarial noisy images for ``model`` by APGD (module docstring: Croce & Hein 2020, Alg. 1).

    Args:
        noisy, clean: NCHW tensors of one size, or lists of 1CHW tensors of mixed sizes (grouped
            by size and returned as a list in the same order).
        eps: the budget on the [0, 1] scale: norm="linf": ||x' - x||_inf <= eps; norm="l2":
            ||x' - x||_2 <= eps * sqrt(m), m = C*H*W (eps is a per-pixel RMS).
        steps: N, the gradient steps (>= 1); the first step size is 2 eps (L2: 2 eps sqrt(m)).
        norm: "linf" (signed-gradient steps) or "l2" (gradient steps of unit L2 norm).
        seed: image i's random start is seeded seed + i.
        restarts: random starts per image (>= 1); the point of largest loss is kept.
        rho: Condition 1's fraction of successful steps, in [0, 1] (0.75, the paper's).
        momentum: alpha in (0, 1] (0.75, the paper's; 1 is no momentum).
        clip: keep x' in [0, 1] too (noisy images in [0, 1] only).

    Returns x' (as given: a batch or a list); per image the iterate of largest ||D(x') - y||^2.
    The model is used in eval mode and left in its mode; no gradient is kept.
    """
    norm = balls.norm_of(norm)
    eps, steps = balls.eps_of(eps, norm), count(steps, "steps", least=1)
    restarts = count(restarts, "restarts", least=1)
    rho = real(rho, "rho", at_least=0, at_most=1, hint="Condition 1's fraction of successful steps (0.75)")
    momentum = real(momentum, "momentum", above=0, at_most=1, hint="the paper's alpha (0.75; 1: no momentum)")
    marks = set(checkpoints(steps))

    def attack_batch(noisy, clean, seeds):
        x = as_batch(noisy, "noisy image").detach()
        y = as_batch(clean, "clean image").to(x.device)
        balls.check_clip(x, clip)
        r = balls.radius(norm, eps, x)
        project = lambda adv: balls.project(norm, adv, x, r, clip)  # noqa: E731
        direction = (lambda g: g.sign()) if norm == "linf" else (lambda g: g / engine.norms(g).clamp_min(1e-12))
        draw = _uniform_in_ball(norm, eps, r)
        with eval_mode(model), running(model, current_speed().options()) as call:
            def score(adv, grad=True, first=False):
                """(f per image, its gradient or None) at ``adv``."""
                if not grad:
                    with torch.no_grad():
                        return ((call(adv) - y) ** 2).flatten(1).sum(dim=1).float(), None
                adv = adv.detach().requires_grad_(True)
                with torch.enable_grad():
                    f = ((call(adv) - y) ** 2).flatten(1).sum(dim=1).float()
                    return f.detach(), engine.input_gradient(model, f.sum(), adv, first)

            best, best_f = None, None
            for k in range(restarts):
                start = x + draw_per_image(x, [s + k * 1_000_003 for s in seeds], draw)
                adv, f = _ascend(score, project(start), project, direction, 2 * r, steps, marks, rho, momentum)
                if best is None:
                    best, best_f = adv, f
                else:
                    better = f > best_f
                    best, best_f = torch.where(better.view(-1, 1, 1, 1), adv, best), torch.where(better, f, best_f)
        return best.detach().contiguous()

    return engine.per_size(attack_batch, noisy, clean, seed)


def _ascend(score, start, project, direction, size: float, steps: int, marks: set, rho: float, alpha: float):
    """One APGD run from ``start`` (module docstring); returns (x_max, f(x_max)) per image."""
    n = start.shape[0]
    flag = lambda t: t.view(-1, 1, 1, 1)  # noqa: E731
    cur = prev = start
    f, g = score(cur, first=True)
    eta = torch.full((n, 1, 1, 1), size, dtype=start.dtype, device=start.device)
    best, best_f, best_g = cur, f, g
    wins = torch.zeros(n, dtype=torch.long, device=start.device)
    last_mark, halved, best_at_mark = 0, torch.zeros(n, dtype=torch.bool, device=start.device), f
    for k in range(1, steps + 1):
        z = project(cur + eta * direction(g))
        new = z if k == 1 else project(cur + alpha * (z - cur) + (1 - alpha) * (cur - prev))
        new_f, new_g = score(new, grad=k < steps)
        wins += new_f > f
        better = new_f > best_f
        best, best_f = torch.where(flag(better), new, best), torch.where(better, new_f, best_f)
        if new_g is not None:
            best_g = torch.where(flag(better), new_g, best_g)
        prev, cur, f, g = cur, new, new_f, new_g
        if k in marks:
            halve = (wins < rho * (k - last_mark)) | (~halved & (best_f <= best_at_mark))
            eta = torch.where(flag(halve), eta / 2, eta)
            cur, prev = torch.where(flag(halve), best, cur), torch.where(flag(halve), best, prev)
            f, g = torch.where(halve, best_f, f), torch.where(flag(halve), best_g, g)
            wins.zero_()
            last_mark, halved, best_at_mark = k, halve, best_f
    return best, best_f
