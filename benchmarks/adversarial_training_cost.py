"""The cost of one training step in each adversarial mode, against normal training.

    python benchmarks/adversarial_training_cost.py [--device cpu] [--batch 16] [--patch 40] [--rounds 5]

For each mode of ``companion.train.ADVERSARIAL_MODES`` (the recipes of notebook 04), the wall time
of one optimizer step of DnCNN-S (loss, backward, Adam step), the modes interleaved round by round
(``timing.measure``): median (min-max), and its ratio to normal training round by round. What to expect from counting
forward + backward passes: Ning et al.'s mix attacks half the batch for T = 5 steps (about 3.5x),
vAT one OBSATK step (about 2x), HAT one OBSATK step and two forward passes (about 3x).
"""

import argparse

import torch

from companion import config, models, train
from companion.data import PatchSampler, load

from timing import measure, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=40)
    parser.add_argument("--rounds", "--repeats", type=int, default=5)
    args = parser.parse_args()
    device = config.device(args.device)
    images = load("train400", limit=16)
    sampler = PatchSampler(images, args.patch, args.batch, seed=0)
    clean = sampler.batch(0).to(device)
    steps = {}
    for mode, fields in train.ADVERSARIAL_MODES.items():
        cfg = train.TrainConfig(batch_size=args.batch, patch_size=args.patch, sigma=25.0, **fields)
        model = models.create("dncnn_s25", device=device).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        noisy, target, level = train.noisy_batch(clean, cfg, 0)

        def step(model=model, optimizer=optimizer, batch=(noisy, target, level), cfg=cfg):
            loss = train.objective(model, *batch, cfg, 0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        steps[mode] = step
    times = measure(steps, args.rounds, device)
    base = times[next(iter(steps))]
    print(f"| mode | s / step ({args.batch} x {args.patch}x{args.patch}, {device}) | ratio to nt |")
    print("|---|---|---|")
    for mode, seconds in times.items():
        print(f"| {mode} | {seconds} | {ratio(seconds, base)} |")


if __name__ == "__main__":
    main()
