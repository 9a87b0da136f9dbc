"""canonicalize-reshape: reshapes become collapse+expand or copies; values unchanged."""

from __future__ import annotations

import numpy as np

from memref_jit import check_same, run_passes

PASS = "canonicalize-reshape"

RESHAPE = """
func.func @f(%x: memref<4x8xf32, 4 : i32>) -> memref<2x2x8xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %shape = memref.alloc() : memref<3xindex>
  memref.store %c2, %shape[%c0] : memref<3xindex>
  memref.store %c2, %shape[%c1] : memref<3xindex>
  memref.store %c8, %shape[%c2] : memref<3xindex>
  %h = memref.alloc() : memref<4x8xf32, 1 : i32>
  memref.copy %x, %h : memref<4x8xf32, 4 : i32> to memref<4x8xf32, 1 : i32>
  %r = memref.reshape %h(%shape) : (memref<4x8xf32, 1 : i32>, memref<3xindex>) -> memref<2x2x8xf32, 1 : i32>
  %o = memref.alloc() : memref<2x2x8xf32, 4 : i32>
  linalg.exp ins(%r : memref<2x2x8xf32, 1 : i32>) outs(%o : memref<2x2x8xf32, 4 : i32>)
  return %o : memref<2x2x8xf32, 4 : i32>
}
"""

SBUF_SPLIT = """
func.func @f(%x: memref<128x32xf32, 4 : i32>) -> memref<2x64x32xf32, 4 : i32> {
  %s = memref.alloc() : memref<128x32xf32, 3 : i32>
  linalg.exp ins(%x : memref<128x32xf32, 4 : i32>) outs(%s : memref<128x32xf32, 3 : i32>)
  %e = memref.expand_shape %s [[0, 1], [2]] output_shape [2, 64, 32] : memref<128x32xf32, 3 : i32> into memref<2x64x32xf32, 3 : i32>
  %cst = arith.constant 1.0 : f32
  %t = memref.alloc() : memref<2x64x32xf32, 3 : i32>
  linalg.fill ins(%cst : f32) outs(%t : memref<2x64x32xf32, 3 : i32>)
  linalg.add ins(%e, %t : memref<2x64x32xf32, 3 : i32>, memref<2x64x32xf32, 3 : i32>) outs(%e : memref<2x64x32xf32, 3 : i32>)
  %o = memref.alloc() : memref<2x64x32xf32, 4 : i32>
  memref.copy %e, %o : memref<2x64x32xf32, 3 : i32> to memref<2x64x32xf32, 4 : i32>
  return %o : memref<2x64x32xf32, 4 : i32>
}
"""

RETURNED_ARGS = """
func.func @f(%x: memref<32xf32, 4 : i32>, %y: memref<4x8xf32, 4 : i32>)
    -> (memref<4x8xf32, 4 : i32>, memref<2x2x8xf32, 4 : i32>, memref<4x8xf32, 4 : i32>) {
  %e1 = memref.expand_shape %x [[0, 1]] output_shape [4, 8] : memref<32xf32, 4 : i32> into memref<4x8xf32, 4 : i32>
  %e2 = memref.expand_shape %y [[0, 1], [2]] output_shape [2, 2, 8] : memref<4x8xf32, 4 : i32> into memref<2x2x8xf32, 4 : i32>
  return %e1, %e2, %y : memref<4x8xf32, 4 : i32>, memref<2x2x8xf32, 4 : i32>, memref<4x8xf32, 4 : i32>
}
"""


def rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)


def test_reshape_becomes_collapse_expand() -> None:
    after = run_passes(RESHAPE, PASS)
    assert "memref.reshape" not in after
    assert "memref.collapse_shape" in after and "memref.expand_shape" in after
    x = rand(4, 8)
    check_same(RESHAPE, after, [x], [np.exp(x).reshape(2, 2, 8)])


def test_sbuf_partition_split_is_copied_and_written_back() -> None:
    after = run_passes(SBUF_SPLIT, PASS)
    assert after.count("memref.copy") == 3  # staging, write-back, the output copy
    x = rand(128, 32)
    check_same(SBUF_SPLIT, after, [x], [np.exp(x).reshape(2, 64, 32) + 1.0])


def test_returned_arguments_get_their_own_buffers() -> None:
    after = run_passes(RETURNED_ARGS, PASS)
    ret = next(line for line in after.splitlines() if "return" in line)
    assert "%arg" not in ret and "%expand_shape " not in ret, ret
    x, y = rand(32), rand(4, 8)
    check_same(RETURNED_ARGS, after, [x, y], [x.reshape(4, 8), y.reshape(2, 2, 8), y])
