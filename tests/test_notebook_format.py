"""Notebooks are committed in their normal form (scripts/normalize_notebook.py, the git clean
filter of .gitattributes), so opening, running or saving one in JupyterLab dirties nothing."""

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
spec = importlib.util.spec_from_file_location("normalize_notebook", ROOT / "scripts" / "normalize_notebook.py")
normalizer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(normalizer)


def _as_jupyterlab_saves(text: str) -> str:
    """The notebook as JupyterLab writes it after a run: outputs, counts, widget state, the kernel's
    language details, cell metadata of its own, and its JSON layout."""
    nb = json.loads(text)
    for n, cell in enumerate(nb["cells"]):
        cell["metadata"].update({"scrolled": True, "jupyter": {"source_hidden": False}, "editable": True,
                                 "execution": {"iopub.status.busy": "2026-12-02T02:00:00.000Z"}})
        if cell["cell_type"] == "code":
            cell["execution_count"] = n + 1
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran\n"]}]
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python",
                                       "codemirror_mode": {"name": "ipython", "version": 3}}
    nb["metadata"]["kernelspec"]["env"] = {}
    return json.dumps(nb, indent=2)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_committed_notebook_is_in_its_normal_form(path):
    text = path.read_text()
    assert normalizer.normalize(text) == text, f"{path.name}: run it through scripts/normalize_notebook.py"
    nb = json.loads(text)
    assert set(nb["metadata"]) <= {"kernelspec", "language_info", "companion"}
    assert all(set(c["metadata"]) <= {"tags"} for c in nb["cells"])


@pytest.mark.parametrize("path", NOTEBOOKS[:2], ids=lambda p: p.stem)
def test_what_jupyterlab_writes_normalizes_back_to_the_committed_notebook(path):
    text = path.read_text()
    saved = _as_jupyterlab_saves(text)
    assert saved != text
    assert normalizer.normalize(saved) == text
    tags = [c["metadata"].get("tags") for c in json.loads(normalizer.normalize(saved))["cells"]]
    assert ["parameters"] in tags  # what papermill needs survives


def test_normal_form_is_stable_and_refuses_what_is_not_json():
    once = normalizer.normalize(_as_jupyterlab_saves(NOTEBOOKS[0].read_text()))
    assert normalizer.normalize(once) == once
    with pytest.raises(json.JSONDecodeError):
        normalizer.normalize("{not a notebook")


def test_git_shows_a_notebook_jupyterlab_rewrote_as_unchanged(tmp_path):
    """The filter as docs/running.md enables it, in a scratch repository: JupyterLab's save leaves no
    diff and nothing to commit; a real edit still shows."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    command = re.search(r'git config filter\.notebook\.clean "([^"]+)"', (ROOT / "docs" / "running.md").read_text())
    assert command, "docs/running.md gives the one git config line"
    assert "*.ipynb filter=notebook" in (ROOT / ".gitattributes").read_text().splitlines()
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "normalize_notebook.py", tmp_path / "scripts")
    shutil.copy(ROOT / ".gitattributes", tmp_path)
    nb = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], nb)

    def run(*args):
        return subprocess.run([git, "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout

    run("init", "-q")
    run("config", "filter.notebook.clean", command.group(1))
    run("add", ".")
    run("commit", "-qm", "notebooks")
    nb.write_text(_as_jupyterlab_saves(nb.read_text()))
    assert run("diff", "--stat") == ""
    run("add", nb.name)  # stat data changed, the content git stores did not: nothing to commit
    assert run("status", "--porcelain") == ""
    nb.write_text(nb.read_text().replace("Quickstart", "Quick start", 1))
    assert "1 insertion(+), 1 deletion(-)" in run("diff", "--stat")
