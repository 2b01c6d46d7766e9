"""Spoofing patterns with their affected areas: circle spoofing, many vessels jumping to one point,
(0, 0) runs as bad positions, and the older checks (teleport, on land, shared MMSI) with polygons."""

from __future__ import annotations

import numpy as np
import pytest
from shapely import Point, wkt

from kizuna.maritime.spoofing import (
    area_polygon,
    circle_polygon,
    detect_spoofing,
    fit_circle,
)
from kizuna.maritime.tracks import clean_tracks, haversine_m
from kizuna.model.maritime import PositionArrays

T0 = np.datetime64("2026-03-01T00:00", "ns")
M_PER_DEG = 111_195.0


def _arrays(rows: list[tuple[int, np.datetime64, float, float, float]]) -> PositionArrays:
    m, t, la, lo, s = zip(*rows, strict=True)
    z = np.full(len(m), np.nan)
    return PositionArrays(np.array(m), np.array(t), np.array(la), np.array(lo), np.array(s), z, z)


def _straight(
    mmsi: int, lat: float, lon: float, hours: float, kn: float = 10.0, step_min: int = 2, heading_deg=45.0
):
    rows = []
    for k in range(int(hours * 60 / step_min) + 1):
        d = kn * 1852 / 60 * k * step_min
        rows.append(
            (
                mmsi,
                T0 + np.timedelta64(k * step_min, "m"),
                lat + d * np.cos(np.radians(heading_deg)) / M_PER_DEG,
                lon + d * np.sin(np.radians(heading_deg)) / (M_PER_DEG * np.cos(np.radians(lat))),
                kn,
            )
        )
    return rows


def _circle(
    mmsi: int, lat: float, lon: float, radius_m: float, hours: float, kn: float = 10.0, step_min: int = 2
):
    rows = []
    w = kn * 1852 / 3600 / radius_m  # rad/s
    for k in range(int(hours * 60 / step_min) + 1):
        a = w * k * step_min * 60
        rows.append(
            (
                mmsi,
                T0 + np.timedelta64(k * step_min, "m"),
                lat + radius_m * np.sin(a) / M_PER_DEG,
                lon + radius_m * np.cos(a) / (M_PER_DEG * np.cos(np.radians(lat))),
                kn,
            )
        )
    return rows


def _spoof(positions: PositionArrays, **kw):
    return detect_spoofing(clean_tracks(positions), shore=None, **kw)


def test_fit_circle_recovers_a_known_circle():
    a = np.linspace(0, 5, 200)
    x, y = 300 + 1500 * np.cos(a), -200 + 1500 * np.sin(a)
    cx, cy, r, rms = fit_circle(x, y)
    assert (cx, cy, r) == pytest.approx((300, -200, 1500), abs=1e-6) and rms < 1e-6


def test_null_island_runs_are_bad_positions_not_teleports():
    """Was: runs of (0, 0) positions reported as teleport spoofing."""
    rows = _straight(412000001, 35.0, 129.0, 3.0)
    for k in range(40, 46):  # a receiver without a fix for 12 minutes
        m, t, *_ = rows[k]
        rows[k] = (m, t, 0.0, 0.0, 10.0)
    events = _spoof(_arrays(rows))
    assert [(e.kind, e.subtype) for e in events] == [("bad_position", "null_island")]
    assert events[0].details["positions"] == 6
    assert events[0].start_utc == T0 + np.timedelta64(80, "m") and events[0].end_utc == T0 + np.timedelta64(
        90, "m"
    )
    # the same track with a real jump of 100 km is still a teleport
    jump = _straight(412000001, 35.0, 129.0, 3.0)
    jump[60:] = [(m, t, la + 0.9, lo, s) for m, t, la, lo, s in jump[60:]]
    assert [e.subtype for e in _spoof(_arrays(jump))] == ["teleport"]


