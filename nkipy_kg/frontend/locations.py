"""Where in the user's source an op comes from.

The first Python frame outside nkipy-kg and NumPy is the user's; its file, line and
column become the op's MLIR location, wrapped in a name location carrying the NumPy
op name: `loc("np.add"("kernel.py":12:9))`.
"""

from __future__ import annotations

import os
import sys
from types import CodeType, FrameType

import numpy as np

from nkipy_kg._mlir import ir
from nkipy_kg.errors import SourceLoc

_OWN_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # nkipy_kg/
    os.path.dirname(os.path.abspath(np.__file__)) + os.sep,
    os.path.dirname(os.path.abspath(os.__file__)) + os.sep,  # the standard library (contextlib, functools)
)
_POSITIONS: dict[CodeType, list] = {}


# The sample kernels ship inside the package but are user code: their lines are the locations.
_USER_DIRS = (os.path.join(_OWN_DIRS[0], "kernels") + os.sep,)


def is_internal(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_USER_DIRS):
        return False
    return path.startswith(_OWN_DIRS) or filename.startswith("<frozen")


def _position(frame: FrameType) -> tuple[int, int]:
    """(line, 0-based column) of the instruction the frame is executing."""
    code = frame.f_code
    if not hasattr(code, "co_positions"):  # Python 3.10: lines only
        return frame.f_lineno, 0
    positions = _POSITIONS.get(code)
    if positions is None:
        positions = _POSITIONS[code] = list(code.co_positions())
    index = frame.f_lasti // 2
    if index >= len(positions):
        return frame.f_lineno, 0
    line, _end, col, _end_col = positions[index]
    return (line or frame.f_lineno), (col or 0)


def user_frame() -> FrameType | None:
    frame = sys._getframe(1)
    while frame is not None and is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def user_source_loc(what: str = "") -> SourceLoc | None:
    """The user's current source position, or None outside any user frame."""
    frame = user_frame()
    if frame is None:
        return None
    line, col = _position(frame)
    return SourceLoc(file=frame.f_code.co_filename, line=line, col=col, what=what)


def to_mlir_location(loc: SourceLoc | None, fallback: ir.Location) -> ir.Location:
    """`loc("what"("file":line:col))`; MLIR columns are 1-based."""
    if loc is None:
        return fallback
    file_loc = ir.Location.file(loc.file, loc.line, loc.col + 1)
    return ir.Location.name(loc.what, childLoc=file_loc) if loc.what else file_loc
