"""`compile_cpu` on memref-level IR: hand-written funcs, and the IR of every pipeline stage.

Issue 3: "the memref IR after the last pass, lowered to LLVM and run with
ExecutionEngine, equals NumPy". Stages whose passes are not registered yet (or
fail on a kernel) are skipped with the reason, so the stage tests grow as the
pipeline does.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from nkipy_kg import driver, trace
from nkipy_kg.cpu.abi import KernelArgumentError
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.cpu.lowering import pipeline_steps
from nkipy_kg.errors import IRError
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.pipeline import MEMREF_STAGE, resolve_stop
from nkipy_kg.tolerance import for_dtype

RNG = np.random.default_rng(0)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_memory_spaces_strided_args_and_dealloc() -> None:
    text = """
    func.func @k(%a: memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32>,
                 %b: memref<4x8xf32, 1 : i32>) -> memref<4x8xf32, 1 : i32> {
      %s = memref.alloc() : memref<4x8xf32, 3 : i32>
      memref.copy %a, %s : memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32> to memref<4x8xf32, 3 : i32>
      "nkipy.layout"(%s) {mem_space = 3 : i32, partition_dim = 0 : ui32} : (memref<4x8xf32, 3 : i32>) -> ()
      %p = memref.alloc() : memref<4x8xf32, 2 : i32>
      linalg.add {nkipy.op_id = 0 : i64} ins(%s, %b : memref<4x8xf32, 3 : i32>, memref<4x8xf32, 1 : i32>)
                 outs(%p : memref<4x8xf32, 2 : i32>)
      %r = memref.alloc() : memref<4x8xf32, 1 : i32>
      memref.copy %p, %r : memref<4x8xf32, 2 : i32> to memref<4x8xf32, 1 : i32>
      memref.dealloc %s : memref<4x8xf32, 3 : i32>
      memref.dealloc %p : memref<4x8xf32, 2 : i32>
      return %r : memref<4x8xf32, 1 : i32>
    }
    """
    a, b = rand(4, 8), rand(4, 8)
    (out,) = compile_cpu(text)(a, b)
    np.testing.assert_array_equal(out, a + b)


@pytest.mark.parametrize("layout, shape", [
    ("strided<[1, 4], offset: 2>", (4, 4)),      # column-major, static offset
    ("strided<[8, 1]>", (4, 4)),                 # row pitch wider than the row
    ("strided<[?, 1], offset: ?>", (3, 5)),
    ("strided<[1, ?]>", (3, 5)),                 # dynamic stride outside the static span
    ("strided<[40, 8, 1], offset: 7>", (2, 5, 8)),
])
def test_argument_layouts_are_honoured(layout: str, shape: tuple[int, ...]) -> None:
    """The kernel addresses its argument with the static strides/offset of its type."""
    dims = "x".join(map(str, shape))
    rank = len(shape)
    ids = ", ".join(f"d{i}" for i in range(rank))
    text = f"""
    #id = affine_map<({ids}) -> ({ids})>
    func.func @k(%a: memref<{dims}xf32, {layout}, 3 : i32>) -> memref<{dims}xf32> {{
      %r = memref.alloc() : memref<{dims}xf32>
      linalg.generic {{indexing_maps = [#id, #id], iterator_types = [{", ".join(['"parallel"'] * rank)}]}}
          ins(%a : memref<{dims}xf32, {layout}, 3 : i32>) outs(%r : memref<{dims}xf32>) {{
      ^bb0(%x: f32, %o: f32):
        %y = arith.addf %x, %x : f32
        linalg.yield %y : f32
      }}
      return %r : memref<{dims}xf32>
    }}
    """
    a = rand(*shape)
    (out,) = compile_cpu(text)(a)
    np.testing.assert_array_equal(out, 2 * a)


def test_results_alias_arguments_and_each_other() -> None:
    """In-place writes land in fresh buffers; aliased results come back as separate arrays."""
    text = """
    func.func @k(%a: memref<4x8xf32, 1 : i32>) -> (memref<4x8xf32, 1 : i32>, memref<4x8xf32, 1 : i32>,
                                                  memref<2x8xf32, strided<[8, 1], offset: 16>, 1 : i32>) {
      linalg.exp ins(%a : memref<4x8xf32, 1 : i32>) outs(%a : memref<4x8xf32, 1 : i32>)
      %v = memref.subview %a[2, 0] [2, 8] [1, 1]
          : memref<4x8xf32, 1 : i32> to memref<2x8xf32, strided<[8, 1], offset: 16>, 1 : i32>
      return %a, %a, %v : memref<4x8xf32, 1 : i32>, memref<4x8xf32, 1 : i32>,
                          memref<2x8xf32, strided<[8, 1], offset: 16>, 1 : i32>
    }
    """
    a = rand(4, 8)
    before = a.copy()
    first, second, tail = compile_cpu(text)(a)
    np.testing.assert_array_equal(a, before)  # the caller's array is never written
    np.testing.assert_allclose(first, np.exp(a), rtol=1e-6)
    np.testing.assert_array_equal(second, first)
    np.testing.assert_array_equal(tail, first[2:])
    first[0, 0] = 123.0
    assert second[0, 0] != 123.0


def test_unwritten_allocs_read_as_zero() -> None:
    """Hardware memory is garbage; on the CPU every alloc/alloca starts at zero, also in loops."""
    text = """
    func.func @k(%a: memref<4x8xf32>) -> (memref<4x8xf32>, memref<4xi32>) {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c3 = arith.constant 3 : index
      %acc = memref.alloc() : memref<4x8xf32, 2 : i32>
      scf.for %i = %c0 to %c3 step %c1 {
        %t = memref.alloc() : memref<4x8xf32, 3 : i32>
        linalg.add ins(%t, %a : memref<4x8xf32, 3 : i32>, memref<4x8xf32>) outs(%t : memref<4x8xf32, 3 : i32>)
        linalg.add ins(%acc, %t : memref<4x8xf32, 2 : i32>, memref<4x8xf32, 3 : i32>)
                   outs(%acc : memref<4x8xf32, 2 : i32>)
        memref.dealloc %t : memref<4x8xf32, 3 : i32>
      }
      %r = memref.alloc() : memref<4x8xf32>
      memref.copy %acc, %r : memref<4x8xf32, 2 : i32> to memref<4x8xf32>
      %s = memref.alloca() : memref<4xi32, 3 : i32>
      %ri = memref.alloc() : memref<4xi32>
      memref.copy %s, %ri : memref<4xi32, 3 : i32> to memref<4xi32>
      memref.dealloc %acc : memref<4x8xf32, 2 : i32>
      return %r, %ri : memref<4x8xf32>, memref<4xi32>
    }
    """
    a = rand(4, 8)
    out, ints = compile_cpu(text)(a)
    np.testing.assert_allclose(out, 3 * a, rtol=1e-6)
    np.testing.assert_array_equal(ints, np.zeros(4, np.int32))


def test_views_loops_and_leftovers() -> None:
    """reinterpret_cast, expand/collapse_shape, subview, scf.for nests, to_tensor and
    transform leftovers, memory_space_cast: a tiled row sum in the shape stage 19 emits."""
    text = """
    #map = affine_map<(d0, d1) -> (d0, d1)>
    #red = affine_map<(d0, d1) -> (d0, 0)>
    module attributes {transform.with_named_sequence} {
      func.func @k(%x: memref<8x16xf32, strided<[?, ?], offset: ?>, 4 : i32>) -> memref<8x1xf32, 4 : i32> {
        %c0 = arith.constant 0 : index
        %c1 = arith.constant 1 : index
        %c2 = arith.constant 2 : index
        %c4 = arith.constant 4 : index
        %c8 = arith.constant 8 : index
        %buf = memref.alloc() : memref<4x2x1xf32, 3 : i32>
        %rc = memref.reinterpret_cast %buf to offset: [0], sizes: [4, 2, 1], strides: [1, 4, 4]
            : memref<4x2x1xf32, 3 : i32> to memref<4x2x1xf32, strided<[1, 4, 4]>, 3 : i32>
        scf.for %i = %c0 to %c2 step %c1 {
          %row = arith.muli %i, %c4 : index
          scf.for %j = %c0 to %c2 step %c1 {
            %col = arith.muli %j, %c8 : index
            %tile = memref.subview %x[%row, %col] [4, 8] [1, 1]
                : memref<8x16xf32, strided<[?, ?], offset: ?>, 4 : i32> to memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32>
            %sb = memref.alloc() : memref<4x8xf32, 3 : i32>
            memref.copy %tile, %sb : memref<4x8xf32, strided<[?, ?], offset: ?>, 4 : i32> to memref<4x8xf32, 3 : i32>
            %acc3 = memref.subview %rc[0, %i, 0] [4, 1, 1] [1, 1, 1]
                : memref<4x2x1xf32, strided<[1, 4, 4]>, 3 : i32> to memref<4x1x1xf32, strided<[1, 4, 4], offset: ?>, 3 : i32>
            %acc = memref.collapse_shape %acc3 [[0, 1], [2]]
                : memref<4x1x1xf32, strided<[1, 4, 4], offset: ?>, 3 : i32> into memref<4x1xf32, strided<[1, 4], offset: ?>, 3 : i32>
            linalg.generic {indexing_maps = [#map, #red], iterator_types = ["parallel", "reduction"]}
                ins(%sb : memref<4x8xf32, 3 : i32>) outs(%acc : memref<4x1xf32, strided<[1, 4], offset: ?>, 3 : i32>) {
            ^bb0(%in: f32, %out: f32):
              %s = arith.addf %in, %out : f32
              linalg.yield %s : f32
            }
            memref.dealloc %sb : memref<4x8xf32, 3 : i32>
          }
        }
        %t = bufferization.to_tensor %buf : memref<4x2x1xf32, 3 : i32> to tensor<4x2x1xf32>
        "nkipy.layout"(%t) {mem_space = 3 : i32} : (tensor<4x2x1xf32>) -> ()
        // Column-major tiles: element [r, i, 0] sits at r + 4 * i, the global row.
        %flat = memref.collapse_shape %buf [[0, 1, 2]] : memref<4x2x1xf32, 3 : i32> into memref<8xf32, 3 : i32>
        %hbm = memref.memory_space_cast %flat : memref<8xf32, 3 : i32> to memref<8xf32, 4 : i32>
        %col = memref.expand_shape %hbm [[0, 1]] output_shape [8, 1] : memref<8xf32, 4 : i32> into memref<8x1xf32, 4 : i32>
        %res = memref.alloc() : memref<8x1xf32, 4 : i32>
        memref.copy %col, %res : memref<8x1xf32, 4 : i32> to memref<8x1xf32, 4 : i32>
        memref.dealloc %buf : memref<4x2x1xf32, 3 : i32>
        return %res : memref<8x1xf32, 4 : i32>
      }
      transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
        transform.yield
      }
    }
    """
    x = rand(8, 16)
    (out,) = compile_cpu(text)(x)
    np.testing.assert_allclose(out, x.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("restrict", ["", " restrict"])
def test_to_tensor_and_to_buffer_leftovers(restrict: str) -> None:
    """Round trips fold; tensor code between them is bufferized (to_tensor made `restrict`)."""
    text = f"""
    func.func @k(%a: memref<4xf32, 3 : i32>) -> (memref<4xf32, 3 : i32>, memref<4xf32, 3 : i32>) {{
      %t = bufferization.to_tensor %a{restrict} : memref<4xf32, 3 : i32> to tensor<4xf32>
      %same = bufferization.to_buffer %t : tensor<4xf32> to memref<4xf32, 3 : i32>
      %e = tensor.empty() : tensor<4xf32>
      %x = linalg.exp ins(%t : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
      %b = bufferization.to_buffer %x : tensor<4xf32> to memref<4xf32, 3 : i32>
      return %same, %b : memref<4xf32, 3 : i32>, memref<4xf32, 3 : i32>
    }}
    """
    a = rand(4)
    same, exp = compile_cpu(text)(a)
    np.testing.assert_array_equal(same, a)
    np.testing.assert_allclose(exp, np.exp(a), rtol=1e-6)


def test_own_deallocs_skip_the_deallocation_pipeline() -> None:
    """buffer-deallocation-pipeline rejects memref.dealloc ("memory free side-effect ...")."""
    assert "buffer-deallocation-pipeline" in pipeline_steps(deallocate=True)
    assert "buffer-deallocation-pipeline" not in pipeline_steps(deallocate=False)
    assert not any(s.startswith("one-shot-bufferize") for s in pipeline_steps(bufferize=False))


@pytest.mark.parametrize("arg_type, message", [
    ("memref<?x4xf32>", "static shapes"),
    ("memref<4x4xf32, affine_map<(d0, d1) -> (d1, d0)>>", "strided layouts"),
    ("memref<4x4xui32>", "element type"),
])
def test_unsupported_arguments_raise(arg_type: str, message: str) -> None:
    text = f"func.func @k(%a: {arg_type}) {{ return }}"
    with pytest.raises(IRError, match=message):
        compile_cpu(text)


def test_wrong_argument_shape_raises() -> None:
    text = "func.func @k(%a: memref<4xf32, 3 : i32>) -> memref<4xf32, 3 : i32> { return %a : memref<4xf32, 3 : i32> }"
    kernel = compile_cpu(text)
    np.testing.assert_array_equal(kernel(np.arange(4.0))[0], np.arange(4.0))
    with pytest.raises(KernelArgumentError, match="shape"):
        kernel(np.zeros(5, np.float32))


# ---------------------------------------------------------------- pipeline stages

KERNELS = list(CATALOGUE)
# Kernels the pipeline cannot compile yet, with the pass that stops them; each is a
# strict xfail, so it turns red the day it starts passing.
PIPELINE_GAPS = {
}


@functools.cache
def compiled(kernel: str) -> driver.Compilation:
    case = CATALOGUE[kernel]
    specs = [(shape, "f32") for shape in case.shapes]
    return driver.compile(trace(case.fn), specs=specs, raise_on_error=False, stop_after=MEMREF_STAGE)


def check_kernel(kernel: str, text: str) -> None:
    case = CATALOGUE[kernel]
    inputs = case.inputs()
    expected = case.fn(*inputs)
    (got,) = compile_cpu(text, opt_level=0)(*inputs)  # LLVM -O0 compiles ~5x faster on big kernels
    rtol, atol = for_dtype(np.float32)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("kernel", [
    pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=PIPELINE_GAPS[k])) if k in PIPELINE_GAPS else k
    for k in KERNELS
])
def test_every_stage_equals_numpy(kernel: str) -> None:
    """The IR after every stage that changed it, tensor or memref level, computes NumPy's result."""
    comp = compiled(kernel)
    for snap in comp.snapshots:
        if snap.index in (0, resolve_stop("one-shot-bufferize")) or snap.changed:
            try:
                check_kernel(kernel, snap.ir)
            except AssertionError as err:
                raise AssertionError(f"after stage {snap.index} {snap.name}: {err}") from None
    assert comp.error is None, f"the pipeline stops: {str(comp.error).splitlines()[0]}"
    assert "memref.dealloc" in comp.memref_ir  # the last IR runs with the deallocs our pass placed
