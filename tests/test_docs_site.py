"""The documentation site (`make docs`, scripts/build_docs.py): built from a tiny reproduce run, it
loads nothing from a CDN, and in headless Chromium (Debian's `chromium`) its gallery pages show
the notebooks' figures and draw their widgets (a tqdm progress bar in 00, companion's attack
explorer in a one-cell notebook) from the widget renderer the site serves itself."""

import functools
import http.server
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from companion import reproduce

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
build_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_docs)

CDN = ("unpkg.com", "jsdelivr.net", "cdnjs.cloudflare.com", "googleapis.com", "gstatic.com")
# The widget views html-manager draws (lm-Widget nodes with these classes): none of these class
# names is in a page before its scripts ran, so finding one proves the renderer worked.
PROGRESS_BAR, EXPLORER = ".widget-hprogress", ".widget-dropdown select, .widget-slider, button.jupyter-button"


def _required(found, what):
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"CI must provide {what}")
    pytest.skip(f"{what} is missing")


def _explorer_notebook(folder: Path) -> Path:
    """A one-cell notebook in reproduce's form that shows companion's attack explorer."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile: str = "smoke"\ndevice: str = "cpu"\noutput_dir: str = "."')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# 98 · the attack explorer"), params, nbformat.v4.new_code_cell(
        "from companion import report, widgets\n"
        "results = report.Results('98_explorer', output_dir, dict(profile=profile))\n"
        "widgets.attack_explorer(results.load_images('set12', limit=1, crop=32), ['dncnn_s25'])\n"
        "results.save();")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "98_explorer.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Smoke 00 and the explorer notebook run by reproduce, then `build_docs.py --run`, offline."""
    _required(all(build_docs._folder(n, v[0]).is_dir() for n, v in build_docs.ASSETS.items()),
              "the widget renderer in build/docs-assets (`make docs-assets` fetches it once)")
    run, mine = tmp_path / "run", tmp_path / "notebooks"
    mine.mkdir()
    _explorer_notebook(mine)
    monkeypatch.delenv("JUPYTER_PATH", raising=False)  # reproduce sets it: undone after the test
    for only, folder in ((["00"], None), (None, mine)):
        info = reproduce.run(profile="smoke", only=only, output=run, folder=folder, progress=False)
        assert all(v["status"] == "done" for v in info["notebooks"].values()), info["notebooks"]
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--run", str(run),
                          "--site", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return tmp_path / "site"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _rendered(site: Path, page: str, selector: str) -> dict:
    """Open ``page`` of the site in headless Chromium, served over HTTP, inside a probe page of the
    same origin that waits until the page's images finished loading and ``selector`` matches (at
    most 20 s), then writes what it saw into its own DOM, which Chromium dumps."""
    chromium = _required(shutil.which("chromium"), "Debian's chromium (apt-get install chromium)")
    probe = site.parent / "probe.html"
    probe.write_text("""<!DOCTYPE html><html><body><pre id="seen"></pre><iframe id="page" width="1200" height="900"></iframe>
<script>
const args = new URLSearchParams(location.search), frame = document.getElementById("page");
const deadline = Date.now() + 20000;
function look() {
  const doc = frame.contentDocument, images = [...doc.querySelectorAll("img")];
  const widgets = doc.querySelectorAll(args.get("selector")).length;
  if ((doc.readyState === "complete" && widgets && images.every(i => i.complete)) || Date.now() > deadline) {
    document.getElementById("seen").textContent = JSON.stringify({widgets, images: images.map(
      i => ({src: i.getAttribute("src").slice(0, 60), width: i.naturalWidth, height: i.naturalHeight}))});
  } else setTimeout(look, 100);
}
frame.onload = () => setTimeout(look, 100);
frame.src = args.get("page");
</script></body></html>""")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/probe.html?page={site.name}/{page}&selector={selector}"
        dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                              "--no-first-run", f"--user-data-dir={site.parent / 'chromium'}", "--virtual-time-budget=30000",
                              "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    finally:
        server.shutdown()
    seen = re.search(r'<pre id="seen">(.*?)</pre>', dom, re.S)
    assert seen and seen.group(1), f"the probe saw nothing of {page}"
    return json.loads(seen.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def _figures(seen: dict) -> list:
    """The notebook's figures: images embedded as PNG that decoded to a real size."""
    return [i for i in seen["images"] if i["src"].startswith("data:image/png") and i["width"] > 50 and i["height"] > 50]


def test_the_site_of_a_tiny_run_shows_figures_and_widgets_from_its_own_files(site):
    """One test, so that `make test`'s workers build the site once."""
    pages = sorted(site.rglob("*.html"))
    assert {"index.html", "architecture.html", "00_quickstart.html", "98_explorer.html"} <= {p.name for p in pages}
    for page in pages:  # no URL of a CDN (plain or JSON-escaped), no script or stylesheet from elsewhere
        html = page.read_text()
        assert not re.findall(r"(?://|\\/\\/)[\w.-]*(?:%s)" % "|".join(map(re.escape, CDN)), html), page.name
        remote = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="(https?:[^"]*)"', html)
        assert not remote, (page.name, remote)
    quickstart = (site / "gallery" / "00_quickstart.html").read_text()
    for asset in ("embed-amd.js", "require.js"):  # named by the page, served by the site
        assert f"../assets/widgets/{asset}" in quickstart
        assert (site / "assets" / "widgets" / asset).stat().st_size > 10_000
    assert "widget-hprogress" not in quickstart  # only the renderer can make it

    seen = _rendered(site, "gallery/00_quickstart.html", PROGRESS_BAR)
    assert seen["widgets"] >= 1, seen  # tqdm's bar over the models
    assert len(_figures(seen)) >= 2, seen  # the noisy / denoised panel and the PSNR bars
    seen = _rendered(site, "gallery/98_explorer.html", EXPLORER)
    assert seen["widgets"] >= 3, seen  # dropdowns (image, model), sliders (eps, steps), the button
    assert not [i for i in seen["images"] if i["width"] == 0], seen  # no broken image on the page


