"""Shared by the tests of stages 7-10 (knob-driven-tiling .. canonicalize-loop-step).

`prepared(name)` gives a catalogue kernel the way stage 7 receives it: stages 1-6
of the pipeline (infer-layout included, so unannotated elementwise intermediates
are fused into their readers as in a real compile, which `knob.fuse` of the
softmax in `attention` relies on), then every annotatable op left without a
`nkipy.tile_op` or `nkipy.layout` gets one (the reference's default tiles).
"""

from __future__ import annotations


import numpy as np

import nkipy_kg
from nkipy_kg._mlir import PassManager, ir, make_context
from nkipy_kg.cpu.jit import compile_cpu
from nkipy_kg.dialects.nkipy import LayoutOp, MemSpace, TileOp, mem_space_attr
from nkipy_kg.kernels import CATALOGUE
from nkipy_kg.passes import get
from nkipy_kg.passes.common import collect, is_annotatable, is_matmul, is_reduction, iterator_types

PARTITIONS = 128
MATMUL_FREE = 512


def run_passes(text: str, *names: str) -> str:
    with make_context():
        module = ir.Module.parse(text)
        pm = PassManager()
        for name in names:
            get(name).add_to(pm)
        pm.run(module.operation)
        module.operation.verify()
        return module.operation.get_asm(enable_debug_info=True)


def same_values(before: str, after: str, arrays: list[np.ndarray]) -> None:
    want = compile_cpu(before)(*arrays)
    got = compile_cpu(after)(*arrays)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * max(1.0, float(np.max(np.abs(w)))))


def default_tiles(op: ir.Operation) -> list[int]:
    """Reference infer-layout fallbacks: matmul [min(M,128), min(N,512), min(K,128)];
    elementwise [min(d0,128), 1, ..., d_last]; reduction: output dims (first capped), full reductions."""
    out = list(ir.RankedTensorType(op.results[0].type).shape)
    if is_matmul(op):
        k = ir.RankedTensorType(op.operands[0].type).shape[1]
        return [min(out[0], PARTITIONS), min(out[1], MATMUL_FREE), min(k, PARTITIONS)]
    if is_reduction(op):
        in_shape = ir.RankedTensorType(op.operands[0].type).shape  # frontend reductions: identity input map
        tiles = [in_shape[i] for i in range(len(iterator_types(op)))]
        tiles[0] = min(tiles[0], PARTITIONS)
        return tiles
    return [min(out[0], PARTITIONS)] + [1] * (len(out) - 2) + ([out[-1]] if len(out) > 1 else [])


def annotate(text: str) -> str:
    """Give every annotatable op without a tile_op one (and a layout if it has none)."""
    with make_context():
        module = ir.Module.parse(text)
        for op in collect(module.operation, is_annotatable):
            users = {use.owner.operation.name for use in op.results[0].uses}
            with op.location, ir.InsertionPoint.after(op):
                if "nkipy.tile_op" not in users:
                    TileOp(op.results[0]).operation.attributes["loop_tile_size"] = (
                        ir.DenseI64ArrayAttr.get(default_tiles(op)))
                if "nkipy.layout" not in users:
                    LayoutOp(op.results[0]).operation.attributes["mem_space"] = mem_space_attr(MemSpace.Sbuf)
        module.operation.verify()
        return module.operation.get_asm(enable_debug_info=True)


def prepared(name: str) -> tuple[str, list[np.ndarray]]:
    """(stage-7 input IR, inputs) for a catalogue kernel."""
    case = CATALOGUE[name]
    arrays = case.inputs()
    text = nkipy_kg.trace(case.fn).to_mlir(*arrays).operation.get_asm(enable_debug_info=True)
    text = run_passes(text, *STAGES_1_TO_6)
    return annotate(text), arrays


STAGES_1_TO_6 = ("remove-redundant-zero-fill", "prepare-arithmetic", "decompose-batch-matmul", "infer-layout",
                 "canonicalize-partition-dim", "assign-linalg-op-ids")
