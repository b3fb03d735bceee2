"""Input checks shared by the public functions: clear errors that say what to do."""

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
    if channels is not None and x.shape[1] != channels:
        hint = " (a gray model: load the data with color=False)" if channels == 1 else \
            " (a color model: load the data with color=True)" if channels == 3 else ""
        raise ValueError(f"{name} has {x.shape[1]} channels, expected {channels}{hint}; "
                         f"tensors are NCHW")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name} has {x.shape[1]} channels in dimension 1; expected 1 (gray) or "
                         f"3 (color) in NCHW layout (is it NHWC? use x.permute(0, 3, 1, 2))")
    return x.float()


def check_unit_range(x: torch.Tensor, name: str = "image", slack: float = 1e-4) -> None:
    """Raise if a clean image is not in [0, 1] (the project's convention)."""
    lo, hi = float(x.min()), float(x.max())
    if lo < -slack or hi > 1 + slack:
        scale = " It looks like 0-255 data: divide by 255." if hi > 2 else ""
        raise ValueError(f"{name} has values in [{lo:.3g}, {hi:.3g}]; clean images must be in "
                         f"[0, 1].{scale}")


def check_noisy_range(x: torch.Tensor, name: str = "noisy image") -> None:
    """Raise if a noisy image is clearly not on the [0, 1] scale (e.g. 0-255 data).

    Unclipped noisy images leave [0, 1] by a few noise standard deviations; values beyond
    [-4, 5] mean the data is on another scale.
    """
    lo, hi = float(x.min()), float(x.max())
    if lo < -4 or hi > 5:
        raise ValueError(f"{name} has values in [{lo:.3g}, {hi:.3g}]; images are on the [0, 1] "
                         f"scale (noise levels are given as sigma/255). Divide 0-255 data by 255.")


def one_line(err: BaseException, limit: int = 200) -> str:
    """``'TypeName: message'`` on one line, cut at its first sentence when longer than ``limit``:
    the reason a report or a skipped section shows (the full text stays in the traceback)."""
    return named_line(type(err).__name__, str(err), limit)


def named_line(name: str, message: str, limit: int = 200) -> str:
    """``'name: message'`` with the message flattened to one line and cut as ``one_line`` does."""
    text = " ".join(message.split())
    if len(text) > limit:
        cut = text.find(". ", 40, limit)
        text = text[:cut + 1] if cut > 0 else text[:limit - 3] + "..."
    return f"{name}: {text}" if text else name


def lookup(table, key, what: str, known=None):
    """``table[key]``, or a one-line ValueError naming the unknown ``what`` and the known keys
    (``known``: the list to show, default the table's keys, sorted)."""
    if key not in table:
        names = known if known is not None else sorted(map(str, table))
        raise ValueError(f"unknown {what} {key!r}; registered: {', '.join(names)}")
    return table[key]
