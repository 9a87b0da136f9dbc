"""The static explorer HTML in a real headless Chromium: the IR views (pass list, diff,
source linking, search, failures, downloads), the widget's ESM entry point, the
saved `<iframe srcdoc>` output, and pass-switch timings on a 5,000-line IR (recorded in
tests/artifacts/explorer_timing.txt; the speed target itself lives in bench/explorer_switch.py).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from explorer_browser import (  # noqa: F401 - fixtures
    ARTIFACTS, STOP, browser, chromium_path, line_of, open_page, shot, softmax,
)
from nkipy_kg.errors import PassError, SourceLoc
from nkipy_kg.explore import explore
from nkipy_kg.passes import REGISTRY, PassSpec
from nkipy_kg.pipeline import PIPELINE

pytest.importorskip("playwright.sync_api")


def deep(x):
    """~5k lines of IR: every step has a division that prepare-arithmetic rewrites."""
    for _ in range(400):
        x = np.exp(x) / (x + 1.0)
    return x


@pytest.fixture(scope="module", autouse=True)
def _fresh_artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "explorer_timing.txt").unlink(missing_ok=True)


def test_click_pass_shows_diff_and_source_links(open_page):
    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    page = open_page(ex)
    assert page.inner_text(".logo") == "nkipy-kg" and page.title() == "nkipy-kg · softmax"
    page.click(".p[data-i='0']")
    assert page.locator(".diff.single .row").count() > 10             # the traced IR alone
    page.click(".p[data-i='2']")
    assert page.get_attribute(".nkx", "data-stage") == "2"
    assert page.locator(".row.k-chg").count() > 0 and page.locator(".row.k-chg .wd").count() > 0
    assert page.locator(".row.fold").count() >= 1                        # unchanged runs are folded
    assert "prepare-arithmetic" in page.inner_text(".stage-head")
    assert "+1 linalg.reciprocal" in page.inner_text(".opds")
    assert "builtin.module(prepare-arithmetic)" in page.inner_text(".repro code")

    # Source -> IR: clicking `return e / s` pins the IR lines it produced, on both sides.
    line = line_of(softmax, "e / s")
    page.click(f".sl[data-line='{line}']")
    pinned = page.locator(".code.pin")
    assert pinned.count() >= 2
    assert any("linalg.reciprocal" in t for t in pinned.all_inner_texts())
    # IR -> source: hovering an IR line lights its Python line.
    page.hover(".side.r .code:has-text('linalg.exp')")
    assert page.get_attribute(".sl.lit", "data-line") == str(line_of(softmax, "np.exp"))
    shot(page, "explorer_softmax.png")

    # Folded regions expand.
    folds = page.locator(".row.fold").count()
    page.click(".row.fold >> nth=0")
    assert page.locator(".row.fold").count() == folds - 1

    # Indentation is drawn as padding: a wrapped line continues under its own text.
    indented = page.locator(".diff .code[style*='--i']")
    assert indented.count() > 10
    assert not any(t[:1].isspace() for t in indented.all_text_contents())
    body = page.locator(".diff .code:has-text('linalg.reciprocal')").first
    assert body.evaluate("e => getComputedStyle(e).paddingLeft") != page.locator(".diff .code").first.evaluate(
        "e => getComputedStyle(e).paddingLeft")

    # The repro command's input file, and this stage's IR, download as `NN_name.mlir`.
    with page.expect_download() as info:
        page.click("[data-testid=nkx-dl-input]")
    assert info.value.suggested_filename == "01_remove-redundant-zero-fill.mlir"
    assert "01_remove-redundant-zero-fill.mlir" in page.inner_text(".repro code")
    assert open(info.value.path()).read() == ex.stages[1].ir.rstrip("\n") + "\n"
    with page.expect_download() as info:
        page.click("[data-testid=nkx-dl-stage]")
    assert info.value.suggested_filename == "02_prepare-arithmetic.mlir"
    assert open(info.value.path()).read() == ex.stages[2].ir.rstrip("\n") + "\n"


def test_keyboard_filter_and_search(open_page):
    page = open_page(explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP))
    page.click(".p[data-i='2']")
    page.focus(".nkx")
    page.keyboard.press("j")
    assert page.get_attribute(".nkx", "data-stage") == "3"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("k")
    assert page.get_attribute(".nkx", "data-stage") == "1"
    page.keyboard.press("ArrowDown")
    assert page.get_attribute(".nkx", "data-stage") == "2"

    all_rows = page.locator(".p").count()
    page.check(".hide-unchanged")
    names = page.locator(".p .name").all_inner_texts()
    assert names == ["input", "prepare-arithmetic"] and all_rows == len(PIPELINE) + 1
    page.uncheck(".hide-unchanged")
    page.fill(".filter", "canon")
    assert page.locator(".p .name").all_inner_texts() == [s.name for s in PIPELINE if "canon" in s.name]
    page.fill(".filter", "")

    page.focus(".nkx")
    page.keyboard.press("/")
    page.keyboard.type("reciprocal")
    page.wait_for_selector(".nkx[data-rendered='full']")
    page.wait_for_selector("mark.q")
    page.keyboard.press("Enter")
    assert page.locator(".row.hit.cur").count() == 1
    assert page.inner_text(".hits").startswith("1/")


def _failing(module_op, **_):
    loc = SourceLoc(inspect.getsourcefile(softmax), line_of(softmax, "np.exp"), 8)
    raise PassError("<script>window.__pwned=2</script> cannot tile", loc, pass_name="prepare-arithmetic")


def test_failed_pass_and_hostile_text(open_page, monkeypatch):
    monkeypatch.setitem(REGISTRY, "prepare-arithmetic", PassSpec("prepare-arithmetic", "fails", body=_failing))
    evil = "<img src=x onerror=window.__pwned=1><script>window.__pwned=1</script>"
    page = open_page(explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP, kernel_name=evil))
    assert page.get_attribute(".nkx", "data-stage") == "2"           # opens on the failure
    assert page.locator(".p.st-failed .name").inner_text() == "prepare-arithmetic"
    assert "<script>window.__pwned=2</script> cannot tile" in page.inner_text("[data-testid=nkx-error]")
    assert page.inner_text(".kname") == evil
    assert page.evaluate("window.__pwned") is None and page.dialogs == []
    assert page.locator(".nkx img").count() == 0
    assert page.locator(".p.st-not-run").count() > 0
    shot(page, "explorer_failed.png")


SELECT = """(i) => new Promise((done) => {
  const root = document.querySelector(".nkx");
  const t = performance.now();
  window.nkigen.select(i);
  const first = performance.now() - t;
  const rows = root.querySelectorAll(".diff .row").length;   // in the DOM when select() returns
  const poll = () => root.dataset.rendered === "full"
    ? requestAnimationFrame(() => done([first, performance.now() - t, rows, root.querySelectorAll(".diff .row").length])) : setTimeout(poll, 5);
  poll();
})"""


def _time_switches(page, stages) -> list[tuple[int, float, float, int, int]]:
    """(stage, ms until the first screen is in the DOM, ms until every line is, rows drawn
    synchronously, rows in the end) per switch."""
    return [(i, *page.evaluate(SELECT, i)) for i in stages]


def _report(name: str, lines: int, timings, paints: list[float] = ()) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    rows = "".join(f"  select stage {i}: first screen {a:6.1f} ms, all lines {b:7.1f} ms\n" for i, a, b, *_ in timings)
    if paints:
        ordered = sorted(paints)
        rows += (f"  key press -> next painted frame over {len(paints)} j/k switches: median "
                 f"{ordered[len(ordered) // 2]:.1f} ms, max {ordered[-1]:.1f} ms (target 100 ms: bench/explorer_switch.py)\n")
    with open(ARTIFACTS / "explorer_timing.txt", "a") as out:
        out.write(f"{name}: {lines} IR lines\n{rows}")


# Per key press: [stage after it, ms from the key event to the first frame painted after it].
KEY_TO_PAINT = """() => {
  window.__paints = [];
  const root = document.querySelector(".nkx");
  document.addEventListener("keydown", (e) => {
    const t0 = e.timeStamp;
    requestAnimationFrame(() => setTimeout(() => window.__paints.push([Number(root.dataset.stage), performance.now() - t0]), 0));
  }, true);
}"""


def _key_to_paint(page, keys: str) -> list[tuple[int, float]]:
    page.evaluate(KEY_TO_PAINT)
    page.focus(".nkx")
    for n, key in enumerate(keys, 1):
        page.keyboard.press(key)
        page.wait_for_function(f"() => window.__paints.length >= {n}")
        page.wait_for_selector(".nkx[data-rendered='full']")
    return [tuple(p) for p in page.evaluate("window.__paints")]


def test_pass_switch_is_fast_on_a_large_ir(open_page):
    ex = explore(deep, specs=[((128, 128), "f32")], stop_after=STOP)
    lines = max(len(s.ir.splitlines()) for s in ex.ran)
    assert lines > 5000
    page = open_page(ex)
    timings = _time_switches(page, [0, 1, 2, 3, 2, 0])
    paints = _key_to_paint(page, "jjjkkkjjjkkk")
    assert [stage for stage, _ in paints] == [1, 2, 3, 2, 1, 0] * 2       # real keys stepped the list
    _report("deep (400 x exp/div)", lines, timings, [ms for _, ms in paints])
    page.click(".p[data-i='2']")
    shot(page, "explorer_large.png")
    # Speed itself is measured (artifacts/explorer_timing.txt, bench/explorer_switch.py), not
    # asserted: a loaded CI machine is no benchmark. What is asserted is why it is fast: a
    # pass switch draws only the first block of rows (100) synchronously, the rest later.
    assert all(first <= 101 for *_, first, _ in timings), timings
    assert max(total for *_, total in timings) > 5000


def test_pass_switch_on_the_transformer_layer(open_page):
    from nkipy_kg.kernels import CATALOGUE

    case = CATALOGUE["transformer_layer"]
    ex = explore(case.fn, specs=[(s, "f32") for s in case.shapes])      # as far as the pipeline gets
    lines = max(len(s.ir.splitlines()) for s in ex.ran)
    page = open_page(ex)
    stages = [s.index for s in ex.stages if s.ran or s.status == "failed"]
    timings = _time_switches(page, stages + stages[::-1])
    _report(f"transformer_layer (full pipeline: {repr(ex)})", lines, timings)
    assert all(first <= 101 for *_, first, _ in timings), timings


WIDGET_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}</style></head><body>
<div class="jp-OutputArea">
  <div class="jp-OutputArea-child" id="static"><div data-nkigen-static="1">static copy</div></div>
  <div class="jp-OutputArea-child"><div id="el"></div></div>
</div>
<script type="application/json" id="d">{data}</script>
<script type="module">
{js}
const state = {{ data: document.getElementById("d").textContent, stage: -1 }};
const handlers = {{}};
const model = {{
  get: (k) => state[k], set: (k, v) => {{ state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); }},
  on: (e, f) => {{ (handlers[e] = handlers[e] || []).push(f); }}, off() {{}},
  save_changes: () => {{ window.saves = (window.saves || 0) + 1; }},
}};
window.widgetState = state;
window.fromPython = (i) => model.set("stage", i);
window.cleanup = widget.render({{ model, el: document.getElementById("el") }});
</script></body></html>"""