def test_alternating_null_island_reports_are_not_a_shared_mmsi():
    """Pairs of (0, 0) reports every 16 minutes make cleaning split the MMSI in two "ships"; the
    second one is nothing but (0, 0): bad positions, not a shared MMSI and no teleports."""
    rows = _straight(412000001, 35.0, 129.0, 3.0)
    for k in range(5, 85, 8):
        for j in (k, k + 1):
            m, t, *_ = rows[j]
            rows[j] = (m, t, 0.0, 0.0, 10.0)
    tracks = clean_tracks(_arrays(rows))
    assert tracks.report.shared_mmsi == [412000001]  # what cleaning alone concludes
    events = detect_spoofing(tracks, shore=None)
    assert {e.subtype for e in events} == {"null_island"}
    assert sum(e.details["positions"] for e in events) == 20


def test_circle_spoofing_off_a_port_is_found_with_its_circle():
    """Positions tracing a 1.5-km circle at 10 kn for 3 h off the Yangshan anchorage (~6 turns)."""
    lat, lon = 30.60, 122.10
    events = _spoof(_arrays(_circle(413000001, lat, lon, 1500.0, 3.0)))
    (ev,) = [e for e in events if e.subtype == "circle"]
    assert ev.details["radius_km"] == pytest.approx(1.5, rel=0.01)
    assert ev.details["turns"] == pytest.approx(10 * 1852 * 3 / (2 * np.pi * 1500), rel=0.05)
    assert haversine_m(ev.lat_deg, ev.lon_deg, lat, lon) < 30
    assert ev.duration_s >= 2 * 3600
    area = wkt.loads(ev.details["area_wkt"])
    assert area.is_valid and area.contains(Point(lon, lat))
    # the polygon is the circle: its east-west half-width is 1.5 km at this latitude
    w, _, e, _ = area.bounds
    half_km = (e - w) / 2 * M_PER_DEG * np.cos(np.radians(lat)) / 1000
    assert half_km == pytest.approx(1.5, rel=0.02)


@pytest.mark.parametrize(
    "rows",
    [
        _straight(413000002, 30.6, 122.1, 4.0),  # steaming
        _circle(413000003, 30.6, 122.1, 400.0, 0.3)
        + [  # one purse-seine set, then away
            (413000003, T0 + np.timedelta64(20 + k * 2, "m"), 30.6 + k * 0.003, 122.1 + 0.0046, 10.0)
            for k in range(1, 80)
        ],
        _circle(413000004, 30.6, 122.1, 1500.0, 1.0),  # an hour at 10 kn: two turns, not three
        _circle(413000006, 30.6, 122.1, 300.0, 0.75),  # many turns, but 45 minutes
    ],
    ids=["straight", "one-set-then-away", "two-turns", "short"],
)
def test_what_is_not_circle_spoofing(rows):
    assert [e for e in _spoof(_arrays(rows)) if e.subtype == "circle"] == []


def test_the_planted_interference_scenario_circle_and_mass_jump():
    """The pnt interference scenario (built for the GNSS-interference detectors): 8 vessels put on a
    1.5-km circle off Gelendzhik for 2 h while really 20-120 km away; 52 others sailing or jammed."""
    import tests.pnt_interference_scenario as sc

    positions, _ = sc.planted()
    events = detect_spoofing(clean_tracks(positions), shore=None)
    circles = [e for e in events if e.subtype == "circle"]
    (mass,) = [e for e in events if e.subtype == "mass_jump"]
    assert len(circles) == sc.SPOOF_VESSELS and mass.details["vessels"] == sc.SPOOF_VESSELS
    assert {e.mmsi for e in circles} == {int(m) for m in str(mass.details["mmsis"]).split(",")}
    for e in circles:
        assert haversine_m(e.lat_deg, e.lon_deg, *sc.SPOOF_CENTRE) < 50
        assert e.details["radius_km"] == pytest.approx(sc.SPOOF_RADIUS_M / 1000, rel=0.02)
        assert abs(e.start_utc - sc.SPOOF_START) < np.timedelta64(3, "m")
        assert abs(e.end_utc - sc.SPOOF_STOP) < np.timedelta64(3, "m")
        assert wkt.loads(e.details["area_wkt"]).contains(Point(sc.SPOOF_CENTRE[1], sc.SPOOF_CENTRE[0]))
    assert haversine_m(mass.lat_deg, mass.lon_deg, *sc.SPOOF_CENTRE) < sc.SPOOF_RADIUS_M
    assert abs(mass.start_utc - sc.SPOOF_START) < np.timedelta64(3, "m")


