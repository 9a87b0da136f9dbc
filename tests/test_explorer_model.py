"""What each explorer view receives from `nkipy_kg.explore` (no browser needed)."""

from __future__ import annotations

import contextlib
import html
import inspect
import io
import json
import re
import shlex

import numpy as np
import pytest

from nkipy_kg import cli, knob
from nkipy_kg.errors import PassError, SourceLoc
from nkipy_kg.explore import Exploration, explore, ir_lines_of
from nkipy_kg.explore_html import render_html, saved_output_html, script_safe_json
from nkipy_kg.explore_locations import line_locations, strip_locations
from nkipy_kg.passes import REGISTRY, PassSpec
from nkipy_kg.pipeline import PIPELINE

STOP = "decompose-batch-matmul"   # the prefix of the pipeline every checkout implements
SPECS = [((256, 256), "f32")]


def softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    knob.knob(m).tile_op(tile_size=[128, 128]).layout(mem_space="Sbuf")
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return e / s


def _line_of(fn, text: str) -> int:
    lines, first = inspect.getsourcelines(fn)
    return first + next(k for k, l in enumerate(lines) if text in l)


@pytest.fixture(scope="module")
def ex() -> Exploration:
    return explore(softmax, specs=SPECS, stop_after=STOP)


def test_stage_list_covers_the_whole_pipeline(ex):
    assert [s.index for s in ex.stages] == list(range(len(PIPELINE) + 1))
    assert [s.name for s in ex.stages[1:]] == [st.name for st in PIPELINE]
    assert [s.phase for s in ex.stages[1:]] == [st.phase for st in PIPELINE]
    ran = [s.name for s in ex.ran]
    assert ran == ["input", "remove-redundant-zero-fill", "prepare-arithmetic", STOP]
    assert ex.stages[0].status == "input"
    assert all(s.status in ("not-run", "not-registered") for s in ex.stages[4:])
    assert ex.error is None


def test_changed_stage_has_op_deltas_timing_and_repro(ex):
    stage = ex.stages[2]          # prepare-arithmetic rewrites the division into reciprocal * mul
    assert stage.status == "changed"
    assert stage.op_deltas["linalg.reciprocal"] == 1
    assert stage.op_deltas["arith.mulf"] == 1
    assert stage.seconds > 0
    assert stage.repro == ("nkipy-kg-opt 01_remove-redundant-zero-fill.mlir "
                           "--pass-pipeline='builtin.module(prepare-arithmetic)'")
    assert ex.stages[1].status == "unchanged" and ex.stages[1].op_deltas == {}


def test_diff_opcodes_rebuild_the_after_ir(ex):
    for index, diff in ex.diffs.items():
        before, after = ex.stages[index - 1].ir.splitlines(), ex.stages[index].ir.splitlines()
        rebuilt = []
        for tag, i1, i2, j1, j2 in diff.opcodes:
            if tag == "equal":
                assert before[i1:i2] == after[j1:j2]
            rebuilt += after[j1:j2]
        assert rebuilt == after
    assert ex.diffs[1].added == ex.diffs[1].removed == 0
    assert ex.diffs[2].added > 0 and ex.diffs[2].removed > 0


def test_ir_lines_link_to_python_source(ex):
    stage = ex.stages[2]
    ir = stage.ir.splitlines()
    assert len(stage.source_lines) == len(ir)
    ops = [re.search(r" = ([a-z_]+\.[a-z_.]+)", line) for line in ir]
    by_op = {m.group(1): src for m, src in zip(ops, stage.source_lines) if m}
    assert by_op["linalg.reciprocal"] == _line_of(softmax, "e / s")
    assert by_op["linalg.exp"] == _line_of(softmax, "np.exp")
    assert by_op["linalg.generic"] is not None            # region ops take their body's line
    assert ex.source.file == __file__
    assert ex.source.lines[ex.stages[2].source_lines[ir.index(next(l for l in ir if "linalg.reciprocal" in l))]
                           - ex.source.first_line].strip() == "return e / s"


def test_location_parsing_resolves_aliases():
    text = '#loc = loc("k.py":3:1)\n#loc1 = loc("np.exp"(#loc))\n  %0 = math.exp %a : f32 loc(#loc1)\n'
    [(stripped, loc)] = line_locations(text)
    assert stripped == "  %0 = math.exp %a : f32"
    assert loc == SourceLoc("k.py", 3, 0, "np.exp")
    assert strip_locations('func.func @f(%a: f32 loc("a"(#loc))) {') == "func.func @f(%a: f32) {"


def test_json_ships_each_line_once(ex):
    data = json.loads(ex.to_json())
    assert data["stages"][0]["ir_lines"] == ex.stages[0].ir.splitlines()
    assert data["stages"][1]["ir_lines"] == [] and data["stages"][1]["ir_delta"] == []   # unchanged
    inserted = sum(len(chunk) for chunk in data["stages"][2]["ir_delta"])
    assert inserted == ex.diffs[2].added < len(ex.stages[2].ir.splitlines())
    for s in ex.ran:
        assert ir_lines_of(data, s.index) == s.ir.splitlines()
    assert set(data["diffs"]) == {"1", "2", "3"}


