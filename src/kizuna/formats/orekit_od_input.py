"""Orekit's orbit-determination input files (``od_test_*.in`` of its tutorials and tests): one
``key = value`` per line, ``key [i] = value`` for the i-th ground station or acceleration, ``#``
comments. Keys are case-insensitive and ``_`` equals ``.``, as Orekit's ``KeyValueFileParser``
reads them.

This reader only splits the file: which keys mean what is for the orbit-determination path
(``ssa.od_ground.case_from_orekit_input``), which names the key and its line when a value is bad.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kizuna.errors import FormatError
from kizuna.formats.common import physical_lines

_LINE = re.compile(
    r"^(?P<key>[A-Za-z][A-Za-z0-9._]*)\s*(?:\[\s*(?P<index>\d{1,4})\s*\])?\s*=\s*(?P<value>.*)$"
)


@dataclass
class OrekitInput:
    """``scalars[key]`` and ``arrays[key][i]`` hold the text values; ``lines`` where each was
    read (key, or ``key[i]``), for messages."""

    file: str
    scalars: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, dict[int, str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def where(self, key: str, index: int | None = None) -> str:
        name = key if index is None else f"{key}[{index}]"
        return f"{self.file}:{self.lines.get(name, 0)}: {name}"


def normal_key(key: str) -> str:
    return key.strip().lower().replace("_", ".")


def read_orekit_od_input(text: str, file: str = "<input>") -> OrekitInput:
    """The keys and values of an input file; a malformed or repeated key raises
    :class:`FormatError` naming its line (a configuration is read whole or not at all)."""
    result = OrekitInput(file)
    for number, raw in enumerate(physical_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise FormatError(file, number, "key", f"not a 'key = value' line: {line[:60]!r}")
        key = normal_key(match["key"])
        # Orekit's own W3B file writes "solid.tides.sun = false;": a trailing semicolon is noise
        value = match["value"].strip().removesuffix(";").strip()
        if not value:
            raise FormatError(file, number, key, "empty value")
        if match["index"] is None:
            if key in result.scalars:
                raise FormatError(file, number, key, f"repeated (first at line {result.lines[key]})")
            result.scalars[key] = value
            result.lines[key] = number
        else:
            index = int(match["index"])
            slot = result.arrays.setdefault(key, {})
            name = f"{key}[{index}]"
            if index in slot:
                raise FormatError(file, number, name, f"repeated (first at line {result.lines[name]})")
            slot[index] = value
            result.lines[name] = number
    return result
