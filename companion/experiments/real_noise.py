"""Notebook 10: real camera noise. Yan et al., *Towards Adversarially Robust Deep Image Denoising*
(IJCAI 2022), Sec. 4.3, Table 4: color DnCNNs trained on Gaussian noise alone (sigma U[0, 25]),
normally (NT), with vAT and with HAT, and CBM3D, denoise real noisy photographs.

The photographs are PolyU's (``data.load_pairs('polyu')``: each shot with the mean of many shots
of the same scene as its clean reference); the paper's CC and SIDD columns are registered in
``companion.data`` (``cc``, ``sidd_val``) but not run here. PolyU has no embedded fallback: without
it the section is skipped, with its one-line reason (``load_polyu``). The models are our three
``dncnn_c25_*`` checkpoints (``models.dncnn.REAL_NOISE_TRAINING``); CBM3D, which needs a noise
level, is given each image's (``noise_std``: the standard deviation of the noisy shot minus its
reference), as every classical method of the package is given sigma.
"""

import warnings

import numpy as np
import pandas as pd

from .. import claims, config, data, evaluation, metrics, models
from ..models.dncnn import REAL_NOISE_TRAINING
from ..train.recipes import recipe
from .adversarial_training import _trained

SECTION = "10"
DATASET = "polyu"
MODES = dict(zip(REAL_NOISE_TRAINING, ("NT", "vAT", "HAT")))
"""Training mode (``dncnn_c25_<mode>``) -> Yan et al.'s name for it."""
BASELINE = "cbm3d"
NOISY = "noisy input"
"""The row of the noisy shot itself, scored against its reference."""
PAPER_TABLE4 = {"polyu": {"CBM3D": 37.40, "NT": 35.86, "vAT": 36.77, "HAT": 37.82}}
"""Yan et al. Table 4: mean PSNR (dB) of each method on PolyU's 100 crops (color DnCNN-C trained on
CBSD432 with sigma U[0, 25]; HAT and vAT at Atk-5/255; BM3D in its color version)."""
SOURCES = {"table4": "Yan et al. Table 4 (PolyU: CBM3D {CBM3D}, NT {NT}, vAT {vAT}, HAT {HAT} dB)".format(
    **PAPER_TABLE4["polyu"])}
"""The source line of the tables that quote the paper's values."""


def camera(pair: str) -> str:
    """The camera of a PolyU (or CC) pair, the first field of its name: 'Canon5D2', 'NikonD800', ..."""
    return pair.split("_")[0]


def pick(names: list, count: int | None) -> list:
    """``count`` pairs of ``names`` spread over the cameras: taken in turn from each camera, in
    order of name (None: all of them, in order)."""
    if count is None or count >= len(names):
        return list(names)
    by_camera = {}
    for name in names:
        by_camera.setdefault(camera(name), []).append(name)
    turns = [group[i] for i in range(max(map(len, by_camera.values()))) for group in by_camera.values()
             if i < len(group)]
    return turns[:count]


