"""The static explorer HTML in a real headless Chromium: the diagram views (tiles, memory,
graph), the Run tab (timeline, utilisation, NumPy check, downloads), diffs of any two
stages and compare mode.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer_browser import (  # noqa: F401 - fixtures
    STOP, browser, chromium_path, dot_binary, fake_run, line_of, open_page, shot, softmax, softmax_t64,
)
from nkipy_kg.explore import explore
from nkipy_kg.pipeline import PIPELINE

pytest.importorskip("playwright.sync_api")


def test_diagram_views_render_svg(open_page, dot_binary):
    from test_pipeline_e2e import long_lived

    page = open_page(explore(softmax, specs=[((256, 256), "f32")]), name="diagrams.html")
    infer = next(i for i, s in enumerate(PIPELINE, 1) if s.name == "infer-layout")
    page.click(f".p[data-i='{infer}']")
    page.click(".tab[data-view='tiles']")
    assert page.get_attribute(".nkx", "data-view") == "tiles"
    assert page.locator(".diff").is_hidden() and page.locator(".diagram").is_visible()
    card = page.locator(".tcard.k-tile_op").first
    assert "tile 128×128 · grid 2×2" in card.inner_text()
    assert card.locator("svg.tile-svg rect.tile").count() == 4
    assert card.locator("svg.tile-svg text.tlabel").text_content() == "128 × 128"     # the first tile's size
    assert "subf · exp" in page.locator(".tcard .tc-body").all_inner_texts()       # a fused generic's body
    shot(page, "explorer_tiles.png")
    # After tiling: each op inside its scf.for nest, the loops' trips over its tile.
    tiled = next(i for i, s in enumerate(PIPELINE, 1) if s.name == "apply-and-strip-transforms")
    page.click(f".p[data-i='{tiled}']")
    loops = page.locator(".tcard.k-loop")
    assert loops.count() >= 3 and "for 0..256 step 128 → 2 trips" in loops.first.inner_text()
    shot(page, "explorer_tiles_loops.png")
    page.click(f".p[data-i='{infer}']")
    # Choosing one tensor/op shows just that one; j/k still step the passes in a diagram view.
    page.select_option(".tile-pick", "0")
    assert page.locator(".tcard").count() == 1
    page.focus(".nkx")
    page.keyboard.press("j")
    assert page.get_attribute(".nkx", "data-stage") == str(infer + 1)
    assert "IR unchanged since stage" in page.inner_text(".tab-note")   # canonicalize-partition-dim: no change
    page.keyboard.press("4")
    assert page.get_attribute(".nkx", "data-view") == "graph"
    if dot_binary is None:
        assert "apt-get install graphviz" in page.inner_text("[data-testid='nkx-graph-missing']")
    else:
        assert page.locator(".graph-box svg g.node").count() >= 10
        assert page.locator(".graph-box script").count() == 0
        page.click(".p[data-i='10']")
        assert page.locator(".graph-box svg g.cluster").count() >= 1
        spaces = next(i for i, s in enumerate(PIPELINE, 1) if s.name == "annotate-memory-space")
        page.click(f".p[data-i='{spaces}']")
        assert page.locator(".graph-box svg g.node").count() >= 10
        shot(page, "explorer_graph.png")
        page.check(".fit-graph")                                          # wide graphs fit on request
        box = page.locator(".graph-box").bounding_box()
        assert abs(page.locator(".graph-box svg").bounding_box()["width"] - box["width"]) < 2
        page.click(".p[data-i='10']")
        assert page.is_checked(".fit-graph")                              # and stay fitted across passes
    page.keyboard.press("1")
    assert page.locator(".diff").is_visible() and page.locator(".diagram").is_hidden()

    x = np.zeros((256, 256), np.float32)
    tight = explore(long_lived, x, x, pass_options={"insert-spill-reload": "sbuf-capacity=5120"})
    page = open_page(tight, name="memory.html")
    spill = next(i for i, s in enumerate(PIPELINE, 1) if s.name == "insert-spill-reload")
    page.click(f".p[data-i='{spill}']")
    page.click(".tab[data-view='memory']")
    assert page.locator("svg.pressure path.ar-sbuf").count() == 1
    assert page.locator("svg.pressure .ev-spill").count() == 1 and page.locator("svg.pressure .ev-reload").count() == 1
    assert page.locator("svg.rects .buf").count() >= 3
    assert "1 spill" in page.inner_text(".mem-stats") and "5 KiB" in page.inner_text(".mem-stats")
    assert "spill budget 5 KiB (sbuf-capacity)" in page.text_content("svg.pressure")
    assert "SBUF capacity 208.0 KiB is off the scale" in page.inner_text(".diagram")
    shot(page, "explorer_memory.png")
    page.click(".p[data-i='0']")
    assert "memory appears after one-shot-bufferize" in page.inner_text(".diagram")


def test_graph_view_without_graphviz_says_what_to_install(open_page, monkeypatch):
    import nkipy_kg.explore_graph as graph

    monkeypatch.setattr(graph.shutil, "which", lambda name: None)       # no `dot` on the PATH
    page = open_page(explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP), name="nodot.html")
    page.focus(".nkx")
    page.keyboard.press("4")
    text = page.inner_text("[data-testid='nkx-graph-missing']")
    assert "apt-get install graphviz" in text and "pip install graphviz" in text
    assert "ops ·" in page.inner_text(".mem-stats") and page.locator(".graph-box").count() == 0


# ---- the Run tab, compare mode -------------------------------------------------------

def test_compare_any_two_stages(open_page):
    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    page = open_page(ex)
    rebuilt = page.evaluate("""() => {
      const data = JSON.parse(document.getElementById("nkx-data").textContent);
      return data.stages.map((s, i) => stageLines(data, i).join("\\n"));
    }""")
    assert rebuilt[:4] == [s.ir.rstrip("\n") for s in ex.stages[:4]]
    page.click(".p[data-i='3']")
    page.select_option(".base", "0")
    assert "Comparing stage 0 with stage 3" in page.inner_text(".diff .nochange")
    assert page.locator(".row.k-chg, .row.k-add").count() > 0
    page.click(".p[data-i='2']")                       # the choice sticks while stepping
    assert page.input_value(".base") == "0"
    page.select_option(".base", "-1")
    assert "before · 1" in page.inner_text(".col-l")
    # The JS line diff (used for non-adjacent stages) rebuilds its target exactly.
    ok = page.evaluate("""() => {
      let seed = 7; const rnd = (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
      for (let t = 0; t < 200; t++) {
        const a = Array.from({length: rnd(60)}, () => "l" + rnd(8));
        const b = Array.from({length: rnd(60)}, () => "l" + rnd(8));
        const out = [];
        for (const [tag, i1, i2, j1, j2] of lineDiff(a, b)) {
          if (tag === "equal" && a.slice(i1, i2).join() !== b.slice(j1, j2).join()) return false;
          out.push(...b.slice(j1, j2));
        }
        if (out.join() !== b.join()) return false;
      }
      const big = Array.from({length: 3000}, (_, i) => "u" + i), big2 = big.slice(); big2.splice(1500, 10, "x", "y");
      const ops = lineDiff(big, big2);
      return ops.filter((o) => o[0] !== "equal").length === 1;
    }""")
    assert ok



def test_run_tab_renders_and_downloads(open_page):

    ex = explore(softmax, specs=[((256, 256), "f32")], run=True)
    run = ex.run
    page = open_page(ex, name="run.html")
    page.click(".tab[data-view='run']")
    assert page.get_attribute(".nkx", "data-view") == "run"
    assert page.text_content("[data-testid=nkx-timing-kind]") == "modeled"
    assert page.inner_text("[data-testid=nkx-device]") == "SimulatedNeuronCore(trn2)"
    assert page.inner_text("[data-testid=nkx-time]") == f"{run.time_us:.3f} µs"
    assert page.locator("svg.gantt rect.gb").count() == len(run.boxes) > 0
    assert page.locator("svg.gantt text.lane").all_text_contents() == list(run.lanes)
    assert page.locator(".ub").count() == len(run.utilisation)
    vector = page.get_attribute(".ub[data-engine='Vector'] .ub-fill", "style")
    assert vector == f"width:{100 * run.utilisation['Vector']:.1f}%"
    assert page.locator("[data-testid=nkx-numpy] tr.ok").count() == 1
    assert "NumPy: pass" in page.inner_text(".run-sum")
    shot(page, "explorer_run.png")

    # Clicking a box pins the Python line it came from.
    box = page.locator("svg.gantt rect.gb[data-line]").first
    line = box.get_attribute("data-line")
    box.click()
    assert page.get_attribute(".sl.pin", "data-line") == line

    # Downloads are Blobs of the embedded data: the selected stage's IR, the Perfetto trace.
    last = len(ex.stages) - 1
    with page.expect_download() as info:
        page.click("[data-testid=nkx-dl-ir]")
    dl = info.value
    assert dl.suggested_filename == f"{last:02d}_linalg-to-nisa.mlir"
    assert dl.url.startswith("blob:")
    assert open(dl.path()).read() == ex.stages[last].ir.rstrip("\n") + "\n"
    page.select_option(".dl-stage", "0")
    with page.expect_download() as info:
        page.click("[data-testid=nkx-dl-ir]")
    assert open(info.value.path()).read() == ex.stages[0].ir.rstrip("\n") + "\n"
    with page.expect_download() as info:
        page.click("[data-testid=nkx-dl-trace]")
    trace = json.loads(open(info.value.path()).read())
    assert info.value.suggested_filename == "softmax_trace.json"
    assert sum(e["ph"] == "X" for e in trace["traceEvents"]) == run.events_total
    page.focus(".nkx")
    page.keyboard.press("1")
    assert page.get_attribute(".nkx", "data-view") == "ir"
    page.keyboard.press("5")
    assert page.get_attribute(".nkx", "data-view") == "run"

def test_gantt_stays_small_on_a_long_run(open_page):
    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    ex.run = fake_run(30000)
    assert len(ex.run.boxes) <= 2000
    page = open_page(ex, name="long_run.html")
    page.focus(".nkx")
    page.keyboard.press("5")
    assert page.locator("svg.gantt rect.gb").count() == len(ex.run.boxes)
    assert page.locator("svg.gantt rect.gb.agg").count() > 0
    assert page.inner_text("[data-testid=nkx-gantt-note]").startswith("30000 instructions drawn as")
    shot(page, "explorer_run_long.png")


def test_compare_mode_renders(open_page):
    from nkipy_kg.explore_compare import compare

    cmp = compare(softmax, softmax_t64, specs=[((256, 256), "f32")], run=True)
    page = open_page(cmp, name="compare.html")
    assert page.locator(".kname").all_inner_texts() == ["softmax", "softmax_t64"]
    assert page.input_value(".base") == "-2"                     # same stage of the other kernel
    tiling = next(i for i, s in enumerate(PIPELINE, 1) if s.name == "knob-driven-tiling")
    page.click(f".p[data-i='{tiling}']")
    text = page.inner_text("[data-testid=nkx-compare]")
    assert text.startswith(f"Comparing stage {tiling} of softmax with stage {tiling} of softmax_t64")
    assert page.locator(".row.k-chg .wd").count() > 0             # 128 vs 64 tiles, word-level marks
    assert "softmax_t64 · stage" in page.inner_text(".col-r")
    # Both kernels live in one file: the source panel shows both, and b's IR lines link into it.
    line = line_of(softmax_t64, "e / s")
    page.click(f".side.r .code[data-src='{line}'] >> nth=0")
    assert page.get_attribute(".sl.pin", "data-line") == str(line)
    assert page.locator(".p .db").count() == len(cmp.b.stages)  # the other kernel's deltas in the list
    assert "softmax_t64" in page.inner_text("[data-testid=nkx-other-deltas]")
    shot(page, "explorer_compare.png")
    page.select_option(".base", "-1")
    assert "before ·" in page.inner_text(".col-l")
    page.select_option(".base", "-2")
    page.click(".tab[data-view='run']")
    assert page.locator(".run-sum").count() == 2 and "takes" in page.inner_text(".run-vs")


def test_hostile_text_in_the_run_tab_and_compare_mode(open_page):
    from nkipy_kg.explore_compare import Comparison

    evil = "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"
    a = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP, kernel_name=evil)
    b = explore(softmax_t64, specs=[((256, 256), "f32")], stop_after=STOP, kernel_name=evil + "b")
    a.run = fake_run(50, name=evil, device=evil)
    b.run = fake_run(0, device=evil, error=evil + " simulation failed")
    for obj, name in [(a, "evil_run.html"), (Comparison(a, b), "evil_compare.html")]:
        page = open_page(obj, name=name)
        page.focus(".nkx")
        page.keyboard.press("5")
        assert page.inner_text("[data-testid=nkx-device]") == evil
        assert evil in page.locator("svg.gantt rect.gb title").first.inner_html().replace("&lt;", "<").replace("&gt;", ">")
        with page.expect_download() as info:
            page.click("[data-testid=nkx-dl-ir]")
        assert info.value.suggested_filename.endswith(".mlir") and "<" not in info.value.suggested_filename
        page.keyboard.press("1")
        assert page.evaluate("window.__pwned") is None and page.dialogs == []
        assert page.locator(".nkx img, .nkx script").count() == 0
    assert evil + "b" in page.inner_text(".kname-b")
    page.evaluate("window.nkigen.select(2)")
    assert page.locator("[data-testid=nkx-compare]").count() == 1
    page2 = open_page(b, name="evil_error.html")
    page2.focus(".nkx")
    page2.keyboard.press("5")
    assert page2.inner_text("[data-testid=nkx-run-error]") == evil + " simulation failed"
    assert page2.evaluate("window.__pwned") is None and page2.locator(".nkx img").count() == 0


def test_saved_output_run_tab_downloads_inside_the_sandbox(browser, tmp_path):
    """The `<iframe srcdoc>` copy: its sandbox allows the Run tab's Blob downloads."""
    pytest.importorskip("anywidget")
    from explorer_ext.widget import StaticExplorer

    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    ex.run = fake_run(40)
    page_file = tmp_path / "saved_run.html"
    page_file.write_text(f"<!DOCTYPE html><html><body>{StaticExplorer(ex)._repr_html_()}</body></html>")
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(page_file.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator(".tab[data-view='run']").click()
    assert frame.locator("svg.gantt rect.gb").count() == 40
    with page.expect_download() as info:
        frame.locator("[data-testid=nkx-dl-trace]").click()
    assert info.value.suggested_filename == "softmax_trace.json"
    page.close()


def test_measured_run_is_labelled_measured(open_page):
    from types import SimpleNamespace

    from nkipy_kg.explore_run import run_view_of

    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    out = np.ones((2, 2), np.float32)
    ex.run = run_view_of(SimpleNamespace(outputs=out, time_us=4.5, timing_kind="measured", device="NeuronDevice(trn2)",
                                         profile=None, compilation=None), expected=out)
    page = open_page(ex, name="measured.html")
    page.click(".tab[data-view='run']")
    assert page.text_content("[data-testid=nkx-timing-kind]") == "measured"
    assert page.inner_text("[data-testid=nkx-time]") == "4.500 µs"
    assert "returned no profile" in page.inner_text(".diagram") and page.locator("svg.gantt").count() == 0
    assert page.is_disabled("[data-testid=nkx-dl-trace]")
