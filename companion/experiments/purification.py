"""Notebook 05, section 3: denoisers as adversarial purifiers: is a denoiser a safe shield for a
classifier? Also the digit classifier and its data, which notebook 08's classifier baseline
(``noise2noise_dag``) uses too.

The question behind Ning et al. (arXiv:2306.16050, Sec. I and V-B) and Plummer & Hauser
(Sec. 4): a classifier f is attacked (FGSM, PGD: ``attacks.classifier``), and a denoiser P is put
in front of it, f(P(x')). P may remove the perturbation (purification), but only against an
attacker who ignores P. The adaptive attacker attacks the whole pipeline f o P (Athalye, Carlini
& Wagner, ICML 2018): end to end for a deep P, through ``BPDA`` (the identity's gradient) for a
classical one. A purifier that holds only against the non-adaptive attack gives a false sense of
security.

The classifier is a small ResNet built with timm (one BasicBlock per stage, widths 16-128, 0.2M
parameters), trained on digits available offline: the MNIST test split, partitioned into a
training part and a disjoint test part (``digits``).
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import claims, config, data, models, weights
from ..attacks import BPDA
from ..attacks.classifier import fgsm, pgd
from ..evaluation import eval_mode
from ..models.classical import NotDifferentiableError


def digit_classifier(seed: int = 0) -> nn.Module:
    """A timm ResNet for 28x28 gray digits: BasicBlocks (1, 1, 1, 1), widths (16, 32, 64, 128),
    a 16-channel stem; seeded initialization."""
    from timm.models.resnet import BasicBlock, ResNet

    torch.manual_seed(seed)
    return ResNet(BasicBlock, (1, 1, 1, 1), num_classes=10, in_chans=1, stem_width=16, channels=(16, 32, 64, 128))


class DigitSplit(tuple):
    """``(x_train, y_train, x_test, y_test)`` from ``digits``, unpacked like a 4-tuple, with
    ``source`` (where the digits came from: ``data.load_mnist``'s, 'fallback' for the embedded
    subset), ``train`` and ``test`` (the counts used) and ``note`` (why they differ from those
    asked for, or None)."""

    def __new__(cls, parts: tuple, source: str, note: str | None):
        self = super().__new__(cls, parts)
        self.source, self.note = source, note
        self.train, self.test = len(parts[0]), len(parts[2])
        return self


def digits(train: int = 8000, test: int = 2000, root=None) -> DigitSplit:
    """``(x_train, y_train, x_test, y_test)`` from the MNIST test split (10,000 digits): the first
    ``train`` digits to train on, the last ``test`` to test on (disjoint when train + test <=
    10,000). Images are N x 1 x 28 x 28 in [0, 1].

    Without the split, ``data.load_mnist`` falls back to the embedded subset (5,000 digits: the
    split's first 4,000 and last 1,000, so the digits are the same for train <= 4,000 and test
    <= 1,000). When train + test exceeds the subset, ``train`` is cut to what is left after the
    test digits, and the returned ``DigitSplit`` says so in ``note`` (also printed)."""
    if train < 1 or test < 1 or train + test > data.MNIST_TEST_SIZE:
        raise ValueError(f"need train >= 1, test >= 1 and train + test <= {data.MNIST_TEST_SIZE} (the MNIST test "
                         f"split); got train={train}, test={test}")
    images, labels = found = data.load_mnist(root)
    note = None
    if train + test > len(labels):
        if test >= len(labels):
            raise ValueError(f"the MNIST digits at hand ({found.source}) number {len(labels)}: test={test} leaves "
                             f"none to train on; ask for fewer test digits or set {config.DATA_ENV}")
        note = (f"digits_train {train} cut to {len(labels) - test}: the {found.source} MNIST digits number "
                f"{len(labels)} and the last {test} are the test digits")
        print("NOTE:", note)
        train = len(labels) - test
    parts = (images[:train], labels[:train], images[-test:], labels[-test:])
    return DigitSplit(parts, found.source, note)


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int = 3,
                     batch_size: int = 64, lr: float = 2e-3, seed: int = 0, progress: bool = False) -> list:
    """Train with cross-entropy, AdamW (timm's ``create_optimizer_v2``, weight decay 1e-4) and a
    cosine schedule stepped per batch (timm's ``CosineLRScheduler``); batches drawn by a generator
    seeded ``seed``. Returns the loss of every batch; leaves the model in eval mode."""
    from timm.optim import create_optimizer_v2
    from timm.scheduler import CosineLRScheduler
    from tqdm.auto import tqdm

    device = next(model.parameters()).device
    optimizer = create_optimizer_v2(model, "adamw", lr=lr, weight_decay=1e-4)
    per_epoch = int(np.ceil(len(images) / batch_size))
    scheduler = CosineLRScheduler(optimizer, t_initial=epochs * per_epoch)
    g = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    with tqdm(total=epochs * per_epoch, desc="training the classifier", disable=not progress) as bar:
        for epoch in range(epochs):
            order = torch.randperm(len(images), generator=g)
            for b in range(per_epoch):
                idx = order[b * batch_size:(b + 1) * batch_size]
                loss = F.cross_entropy(model(images[idx].to(device)), labels[idx].to(device))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step_update(epoch * per_epoch + b + 1)
                losses.append(float(loss.detach()))
                bar.update()
    model.eval()
    return losses


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted classes, in batches, in eval mode (``evaluation.eval_mode``)."""
    device = next(model.parameters()).device
    with eval_mode(model):
        return torch.cat([model(images[i:i + batch_size].to(device)).argmax(1).cpu()
                          for i in range(0, len(images), batch_size)])


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(model, images) == labels.cpu()).float().mean())