def load_polyu(results, images: int | None, crop: int | None, device) -> tuple:
    """``(pairs, skipped)``: ``images`` PolyU pairs spread over the cameras (``pick``), center-cropped
    to ``crop``, recorded in ``results`` with where they came from; ``(None, reason)`` when PolyU is
    nowhere to be found, the one-line reason noted in ``results`` (and the set recorded as missing,
    so that ``reproduce`` reruns the notebook once it is there)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", data.ModifiedDataWarning)
            chosen = pick([p for p, _, _ in data.pair_names(DATASET)], images)
            pairs = data.load_pairs(DATASET, names=chosen, crop=crop, device=device)
    except data.DataNotFoundError as err:  # nowhere to be found, or a pair in the folder named lacks a half
        text, entry = str(err), data.dataset(DATASET)
        if " not found: " in text:  # say where to put it, and why a download did not help
            text = (f"PolyU not found ({text.rsplit('; ', 1)[-1].rstrip('.')}) and real noise has no stand-in: put the "
                    f"{len(data.manifest(DATASET))} files of {entry.source} into <dir>/{entry.folder}/ and set "
                    f"{config.DATA_ENV}=<dir>")
        reason = f"section skipped: {text}"
        results.source(DATASET, "missing")
        results.note(reason)
        return None, reason
    for w in caught:
        print("WARNING:", w.message)
    results.source(DATASET, pairs.source)
    print(f"{DATASET}: {len(pairs)} pairs ({results.data['data_sources'][DATASET]}), crop {crop}: "
          f"{', '.join(pairs.names)}")
    return pairs, None


def load_models(checkpoint_dir, device) -> tuple:
    """``(zoo, cards)``: CBM3D, NT, vAT and HAT by Yan et al.'s names (the last three our
    ``dncnn_c25_*`` checkpoints, from ``checkpoint_dir`` when it holds them, else the shipped ones); ``cards`` tables
    each trained model's recipe, wall time and CBSD68 PSNR from its model card."""
    zoo, cards = {"CBM3D": models.create(BASELINE, device=device)}, []
    for mode, label in MODES.items():
        zoo[label], card = _trained(f"dncnn_c25_{mode}", checkpoint_dir, device)
        cfg = card["config"]
        cards.append({"method": label, "model": card["name"], "adversarial": cfg["adversarial"],
                      "steps": cfg["steps"], "batch": cfg["batch_size"], "patch": cfg["patch_size"],
                      "wall time (s)": card["wall_time_s"], "CBSD68 PSNR (card)": card["evaluation"]["cbsd68"]["psnr"],
                      "CBSD68 SSIM (card)": card["evaluation"]["cbsd68"]["ssim"],
                      "trained by": card["trained_by"].split(": ", 1)[-1]})
    return zoo, pd.DataFrame(cards)


def noise_std(noisy, clean) -> float:
    """The noise level of a pair on the 0-255 scale: the standard deviation of noisy - clean."""
    return float((noisy - clean).std()) * 255.0


def denoised(name: str, model, noisy, clean):
    """``model``'s clipped output on ``noisy``; CBM3D bound to the pair's ``noise_std``."""
    if name == "CBM3D":
        model = models.create(BASELINE, sigma=noise_std(noisy, clean), device=noisy.device)
    return evaluation.clipped_denoise(model, noisy)


def score(zoo: dict, pairs, keep: int = 0, progress: bool = False) -> tuple:
    """Every method of ``zoo`` on every pair, and the noisy input itself (``NOISY``). Returns
    ``(scores, outputs)``: one row per method and pair (camera, noise std, PSNR, SSIM) and, for the
    first ``keep`` pairs, ``{pair: {column: image}}`` (the noisy shot, each method's output, the
    reference) for ``crops_figure``. No pairs (a skipped section): an empty table."""
    from tqdm.auto import tqdm

    rows, outputs = [], {}
    for i, (name, noisy, clean) in enumerate(tqdm(list(pairs or []), desc="PolyU", disable=not progress)):
        shown = {NOISY: noisy}
        for method, model in [(NOISY, None), *zoo.items()]:
            out = noisy.clamp(0, 1) if model is None else denoised(method, model, noisy, clean)
            measured = metrics.evaluate(out, clean)
            rows.append({"method": method, "pair": name, "camera": camera(name),
                         "noise_std": noise_std(noisy, clean), "psnr": float(measured["psnr"][0]),
                         "ssim": float(measured["ssim"][0])})
            shown[method] = out
        if i < keep:
            outputs[name] = {**shown, "reference (mean of shots)": clean}
    columns = ["method", "pair", "camera", "noise_std", "psnr", "ssim"]
    return pd.DataFrame(rows, columns=columns), outputs


def table4(scores: pd.DataFrame) -> pd.DataFrame:
    """Yan et al. Table 4 (PolyU): our mean PSNR and SSIM per method beside the paper's PSNR."""
    paper = PAPER_TABLE4[DATASET]
    methods = [NOISY, "CBM3D", *MODES.values()]
    means = scores.groupby("method")[["psnr", "ssim"]].mean().reindex(methods)
    table = pd.DataFrame({"method": methods, "pairs": scores.groupby("method").size().reindex(methods).fillna(0)
                          .astype(int).values, "psnr": means.psnr.values, "ssim": means.ssim.values,
                          "paper psnr": [paper.get(m, np.nan) for m in methods]})
    table["psnr - paper"] = table["psnr"] - table["paper psnr"]
    return table


