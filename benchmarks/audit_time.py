"""What the quick audit of a DnCNN-size model costs on this machine (issue 33: under 3 minutes on
an idle 2-core CPU).

    python benchmarks/audit_time.py [--model dncnn_s25] [--budget quick] [--workers N] [--device cpu]

Runs ``companion.audit`` without the cache (every task computed) and prints the wall time of the
whole audit, then the seconds each attack's tasks took (summed over tasks: with several workers
they overlap, so the sum exceeds the wall time), the grid's executor and thread count. Run it on
an idle machine: other processes on the same cores stretch every number.
"""

import argparse
import time

import companion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dncnn_s25")
    parser.add_argument("--budget", default="quick", choices=("quick", "standard"))
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (0: this process)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    began = time.perf_counter()
    card = companion.audit(args.model, budget=args.budget, workers=args.workers, device=args.device, cache_dir=False)
    wall = time.perf_counter() - began
    print(f"{args.model}, {args.budget} audit on {args.device}: {wall:.1f} s wall "
          f"({card.grid['tasks']} tasks, executor {card.grid['executor']}, {card.grid['threads']} thread(s) per task)")
    for attack, seconds in sorted(card.timing.items(), key=lambda kv: -kv[1]):
        print(f"  {attack:16s} {seconds:7.1f} s")
    print(f"robust PSNR (linf) {card.summary['robust_psnr_linf']:.2f} dB, (l2) {card.summary['robust_psnr_l2']:.2f} dB; "
          f"masking flags: {card.summary['flags']}")


if __name__ == "__main__":
    main()