class Purified(nn.Module):
    """The defended pipeline f(clip(P(x))). With ``bpda=True`` the purifier's backward pass is
    the identity's (``attacks.BPDA``), for purifiers without a gradient."""

    def __init__(self, purifier: nn.Module, classifier: nn.Module, bpda: bool = False):
        super().__init__()
        self.purifier = BPDA(purifier) if bpda else purifier
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.purifier(x).clamp(0, 1))


def purifier_rows(classifier: nn.Module, purifiers: dict, images: torch.Tensor, labels: torch.Tensor, eps: float,
                  steps: int = 10, seed: int = 0, adaptive=None) -> list:
    """Accuracy of ``classifier`` alone and behind each purifier, on clean digits, under FGSM and
    PGD made on the classifier alone (non-adaptive), and under PGD made through the purifier
    (adaptive: end to end, or BPDA for a purifier that refuses gradients).

    Args:
        purifiers: ``{name: module}``, each bound to the noise level it should remove.
        eps: the L-infinity budget of every attack; steps: PGD's T (the random start of image i
            seeded seed + i).
        adaptive: the purifier names to attack adaptively (default all): end to end, or through
            BPDA when the purifier raises ``NotDifferentiableError`` (a classical one: ``steps``
            calls per digit).

    Returns rows (eps, attack, purifier, accuracy); purifier 'none' is the bare classifier.
    """
    attacked = {"clean": images, "FGSM": fgsm(classifier, images, labels, eps),
                "PGD": pgd(classifier, images, labels, eps, steps, seed=seed)}
    rows = [{"eps": eps, "attack": a, "purifier": "none", "accuracy": accuracy(classifier, x, labels)}
            for a, x in attacked.items()]
    for name, purifier in purifiers.items():
        defended = Purified(purifier, classifier)
        rows += [{"eps": eps, "attack": a, "purifier": name, "accuracy": accuracy(defended, x, labels)}
                 for a, x in attacked.items()]
        if adaptive is None or name in adaptive:
            try:
                x, label = pgd(defended, images, labels, eps, steps, seed=seed), "adaptive PGD"
            except NotDifferentiableError:
                x = pgd(Purified(purifier, classifier, bpda=True), images, labels, eps, steps, seed=seed)
                label = "adaptive PGD (BPDA)"
            rows.append({"eps": eps, "attack": label, "purifier": name, "accuracy": accuracy(defended, x, labels)})
    return rows


def usable_purifiers(names: list, eps: float) -> tuple:
    """``(usable, skipped)``: the purifiers of ``names`` whose weights are at hand (each tried bound
    to sigma = 255 ``eps`` when it takes a level), and ``{name: reason}`` for the others."""
    usable, skipped = [], {}
    for name in names:
        try:
            models.create(name, sigma=255 * eps if models.spec(name).bindable else None)
            usable.append(name)
        except weights.WeightsError as err:  # e.g. DnCNN-B: official weights only
            skipped[name] = f"purifier {name} skipped: {weights.short_reason(err)}"
    return usable, skipped


def purification_table(classifier: nn.Module, names: list, images: torch.Tensor, labels: torch.Tensor, eps_values,
                       steps: int = 10, seed: int = 0, adaptive=None, device="cpu", progress: bool = False) -> tuple:
    """``purifier_rows`` at every budget of ``eps_values``, each purifier of ``names`` bound to sigma
    = 255 eps (the perturbation's standard deviation for a signed step) when it takes a level.
    Returns ``(rows, weights)``: a DataFrame, and ``{purifier: its weights}``."""
    import pandas as pd
    from tqdm.auto import tqdm

    rows, shields = [], {}
    for eps in tqdm(eps_values, desc="purifier budgets", disable=not progress):
        shields = {p: models.create(p, sigma=255 * eps if models.spec(p).bindable else None, device=device)
                   for p in names}
        rows += purifier_rows(classifier, shields, images, labels, eps, steps, seed, adaptive)
    return pd.DataFrame(rows), {name: shield.info["weights"] for name, shield in shields.items()}


@claims.check("learned_purifier_broken")
def learned_purifier_broken(purified, skipped: dict, steps: int, digits: int) -> tuple:
    """Agrees when PGD through DnCNN-B (adaptive) leaves at most half the accuracy PGD ignoring it
    leaves, at every budget (``purified``: ``purification_table``'s rows; ``skipped``:
    ``usable_purifiers``'); None when DnCNN-B was skipped or not attacked adaptively."""
    if "dncnn_b" in skipped:
        return None, skipped["dncnn_b"]
    learned = purified[purified.purifier == "dncnn_b"].pivot_table(index="eps", columns="attack", values="accuracy")
    if "adaptive PGD" not in learned:
        return None, ("dncnn_b was not attacked adaptively (see the adaptive parameter)" if len(learned) else
                      "dncnn_b is not among the purifiers")
    return bool((learned["adaptive PGD"] <= learned["PGD"] / 2).all()), (
        "; ".join(f"eps {e:g}: PGD ignoring DnCNN-B {r['PGD']:.3f}, adaptive {r['adaptive PGD']:.3f} "
                  f"(clean behind it {r['clean']:.3f})" for e, r in learned.iterrows())
        + f" [{steps} PGD steps, {digits} digits]")
