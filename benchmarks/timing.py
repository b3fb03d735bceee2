"""The one timing rule of the benchmark scripts: medians of repeated runs, synchronized on a GPU."""

import statistics
import time

import torch


def sync(device: torch.device) -> None:
    """Wait for a GPU's queued work, so that a timer measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def median_time(fn, repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, in seconds."""
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
