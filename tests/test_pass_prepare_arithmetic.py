"""prepare-arithmetic: no floating-point divide survives, values unchanged up to rounding."""

from __future__ import annotations

import re

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

PASS = "prepare-arithmetic"
FLOAT_DIVIDE = re.compile(r"arith\.divf|linalg\.div ")




def check(fn, *arrays: np.ndarray) -> tuple[str, str]:
    """(IR before, IR after); asserts no float divide is left and the values match."""
    before = str(nkipy_kg.trace(fn).to_mlir(*arrays))
    after = run_passes(before, PASS)
    assert not FLOAT_DIVIDE.search(after), after
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        # x * (1/y) may differ from x / y by an ulp or two.
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-30)
    return before, after


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernels(name: str) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = str(nkipy_kg.trace(case.fn).to_mlir(*arrays))
    after = run_passes(before, PASS)
    assert not FLOAT_DIVIDE.search(after)
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(want))))


def positive(*shape: int) -> np.ndarray:
    return (np.random.default_rng(1).random(shape) + 0.5).astype(np.float32)


def test_tensor_divided_by_tensor():
    _, after = check(lambda a, b: a / b, positive(8, 16), positive(8, 16))
    assert "linalg.reciprocal" in after and "linalg.mul" in after


def test_tensor_divided_by_scalar_multiplies_by_the_inverse():
    _, after = check(lambda x: x / 4.0, positive(8, 16))
    assert "arith.constant 2.500000e-01 : f32" in after and "linalg.reciprocal" not in after


def test_one_over_tensor_is_a_reciprocal():
    _, after = check(lambda x: 1.0 / x, positive(8, 16))
    assert after.count("linalg.reciprocal") == 1 and "linalg.generic" not in after


def test_scalar_over_tensor_is_fill_times_reciprocal():
    _, after = check(lambda x: 5.0 / x, positive(8, 16))
    assert "linalg.fill" in after and "linalg.reciprocal" in after and "linalg.mul" in after


@pytest.mark.parametrize("shape", [(8, 1), (16,), (1, 16)])
def test_broadcast_divide(shape):
    _, after = check(lambda a, b: a / b, positive(8, 16), positive(*shape))
    assert re.search(rf"linalg.reciprocal ins\(%arg1 : tensor<{'x'.join(map(str, shape))}xf32>\)", after)


def test_divide_by_zero_constant_matches_ieee():
    x = np.array([[1.0, -2.0, 0.0, np.inf]], np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        check(lambda v: v / 0.0, x)


def test_annotations_are_cloned_onto_the_reciprocal():
    def f(a, b):
        r = a / b
        knob.knob(r).tile_op(tile_size=[4, 16]).layout(mem_space="SharedHbm", tile_size=[4, 16])
        return r

    _, after = check(f, positive(8, 16), positive(8, 16))
    recip = re.search(r"(%\d+) = linalg.reciprocal", after).group(1)
    assert f'"nkipy.tile_op"({recip}) {{loop_tile_size = array<i64: 4, 16>}}' in after
    assert f'"nkipy.layout"({recip}) {{tile_size = array<i64: 4, 16>}}' in after  # not HBM: an intermediate


def test_integer_division_is_untouched():
    text = """
    func.func @f(%a: tensor<4xi32>) -> tensor<4xi32> {
      %e = tensor.empty() : tensor<4xi32>
      %d = linalg.div ins(%a, %a : tensor<4xi32>, tensor<4xi32>) outs(%e : tensor<4xi32>) -> tensor<4xi32>
      return %d : tensor<4xi32>
    }"""
    assert run_passes(text, PASS) == run_passes(text)


def test_unsupported_divide_is_a_located_error():
    text = """
    func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
      %e = tensor.empty() : tensor<4xf32>
      %g = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                           iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
      ^bb0(%x: f32, %o: f32):
        %s = arith.addf %x, %x : f32
        %r = arith.divf %x, %s : f32
        linalg.yield %r : f32
      } -> tensor<4xf32>
      return %g : tensor<4xf32>
    }"""
    with pytest.raises(PassError, match="division by a value computed inside") as info:
        run_passes(text, PASS)
    assert info.value.pass_name == PASS and info.value.loc is not None and info.value.loc.line == 4
