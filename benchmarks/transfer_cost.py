"""What a source x target transfer study costs on this machine (Ning et al. Sec. III-C).

    python benchmarks/transfer_cost.py [--device cpu] [--models dncnn_s25 ffdnet_gray dncnn_b] [--images 4]
                                       [--crop 128] [--rounds 3]

The notebook 02_transfer makes one adversarial set per source and then only runs inference, so
a study of S sources and T targets costs S attacks + S x T x 2 inferences (x' and the shuffled
control) + T inferences on x. Printed, medians (min-max) over ``--rounds`` interleaved rounds
(``timing.measure``):

1. the time to make one source's set (an attack) and to read it back from the cache, and their
   ratio (how much the cache saves the similitude notebook and a rerun);
2. the time of ``transfer_rows`` for the S x T matrix, per (source, target) pair, and its ratio
   to the S attacks: the matrix costs less than the attacks it reuses;
3. the ratio of the naive cost (re-attacking each source for every target) to ours.
"""

import argparse
import tempfile

from companion import adversarial_sets, config, data, robustness
from companion.models import selection

from timing import measure, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["dncnn_s25", "ffdnet_gray", "dncnn_b"])
    parser.add_argument("--images", type=int, default=4, help="Set12 images")
    parser.add_argument("--crop", type=int, default=128, help="center crop in pixels (0: full size)")
    parser.add_argument("--rounds", "--repeats", type=int, default=3)
    args = parser.parse_args()
    device = config.device(args.device)
    images = data.load("set12", limit=args.images, crop=args.crop or None, device=device)
    loaded, skipped = selection.load(args.models, 25, device, channels=1)
    if skipped:
        print("skipped:", skipped)
    attack = dict(eps=0.012, steps=5, alpha=None)
    with tempfile.TemporaryDirectory() as cache:
        sets = {n: adversarial_sets.adversarial_set(m, images, 25, 0, cache_dir=cache, **attack) for n, m in loaded.items()}
        cases = {}
        for n, m in loaded.items():
            cases[n, "make"] = lambda m=m: adversarial_sets.adversarial_set(m, images, 25, 0, **attack)
            cases[n, "read"] = lambda m=m: adversarial_sets.adversarial_set(m, images, 25, 0, cache_dir=cache, **attack)
        cases["matrix"] = lambda: robustness.transfer_rows(sets, loaded, images)
        t = measure(cases, args.rounds, device)
        assert all(adversarial_sets.adversarial_set(m, images, 25, 0, cache_dir=cache, **attack).from_cache
                   for m in loaded.values())
    s = targets = len(loaded)
    matrix = t["matrix"].median
    attacks = sum(t[n, "make"].median for n in loaded)
    naive = attacks * targets + matrix  # one attack per (source, target) pair
    print(f"{len(images)} Set12 images, crop {args.crop or 'none'}, {device}; medians (min-max) of "
          f"{args.rounds} interleaved rounds\n")
    print("| source | make the set (s) | read it from the cache (s) | ratio |\n|---|---|---|---|")
    for n in loaded:
        print(f"| {n} | {t[n, 'make']} | {t[n, 'read']} | {ratio(t[n, 'make'], t[n, 'read'], 0)} |")
    print("\n| quantity | value |\n|---|---|")
    print(f"| {s} x {targets} matrix (transfer_rows), s | {t['matrix']} |")
    print(f"| per (source, target) pair, s (median) | {matrix / (s * targets):.3f} |")
    print(f"| matrix / the {s} attacks (medians) | {matrix / attacks:.2f} |")
    print(f"| naive (re-attack per pair) / ours (medians) | {naive / (attacks + matrix):.2f} |")


if __name__ == "__main__":
    main()
