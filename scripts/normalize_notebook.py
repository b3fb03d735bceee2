"""A notebook in its normal form for git: what JupyterLab writes into a notebook when it opens, runs
or saves it (outputs, execution counts, widget state, the kernel's language details, cell
metadata such as ``collapsed``, ``scrolled`` or ``execution``) is dropped, so that git shows only
real edits.

It is the git clean filter named in `.gitattributes` (``*.ipynb filter=notebook``), enabled once
per clone with::

    git config filter.notebook.clean "python3 scripts/normalize_notebook.py"

It reads a notebook on stdin and writes its normal form on stdout, with Python's standard library
only (git runs it with any python3). tests/test_notebook_format.py checks that every committed
notebook is already in that form.

The normal form: code cells without outputs and execution count; a cell's metadata keeps its
``tags`` only (papermill finds the ``parameters`` cell by its tag); the notebook's metadata keeps
``kernelspec`` (display_name, language, name), ``language_info`` reduced to its ``name`` (the
kernelspec's language where it is missing) and ``companion`` (ours: ``after``, the notebooks whose
cached results it reads, for ``companion.reproduce.schedule``); the JSON as nbformat writes it (keys sorted, indent 1,
a final newline).
"""

import json
import sys

CELL_METADATA = ("tags",)
KERNELSPEC = ("display_name", "language", "name")


def normalize(text: str) -> str:
    """The normal form of notebook JSON ``text``."""
    nb = json.loads(text)
    for cell in nb.get("cells", []):
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in CELL_METADATA and v}
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    metadata, kept = nb.get("metadata", {}), {}
    if "kernelspec" in metadata:
        kept["kernelspec"] = {k: v for k, v in metadata["kernelspec"].items() if k in KERNELSPEC}
    language = metadata.get("language_info", {}).get("name") or kept.get("kernelspec", {}).get("language")
    if language:
        kept["language_info"] = {"name": language}
    if metadata.get("companion"):
        kept["companion"] = metadata["companion"]
    nb["metadata"] = kept
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(normalize(sys.stdin.read()))
