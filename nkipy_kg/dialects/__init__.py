"""Python-defined dialects: `nkipy` (annotations) and, later, `nisa` (instructions)."""

from __future__ import annotations


def load_all() -> None:
    """Load every nkipy-kg dialect into the current context (once per context)."""
    from nkipy_kg.dialects import nkipy

    nkipy.Nkipy.load()
