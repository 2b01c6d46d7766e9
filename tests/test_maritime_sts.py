"""Ship-to-ship transfers: tanker-tanker and carrier-fishing encounters with both identities, their
previous and next port visits and the sanctioned-port list."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.conftest import shared
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.maritime.events import LandMask, detect_encounters
from kizuna.maritime.identity import IdentityHistory, versions_from_statics
from kizuna.maritime.sts import detect_sts, load_sanctioned_ports
from kizuna.maritime.tracks import clean_tracks, haversine_m
from kizuna.model.maritime import MaritimeEvent, PositionArrays, VesselStatic

runner = CliRunner()
T0 = datetime(2026, 3, 1, tzinfo=UTC)
T0_NS = np.datetime64("2026-03-01T00:00", "ns")
TANKER_A, TANKER_B, REEFER, FISHER, FERRY = 636012345, 445012345, 538001111, 412441234, 440123456


def _meeting(a: int, b: int, lat: float, lon: float, stay_h: float, step_min: int = 5) -> PositionArrays:
    """``a`` and ``b`` come in at 10 kn from the south and the east, lie 300 m apart drifting at
    0.3 kn for ``stay_h`` hours, and leave the way they came."""
    m_per_deg = 111_195.0
    rows = []
    stay_min = int(stay_h * 60)
    for k in range(-120, stay_min + 121, step_min):
        off_min = -k if k < 0 else max(k - stay_min, 0)
        run_m = off_min * 10 * 1852 / 60
        drift_m = min(max(k, 0), stay_min) * 0.3 * 1852 / 60
        t = T0_NS + np.timedelta64(k + 120, "m")
        rows.append((a, t, lat - run_m / m_per_deg + drift_m / m_per_deg, lon, 10.0 if off_min else 0.3))
        east = (run_m + 300.0) / (m_per_deg * np.cos(np.radians(lat)))
        rows.append((b, t, lat + drift_m / m_per_deg, lon + east, 10.0 if off_min else 0.3))
    m, t, la, lo, s = zip(*rows, strict=True)
    z = np.full(len(m), np.nan)
    return PositionArrays(np.array(m), np.array(t), np.array(la), np.array(lo), np.array(s), z, z)


def _history(*specs: tuple[int, str, int]) -> IdentityHistory:
    return IdentityHistory(
        versions_from_statics(
            VesselStatic(m, T0 - timedelta(days=3), name=n, callsign=f"CS{i}", imo=None, ship_type=st)
            for i, (m, n, st) in enumerate(specs)
        )
    )


def _visit(mmsi: int, days: float, hours: float, lat: float, lon: float, name: str) -> MaritimeEvent:
    start = T0_NS + np.timedelta64(int(days * 86400), "s")
    return MaritimeEvent(
        "port_visit",
        mmsi,
        start,
        start + np.timedelta64(int(hours * 3600), "s"),
        lat,
        lon,
        details={"port_name": name},
    )


def _coast_mask() -> tuple[LandMask, float]:
    """Land west of 123.10 E on a 0.01-degree grid; the meeting point's distance to that coast."""
    lat = np.arange(35.0, 37.0 + 1e-9, 0.01)
    lon = np.arange(121.0, 125.0 + 1e-9, 0.01)
    land = np.broadcast_to(lon[None, :] < 123.105, (len(lat), len(lon))).copy()
    return LandMask(land, 35.0, 121.0, 0.01), float(haversine_m(36.0, 124.0, 36.0, 123.10)) / 1000


