"""Producer-consumer fusion of elementwise linalg ops, the first step of `infer-layout`.

An elementwise op whose result has exactly one use, an identity-mapped input of
another elementwise op (or of a reduction, when the producer has one input:
`sum(square(x))`, which linalg-to-nisa splits back per SBUF tile), is merged into
its consumer: one `linalg.generic` whose body is the
producer's body followed by the consumer's. The intermediate then never exists as
a tensor, so layout inference never has to place it: no SBUF budget for it, no HBM
round trip when it does not fit, one loop nest instead of two.

    %d = linalg.generic {maps = [id, (d0, d1) -> (d0, 0), id]} ins(%x, %m) outs(%e0) {subf}
    %y = linalg.exp ins(%d) outs(%e1)

becomes

    %y = linalg.generic {maps = [id, (d0, d1) -> (d0, 0), id]} ins(%x, %m) outs(%e1) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.subf %in, %in_0 : f32
      %1 = math.exp %0 : f32
      linalg.yield %1 : f32
    }

A knob on the intermediate is a use, so an annotated value is never fused away (the
author asked for its tile or memory); nor is a returned value, one with a second
reader, or one read through a broadcast or transposed map (fusing would recompute
the producer per element of the consumer's larger iteration space). The body keeps
each op's element types, so the CPU JIT computes exactly what the unfused ops did;
on the device `linalg-to-nisa` keeps the intermediate in an fp32 SBUF temporary,
which is no less accurate than rounding it to the kernel dtype.

The reference has no automatic fusion (only knob-driven sibling-loop fusion, pass
9); without it `exp(x - m)` costs a full-size HBM write and read of `x - m` whenever
the SBUF budget cannot hold it.
"""

from __future__ import annotations

from nkipy_kg._mlir import ir, linalg
from nkipy_kg.passes.common import NAMED_BINARY, NAMED_UNARY, collect, is_inside_nkipy_region, iterator_types

_NAMED = NAMED_UNARY | NAMED_BINARY
_BODY_DIALECTS = ("arith.", "math.")


def fuse_elementwise(func: ir.Operation) -> int:
    """Fuse until nothing changes; returns how many producers were merged."""
    fused = 0
    while (pair := _next_pair(func)) is not None:
        _fuse(*pair)
        fused += 1
    return fused


def _next_pair(func: ir.Operation) -> tuple[ir.Operation, ir.Operation, int] | None:
    for consumer in collect(func, _is_fusable_op):
        for i in range(_num_inputs(consumer)):
            producer = _fusable_producer(consumer, i)
            if producer is not None:
                return producer, consumer, i
    return None


def _is_fusable_op(op: ir.Operation) -> bool:
    """A single-result structured op on tensors with a plain arith/math body."""
    if op.name not in _NAMED and op.name != "linalg.generic":
        return False
    if len(op.results) != 1 or len(op.regions) != 1 or is_inside_nkipy_region(op):
        return False
    block = op.regions[0].blocks[0]
    body = [b.operation for b in block.operations][:-1]
    return all(b.name.startswith(_BODY_DIALECTS) for b in body)


def _num_inputs(op: ir.Operation) -> int:
    return len(op.operands) - 1


def _maps(op: ir.Operation) -> list[ir.AffineMap]:
    if "indexing_maps" in op.attributes:
        return [ir.AffineMapAttr(a).value for a in ir.ArrayAttr(op.attributes["indexing_maps"])]
    rank = ir.ShapedType(op.results[0].type).rank  # named elementwise ops: identity maps
    return [ir.AffineMap.get_identity(rank, context=op.context)] * len(op.operands)


def _is_identity(m: ir.AffineMap) -> bool:
    return m == ir.AffineMap.get_identity(m.n_dims, context=m.context)


def _fusable_producer(consumer: ir.Operation, i: int) -> ir.Operation | None:
    value = consumer.operands[i]
    if not isinstance(value, ir.OpResult):
        return None  # a block argument
    producer = value.owner.operation
    if not _is_fusable_op(producer) or producer.block != consumer.block:
        return None
    if not all(t == "parallel" for t in iterator_types(producer)):
        return None
    if len(list(value.uses)) != 1 or not _is_identity(_maps(consumer)[i]):
        return None
    if not _is_identity(_maps(producer)[-1]) or _reads_init(producer):
        return None
    if any(not isinstance(v.type, ir.ShapedType) for v in [*producer.operands, *consumer.operands]):
        return None  # a scalar operand: keep the ops as they are
    iters = iterator_types(consumer)
    if any(t != "parallel" for t in iters) and not _only_widens(producer) \
            and not (_one_identity_input(producer) and iters[0] == "parallel"):
        # A reduction's input: a widening is free (tensor_reduce_arith reads narrow
        # tiles); anything else linalg-to-nisa splits back off per tile (an SBUF
        # temporary), for a reduction of one input along free axes only (a
        # partition-axis reduction stages its input from HBM as it is).
        return None
    return producer


