"""Run code around another package's first import, so that ``import companion`` stays light.

``when_imported(name, before=..., after=...)`` installs a one-shot ``sys.meta_path`` finder:
``before()`` runs just before module ``name`` is first imported (or at once if it already is),
``after()`` once its import has finished (or at once if it already has).
"""

import importlib.abc
import importlib.util
import sys


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, before, after):
        self.name, self.before, self.after, self.busy = name, before, after, False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name or self.busy:
            return None
        self.busy = True  # what runs here may look the module up again, through this finder too
        try:
            if self.before is not None:
                self.before()
            spec = importlib.util.find_spec(fullname) if self.after is not None else None
        finally:
            self.busy = False
        self.before = None
        if self.after is None:
            sys.meta_path.remove(self)
            return None
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            if self in sys.meta_path:  # once only
                sys.meta_path.remove(self)
                self.after()

        spec.loader.exec_module = exec_module
        return spec


def when_imported(name: str, before=None, after=None) -> None:
    """Call ``before()`` before module ``name`` is first imported and ``after()`` once it is."""
    if name in sys.modules:
        for call in (before, after):
            if call is not None:
                call()
        return
    sys.meta_path.insert(0, _Hook(name, before, after))
