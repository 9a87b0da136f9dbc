"""The explorer's Run tab, as plain data: one device run of the compiled kernel.

    view = run_view_of(result, expected=numpy_outputs, source_file=...)
    view.time_us, view.timing_kind        # 10.07, "modeled"
    view.utilisation["Vector"]            # busy fraction in [0, 1]
    view.boxes                            # Gantt boxes, <= MAX_BOXES (sub-pixel ones merged)
    view.outputs[0].passed                # NumPy comparison at the per-dtype tolerance

It reads a `RunResult` of the devices API (outputs, time_us, timing_kind, device,
profile); it never touches MLIR. The run itself (device lookup, inputs) lives in
`explore_device.py`.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nkipy_kg import dtypes
from nkipy_kg.tolerance import for_dtype

MAX_BOXES = 2000        # Gantt boxes drawn at most: more would make the SVG sluggish
GANTT_PX = 1600         # the width the merge threshold assumes: shorter boxes are invisible anyway
PERFETTO_MAX = 100_000  # trace events embedded for download: beyond this the page (and notebook) bloats


@dataclass(frozen=True)
class OutputCheck:
    """One kernel output against NumPy: passed iff |got - want| <= atol + rtol * |want| everywhere.

    max_rel is taken over the elements where |want| > atol (relative error near zero is noise).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    max_abs: float
    max_rel: float
    rtol: float
    atol: float
    passed: bool


@dataclass(frozen=True)
class RunView:
    """What the Run tab draws. Boxes are [lane, start_ns, end_ns, name, loc, line, count]:
    `count` > 1 marks several consecutive sub-pixel instructions merged into one box."""

    device: str
    target: str
    timing_kind: str                      # "modeled" (simulator) or "measured" (hardware)
    time_us: float
    utilisation: dict[str, float] = field(default_factory=dict)
    busy_us: dict[str, float] = field(default_factory=dict)
    lanes: tuple[str, ...] = ()
    boxes: tuple[tuple[Any, ...], ...] = ()
    events_total: int = 0
    merged_note: str = ""
    outputs: tuple[OutputCheck, ...] = ()
    compared: bool = False
    perfetto: dict[str, Any] | None = None
    perfetto_note: str = ""               # says so when the embedded trace was cut at PERFETTO_MAX
    error: str = ""

    @property
    def passed(self) -> bool | None:
        """NumPy verdict: None when not compared (or the run failed)."""
        if not self.compared or self.error:
            return None
        return all(o.passed for o in self.outputs)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["time_us"] = round(self.time_us, 6)
        out["passed"] = self.passed
        out["boxes"] = [list(b) for b in self.boxes]
        return out

    def label(self) -> str:
        """Stable words for text reprs (no timings): `run='modeled', numpy='pass'`."""
        if self.error:
            return "run='failed'"
        verdict = {None: "", True: ", numpy='pass'", False: ", numpy='FAIL'"}[self.passed]
        return f"run={self.timing_kind!r}{verdict}"


def failed_run(device: str, target: str, message: str) -> RunView:
    return RunView(device=device, target=target, timing_kind="", time_us=0.0, error=message)


def as_outputs(value: Any) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(v) for v in value) if isinstance(value, (tuple, list)) else (np.asarray(value),)


def check_outputs(got: Any, want: Any) -> tuple[OutputCheck, ...]:
    """Per output: max abs / rel error and the verdict at the output dtype's tolerance."""
    gots, wants = as_outputs(got), as_outputs(want)
    if len(gots) != len(wants):
        raise ValueError(f"the kernel returned {len(gots)} outputs, NumPy {len(wants)}")
    checks = []
    for k, (g, w) in enumerate(zip(gots, wants)):
        rtol, atol = for_dtype(g.dtype)
        g64, w64 = g.astype(np.float64), np.broadcast_to(w, g.shape).astype(np.float64)
        err = np.abs(g64 - w64)
        err = np.where(np.isnan(g64) & np.isnan(w64), 0.0, err)
        big = np.abs(w64) > max(atol, 1e-30)
        max_abs = float(np.nanmax(err, initial=0.0)) if not np.isnan(err).any() else float("nan")
        max_rel = float(np.max(err[big] / np.abs(w64[big]), initial=0.0))
        ok = bool(np.allclose(g64, w64, rtol=rtol, atol=atol, equal_nan=True))
        name = "result" if len(gots) == 1 else f"result[{k}]"
        checks.append(OutputCheck(name, tuple(g.shape), dtypes.short_name(g.dtype), max_abs, max_rel, rtol, atol, ok))
    return tuple(checks)


def _line_of(loc: str, source_file: str | None) -> int | None:
    """`/x/k.py:12:5` -> 12 when the location is in the explored kernel's file."""
    file, _, rest = loc.rpartition(":")
    file, _, line = file.rpartition(":")
    if not source_file or file != source_file or not line.isdigit():
        return None
    return int(line)


def _short_loc(loc: str) -> str:
    return loc.rsplit("/", 1)[-1] if loc and loc != "<unknown>" else ""


