"""The classical denoisers (``companion.models.classical``): how well they denoise, how fast, and
the tuning of their free parameter.

    python benchmarks/classical_denoisers.py [--sigma 25] [--limit N]
    python benchmarks/classical_denoisers.py --tune [--limit N]

The first form scores bm3d, tv, nlm and wavelet on Set12 and their color versions on set3c and
CBSD68 (Gaussian noise unclipped, image i seeded i, output clipped, the means of per-image
PSNR/SSIM on the 0-255 scale: ``companion.evaluation``), with the published BM3D/CBM3D means
beside them, and the time of one 256x256 image (``timing.measure``: median, min-max of 3 runs). ``--tune`` reruns the search
that fixed ``classical.TUNED``: every candidate of ``classical.GRIDS`` on Train400 at sigma 25.
Prints Markdown tables.
"""

import argparse

import numpy as np
import torch
from timing import measure

from companion import data, evaluation, models, report
from companion.models import classical

# Published means at sigma 25 (0-255): Zhang et al. 2017 (DnCNN), Tables II and III.
PUBLISHED = {("bm3d", "set12"): 29.97, ("cbm3d", "cbsd68"): 30.71}


def tune(limit: int | None) -> None:
    images = data.load("train400", limit=limit)
    for method in classical.GRIDS:
        table = classical.tune(method, images, 25.0, progress=True)
        print(f"\n{method} on {len(images)} Train400 images, sigma 25 (recorded: {classical.TUNED[method]})\n")
        print(report.markdown_table(table.round(3).to_dict("records")))


def score(sigma: float, limit: int | None) -> None:
    print("| method | set | sigma | PSNR (dB) | SSIM | published PSNR | s / 256x256 |")
    print("|---|---|---|---|---|---|---|")
    for name in models.list_models(family="classical"):
        model = models.create(name, sigma=sigma)
        channels = models.spec(name).channels
        x = torch.rand(1, channels, 256, 256)
        seconds = measure({name: lambda: model(x)}, 3)[name]
        for dataset in (["set12"] if channels == 1 else ["set3c", "cbsd68"]):
            images = data.load(dataset, limit=limit)
            rows, _ = evaluation.gaussian_denoising(model, images, sigma)
            paper = PUBLISHED.get((name, dataset)) if images.comparable and limit is None and sigma == 25 else None
            print(f"| {name} | {dataset} | {sigma:g} | {np.mean([r['psnr'] for r in rows]):.2f} | "
                  f"{np.mean([r['ssim'] for r in rows]):.4f} | {paper or '-'} | {seconds} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", action="store_true", help="rerun the parameter search on Train400")
    parser.add_argument("--sigma", type=float, default=25)
    parser.add_argument("--limit", type=int, default=None, help="images per set (default: all)")
    args = parser.parse_args()
    if args.tune:
        tune(args.limit)
    else:
        score(args.sigma, args.limit)


if __name__ == "__main__":
    main()
