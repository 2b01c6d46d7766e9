"""Tracks and events on scripted, hand-checkable scenarios, and on the real sample."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from kizuna.maritime.events import LandMask, detect_encounters, detect_events, detect_gaps, detect_loitering
from kizuna.maritime.tracks import clean_tracks, haversine_m, resample
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import PositionArrays

T0 = np.datetime64("2026-03-01T00:00:00", "ns")
LAT0, LON0 = 30.0, 150.0  # open NW Pacific: > 200 km from any land cell of the default GLOBE mask
M_PER_DEG_LAT = EARTH_MEAN_RADIUS_M * np.pi / 180


def _track(mmsi: int, minutes: np.ndarray, north_m: np.ndarray, east_m: np.ndarray, sog_kn) -> PositionArrays:
    lat = LAT0 + north_m / M_PER_DEG_LAT
    lon = LON0 + east_m / (M_PER_DEG_LAT * np.cos(np.radians(LAT0)))
    n = len(minutes)
    return PositionArrays(
        np.full(n, mmsi),
        T0 + (minutes * 60e9).astype("timedelta64[ns]"),
        lat,
        lon,
        np.broadcast_to(np.asarray(sog_kn, float), n),
        np.full(n, 90.0),
        np.full(n, np.nan),
    )


def _meeting(stay_min: int) -> PositionArrays:
    """A drifts east at 0.5 kn from -1 h to stay + 1 h. B runs in at 10 kn, sits 300 m north of A for
    ``stay_min`` minutes from 00:00, then leaves at 10 kn. Reports every 5 min."""
    m = np.arange(-60, stay_min + 61, 5, dtype=float)
    drift = 0.5 * KN_TO_MS * (m * 60)
    a = _track(111111111, m, np.zeros_like(m), drift, 0.5)
    run = 10 * KN_TO_MS * 60  # metres per minute at 10 kn
    off = np.where(m < 0, -m * run, np.where(m > stay_min, (m - stay_min) * run, 0.0))
    b = _track(222222222, m, 300.0 + off, drift, np.where((m < 0) | (m > stay_min), 10.0, 0.5))
    return PositionArrays.concat([a, b])


def test_three_hour_meeting_at_300_m_is_one_encounter_with_right_start_and_end():
    ev = detect_encounters(clean_tracks(_meeting(180)))
    assert len(ev) == 1
    e = ev[0]
    assert {e.mmsi, e.other_mmsi} == {111111111, 222222222}
    assert e.start_utc == T0 and e.end_utc == T0 + np.timedelta64(3, "h")  # 10-min grid: exact here
    assert e.details["median_distance_m"] == pytest.approx(300.0, abs=1.0)  # 1 m: interpolation on the sphere
    assert "500 m" in e.definition and "2 h" in e.definition


def test_one_hour_fifty_is_no_encounter():
    assert detect_encounters(clean_tracks(_meeting(110))) == []


def test_fast_pair_is_no_encounter_and_anchorage_excludes():
    fast = _meeting(180)
    fast.sog_kn[:] = 5.0
    assert detect_encounters(clean_tracks(fast)) == []
    assert detect_encounters(clean_tracks(_meeting(180)), anchorages=[(LAT0, LON0)]) == []


def test_gap_of_13_h_found_11_h_not():
    # 14 reports in the 12 h before the gap: GFW's positions-before rule is met
    m = np.r_[np.arange(-80, 60, 10), 50 + 13 * 60, 60 + 13 * 60].astype(float)
    t13 = _track(333, m, np.zeros_like(m), np.zeros_like(m), 0.0)
    g = detect_gaps(clean_tracks(t13))
    assert len(g) == 1 and g[0].details["gap_s"] == 13 * 3600
    assert g[0].start_utc == T0 + np.timedelta64(50, "m")
    m11 = np.r_[0.0, 11 * 60.0]
    assert (
        detect_gaps(clean_tracks(_track(333, m11, np.zeros(2), np.zeros(2), 0.0)), min_positions_before=0)
        == []
    )


def test_gap_respects_caller_land_mask_distance():
    m = np.array([0.0, 13 * 60.0])
    tr = clean_tracks(_track(333, m, np.zeros(2), np.zeros(2), 0.0))
    # land 1 deg (~52 nm at 30N east-west is less: use north) south of the ship: 60 nm away -> kept
    land = np.zeros((400, 200), bool)  # lat 28.00..31.99, lon 149.00..150.99
    land[:10, :] = True  # rows 0..9 = lat 28.0..28.09
    mask = LandMask(land, 28.0, 149.0, 0.01)
    assert len(detect_gaps(tr, shore=mask, min_positions_before=0)) == 1  # ~ 1.9 deg = 110 nm from shore
    assert len(detect_gaps(tr, shore=mask, min_shore_distance_nm=150, min_positions_before=0)) == 0
    assert "NOT applied" in detect_gaps(tr, shore=None, min_positions_before=0)[0].definition
    assert "caller-supplied land mask" in detect_gaps(tr, shore=mask, min_positions_before=0)[0].definition


def test_loitering_two_hours_slow():
    m = np.arange(0, 181, 10, dtype=float)
    sog = np.where((m >= 30) & (m <= 150), 0.5, 8.0)
    # every 10-min point tested (hourly averages, GFW's default, are tested in test_maritime_gfw.py)
    ev = detect_loitering(clean_tracks(_track(444, m, np.zeros_like(m), m * 10.0, sog)), hourly=False)
    assert len(ev) == 1
    assert ev[0].start_utc == T0 + np.timedelta64(30, "m") and ev[0].end_utc == T0 + np.timedelta64(150, "m")


def test_cleaning_duplicates_spike_and_shared_mmsi():
    m = np.arange(0, 120, 10, dtype=float)
    a = _track(555, m, np.zeros_like(m), m * 100.0, 6.0)
    dup = a.take(np.array([3]))
    spike = _track(
        555, np.array([45.0]), np.array([50_000.0]), np.array([0.0]), 6.0
    )  # 50 km off for one report
    tr = clean_tracks(PositionArrays.concat([a, dup, spike]))
    assert tr.report.duplicates == 1 and tr.report.implausible_jumps == 1 and len(tr) == len(m)
    # two ships 100 km apart alternately using MMSI 666
    m2 = np.arange(0, 200, 10, dtype=float)
    east = np.where(np.arange(len(m2)) % 2 == 0, 0.0, 100_000.0) + m2 * 50
    tr2 = clean_tracks(_track(666, m2, np.zeros_like(m2), east, 5.0))
    assert tr2.report.shared_mmsi == [666]
    assert len(tr2.vessel_mmsi) == 2 and set(np.bincount(tr2.vessel)) == {10}
    spoof = detect_events(tr2, ["spoofing"])
    assert [e.subtype for e in spoof] == ["shared_mmsi"]


def test_teleport_is_spoofing_event():
    m = np.arange(0, 100, 10, dtype=float)
    east = np.where(m < 50, m * 100.0, 300_000.0 + m * 100.0)  # jumps 300 km once and stays
    ev = detect_events(clean_tracks(_track(777, m, np.zeros_like(m), east, 6.0)), ["spoofing"])
    assert [e.subtype for e in ev] == ["teleport"]
    assert ev[0].details["jump_km"] == pytest.approx(301.0, abs=0.5)


def test_resample_interpolates_great_circle_across_antimeridian():
    t = T0 + np.array([0, 3600], dtype="timedelta64[s]").astype("timedelta64[ns]")
    p = PositionArrays(
        np.array([9, 9]),
        t,
        np.array([0.0, 0.0]),
        np.array([179.9, -179.9]),
        np.array([12.0, 12.0]),
        np.zeros(2),
        np.zeros(2),
    )
    r = resample(clean_tracks(p, max_speed_kn=50), 1800)
    assert r.lon_deg[1] == pytest.approx(180.0, abs=1e-9) or r.lon_deg[1] == pytest.approx(-180.0, abs=1e-9)
    assert haversine_m(0, 179.9, 0, -179.9) == pytest.approx(
        2 * np.pi * EARTH_MEAN_RADIUS_M * 0.2 / 360, rel=1e-9
    )


def test_events_on_real_samples_run_without_errors():
    from tests.conftest import REPO, shared

    from kizuna.formats.ais import parse_nmea, split_records

    texts = [(REPO / "src/kizuna/data/ais/libais_tagblock.nmea").read_text()]
    for rel in ("ais/libais_test.aivdm", "ais/libais_typeexamples.nmea"):
        with contextlib.suppress(pytest.skip.Exception):
            texts.append(shared(rel).read_text())
    if len(texts) == 1:  # the bundled file alone holds 3 positions of one vessel
        pytest.skip("needs the shared libais AIS samples (../shared/data/ais)")
    pos, _ = split_records([r for t in texts for r in parse_nmea(t).records])
    tracks = clean_tracks(PositionArrays.from_records(pos))
    assert len(tracks) > 10
    events = detect_events(tracks)
    for e in events:
        assert e.end_utc >= e.start_utc and e.definition
