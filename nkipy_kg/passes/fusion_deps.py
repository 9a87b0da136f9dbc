"""Producer-consumer legality for `knob-driven-fusion`: may a loop that reads another
loop's result be fused into it, and what does each read become?

Two `scf.for`s over the same range, the second reading the first's result `%r`:

    %r = scf.for %i = %c0 to %c256 step %c128 iter_args(%x = %e) -> (tensor<256x512xf32>) {
      ...  %u = tensor.insert_slice %t into %x[%i, 0] [128, 512] [1, 1]  ...
      scf.yield %u
    }
    %q = scf.for %i2 = %c0 to %c256 step %c128 ... {
      %s = tensor.extract_slice %r[%i2, 0] [128, 512] [1, 1]   // only rows [%i2, %i2 + 128)
      ...
    }

Fusing them is legal when some dim `d` is a *stripe*: every write the producer makes
to `%r` in iteration `%i` lies in `[%i, %i + step)` along `d` (so no other iteration
touches that stripe), and every read of `%r` in the consumer is an `extract_slice`
inside the stripe of its own iteration. Then, in the fused body, the stripe of the
producer's value after this iteration (what it yields) already equals the stripe of
its final result, and the consumer reads the yielded value instead of `%r`; once
the slices line up, `extract_slice(insert_slice)` folds to the tile itself and the
full tensor is no longer read (`fusion_cleanup.py`, `fusion_contract.py`).

Writes are followed through the loop-carried chain: an `insert_slice` into the
chain, or an inner `scf.for` that carries it (the tiled nests thread the whole
tensor through every level). Anything else writing the chain (a linalg op on the
whole tensor) has no stripe, and the loops are not fused. A producer may compute a matmul (a fused
attention's per-row-block `q @ k^T`): its stripe is its output rows like any other op's.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir

_DYNAMIC = ir.ShapedType.get_dynamic_stride_or_offset()
_SLICE_OPERANDS = {"tensor.extract_slice": 1, "tensor.insert_slice": 2}  # offsets start here

Dim = tuple[object, int, int]  # (offset: ir.Value | int, size, stride) with static size and stride


def slice_dims(op: ir.Operation) -> list[Dim] | None:
    """Per dim (offset, size, stride) of an extract/insert_slice, an offset that is an
    `arith.constant` as its int (so equal slices compare equal); None if a size or
    stride is dynamic."""
    offsets = list(ir.DenseI64ArrayAttr(op.attributes["static_offsets"]))
    sizes = list(ir.DenseI64ArrayAttr(op.attributes["static_sizes"]))
    strides = list(ir.DenseI64ArrayAttr(op.attributes["static_strides"]))
    if _DYNAMIC in strides or ir.ShapedType.get_dynamic_size() in sizes:
        return None
    dynamic = iter(list(op.operands)[_SLICE_OPERANDS[op.name]:])
    mixed = [next(dynamic) if o == _DYNAMIC else o for o in offsets]
    mixed = [c if isinstance(o, ir.Value) and (c := constant_index(o)) is not None else o for o in mixed]
    return list(zip(mixed, sizes, strides))


def constant_index(value: ir.Value) -> int | None:
    if not isinstance(value, ir.OpResult) or value.owner.operation.name != "arith.constant":
        return None
    attr = value.owner.operation.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None


def _in_stripe(dim: Dim, iv: ir.Value, step: int) -> bool:
    offset, size, stride = dim
    return isinstance(offset, ir.Value) and offset == iv and (size - 1) * stride < step


def _writes(value: ir.Value, chain: ir.Value) -> list[list[Dim]] | None:
    """The slices written to `chain` to make `value`, or None if some write is not a slice."""
    if value == chain:
        return []
    if not isinstance(value, ir.OpResult):
        return None
    op = value.owner.operation
    if op.name == "tensor.insert_slice":
        dims = slice_dims(op)
        rest = _writes(op.operands[1], chain)
        return None if dims is None or rest is None else [*rest, dims]
    if op.name == "scf.for":
        k = value.result_number
        body = op.regions[0].blocks[0]
        inner = _writes(list(body.operations)[-1].operands[k], body.arguments[1 + k])
        rest = _writes(op.operands[3 + k], chain)
        return None if inner is None or rest is None else [*rest, *inner]
    return None


def stripe_dims(loop: ir.Operation, k: int) -> set[int]:
    """Dims along which iteration `%i` of `loop` writes result `k` only in `[%i, %i + step)`."""
    step = constant_index(loop.operands[2])
    if step is None:
        return set()
    body = loop.regions[0].blocks[0]
    writes = _writes(list(body.operations)[-1].operands[k], body.arguments[1 + k])
    if writes is None:
        return set()
    rank = len(ir.RankedTensorType(loop.results[k].type).shape)
    iv = body.arguments[0]
    return {d for d in range(rank) if all(_in_stripe(w[d], iv, step) for w in writes)}


def consumer_reads(consumer: ir.Operation, producer: ir.Operation) -> list[tuple[ir.Operation, int]]:
    """(op, result index) for every use of a producer result inside `consumer`."""
    results = list(producer.results)
    found: list[tuple[ir.Operation, int]] = []

    def visit(inner: ir.Operation) -> ir.WalkResult:
        for v in inner.operands:
            if v in results:
                found.append((inner, results.index(v)))
        return ir.WalkResult.ADVANCE

    consumer.walk(visit)
    return found


def why_not_fusable(producer: ir.Operation, consumer: ir.Operation) -> str | None:
    """None if `consumer` may be fused into `producer` (same bounds, producer first)
    although it reads its results; else why not."""
    step = constant_index(consumer.operands[2])
    iv = consumer.regions[0].blocks[0].arguments[0]
    stripes = {k: stripe_dims(producer, k) for k in range(len(producer.results))}
    for op, k in consumer_reads(consumer, producer):
        if op.name != "tensor.extract_slice" or op.operands[0] != producer.results[k]:
            return f"it passes the other's whole result to '{op.name}'"
        dims = slice_dims(op)
        if step is None or dims is None or not any(_in_stripe(dims[d], iv, step) for d in stripes[k]):
            return "it reads the other's result outside the tile the same iteration computes"
    return None


def feeds_fuse_op(value: ir.Value, depth: int = 8) -> bool:
    """Whether `value` reaches an `nkipy.fuse_op`, through the inserts and loop yields
    of the nest computing it (a tiled or per-head op's tile feeds the nest's result)."""
    if depth == 0:
        return False
    for use in value.uses:
        owner = use.owner.operation
        if owner.name == "nkipy.fuse_op":
            return True
        if owner.name == "tensor.insert_slice" and use.operand_number == 0:
            if feeds_fuse_op(owner.results[0], depth - 1):
                return True
        elif owner.name == "scf.yield" and owner.parent.name == "scf.for":
            if feeds_fuse_op(owner.parent.results[use.operand_number], depth - 1):
                return True
    return False
