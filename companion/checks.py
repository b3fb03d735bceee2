"""Input checks shared by the public functions: clear one-line errors that say what to do.

Images (``as_batch``, ``check_unit_range``, ``check_noisy_range``: finite values too), noise
levels (``noise_level``), attack budgets, step sizes and step counts (``budget``, ``step_size``,
``count``), any other bounded number (``real``), and names looked up in a table (``lookup``, with
the closest names suggested). Values are checked once, where they enter the package (an attack's
or a measurement's entry); a network's ``forward`` checks only shapes and dtypes, which cost
nothing (``models.base.Denoiser.check_input``).
"""

import difflib
import math
import operator
import re

import numpy as np
import torch


def as_batch(x, name: str = "image", channels: int | None = None) -> torch.Tensor:
    """Return ``x`` as a float32 NCHW tensor.

    Accepts a tensor or an array shaped NCHW, CHW (one image) or HW (one gray image). Integer
    input is refused (the project works on [0, 1] floats: divide by 255 first).
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} has dtype {x.dtype}; images are float in [0, 1]: "
                        f"convert with x.float() / 255")
    if x.dim() == 2:
        x = x[None, None]
    elif x.dim() == 3:
        x = x[None]
    elif x.dim() != 4:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; expected NCHW, CHW or HW")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); give at least one image of at least 1x1 pixels")
    if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        raise ValueError(f"{name} has shape {tuple(x.shape)}, which looks like NHWC (channels last); tensors are "
                         f"NCHW: use x.permute(0, 3, 1, 2)")
    if channels is not None and x.shape[1] != channels:
        hint = " (a gray model: load the data with color=False)" if channels == 1 else \
            " (a color model: load the data with color=True)" if channels == 3 else ""
        raise ValueError(f"{name} has {x.shape[1]} channels, expected {channels}{hint}; "
                         f"tensors are NCHW")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name} has {x.shape[1]} channels in dimension 1; expected 1 (gray) or "
                         f"3 (color) in NCHW layout (is it NHWC? use x.permute(0, 3, 1, 2))")
    return x.float()


def _refuse_non_finite(x: torch.Tensor, name: str):
    bad = ~torch.isfinite(x)
    first = tuple(int(i) for i in bad.nonzero()[0])
    raise ValueError(f"{name} holds {int(bad.sum())} non-finite value(s) (NaN or inf), the first at index {first}; "
                     f"images must be finite: check the data or the step that made them")


def _extremes(x: torch.Tensor, name: str) -> tuple:
    """(min, max) of ``x``, refusing an empty or non-finite ``x`` (NaN and inf propagate into the
    extremes, so the range checks find them at no extra cost). One transfer to the host: both
    values come back together (on a GPU, one synchronization per check)."""
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); give at least one image of at least 1x1 pixels")
    lo, hi = torch.stack(torch.aminmax(x.detach())).tolist()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        _refuse_non_finite(x, name)
    return lo, hi


def check_unit_range(x: torch.Tensor, name: str = "image", slack: float = 1e-4) -> None:
    """Raise if a clean image is not finite and in [0, 1] (the project's convention)."""
    lo, hi = _extremes(x, name)
    if lo < -slack or hi > 1 + slack:
        scale = " It looks like 0-255 data: divide by 255." if hi > 2 else ""
        raise ValueError(f"{name} has values in [{lo:.3g}, {hi:.3g}]; clean images must be in "
                         f"[0, 1].{scale}")


def check_noisy_range(x: torch.Tensor, name: str = "noisy image") -> None:
    """Raise if a noisy image is not finite or clearly not on the [0, 1] scale (e.g. 0-255 data).

    Unclipped noisy images leave [0, 1] by a few noise standard deviations; values beyond
    [-4, 5] mean the data is on another scale.
    """
    lo, hi = _extremes(x, name)
    if lo < -4 or hi > 5:
        raise ValueError(f"{name} has values in [{lo:.3g}, {hi:.3g}]; images are on the [0, 1] "
                         f"scale (noise levels are given as sigma/255). Divide 0-255 data by 255.")


def _number(value, name: str) -> float:
    """``value`` as a float; a TypeError for what is not a single real number (a string, a bool)."""
    if value is None or isinstance(value, (bool, str, bytes)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{name} must be a single number, got {type(value).__name__}") from None


_COMPARE = {">": operator.gt, ">=": operator.ge, "<=": operator.le}


def real(value, name: str, *, above: float | None = None, at_least: float | None = None,
         at_most: float | None = None, hint: str = "") -> float:
    """``value`` as a float, refused with a one-line error naming ``name`` unless it is a finite
    real number, > ``above``, >= ``at_least`` and <= ``at_most`` (those given); ``hint`` says
    what the number means or what to do."""
    number = _number(value, name)
    limits = [(op, bound) for op, bound in ((">", above), (">=", at_least), ("<=", at_most)) if bound is not None]
    if not math.isfinite(number) or not all(_COMPARE[op](number, bound) for op, bound in limits):
        bounds = " and ".join(f"{op} {bound:g}" for op, bound in limits)
        raise ValueError(f"need a finite {name}{' ' + bounds if bounds else ''}, got {value!r}"
                         + (f"; {hint}" if hint else ""))
    return number


def count(value, name: str = "steps", least: int = 0) -> int:
    """``value`` as an int: a whole number >= ``least`` (an integral float such as 5.0 is taken)."""
    number = _number(value, name)
    if not number.is_integer() or number < least:
        raise ValueError(f"need a whole number {name} >= {least}, got {value!r}")
    return int(number)


def budget(value, name: str = "eps", linf: bool = True) -> float:
    """An attack's budget: finite and >= 0 (0 leaves the input where it is). An L-infinity radius
    (``linf``) is on the [0, 1] scale, so it is at most 1: a larger one is a 0-255 value."""
    hint = "an L-infinity radius on the [0, 1] scale: write 8/255, not 8" if linf else "the attack's budget"
    return real(value, name, at_least=0, at_most=1 if linf else None, hint=hint)


def step_size(value, name: str = "alpha") -> float:
    """An attack's step size: finite and > 0 (a step <= 0 would move toward a lower loss, an
    attack that helps the model)."""
    return real(value, name, above=0, hint="a step <= 0 moves the input toward a lower loss and helps the model")


def noise_level(sigma, name: str = "sigma", positive: bool = False):
    """A noise level on the 0-255 scale, finite and >= 0 (> 0 when ``positive``): a number,
    returned as a float, or one level per image (a tensor, array or list), returned as given."""
    if not isinstance(sigma, (torch.Tensor, np.ndarray, list, tuple)):
        return real(sigma, name, **({"above": 0} if positive else {"at_least": 0}),
                    hint="noise levels are on the 0-255 scale, e.g. 25")
    levels = torch.as_tensor(sigma).detach()
    if levels.numel() == 0 or not bool(torch.isfinite(levels).all()) or \
            bool((levels <= 0).any() if positive else (levels < 0).any()):
        raise ValueError(f"{name} must hold finite noise levels {'> 0' if positive else '>= 0'} on the 0-255 scale "
                         f"(e.g. 25), got {levels.flatten()[:6].tolist()}")
    return sigma


def one_line(err: BaseException, limit: int = 200) -> str:
    """``'TypeName: message'`` on one line, cut at its first sentence when longer than ``limit``:
    the reason a report or a skipped section shows (the full text stays in the traceback)."""
    return named_line(type(err).__name__, str(err), limit)


def flat(text: str) -> str:
    """``text`` on one line, without terminal escapes (torch bolds phrases of its messages)."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", text).split())


def named_line(name: str, message: str, limit: int = 200) -> str:
    """``'name: message'`` with the message flattened to one line (``flat``) and cut as
    ``one_line`` does."""
    text = flat(message)
    if len(text) > limit:
        cut = text.find(". ", 40, limit)
        text = text[:cut + 1] if cut > 0 else text[:limit - 3] + "..."
    return f"{name}: {text}" if text else name


def lookup(table, key, what: str, known=None):
    """``table[key]``, or a one-line ValueError naming the unknown ``what`` and the closest known
    names (``difflib``; all of them when none is close). ``known``: the names to choose from,
    default the table's keys, sorted."""
    try:
        present = key in table
    except TypeError:  # an unhashable key (a list) is no name
        present = False
    if not present:
        names = list(known) if known is not None else sorted(map(str, table))
        raise ValueError(f"unknown {what} {key!r}; {closest(key, names)}")
    return table[key]


def closest(key, names) -> str:
    """'did you mean a, b?' with up to three of ``names`` closest to ``key`` (case ignored), or
    'registered: ...' with all of them when none is close."""
    lowered = {str(n).lower(): str(n) for n in names}
    close = difflib.get_close_matches(str(key).lower(), list(lowered), n=3, cutoff=0.6)
    if close:
        return f"did you mean {', '.join(lowered[c] for c in close)}?"
    return f"registered: {', '.join(map(str, names))}"
