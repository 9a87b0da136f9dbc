"""Block-stripe analysis for the lagged loop fusion of `linalg-to-nisa`
(`nisa_lowering_lag_fusion.py`): does every access of a buffer between a producer and
a consumer loop take block `iv` of one dim, so that iteration j touches block j only?

    %pj = memref.subview %p[0, %j, 0] [128, 1, 128] [1, 1, 1]     (block %j of dim 1)

Accesses are found from the buffer's uses: each must be a subview (the first view of
the buffer; later views only narrow it), and a view made outside the span and used
inside it is refused.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir
from nkipy_kg.passes.memref_helpers import ancestor_in
from nkipy_kg.passes.nisa_lowering_common import VIEW_OPS, static_index, user


def striped(buffer: ir.Value, span, first_free: int) -> bool:
    """Every access of `buffer` in the span is a subview taking block `iv` (size 1) of one
    dim: the producer's iteration t block t, the consumer's iteration j block j, and the
    ops between only blocks >= `first_free` (which the fused iterations never read).
    `span` has the `producer` and `consumer` loops, the ops `between` them and their `block`."""
    p_iv = span.producer.regions[0].blocks[0].arguments[0]
    c_iv = span.consumer.regions[0].blocks[0].arguments[0]
    dim = None
    for use in buffer.uses:
        owner = user(use)
        where = ancestor_in(owner, span.block)
        if where is None or not (where == span.producer or where == span.consumer or where in span.between):
            if reaches_into(owner, span):
                return False  # a view made outside the span and used inside it
            continue
        if owner.name != "memref.subview" or use.operand_number != 0:
            return False
        block = _block_index(owner, p_iv if where == span.producer else c_iv if where == span.consumer else None)
        if block is None:
            return False
        d, value = block
        if dim is not None and d != dim:
            return False
        dim = d
        if where in span.between and (value is None or value < first_free):
            return False
    return dim is not None


def _block_index(view: ir.Operation, iv: ir.Value | None) -> tuple[int, int | None] | None:
    """(dim, constant index or None) of the size-1 dim of a subview whose offset is `iv`
    (or, with `iv` None, a constant); None if there is no such dim."""
    sizes = list(ir.DenseI64ArrayAttr(view.attributes["static_sizes"]))
    static = list(ir.DenseI64ArrayAttr(view.attributes["static_offsets"]))
    dynamic = list(view.operands)[1:1 + sum(1 for o in static if o == ir.ShapedType.get_dynamic_stride_or_offset())]
    k = 0
    for d, (offset, size) in enumerate(zip(static, sizes)):
        value = None
        if offset == ir.ShapedType.get_dynamic_stride_or_offset():
            value = dynamic[k]
            k += 1
        if size != 1:
            continue
        if iv is not None and value is not None and value == iv:
            return d, None
        if iv is None:
            c = offset if value is None else static_index(value)
            if c is not None and c != 0 or (c == 0 and _dim_extent(view, d) > 1):
                return d, c
    return None


def _dim_extent(view: ir.Operation, d: int) -> int:
    return ir.MemRefType(view.operands[0].type).shape[d]


def reaches_into(op: ir.Operation, span) -> bool:
    """Whether a view op's result is used (through more views) inside the span."""
    if op.name not in VIEW_OPS:
        return False
    for result in op.results:
        for use in result.uses:
            owner = user(use)
            where = ancestor_in(owner, span.block)
            if where is not None and (where == span.producer or where == span.consumer or where in span.between):
                return True
            if reaches_into(owner, span):
                return True
    return False
