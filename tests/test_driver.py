"""The pipeline driver: stop_after resolution, snapshots, dumps, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nkipy_kg import compile as nk_compile
from nkipy_kg import trace
from nkipy_kg.errors import IRError
from nkipy_kg.pipeline import CANONICALIZE_FOR_NISA, PIPELINE, resolve_stop


def test_pipeline_has_25_stages_in_reference_order():
    names = [s.name for s in PIPELINE]
    assert len(names) == 25
    assert names[3] == "infer-layout" and names[10] == "one-shot-bufferize" and names[-1] == "canonicalize"
    assert names.count("canonicalize") == 5


@pytest.mark.parametrize("stop, expected", [
    (None, 25), (0, 0), (7, 7), ("infer-layout", 4), ("py:infer-layout", 4), ("canonicalize", 12),
    ("canonicalize:1", 12), ("canonicalize:3", 18), ("canonicalize:5", 25),
    (CANONICALIZE_FOR_NISA, 3), ("tiling", 8), ("fusion", 9), ("scheduling", 25),
])
def test_resolve_stop(stop, expected):
    assert resolve_stop(stop) == expected


@pytest.mark.parametrize("bad, error", [
    ("no-such-pass", ValueError), ("canonicalize:6", ValueError), ("canonicalize:x", ValueError),
    (26, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
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

