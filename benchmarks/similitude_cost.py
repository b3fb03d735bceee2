"""What the similitude study (Ning et al. Sec. IV-D) costs on this machine.

    python benchmarks/similitude_cost.py [--device cpu] [--models dncnn_s25 ecndnet_s25 dncnn_b]
                                         [--images 4] [--crop 128] [--angles 16] [--rounds 3]

Printed, medians (min-max) over ``--rounds`` interleaved rounds (``timing.measure``):

1. per model, the time of its sweep over every image's circle (``circle_study``) with the default
   batches (the package's measured chunk, ``batching.chunk_size``) and with each whole circle
   (N + 1 samples) in one batch: the ratio says which is faster on this device;
2. the time of the whole DMRS matrix (``dmrs_matrix``: exact polygon work only) against the
   sweeps: M models cost M sweeps, and the M^2 comparisons are nearly free.
"""

import argparse

from companion import adversarial_sets, config, data, similitude
from companion.models import selection

from timing import measure, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["dncnn_s25", "ecndnet_s25", "dncnn_b"])
    parser.add_argument("--images", type=int, default=4, help="Set12 images")
    parser.add_argument("--crop", type=int, default=128, help="center crop in pixels (0: full size)")
    parser.add_argument("--angles", type=int, default=16)
    parser.add_argument("--rounds", "--repeats", type=int, default=3)
    args = parser.parse_args()
    device = config.device(args.device)
    images = data.load("set12", limit=args.images, crop=args.crop or None, device=device)
    loaded, _ = selection.load(args.models, 25, device, channels=1)
    made = adversarial_sets.adversarial_set(next(iter(loaded.values())), images, 25, 0, eps=0.012, steps=5, alpha=None)
    cases = {}
    for name, model in loaded.items():
        cases[name, "sweep"] = lambda m=model: similitude.circle_study({"m": m}, images, made, args.angles)
        cases[name, "whole"] = lambda m=model: similitude.circle_study({"m": m}, images, made, args.angles,
                                                                       batch_size=args.angles + 1)
    study = similitude.circle_study(loaded, images, made, args.angles)
    cases["matrix"] = lambda: similitude.dmrs_matrix(study)
    t = measure(cases, args.rounds, device)
    print(f"{len(images)} Set12 images, crop {args.crop or 'none'}, {args.angles} angles, {device}; "
          f"medians (min-max) of {args.rounds} interleaved rounds\n")
    print("| model | sweep, default batches (s) | a whole circle per batch (s) | ratio |\n|---|---|---|---|")
    for name in loaded:
        print(f"| {name} | {t[name, 'sweep']} | {t[name, 'whole']} | {ratio(t[name, 'whole'], t[name, 'sweep'])} |")
    sweeps = sum(t[name, "sweep"].median for name in loaded)
    print("\n| quantity | value |\n|---|---|")
    print(f"| {len(loaded)} x {len(loaded)} DMRS matrix, s | {t['matrix']} |")
    print(f"| DMRS matrix / the {len(loaded)} sweeps (medians) | {t['matrix'].median / sweeps:.5f} |")


if __name__ == "__main__":
    main()
