"""The project as each ecosystem's users try it: Colab (the notebooks' setup cell, the badges),
Binder (what repo2docker reads), timm (registration, pretrained cfgs, refusals), pip (the
package's metadata and a wheel installed into a fresh environment) and papermill (typed
parameters, both ``-p`` forms)."""

import ast
import importlib
import importlib.metadata
import json
import re
import subprocess
import sys
import sysconfig
import tomllib
import types
import typing
import zipfile
from pathlib import Path

import pytest
import timm
import torch
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from timm.data import resolve_data_config

from companion import __version__, cli, io, models, weights
from companion.reproduce import parse_value

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REPOSITORY = PROJECT["urls"]["Repository"]
OWNER_REPO = REPOSITORY.removeprefix("https://github.com/")
WHERE = ("README.md, docs/notebooks/*.md and the notebooks' setup cell follow pyproject.toml's "
         "[project.urls] Repository: replace the old address there (e.g. with sed -i)")


def _cells(path: Path) -> list:
    return json.loads(path.read_text())["cells"]


def _source(cell) -> str:
    return "".join(cell["source"])


# --- Colab --------------------------------------------------------------------------------------

def _setup_cell(path: Path) -> str:
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert "parameters" in code[1].get("metadata", {}).get("tags", []), f"{path.name}: setup, then parameters"
    return _source(code[0])


def test_every_notebook_opens_with_the_same_colab_cell_naming_the_repository():
    cells = {path.name: _setup_cell(path) for path in NOTEBOOKS}
    assert len(set(cells.values())) == 1, "the setup cells differ"
    cell = cells[NOTEBOOKS[0].name]
    assert f'"companion @ git+{REPOSITORY}"' in cell, WHERE
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(cell))
                if isinstance(node, ast.Import) for alias in node.names}
    assert imported and imported <= set(sys.stdlib_module_names)  # runs before anything is installed


def _run_setup_cell(monkeypatch, on_colab: bool, installed: bool) -> list:
    """Execute the setup cell with Colab simulated or not and companion importable or not; return
    the commands it ran (none really run) and whether it refreshed the import caches."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setattr(importlib, "invalidate_caches", lambda: calls.append("invalidate_caches"))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: find_spec(name, *a) if installed or name != "companion" else None)
    exec(compile(_setup_cell(NOTEBOOKS[0]), "setup-cell", "exec"), {})
    return calls


def test_the_colab_cell_installs_from_the_repository_keeping_colabs_torch(monkeypatch):
    calls = _run_setup_cell(monkeypatch, on_colab=True, installed=False)
    keep = [f"{name}=={importlib.metadata.version(name)}" for name in ("torch", "torchvision")]
    assert calls == [(([sys.executable, "-m", "pip", "install", "--quiet", f"companion @ git+{REPOSITORY}", *keep],),
                      {"check": True}), "invalidate_caches"]


@pytest.mark.parametrize("on_colab, installed", [(False, False), (False, True), (True, True)])
def test_the_colab_cell_does_nothing_elsewhere_or_once_installed(monkeypatch, on_colab, installed):
    assert _run_setup_cell(monkeypatch, on_colab, installed) == []


def _links(text: str, host: str) -> list:
    """The paths of the links to ``host`` in markdown ``text``, badge images left out."""
    return [p for p in re.findall(rf"\(https://{re.escape(host)}/([^)\s]+)\)", text) if not p.endswith(".svg")]


def test_colab_badges_for_every_notebook_in_the_readme_and_its_page():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        target = f"github/{OWNER_REPO}/blob/main/notebooks/{path.name}"
        page = (ROOT / "docs" / "notebooks" / f"{path.stem}.md").read_text()
        assert target in _links(readme, "colab.research.google.com"), f"README: no Colab badge for {path.name}"
        assert target in _links(page, "colab.research.google.com"), f"{path.stem}.md: no Colab badge"
    pages = [readme] + [p.read_text() for p in (ROOT / "docs").rglob("*.md")]
    for text in pages:
        for link in _links(text, "colab.research.google.com"):
            assert link.startswith(f"github/{OWNER_REPO}/blob/main/notebooks/"), WHERE
            assert (ROOT / link.split("/blob/main/")[1]).is_file(), link


# --- Binder -------------------------------------------------------------------------------------

def test_binder_builds_from_the_root_environment_and_opens_jupyterlab_on_the_notebooks():
    # repo2docker reads binder/ or .binder/ instead of the root when either exists
    # (repo2docker docs, "Where to put configuration files in a repository")
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    env = (ROOT / "environment.yml").read_text()
    python = re.search(r"^\s*- python=(\d+\.\d+)\s*$", env, re.M).group(1)
    assert Requirement(f"python{PROJECT['requires-python']}").specifier.contains(f"{python}.0")
    pip = [line.strip().removeprefix("- ") for line in env.split("- pip:")[1].splitlines() if line.strip()]
    # conda runs the pip section in the file's folder, and repo2docker installs an environment
    # with a local requirement only after copying the repository in: '-e .' is the root
    assert pip[-1] == "-e ."
    assert "(https://mybinder.org/v2/gh/" + f"{OWNER_REPO}/main?urlpath=lab/tree/notebooks)" in \
        (ROOT / "README.md").read_text(), WHERE


def test_the_pins_install_together_with_pip_here():
    """The pins of constraints.txt (and of environment.yml, held equal by test_environment) are
    what this Python's environment holds: pip installed them together (make install)."""
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    installed = {name: importlib.metadata.version(name).split("+")[0] for name in pins}
    assert installed == pins


