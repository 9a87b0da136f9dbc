"""Shared set-up of the tests that drive the explorer in real Jupyter front ends
(JupyterLab 4, Notebook 7) with headless Debian Chromium.

The server is local-only (127.0.0.1, a free port, no token: the Galata test settings),
isolated from the user's Jupyter state (config, data/trust database, settings and
workspaces in a temporary directory), and stopped after the module. It serves a
temporary root the test fills with copies of the tutorial notebooks. JupyterLab and
Notebook 7 both expose their app (`window.jupyterapp`) so a test can run all cells
through the app's own command registry.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "notebooks" / "01_quickstart.ipynb"
LONG = 180_000   # ms: the run-all, the kernel start, the first explorer
STEP = 30_000    # ms: one view to render after a click
# JupyterLab would otherwise ask "Would you like to get notified about official Jupyter
# news?" (and then fetch them): a popup over the screenshots, and a request off the machine.
SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k && k.status === "idle";
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer in {seconds}s")


def cleared_copy(src: Path, dst: Path) -> None:
    """The notebook without its saved outputs (the static explorer copy included)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)


def trusted_copy(src: Path, dst: Path, data_dir: Path) -> None:
    """The notebook with its outputs, signed in `data_dir`'s trust database (as if its
    user had run and saved it): the front end then renders its HTML outputs unsanitized."""
    import nbformat
    from nbformat.sign import NotebookNotary

    data_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(src, as_version=4)
    notary = NotebookNotary(data_dir=str(data_dir))
    notary.sign(nb)
    notary.store.close()              # the server opens the same database next
    nbformat.write(nb, dst)


def untrusted_copy(src: Path, dst: Path) -> None:
    """The notebook with its outputs as a clone has it: unsigned. Trust is by content, so
    it must differ from any signed copy (one metadata field)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    nb.metadata["nkipy_kg_test"] = "an unsigned copy"
    nbformat.write(nb, dst)


def isolated_env(home: Path) -> dict[str, str]:
    """Environment of a server that neither reads nor writes the user's Jupyter state."""
    settings = home / "settings"
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    return {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}


@contextmanager
def jupyter_server(root: Path, home: Path) -> Iterator[str]:
    """JupyterLab (which also serves Notebook 7 under /notebooks/) on 127.0.0.1; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
           f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "server.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=isolated_env(home))
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status", 90)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def off_machine(requests: list[str], base: str) -> list[str]:
    """The requests that went anywhere but the Jupyter server (or stayed in the page)."""
    return [u for u in requests if not u.startswith((base + "/", "data:", "blob:", "about:"))]


def run_all_cells(page) -> None:
    """Once the kernel is up (or the execute requests can be dropped), run every cell."""
    page.wait_for_function(KERNEL_IDLE, timeout=LONG)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def select_pass(explorer, name: str) -> None:
    """Click the pass called `name` in the explorer's pass list (its first occurrence)."""
    row = explorer.locator(".plist .p", has=explorer.page.locator(".name", has_text=name)).first
    row.scroll_into_view_if_needed()
    row.click()
    explorer.page.wait_for_function("([el, i]) => el.dataset.stage === i",
                                    arg=[explorer.element_handle(), row.get_attribute("data-i")], timeout=STEP)


def show_view(explorer, view: str) -> None:
    explorer.locator(f".tab[data-view='{view}']").click()
    explorer.page.wait_for_function("([el, v]) => el.dataset.view === v",
                                    arg=[explorer.element_handle(), view], timeout=STEP)


def pass_list(explorer) -> list[tuple[str, str]]:
    """(name, status class) of every row of an explorer's pass list."""
    return explorer.locator(".plist .p").evaluate_all(
        "rows => rows.map((r) => [r.querySelector('.name').textContent, [...r.classList].find((c) => c.startsWith('st-'))])")