def test_anywidget_entry_point_with_a_stub_model(browser, tmp_path):
    """The widget's ESM `render({model, el})`: draws, syncs `stage`, hides the static copy."""
    from nkipy_kg.explore_html import bundle_js, script_safe_json, static_text

    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    js = bundle_js().replace("export default {", "const widget = {")
    page_file = tmp_path / "widget.html"
    page_file.write_text(WIDGET_PAGE.format(css=static_text("explorer.css"), js=js,
                                            data=script_safe_json(ex.to_json())))
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_file.as_uri())
    page.wait_for_selector("#el .nkx .p")
    assert page.is_hidden("#static")
    page.click("#el .p[data-i='1']")
    assert page.evaluate("window.widgetState.stage") == 1 and page.evaluate("window.saves") == 1
    page.evaluate("window.fromPython(2)")                  # Python sets widget.stage
    assert page.get_attribute("#el .nkx", "data-stage") == "2" and page.evaluate("window.saves") == 1
    page.evaluate("window.cleanup()")
    assert page.inner_html("#el .nkx") == ""
    assert errors == []
    page.close()


def test_saved_notebook_output_renders_without_a_kernel(browser, tmp_path):
    """The `<iframe srcdoc>` output `%%nkigen` saves: a sandboxed page that still works."""
    pytest.importorskip("anywidget")
    from explorer_ext.widget import StaticExplorer

    ex = explore(softmax, specs=[((256, 256), "f32")], stop_after=STOP)
    page_file = tmp_path / "saved.html"
    page_file.write_text(f"<!DOCTYPE html><html><body>{StaticExplorer(ex)._repr_html_()}</body></html>")
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(page_file.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator(".nkx .p").first.wait_for()
    frame.locator(".p[data-i='1']").click()
    assert frame.locator(".nkx").get_attribute("data-stage") == "1"
    assert frame.locator(".stage-head").inner_text().startswith("1")
    assert page.locator(".nkx-fallback").is_hidden()          # the summary is for pages without the iframe
    page.close()
