"""Lagged fusion of a consumer loop into its producer loop, for `linalg-to-nisa`.

Every engine runs its instructions in program order, so two loops in a row run one
after the other even when their engines differ. Attention fused per head (bench/README)
is a softmax row loop whose iteration j writes block j of the head's probabilities `p`
(ScalarE and VectorE work), then a `p @ v` loop whose iteration j reads block j (PE
transposes and matmuls): TensorE idles through the softmax and ScalarE through `p @ v`.
Iteration j of the consumer needs only what iteration j of the producer wrote, so it
can run inside the producer loop, L iterations behind:

    scf.for %t = 0 to N { P(t) }             scf.for %t = 0 to L { P(t) }
    <between>                        ->      scf.for %t = L to N { P(t); C(t - L) }
    scf.for %j = 0 to M { C(j) }             <between>
                                             scf.for %j = N - L to M { C(j) }

(the producer may be a software-pipelined loop with iter_args and an epilogue in
`<between>`). It applies when, for every buffer the producer writes and the consumer
reads, each access goes through a subview whose offset along one dim is the loop's
induction variable (size 1), i.e. iteration j touches block j only, and `<between>`
writes only blocks the fused iterations do not read (the epilogue's last block); when
the consumer writes only buffers nothing else touches in that span; when the ops
between the loops that the consumer needs (its operand loads, its output tile) can be
hoisted above the producer; and when the extra on-chip memory is small. So the fused
program computes the same values in the same order per buffer element. It is chosen
only where the consumer's main engine has slack in the producer loop (estimated per
iteration, `nisa_lowering_pipeline._duration`): an fp32 attention, TensorE-bound, keeps
its loops apart, since interleaving there only throttles TensorE more.
"""

from __future__ import annotations

from nkipy_kg._mlir import arith, ir
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.memref_helpers import per_partition_bytes
from nkipy_kg.passes.nisa_lowering_common import index_in, root, space, static_index, trip_count, written
from nkipy_kg.passes.nisa_lowering_lag_stripes import striped
from nkipy_kg.passes.nisa_lowering_pipeline import _duration
from nkipy_kg.targets import Target

LAG = 1                    # consumer iterations behind the producer
_MIN_TRIPS = 4             # shorter loops overlap at most a few iterations, for twice the code
_MAX_EXTRA = 32 * 1024     # SBUF bytes per partition the hoisted and consumer tiles may add
_PSUM_BYTES = 16 * 1024    # PSUM per partition (8 banks of 2 KiB, NCM §1.3)


def fuse_lagged_consumers(module_op: ir.Operation, target: Target, skip: list[ir.Operation] = ()) -> None:
    """Fuse every qualifying (producer, consumer) pair (see the module docstring)."""
    # Outer and earlier consumers first, one fusion at a time: a fusion moves and may
    # erase loops, so the candidates are collected again after each. Each fusion leaves
    # loops that start past 0, which never qualify again, so this ends.
    refused: set[ir.Operation] = set()  # (an erased op's address may be reused: then a missed fusion)
    while True:
        roots = _Roots()  # per round: a fusion changes what the loops touch
        for consumer in collect(module_op, _is_consumer):
            if consumer in refused:
                continue
            found = None
            if not any(op in skip for op in collect(consumer, lambda o: o.name.startswith("nisa."))):
                found = _producer_of(consumer, target, roots)
            if found is None:
                refused.add(consumer)
                continue
            _fuse(*found, consumer)
            break
        else:
            return


def _is_consumer(op: ir.Operation) -> bool:
    return op.name == "scf.for" and len(op.operands) == 3 and _unit_loop(op)


def _unit_loop(loop: ir.Operation) -> bool:
    return static_index(loop.operands[0]) == 0 and static_index(loop.operands[2]) == 1 \
        and trip_count(loop) >= _MIN_TRIPS


class _Span:
    """The ops of a block from `producer` to `consumer` (`between`: the ops in between)."""

    def __init__(self, producer: ir.Operation, consumer: ir.Operation, between: list[ir.Operation]) -> None:
        self.producer, self.consumer = producer, consumer
        self.between = between
        self.block = consumer.block


