"""The whole pipeline over the reference compiler's e2e catalogue (digest section 5.2).

Every kernel of `nkipy_kg.kernels.REFERENCE_SUITE` is compiled twice: with the
reference's knobs, and with every knob stripped (fully automatic layout). Each run
checks structure after the key passes (tiling matches the knobs, memory spaces,
SBUF partition dims, no nkipy ops left) and the numerics of the final memref IR
(CPU JIT) against NumPy. Custom-op kernels (#12-#15) need the NKI toolchain and are
not part of the suite.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest

from nkipy_kg import trace
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.driver import compile as nk_compile
from nkipy_kg.kernels import REFERENCE_SUITE
from nkipy_kg.pipeline import MEMREF_STAGE, PIPELINE
from nkipy_kg.passes import REGISTRY

# Numerics only up to 1024^3 multiply-adds (the larger matmul+bias configurations only compile).
MAX_JIT_MACS = 1024 ** 3

# Known gaps, as strict xfails: "<pass>: <first line of the error>". They turn red once fixed.
GAPS: dict[tuple[str, str], str] = {
}


@functools.cache
def _traced(name: str) -> str:
    case = REFERENCE_SUITE[name]
    return trace(case.fn).to_mlir(*case.inputs()).operation.get_asm(enable_debug_info=True)


def _module(name: str, knobs: bool) -> str:
    text = _traced(name)
    if knobs:
        return text
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        REGISTRY["strip-nkipy-annotations"].add_to(pm)
        pm.run(module.operation)
        return module.operation.get_asm(enable_debug_info=True)


def _defs(text: str) -> dict[str, str]:
    """SSA name -> the op defining it, from the traced text."""
    return {m[1]: m[2] for m in re.finditer(r"^\s*(%[\w.$-]+)(?::\d+)? = ([\w.]+)", text, re.M)}


def _tile_slices(text: str) -> list[str]:
    """For every `nkipy.tile_op`, the operand tile shape tiling must produce (e.g. "128x128xf32").

    Matmul tiles are [M, N, K] (or [1, M, N, K]): the LHS tile is M x K. Elementwise and
    reduction tiles list one size per iterator, which is the (first) input's tile. Knobs on
    values that no linalg op produces (a concatenate's insert_slice, a reshape) tile nothing.
    """
    defs = _defs(text)
    shapes = []
    for m in re.finditer(r'"nkipy\.tile_op"\((%[\w.$-]+)\) \{loop_tile_size = array<i64: ([\d, ]+)>', text):
        sizes = [int(s) for s in m[2].split(",")]
        producer = defs.get(m[1], "")
        if not producer.startswith("linalg."):
            continue
        if "matmul" in producer:
            sizes = [*sizes[:-3], sizes[-3], sizes[-1]]
        shapes.append("x".join(map(str, sizes)) + "xf32")
    return shapes


SBUF, SHARED_HBM = 3, 4
HBM_SPACES = {1, 4}
_LAYOUT = re.compile(r'"nkipy\.layout"\(%\S+\) \{mem_space = (\d) : i32[^}]*\} : \((memref<.*>)\) -> \(\)')


def _placed_layouts(text: str) -> list[tuple[int, str]]:
    """(the layout's mem_space, the annotated buffer's type) for every nkipy.layout on a memref."""
    return [(int(m[1]), m[2]) for m in _LAYOUT.finditer(text)]


def _space(memref: str) -> int:
    m = re.search(r", (\d) : i32>$", memref)
    return int(m[1]) if m else 0


def _macs(name: str) -> int:
    """M*N*K of a matmul+bias case: a (M, K), b (K, N)."""
    (m, k), (_, n) = REFERENCE_SUITE[name].shapes[:2]
    return m * n * k


def _params():
    for name in REFERENCE_SUITE:
        for variant in ("knobs", "auto"):
            gap = GAPS.get((name, variant))
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            yield pytest.param(name, variant, marks=marks, id=f"{name}-{variant}")


@pytest.mark.parametrize(("name", "variant"), list(_params()))
def test_reference_kernel(name: str, variant: str):
    knobs = variant == "knobs"
    source = _module(name, knobs)
    comp = nk_compile(source, target="trn2", kernel_name=name, stop_after=MEMREF_STAGE)
    assert [s.name for s in comp.snapshots[1:]] == [s.name for s in PIPELINE[:MEMREF_STAGE]]

    tiled = comp.snapshot("apply-and-strip-transforms").ir
    assert "transform." not in tiled
    assert "scf.for" in tiled
    for shape in _tile_slices(source):
        assert shape in tiled, f"no {shape} tile after tiling (knob tile_op)"
    for shape in _tile_slices(comp.snapshot("assign-linalg-op-ids").ir):
        assert shape in tiled, f"no {shape} tile after tiling (tile_op inferred by infer-layout)"

    annotated = comp.snapshot("annotate-memory-space").ir
    for alloc in re.findall(r"memref\.alloc\(\)[^\n]*: (memref<[^\n]*>)", annotated):
        assert re.search(r", [1-5] : i32>$", alloc), f"alloc without a memory space: {alloc}"
    results = re.search(r"func\.func @\w+\([^\n]*\) -> \(?([^\n{]*)\)? \{", annotated)[1]
    for result in re.findall(r"memref<[^>]*(?:<[^>]*>[^>]*)*>", results):
        assert result.endswith(", 4 : i32>"), f"result not in SharedHbm: {result}"
    placed = _placed_layouts(annotated)
    for space, memref in placed:
        # Hbm and SharedHbm are both device memory: a buffer merged into a result may be either.
        assert _space(memref) in ({space} if space == SBUF else HBM_SPACES), \
            f"layout asks for memory space {space}, the buffer is {memref}"
    for space in (SBUF, SHARED_HBM):
        asked = len(re.findall(rf'"nkipy\.layout"[^\n]*mem_space = {space} : i32', source))
        got = sum(_space(memref) == space for _, memref in placed)
        assert got >= asked, f"knobs place {asked} values in memory space {space}, only {got} buffers are there"

    legal = comp.snapshot("legalize-layout").ir
    for shape in re.findall(r"memref<(\d+)x[^\n>]*, 3 : i32>", legal):
        assert int(shape) <= 128, f"SBUF partition dim {shape} > 128"
    assert not re.search(r'"nkipy\.\w+"|^\s*(%\S+ = )?nkipy\.\w+', comp.memref_ir, re.M), \
        "nkipy ops left in the final IR"

    case = REFERENCE_SUITE[name]
    if name.startswith("matmul_") and "_add_hbm_" in name and _macs(name) > MAX_JIT_MACS:
        return
    inputs = case.inputs()
    expected = case.fn(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    actual = compile_cpu(comp.memref_ir, case.fn.__name__, opt_level=0)(*inputs)
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        want = np.asarray(want)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * max(1.0, float(np.abs(want).max())))
