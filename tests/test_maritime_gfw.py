"""GFW's published event definitions as the defaults, each departure an explicit option.

Gaps (Welch et al. 2022): >= 14 positions in the 12 h before, >= 50 nm from shore at the start,
reception-quality caveat stated. Loitering (GFW technical documentation): carriers, speed averaged
per clock hour. Encounters (Miller et al. 2018): >= 10 km from ports/anchorages, vessel-class
pairs available. The Busan anchored pair is not an encounter."""

from __future__ import annotations

import numpy as np
import pytest

from kizuna.maritime.events import (
    LandMask,
    detect_encounters,
    detect_events,
    detect_gaps,
    detect_loitering,
    vessel_class,
    vessel_classes,
)
from kizuna.maritime.tracks import clean_tracks
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, METERS_PER_NM
from kizuna.model.maritime import PositionArrays, VesselStatic

T0 = np.datetime64("2026-03-01T00:00:00", "ns")
M_PER_DEG = EARTH_MEAN_RADIUS_M * np.pi / 180


def _track(mmsi: int, minutes, lat0: float, lon0: float, north_m, east_m, sog) -> PositionArrays:
    minutes = np.asarray(minutes, float)
    n = len(minutes)
    lat = lat0 + np.broadcast_to(np.asarray(north_m, float), n) / M_PER_DEG
    lon = lon0 + np.broadcast_to(np.asarray(east_m, float), n) / (M_PER_DEG * np.cos(np.radians(lat0)))
    return PositionArrays(
        np.full(n, mmsi),
        T0 + (minutes * 60e9).astype("timedelta64[ns]"),
        lat,
        lon,
        np.broadcast_to(np.asarray(sog, float), n).copy(),
        np.full(n, 90.0),
        np.full(n, np.nan),
    )


# ------------------------------------------------------------------ gaps
def _gap_track(reports_before: int, every_min: float = 10.0) -> PositionArrays:
    """``reports_before`` reports ending at 00:00, silence for 13 h, two reports after (open Pacific)."""
    before = -np.arange(reports_before)[::-1] * every_min
    m = np.r_[before, 13 * 60, 13 * 60 + 10]
    return _track(333, m, 30.0, 150.0, 0.0, 0.0, 0.0)


def test_gap_needs_14_positions_in_the_12_h_before():
    g = detect_gaps(clean_tracks(_gap_track(14)))
    assert len(g) == 1 and g[0].start_utc == T0
    assert g[0].details["min_positions_before"] == 14
    assert detect_gaps(clean_tracks(_gap_track(13))) == []
    # 14 reports, but spread over 13 h: only 13 fall in the 12 h before the gap
    assert detect_gaps(clean_tracks(_gap_track(14, every_min=60))) == []
    # the departure is an option, and it says so
    g0 = detect_gaps(clean_tracks(_gap_track(13)), min_positions_before=0)
    assert len(g0) == 1 and "departure from GFW" in g0[0].definition


def test_gap_start_offshore_is_enough_and_both_ends_is_an_option():
    # land 1 deg north of the end point: the gap starts 1.9 deg (114 nm) from land, ends 40 nm from it
    land = np.zeros((600, 200), bool)  # lat 28.00..33.99, lon 149.00..150.99
    land[-100:, :] = True  # lat >= 33.0 is land
    mask = LandMask(land, 28.0, 149.0, 0.01)
    t = _gap_track(14)
    t.lat_deg[-2:] = 33.0 - 40 * METERS_PER_NM / M_PER_DEG
    g = detect_gaps(clean_tracks(t), shore=mask)
    assert len(g) == 1 and "at the start (GFW)" in g[0].definition
    assert detect_gaps(clean_tracks(t), shore=mask, require_end_offshore=True) == []
    # and a gap that starts 40 nm from land is not a gap, whatever the end
    t2 = _gap_track(14)
    t2.lat_deg[:-2] = 33.0 - 40 * METERS_PER_NM / M_PER_DEG
    assert detect_gaps(clean_tracks(t2), shore=mask) == []


def test_every_gap_states_the_reception_quality_caveat():
    g = detect_gaps(clean_tracks(_gap_track(20)))
    assert "reception-quality filter NOT applied" in g[0].definition
    assert g[0].details["reception_filter"] == "not applied"


# ------------------------------------------------------------------ loitering
def _slow_window() -> PositionArrays:
    """8 kn, then 0.5 kn from 00:30 to 02:30, then 8 kn; reports every 10 min (open Pacific)."""
    m = np.arange(0, 181, 10, dtype=float)
    sog = np.where((m >= 30) & (m <= 150), 0.5, 8.0)
    return _track(444, m, 30.0, 150.0, 0.0, m * 10.0, sog)


def test_loitering_averages_speed_per_clock_hour():
    # hour 00 averages (3 x 8 + 3 x 0.5) / 6 = 4.25 kn, hour 01 0.5 kn, hour 02 (4 x 0.5 + 2 x 8) / 6 = 3 kn
    ev = detect_loitering(clean_tracks(_slow_window()))
    assert len(ev) == 1
    assert ev[0].start_utc == T0 + np.timedelta64(1, "h") and ev[0].end_utc == T0 + np.timedelta64(2, "h")
    assert ev[0].details["speed_average"] == "hourly" and "clock hour (GFW)" in ev[0].definition
    # every-point testing is the stated departure
    pt = detect_loitering(clean_tracks(_slow_window()), hourly=False)
    assert pt[0].start_utc == T0 + np.timedelta64(30, "m") and "departure from GFW" in pt[0].definition


