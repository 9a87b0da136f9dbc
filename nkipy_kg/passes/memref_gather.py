"""Bufferize `nkipy.gather` with constant indices into row copies (registers no pass).

Used by `annotate-memory-space` (step 0). `nkipy.gather` is Python-defined, so
`one-shot-bufferize` leaves it on tensors between `bufferization.to_tensor` of its
operands and a `bufferization.to_buffer` of its result, and its destination alloc
never gets a memory space. With compile-time indices (`np.take(x, [3, 1, 200])`) the
gather is a fixed set of row moves, so it becomes one `memref.copy` per run of
consecutive indices, into the destination buffer itself:

    %src_t = bufferization.to_tensor %src : memref<256x1024xf32, ...> to tensor<256x1024xf32>
    %idx = memref.get_global @__constant_3xi32 : memref<3xi32>     // dense<[3, 1, 200]>
    %out_t = bufferization.to_tensor %alloc : memref<3x1024xf32> to tensor<3x1024xf32>
    %g = "nkipy.gather"(%src_t, %idx_t, %out_t) : (...) -> tensor<3x1024xf32>
    %m = bufferization.to_buffer %g : tensor<3x1024xf32> to memref<3x1024xf32, strided<...>>

becomes

    memref.copy (subview %src[3, 0] [1, 1024]) -> (subview %alloc[0, 0] [1, 1024])
    memref.copy (subview %src[1, 0] [1, 1024]) -> (subview %alloc[1, 0] [1, 1024])
    memref.copy (subview %src[200, 0] [1, 1024]) -> (subview %alloc[2, 0] [1, 1024])
    %m = memref.cast %alloc : memref<3x1024xf32> to memref<3x1024xf32, strided<...>>

Beyond the reference (whose gather always lowers to an indirect DMA through an SBUF
index tile): constant indices need neither the index tile nor `dma_copy_indirect`,
and the copies are ordinary buffer traffic every later pass understands (spaces
propagate through them; the CPU JIT runs them). An index outside the source is a
located error (NumPy's `mode="raise"`). Computed indices still need a memref form
of `nkipy.gather`, which the dialect does not have yet: a located error.
"""

from __future__ import annotations

import numpy as np

from nkipy_kg._mlir import ir, memref
from nkipy_kg.passes.common import collect_named, pass_error
from nkipy_kg.passes.layout_views import subview
from nkipy_kg.passes.memref_helpers import defining_op

# Ops between the index constant and the gather that keep its row-major element order.
RESHAPES = frozenset({"bufferization.to_tensor", "memref.collapse_shape", "memref.expand_shape", "memref.cast",
                      "memref.reshape", "tensor.collapse_shape", "tensor.expand_shape", "tensor.reshape"})


def bufferize_gathers(func_op: ir.Operation, pass_name: str) -> None:
    """Rewrite every tensor-level `nkipy.gather` in `func_op` into copies on its buffers."""
    for gather in collect_named(func_op, "nkipy.gather"):
        if not isinstance(gather.operands[0].type, ir.RankedTensorType):
            continue  # already on memrefs (hand-written IR): nothing to bufferize
        _bufferize(gather, pass_name)


def _bufferize(gather: ir.Operation, pass_name: str) -> None:
    source = _buffer(gather, 0, pass_name)
    out = _buffer(gather, 2, pass_name)
    indices = _constant_indices(gather, pass_name)
    rows = ir.MemRefType(source.type).shape[0]
    bad = [int(i) for i in indices if not 0 <= i < rows]
    if bad:
        raise pass_error(pass_name, gather, f"nkipy.gather index {bad[0]} is outside the source's {rows} rows")
    rest = list(ir.MemRefType(out.type).shape[1:])
    zeros = [0] * len(rest)
    with gather.location, ir.InsertionPoint(gather):
        for first_out, first_row, count in _runs(indices):
            src_rows = subview(source, [first_row, *zeros], [count, *rest])
            out_rows = subview(out, [first_out, *zeros], [count, *rest])
            memref.CopyOp(src_rows, out_rows)
    _replace_result(gather, out)
    index_producer = defining_op(gather.operands[1])
    gather.erase()
    _erase_dead_constant(index_producer)


