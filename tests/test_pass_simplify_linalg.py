"""simplify-linalg: NISA-friendly transposes and named binary ops; values unchanged."""

from __future__ import annotations

import re
import numpy as np
import pytest

import nkipy_kg
from memref_jit import run_passes
from nkipy_kg import driver
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.kernels import transformer as T

PASS = "simplify-linalg"

NAMED = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#bc = affine_map<(d0, d1) -> (d0, 0)>
func.func @f(%a: memref<128x1xf32, 4 : i32>, %b: memref<128x1xf32, 4 : i32>) -> memref<128x1xf32, 4 : i32> {
  %sa = memref.alloc() : memref<128x1xf32, 3 : i32>
  memref.copy %a, %sa : memref<128x1xf32, 4 : i32> to memref<128x1xf32, 3 : i32>
  %sb = memref.alloc() : memref<128x1xf32, 3 : i32>
  memref.copy %b, %sb : memref<128x1xf32, 4 : i32> to memref<128x1xf32, 3 : i32>
  %c = memref.alloc() : memref<128x1xf32, 3 : i32>
  linalg.generic {indexing_maps = [#id, #bc, #id], iterator_types = ["parallel", "parallel"]} ins(%sa, %sb : memref<128x1xf32, 3 : i32>, memref<128x1xf32, 3 : i32>) outs(%c : memref<128x1xf32, 3 : i32>) attrs = {nkipy.op_id = 3 : i64} {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.OP %y, %x : f32
    linalg.yield %s : f32
  }
  %out = memref.alloc() : memref<128x1xf32, 4 : i32>
  memref.copy %c, %out : memref<128x1xf32, 3 : i32> to memref<128x1xf32, 4 : i32>
  return %out : memref<128x1xf32, 4 : i32>
}
"""

HIGH_RANK = """
func.func @f(%x: memref<2x64x32x4xf32, 4 : i32>) -> memref<2x32x64x4xf32, 4 : i32> {
  %y = memref.alloc() : memref<2x32x64x4xf32, 4 : i32>
  linalg.transpose ins(%x : memref<2x64x32x4xf32, 4 : i32>) outs(%y : memref<2x32x64x4xf32, 4 : i32>) permutation = [0, 2, 1, 3]
  return %y : memref<2x32x64x4xf32, 4 : i32>
}
"""

SBUF_3D = """
func.func @f(%x: memref<64x1x32xf32, 4 : i32>) -> memref<OUTxf32, 4 : i32> {
  %s = memref.alloc() : memref<64x1x32xf32, 3 : i32>
  memref.copy %x, %s : memref<64x1x32xf32, 4 : i32> to memref<64x1x32xf32, 3 : i32>
  %t = memref.alloc() : memref<OUTxf32, 3 : i32>
  linalg.transpose ins(%s : memref<64x1x32xf32, 3 : i32>) outs(%t : memref<OUTxf32, 3 : i32>) permutation = PERM
  %o = memref.alloc() : memref<OUTxf32, 4 : i32>
  memref.copy %t, %o : memref<OUTxf32, 3 : i32> to memref<OUTxf32, 4 : i32>
  return %o : memref<OUTxf32, 4 : i32>
}
"""


MEMORY_SPACE = re.compile(r", \d+ : i32>")


def check_same(before: str, after: str, arrays: list[np.ndarray], expected: list[np.ndarray],
               rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """The memref modules before and after the pass both compute `expected` (CPU JIT)."""
    for text in (before, after):
        got = compile_cpu(MEMORY_SPACE.sub(">", text))(*arrays)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


def rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(("op", "named", "ref"), [
    ("subf", "linalg.sub", lambda a, b: b - a),
    ("divf", "linalg.div", lambda a, b: b / a),
    ("addf", "linalg.add", lambda a, b: a + b),
    ("mulf", "linalg.mul", lambda a, b: a * b),
])
def test_trivial_broadcast_generic_becomes_named(op: str, named: str, ref) -> None:  # noqa: ANN001
    before = NAMED.replace("OP", op)
    after = run_passes(before, PASS)
    assert "linalg.generic" not in after
    assert f"{named} {{nkipy.op_id = 3 : i64}}" in after
    a, b = rand(128, 1) + 3.0, rand(128, 1)
    check_same(before, after, [a, b], [ref(a, b)])


def test_head_shuffle_is_slab_copies_between_hbm_buffers() -> None:
    """[0, 2, 1, 3] keeps the last dim in place: one HBM -> HBM copy per [32, 4] slab."""
    after = run_passes(HIGH_RANK, PASS)
    assert "linalg.transpose" not in after and ", 3 : i32>" not in after
    assert after.count("memref.copy") == 1  # inside the (batch, head) loop nest
    x = rand(2, 64, 32, 4)
    check_same(HIGH_RANK, after, [x], [np.transpose(x, (0, 2, 1, 3))])


def test_high_rank_transpose_of_the_last_dim_goes_through_sbuf() -> None:
    text = (HIGH_RANK.replace("2x32x64x4", "2x4x32x64").replace("2x64x32x4", "2x64x32x4")
            .replace("[0, 2, 1, 3]", "[0, 3, 2, 1]"))
    after = run_passes(text, PASS)
    assert "permutation = [1, 0]" in after and "[0, 3, 2, 1]" not in after
    assert "memref<64x4xf32, 3 : i32>" in after
    x = rand(2, 64, 32, 4)
    check_same(text, after, [x], [np.transpose(x, (0, 3, 2, 1))])


@pytest.mark.parametrize(("perm", "out", "kind"), [
    ([2, 1, 0], "32x1x64", "linalg.transpose"),
    ([1, 0, 2], "1x64x32", "memref.copy"),
])
def test_sbuf_rank3_transpose_becomes_2d(perm: list[int], out: str, kind: str) -> None:
    before = SBUF_3D.replace("OUT", out).replace("PERM", str(perm))
    after = run_passes(before, PASS)
    assert str(perm) not in after
    assert kind in after
    x = rand(64, 1, 32)
    check_same(before, after, [x], [np.transpose(x, perm)])


@pytest.mark.parametrize("name", ["softmax", "rmsnorm", "silu", "silu_ffn", "rope"])
def test_kernels_through_stage_21_keep_their_values(name: str) -> None:
    fn = getattr(T, name)
    shapes = {"softmax": [(256, 256)], "rmsnorm": [(256, 256), (256,)], "silu": [(256, 256)],
              "silu_ffn": [(256, 256)] * 4, "rope": [(128, 2, 64), (128, 32), (128, 32)]}[name]
    args = [rand(*s) * 0.1 for s in shapes]
    text = nkipy_kg.trace(fn).to_mlir(*args)
    comp = driver.compile(text, target="trn2", stop_after="canonicalize:4", raise_on_error=False)
    if comp.error is not None and comp.error.pass_name not in ("legalize-layout", "simplify-linalg"):
        pytest.skip(f"an earlier stage fails (not this pass): {str(comp.error).splitlines()[0]}")
    assert comp.error is None, comp.error
    before = comp.final_ir
    after = run_passes(before, PASS)
    check_same(before, after, args, [fn(*args)], rtol=1e-4, atol=1e-4)