def test_hourly_average_ignores_a_brief_slowdown_that_points_would_catch():
    # 1 kn from 00:30 to 01:30: per point that is 1 h slow (loitering); per clock hour, hour 00
    # averages (3 x 8 + 3 x 1) / 6 = 4.5 kn and hour 01 (4 x 1 + 2 x 8) / 6 = 3.3 kn (no loitering)
    m = np.arange(0, 181, 10, dtype=float)
    sog = np.where((m >= 30) & (m <= 90), 1.0, 8.0)
    tr = clean_tracks(_track(445, m, 30.0, 150.0, 0.0, m * 10.0, sog))
    assert detect_loitering(tr) == []
    assert len(detect_loitering(tr, hourly=False)) == 1


def test_loitering_is_for_carriers_when_classes_are_known():
    tr = clean_tracks(_slow_window())
    assert len(detect_loitering(tr, classes_by_mmsi={444: "carrier"})) == 1
    assert detect_loitering(tr, classes_by_mmsi={444: "fishing"}) == []
    assert detect_loitering(tr, classes_by_mmsi={}) == []  # no static data: class unknown
    fishing = detect_loitering(tr, classes_by_mmsi={444: "fishing"}, classes=["fishing"])
    assert len(fishing) == 1 and "departure from GFW: carriers" in fishing[0].definition
    assert len(detect_loitering(tr, classes_by_mmsi={444: "fishing"}, classes=None)) == 1
    unknown = detect_loitering(tr)  # no classes at all: the condition cannot apply, and says so
    assert len(unknown) == 1 and "NOT applied: no vessel classes given" in unknown[0].definition


def test_vessel_class_follows_the_itu_ship_type_table():
    assert [vessel_class(t) for t in (30, 70, 79, 80, 89, 60, 31, 52, 36, 90, None)] == [
        "fishing",
        "carrier",
        "carrier",
        "tanker",
        "tanker",
        "passenger",
        "tug",
        "tug",
        "other",
        "other",
        "unknown",
    ]
    assert vessel_classes({1: VesselStatic(1, ship_type=84), 2: VesselStatic(2)}) == {
        1: "tanker",
        2: "unknown",
    }


# ------------------------------------------------------------------ encounters
BUSAN_ANCHOR_LAT, BUSAN_ANCHOR_LON = 35.05, 129.07  # outer anchorage, ~6.5 km SE of WPI 60390 Busan


def _anchored_pair(lat0: float, lon0: float, hours: float = 24.0, apart_m: float = 350.0) -> PositionArrays:
    """Two ships swinging at anchor ``apart_m`` apart for ``hours``, reporting every 3 min at 0.1 kn."""
    m = np.arange(0, hours * 60 + 1, 3.0)
    swing = 30 * np.sin(2 * np.pi * m / (12.4 * 60))  # tidal swing around the anchor, metres
    a = _track(440111000, m, lat0, lon0, swing, 0.0, 0.1)
    b = _track(440222000, m, lat0, lon0, apart_m + swing, 0.0, 0.1)
    return PositionArrays.concat([a, b])


def test_busan_anchored_pair_is_not_an_encounter():
    tr = clean_tracks(_anchored_pair(BUSAN_ANCHOR_LAT, BUSAN_ANCHOR_LON))
    assert detect_encounters(tr) == []  # the bundled World Port Index puts Busan 6.5 km away
    assert detect_events(tr, ["encounter", "loitering"], shore=None) == []
    # what removed it is the 10-km port rule: with no ports, the same pair is one 24-h encounter
    ev = detect_encounters(tr, ports=None)
    assert len(ev) == 1 and ev[0].duration_s == pytest.approx(24 * 3600, abs=600)
    assert "none excluded" in ev[0].definition
    # the same pair 80 km offshore (no port within 10 km) is an encounter, with the distances stated
    off = detect_encounters(clean_tracks(_anchored_pair(34.4, 129.6)))
    assert len(off) == 1 and "10 km from all of 3766 port/anchorage points" in off[0].definition
    assert off[0].details["nearest_port_km"] > 10 and off[0].details["min_port_distance_km"] == 10


def test_encounter_class_pairs():
    tr = clean_tracks(_anchored_pair(34.4, 129.6))
    classes = {440111000: "carrier", 440222000: "fishing"}
    kept = detect_encounters(tr, pairs=[("fishing", "carrier")], classes_by_mmsi=classes)
    assert len(kept) == 1 and "carrier-fishing" in kept[0].definition
    assert {kept[0].details["vessel_class"], kept[0].details["other_vessel_class"]} == {"carrier", "fishing"}
    assert detect_encounters(tr, pairs=[("tanker", "tanker")], classes_by_mmsi=classes) == []
    tankers = {440111000: "tanker", 440222000: "tanker"}
    assert len(detect_encounters(tr, pairs=[("tanker", "tanker")], classes_by_mmsi=tankers)) == 1


def test_detect_events_emits_port_visits_with_their_definition():
    from tests.test_maritime_ports import moored_call

    ev = detect_events(clean_tracks(moored_call()), ["port_visit", "encounter"], shore=None)
    assert [e.kind for e in ev] == ["port_visit"]
    assert ev[0].details["port_name"] == "Busan" and "GFW port visit" in ev[0].definition
