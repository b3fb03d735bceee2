"""What notebooks 01-03 share: the models of a run, which of ours stands in for which of the
paper's (Ning et al. arXiv:2306.16050 attacked DPIR, DeamNet and FAN, too large to train on a CPU),
and the scope note that marks evidence gathered outside the paper's protocol."""

from dataclasses import dataclass

import torch

from .. import config
from ..models import selection


@dataclass
class Lineup:
    """The models a notebook loaded (``{name: model}``, in the order asked) and those it skipped
    (``{name: reason}``). A stand-in is loaded under its own name; ``stands_in`` maps it to the
    paper's model it replaces."""

    models: dict
    skipped: dict

    def __or__(self, other: "Lineup") -> "Lineup":
        return Lineup({**self.models, **other.models}, {**self.skipped, **other.skipped})

    @property
    def stands_in(self) -> dict:
        """Ours -> the paper's model, for every stand-in."""
        return {n: m.info["stands_in_for"] for n, m in self.models.items() if "stands_in_for" in m.info}

    @property
    def used(self) -> dict:
        """The paper's name (or a loaded model's own) -> the loaded model that answers for it."""
        return {paper: ours for ours, paper in self.stands_in.items()} | {n: n for n in self.models}

    def label(self, name: str) -> str:
        """A loaded model's name, with the paper model it stands in for: 'dpir_small_gray (for dpir_gray)'."""
        return f"{name} (for {self.stands_in[name]})" if name in self.stands_in else name

    def label_for(self, paper: str) -> str | None:
        """The label of the model answering for the paper's model ``paper``; None when none was loaded."""
        return self.label(self.used[paper]) if paper in self.used else None

    def among(self, names) -> list:
        """The loaded models answering for ``names`` (the paper's names or ours), in that order."""
        return [self.used[n] for n in names if n in self.used]


def load(names: list, sigma: float, device: str | torch.device, results, channels: int | None = None) -> Lineup:
    """``selection.load`` (stand-ins where the paper's weights are absent), recording in ``results``
    (a ``report.Results``) why a model was skipped and which weights each loaded model used."""
    loaded, skipped = selection.load(names, sigma, device, channels=channels)
    for name, reason in skipped.items():
        results.note(f"{name} skipped: {reason}")
        print(f"skipped {name}: {reason[:150]}")
    for name, model in loaded.items():
        results.model(name, model.info["weights"])
    return Lineup(loaded, skipped)


def scope(section: str, profile: str, sizes: dict, images: list, settings: dict, paper_settings: dict,
          what: str) -> str:
    """'' when notebook ``section`` ran the paper's protocol (the benchmark sets, the paper
    profile's ``sizes``, ``settings`` equal to ``paper_settings``), else the note every piece of
    evidence carries: ' [quick profile: <what>; not the paper's protocol]'."""
    follows = (all(s.comparable for s in images) and sizes == config.profile("paper").sizes_for(section)
               and all(settings[k] == v for k, v in paper_settings.items()))
    return "" if follows else f" [{profile} profile: {what}; not the paper's protocol]"
