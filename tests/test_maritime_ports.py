"""Ports, anchorages and port visits: the bundled World Port Index table, GFW port-visit rules on
scripted tracks off Busan, anchorages learned from stationary vessels, and the reader's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.ports import Port, parse_ports, write_ports_csv
from kizuna.maritime.ports import PortIndex, anchorage_cell, learn_anchorages, load_ports, port_visits
from kizuna.maritime.tracks import haversine_m
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import PositionArrays

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WPI = SHARED / "maritime" / "world_port_index_pub150.csv"
T0 = np.datetime64("2026-03-01T00:00:00", "ns")
# NGA WPI 60390 Busan: 35.1 N, 129.033333 E
BUSAN_LAT, BUSAN_LON = 35.1, 129.033333
M_PER_DEG = EARTH_MEAN_RADIUS_M * np.pi / 180


def _offset(lat0: float, lon0: float, north_m, east_m):
    return lat0 + np.asarray(north_m) / M_PER_DEG, lon0 + np.asarray(east_m) / (
        M_PER_DEG * np.cos(np.radians(lat0))
    )


def _arrays(mmsi: int, minutes, lat, lon, sog) -> PositionArrays:
    n = len(minutes)
    return PositionArrays(
        np.full(n, mmsi),
        T0 + (np.asarray(minutes, float) * 60e9).astype("timedelta64[ns]"),
        np.asarray(lat, float),
        np.asarray(lon, float),
        np.broadcast_to(np.asarray(sog, float), n).copy(),
        np.full(n, 0.0),
        np.full(n, np.nan),
    )


def moored_call(mmsi: int = 440123000, hours_moored: float = 20.0, speed_kn: float = 10.0) -> PositionArrays:
    """A ship runs in from 30 km south of the Busan WPI point at 10 kn, moors 1 km from it for
    ``hours_moored`` (SOG 0), and runs back out south. Reports every 5 min."""
    run_m = speed_kn * KN_TO_MS * 60  # metres per minute
    t_in = 29_000 / run_m  # 30 km out to 1 km from the point
    m_in = np.arange(0, t_in, 5.0)
    north_in = -30_000 + m_in * run_m
    m_stay = np.arange(m_in[-1] + 5, m_in[-1] + 5 + hours_moored * 60, 5.0)
    m_out = np.arange(m_stay[-1] + 5, m_stay[-1] + 5 + t_in + 10, 5.0)
    north_out = -1000 - (m_out - m_out[0]) * run_m
    north = np.r_[north_in, np.full(len(m_stay), -1000.0), north_out]
    minutes = np.r_[m_in, m_stay, m_out]
    sog = np.r_[np.full(len(m_in), speed_kn), np.zeros(len(m_stay)), np.full(len(m_out), speed_kn)]
    lat, lon = _offset(BUSAN_LAT, BUSAN_LON, north, np.zeros_like(north))
    return _arrays(mmsi, minutes, lat, lon, sog)


def test_bundled_table_is_the_world_port_index():
    ports = load_ports()
    assert len(ports) == 3766  # 3,768 rows less two repeated WPI numbers (400, 49460)
    busan = [p for p in ports if p.port_id == "wpi:60390"]
    assert busan and busan[0].name == "Busan" and busan[0].country == "South Korea"
    assert (busan[0].lat_deg, busan[0].lon_deg) == (35.1, 129.033333)
    assert busan[0].unlocode == "KR PUS"


@pytest.mark.skipif(not WPI.exists(), reason="../shared/data/maritime absent")
def test_bundled_table_matches_the_source_row_for_row():
    import csv

    with open(WPI, newline="", encoding="utf-8-sig") as fh:
        src = {}
        for r in csv.DictReader(fh):
            src.setdefault(r["World Port Index Number"], r)
    ours = {p.port_id.removeprefix("wpi:"): p for p in load_ports()}
    assert set(ours) == set(src)
    for k, p in ours.items():
        assert p.name == src[k]["Main Port Name"]
        assert p.lat_deg == pytest.approx(float(src[k]["Latitude"]), abs=1e-6)
        assert p.lon_deg == pytest.approx(float(src[k]["Longitude"]), abs=1e-6)


def test_a_ship_that_moors_at_busan_makes_one_confidence_4_port_visit():
    pos = moored_call()
    visits = port_visits(pos, load_ports())
    assert len(visits) == 1
    v = visits[0]
    assert v.kind == "port_visit" and v.mmsi == 440123000
    assert v.details["port_name"] == "Busan" and v.details["port_id"] == "wpi:60390"
    assert v.details["confidence"] == 4 and v.details["entry"] and v.details["exit"]
    # entry: first report within 3 km of the point; exit: last report before going beyond 4 km
    d = haversine_m(pos.lat_deg, pos.lon_deg, BUSAN_LAT, BUSAN_LON)
    first_in = int(np.flatnonzero(d <= 3000)[0])
    out_after = np.flatnonzero((d > 4000) & (np.arange(len(d)) > first_in))[0]
    assert v.start_utc == pos.time_utc[first_in]
    assert v.end_utc == pos.time_utc[out_after - 1]
    assert v.details["stopped_s"] >= 20 * 3600 - 300
    assert "3 km" in v.definition and "4 km" in v.definition and "0.2 kn" in v.definition


def test_passing_ship_and_short_stop_make_no_visit():
    # a ship that slows to 5 kn through the port area without stopping: no stop, no gap -> no visit
    passing = moored_call(hours_moored=5.0)
    passing.sog_kn[passing.sog_kn == 0] = 5.0
    assert port_visits(passing, load_ports()) == []
    # GFW: a visit needs >= 3 h; a 1-h stop 1 km from the point lasts about 1.7 h in the 3-km circle
    assert port_visits(moored_call(hours_moored=1.0), load_ports()) == []
    # ... unless the caller lowers the minimum (a stated option)
    assert len(port_visits(moored_call(hours_moored=1.0), load_ports(), min_duration_s=3600)) == 1


def test_port_gap_alone_makes_a_visit():
    pos = moored_call(hours_moored=10.0)
    pos.sog_kn[:] = 10.0  # no stop reported ...
    keep = ~((pos.sog_kn > 0) & (haversine_m(pos.lat_deg, pos.lon_deg, BUSAN_LAT, BUSAN_LON) < 1500))
    # ... but silent while moored: drop the reports 1 km from the point except the first and last
    near = np.flatnonzero(~keep)
    keep[near[0]] = keep[near[-1]] = True
    v = port_visits(pos.take(np.flatnonzero(keep)), load_ports())
    assert len(v) == 1 and v[0].details["port_gaps"] == 1 and v[0].details["stops"] == 0
    assert v[0].details["confidence"] == 4


def test_track_starting_in_port_has_no_entry():
    pos = moored_call()
    d = haversine_m(pos.lat_deg, pos.lon_deg, BUSAN_LAT, BUSAN_LON)
    v = port_visits(pos.take(np.flatnonzero(np.arange(len(d)) >= np.argmin(d))), load_ports())
    assert len(v) == 1 and not v[0].details["entry"] and v[0].details["exit"]
    assert v[0].details["confidence"] == 3


def _anchorage_point() -> tuple[float, float]:
    """The centre of the 500-m cell about 7 km south-east of the Busan WPI point."""
    lat, lon = _offset(BUSAN_LAT, BUSAN_LON, -6000.0, 4000.0)
    return anchorage_cell(float(lat), float(lon))[2:]


def _anchored_fleet(n_vessels: int, hours: float, spread_m: float = 100.0) -> PositionArrays:
    """Ships swinging at anchor within ``spread_m`` (plus 20-m GNSS noise) of one cell's centre."""
    rng = np.random.default_rng(7)
    parts = []
    alat, alon = _anchorage_point()
    for k in range(n_vessels):
        minutes = np.arange(0, hours * 60, 10.0) + k * 30
        north = rng.uniform(-spread_m, spread_m) + rng.normal(0, 20, len(minutes))
        east = rng.uniform(-spread_m, spread_m) + rng.normal(0, 20, len(minutes))
        lat, lon = _offset(float(alat), float(alon), north, east)
        parts.append(_arrays(440000000 + k, minutes, lat, lon, 0.1))
    return PositionArrays.concat(parts)


