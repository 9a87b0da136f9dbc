"""annotate-memory-space: layouts land on memrefs, every buffer gets its space, values unchanged."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nkipy_kg
from memref_jit import BUFFERIZE, MEMORY_STAGES, check_same, run_passes
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE

PASS = "annotate-memory-space"
BEFORE_PASS = BUFFERIZE + ("eliminate-uninitialized-copies", "canonicalize")

# exp(a + b): the add tiled 128 rows with SBUF tiles, its result laid out in SBUF,
# the exp's result (returned) with an Hbm layout and a leftover tile_op.
TILED_ADD_EXP = """
func.func @k(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %e = tensor.empty() : tensor<256x256xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %e) -> tensor<256x256xf32> {
    %off = arith.muli %i, %c128 : index
    %sa = tensor.extract_slice %a[%off, 0] [128, 256] [1, 1] : tensor<256x256xf32> to tensor<128x256xf32>
    %sb = tensor.extract_slice %b[%off, 0] [128, 256] [1, 1] : tensor<256x256xf32> to tensor<128x256xf32>
    %ta = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x256xf32>
    %pa = bufferization.materialize_in_destination %sa in %ta : (tensor<128x256xf32>, tensor<128x256xf32>) -> tensor<128x256xf32>
    %tb = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x256xf32>
    %pb = bufferization.materialize_in_destination %sb in %tb : (tensor<128x256xf32>, tensor<128x256xf32>) -> tensor<128x256xf32>
    %so = tensor.extract_slice %acc[%off, 0] [128, 256] [1, 1] : tensor<256x256xf32> to tensor<128x256xf32>
    %to = bufferization.alloc_tensor() {memory_space = 3 : i32} : tensor<128x256xf32>
    %po = bufferization.materialize_in_destination %so in %to : (tensor<128x256xf32>, tensor<128x256xf32>) -> tensor<128x256xf32>
    %add = linalg.add ins(%pa, %pb : tensor<128x256xf32>, tensor<128x256xf32>) outs(%po : tensor<128x256xf32>) -> tensor<128x256xf32>
    %ins = tensor.insert_slice %add into %acc[%off, 0] [128, 256] [1, 1] : tensor<128x256xf32> into tensor<256x256xf32>
    scf.yield %ins : tensor<256x256xf32>
  }
  "nkipy.layout"(%r) {mem_space = 3 : i32, partition_dim = 0 : ui32, tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()
  %e2 = tensor.empty() : tensor<256x256xf32>
  %x = linalg.exp ins(%r : tensor<256x256xf32>) outs(%e2 : tensor<256x256xf32>) -> tensor<256x256xf32>
  "nkipy.layout"(%x) {mem_space = 1 : i32} : (tensor<256x256xf32>) -> ()
  "nkipy.tile_op"(%x) {loop_tile_size = array<i64: 128, 256>} : (tensor<256x256xf32>) -> ()
  return %x : tensor<256x256xf32>
}
"""

ALLOC = re.compile(r"memref\.alloc\(\).* : (memref<.*>)$", re.M)
SPACE = re.compile(r", (\d) : i32>$")


def alloc_spaces(text: str) -> list[int | None]:
    return [int(m.group(1)) if (m := SPACE.search(t)) else None for t in ALLOC.findall(text)]


def layout_operand_types(text: str) -> list[str]:
    return re.findall(r'"nkipy\.layout"\(%\w+\) \{[^}]*\} : \((\w+)<', text)


def test_tiled_add_exp() -> None:
    before = run_passes(TILED_ADD_EXP, *BEFORE_PASS)
    assert "bufferization.to_tensor" in before and layout_operand_types(before) == ["tensor", "tensor"]
    after = run_passes(before, PASS)
    assert layout_operand_types(after) == ["memref", "memref"]
    assert "bufferization.to_tensor" not in after and "nkipy.tile_op" not in after
    signature = next(line for line in after.splitlines() if "func.func" in line)
    assert signature.count(", 4 : i32>") == 3, signature  # two arguments and the result
    # The add's result buffer (SBUF layout), three SBUF tiles, the returned buffer.
    assert sorted(alloc_spaces(after)) == [3, 3, 3, 3, 4]
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((256, 256)).astype(np.float32) for _ in range(2))
    check_same(before, after, [a, b], [np.exp(a + b)], rtol=1e-5)


def test_constant_requires_scalar_broadcast() -> None:
    text = """
    func.func @f(%x: memref<4xf32>) -> memref<4xf32> {
      %c = memref.alloc() : memref<4xf32>
      linalg.exp ins(%x : memref<4xf32>) outs(%c : memref<4xf32>)
      %t = bufferization.to_tensor %c : memref<4xf32> to tensor<4xf32>
      "nkipy.layout"(%t) {mem_space = 5 : i32} : (tensor<4xf32>) -> ()
      return %c : memref<4xf32>
    }
    """
    with pytest.raises(PassError, match="CONSTANT memory space requires a scalar broadcast") as info:
        run_passes(text, PASS)
    assert info.value.pass_name == PASS


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_memory_stages(name: str) -> None:
    """Stages 13-18 on each bufferized catalogue kernel: layouts on memrefs, same values."""
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = run_passes(str(nkipy_kg.trace(case.fn).to_mlir(*arrays)), *BUFFERIZE)
    after = run_passes(before, *MEMORY_STAGES)
    assert set(layout_operand_types(after)) <= {"memref"}
    assert "bufferization.to_tensor" not in after and "nkipy.tile_op" not in after
    want = case.fn(*arrays)
    want = want if isinstance(want, tuple) else [want]
    # Same tolerance for both: the JIT runs the same arithmetic before and after.
    check_same(before, after, arrays, want, rtol=2e-3, atol=2e-3)


def test_subview_conflicts_keep_values() -> None:
    """A returned SharedHbm slice of an SBUF buffer gets a staged copy; a write through an
    Hbm-annotated slice is copied back before the buffer is read again."""
    text = """
    func.func @f(%x: memref<8x8xf32>) -> (memref<4x8xf32, strided<[8, 1]>>, memref<8x8xf32>) {
      %cst = arith.constant 2.0 : f32
      %s = memref.alloc() : memref<8x8xf32>
      linalg.exp ins(%x : memref<8x8xf32>) outs(%s : memref<8x8xf32>)
      %t = bufferization.to_tensor %s : memref<8x8xf32> to tensor<8x8xf32>
      "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<8x8xf32>) -> ()
      %w = memref.subview %s[4, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1], offset: 32>>
      %tw = bufferization.to_tensor %w : memref<4x8xf32, strided<[8, 1], offset: 32>> to tensor<4x8xf32>
      "nkipy.layout"(%tw) {mem_space = 1 : i32} : (tensor<4x8xf32>) -> ()
      linalg.fill ins(%cst : f32) outs(%w : memref<4x8xf32, strided<[8, 1], offset: 32>>)
      %r = memref.alloc() : memref<8x8xf32>
      linalg.add ins(%s, %s : memref<8x8xf32>, memref<8x8xf32>) outs(%r : memref<8x8xf32>)
      %v = memref.subview %s[0, 0] [4, 8] [1, 1] : memref<8x8xf32> to memref<4x8xf32, strided<[8, 1]>>
      return %v, %r : memref<4x8xf32, strided<[8, 1]>>, memref<8x8xf32>
    }
    """
    after = run_passes(text, PASS)
    assert after.count("memref.copy") == 2  # staging of the returned slice, write-back of the fill
    x = np.random.default_rng(3).standard_normal((8, 8)).astype(np.float32)
    e = np.exp(x)
    full = np.concatenate([e[:4], np.full((4, 8), 2.0, np.float32)])
    check_same(text, after, [x], [e[:4], 2 * full])


@pytest.mark.parametrize("name", ["add", "matmul", "softmax", "rmsnorm", "rope"])
def test_pipeline_through_stage_18(name: str) -> None:
    """The real pipeline (tiled, promoted, bufferized) through canonicalize #3: every
    alloc has a space, every layout is on a memref, and the kernel computes the same."""
    from nkipy_kg.driver import compile as compile_kernel

    case = CATALOGUE[name]
    arrays = case.inputs()
    comp = compile_kernel(nkipy_kg.trace(case.fn).to_mlir(*arrays), "trn2", stop_after="canonicalize:3")
    assert comp.ok, comp.error
    after = comp.final_ir
    assert None not in alloc_spaces(after)
    assert set(layout_operand_types(after)) == {"memref"}
    bufferized = comp.snapshot("canonicalize").ir  # stage 12: before our passes
    want = case.fn(*arrays)
    check_same(bufferized, after, arrays, want if isinstance(want, tuple) else [want], rtol=1e-4, atol=1e-4)
