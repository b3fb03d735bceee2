"""The audit as a grid of tasks, run through a ``concurrent.futures.Executor``, cached by content.

A ``Task`` is one cell of model x sigma x norm x budget x attack x image shard (images
``start:stop``). Everything random in it is seeded from its coordinates: the attack's seed is a
stable hash (sha256, never Python's salted ``hash``) of (model, sigma, norm, budget, attack,
gradient), plus the image's index in the whole set; the Gaussian noise of image i is seeded
``protocol.seed + i``, the same for every attack (so the per-image worst case compares attacks on
one noisy image). Hence a task's numbers depend neither on the order the grid runs in, nor on how
the images are cut into shards, nor on the machine that runs it: ``run`` on local worker
processes, in this process, or on a Dask cluster (``scheduler``: ``dask.distributed.Client``'s
executor) gives the same bits for the same thread count (``Job.threads``, set in every task).

Results are cached under ``<cache_dir>/audit/<key>.json``, the key hashing what a result
depends on with the keys of ``adversarial_sets``: the bound model's ``model_fingerprint``, the
shard's ``images_fingerprint``, the ``attack_fingerprint`` of the ensemble and of the attacks
package, the protocol, the task's coordinates, the device type and the thread count. Each result
is written atomically as it arrives, so a rerun, or a run after a lost worker, computes only what
is missing.
"""

import concurrent.futures
import contextlib
import hashlib
import json
import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import config, metrics, noise
from ..adversarial_sets import adversarial_set, attack_fingerprint, content_key, images_fingerprint
from ..attacks import denoising_pgd
from ..checks import count
from ..data import ImageSet
from ..evaluation import clipped_denoise
from ..io import write_atomic
from ..models import MODELS, create
from . import ensemble
from .protocol import PAPER_PGD_STEPS, Protocol
from .target import Target


