"""Notebook 07's networks and attacks, measured: each deblurring network's restoration under
Levin et al.'s kernels, its stability under the untargeted attack, and the cost of both.

    python benchmarks/deblurring.py [--images 12] [--crop 96] [--steps 50] [--rounds 3]

Per network (``companion.experiments.deblurring``): mean PSNR of the blurred and the restored Set12 images
(whole images, kernel i mod 8, sigma 2.55), then on ``--images`` crops of BSD68 the untargeted
attack at eps 8/255 (``--steps`` Adam steps of 0.001, learned gradient descent attacked unrolled
for 10 steps): the median amplification ||N(y') - N(y)|| / ||y' - y|| and the mean PSNR drop;
the time of one restoration of a 256x256 image and of one attack step on it, interleaved over
``--rounds`` rounds (``timing.measure``: median, min-max). Prints a Markdown table.
"""

import argparse

import numpy as np
from timing import measure

from companion import data, physics
from companion.attacks import deblur_pgd
from companion.experiments import deblurring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", "--repeats", type=int, default=3)
    args = parser.parse_args()
    set12 = data.load("set12")
    crops = data.load("bsd68", limit=args.images, crop=args.crop).images
    kernels = deblurring.kernels_for(len(crops), deblurring.test_kernels())
    big = data.load("set12", limit=1, crop=256).images
    print("| network | Set12 blurred | Set12 restored | median amplification | untargeted drop (dB) "
          "| s per 256x256 restoration | s per attack step |")
    print("|---|---|---|---|---|---|---|")
    for name in deblurring.NETWORKS:
        net = deblurring.network(name)
        rows = deblurring.evaluate(net, set12)
        r, _ = deblurring.table1_rows(net, crops, kernels, crops, 8 / 255, {"untargeted": args.steps},
                                      attacks=("untargeted",))
        bound = deblurring.Bound(deblurring.for_attack(net), kernels[:1])
        y = physics.degrade(big, kernels[:1], deblurring.SIGMA)
        times = measure({"restore": lambda: deblurring.restore(net, y, kernels[:1]),
                         "step": lambda: deblur_pgd(bound, y, 8 / 255, steps=1)}, args.rounds)
        print(f"| {name} | {deblurring.mean(rows, 'blurred_psnr'):.2f} | {deblurring.mean(rows, 'psnr'):.2f} | "
              f"{np.median([x['amplification'] for x in r]):.2f} | "
              f"{np.mean([x['clean_psnr'] - x['untargeted_source_psnr'] for x in r]):.2f} | "
              f"{times['restore']} | {times['step']} |")


if __name__ == "__main__":
    main()