def _buffer(gather: ir.Operation, k: int, pass_name: str) -> ir.Value:
    """The memref behind tensor operand k (bufferization wraps buffers in to_tensor)."""
    producer = defining_op(gather.operands[k])
    if producer is None or producer.name != "bufferization.to_tensor":
        what = "source" if k == 0 else "output"
        raise pass_error(pass_name, gather, f"nkipy.gather {what} is not a bufferized tensor "
                         "(no bufferization.to_tensor of a buffer)")
    return producer.operands[0]


def _constant_indices(gather: ir.Operation, pass_name: str) -> list[int]:
    """The gather's indices when they are a compile-time constant (a global or arith.constant)."""
    producer = defining_op(gather.operands[1])
    # Reshapes keep the row-major element order (np.take flattens N-D indices).
    while producer is not None and producer.name in RESHAPES:
        producer = defining_op(producer.operands[0])
    attr = None
    if producer is not None and producer.name == "arith.constant":
        attr = producer.attributes["value"]
    elif producer is not None and producer.name == "memref.get_global":
        attr = _global_value(producer)
    if not isinstance(attr, ir.DenseIntElementsAttr):
        raise pass_error(pass_name, gather, "nkipy.gather with computed indices is not supported yet "
                         "(only compile-time constant indices are)",
                         hint="index with a Python list or NumPy array of integers")
    count = ir.ShapedType(attr.type).shape[0]
    if attr.is_splat:
        return [int(ir.IntegerAttr(attr.get_splat_value()).value)] * count
    return [int(v) for v in np.asarray(attr).reshape(-1)]


def _global_value(get_global: ir.Operation) -> ir.Attribute | None:
    """`initial_value` of the constant `memref.global` that `get_global` names."""
    found = _global_of(get_global)
    if found is None or "constant" not in found.attributes or "initial_value" not in found.attributes:
        return None
    return found.attributes["initial_value"]


def _global_of(get_global: ir.Operation) -> ir.Operation | None:
    name = ir.FlatSymbolRefAttr(get_global.attributes["name"]).value
    for op in _module_of(get_global).regions[0].blocks[0].operations:
        op = op.operation
        if op.name == "memref.global" and ir.StringAttr(op.attributes["sym_name"]).value == name:
            return op
    return None


def _module_of(op: ir.Operation) -> ir.Operation:
    while op.name != "builtin.module":
        op = op.parent
    return op


def _erase_dead_constant(producer: ir.Operation | None) -> None:
    """Drop the index constant the gather was the last reader of.

    The backend has no lowering for `memref.global`, and canonicalize removes a dead
    `get_global` but never the global it names.
    """
    while producer is not None and not list(producer.results[0].uses):
        module = _module_of(producer)
        global_op = _global_of(producer) if producer.name == "memref.get_global" else None
        next_producer = defining_op(producer.operands[0]) if len(producer.operands) else None
        producer.erase()
        if global_op is not None and not _names_global(module, global_op):
            global_op.erase()
        producer = next_producer


def _names_global(module: ir.Operation, global_op: ir.Operation) -> bool:
    """Whether a `memref.get_global` in `module` still names `global_op`."""
    name = ir.StringAttr(global_op.attributes["sym_name"]).value
    return any(ir.FlatSymbolRefAttr(g.attributes["name"]).value == name
               for g in collect_named(module, "memref.get_global"))


def _runs(indices: list[int]) -> list[tuple[int, int, int]]:
    """(first output row, first source row, row count) per run of consecutive indices."""
    runs: list[tuple[int, int, int]] = []
    for k, row in enumerate(indices):
        if runs and runs[-1][1] + runs[-1][2] == row:
            first_out, first_row, count = runs[-1]
            runs[-1] = (first_out, first_row, count + 1)
        else:
            runs.append((k, row, 1))
    return runs


def _replace_result(gather: ir.Operation, out: ir.Value) -> None:
    """Uses of the gathered tensor read the destination buffer instead.

    A `to_buffer` of it becomes the buffer itself (a cast when bufferization chose
    another layout); any other tensor use takes the destination's `to_tensor`.
    """
    result, init = gather.results[0], gather.operands[2]
    for use in list(result.uses):
        user = use.owner.operation
        if user.name != "bufferization.to_buffer":
            continue
        buffer = out
        if user.results[0].type != out.type:
            with user.location, ir.InsertionPoint(user):
                buffer = memref.CastOp(user.results[0].type, out).result
        user.results[0].replace_all_uses_with(buffer)
        user.erase()
    result.replace_all_uses_with(init)