def test_a_ship_wandering_at_anchor_is_not_a_circle():
    rng = np.random.default_rng(7)
    steps = rng.normal(0, 30, size=(200, 2)).cumsum(axis=0)
    rows = [
        (
            413000005,
            T0 + np.timedelta64(2 * k, "m"),
            30.6 + n / M_PER_DEG,
            122.1 + e / (M_PER_DEG * 0.86),
            0.5,
        )
        for k, (e, n) in enumerate(steps)
    ]
    assert [e for e in _spoof(_arrays(rows)) if e.subtype == "circle"] == []


def _jump_to(mmsi: int, lat: float, lon: float, target: tuple[float, float], at_min: int):
    rows = _straight(mmsi, lat, lon, 2.0, kn=8.0, step_min=5)
    return [
        (m, t, *(target if (t - T0) >= np.timedelta64(at_min, "m") else (la, lo)), s)
        for m, t, la, lo, s in rows
    ]


def test_many_vessels_jumping_to_one_point_is_one_event_with_the_area_they_were_in():
    """Black Sea, June 2017: ships off Novorossiysk reported positions at Gelendzhik airport."""
    airport = (44.5921, 38.0127)
    origins = [(44.40, 37.70), (44.45, 37.80), (44.35, 37.85), (44.50, 37.60)]
    rows = []
    where_before = []  # each ship's last true position
    for i, (la, lo) in enumerate(origins):
        own = _jump_to(273000010 + i, la, lo, airport, at_min=50 + 5 * i)
        where_before.append(next(r for r, nxt in zip(own, own[1:], strict=False) if nxt[2:4] == airport)[2:4])
        rows += own
    rows += _jump_to(273000099, 44.30, 37.50, (44.0, 36.0), at_min=60)  # a lone, unrelated jump
    events = _spoof(_arrays(rows))
    (mass,) = [e for e in events if e.subtype == "mass_jump"]
    assert mass.details["vessels"] == 4 and "273000099" not in str(mass.details["mmsis"])
    assert haversine_m(mass.lat_deg, mass.lon_deg, *airport) < 100
    area = wkt.loads(mass.details["area_wkt"])
    assert all(area.contains(Point(lo, la)) for la, lo in where_before)
    assert not area.contains(Point(airport[1], airport[0]))
    assert len([e for e in events if e.subtype == "teleport"]) == 5
    for e in events:
        assert wkt.loads(e.details["area_wkt"]).is_valid


def test_two_vessels_jumping_together_are_not_a_mass_jump():
    airport = (44.5921, 38.0127)
    rows = _jump_to(273000010, 44.40, 37.70, airport, 50) + _jump_to(273000011, 44.45, 37.80, airport, 55)
    assert [e for e in _spoof(_arrays(rows)) if e.subtype == "mass_jump"] == []


def test_areas_are_right_across_the_antimeridian():
    poly = area_polygon(np.array([10.0, 10.01, 10.0]), np.array([179.99, -179.99, -179.98]), 100.0)
    w, _, e, _ = poly.bounds
    assert e - w < 0.1  # one small polygon, not a band around the globe
    circ = circle_polygon(0.0, 180.0, 1000.0)
    assert circ.is_valid and (circ.bounds[2] - circ.bounds[0]) * M_PER_DEG == pytest.approx(2000, rel=0.01)


def test_detect_spoofing_is_still_importable_from_events():
    from kizuna.maritime.events import detect_spoofing as from_events

    assert from_events is detect_spoofing
