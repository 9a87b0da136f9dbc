"""The quick-start notebook end to end in a real JupyterLab 4, driven by headless Debian
Chromium: run it, click passes, check the diff and every diagram, and that nothing was
fetched from beyond the Jupyter server. Then the same kernel's static HTML export in the
same browser (the same views), and the notebook's saved outputs opened without running
it: trusted, the saved `<iframe srcdoc>` explorer works; untrusted (JupyterLab strips
iframes), the plain summary of the passes is shown instead.

Server and notebook set-up: tests/explorer_jupyter.py. Screenshots go to tests/artifacts/.
Waits are generous (a cold kernel on a busy 2-core machine) and nothing asserts on time.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("nbformat")

from explorer_browser import ARGS, find_chromium, shot  # noqa: E402
from explorer_jupyter import (  # noqa: E402
    LONG, QUICKSTART, STEP, cleared_copy, jupyter_server, off_machine, pass_list, run_all_cells, select_pass,
    show_view, trusted_copy, untrusted_copy,
)
from nkipy_kg import knob  # noqa: E402
from nkipy_kg.explore import explore  # noqa: E402
from nkipy_kg.pipeline import PIPELINE  # noqa: E402


def softmax(x):
    """The quick-start notebook's kernel, for its static export."""
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return e / s


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root, home = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("jupyter-home")
    cleared_copy(QUICKSTART, root / "quickstart.ipynb")
    untrusted_copy(QUICKSTART, root / "saved_untrusted.ipynb")
    trusted_copy(QUICKSTART, root / "saved_trusted.ipynb", home / "data")
    with jupyter_server(root, home) as url:
        yield url


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return find_chromium()


def test_quickstart_notebook_in_jupyterlab(lab, chromium_path, tmp_path):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{lab}/lab/workspaces/nkipy-kg-test/tree/quickstart.ipynb?reset", timeout=LONG)
        page.wait_for_selector(".jp-Notebook", timeout=LONG)
        run_all_cells(page)

        # The last cell is the readable shape error: once it shows, every cell has run.
        page.locator(".jp-OutputArea pre.nkigen-error").first.wait_for(timeout=LONG)
        error_text = page.locator(".jp-OutputArea pre.nkigen-error").first.text_content()
        assert "cell line 3" in error_text and "contraction dims differ" in error_text
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        assert page.locator("text=Error displaying widget").count() == 0
        assert page.locator("text=Traceback").count() == 0
        # nkipy_kg.run's result, printed by the notebook itself.
        page.locator("text=<RunResult softmax on SimulatedNeuronCore(trn2)").first.wait_for(timeout=STEP)

        explorer = page.locator(".jp-OutputArea .nkx").first
        explorer.locator(".plist .p").first.wait_for(timeout=LONG)
        assert explorer.locator(".logo").inner_text() == "nkipy-kg"
        # The live widget replaces the static copy saved for kernel-less viewing.
        assert page.locator("[data-nkigen-static]").count() == 1
        assert not page.locator("[data-nkigen-static]").first.is_visible()

        # A pass that changed the IR: the side-by-side diff marks changed rows.
        select_pass(explorer, "prepare-arithmetic")
        assert explorer.locator(".row.k-chg").count() > 0
        assert "reciprocal" in explorer.locator(".diff").inner_text()
        explorer.scroll_into_view_if_needed()
        shot(page, "jupyterlab_quickstart_diff.png")

        # The tile diagram after infer-layout: the 256x256 tensors drawn with their tile grid.
        select_pass(explorer, "infer-layout")
        show_view(explorer, "tiles")
        explorer.locator(".diagram svg.tile-svg").first.wait_for(timeout=STEP)
        tiles = explorer.locator(".diagram .tcard").count()
        assert tiles > 0 and explorer.locator(".diagram svg.tile-svg rect.tile").count() >= 2
        assert "partition dim" in explorer.locator(".diagram").inner_text()
        shot(page, "jupyterlab_quickstart_tiles.png")

        # The memory diagram once buffers are in SBUF: pressure curve and buffer rectangles.
        select_pass(explorer, "legalize-layout")
        show_view(explorer, "memory")
        explorer.locator(".diagram svg.mem-svg.pressure").first.wait_for(timeout=STEP)
        assert explorer.locator(".diagram svg.mem-svg.rects").count() == 1
        assert "SBUF peak" in explorer.locator(".diagram").inner_text()
        shot(page, "jupyterlab_quickstart_memory.png")

        # The dataflow graph of the same stage: graphviz's SVG, or (no `dot`) what to install.
        show_view(explorer, "graph")
        graph = explorer.locator(".diagram .graph-box svg, .diagram [data-testid='nkx-graph-missing']").first
        graph.wait_for(timeout=STEP)
        if shutil.which("dot"):
            assert explorer.locator(".diagram .graph-box svg g.node").count() > 0
        shot(page, "jupyterlab_quickstart_graph.png")

        # The Run tab of `%%nkigen --run --compare-numpy`: device, modeled time, timeline, NumPy check.
        show_view(explorer, "run")
        explorer.locator("[data-testid='nkx-gantt']").first.wait_for(timeout=STEP)
        assert explorer.locator("[data-testid='nkx-device']").inner_text().startswith("SimulatedNeuronCore")
        assert explorer.locator("[data-testid='nkx-timing-kind']").text_content().strip().lower() == "modeled"
        assert explorer.locator("[data-testid='nkx-numpy']").count() == 1
        assert explorer.locator("[data-testid='nkx-gantt'] rect").count() > 0
        shot(page, "jupyterlab_quickstart_run.png")

        # Keys typed in the explorer are the explorer's, not JupyterLab's.
        show_view(explorer, "ir")
        active = page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex")
        before = int(explorer.get_attribute("data-stage"))
        explorer.focus()
        page.keyboard.press("j")
        page.wait_for_function("([el, i]) => Number(el.dataset.stage) > i",
                               arg=[explorer.element_handle(), before], timeout=STEP)
        assert page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active
        live = pass_list(explorer)
        assert errors == [], errors
        # Nothing left the machine: every request went to the Jupyter server on 127.0.0.1.
        assert requests and off_machine(requests, lab) == []

        # The static HTML export of the same kernel, in the same browser: the same views.
        exported = explore(softmax, specs=[((256, 256), "f32")], run=True, compare_numpy=True)
        static = browser.new_page(viewport={"width": 1600, "height": 900})
        static_requests = []
        static.on("request", lambda r: static_requests.append(r.url))
        static.on("pageerror", lambda e: errors.append(str(e)))
        static.goto(exported.save_html(tmp_path / "softmax.html").as_uri())
        root = static.locator(".nkx")
        root.locator(".plist .p").first.wait_for(timeout=STEP)
        assert pass_list(root) == live
        select_pass(root, "infer-layout")
        show_view(root, "tiles")
        assert root.locator(".diagram .tcard").count() == tiles
        select_pass(root, "legalize-layout")
        show_view(root, "memory")
        assert root.locator(".diagram svg.mem-svg.rects").count() == 1
        show_view(root, "run")
        assert root.locator("[data-testid='nkx-timing-kind']").text_content() == "modeled"
        assert root.locator("[data-testid='nkx-gantt'] rect").count() > 0
        shot(static, "static_export_same_browser.png")
        assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in static_requests), static_requests
        assert errors == [], errors
        browser.close()