def _failing_pass(module_op, **_):
    raise PassError("tile 128x3 does not divide 256", SourceLoc(__file__, _line_of(softmax, "np.exp"), 8),
                    pass_name="prepare-arithmetic")


def test_failed_pass_keeps_earlier_stages(monkeypatch):
    monkeypatch.setitem(REGISTRY, "prepare-arithmetic", PassSpec("prepare-arithmetic", "fails", body=_failing_pass))
    ex = explore(softmax, specs=SPECS, stop_after=STOP)
    assert [s.status for s in ex.stages[:4]] == ["input", "unchanged", "failed", "not-run"]
    failed = ex.stages[2]
    assert failed.ir == "" and "prepare-arithmetic" in failed.repro
    assert ex.error.stage == 2 and ex.error.pass_name == "prepare-arithmetic"
    assert ex.error.line == _line_of(softmax, "np.exp")
    assert "tile 128x3 does not divide 256" in ex.error.rendered
    assert "failed='prepare-arithmetic'" in repr(ex)
    assert json.loads(ex.to_json())["error"]["stage"] == 2


def test_ir_text_input_has_no_source(ex):
    from_text = explore(ex.stages[0].ir, stop_after=STOP)
    assert from_text.source is None
    assert [s.status for s in from_text.ran] == ["input", "unchanged", "changed", "unchanged"]


def test_json_and_repr_are_stable():
    a, b = (explore(softmax, specs=SPECS, stop_after=STOP) for _ in range(2))
    strip = lambda e: re.sub(r'"seconds":[0-9.e-]+', '"seconds":0', e.to_json())  # noqa: E731
    assert strip(a) == strip(b)
    assert " at 0x" not in a.to_json() and " at 0x" not in repr(a)
    changed = sum(s.status == "changed" for s in a.stages)
    assert changed >= 1          # prepare-arithmetic rewrites the division
    assert repr(a) == f"Exploration(kernel='softmax', target='trn2', stages=4/{len(PIPELINE) + 1}, changed={changed})"


def test_everything_is_escaped_in_html():
    evil = "<script>window.__pwned=1</script>"
    ex = explore(softmax, specs=SPECS, stop_after=STOP, kernel_name=evil)
    assert ex.title == f"nkipy-kg · {evil}"
    page = render_html(ex.to_json(), title=evil)
    assert evil not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page        # the <title>
    assert "\\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e" in page
    assert script_safe_json('"</script><!--"') == '"\\u003c/script\\u003e\\u003c!--"'
    assert "https://" not in page and "http://" not in page


def test_saved_output_is_the_page_plus_a_plain_summary(ex):
    """What a notebook keeps: the explorer in an iframe, and for viewers that strip
    iframes and styles (untrusted JupyterLab, GitHub) a table of every stage."""
    evil = "<img src=x onerror=alert(1)>"
    hostile = explore(softmax, specs=SPECS, stop_after=STOP, kernel_name=evil)
    out = saved_output_html(hostile)
    assert out.startswith('<div class="nkx-static" data-nkigen-static="1"><style>')
    assert out.count("<iframe srcdoc=") == 1 and "\n" not in out.split("</iframe>")[1]
    fallback = out[out.index('<div class="nkx-fallback"'):]
    assert "<iframe" not in fallback and "<script" not in fallback and evil not in out
    assert html.escape(evil) in fallback
    assert fallback.count("<tr>") == len(hostile.stages) + 1                  # the header row + every stage
    for s in hostile.stages:
        assert f">{s.name}<" in fallback
    ran = len(hostile.ran) - 1
    changed = sum(s.status == "changed" for s in hostile.stages)
    assert f"{ran} of {len(PIPELINE)} passes ran, {changed} changed the IR" in fallback
    assert hostile._repr_html_() == out


@pytest.fixture(scope="module")
def full() -> Exploration:
    return explore(softmax, specs=SPECS, diagrams=False)


@pytest.mark.parametrize("index", range(1, len(PIPELINE) + 1))
def test_repro_command_rebuilds_the_stage(full, index, tmp_path):
    """Every stage's `reproduce` command, run on the previous stage's IR as the explorer
    downloads it (`NN_name.mlir`), prints exactly that stage's IR."""
    stage, before = full.stages[index], full.stages[index - 1]
    assert stage.ran, stage.status
    argv = shlex.split(stage.repro)
    assert argv[0] == "nkipy-kg-opt" and argv[1] == f"{index - 1:02d}_{before.name}.mlir"
    (tmp_path / argv[1]).write_text(before.ir)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main([str(tmp_path / argv[1]), *argv[2:]]) == 0
    assert out.getvalue().rstrip("\n") == stage.ir.rstrip("\n")
