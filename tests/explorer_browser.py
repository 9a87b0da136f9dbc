"""Shared set-up of the explorer's browser tests: Debian `chromium` through Python
playwright, pages of the static HTML export, and the kernels they show.

Chromium comes from the system (`apt-get install chromium`; installed here when missing
and running as root), never from `playwright install`. Screenshots and timings go to
tests/artifacts/. Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nkipy_kg import knob

ARTIFACTS = Path(__file__).parent / "artifacts"
STOP = "decompose-batch-matmul"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return e / s


def softmax_t64(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[64, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return e / s


def apt_install(package: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=900).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(cmd, env=env, capture_output=True, timeout=900)


def find_chromium() -> str:
    """The system chromium, installed with apt-get when missing and running as root."""
    path = shutil.which("chromium")
    if path is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install("chromium")
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("no Debian chromium (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return find_chromium()


@pytest.fixture(scope="module")   # one Playwright per module: sync Playwright instances cannot nest
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, tmp_path):
    """`open_page(exploration)`: its static HTML in a new page; after the test, no page
    error happened and nothing was fetched beyond the file itself."""
    pages = []

    def open_(ex, name: str = "explorer.html", width: int = 1600, height: int = 900):
        path = ex.save_html(tmp_path / name)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.errors, page.requests, page.dialogs = [], [], []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_selector(".nkx .p")
        pages.append(page)
        return page

    yield open_
    for p in pages:
        assert p.errors == [], p.errors
        assert all(u.startswith(("file:", "data:", "about:", "blob:file:")) for u in p.requests), p.requests
        p.close()


@pytest.fixture(scope="module")
def dot_binary() -> str | None:
    """The system graphviz `dot` (installed with apt-get when missing and running as root)."""
    if shutil.which("dot") is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install("graphviz")
    return shutil.which("dot")


def line_of(fn, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, l in enumerate(lines) if text in l)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def fake_run(n: int, name: str = "exp", device: str = "SimulatedNeuronCore(trn2)", error: str = ""):
    """A RunView over `n` synthetic events (as a device with a big kernel would report)."""
    from types import SimpleNamespace

    from nkipy_kg.explore_run import failed_run, run_view_of
    from nkipy_kg.sim.cost_model import Event, Profile

    if error:
        return failed_run(device, "trn2", error)
    lanes = ["Vector", "Scalar", "DMA qSync"]
    events = [Event(name, lane.split()[0], lane, 7.0 * k, 7.0 * k + 5.0, "k.py:1:1", k)
              for k in range(n) for lane in lanes[k % 3:k % 3 + 1]]
    prof = Profile("trn2", total_ns=7.0 * n, busy_ns={"Vector": 1.0 * n, "Scalar": 1.0 * n, "DMA": 16.0 * n},
                   events=events)
    out = np.zeros((2, 2), np.float32)
    result = SimpleNamespace(outputs=out, time_us=7.0 * n / 1000, timing_kind="modeled", device=device,
                             profile=prof, compilation=None)
    return run_view_of(result, expected=out)