def test_saved_outputs_without_running(lab, chromium_path):
    """The committed notebook opened as is: nothing runs, the saved outputs must do."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        # Trusted (its user ran and saved it): the saved iframe is the working explorer.
        page.goto(f"{lab}/lab/workspaces/nkipy-kg-saved/tree/saved_trusted.ipynb?reset", timeout=LONG)
        frame = page.frame_locator(".jp-OutputArea iframe").first
        frame.locator(".nkx .plist .p").first.wait_for(timeout=LONG)
        assert not page.locator(".jp-OutputArea .nkx-fallback").first.is_visible()
        # The widget output next to it has no model without a kernel: its error text is hidden.
        widget_error = page.get_by_text("Error displaying widget: model not found")
        widget_error.wait_for(state="attached", timeout=STEP)
        assert widget_error.count() == 1 and widget_error.is_hidden()
        frame.locator(".p[data-i='2']").click()
        assert frame.locator(".nkx").get_attribute("data-stage") == "2"
        assert frame.locator(".row.k-chg").count() > 0
        page.locator(".jp-OutputArea iframe").first.scroll_into_view_if_needed()
        shot(page, "jupyterlab_saved_trusted.png")

        # Untrusted (fresh from a clone): JupyterLab drops the iframe; the summary remains.
        page.goto(f"{lab}/lab/workspaces/nkipy-kg-saved2/tree/saved_untrusted.ipynb?reset", timeout=LONG)
        fallback = page.locator(".jp-OutputArea .nkx-fallback").first
        fallback.wait_for(timeout=LONG)
        assert page.locator(".jp-OutputArea iframe").count() == 0
        text = fallback.inner_text()
        assert text.startswith(f"nkipy-kg explorer · softmax (trn2): {len(PIPELINE)} of {len(PIPELINE)} passes ran")
        assert "trust the notebook" in text and "prepare-arithmetic" in text and "linalg-to-nisa" in text
        fallback.scroll_into_view_if_needed()
        shot(page, "jupyterlab_saved_untrusted.png")
        assert errors == [], errors
        browser.close()
