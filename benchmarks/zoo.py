"""The model zoo: every model and variant, where its weights come from, its size, how well it
denoises and how fast it runs.

    python benchmarks/zoo.py [--device cpu] [--sigma 25] [--seed 0] [--limit N] [--only NAME ...]

Gray models are scored on Set12, color models on set3c and CBSD68 (Gaussian noise unclipped,
image i seeded with seed + i, output clipped to [0, 1], PSNR/SSIM on the 0-255 scale averaged
per image: ``companion.evaluation``), at ``--sigma`` except for the non-blind models trained for
one other level (DnCNN-S and ECNDNet 15 and 50), scored at their own. Models trained for Poisson
or impulse noise (Plummer & Hauser's) are not scored on Gaussian noise: 08_noise2noise_dag does.
Time: one forward pass on one 256x256 image on this machine (``timing.measure``: median, min-max
of 5 runs after a warm-up).
Models whose weights are not on this machine (the full-size ones with only a user-supplied file)
get their size and time only. Prints a Markdown table.
"""

import argparse
import warnings

import numpy as np
import torch
from timing import measure

from companion import config, data, evaluation, models, weights

# Published means at sigma 25 (0-255) on the set this benchmark scores the model on.
PUBLISHED = {
    "dncnn_s25": (30.44, "DnCNN paper, Table II"),
    "dncnn_b": (30.35, "the published weights measured by others, another noise draw"),
    "ffdnet_gray": (30.43, "FFDNet paper, Table III"),
    "ecndnet_s25": (30.39, "ECNDNet paper"),
    "cdncnn_b": (31.23, "FFDNet paper, Table V (CBSD68)"),
    "ffdnet_color": (31.21, "FFDNet paper, Table V (CBSD68)"),
    "brdnet_color_s25": (31.43, "BRDNet paper (CBSD68), as tabulated by SwinIR"),
    "dpir_gray": (30.94, "DPIR paper, Table 3"),
    "dpir_color": (31.69, "DPIR paper, Table 3 (CBSD68)"),
}


def forward_time(model, channels: int, device):
    x = torch.rand(1, channels, 256, 256, device=device)
    with torch.no_grad():
        return measure({"forward": lambda: model(x)}, 5, device)["forward"]


def weights_origin(model) -> str:
    info = model.info["weights"]
    if info.startswith("ours"):
        card = weights.model_card(models.spec(model.info["name"]).ours)
        return f"ours ({card.get('profile', 'quick')}, {card['config']['steps']} steps, {card['wall_time_s'] / 60:.0f} min {card['device']})"
    return info.split(":")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sigma", type=float, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="images per set (default: all)")
    parser.add_argument("--only", nargs="*", help="model names (default: the whole zoo)")
    args = parser.parse_args()
    device = config.device(args.device)
    sets = {1: ["set12"], 3: ["set3c", "cbsd68"]}
    print("| model | variant | weights | parameters | set | sigma | PSNR (dB) | SSIM | published PSNR | s / 256x256 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.only or models.list_models(collection="zoo"):
        entry = models.spec(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model = models.create(name, device=device)
            except weights.WeightsError:
                model = models.create(name, weights=None, device=device)
        params = f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M"
        seconds = str(forward_time(model, entry.channels, device))
        if model.info["weights"].startswith("none"):
            print(f"| {name} | {entry.variant} | no weights here | {params} | - | - | - | - | - | {seconds} |", flush=True)
            continue
        if entry.noise != "gaussian":
            print(f"| {name} | {entry.variant} | {weights_origin(model)} | {params} | - | {entry.noise} noise | - | - | - "
                  f"| {seconds} |", flush=True)
            continue
        level = entry.sigma if entry.sigma and not entry.bindable else args.sigma
        for dataset in sets[entry.channels]:
            images = data.load(dataset, limit=args.limit, device=device)
            rows, _ = evaluation.gaussian_denoising(model, images, level, args.seed)
            psnr, ssim = np.mean([r["psnr"] for r in rows]), np.mean([r["ssim"] for r in rows])
            full_set = images.comparable and args.limit is None and level == 25
            paper, source = PUBLISHED.get(name, (None, ""))
            published = f"{paper:.2f} ({source})" if paper and full_set and dataset != "set3c" else "-"
            label = dataset if images.comparable else f"{dataset} (fallback images!)"
            print(f"| {name} | {entry.variant} | {weights_origin(model)} | {params} | {label} | {level:g} | {psnr:.2f} | "
                  f"{ssim:.4f} | {published} | {seconds} |", flush=True)


if __name__ == "__main__":
    main()
