"""The compilation pipeline, as data. The driver, the CLI, the explorer and the docs
all read this one list; nothing else spells out pass order.

Numbering is 1-based over `PIPELINE` (stage 0 is the traced input). Options may
mention `{target}`, filled in by the driver. Stages 1-25 are the reference's memref
pipeline; stage 26 (`linalg-to-nisa`, phase "backend") lowers it to NISA.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str            # registered pass name (kebab-case)
    phase: str           # preparation, tiling, fusion, layout, scheduling, backend
    group: str = ""      # a named pass group (stop_after accepts it), if any
    options: str = ""    # pass options, e.g. "target={target}"

    def options_for(self, target: str) -> str:
        return self.options.format(target=target)


CANONICALIZE_FOR_NISA = "canonicalize-linalg-for-nisa"

PIPELINE: tuple[Stage, ...] = (
    Stage("remove-redundant-zero-fill", "preparation", CANONICALIZE_FOR_NISA),
    Stage("prepare-arithmetic", "preparation", CANONICALIZE_FOR_NISA),
    Stage("decompose-batch-matmul", "preparation", CANONICALIZE_FOR_NISA),
    Stage("infer-layout", "preparation", options="target={target}"),
    Stage("canonicalize-partition-dim", "preparation", options="target={target}"),
    Stage("assign-linalg-op-ids", "preparation"),
    Stage("knob-driven-tiling", "tiling", options="target={target}"),
    Stage("apply-and-strip-transforms", "tiling"),
    Stage("knob-driven-fusion", "fusion", options="target={target}"),
    Stage("canonicalize-loop-step", "layout"),
    Stage("one-shot-bufferize", "layout"),
    Stage("canonicalize", "layout"),
    Stage("eliminate-uninitialized-copies", "layout"),
    Stage("canonicalize", "layout"),
    Stage("annotate-memory-space", "layout"),
    Stage("canonicalize-reshape", "layout"),
    Stage("eliminate-same-memspace-copy", "layout"),
    Stage("canonicalize", "layout"),
    Stage("legalize-layout", "layout", options="target={target}"),
    Stage("canonicalize", "layout"),
    Stage("simplify-linalg", "scheduling"),
    Stage("insert-spill-reload", "scheduling", options="target={target}"),
    Stage("insert-memref-dealloc", "scheduling"),
    Stage("cse", "scheduling"),
    Stage("canonicalize", "scheduling"),
    Stage("linalg-to-nisa", "backend", options="target={target}"),
)

# The last memref-level stage (the IR the CPU JIT runs) and the NISA stage after it.
MEMREF_STAGE: int = max(i for i, s in enumerate(PIPELINE, start=1) if s.phase != "backend")
NISA_STAGE: int = len(PIPELINE)

PHASES: tuple[str, ...] = ("preparation", "tiling", "fusion", "layout", "scheduling", "backend")


def resolve_stop(stop_after: str | int | None, stages: tuple[Stage, ...] = PIPELINE) -> int:
    """How many stages to run for `stop_after`.

    None: all; int N: the first N; "name": through its first occurrence; "name:N":
    through its N-th occurrence; a group or phase name: through its last member.
    """
    if stop_after is None:
        return len(stages)
    if isinstance(stop_after, bool) or not isinstance(stop_after, (int, str)):
        raise TypeError(f"stop_after must be a pass name, a 1-based index or None, got {stop_after!r}")
    if isinstance(stop_after, int):
        if not 0 <= stop_after <= len(stages):
            raise ValueError(f"stop_after={stop_after} is outside 0..{len(stages)}")
        return stop_after
    name, _, nth = stop_after.removeprefix("py:").partition(":")
    if nth:
        hits = [i for i, s in enumerate(stages) if s.name == name]
        if not nth.isdigit() or not 1 <= int(nth) <= len(hits):
            raise ValueError(f"stop_after={stop_after!r}: {name} occurs {len(hits)} time(s)")
        return hits[int(nth) - 1] + 1
    for i, s in enumerate(stages):
        if s.name == name:
            return i + 1
    members = [i for i, s in enumerate(stages) if name in (s.group, s.phase)]
    if members:
        return members[-1] + 1
    known = sorted({s.name for s in stages} | {s.group for s in stages if s.group} | {s.phase for s in stages})
    raise ValueError(f"unknown stop_after {stop_after!r}; use one of: {', '.join(known)}")
