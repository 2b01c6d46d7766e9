"""Operator maneuver logs: IDS/DORIS maneuver files and Fengyun (CMA/NSMC) station-keeping logs.

These are the ground truth for maneuver detection. Two formats:

* IDS/DORIS ``*man.txt`` (layout in the IDS ``man.readme``): one maneuver per line, start and end as
  (year, day-of-year, hour, minute) in UTC, a parameter type (005 SPOT T/R/L, 006 radial/along/cross,
  007 Jason Q/S/W), the number of burns and, per burn, the median time, duration and the delta-v
  vector in m/s. TOPEX lines carry the start and end only. Day-of-year 1 is January 1 (the processed
  YAML labels of the Shorten benchmark get this wrong by one day; we read the raw files).
* Fengyun ``manFY*.txt.fy``: ``TYPE COSPAR-ID "start CST" "end CST"``. CST is China Standard Time,
  UTC+8, so 8 hours are subtracted.

Readers take text and return a `ParseResult`; a bad line is reported and skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kizuna.formats.common import ParseResult, physical_lines

CST_OFFSET = timedelta(hours=8)
# IDS satellite codes -> NORAD catalog numbers (for the satellites whose logs we read).
IDS_NORAD = {
    "CRYO2": 36508,
    "JASO1": 26997,
    "JASO2": 33105,
    "JASO3": 41240,
    "SARAL": 39086,
    "SEN3A": 41335,
    "SEN3B": 43437,
    "SEN6A": 46984,
    "HY-2A": 37781,
    "TOPEX": 22076,
    "ENVI1": 27386,
    "SPOT2": 20436,
    "SPOT4": 25260,
    "SPOT5": 27421,
}
# Fengyun COSPAR ids -> NORAD catalog numbers.
FENGYUN_NORAD = {"2006-053A": 29640, "2008-066A": 33463, "2012-047A": 38049, "2016-077A": 41882}
# Frame of the delta-v components per IDS parameter type, mapped to radial / in-track / cross-track.
_IDS_FRAME = {
    "005": ("in-track", "cross-track", "radial"),  # SPOT T, R, L (pitch/roll/yaw axes)
    "006": ("radial", "in-track", "cross-track"),
    "007": ("radial", "in-track", "cross-track"),
}  # Jason Q, S, W


@dataclass(frozen=True)
class Burn:
    median_utc: datetime
    duration_s: float
    dv_rtn_mps: tuple[float, float, float]  # radial, in-track, cross-track


@dataclass(frozen=True)
class LoggedManeuver:
    """One maneuver as the operator logged it."""

    satellite: str  # IDS code ("JASO2") or COSPAR id ("2012-047A")
    norad_id: int | None
    start_utc: datetime
    end_utc: datetime
    kind: str  # "maneuver", "GEO-EW-STATION-KEEPING", "GEO-NS-STATION-KEEPING", "GEO-ATTITUDE-CONTROL"
    burns: tuple[Burn, ...] = field(default=())

    @property
    def orbital(self) -> bool:
        """Attitude-control events do not change the orbit and are not maneuvers to detect."""
        return self.kind != "GEO-ATTITUDE-CONTROL"

    @property
    def dv_mps(self) -> float | None:
        if not self.burns:
            return None
        return float(sum(math.sqrt(sum(c * c for c in b.dv_rtn_mps)) for b in self.burns))


def _doy(year: str, doy: str, hour: str, minute: str, second: str = "0") -> datetime:
    y, d, h, m = int(year), int(doy), int(hour), int(minute)
    if not 1 <= d <= 366 or not 0 <= h <= 23 or not 0 <= m <= 59:
        raise ValueError(f"bad day-of-year time {year} {doy} {hour}:{minute}")
    return datetime(y, 1, 1, tzinfo=UTC) + timedelta(days=d - 1, hours=h, minutes=m, seconds=float(second))


def read_ids_maneuvers(text: str, file: str = "<text>") -> ParseResult[LoggedManeuver]:
    """Read an IDS/DORIS maneuver file (see module docstring). Tokens are whitespace-separated,
    which every IDS file we hold respects; the per-burn block is 15 tokens."""
    result: ParseResult[LoggedManeuver] = ParseResult(file=file, format="ids-maneuvers")
    for lineno, line in enumerate(physical_lines(text), start=1):
        if not line.strip():
            continue
        tok = line.split()
        try:
            if len(tok) < 9:
                raise ValueError(
                    f"expected start and end (8 numbers) after the satellite, got {len(tok) - 1}"
                )
            sat = tok[0].upper()
            start = _doy(*tok[1:5])
            end = _doy(*tok[5:9])
        except (IndexError, ValueError) as exc:
            result.issue(lineno, "start/end", str(exc))
            continue
        burns: list[Burn] = []
        if len(tok) > 9:
            try:
                ptype, nburn = tok[9], int(tok[10])
                axes = _IDS_FRAME.get(ptype)
                if axes is None:
                    raise ValueError(f"unknown parameter type {ptype!r}")
                for b in range(nburn):
                    k = 11 + 15 * b
                    blk = tok[k : k + 15]
                    if len(blk) < 9:
                        raise ValueError(f"burn {b + 1} of {nburn} is truncated")
                    dv = dict(zip(axes, (float(blk[6]), float(blk[7]), float(blk[8])), strict=True))
                    burns.append(
                        Burn(
                            _doy(*blk[0:5]), float(blk[5]), (dv["radial"], dv["in-track"], dv["cross-track"])
                        )
                    )
            except (IndexError, ValueError) as exc:
                result.issue(lineno, "burns", str(exc))
                continue
        if end < start:
            result.issue(lineno, "end", "maneuver ends before it starts")
            continue
        result.add(LoggedManeuver(sat, IDS_NORAD.get(sat), start, end, "maneuver", tuple(burns)), lineno)
    return result


_FY_LINE = re.compile(r'^\s*(GEO-[A-Z-]+)\s+(\d{4}-\d{3}[A-Z]{1,3})\s+"([^"]+)\s+CST"\s+"([^"]+)\s+CST"\s*$')


def read_fengyun_maneuvers(text: str, file: str = "<text>") -> ParseResult[LoggedManeuver]:
    """Read a Fengyun station-keeping log; CST (UTC+8) times are returned in UTC."""
    result: ParseResult[LoggedManeuver] = ParseResult(file=file, format="fengyun-maneuvers")
    for lineno, line in enumerate(physical_lines(text), start=1):
        if not line.strip():
            continue
        m = _FY_LINE.match(line)
        if not m:
            result.issue(lineno, "line", 'expected TYPE COSPAR "start CST" "end CST"')
            continue
        try:
            start = datetime.fromisoformat(m.group(3)).replace(tzinfo=UTC) - CST_OFFSET
            end = datetime.fromisoformat(m.group(4)).replace(tzinfo=UTC) - CST_OFFSET
        except ValueError as exc:
            result.issue(lineno, "time", str(exc))
            continue
        result.add(LoggedManeuver(m.group(2), FENGYUN_NORAD.get(m.group(2)), start, end, m.group(1)), lineno)
    # The logs are in reverse time order; callers want them forward.
    order = sorted(range(len(result.records)), key=lambda i: result.records[i].start_utc)
    result.records = [result.records[i] for i in order]
    result.lines = [result.lines[i] for i in order]
    return result


def read_maneuver_log(text: str, file: str = "<text>") -> ParseResult[LoggedManeuver]:
    """Either format, chosen from the content."""
    first = next((ln for ln in physical_lines(text) if ln.strip()), "")
    if first.lstrip().startswith("GEO-"):
        return read_fengyun_maneuvers(text, file)
    return read_ids_maneuvers(text, file)
