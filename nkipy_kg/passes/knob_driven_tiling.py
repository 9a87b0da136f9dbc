"""Pass `knob-driven-tiling`: turn every `nkipy.tile_op` into a transform-dialect schedule.

The pass does not tile anything itself. It validates each knob and appends
`transform.named_sequence @__transform_main` to the module (plus the module
attribute `transform.with_named_sequence`); `apply-and-strip-transforms` runs it.
Per annotated linalg op (found again by its `nkipy.op_id`):

    %0 = linalg.exp {nkipy.op_id = 3 : i64} ins(%a : tensor<256x512xf32>) outs(%e : tensor<256x512xf32>) -> ...
    "nkipy.tile_op"(%0) {loop_tile_size = array<i64: 128, 512>} : (tensor<256x512xf32>) -> ()

adds

    %m = transform.structured.match ops{["linalg.exp"]} attributes {nkipy.op_id = 3 : i64} in %root
    %t, %l0, %l1 = transform.structured.tile_using_for %m tile_sizes [128, 512]
    %i0 = transform.get_operand %t[0]                           // input %a
    transform.structured.promote_tensor to 3 : i32 %i0          // Sbuf
    %i1 = transform.get_operand %t[1]                           // init
    transform.structured.promote_tensor to 3 : i32 %i1

Elementwise ops (named, all-parallel generics, `linalg.transpose`, `linalg.fill`)
take one tile per result dim, reductions one per iterator (the reduction dim is
tiled too; the init slice accumulates across the loop). Every input and the init
are promoted to Sbuf.

A matmul tile [Mt, Nt, Kt] becomes the blocked nest of the reference: blocks of
tiles along M and N, the A block transposed once into Sbuf, the B block loaded
into Sbuf, the C tile in PSUM:

    tile [BLOCK_M, 0, 0]; transpose_matmul <lhs>; promote the transpose's init to Sbuf
    tile [0, BLOCK_N, 0]; promote the B block to Sbuf
    tile [Mt, 0, 0]; tile [0, Nt, 0]; promote the C tile to PSUM; tile [0, 0, Kt]

The reference always blocks 2 tiles with M outermost; here `matmul_blocking.plan`
picks the block sizes and the loop order (B blocks outermost: the first two lines
swap) that move the fewest operand bytes within the target's SBUF (option
`target`), which keeps the reference's plan for every kernel it cannot beat.

which leaves `linalg.matmul indexing_maps = [(d2, d0), (d2, d1), (d0, d1)]` on
`tensor<Kt x Mt>` x `tensor<Kt x Nt>` -> `tensor<Mt x Nt>` innermost. A matmul that
already is transposed-A (`indexing_maps`) skips the transpose and has its A block
promoted instead. Beyond the reference, a matmul whose A is a 2-D `linalg.transpose`
(`at.T @ b`) first becomes transposed-A on the transpose's source
(`matmul_transpose_fold`), so the transpose of a transpose is never materialised.

Differences from the reference:
- The reference's own `transform.nkipy.promote_tensor` returns early when the
  value already lives in the target memory space. Upstream's
  `transform.structured.promote_tensor` always allocates and copies, so this pass
  makes that decision when it builds the schedule, walking the same chain as the
  reference (through `extract_slice` sources and `linalg.transpose` inits to a
  `nkipy.layout` mem_space). Tiling replaces an input by a slice of it and keeps
  its layout op, so the static answer equals the reference's dynamic one; an init
  becomes a slice of the loop's iter_arg, where the reference's walk finds nothing,
  so inits are always promoted. In particular the transposed A block (whose init
  was just promoted to Sbuf) is never promoted again, and an input produced in
  Sbuf is not copied.
- A block of 2 tiles is used only when it divides the dimension (the reference
  blocks whenever dim >= 2 x tile, which yields a partial block loop that every
  later pass rejects).
- A `tile_op` on `nkipy.gather` (a Python-defined op has no TilingInterface) or
  on a linalg op whose loops this pass does not know (`linalg.reduce`, convolutions,
  ...) is a PassError, not silently skipped. As in the reference, a `tile_op` on a
  value no linalg op produces (a function argument, the loop result
  decompose-batch-matmul leaves) has nothing to tile and is ignored.
- A module that already has a `@__transform_main` is an error (the pass ran twice).
Errors are located PassErrors "Invalid tile configuration: ..." at the tile_op.
"""

