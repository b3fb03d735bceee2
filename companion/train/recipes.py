"""Training recipes: for each registered model we train and each profile, the ``TrainConfig``
fields (and ``trainer.RECIPE_EXTRAS``) that ``python -m companion train NAME --profile ...`` uses,
on Train400 (gray) or CBSD432 (color), which stand in for the papers' larger training sets.

'quick': minutes on a laptop CPU (our choice; the step count of each checkpoint is in its model
card). 'paper': the paper's recipe (or its authors' code's), as steps of the papers' batches,
for a GPU. ``recipe(name, profile)`` gives one.
"""

from ..checks import closest
from ..models import dncnn, noise2noise, spec

PROFILES = ("quick", "paper")

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

# notebook 04: one DnCNN per adversarial training mode (``TrainConfig.adversarial``), the same
# data, steps, batches and seed within a track. Facts: Ning et al. Sec. IV-F (denoising-PGD,
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
"""Mode name (the models ``dncnn_s25_<mode>``, ``dncnn_b25_<mode>``) -> its ``TrainConfig`` fields."""
_FINETUNE = (dict(steps=400, batch_size=16, patch_size=40, lr=1e-4, sigma=25.0, store_half=True),
             dict(steps=20_000, batch_size=128, patch_size=40, lr=1e-4, lr_drops=(0.6,), sigma=25.0, store_half=True))
# from scratch, quick: the fine-tuned track's budget from an identity start; paper: DnCNN-B's recipe
_SCRATCH = (dict(steps=400, batch_size=16, patch_size=40, sigma=(0.0, 25.0), **_FROM_IDENTITY),
            dict(_DNCNN_B_PAPER, sigma=(0.0, 25.0), store_half=True))

# notebook 10: Yan et al.'s color DnCNN-C from scratch on CBSD432 (BSDS500 minus CBSD68), sigma U[0, 25], normally,
# with vAT and with HAT (a = 2), for real camera noise. Facts (HanshuYAN/ObsAtk, run.sh and main_train_HAT.py for
# --network DnCNN-C --trainset BSD500): 50x50 patches, batch 128, 50 epochs of 432 x 900 patches (3,038 batches
# each), Adam 1e-3 times 0.2 at epochs 20 and 40, one OBSATK step from delta = 0 at rho = 5/255 sqrt(3 x 50^2),
# alpha 2. quick: the gray from-scratch track's CPU budget (400 steps of 16 40x40 patches from an identity start).
_REAL_NOISE_PAPER = dict(steps=151_900, batch_size=128, patch_size=50, lr=1e-3, lr_drops=(0.4, 0.8), lr_decay=0.2,
                         sigma=(0.0, 25.0), store_half=True)

# notebook 08: our Noise2Noise U-Nets, color, trained on noisy targets only (Plummer & Hauser Sec. 3;
# Lehtinen et al. Sec. 3): Gaussian sigma U[0, 50] with L2 (the authors' "std 50" model); Poisson
# around 200 photons with their negative binomial (dispersion 75) and L1; random-valued impulse
# p U[0, 0.5] with the annealed L0 loss, and with L2 and L1 for the comparison of losses (each
# model's noise and loss: ``models.noise2noise.OURS``). Adam, lr 1e-3 (Lehtinen et al.); 32x32
# patches like CIFAR-10. Neither paper gives a CIFAR-10 schedule: the step counts are ours.
N2N_OURS = {  # registry name: (level range or value, extra TrainConfig fields)
    "n2n_gaussian_l2": ((0.0, 50.0), {}),
    "n2n_poisson_l1": (200.0, {"dispersion": 75.0}),
    "n2n_impulse_l0": ((0.0, 0.5), {}),
    "n2n_impulse_l2": ((0.0, 0.5), {}),
    "n2n_impulse_l1": ((0.0, 0.5), {}),
}
_N2N_STEPS = {"quick": dict(steps=1500, batch_size=32, patch_size=32, schedule="cosine"),
              "paper": dict(steps=100_000, batch_size=64, patch_size=32, schedule="cosine")}

# notebook 07: deblurring networks (Gandikota et al., ICIP 2022, attack MPRNet, DWDN, a learned
# gradient descent network and DPIR), reduced so that a CPU trains them in minutes, gray, trained
# by mode 'deblur' on Train400 with DPIR's 12 kernels (resized 11-25 px, flips/rotations)
# and sigma U[0, 2.55] (Gandikota et al. Sec. 4), L1 loss (MPRNet trains with the Charbonnier
# loss, a smoothed L1; DWDN with L1). Paper profile: MPRNet's schedule (Zamir et al. Sec. 4:
# Adam 2e-4 cosine to 1e-6, 256x256 patches, batch 16) for all three, our choice for the other
# two, whose papers train on other sets; the quick step counts are ours.
_DEBLUR = dict(mode="deblur", sigma=(0.0, 2.55), loss="l1", schedule="cosine", store_half=True)
_DEBLUR_PAPER = dict(_DEBLUR, steps=300_000, batch_size=16, patch_size=256, lr=2e-4)
_DEBLUR_QUICK = dict(_DEBLUR, batch_size=8, patch_size=64)


