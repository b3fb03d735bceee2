"""The leaderboard's rows and ranks, and a card's place among a stored leaderboard.

A row is a card's headline numbers (``row``); rows are ranked by the robust PSNR under the
L-infinity ensemble at the paper's budget, higher first (``ranked``). ``leaderboard`` stores its
table per protocol in the cache (``stored``), and an audit run later under that protocol puts its
own row in to show its place (``place``).
"""

import json
from pathlib import Path

COLUMNS = ("rank", "model", "weights", "clean_psnr", "robust_psnr_linf", "robust_psnr_l2", "dmr_linf", "dmr_l2",
           "flags")


def row(card) -> dict:
    """A card's leaderboard row (unranked)."""
    s = card.summary
    return {"model": card.target["name"], "weights": card.target["weights"],
            **{k: s.get(k) for k in COLUMNS[3:]}}


def ranked(rows: list) -> list:
    """``rows`` ranked by L-infinity robust PSNR (higher first); rows without one go last."""
    done = sorted((r for r in rows if r.get("robust_psnr_linf") is not None), key=lambda r: -r["robust_psnr_linf"])
    rest = [r for r in rows if r.get("robust_psnr_linf") is None]
    return [{"rank": i + 1, **r} for i, r in enumerate(done)] + [{"rank": None, **r} for r in rest]


def stored(cache, name: str) -> Path | None:
    """Where the leaderboard of protocol ``name`` is kept under ``cache`` (None: no cache)."""
    return Path(cache) / "audit" / f"leaderboard-{name}.json" if cache else None


def place(card, cache) -> dict | None:
    """The card's place in the stored leaderboard of its protocol (``leaderboard`` writes it), or
    None when there is none: ``{'rank', 'of', 'rows'}`` with the card's row put in."""
    path = stored(cache, card.protocol["name"])
    if path is None or not path.is_file():
        return None
    try:
        table = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    mine = row(card)
    others = [{k: v for k, v in r.items() if k != "rank"} for r in table.get("rows", []) if r["model"] != mine["model"]]
    rows = ranked(others + [mine])
    rank = next(r["rank"] for r in rows if r["model"] == mine["model"])
    return {"rank": rank, "of": sum(r["rank"] is not None for r in rows), "rows": rows}
