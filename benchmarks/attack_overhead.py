"""The cost of the denoising attacks against the passes they cannot avoid.

    python benchmarks/attack_overhead.py [--device cpu] [--model dncnn_s25] [--steps 5] [--rounds 5]
                                         [--images 4] [--crop 256] [--speed TEXT]
                                         [--attack denoising_pgd|l2_denoising_pgd|obsatk] [--set12]

1. Overhead ratio = time(T-step attack on ``--images`` Set12 crops) / time(T forward + backward
   passes to the input on the same crops, in the attack's chunks), measured side by side in
   interleaved rounds (``timing.measure``): the median of the per-round ratios and its spread. The
   attack does one forward and one backward per step plus elementwise work, so the target is
   <= 1.1.
2. With ``--set12``, the time to attack all of Set12 (12 images, two sizes) once, and per image.

Every attack runs through the same loop (``companion/attacks/engine.py``), so their ratios should
agree; OBSATK's two projections and L2-denoising-PGD's L2 clip are the only extra work.
"""

import argparse

import torch
from timing import measure, ratio, scaled

from companion import attacks, batching, config, data, evaluation, models, noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="dncnn_s25")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", "--repeats", type=int, default=5)
    parser.add_argument("--images", type=int, default=4, help="Set12 crops in the batch")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--speed", default=None, help="evaluation.Speed text, e.g. chunk=1 (default: measured chunks)")
    parser.add_argument("--attack", default="denoising_pgd", choices=["denoising_pgd", "l2_denoising_pgd", "obsatk"])
    parser.add_argument("--set12", action="store_true", help="also attack all of Set12 once")
    args = parser.parse_args()
    device = config.device(args.device)
    model = models.create(args.model, device=device)
    clean = data.load("set12", limit=args.images, crop=args.crop, device=device).images
    x = noise.gaussian(clean, 25)
    attack_fn = getattr(attacks, args.attack)
    attack_fn(model, x, clean, steps=1, speed=args.speed)  # the chunk probe, once per session
    speed = evaluation.current_speed(args.speed)
    size = evaluation.chunk_of(model, x, speed, "attack", probe=None)  # the chunk the attack found (no new probe)

    def passes():
        with evaluation.running(model, speed.options()) as call:
            for lo, hi in batching.chunks(len(x), size):
                for _ in range(args.steps):
                    inp = x[lo:hi].clone().requires_grad_(True)
                    torch.autograd.grad(((call(inp) - clean[lo:hi]) ** 2).sum(), inp)

    times = measure({"passes": passes, "attack": lambda: attack_fn(model, x, clean, steps=args.steps, speed=args.speed)},
                    args.rounds, device)
    print(f"| quantity | median (min-max over {args.rounds} interleaved rounds) |\n|---|---|")
    print(f"| attack, model, device | {args.attack}, {args.model}, {device} ({torch.get_num_threads()} threads) |")
    print(f"| batch, chunk | {tuple(clean.shape)}, {size} image(s) per pass |")
    print(f"| {args.steps} forward+backward passes per image | {times['passes']} |")
    print(f"| {args.steps}-step attack | {times['attack']} |")
    print(f"| per image, attack | {scaled(times['attack'], 1 / len(x))} |")
    print(f"| overhead ratio | {ratio(times['attack'], times['passes'])} (target <= 1.1) |")
    if not args.set12:
        return
    images = data.load("set12", device=device)
    noisy = [noise.gaussian(img, 25, seed=i) for i, (_, img) in enumerate(images)]
    cleans = [img for _, img in images]
    whole = measure({"set12": lambda: attack_fn(model, noisy, cleans, steps=args.steps, speed=args.speed)}, 1, device,
                    warmup=0)["set12"]
    print(f"| attack all of Set12 once | {whole} ({scaled(whole, 1 / len(cleans))} per image) |")


if __name__ == "__main__":
    main()
