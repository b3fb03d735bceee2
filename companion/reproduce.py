"""Run the notebooks headless with papermill, resumably, and write the summary report.

Every notebook declares a papermill ``parameters`` cell holding at least ``profile``,
``device`` and ``output_dir``. A run writes into ``outputs/<run-id>/`` (default run id:
``<profile>-<device>``): the executed notebooks, ``figures/``, one JSON per notebook, a
``<notebook>.state.json`` per finished notebook and ``summary.md`` / ``summary.html``.

Resuming: a notebook whose state file records the same parameters and the same notebook
source is not run again. Parameters: a name no selected notebook declares is an error, never a
silent default; each notebook receives only the parameters it declares.
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from . import __version__, config
from .checks import named_line, one_line
from .io import write_atomic
from .report import summarize

STANDARD = ("profile", "device", "output_dir")
KERNEL = "companion-python"


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


def _fingerprint(notebook: Path, parameters: dict) -> dict:
    source = json.loads(notebook.read_text())
    cells = [(c["cell_type"], "".join(c["source"])) for c in source["cells"]]
    return {"notebook_sha256": hashlib.sha256(json.dumps(cells).encode()).hexdigest(),
            "companion": __version__, "parameters": parameters}


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


def run(profile: str = "quick", device: str = "cpu", only: list | None = None,
        output: str | Path | None = None, parameters: dict | None = None, force: bool = False,
        folder: Path | None = None, progress: bool = True) -> dict:
    """Run the selected notebooks; return ``{notebook: {'status', 'elapsed_s', ...}}``.

    Raises ParameterError before anything runs when a parameter is unknown.
    """
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
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [_kernel_path(run_dir)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    info = {"profile": profile, "device": device, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "notebooks": {}}
    bar = tqdm(chosen, desc="notebooks", disable=not progress)
    for nb in bar:
        bar.set_postfix_str(nb.stem)
        chosen_params = {**preset.get(nb.stem.split("_")[0], {}), **extra}
        params = {"profile": profile, "device": device, "output_dir": str(run_dir),
                  **{k: v for k, v in chosen_params.items() if k in declared[nb]}}
        fingerprint = _fingerprint(nb, params)
        state_path = run_dir / f"{nb.stem}.state.json"
        result_path = run_dir / f"{nb.stem}.json"
        if not force and state_path.is_file() and result_path.is_file():
            state = json.loads(state_path.read_text())
            if {k: state.get(k) for k in fingerprint} == fingerprint:
                info["notebooks"][nb.stem] = {"status": "done (resumed)", "elapsed_s": state.get("elapsed_s")}
                continue
        state_path.unlink(missing_ok=True)
        result_path.unlink(missing_ok=True)  # a failed rerun must not leave the last run's claims behind
        partial = run_dir / f".{nb.stem}.partial.ipynb"
        t0 = time.perf_counter()
        try:
            papermill.execute_notebook(str(nb), str(partial), parameters=params, kernel_name=KERNEL,
                                       cwd=str(nb.parent), progress_bar=progress)
        except Exception as err:  # keep going: the summary reports the failure
            if partial.exists():
                os.replace(partial, run_dir / f"{nb.stem}.failed.ipynb")
            info["notebooks"][nb.stem] = {"status": f"failed: {failure(err)}"}
            continue
        elapsed = round(time.perf_counter() - t0, 1)
        os.replace(partial, run_dir / f"{nb.stem}.ipynb")
        if not result_path.is_file():
            info["notebooks"][nb.stem] = {"status": f"failed: wrote no {result_path.name}"}
            continue
        write_atomic(state_path, json.dumps({**fingerprint, "elapsed_s": elapsed}, indent=1))
        info["notebooks"][nb.stem] = {"status": "done", "elapsed_s": elapsed}
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_atomic(run_dir / "run.json", json.dumps(info, indent=1))
    md, page = summarize(run_dir, info)
    info["summary"] = {"markdown": str(md), "html": str(page)}
    return info
