"""canonicalize-partition-dim: IR shape of the rewrite, errors, and CPU semantics before/after."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import knob
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import PassError
from nkipy_kg.passes import get

PASS = "canonicalize-partition-dim"


def run_passes(text: str, *names: str, options: str = "") -> str:
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        for name in names:
            get(name).add_to(pm, options if name == PASS else "")
        pm.run(module.operation)
        module.operation.verify()
        return str(module)


def check_same_values(fn, *arrays: np.ndarray) -> str:
    """Trace fn, run the pass, compare the JIT results before and after; return the IR after."""
    before = str(nkipy_kg.trace(fn).to_mlir(*arrays))
    after = run_passes(before, PASS)
    want = compile_cpu(before)(*arrays)
    got = compile_cpu(after)(*arrays)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)
    return after


def layouts(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if '"nkipy.layout"' in line]


def pd1(x, tile, space="Sbuf"):
    return knob.knob(x).tile_op(tile_size=tile).layout(mem_space=space, partition_dim=1, tile_size=tile)


def rng_array(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


# -- the digest's e2e cases #24 and #25 ------------------------------------------------


def exp_partition_dim_1(x):
    r = np.exp(x)
    pd1(r, [64, 128], "SharedHbm")
    return r


def sigmoid_partition_dim_1(x):
    n = -x
    pd1(n, [64, 128])
    e = np.exp(n)
    pd1(e, [64, 128])
    o = 1.0 + e
    pd1(o, [64, 128])
    r = 1.0 / o
    pd1(r, [64, 128], "SharedHbm")
    return r


def test_exp_partition_dim_1():
    after = check_same_values(exp_partition_dim_1, rng_array(64, 128))
    assert "linalg.exp ins(%transposed : tensor<128x64xf32>)" in after
    assert after.count("linalg.transpose") == 2  # the input in, the result out
    assert all("partition_dim = 0" in line for line in layouts(after))
    # The exp's own layout keeps SharedHbm with the tile permuted; the transpose back gets the original tile.
    assert any("mem_space = 4" in l and "tile_size = array<i64: 128, 64>" in l for l in layouts(after))
    assert any("mem_space = 4" in l and "tile_size = array<i64: 64, 128>" in l for l in layouts(after))
    assert "tensor.empty() : tensor<64x128xf32>" in after  # only the transpose-back init
    assert after.count("tensor.empty() : tensor<64x128xf32>") == 1


def test_sigmoid_partition_dim_1_one_component():
    after = check_same_values(sigmoid_partition_dim_1, rng_array(64, 128))
    # One component: one transpose in, one transpose out, no transposes between the four ops.
    assert after.count("linalg.transpose") == 2
    assert after.count("tensor<128x64xf32>) -> ()") >= 8  # 4 ops x (layout + tile_op) on transposed values
    assert all("partition_dim = 0" in line for line in layouts(after))


# -- reductions, broadcasts, higher rank ------------------------------------------------


def softmax_pd1(x):
    m = np.max(x, axis=-1, keepdims=True)
    pd1(m, [64, 128])
    e = np.exp(x - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return e / s


def test_reduction_component_permutes_maps_and_iterators():
    after = check_same_values(softmax_pd1, rng_array(64, 128))
    # The max reduces over the old d1, now the new d0: iterators follow the loops.
    assert 'iterator_types = ["reduction", "parallel"]' in after
    assert "tensor<1x64xf32>" in after  # the keepdims result [64,1] transposed
    assert "affine_map<(d0, d1) -> (0, d1)>" in after
    assert all("partition_dim = 0" in line for line in layouts(after))


def row_scale_pd1(x, w):
    r = x * w
    pd1(r, [64, 32])
    return np.exp(r)


def test_reduced_rank_broadcast_operand_is_not_transposed():
    after = check_same_values(row_scale_pd1, rng_array(64, 32), rng_array(32))
    assert "affine_map<(d0, d1) -> (d0)>" in after  # w was indexed by d1 = the new d0
    assert "linalg.transpose ins(%arg1" not in after  # w (rank 1) is not transposed
    assert "linalg.transpose ins(%arg0" in after


def exp3d_pd2(x):
    r = np.exp(x) + 1.0
    knob.knob(r).tile_op(tile_size=[1, 4, 64]).layout(mem_space="Sbuf", partition_dim=2, tile_size=[1, 4, 64])
    return r


def test_rank3_partition_dim_2():
    after = check_same_values(exp3d_pd2, rng_array(2, 4, 64))
    assert "permutation = [2, 0, 1]" in after and "permutation = [1, 2, 0]" in after
    assert "tile_size = array<i64: 64, 1, 4>" in after


def matmul_then_exp_pd1(a, b):
    c = a @ b
    r = np.exp(c)
    pd1(r, [64, 128])
    return r


def test_matmul_producer_becomes_a_boundary_input():
    after = check_same_values(matmul_then_exp_pd1, rng_array(64, 32), rng_array(32, 128))
    assert "linalg.matmul" in after
    assert after.count("linalg.transpose") == 2


def two_outputs_pd1(x):
    e = np.exp(x)
    pd1(e, [16, 32])
    return e, e + 1.0


def test_value_used_inside_and_outside():
    after = check_same_values(two_outputs_pd1, rng_array(16, 32))
    assert after.count("linalg.transpose") == 3  # in, and back for each of the two results


def test_partition_dim_0_is_untouched():
    def f(x):
        r = np.exp(x)
        knob.knob(r).layout(partition_dim=0, tile_size=[64, 128])
        return r

    text = str(nkipy_kg.trace(f).to_mlir(rng_array(64, 128)))
    assert run_passes(text, PASS) == run_passes(text)


# -- errors -----------------------------------------------------------------------------


def _trace(fn, *shapes):
    """Traced IR text with locations, so errors can point at the user's source line."""
    module = nkipy_kg.trace(fn).to_mlir(*[rng_array(*s) for s in shapes])
    return module.operation.get_asm(enable_debug_info=True)


