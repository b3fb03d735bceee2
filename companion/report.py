"""Results of a notebook (one JSON each) and the summary report of a run (Markdown and HTML).

A notebook builds a ``Results``, adds tables (our numbers beside the paper's) and claim
checks, saves figures through it, and ends with ``results.save()``, which writes
``<output_dir>/<notebook>.json`` atomically. ``summarize(run_dir)`` gathers every JSON of a run
into ``summary.md`` and ``summary.html``.
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