def test_anchorage_learned_where_20_vessels_stay_12_h_and_not_with_19_or_11_h():
    fleet = _anchored_fleet(20, 13.0)
    anc = learn_anchorages(fleet, ports=load_ports(), name_within_m=10_000)
    alat, alon = _anchorage_point()
    assert len(anc) == 1
    near = [a for a in anc if haversine_m(a.lat_deg, a.lon_deg, alat, alon) < 300]
    assert near and near[0].kind == "anchorage" and near[0].name == "Busan anchorage"
    assert "20 vessels stationary" in (near[0].source or "")
    assert learn_anchorages(_anchored_fleet(19, 13.0)) == []  # GFW: >= 20 distinct vessels
    assert learn_anchorages(_anchored_fleet(20, 11.0)) == []  # GFW: stationary >= 12 h
    assert len(learn_anchorages(_anchored_fleet(3, 13.0), min_vessels=3)) == 1
    # a fleet under way (moving 1 km per report) is never stationary
    moving = _anchored_fleet(20, 13.0)
    moving.lat_deg[:] += np.tile(np.arange(78) * 1000 / M_PER_DEG, 20)[: len(moving)]
    assert learn_anchorages(moving) == []


def test_port_index_nearest_is_great_circle():
    idx = PortIndex([Port("a", "A", 0.0, 179.99), Port("b", "B", 0.0, 170.0)])
    d, k = idx.nearest([0.0], [-179.99])
    assert k[0] == 0 and d[0] == pytest.approx(0.02 * M_PER_DEG, rel=1e-6)  # across the antimeridian
    assert PortIndex([]).nearest([0.0], [0.0])[1][0] == -1