def test_error_on_matmul_producer():
    def f(a, b):
        c = a @ b
        knob.knob(c).layout(partition_dim=1, tile_size=[64, 64])
        return c

    with pytest.raises(PassError, match="matmul/bmm is not supported"):
        run_passes(_trace(f, (64, 32), (32, 64)), PASS)


def test_error_tile_exceeds_partition_limit():
    def f(x):
        r = np.exp(x)
        knob.knob(r).layout(partition_dim=1, tile_size=[64, 256])
        return r

    with pytest.raises(PassError, match="exceeds hardware partition limit 128") as info:
        run_passes(_trace(f, (64, 256)), PASS, options="target=trn2")
    assert info.value.pass_name == PASS
    assert info.value.loc is not None and info.value.loc.file == __file__  # the user's source line
    assert "knob.knob(r).layout(partition_dim=1" in info.value.render()  # with a caret under it


def test_error_on_unsupported_producer():
    def f(x):
        r = np.transpose(x)
        knob.knob(r).layout(partition_dim=1)
        return r

    with pytest.raises(PassError, match="Supported: elementwise and reduction ops"):
        run_passes(_trace(f, (64, 32)), PASS)




def test_linalg_index_follows_the_loops():
    text = """
    func.func @f(%x: tensor<16x32xf32>) -> tensor<16x32xf32> {
      %e = tensor.empty() : tensor<16x32xf32>
      %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                           iterator_types = ["parallel", "parallel"]}
          ins(%x : tensor<16x32xf32>) outs(%e : tensor<16x32xf32>) {
      ^bb0(%in: f32, %out: f32):
        %j = linalg.index 1 : index
        %ji = arith.index_cast %j : index to i32
        %jf = arith.sitofp %ji : i32 to f32
        %s = arith.addf %in, %jf : f32
        linalg.yield %s : f32
      } -> tensor<16x32xf32>
      "nkipy.layout"(%r) {partition_dim = 1 : ui32, tile_size = array<i64: 16, 32>} : (tensor<16x32xf32>) -> ()
      return %r : tensor<16x32xf32>
    }"""
    after = run_passes(text, PASS)
    assert "linalg.index 0 : index" in after
    x = rng_array(16, 32)
    np.testing.assert_array_equal(compile_cpu(after)(x)[0], compile_cpu(text)(x)[0])


@pytest.mark.parametrize("fn", [exp_partition_dim_1, sigmoid_partition_dim_1])
def test_e2e_cases_through_the_preparation_passes(fn):
    """#24 / #25 through stages 1, 2, 3, 5, 6: 1/o becomes a reciprocal inside the component."""
    x = rng_array(64, 128)
    before = str(nkipy_kg.trace(fn).to_mlir(x))
    after = run_passes(before, "remove-redundant-zero-fill", "prepare-arithmetic", "decompose-batch-matmul",
                       PASS, "assign-linalg-op-ids")
    assert "arith.divf" not in after and "partition_dim = 1" not in after
    assert after.count("linalg.transpose") == 2
    if fn is sigmoid_partition_dim_1:
        assert re.search(r"linalg\.reciprocal \{nkipy\.op_id = \d+ : i64\} ins\(%\w+ : tensor<128x64xf32>\)", after)
    np.testing.assert_allclose(compile_cpu(after)(x)[0], compile_cpu(before)(x)[0], rtol=1e-6)
