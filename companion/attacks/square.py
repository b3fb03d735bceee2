"""The Square attack: Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a query-efficient
black-box adversarial attack via random search", ECCV 2020 (arXiv:1912.00049), Algorithm 1 with
the L-infinity updates of Algorithm 2 and the L2 updates of Algorithm 3, on the squared error of a
denoiser. Gradient-free: it needs the model's outputs only, so it attacks a model without gradient
(BM3D, a quantizing layer) as it attacks any other.

Random search over the budget S (``balls``: ||x' - x||_inf <= eps, or ||x' - x||_2 <= eps sqrt(m),
m = C*H*W), maximizing f(x') = ||D(x') - y||^2 per image:

    x^ = P_S(init(x)),  f* = f(x^)                          (the init is accepted as it is)
    for i = 1 .. Q - 1:
        h = side of the square at i (the p schedule below)
        x_new = P_S(x^ + delta),  delta ~ Alg. 2 (L-inf) or Alg. 3 (L2)
        if f(x_new) > f*:  x^, f* = x_new, f(x_new)

so the accepted loss never decreases (``square_trace`` returns it after each query).

- L-infinity init: vertical stripes, x + eps s with one sign s in {-1, +1} per channel and
  column (Sec. 3.1). Update (Alg. 2): a square window of side h at a uniformly drawn position, set
  to x + eps rho_c with one sign rho_c per channel: a vertex of the ball there.
- L2 init: the image tiled by squares of side floor(min(H, W) / 5) (a 5 x 5 grid), each holding
  the pattern eta^(s,s) of eq. (5) with a random sign per channel, the whole rescaled to the
  radius (Sec. 3.2). Update (Alg. 3): two windows W1, W2 of side h; per channel the perturbation
  on W1 becomes rho_c eta* + nu_W1 / ||nu_W1|| (eta* the normalized eq.-(5) pattern of two halves of
  opposite sign, transposed with probability 1/2), rescaled so that it takes the mass of
  W1 u W2 and the budget still unused; nu on W2 goes to 0. x^ - x keeps norm eps sqrt(m).
- The p schedule: p_init halved at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of
  a 10 000-query run, rescaled to the budget Q (iteration i counts as i * 10000 / Q), as the
  paper rescales it; h = the integer nearest sqrt(p H W), at least 1 (L2: 2, so that both halves
  of eq. (5) exist) and at most min(H, W). p_init defaults to the paper's ImageNet values, 0.05
  (L-infinity) and 0.1 (L2).

Interpretations, where the paper is silent or written for classification:
- The objective is the squared error to the clean image, maximized; there is no early stop: all Q
  queries run. ``queries`` counts every model evaluation per image, the init's included.
- A drawn L-infinity update that would change nothing (the window already holds those values)
  takes the opposite signs instead, so no query is spent on the current point (the paper's Alg. 2
  would spend it; for one channel this is the same as drawing again until something changes).
- In Alg. 3 a window with nu_W1 = 0 contributes the pattern alone (0/0 taken as 0).
- Each image has its own NumPy generator (``RandomState(seed + i)``, as ``noise.draw_per_image``)
  that draws its init, windows, signs and transpositions in a fixed order, so a batch gives one
  image at a time bit for bit.
- Unclipped noisy observations are the package's convention; ``clip=True`` keeps x' in [0, 1]
  too, for noisy images in [0, 1] (``balls``), where the paper clips.
"""

import contextvars
import math

import numpy as np
import torch

from ..checks import as_batch, count, real
from . import balls, engine
from .linf_pgd import GRAY_EPS

HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
"""The iterations of a 10 000-query run at which p is halved (Andriushchenko et al. 2020, Sec. 4)."""
SCHEDULE_QUERIES = 10_000
P_INIT = {"linf": 0.05, "l2": 0.1}
"""The paper's p_init on ImageNet (Sec. 4), the defaults."""
LEAST_SIDE = {"linf": 1, "l2": 2}
INIT_TILES = 5
"""The L2 init's grid: 5 x 5 squares (Sec. 3.2)."""

_TRACE = contextvars.ContextVar("companion_square_trace", default=None)
"""Where ``square_trace`` collects each image's accepted losses, by seed."""


