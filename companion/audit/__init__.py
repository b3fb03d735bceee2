"""The robustness audit (issue 33): any restoration model in, a robustness card out.

``companion.audit(model, ...)`` runs it (``pipeline.audit``) and returns a ``Card``; the package
itself is that callable, so ``companion.audit`` works as a function before and after its modules
are imported. Modules: ``protocol`` (the budgets), ``target`` (what is audited), ``ensemble``
(the attacks and the gradient probe), ``grid`` (tasks, executors, cache), ``masking`` (Carlini et
al.'s checks), ``card`` (the card), ``leaderboard`` (the zoo ranked), ``pipeline`` (the steps).
docs/audit.md explains each check and number.
"""

import sys
import types

__all__ = ["audit", "leaderboard", "Card", "Protocol", "PROTOCOLS"]


def audit(model, **kwargs):
    """``pipeline.audit``: audit ``model`` and return its ``Card``."""
    from .pipeline import audit as run

    return run(model, **kwargs)


def leaderboard(models="all", **kwargs):
    """``leaderboard.leaderboard``: audit the zoo's models and rank them."""
    from .leaderboard import leaderboard as run

    return run(models, **kwargs)


def __getattr__(name):
    if name == "Card":
        from .card import Card
        return Card
    if name in ("Protocol", "PROTOCOLS"):
        from . import protocol
        return getattr(protocol, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Callable(types.ModuleType):
    """This package, callable as ``audit``."""

    def __call__(self, model, **kwargs):
        return audit(model, **kwargs)


sys.modules[__name__].__class__ = _Callable
