"""The pipeline driver: stop_after resolution, snapshots, dumps, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nkipy_kg import compile as nk_compile
from nkipy_kg import trace
from nkipy_kg.errors import IRError
from nkipy_kg.pipeline import CANONICALIZE_FOR_NISA, MEMREF_STAGE, NISA_STAGE, PIPELINE, resolve_stop


def test_pipeline_has_26_stages_in_reference_order():
    names = [s.name for s in PIPELINE]
    assert len(names) == 26 and (MEMREF_STAGE, NISA_STAGE) == (25, 26)
    assert names[3] == "infer-layout" and names[10] == "one-shot-bufferize" and names[24] == "canonicalize"
    assert names[-1] == "linalg-to-nisa" and PIPELINE[-1].phase == "backend"
    assert PIPELINE[-1].options_for("trn1") == "target=trn1"
    assert names.count("canonicalize") == 5


@pytest.mark.parametrize("stop, expected", [
    (None, 26), (0, 0), (7, 7), ("infer-layout", 4), ("py:infer-layout", 4), ("canonicalize", 12),
    ("canonicalize:1", 12), ("canonicalize:3", 18), ("canonicalize:5", 25),
    (CANONICALIZE_FOR_NISA, 3), ("tiling", 8), ("fusion", 9), ("scheduling", 25),
    ("backend", 26), ("linalg-to-nisa", 26), (26, 26),
])
def test_resolve_stop(stop, expected):
    assert resolve_stop(stop) == expected


@pytest.mark.parametrize("bad, error", [
    ("no-such-pass", ValueError), ("canonicalize:6", ValueError), ("canonicalize:x", ValueError),
    (27, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
])
def test_resolve_stop_rejects(bad, error):
    with pytest.raises(error):
        resolve_stop(bad)


def test_unknown_stop_lists_names():
    with pytest.raises(ValueError, match="infer-layout"):
        resolve_stop("infer-layouts")


def _kernel(a, b):
    return np.exp(a + b)


def test_stop_after_zero_gives_the_traced_input(tmp_path):
    kernel = trace(_kernel)
    x = np.ones((128, 128), np.float32)
    comp = kernel.compile(x, x, stop_after=0, dump_dir=tmp_path)
    assert [s.name for s in comp.snapshots] == ["input"]
    snap = comp.snapshots[0]
    assert snap.index == 0 and snap.changed and "linalg.add" in snap.ir
    assert snap.op_counts["linalg.add"] == 1 and snap.op_counts["linalg.exp"] == 1
    assert "test_driver.py" in snap.ir_with_locations and "loc(" not in snap.ir
    assert (tmp_path / "00_input.mlir").read_text() == snap.ir_with_locations


def test_unparsable_input_is_an_ir_error():
    with pytest.raises(IRError):
        nk_compile("func.func @f( {", stop_after=0)



def test_full_compile_ends_in_nisa_and_keeps_the_memref_ir(tmp_path):
    x = np.ones((128, 256), np.float32)
    comp = trace(_kernel).compile(x, x, target="trn1", dump_dir=tmp_path)
    assert len(comp.snapshots) == 27 and comp.snapshots[-1].name == "linalg-to-nisa"
    assert comp.final_ir == comp.nisa_ir and comp.memref_ir == comp.snapshots[25].ir
    assert "memref.copy" in comp.memref_ir and "linalg.generic" in comp.memref_ir and "nisa." not in comp.memref_ir
    counts = comp.snapshots[-1].op_counts
    assert counts.get("nisa.activation") == 1 and counts.get("nisa.tensor_tensor_arith") == 1
    assert not any(op.startswith("linalg.") or op == "memref.copy" for op in counts)
    assert 'nisa.target = "trn1"' in comp.nisa_ir and "test_driver.py" in comp.nisa_ir_with_locations
    assert (tmp_path / "26_linalg-to-nisa.mlir").read_text() == comp.snapshots[-1].ir_with_locations


def test_stop_after_25_has_memref_ir_but_no_nisa_ir():
    x = np.ones((128, 128), np.float32)
    comp = trace(_kernel).compile(x, x, stop_after=25)
    assert comp.nisa_ir is None and comp.memref_ir == comp.final_ir
    assert trace(_kernel).compile(x, x, stop_after=24).memref_ir is None


@pytest.mark.parametrize("name", ["rmsnorm", "softmax", "silu_ffn"])
def test_every_stage_is_reproduced_from_the_printed_previous_stage(name):
    """Each pass runs on exactly the text of the stage before it, so `nkipy-kg-opt` on a
    snapshot reproduces the next one (canonicalize once hid a use inside a named op's
    region from the printed form, and cse then kept a constant the text did not use)."""
    from nkipy_kg.kernels import CATALOGUE
    from nkipy_kg.passes import run_passes

    case = CATALOGUE[name]
    comp = nk_compile(trace(case.fn).to_mlir(*case.inputs()))
    for before, after in zip(comp.snapshots, comp.snapshots[1:]):
        options = {after.name: after.options} if after.options else None
        assert run_passes(before.ir, after.name, options=options).strip() == after.ir.strip(), after.name
