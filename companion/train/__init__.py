"""The trainer: one for every registered model, resumable and deterministic (``trainer``), the
models' training recipes per profile (``recipes``), and the command that turns a recipe into our
checkpoint and its model card (``card``, ``python -m companion train``).

``from companion import train; train.train(model, images, train.TrainConfig(...), state_path)``.
"""

from ..data import PatchSampler
from .recipes import ADVERSARIAL_MODES, N2N_OURS, QUICK, RECIPES, recipe
from .trainer import (ADVERSARIAL, LOSSES, MODES, NOISES, RECIPE_EXTRAS, Diverged, TrainConfig, from_recipe, loss_fn,
                      noisy_batch, objective, recalibrate, train, training_kernels)

__all__ = ["ADVERSARIAL", "ADVERSARIAL_MODES", "Diverged", "LOSSES", "MODES", "N2N_OURS", "NOISES", "PatchSampler",
           "QUICK", "RECIPES", "RECIPE_EXTRAS", "TrainConfig", "from_recipe", "loss_fn", "noisy_batch", "objective",
           "recalibrate", "recipe", "train", "training_kernels"]
