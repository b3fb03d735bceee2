"""Run the notebooks headless with papermill, resumably, and write the summary report.

Every notebook declares a papermill ``parameters`` cell holding at least ``profile``,
``device`` and ``output_dir``. A run writes into ``outputs/<run-id>/`` (default run id:
``<profile>-<device>``): the executed notebooks, ``figures/``, one JSON per notebook, a
``<notebook>.state.json`` per notebook run (its resume key and how it ended) and ``summary.md`` /
``summary.html``.

Resuming: a notebook is not run again when its state file records the same key (the notebook's
cells, its parameters, the package's files: ``package_sha256``) and nothing its results rest on
changed since (``report.stale_inputs``: the data each dataset resolves to and its content hash,
the sha256 of each model's weights). Anything else reruns it: a garbled state file is treated as
absent, with a warning (it is only a record of a finished run; rerunning is always safe, and
refusing would make the user delete it by hand). Before a rerun, the last results move to
``<notebook>.previous.json``; a rerun that fails leaves the notebook failed in the summary, its
claims not run (results written before the failure move to ``<notebook>.failed.json``), and in
its state file, so that a later partial run's summary still shows the failure.

Parameters: a name no selected notebook declares is an error, never a silent default; each
notebook receives only the parameters it declares.

Threads and speed: the kernels inherit this process's environment, so ``threads`` reaches them as
``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (torch's thread count) and ``speed`` as
``COMPANION_SPEED`` (``evaluation.Speed``), both restored when the run ends. A speed that changes
numbers is part of a notebook's resume key; the thread count is not.

Several at once: ``jobs`` notebooks run in their own kernels at the same time, each with ``threads``
(by default the cores shared among them), a notebook after those whose cached results it reads
(its metadata's ``companion.after``: ``schedule``).
"""

import contextlib
import hashlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

from . import __version__, config
from .checks import count, named_line, one_line
from .io import sha256_cached, write_atomic
from .report import stale_inputs, summarize

STANDARD = ("profile", "device", "output_dir")
KERNEL = "companion-python"
PACKAGE = Path(__file__).resolve().parent
"""The package whose files ``package_sha256`` covers."""


class ParameterError(ValueError):
    """A parameter that no selected notebook declares, or a notebook without the standard ones."""


def notebooks_dir() -> Path:
    return config.project_root() / "notebooks"


def available(folder: Path | None = None) -> list:
    """The notebooks, sorted by their number prefix."""
    folder = folder or notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def select(only: list | None, folder: Path | None = None) -> list:
    """Notebooks whose number prefix or full stem is in ``only`` (all when ``only`` is empty)."""
    notebooks = available(folder)
    if not only:
        return notebooks
    chosen = []
    for key in only:
        hits = [p for p in notebooks if p.stem == key or p.stem.split("_")[0] == key.zfill(2)]
        if not hits:
            raise ParameterError(f"no notebook matches {key!r}; have: {', '.join(p.stem for p in notebooks)}")
        chosen += [h for h in hits if h not in chosen]
    return sorted(chosen)


def declared_parameters(notebook: Path) -> dict:
    """The names and defaults of a notebook's papermill ``parameters`` cell."""
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    names = {name: info.get("default") for name, info in params.items()}
    missing = [p for p in STANDARD if p not in names]
    if missing:
        raise ParameterError(f"{notebook.name} has no parameters cell declaring {missing}")
    return names


