"""Tell an input's format from its content, not its file name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kizuna.formats.common import ParseResult
from kizuna.formats.omm import read_omm_csv, read_omm_json, read_omm_kvn, read_omm_xml
from kizuna.formats.satcat import read_satcat_csv, read_satcat_json
from kizuna.formats.tle import read_tle

# every reader takes (text, file name)
_READERS: dict[str, Callable[[str, str], ParseResult[Any]]] = {
    "tle": read_tle,
    "omm-kvn": read_omm_kvn,
    "omm-xml": read_omm_xml,
    "omm-json": read_omm_json,
    "omm-csv": read_omm_csv,
    "satcat-csv": read_satcat_csv,
    "satcat-json": read_satcat_json,
}
FORMATS = tuple(_READERS)


def detect_format(text: str) -> str | None:
    """One of FORMATS, or None when the content matches none of them."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    if not head:
        return None
    if head[0] in "[{":
        omm_keys = "MEAN_MOTION" in head or "EPOCH" in head
        if not omm_keys and ("OWNER" in head or "OBJECT_TYPE" in head):
            return "satcat-json"
        return "omm-json"
    if head[0] == "<":
        return "omm-xml" if "<omm" in head or "<ndm" in head else None
    first = head.splitlines()[0].upper()
    if "CCSDS_OMM_VERS" in head[:1024] or first.startswith("COMMENT"):
        return "omm-kvn"
    if "," in first and "NORAD_CAT_ID" in first or "OBJECT_NUMBER" in first:
        if "MEAN_MOTION" in first:
            return "omm-csv"
        return "satcat-csv"
    for line in head.splitlines()[:6]:
        if line.startswith("1 ") and len(line.rstrip()) >= 60:
            return "tle"
    return None


def read_text(text: str, file: str = "<text>", fmt: str | None = None) -> ParseResult:
    fmt = fmt or detect_format(text)
    if fmt is None:
        result: ParseResult = ParseResult(file=file, format="unknown")
        result.issue(1, "FORMAT", "not a TLE/3LE, CCSDS OMM (KVN, XML, JSON, CSV) or SATCAT file")
        return result
    return _READERS[fmt](text, file)


def read_path(path: str | Path, fmt: str | None = None) -> ParseResult:
    """Read a file; an unreadable file or undecodable bytes are reported, not raised."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        result: ParseResult = ParseResult(file=str(p), format="unknown")
        result.issue(0, "FILE", exc.strerror or str(exc))
        return result
    return read_bytes(raw, str(p), fmt)


def read_bytes(raw: bytes, file: str, fmt: str | None = None) -> ParseResult:
    """Decode UTF-8 (with or without BOM) and read; a bad byte is reported at its line."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result: ParseResult = ParseResult(file=file, format="unknown")
        result.issue(line, "ENCODING", f"byte {raw[exc.start]:#04x} is not UTF-8")
        return result
    return read_text(text, file, fmt)
