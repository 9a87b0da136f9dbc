"""Stripe contraction after producer-consumer fusion (`knob-driven-fusion`).

When a fused loop carries a whole tensor that only its own iteration reads, and
only inside the stripe that iteration writes, the tensor need not exist: each
iteration can start from a fresh stripe. In the fused attention softmax that is the
row max and sum accumulators per block of 128 query rows (the probabilities `p`
stay whole per head: `p @ v` reads them after the head's row loop); in general a
producer that writes a row block in column tiles which its consumer reads whole:

    %r = scf.for %i = ... iter_args(%s = %empty) -> (tensor<8x16xf32>) {   // result unused
      %b = scf.for %j = ... iter_args(%t = %s) {
        ... tensor.insert_slice %tile into %t[%i, %j] [4, 8] ...
      }
      %x = tensor.extract_slice %b[%i, 0] [4, 16]
      ...
    }

becomes a loop without `%s` whose body starts from a fresh `tensor<4x16xf32>` stripe
(an SBUF `alloc_tensor` when it is small; a fill of a fresh tensor, a row max's
`-inf`, is redone on the stripe), with every slice of the chain at offset 0 along
that dim: the block is a tile instead of a full-size buffer. Nested loops are
contracted outermost first (heads, then rows).
"""

from __future__ import annotations

from nkipy_kg._mlir import arith, bufferization, ir, linalg, tensor
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect_named
from nkipy_kg.passes.fusion_cleanup import drop_iter_arg, erase_dead_tensor_ops, has_uses
from nkipy_kg.passes.fusion_deps import constant_index, slice_dims

_DYNAMIC = ir.ShapedType.get_dynamic_stride_or_offset()
# A fresh stripe up to 16 KiB per partition (of 128) is a tile: it goes to SBUF as the
# tiles of knob-driven-tiling do; a bigger one is left to memory assignment (spills).
_SBUF_STRIPE_BYTES = 128 * 16 * 1024


def contract_stripes(root: ir.Operation) -> None:
    """Contract every carried tensor of `root`'s loop nest that qualifies (see module doc)."""
    changed = True
    while changed:
        changed = False
        for loop in collect_named(root, "scf.for"):  # outermost first
            for k in range(len(loop.results)):
                if _contract(loop, k):
                    erase_dead_tensor_ops(root)  # the old chain's inserts: an outer result may be free now
                    changed = True
                    break
            if changed:
                break  # the loop was rebuilt: walk again


def _contract(loop: ir.Operation, k: int) -> bool:
    result = loop.results[k]
    if has_uses(result):
        return False
    bounds = [constant_index(v) for v in loop.operands[:3]]
    if None in bounds or not isinstance(result.type, ir.RankedTensorType):
        return False
    lb, ub, step = bounds
    body = loop.regions[0].blocks[0]
    iv, arg = body.arguments[0], body.arguments[1 + k]
    values, slices = [arg], []
    if not _chain(arg, list(body.operations)[-1], k, values, slices):
        return False
    shape = list(ir.RankedTensorType(result.type).shape)
    dim = _stripe_dim(slices, iv, step, len(shape))
    if dim is None or (ub - lb) % step or lb < 0 or ub > shape[dim] or not slices:
        return False
    shape[dim] = step
    init = loop.operands[3 + k]
    with loop.location, ir.InsertionPoint.at_block_begin(body):
        stripe_t = ir.RankedTensorType.get(shape, ir.RankedTensorType(result.type).element_type)
        start = _fresh_stripe(init, stripe_t, iv, dim, shape)
        zero = arith.ConstantOp(ir.IndexType.get(), 0).result
    for op in slices:
        _rebase(op, dim, zero)
    for v in values[1:]:
        v.set_type(stripe_t)
    arg.replace_all_uses_with(start)
    for ann in [u.owner.operation for u in result.uses]:
        ann.erase()
    drop_iter_arg(loop, k)
    while isinstance(init, ir.OpResult) and not any(True for _ in init.uses) and \
            init.owner.operation.name in ("tensor.empty", "bufferization.alloc_tensor", "linalg.fill"):
        producer = init.owner.operation
        init = producer.operands[1] if producer.name == "linalg.fill" else None
        producer.erase()
    return True


