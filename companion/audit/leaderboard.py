"""The zoo's leaderboard: every model audited under one protocol, ranked by robust PSNR.

``leaderboard(models, budget, output)`` audits each model (``pipeline.audit``) and writes
``leaderboard.md``, ``leaderboard.html`` and ``leaderboard.json``: one row per model with the
weights it used (official or ours), its clean PSNR, its robust PSNR under the L-infinity and L2
ensembles at the paper's budget and the main noise level, its DMR and its masking flags, ranked
by the L-infinity robust PSNR (higher first). A model that cannot be audited (no weights here)
is listed at the end with the reason. The JSON is also kept in the cache
(``<cache>/audit/leaderboard-<protocol>.json``) so that a card audited later under the same
protocol shows its place (``ranking.place``).
"""

import html
import json
from pathlib import Path

import pandas as pd

from .. import config
from ..checks import one_line
from ..io import write_atomic
from .ranking import COLUMNS, ranked, row, stored

def markdown(rows: list, protocol: str) -> str:
    cells = lambda r: [("" if r.get(c) is None else f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r[c]))
                       for c in COLUMNS]
    lines = [f"# Robustness leaderboard ({protocol} protocol)", "",
             "Ranked by robust PSNR under the L-infinity ensemble at the paper's budget (dB; higher is more "
             "robust). DMR: Ning et al. eq. 5. flags: masking checks that fired (docs/audit.md).", "",
             "| " + " | ".join(COLUMNS + ("note",)) + " |", "|" + "---|" * (len(COLUMNS) + 1)]
    lines += ["| " + " | ".join(cells(r) + [r.get("note", "")]) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def leaderboard(models="all", budget="quick", output=None, cache_dir=None, **audit_kwargs) -> pd.DataFrame:
    """Audit ``models`` ('all': the zoo's gray and color denoisers, else a list or 'a,b') under
    ``budget`` and write the ranked table into ``output`` (Markdown, HTML, JSON); returns it."""
    from ..models import MODELS, list_models
    from .pipeline import audit
    from .protocol import protocol

    p = protocol(budget)
    if models == "all":
        names = [n for n in list_models(collection="zoo") if MODELS[n].family != "classical"]
    else:
        names = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
        for name in names:
            from ..models import spec
            spec(name)
    cache = None if cache_dir is False else Path(cache_dir or config.cache_dir())
    rows = []
    for name in names:
        try:
            card = audit(name, budget=p, cache_dir=cache if cache else False, radar=False, **audit_kwargs)
            rows.append(row(card))
        except (OSError, ValueError, RuntimeError) as err:  # no weights here, or a model the audit refuses
            rows.append({"model": name, "weights": "-", "note": one_line(err, 120)})
    rows = ranked(rows)
    text = json.dumps({"protocol": p.as_dict(), "rows": rows}, indent=1)
    if cache:
        write_atomic(stored(cache, p.name), text)
    if output is not None:
        out = Path(output)
        write_atomic(out / "leaderboard.json", text)
        write_atomic(out / "leaderboard.md", markdown(rows, p.name))
        table = pd.DataFrame(rows).to_html(index=False, float_format=lambda v: f"{v:.2f}", border=0)
        write_atomic(out / "leaderboard.html", f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>leaderboard"
                                               f"</title></head><body><h1>Robustness leaderboard "
                                               f"({html.escape(p.name)})</h1>{table}</body></html>")
    return pd.DataFrame(rows)