def _both(quick: dict, paper: dict) -> dict:
    return {"quick": quick, "paper": paper}


RECIPES = {
    **{f"dncnn_s{s}": _both(dict(steps=2000, batch_size=32, sigma=float(s), **_FROM_IDENTITY),
                            dict(_DNCNN_PAPER, sigma=float(s))) for s in (15, 25, 50)},
    "dncnn_b": _both(dict(steps=2000, batch_size=32, sigma=(0.0, 55.0), **_FROM_IDENTITY), _DNCNN_B_PAPER),
    "cdncnn_b": _both(dict(steps=2000, batch_size=32, sigma=(0.0, 55.0)), _DNCNN_B_PAPER),
    **{f"ffdnet_{kind}": _both(dict(steps=3000, batch_size=64, sigma=(0.0, 75.0)), _FFDNET_PAPER)
       for kind in ("gray", "color")},
    "brdnet_s25": _both(QUICK["brdnet_1"], _BRDNET_PAPER),
    "brdnet_color_s25": _both(QUICK["brdnet_3"], _BRDNET_PAPER),
    "rddcnn_b": _both(QUICK["rddcnn"], _RDDCNN_PAPER),
    **{name: _both(QUICK[f"drunet_{c}"], _DRUNET_PAPER)
       for c, kind in ((1, "gray"), (3, "color")) for name in (f"dpir_{kind}", f"dpir_small_{kind}")},
    **{name: _both(QUICK["fan"], _FAN_PAPER) for name in ("fan", "fan_small")},
    **{name: _both(QUICK["curvpnp"], _DRUNET_PAPER) for name in ("curvpnp", "curvpnp_small")},
    **{name: _both(QUICK["deamnet"], dict(_DEAMNET_PAPER, sigma=25.0)) for name in ("deamnet", "deamnet_small")},
    **{f"dncnn_{track}25_{mode}": _both({**quick, **ADVERSARIAL_MODES[mode]}, {**paper, **ADVERSARIAL_MODES[mode]})
       for track, (quick, paper) in (("s", _FINETUNE), ("b", _SCRATCH)) for mode in dncnn.ADVERSARIAL_TRAINING},
    **{f"dncnn_c25_{mode}": _both({**_SCRATCH[0], **ADVERSARIAL_MODES[mode]}, {**_REAL_NOISE_PAPER,
                                                                              **ADVERSARIAL_MODES[mode]})
       for mode in dncnn.REAL_NOISE_TRAINING},
    **{name: {profile: {**_N2N_STEPS[profile], "mode": "noise2noise", "noise": noise, "sigma": level, "loss": loss,
                        "store_half": True, **extra} for profile in PROFILES}
       for name, (noise, loss) in noise2noise.OURS.items() for level, extra in [N2N_OURS[name]]},
    # the blind network learns far more slowly (700 steps left it at its blurred input)
    "mprnet_small": _both(dict(_DEBLUR_QUICK, steps=3000), _DEBLUR_PAPER),
    "dwdn_small": _both(dict(_DEBLUR_QUICK, steps=700), _DEBLUR_PAPER),
    # learned gradient descent trained unrolled for 10 steps only diverged when run for 50 (below its
    # blurred input; docs/notebooks/07_deblurring.md): each batch runs a random 10 to 40 steps
    "lgd_small": _both(dict(_DEBLUR_QUICK, steps=500, unroll=(10, 40)), dict(_DEBLUR_PAPER, unroll=(10, 50))),
}
"""Registered name -> {profile: recipe}; every model with a checkpoint of ours has both profiles."""


def recipe(name: str, profile: str) -> dict:
    """The training recipe of registered model ``name`` for ``profile`` ('quick' or 'paper'): the
    ``TrainConfig`` fields plus ``trainer.RECIPE_EXTRAS`` keys (``trainer.from_recipe`` splits
    them), as a new dict the caller may change."""
    entry = spec(name)  # an unknown name is an error that suggests the closest registered ones
    recipes = RECIPES.get(name, {})
    if entry.family == "classical":
        raise ValueError(f"{name} is a classical method: nothing to train")
    if not recipes:
        raise ValueError(f"{name} has no training recipe (it runs with its official weights); among the models "
                         f"with one, {closest(name, sorted(RECIPES))}")
    if profile not in recipes:
        raise ValueError(f"{name} has no {profile!r} training recipe; it has: {', '.join(recipes) or 'none'}")
    return dict(recipes[profile])
