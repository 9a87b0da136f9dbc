"""Software pipelining rows of `linalg-to-nisa` (run last, on the final instructions).

Every engine runs its instructions in program order. A fused row-block loop (the
softmax: load -> max on VectorE -> exp on ScalarE -> sum on VectorE -> divide on
ScalarE -> store) therefore runs its blocks in series: block i+1's max sits in
VectorE's queue behind block i's sum, which waits for block i's exp. Skewing the
loop by one iteration lets the engines overlap: the first stage A of the body is
issued one iteration ahead, into its own (rotating) buffers, carried to the rest B:

    scf.for %i = 0 to N {A(i); B(i)}      ->      A(0)
                                                  %t = scf.for %i = 0 to N-1 iter_args(%a = A's tiles) {
                                                    A(i+1) -> %n;  B(i) on %a;  yield %n }
                                                  B(N-1) on %t

A may only write tiles it allocates and read those or buffers nothing in the loop
writes, so running A(i+1) before B(i) changes no value. The split and the order of
A(i+1) and B(i) in the body are chosen by an in-order estimate of a few iterations
(one cycle per element per partition at each engine's clock, MIN_II at least, VectorE's
16-bit modes, DMA at the 16 engines' rate: the cost model's NCM §3 rules in brief); a
loop is rewritten only when the estimate improves by `_GAIN`. Candidates are loops of
three or more iterations whose nested loops (if any) are small and innermost: those
(a fused matmul's `[128, 512]` PSUM chunks of one row block) are unrolled, on a trial
copy that is dropped unless it pipelines. PE and PSUM work may be part of a stage (a
fused attention's `q @ k^T` runs one row block ahead of the softmax's exp), but a PSUM
tile is never carried (8 banks), and the carried tiles (live twice as long) must fit
in `_MAX_CARRIED` bytes per partition.
"""

from __future__ import annotations

from dataclasses import dataclass

from nkipy_kg._mlir import arith, ir, scf
from nkipy_kg.dialects.nkipy import MemSpace
from nkipy_kg.dialects.nisa_base import engine_of
from nkipy_kg.passes.common import collect
from nkipy_kg.passes.fusion_deps import constant_index
from nkipy_kg.passes.memref_helpers import per_partition_bytes
from nkipy_kg.passes.nisa_lowering_common import VIEW_OPS, root, space, static_index, trip_count
from nkipy_kg.passes.nisa_lowering_common import written as written_by
from nkipy_kg.passes.nisa_lowering_engines import _cycles, _vector_speedup, rebalance_block
from nkipy_kg.targets import Target

_GAIN = 0.9              # rewrite when the estimated time falls below this fraction
_MAX_CARRIED = 48 * 1024  # bytes per partition of carried tiles
_ITERATIONS = 4          # estimated
_DMA_BYTES_PER_NS = 16 * 23.0  # NCM §3.4 (trn2); only the ratios between splits matter
_MAX_UNROLL = 4          # trips of a nested loop unrolled to pipeline its parent


def pipeline_loops(module_op: ir.Operation, target: Target, skip: list[ir.Operation] = ()) -> None:
    """`skip`: instructions to leave alone (hand-written custom-op bodies)."""
    gone: list[ir.Operation] = []  # nested loops erased with their unrolled parent
    for loop in collect(module_op, _candidate):  # pre-order: a parent before its nested loops
        if loop in gone or any(op in skip for op in collect(loop, lambda o: o.name.startswith("nisa."))):
            continue
        if nested := _nested(loop):
            loop = _unrolled_trial(loop, target, skip)
            if loop is None:
                continue
            gone += nested
        best = _best_split(loop, target)
        if best is not None:
            _rewrite(loop, *best)


def _nested(loop: ir.Operation) -> list[ir.Operation]:
    return [o.operation for o in loop.regions[0].blocks[0].operations if o.operation.name == "scf.for"]


def _candidate(op: ir.Operation) -> bool:
    if op.name != "scf.for" or len(op.operands) != 3 or trip_count(op) < 3:
        return False
    return all(len(inner.operands) == 3 and 0 < trip_count(inner) <= _MAX_UNROLL and not _nested(inner)
               for inner in _nested(op))


def _unrolled_trial(loop: ir.Operation, target: Target, skip: list[ir.Operation]) -> ir.Operation | None:
    """A copy of `loop` with its nested loops unrolled (and its engines balanced again over
    the unrolled body), in its place if it pipelines."""
    with loop.location, ir.InsertionPoint(loop):
        trial = loop.clone()
    for inner in _nested(trial):
        _unroll(inner)
    rebalance_block(trial.regions[0].blocks[0], target, skip)
    if _best_split(trial, target) is None:
        trial.erase()
        return None
    loop.erase()
    return trial


