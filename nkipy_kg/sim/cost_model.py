"""The modeled cost: a listener that schedules every executed instruction.

An instruction starts when its engine is free and the instructions it depends on
have finished (read-after-write, write-after-read and write-after-write on the
bytes it touches, tracked per buffer region); it then occupies its engine for
the time of its formula (cost_formulas.py, rates in costs.py). A DMA occupies
ceil(P/8) of the 16 DMA engines and is limited by per-engine and per-core HBM
bandwidth (NCM §3.4, §3.7). All times are **modeled**, not measured.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from nkipy_kg.sim.cost_formulas import FORMULAS, DmaWork, dma_work
from nkipy_kg.sim.cost_pool import BandwidthPool
from nkipy_kg.sim.cost_regions import RegionIndex
from nkipy_kg.sim.costs import CostTable, cost_table
from nkipy_kg.sim.instr import Instr
from nkipy_kg.sim.memory import Tile

COMPUTE_ENGINES = ("Tensor", "Vector", "Scalar", "GpSimd")
_COMPUTE_SET = frozenset(COMPUTE_ENGINES)
_IDLE_INSTRUCTIONS = 2048  # see CostModel._prune
_PRUNE_EVERY = 256         # instructions between prunes (a prune scans every region)


class Event(NamedTuple):
    """One executed instruction on the modeled timeline (ns). A NamedTuple: one is made
    per executed instruction, and a frozen dataclass costs several times more to build."""

    name: str
    engine: str        # "Tensor", ..., or "DMA"
    lane: str          # timeline row: the engine, or "DMA q<i>" for the first DMA engine used
    start_ns: float
    end_ns: float
    loc: str
    index: int         # static instruction index


@dataclass
class Profile:
    """Modeled timing of one simulated run (all times are "modeled" ns)."""

    target: str
    total_ns: float = 0.0
    busy_ns: dict[str, float] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    matmul_flops: int = 0
    hbm_bytes: int = 0
    dma_engines: int = 16
    label: str = "modeled"

    def utilisation(self) -> dict[str, float]:
        """Busy fraction per engine (DMA: averaged over its engines), each <= 1."""
        if self.total_ns <= 0:
            return {e: 0.0 for e in self.busy_ns}
        out = {}
        for engine, busy in self.busy_ns.items():
            lanes = self.dma_engines if engine == "DMA" else 1
            out[engine] = min(busy / (lanes * self.total_ns), 1.0)
        return out

    def summary(self) -> str:
        util = self.utilisation()
        lines = [f"modeled total: {self.total_ns / 1000:.3f} us on {self.target} ({len(self.events)} instructions)"]
        for engine, busy in sorted(self.busy_ns.items()):
            lines.append(f"  {engine:7s} busy {busy / 1000:9.3f} us  utilisation {100 * util[engine]:5.1f}%")
        return "\n".join(lines)

    def to_perfetto(self, path: str | Path) -> Path:
        """Write Chrome trace-event JSON (open in ui.perfetto.dev or chrome://tracing)."""
        lanes = sorted({e.lane for e in self.events}, key=lambda s: (s.startswith("DMA"), len(s), s))
        tids = {lane: i + 1 for i, lane in enumerate(lanes)}
        trace: list[dict[str, Any]] = [
            {"ph": "M", "pid": 1, "name": "process_name", "args": {"name": f"NeuronCore {self.target} (modeled)"}}]
        trace += [{"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": lane}}
                  for lane, tid in tids.items()]
        trace += [{"ph": "X", "pid": 1, "tid": tids[e.lane], "name": e.name, "ts": e.start_ns / 1000.0,
                   "dur": max(e.end_ns - e.start_ns, 0.0) / 1000.0, "args": {"loc": e.loc, "instr": e.index}}
                  for e in self.events]
        out = Path(path)
        out.write_text(json.dumps({"traceEvents": trace, "displayTimeUnit": "ns"}))
        return out


