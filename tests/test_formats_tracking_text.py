"""The tracking text reader (Orekit's example layout): good lines kept, each bad line one issue
naming its line and field."""

from __future__ import annotations

import math

import pytest

from kizuna.formats.tracking_text import read_tracking_text

GOOD = "2010-11-02T03:00:13.3851   RANGE   Uralla   38014.9488\n2010-11-02T03:00:50.5716 AZ_EL Kumsan 211.1446 43.4099\n"


def test_values_are_read_in_si_units() -> None:
    read = read_tracking_text("# comment\n\n" + GOOD, "t.aer")
    assert read.issues == [] and read.lines == [3, 4]
    rng, azel = read.records
    assert rng.kind == "range" and rng.value_si == pytest.approx((38014948.8,))
    assert azel.kind == "azel" and azel.value_si == pytest.approx(
        (math.radians(211.1446), math.radians(43.4099))
    )
    assert rng.epoch_utc.microsecond == 385100 and rng.epoch_utc.tzinfo is not None


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("2010-11-02T03:00:13 RANGE", "values"),
        ("2010-11-02T03:00:13", "kind"),
        ("2010-11-02T03:00:13 DOPPLER Uralla 1.0", "kind"),
        ("2010-11-02T03:00:13 RANGE Uralla", "values"),
        ("2010-11-02T03:00:13 AZ_EL Uralla 10.0", "values"),
        ("2010-11-02T03:00:13 AZ_EL Uralla 10.0 20.0 30.0", "values"),
        ("2010-13-02T03:00:13 RANGE Uralla 38000.0", "time"),
        ("yesterday RANGE Uralla 38000.0", "time"),
        ("2010-11-02T03:00:13 RANGE Uralla abc", "range"),
        ("2010-11-02T03:00:13 RANGE Uralla nan", "range"),
        ("2010-11-02T03:00:13 RANGE Uralla inf", "range"),
        ("2010-11-02T03:00:13 RANGE Uralla -5", "range"),
        ("2010-11-02T03:00:13 RANGE Uralla 0", "range"),
        ("2010-11-02T03:00:13 AZ_EL Uralla 1e999 20", "azimuth"),
        ("2010-11-02T03:00:13 AZ_EL Uralla 10 95", "elevation"),
        ("2010-11-02T03:00:13 AZ_EL Uralla 10 x", "elevation"),
    ],
)
def test_a_bad_line_is_one_issue_and_the_good_lines_stay(line: str, field: str) -> None:
    read = read_tracking_text(GOOD + line + "\n" + GOOD, "t.aer")
    assert len(read.records) == 4
    assert [(i.file, i.line, i.field) for i in read.issues] == [("t.aer", 3, field)]