# --- timm ---------------------------------------------------------------------------------------

def test_timm_lists_the_weights_each_model_has():
    ours = set(weights.our_checkpoints())
    expected = {f"{n}.official" for n, s in models.MODELS.items() if s.official} | \
               {f"{n}.ours" for n, s in models.MODELS.items() if s.ours in ours}
    listed = set(timm.list_models(pretrained=True)) & {f"{n}.{t}" for n in models.MODELS for t in ("official", "ours")}
    assert listed == expected
    assert {"dncnn_s25.official", "dncnn_s25.ours", "dncnn_b25_hat1.ours"} <= listed
    classical = set(models.list_models(collection="classical"))
    assert "bm3d" in classical and not {m.split(".")[0] for m in timm.list_models(pretrained=True)} & classical
    assert set(models.list_models()) <= set(timm.list_models())


def test_timm_loads_our_weights_verified_and_describes_them():
    model = timm.create_model("dncnn_s25_hat1", pretrained=True)
    path = weights.ours("dncnn_s25_hat1")
    state = weights.read_state_dict(path)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    cfg = model.pretrained_cfg
    assert cfg["sha256"] == io.sha256_of(path) == weights.model_card("dncnn_s25_hat1")["sha256"]
    assert Path(cfg["file"]) == path and cfg["license"] == "mit" and "DnCNN" in cfg["paper_name"]
    assert "url" not in cfg and "hf_hub_id" not in cfg
    data = resolve_data_config(model=model)  # timm's preprocessing: images as they are, in [0, 1]
    assert data["mean"] == (0.0,) and data["std"] == (1.0,) and data["input_size"][0] == 1


def test_timm_loads_the_official_file_through_our_resolver(weights_dir):
    model = timm.create_model("dncnn_s25.official", pretrained=True)
    assert model.info["weights"].startswith("official")
    file = weights.OFFICIAL["dncnn_25"]
    assert model.pretrained_cfg["url"] == file.url and model.pretrained_cfg["sha256"] == file.sha256
    state = weights.read_state_dict(weights_dir / file.filename)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())


