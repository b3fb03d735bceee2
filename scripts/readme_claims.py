"""Write the README's "results at a glance" block from a reproduction run.

    python scripts/readme_claims.py outputs/quick-cpu [--readme README.md]

Replaces what lies between ``<!-- claims:start -->`` and ``<!-- claims:end -->`` with the
paper-claim table of the run (``report.claim_rows``: status and notebook per claim) and the
counts, so the README shows what the last full run gave, never a typed table.
"""

import argparse
import json
import re
import sys
from pathlib import Path

from companion import io, report

START, END = "<!-- claims:start -->", "<!-- claims:end -->"


def short(claim: str) -> str:
    """A claim's statement without its parentheses and its elaboration after a colon."""
    return re.sub(r"\s*\([^)]*\)", "", claim).split(": ")[0].rstrip(".") + "."


def block(run_dir: Path) -> str:
    """The Markdown between the markers: one line on the run, the table, the counts."""
    results = report.load_results(run_dir)
    if not results:
        raise SystemExit(f"error: {run_dir} holds no notebook results; run `make reproduce` first")
    state = run_dir / "run.json"
    run = json.loads(state.read_text()) if state.is_file() else {}
    profile = {r["parameters"].get("profile") for r in results.values()}
    sources = sorted({f"{k}: {v}" for r in results.values() for k, v in r.get("data_sources", {}).items()})
    rows = [{"notebook": r["notebook"].split("_")[0], "claim": short(r["claim"]), "status": r["status"]}
            for r in report.claim_rows(results)]
    head = (f"Run: profile {', '.join(sorted(p for p in profile if p))}, {len(results)} notebooks"
            + (f", finished {run['finished']}" if run.get("finished") else "")
            + f"; data {'; '.join(sources)}.")
    return "\n".join([head, "", report.markdown_table(rows), report.claim_counts(report.claim_rows(results)) + "."])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a reproduction run folder (outputs/<profile>-<device>)")
    parser.add_argument("--readme", type=Path, default=Path(__file__).resolve().parent.parent / "README.md")
    args = parser.parse_args(argv)
    text = args.readme.read_text()
    if text.count(START) != 1 or text.count(END) != 1:
        print(f"error: {args.readme} must hold {START} and {END} once each", file=sys.stderr)
        return 2
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{block(args.run_dir)}\n{END}",
                 text, flags=re.S)
    io.write_atomic(args.readme, new)
    print(f"wrote the claims of {args.run_dir} into {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
