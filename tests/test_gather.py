"""Gathers by computed indices (an embedding lookup: `table[ids]`, `np.take(table, ids,
axis=0)` with `ids` a kernel input): infer-layout turns the `nkipy.gather` into an
elementwise generic that loads table rows, the pipeline tiles it like any other op,
and `linalg-to-nisa` emits one `nisa.dma_copy_indirect` per tile of 128 indices.
(Constant indices become row copies in annotate-memory-space; see the e2e op cases.)
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import nkipy_kg
from nkipy_kg import dtypes
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.errors import SimError
from nkipy_kg.pipeline import MEMREF_STAGE


def embed(table, ids):
    return table[ids] * 2.0 + 1.0


def take_rows(table, ids):
    return np.take(table, ids, axis=0)


def _ids(n: int, rows: int, seed: int = 0, negative: bool = False) -> np.ndarray:
    low = -rows if negative else 0
    return np.random.default_rng(seed).integers(low, rows, n).astype(np.int32)


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), dtypes.bfloat16], ids=["f32", "bf16"])
def test_embedding_lookup_on_the_simulator(dtype):
    table = np.random.default_rng(1).standard_normal((1000, 384)).astype(dtype)
    ids = _ids(256, 1000, negative=True)  # negative ids count from the end, as in NumPy
    comp = nkipy_kg.compile(nkipy_kg.trace(embed).to_mlir(table, ids))
    assert comp.nisa_ir.count('"nisa.dma_copy_indirect"') == 1  # in the loop over 2 index tiles
    assert "nkipy.gather" not in comp.snapshot("infer-layout").ir
    result = nkipy_kg.run(embed, table, ids)
    np.testing.assert_array_equal(result.outputs.astype(np.float32), embed(table, ids).astype(np.float32))


@pytest.mark.parametrize("n", [200, 384])
def test_partial_and_several_index_tiles(n):
    table = np.random.default_rng(2).standard_normal((512, 64)).astype(np.float32)
    ids = _ids(n, 512, seed=n)
    np.testing.assert_array_equal(nkipy_kg.run(take_rows, table, ids).outputs, take_rows(table, ids))


def test_every_memref_stage_computes_the_gather_on_the_cpu():
    table = np.random.default_rng(3).standard_normal((300, 128)).astype(np.float32)
    ids = _ids(128, 300, seed=3)
    assert nkipy_kg.verify_against_numpy(embed, table, ids).passed
    comp = nkipy_kg.compile(nkipy_kg.trace(embed).to_mlir(table, ids))
    for snap in comp.snapshots[:MEMREF_STAGE + 1]:
        (got,) = compile_cpu(snap.ir)(table, ids)
        np.testing.assert_allclose(got, embed(table, ids), rtol=1e-6, err_msg=f"stage {snap.index} {snap.name}")


def test_an_index_outside_the_table_is_a_located_sim_error():
    table = np.zeros((512, 64), np.float32)
    ids = np.array([1, 2, 600, 3] * 32, np.int32)
    with pytest.raises(SimError, match=r"index 600 is outside src rows \[0, 512\)") as info:
        nkipy_kg.run(take_rows, table, ids)
    lines, start = inspect.getsourcelines(take_rows)
    assert info.value.loc.file == __file__ and info.value.loc.line == start + 1
