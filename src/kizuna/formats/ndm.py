"""What the CCSDS Navigation Data Messages (TDM, OEM, ...) share: the safe XML parse, the
header/metadata blocks of their XML form, source lines, and one-line KVN values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import cast

from lxml import etree

from kizuna.errors import FormatError


def parse_xml(text: str | bytes, file: str) -> etree._Element:
    """The root of an NDM/XML document, namespaces stripped. External entities and DTDs are never
    resolved and nothing is fetched: a message is data from a partner, not a program."""
    data = text.encode() if isinstance(text, str) else text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FormatError(file, exc.lineno or 0, "-", f"not well-formed XML: {exc.msg}") from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    return root


def finite_number(text: str, file: str, line: int, key: str) -> float:
    """A KVN/XML value that must be a finite number; a FormatError naming file, line and key."""
    try:
        value = float(text)
    except ValueError:
        raise FormatError(file, line, key, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(file, line, key, f"{text!r} is not finite")
    return value


def source_line(element: etree._Element) -> int:
    # lxml-stubs types `sourceline` loosely; lxml gives an int, or None for a built tree
    return cast("int | None", element.sourceline) or 0


def xml_block(
    parent: etree._Element, tag: str, comments: Iterable[str], values: Mapping[str, str], order: Iterable[str]
) -> etree._Element:
    """A header or metadata element: its comments first, then the values in the schema's order."""
    block = etree.SubElement(parent, tag)
    for comment in comments:
        etree.SubElement(block, "COMMENT").text = comment
    for key in order:
        if key in values:
            etree.SubElement(block, key).text = values[key]
    return block


def one_line(text: str) -> str:
    """A KVN value or comment on one line: a line break inside it would start a new KVN line that
    reads as a keyword."""
    return " ".join(text.split())