def _unroll(loop: ir.Operation) -> None:
    body = loop.regions[0].blocks[0]
    ops = [o.operation for o in body.operations][:-1]
    lb, step = static_index(loop.operands[0]), static_index(loop.operands[2])
    with loop.location, ir.InsertionPoint(loop):
        for t in range(trip_count(loop)):
            index = arith.ConstantOp(ir.IndexType.get(), lb + t * step).result
            _clone_all(ops, {body.arguments[0]: index})
    loop.erase()




def _pure(op: ir.Operation) -> bool:
    return op.name in VIEW_OPS or op.name.startswith("arith.")


def _is_instruction(op: ir.Operation) -> bool:
    return op.name.startswith("nisa.") and op.name not in ("nisa.alloc", "nisa.release")


@dataclass
class _Split:
    k: int
    carried: list[ir.Value]


def _legal(ops: list[ir.Operation], k: int, written: set) -> _Split | None:
    """The carried tiles when ops[:k] may run one iteration ahead of ops[k:]; else None."""
    a, b = ops[:k], ops[k:]
    if not any(_is_instruction(o) for o in a) or not any(_is_instruction(o) and not o.name.startswith("nisa.dma")
                                                         for o in b):
        return None
    allocs = {o.results[0] for o in a if o.name == "nisa.alloc"}
    for o in a:
        if _is_instruction(o):
            outs = written_by(o)
            if any(root(v) not in allocs for v in outs):
                return None  # writes a buffer other iterations see
            if any(root(v) not in allocs and root(v) in written for v in o.operands
                   if isinstance(v.type, ir.MemRefType) and v not in outs):
                return None  # reads a buffer the loop writes
        elif o.name == "nisa.release" and o.operands[0] not in allocs:
            return None  # frees a buffer of the whole loop one iteration early
        elif not (_pure(o) or o.name in ("nisa.alloc", "nisa.release")):
            return None
    defined_in_a = {r for o in a for r in o.results}
    carried: list[ir.Value] = []
    for o in b:
        for v in o.operands:
            if v in defined_in_a and v not in carried and v.owner.operation.name == "nisa.alloc":
                carried.append(v)
            elif v in defined_in_a and not _pure(v.owner.operation) and v.owner.operation.name != "nisa.alloc":
                return None
    released_in_a = {o.operands[0] for o in a if o.name == "nisa.release"}
    if any(c in released_in_a or space(c) == MemSpace.Psum for c in carried):
        return None
    if sum(_bytes(c) for c in carried) > _MAX_CARRIED:
        return None
    return _Split(k, carried)


def _bytes(value: ir.Value) -> int:
    return per_partition_bytes(ir.MemRefType(value.type)) or 0


def _best_split(loop: ir.Operation, target: Target) -> tuple[_Split, bool] | None:
    ops = [o.operation for o in loop.regions[0].blocks[0].operations][:-1]
    written = {root(v) for o in ops if _is_instruction(o) for v in written_by(o)}
    cost = {o: _duration(o, target) for o in ops if _is_instruction(o)}
    if len({engine for engine, _ in cost.values()}) < 2:
        return None  # one engine (or one DMA queue): nothing to overlap
    base = _estimate([(o, i) for i in range(_ITERATIONS) for o in ops], cost)
    best, best_time = None, _GAIN * base
    # Splits right after an instruction (moving views, allocs and releases across the
    # cut changes nothing the estimate sees).
    for k in (k for k in range(1, len(ops)) if ops[k - 1] in cost):
        split = _legal(ops, k, written)
        if split is None:
            continue
        a, b = ops[:k], ops[k:]
        for a_first in (True, False):
            order = [(o, 0) for o in a]
            for i in range(_ITERATIONS - 1):
                nxt, cur = [(o, i + 1) for o in a], [(o, i) for o in b]
                order += nxt + cur if a_first else cur + nxt
            order += [(o, _ITERATIONS - 1) for o in b]
            t = _estimate(order, cost)
            if t < best_time:
                best, best_time = (split, a_first), t
    return best