def fraction(p_init: float, i: int, queries: int) -> float:
    """p at iteration i of a budget of ``queries``: p_init halved once per threshold of ``HALVINGS``
    that i * 10000 / queries has passed."""
    scaled = i * SCHEDULE_QUERIES // queries
    return p_init / 2 ** sum(scaled > t for t in HALVINGS)


def side(p: float, height: int, width: int, least: int = 1) -> int:
    """The square's side: the integer nearest sqrt(p H W), within [least, min(H, W)]."""
    return min(max(least, round(math.sqrt(p * height * width))), height, width)


def bump(h1: int, h2: int) -> np.ndarray:
    """eta^(h1,h2) of eq. (5): eta_rs = sum_{k=0}^{M(r,s)} 1 / (n + 1 - k)^2, n = floor(h1 / 2),
    M(r, s) = n - max(|r - floor(h1/2) - 1|, |s - floor(h2/2) - 1|), r and s from 1 (a sum with
    M < 0 is empty)."""
    n = h1 // 2
    r, s = np.arange(1, h1 + 1)[:, None], np.arange(1, h2 + 1)[None, :]
    top = n - np.maximum(np.abs(r - h1 // 2 - 1), np.abs(s - h2 // 2 - 1))
    sums = np.concatenate([[0.0], np.cumsum(1.0 / (n + 1 - np.arange(n + 1)) ** 2)])
    return sums[np.clip(top + 1, 0, n + 1)]


def pattern(h: int) -> np.ndarray:
    """Alg. 3's eta for a window of side h: (eta^(h,k), -eta^(h,h-k)), k = floor(h / 2), normalized."""
    eta = np.concatenate([bump(h, h // 2), -bump(h, h - h // 2)], axis=1)
    return eta / max(np.linalg.norm(eta), 1e-12)


@engine.declare()
def square(model: torch.nn.Module, noisy, clean, *, eps: float = GRAY_EPS, queries: int = 100, norm: str = "linf",
           seed: int = 0, p_init: float | None = None, clip: bool = False):
    """Adversarial noisy images for ``model`` from ``queries`` evaluations per image (module
    docstring: Andriushchenko et al. 2020, Alg. 1-3).

    Args:
        noisy, clean: NCHW tensors of one size, or lists of 1CHW tensors of mixed sizes (grouped
            by size and returned as a list in the same order).
        eps: the budget on the [0, 1] scale: norm="linf": ||x' - x||_inf <= eps; norm="l2":
            ||x' - x||_2 <= eps * sqrt(m), m = C*H*W (eps is a per-pixel RMS).
        queries: Q, model evaluations per image (>= 1: the init alone).
        norm: "linf" or "l2".
        seed: image i's generator is seeded seed + i.
        p_init: the square's initial share of the image, in (0, 1]; None: 0.05 (linf), 0.1 (l2).
        clip: keep x' in [0, 1] too (noisy images in [0, 1] only).

    The model is used in eval mode and left in its mode; no gradient is asked of it.
    """
    norm = balls.norm_of(norm)
    eps, queries = balls.eps_of(eps, norm), count(queries, "queries", least=1)
    p_init = P_INIT[norm] if p_init is None else real(p_init, "p_init", above=0, at_most=1,
                                                       hint="the square's initial share of the image")
    trace = _TRACE.get()

    def attack_batch(noisy, clean, seeds):
        x = as_batch(noisy, "noisy image").detach()
        y = as_batch(clean, "clean image").to(x.device)
        balls.check_clip(x, clip)
        r = balls.radius(norm, eps, x)
        gens = [np.random.RandomState(s) for s in seeds]
        cur = balls.project(norm, x + _init(norm, x, r, gens), x, r, clip)
        best = engine.losses(model, cur, y)
        history = [best]
        update = _linf_update if norm == "linf" else _l2_update
        height, width = x.shape[-2:]
        for i in range(1, queries):
            h = side(fraction(p_init, i, queries), height, width, LEAST_SIDE[norm])
            new = balls.project(norm, update(cur, x, r, h, gens), x, r, clip)
            loss = engine.losses(model, new, y)
            accept = loss > best
            cur, best = torch.where(accept.view(-1, 1, 1, 1), new, cur), torch.where(accept, loss, best)
            history.append(best)
        if trace is not None:
            trace.update(zip(seeds, torch.stack(history, dim=1).cpu()))
        return cur

    return engine.per_size(attack_batch, noisy, clean, seed)


def square_trace(model: torch.nn.Module, noisy, clean, **options) -> tuple:
    """``square(model, noisy, clean, **options)`` and, per image in order, its accepted loss
    ||D(x^) - y||^2 after each query: a (number of images, queries) tensor, non-decreasing along
    each row."""
    rows = {}
    token = _TRACE.set(rows)
    try:
        adv = square(model, noisy, clean, **options)
    finally:
        _TRACE.reset(token)
    seed = options.get("seed", 0)
    return adv, torch.stack([rows[seed + i] for i in range(len(rows))])


def _tensor(values, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.stack(values).astype(np.float32)).to(like.device)


def _init(norm: str, x: torch.Tensor, r: float, gens: list) -> torch.Tensor:
    """The start's perturbation (module docstring): stripes (L-infinity) or the tiled pattern (L2)."""
    c, height, width = x.shape[1:]
    if norm == "linf":
        return _tensor([g.choice([-r, r], size=(c, 1, width)) for g in gens], x).expand_as(x)
    s = max(1, min(height, width) // INIT_TILES)
    tile, tiles = bump(s, s), []
    for g in gens:
        nu = np.zeros((c, height, width))
        for top in range(0, height - s + 1, s):
            for left in range(0, width - s + 1, s):
                nu[:, top:top + s, left:left + s] = tile * g.choice([-1.0, 1.0], size=(c, 1, 1))
        tiles.append(nu * r / max(np.linalg.norm(nu), 1e-12))
    return _tensor(tiles, x)


def _corners(gens: list, h: int, height: int, width: int) -> list:
    """One window's top-left corner per image, uniform over the positions that fit."""
    return [(g.randint(0, height - h + 1), g.randint(0, width - h + 1)) for g in gens]


def _windows(corners: list, h: int, x: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) masks of the windows of side h at ``corners``."""
    at = torch.tensor(corners, device=x.device).view(-1, 2, 1)
    rows = torch.arange(x.shape[-2], device=x.device)
    cols = torch.arange(x.shape[-1], device=x.device)
    inside_r = (rows >= at[:, 0]) & (rows < at[:, 0] + h)
    inside_c = (cols >= at[:, 1]) & (cols < at[:, 1] + h)
    return (inside_r[:, :, None] & inside_c[:, None, :])[:, None]


def _linf_update(cur: torch.Tensor, x: torch.Tensor, eps: float, h: int, gens: list) -> torch.Tensor:
    """Alg. 2: the window set to x + eps rho_c (rho_c = -rho_c where that would change nothing)."""
    c, height, width = x.shape[1:]
    window = _windows(_corners(gens, h, height, width), h, x)
    signs = _tensor([g.choice([-1.0, 1.0], size=(c, 1, 1)) for g in gens], x)
    new = torch.where(window, x + eps * signs, cur)
    same = ~(new != cur).flatten(1).any(dim=1)
    return torch.where(same.view(-1, 1, 1, 1) & window, x - eps * signs, new)


def _channel_norms(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(2).norm(dim=2)[:, :, None, None]


def _l2_update(cur: torch.Tensor, x: torch.Tensor, r: float, h: int, gens: list) -> torch.Tensor:
    """Alg. 3: W1 takes the pattern and the mass of W1 u W2 plus the unused budget; W2 goes to 0."""
    n, c, height, width = x.shape
    first, second = _corners(gens, h, height, width), _corners(gens, h, height, width)
    flips = [g.rand() < 0.5 for g in gens]
    signs = _tensor([g.choice([-1.0, 1.0], size=(c, 1, 1)) for g in gens], x)
    w1, w2 = _windows(first, h, x), _windows(second, h, x)
    eta = pattern(h)
    placed = torch.zeros(n, 1, height, width, device=x.device)
    for k, ((top, left), flip) in enumerate(zip(first, flips)):
        placed[k, 0, top:top + h, left:left + h] = torch.from_numpy((eta.T if flip else eta).astype(np.float32))
    nu = cur - x
    unused = (r ** 2 - engine.norms(nu) ** 2).clamp_min(0)
    on_w1 = nu * w1
    temp = signs * placed + on_w1 / _channel_norms(on_w1).clamp_min(1e-12)
    avail = torch.sqrt(_channel_norms(nu * (w1 | w2)) ** 2 + unused / c)
    return x + torch.where(w1, temp / _channel_norms(temp).clamp_min(1e-12) * avail, torch.where(w2, 0.0, nu))
