"""apply-and-strip-transforms: the schedule runs, no transform IR survives, values are unchanged."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nkipy_kg
from knob_driven_tiling_helpers import prepared, run_passes, same_values
from nkipy_kg import knob
from nkipy_kg.errors import PassError
from nkipy_kg.kernels import CATALOGUE

PASS = "apply-and-strip-transforms"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_kernels_are_tiled_and_compute_the_same(name: str) -> None:
    before, arrays = prepared(name)
    after = run_passes(run_passes(before, "knob-driven-tiling"), PASS)
    assert "transform." not in after
    assert after.count("scf.for") >= before.count('"nkipy.tile_op"')
    same_values(before, after, arrays)


def test_matmul_nest_uses_sbuf_and_psum_and_a_transposed_lhs() -> None:
    before, arrays = prepared("matmul")  # 256x256x256, tiles [128, 256, 128]: BLOCK_M 256, BLOCK_N 256
    after = run_passes(run_passes(before, "knob-driven-tiling"), PASS)
    assert re.findall(r"memory_space = (\d) : i32\} : (tensor<\S+>)", after) == [
        ("3", "tensor<256x256xf32>"),  # the A^T block [K, BLOCK_M] (transpose init)
        ("3", "tensor<256x256xf32>"),  # the B block [K, BLOCK_N] (one N block: N < 2 x 256)
        ("2", "tensor<128x256xf32>"),  # the C tile [Mt, Nt] in PSUM
    ]
    assert "linalg.transpose" in after
    matmul = r"linalg\.matmul indexing_maps = \[#map\d*, #map\d*, #map\d*\] ins\(.*?: (.*?)\) outs\(.*?: (.*?)\)"
    inner = re.search(matmul, after)
    assert inner is not None and inner.groups() == ("tensor<128x128xf32>, tensor<128x256xf32>", "tensor<128x256xf32>")
    same_values(before, after, arrays)


def test_a_module_without_entry_point_is_unchanged() -> None:
    text = 'func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n  return %a : tensor<4xf32>\n}'
    assert run_passes(text, PASS) == run_passes(text)


def test_a_failing_schedule_is_a_pass_error() -> None:
    text = """module attributes {transform.with_named_sequence} {
  func.func @f(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %e = tensor.empty() : tensor<4x8xf32>
    %0 = linalg.exp ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    return %0 : tensor<4x8xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %m = transform.structured.match ops{["linalg.exp"]} in %root : (!transform.any_op) -> !transform.any_op
    %t = transform.structured.transpose_matmul %m : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}"""
    with pytest.raises(PassError, match="transform interpretation failed: not supported") as info:
        run_passes(text, PASS)
    assert info.value.pass_name == PASS and "linalg.exp" in info.value.render()


def exp_knob(a):
    e = np.exp(a)
    knob.knob(e).tile_op(tile_size=[64, 64])
    return e


def test_a_failure_in_a_generated_schedule_points_at_the_users_op() -> None:
    a = np.ones((128, 128), np.float32)
    text = nkipy_kg.trace(exp_knob).to_mlir(a).operation.get_asm(enable_debug_info=True)
    scheduled = run_passes(run_passes(text, "assign-linalg-op-ids"), "knob-driven-tiling")
    broken = scheduled.replace("%loops:2", "%loops:3").replace("tile_sizes [64, 64] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, "
                               "!transform.any_op)", "tile_sizes [64, 64, 64] : (!transform.any_op) -> "
                               "(!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)")
    assert broken != scheduled
    with pytest.raises(PassError, match="too many tiles provided, expected at most 2 found 3") as info:
        run_passes(broken, PASS)
    assert info.value.loc is not None and info.value.loc.file == __file__
    assert info.value.loc.line == exp_knob.__code__.co_firstlineno + 1  # the np.exp line
