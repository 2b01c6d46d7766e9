"""UTC time arrays at the orbit boundary.

Times travel as numpy ``datetime64[ns]`` (UTC). SGP4 wants Julian dates as a
(whole, fraction) pair so that sub-millisecond precision survives; the split
here is exact in integer nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from kizuna.model.time import parse_utc_datetime

JD_UNIX_EPOCH = 2440587.5
NS_PER_DAY = 86_400_000_000_000


def as_datetime64(value: object) -> np.ndarray:
    """Convert a datetime, ISO string, or an iterable/array of them to datetime64[ns] UTC."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.datetime64):
        return value.astype("datetime64[ns]")
    if isinstance(value, (str, datetime)):
        return np.array([_one(value)], dtype="datetime64[ns]")
    if isinstance(value, np.datetime64):
        return np.array([value], dtype="datetime64[ns]")
    if isinstance(value, Iterable):
        return np.array([_one(v) for v in value], dtype="datetime64[ns]")
    raise TypeError(f"cannot read {type(value).__name__} as UTC times")


def _one(value: object) -> np.datetime64:
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ns]")
    if isinstance(value, str):
        value = parse_utc_datetime(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    raise TypeError(f"cannot read {type(value).__name__} as a UTC time")


def time_grid(start: object, stop: object, step_s: float) -> np.ndarray:
    """Evenly spaced UTC times from start to stop inclusive (when stop falls on a step)."""
    if step_s <= 0:
        raise ValueError("step_s must be positive")
    t0 = as_datetime64(start)[0]
    t1 = as_datetime64(stop)[0]
    if t1 < t0:
        raise ValueError("stop is before start")
    step_ns = int(round(step_s * 1e9))
    count = int((t1 - t0).astype("int64") // step_ns) + 1
    return t0 + np.arange(count, dtype="int64").astype("timedelta64[ns]") * step_ns


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