def per_camera(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean PSNR per camera (rows: with its number of pairs and mean noise std) and method (columns)."""
    if scores.empty:
        return pd.DataFrame(columns=["camera", "pairs", "noise std"])
    psnr = scores.pivot_table(index="camera", columns="method", values="psnr", sort=False)
    psnr = psnr[[NOISY, "CBM3D", *MODES.values()]]
    first = scores[scores.method == NOISY].groupby("camera", sort=False)
    return pd.concat([first.size().rename("pairs"), first.noise_std.mean().rename("noise std"), psnr],
                     axis=1).reset_index()


def crops_figure(outputs: dict, scores: pd.DataFrame) -> tuple:
    """For ``plots.image_grid``: ``(rows, columns)``, one row per pair of ``outputs`` (labelled
    with its camera and each method's PSNR in the column order), one column per image."""
    columns = list(next(iter(outputs.values())))
    psnr = scores.set_index(["pair", "method"]).psnr
    rows = {}
    for pair, images in outputs.items():
        label = " / ".join(f"{psnr[pair, m]:.1f}" for m in columns if (pair, m) in psnr.index)
        rows[f"{camera(pair)}\n{label} dB"] = list(images.values())
    return rows, columns


def paper_run() -> str:
    """What a paper-recipe run takes, from the recipes: steps and patches per model against ours."""
    quick, paper = recipe("dncnn_c25_hat2", "quick"), recipe("dncnn_c25_hat2", "paper")
    ratio = paper["steps"] * paper["batch_size"] * paper["patch_size"] ** 2 / (
        quick["steps"] * quick["batch_size"] * quick["patch_size"] ** 2)
    return (f"a paper-recipe run trains each model {paper['steps']:,} steps of {paper['batch_size']} "
            f"{paper['patch_size']}x{paper['patch_size']} patches ({ratio:,.0f}x the pixels of our "
            f"{quick['steps']} steps of {quick['batch_size']}: `python -m companion train dncnn_c25_hat2 --profile "
            "paper --device cuda`, hours per model on a GPU by our estimate; not run here) and scores all 100 PolyU "
            "pairs whole")


def scope(profile: str, sizes: dict, pairs, checkpoint_dir) -> str:
    """'' when the run is the paper's protocol (the paper profile's sizes on the published PolyU,
    checkpoints trained with the paper recipes), else the note every claim's evidence ends with."""
    paper = config.profile("paper").sizes_for(SECTION)
    if pairs is not None and pairs.comparable and checkpoint_dir and sizes == paper:
        return ""
    return (f" [{profile} profile: {sizes['images'] or 'all'} PolyU pairs, crop {sizes['crop']}, checkpoints trained "
            f"with the {'given' if checkpoint_dir else 'quick'} recipes; {paper_run()}]")


@claims.check("hat_generalizes_real_noise")
def hat_generalizes_real_noise(scores: pd.DataFrame, skipped: str | None = None, scope: str = "") -> tuple:
    """Agrees when HAT's mean PSNR on the real noisy pairs is above both NT's and vAT's; not
    checkable (None) when the section was skipped (``skipped`` says why)."""
    if skipped:
        return None, skipped
    means = scores.groupby("method")[["psnr", "ssim"]].mean()
    wins = scores.pivot_table(index="pair", columns="method", values="psnr")
    beats = (wins["HAT"] > wins[["NT", "vAT"]].max(axis=1)).sum()
    paper = PAPER_TABLE4[DATASET]
    return bool(means.psnr["HAT"] > max(means.psnr["NT"], means.psnr["vAT"])), (
        f"PolyU, {len(wins)} pairs, mean PSNR / SSIM: HAT {means.psnr['HAT']:.2f} / {means.ssim['HAT']:.4f}, vAT "
        f"{means.psnr['vAT']:.2f} / {means.ssim['vAT']:.4f}, NT {means.psnr['NT']:.2f} / {means.ssim['NT']:.4f} "
        f"(CBM3D {means.psnr['CBM3D']:.2f}, noisy input {means.psnr[NOISY]:.2f}; paper: HAT {paper['HAT']}, vAT "
        f"{paper['vAT']}, NT {paper['NT']}); HAT best of the three on {beats} of {len(wins)} pairs" + scope)