def _chain(value: ir.Value, terminator: ir.Operation, k: int, values: list, slices: list) -> bool:
    """Collect the carried values and the slices on them; False on any other use."""
    for use in value.uses:
        owner, n = use.owner.operation, use.operand_number
        if owner == terminator and n == k:
            continue
        if owner.name == "tensor.extract_slice" and n == 0:
            slices.append(owner)
        elif owner.name == "tensor.insert_slice" and n == 1:
            slices.append(owner)
            values.append(owner.results[0])
            if not _chain(owner.results[0], terminator, k, values, slices):
                return False
        elif owner.name == "scf.for" and n >= 3:
            i = n - 3
            inner = owner.regions[0].blocks[0]
            values += [inner.arguments[1 + i], owner.results[i]]
            if not (_chain(inner.arguments[1 + i], list(inner.operations)[-1], i, values, slices)
                    and _chain(owner.results[i], terminator, k, values, slices)):
                return False
        else:
            return False
    return True


def _stripe_dim(slices: list[ir.Operation], iv: ir.Value, step: int, rank: int) -> int | None:
    for d in range(rank):
        ok = True
        for op in slices:
            dims = slice_dims(op)
            if dims is None or not (isinstance(dims[d][0], ir.Value) and dims[d][0] == iv
                                    and dims[d][1] <= step and dims[d][2] == 1):
                ok = False
                break
        if ok:
            return d
    return None


def _fresh_stripe(init: ir.Value, stripe_t: ir.RankedTensorType, iv: ir.Value, dim: int,
                  shape: list[int]) -> ir.Value:
    """The iteration's starting stripe: fresh if the init is (a fill of a fresh tensor
    is filled afresh: a row max's -inf), else the init's stripe."""
    producer = init.owner.operation if isinstance(init, ir.OpResult) else None
    if producer is not None and producer.name == "tensor.empty":
        return _fresh(stripe_t)
    if producer is not None and producer.name == "linalg.fill" and _is_fresh(producer.operands[1]):
        fill = linalg.fill(producer.operands[0], outs=[_fresh(stripe_t)])
        for name in [n for n in producer.attributes if n.startswith("nkipy.")]:
            fill.owner.attributes[name] = producer.attributes[name]
        return fill
    full = list(ir.RankedTensorType(init.type).shape)
    offsets = [_DYNAMIC if d == dim else 0 for d in range(len(full))]
    return tensor.ExtractSliceOp(stripe_t, init, [iv], [], [], offsets, shape, [1] * len(full)).result


def _is_fresh(value: ir.Value) -> bool:
    return isinstance(value, ir.OpResult) and value.owner.operation.name in ("tensor.empty",
                                                                             "bufferization.alloc_tensor")


def _fresh(stripe_t: ir.RankedTensorType) -> ir.Value:
    if _nbytes(stripe_t) > _SBUF_STRIPE_BYTES:
        return tensor.EmptyOp(list(stripe_t.shape), stripe_t.element_type).result  # memory assignment decides
    alloc = bufferization.AllocTensorOp(stripe_t, [])  # a tile-sized intermediate: SBUF, like the tiles
    alloc.operation.attributes["memory_space"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(32),
                                                                    int(MemSpace.Sbuf))
    return alloc.result


def _nbytes(t: ir.RankedTensorType) -> int:
    n = t.element_type.width // 8
    for d in t.shape:
        n *= d
    return n


def _rebase(op: ir.Operation, dim: int, zero: ir.Value) -> None:
    """Offset 0 along `dim` (it was the loop's induction variable)."""
    statics = list(ir.DenseI64ArrayAttr(op.attributes["static_offsets"]))
    first = 1 if op.name == "tensor.extract_slice" else 2
    position = first + sum(1 for s in statics[:dim] if s == _DYNAMIC)
    op.operands[position] = zero