def test_the_docs_tools_are_the_pinned_ones_and_the_docs_extra_admits_them():
    pins = dict(line.split("==") for line in (ROOT / "requirements-docs.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert {"mkdocs", "mkdocs-material", "mkdocs-jupyter"} <= set(pins)
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, f"{name}: `make install` installs {version}"
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["docs"]
    for requirement in map(Requirement, extra):
        assert requirement.specifier.contains(pins[requirement.name]), requirement


def test_the_build_refuses_a_folder_without_executed_notebooks(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--run", str(tmp_path),
                          "--site", str(tmp_path / "site")], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and not (tmp_path / "site").exists()
    assert out.stderr.strip().splitlines()[-1].startswith("no executed notebooks in"), out.stderr


def _package(registry: Path, name: str, version: str, files: dict) -> str:
    """An npm tarball of ``files`` ({path in the package: bytes}) where the registry keeps it;
    returns its integrity string (sha512, as `npm view NAME dist.integrity`)."""
    import base64
    import hashlib
    import io
    import tarfile

    blob = io.BytesIO()
    with tarfile.open(fileobj=blob, mode="w:gz") as archive:
        for inner, data in files.items():
            member = tarfile.TarInfo(f"package/{inner}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    path = registry / name / "-" / f"{name.split('/')[-1]}-{version}.tgz"
    path.parent.mkdir(parents=True)
    path.write_bytes(blob.getvalue())
    return "sha512-" + base64.b64encode(hashlib.sha512(blob.getvalue()).digest()).decode()


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry on disk (file:// URLs, no network) and an empty asset cache."""
    monkeypatch.setattr(build_docs, "REGISTRY", (tmp_path / "registry").as_uri())
    monkeypatch.setattr(build_docs, "ASSET_CACHE", tmp_path / "cache")
    monkeypatch.delenv("COMPANION_OFFLINE", raising=False)
    files = {"dist/embed-amd.js": b"define([], 1)", "dist/fa.woff2": b"font", "dist/embed.js.map": b"{}",
             "README.md": b"not taken"}
    integrity = _package(tmp_path / "registry", "@test/manager", "1.0.0", files)
    return tmp_path / "registry" / "@test" / "manager" / "-" / "manager-1.0.0.tgz", integrity


def test_the_renderer_is_fetched_once_and_only_what_the_pages_load_is_kept(registry, monkeypatch):
    tarball, integrity = registry
    monkeypatch.setattr(build_docs, "ASSETS", {"@test/manager": ("1.0.0", integrity, ("dist/",))})
    folder = build_docs.fetch_assets()["@test/manager"]
    assert sorted(p.name for p in folder.iterdir()) == ["embed-amd.js", "fa.woff2"]
    assert (folder / "embed-amd.js").read_bytes() == b"define([], 1)"
    tarball.unlink()  # cached: no second download
    assert build_docs.fetch_assets()["@test/manager"] == folder


def test_a_tarball_that_is_not_the_pinned_one_is_refused(registry, monkeypatch):
    _, integrity = registry
    wrong = integrity[:-6] + ("AAAA==" if not integrity.endswith("AAAA==") else "BBBB==")
    monkeypatch.setattr(build_docs, "ASSETS", {"@test/manager": ("1.0.0", wrong, ("dist/",))})
    with pytest.raises(SystemExit, match="does not match the sha512 pinned"):
        build_docs.fetch_assets()
    assert not build_docs._folder("@test/manager", "1.0.0").exists()  # nothing kept


def test_offline_without_the_renderer_says_how_to_get_it(registry, monkeypatch):
    _, integrity = registry
    monkeypatch.setattr(build_docs, "ASSETS", {"@test/manager": ("1.0.0", integrity, ("dist/",))})
    monkeypatch.setenv("COMPANION_OFFLINE", "1")
    with pytest.raises(SystemExit, match="run `make docs-assets` once online"):
        build_docs.fetch_assets()
    monkeypatch.delenv("COMPANION_OFFLINE")
    monkeypatch.setattr(build_docs, "REGISTRY", "http://127.0.0.1:9")  # nothing listens: a failed download
    with pytest.raises(SystemExit, match="cannot download .* run `make docs-assets` once online"):
        build_docs.fetch_assets()