def parse_value(text: str):
    """``key=value`` values: JSON when it parses (numbers, lists, true/false), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def package_sha256(package: Path | None = None) -> str:
    """sha256 over every file of the package (its source, ``checksums.txt``, the shipped
    checkpoints and model cards, the fallback data; not ``__pycache__``), by relative path and
    sha256 (``io.sha256_cached``: a ``stat`` per file once hashed). Editing any of them changes it."""
    package = package or PACKAGE
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and not p.name.startswith("."))
    digests = sha256_cached(files)
    listing = "".join(f"{p.relative_to(package).as_posix()} {digests[p]}\n" for p in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def _fingerprint(notebook: Path, parameters: dict, package: str, speed: str = "default") -> dict:
    source = json.loads(notebook.read_text())
    cells = [(c["cell_type"], "".join(c["source"])) for c in source["cells"]]
    return {"notebook_sha256": hashlib.sha256(json.dumps(cells).encode()).hexdigest(),
            "companion": __version__, "package_sha256": package, "parameters": parameters,
            **({"speed": speed} if speed != "default" else {})}


def default_threads() -> int:
    """The threads a kernel gets when none are named: ``OMP_NUM_THREADS`` when this process has it,
    else the cores this process may run on."""
    named = os.environ.get("OMP_NUM_THREADS", "")
    if named.isdigit() and int(named) >= 1:
        return int(named)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_jobs() -> int:
    """Notebooks run at once when none are named: 2 where ``default_threads`` gives 2 or more, else 1.
    Two kernels of half the threads each keep the cores busier than one (a kernel spends part of
    its time in single-threaded Python): the quick run took 13 min 49 s on an idle 2-core CPU
    against 17 min 52 s one at a time (docs/performance.md)."""
    return 2 if default_threads() >= 2 else 1


@contextlib.contextmanager
def kernel_environment(threads: int, speed: str):
    """``os.environ`` as the kernels should inherit it (``threads`` for torch's OpenMP and MKL
    pools, ``speed`` as ``COMPANION_SPEED``), restored afterwards."""
    from .evaluation import SPEED_ENV

    wanted = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), SPEED_ENV: speed}
    before = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def read_json(path: Path, what: str) -> dict | None:
    """The dict in JSON file ``path``; None when it is absent, or garbled (then with a warning that
    names it: the notebook it belongs to runs again)."""
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        found = err
    if isinstance(found, dict):
        return found
    reason = one_line(found, 80) if isinstance(found, Exception) else f"holds a {type(found).__name__}, not an object"
    warnings.warn(f"{path} ({what}) is unreadable ({reason}): it is ignored and the notebook runs again",
                  stacklevel=2)
    return None


def rerun_reason(fingerprint: dict, state: dict | None, results: dict | None) -> str | None:
    """Why a notebook must run again, or None when its finished run still holds: its state file
    records ``fingerprint`` and nothing its ``results`` rest on changed (``report.stale_inputs``)."""
    if state is None or results is None:
        return "no finished run"
    if not str(state.get("status", "done")).startswith("done"):
        return "its last run failed"
    differs = [k for k in fingerprint if state.get(k) != fingerprint[k]]
    if differs:
        return "changed: " + ", ".join(k.replace("_sha256", "") for k in differs)
    changed = stale_inputs(results)
    return "; ".join(changed) if changed else None


def _absolute_folders() -> None:
    """Make the folder variables absolute: the notebooks run in their own folder, so a relative
    COMPANION_DATA_DIR would name another place there (and fall back to other data)."""
    for var in (config.DATA_ENV, config.WEIGHTS_ENV, config.CACHE_ENV):
        value = os.environ.get(var)
        if value and not Path(value).expanduser().is_absolute():
            os.environ[var] = str(Path(value).expanduser().resolve())


def _earlier(run_dir: Path, chosen: list) -> dict:
    """Notebooks of ``run_dir`` not in this run whose last run failed: ``{stem: {'status'}}``."""
    earlier = {}
    for path in sorted(run_dir.glob("*.state.json")):
        stem = path.name[:-len(".state.json")]
        state = None if stem in chosen else read_json(path, "reproduce's record of a notebook's last run")
        if state is not None and str(state.get("status", "done")).startswith("failed"):
            earlier[stem] = {"status": f"failed (earlier run): {state['status'].removeprefix('failed: ')}"}
    return earlier


def failure(err: Exception) -> str:
    """One line for the console and the summary: the notebook's own exception (type and message,
    from papermill's ``ename`` / ``evalue``), not papermill's header; the traceback stays in
    ``<notebook>.failed.ipynb``."""
    ename = getattr(err, "ename", None)
    return named_line(ename, getattr(err, "evalue", "") or "") if ename else one_line(err)


def _kernel_path(run_dir: Path) -> str:
    """A kernelspec for this very interpreter, first on JUPYTER_PATH, so the notebooks run
    in the environment that has companion, whatever other 'python3' kernels are installed."""
    spec_dir = run_dir / ".jupyter" / "kernels" / KERNEL
    write_atomic(spec_dir / "kernel.json", json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "companion (this environment)", "language": "python"}))
    return str(run_dir / ".jupyter")


def _ipc_kernel_manager():
    """jupyter_client's kernel manager with the kernel on local IPC sockets instead of TCP ports on
    localhost: nothing listens on the network, and the kernel does not print its warning about
    unencrypted TCP for every notebook. Each kernel's sockets get their own path in Jupyter's
    runtime folder (jupyter_client's default, 'kernel-ipc' in the working folder, is the same for
    two kernels run at once); the manager removes them when the kernel ends. Windows has no IPC
    sockets: there, the default manager."""
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    if os.name == "nt":
        return AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def _transport_default(self) -> str:
            return "ipc"

        def _ip_default(self) -> str:
            folder = Path(jupyter_runtime_dir())
            folder.mkdir(parents=True, exist_ok=True)
            return str(folder / f"companion-{uuid.uuid4().hex[:16]}")

    return IPCKernelManager


def _execute(papermill, nb: Path, params: dict, run_dir: Path, progress: bool) -> tuple:
    """Run notebook ``nb`` into ``run_dir``: ``(elapsed seconds, None)``, or ``(None, why it failed)``."""
    partial = run_dir / f".{nb.stem}.partial.ipynb"
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(nb), str(partial), parameters=params, kernel_name=KERNEL,
                                   cwd=str(nb.parent), progress_bar=progress,
                                   kernel_manager_class=_ipc_kernel_manager())
    except Exception as err:  # keep going: the summary reports the failure
        if partial.exists():
            os.replace(partial, run_dir / f"{nb.stem}.failed.ipynb")
        return None, failure(err)
    os.replace(partial, run_dir / f"{nb.stem}.ipynb")
    if not (run_dir / f"{nb.stem}.json").is_file():
        return None, f"wrote no {nb.stem}.json"
    return round(time.perf_counter() - t0, 1), None


def after(notebook: Path) -> list:
    """The notebooks ``notebook`` should run after when several run at once: the number prefixes in
    its metadata's ``companion.after`` (those whose cached results it reads, e.g. 02 reads the
    adversarial sets 01 makes; running both at once would make them twice). Ordering only: every
    result is the same in any order."""
    meta = json.loads(notebook.read_text()).get("metadata", {}).get("companion", {})
    return [str(k).zfill(2) for k in meta.get("after", [])]


def schedule(tasks: list, jobs: int, task, on_done=None) -> dict:
    """Run ``task(nb)`` for the notebooks ``tasks`` (in order), at most ``jobs`` at once on threads
    (each notebook runs in its own kernel process): a notebook starts when a lane is free and the
    notebooks of ``after`` that are in ``tasks`` ended (done or failed), the first such in order.
    Returns ``{stem: task's result}``; ``on_done(nb, result)`` is called as each ends."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    prefix = {nb: nb.stem.split("_")[0] for nb in tasks}
    waits = {nb: set(after(nb)) & set(prefix.values()) for nb in tasks}
    pending, running, ended, results = list(tasks), {}, set(), {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for nb in [nb for nb in pending if waits[nb] <= ended][:jobs - len(running)]:
                pending.remove(nb)
                running[pool.submit(task, nb)] = nb
            if not running:  # the rest wait on a notebook that is not ahead of them
                raise ParameterError(f"{[nb.stem for nb in pending]} wait on each other (metadata companion.after)")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                nb = running.pop(future)
                ended.add(prefix[nb])
                results[nb.stem] = future.result()
                if on_done is not None:
                    on_done(nb, results[nb.stem])
    return results


def run(profile: str = "quick", device: str = "cpu", only: list | None = None,
        output: str | Path | None = None, parameters: dict | None = None, force: bool = False,
        folder: Path | None = None, progress: bool = True, threads: int | None = None, speed=None,
        jobs: int | None = None) -> dict:
    """Run the selected notebooks; return ``{notebook: {'status', 'elapsed_s', ...}}``.

    ``jobs``: notebooks run at once, each in its own kernel (``schedule``; default ``default_jobs``).
    ``threads``: torch threads per kernel (default: ``default_threads`` shared among the kernels
    that run at once: ``jobs``, or fewer when fewer notebooks are to run). A result depends on
    neither, except where a notebook trains a network: its float sums, and so its training, depend
    on the thread count. ``speed``: how the models run (``evaluation.Speed`` or its text; default:
    ``COMPANION_SPEED``, else float32 with every option off). Raises ParameterError before anything
    runs when a parameter is unknown.
    """
    from .evaluation import current_speed

    jobs = default_jobs() if jobs is None else count(jobs, "jobs", least=1)
    threads = None if threads is None else count(threads, "threads", least=1)
    return _run(profile, device, only, output, parameters, force, folder, progress, threads,
                str(current_speed(speed)), jobs)


def _run(profile, device, only, output, parameters, force, folder, progress, threads, speed, jobs) -> dict:
    import papermill
    from tqdm.auto import tqdm

    preset = config.profile(profile).parameters
    config.device(device)
    extra = dict(parameters or {})
    clash = [k for k in extra if k in STANDARD]
    if clash:
        raise ParameterError(f"set {clash} with their own options (--profile, --device, --output)")
    chosen = select(only, folder)
    declared = {nb: declared_parameters(nb) for nb in chosen}
    unknown = sorted(k for k in extra if not any(k in d for d in declared.values()))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}: none of {[nb.stem for nb in chosen]} "
                             f"declares them. Declared: " + "; ".join(
                                 f"{nb.stem}: {sorted(set(d) - set(STANDARD))}" for nb, d in declared.items()))
    run_dir = Path(output) if output else config.project_root() / "outputs" / f"{profile}-{device}"
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    _absolute_folders()
    package = package_sha256()
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [_kernel_path(run_dir)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    info = {"profile": profile, "device": device, "speed": speed, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "notebooks": {}}
    todo = {}
    for nb in chosen:
        chosen_params = {**preset.get(nb.stem.split("_")[0], {}), **extra}
        params = {"profile": profile, "device": device, "output_dir": str(run_dir),
                  **{k: v for k, v in chosen_params.items() if k in declared[nb]}}
        fingerprint = _fingerprint(nb, params, package, speed)
        state = read_json(run_dir / f"{nb.stem}.state.json", "reproduce's record of the notebook's last run")
        reason = "--force" if force else rerun_reason(fingerprint, state, read_json(run_dir / f"{nb.stem}.json",
                                                                                    "its results"))
        if reason is None:
            info["notebooks"][nb.stem] = {"status": "done (resumed)", "elapsed_s": state.get("elapsed_s")}
        else:
            todo[nb] = (params, fingerprint, reason if state is not None else None)
    bar = tqdm(total=len(chosen), initial=len(chosen) - len(todo), desc="notebooks", disable=not progress)
    for nb, (_, _, reason) in todo.items():
        if progress and reason is not None:
            bar.write(f"{nb.stem}: running again ({reason})")

    def task(nb):
        bar.set_postfix_str(nb.stem)
        return _run_one(papermill, nb, *todo[nb], run_dir, progress and jobs == 1)

    jobs = min(jobs, max(1, len(todo)))
    threads = threads or max(1, default_threads() // jobs)
    info.update(jobs=jobs, threads=threads)
    with kernel_environment(threads, speed):
        ran = schedule(list(todo), jobs, task, on_done=lambda nb, entry: bar.update())
    bar.close()
    info["notebooks"].update({nb.stem: ran[nb.stem] for nb in todo})
    info["notebooks"] = {nb.stem: info["notebooks"][nb.stem] for nb in chosen}
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_atomic(run_dir / "run.json", json.dumps(info, indent=1))
    earlier = _earlier(run_dir, [nb.stem for nb in chosen])
    md, page = summarize(run_dir, {**info, "notebooks": {**earlier, **info["notebooks"]}})
    info["summary"] = {"markdown": str(md), "html": str(page)}
    return info


def _run_one(papermill, nb: Path, params: dict, fingerprint: dict, reason: str | None, run_dir: Path,
             progress: bool) -> dict:
    """Run one notebook (``_execute``) and record how it ended; its entry in ``run``'s result
    (``rerun_because``: ``reason``, when an earlier run was there)."""
    state_path = run_dir / f"{nb.stem}.state.json"
    result_path = run_dir / f"{nb.stem}.json"
    state_path.unlink(missing_ok=True)
    previous = run_dir / f"{nb.stem}.previous.json"
    if result_path.is_file():  # kept for the user, out of the summary: a failed rerun leaves no claims
        os.replace(result_path, previous)
    elapsed, error = _execute(papermill, nb, params, run_dir, progress)
    failed_json = run_dir / f"{nb.stem}.failed.json"
    if error is None:
        entry = {"status": "done", "elapsed_s": elapsed}
        previous.unlink(missing_ok=True)
        failed_json.unlink(missing_ok=True)
    else:
        entry = {"status": f"failed: {error}"}
        if result_path.is_file():  # saved, then failed: not a result
            os.replace(result_path, failed_json)
    write_atomic(state_path, json.dumps({**fingerprint, **entry}, indent=1))
    return {**entry, **({"rerun_because": reason} if reason is not None else {})}
