"""The One Pixel attack (Su, Vargas & Sakurai, IEEE TEVC 2019) on image classifiers, the attack
Plummer & Hauser's Section 2 baseline runs on a digit classifier (their Figure 12).

Each candidate sets ``pixels`` pixels, one (row, column, value per channel) triple each; the
untargeted attack minimizes the classifier's probability of the true class by differential
evolution (scipy's ``differential_evolution``). Facts from Su et al. Sec. III-B/IV: mutation
factor F = 0.5, no crossover (every trial takes the whole mutant: recombination 1), population
400, at most 100 generations, early stop once the image is misclassified. The population and the
generation count are parameters (the quick profile uses far fewer); scipy counts the population
per parameter, so ``population`` is divided by the number of parameters. Rows and columns are
the floor of the continuous genes. Each image is attacked on its own, seeded ``seed + i``.
"""

import numpy as np
import torch
from scipy.optimize import differential_evolution

from ...checks import count
from ...evaluation import eval_mode
from . import labelled


def _apply(image: torch.Tensor, genes: np.ndarray, pixels: int) -> torch.Tensor:
    """Candidates (P x pixels*(2+C) genes) applied to one CHW image: a P x C x H x W batch."""
    c, h, w = image.shape
    batch = image.expand(len(genes), c, h, w).clone()
    g = torch.from_numpy(genes.reshape(len(genes), pixels, 2 + c)).float()
    rows = g[..., 0].long().clamp(0, h - 1)
    cols = g[..., 1].long().clamp(0, w - 1)
    which = torch.arange(len(genes)).view(-1, 1).expand(-1, pixels)
    batch[which, :, rows, cols] = g[..., 2:].to(batch.device)
    return batch


def one_pixel(model: torch.nn.Module, images, labels, pixels: int = 1, population: int = 400,
              generations: int = 100, seed: int = 0) -> torch.Tensor:
    """Adversarial images with at most ``pixels`` pixels changed per image (module docstring)."""
    pixels, population = count(pixels, "pixels", least=1), count(population, "population", least=1)
    generations = count(generations, "generations", least=1)
    x, labels = labelled.batch(images, labels)
    c, h, w = x.shape[1:]
    bounds = [(0, h), (0, w)] + [(0, 1)] * c
    out = x.clone()
    with eval_mode(model), torch.no_grad():
        for i in range(len(x)):
            label = int(labels[i])

            def true_class_probability(genes):  # genes: parameters x candidates (vectorized)
                batch = _apply(x[i], np.atleast_2d(genes.T), pixels)
                return model(batch).softmax(1)[:, label].cpu().numpy()

            def fooled(xk, convergence=None):
                return bool(model(_apply(x[i], xk[None], pixels)).argmax(1).item() != label)

            result = differential_evolution(
                true_class_probability, bounds * pixels, maxiter=generations, mutation=0.5, recombination=1.0,
                popsize=max(1, population // (len(bounds) * pixels)), seed=seed + i, polish=False, tol=0,
                init="random", vectorized=True, updating="deferred", callback=fooled)
            out[i] = _apply(x[i], result.x[None], pixels)[0]
    return out
