"""Profiles, paths and devices.

Two profiles: ``quick`` runs every notebook on a laptop CPU in minutes (fewer images, fewer
attack steps, short training), ``paper`` follows the papers' protocol and is meant for a GPU.
Each notebook maps the profile to its own sizes in its first cells, and says which it used.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import torch

DATA_ENV = "COMPANION_DATA_DIR"
WEIGHTS_ENV = "COMPANION_WEIGHTS_DIR"
CACHE_ENV = "COMPANION_CACHE_DIR"
OFFLINE_ENV = "COMPANION_OFFLINE"


@dataclass(frozen=True)
class Profile:
    """How much work a notebook does: ``quick`` (CPU, minutes) or ``paper`` (GPU)."""

    name: str
    description: str


PROFILES = {
    "quick": Profile("quick", "CPU, minutes: a few images per set, few attack steps, short training"),
    "paper": Profile("paper", "the papers' protocol: whole test sets, full training; meant for a GPU"),
}


def profile(name: str) -> Profile:
    """Return the profile called ``name`` ('quick' or 'paper')."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: choose one of {sorted(PROFILES)}")
    return PROFILES[name]


def device(name: str | torch.device = "auto") -> torch.device:
    """Resolve 'auto', 'cpu', 'cuda' or 'cuda:N' to a torch.device, with a clear error if absent."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"unknown device {name!r}: use 'cpu', 'cuda', 'cuda:N' or 'auto'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but torch sees no CUDA GPU here "
                         f"(torch {torch.__version__}); use device='cpu' or 'auto'")
    return dev


def _env_dir(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else None


def data_dir() -> Path | None:
    """The data directory the user named with COMPANION_DATA_DIR, if any."""
    return _env_dir(DATA_ENV)


def weights_dir() -> Path | None:
    """The weights directory the user named with COMPANION_WEIGHTS_DIR, if any."""
    return _env_dir(WEIGHTS_ENV)


def cache_dir() -> Path:
    """Per-user cache for downloads: COMPANION_CACHE_DIR, else the OS cache folder."""
    named = _env_dir(CACHE_ENV)
    if named is not None:
        return named
    import pooch

    return Path(pooch.os_cache("companion"))


def offline() -> bool:
    """True when COMPANION_OFFLINE is set to 1/true/yes: never try a download."""
    return os.environ.get(OFFLINE_ENV, "").lower() in {"1", "true", "yes"}


def project_root() -> Path:
    """The repository root (the folder holding companion/ and notebooks/)."""
    return Path(__file__).resolve().parent.parent
