"""remove-redundant-zero-fill: matmul accumulator fills go, other fills stay, values unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from nkipy_kg.passes import run_passes
import nkipy_kg
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get

PASS = "remove-redundant-zero-fill"




@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernels_keep_their_values(name: str) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = str(nkipy_kg.trace(case.fn).to_mlir(*arrays))
    after = run_passes(before, PASS)
    matmuls = before.count("linalg.matmul") + before.count("linalg.batch_matmul")
    # Every matmul had its own zero fill; reductions keep theirs (they are not matmuls).
    assert before.count("linalg.fill") - after.count("linalg.fill") == matmuls
    for line in after.splitlines():
        if "linalg.matmul" in line or "linalg.batch_matmul" in line:
            init = line.split("outs(")[1].split(" ")[0]
            assert f"{init} = tensor.empty()" in after, line
    # The JIT zero-fills tensor.empty, which is what the hardware matmul does to PSUM.
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        np.testing.assert_array_equal(got, want)


def test_fill_that_is_not_only_an_accumulator_stays() -> None:
    text = """
    func.func @f(%a: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
      %e = tensor.empty() : tensor<4x4xf32>
      %z = arith.constant 0.0 : f32
      %f = linalg.fill ins(%z : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
      %m = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%f : tensor<4x4xf32>) -> tensor<4x4xf32>
      %s = linalg.add ins(%f, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
      return %m, %s : tensor<4x4xf32>, tensor<4x4xf32>
    }"""
    assert run_passes(text, PASS) == run_passes(text)
