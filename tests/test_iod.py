"""IOD optical observations: the format description's examples and real reports, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kizuna.formats.iod import read_iod

# Eight observations reported to the SeeSat-L list on 20 Nov 2003 (station 8305, format 3, J2000)
REAL = """\
23533 95 015A   8305 G 20031120011047590 56 35 2027142-289077 26
23533 95 015A   8305 G 20031120011305070 56 35 1919261+090806 83
23533 95 015A   8305 G 20031120011321870 56 35 1908590+144352 83
23533 95 015A   8305 G 20031120011349780 56 35 1849582+229539 83
23533 95 015A   8305 G 20031120011419460 56 35 1827490+311236 26
07816 75 043A   8305 G 20031120014655200 56 35 2343335-217095 35
07816 75 043A   8305 G 20031120014709030 56 35 2338166-252211 83
07816 75 043A   8305 G 20031120014753750 56 35 2323296-345679 65
reduction with Guide8 and Obsreduce
"""

# The examples of the format description (G. D. Lewis, clarified 24 Feb 2002)
EXAMPLES = """\
12345 98 123A   2007 G 20081122112233444 56 14 1122334+112233 39 S
12345 98 123A   2007 F 2008112211223344  56 25 1122   +1122   28 R+05  1
12345 98 123A   2007 P 200811221122334   27 35 11223  +112    27 S+070 10
12345 98 123LEO 2007 B 20081122112233    18 75 1122334+112222 36 V+110 1
                2007 O 20081122
                2007 C 200811231130
"""


def test_real_reports_read_to_the_hand_computed_angles() -> None:
    result = read_iod(REAL, "seesat.txt")
    assert result.issues == []
    obs = result.records
    assert len(obs) == 8 and result.lines == list(range(1, 9))
    first = obs[0]
    assert (first.norad_id, first.international_designator, first.station) == (23533, "95 015A", 8305)
    assert first.epoch_utc == np.datetime64("2003-11-20T01:10:47.590", "ns")
    assert (first.frame, first.equinox) == ("radec", "J2000")
    # RA 20h 27.142m = 306.7855 deg; Dec -28.9077 deg; 2 x 10^(6-8) deg; 5 x 10^(6-8) s
    assert first.angle_1_deg == pytest.approx(306.7855, abs=1e-9)
    assert first.angle_2_deg == pytest.approx(-28.9077, abs=1e-9)
    assert first.position_sigma_deg == pytest.approx(0.02) and first.time_sigma_s == pytest.approx(0.05)
    assert obs[-1].norad_id == 7816 and obs[-1].angle_2_deg == pytest.approx(-34.5679)
    # the five positions of 23533 in 92 s climb in declination as a LEO pass does
    dec = [o.angle_2_deg for o in obs[:5]]
    assert dec == sorted(dec)


def test_each_angle_format_of_the_description() -> None:
    obs = read_iod(EXAMPLES, "examples.txt").records
    assert len(obs) == 4  # the O and C station-status lines carry no position
    fmt1, fmt2, fmt3, fmt7 = obs
    # format 1, B1950: RA 11h22m33.4s, Dec +11 22 33; 3 x 10^(9-8) arcsec
    assert fmt1.equinox == "B1950"
    assert fmt1.angle_1_deg == pytest.approx((11 + 22 / 60 + 33.4 / 3600) * 15)
    assert fmt1.angle_2_deg == pytest.approx(11 + 22 / 60 + 33 / 3600)
    assert fmt1.position_sigma_deg == pytest.approx(30 / 3600)
    # format 2 with blank low digits: less precision, read as zeros; magnitude +05 -> 5.0
    assert fmt2.epoch_utc == np.datetime64("2008-11-22T11:22:33.440", "ns")
    assert fmt2.angle_1_deg == pytest.approx(11 * 15 + 22 / 60 * 15)
    assert fmt2.angle_2_deg == pytest.approx(11 + 22 / 60)
    assert fmt2.position_sigma_deg == pytest.approx(2 / 60 * 1e0)
    assert fmt2.magnitude == 5.0
    # format 3: RA HHMMmmm, Dec DDdddd
    assert fmt3.angle_1_deg == pytest.approx((11 + 22.3 / 60) * 15)
    assert fmt3.angle_2_deg == pytest.approx(11.2)
    assert fmt3.magnitude == 7.0 and fmt3.time_sigma_s == pytest.approx(2e-1)
    # format 7: RA HHMMSSs, Dec DDdddd; time to the second, 1 x 10^0 s
    assert fmt7.angle_2_deg == pytest.approx(11.2222) and fmt7.time_sigma_s == 1.0
    assert fmt7.international_designator == "98 123LEO"


def test_az_el_formats() -> None:
    line = "25544 98 067A   4353 G 20261130120000000 17 45 1803020+452010 27"
    ob = read_iod(line, "x").records[0]
    assert ob.frame == "azel" and ob.equinox == "J2000"
    assert ob.angle_1_deg == pytest.approx(180 + 30 / 60 + 20 / 3600)
    assert ob.angle_2_deg == pytest.approx(45 + 20 / 60 + 10 / 3600)
    six = read_iod(line.replace(" 45 1803020+452010", " 65 1803020+452010"), "x").records[0]
    assert six.angle_1_deg == pytest.approx(180.302) and six.angle_2_deg == pytest.approx(45.201)
    assert six.position_sigma_deg == pytest.approx(2e-1)


GOOD = "23533 95 015A   8305 G 20031120011047590 56 35 2027142-289077 26"


def _with(cols: slice, text: str) -> str:
    padded = GOOD.ljust(80)
    return (padded[: cols.start] + text + padded[cols.stop :]).rstrip()


BAD = [
    (_with(slice(16, 20), "83A5"), "station", "is not a station number"),
    (_with(slice(23, 40), "2003112"), "time", "needs at least YYYYMMDDHHMM"),
    (_with(slice(23, 40), "20031320011047590"), "time", "is not a date and time"),
    (_with(slice(23, 40), "20031120251047590"), "time", "is not a date and time"),
    (_with(slice(23, 40), "20031120016147590"), "time", "is not a date and time"),
    (_with(slice(23, 40), "20031120011061590"), "time", "is not a time of day"),
    (_with(slice(44, 45), "9"), "angle_format", "'9' is not an angle format 1-7"),
    (_with(slice(45, 46), "8"), "epoch_code", "'8' is not an epoch code 0-6"),
    (_with(slice(47, 54), "20x7142"), "angle_1", "is not digits"),
    (_with(slice(47, 54), "2527142"), "angle_1", "outside 0-360"),
    (_with(slice(54, 55), "*"), "angle_2", "sign '*' is not + or -"),
    (_with(slice(54, 61), "-989077"), "angle_2", "outside -90..90"),
    (_with(slice(62, 64), "2x"), "uncertainty", "is not two digits M X"),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD)
def test_a_bad_line_is_an_issue_and_the_others_are_kept(line: str, field: str, message: str) -> None:
    result = read_iod(REAL.splitlines()[1] + "\n" + line + "\n" + REAL.splitlines()[2], "bad.iod")
    assert len(result.records) == 2
    assert [(i.line, i.field) for i in result.issues] == [(2, field)]
    assert message in result.issues[0].message
    assert not any(math.isnan(o.angle_1_deg) for o in result.records)
