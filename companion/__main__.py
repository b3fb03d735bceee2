"""Command line: ``python -m companion reproduce | models | datasets``."""

import argparse
import sys

from . import config


def _reproduce(args) -> int:
    from .reproduce import ParameterError, parse_value, run

    params = {}
    for item in args.param:
        if "=" not in item:
            print(f"error: --param takes key=value, got {item!r}", file=sys.stderr)
            return 2
        key, value = item.split("=", 1)
        params[key] = parse_value(value)
    only = [k for part in args.only for k in part.split(",") if k] if args.only else None
    try:
        info = run(args.profile, args.device, only, args.output, params, force=args.force)
    except (ParameterError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, state in info["notebooks"].items():
        print(f"{name:28s} {state['status']}" + (f"  ({state['elapsed_s']} s)" if state.get("elapsed_s") else ""))
    print(f"summary: {info['summary']['markdown']}\n         {info['summary']['html']}")
    return 0 if all(s["status"].startswith("done") for s in info["notebooks"].values()) else 1


def _models(args) -> int:
    from .models import MODELS

    for name, s in MODELS.items():
        print(f"{name:14s} {s.channels}ch {s.family:14s} official={s.official or '-':18s} "
              f"ours={s.ours or '-':10s} {s.paper}{'; ' + s.notes if s.notes else ''}")
    return 0


def _datasets(args) -> int:
    from .data import DATASETS, manifest, resolve

    for name, d in DATASETS.items():
        where = ""
        if args.resolve:
            try:
                r = resolve(name)
                where = f"  -> {r.source}: {r.folder}"
            except Exception as err:
                where = f"  -> not found ({type(err).__name__})"
        print(f"{name:10s} {len(manifest(name)):4d} files  {d.description}{where}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="companion", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run the notebooks headless and write the summary report")
    rep.add_argument("--profile", default="quick", choices=sorted(config.PROFILES))
    rep.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    rep.add_argument("--only", action="append", help="notebook numbers or names, e.g. 01,03")
    rep.add_argument("--output", help="run folder (default outputs/<profile>-<device>)")
    rep.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                     help="a notebook parameter (JSON values: -p sigma=15 -p 'models=[\"dncnn_b\"]')")
    rep.add_argument("--force", action="store_true", help="rerun notebooks that already finished")
    rep.set_defaults(func=_reproduce)
    sub.add_parser("models", help="list the model zoo").set_defaults(func=_models)
    ds = sub.add_parser("datasets", help="list the datasets")
    ds.add_argument("--resolve", action="store_true", help="also say where each one is found")
    ds.set_defaults(func=_datasets)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
