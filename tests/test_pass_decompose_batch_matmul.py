"""decompose-batch-matmul: scf.for of 2-D matmuls, annotations moved, values unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from nkipy_kg.passes import run_passes
import nkipy_kg
from nkipy_kg import knob
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get

PASS = "decompose-batch-matmul"




def same_values(before: str, after: str, arrays: list[np.ndarray]) -> None:
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * float(np.max(np.abs(want))))


@pytest.mark.parametrize("name", ["attention", "transformer_layer", "matmul"])
@pytest.mark.parametrize("with_zero_fill_removed", [False, True])
def test_kernels(name: str, with_zero_fill_removed: bool) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = str(nkipy_kg.trace(case.fn).to_mlir(*arrays))
    passes = ["remove-redundant-zero-fill", PASS] if with_zero_fill_removed else [PASS]
    after = run_passes(before, *passes)
    assert "linalg.batch_matmul" not in after
    assert after.count("scf.for") == before.count("linalg.batch_matmul")
    same_values(before, after, arrays)


def scores(q, k):
    s = q @ np.swapaxes(k, -1, -2)
    knob.knob(s).tile_op(tile_size=[1, 32, 16, 8]).layout(mem_space="Sbuf")
    return np.exp(s)


def test_annotations_move_to_the_inner_matmul_and_the_loop():
    rng = np.random.default_rng(0)
    q, k = (rng.standard_normal((3, 32, 16)).astype(np.float32) for _ in range(2))
    before = nkipy_kg.trace(scores).to_mlir(q, k).operation.get_asm(enable_debug_info=True)
    after = run_passes(before, PASS)
    body = after.split("scf.for")[1].split("scf.yield")[0]
    assert '"nkipy.tile_op"(%' in body and "loop_tile_size = array<i64: 32, 16, 8>" in body
    assert "linalg.matmul" in body and "tensor<32x16xf32>" in body
    loop = after.split(" = scf.for")[0].split()[-1]
    assert f'"nkipy.layout"({loop}) {{mem_space = 3 : i32, tile_size = array<i64: 1, 32, 16>}}' in after
    same_values(before, after, [q, k])


def test_batch_tile_is_a_located_error():
    def f(a, b):
        c = a @ b
        knob.knob(c).tile_op(tile_size=[2, 32, 32, 16])
        return c

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 32, 16)).astype(np.float32), rng.standard_normal((2, 16, 32)).astype(np.float32)
    text = nkipy_kg.trace(f).to_mlir(a, b).operation.get_asm(enable_debug_info=True)
    with pytest.raises(PassError, match="batch dim cannot be tiled; it is iterated") as info:
        run_passes(text, PASS)
    assert info.value.pass_name == PASS and info.value.loc is not None and info.value.loc.file == __file__


def test_driver_runs_the_canonicalize_linalg_for_nisa_group() -> None:
    """Stages 1-3 through the driver (the group name resolves to its last member)."""
    from nkipy_kg.driver import compile as compile_pipeline

    case = CATALOGUE["attention"]
    arrays = case.inputs()
    text = nkipy_kg.trace(case.fn).to_mlir(*arrays).operation.get_asm(enable_debug_info=True)
    comp = compile_pipeline(text, stop_after="canonicalize-linalg-for-nisa")
    assert [s.name for s in comp.snapshots] == ["input", "remove-redundant-zero-fill", "prepare-arithmetic", PASS]
    assert all(s.changed for s in comp.snapshots)
    assert comp.snapshots[-1].op_counts.get("scf.for") == 2
    same_values(comp.snapshots[0].ir, comp.final_ir, arrays)
