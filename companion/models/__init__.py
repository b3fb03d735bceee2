"""The model zoo: a registry of denoisers, ``create(name)`` and ``list_models()``.

Every model is also registered with timm, so ``timm.create_model("dncnn_s25",
pretrained=True)`` builds it with its best weights (``pretrained=False``: random init).
"""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .. import config
from .. import weights as wts
from .base import Denoiser
from .brdnet import BRDNet
from .classical import BM3D, NonLocalMeans, TotalVariation, WaveletShrinkage
from .curvpnp import CurvPnP
from .deamnet import DeamNet
from .dncnn import DnCNN
from .dpir import DPIR
from .drunet import DRUNet
from .dwdn import DWDN
from .ecndnet import ECNDNet
from .fan import FAN
from .ffdnet import FFDNet
from .lgd import LearnedGradientDescent
from .mprnet import MPRNet
from .noise2noise import Noise2NoiseUNet
from .rddcnn import RDDCNN

__all__ = ["Denoiser", "ModelSpec", "create", "list_models", "spec", "MODELS", "BM3D", "BRDNet", "CurvPnP", "DeamNet",
           "DnCNN", "DPIR", "DRUNet", "DWDN", "ECNDNet", "FAN", "FFDNet", "LearnedGradientDescent", "MPRNet",
           "NonLocalMeans", "Noise2NoiseUNet", "RDDCNN", "TotalVariation", "WaveletShrinkage"]


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry.

    family: 'non-blind' (one noise level), 'blind', 'plug-and-play', 'unfolding' or 'classical'.
    sigma: the noise level (0-255) the weights were trained for, or the default a non-blind
        model with a noise-level input (FFDNet) is bound to; None for blind models.
    bindable: True when ``create(name, sigma=...)`` may bind another noise level.
    official / ours: the weight key in ``weights.OFFICIAL`` / our checkpoint name, if any.
    train_kwargs: what ``build`` gets to make the training network (the papers train DnCNN and
        FFDNet with batch normalization; ``deployable()`` folds it after training).
    variant: 'full' (the paper's size) or 'reduced' (narrower, so that we can train it on a CPU).
    noise: the noise the weights were trained to remove: 'gaussian', 'poisson' or 'impulse'.
    recipes: per profile ('quick', 'paper'), the ``TrainConfig`` fields that
        ``python -m companion train NAME --profile ...`` uses (on Train400 gray, CBSD432 color),
        ``recalibrate_batches`` for ``train.recalibrate`` after a short run, and ``store_half``
        to store the checkpoint in float16 (it loads into float32).
    init: the registered model whose best weights training starts from (fine-tuning), if any.
    collection: 'zoo' (the deep denoisers of the papers), 'adversarial_training' (notebook 04's
        DnCNNs trained by each mode of ``train.TrainConfig.adversarial``), 'classical' (notebook
        05's model-driven denoisers: no weights, no gradient, bound to a noise level) or
        'noise2noise' (notebook 08's U-Nets trained on noisy targets, one per noise and loss) or
        'deblurring' (notebook 07's deblurring networks: ``forward(y)`` for the blind one,
        ``forward(y, kernel, ...)`` for the non-blind ones; ``companion.deblurring`` gives
        them one call signature).
    """

    name: str
    build: Callable[..., Denoiser]
    channels: int
    family: str
    paper: str
    sigma: float | None = None
    bindable: bool = False
    official: str | None = None
    ours: str | None = None
    notes: str = ""
    train_kwargs: tuple = ()
    variant: str = "full"
    recipes: tuple = ()
    noise: str = "gaussian"
    init: str | None = None
    collection: str = "zoo"

    def recipe(self, profile: str) -> dict:
        recipes = dict(self.recipes)
        if profile not in recipes:
            raise ValueError(f"{self.name} has no {profile!r} training recipe; it has: {', '.join(recipes) or 'none'}")
        return dict(recipes[profile])


_DNCNN = "Zhang et al., IEEE TIP 2017 (DnCNN)"
_FFDNET = "Zhang, Zuo & Zhang, IEEE TIP 2018 (FFDNet)"
_ECNDNET = "Tian et al., CAAI Trans. Intell. Technol. 2019 (ECNDNet)"
_N2N = "Lehtinen et al., ICML 2018 (Noise2Noise)"
_PH = "Plummer & Hauser (Noise2Noise U-Net trained on CIFAR-10)"
_PLUMMER_HAUSER = {  # registry name: (weight key, noise type, what it was trained on)
    "n2n_ph_gaussian50": ("n2n_ph_gaussian_std_50", "gaussian", "Gaussian, sigma up to 50"),
    "n2n_ph_gaussian100": ("n2n_ph_gaussian_std_100", "gaussian", "Gaussian, sigma up to 100"),
    "n2n_ph_impulse_p02": ("n2n_ph_impulse_std50_p0.2", "impulse", "random-valued impulse, p up to 0.2"),
    "n2n_ph_impulse_p05": ("n2n_ph_impulse_std50_p0.5", "impulse", "random-valued impulse, p up to 0.5"),
    "n2n_ph_poisson100": ("n2n_ph_poisson_100", "poisson", "Poisson, 100 photons"),
    "n2n_ph_poisson200": ("n2n_ph_poisson_200", "poisson", "Poisson, 200 photons"),
    "n2n_ph_poisson500": ("n2n_ph_poisson_500", "poisson", "Poisson, 500 photons"),
}

# notebook 08: our Noise2Noise U-Nets, color, trained on noisy targets only (Plummer & Hauser Sec. 3;
# Lehtinen et al. Sec. 3): Gaussian sigma U[0, 50] with L2 (the authors' "std 50" model); Poisson
# around 200 photons with their negative binomial (dispersion 75) and L1; random-valued impulse
# p U[0, 0.5] with the annealed L0 loss, and with L2 and L1 for the comparison of losses. Adam,
# lr 1e-3 (Lehtinen et al.); 32x32 patches like CIFAR-10. Neither paper gives a CIFAR-10
# schedule: the step counts are ours.
N2N_OURS = {  # registry name: (noise, level range or value, loss, extra TrainConfig fields)
    "n2n_gaussian_l2": ("gaussian", (0.0, 50.0), "l2", {}),
    "n2n_poisson_l1": ("poisson", 200.0, "l1", {"dispersion": 75.0}),
    "n2n_impulse_l0": ("impulse", (0.0, 0.5), "l0", {}),
    "n2n_impulse_l2": ("impulse", (0.0, 0.5), "l2", {}),
    "n2n_impulse_l1": ("impulse", (0.0, 0.5), "l1", {}),
}
_N2N_OURS = "Lehtinen et al., ICML 2018 (Noise2Noise), for the noises of Plummer & Hauser"
_N2N_STEPS = {"quick": dict(steps=1500, batch_size=32, patch_size=32, schedule="cosine"),
              "paper": dict(steps=100_000, batch_size=64, patch_size=32, schedule="cosine")}

_BRDNET = "Tian, Xu & Zuo, Neural Networks 2020 (BRDNet)"
_RDDCNN = "Zhang, Tian et al., CAAI Trans. Intell. Technol. 2023 (RDDCNN)"
_DPIR = "Zhang et al., IEEE TPAMI 2021 (DPIR, DRUNet prior)"
_FAN = "Mo et al., ACCV 2020 (FAN)"
_CURVPNP = "Li & Duan, arXiv 2211.07286 / Signal Processing 2025 (CurvPnP)"
_DEAMNET = "Ren et al., CVPR 2021 (DeamNet)"

_BN = (("batch_norm", True),)



def _recipes(quick: dict, paper: dict) -> tuple:
    """(profile, fields) pairs; 'paper' follows the paper's (or authors' code's) recipe on our
    training sets (Train400 gray, CBSD432 color), which stand in for their larger ones."""
    return (("quick", tuple(quick.items())), ("paper", tuple(paper.items())))


# notebook 07: deblurring networks (Gandikota et al., ICIP 2022, attack MPRNet, DWDN, a learned
# gradient descent network and DPIR), reduced so that a CPU trains them in minutes, gray, trained
# by ``train`` mode 'deblur' on Train400 with DPIR's 12 kernels (resized 11-25 px, flips/rotations)
# and sigma U[0, 2.55] (Gandikota et al. Sec. 4), L1 loss (MPRNet trains with the Charbonnier
# loss, a smoothed L1; DWDN with L1). Paper profile: MPRNet's schedule (Zamir et al. Sec. 4:
# Adam 2e-4 cosine to 1e-6, 256x256 patches, batch 16) for all three, our choice for the other
# two, whose papers train on other sets; the quick step counts are ours.
_MPRNET = "Zamir et al., CVPR 2021 (MPRNet)"
_DWDN = "Dong, Roth & Schiele, NeurIPS 2020 (DWDN)"
_LGD = "Gong et al., IEEE TNNLS 2020 (learned gradient descent)"
_DEBLUR = dict(mode="deblur", sigma=(0.0, 2.55), loss="l1", schedule="cosine", store_half=True)
_DEBLUR_PAPER = dict(_DEBLUR, steps=300_000, batch_size=16, patch_size=256, lr=2e-4)
_DEBLUR_RECIPES = _recipes(dict(_DEBLUR, steps=700, batch_size=8, patch_size=64), _DEBLUR_PAPER)
# the blind network learns far more slowly (700 steps left it at its blurred input)
_BLIND_DEBLUR_RECIPES = _recipes(dict(_DEBLUR, steps=3000, batch_size=8, patch_size=64), _DEBLUR_PAPER)
# learned gradient descent trained unrolled for 10 steps only diverged when run for 50 (Set12
# 20.70 dB, below its blurred input): each batch runs a random 10 to 40 steps
_LGD_RECIPES = _recipes(dict(_DEBLUR, steps=500, batch_size=8, patch_size=64, unroll=(10, 40)),
                        dict(_DEBLUR_PAPER, unroll=(10, 50)))

SMALL_DRUNET = (16, 32, 64, 128)
# quick recipes: minutes on a laptop CPU, gray BRDNet's 1.6 hours and RDDCNN-B's 3 to 4.6 (the wall time of
# each of ours is in its model card; those two were trained longer for issue 3's 0.5 dB target); residual
# conv stacks trained from scratch start from the identity (models.base.init_identity) and ship float16
_FROM_IDENTITY = dict(weight_init="identity", store_half=True)
QUICK = {
    "brdnet_1": dict(steps=2800, batch_size=16, patch_size=40, recalibrate_batches=50, **_FROM_IDENTITY),
    "brdnet_3": dict(steps=400, batch_size=16, patch_size=40, recalibrate_batches=50, **_FROM_IDENTITY),
    "rddcnn": dict(steps=12000, batch_size=32, patch_size=40, sigma=(0.0, 55.0), **_FROM_IDENTITY),
    "drunet_1": dict(steps=2000, batch_size=16, patch_size=64, loss="l1", sigma=(0.0, 50.0)),
    "drunet_3": dict(steps=1200, batch_size=16, patch_size=64, loss="l1", sigma=(0.0, 50.0)),
    "fan": dict(steps=1200, batch_size=16, patch_size=64, loss="l1", schedule="cosine", sigma=(15.0, 50.0)),
    "curvpnp": dict(steps=1000, batch_size=16, patch_size=64, sigma=(0.0, 50.0)),
    "deamnet": dict(steps=500, batch_size=8, patch_size=64),
}
# paper recipes, as steps of the papers' batches (facts: the papers' training sections and the
# authors' training code; the epochs are converted with the papers' patch counts)
_DNCNN_PAPER = dict(steps=80_000, batch_size=128, patch_size=40, lr=1e-3, lr_drops=(0.6,))  # 50 epochs x 1600
_DNCNN_B_PAPER = dict(steps=150_000, batch_size=128, patch_size=50, lr=1e-3, lr_drops=(0.6,), sigma=(0.0, 55.0))
_FFDNET_PAPER = dict(steps=100_000, batch_size=128, patch_size=50, lr=1e-3, lr_drops=(0.6,), sigma=(0.0, 75.0))
_BRDNET_PAPER = dict(steps=2_916_000, batch_size=20, patch_size=50, lr=1e-3, lr_drops=(0.6,))  # 50 ep x 58,320
_RDDCNN_PAPER = dict(steps=670_000, batch_size=128, patch_size=40, lr=1e-3, lr_drops=(1 / 6, 1 / 3, 1 / 2),
                     lr_decay=0.2, sigma=(0.0, 55.0))  # 180 epochs, milestones 30/60/90, gamma 0.2
_DRUNET_PAPER = dict(steps=800_000, batch_size=16, patch_size=128, lr=1e-4, lr_drops=tuple(i / 8 for i in range(1, 8)),
                     lr_decay=0.5, loss="l1", sigma=(0.0, 50.0))  # halve every 100k until < 5e-7
_FAN_PAPER = dict(steps=300_000, batch_size=48, patch_size=128, lr=2e-4, schedule="cosine", loss="l1",
                  sigma=(15.0, 50.0))
_DEAMNET_PAPER = dict(steps=4_000_000, batch_size=8, patch_size=128, lr=1e-4, lr_drops=(0.5,))  # 2000 ep x 2000

# notebook 04: one DnCNN per adversarial training mode (``train.TrainConfig.adversarial``), the
# same data, steps, batches and seed within a track. Facts: Ning et al. Sec. IV-F (denoising-PGD,
# T = 5, eps = 0.012, mixed 1:1); Yan et al. Sec. 4 and their released code
# (github.com/HanshuYAN/ObsAtk: HAT eq. 5 with a one-step OBSATK at 5/255 from delta = 0, f(y) not
# detached; a = 1 and 2; sigma ~ U[0, 25]; vAT checkpoints named vAT_eps5_PGD1). Neither paper
# gives a fine-tuning recipe: the fine-tuning recipes are ours.
ADVERSARIAL_MODES = {
    "nt": dict(adversarial="none"),
    "ning": dict(adversarial="ning", attack_steps=5, attack_eps=0.012),
    "vat": dict(adversarial="vat", attack_steps=1, attack_r=5.0),
    "hat1": dict(adversarial="hat", attack_steps=1, attack_r=5.0, hat_alpha=1.0),
    "hat2": dict(adversarial="hat", attack_steps=1, attack_r=5.0, hat_alpha=2.0),
}
_FINETUNE = (dict(steps=400, batch_size=16, patch_size=40, lr=1e-4, sigma=25.0, store_half=True),
             dict(steps=20_000, batch_size=128, patch_size=40, lr=1e-4, lr_drops=(0.6,), sigma=25.0, store_half=True))
_SCRATCH = (dict(steps=400, batch_size=16, patch_size=40, sigma=(0.0, 25.0), **_FROM_IDENTITY),
            dict(_DNCNN_B_PAPER, sigma=(0.0, 25.0), store_half=True))
_SCRATCH_NOTE = ("quick: the fine-tuned track's budget (400 CPU steps of 16 patches) from an identity start "
                 "(models.base.init_identity; from PyTorch's default start 400 steps left it at the identity, "
                 "Set12 20.4 dB at sigma 25); paper: the DnCNN-B recipe from the default start, for a GPU")
_AT = "adversarial_training"
_CLASSICAL = {  # registry name: (class, channels, paper)
    "bm3d": (BM3D, 1, "Dabov et al., IEEE TIP 2007 (BM3D)"),
    "cbm3d": (BM3D, 3, "Dabov et al., ICIP 2007 (CBM3D)"),
    "tv": (TotalVariation, 1, "Chambolle, JMIV 2004 (total variation)"),
    "tv_color": (TotalVariation, 3, "Chambolle, JMIV 2004 (total variation)"),
    "nlm": (NonLocalMeans, 1, "Buades, Coll & Morel, CVPR 2005 (non-local means)"),
    "nlm_color": (NonLocalMeans, 3, "Buades, Coll & Morel, CVPR 2005 (non-local means)"),
    "wavelet": (WaveletShrinkage, 1, "Chang, Yu & Vetterli, IEEE TIP 2000 (BayesShrink)"),
    "wavelet_color": (WaveletShrinkage, 3, "Chang, Yu & Vetterli, IEEE TIP 2000 (BayesShrink)"),
}

MODELS = {s.name: s for s in [
    *[ModelSpec(f"dncnn_s{s}", lambda batch_norm=False, **kw: DnCNN(1, 17, batch_norm=batch_norm), 1,
                "non-blind", _DNCNN, sigma=s, official=f"dncnn_{s}", ours="dncnn_s25" if s == 25 else None,
                train_kwargs=_BN,
                recipes=_recipes(dict(steps=2000, batch_size=32, sigma=float(s), **_FROM_IDENTITY),
                                 dict(_DNCNN_PAPER, sigma=float(s)))) for s in (15, 25, 50)],
    *[ModelSpec(f"ecndnet_s{s}", lambda **kw: ECNDNet(1), 1, "non-blind", _ECNDNET, sigma=s,
                official=f"ecndnet_{s}", notes="dilated convolutions at layers 2, 5, 9, 12") for s in (15, 25, 50)],
    ModelSpec("dncnn_b", lambda batch_norm=False, **kw: DnCNN(1, 20, batch_norm=batch_norm), 1, "blind", _DNCNN,
              official="dncnn_gray_blind", notes="trained for sigma in [0, 55]", train_kwargs=_BN,
              recipes=_recipes(dict(steps=2000, batch_size=32, sigma=(0.0, 55.0), **_FROM_IDENTITY), _DNCNN_B_PAPER)),
    ModelSpec("cdncnn_b", lambda batch_norm=False, **kw: DnCNN(3, 20, batch_norm=batch_norm), 3, "blind", _DNCNN,
              official="dncnn_color_blind", notes="trained for sigma in [0, 55]", train_kwargs=_BN,
              recipes=_recipes(dict(steps=2000, batch_size=32, sigma=(0.0, 55.0)), _DNCNN_B_PAPER)),
    ModelSpec("n2n_color", lambda **kw: Noise2NoiseUNet(3), 3, "blind", _N2N, official="n2n_gaussian",
              notes="trained on noisy targets, Gaussian sigma up to 50, 64x64 crops (joeylitalien)"),
    *[ModelSpec(name, lambda **kw: Noise2NoiseUNet(3), 3, "blind", _PH, official=key, notes=notes,
                noise=noise) for name, (key, noise, notes) in _PLUMMER_HAUSER.items()],
    ModelSpec("ffdnet_gray", lambda sigma=25.0, batch_norm=False, **kw: FFDNet(1, sigma=sigma, batch_norm=batch_norm),
              1, "non-blind", _FFDNET, sigma=25.0, bindable=True, official="ffdnet_gray", ours="ffdnet_gray",
              notes="noise-level map input, sigma in [0, 75]", train_kwargs=_BN,
              recipes=_recipes(dict(steps=3000, batch_size=64, sigma=(0.0, 75.0)), _FFDNET_PAPER)),
    ModelSpec("ffdnet_color", lambda sigma=25.0, batch_norm=False, **kw: FFDNet(3, sigma=sigma, batch_norm=batch_norm),
              3, "non-blind", _FFDNET, sigma=25.0, bindable=True, official="ffdnet_color",
              notes="noise-level map input, sigma in [0, 75]", train_kwargs=_BN,
              recipes=_recipes(dict(steps=3000, batch_size=64, sigma=(0.0, 75.0)), _FFDNET_PAPER)),
    *[ModelSpec(f"brdnet{'' if c == 1 else '_color'}_s25", lambda c=c, **kw: BRDNet(c), c, "non-blind", _BRDNET,
                sigma=25.0, ours=f"brdnet{'' if c == 1 else '_color'}_s25",
                notes="two 17-layer branches, batch renormalization, dilated convolutions; quick: from the identity "
                "start (from PyTorch's default start, 400 gray steps gave Set12 27.76 dB and 300 color steps "
                "left it no better than its input)",
                recipes=_recipes(QUICK[f"brdnet_{c}"], _BRDNET_PAPER)) for c in (1, 3)],
    ModelSpec("rddcnn_b", lambda **kw: RDDCNN(1), 1, "blind", _RDDCNN, ours="rddcnn_b",
              notes="modulated deformable first layer; trained for sigma in [0, 55]; quick: from the identity start "
              "(from PyTorch's default start 800 steps gave Set12 27.62 dB, 29.05 from the identity; 3000 steps "
              "29.54, 12,000 steps 29.87)",
              recipes=_recipes(QUICK["rddcnn"], _RDDCNN_PAPER)),
    *[ModelSpec(f"dpir_{kind}", lambda sigma=25.0, c=c, **kw: DRUNet(c, sigma=sigma), c, "plug-and-play", _DPIR,
                sigma=25.0, bindable=True, official=f"drunet_{kind}",
                notes="full-size DRUNet (32.6M parameters), noise-level map input, sigma in [0, 50]",
                recipes=_recipes(QUICK[f"drunet_{c}"], _DRUNET_PAPER))
      for c, kind in ((1, "gray"), (3, "color"))],
    *[ModelSpec(f"dpir_small_{kind}", lambda sigma=25.0, c=c, **kw: DRUNet(c, SMALL_DRUNET, 2, sigma=sigma), c,
                "plug-and-play", _DPIR, sigma=25.0, bindable=True, ours=f"dpir_small_{kind}", variant="reduced",
                notes=f"reduced DRUNet: features {SMALL_DRUNET}, 2 blocks per scale (the paper: 64-512, 4)",
                recipes=_recipes(QUICK[f"drunet_{c}"], _DRUNET_PAPER))
      for c, kind in ((1, "gray"), (3, "color"))],
    ModelSpec("fan", lambda **kw: FAN(64), 3, "blind", _FAN, notes="full size (width 64); no official file is "
              "registered: pass weights=<path>", recipes=_recipes(QUICK["fan"], _FAN_PAPER)),
    ModelSpec("fan_small", lambda **kw: FAN(16), 3, "blind", _FAN, ours="fan_small", variant="reduced",
              notes="reduced FAN: width 16 (the paper: 64)", recipes=_recipes(QUICK["fan"], _FAN_PAPER)),
    ModelSpec("curvpnp", lambda **kw: CurvPnP(1), 1, "plug-and-play", _CURVPNP,
              notes="full size (96-768 features, 53.7M parameters); no official file is registered: pass "
              "weights=<path>", recipes=_recipes(QUICK["curvpnp"], _DRUNET_PAPER)),
    ModelSpec("curvpnp_small", lambda **kw: CurvPnP(1, SMALL_DRUNET, 1, 1), 1, "plug-and-play", _CURVPNP,
              ours="curvpnp_small", variant="reduced",
              notes=f"reduced CurvPnP: features {SMALL_DRUNET}, 1 block per scale (the paper: 96-768; 2 and 4)",
              recipes=_recipes(QUICK["curvpnp"], _DRUNET_PAPER)),
    ModelSpec("deamnet", lambda **kw: DeamNet(1, 64), 1, "unfolding", _DEAMNET, sigma=25.0,
              notes="full size (64 features); no official file is registered: pass weights=<path>",
              recipes=_recipes(QUICK["deamnet"], dict(_DEAMNET_PAPER, sigma=25.0))),
    ModelSpec("deamnet_small", lambda **kw: DeamNet(1, 32), 1, "unfolding", _DEAMNET, sigma=25.0,
              ours="deamnet_small", variant="reduced", notes="reduced DeamNet: 32 features (the paper: 64)",
              recipes=_recipes(QUICK["deamnet"], dict(_DEAMNET_PAPER, sigma=25.0))),
    *[ModelSpec(f"dncnn_s25_{mode}", lambda **kw: DnCNN(1, 17), 1, "non-blind", _DNCNN, sigma=25.0,
                ours=f"dncnn_s25_{mode}", init="dncnn_s25", collection=_AT,
                notes=f"the official DnCNN-S (sigma 25) fine-tuned, adversarial mode {mode!r}",
                recipes=_recipes({**_FINETUNE[0], **fields}, {**_FINETUNE[1], **fields}))
      for mode, fields in ADVERSARIAL_MODES.items()],
    *[ModelSpec(f"dncnn_b25_{mode}", lambda batch_norm=False, **kw: DnCNN(1, 20, batch_norm=batch_norm), 1, "blind",
                _DNCNN, train_kwargs=_BN, ours=f"dncnn_b25_{mode}", collection=_AT,
                notes=f"DnCNN-B trained from scratch for sigma in [0, 25], adversarial mode {mode!r}; "
                + _SCRATCH_NOTE,
                recipes=_recipes({**_SCRATCH[0], **fields}, {**_SCRATCH[1], **fields}))
      for mode, fields in ADVERSARIAL_MODES.items()],
    *[ModelSpec(name, lambda **kw: Noise2NoiseUNet(3), 3, "blind", _N2N_OURS, ours=name, noise=noise,
                collection="noise2noise",
                notes=f"our Noise2Noise U-Net: {noise} noise, {loss.upper()} loss, noisy targets only",
                recipes=_recipes(*({**_N2N_STEPS[profile], "mode": "noise2noise", "noise": noise, "sigma": level,
                                    "loss": loss, "store_half": True, **extra} for profile in ("quick", "paper"))))
      for name, (noise, level, loss, extra) in N2N_OURS.items()],
    ModelSpec("mprnet_small", lambda **kw: MPRNet(1, 16, 8, 8, orsnet_cabs=2), 1, "blind", _MPRNET,
              ours="mprnet_small", variant="reduced", collection="deblurring", recipes=_BLIND_DEBLUR_RECIPES,
              notes="blind deblurring; reduced multi-stage restorer: 16 features, levels +8, ORSNet 2 CABs per block "
              "(the paper: 96, +48, 8; MPRNet(3) builds that layout)"),
    ModelSpec("dwdn_small", lambda **kw: DWDN(1, 16, (16, 32, 64), 2), 1, "non-blind", _DWDN, ours="dwdn_small",
              variant="reduced", collection="deblurring", recipes=_DEBLUR_RECIPES,
              notes="non-blind deblurring; reduced deep Wiener deconvolution: 16 features, refinement widths 16-64"),
    ModelSpec("lgd_small", lambda **kw: LearnedGradientDescent(1, 32, 5, steps=10), 1, "non-blind", _LGD,
              ours="lgd_small", variant="reduced", collection="deblurring", recipes=_LGD_RECIPES,
              notes="non-blind deblurring; reduced learned gradient descent: 5-layer regularizer and 3-layer "
              "step network of 32 features, trained unrolled for 10 to 40 steps"),
    *[ModelSpec(name, lambda sigma=25.0, cls=cls, c=c, **kw: cls(c, sigma), c, "classical", paper, sigma=25.0,
                bindable=True, collection="classical", notes="no weights and no gradient; parameters in "
                "companion.models.classical.TUNED (tuned on Train400 at sigma 25)")
      for name, (cls, c, paper) in _CLASSICAL.items()],
]}


def list_models(channels: int | None = None, family: str | None = None, collection: str | None = None) -> list:
    """Registered model names, optionally only gray (1) / color (3) ones, one family or one
    collection ('zoo', 'adversarial_training' or 'classical')."""
    return sorted(n for n, s in MODELS.items() if (channels is None or s.channels == channels)
                  and (family is None or s.family == family) and (collection is None or s.collection == collection))


def spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    return MODELS[name]


def _weights_path(entry: ModelSpec, choice: str):
    """Resolve 'best' / 'official' / 'ours' to (path, strip_prefix, description).

    'best' falls back to ours only when the official file is absent; a corrupt one is an error.
    """
    if choice in ("best", "official") and entry.official:
        try:
            w = wts.official(entry.official)
            return wts.locate(entry.official), w.strip_prefix, f"official: {w.source}"
        except wts.WeightsNotFoundError:
            if choice == "official" or not entry.ours:
                raise
            warnings.warn(f"{entry.name}: official weights not found, using ours "
                          f"(see the model card companion/checkpoints/{entry.ours}.json)", stacklevel=3)
    elif choice == "official":
        raise wts.WeightsError(f"{entry.name} has no official weights; try weights='ours'")
    if choice in ("best", "ours") and entry.ours:
        return wts.ours(entry.ours), "", f"ours: companion/checkpoints/{entry.ours}.pt"
    if choice == "ours":
        raise wts.WeightsError(f"{entry.name} has no checkpoint of ours yet")
    raise wts.WeightsError(f"no weights registered for {entry.name}; pass weights=None for a "
                           f"randomly initialized model, or a path to a state_dict file")


def create(name: str, weights: str | Path | None = "best", sigma: float | None = None,
           device: str | torch.device = "cpu") -> Denoiser:
    """Build registered model ``name`` in eval mode.

    Args:
        weights: 'best' (official if available, else ours), 'official', 'ours', a path to a
            state_dict file, or None (random initialization).
        sigma: noise level (0-255) to bind a non-blind model with a noise-level input to
            (FFDNet); defaults to the registry's. Refused for models that cannot take it.
        device: 'cpu', 'cuda', 'auto', ...
    """
    entry = spec(name)
    if sigma is not None and not entry.bindable:
        raise ValueError(f"{name} cannot be bound to a noise level (it is {entry.family}"
                         + (f", trained for sigma {entry.sigma:g}: pick dncnn_s15/s25/s50" if entry.sigma else "")
                         + "); create it without sigma")
    model = entry.build(sigma=float(sigma if sigma is not None else entry.sigma or 0.0))
    info = {"name": name, "family": entry.family, "paper": entry.paper,
            "sigma": entry.sigma if sigma is None else sigma}
    if entry.family == "classical":
        if weights not in (None, "best"):
            raise wts.WeightsError(f"{name} is a classical method and has no weights; create it without weights=")
        info["weights"] = "none (classical method)"
    elif weights is None:
        info["weights"] = "none (random init)"
    else:
        if isinstance(weights, Path) or weights not in ("best", "official", "ours"):
            path, prefix = Path(weights), ""
            if not path.is_file():
                raise wts.WeightsError(
                    f"weights={str(weights)!r} is neither 'best', 'official', 'ours' nor an existing file")
            info["weights"] = f"file: {path}"
        else:
            path, prefix, info["weights"] = _weights_path(entry, weights)
        wts.load_into(model, wts.read_state_dict(path, prefix), str(path))
    model.info = info
    return model.eval().to(config.device(device))


def _register_with_timm() -> None:
    """Register every model as a timm entrypoint (``pretrained=True`` -> best weights)."""
    try:
        from timm.models import register_model
    except ImportError:  # timm is optional for the library itself
        return
    for model_name in MODELS:
        def entrypoint(pretrained=False, _name=model_name, **kwargs):
            # timm adds its own keywords (pretrained_cfg, cache_dir, ...): keep only ours
            ours = {k: v for k, v in kwargs.items() if k in ("sigma", "device")}
            return create(_name, weights="best" if pretrained else None, **ours)

        entrypoint.__name__ = entrypoint.__qualname__ = model_name
        entrypoint.__module__ = __name__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # re-registration on module reload
            register_model(entrypoint)


_register_with_timm()
