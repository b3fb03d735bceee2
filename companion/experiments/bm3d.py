"""Notebook 05: model-driven denoisers under attack (Ning et al., arXiv:2306.16050, Sec. V-B, Figure 13).

DnCNN-S's denoising-PGD samples denoised by the classical methods (``figure13``), the classical
methods attacked white-box through BPDA (Athalye et al. 2018) and the gradient-free SPSA (Uesato
et al. 2018) beside DnCNN-S (``whitebox``), and the claim checks of both. The purifier study of
the same notebook is ``purification``.
"""

import pandas as pd

from .. import claims, config, models, robustness
from ..attacks import bpda_pgd, denoising_pgd, spsa
from ..models.classical import NotDifferentiableError

SECTION = "05"
PROTOCOL = dict(sigma=25, eps=0.012, steps=5)
"""Ning et al. Sec. IV-A: the noise level and the denoising-PGD budget of the paper's attacks."""
PAPER_BM3D, PAPER_DNCNN = (0.06, 0.22), 0.9
"""Ning et al. Sec. V-B, Figure 13: BM3D's PSNR change (dB) on two images of DnCNN-S's samples, and
DnCNN-S's own drop (about)."""
PAPER_DIFF = {"dncnn_s25": f"about -{PAPER_DNCNN}", "bm3d": f"-{PAPER_BM3D[0]} and -{PAPER_BM3D[1]} (two images)"}
"""The paper's PSNR change (Adv - Gauss, dB) beside Figure 13's means."""
SOURCES = {"figure13_means": f"Ning et al. Figure 13: BM3D changes by {PAPER_BM3D[0]} and {PAPER_BM3D[1]} dB on two "
                             f"images; DnCNN drops about {PAPER_DNCNN} dB"}
"""The source line of the tables that quote the paper's values."""
COLUMNS = ["psnr_gauss", "psnr_adv", "psnr_diff", "control_diff", "mae_gauss", "mae_adv", "ssim_gauss", "ssim_adv",
           "ssim_diff"]
"""The measures of Figure 13's tables (``robustness.score_set``)."""


def check_classical(names: list) -> None:
    """Raise unless every name is a gray classical denoiser."""
    for name in names:
        if models.spec(name).family != "classical" or models.spec(name).channels != 1:
            raise ValueError(f"{name!r} is not a gray classical denoiser; choose from "
                             f"{models.list_models(1, 'classical')}")


def figure13(methods: dict, made, images, progress: bool = False) -> tuple:
    """Figure 13: the adversarial set ``made`` (denoising-PGD on DnCNN-S) denoised by every model of
    ``methods``, with the shuffled-perturbation control (image i seeded 20,000 + i). Returns
    ``(per_image, means, outputs)``: one row per method and image, the means per method beside the
    paper's change (``PAPER_DIFF``), and ``robustness.score_set``'s outputs per method."""
    from tqdm.auto import tqdm

    rows, outputs = [], {}
    for name, model in tqdm(methods.items(), desc="Figure 13", disable=not progress):
        scored, outputs[name] = robustness.score_set(model, made, images, keep_outputs=True, control_seed=20_000)
        rows += [{"method": name, **r} for r in scored]
    per_image = pd.DataFrame(rows)
    means = per_image.groupby("method", sort=False)[COLUMNS].mean().reset_index()
    means["paper_psnr_diff"] = means.method.map(PAPER_DIFF)
    return per_image[["method", "image", *COLUMNS]], means, outputs


def figure13_panel(per_image: pd.DataFrame, outputs: dict, image: str) -> dict:
    """For ``plots.transfer_panel``: per kind ('gauss', 'adv'), each method's denoised ``image``
    and its PSNR."""
    scores = per_image[per_image.image == image].set_index("method")
    return {kind: {m: (outputs[m][image][f"denoised_{kind}"], scores.loc[m, f"psnr_{kind}"]) for m in outputs}
            for kind in ("gauss", "adv")}


def refusals(targets: dict, image) -> dict:
    """What a direct gradient attack on each model of ``targets`` raises (classical methods refuse
    with ``NotDifferentiableError``): ``{name: message}`` for those that refuse."""
    refused = {}
    for name, model in targets.items():
        try:
            denoising_pgd(model, image, image)
        except NotDifferentiableError as err:
            refused[name] = str(err)
    return refused


