"""The package's layers (docs/architecture.md): imports flow one way, from the notebooks down to
the base, never up and never in a circle. Every import is read from the source (including the
ones inside functions), so a lazy import cannot hide an upward dependency."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "companion"

# floor of each top-level module or subpackage; a module may import from its own floor or below
FLOORS = {
    0: {"_compat", "_import_hooks", "checks", "config", "io", "batching", "claims"},
    1: {"data", "noise", "metrics", "physics", "weights", "weights_paddle", "evaluation"},
    2: {"models"},
    3: {"attacks"},
    4: {"robustness", "similitude", "adversarial_sets"},
    5: {"train", "experiments"},
    6: {"report", "plots", "widgets", "reproduce", "__main__", "cli", "audit"},
}
FLOOR = {name: floor for floor, names in FLOORS.items() for name in names}


def _modules() -> dict:
    """``{'companion.models.dncnn': path, ...}`` for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path) -> set:
    """The companion modules that module ``name`` imports, resolved to full names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "companion"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "companion":
                continue
            modules = _modules()
            subs = {f"{target}.{a.name}" for a in node.names} & set(modules)
            found |= subs or {target}
    return found - {name}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


GRAPH = {name: _imports(name, path) for name, path in _modules().items()}


def test_every_module_has_a_floor():
    missing = sorted({_top(m) for m in GRAPH if _top(m) and _top(m) not in FLOOR})
    assert not missing, f"modules without a floor in this test and docs/architecture.md: {missing}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _top(m) in FLOOR))
def test_no_upward_import(module):
    upward = sorted(t for t in GRAPH[module] if _top(t) in FLOOR and FLOOR[_top(t)] > FLOOR[_top(module)])
    assert not upward, f"{module} (floor {FLOOR[_top(module)]}) imports from a higher floor: {upward}"


def test_no_import_circle():
    """Depth-first search over module imports; a back edge is a circle."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if target not in GRAPH or target.rpartition(".")[0] == module or module == "companion":
                continue  # a package importing its own submodules is how it registers them
            if state.get(target) == "open":
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(target):] + [target]))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_the_layer_check_sees_an_upward_import(tmp_path):
    """The checker itself: a base module importing the report is caught."""
    bad = tmp_path / "companion" / "checks.py"
    bad.parent.mkdir()
    bad.write_text("from .report import Results\n")
    assert _imports("companion.checks", bad) == {"companion.report"}