from __future__ import annotations

import math

from nkipy_kg._mlir import ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import (NAMED_BINARY, NAMED_UNARY, OP_ID, collect, is_inside_nkipy_region, is_matmul,
                                    is_reduction, iterator_types, pass_error)
from nkipy_kg.passes.fusion_deps import feeds_fuse_op
from nkipy_kg.passes.knob_tiling_schedule import ENTRY, Promotion, Request, emit_schedule
from nkipy_kg.passes.matmul_transpose_fold import fold_transposed_lhs
from nkipy_kg.passes.registry import python_pass
from nkipy_kg.passes.sbuf_budget import live_across
from nkipy_kg.targets import DEFAULT_TARGET, Target, get_target

PASS_NAME = "knob-driven-tiling"
WITH_NAMED_SEQUENCE = "transform.with_named_sequence"
# linalg ops whose loops are exactly their result dims (generics are handled through their maps).
RESULT_DIM_LOOPS = NAMED_UNARY | NAMED_BINARY | {"linalg.transpose", "linalg.fill", "linalg.broadcast",
                                                 "linalg.copy", "linalg.elementwise"}


@python_pass(PASS_NAME, "emit the transform-dialect tiling schedule @__transform_main from nkipy.tile_op knobs",
             target=DEFAULT_TARGET)
def knob_driven_tiling(module_op: ir.Operation, target: str = DEFAULT_TARGET) -> None:
    """Validate every tile_op and append @__transform_main (see the module docstring)."""
    hw = get_target(target)
    existing = collect(module_op, lambda op: op.name == "transform.named_sequence" and _sym_name(op) == ENTRY)
    if existing:
        raise pass_error(PASS_NAME, existing[0], f"the module already has a @{ENTRY}; run this pass once")
    fold_transposed_lhs(module_op)  # at.T @ b reads at as A^T: no transpose there and back
    requests = [_request(op, tile_op, hw.partitions) for op, tile_op in _annotated_ops(module_op)]
    module_op.attributes[WITH_NAMED_SEQUENCE] = ir.UnitAttr.get()
    emit_schedule(module_op, requests, hw)


def _sym_name(op: ir.Operation) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value if "sym_name" in op.attributes else ""


def _annotated_ops(module_op: ir.Operation) -> list[tuple[ir.Operation, ir.Operation]]:
    """(producer, tile_op) per tiled linalg op, in program order of the tile_ops."""
    found: list[tuple[ir.Operation, ir.Operation]] = []
    for tile_op in collect(module_op, lambda op: op.name == "nkipy.tile_op" and not is_inside_nkipy_region(op)):
        value = tile_op.operands[0]
        if not isinstance(value, ir.OpResult):
            continue  # a block argument: nothing to tile
        producer = value.owner.operation
        if producer.name == "nkipy.gather":
            raise pass_error(PASS_NAME, tile_op, "Invalid tile configuration: nkipy.gather cannot be tiled",
                             "remove the tile_op on the gather result")
        if not producer.name.startswith("linalg.") or is_inside_nkipy_region(producer):
            continue  # loops, tensor reshapes, ...: no TilingInterface op to tile
        seen = next((other for p, other in found if p == producer), None)
        if seen is None:
            found.append((producer, tile_op))
        elif _tile_sizes(seen) != _tile_sizes(tile_op):
            raise pass_error(PASS_NAME, tile_op, "Invalid tile configuration: conflicting tile_ops on one value "
                             f"({_tile_sizes(seen)} vs {_tile_sizes(tile_op)})")
    return found


def _tile_sizes(tile_op: ir.Operation) -> list[int]:
    return list(ir.DenseI64ArrayAttr(tile_op.attributes["loop_tile_size"]))


