"""How images are put into batches: one group per image size, in the order they came (``by_size``),
and each group run in chunks of a measured size (``chunk_size``, ``chunks``).

One chunking policy for the whole package (the attacks, the scoring forwards, the trainer's
evaluation): a chunk size per (model, image size, device and what runs), found by a short probe
and kept for the session; the user overrides it with a ``Speed``'s chunk (an argument of the
calls, or ``COMPANION_SPEED=chunk=N``: ``evaluation.Speed``). On a CPU a large batch is often
slower per image than a small one (it leaves the caches: attacking eight 128x128 crops one at a
time was 1.73x faster than as one batch, issue 32); on a GPU larger batches are faster until
memory runs out.

On a CPU the probe keeps only sizes whose results are bit-identical to one image at a time: the
denoised image, and for the attacks the sign of the input gradient, so denoising-PGD,
L2-denoising-PGD and BPDA give the bits of one image at a time. The gradient's value can differ
in the last bit (~1e-7: oneDNN computes a convolution's backward pass for one image with another
algorithm than for several), and so can an attack's per-image sums (torch sums one row of at
least 32768 values with all its threads, several rows one per thread): OBSATK, which steps along
the normalized gradient, moves by ~1e-7 with the chunk, as it did between a batch and one image
before chunking. The chunk is fixed for the session once probed, so a call repeated in a session
gives the same bits. On a GPU the probe looks at time alone (cuDNN's results depend on the batch
size and its algorithm choice anyway).
"""

import math
import time
import weakref
from dataclasses import dataclass, field

import torch

MARGIN = 0.05
"""A doubled chunk is kept only when it costs at least this fraction less per image."""
LARGEST = 1 << 12
"""The measurement stops growing the chunk here."""
TIMED = 0.1
"""Seconds of timed work a probe size gets: a run shorter than that is repeated (at most ``RUNS``
times) and the fastest counts, so that a small, fast model is not judged on one run that the
first use of a new batch size or another process slowed down; a longer run is timed once."""
RUNS = 5
"""At most this many timed runs of one probe size."""


def by_size(images) -> list:
    """Indices of ``images`` (tensors, or shapes) grouped by their last three dimensions (C, H, W),
    groups in order of first appearance and indices in order within a group."""
    groups = {}
    for i, image in enumerate(images):
        shape = tuple(getattr(image, "shape", image))[-3:]
        groups.setdefault(shape, []).append(i)
    return list(groups.values())


@dataclass
class Measured:
    """What the probe of one (model, key) found so far: the ``best`` chunk size and its cost per
    image in seconds, the ``next`` size to try (None: settled on ``best``), and why it settled."""

    best: int = 1
    cost: float = math.inf
    next: int | None = 1
    reason: str = ""
    reference: tuple | None = field(default=None, repr=False)  # the probe's one-image result, until settled


_MEASURED = weakref.WeakKeyDictionary()  # model -> {key: Measured}, for the session


def measured(model) -> dict:
    """``{key: Measured}``: what the chunk probes found for ``model`` in this session."""
    return dict(_MEASURED.get(model, {}))


def chunk_size(model, key, n: int, probe, exact: bool = True, sync=None, clock=time.perf_counter) -> int:
    """Images per pass for ``n`` images of ``key`` (what runs: image shape, device, kind of work,
    options) on ``model``: measured once per session and kept.

    ``probe(k)`` runs the work on k copies of one image and returns its result tensors (batch
    first). The probe times k = 1, 2, 4, ... (after one untimed run of one image, which warms up
    and gives the reference result), ``clock`` read after ``sync()`` on a device that queues work;
    a size's cost is its fastest run of those that fill ``TIMED`` seconds (at most ``RUNS``); the
    doubling stops at the first size not ``MARGIN`` cheaper per image than the best so far, at one
    that runs out of GPU memory, or, when ``exact``, at one whose rows are not bit-identical to the
    one-image result (a convolution may pick another algorithm for another batch size): so a chunk
    gives the bits of one image at a time. A later call with more images than the probe
    reached goes on probing. Nothing of the probe's work enters a result, so which size the
    timings pick never changes one."""
    state = _MEASURED.setdefault(model, {}).setdefault(key, Measured())
    while state.next is not None and state.next <= n:
        _try(state, probe, exact, sync, clock)
    return min(state.best, max(n, 1))


def _try(state: Measured, probe, exact: bool, sync, clock) -> None:
    size = state.next
    if state.reference is None:
        state.reference = tuple(t.detach() for t in probe(1))
    try:
        result, seconds = _timed(probe, size, sync, clock)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return _settle(state, f"{size} images ran out of GPU memory")
    if exact and not all(torch.equal(t.detach(), r.expand_as(t)) for t, r in zip(result, state.reference)):
        return _settle(state, f"{size} images give other bits than one at a time")
    cost = seconds / size
    if cost >= state.cost * (1 - MARGIN):
        return _settle(state, f"{size} images cost {cost / state.cost:.2f}x per image")
    state.best, state.cost = size, cost
    state.next = size * 2
    if state.next > LARGEST:
        _settle(state, f"the largest chunk, {LARGEST}")


def _timed(probe, size: int, sync, clock) -> tuple:
    """``(the first run's result, the fastest run's seconds)`` of ``probe(size)`` run until ``TIMED``
    seconds are spent or ``RUNS`` runs made."""
    result, times = None, []
    while not times or (sum(times) < TIMED and len(times) < RUNS):
        start = clock()
        out = probe(size)
        if sync is not None:
            sync()
        times.append(clock() - start)
        result = out if result is None else result
    return result, min(times)


def _settle(state: Measured, reason: str) -> None:
    state.next, state.reason, state.reference = None, reason, None


def chunks(n: int, size: int) -> list:
    """``[(lo, hi), ...]``: consecutive ranges of ``size`` covering ``range(n)``."""
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)]
