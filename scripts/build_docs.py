"""Build the documentation site (`make docs`): the pages of docs/ and the executed notebooks of a
`reproduce` run, rendered by mkdocs (theme mkdocs-material; notebooks through mkdocs-jupyter,
i.e. nbconvert) into site/. Why mkdocs: docs/site.md.

    python scripts/build_docs.py --run outputs/quick-cpu --site site
    python scripts/build_docs.py --assets-only      # fetch the widget renderer, build nothing

The notebooks' widgets (the explorers of companion.widgets, tqdm's progress bars) are drawn from
the widget state papermill stores in each executed notebook (``metadata.widgets``) by ipywidgets'
html-manager under require.js. Both are served by the site itself: they come once from the npm
registry, are checked against the sha512 the registry publishes for them (``ASSETS``) and stay in
build/docs-assets/. No page loads anything from a CDN (MathJax is not loaded: no page has math).
"""

import argparse
import base64
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from companion import config  # noqa: E402
from companion.checks import one_line  # noqa: E402

ASSET_CACHE = ROOT / "build" / "docs-assets"
# npm package: version, the registry's sha512 of its tarball (`npm view NAME@VERSION dist.integrity`),
# the files taken from it (a folder ends with /). html-manager 1.0 renders the widget
# state of ipywidgets 8 (state version 2); its fonts (Font Awesome) sit beside embed-amd.js.
ASSETS = {
    "@jupyter-widgets/html-manager": (  # BSD-3-Clause
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        ("dist/",)),
    "requirejs": (  # MIT
        "2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        ("require.js",)),
}
SKIPPED = (".map", "embed.js", "libembed-amd.js")  # the source map and the bundles the pages do not load
REGISTRY = "https://registry.npmjs.org"
GALLERY = "gallery"  # where the executed notebooks go in the site: every one at the same depth
WIDGETS = "assets/widgets"  # where the renderer goes, so a gallery page reaches it as ../assets/widgets/


def _folder(name: str, version: str) -> Path:
    return ASSET_CACHE / f"{name.replace('/', '__')}@{version}"


def fetch_assets() -> dict:
    """``{npm package: cached folder}``, downloading (and checking) what build/docs-assets lacks."""
    found = {}
    for name, (version, integrity, take) in ASSETS.items():
        folder = _folder(name, version)
        if not folder.is_dir():
            _download(name, version, integrity, take, folder)
        found[name] = folder
    return found


def _download(name, version, integrity, take, folder: Path) -> None:
    url = f"{REGISTRY}/{name}/-/{name.split('/')[-1]}-{version}.tgz"
    if config.offline():
        raise SystemExit(f"{name} {version} is not in {folder.parent} and COMPANION_OFFLINE is set: "
                         f"run `make docs-assets` once online (it downloads {url})")
    try:
        with urllib.request.urlopen(url, timeout=60) as reply:
            blob = reply.read()
    except OSError as err:
        raise SystemExit(f"cannot download {url} ({one_line(err)}): run `make docs-assets` once online, "
                         f"or copy {folder} from a machine that has it") from None
    digest = "sha512-" + base64.b64encode(hashlib.sha512(blob).digest()).decode()
    if digest != integrity:
        raise SystemExit(f"{url} does not match the sha512 pinned in scripts/build_docs.py: refusing it")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            for member in archive.getmembers():
                inner = member.name.removeprefix("package/")
                wanted = any(inner == t or (t.endswith("/") and inner.startswith(t)) for t in take)
                if member.isfile() and wanted and not inner.endswith(SKIPPED):
                    (tmp / Path(inner).name).write_bytes(archive.extractfile(member).read())
        os.replace(tmp, folder)  # the folder appears whole or not at all
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def executed_notebooks(run: Path) -> list:
    """The notebooks a run executed to the end (not ``.failed`` nor ``.partial`` ones)."""
    found = sorted(p for p in Path(run).glob("[0-9][0-9]_*.ipynb") if not p.name.endswith(".failed.ipynb"))
    if not found:
        raise SystemExit(f"no executed notebooks in {run}: run `make reproduce` first, "
                         "or name a run folder with DOCS_RUN=DIR")
    return found


def leaderboard(run: Path) -> Path | None:
    """The leaderboard page: docs/leaderboard.md, else the first leaderboard.md in the run folder."""
    docs = ROOT / "docs" / "leaderboard.md"
    found = [docs] if docs.is_file() else sorted(Path(run).glob("**/leaderboard.md"))
    return found[0] if found else None


def stage(run: Path, staging: Path) -> list:
    """Copy docs/, the run's notebooks and the widget renderer into ``staging``; return the nav."""
    notebooks, assets = executed_notebooks(run), fetch_assets()
    shutil.copytree(ROOT / "docs", staging)
    for folder in assets.values():
        shutil.copytree(folder, staging / WIDGETS, dirs_exist_ok=True)
    (staging / GALLERY).mkdir()
    for nb in notebooks:
        shutil.copy2(nb, staging / GALLERY / nb.name)
    gallery = [f"{GALLERY}/{nb.name}" for nb in notebooks]
    if (Path(run) / "summary.md").is_file():  # the run's report: its claims table and figures
        shutil.copy2(Path(run) / "summary.md", staging / GALLERY / "summary.md")
        if (Path(run) / "figures").is_dir():
            shutil.copytree(Path(run) / "figures", staging / GALLERY / "figures")
        gallery.insert(0, {"Run summary": f"{GALLERY}/summary.md"})
    extra = [{"Audit": "audit.md"}] if (staging / "audit.md").is_file() else []
    board = leaderboard(run)
    if board is not None:
        if board.parent != ROOT / "docs":
            shutil.copy2(board, staging / "leaderboard.md")
        extra.append({"Leaderboard": "leaderboard.md"})
    pages = [f"notebooks/{p.name}" for p in sorted((staging / "notebooks").glob("*.md"))]
    return [{"Notebooks": pages}, {"Gallery": gallery}] + extra


def nbconvert_settings(folder: Path) -> dict:
    """The environment that points nbconvert (which mkdocs-jupyter runs) at the site's own files:
    a Jupyter config folder naming the renderer and require.js (nbconvert's defaults are unpkg.com
    and cdnjs), and a Jupyter data folder whose templates replace nbconvert's MathJax and mermaid
    loaders (cdnjs URLs that no setting of nbconvert 7.17 changes) by a comment: no page has math
    or a mermaid diagram."""
    settings = {"JUPYTER_CONFIG_DIR": folder / "config", "JUPYTER_PATH": folder / "data"}
    config_file = settings["JUPYTER_CONFIG_DIR"] / "jupyter_nbconvert_config.json"
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(json.dumps({"HTMLExporter": {
        "widget_renderer_url": f"../{WIDGETS}/embed-amd.js", "require_js_url": f"../{WIDGETS}/require.js"}}))
    templates = settings["JUPYTER_PATH"] / "nbconvert" / "templates"
    for path, macro in (("base/mathjax.html.j2", "mathjax(url='')"),
                        ("lab/mermaidjs.html.j2", "mermaid_js(url='', elk_url='')")):
        (templates / path).parent.mkdir(parents=True, exist_ok=True)
        (templates / path).write_text(f"{{%- macro {macro} -%}}<!-- {macro.split('(')[0]}: "
                                      "not loaded, scripts/build_docs.py -->{%- endmacro %}\n")
    return {key: str(value) for key, value in settings.items()}


def build(run: Path, site: Path) -> Path:
    """Build the site from run folder ``run`` into ``site``; the old site stays until the new one is whole."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    site = Path(site).resolve()
    site.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="companion-docs-") as work:
        nav = stage(Path(run), Path(work) / "src")
        os.environ.update(nbconvert_settings(Path(work) / "jupyter"))
        tmp = Path(tempfile.mkdtemp(dir=site.parent, prefix=f".{site.name}."))
        try:
            cfg = load_config(str(ROOT / "mkdocs.yml"), docs_dir=str(Path(work) / "src"), site_dir=str(tmp))
            cfg["nav"] = cfg["nav"] + nav
            mkdocs_build(cfg)
            shutil.rmtree(site, ignore_errors=True)
            os.replace(tmp, site)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return site


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default=str(ROOT / "outputs" / "quick-cpu"),
                        help="the reproduce run folder whose executed notebooks form the gallery")
    parser.add_argument("--site", default=str(ROOT / "site"), help="where the site goes")
    parser.add_argument("--assets-only", action="store_true", help="fetch the widget renderer only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.assets_only:
        for name, folder in fetch_assets().items():
            print(f"{name}: {folder.relative_to(ROOT)}")
        return 0
    site = build(Path(args.run), Path(args.site))
    print(f"site written to {site}: open {site / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
