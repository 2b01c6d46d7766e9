"""What every reader returns: the good records and the issues, never a crash."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Generic, TypeVar

from kizuna.errors import FormatError, FormatIssue
from kizuna.model.time import format_utc_datetime, parse_utc_datetime

__all__ = [
    "ParseResult",
    "csv_table",
    "digits",
    "format_utc_datetime",
    "parse_utc_datetime",
    "physical_lines",
]

T = TypeVar("T")


@dataclass
class ParseResult(Generic[T]):
    """Records read from one input, and the problems met on the way.

    A reader keeps reading after a bad record, so one bad line never costs the
    good records around it. `records` and `lines` are parallel: `lines[i]` is
    the 1-based line where `records[i]` starts.
    """

    file: str
    format: str
    records: list[T] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    issues: list[FormatIssue] = field(default_factory=list)

    def add(self, record: T, line: int) -> None:
        self.records.append(record)
        self.lines.append(line)

    def issue(self, line: int, field_name: str, message: str) -> None:
        self.issues.append(FormatIssue(self.file, line, field_name, message))

    def raise_first(self) -> ParseResult[T]:
        """Strict mode: raise the first issue as a FormatError, else return self."""
        if self.issues:
            first = self.issues[0]
            raise FormatError(first.file, first.line, first.field, first.message)
        return self


def csv_table(
    text: str, result: ParseResult
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]] | None:
    """Header (upper-cased keywords) and (line, {column: cell}) rows of a CSV text.

    Blank rows are skipped; a row with too few or too many cells, or unreadable CSV, is recorded
    in `result` (a short row names its first missing column: the usual sign of a cut file).
    Returns None, with the issue recorded, when there is no readable header.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().upper().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        result.issue(1, "CSV", "empty file")
        return None
    except csv.Error as exc:
        result.issue(1, "CSV", f"unreadable header: {exc}")
        return None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                result.issue(reader.line_num, "CSV", str(exc))
                return
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) < len(header):
                result.issue(
                    line,
                    header[len(row)],
                    f"missing: the row has {len(row)} of {len(header)} columns (file cut short?)",
                )
                continue
            if len(row) > len(header):
                result.issue(line, "CSV", f"the row has {len(row)} columns, the header {len(header)}")
                continue
            yield line, dict(zip(header, row, strict=True))

    return header, rows()


def digits(text: str) -> bool:
    """ASCII digits only: str.isdigit also accepts superscripts that int() refuses."""
    return text.isascii() and text.isdigit()


def physical_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split on LF only (CR stripped), unlike str.splitlines,
    which also splits on form feeds and Unicode separators and would shift line numbers."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def parse_date(text: str) -> date | None:
    """A SATCAT date: ISO `YYYY-MM-DD`, or `M/D/YYYY` as spreadsheets rewrite it."""
    s = text.strip()
    if not s:
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (YYYY-MM-DD or M/D/YYYY): {text!r}")


def decimal_of(value: float) -> Decimal:
    """The shortest decimal that round-trips the float (what the source wrote)."""
    try:
        return Decimal(repr(float(value)))
    except InvalidOperation as exc:  # pragma: no cover - repr of a float is always a decimal
        raise ValueError(f"not a finite number: {value!r}") from exc


def fixed(value: float, places: int, *, truncate: bool = False) -> str:
    """Format with exactly `places` decimals from the value's shortest decimal form."""
    q = Decimal(1).scaleb(-places)
    d = decimal_of(value).quantize(q, rounding=ROUND_DOWN if truncate else ROUND_HALF_EVEN)
    return f"{d:.{places}f}"
