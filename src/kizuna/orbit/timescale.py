"""UTC time arrays at the orbit boundary.

Times travel as numpy ``datetime64[ns]`` (UTC). SGP4 wants Julian dates as a
(whole, fraction) pair so that sub-millisecond precision survives; the split
here is exact in integer nanoseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from kizuna.model.time import SUPPORTED_RANGE_UTC, check_supported, parse_utc_datetime, supported_range_text

JD_UNIX_EPOCH = 2440587.5
NS_PER_DAY = 86_400_000_000_000
#: Most instants one time grid may hold. A grid is 8 bytes per instant, and propagating N objects
#: on it holds 48 N bytes per instant more (TEME position and velocity, float64), so 10 million
#: instants (115 days at 1 s, 19 years at 60 s) is already 0.5 GB per object-thousand. Every
#: existing use is far below it (a 7-day screening at 60 s: 10,081; a day of demo at 60 s:
#: 1,441); a window/step beyond it is almost always a typo, refused before anything is allocated
#: instead of ending in a MemoryError minutes later.
MAX_GRID_POINTS = 10_000_000
# datetime64 units finer than ns cover less than the supported range, so they cannot lie outside it.
_SUB_NS_UNITS = {"ps", "fs", "as"}


def as_datetime64(value: object) -> np.ndarray:
    """Convert a datetime, ISO string, or an iterable/array of them to datetime64[ns] UTC."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.datetime64):
        return _checked_datetime64(value)
    if isinstance(value, (str, datetime)):
        return np.array([_one(value)], dtype="datetime64[ns]")
    if isinstance(value, np.datetime64):
        return _checked_datetime64(np.array([value]))
    if isinstance(value, Iterable):
        return np.array([_one(v) for v in value], dtype="datetime64[ns]")
    raise TypeError(f"cannot read {type(value).__name__} as UTC times")


def _checked_datetime64(values: np.ndarray) -> np.ndarray:
    """`values` as datetime64[ns], refused by name when outside SUPPORTED_RANGE_UTC.

    Checked in the array's own unit: casting a coarser unit (days, seconds) to int64
    nanoseconds wraps silently past April 2262, and a wrapped instant passes any later check.
    NaT passes through (it compares false either way)."""
    unit = np.datetime_data(values.dtype)[0]
    if values.size and unit not in _SUB_NS_UNITS and unit != "generic":
        lo, hi = (np.datetime64(b.replace(tzinfo=None)).astype(values.dtype) for b in SUPPORTED_RANGE_UTC)
        outside = (values < lo) | (values >= hi)
        if outside.any():
            first = values[outside].flat[0]
            raise ValueError(f"{first} is outside the supported range {supported_range_text()}")
    return values.astype("datetime64[ns]")


def _one(value: object) -> np.datetime64:
    if isinstance(value, np.datetime64):
        return _checked_datetime64(np.array([value]))[0]
    if isinstance(value, str):
        value = parse_utc_datetime(value)
    if isinstance(value, datetime):
        check_supported(value)
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    raise TypeError(f"cannot read {type(value).__name__} as a UTC time")


def step_ns_of(step_s: object) -> int:
    """A grid step in whole nanoseconds; ValueError naming `step_s` unless it is a finite number
    of seconds of at least one nanosecond."""
    try:
        seconds = float(step_s)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"step_s must be a number of seconds, got {step_s!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"step_s must be a positive, finite number of seconds, got {step_s!r}")
    step_ns = round(seconds * 1e9)
    if step_ns < 1:
        raise ValueError(f"step_s {step_s!r} is shorter than one nanosecond")
    return step_ns


def grid_span_ns(start: object, stop: object, step_s: object) -> tuple[int, int, int, int]:
    """(start_ns, stop_ns, step_ns, count) of the grid from start to stop, all checked: the step
    (:func:`step_ns_of`), both instants inside the supported range, stop not before start, and
    count (start, start + step, ... <= stop) at most :data:`MAX_GRID_POINTS`. Nothing is
    allocated, so callers that lay out their own grid check it here first."""
    step_ns = step_ns_of(step_s)
    t0 = int(as_datetime64(start)[0].astype("int64"))
    t1 = int(as_datetime64(stop)[0].astype("int64"))
    if t1 < t0:
        raise ValueError(f"stop {np.datetime64(t1, 'ns')} is before start {np.datetime64(t0, 'ns')}")
    count = (t1 - t0) // step_ns + 1  # Python ints: no int64 overflow
    if count > MAX_GRID_POINTS:
        raise ValueError(
            f"a grid from {np.datetime64(t0, 'ns')} to {np.datetime64(t1, 'ns')} every {step_ns / 1e9:g} s "
            f"has {count:,} instants, more than the cap of {MAX_GRID_POINTS:,} (MAX_GRID_POINTS): "
            "use a longer step or a shorter window"
        )
    return t0, t1, step_ns, count


def time_grid(start: object, stop: object, step_s: float) -> np.ndarray:
    """Evenly spaced UTC times from start to stop inclusive (when stop falls on a step).

    Refuses (ValueError naming the value) a step that is not a positive finite number of
    seconds, instants outside the supported range, stop before start, and grids of more than
    :data:`MAX_GRID_POINTS` instants."""
    t0, _t1, step_ns, count = grid_span_ns(start, stop, step_s)
    return np.datetime64(t0, "ns") + np.arange(count, dtype="int64").astype("timedelta64[ns]") * step_ns


def jd_pair(times_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(jd, fr) with jd on a half-day boundary and fr in [0, 1): exact to the nanosecond."""
    ns = as_datetime64(times_utc).astype("int64")
    days, rem = np.divmod(ns, NS_PER_DAY)
    return JD_UNIX_EPOCH + days.astype("float64"), rem.astype("float64") / NS_PER_DAY


def datetime64_of(dt: datetime) -> np.datetime64:
    return _one(dt)


def iso_utc(times_utc: np.ndarray) -> list[str]:
    """ISO-8601 strings with a Z, millisecond precision (for CSV/JSON output)."""
    return [f"{t}Z" for t in np.datetime_as_string(as_datetime64(times_utc), unit="ms")]
