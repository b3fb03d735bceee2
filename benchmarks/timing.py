"""The one timing rule of the benchmark scripts: the cases compared are timed in interleaved
rounds (each round runs every case once, the order rotating from round to round), so that a change
of load on the machine hits all of them alike; each is reported as its median with its spread
(min-max over the rounds), and a comparison as the median of the per-round ratios (the two cases of
a round ran side by side) with theirs. Work queued on a GPU is waited for before a clock is read.

    from timing import measure, ratio
    times = measure({"a": run_a, "b": run_b}, rounds=5, device=device)
    print(times["a"], ratio(times["a"], times["b"]))
"""

import statistics
import time
from dataclasses import dataclass

import torch


def sync(device) -> None:
    """Wait for a GPU's queued work, so that a timer measures it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


@dataclass
class Spread:
    """Values measured once per round (seconds, or ratios), in round order."""

    values: list
    unit: str = " s"
    digits: int = 3

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def __str__(self) -> str:
        f = f".{self.digits}f"
        return f"{self.median:{f}}{self.unit} ({min(self.values):{f}}-{max(self.values):{f}})"


def measure(cases: dict, rounds: int = 5, device="cpu", warmup: int = 1) -> dict:
    """``{name: Spread}``: the wall time of each ``cases[name]()`` in each of ``rounds`` interleaved
    rounds, after ``warmup`` untimed rounds."""
    names = list(cases)
    times = {name: [] for name in names}
    for r in range(warmup + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            sync(device)
            start = time.perf_counter()
            cases[name]()
            sync(device)
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: Spread(values) for name, values in times.items()}


def ratio(a: Spread, b: Spread, digits: int = 2) -> Spread:
    """a / b round by round: the ratio of two cases timed side by side (``measure``)."""
    return Spread([x / y for x, y in zip(a.values, b.values)], "x", digits)


def scaled(a: Spread, factor: float, unit: str = " s", digits: int = 3) -> Spread:
    """``a`` with every value multiplied by ``factor`` (e.g. a time per image)."""
    return Spread([x * factor for x in a.values], unit, digits)


def rate(a: Spread, count: float, unit: str = " img/s", digits: int = 2) -> Spread:
    """``count`` items per second in each round of ``a``."""
    return Spread([count / x for x in a.values], unit, digits)
