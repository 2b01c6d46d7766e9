"""The one time parser (kizuna.model.time) and the time grid (kizuna.orbit.timescale): offsets,
CCSDS day-of-year, the supported range, and grids refused before they wrap or exhaust memory.
Reference instants are worked out by hand from the ISO-8601 / CCSDS 301.0-B-4 definitions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from kizuna.model.time import SUPPORTED_RANGE_UTC, parse_utc_datetime
from kizuna.orbit.timescale import MAX_GRID_POINTS, as_datetime64, time_grid
from kizuna.sda.screening import grid_steps

RANGE_TEXT = "supported range 1900-01-01 to 2200-01-01 UTC"


@pytest.mark.parametrize(
    "text",
    [
        "2026-07-10T09:00:00+09:00",
        "2026-07-10T09:00:00+0900",
        "2026-07-10T00:00:00Z",
        "2026-07-10T00:00:00z",
        "2026-07-10 00:00:00",
        "2026-07-10T00:00:00",
        "2026-07-09T19:00:00-05",
        "2026-191T00:00:00",  # CCSDS day-of-year: 10 July is day 191 of a common year
        "2026-191",
        "2026-07-10",
        "2026-07-10T00:00",
    ],
)
def test_every_spelling_of_one_instant_is_the_same_utc_instant(text):
    assert parse_utc_datetime(text) == datetime(2026, 7, 10, tzinfo=UTC)
    assert parse_utc_datetime(text).utcoffset() == timedelta(0)


def test_celestrak_history_epoch_with_space_and_offset():
    got = parse_utc_datetime("2020-01-01 06:11:10.983264+00:00")
    assert got == datetime(2020, 1, 1, 6, 11, 10, 983264, tzinfo=UTC)


def test_fractional_seconds_round_half_even_to_the_microsecond():
    assert parse_utc_datetime("2026-191T06:03:02.96").microsecond == 960000
    assert parse_utc_datetime("2026-07-10T00:00:00.0000005Z").microsecond == 0  # half to even
    assert parse_utc_datetime("2026-07-10T00:00:00.0000015Z").microsecond == 2
    assert parse_utc_datetime("2026-07-10T23:59:59.9999999Z") == datetime(2026, 7, 11, tzinfo=UTC)


def test_day_of_year_366_only_in_leap_years():
    assert parse_utc_datetime("2024-366T12:00:00") == datetime(2024, 12, 31, 12, tzinfo=UTC)
    # strptime alone reads 2026-366 as 2027-01-01: a day that does not exist is refused.
    with pytest.raises(ValueError, match=r"day of year 366 does not exist in 2026: '2026-366'"):
        parse_utc_datetime("2026-366")
    with pytest.raises(ValueError, match="day of year 0"):
        parse_utc_datetime("2026-000T00:00:00")


@pytest.mark.parametrize(
    "text",
    ["1899-12-31T23:59:59Z", "2200-01-01", "2262-05-01", "9999-12-31T23:59:59-01:00", "1000-01-01T00:00:00Z"],
)
def test_instants_outside_the_range_are_refused_naming_value_and_range(text):
    with pytest.raises(ValueError) as info:
        parse_utc_datetime(text)
    message = str(info.value)
    assert repr(text) in message and RANGE_TEXT in message


def test_range_edges():
    lo, hi = SUPPORTED_RANGE_UTC
    assert parse_utc_datetime("1900-01-01T00:00:00Z") == lo
    assert parse_utc_datetime("2199-12-31T23:59:59.999999Z") == hi - timedelta(microseconds=1)
    # the offset moves an instant across the edge
    with pytest.raises(ValueError, match=RANGE_TEXT):
        parse_utc_datetime("1900-01-01T08:59:59+09:00")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2026-13-01",
        "2026-02-30",
        "2026-07-10T25:00:00",
        "2026-07-10T00:00:00+24:00",
        "2026-07-10T00:00:00.",
        "2026-07-10T00:00:00.12a",
        "2026-07-10T00:00:00ZZ",
        "10/07/2026",
    ],
)
def test_malformed_text_is_refused_naming_it(text):
    with pytest.raises(ValueError) as info:
        parse_utc_datetime(text)
    assert repr(text) in str(info.value) or text == ""


def test_non_text_is_a_value_error_not_an_attribute_error():
    with pytest.raises(ValueError, match="not an ISO-8601 UTC time: None"):
        parse_utc_datetime(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ arrays and grids
def test_as_datetime64_refuses_instants_that_would_wrap_int64_nanoseconds():
    # datetime64[ns] ends in April 2262; past it, casting wraps to 1677 without a word.
    for value in (
        datetime(2300, 1, 1),
        datetime(2300, 1, 1, tzinfo=timezone(timedelta(hours=9))),
        np.datetime64("2300-01-01"),
        np.array(["2026-01-01", "2300-01-01"], dtype="datetime64[D]"),
        [np.datetime64("2300-01-01T00:00:00", "s")],
        datetime(1800, 1, 1),
    ):
        with pytest.raises(ValueError, match=RANGE_TEXT):
            as_datetime64(value)
    ok = as_datetime64(np.array(["2026-01-01", "NaT"], dtype="datetime64[D]"))
    assert ok.dtype == np.dtype("datetime64[ns]") and str(ok[0]).startswith("2026-01-01")


@pytest.mark.parametrize("stop", ["2262-05-01", datetime(2262, 5, 1), np.datetime64("2262-05-01", "D")])
def test_grid_with_stop_past_2262_names_the_range_not_stop_before_start(stop):
    with pytest.raises(ValueError) as info:
        time_grid("2026-01-01", stop, 60.0)
    assert RANGE_TEXT in str(info.value) and "before start" not in str(info.value)


@pytest.mark.parametrize("step", [float("nan"), float("inf"), -60.0, 0.0, "sixty"])
def test_grid_step_that_is_not_a_positive_finite_number_is_named(step):
    with pytest.raises(ValueError, match="step_s must be a"):
        time_grid("2026-01-01", "2026-01-02", step)
    with pytest.raises(ValueError, match="step_s must be a"):
        grid_steps("2026-01-01", "2026-01-02", step)


def test_grid_larger_than_the_cap_is_refused_before_allocating():
    # 200 days at 1 s: 17,280,001 instants (138 MB); old code built it, 200 years took 47 GiB.
    t = time.perf_counter()
    with pytest.raises(ValueError) as info:
        time_grid("2026-01-01", "2026-07-20", 1.0)
    assert time.perf_counter() - t < 0.5
    message = str(info.value)
    assert "17,280,001 instants" in message and f"{MAX_GRID_POINTS:,}" in message
    with pytest.raises(ValueError, match="MAX_GRID_POINTS"):
        time_grid("2000-01-01", "2199-01-01", 1.0)
    with pytest.raises(ValueError, match="MAX_GRID_POINTS"):
        grid_steps("2026-01-01", "2026-07-20", 1.0)


def test_grid_at_the_cap_and_ordinary_grids_still_work():
    step_s = 1.0
    stop = np.datetime64("2026-01-01", "ns") + np.timedelta64(MAX_GRID_POINTS - 1, "s")
    assert len(time_grid("2026-01-01", stop, step_s)) == MAX_GRID_POINTS
    grid = time_grid("2026-07-10T09:00:00+09:00", "2026-07-10T00:03:30Z", 60.0)
    assert [str(t) for t in grid] == [f"2026-07-10T00:0{m}:00.000000000" for m in range(4)]
    with pytest.raises(ValueError, match="is before start"):
        time_grid("2026-07-10T00:00:01Z", "2026-07-10T09:00:00+09:00", 60.0)
