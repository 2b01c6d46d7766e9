"""AIS files (NMEA with or without tag blocks, national-authority CSV) streamed in chunks.

The parsing itself is in :mod:`kizuna.maritime.ais` (text in, records out); this module only
opens files. SAR scenes and detections are read by :mod:`kizuna.formats.sar`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kizuna.formats.common import ParseResult
from kizuna.maritime.ais import AisRecord, NmeaDecoder, looks_like_nmea, parse_ais_csv

CHUNK_LINES = 50_000


def iter_ais_file(path: Path | str, chunk_lines: int = CHUNK_LINES) -> Iterator[ParseResult[AisRecord]]:
    """Read an AIS NMEA or CSV file in chunks of lines (bounded memory; fragments span chunks).

    Each chunk is a ParseResult; ``bytes_read`` progress can be had from the file size and the
    chunk's ``consumed_bytes`` attribute.
    """
    path = Path(path)
    name = str(path)
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        head = fh.read(8192)
        fh.seek(0)
        if looks_like_nmea(head):
            decoder = NmeaDecoder(name)
            line_no = 1
            while True:
                lines = [ln.rstrip("\r\n") for ln in _take(fh, chunk_lines)]
                if not lines:
                    break
                records, where, issues = decoder.feed(lines, line_no)
                line_no += len(lines)
                res: ParseResult[AisRecord] = ParseResult(name, "ais-nmea", records, where, issues)
                res.consumed_bytes = fh.tell()  # type: ignore[attr-defined]
                yield res
            tail: ParseResult[AisRecord] = ParseResult(name, "ais-nmea", issues=decoder.finish())
            tail.consumed_bytes = fh.tell()  # type: ignore[attr-defined]
            yield tail
            return
        header = fh.readline()
        offset = 1
        while True:
            lines = _take(fh, chunk_lines)
            if not lines:
                break
            res = parse_ais_csv(header + "".join(lines), name)
            # line numbers in the chunk count its header as line 1
            res.lines = [ln + offset - 1 for ln in res.lines]
            res.issues = [type(i)(i.file, i.line + offset - 1 if i.line > 1 else i.line, i.field, i.message)
                          for i in res.issues]
            offset += len(lines)
            res.consumed_bytes = fh.tell()  # type: ignore[attr-defined]
            yield res


def _take(fh, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        line = fh.readline()
        if not line:
            break
        out.append(line)
    return out


def read_ais_file(path: Path | str) -> ParseResult[AisRecord]:
    """The whole file as one ParseResult."""
    path = Path(path)
    total: ParseResult[AisRecord] = ParseResult(str(path), "ais")
    for part in iter_ais_file(path):
        total.format = part.format
        total.records += part.records
        total.lines += part.lines
        total.issues += part.issues
    return total