def _producer_of(consumer: ir.Operation, target: Target, roots: _Roots) -> tuple[ir.Operation, _Span, list] | None:
    """(producer, span, hoisted ops) for the nearest earlier loop `consumer` can join."""
    ops = [o.operation for o in consumer.block.operations]
    at = index_in(ops, consumer)
    touched = roots(consumer)[1]
    for first in range(at - 1, -1, -1):
        producer = ops[first]
        if producer.name != "scf.for" or not roots(producer)[0] & touched or not _unit_loop(producer):
            continue  # the cheap test first: the consumer must read what the producer writes
        span = _Span(producer, consumer, ops[first + 1:at])
        hoisted = _legal(span, roots)
        if hoisted is not None and _profitable(span, target):
            return producer, span, hoisted
    return None


def _legal(span: _Span, roots: _Roots) -> list[ir.Operation] | None:
    """The ops between the loops to hoist above the producer, or None if the fusion could
    change a value."""
    p_writes, p_touches = roots(span.producer)
    c_writes, c_touches = roots(span.consumer)
    shared = c_touches & p_writes
    if not shared or c_writes & shared:
        return None
    hoisted = _hoistable(span, c_touches, roots)
    if hoisted is None:
        return None
    kept = [o for o in span.between if o not in hoisted]
    kept_writes = set().union(*(roots(o)[0] for o in kept)) if kept else set()
    kept_touches = set().union(*(roots(o)[1] for o in kept)) if kept else set()
    if c_writes & (p_touches | kept_touches) or (c_touches & kept_writes) - shared:
        return None
    n = trip_count(span.producer)
    for buffer in shared:
        if not striped(buffer, span, n - LAG):
            return None
    if _extra_bytes(span, hoisted) > _MAX_EXTRA or _psum_bytes(span) > _PSUM_BYTES:
        return None
    return hoisted


class _Roots:
    """(buffers written, buffers touched) by the instructions in an op (nested included),
    computed once per op for one round of fusion."""

    def __init__(self) -> None:
        self.known: dict[ir.Operation, tuple[set, set]] = {}

    def __call__(self, op: ir.Operation) -> tuple[set, set]:
        if op not in self.known:
            self.known[op] = _collect_roots(op)
        return self.known[op]


def _collect_roots(op: ir.Operation) -> tuple[set, set]:
    writes, touches = set(), set()
    for inner in collect(op, lambda o: o.name.startswith("nisa.") and o.name != "nisa.alloc"):
        touches.update(root(v) for v in inner.operands if isinstance(v.type, ir.MemRefType))
        if inner.name != "nisa.release":
            writes.update(root(v) for v in written(inner) if isinstance(v.type, ir.MemRefType))
    return writes, touches


def _hoistable(span: _Span, c_touches: set, roots: _Roots) -> list[ir.Operation] | None:
    """The ops between the loops the consumer needs (values it uses, writers of buffers it
    reads, allocated between), in order, when none depends on the producer; else None."""
    between = span.between
    needed = _defined_outside_uses(span.consumer)
    chosen: list[ir.Operation] = []
    changed = True
    while changed:
        changed = False
        for op in between:
            if op in chosen:
                continue
            makes = set(op.results) & needed
            writes = roots(op)[0]
            feeds = bool(writes & c_touches) and all(_allocated_by(w, chosen + [op]) for w in writes)
            if makes or feeds:
                chosen.append(op)
                needed |= _defined_outside_uses(op)
                changed = True
    p_writes, p_touches = roots(span.producer)
    produced = set(span.producer.results)
    for op in chosen:
        writes, touches = roots(op)
        if touches & p_writes or writes & p_touches or _defined_outside_uses(op) & produced:
            return None
        for earlier in between[:index_in(between, op)]:  # the kept ops it moves above
            if earlier not in chosen and (touches & roots(earlier)[0] or writes & roots(earlier)[1]):
                return None
        for v in _defined_outside_uses(op):  # every operand defined above the producer or hoisted
            owner = v.owner.operation if isinstance(v, ir.OpResult) else None
            if owner is not None and owner in between and owner not in chosen:
                return None
    for v in _defined_outside_uses(span.consumer):
        owner = v.owner.operation if isinstance(v, ir.OpResult) else None
        if owner is not None and (owner == span.producer or (owner in between and owner not in chosen)):
            return None
    return sorted(chosen, key=lambda o: index_in(between, o))


