"""Command line: ``python -m companion reproduce | train | audit | leaderboard | models | datasets``.

A refusal is one line on stderr and exit code 2, as argparse does for a bad flag: argparse checks
each flag's value (``_checked``), and ``main`` turns the errors the package raises for bad input
(``_user_error``: a ``ValueError``, an ``OSError``, a ``weights.WeightsError``) into
``error: <what, and what to do>``. Any other exception is a bug and keeps its traceback.

``train`` never writes into the package: the checkpoint goes to ``--out`` (default
``outputs/checkpoints``), and the shipped ``companion/checkpoints`` is replaced only with
``--replace-shipped``.
"""

import argparse
import shlex
import sys

from . import __version__, config
from .checks import count, flat, noise_level, real

DESCRIPTION = ("Reproduce the papers' notebooks headless, train the zoo's models, audit a model's robustness, "
               "list models and datasets.")


def _user_error(err: Exception) -> bool:
    """Whether ``err`` is the package refusing bad input (shown as one line), not a bug."""
    from .weights import WeightsError

    return isinstance(err, (ValueError, OSError, WeightsError))


def _checked(check, name: str, **limits):
    """An argparse ``type``: the flag's text as a number, checked by ``check`` (``checks.count``,
    ``checks.real`` or ``checks.noise_level``) with ``name`` and ``limits``; argparse prints the
    refusal as ``argument --flag: <reason>`` with exit code 2."""
    def parse(text: str):
        try:
            number = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"need a number, got {text!r}") from None
        try:
            return check(int(number) if number.is_integer() else number, name, **limits)
        except (TypeError, ValueError) as err:
            raise argparse.ArgumentTypeError(flat(str(err))) from None
    return parse


def _speed(text: str) -> str:
    """An argparse ``type``: ``--speed``'s text, checked (``evaluation.Speed.parse``)."""
    from .evaluation import Speed

    try:
        return str(Speed.parse(text))
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(flat(str(err))) from None


def _model_names(params: dict) -> None:
    """Refuse, before any notebook runs, a name in a ``-p`` list of models (a parameter ``models``
    or ``*_models``) that the zoo does not have; the registry suggests the closest names."""
    lists = {k: v for k, v in params.items() if (k == "models" or k.endswith("_models")) and isinstance(v, list)}
    if not lists:
        return
    from .models import spec

    for key, names in lists.items():
        for name in names:
            try:
                spec(name)
            except ValueError as err:
                raise ValueError(f"-p {key}: {err}") from None


def _key_value(words: list) -> tuple:
    """One ``-p``: ``KEY=VALUE`` or papermill's ``KEY VALUE``, as ``(key, value text)``."""
    if len(words) == 1 and "=" in words[0]:
        return tuple(words[0].split("=", 1))
    if len(words) == 2 and "=" not in words[0]:
        return words[0], words[1]
    raise ValueError(f"-p takes KEY=VALUE or KEY VALUE, one parameter per -p; got {' '.join(words)!r}")


def _reproduce(args, argv) -> int:
    from . import io
    from .reproduce import parse_value, run

    params = {}
    for words in args.param:
        key, value = _key_value(words)
        params[key] = parse_value(value)
    _model_names(params)
    if args.output:
        io.writable(args.output, "--output")
    only = [k for part in args.only for k in part.split(",") if k] if args.only else None
    info = run(args.profile, args.device, only, args.output, params, force=args.force, threads=args.threads,
               speed=args.speed, jobs=args.jobs)
    for name, state in info["notebooks"].items():
        print(f"{name:28s} {state['status']}" + (f"  ({state['elapsed_s']} s)" if state.get("elapsed_s") else ""))
    print(f"summary: {info['summary']['markdown']}\n         {info['summary']['html']}")
    return 0 if all(s["status"].startswith("done") for s in info["notebooks"].values()) else 1


def _train(args, argv) -> int:
    """Train a zoo model with its recipe for ``--profile`` (flags override it) into a checkpoint
    and its model card (``train.card.train_model``)."""
    from .train.card import summary, train_model

    overrides = {"steps": args.steps, "batch_size": args.batch_size, "patch_size": args.patch_size, "lr": args.lr,
                 "sigma": tuple(args.sigma_range) if args.sigma_range else args.sigma, "seed": args.seed,
                 "weight_init": args.weight_init, "checkpoint_every": args.save_every}
    path, card = train_model(args.model, args.profile, overrides, args.eval_sigma, args.dataset, args.device,
                             args.name, args.out, args.state, "python -m companion " + shlex.join(argv),
                             replace_shipped=args.replace_shipped)
    print(summary(path, card))
    return 0


