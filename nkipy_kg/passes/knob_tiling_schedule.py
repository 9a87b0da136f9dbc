"""The transform-dialect schedule `knob-driven-tiling` appends: one request per
annotated op (`Request`, built and validated in `knob_driven_tiling.py`) becomes a
match by op id followed by its tiling and promotions in `@__transform_main`.

Elementwise ops (reductions included) are tiled once by their tile sizes. A matmul is
blocked first (`matmul_blocking.plan`: the B block stays in SBUF while A^T blocks
stream past it, or the reverse), its A block transposed into SBUF unless it already
is A^T, then tiled by [M, N, K] tiles with the accumulator promoted to PSUM.
"""

from __future__ import annotations

from dataclasses import dataclass

from nkipy_kg._mlir import ir, transform, transform_structured
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes import matmul_blocking
from nkipy_kg.passes.common import OP_ID
from nkipy_kg.targets import Target

ENTRY = "__transform_main"


@dataclass(frozen=True)
class Promotion:
    operand: int
    space: MemSpace


@dataclass(frozen=True)
class Request:
    """One annotated op: how to match it, its tiles and what to promote."""

    name: str
    op_id: int
    kind: str                 # "elementwise" (incl. reductions), "matmul" or "matmul_ta" (already A^T)
    tiles: tuple[int, ...]
    dims: tuple[int, ...]     # iteration-domain extents, same order as tiles
    promotions: tuple[Promotion, ...]
    loc: ir.Location
    elem_bytes: int = 4       # operand element size (matmul blocking)
    resident_bytes: int = 0   # SBUF bytes per partition of a matmul result that lives in Sbuf
    fused: bool = False       # a knob.fuse target: its row blocks are single M tiles



def emit_schedule(module_op: ir.Operation, requests: list[Request], hw: Target) -> None:
    any_op = transform.AnyOpType.get()
    body = module_op.regions[0].blocks[0]
    with ir.InsertionPoint(body), module_op.location:
        seq = transform.NamedSequenceOp(ENTRY, [any_op], [],
                                        arg_attrs=[{"transform.readonly": ir.UnitAttr.get()}])
    with ir.InsertionPoint(seq.body):
        for request in requests:
            with request.loc:
                matched = transform_structured.MatchOp(
                    any_op, seq.bodyTarget, ops=[request.name],
                    op_attrs={OP_ID: ir.IntegerAttr.get(ir.IntegerType.get_signless(64), request.op_id)}).result
                if request.kind == "elementwise":
                    _emit_elementwise(matched, request)
                else:
                    _emit_matmul(matched, request, hw)
        with module_op.location:
            transform.YieldOp()


def _tile(target: ir.Value, sizes: list[int]) -> ir.Value:
    return transform_structured.TileUsingForOp(target, sizes=sizes).tiled_linalg_op


def _promote(target: ir.Value, operand: int, space: MemSpace) -> None:
    value = transform.GetOperandOp(transform.AnyValueType.get(), target, [operand]).result
    transform_structured.PromoteTensorOp(
        value, memory_space=ir.IntegerAttr.get(ir.IntegerType.get_signless(32), int(space)))


def _promote_all(target: ir.Value, request: Request, operands: set[int]) -> None:
    for p in request.promotions:
        if p.operand in operands:
            _promote(target, p.operand, p.space)


def _emit_elementwise(matched: ir.Value, request: Request) -> None:
    tiled = _tile(matched, list(request.tiles))
    _promote_all(tiled, request, {p.operand for p in request.promotions})


def _emit_matmul(matched: ir.Value, request: Request, hw: Target) -> None:
    mt, nt, kt = request.tiles
    blocks = matmul_blocking.plan(request.dims, request.tiles, request.elem_bytes, hw, request.resident_bytes,
                                  single_m_tiles=request.fused)
    if blocks.n_outer:  # the B block stays, the A^T blocks stream past it
        op = _tile(matched, [0, blocks.block_n, 0])
        _promote_all(op, request, {1})
        op = _a_block(_tile(op, [blocks.block_m, 0, 0]), request)
    else:
        op = _a_block(_tile(matched, [blocks.block_m, 0, 0]), request)
        op = _tile(op, [0, blocks.block_n, 0])
        _promote_all(op, request, {1})
    op = _tile(_tile(op, [mt, 0, 0]), [0, nt, 0])
    _promote_all(op, request, {2})
    _tile(op, [0, 0, kt])


def _a_block(op: ir.Value, request: Request) -> ir.Value:
    """The A block of a blocked matmul, transposed into Sbuf (or promoted if already A^T)."""
    if request.kind == "matmul":
        op = transform_structured.TransposeMatmulOp(
            transform.AnyOpType.get(), op, inputToTranspose=transform_structured.TransposeMatmulInput.lhs).result
        transpose = transform.GetProducerOfOperand(transform.AnyOpType.get(), op, 0).result
        _promote(transpose, 1, MemSpace.Sbuf)  # the transposed A block is written into Sbuf
    _promote_all(op, request, {0})
    return op
