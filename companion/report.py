"""Results of a notebook (one JSON each) and the summary report of a run (Markdown and HTML).

A notebook builds a ``Results``, adds tables (our numbers beside the paper's) and claim
checks, saves figures through it, and ends with ``results.save()``, which writes
``<output_dir>/<notebook>.json`` atomically. ``summarize(run_dir)`` gathers every JSON of a run
into ``summary.md`` and ``summary.html``.

Besides what a notebook shows, its JSON records under ``inputs`` what its numbers rest on: per
dataset its ``data.fingerprint`` (source and content hash), per model the sha256 of the weights
it loaded and of the official file that 'best' would pick. ``stale_inputs`` recomputes them, so
that ``reproduce`` reruns a notebook whose data or weights changed since it ran.
"""

import datetime as _dt
import json
import math
import time
from pathlib import Path

import numpy as np

from . import __version__
from .claims import CLAIMS, STATUSES, claim, judge, run_check
from .io import atomic, write_atomic


def _plain(value):
    """JSON-safe values: NumPy scalars and arrays to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class Results:
    """What one notebook reports: parameters, tables, claim checks, figures, timing."""

    def __init__(self, notebook: str, output_dir: str | Path, parameters: dict):
        self.notebook = notebook
        self.output_dir = Path(output_dir)
        self.data = {"notebook": notebook, "companion": __version__, "parameters": _plain(parameters),
                     "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                     "data_sources": {}, "weights": {}, "inputs": {"data": {}, "weights": {}},
                     "tables": [], "claims": [], "figures": [], "notes": []}
        self._t0 = time.perf_counter()

    def source(self, dataset: str, source: str, root: str | None = None) -> None:
        """Record where a dataset came from ('user', 'cache', 'download' or 'fallback'; with
        ' (modified: <files>)' when files differ from the published ones, which claims.judge
        counts against a verdict) and its fingerprint (``data_input``; ``root``: the folder it
        was loaded from when not the default)."""
        found = data_input(dataset, root)
        if found is not None and found["modified"] and source != "fallback":
            source = f"{source} (modified: {', '.join(found['modified'])})"
        self.data["data_sources"][dataset] = source
        self.data["inputs"]["data"][dataset] = found

    def load_images(self, dataset: str, **kwargs):
        """``data.load(dataset, **kwargs)``, recording where the images came from and printing
        the warnings (images that are not the benchmark set, or files that differ from it) where
        people see them."""
        import warnings

        from . import data

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", data.FallbackWarning)
            warnings.simplefilter("always", data.ModifiedDataWarning)
            images = data.load(dataset, **kwargs)
        for w in caught:
            print("WARNING:", w.message)
        self.source(dataset, images.source, kwargs.get("root"))
        print(f"{dataset}: {len(images)} images ({self.data['data_sources'][dataset]}): {', '.join(images.names)}")
        return images

    def model(self, name: str, weights: str) -> None:
        """Record which weights a model used (``weights``: the description ``weights.resolve``
        gives, as in ``model.info['weights']``) and their sha256 (``weights_input``)."""
        self.data["weights"][name] = weights
        self.data["inputs"]["weights"][name] = weights_input(name, weights)

    def note(self, text: str) -> None:
        self.data["notes"].append(text)

    def table(self, table_id: str, title: str, rows: list, source: str = "") -> None:
        """Add a table: ``rows`` is a list of dicts (columns in first-row order), or a DataFrame."""
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict(orient="records")
        self.data["tables"].append({"id": table_id, "title": title, "source": source,
                                    "rows": _plain(list(rows))})

    def claim(self, claim_id: str, supported: bool | None, evidence: str, *, models: list | None = None,
              datasets: list | None = None) -> str:
        """Record a claim check: True agrees, False disagrees, None not run (``evidence`` says why).

        ``models`` and ``datasets`` name what the check rests on (recorded with ``model`` and
        ``load_images`` / ``source``; default: everything recorded so far). ``claims.judge`` turns
        the outcome into 'supported' / 'contradicted' only when that evidence is the papers' data
        and models, else into 'indicative' with the reason. Returns the status.
        """
        c = claim(claim_id)
        if c.notebook != self.notebook:
            raise ValueError(f"claim {claim_id!r} belongs to {c.notebook}, not {self.notebook}")
        weights = self._recorded("weights", models, "model")
        sources = self._recorded("data_sources", datasets, "dataset")
        verdict = judge(claim_id, supported, sources, weights, self.data["parameters"].get("profile", "quick"))
        self.data["claims"] = [x for x in self.data["claims"] if x["id"] != claim_id]
        self.data["claims"].append({"id": claim_id, **verdict, "evidence": evidence})
        return verdict["status"]

    def check(self, claim_id: str, *measured, models: list | None = None, datasets: list | None = None,
              **options) -> str:
        """Run the registered check of ``claim_id`` (``claims.check``) on what was ``measured`` and
        record its outcome with ``claim``; a notebook never holds a claim's threshold itself."""
        agrees, evidence = run_check(claim_id, *measured, **options)
        return self.claim(claim_id, agrees, evidence, models=models, datasets=datasets)

    def _recorded(self, key: str, names: list | None, what: str) -> dict:
        recorded = self.data[key]
        if names is None:
            return dict(recorded)
        unknown = [n for n in names if n not in recorded]
        if unknown:
            raise ValueError(f"{what}(s) {unknown} were not recorded in this notebook; recorded: {sorted(recorded)}")
        return {n: recorded[n] for n in names}

    def figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as ``<output_dir>/figures/<notebook>_<name>.png``."""
        path = self.output_dir / "figures" / f"{self.notebook}_{name}.png"
        with atomic(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
        rel = str(path.relative_to(self.output_dir))
        if rel not in self.data["figures"]:
            self.data["figures"].append(rel)
        return path

    def save(self) -> Path:
        """Write ``<output_dir>/<notebook>.json`` atomically and return its path."""
        self.data["elapsed_s"] = round(time.perf_counter() - self._t0, 2)
        return write_atomic(self.output_dir / f"{self.notebook}.json",
                            json.dumps(_plain(self.data), indent=1, allow_nan=False))


def data_input(dataset: str, root: str | Path | None = None) -> dict | None:
    """``data.fingerprint`` of ``dataset`` with the ``root`` it was loaded from (None: the
    default); None for a name outside the data registry, which cannot be checked."""
    from . import data

    if dataset not in data.DATASETS:
        return None
    return {"root": None if root is None else str(Path(root).expanduser().resolve()),
            **data.fingerprint(dataset, root)}


def _sha256(path: Path | None) -> str | None:
    from .io import sha256_cached

    return sha256_cached([path])[path] if path is not None and path.is_file() else None


def _official_file(name: str) -> Path | None:
    """The official file registry model ``name`` would load now, found without downloading."""
    import warnings

    from . import models, weights

    entry = models.MODELS.get(name)
    if entry is None or not entry.official:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unpinned file warns where it is loaded, not here
        try:
            return weights.locate(entry.official, download=False)
        except weights.WeightsError:
            return None


def weights_input(name: str, description: str, file: str | None = None) -> dict:
    """What model ``name`` rests on: ``{'file', 'sha256', 'official_sha256'}``: the weights file
    that ``description`` ('official: ...', 'ours: companion/checkpoints/<x>.pt', 'file: <path>';
    ``weights.resolve``) means and its sha256, and the sha256 of the official file 'best' would
    pick now (None when absent), which changes when a weights folder is set or unset. ``file``:
    the path recorded for a 'file: ...' description (relative paths were the kernel's)."""
    from . import config

    kind, _, where = str(description).partition(": ")
    official = _official_file(name)
    path = official if kind == "official" else config.project_root() / where if kind == "ours" else \
        Path(file or where).expanduser().resolve() if kind == "file" and where else None
    return {"file": str(path) if path is not None else None, "sha256": _sha256(path),
            "official_sha256": _sha256(official)}


def stale_inputs(results: dict) -> list:
    """What changed since the notebook of ``results`` (its JSON as a dict) ran: one phrase per
    dataset that now resolves to another source or other files, and per model whose weights (or
    the official file 'best' would pick) changed; empty when nothing did."""
    inputs = results.get("inputs")
    if not isinstance(inputs, dict):
        return ["its results record no inputs (written by an older version)"]
    changed = []
    for name, was in (inputs.get("data") or {}).items():
        if was is None:  # outside the data registry: nothing to compare
            continue
        if not isinstance(was, dict):
            changed.append(f"dataset {name}: unreadable record")
            continue
        now = data_input(name, was.get("root"))
        if now is None or was.get("source") != now["source"]:
            changed.append(f"dataset {name} now resolves to {(now or {}).get('source')} (was {was.get('source')})")
        elif was.get("sha256") != now["sha256"]:
            changed.append(f"files of dataset {name} changed in {now['source']}")
    for name, was in (inputs.get("weights") or {}).items():
        if not isinstance(was, dict):
            changed.append(f"weights of {name}: unreadable record")
            continue
        now = weights_input(name, results.get("weights", {}).get(name, ""), was.get("file"))
        if was.get("sha256") != now["sha256"]:
            changed.append(f"weights of {name} changed or are gone ({was.get('file')})")
        elif was.get("official_sha256") != now["official_sha256"]:
            changed.append(f"official weights of {name} are now {'found' if now['official_sha256'] else 'absent'}")
    return changed


def _cell(value) -> str:
    """A Markdown table cell: numbers rounded, ``|`` escaped and line breaks flattened."""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"
    return "" if value is None else " ".join(str(value).split()).replace("|", "\\|")


def markdown_table(rows: list) -> str:
    if not rows:
        return "_(empty)_\n"
    columns = list(rows[0])
    for row in rows[1:]:
        columns += [k for k in row if k not in columns]
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def load_results(run_dir: str | Path) -> dict:
    """``{notebook: results dict}`` for every notebook JSON in ``run_dir``."""
    out = {}
    for path in sorted(Path(run_dir).glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and data.get("notebook") == path.stem:
            out[path.stem] = data
    return out


def _claim_status(recorded: dict) -> str:
    if recorded["status"] == "indicative":
        return f"indicative (leans {recorded['leaning']})"
    return recorded["status"]


def claim_rows(results: dict) -> list:
    """One row per registered claim, as the notebooks in ``results`` recorded it ('not run' where
    none did): claim, source, notebook, status, basis (why it is or is not a verdict), evidence."""
    recorded = {c["id"]: c for r in results.values() for c in r.get("claims", [])}
    rows = []
    for cid, c in CLAIMS.items():
        got = recorded.get(cid, {"status": "not run", "leaning": None, "evidence": "",
                                 "basis": f"{c.notebook} did not run or failed"})
        rows.append({"claim": c.text, "source": c.source, "notebook": c.notebook, "status": _claim_status(got),
                     "basis": got.get("basis", ""), "evidence": got["evidence"]})
    return rows


def claim_counts(rows: list) -> str:
    """'2 supported, 1 contradicted, 5 indicative (4 leaning supported, 1 leaning contradicted),
    3 not run': verdicts and indicative checks counted apart."""
    count = {s: sum(r["status"].split(" (")[0] == s for r in rows) for s in STATUSES}
    leans = {s: sum(r["status"] == f"indicative (leans {s})" for r in rows) for s in ("supported", "contradicted")}
    return (f"{count['supported']} supported, {count['contradicted']} contradicted, {count['indicative']} indicative "
            f"({leans['supported']} leaning supported, {leans['contradicted']} leaning contradicted), "
            f"{count['not run']} not run")


def _data_label(sources: dict) -> str:
    return ", ".join(f"{name}: {'embedded fallback' if src == 'fallback' else src}" for name, src in sources.items())


def summary_markdown(run_dir: str | Path, run_info: dict | None = None) -> str:
    """The run's summary: notebooks (status, time, data actually used), the paper claims with
    their status and its basis, every table and note, the figures. A notebook that failed in
    this run contributes nothing but its failure."""
    run_info = run_info or {}
    status = run_info.get("notebooks", {})
    results = {nb: r for nb, r in load_results(run_dir).items()
               if not status.get(nb, {}).get("status", "done").startswith("failed")}
    lines = ["# companion: reproduction summary", ""]
    for key in ("profile", "device", "started", "finished"):
        if key in run_info:
            lines.append(f"- **{key}**: {run_info[key]}")
    lines.append("")
    lines += ["## Notebooks", "", markdown_table([
        {"notebook": nb, "status": status.get(nb, {}).get("status", "done" if nb in results else "not run"),
         "elapsed (s)": (results.get(nb) or {}).get("elapsed_s"),
         "data": _data_label((results.get(nb) or {}).get("data_sources", {}))}
        for nb in sorted(set(results) | set(status))])]
    if any(v == "fallback" for r in results.values() for v in r.get("data_sources", {}).values()):
        lines += ["> Some datasets came from the embedded fallback (images shipped with scikit-image, a small digit "
                  "set, synthetic kernels): claims checked on them are *indicative*, not verdicts. Set "
                  "COMPANION_DATA_DIR to the benchmark sets.", ""]
    rows = claim_rows(results)
    lines += ["## Paper claims", "",
              "_supported / contradicted_: judged on the papers' data with the papers' models or official weights. "
              "_indicative_: the check ran on fallback images or on our CPU-trained stand-ins; it shows a direction, "
              "not a verdict (the basis column says why).", "", markdown_table(rows), claim_counts(rows), ""]
    lines += ["## Tables", ""]
    for nb, r in results.items():
        for t in r.get("tables", []):
            lines += [f"### {nb}: {t['title']}", ""]
            if t.get("source"):
                lines += [f"_Paper reference: {t['source']}_", ""]
            lines.append(markdown_table(t["rows"]))
    notes = {}
    for nb, r in results.items():
        for note in r.get("notes", []):
            notes.setdefault(" ".join(note.split()), []).append(nb)
    if notes:
        lines += ["## Notes", ""] + [f"- {', '.join(nbs)}: {note}" for note, nbs in notes.items()] + [""]
    figures = [(nb, f) for nb, r in results.items() for f in r.get("figures", [])]
    if figures:
        lines += ["## Figures", ""] + [f"![{nb}]({f})" for nb, f in figures] + [""]
    return "\n".join(lines)


def summarize(run_dir: str | Path, run_info: dict | None = None) -> tuple:
    """Write ``summary.md`` and ``summary.html`` into ``run_dir``; return their paths."""
    import markdown

    text = summary_markdown(run_dir, run_info)
    body = markdown.markdown(text, extensions=["tables"])
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>companion summary</title>"
            "<style>body{font-family:sans-serif;max-width:72em;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
            "img{max-width:100%}</style></head><body>" + body + "</body></html>")
    run_dir = Path(run_dir)
    return (write_atomic(run_dir / "summary.md", text), write_atomic(run_dir / "summary.html", page))