class CostModel:
    """Listener: `CostModel(target).on_instruction(instr, operands)`; result in `.profile`."""

    def __init__(self, target: str = "trn2", table: CostTable | None = None, keep_events: bool = True) -> None:
        self.table = table or cost_table(target)
        self.profile = Profile(target=self.table.name, dma_engines=self.table.dma_engines)
        self.keep_events = keep_events
        self.engine_free = {e: 0.0 for e in COMPUTE_ENGINES}
        self.last_writes: dict[str, list] = {e: [] for e in COMPUTE_ENGINES}
        self.queue_free: dict[str, float] = {}
        # 16 engines x 23 B/ns on trn2 (NCM §3.4) and the core's HBM share (NCM §1.1).
        self.dma_pool = BandwidthPool(self.table.dma_engines * self.table.dma_engine_bytes_per_ns)
        self.hbm_pool = BandwidthPool(self.table.hbm_bytes_per_ns)
        self.regions = RegionIndex()
        self.floor: dict[Any, float] = {}  # per memory: latest end of pruned regions
        self.tensor_last_end: float | None = None
        self.tensor_warm_from = 0.0
        self.count = 0
        self.plans: dict[Instr, _Plan] = {}  # per static instruction: what on_instruction looks up
        self.ghz = {e: self.table.ghz(e) for e in COMPUTE_ENGINES}
        self.last_use: dict[str, int] = {}  # engine or DMA queue -> instruction count at its last use

    # -- dependencies -------------------------------------------------------------
    def _deps(self, boxes_r: Sequence[tuple], boxes_w: Sequence[tuple]) -> tuple[float, set[str]]:
        """Earliest start allowed by the data dependencies, and the producer engines."""
        ready, producers = 0.0, set()
        floor, regions = self.floor, self.regions
        for box in boxes_r:
            ready = max(ready, floor.get(box[0], 0.0), regions.ready_after(box, False, producers))
        for box in boxes_w:
            ready = max(ready, floor.get(box[0], 0.0), regions.ready_after(box, True, producers))
        return ready, producers

    def _prune(self) -> None:
        """Forget regions that can no longer delay anything: every engine and DMA queue
        in use is already past their last access (plus the DMA latency). Their latest end
        is kept per memory as a floor, which is conservative. A lane unused for the last
        _IDLE_INSTRUCTIONS instructions does not hold the horizon back (an engine used once
        early would otherwise keep every region alive); if it gets work again, it waits
        at most for the floor."""
        recent = [lane for lane, last in self.last_use.items() if self.count - last <= _IDLE_INSTRUCTIONS]
        used = [self.engine_free.get(lane, self.queue_free.get(lane, 0.0)) for lane in recent]
        if not used:
            return
        horizon = min(used) - self.table.dma_cross_engine_latency_ns
        for key, end in self.regions.prune(horizon).items():
            self.floor[key] = max(self.floor.get(key, 0.0), end)

    def _record(self, boxes_r: Sequence[tuple], boxes_w: Sequence[tuple], end: float, engine: str) -> None:
        for box in boxes_r:
            self.regions.record_read(box, end)
        for box in boxes_w:
            self.regions.record_write(box, end, engine)

    # -- the listener -------------------------------------------------------------
    def on_instruction(self, ins: Instr, ops: Sequence[Any]) -> None:
        plan = self.plans.get(ins)
        if plan is None:
            plan = self.plans[ins] = _Plan.of(ins)
        formula = plan.formula
        if formula is None:
            return
        reads = [ops[i].box() for i in plan.reads if ops[i].__class__ is Tile]
        writes = [ops[i].box() for i in plan.writes]
        ready, producers = self._deps(reads, writes)
        work = formula(self.table, ins, ops)
        if plan.dma:
            start, end, lane = self._schedule_dma(work, ready, producers)
            engine = "DMA"
        else:
            start, end = self._schedule_compute(ins, work, ready, reads)
            engine = lane = ins.engine
            self.last_writes[engine] = writes
        self._record(reads, writes, end, engine)
        self.count += 1
        if self.count % _PRUNE_EVERY == 0:
            self._prune()
        if plan.matmul and engine == "Tensor":
            _, stat, mov = ops
            self.profile.matmul_flops += 2 * stat.arr.shape[0] * stat.arr.shape[1] * mov.arr.shape[1]
        if end > self.profile.total_ns:
            self.profile.total_ns = end
        if self.keep_events:
            self.profile.events.append(Event(plan.short, engine, lane, start, end, plan.where, ins.index))

    def _schedule_compute(self, ins: Instr, cycles: float, ready: float, reads: list) -> tuple[float, float]:
        engine = ins.engine
        c = self.table
        if engine != "Tensor" and _any_overlap(reads, self.last_writes[engine]):
            cycles += c.dependent_overhead_cycles  # back-to-back dependent instructions (NCM §3.3)
        duration = cycles / self.ghz[engine]
        start = max(self.engine_free[engine], ready + c.semaphore_ns)
        if engine == "Tensor" and c.tensor_warmup_ns:
            duration = self._throttled(start, duration)
        end = start + duration
        self.engine_free[engine] = end
        self.last_use[engine] = self.count
        self.profile.busy_ns[engine] = self.profile.busy_ns.get(engine, 0.0) + duration
        return start, end

    def _throttled(self, start: float, duration: float) -> float:
        """TensorE runs at tensor_warmup_rate for tensor_warmup_ns after an idle gap of
        at least that long (NCM §3.2 Throttling); returns the stretched duration."""
        c = self.table
        if self.tensor_last_end is None or start - self.tensor_last_end >= c.tensor_warmup_ns:
            self.tensor_warm_from = start
        slow_left = max(0.0, self.tensor_warm_from + c.tensor_warmup_ns - start)
        slow_work = min(duration, slow_left * c.tensor_warmup_rate)  # full-rate ns done while slow
        stretched = slow_work / c.tensor_warmup_rate + (duration - slow_work)
        self.tensor_last_end = start + stretched
        return stretched

    def _schedule_dma(self, work: DmaWork, ready: float, producers: set[str]) -> tuple[float, float, str]:
        c = self.table
        compute = sorted(producers & _COMPUTE_SET)
        if compute:
            ready += c.dma_cross_engine_latency_ns  # semaphore-to-start latency (NCM §3.4)
        # The queue is tied to the triggering engine (NCM §3.4 "Queues"); one queue is in order.
        queue = f"q{compute[0]}" if compute else "qSync"
        k = min(c.dma_engines, math.ceil(work.partitions / c.dma_partitions_per_engine))
        per_partition = work.bytes / work.partitions
        eff = work.efficiency * per_partition / (per_partition + c.dma_descriptor_overhead_bytes)
        start = max(ready, self.queue_free.get(queue, 0.0))
        # Wire bytes (descriptor overhead included) through the 16-engine pool at <= k engines' rate.
        wire = work.bytes / eff
        # float(): the pools compute in NumPy; keep modeled times plain Python floats.
        end = float(self.dma_pool.reserve(start, wire, k * c.dma_engine_bytes_per_ns))
        if work.hbm_bytes:
            end = max(end, float(self.hbm_pool.reserve(start, work.hbm_bytes,
                                                       work.hbm_bytes / max(end - start, 1e-9))))
            self.profile.hbm_bytes += work.hbm_bytes
        self.queue_free[queue] = end
        self.last_use[queue] = self.count
        self.profile.busy_ns["DMA"] = self.profile.busy_ns.get("DMA", 0.0) + wire / c.dma_engine_bytes_per_ns
        return start, end, f"DMA {queue}"


def _overlap(a: tuple, b: tuple) -> bool:
    """Boxes (key, r0, r1, c0, c1) or key-less (r0, r1, c0, c1) of the same memory overlap."""
    if len(a) == 5 and len(b) == 5 and a[0] != b[0]:
        return False
    a, b = a[-4:], b[-4:]
    return a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]



def _any_overlap(reads: list, writes: list) -> bool:
    """Whether any read box overlaps any write box (`_overlap` on 5-tuples, unrolled)."""
    for r in reads:
        for w in writes:
            if r[0] == w[0] and r[1] <= w[2] and w[1] <= r[2] and r[3] <= w[4] and w[3] <= r[4]:
                return True
    return False


@dataclass(frozen=True)
class _Plan:
    """What on_instruction needs of a static instruction, looked up once."""

    formula: Any
    reads: tuple[int, ...]
    writes: tuple[int, ...]
    dma: bool      # the formula returns DmaWork
    matmul: bool
    short: str
    where: str

    @staticmethod
    def of(ins: Instr) -> "_Plan":
        formula = FORMULAS.get(ins.cls)
        return _Plan(formula, ins.reads, ins.writes, formula is dma_work, ins.cls.__name__ == "MatmulOp",
                     ins.short, ins.where())