def _sigmas(text: str) -> list:
    """An argparse ``type``: ``--sigma``'s comma-separated noise levels (0-255, finite, > 0)."""
    try:
        return [noise_level(float(t), "sigma", positive=True) for t in text.split(",") if t.strip()]
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(flat(str(err))) from None


def _audit(args, argv) -> int:
    """Audit one model into a robustness card (``companion.audit``)."""
    from . import io
    from .audit.pipeline import audit

    output = io.writable(args.output or f"outputs/audit/{args.target.replace(':', '_').replace('/', '_')}", "--output")
    card = audit(args.target, weights=args.weights, sigma=args.sigma, dataset=args.dataset, channels=args.channels,
                 budget=args.budget, scheduler=args.scheduler, workers=args.workers, device=args.device,
                 threads=args.threads, output=output, command="python -m companion " + shlex.join(argv))
    s = card.summary
    print(f"{card.target['name']}: clean {s['clean_psnr']:.2f} dB, robust (linf) {s.get('robust_psnr_linf', float('nan')):.2f} "
          f"dB, robust (l2) {s.get('robust_psnr_l2', float('nan')):.2f} dB at eps {s['budget']:g}, sigma {s['sigma']:g}; "
          f"masking flags: {s['flags']}\ncard: {output / 'card.html'}")
    return 0


def _leaderboard(args, argv) -> int:
    """Audit the zoo under one protocol and write the ranked table."""
    from . import io
    from .audit.leaderboard import leaderboard

    output = io.writable(args.output or "outputs/leaderboard", "--output")
    table = leaderboard(args.models, budget=args.budget, output=output, workers=args.workers, device=args.device,
                        threads=args.threads)
    print(table.to_string(index=False))
    print(f"leaderboard: {output / 'leaderboard.md'}")
    return 0


def _models(args, argv) -> int:
    from .models import MODELS

    for name, s in MODELS.items():
        print(f"{name:18s} {s.channels}ch {s.family:14s} {s.variant:8s} official={s.official or '-':18s} "
              f"ours={s.ours or '-':17s} {s.paper}{'; ' + s.notes if s.notes else ''}")
    return 0


def _datasets(args, argv) -> int:
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