def _allocated_by(buffer: ir.Value, ops: list[ir.Operation]) -> bool:
    """`buffer` is allocated by one of `ops` (a tile the consumer's loads fill)."""
    return isinstance(buffer, ir.OpResult) and buffer.owner.operation in ops


def _defined_outside_uses(op: ir.Operation) -> set:
    """Values `op` (with its regions) uses that are defined outside it."""
    inside = {r for o in collect(op, lambda o: True) for r in o.results}
    inside |= {a for o in collect(op, lambda o: True) for region in o.regions for b in region.blocks
               for a in b.arguments}
    return {v for o in collect(op, lambda o: True) for v in o.operands if v not in inside}


def _extra_bytes(span: _Span, hoisted: list[ir.Operation]) -> int:
    allocs = [o for h in hoisted for o in collect(h, lambda o: o.name == "nisa.alloc")]
    allocs += collect(span.consumer, lambda o: o.name == "nisa.alloc")
    return sum(per_partition_bytes(ir.MemRefType(a.results[0].type)) or 0 for a in allocs
               if space(a.results[0]) == MemSpace.Sbuf)


def _psum_bytes(span: _Span) -> int:
    allocs = collect(span.producer, lambda o: o.name == "nisa.alloc") + \
        collect(span.consumer, lambda o: o.name == "nisa.alloc")
    return sum(max(2048, per_partition_bytes(ir.MemRefType(a.results[0].type)) or 0) for a in allocs
               if space(a.results[0]) == MemSpace.Psum)


def _profitable(span: _Span, target: Target) -> bool:
    """The consumer's busiest engine is not the busiest of producer + consumer per iteration."""
    p_work, c_work = _work(span.producer, target), _work(span.consumer, target)
    if not c_work:
        return False
    main = max(c_work, key=c_work.get)
    total = {e: p_work.get(e, 0.0) + c_work.get(e, 0.0) for e in {*p_work, *c_work}}
    return total[main] < max(total.values())


def _work(loop: ir.Operation, target: Target) -> dict[str, float]:
    """Estimated busy ns per engine of one iteration of `loop` (nested loops by trips)."""
    work: dict[str, float] = {}
    body = loop.regions[0].blocks[0]
    for op in (o.operation for o in body.operations):
        if op.name == "scf.for":
            for engine, ns in _work(op, target).items():
                work[engine] = work.get(engine, 0.0) + ns * trip_count(op)
        elif op.name.startswith("nisa.") and op.name not in ("nisa.alloc", "nisa.release"):
            engine, ns = _duration(op, target)
            work[engine] = work.get(engine, 0.0) + ns
    return work


def _fuse(producer: ir.Operation, span: _Span, hoisted: list[ir.Operation], consumer: ir.Operation) -> None:
    for op in hoisted:
        op.move_before(producer)
    n = trip_count(producer)
    index = ir.IndexType.get()
    with producer.location, ir.InsertionPoint(producer):
        lag = arith.ConstantOp(index, LAG).result
        head = producer.clone()  # iterations [0, LAG), before the consumer can start
    head.operands[1] = lag
    producer.operands[0] = lag
    for k in range(3, len(producer.operands)):
        producer.operands[k] = head.results[k - 3]
    body = producer.regions[0].blocks[0]
    terminator = list(body.operations)[-1].operation
    with consumer.location, ir.InsertionPoint(terminator):
        j = arith.SubIOp(body.arguments[0], lag).result
        copy = consumer.clone()
    copy_body = copy.regions[0].blocks[0]
    copy_body.arguments[0].replace_all_uses_with(j)
    for op in [o.operation for o in copy_body.operations][:-1]:
        op.move_before(terminator)
    copy.erase()
    if n - LAG >= trip_count(consumer):
        consumer.erase()
        return
    with consumer.location, ir.InsertionPoint(consumer):
        consumer.operands[0] = arith.ConstantOp(index, n - LAG).result
