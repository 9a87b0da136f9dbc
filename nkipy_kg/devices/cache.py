"""Compilations cached per (function, input specs, target), least recently used out.

The function is part of the key by identity (kept alive by the entry, so ids are
never reused): redefining a function in a notebook cell makes a new entry. As with
`jax.jit`, a function whose traced IR depends on globals that change between calls
is not retraced; `nkipy_kg.devices.clear_cache()` forgets everything.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from nkipy_kg.driver import Compilation
from nkipy_kg.frontend.tracer import InputSpec, TracedFunction


@dataclass
class CacheInfo:
    hits: int
    misses: int
    size: int
    maxsize: int


class CompileCache:
    """A small LRU of finished compilations; failures are never cached."""

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, Compilation] = OrderedDict()

    @staticmethod
    def key(fn: Any, specs: Sequence[InputSpec], target: str) -> Hashable:
        identity = (fn.fn, fn.name) if isinstance(fn, TracedFunction) else (fn,)
        return (*identity, tuple((s.shape, s.dtype.str, s.dtype.name) for s in specs), target)

    def get_or_compile(self, fn: Any, specs: Sequence[InputSpec], target: str,
                       compile_fn: Callable[[], Compilation]) -> Compilation:
        key = self.key(fn, specs, target)
        hit = self._entries.get(key)
        if hit is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return hit
        self.misses += 1
        comp = compile_fn()  # raises on failure: nothing is stored
        self._entries[key] = comp
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return comp

    def info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, len(self._entries), self.maxsize)

    def clear(self) -> None:
        self._entries.clear()
        self.hits = self.misses = 0