def stable_seed(*parts) -> int:
    """A seed in [0, 2^31) from ``parts``' text, the same in every process and on every machine."""
    text = json.dumps([str(p) for p in parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1


@dataclass(frozen=True, order=True)
class Task:
    """One cell of the grid (module docstring); ``through``: the gradient the attack takes."""

    model: str
    sigma: float
    norm: str
    budget: float
    attack: str
    through: str | None
    start: int
    stop: int

    @property
    def seed(self) -> int:
        """The attack's seed of image ``start`` (image i gets this + i - start)."""
        return stable_seed(self.model, self.sigma, self.norm, self.budget, self.attack, self.through) + self.start

    def cell(self) -> tuple:
        """The coordinates without the shard: the cell whose images the shards split."""
        return self.sigma, self.norm, self.budget, self.attack, self.through


@dataclass
class Job:
    """What every task of one audit shares: the target, the protocol, the clean images (numpy,
    global order), the device, the torch thread count of a task (None: leave the process's), and
    the cache folder (None: no cache)."""

    target: Target
    protocol: Protocol
    images: list
    names: list
    dataset: str
    device: str = "cpu"
    threads: int | None = None
    cache_dir: str | None = None
    sources: dict = field(default_factory=dict)


def shards(n: int, size: int) -> list:
    """``[(start, stop), ...]`` covering ``n`` images ``size`` at a time."""
    size = count(size, "shard size", least=1)
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def transfer_source(channels: int, sigma: float) -> str:
    """The zoo model whose denoising-PGD set the ``transfer`` member replays: DnCNN-S at sigma when
    the zoo has it (15, 25, 50), else the blind DnCNN-B (color: CDnCNN-B)."""
    if channels == 3:
        return "cdncnn_b"
    name = f"dncnn_s{sigma:g}"
    return name if name in MODELS else "dncnn_b"


_BUILT: dict = {}
"""Models built in this process, by (spec, weights, device): a worker builds each once."""


def _model(job: Job, sigma: float):
    target = job.target
    if target.portable:
        key = (target.spec, target.weights, job.device)
        if key not in _BUILT:
            _BUILT[key] = target.build(config.device(job.device))
        target.module = _BUILT[key]
    return target.bound(sigma, config.device(job.device))


def _shard(job: Job, task: Task, device) -> tuple:
    clean = torch.from_numpy(np.stack(job.images[task.start:task.stop])).to(device)
    return clean, job.names[task.start:task.stop]


def _observe(model, clean, task: Task, p: Protocol) -> torch.Tensor:
    seeds = [p.seed + i for i in range(task.start, task.stop)]
    if task.attack == "obsatk":  # Yan et al.: the observation is noisy at sigma - r
        return noise.gaussian(clean, task.sigma - task.budget * 255.0, seed=seeds)
    return model.observe(clean, seeds)


def _transfer(job: Job, task: Task, clean: torch.Tensor, names: list) -> torch.Tensor:
    source = job.sources.get(task.sigma) or transfer_source(job.target.channels, task.sigma)
    reference = create(source, sigma=None)
    images = ImageSet(job.dataset, clean.cpu(), list(names), "user")
    cache = Path(job.cache_dir) / "adversarial" if job.cache_dir else None
    made = adversarial_set(reference, images, task.sigma, job.protocol.seed + task.start, denoising_pgd, cache,
                           eps=task.budget, steps=PAPER_PGD_STEPS)
    return torch.cat(made.adv)


@contextlib.contextmanager
def _threads(n: int | None):
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_task(job: Job, task: Task) -> dict:
    """Run one task: the noisy shard, the member's adversarial inputs, per image the PSNR (and for
    ``clean`` the SSIM) of the clipped output against the clean image, the perturbation's
    L-infinity size and L2 RMS, and the seconds it took."""
    began = time.perf_counter()
    with _threads(job.threads):
        device = config.device(job.device)
        model = _model(job, task.sigma)
        clean, names = _shard(job, task, device)
        noisy = _observe(model, clean, task, job.protocol)
        torch.manual_seed(task.seed)  # a randomized model draws the same in every run
        member = ensemble.MEMBERS[task.attack]
        if task.attack == "clean":
            adv = noisy
        elif task.attack == "transfer":
            adv = _transfer(job, task, clean, names).to(device)
        else:
            attacked = ensemble.through(model, task.through)
            adv = member.run(attacked, noisy, clean, task.budget, task.norm, task.seed, job.protocol)
            adv = torch.cat(adv) if isinstance(adv, (list, tuple)) else adv
        torch.manual_seed(task.seed)
        out = clipped_denoise(model, adv.detach())
        delta = (adv - noisy).flatten(1)
        result = {"psnr": metrics.psnr(out, clean).cpu().double().tolist(),
                  "linf": delta.abs().amax(1).cpu().tolist(),
                  "l2rms": (delta.norm(dim=1) / delta.shape[1] ** 0.5).cpu().tolist()}
        if task.attack == "clean":
            result["ssim"] = metrics.ssim(out, clean).cpu().double().tolist()
    result["seconds"] = time.perf_counter() - began
    return result


def code_fingerprint() -> str:
    """sha256 of the audit's code a result depends on: this module, the ensemble, the target's
    binding and the protocol (the attacks are ``attack_fingerprint``'s)."""
    folder = Path(__file__).parent
    text = "".join((folder / f"{m}.py").read_text() for m in ("grid", "ensemble", "target", "protocol"))
    return hashlib.sha256(text.encode()).hexdigest()


def task_key(job: Job, task: Task, fingerprint: str) -> str:
    """The cache key of ``task``: sha256 of what its result depends on (module docstring);
    ``fingerprint``: the bound model's ``model_fingerprint`` at the task's sigma."""
    shard = [(n, torch.from_numpy(i)) for n, i in zip(job.names[task.start:task.stop], job.images[task.start:task.stop])]
    parts = {"task": asdict(task), "seed": task.seed, "model": fingerprint, "images": images_fingerprint(shard),
             "code": code_fingerprint(), "attacks": attack_fingerprint(denoising_pgd),
             "protocol": job.protocol.as_dict(), "device": config.device(job.device).type, "threads": job.threads,
             "source": job.sources.get(task.sigma)}
    return content_key(parts)


class InProcess(concurrent.futures.Executor):
    """An executor that runs each task in this process when it is submitted (a target that cannot
    travel: an ``nn.Module`` given from Python; or ``workers=0``)."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 (handed to the caller through the future)
            future.set_exception(err)
        return future


@contextlib.contextmanager
def executor(workers: int | None = None, scheduler=None, portable: bool = True):
    """The executor of a grid: a Dask cluster's (``scheduler``: its address, or a
    ``dask.distributed.Client``), else ``workers`` local processes (spawned: no forked torch
    threads; None: the CPU count, at most 4), else this process (``workers=0`` or a target that
    cannot travel)."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("a Dask scheduler needs dask and distributed: pip install 'companion[distributed]'") \
                from None

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            yield client.get_executor(pure=False)
        finally:
            if client is not scheduler:
                client.close()
        return
    workers = min(os.cpu_count() or 1, 4) if workers is None else count(workers, "workers")
    if workers == 0 or not portable:
        yield InProcess()
        return
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@dataclass
class Outcome:
    """The grid's results by task, and how many were computed now and read from the cache."""

    results: dict
    computed: int
    cached: int


def run(job: Job, tasks: list, fingerprints: dict, workers: int | None = None, scheduler=None,
        progress=None) -> Outcome:
    """Every task's result: from the cache when there, else computed through the executor
    (``executor``) and cached as it arrives. ``fingerprints``: ``{sigma: model_fingerprint}`` of
    the bound model; ``progress(done, total)`` is called as results arrive."""
    folder = Path(job.cache_dir) / "audit" if job.cache_dir else None
    keys = {t: task_key(job, t, fingerprints[t.sigma]) for t in tasks}
    results, pending = {}, []
    for t in tasks:
        path = folder / f"{keys[t]}.json" if folder else None
        stored = _read(path)
        if stored is not None:
            results[t] = stored
        else:
            pending.append(t)
    cached = len(results)
    if pending:
        with executor(workers, scheduler, job.target.portable) as pool:
            futures = {pool.submit(run_task, job, t): t for t in pending}
            for future in concurrent.futures.as_completed(futures):
                t = futures[future]
                results[t] = future.result()
                if folder:
                    write_atomic(folder / f"{keys[t]}.json", json.dumps({"task": asdict(t), "result": results[t]}))
                if progress:
                    progress(len(results), len(tasks))
    return Outcome(results, len(pending), cached)


def _read(path: Path | None):
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())["result"]
    except (OSError, ValueError, KeyError, TypeError):  # a foreign or damaged file: compute again
        return None
