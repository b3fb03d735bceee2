"""PSNR / SSIM of the officially published weights: gray models on Set12, color on CBSD68.

    python benchmarks/official_weights.py [--device cpu] [--sigma 25] [--seed 0] [--limit N]

Conventions (companion.evaluation): Gaussian noise unclipped, image i seeded with seed + i,
output clipped to [0, 1], PSNR/SSIM on the 0-255 scale averaged per image. Prints a Markdown
table: ours, a reference mean where one exists, and seconds per image.
"""

import argparse
import time

import numpy as np

from companion import config, data, evaluation, models

# Reference Set12 means at sigma 25: the papers' tables, and for DnCNN-B the published weights
# measured by others with another noise draw (no table here gives that setting).
REFERENCE = {
    "dncnn_s25": (30.44, "Zhang et al. 2017, Table II"),
    "dncnn_b": (30.35, "published weights, another noise draw"),
    "ffdnet_gray": (30.43, "Zhang et al. 2018, Table III"),
}
RUNS = [("dncnn_s25", "set12"), ("dncnn_b", "set12"), ("ffdnet_gray", "set12"),
        ("cdncnn_b", "cbsd68"), ("ffdnet_color", "cbsd68")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sigma", type=float, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="images per set (default: all)")
    args = parser.parse_args()
    device = config.device(args.device)
    print(f"| model | dataset | images | PSNR (dB) | SSIM | reference PSNR | s / image |")
    print("|---|---|---|---|---|---|---|")
    for name, dataset in RUNS:
        images = data.load(dataset, limit=args.limit, device=device)
        model = models.create(name, device=device)
        t0 = time.perf_counter()
        rows, _ = evaluation.gaussian_denoising(model, images, args.sigma, args.seed)
        per_image = (time.perf_counter() - t0) / len(images)
        psnr, ssim = np.mean([r["psnr"] for r in rows]), np.mean([r["ssim"] for r in rows])
        paper, source = REFERENCE.get(name, (None, "")) if args.sigma == 25 else (None, "")
        ref = f"{paper:.2f} ({source})" if paper and images.comparable and len(images) == 12 else "-"
        flag = "" if images.comparable else " (fallback images!)"
        print(f"| {name} | {dataset}{flag} | {len(images)} | {psnr:.2f} | {ssim:.4f} | {ref} | {per_image:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