def test_tanker_tanker_meeting_80_km_offshore_for_4_h_is_an_sts_transfer_with_both_identities():
    """Must show."""
    mask, offshore_km = _coast_mask()
    assert 79 < offshore_km < 81
    tracks = clean_tracks(_meeting(TANKER_A, TANKER_B, 36.0, 124.0, 4.0))
    encounters = detect_encounters(tracks)
    assert len(encounters) == 1
    visits = [
        _visit(TANKER_A, -4, 20, 36.07, 120.32, "Qingdao"),
        _visit(TANKER_A, 2, 30, 29.87, 121.55, "Ningbo"),
        _visit(TANKER_B, -6, 48, 38.72, 125.39, "Nampo"),  # 1 km from the listed Nampo
    ]
    history = _history((TANKER_A, "SEA STAR", 80), (TANKER_B, "CHON MA SAN", 84))
    (ev,) = detect_sts(encounters, history, port_visits=visits, shore=mask, min_shore_distance_km=50)
    d = ev.details
    assert ev.kind == "sts_transfer" and ev.subtype == "tanker-tanker"
    assert {(d["a_mmsi"], d["a_name"], d["a_flag"]), (d["b_mmsi"], d["b_name"], d["b_flag"])} == {
        (TANKER_A, "SEA STAR", "LR"),
        (TANKER_B, "CHON MA SAN", "KP"),
    }
    assert ev.duration_s == pytest.approx(4 * 3600, abs=1200)  # 10-min grid at both ends
    assert d["shore_distance_km"] == pytest.approx(offshore_km, abs=1.5)
    assert abs(ev.lat_deg - 36.0) < 0.05 and abs(ev.lon_deg - 124.0) < 0.05
    party = {d["a_mmsi"]: "a_", d["b_mmsi"]: "b_"}
    a, b = party[TANKER_A], party[TANKER_B]
    assert d[f"{b}prev_port"] == "Nampo" and d[f"{b}prev_nearest_sanctioned_port"] == "Nampo"
    assert d[f"{b}prev_sanctioned"] is True
    assert d[f"{b}prev_sanctioned_port_km"] < 2 and d[f"{b}next_port"] is None
    assert d[f"{a}prev_port"] == "Qingdao" and d[f"{a}prev_sanctioned"] is False
    assert d[f"{a}next_port"] == "Ningbo" and d[f"{a}next_sanctioned"] is False
    assert d["sanctioned_port_link"] is True
    assert "tanker-tanker" in ev.definition and "sanctioned" in ev.definition


def test_pairs_classes_and_what_is_not_an_sts_transfer():
    history = _history(
        (TANKER_A, "SEA STAR", 80),
        (TANKER_B, "CHON MA SAN", 84),
        (REEFER, "COLD CARRIER", 77),
        (FISHER, "LU YU 1", 30),
        (FERRY, "FERRY", 60),
    )
    short = detect_encounters(clean_tracks(_meeting(TANKER_A, TANKER_B, 36.0, 124.0, 1.0)))
    assert short == []  # 1 h alongside: no encounter, so no transfer
    tanker_ferry = detect_encounters(clean_tracks(_meeting(TANKER_A, FERRY, 36.0, 124.0, 4.0)))
    assert len(tanker_ferry) == 1 and detect_sts(tanker_ferry, history) == []
    transship = detect_encounters(clean_tracks(_meeting(REEFER, FISHER, 36.0, 124.0, 3.0)))
    (ev,) = detect_sts(transship, history)
    assert ev.subtype == "carrier-fishing" and "no port visits given" in ev.definition
    # a registry's class overrides the AIS type; pairs are configurable
    assert detect_sts(transship, history, vessel_class={REEFER: "tanker"}) == []
    assert detect_sts(tanker_ferry, history, pairs=[("tanker", "passenger")])[0].subtype == "passenger-tanker"
    # no static data: the class is unknown, so no claim
    assert detect_sts(transship, None) == []


def test_bundled_sanctioned_ports_match_the_world_port_index():
    ports = load_sanctioned_ports()
    assert {p.name.split(" ")[0] for p in ports} >= {"Nampo", "Chongjin", "Rajin", "Wonsan", "Songnim"}
    assert all(p.country == "KP" and p.source.startswith("UN PoE") for p in ports)
    wpi_path = shared("maritime/world_port_index_pub150.csv")
    with wpi_path.open(encoding="utf-8") as f:
        wpi = {r["World Port Index Number"]: r for r in csv.DictReader(f)}
    from importlib import resources

    text = (resources.files("kizuna") / "data" / "maritime" / "sanctioned_ports.csv").read_text()
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    for r in rows:
        w = wpi[r["wpi_number"]]
        assert w["Country Code"] == "North Korea"
        assert float(r["lat_deg"]) == pytest.approx(float(w["Latitude"]), abs=1e-6)
        assert float(r["lon_deg"]) == pytest.approx(float(w["Longitude"]), abs=1e-6)


