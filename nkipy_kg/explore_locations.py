"""Map each line of a pretty-printed IR snapshot to the user's Python source line.

The driver keeps two prints of every snapshot: `ir` (what people read and diff) and
`ir_with_locations` (the same ops with `loc(...)` and `#locN = loc(...)` aliases).
We strip the locations from the second, align it line by line with the first, and
resolve each line's last `loc(...)` through the alias table:

    %3 = linalg.exp ins(%2 : ...) loc(#loc7)      #loc7 = loc("np.exp"(#loc1))
                                                  #loc1 = loc("k.py":5:8)   -> k.py line 5
"""

from __future__ import annotations

import difflib
import re

from nkipy_kg.errors import SourceLoc, source_loc_from_mlir

_ALIAS_DEF = re.compile(r"^(#loc\d*) = (loc\(.*\))\s*$")
_ALIAS_REF = re.compile(r"#loc\d*\b")


def _loc_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of every top-level `loc(...)` in `line`, parentheses balanced, quotes respected."""
    spans: list[tuple[int, int]] = []
    start = line.find("loc(")
    while start != -1:
        if start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_#"):
            start = line.find("loc(", start + 1)
            continue
        depth, i, quoted = 0, start + 3, False
        while i < len(line):
            ch = line[i]
            if ch == '"' and line[i - 1] != "\\":
                quoted = not quoted
            elif not quoted and ch == "(":
                depth += 1
            elif not quoted and ch == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        spans.append((start, i + 1))
        start = line.find("loc(", i + 1)
    return spans


def strip_locations(line: str) -> str:
    """The line without any ` loc(...)`, as the pretty printer would print it."""
    spans = _loc_spans(line)
    if not spans:
        return line
    out, prev = [], 0
    for start, end in spans:
        cut = start - 1 if start > 0 and line[start - 1] == " " else start
        out.append(line[prev:cut])
        prev = end
    out.append(line[prev:])
    return "".join(out)


def _resolve(loc_text: str, aliases: dict[str, str]) -> str:
    """Expand `#locN` references until none are left (bounded, aliases never cycle)."""
    for _ in range(16):
        if "#loc" not in loc_text:
            break
        loc_text = _ALIAS_REF.sub(lambda m: aliases.get(m.group(0), "loc(unknown)"), loc_text)
    return loc_text


def line_locations(ir_with_locations: str) -> list[tuple[str, SourceLoc | None]]:
    """(location-free text, source location) for each non-alias line of a located print."""
    aliases: dict[str, str] = {}
    body: list[str] = []
    for line in ir_with_locations.splitlines():
        if m := _ALIAS_DEF.match(line):
            aliases[m.group(1)] = m.group(2)
            continue
        body.append(line)
    out: list[tuple[str, SourceLoc | None]] = []
    for line in body:
        spans = _loc_spans(line)
        loc = source_loc_from_mlir(_resolve(line[slice(*spans[-1])], aliases)) if spans else None
        out.append((strip_locations(line), loc))
    return out


def source_lines_for(ir: str, ir_with_locations: str, file: str | None) -> list[int | None]:
    """For each line of `ir`: the line in `file` it comes from, or None.

    Lines whose location names another file (or none) map to None. The two prints
    are aligned with difflib, so a printer difference costs a few unmapped lines, never
    a wrong mapping.
    """
    pretty = ir.splitlines()
    located = line_locations(ir_with_locations)
    result: list[int | None] = [None] * len(pretty)
    if file is None:
        return result
    stripped = [text for text, _ in located]
    matcher = difflib.SequenceMatcher(None, pretty, stripped, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            loc = located[b + k][1]
            if loc is not None and loc.file == file:
                result[a + k] = loc.line
    # An op with a region prints its location on its closing line; its opening line
    # (`%2 = linalg.generic {...} ins(...) {`) takes the next mapped line's source.
    for i in range(len(pretty) - 2, -1, -1):
        line = pretty[i].rstrip()
        if result[i] is None and line.endswith("{") and " = " in line:
            result[i] = result[i + 1]
    return result
