"""What every reader returns: the good records and the issues, never a crash."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Generic, TypeVar

from kizuna.errors import FormatError, FormatIssue

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


def csv_table(text: str, result: ParseResult) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]] | None:
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
                result.issue(line, header[len(row)], f"missing: the row has {len(row)} of "
                             f"{len(header)} columns (file cut short?)")
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


def parse_utc_datetime(text: str) -> datetime:
    """Parse an ISO-8601 / CCSDS time string as UTC.

    Accepts `2026-07-10T06:03:02.960640`, a trailing `Z`, a space instead of `T`
    and CCSDS day-of-year form `2026-191T06:03:02.96`. More than six fractional
    digits are rounded to the microsecond.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty time")
    if s.endswith("Z") or s.endswith("z"):
        s = s[:-1]
    if len(s) > 10 and s[10] == " ":
        s = s[:10] + "T" + s[11:]
    frac_us = 0
    if "." in s:
        head, frac = s.split(".", 1)
        if not digits(frac) or len(frac) > 12:
            raise ValueError(f"bad fractional seconds in {text!r}")
        frac_us = int(Decimal("0." + frac).scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        s = head
    try:
        if re.match(r"^\d{4}-\d{3}(T|$)", s):  # CCSDS day-of-year form
            base = datetime.strptime(s, "%Y-%jT%H:%M:%S" if "T" in s else "%Y-%j")
        elif "T" in s:
            fmt = "%Y-%m-%dT%H:%M:%S" if s.count(":") == 2 else "%Y-%m-%dT%H:%M"
            base = datetime.strptime(s, fmt)
        else:
            base = datetime.strptime(s, "%Y-%m-%d")
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 UTC time: {text!r}") from exc
    from datetime import timedelta

    return (base + timedelta(microseconds=frac_us)).replace(tzinfo=UTC)


def format_utc_datetime(dt: datetime) -> str:
    """ISO-8601 with microseconds, no zone suffix (CCSDS / CelesTrak style)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


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
