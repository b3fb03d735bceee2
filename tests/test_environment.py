"""The project's own files: environment specs agree, notebooks are committed clean."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _names(lines):
    return {re.split(r"[=<>!~\[ ]", line.strip(), maxsplit=1)[0].lower()
            for line in lines if line.strip() and not line.strip().startswith(("#", "-"))}


def test_requirements_and_environment_name_the_same_packages():
    req = _names((ROOT / "requirements.txt").read_text().splitlines())
    env_lines = (ROOT / "environment.yml").read_text().split("- pip:")[1].splitlines()
    env = _names(line.strip().removeprefix("- ") for line in env_lines if line.strip().startswith("- "))
    assert req == env
    assert {"torch", "torchvision", "timm", "jupyterlab", "papermill", "ipykernel", "ipywidgets", "seaborn",
            "scikit-image", "bm3d", "pooch", "tqdm", "pytest"} <= req


def test_versions_are_pinned_alike():
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins["torch"] == "2.13.0" and pins["torchvision"] == "0.28.0"
    env = dict(re.findall(r"- ([\w-]+)==([\w.]+)", (ROOT / "environment.yml").read_text()))
    assert env == {k: v for k, v in pins.items() if k in env} and set(env) == set(pins)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_are_stripped_and_parameterized(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    assert all(re.search(rf"^{name}\s*(:[^=]*)?=", source, re.M) for name in ("profile", "device", "output_dir"))
