"""One error hierarchy for everything nkipy-kg reports to a user.

Every error that concerns user code carries a `SourceLoc` (taken from the Python
frame while tracing, or from the MLIR location of an op later on) and renders the
offending source line with a caret, the way a compiler diagnostic does.
"""

from __future__ import annotations

import functools
import linecache
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLoc:
    """A position in the user's Python source (1-based line, 0-based column)."""

    file: str
    line: int
    col: int = 0
    what: str = ""  # e.g. the NumPy op name, "np.add"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"

    def excerpt(self) -> str:
        """The source line and a caret under the column, or '' if the file is unreadable."""
        text = linecache.getline(self.file, self.line).rstrip("\n")
        if not text.strip():
            return ""
        caret = " " * min(self.col, len(text)) + "^"
        return f"    {text}\n    {caret}"


_FILE_LOC = re.compile(r'"(?P<file>[^"]+)":(?P<line>\d+):(?P<col>\d+)')
_NAME_LOC = re.compile(r'loc\("(?P<name>[^"]+)"\(')


@functools.lru_cache(maxsize=4096)  # decoding a kernel asks for the same few hundred locations
def source_loc_from_mlir(loc_text: str) -> SourceLoc | None:
    """Parse an MLIR location such as `loc("np.add"("k.py":3:5))` into a SourceLoc.

    MLIR columns are 1-based; ours are 0-based like Python's col_offset.
    """
    m = _FILE_LOC.search(loc_text)
    if not m or m.group("file") in ("-", "<unknown>"):
        return None
    n = _NAME_LOC.search(loc_text)
    return SourceLoc(
        file=m.group("file"),
        line=int(m.group("line")),
        col=max(int(m.group("col")) - 1, 0),
        what=n.group("name") if n else "",
    )


class NkipyError(Exception):
    """Base class of every error nkipy-kg raises on purpose."""

    kind = "error"

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str = "") -> None:
        self.message = message
        self.loc = loc
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        parts = [f"{where}{self.kind}: {self.message}"]
        if self.loc and (ex := self.loc.excerpt()):
            parts.append(ex)
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)


class EnvironmentError_(NkipyError):
    """The installation lacks something nkipy-kg needs (bindings, toolchain, device)."""

    kind = "environment error"


class TraceError(NkipyError):
    """The traced function did something that cannot be turned into IR."""

    kind = "trace error"


class UnsupportedError(TraceError):
    """A NumPy function, argument or dtype that nkipy-kg does not support."""

    kind = "unsupported"


class ShapeError(TraceError):
    """Shapes that do not fit together (broadcasting, matmul, reshape, ...)."""

    kind = "shape error"


class ControlFlowError(TraceError):
    """Python control flow that depends on traced (run-time) values."""

    kind = "data-dependent control flow"


class KnobError(NkipyError):
    """A knob (tile_op / layout / fuse) with bad values."""

    kind = "knob error"


class IRError(NkipyError):
    """IR that fails to parse or verify (CLI input, pass output)."""

    kind = "invalid IR"


class MLIRVerifyError(IRError):
    """IR produced by nkipy-kg itself failed verification (always a bug in nkipy-kg)."""

    kind = "internal error (IR does not verify)"


class PassError(NkipyError):
    """A compiler pass could not proceed on this kernel."""

    kind = "pass error"

    def __init__(self, message: str, loc: SourceLoc | None = None, hint: str = "",
                 pass_name: str = "", ir_excerpt: str = "", repro: str = "") -> None:
        self.pass_name = pass_name
        self.ir_excerpt = ir_excerpt
        self.repro = repro
        super().__init__(message, loc, hint)

    def render(self) -> str:
        text = super().render()
        if self.pass_name:
            text = f"[{self.pass_name}] " + text
        if self.ir_excerpt:
            text += "\n  offending IR:\n" + "\n".join("    " + l for l in self.ir_excerpt.splitlines())
        if self.repro:
            text += f"\n  reproduce with: {self.repro}"
        return text


class SimError(NkipyError):
    """The NeuronCore simulator detected an illegal access or instruction."""

    kind = "simulation error"


class DeviceError(NkipyError):
    """A device is unavailable or failed to run a kernel."""

    kind = "device error"
