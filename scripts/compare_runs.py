"""Compare the notebook results of two reproduction runs, number by number.

    python scripts/compare_runs.py RUN_A RUN_B [--tol 1e-6] [--only 01,02]

Every ``<notebook>.json`` present in both folders is compared on what the notebook measured and
concluded (tables, claims, notes, figures, data sources, weights, parameters), numbers to within
``--tol`` (absolute), everything else exactly; times and dates are ignored. Prints each
difference with its path and exits 1 when there is one: the check that a refactoring left every
result where it was, or that a rerun on another machine reproduces a run.
"""

import argparse
import json
import math
import sys
from pathlib import Path

COMPARED = ("parameters", "data_sources", "weights", "tables", "claims", "figures", "notes")


def differences(a, b, tol: float, path: str = "") -> list:
    """The places where ``a`` and ``b`` differ, as 'path: a != b' lines."""
    if isinstance(a, bool) or isinstance(b, bool) or not all(isinstance(v, (int, float)) for v in (a, b)):
        if isinstance(a, dict) and isinstance(b, dict):
            out = [f"{path}/{k}: only in one run" for k in sorted(set(a) ^ set(b), key=str)]
            for k in a.keys() & b.keys():
                out += differences(a[k], b[k], tol, f"{path}/{k}")
            return out
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return [f"{path}: {len(a)} items != {len(b)} items"]
            return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, tol, f"{path}[{i}]")]
        return [] if a == b else [f"{path}: {a!r} != {b!r}"]
    if math.isclose(a, b, rel_tol=0.0, abs_tol=tol):
        return []
    return [f"{path}: {a!r} != {b!r} (differ by {abs(a - b):.3g})"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--tol", type=float, default=1e-6, help="absolute tolerance on numbers (default 1e-6)")
    parser.add_argument("--only", help="notebook numbers, e.g. 01,03")
    args = parser.parse_args(argv)
    only = tuple(args.only.split(",")) if args.only else None
    names = sorted(p.name for p in args.run_a.glob("[0-9][0-9]_*.json")
                   if not p.name.endswith(".state.json") and (args.run_b / p.name).is_file()
                   and (only is None or p.name[:2] in only))
    if not names:
        print(f"error: no notebook results in both {args.run_a} and {args.run_b}", file=sys.stderr)
        return 2
    found = 0
    for name in names:
        a, b = (json.loads((run / name).read_text()) for run in (args.run_a, args.run_b))
        diffs = [d for key in COMPARED for d in differences(a.get(key), b.get(key), args.tol, key)]
        found += len(diffs)
        print(f"{name}: {'identical' if not diffs else f'{len(diffs)} difference(s)'}")
        for d in diffs[:20]:
            print("   ", d)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
