"""Results of a notebook (one JSON each) and the summary report of a run (Markdown and HTML).

A notebook builds a ``Results``, adds tables (our numbers beside the paper's) and claim
checks, saves figures through it, and ends with ``results.save()``, which writes
``<output_dir>/<notebook>.json`` atomically. ``summarize(run_dir)`` gathers every JSON of a run
into ``summary.md`` and ``summary.html``.
"""

import datetime as _dt
import json
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__
from .claims import CLAIMS, STATUSES, claim


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
                     "data_sources": {}, "weights": {}, "tables": [], "claims": [], "figures": [],
                     "notes": []}
        self._t0 = time.perf_counter()

    def source(self, dataset: str, source: str) -> None:
        """Record where a dataset came from ('user', 'cache', 'download' or 'fallback')."""
        self.data["data_sources"][dataset] = source

    def load_images(self, dataset: str, **kwargs):
        """``data.load(dataset, **kwargs)``, recording where the images came from and printing
        the fallback warning (images that are not the benchmark set) where people see it."""
        import warnings

        from . import data

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", data.FallbackWarning)
            images = data.load(dataset, **kwargs)
        for w in caught:
            print("WARNING:", w.message)
        self.source(dataset, images.source)
        print(f"{dataset}: {len(images)} images ({images.source}): {', '.join(images.names)}")
        return images

    def model(self, name: str, weights: str) -> None:
        """Record which weights a model used."""
        self.data["weights"][name] = weights

    def note(self, text: str) -> None:
        self.data["notes"].append(text)

    def table(self, table_id: str, title: str, rows: list, source: str = "") -> None:
        """Add a table: ``rows`` is a list of dicts (columns in first-row order), or a DataFrame."""
        if hasattr(rows, "to_dict"):
            rows = rows.to_dict(orient="records")
        self.data["tables"].append({"id": table_id, "title": title, "source": source,
                                    "rows": _plain(list(rows))})

    def claim(self, claim_id: str, supported: bool | None, evidence: str) -> str:
        """Record a claim check: True supported, False contradicted, None not run (say why)."""
        c = claim(claim_id)
        if c.notebook != self.notebook:
            raise ValueError(f"claim {claim_id!r} belongs to {c.notebook}, not {self.notebook}")
        status = {True: "supported", False: "contradicted", None: "not run"}[supported]
        self.data["claims"] = [x for x in self.data["claims"] if x["id"] != claim_id]
        self.data["claims"].append({"id": claim_id, "status": status, "evidence": evidence})
        return status

    def figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure as ``<output_dir>/figures/<notebook>_<name>.png``."""
        path = self.output_dir / "figures" / f"{self.notebook}_{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
        rel = str(path.relative_to(self.output_dir))
        if rel not in self.data["figures"]:
            self.data["figures"].append(rel)
        return path

    def save(self) -> Path:
        """Write ``<output_dir>/<notebook>.json`` atomically and return its path."""
        self.data["elapsed_s"] = round(time.perf_counter() - self._t0, 2)
        return write_atomic(self.output_dir / f"{self.notebook}.json",
                            json.dumps(_plain(self.data), indent=1, allow_nan=False))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"
    return "" if value is None else str(value)


def markdown_table(rows: list) -> str:
    if not rows:
        return "_(empty)_\n"
    columns = list(rows[0])
    for row in rows[1:]:
        columns += [k for k in row if k not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
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


def summary_markdown(run_dir: str | Path, run_info: dict | None = None) -> str:
    results = load_results(run_dir)
    run_info = run_info or {}
    lines = ["# companion: reproduction summary", ""]
    for key in ("profile", "device", "started", "finished"):
        if key in run_info:
            lines.append(f"- **{key}**: {run_info[key]}")
    lines.append("")
    status = run_info.get("notebooks", {})
    lines += ["## Notebooks", "", markdown_table([
        {"notebook": nb, "status": status.get(nb, {}).get("status", "done" if nb in results else "not run"),
         "elapsed (s)": (results.get(nb) or {}).get("elapsed_s"),
         "data": ", ".join(f"{k}: {v}" for k, v in (results.get(nb) or {}).get("data_sources", {}).items())}
        for nb in sorted(set(results) | set(status))])]
    if any(v == "fallback" for r in results.values() for v in r.get("data_sources", {}).values()):
        lines += ["> Some datasets came from the embedded scikit-image fallback: those numbers are "
                  "not comparable with the papers'. Set COMPANION_DATA_DIR to the benchmark sets.", ""]
    recorded = {c["id"]: c for r in results.values() for c in r.get("claims", [])}
    lines += ["## Paper claims", ""]
    rows = []
    for cid, c in CLAIMS.items():
        got = recorded.get(cid, {"status": "not run", "evidence": ""})
        rows.append({"claim": c.text, "source": c.source, "notebook": c.notebook,
                     "status": got["status"], "evidence": got["evidence"]})
    lines.append(markdown_table(rows))
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    lines += [", ".join(f"{n} {s}" for s, n in counts.items()), ""]
    lines += ["## Tables", ""]
    for nb, r in results.items():
        for t in r.get("tables", []):
            lines += [f"### {nb}: {t['title']}", ""]
            if t.get("source"):
                lines += [f"_Paper reference: {t['source']}_", ""]
            lines.append(markdown_table(t["rows"]))
        for note in r.get("notes", []):
            lines += [f"> {nb}: {note}", ""]
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

