"""The cost of the denoising attacks on this machine.

    python benchmarks/attack_overhead.py [--device cpu] [--model dncnn_s25] [--steps 5] [--repeats 5]
                                         [--attack denoising_pgd|l2_denoising_pgd|obsatk] [--set12]

1. Overhead ratio = time(T-step attack on a batch) / (T x time(one forward + backward to the
   input on that batch)), medians over ``repeats`` runs, measured in one process. The attack
   does one forward and one backward per step plus elementwise work, so the target is <= 1.1.
2. With ``--set12``, the time to attack all of Set12 (12 images, two sizes) once, and per image.

Every attack runs through the same loop (``companion/attacks/engine.py``), so their ratios should
agree; OBSATK's two projections and L2-denoising-PGD's L2 clip are the only extra work.
"""

import argparse
import time

import torch

from companion import config, data, models, noise
from companion import attacks

from timing import median_time, sync


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="dncnn_s25")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4, help="256x256 Set12 images in the batch")
    parser.add_argument("--attack", default="denoising_pgd", choices=["denoising_pgd", "l2_denoising_pgd", "obsatk"])
    parser.add_argument("--set12", action="store_true", help="also attack all of Set12 once")
    args = parser.parse_args()
    device = config.device(args.device)
    model = models.create(args.model, device=device)
    images = data.load("set12", device=device)
    clean = next(g for _, g in images.groups())[: args.batch]
    x = noise.gaussian(clean, 25)

    def forward_backward():
        inp = x.clone().requires_grad_(True)
        loss = ((model(inp) - clean) ** 2).sum()
        torch.autograd.grad(loss, inp)

    forward_backward()  # warm-up
    one = median_time(forward_backward, args.repeats, device)
    attack_fn = getattr(attacks, args.attack)
    attack = median_time(lambda: attack_fn(model, x, clean, steps=args.steps), args.repeats, device)
    ratio = attack / (args.steps * one)
    print("| quantity | value |\n|---|---|")
    print(f"| attack, model, device | {args.attack}, {args.model}, {device} ({torch.get_num_threads()} threads) |")
    print(f"| batch | {tuple(clean.shape)} |")
    print(f"| one forward+backward (median of {args.repeats}) | {one:.3f} s |")
    print(f"| {args.steps}-step attack (median of {args.repeats}) | {attack:.3f} s |")
    print(f"| overhead ratio | {ratio:.3f} (target <= 1.1) |")
    if not args.set12:
        return
    noisy = [noise.gaussian(img, 25, seed=i) for i, (_, img) in enumerate(images)]
    cleans = [img for _, img in images]
    sync(device)
    t0 = time.perf_counter()
    attack_fn(model, noisy, cleans, steps=args.steps)
    sync(device)
    total = time.perf_counter() - t0
    print(f"| attack all of Set12 once | {total:.1f} s ({total / len(cleans):.2f} s per image) |")


if __name__ == "__main__":
    main()