def _merge_lane(events: list[Any], lane: int, pixel_ns: float, source_file: str | None) -> list[tuple[Any, ...]]:
    """Boxes of one lane: consecutive events shorter than a pixel, less than a pixel apart,
    become one box counting them (named after its most frequent instruction)."""
    boxes: list[tuple[Any, ...]] = []
    group: list[Any] = []

    def flush() -> None:
        if not group:
            return
        first = group[0]
        if len(group) == 1:
            boxes.append((lane, first.start_ns, first.end_ns, first.name, _short_loc(first.loc),
                          _line_of(first.loc, source_file), 1))
        else:
            names = Counter(e.name for e in group).most_common(3)
            label = ", ".join(f"{n} ×{c}" for n, c in names) + (" …" if len({e.name for e in group}) > 3 else "")
            boxes.append((lane, first.start_ns, max(e.end_ns for e in group), label, _short_loc(first.loc),
                          _line_of(first.loc, source_file), len(group)))
        group.clear()

    for e in events:
        small = e.end_ns - e.start_ns < pixel_ns
        if group and small and e.start_ns - group[-1].end_ns < pixel_ns \
                and e.end_ns - group[0].start_ns < pixel_ns * 4:
            group.append(e)
            continue
        flush()
        if small:
            group.append(e)
        else:
            boxes.append((lane, e.start_ns, e.end_ns, e.name, _short_loc(e.loc), _line_of(e.loc, source_file), 1))
    flush()
    return boxes


def gantt_boxes(events: list[Any], total_ns: float, lanes: list[str], source_file: str | None = None,
                max_boxes: int = MAX_BOXES) -> tuple[list[tuple[Any, ...]], str]:
    """At most `max_boxes` boxes over the lanes, and a note saying what was merged."""
    by_lane: dict[str, list[Any]] = {lane: [] for lane in lanes}
    for e in events:
        by_lane[e.lane].append(e)
    for lane_events in by_lane.values():
        lane_events.sort(key=lambda e: (e.start_ns, e.end_ns))
    pixel_ns = max(total_ns, 1e-9) / GANTT_PX
    boxes: list[tuple[Any, ...]] = []
    for _ in range(40):          # coarsen until it fits (each round doubles the merge width)
        boxes = [b for k, lane in enumerate(lanes) for b in _merge_lane(by_lane[lane], k, pixel_ns, source_file)]
        if len(boxes) <= max_boxes:
            break
        pixel_ns *= 2
    boxes = boxes[:max_boxes]
    merged = sum(b[6] for b in boxes if b[6] > 1)
    note = (f"{len(events)} instructions drawn as {len(boxes)} boxes: {merged} instructions shorter than "
            f"{pixel_ns:.3g} ns were merged (hover a box for what it holds)") if merged else ""
    return boxes, note


def _perfetto(profile: Any, limit: int = PERFETTO_MAX) -> tuple[dict[str, Any] | None, str]:
    """The Chrome trace-event JSON the profile writes (round trip through a temp file),
    cut to the first `limit` instructions, and a note when it was cut."""
    if profile is None or not hasattr(profile, "to_perfetto"):
        return None, ""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(profile.to_perfetto(Path(tmp) / "trace.json"))
        trace = json.loads(path.read_text())
    spans = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    if len(spans) <= limit:
        return trace, ""
    meta = [e for e in trace["traceEvents"] if e.get("ph") != "X"]
    trace["traceEvents"] = meta + spans[:limit]
    return trace, (f"the downloadable trace holds the first {limit} of {len(spans)} instructions; "
                   "profile.to_perfetto(path) writes all of them")


def _lane_order(lane: str) -> tuple[int, str]:
    order = ["Tensor", "Vector", "Scalar", "GpSimd"]
    return (order.index(lane), lane) if lane in order else (len(order) + lane.startswith("DMA"), lane)


def run_view_of(result: Any, expected: Any = None, source_file: str | None = None,
                max_boxes: int = MAX_BOXES) -> RunView:
    """The Run tab's data from a devices-API `RunResult` (and NumPy's outputs, if compared)."""
    profile = result.profile
    compilation = getattr(result, "compilation", None)
    target = getattr(profile, "target", "") or getattr(compilation, "target", "")
    outputs = check_outputs(result.outputs, expected) if expected is not None else ()
    if profile is None:
        return RunView(result.device, target, result.timing_kind, float(result.time_us), outputs=outputs,
                       compared=expected is not None)
    lanes = sorted({e.lane for e in profile.events}, key=_lane_order)
    boxes, note = gantt_boxes(profile.events, profile.total_ns, lanes, source_file, max_boxes)
    util = {k: round(float(v), 6) for k, v in sorted(profile.utilisation().items())}
    busy = {k: round(float(v) / 1000.0, 6) for k, v in sorted(profile.busy_ns.items())}
    rounded = tuple((b[0], round(b[1], 3), round(b[2], 3), *b[3:]) for b in boxes)
    trace, trace_note = _perfetto(profile)
    return RunView(result.device, target, result.timing_kind, float(result.time_us), util, busy, tuple(lanes),
                   rounded, len(profile.events), note, outputs, expected is not None, trace, trace_note)
