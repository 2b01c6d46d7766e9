"""ILRS Consolidated Laser Ranging Data format (CRD, versions 1 and 2): normal points and full-rate
ranges with the meteorology and session facts orbit determination needs.

Satellite laser ranging stations publish their passes in CRD (ILRS, *Consolidated Laser Ranging
Data Format*, v1.01 2009 and v2.01 2021). A file is a sequence of sessions (``H1``..``H8``, one pass
of one target from one station, the record type in either case), each with configuration records
(``C0``..``C7``), ranges (``10`` full rate, ``11`` normal points), meteorology (``20``),
calibrations (``40``/``41``) and statistics (``50``). This reader keeps what an orbit fit uses:

- station (``H2``: name, CDP pad id, system number, occupancy, epoch time scale, network in v2);
- target (``H3``: name, ILRS id, SIC, NORAD id);
- the session (``H4``: data type, start/end, which corrections are applied, range type);
- each range: its epoch (session date + seconds of day, rolled to the next day when a pass crosses
  midnight), two-way time of flight in seconds, epoch event, window, raw-range count, bin RMS;
- the surface pressure, temperature and humidity in force at each range (the last ``20`` record
  at or before it, else the first after it), which tropospheric delay models need.

A malformed record becomes an issue naming file, line and field; the other ranges are kept. A range
outside a session (no ``H4`` before it) is an issue, never guessed into a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from kizuna.formats.common import ParseResult

# H4 data types and range types (CRD v2.01 section 3.4)
DATA_TYPES = {0: "full_rate", 1: "normal_point", 2: "sampled_engineering"}
RANGE_TYPES = {0: "none", 1: "one_way", 2: "two_way", 3: "receive_only", 4: "mixed"}
# Epoch events of a range record: which instant the time tag names
EPOCH_EVENTS = {
    0: "ground receive (two-way)",
    1: "spacecraft bounce (two-way)",
    2: "ground transmit (two-way)",
    3: "spacecraft receive (one-way)",
    4: "spacecraft transmit (one-way)",
    5: "ground transmit and spacecraft receive (one-way)",
    6: "spacecraft transmit and ground receive (one-way)",
    7: "ground transmit, spacecraft receive, ground receive (two-way)",
}
SECONDS_PER_DAY = 86_400.0
_HALF_DAY_S = SECONDS_PER_DAY / 2


@dataclass(frozen=True)
class CrdSession:
    """One pass: who ranged what, when, and which corrections the ranges already carry."""

    station_name: str
    cdp_pad_id: int
    system_number: int
    occupancy: int
    station_time_scale: int
    target_name: str
    ilrs_id: str
    sic: str
    norad_id: int | None
    data_type: str
    start_utc: np.datetime64
    stop_utc: np.datetime64
    troposphere_applied: bool
    center_of_mass_applied: bool
    station_delay_applied: bool
    range_type: str
    format_version: int
    network: str = ""
    wavelength_nm: float = math.nan


@dataclass(frozen=True)
class LaserRange:
    """One range (``kind`` ``normal_point`` or ``full_rate``) with the weather at its epoch."""

    session: CrdSession
    kind: str
    epoch_utc: np.datetime64  # nanoseconds; CRD gives 1e-7 s and more
    time_of_flight_s: float
    system_config_id: str
    epoch_event: int
    window_s: float = math.nan
    raw_ranges: int = 0
    bin_rms_ps: float = math.nan
    return_rate_pct: float = math.nan
    pressure_mbar: float = math.nan
    temperature_k: float = math.nan
    humidity_pct: float = math.nan

    @property
    def two_way_range_m(self) -> float:
        """Half the light path (c x time of flight / 2), before any correction."""
        return 299_792_458.0 * self.time_of_flight_s / 2.0


@dataclass
class _Open:
    """The session being read: header facts so far and its ranges and weather."""

    h2: list[str] | None = None
    h3: list[str] | None = None
    session: CrdSession | None = None
    start_sod: float = 0.0
    start_day: np.datetime64 = field(default_factory=lambda: np.datetime64("1970-01-01", "D"))
    ranges: list[tuple[int, LaserRange]] = field(default_factory=list)
    weather: list[tuple[np.datetime64, float, float, float]] = field(default_factory=list)
    version: int = 1


class _BadField(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field_name = field_name


def _int(parts: list[str], k: int, name: str) -> int:
    try:
        return int(parts[k])
    except (IndexError, ValueError):
        got = parts[k] if k < len(parts) else "nothing"
        raise _BadField(name, f"{got!r} is not an integer") from None


def _float(parts: list[str], k: int, name: str, *, optional: bool = False) -> float:
    if k >= len(parts):
        if optional:
            return math.nan
        raise _BadField(name, "missing")
    text = parts[k]
    if optional and text.lower() == "na":
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise _BadField(name, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _BadField(name, f"{text!r} is not finite")
    return value


def _epoch(state: _Open, parts: list[str], k: int) -> np.datetime64:
    """Session day + seconds of day; a pass that crosses midnight puts its later records on the
    next day (their seconds of day fall more than half a day before the session start's).

    The seconds are read as text to the nanosecond: CRD gives 1e-7 s, which a float64 of seconds
    of day keeps only to a few nanoseconds."""
    sod = _float(parts, k, "seconds_of_day")
    if not 0.0 <= sod < SECONDS_PER_DAY + 1.0:  # +1: a leap second's 86400.x
        raise _BadField("seconds_of_day", f"{sod} is outside 0-86400")
    whole_text, _, fraction = parts[k].partition(".")
    if not whole_text.isdigit() or (fraction and not fraction.isdigit()):
        raise _BadField("seconds_of_day", f"{parts[k]!r} is not plain decimal seconds")
    ns = int((Decimal("0." + (fraction or "0")) * 1_000_000_000).to_integral_value(ROUND_HALF_EVEN))
    day = state.start_day + np.timedelta64(1 if sod < state.start_sod - _HALF_DAY_S else 0, "D")
    return day.astype("datetime64[ns]") + np.timedelta64(int(whole_text), "s") + np.timedelta64(ns, "ns")


def _session(state: _Open, parts: list[str]) -> CrdSession:
    if state.h2 is None or state.h3 is None:
        raise _BadField("H4", "a session header (H4) needs the station (H2) and target (H3) before it")
    h2, h3 = state.h2, state.h3
    data_type = _int(parts, 1, "data_type")
    if data_type not in DATA_TYPES:
        raise _BadField("data_type", f"{data_type} is not 0, 1 or 2")
    start = [_int(parts, k, "start") for k in range(2, 8)]
    stop = [_int(parts, k, "stop") for k in range(8, 14)]
    try:
        start_utc = np.datetime64(
            f"{start[0]:04d}-{start[1]:02d}-{start[2]:02d}T{start[3]:02d}:{start[4]:02d}:{start[5]:02d}", "s"
        )
        stop_utc = np.datetime64(
            f"{stop[0]:04d}-{stop[1]:02d}-{stop[2]:02d}T{stop[3]:02d}:{stop[4]:02d}:{stop[5]:02d}", "s"
        )
    except ValueError as exc:
        raise _BadField("start", f"not a date and time: {exc}") from None
    range_type = _int(parts, 20, "range_type")
    if range_type not in RANGE_TYPES:
        raise _BadField("range_type", f"{range_type} is not 0-4")
    norad = h3[4] if len(h3) > 4 else ""
    state.start_day = start_utc.astype("datetime64[D]")
    state.start_sod = float((start_utc - state.start_day.astype("datetime64[s]")).astype(int))
    return CrdSession(
        station_name=h2[1],
        cdp_pad_id=_int(h2, 2, "cdp_pad_id"),
        system_number=_int(h2, 3, "system_number"),
        occupancy=_int(h2, 4, "occupancy"),
        station_time_scale=_int(h2, 5, "station_time_scale"),
        network=h2[6] if len(h2) > 6 else "",
        target_name=h3[1],
        ilrs_id=h3[2] if len(h3) > 2 else "",
        sic=h3[3] if len(h3) > 3 else "",
        norad_id=int(norad) if norad.isdigit() else None,
        data_type=DATA_TYPES[data_type],
        start_utc=start_utc,
        stop_utc=stop_utc,
        troposphere_applied=_int(parts, 15, "troposphere_applied") == 1,
        center_of_mass_applied=_int(parts, 16, "center_of_mass_applied") == 1,
        station_delay_applied=_int(parts, 18, "station_delay_applied") == 1,
        range_type=RANGE_TYPES[range_type],
        format_version=state.version,
    )


def _range(state: _Open, parts: list[str], kind: str) -> LaserRange:
    if state.session is None:
        raise _BadField("record", "a range outside a session (no H4 before it)")
    epoch = _epoch(state, parts, 1)
    tof = _float(parts, 2, "time_of_flight_s")
    if not 0.0 < tof < 1.0:  # one second of light time is 150,000 km each way: past any SLR target
        raise _BadField("time_of_flight_s", f"{tof} is not in (0, 1) s")
    common = {
        "session": state.session,
        "kind": kind,
        "epoch_utc": epoch,
        "time_of_flight_s": tof,
        "system_config_id": parts[3] if len(parts) > 3 else "",
        "epoch_event": _int(parts, 4, "epoch_event"),
    }
    if common["epoch_event"] not in EPOCH_EVENTS:
        raise _BadField("epoch_event", f"{common['epoch_event']} is not 0-7")
    if kind == "full_rate":
        return LaserRange(**common)  # type: ignore[arg-type]
    return LaserRange(
        **common,  # type: ignore[arg-type]
        window_s=_float(parts, 5, "window_s"),
        raw_ranges=_int(parts, 6, "raw_ranges"),
        bin_rms_ps=_float(parts, 7, "bin_rms_ps"),
        return_rate_pct=_float(parts, 11, "return_rate_pct", optional=True),
    )


def _close(state: _Open, result: ParseResult[LaserRange]) -> None:
    """End of a session: give each range the weather in force at its epoch."""
    weather = sorted(state.weather, key=lambda w: w[0])
    times = np.array([w[0] for w in weather], dtype="datetime64[ns]")
    for line, rng in state.ranges:
        if len(weather):
            k = int(np.searchsorted(times, rng.epoch_utc, side="right")) - 1
            _, p, t, h = weather[max(k, 0)]
            rng = replace(rng, pressure_mbar=p, temperature_k=t, humidity_pct=h)
        result.add(rng, line)
    state.ranges, state.weather, state.session = [], [], None


def read_crd(text: str, file: str = "<crd>") -> ParseResult[LaserRange]:
    """Every range of every session in a CRD file, normal points and full rate alike."""
    result: ParseResult[LaserRange] = ParseResult(file, "crd")
    state = _Open()
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        kind = parts[0].upper()
        try:
            if kind == "H1":
                state.version = _int(parts, 2, "format_version")
                if state.version not in (1, 2):
                    raise _BadField("format_version", f"{state.version} is not 1 or 2")
                state.h2 = state.h3 = None
            elif kind == "H2":
                if len(parts) < 6:
                    raise _BadField("H2", "needs station name, CDP pad id, system, occupancy, time scale")
                state.h2 = parts
            elif kind == "H3":
                if len(parts) < 5:
                    raise _BadField("H3", "needs target name, ILRS id, SIC, NORAD id")
                state.h3 = parts
            elif kind == "H4":
                if state.session is not None:
                    _close(state, result)
                state.session = _session(state, parts)
            elif kind == "H8":
                _close(state, result)
            elif kind == "C0" and state.session is not None:
                state.session = replace(state.session, wavelength_nm=_float(parts, 2, "wavelength_nm"))
            elif kind in ("10", "11"):
                rng = _range(state, parts, "full_rate" if kind == "10" else "normal_point")
                state.ranges.append((number, rng))
            elif kind == "20" and state.session is not None:
                when = _epoch(state, parts, 1)
                pressure = _float(parts, 2, "pressure_mbar")
                temperature = _float(parts, 3, "temperature_k")
                humidity = _float(parts, 4, "humidity_pct")
                if not (
                    500.0 <= pressure <= 1100.0 and 180.0 <= temperature <= 340.0 and 0 <= humidity <= 100
                ):
                    raise _BadField(
                        "meteo", f"pressure {pressure} mbar, {temperature} K, {humidity} % out of range"
                    )
                state.weather.append((when, pressure, temperature, humidity))
            elif kind == "H9" and state.session is not None:
                _close(state, result)
        except _BadField as exc:
            result.issue(number, exc.field_name, str(exc))
    if state.session is not None:
        result.issue(len(text.splitlines()), "H8", "the last session has no H8: its ranges are kept")
        _close(state, result)
    return result