def _request(op: ir.Operation, tile_op: ir.Operation, partitions: int) -> Request:
    """Validate the knob of `op` and say what to emit for it."""
    if OP_ID not in op.attributes:
        raise pass_error(PASS_NAME, op, f"a tiled op has no {OP_ID}", "run assign-linalg-op-ids first")
    kind, dims, what, loops = _iteration_domain(op, tile_op)
    tiles = _tile_sizes(tile_op)
    if len(tiles) != len(dims):
        raise pass_error(PASS_NAME, tile_op, f"Invalid tile configuration: {what} expects {len(dims)} tile sizes "
                         f"({loops}), got {tiles}")
    for axis, (tile, dim) in enumerate(zip(tiles, dims)):
        if tile > dim:
            name = "MNK"[axis] if what == "matmul" else f"dim {axis}"
            raise pass_error(PASS_NAME, tile_op, f"Invalid tile configuration: {what} tile {name}={tile} is larger "
                             f"than the dimension ({dim}); tiles {tiles} vs shape {list(dims)}")
    op_id = ir.IntegerAttr(op.attributes[OP_ID]).value
    elem_bytes = max(ir.ShapedType(op.operands[0].type).element_type.width // 8, 1) if is_matmul(op) else 4
    resident = _sbuf_result_bytes(op, partitions) + _sbuf_live_across(op, partitions) if is_matmul(op) else 0
    return Request(op.name, op_id, kind, tuple(tiles), dims, _promotions(op, kind), op.location, elem_bytes,
                   resident, is_matmul(op) and feeds_fuse_op(op.results[0]))


def _iteration_domain(op: ir.Operation, tile_op: ir.Operation) -> tuple[str, tuple[int, ...], str, str]:
    """(kind, loop extents, what to call the op in errors, what the tiles are)."""
    if is_matmul(op) and op.name != "linalg.batch_matmul":
        kind = _matmul_kind(op, tile_op)
        return kind, _matmul_dims(op, kind), "matmul", "[M, N, K]"
    if op.name == "linalg.generic" or op.name in RESULT_DIM_LOOPS:
        dims = _loop_extents(op, tile_op)
        if is_reduction(op):
            return "elementwise", dims, "reduction", f"one per iterator: {len(dims)}"
        return "elementwise", dims, op.name, f"one per result dim: {len(dims)}"
    if op.name == "linalg.batch_matmul":
        raise pass_error(PASS_NAME, tile_op, "Invalid tile configuration: linalg.batch_matmul must be decomposed "
                         "first", "run decompose-batch-matmul first")
    raise pass_error(PASS_NAME, tile_op, f"Invalid tile configuration: tiling {op.name} is not supported",
                     "annotate an elementwise, reduction or matmul op")


def _matmul_kind(op: ir.Operation, tile_op: ir.Operation) -> str:
    """"matmul" for default maps, "matmul_ta" for a transposed-A matmul; other maps are an error."""
    if "indexing_maps" not in op.attributes:
        return "matmul"
    maps = [str(ir.AffineMapAttr(m).value) for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    if maps == ["(d0, d1, d2) -> (d0, d2)", "(d0, d1, d2) -> (d2, d1)", "(d0, d1, d2) -> (d0, d1)"]:
        return "matmul"
    if maps == ["(d0, d1, d2) -> (d2, d0)", "(d0, d1, d2) -> (d2, d1)", "(d0, d1, d2) -> (d0, d1)"]:
        return "matmul_ta"
    raise pass_error(PASS_NAME, tile_op, f"Invalid tile configuration: matmul with indexing_maps {maps} is not "
                     "supported (only plain and transposed-A)")


def _matmul_dims(op: ir.Operation, kind: str) -> tuple[int, ...]:
    lhs = ir.RankedTensorType(op.operands[0].type).shape
    m, n = ir.RankedTensorType(op.results[0].type).shape
    return (m, n, lhs[0] if kind == "matmul_ta" else lhs[1])


def _loop_extents(op: ir.Operation, tile_op: ir.Operation) -> tuple[int, ...]:
    """Static extent of every loop of a non-matmul linalg op, in iterator order."""
    out_shape = tuple(ir.RankedTensorType(op.results[0].type).shape)
    if op.name != "linalg.generic":
        return out_shape  # named elementwise, transpose, fill: loops = result dims
    maps = [ir.AffineMapAttr(m).value for m in ir.ArrayAttr(op.attributes["indexing_maps"])]
    extents: list[int] = []
    for loop in range(len(iterator_types(op))):
        extent = next((ir.RankedTensorType(value.type).shape[j] for value, mp in zip(op.operands, maps)
                       for j, e in enumerate(mp.results)
                       if isinstance(e, ir.AffineDimExpr) and ir.AffineDimExpr(e).position == loop), None)
        if extent is None or extent == ir.ShapedType.get_dynamic_size():
            raise pass_error(PASS_NAME, tile_op, f"Invalid tile configuration: loop {loop} of {op.name} has no "
                             "static extent")
        extents.append(extent)
    return tuple(extents)


def _sbuf_result_bytes(op: ir.Operation, partitions: int) -> int:
    """Bytes per partition of `op`'s result if its layout places it in Sbuf (it is live
    next to the matmul's blocks), else 0: rows in blocks of `partitions`, each row whole
    in its partition (a 64-row result still takes a full row per partition)."""
    result = op.results[0]
    if known_mem_space(result) != MemSpace.Sbuf:
        return 0
    t = ir.ShapedType(result.type)
    rows, *rest = t.shape
    return -(-rows // partitions) * math.prod(rest) * max(t.element_type.width // 8, 1)


def _sbuf_live_across(op: ir.Operation, partitions: int) -> int:
    """Bytes per partition of the Sbuf intermediates live across a matmul (its blocks must
    fit next to them: attention's `p @ v` next to the f32 copy of `v`)."""
    return live_across(op, lambda v: known_mem_space(v) == MemSpace.Sbuf, partitions)


def _promotions(op: ir.Operation, kind: str) -> tuple[Promotion, ...]:
    """What to promote, minus the inputs that already live there (the reference's early exit,
    decided statically). Inits always are promoted: inside the tiled loop an init is a slice of
    the loop's iter_arg, where the reference's walk stops without finding a memory space."""
    num_inputs = len(op.operands) - len(op.results)
    if kind == "elementwise":
        wanted = [Promotion(i, MemSpace.Sbuf) for i in range(len(op.operands))]
    elif kind == "matmul":
        # A: the transpose's init is promoted right after transpose_matmul (see _emit_matmul);
        # the transposed block then already lives in Sbuf, so operand 0 needs nothing.
        wanted = [Promotion(1, MemSpace.Sbuf), Promotion(2, MemSpace.Psum)]
    else:
        wanted = [Promotion(0, MemSpace.Sbuf), Promotion(1, MemSpace.Sbuf), Promotion(2, MemSpace.Psum)]
    return tuple(p for p in wanted
                 if p.operand >= num_inputs or known_mem_space(op.operands[p.operand]) != p.space)


def known_mem_space(value: ir.Value) -> MemSpace | None:
    """The memory space a value is known to live in: a `nkipy.layout` mem_space or an
    `alloc_tensor` memory_space, looking through slices, copies into a destination and
    transposes (their init) like the reference's promote_tensor does."""
    while True:
        for use in value.uses:
            owner = use.owner.operation
            if owner.name == "nkipy.layout" and "mem_space" in owner.attributes:
                return MemSpace(ir.IntegerAttr(owner.attributes["mem_space"]).value)
        if not isinstance(value, ir.OpResult):
            return None
        producer = value.owner.operation
        if producer.name == "bufferization.alloc_tensor" and "memory_space" in producer.attributes:
            return MemSpace(ir.IntegerAttr(producer.attributes["memory_space"]).value)
        if producer.name == "tensor.extract_slice":
            value = producer.operands[0]
        elif producer.name in ("bufferization.materialize_in_destination", "linalg.transpose"):
            value = producer.operands[1]
        else:
            return None