def _reads_init(op: ir.Operation) -> bool:
    out_arg = op.regions[0].blocks[0].arguments[_num_inputs(op)]
    return len(list(out_arg.uses)) > 0


def _only_widens(op: ir.Operation) -> bool:
    body = [b.operation for b in op.regions[0].blocks[0].operations]
    return len(body) == 2 and body[0].name == "arith.extf"


def _one_identity_input(op: ir.Operation) -> bool:
    return _num_inputs(op) == 1 and _is_identity(_maps(op)[0])


def _fuse(producer: ir.Operation, consumer: ir.Operation, i: int) -> None:
    """Replace `consumer` by one generic computing producer-then-consumer. An input the
    producer and the consumer both read (same value, same map) is read once: `x / (1 +
    exp(-x))` fused is one read of x, which linalg-to-nisa can see is one silu."""
    n_prod, n_cons = _num_inputs(producer), _num_inputs(consumer)
    p_maps, c_maps = _maps(producer), _maps(consumer)
    p_in, c_in = list(producer.operands)[:n_prod], list(consumer.operands)[:n_cons]
    entries: list[tuple[ir.Value, ir.AffineMap]] = []

    def slot(value: ir.Value, m: ir.AffineMap) -> int:
        for k, (v, vm) in enumerate(entries):
            if v == value and vm == m:
                return k
        entries.append((value, m))
        return len(entries) - 1

    c_slot = {k: slot(c_in[k], c_maps[k]) for k in range(i)}
    p_slot = [slot(p_in[j], p_maps[j]) for j in range(n_prod)]
    c_slot.update({k: slot(c_in[k], c_maps[k]) for k in range(i + 1, n_cons)})
    outs = list(consumer.operands)[n_cons:]
    inputs = [v for v, _ in entries]
    maps = [m for _, m in entries] + [c_maps[-1]]
    loc = consumer.location
    with loc, ir.InsertionPoint(consumer):
        fused = linalg.GenericOp([r.type for r in consumer.results], inputs, outs,
                                 ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in maps]),
                                 _iterator_attr(consumer), loc=loc)
        types = [ir.ShapedType(v.type).element_type for v in [*inputs, *outs]]
        block = fused.regions[0].blocks.append(*types, arg_locs=[loc] * len(types))
    for name in consumer.attributes:  # discardable attributes (an op id) stay with the value
        if name not in ("indexing_maps", "iterator_types", "operandSegmentSizes"):
            fused.operation.attributes[name] = consumer.attributes[name]
    new_args = list(block.arguments)
    p_block, c_block = producer.regions[0].blocks[0], consumer.regions[0].blocks[0]
    for j, arg in enumerate(list(p_block.arguments)[:n_prod]):
        arg.replace_all_uses_with(new_args[p_slot[j]])
    p_body = [b.operation for b in p_block.operations]
    _move_into(block, p_body[:-1])
    c_args = list(c_block.arguments)
    c_args[i].replace_all_uses_with(p_body[-1].operands[0])
    for k, arg in enumerate(c_args):
        if k != i:
            arg.replace_all_uses_with(new_args[c_slot[k]] if k < n_cons else new_args[len(entries) + k - n_cons])
    _move_into(block, [b.operation for b in c_block.operations])
    consumer.results[0].replace_all_uses_with(fused.results[0])
    init = producer.operands[n_prod]
    consumer.erase()
    producer.erase()
    if isinstance(init, ir.OpResult) and init.owner.name == "tensor.empty" and not list(init.uses):
        init.owner.operation.erase()


def _iterator_attr(op: ir.Operation) -> ir.ArrayAttr:
    if "iterator_types" in op.attributes:
        return ir.ArrayAttr(op.attributes["iterator_types"])
    parallel = ir.Attribute.parse("#linalg.iterator_type<parallel>")
    return ir.ArrayAttr.get([parallel] * len(iterator_types(op)))


def _move_into(block: ir.Block, ops: list[ir.Operation]) -> None:
    ip = ir.InsertionPoint(block)
    for op in ops:
        op.detach_from_parent()
        ip.insert(op)
