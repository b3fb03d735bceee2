"""The audit's budgets: what ``quick`` and ``standard`` attack, with which attacks, how hard.

Every number is either a paper's setting, kept for comparability, or a cost chosen for the
machine the protocol is meant for; none is tuned to make a model look good or bad.

- The paper settings: denoising-PGD at eps 0.012 (gray) / 0.055 (color), 5 steps, at sigma 25
  (Ning et al., arXiv:2306.16050, Sec. III-B); OBSATK Atk-5, 5 steps (Yan et al., IJCAI 2022,
  Sec. 4: r = 5 at sigma 25); the transfer set is DnCNN-S's denoising-PGD set at those settings
  (``adversarial_sets``).
- Budgets: L-infinity radii on the [0, 1] scale; L2 budgets as a per-pixel RMS eps, so the ball
  is ||x' - x||_2 <= eps sqrt(C H W) (the convention of ``attacks.apgd`` / ``attacks.square``; an
  RMS of r/255 is OBSATK's rho = r/255 sqrt(m)). The curves run from a third of the paper's
  budget to twice it (gray: 0.004, 0.012, 0.024), so the paper's point sits inside the curve.
- APGD needs no step size (Croce & Hein 2020, Sec. 3); its iteration count is the cost knob. 10
  iterations is AutoAttack's checkpoint grid at its smallest useful length (checkpoints at 0, 2,
  4, 6, 8: p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) of 10); ``standard`` uses 50.
- Square: 100 queries (``quick``) and 1000 (``standard``); Andriushchenko et al. report most of
  its success within the first few hundred queries at their budgets.
- Masking: the longer attack runs ``more_steps`` x the iterations with ``more_restarts`` starts;
  the unbounded attack uses an L-infinity radius of 1 (the whole [0, 1] range: no constraint
  that matters) for ``unbounded_steps`` iterations.
- ``quick`` fits a 2-core CPU in under 3 minutes for a DnCNN-size model (``benchmarks/
  audit_time.py``): 2 Set12 crops of 40 x 40 at sigma 25. ``standard``: 12 images, 128 x 128
  crops, sigma 15, 25 and 50, for a GPU (``--device cuda``).
"""

import json
from dataclasses import asdict, dataclass, field

from ..checks import lookup

PAPER_EPS = {1: 0.012, 3: 0.055}
"""denoising-PGD's L-infinity budget per channel count (Ning et al. Sec. III-B)."""
PAPER_PGD_STEPS = 5
"""denoising-PGD's steps (Ning et al. Sec. III-B)."""
PAPER_OBSATK_R = 5.0
"""OBSATK's Atk-r on the 0-255 scale (Yan et al. Sec. 4); its L2 RMS budget is r/255."""
CURVE_FACTORS = (1 / 3, 1.0, 2.0)
"""The budgets of the robust-PSNR curves, as multiples of the paper's eps."""


@dataclass(frozen=True)
class Protocol:
    """One audit budget (module docstring). ``images``: how many images of ``dataset``;
    ``crop``: their center crop (None: whole images); ``shard``: images per grid task."""

    name: str
    sigmas: tuple
    dataset: str
    images: int
    crop: int | None
    apgd_steps: int
    square_queries: int
    more_steps: int = 2
    more_restarts: int = 2
    unbounded_steps: int = 10
    radar_angles: int = 12
    shard: int = 1
    seed: int = 0
    references: tuple = ("dncnn_s25", "dncnn_b")
    factors: tuple = field(default=CURVE_FACTORS)

    def linf_budgets(self, channels: int) -> tuple:
        """The L-infinity radii of the curve for images of ``channels`` channels."""
        return tuple(round(PAPER_EPS[channels] * f, 6) for f in self.factors)

    def l2_budgets(self, channels: int) -> tuple:
        """The L2 per-pixel RMS budgets of the curve: the same numbers as the L-infinity radii
        (an RMS of eps is what an L-infinity perturbation of eps at every pixel has)."""
        return self.linf_budgets(channels)

    def main_budget(self, channels: int) -> float:
        """The paper's budget: the point where the masking checks and the leaderboard look."""
        return PAPER_EPS[channels]

    def as_dict(self) -> dict:
        """The protocol as plain JSON data (tuples as lists)."""
        return json.loads(json.dumps(asdict(self)))


PROTOCOLS = {
    "quick": Protocol("quick", sigmas=(25.0,), dataset="set12", images=2, crop=40, apgd_steps=10,
                      square_queries=100),
    "standard": Protocol("standard", sigmas=(15.0, 25.0, 50.0), dataset="set12", images=12, crop=128,
                         apgd_steps=50, square_queries=1000, radar_angles=36, shard=4),
}


def protocol(name) -> Protocol:
    """The protocol ``name`` ('quick' or 'standard'), or a ``Protocol`` given as is; a one-line
    ValueError for an unknown name."""
    if isinstance(name, Protocol):
        return name
    return lookup(PROTOCOLS, name, "audit budget")
