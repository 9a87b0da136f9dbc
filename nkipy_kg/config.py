"""Typed configuration: the one place nkipy-kg reads environment variables.

    NKIPY_KG_TARGET     default target ("trn2" or "trn1")
    NKIPY_KG_DUMP_DIR   write the IR after every pass here (unset: no dump)
    NKIPY_KG_JIT_OPT    LLVM optimisation level of the CPU JIT (0-3, default 2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

TARGETS = ("trn2", "trn1")


@dataclass(frozen=True)
class Config:
    target: str = "trn2"
    dump_dir: str | None = None
    jit_opt_level: int = 2

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"unknown target {self.target!r}; use one of {', '.join(TARGETS)}")
        if not 0 <= self.jit_opt_level <= 3:
            raise ValueError(f"jit_opt_level must be 0..3, got {self.jit_opt_level}")

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)


def from_environment(env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    return Config(
        target=env.get("NKIPY_KG_TARGET", "trn2"),
        dump_dir=env.get("NKIPY_KG_DUMP_DIR") or None,
        jit_opt_level=int(env.get("NKIPY_KG_JIT_OPT", "2")),
    )


CONFIG = from_environment()
