"""eliminate-uninitialized-copies: the promoted accumulator no longer copies garbage in; values unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import nkipy_kg
from memref_jit import BUFFERIZE, check_same, run_passes
from nkipy_kg.kernels import CATALOGUE

PASS = "eliminate-uninitialized-copies"

# A 256^3 matmul tiled 128 over M and K with promoted tiles, as tiling + promotion
# emit it (bufferization.alloc_tensor {memory_space} + materialize_in_destination).
TILED_MATMUL = """
func.func @mm(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %e = tensor.empty() : tensor<256x256xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %e) -> tensor<256x256xf32> {
    %off = arith.muli %i, %c128 : index
    %so = tensor.extract_slice %acc[%off, 0] [128, 256] [1, 1] : tensor<256x256xf32> to tensor<128x256xf32>
    %to = bufferization.alloc_tensor() {memory_space = 2 : i32} : tensor<128x256xf32>
    %po = bufferization.materialize_in_destination %so in %to : (tensor<128x256xf32>, tensor<128x256xf32>) -> tensor<128x256xf32>
    %rk = scf.for %k = %c0 to %c2 step %c1 iter_args(%acck = %po) -> tensor<128x256xf32> {
      %offk = arith.muli %k, %c128 : index
      %sa = tensor.extract_slice %a[%off, %offk] [128, 128] [1, 1] : tensor<256x256xf32> to tensor<128x128xf32>
      %sb = tensor.extract_slice %b[%offk, 0] [128, 256] [1, 1] : tensor<256x256xf32> to tensor<128x256xf32>
      %ta = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x128xf32>
      %pa = bufferization.materialize_in_destination %sa in %ta : (tensor<128x128xf32>, tensor<128x128xf32>) -> tensor<128x128xf32>
      %tb = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x256xf32>
      %pb = bufferization.materialize_in_destination %sb in %tb : (tensor<128x256xf32>, tensor<128x256xf32>) -> tensor<128x256xf32>
      %m = linalg.matmul ins(%pa, %pb : tensor<128x128xf32>, tensor<128x256xf32>) outs(%acck : tensor<128x256xf32>) -> tensor<128x256xf32>
      scf.yield %m : tensor<128x256xf32>
    }
    %ins = tensor.insert_slice %rk into %acc[%off, 0] [128, 256] [1, 1] : tensor<128x256xf32> into tensor<256x256xf32>
    scf.yield %ins : tensor<256x256xf32>
  }
  "nkipy.layout"(%r) {mem_space = 4 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()
  return %r : tensor<256x256xf32>
}
"""


def copies(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "memref.copy" in line]


def test_tiled_matmul_accumulator_copy_is_erased() -> None:
    before = run_passes(TILED_MATMUL, *BUFFERIZE)
    after = run_passes(before, PASS)
    # Before: the result tile -> PSUM copy, the two operand copies, the write-back.
    assert len(copies(before)) == 4
    removed = [c for c in copies(before) if c not in copies(after)]
    assert len(removed) == 1 and "2 : i32>" in removed[0].split(" to ")[1], removed
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((256, 256)).astype(np.float32) for _ in range(2))
    check_same(before, after, [a, b], [a @ b], rtol=1e-4, atol=1e-4)


def test_written_buffer_keeps_its_copy() -> None:
    text = """
    func.func @f(%x: memref<8xf32>) -> memref<8xf32> {
      %cst = arith.constant 3.0 : f32
      %a = memref.alloc() : memref<8xf32>
      linalg.fill ins(%cst : f32) outs(%a : memref<8xf32>)
      %r = memref.alloc() : memref<8xf32>
      memref.copy %a, %r : memref<8xf32> to memref<8xf32>
      return %r : memref<8xf32>
    }
    """
    after = run_passes(text, PASS)
    assert len(copies(after)) == 1
    check_same(text, after, [np.zeros(8, np.float32)], [np.full(8, 3.0, np.float32)])


@pytest.mark.parametrize("name", ["matmul", "softmax", "rmsnorm", "attention"])
def test_catalogue_values_unchanged(name: str) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = run_passes(str(nkipy_kg.trace(case.fn).to_mlir(*arrays)), *BUFFERIZE)
    after = run_passes(before, PASS)
    want = case.fn(*arrays)
    check_same(before, after, arrays, want if isinstance(want, tuple) else [want], rtol=1e-4, atol=1e-4)
