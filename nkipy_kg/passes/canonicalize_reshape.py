"""Pass `canonicalize-reshape`: turn reshapes into views NISA can address, or into copies.

Runs after annotate-memory-space (every buffer has its space). Three rewrites:

1. `memref.reshape %m(%shape)` (from `tensor.reshape`) becomes a
   `collapse_shape` to 1-D followed by an `expand_shape` to the target shape;
   both are views, so later passes only see the two structured reshapes.
2. An `expand_shape` of an **SBUF** buffer that splits dim 0 (the partition dim)
   into several non-unit dims cannot be a view: NISA has no modulo to reassign
   partitions. Its uses get a fresh SBUF alloc of the expanded shape filled by a
   `memref.copy` of the view (plus a write-back copy if a use writes). HBM
   reshapes and SBUF collapses stay views. Beyond the reference: when only DMAs
   read the view (a copy, or the transformer's `(0, 2, 1, 3)` head shuffle into
   HBM), the fresh buffer is Hbm: in SBUF its partition dim would be the split's
   small leading factor (`[2, 2, 128, 128]`: 2 partitions, 128 KiB each).
3. A returned buffer that is a function argument or a view of one gets its own
   alloc + copy: NISA requires distinct output allocations. A returned
   `expand_shape` of a multi-dim argument copies the argument (contiguously)
   and re-expands the copy; anything else is copied as returned. The function
   type gets the contiguous result type.

    %e = memref.expand_shape %sb [[0, 1], [2]] output_shape [2, 64, 32]
        : memref<128x32xf32, 3 : i32> into memref<2x64x32xf32, 3 : i32>
    linalg.exp ins(%e : ...) outs(...)

becomes

    %e = memref.expand_shape %sb [[0, 1], [2]] ... into memref<2x64x32xf32, 3 : i32>
    %alloc = memref.alloc() : memref<2x64x32xf32, 3 : i32>
    memref.copy %e, %alloc : memref<2x64x32xf32, 3 : i32> to memref<2x64x32xf32, 3 : i32>
    linalg.exp ins(%alloc : ...) outs(...)

The reference's TODO stands: an SBUF partition split should become a tiled
copy loop rather than one bulk copy.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, memref
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect_named, pass_error
from nkipy_kg.passes.memref_helpers import (base_memref, defining_op, func_ops, is_declaration,
                                            materialize_view, return_op, space_of,
                                            splits_sbuf_partition_dim, update_function_type,
                                            with_space)
from nkipy_kg.passes.registry import python_pass

PASS_NAME = "canonicalize-reshape"


@python_pass(PASS_NAME, "reshape -> collapse+expand; SBUF partition splits and returned argument views -> copies")
def canonicalize_reshape(module_op: ir.Operation) -> None:
    for func_op in func_ops(module_op):
        if is_declaration(func_op):
            continue
        for reshape in collect_named(func_op, "memref.reshape"):
            _split_reshape(reshape)
        for expand in collect_named(func_op, "memref.expand_shape"):
            if splits_sbuf_partition_dim(expand):
                result = expand.results[0]
                space = MemSpace.Hbm if _only_moved(result) else MemSpace.Sbuf
                materialize_view(result, with_space(result.type, space, identity_layout=True), expand.location)
        _copy_returned_arguments(func_op)
        update_function_type(func_op)


def _only_moved(view: ir.Value) -> bool:
    """Whether only DMAs read `view` (copies, transposes; e.g. a head shuffle `[0, 2, 1, 3]`
    into HBM): its materialized copy then belongs in HBM, not in an SBUF buffer whose
    partition dim would be the split's small leading factor."""
    users = [u.owner.name for u in view.uses if u.owner.name not in ("nkipy.layout", "memref.dealloc")]
    return bool(users) and all(name in ("memref.copy", "linalg.transpose") for name in users)


def _split_reshape(reshape: ir.Operation) -> None:
    source, result = reshape.operands[0], reshape.results[0]
    src_t, res_t = ir.MemRefType(source.type), ir.MemRefType(result.type)
    if not (src_t.has_static_shape and res_t.has_static_shape):
        raise pass_error(PASS_NAME, reshape, "memref.reshape needs static shapes")
    if src_t.get_strides_and_offset() != _contiguous(src_t.shape):
        raise pass_error(PASS_NAME, reshape, "memref.reshape of a non-contiguous buffer")
    with reshape.location, ir.InsertionPoint(reshape):
        flat = ir.MemRefType.get([_prod(src_t.shape)], src_t.element_type, None, src_t.memory_space)
        collapsed = memref.CollapseShapeOp(flat, source, _all_dims(src_t.rank)).result
        expanded = memref.ExpandShapeOp(result.type, collapsed, _all_dims(res_t.rank), [], res_t.shape).result
    result.replace_all_uses_with(expanded)
    reshape.erase()


def _copy_returned_arguments(func_op: ir.Operation) -> None:
    ret = return_op(func_op)
    for i, value in enumerate(list(ret.operands)):
        if not isinstance(value.type, ir.MemRefType) or not isinstance(base_memref(value).owner, ir.Block):
            continue
        producer = defining_op(value)
        with ret.location, ir.InsertionPoint(ret):
            if producer is not None and producer.name == "memref.expand_shape" and \
                    ir.MemRefType(producer.operands[0].type).rank > 1:
                fresh = _copy_then_expand(producer)
            else:
                fresh = memref.AllocOp(with_space(value.type, space_of(value), identity_layout=True), [], []).result
                memref.CopyOp(value, fresh)
        ret.operands[i] = fresh


def _copy_then_expand(expand: ir.Operation) -> ir.Value:
    """alloc + copy of the expand's source, then the same expand on the copy."""
    source = expand.operands[0]
    copy_t = with_space(source.type, space_of(source), identity_layout=True)
    fresh = memref.AllocOp(copy_t, [], []).result
    memref.CopyOp(source, fresh)
    result_t = ir.MemRefType(expand.results[0].type)
    expanded_t = with_space(result_t, space_of(source), identity_layout=True)
    return memref.ExpandShapeOp(expanded_t, fresh, expand.attributes["reassociation"], [], result_t.shape).result


def _contiguous(shape: list[int]) -> tuple[list[int], int]:
    strides, acc = [], 1
    for size in reversed(shape):
        strides.insert(0, acc)
        acc *= size
    return strides, 0


def _prod(shape: list[int]) -> int:
    out = 1
    for size in shape:
        out *= size
    return out


def _all_dims(rank: int) -> ir.ArrayAttr:
    """Reassociation [[0, 1, ..., rank-1]] (everything into/out of one dim)."""
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in range(rank)])])
