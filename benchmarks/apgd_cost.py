"""APGD's cost per step over denoising-PGD's (issue 33's target: <= 1.1x).

    python benchmarks/apgd_cost.py [--device cpu] [--model dncnn_s25] [--steps 10] [--rounds 5]
                                   [--images 4] [--crop 128] [--norm linf|l2] [--speed TEXT]

Both attacks run T steps on the same ``--images`` Set12 crops (noisy at sigma 25, the gray budget
eps = 0.012), timed side by side in interleaved rounds (``timing.measure``) in one run; the ratio
is the median of the per-round ratios, with its spread. Per step, APGD does what denoising-PGD
does (one forward and one backward pass) plus its bookkeeping (momentum, best point, checkpoint
decisions: elementwise work) and, once per run, one forward pass to score its last iterate; so
the ratio is about 1 + 1/(3T) for a network whose backward costs twice its forward.
"""

import argparse

import torch
from timing import measure, ratio

from companion import attacks, config, data, models, noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="dncnn_s25")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=4, help="Set12 crops in the batch")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--norm", default="linf", choices=["linf", "l2"])
    parser.add_argument("--speed", default=None, help="evaluation.Speed text, e.g. chunk=1 (default: measured chunks)")
    args = parser.parse_args()
    device = config.device(args.device)
    model = models.create(args.model, device=device)
    clean = data.load("set12", limit=args.images, crop=args.crop, device=device).images
    x = noise.gaussian(clean, 25)
    pgd = attacks.l2_denoising_pgd if args.norm == "l2" else attacks.denoising_pgd
    cases = {"apgd": lambda: attacks.apgd(model, x, clean, steps=args.steps, norm=args.norm, speed=args.speed),
             "pgd": lambda: pgd(model, x, clean, steps=args.steps, speed=args.speed)}
    times = measure(cases, args.rounds, device)
    print(f"| quantity | median (min-max over {args.rounds} interleaved rounds) |\n|---|---|")
    print(f"| model, device | {args.model}, {device} ({torch.get_num_threads()} threads) |")
    print(f"| batch, steps, norm | {tuple(clean.shape)}, {args.steps}, {args.norm} (PGD: {pgd.__name__}) |")
    print(f"| APGD | {times['apgd']} |")
    print(f"| {pgd.__name__} | {times['pgd']} |")
    print(f"| APGD's cost per step over PGD's | {ratio(times['apgd'], times['pgd'])} (target <= 1.1) |")


if __name__ == "__main__":
    main()
