"""The one ISO-8601 / CCSDS time parser, and the range of instants Kizuna supports.

Every reader and every command reads times here, so `2026-07-10T09:00:00+09:00`,
`2026-07-10T00:00:00Z` and `2026-07-10 00:00:00` (naive, read as UTC) mean the same instant
wherever they are typed. Arrays of times are numpy ``datetime64[ns]``, whose int64 nanoseconds end
in April 2262; instants outside ``SUPPORTED_RANGE_UTC`` are refused by name instead of wrapping.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

# Wide enough for every catalog epoch (1957 on) and every plan a node makes; narrow enough that
# datetime64[ns] arithmetic (+-292 years around 1970) never overflows on a window inside it.
SUPPORTED_RANGE_UTC = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))

_OFFSET = re.compile(r"^(?P<body>.*?)(?P<sign>[+-])(?P<hh>\d{2})(?::?(?P<mm>\d{2}))?$")


def parse_utc_datetime(text: str) -> datetime:
    """Parse an ISO-8601 / CCSDS time string; the result is timezone-aware UTC.

    Accepts `2026-07-10T06:03:02.960640`, a trailing `Z`, an offset (`+09:00`, `+0900`, `-05`),
    a space instead of `T`, a date alone, and the CCSDS day-of-year form `2026-191T06:03:02.96`.
    A time without zone is UTC. More than six fractional digits are rounded to the microsecond.
    Raises ValueError naming the text when it is not a time or lies outside
    :data:`SUPPORTED_RANGE_UTC`.
    """
    if not isinstance(text, str):
        raise ValueError(f"not an ISO-8601 UTC time: {text!r} is a {type(text).__name__}, not text")
    s = text.strip()
    if not s:
        raise ValueError("empty time")
    offset = timedelta(0)
    if s.endswith(("Z", "z")):
        s = s[:-1]
    elif len(s) > 10 and (m := _OFFSET.match(s)) and ("T" in m["body"] or " " in m["body"][10:11]):
        sign = 1 if m["sign"] == "+" else -1
        hh, mm = int(m["hh"]), int(m["mm"] or 0)
        if hh > 23 or mm > 59:
            raise ValueError(f"bad UTC offset in {text!r}")
        offset = sign * timedelta(hours=hh, minutes=mm)
        s = m["body"]
    if len(s) > 10 and s[10] == " ":
        s = s[:10] + "T" + s[11:]
    frac_us = 0
    if "." in s:
        head, frac = s.split(".", 1)
        if not (frac.isascii() and frac.isdigit()) or len(frac) > 12:
            raise ValueError(f"bad fractional seconds in {text!r}")
        frac_us = int(Decimal("0." + frac).scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        s = head
    doy = re.match(r"^(\d{4})-(\d{3})(T|$)", s)  # CCSDS day-of-year form
    if doy:
        # strptime reads day 366 of a common year as 1 January of the next one
        year, day = int(doy[1]), int(doy[2])
        if not 1 <= day <= (366 if calendar.isleap(year) else 365):
            raise ValueError(f"day of year {day} does not exist in {year}: {text!r}")
    try:
        if doy:
            base = datetime.strptime(s, "%Y-%jT%H:%M:%S" if "T" in s else "%Y-%j")
        elif "T" in s:
            fmt = "%Y-%m-%dT%H:%M:%S" if s.count(":") == 2 else "%Y-%m-%dT%H:%M"
            base = datetime.strptime(s, fmt)
        else:
            base = datetime.strptime(s, "%Y-%m-%d")
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 UTC time: {text!r}") from exc
    local = base + timedelta(microseconds=frac_us)
    try:
        result = local.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the supported range {supported_range_text()}") from None
    check_supported(result, text)
    return result


def supported_range_text() -> str:
    lo, hi = SUPPORTED_RANGE_UTC
    return f"{lo:%Y-%m-%d} to {hi:%Y-%m-%d} UTC"


def check_supported(dt: datetime, label: object = None) -> datetime:
    """`dt` (UTC) if inside :data:`SUPPORTED_RANGE_UTC`, else ValueError naming it."""
    lo, hi = SUPPORTED_RANGE_UTC
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    if not lo <= aware < hi:
        what = repr(label) if label is not None else aware.isoformat()
        raise ValueError(f"{what} is outside the supported range {supported_range_text()}")
    return aware


def format_utc_datetime(dt: datetime) -> str:
    """ISO-8601 with microseconds, no zone suffix (CCSDS / CelesTrak style)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
