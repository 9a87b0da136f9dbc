"""eliminate-same-memspace-copy: self-copies, SBUF forwarding and HBM intermediates go; values unchanged."""

from __future__ import annotations

import numpy as np

from memref_jit import BUFFERIZE, MEMORY_STAGES, check_same, run_passes

PASS = "eliminate-same-memspace-copy"

SELF_AND_FORWARD = """
func.func @f(%x: memref<128x64xf32, 4 : i32>) -> memref<128x64xf32, 4 : i32> {
  %s = memref.alloc() : memref<128x64xf32, 3 : i32>
  memref.copy %x, %s : memref<128x64xf32, 4 : i32> to memref<128x64xf32, 3 : i32>
  memref.copy %s, %s : memref<128x64xf32, 3 : i32> to memref<128x64xf32, 3 : i32>
  %t = memref.alloc() : memref<128x64xf32, 3 : i32>
  memref.copy %s, %t : memref<128x64xf32, 3 : i32> to memref<128x64xf32, 3 : i32>
  %o = memref.alloc() : memref<128x64xf32, 4 : i32>
  linalg.exp ins(%t : memref<128x64xf32, 3 : i32>) outs(%o : memref<128x64xf32, 4 : i32>)
  return %o : memref<128x64xf32, 4 : i32>
}
"""

# A written-after destination whose source is read later: forwarding would be wrong.
UNSAFE_FORWARD = """
func.func @f(%x: memref<8xf32, 4 : i32>) -> (memref<8xf32, 4 : i32>, memref<8xf32, 4 : i32>) {
  %s = memref.alloc() : memref<8xf32, 3 : i32>
  memref.copy %x, %s : memref<8xf32, 4 : i32> to memref<8xf32, 3 : i32>
  %t = memref.alloc() : memref<8xf32, 3 : i32>
  memref.copy %s, %t : memref<8xf32, 3 : i32> to memref<8xf32, 3 : i32>
  linalg.add ins(%t, %t : memref<8xf32, 3 : i32>, memref<8xf32, 3 : i32>) outs(%t : memref<8xf32, 3 : i32>)
  %o1 = memref.alloc() : memref<8xf32, 4 : i32>
  memref.copy %s, %o1 : memref<8xf32, 3 : i32> to memref<8xf32, 4 : i32>
  %o2 = memref.alloc() : memref<8xf32, 4 : i32>
  memref.copy %t, %o2 : memref<8xf32, 3 : i32> to memref<8xf32, 4 : i32>
  return %o1, %o2 : memref<8xf32, 4 : i32>, memref<8xf32, 4 : i32>
}
"""

# out[b] = x + b for b in 0..3, through an HBM temporary written in two row tiles.
HBM_INTERMEDIATE = """
func.func @f(%x: memref<256x64xf32, 4 : i32>) -> memref<4x256x64xf32, 4 : i32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c128 = arith.constant 128 : index
  %out = memref.alloc() : memref<4x256x64xf32, 4 : i32>
  scf.for %b = %c0 to %c4 step %c1 {
    %bi = arith.index_cast %b : index to i32
    %bf = arith.sitofp %bi : i32 to f32
    %tmp = memref.alloc() : memref<256x64xf32, 1 : i32>
    "nkipy.layout"(%tmp) {mem_space = 1 : i32} : (memref<256x64xf32, 1 : i32>) -> ()
    scf.for %i = %c0 to %c2 step %c1 {
      %o = arith.muli %i, %c128 : index
      %xs = memref.subview %x[%o, 0] [128, 64] [1, 1] : memref<256x64xf32, 4 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 4 : i32>
      %sb = memref.alloc() : memref<128x64xf32, 3 : i32>
      memref.copy %xs, %sb : memref<128x64xf32, strided<[64, 1], offset: ?>, 4 : i32> to memref<128x64xf32, 3 : i32>
      %fb = memref.alloc() : memref<128x64xf32, 3 : i32>
      linalg.fill ins(%bf : f32) outs(%fb : memref<128x64xf32, 3 : i32>)
      linalg.add ins(%sb, %fb : memref<128x64xf32, 3 : i32>, memref<128x64xf32, 3 : i32>) outs(%sb : memref<128x64xf32, 3 : i32>)
      %t = memref.subview %tmp[%o, 0] [128, 64] [1, 1] : memref<256x64xf32, 1 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 1 : i32>
      memref.copy %sb, %t : memref<128x64xf32, 3 : i32> to memref<128x64xf32, strided<[64, 1], offset: ?>, 1 : i32>
    }
    %e = memref.expand_shape %tmp [[0, 1], [2]] output_shape [1, 256, 64] : memref<256x64xf32, 1 : i32> into memref<1x256x64xf32, 1 : i32>
    %d = memref.subview %out[%b, 0, 0] [1, 256, 64] [1, 1, 1] : memref<4x256x64xf32, 4 : i32> to memref<1x256x64xf32, strided<[16384, 64, 1], offset: ?>, 4 : i32>
    memref.copy %e, %d : memref<1x256x64xf32, 1 : i32> to memref<1x256x64xf32, strided<[16384, 64, 1], offset: ?>, 4 : i32>
  }
  return %out : memref<4x256x64xf32, 4 : i32>
}
"""


def rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(7).standard_normal(shape).astype(np.float32)


def test_self_copy_and_sbuf_forwarding() -> None:
    after = run_passes(SELF_AND_FORWARD, PASS)
    assert after.count("memref.copy") == 1  # only the HBM -> SBUF load
    assert after.count("memref.alloc") == 2
    x = rand(128, 64)
    check_same(SELF_AND_FORWARD, after, [x], [np.exp(x)])


def test_unsafe_forwarding_is_kept() -> None:
    after = run_passes(UNSAFE_FORWARD, PASS)
    assert after.count("memref.copy") == 4
    x = rand(8)
    check_same(UNSAFE_FORWARD, after, [x], [x, 2 * x])


def test_hbm_intermediate_is_eliminated() -> None:
    after = run_passes(HBM_INTERMEDIATE, PASS)
    assert "memref<256x64xf32, 1 : i32>" not in after and "memref.expand_shape" not in after
    x = rand(256, 64)
    check_same(HBM_INTERMEDIATE, after, [x], [np.stack([x + b for b in range(4)])])


def test_tiled_matmul_self_copy() -> None:
    """Bufferizing a matmul tiled over its output leaves `copy %v, %v`; it goes."""
    text = """
    func.func @mm(%a: tensor<128x64xf32>, %b: tensor<64x256xf32>) -> tensor<128x256xf32> {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c128 = arith.constant 128 : index
      %e = tensor.empty() : tensor<128x256xf32>
      %r = scf.for %j = %c0 to %c2 step %c1 iter_args(%acc = %e) -> tensor<128x256xf32> {
        %o = arith.muli %j, %c128 : index
        %sb = tensor.extract_slice %b[0, %o] [64, 128] [1, 1] : tensor<64x256xf32> to tensor<64x128xf32>
        %so = tensor.extract_slice %acc[0, %o] [128, 128] [1, 1] : tensor<128x256xf32> to tensor<128x128xf32>
        %m = linalg.matmul ins(%a, %sb : tensor<128x64xf32>, tensor<64x128xf32>) outs(%so : tensor<128x128xf32>) -> tensor<128x128xf32>
        %ins = tensor.insert_slice %m into %acc[0, %o] [128, 128] [1, 1] : tensor<128x128xf32> into tensor<128x256xf32>
        scf.yield %ins : tensor<128x256xf32>
      }
      return %r : tensor<128x256xf32>
    }
    """
    before = run_passes(text, *BUFFERIZE)
    after = run_passes(before, *MEMORY_STAGES)
    assert not any(_is_self_copy(line) for line in after.splitlines())
    a, b = rand(128, 64), rand(64, 256)
    check_same(before, after, [a, b], [a @ b], rtol=1e-4, atol=1e-4)


def _is_self_copy(line: str) -> bool:
    parts = line.split("memref.copy ")
    if len(parts) != 2:
        return False
    src, dst = parts[1].split(" : ")[0].split(", ")
    return src == dst