def parser() -> argparse.ArgumentParser:
    """The command line's parser, every flag's value checked (``_checked``)."""
    top = argparse.ArgumentParser(prog="companion", description=DESCRIPTION)
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run the notebooks headless and write the summary report")
    rep.add_argument("--profile", default="quick", choices=sorted(config.PROFILES))
    rep.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    rep.add_argument("--only", action="append", help="notebook numbers or names, e.g. 01,03")
    rep.add_argument("--output", help="run folder (default outputs/<profile>-<device>)")
    rep.add_argument("--param", "-p", action="append", nargs="+", default=[], metavar="PARAM",
                     help="a notebook parameter: -p KEY=VALUE, or papermill's -p KEY VALUE (JSON values: "
                          "-p sigma=15 -p models '[\"dncnn_b\"]')")
    rep.add_argument("--force", action="store_true", help="rerun notebooks that already finished")
    rep.add_argument("--threads", type=_checked(count, "of threads", least=1),
                     help="torch threads per notebook kernel (default: OMP_NUM_THREADS, else this machine's cores, "
                          "shared among the --jobs); on a shared machine 1 per process can be faster on small inputs")
    rep.add_argument("--jobs", "-j", type=_checked(count, "of jobs", least=1),
                     help="notebooks run at once, each in its own kernel (default: 2 with 2 cores or more, else 1)")
    rep.add_argument("--speed", type=_speed, metavar="OPTIONS",
                     help="how the models run, comma-separated: chunk=N, channels_last, compile, bf16, tf32, "
                          "cudnn_benchmark (default: COMPANION_SPEED, else float32 with every option off; all but "
                          "chunk change the numbers slightly: docs/performance.md)")
    rep.set_defaults(func=_reproduce)
    tr = sub.add_parser(
        "train", help="train a registered model (from scratch, or from its init model) into a checkpoint + model card",
        description="Train a registered model with its recipe into NAME.pt and its model card NAME.json in --out "
                    "(default outputs/checkpoints; the shipped companion/checkpoints only with --replace-shipped). "
                    "Use what you trained with models.create(MODEL, weights='DIR/NAME.pt'), or in notebook 04 with "
                    "-p checkpoint_dir='\"DIR\"'. Rerunning the same command resumes from --state.")
    tr.add_argument("model")
    tr.add_argument("--profile", default="quick", choices=sorted(config.PROFILES),
                    help="the model's training recipe: quick (CPU, minutes) or paper (its paper's, for a GPU)")
    tr.add_argument("--steps", type=_checked(count, "of steps", least=1),
                    help="override the recipe's number of steps (>= 1)")
    tr.add_argument("--batch-size", type=_checked(count, "batch size", least=1))
    tr.add_argument("--patch-size", type=_checked(count, "patch size", least=1))
    tr.add_argument("--lr", type=_checked(real, "learning rate", above=0))
    tr.add_argument("--sigma", type=_checked(noise_level, "sigma"), help="training noise level (0-255)")
    tr.add_argument("--sigma-range", type=_checked(noise_level, "sigma"), nargs=2, metavar=("LOW", "HIGH"),
                    help="draw the level per patch from [LOW, HIGH] (blind / noise-map models)")
    tr.add_argument("--seed", type=_checked(count, "seed", least=0))
    tr.add_argument("--weight-init", choices=("default", "identity"),
                    help="start from PyTorch's default initialization or from the identity (residual conv stacks)")
    tr.add_argument("--eval-sigma", type=_checked(noise_level, "sigma"), default=25.0,
                    help="Gaussian level of the model card's test")
    tr.add_argument("--dataset", help="training set (default: train400 gray, cbsd432 color)")
    tr.add_argument("--device", default="cpu")
    tr.add_argument("--name", help="checkpoint name, a plain file name (default: the model name)")
    tr.add_argument("--out", help="folder for the checkpoint and its model card (default: outputs/checkpoints under "
                                  "the project root); a folder inside the package is refused")
    tr.add_argument("--replace-shipped", action="store_true",
                    help="write into the package's companion/checkpoints instead, replacing the shipped checkpoint "
                         "that models.create(MODEL) loads")
    tr.add_argument("--state", help="resumable training state (default: outputs/train/<name>.state.pt)")
    tr.add_argument("--save-every", type=_checked(count, "of steps between saves", least=1),
                    help="save the training state every N steps (default 100; always at the end)")
    tr.set_defaults(func=_train)
    au = sub.add_parser("audit", help="audit a model's robustness into a card (HTML + JSON + PNG)",
                        description="Audit a zoo model (by name) or your own (pkg.module:factory returning an "
                                    "nn.Module) with an attack ensemble and gradient-masking checks (docs/audit.md).")
    au.add_argument("target", help="a zoo name (python -m companion models) or pkg.module:factory")
    au.add_argument("--weights", help="a state_dict file for the factory's model (read with weights_only=True)")
    au.add_argument("--sigma", type=_sigmas, help="noise levels, comma-separated (default: the budget's)")
    au.add_argument("--dataset", help="test images (default: the budget's, set12)")
    au.add_argument("--channels", type=int, choices=(1, 3), help="channels of a factory's model (default 1)")
    au.add_argument("--budget", default="quick", choices=("quick", "standard"))
    au.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786) to run the grid on")
    au.add_argument("--workers", type=_checked(count, "of workers", least=0),
                    help="local worker processes (0: in this process; default: the cores, at most 4)")
    au.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    au.add_argument("--threads", type=_checked(count, "of threads", least=1),
                    help="torch threads per task (default: the cores shared among the local workers)")
    au.add_argument("--output", help="folder of the card (default outputs/audit/<target>)")
    au.set_defaults(func=_audit)
    lb = sub.add_parser("leaderboard", help="audit the zoo under one protocol and rank it")
    lb.add_argument("--models", default="all", help="all, or model names a,b")
    lb.add_argument("--budget", default="quick", choices=("quick", "standard"))
    lb.add_argument("--workers", type=_checked(count, "of workers", least=0))
    lb.add_argument("--device", default="cpu")
    lb.add_argument("--threads", type=_checked(count, "of threads", least=1), help="torch threads per task")
    lb.add_argument("--output", help="folder of the table (default outputs/leaderboard)")
    lb.set_defaults(func=_leaderboard)
    sub.add_parser("models", help="list the model zoo").set_defaults(func=_models)
    ds = sub.add_parser("datasets", help="list the datasets")
    ds.add_argument("--resolve", action="store_true", help="also say where each one is found")
    ds.set_defaults(func=_datasets)
    return top


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code: 0 done,
    1 a notebook failed, 2 a refusal (one line on stderr)."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parser().parse_args(argv)
    try:
        return args.func(args, argv)
    except Exception as err:
        if not _user_error(err):
            raise
        print(f"error: {flat(str(err)) or type(err).__name__}", file=sys.stderr)
        return 2
