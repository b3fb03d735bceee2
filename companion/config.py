"""Profiles, paths and devices.

Three profiles: ``quick`` runs every notebook on a laptop CPU in minutes (fewer images, fewer
attack steps, short training), ``paper`` follows the papers' protocol and is meant for a GPU
(whole test sets: OBSATK's budget uses the set's average image size, as its authors' code does),
``smoke`` runs every notebook on one or two tiny images to check that it runs (CI). A profile
carries each notebook's sizes (``Profile.sizes_for``), so no notebook tests a profile's name.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

DATA_ENV = "COMPANION_DATA_DIR"
WEIGHTS_ENV = "COMPANION_WEIGHTS_DIR"
CACHE_ENV = "COMPANION_CACHE_DIR"
OFFLINE_ENV = "COMPANION_OFFLINE"


@dataclass(frozen=True)
class Profile:
    """How much work a notebook does: ``quick`` (CPU, minutes), ``paper`` (GPU) or ``smoke``
    (every notebook on one or two tiny images with the fewest steps, to check that it runs).

    ``parameters`` maps a notebook's number to the parameters the profile sets for it;
    ``reproduce`` passes them unless the user sets the same parameter. ``sizes`` maps a
    notebook's number to the sizes its parameters default to (image counts, crops, steps),
    read with ``sizes_for``.
    """

    name: str
    description: str
    parameters: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)

    def sizes_for(self, section: str, **given) -> dict:
        """The sizes notebook ``section`` ('01', ...) runs at under this profile, each replaced by
        the value the user ``given`` where that is not None."""
        sizes = dict(self.sizes.get(section, {}))
        sizes.update({k: v for k, v in given.items() if v is not None})
        return sizes


_SMOKE = {
    "00": dict(max_images=2),
    "01": dict(max_images=2, crop=64, sensitivity_images=1, sensitivity_crop=32),
    "02": dict(max_images=2, crop=64, gray_models="tables", color_models="tables", sensitivity_images=1,
               sensitivity_crop=32),
    "03": dict(max_images=2, crop=64),
    "04": dict(max_images=1, crop=48, budgets=[5], strengths=[2, 4], restarts=2),
    "05": dict(max_images=2, crop=48, classical=["bm3d", "tv"], whitebox_targets=["tv"], whitebox_images=1,
               whitebox_crop=32, bpda_steps=2, spsa_iterations=2, spsa_samples=2, purifiers=["dncnn_b", "tv"],
               purifier_steps=2, digits_train=300, digits_test=20, classifier_epochs=1),
    "06": dict(max_images=2, crop=64, transfer_models="tables", sensitivity_images=1, sensitivity_crop=32),
    "07": dict(crop_size=32, n_bsd=2, eps_255=[4, 12], steps_targeted=3, steps_untargeted=3, kernel_sizes=[11, 25],
               figure_eps_255=12, networks=["mprnet_small", "dwdn_small", "dpir_small"]),
    "08": dict(n_crops=3, impulse_losses=["n2n_impulse_l0", "n2n_impulse_l1"], pgd_steps=2, digits_train=300,
               digits_test=10, classifier_epochs=1, noise_fractions=[0.0, 0.2], fgsm_eps=[0.1], pixel_counts=[1],
               one_pixel_digits=2, de_population=10, de_generations=2),
    "09": dict(max_images=1, crop=16),
    "10": dict(max_images=2, crop=48, figure_images=1),
}

# per notebook, the sizes each profile runs at where the user leaves a parameter at None
_QUICK_SIZES: dict = {
    "00": {},
    "01": dict(images=4, crop=96, sensitivity_images=3, sensitivity_crop=64),
    "02": dict(images=4, crop=96, sensitivity_images=3, sensitivity_crop=64),
    "03": dict(images=4, crop=96, angles=16),
    "04": dict(images=2, crop=80, sigmas=[25], datasets=["set12"], restarts=2, sweep_images=1),
    "05": dict(images=4, crop=96, whitebox_images=2, whitebox_crop=64, spsa_iterations=5, spsa_samples=4,
               purifier_eps=[0.1], purifier_steps=10, digits_test=40),
    "06": dict(images=4, crop=96, seeds=[0], table_sigmas=[15], sensitivity_images=3, sensitivity_crop=64),
    "07": dict(crop=48, images=2, steps_targeted=24, steps_untargeted=12, lr=3e-3),
    "08": dict(crops=24, digits_test=40, one_pixel_digits=20, de_population=60, de_generations=15),
    "09": dict(budget="quick", images=None, crop=None),  # the audit's budget; None: its protocol's own
    "10": dict(images=10, crop=128, figure_images=3),
}
_PAPER_SIZES: dict = {
    "00": {},
    "01": dict(images=12, crop=None, sensitivity_images=12, sensitivity_crop=None),
    "02": dict(images=12, crop=None, sensitivity_images=None, sensitivity_crop=None),
    "03": dict(images=12, crop=None, angles=100),
    "04": dict(images=None, crop=None, sigmas=[15, 25], datasets=["set12", "bsd68"], restarts=5, sweep_images=4),
    "05": dict(images=12, crop=None, whitebox_images=4, whitebox_crop=96, bpda_steps=20, spsa_iterations=40,
               spsa_samples=16, purifier_eps=[0.05, 0.1, 0.15, 0.2], purifier_steps=40, digits_test=500),
    "06": dict(images=None, crop=None, seeds=[0, 1, 2], table_sigmas=[25, 15], sensitivity_images=12,
               sensitivity_crop=None),
    "07": dict(crop=128, images=68, steps_targeted=500, steps_untargeted=250, lr=1e-3),
    "08": dict(crops=500, digits_test=1000, one_pixel_digits=100, de_population=400, de_generations=100),
    "09": dict(budget="standard", images=None, crop=None),
    "10": dict(images=None, crop=None, figure_images=4),
}

PROFILES = {
    "quick": Profile("quick", "CPU, minutes: a few images per set, few attack steps, short training",
                     sizes=_QUICK_SIZES),
    "paper": Profile("paper", "the papers' protocol: whole test sets, full training; meant for a GPU",
                     sizes=_PAPER_SIZES),
    "smoke": Profile("smoke", "every notebook on one or two tiny images, fewest steps: checks that it runs; "
                     "its claims are never verdicts", _SMOKE, sizes=_QUICK_SIZES),
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
