"""assign-linalg-op-ids, and the preparation passes 1, 2, 3, 5, 6 chained on every kernel."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nkipy_kg.passes import run_passes
import nkipy_kg
from nkipy_kg import knob
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get

PASS = "assign-linalg-op-ids"
PREPARATION = ["remove-redundant-zero-fill", "prepare-arithmetic", "decompose-batch-matmul",
               "canonicalize-partition-dim", PASS]
OP_LINE = re.compile(r"^\s*(%\S+ = )?linalg\.(?!yield\b|index\b)\w+")
OP_ID = re.compile(r"nkipy\.op_id = (\d+) : i64")




def op_ids(text: str) -> list[int | None]:
    """The nkipy.op_id of every structured linalg op line, in program order (None: no id)."""
    return [int(m.group(1)) if (m := OP_ID.search(line)) else None
            for line in text.splitlines() if OP_LINE.match(line)]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_linalg_op_gets_a_unique_id_in_order(name: str) -> None:
    case = CATALOGUE[name]
    after = run_passes(str(nkipy_kg.trace(case.fn).to_mlir(*case.inputs())), PASS)
    ids = op_ids(after)
    assert ids and None not in ids
    assert ids == list(range(len(ids)))  # program order, no gaps (nothing was pre-numbered)


def test_existing_ids_are_kept_and_not_reused() -> None:
    text = """
    func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
      %e = tensor.empty() : tensor<4xf32>
      %x = linalg.exp ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
      %y = linalg.exp {nkipy.op_id = 0 : i64} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
      %z = linalg.exp ins(%y : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
      return %z : tensor<4xf32>
    }"""
    after = run_passes(text, PASS)
    assert [int(i) for i in OP_ID.findall(after)] == [1, 0, 2]
    assert run_passes(after, PASS) == after  # idempotent


# -- the preparation stages (infer-layout, stage 4, is not part of this set) ----------------


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_preparation_passes_preserve_kernel_values(name: str) -> None:
    case = CATALOGUE[name]
    arrays = case.inputs()
    before = str(nkipy_kg.trace(case.fn).to_mlir(*arrays))
    after = run_passes(before, *PREPARATION)
    assert "linalg.batch_matmul" not in after and "arith.divf" not in after
    ids = [int(i) for i in OP_ID.findall(after)]
    assert len(ids) == len(set(ids))
    for want, got in zip(compile_cpu(before)(*arrays), compile_cpu(after)(*arrays), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.max(np.abs(want))))


def attention_pd1(q, k):
    """Batched scores, softmax over the last axis annotated with partition_dim 2."""
    s = q @ np.swapaxes(k, -1, -2) * 0.125
    knob.knob(s).layout(partition_dim=2, tile_size=[1, 32, 32])
    e = np.exp(s - np.max(s, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def test_preparation_on_batched_softmax_with_partition_dim() -> None:
    rng = np.random.default_rng(0)
    q, k = (rng.standard_normal((2, 32, 16)).astype(np.float32) for _ in range(2))
    before = str(nkipy_kg.trace(attention_pd1).to_mlir(q, k))
    after = run_passes(before, *PREPARATION)
    assert "scf.for" in after and "permutation = [2, 0, 1]" in after
    assert "partition_dim = 2" not in after
    for want, got in zip(compile_cpu(before)(q, k), compile_cpu(after)(q, k), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