def test_reader_names_file_line_and_field_and_keeps_good_rows():
    text = (
        "port_id,name,lat_deg,lon_deg,kind\n"
        "a1,Good,35.0,129.0,anchorage\n"
        "a2,Bad lat,95.0,129.0,anchorage\n"
        "a3,Bad lon,35.0,abc,anchorage\n"
        "a4,Bad kind,35.0,129.0,harbour\n"
        "a1,Dup,35.0,129.0,port\n"
        ",No id,35.5,129.5,\n"
    )
    res = parse_ports(text, "mine.csv")
    assert [p.port_id for p in res.records] == ["a1", "mine:7"]
    assert res.records[1].kind == "anchorage" and res.records[1].name == "No id"
    got = [(i.line, i.field) for i in res.issues]
    assert got == [(3, "LAT_DEG"), (4, "LON_DEG"), (5, "KIND"), (6, "PORT_ID")]
    assert all(i.file == "mine.csv" for i in res.issues)
    assert parse_ports("name,lat\nx,1\n", "f.csv").issues[0].field == "LAT_DEG"


def test_compact_csv_round_trips():
    ports = load_ports()[:50]
    back = parse_ports(write_ports_csv(ports), "x.csv")
    assert not back.issues
    assert [(p.port_id, p.name, p.lat_deg, p.lon_deg, p.country) for p in back.records] == [
        (p.port_id, p.name, p.lat_deg, p.lon_deg, p.country) for p in ports
    ]


def test_stationary_periods_match_a_brute_force_scan():
    from kizuna.maritime.ports import _stationary_periods

    rng = np.random.default_rng(3)
    for trial in range(20):
        n = 300
        t_ns = np.cumsum(rng.integers(60, 1800, n)).astype(np.int64) * 1_000_000_000
        # alternate drifting and anchored stretches
        step = np.where((np.arange(n) // 60) % 2 == 0, 5.0, 400.0) * rng.random(n)
        north = np.cumsum(step * rng.choice([-1, 1], n))
        lat, lon = _offset(35.0, 129.5, north, np.zeros(n))
        got = _stationary_periods(lat, lon, t_ns, 500.0, 6 * 3600.0)
        want, i = [], 0
        while i < n - 1:
            end = i + 1
            while end < n and haversine_m(lat[i], lon[i], lat[end], lon[end]) < 500.0:
                end += 1
            if (t_ns[end - 1] - t_ns[i]) / 1e9 >= 6 * 3600.0:
                want.append((i, end - 1))
                i = end
            else:
                i += 1
        assert got == want, trial
