"""`%%nkigen` end to end in a real JupyterLab, driven by headless Debian Chromium.

The server is local-only (127.0.0.1, a free port, no token: the Galata test settings)
and stopped after the module. The notebook runs through JupyterLab's own command
registry (`window.jupyterapp`, exposed by `--LabApp.expose_app_in_browser`).
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

ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CELL = '''%%nkigen --inputs "x=256x256:f32" --stop-after decompose-batch-matmul
def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)'''


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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext explorer_ext\nimport numpy as np"),
        nbformat.v4.new_code_cell(CELL),
        nbformat.v4.new_code_cell("softmax"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, root / "explore.ipynb")
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(root / "server.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status", 60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("no Debian chromium (apt-get install chromium); see test_explorer_browser.py")
    return path


def test_nkigen_widget_in_jupyterlab(lab, chromium_path):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{lab}/lab/workspaces/nkigen-test/tree/explore.ipynb?reset", timeout=90_000)
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        # Run only once the kernel is up, or the execute requests can be dropped.
        page.wait_for_function("""() => {
          const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.status === "idle";
        }""", timeout=90_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        explorer = page.locator(".jp-OutputArea .nkx").first
        explorer.locator(".p").first.wait_for(timeout=120_000)

        # The live widget replaces the static copy saved for kernel-less viewing.
        assert page.locator("[data-nkigen-static]").count() == 1
        assert not page.locator("[data-nkigen-static]").first.is_visible()
        assert page.locator("text=Error displaying widget").count() == 0

        explorer.scroll_into_view_if_needed()
        explorer.locator(".p[data-i='2']").click()
        assert explorer.locator(".row.k-chg").count() > 0
        active = page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        explorer.focus()
        page.keyboard.press("j")               # ours, not JupyterLab's "select next cell"
        assert explorer.get_attribute("data-stage") == "3"
        assert page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active
        # The traced kernel is bound in the notebook; its repr is the last output.
        page.wait_for_selector("text=<traced kernel softmax", timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer_jupyterlab.png"))
        assert errors == [], errors
        browser.close()
