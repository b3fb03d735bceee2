"""Issue 32, item 4: torch threads per process, alone and on a shared machine.

    python benchmarks/threads.py [--processes 2] [--threads 2] [--crop 64] [--images 2] [--steps 5] [--rounds 3]

A worker process (this script with ``--worker``) loads DnCNN-S, attacks ``--images`` Set12 crops of
``--crop`` px once to warm up, then times one denoising-PGD attack (T = ``--steps``) and prints the
seconds. Four set-ups, interleaved round by round (``timing.measure``): one worker with 1 thread,
one with ``--threads`` (default: the cores), and ``--processes`` workers at once (default: the
cores, as ``pytest -n`` or several users would run them) with 1 thread each and with ``--threads``
each. Printed: the attack's median time (min-max) per set-up, the slowest worker of a round
counting for the concurrent ones, and the ratios that say whether 1 thread per process pays.
"""

import argparse
import os
import subprocess
import sys
import time

from timing import Spread, measure, ratio


def worker(args) -> None:
    import torch

    from companion import data, models, noise
    from companion.attacks import denoising_pgd

    model = models.create("dncnn_s25")
    clean = data.load("set12", limit=args.images, crop=args.crop).images
    x = noise.gaussian(clean, 25)
    denoising_pgd(model, x, clean, steps=1)
    start = time.perf_counter()
    denoising_pgd(model, x, clean, steps=args.steps)
    print(time.perf_counter() - start, torch.get_num_threads())


def launch(args, processes: int, threads: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--worker", "--crop", str(args.crop), "--images", str(args.images),
               "--steps", str(args.steps)]
    running = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    seen = [p.communicate()[0].split() for p in running]
    assert all(int(s[1]) == threads for s in seen), seen
    return max(float(s[0]) for s in seen)


def main() -> None:
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=cores)
    parser.add_argument("--threads", type=int, default=cores)
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    setups = {"1 process x 1 thread": (1, 1), f"1 process x {args.threads} threads": (1, args.threads),
              f"{args.processes} processes x 1 thread": (args.processes, 1),
              f"{args.processes} processes x {args.threads} threads": (args.processes, args.threads)}
    seconds = {name: [] for name in setups}
    measure({name: (lambda n=name, s=setup: seconds[n].append(launch(args, *s))) for name, setup in setups.items()},
            args.rounds, warmup=0)
    spreads = {name: Spread(values) for name, values in seconds.items()}
    print(f"denoising-PGD T = {args.steps} on {args.images} Set12 crops of {args.crop}px in each process, "
          f"{cores} cores; the attack's time in a worker (the slowest of a round), median (min-max) of "
          f"{args.rounds} interleaved rounds\n")
    print("| set-up | attack, s |\n|---|---|")
    for name, spread in spreads.items():
        print(f"| {name} | {spread} |")
    names = list(setups)
    print("\n| ratio | value |\n|---|---|")
    print(f"| alone: {args.threads} threads / 1 thread | {ratio(spreads[names[1]], spreads[names[0]])} |")
    print(f"| shared: {args.threads} threads / 1 thread per process | {ratio(spreads[names[3]], spreads[names[2]])} |")


if __name__ == "__main__":
    main()
