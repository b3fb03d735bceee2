"""Issue 32, item 1: what the chunking policy buys the attacks, per model and image size.

    python benchmarks/chunking.py [--device cpu] [--models dncnn_s25 dpir_small_gray brdnet_s25]
                                  [--sizes 96 256] [--images 4 2] [--steps 3] [--rounds 3]

For each model and crop size (``--images[i]`` Set12 crops of ``--sizes[i]`` px), denoising-PGD
with T = ``--steps`` timed four ways in interleaved rounds (``timing.measure``): the whole group
in one batch (what every version before the policy did), one image at a time, the measured chunk
(``batching.chunk_size``, the default now), and the limit: T forward + backward passes per image
in the measured chunks. Printed: images per second (median, min-max), each as a ratio to the
limit, the chunk found and the speed-up of the measured chunk over one batch. Default sizes run in
about 2-3 minutes on an idle 2-core CPU.
"""

import argparse

import torch
from timing import measure, rate, ratio

from companion import batching, config, data, evaluation, models, noise
from companion.attacks import denoising_pgd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=["dncnn_s25"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[96, 256])
    parser.add_argument("--images", nargs="+", type=int, default=[4, 2], help="crops per size")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    device = config.device(args.device)
    print(f"denoising-PGD, T = {args.steps}, {device} ({torch.get_num_threads()} threads); images/s, median "
          f"(min-max) over {args.rounds} interleaved rounds; ratio: time / the limit's, round by round\n")
    print("| model | crops | chunk found (why the probe stopped) | one batch | one at a time | measured chunk | limit (T passes) "
          "| one batch / limit | measured / limit | speed-up over one batch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        model = models.create(name, device=device)
        for size, n in zip(args.sizes, args.images):
            clean = data.load("set12", limit=n, crop=size, device=device).images
            x = noise.gaussian(clean, 25)
            denoising_pgd(model, x, clean, steps=1)  # the probe, once per session
            chunk = evaluation.chunk_of(model, x, evaluation.Speed(), "attack", probe=None)
            why = [m.reason for key, m in batching.measured(model).items() if key[0] == tuple(x.shape[1:])
                   and key[2] == "attack"]

            def passes():
                for lo, hi in batching.chunks(n, chunk):
                    for _ in range(args.steps):
                        inp = x[lo:hi].clone().requires_grad_(True)
                        torch.autograd.grad(((model(inp) - clean[lo:hi]) ** 2).sum(), inp)

            attack = {label: (lambda s=speed: denoising_pgd(model, x, clean, steps=args.steps, speed=s))
                      for label, speed in (("batch", f"chunk={n}"), ("single", "chunk=1"), ("measured", None))}
            t = measure({**attack, "limit": passes}, args.rounds, device)
            print(f"| {name} | {n} x {size}px | {chunk} ({'; '.join(why)}) | {rate(t['batch'], n)} | {rate(t['single'], n)} | "
                  f"{rate(t['measured'], n)} | {rate(t['limit'], n)} | {ratio(t['batch'], t['limit'])} | "
                  f"{ratio(t['measured'], t['limit'])} | {ratio(t['batch'], t['measured'])} |", flush=True)


if __name__ == "__main__":
    main()