def test_timm_refuses_a_corrupt_official_file(tmp_path, monkeypatch):
    (tmp_path / "dncnn_25.pth").write_bytes(b"not the official file")
    monkeypatch.setenv("COMPANION_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(weights.WeightsError, match="sha256 .* != expected 0451a70de9b6"):
        timm.create_model("dncnn_s25", pretrained=True)


@pytest.mark.parametrize("name, kwargs, error, match", [
    ("dncnn_b", dict(num_classes=10), TypeError, "num_classes do not apply"),
    ("dncnn_b", dict(in_chans=3), ValueError, "1-channel images; in_chans=3"),
    ("dncnn_b", dict(pretrained_cfg_overlay=dict(url="https://example.org/w.pth")), TypeError, "pretrained_cfg_overlay"),
    ("dncnn_b", dict(cache_dir="/tmp"), TypeError, "cache_dir"),
    ("dncnn_b", dict(drop_path_rate=0.1), TypeError, "drop_path_rate"),
    ("dncnn_b.ours", dict(pretrained=True), ValueError, "no pretrained tag 'ours'; its tags: official"),
    ("bm3d.official", dict(), ValueError, "none \\(it has no weights\\)"),
    ("dncnn_b", dict(sigma=15), ValueError, "cannot be bound to a noise level"),
])
def test_timm_keywords_a_denoiser_cannot_honour_are_refused(name, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        timm.create_model(name, **kwargs)
    assert "\n" not in str(info.value)


def test_timm_passes_what_a_denoiser_takes():
    net = timm.create_model("ffdnet_color", sigma=30, in_chans=3, device="cpu")
    assert net.sigma == 30 and net.info["weights"].startswith("none")
    assert net.pretrained_cfg["input_size"] == (3, 256, 256) and net.pretrained_cfg["num_classes"] == 0


# --- pip ----------------------------------------------------------------------------------------

def _imported_distributions() -> set:
    """The distributions of the third-party modules the package imports (lazy imports included)."""
    owners = importlib.metadata.packages_distributions()
    tops = set()
    for path in (ROOT / "companion").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                tops.add(node.module.split(".")[0])
    tops -= set(sys.stdlib_module_names) | {"companion"}
    missing = sorted(t for t in tops if t not in owners)
    assert not missing, f"imported but installed by no distribution: {missing}"
    return {canonicalize_name(d) for t in tops for d in owners[t]}


def test_pyproject_declares_what_the_package_imports_and_python_3_11():
    declared = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    dask = {canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["distributed"]}
    assert _imported_distributions() <= declared | dask and dask == {"dask", "distributed"}  # Dask: an extra
    assert PROJECT["requires-python"] == ">=3.11"
    constraints = {canonicalize_name(line.split("==")[0]) for line in (ROOT / "constraints.txt").read_text().splitlines()
                   if "==" in line}
    assert declared <= constraints  # every dependency has its tested pin
    assert not [r for r in PROJECT["dependencies"] if "==" in r]  # ranges here, pins in constraints.txt


QUICKSTART = """
import sys, companion, timm  # companion first: on a CPU-only torch it makes torchvision importable
from companion import data, evaluation, models
assert companion.__file__.startswith(sys.prefix), companion.__file__
model = models.create("dncnn_s25")
images = data.load("set12", limit=1, crop=48)
rows, _ = evaluation.gaussian_denoising(model, images, sigma=25, seed=0)
assert rows[0]["psnr"] > rows[0]["noisy_psnr"] + 3, rows
assert timm.create_model("dncnn_b").info["name"] == "dncnn_b"
print(model.info["weights"].split(":")[0], round(rows[0]["psnr"], 2))
"""


def test_the_wheel_installs_into_a_fresh_environment_and_runs_the_quickstart(tmp_path):
    """Build the wheel from a copy of the tree, install it without dependencies into a new venv
    that sees this environment's packages (torch and the rest 'pre-installed'), and run there."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (tree / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "companion"), str(tree)], check=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", str(tree), "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("companion-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(f"companion-{__version__}.dist-info/METADATA").decode()
        assert "companion/checksums.txt" in z.namelist() and "companion/checkpoints/dncnn_s25.pt" in z.namelist()
    assert set(re.findall(r"^Requires-Dist: ([^;\n]+)$", meta, re.M)) == set(PROJECT["dependencies"])
    assert f"Project-URL: Repository, {REPOSITORY}" in meta and "Requires-Python: >=3.11" in meta

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # this environment's packages, seen by the new one; its editable companion is not (a plain path
    # in a .pth is not scanned for further .pth files)
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True,
                   capture_output=True)
    run = dict(capture_output=True, text=True, cwd=tmp_path, timeout=300)
    out = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(sorted(m.requires('companion')))"],
                         **run)
    assert out.returncode == 0, out.stderr[-2000:]
    assert set(ast.literal_eval(out.stdout)) >= set(PROJECT["dependencies"])
    out = subprocess.run([str(venv / "bin" / "companion"), "--version"], **run)
    assert out.stdout.strip() == f"companion {__version__}", out.stderr[-2000:]
    out = subprocess.run([str(python), "-c", QUICKSTART], **run)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[0] in ("official", "ours")


# --- papermill and the command line -----------------------------------------------------------

def _conforms(value, annotation) -> bool:
    """Whether ``value`` (a parameter's default) is of ``annotation`` (its declared type)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        return any(_conforms(value, a) for a in args)
    if annotation is type(None):
        return value is None
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items())
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, annotation)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_is_typed_and_its_default_fits_its_type(path):
    import papermill

    declared = papermill.inspect_notebook(str(path))
    untyped = [name for name, info in declared.items() if info["inferred_type_name"] == "None"]
    assert not untyped, f"papermill --help-notebook says 'Unknown type' for {untyped}"
    cell = next(_source(c) for c in _cells(path) if "parameters" in c.get("metadata", {}).get("tags", []))
    namespace = {}
    exec(compile(cell, path.name, "exec"), namespace)  # the annotations must hold at run time too
    assert set(namespace["__annotations__"]) == set(declared)
    for name, annotation in namespace["__annotations__"].items():
        kind = eval(annotation, vars(typing)) if isinstance(annotation, str) else annotation
        assert _conforms(namespace[name], kind), f"{name} = {namespace[name]!r} is not {annotation}"


def test_papermill_help_documents_every_parameter():
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(NOTEBOOKS[0])],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Unknown type" not in out.stdout
    assert re.search(r"models: list\[str\] \(default \[\"dncnn_s25\", \"ffdnet_gray\"\]\)", out.stdout)


def test_reproduce_takes_papermills_form_of_p_beside_ours():
    args = cli.parser().parse_args(["reproduce", "-p", "models", '["dncnn_s15", "ffdnet_gray"]', "-p", "sigma=15",
                                    "--only", "00", "-p", "output_dir", "out"])
    params = {key: parse_value(value) for key, value in map(cli._key_value, args.param)}
    assert params == {"models": ["dncnn_s15", "ffdnet_gray"], "sigma": 15, "output_dir": "out"}
    assert args.only == ["00"]


@pytest.mark.parametrize("argv", [["-p", "a=1", "b=2"], ["-p", "a", "b", "c"], ["-p", "sigma"]])
def test_reproduce_refuses_a_p_that_is_neither_form(argv, capsys):
    assert cli.main(["reproduce", "--only", "00", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: -p takes KEY=VALUE or KEY VALUE") and err.count("\n") == 1


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"companion {__version__}"
