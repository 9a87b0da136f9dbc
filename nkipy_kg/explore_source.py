"""The Python lines an exploration shows next to the IR: the kernel's own source.

    source = kernel_source(traced)          # KernelSource(file, first_line, lines) or None
    source = widen(source, mapped_lines)    # + helper functions the IR points into
"""

from __future__ import annotations

import inspect
import linecache
from dataclasses import dataclass
from typing import Any

from nkipy_kg.frontend.tracer import TracedFunction

MAX_WINDOW = 2000   # lines: a wider window means the IR points all over a big file; keep the kernel's


@dataclass(frozen=True)
class KernelSource:
    """The Python lines the kernel's IR points back to (`first_line` is 1-based)."""

    file: str
    first_line: int
    lines: tuple[str, ...]
    label: str = ""          # what to call `file` in the UI (e.g. "this cell"); default its name


def kernel_source(fn: Any) -> KernelSource | None:
    """The kernel function's own lines, or None for IR input / unreadable source."""
    target = fn.fn if isinstance(fn, TracedFunction) else fn
    try:
        lines, first = inspect.getsourcelines(target)
        file = inspect.getsourcefile(target) or target.__code__.co_filename
    except (OSError, TypeError, AttributeError):
        return None
    return KernelSource(file=file, first_line=max(first, 1), lines=tuple(l.rstrip("\n") for l in lines))


def widen(source: KernelSource, mapped: list[int]) -> KernelSource:
    """Extend the window to helper functions of the same file the IR points at."""
    last = source.first_line + len(source.lines) - 1
    lo, hi = min([source.first_line, *mapped]), max([last, *mapped])
    if (lo, hi) == (source.first_line, last) or hi - lo > MAX_WINDOW:
        return source
    lines = tuple(linecache.getline(source.file, n).rstrip("\n") for n in range(lo, hi + 1))
    return KernelSource(source.file, lo, lines, source.label) if any(lines) else source
