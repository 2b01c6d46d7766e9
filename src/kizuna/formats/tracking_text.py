"""Station tracking as one text line per observation, the layout of Orekit's orbit-determination
examples and tutorials (``W3B.aer`` of the Eutelsat W3B case, Orekit's test resources)::

    2010-11-02T03:00:13.3851   RANGE       Uralla         38014.9488
    2010-11-02T03:00:50.5716   AZ_EL       Kumsan           211.1446   43.4099

fields separated by blanks: the UTC time (ISO-8601), the kind, the station's name, then the
value(s): ``RANGE`` one-way range in km (half the two-way path), ``RANGE_RATE`` in km/s,
``AZ_EL`` azimuth and elevation in degrees. ``#`` starts a comment line; blank lines are skipped.

Values are kept in SI units (m, m/s, rad) so the orbit-determination path reads them as it reads
a TDM's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from kizuna.formats.common import ParseResult, physical_lines
from kizuna.model.time import parse_utc_datetime

# kind in the file -> (kind in Kizuna's OD path, number of values, factor to SI)
_KINDS = {
    "RANGE": ("range", 1, 1000.0),
    "RANGE_RATE": ("range_rate", 1, 1000.0),
    "AZ_EL": ("azel", 2, math.pi / 180.0),
}


@dataclass(frozen=True)
class TrackingObservation:
    """One observation: ``kind`` is ``range`` (m), ``range_rate`` (m/s) or ``azel`` (rad, rad)."""

    epoch_utc: datetime
    kind: str
    station: str
    value_si: tuple[float, ...]


def read_tracking_text(text: str, file: str = "<tracking>") -> ParseResult[TrackingObservation]:
    """Observations of a tracking text file; a bad line is an issue naming its field, and the
    good lines around it are kept."""
    result: ParseResult[TrackingObservation] = ParseResult(file, "tracking-text")
    for number, raw in enumerate(physical_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 2:
            result.issue(number, "kind", "a line needs a time, a kind, a station and values")
            continue
        kind = fields[1].upper()
        if kind not in _KINDS:
            result.issue(number, "kind", f"{fields[1]!r} is not one of {', '.join(_KINDS)}")
            continue
        name, count, factor = _KINDS[kind]
        if len(fields) != 3 + count:
            result.issue(
                number,
                "values",
                f"{kind} needs a station and {count} value(s), got {len(fields) - 2} field(s)",
            )
            continue
        try:
            epoch = parse_utc_datetime(fields[0])
        except ValueError as exc:
            result.issue(number, "time", str(exc))
            continue
        values: list[float] = []
        for k, cell in enumerate(fields[3:]):
            field_name = ("azimuth", "elevation")[k] if kind == "AZ_EL" else kind.lower()
            try:
                value = float(cell)
            except ValueError:
                result.issue(number, field_name, f"not a number: {cell!r}")
                break
            if not math.isfinite(value):
                result.issue(number, field_name, f"not a finite number: {cell!r}")
                break
            if kind == "RANGE" and value <= 0:
                result.issue(number, field_name, f"a range must be positive: {cell!r}")
                break
            if kind == "AZ_EL" and k == 1 and not -90.0 <= value <= 90.0:
                result.issue(number, field_name, f"an elevation lies in [-90, 90] degrees: {cell!r}")
                break
            values.append(value * factor)
        else:
            result.add(TrackingObservation(epoch, name, fields[2], tuple(values)), number)
    return result