def _duration(op: ir.Operation, target: Target) -> tuple[str, float]:
    """(engine, estimated ns) of one instruction."""
    if op.name.startswith("nisa.dma"):
        queue = "DMA store" if space(op.operands[0]) in (MemSpace.Hbm, MemSpace.SharedHbm) else "DMA load"
        return queue, _bytes(op.operands[0]) * ir.MemRefType(op.operands[0].type).shape[0] / _DMA_BYTES_PER_NS
    engine = engine_of(op.opview)
    if engine == "Tensor":  # max(64, N) cycles, x4 for fp32 (NCM §3.1 nc_matmul)
        moving = ir.MemRefType(op.operands[2 if op.name == "nisa.matmul" else 1].type)
        fp32 = isinstance(moving.element_type, ir.F32Type)
        return engine, max(64, moving.shape[-1]) * (4 if fp32 else 1) / target.tensor_ghz
    cycles = _cycles(op)
    if engine == "Vector":
        return engine, max(64.0, cycles / _vector_speedup(op, target)) / target.vector_ghz
    return engine, cycles / (target.scalar_ghz if engine in ("Scalar", "GpSimd") else target.vector_ghz)


def _estimate(order: list[tuple[ir.Operation, int]], cost: dict) -> float:
    """End time of `order` on in-order engines, with dependencies through buffers: a
    buffer allocated in the body is a fresh one per iteration, any other is shared."""
    free: dict[str, float] = {}
    last_write: dict = {}
    last_read: dict = {}
    allocated = {o.results[0] for o, _ in order if o.name == "nisa.alloc"}
    end = 0.0
    for op, i in order:
        if op not in cost:
            continue
        engine, ns = cost[op]
        outs = written_by(op)
        key = lambda v: (root(v), i if root(v) in allocated else None)  # noqa: E731
        dsts = [key(v) for v in outs]
        srcs = [key(v) for v in op.operands if isinstance(v.type, ir.MemRefType) and v not in outs]
        ready = max([last_write.get(s, 0.0) for s in srcs]
                    + [max(last_write.get(d, 0.0), last_read.get(d, 0.0)) for d in dsts])
        start = max(free.get(engine, 0.0), ready)
        finish = start + ns
        free[engine] = finish
        for d in dsts:
            last_write[d] = finish
        for s in srcs:
            last_read[s] = max(last_read.get(s, 0.0), finish)
        end = max(end, finish)
    return end


def _rewrite(loop: ir.Operation, split: _Split, a_first: bool) -> None:
    body = loop.regions[0].blocks[0]
    ops = [o.operation for o in body.operations][:-1]
    a, b = ops[:split.k], ops[split.k:]
    iv = body.arguments[0]
    lb, ub, step = list(loop.operands)[:3]
    n_ub = constant_index(lb) + (trip_count(loop) - 1) * constant_index(step)  # the last iteration's index
    with loop.location, ir.InsertionPoint(loop):
        index = ir.IndexType.get()
        last = arith.ConstantOp(index, n_ub).result
        first = _clone_all(a, {iv: lb})
        new = scf.ForOp(lb, last, step, [first[c] for c in split.carried])
    with loop.location, ir.InsertionPoint(new.body):
        i = new.induction_variable
        args = dict(zip(split.carried, new.inner_iter_args))
        nxt = arith.AddIOp(i, step).result
        if a_first:
            ahead = _clone_all(a, {iv: nxt})
            _clone_tail(a, b, {iv: i, **args})
        else:
            _clone_tail(a, b, {iv: i, **args})
            ahead = _clone_all(a, {iv: nxt})
        scf.YieldOp([ahead[c] for c in split.carried])
    with loop.location, ir.InsertionPoint(loop):
        _clone_tail(a, b, {iv: last, **dict(zip(split.carried, new.results))})
    loop.erase()


def _clone_all(ops: list[ir.Operation], mapping: dict) -> dict:
    """Clone `ops` at the insertion point with operands renamed; returns the renaming."""
    mapping = dict(mapping)
    for op in ops:
        copy = op.clone()
        for n, v in enumerate(op.operands):
            if v in mapping:
                copy.operands[n] = mapping[v]
        mapping.update(zip(op.results, copy.results))
    return mapping


def _clone_tail(a: list[ir.Operation], b: list[ir.Operation], mapping: dict) -> None:
    """Clone stage B, first re-creating the pure ops of A (views, index arithmetic) it uses."""
    needed, pending = set(), [v for o in b for v in o.operands]
    produced = {r: o for o in a if _pure(o) for r in o.results}
    while pending:
        v = pending.pop()
        o = produced.get(v)
        if o is not None and o not in needed:
            needed.add(o)
            pending.extend(o.operands)
    _clone_all([o for o in a if o in needed] + b, mapping)
