"""Issue 32, item 3: how long ``import companion.models`` takes in a fresh process, and what it imports.

    python benchmarks/import_time.py [--runs 5] [--module companion.models] [--tree PATH ...]

Each run starts a fresh interpreter and times the import inside it (interpreter start-up apart);
with ``--tree`` the package of each named checkout (a folder holding ``companion/``, e.g. one
made by ``git archive``) is timed too, the trees interleaved run by run (``timing.measure``).
Printed: the median (min-max) per tree, then for this checkout the packages that take the most
of it by ``python -X importtime`` (self time summed per top-level package).
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from timing import Spread, measure

HERE = Path(__file__).resolve().parent.parent


def timed_import(module: str, tree: Path) -> float:
    code = (f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t); "
            f"import companion; assert companion.__file__.startswith({str(tree)!r}), companion.__file__")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=tree)
    return float(out.stdout.split()[-1])


def by_package(module: str) -> list:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                         text=True, check=True, cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE)})
    totals = {}
    for line in out.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if found:
            top = found[2].split(".")[0]
            totals[top] = totals.get(top, 0) + int(found[1]) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--module", default="companion.models")
    parser.add_argument("--tree", nargs="*", default=[], help="other checkouts to time alongside this one")
    args = parser.parse_args()
    trees = {"this checkout": HERE, **{str(t): Path(t).resolve() for t in args.tree}}
    seconds = {name: [] for name in trees}
    measure({name: (lambda n=name, t=tree: seconds[n].append(timed_import(args.module, t))) for name, tree in trees.items()},
            args.runs, warmup=1)
    print(f"| tree | import {args.module}, s: median (min-max) of {args.runs} fresh processes |\n|---|---|")
    for name, values in seconds.items():
        print(f"| {name} | {Spread(values[-args.runs:])} |")
    packages = by_package(args.module)
    print("\n| package (this checkout, one run of -X importtime) | self time, s |\n|---|---|")
    for name, total in packages[:8]:
        print(f"| {name} | {total:.3f} |")
    print(f"| all | {sum(t for _, t in packages):.3f} |")


if __name__ == "__main__":
    main()