def test_a_users_sanctioned_port_file_with_a_bad_row_is_named(tmp_path):
    f = tmp_path / "ports.csv"
    f.write_text("# mine\nname,country,lat_deg,lon_deg\nA,XX,10,20\nB,XX,95,20\n")
    with pytest.raises(ValueError, match=r"ports.csv:4: lat_deg 95 outside"):
        load_sanctioned_ports(f)
    f.write_text("name,country,lat\nA,XX,10\n")
    with pytest.raises(ValueError, match=r"ports.csv:1: missing column\(s\) lat_deg, lon_deg"):
        load_sanctioned_ports(f)
    f.write_text("name,country,lat_deg,lon_deg\nA,XX,ten,20\n")
    with pytest.raises(ValueError, match=r"ports.csv:2: lat_deg 'ten' is not a number"):
        load_sanctioned_ports(f)


def test_cli_sts_off_shandong_on_the_real_coastline(tmp_path):
    """Two tankers 80 km east of Chengshantou (37.40 N 122.70 E, the eastern tip of Shandong) for
    4 h: found by `kizuna ais sts` with the GLOBE land mask stating the distance from shore."""
    lat, lon = 37.40, 122.70 + 80.0 / (111.195 * np.cos(np.radians(37.40)))
    p = _meeting(TANKER_A, TANKER_B, lat, lon, 4.0)
    names = {TANKER_A: ("SEA STAR", 80), TANKER_B: ("CHON MA SAN", 84)}
    lines = ["MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,CallSign,VesselType"]
    for k in range(len(p)):
        t = str(p.time_utc[k].astype("datetime64[s]")) + "Z"
        n, st = names[int(p.mmsi[k])]
        lines.append(
            f"{p.mmsi[k]},{t},{p.lat_deg[k]:.6f},{p.lon_deg[k]:.6f},{p.sog_kn[k]},,,{n},X{k % 3},{st}"
        )
    # three days before, tanker B lay a day at Nampo (World Port Index point 38.7167 N 125.40 E)
    for k in range(0, 24 * 60 + 1, 10):
        t = str(np.datetime64("2026-02-26T00:00", "s") + np.timedelta64(k, "m")) + "Z"
        lines.append(f"{TANKER_B},{t},38.7150,125.4010,0.0,,,CHON MA SAN,X1,84")
    f = tmp_path / "sts.csv"
    f.write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "s.db")
    assert runner.invoke(app, ["ais", "load", str(f), "--db", db]).exit_code == 0
    r = runner.invoke(app, ["ais", "sts", "--db", db, "-f", "json", "--min-shore-km", "50"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (ev,) = doc["events"]
    assert ev["type"] == "sts_transfer" and ev["subtype"] == "tanker-tanker"
    assert {ev["details"]["a_name"], ev["details"]["b_name"]} == {"SEA STAR", "CHON MA SAN"}
    assert ev["details"]["shore_distance_km"] == pytest.approx(80, abs=5)
    assert doc["parameters"]["pairs"] == ["tanker-tanker", "carrier-fishing"]
    d = ev["details"]
    b = "a_" if d["a_mmsi"] == TANKER_B else "b_"
    assert d[f"{b}prev_port"].lower().startswith("nampo") and d[f"{b}prev_sanctioned"] is True
    assert d["sanctioned_port_link"] is True and doc["port_visits_of_parties"] == 1
    r = runner.invoke(app, ["ais", "sts", "--db", db, "-f", "json", "--pair", "carrier-fishing"])
    assert r.exit_code == 0 and json.loads(r.stdout)["events"] == []
    r = runner.invoke(app, ["ais", "sts", "--db", db, "-f", "json", "--min-shore-km", "100"])
    assert r.exit_code == 0 and json.loads(r.stdout)["events"] == []
