"""The quick-start notebook end to end in a real JupyterLab, driven by headless Debian Chromium.

The server is local-only (127.0.0.1, a free port, no token: the Galata test settings)
and stopped after the module. It serves a temporary root holding a copy of
`notebooks/01_quickstart.ipynb` with its outputs cleared, so everything the browser
shows was produced by this run. The notebook runs through JupyterLab's own command
registry (`window.jupyterapp`, exposed by `--LabApp.expose_app_in_browser`). Screenshots
of each view go to tests/artifacts/.

Waits are generous (a cold kernel on a busy 2-core machine) and nothing asserts on time.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")
sync_api = pytest.importorskip("playwright.sync_api")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LONG = 180_000   # ms: the run-all, the kernel start, the first explorer
STEP = 30_000    # ms: one view to render after a click


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {seconds}s")


def _cleared_copy(src: Path, dst: Path) -> None:
    """The notebook without its saved outputs (the static explorer copy included)."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    _cleared_copy(QUICKSTART, root / "quickstart.ipynb")
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "server.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status", 90)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _apt_install(package: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(cmd, env=env, capture_output=True, timeout=900)


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install("chromium")
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("no Debian chromium (apt-get install chromium)")
    return path


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def _select(explorer, name: str) -> None:
    """Click the pass called `name` in the explorer's pass list (its first occurrence)."""
    row = explorer.locator(".plist .p", has=explorer.page.locator(".name", has_text=name)).first
    row.scroll_into_view_if_needed()
    row.click()
    explorer.page.wait_for_function("([el, i]) => el.dataset.stage === i",
                                    arg=[explorer.element_handle(), row.get_attribute("data-i")], timeout=STEP)


def _view(explorer, view: str) -> None:
    tab = explorer.locator(f".tab[data-view='{view}']")
    tab.click()
    explorer.page.wait_for_function("([el, v]) => el.dataset.view === v",
                                    arg=[explorer.element_handle(), view], timeout=STEP)


def test_quickstart_notebook_in_jupyterlab(lab, chromium_path):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{lab}/lab/workspaces/nkigen-test/tree/quickstart.ipynb?reset", timeout=LONG)
        page.wait_for_selector(".jp-Notebook", timeout=LONG)
        # Run only once the kernel is up, or the execute requests can be dropped.
        page.wait_for_function("""() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.status === "idle";
        }""", timeout=LONG)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        # The last cell is the readable shape error: once it shows, every cell has run.
        page.locator(".jp-OutputArea pre.nkigen-error").first.wait_for(timeout=LONG)
        error_text = page.locator(".jp-OutputArea pre.nkigen-error").first.inner_text()
        assert "cell line 3" in error_text and "contraction dims differ" in error_text
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        assert page.locator("text=Error displaying widget").count() == 0
        assert page.locator("text=Traceback").count() == 0
        # nkipy_kg.run's result, printed by the notebook itself.
        page.locator("text=<RunResult softmax on SimulatedNeuronCore(trn2)").first.wait_for(timeout=STEP)

        explorer = page.locator(".jp-OutputArea .nkx").first
        explorer.locator(".plist .p").first.wait_for(timeout=LONG)
        # The live widget replaces the static copy saved for kernel-less viewing.
        assert page.locator("[data-nkigen-static]").count() == 1
        assert not page.locator("[data-nkigen-static]").first.is_visible()

        # A pass that changed the IR: the side-by-side diff marks changed rows.
        _select(explorer, "prepare-arithmetic")
        assert explorer.locator(".row.k-chg").count() > 0
        assert "reciprocal" in explorer.locator(".diff").inner_text()
        explorer.scroll_into_view_if_needed()
        _shot(page, "jupyterlab_quickstart_diff.png")

        # The tile diagram after infer-layout: the 256x256 tensors drawn with their tile grid.
        _select(explorer, "infer-layout")
        _view(explorer, "tiles")
        explorer.locator(".diagram svg.tile-svg").first.wait_for(timeout=STEP)
        assert explorer.locator(".diagram .tcard").count() > 0
        assert explorer.locator(".diagram svg.tile-svg rect.tile").count() >= 2
        assert "partition dim" in explorer.locator(".diagram").inner_text()
        _shot(page, "jupyterlab_quickstart_tiles.png")

        # The memory diagram once buffers are in SBUF: pressure curve and buffer rectangles.
        _select(explorer, "legalize-layout")
        _view(explorer, "memory")
        explorer.locator(".diagram svg.mem-svg.pressure").first.wait_for(timeout=STEP)
        assert explorer.locator(".diagram svg.mem-svg.rects").count() == 1
        assert "SBUF peak" in explorer.locator(".diagram").inner_text()
        _shot(page, "jupyterlab_quickstart_memory.png")

        # The dataflow graph of the same stage: graphviz's SVG, or (no `dot`) what to install.
        _view(explorer, "graph")
        graph = explorer.locator(".diagram .graph-box svg, .diagram [data-testid='nkx-graph-missing']").first
        graph.wait_for(timeout=STEP)
        if shutil.which("dot"):
            assert explorer.locator(".diagram .graph-box svg g.node").count() > 0
        _shot(page, "jupyterlab_quickstart_graph.png")

        # The Run tab of `%%nkigen --run --compare-numpy`: device, modeled time, timeline, NumPy check.
        _view(explorer, "run")
        explorer.locator("[data-testid='nkx-gantt']").first.wait_for(timeout=STEP)
        assert explorer.locator("[data-testid='nkx-device']").inner_text().startswith("SimulatedNeuronCore")
        assert explorer.locator("[data-testid='nkx-timing-kind']").text_content().strip().lower() == "modeled"
        assert explorer.locator("[data-testid='nkx-numpy']").count() == 1
        assert explorer.locator("[data-testid='nkx-gantt'] rect").count() > 0
        _shot(page, "jupyterlab_quickstart_run.png")

        # Keys typed in the explorer are the explorer's, not JupyterLab's.
        _view(explorer, "ir")
        active = page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        before = int(explorer.get_attribute("data-stage"))
        explorer.focus()
        page.keyboard.press("j")
        page.wait_for_function("([el, i]) => Number(el.dataset.stage) > i",
                               arg=[explorer.element_handle(), before], timeout=STEP)
        assert page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active
        assert errors == [], errors
        browser.close()
