"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image
Denoising", IEEE TIP 2017).

Facts used: 3x3 convolutions with 64 features; the first layer Conv+ReLU, middle layers
Conv+BN+ReLU, the last a Conv back to the image channels; residual learning, so the output is
x - net(x). Depth 17 for DnCNN-S (one noise level), 20 for the blind DnCNN-B and CDnCNN-B
(sigma in [0, 55]). The released KAIR weights have the batch normalization folded into the
convolution biases, so the inference network is Conv(+bias)+ReLU laid out as
``model.{0,2,...}`` with the ReLUs at the odd indices: the official state_dicts load without
renaming. ``batch_norm=True`` builds the training network of the paper; ``deployable()``
folds its BN and returns the inference layout.
"""

from .base import Denoiser, conv_stack
from .registry import TRAIN_WITH_BATCH_NORM, ModelSpec, register


class DnCNN(Denoiser):
    identity_stacks = ("model",)

    def __init__(self, in_channels: int = 1, depth: int = 17, features: int = 64, batch_norm: bool = False):
        super().__init__()
        self.in_channels = in_channels
        self.model = conv_stack(in_channels, in_channels, features, depth, batch_norm)

    def forward(self, x, sigma=None):
        """The clean estimate of ``x``; ``sigma`` is ignored (one level, or blind)."""
        self.check_input(x)
        return x - self.model(x)


PAPER = "Zhang et al., IEEE TIP 2017 (DnCNN)"
ADVERSARIAL_TRAINING = ("nt", "ning", "vat", "hat1", "hat2")
"""Notebook 04's adversarial training modes (``companion.train.ADVERSARIAL_MODES``): one checkpoint
of ours per mode and track, fine-tuned DnCNN-S and DnCNN-B from scratch."""
REAL_NOISE_TRAINING = ("nt", "vat", "hat2")
"""Notebook 10's modes: Yan et al.'s color DnCNN-C (IJCAI 2022, Sec. 4.3, Tables 3-4; their code's
``DnCNN(depth=20, img_channels=3)`` for ``--network DnCNN-C``) trained from scratch on CBSD432 for
sigma in [0, 25], normally, with vAT and with HAT at a = 2 (their ``run.sh`` for this network),
then tested on real camera noise (``experiments.real_noise``)."""


def _dncnn(channels: int, depth: int):
    return lambda batch_norm=False, **kw: DnCNN(channels, depth, batch_norm=batch_norm)


register(
    *[ModelSpec(f"dncnn_s{s}", _dncnn(1, 17), 1, "non-blind", PAPER, sigma=s, official=f"dncnn_{s}",
                ours="dncnn_s25" if s == 25 else None, train_kwargs=TRAIN_WITH_BATCH_NORM) for s in (15, 25, 50)],
    ModelSpec("dncnn_b", _dncnn(1, 20), 1, "blind", PAPER, official="dncnn_gray_blind",
              notes="trained for sigma in [0, 55]", train_kwargs=TRAIN_WITH_BATCH_NORM),
    ModelSpec("cdncnn_b", _dncnn(3, 20), 3, "blind", PAPER, official="dncnn_color_blind",
              notes="trained for sigma in [0, 55]", train_kwargs=TRAIN_WITH_BATCH_NORM),
    *[ModelSpec(f"dncnn_s25_{mode}", lambda **kw: DnCNN(1, 17), 1, "non-blind", PAPER, sigma=25.0,
                ours=f"dncnn_s25_{mode}", init="dncnn_s25", collection="adversarial_training",
                notes=f"the official DnCNN-S (sigma 25) fine-tuned, adversarial mode {mode!r}")
      for mode in ADVERSARIAL_TRAINING],
    *[ModelSpec(f"dncnn_b25_{mode}", _dncnn(1, 20), 1, "blind", PAPER, train_kwargs=TRAIN_WITH_BATCH_NORM,
                ours=f"dncnn_b25_{mode}", collection="adversarial_training",
                notes=f"DnCNN-B trained from scratch for sigma in [0, 25], adversarial mode {mode!r}; quick: the "
                "fine-tuned track's budget (400 CPU steps of 16 patches) from an identity start "
                "(models.base.init_identity; from PyTorch's default start 400 steps left it at the identity); "
                "paper: the DnCNN-B recipe from the default start, for a GPU")
      for mode in ADVERSARIAL_TRAINING],
    *[ModelSpec(f"dncnn_c25_{mode}", _dncnn(3, 20), 3, "blind", PAPER, train_kwargs=TRAIN_WITH_BATCH_NORM,
                ours=f"dncnn_c25_{mode}", collection="real_noise",
                notes=f"Yan et al.'s DnCNN-C (color, 20 layers) trained from scratch on CBSD432 for sigma in [0, 25], "
                f"adversarial mode {mode!r}; quick: the gray from-scratch track's budget (400 CPU steps of 16 patches "
                "from an identity start); paper: Yan et al.'s recipe (their run.sh), for a GPU")
      for mode in REAL_NOISE_TRAINING],
)

