"""The quick-start notebook in Notebook 7's own UI (`/notebooks/...`, not JupyterLab's),
driven by headless Debian Chromium: the anywidget explorer loads from the same prebuilt
labextension, renders, steps passes by click and key, and draws its diagrams.

Server set-up: tests/explorer_jupyter.py. Screenshots go to tests/artifacts/.
Waits are generous (a cold kernel on a busy 2-core machine) and nothing asserts on time.
"""

from __future__ import annotations

import pytest

pytest.importorskip("notebook")
pytest.importorskip("anywidget")
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("nbformat")

from explorer_browser import ARGS, find_chromium, shot  # noqa: E402
from explorer_jupyter import (  # noqa: E402
    LONG, QUICKSTART, STEP, cleared_copy, jupyter_server, off_machine, run_all_cells, select_pass, show_view,
)


# Notebook 7.6.5's own core throws this while loading plugin settings, on every page, with
# every third-party labextension disabled too: not ours. Any other page error fails.
UPSTREAM = ("Cannot read properties of undefined (reading 'schema')", "/static/notebook/notebook_core.")


def ours(errors: list[tuple[str, str]]) -> list[str]:
    return [f"{msg}\n{stack}" for msg, stack in errors
            if not (msg == UPSTREAM[0] and UPSTREAM[1] in stack.splitlines()[1 if stack else 0])]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root, home = tmp_path_factory.mktemp("nb7"), tmp_path_factory.mktemp("jupyter-home")
    cleared_copy(QUICKSTART, root / "quickstart.ipynb")
    with jupyter_server(root, home) as url:
        yield url


def test_quickstart_notebook_in_notebook7(server):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append((e.message, e.stack or "")))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{server}/notebooks/quickstart.ipynb", timeout=LONG)
        page.wait_for_selector(".jp-Notebook", timeout=LONG)
        # Notebook 7's shell, not JupyterLab's: its app and its one-document layout.
        assert page.evaluate("window.jupyterapp.name") == "Jupyter Notebook"
        assert page.locator("#jp-NotebookLogo, .jp-NotebookKernelLogo, #top-panel").count() > 0
        run_all_cells(page)

        page.locator(".jp-OutputArea pre.nkigen-error").first.wait_for(timeout=LONG)
        assert "contraction dims differ" in page.locator(".jp-OutputArea pre.nkigen-error").first.text_content()
        assert page.locator("text=Error displaying widget").count() == 0
        assert page.locator("text=Traceback").count() == 0

        explorer = page.locator(".jp-OutputArea .nkx").first
        explorer.locator(".plist .p").first.wait_for(timeout=LONG)
        assert explorer.locator(".logo").inner_text() == "nkipy-kg"
        assert not page.locator("[data-nkigen-static]").first.is_visible()      # the live widget replaced it

        select_pass(explorer, "prepare-arithmetic")
        assert explorer.locator(".row.k-chg").count() > 0 and "reciprocal" in explorer.locator(".diff").inner_text()
        explorer.scroll_into_view_if_needed()
        shot(page, "notebook7_quickstart_diff.png")

        # Keys step the passes inside the widget (Notebook 7 binds j/k in command mode too).
        before = int(explorer.get_attribute("data-stage"))
        explorer.focus()
        page.keyboard.press("j")
        page.wait_for_function("([el, i]) => Number(el.dataset.stage) === i + 1",
                               arg=[explorer.element_handle(), before], timeout=STEP)

        select_pass(explorer, "infer-layout")
        show_view(explorer, "tiles")
        explorer.locator(".diagram svg.tile-svg rect.tile").first.wait_for(timeout=STEP)
        select_pass(explorer, "legalize-layout")
        show_view(explorer, "memory")
        explorer.locator(".diagram svg.mem-svg.pressure").first.wait_for(timeout=STEP)
        show_view(explorer, "run")
        explorer.locator("[data-testid='nkx-gantt'] rect").first.wait_for(timeout=STEP)
        assert explorer.locator("[data-testid='nkx-timing-kind']").text_content() == "modeled"
        shot(page, "notebook7_quickstart_run.png")
        assert ours(errors) == []
        assert requests and off_machine(requests, server) == []
        browser.close()
