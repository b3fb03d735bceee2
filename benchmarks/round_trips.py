"""Issue 32, item 5: host round trips on the hot paths, counted, and what they cost.

    python benchmarks/round_trips.py [--device cpu] [--crop 32] [--rounds 3]
    PYTHONPATH=OTHER_CHECKOUT python benchmarks/round_trips.py   # the same counts for another version

Counted (every call that brings a tensor's values to the host: ``item``, ``tolist``, ``cpu``,
``numpy``, ``bool``, ``float``, ``int``, ``nonzero``; each is a synchronization on a GPU): one
``evaluation.denoise`` call, one denoising-PGD attack (T = 5, 4 images), one DAG run (40 steps,
the authors' Gaussian settings, 4 images) and one training batch's noise (``train.noisy_batch``).
Timed (``timing.measure``, interleaved): the same calls. Uses only calls every version has, so
that ``PYTHONPATH`` can point it at an older checkout for the before figures.
"""

import argparse

import torch
from timing import measure

from companion import config, evaluation, models, train
from companion.attacks import dag_trace, denoising_pgd
from companion.attacks.dag import SETTINGS

NAMES = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "nonzero")


def count_trips(fn) -> int:
    """How many times ``fn()`` brings tensor values to the host (the calls of ``NAMES``)."""
    originals = {name: getattr(torch.Tensor, name) for name in NAMES}
    seen = [0]

    def counting(original):
        def call(*args, **kwargs):
            seen[0] += 1
            return original(*args, **kwargs)
        return call

    try:
        for name, original in originals.items():
            setattr(torch.Tensor, name, counting(original))
        fn()
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    return seen[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--crop", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    device = config.device(args.device)
    model = models.create("dncnn_s25", device=device)
    g = torch.Generator().manual_seed(0)
    clean = (torch.rand(4, 1, args.crop, args.crop, generator=g) * 0.8 + 0.1).to(device)
    noisy = clean + 25 / 255 * torch.randn(clean.shape, generator=g).to(device)
    cfg = train.TrainConfig(batch_size=64, patch_size=40, sigma=(0.0, 55.0))
    patches = torch.rand(64, 1, 40, 40, generator=g).to(device)
    calls = {"denoise (1 call, 4 images)": lambda: evaluation.denoise(model, noisy),
             "denoising-PGD (T = 5, 4 images)": lambda: denoising_pgd(model, noisy, clean, steps=5),
             "DAG (40 steps, 4 images)": lambda: dag_trace(model, clean, noisy, **SETTINGS["gaussian"]),
             "training noise (64 patches of 40x40)": lambda: train.noisy_batch(patches, cfg, 1)}
    for fn in calls.values():
        fn()  # warm-up, and the chunk probes
    trips = {name: count_trips(fn) for name, fn in calls.items()}
    times = measure(calls, args.rounds, device)
    print(f"{evaluation.__file__}, {device} ({torch.get_num_threads()} threads)\n")
    print(f"| call | host round trips | time: median (min-max) of {args.rounds} interleaved rounds |\n|---|---|---|")
    for name in calls:
        print(f"| {name} | {trips[name]} | {times[name]} |")


if __name__ == "__main__":
    main()
