"""ILRS CRD (v1 and v2) laser ranges: real LAGEOS-2 normal points, full rate across midnight."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.crd import read_crd

DATA = Path(__file__).parent / "data" / "ilrs"


def _read(name: str):
    return read_crd((DATA / name).read_text(encoding="ascii"), name)


def test_v1_lageos2_normal_points_of_the_orbit_determination_case() -> None:
    result = _read("lageos2_20160214.npt")
    assert result.issues == []
    ranges = result.records
    assert len(ranges) == 95  # every record 11 of the file
    assert {r.session.station_name for r in ranges} == {"YARL", "HA4T", "MATM", "STL3"}
    # HA4T writes NORAD id -1 (not given): the ILRS id still names the target
    assert {r.session.norad_id for r in ranges} == {22195, None}
    assert {r.session.station_name for r in ranges if r.session.norad_id is None} == {"HA4T"}
    assert {r.session.ilrs_id for r in ranges} == {"9207002"}
    assert {r.kind for r in ranges} == {"normal_point"}
    first = ranges[0]
    assert first.session.cdp_pad_id == 7090 and first.session.format_version == 1
    assert first.epoch_utc == np.datetime64("2016-02-13T13:43:02.400562600", "ns")
    assert first.time_of_flight_s == 0.039237325685
    assert (first.epoch_event, first.window_s, first.raw_ranges, first.bin_rms_ps) == (2, 120.0, 94, 57.0)
    assert first.session.range_type == "two_way" and first.session.station_delay_applied
    assert first.session.wavelength_nm == 532.0
    # the weather of the 20 record 0.4 ms after it (none before it in the session)
    assert (first.pressure_mbar, first.temperature_k, first.humidity_pct) == (983.7, 301.4, 24.0)
    # later ranges take the last weather record at or before them
    second = ranges[1]
    # 49503.600567399997 s rounds to the nearest nanosecond (numpy would truncate the text)
    assert second.epoch_utc == np.datetime64("2016-02-13T13:45:03.600567400", "ns")
    assert second.temperature_k == 301.4
    # LAGEOS-2 flies at ~5,900 km: half the light path is 5,800-9,000 km from the ground
    half_path_km = np.array([r.two_way_range_m for r in ranges]) / 1000
    assert half_path_km.min() > 5_600 and half_path_km.max() < 9_500
    # seconds of day read to the nanosecond from text (79446.6040000045891 s)
    assert ranges[-1].epoch_utc == np.datetime64("2016-02-13T22:04:06.604000005", "ns")


def test_v2_header_fields() -> None:
    result = _read("lageos2_201802.npt.v2C")
    assert result.issues == []
    assert len(result.records) == 300
    session = result.records[0].session
    assert (session.station_name, session.cdp_pad_id, session.system_number, session.occupancy) == (
        "CHAL",
        9998,
        19,
        1,
    )
    assert (session.station_time_scale, session.network, session.format_version) == (4, "WPLTN", 2)
    assert (session.target_name, session.ilrs_id, session.sic, session.norad_id) == (
        "lageos2",
        "9207002",
        "5986",
        22195,
    )
    assert session.data_type == "normal_point" and session.range_type == "two_way"
    assert session.start_utc == np.datetime64("2018-02-01T15:14:58")
    assert session.stop_utc == np.datetime64("2018-02-01T15:48:57")
    assert not session.troposphere_applied and not session.center_of_mass_applied
    assert session.station_delay_applied


def test_a_pass_across_midnight_puts_its_later_ranges_on_the_next_day() -> None:
    result = _read("Rollover.frd")
    assert result.issues == []
    by_station: dict[str, list] = {}
    for r in result.records:
        by_station.setdefault(r.session.station_name, []).append(r)
    assert by_station["SISL"][0].epoch_utc == np.datetime64("2022-06-06T12:03:30.889832900", "ns")
    crossing = by_station["GRZL"]
    assert crossing[0].session.start_utc == np.datetime64("2021-01-26T23:55:51")
    assert crossing[-1].epoch_utc == np.datetime64("2021-01-27T00:16:47.946763625", "ns")
    epochs = np.array([r.epoch_utc for r in crossing])
    assert np.all(np.diff(epochs) > np.timedelta64(0, "ns"))
    assert all(r.session.start_utc <= r.epoch_utc <= r.session.stop_utc for r in crossing)


HEAD = "h1 CRD 2 2018 2 1 17\nh2 CHAL 9998 19 01 4 WPLTN\nh3 lageos2 9207002 5986 22195 0 1 1\n"
H4 = "h4 1 2018 2 1 15 14 58 2018 2 1 15 48 57 0 0 0 0 1 0 2 0\n"
NP = "11 54927.620161400002 0.044106029140 std 2 120.0 1457 70.0 0.319 2.496 -12.0 1.2 0 5.7\n"
NP2 = "11 55016.185001400001 0.043352169422 std 2 120.0 2973 67.8 0.348 2.543 -12.0 2.5 0 5.7\n"

BAD = [
    (HEAD + NP + H4 + NP2 + "h8\n", 4, "record", "outside a session"),
    (HEAD.replace("CRD 2", "CRD 7") + H4 + NP2 + "h8\n", 1, "format_version", "7 is not 1 or 2"),
    (HEAD + H4 + NP.replace(" 2 120.0", " 9 120.0") + NP2 + "h8\n", 5, "epoch_event", "9 is not 0-7"),
    (
        HEAD + H4 + NP.replace("0.044106029140", "1.5") + NP2 + "h8\n",
        5,
        "time_of_flight_s",
        "is not in (0, 1) s",
    ),
    (
        HEAD + H4 + NP.replace("0.044106029140", "nan") + NP2 + "h8\n",
        5,
        "time_of_flight_s",
        "'nan' is not finite",
    ),
    (HEAD + H4 + NP.replace("54927.620161400002", "99999.5") + NP2 + "h8\n", 5, "seconds_of_day", "outside"),
    (
        HEAD + H4 + NP.replace("54927.620161400002", "5e4") + NP2 + "h8\n",
        5,
        "seconds_of_day",
        "plain decimal",
    ),
    (HEAD + H4 + NP.replace(" 1457 ", " many ") + NP2 + "h8\n", 5, "raw_ranges", "'many' is not an integer"),
    (HEAD + H4 + "20 54900.0 2000.0 259.1 80 0\n" + NP2 + "h8\n", 5, "meteo", "out of range"),
    (HEAD + H4 + "11 54927.6\n" + NP2 + "h8\n", 5, "time_of_flight_s", "missing"),
    (HEAD + H4.replace("2018 2 1 15 14", "2018 13 1 15 14") + NP2 + "h8\n", 4, "start", "not a date"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), BAD)
def test_a_bad_record_is_an_issue_by_line_and_field_and_the_good_ranges_stay(
    text, line, field, message
) -> None:
    result = read_crd(text, "bad.npt")
    assert [(i.line, i.field) for i in result.issues][:1] == [(line, field)]
    assert message in result.issues[0].message
    if "13 1 15" not in text and "CRD 7" not in text:
        assert len(result.records) == 1  # NP2 is kept
        assert result.records[0].time_of_flight_s == 0.043352169422


def test_a_file_cut_short_keeps_its_ranges_and_says_so() -> None:
    result = read_crd(HEAD + H4 + NP + NP2, "cut.npt")
    assert len(result.records) == 2
    assert [(i.field, "no H8" in i.message) for i in result.issues] == [("H8", True)]