def whitebox(dncnn, targets: dict, images, sigma: float, eps: float, steps: int, iterations: int, samples: int,
             seed: int = 0, progress: bool = False) -> tuple:
    """Each model of ``targets`` attacked itself at ``eps``: BPDA with the identity's and with
    DnCNN-S's gradient (``steps`` steps) and SPSA (``iterations`` x ``samples`` direction pairs);
    DnCNN-S under denoising-PGD, BPDA (identity) and SPSA as the control. ``queries`` counts the
    calls of the attacked model per image. Returns ``(rows, means)``: per target, attack and image,
    and the means per target and attack."""
    from tqdm.auto import tqdm

    attacks = {"BPDA (identity)": (bpda_pgd, dict(eps=eps, steps=steps)),
               "BPDA (DnCNN-S)": (bpda_pgd, dict(eps=eps, steps=steps, stand_in=dncnn)),
               "SPSA": (spsa, dict(eps=eps, iterations=iterations, samples=samples))}
    queries = {"denoising-PGD": steps, "BPDA (identity)": steps, "BPDA (DnCNN-S)": steps,
               "SPSA": 2 * iterations * samples}
    attacked = {"dncnn_s25": (dncnn, {"denoising-PGD": (denoising_pgd, dict(eps=eps, steps=steps)),
                                      "BPDA (identity)": attacks["BPDA (identity)"], "SPSA": attacks["SPSA"]}),
                **{name: (model, attacks) for name, model in targets.items()}}
    rows = []
    for target, (model, target_attacks) in tqdm(attacked.items(), desc="white-box", disable=not progress):
        rows += [{"target": target, "queries": queries.get(r["attack"], 0), **r}
                 for r in robustness.attack_rows(model, images, sigma, target_attacks, seed)
                 if r["attack"] != "Gaussian"]
    rows = pd.DataFrame(rows)
    means = rows.groupby(["target", "attack"], sort=False)[
        ["queries", "psnr_gauss", "psnr_adv", "drop"]].mean().reset_index()
    return rows, means


def scope(profile: str, sizes: dict, images, sigma: float, eps: float, steps: int) -> str:
    """'' when the run is the paper's protocol (``PROTOCOL`` and the paper profile's sizes on the
    benchmark Set12), else the note every claim's evidence ends with."""
    if (images.comparable and dict(sigma=sigma, eps=eps, steps=steps) == PROTOCOL
            and sizes == config.profile("paper").sizes_for(SECTION)):
        return ""
    return (f" [{profile} profile: {images.label}, crop {sizes['crop']}; white-box on {sizes['whitebox_images']} crops "
            f"of {sizes['whitebox_crop']} px; {sizes['digits_test']} digits; not the paper's protocol]")


@claims.check("bm3d_resists_transfer")
def bm3d_resists_transfer(per_image: pd.DataFrame, means: pd.DataFrame, scope: str = "") -> tuple:
    """Agrees when BM3D's mean PSNR change on DnCNN-S's samples is under 0.25 dB and under a quarter
    of DnCNN-S's own drop (``figure13``'s tables); None when BM3D was not run."""
    means = means.set_index("method")
    if "bm3d" not in means.index:
        return None, "bm3d is not in the classical list"
    dn_drop, bm = -means.loc["dncnn_s25", "psnr_diff"], means.loc["bm3d", "psnr_diff"]
    each = ", ".join(f"{v:+.2f}" for v in per_image[per_image.method == "bm3d"].psnr_diff)
    return bool(abs(bm) < 0.25 and abs(bm) < dn_drop / 4), (
        f"BM3D's PSNR change {bm:+.3f} dB on average (per image: {each}; with the perturbation's pixels "
        f"shuffled {means.loc['bm3d', 'control_diff']:+.3f} dB); DnCNN-S drops {dn_drop:.2f} dB "
        f"(paper: {PAPER_BM3D[0]} and {PAPER_BM3D[1]} dB; about {PAPER_DNCNN} dB)" + scope)


@claims.check("classical_resist_whitebox")
def classical_resist_whitebox(means: pd.DataFrame, targets: list, scope: str = "") -> tuple:
    """Agrees when each classical target's worst white-box drop is under half of what denoising-PGD
    takes from DnCNN-S (``means``: ``whitebox``'s)."""
    dncnn = means[means.target == "dncnn_s25"].set_index("attack")["drop"]
    classical = means[means.target.isin(targets)]
    worst = classical.loc[classical.groupby("target")["drop"].idxmax()]
    return bool((worst["drop"] < dncnn["denoising-PGD"] / 2).all()), (
        "; ".join(f"{r.target}: worst {r.attack} {r.drop:.3f} dB" for r in worst.itertuples())
        + f"; DnCNN-S under denoising-PGD {dncnn['denoising-PGD']:.3f} dB (SPSA on DnCNN-S: {dncnn['SPSA']:.3f} dB)"
        + scope)
