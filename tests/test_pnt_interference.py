"""GNSS interference from AIS: planted scenarios recovered, normal traffic left alone.

The planted scenario (tests/pnt_interference_scenario.py) is SYNTHETIC and built in the tests, so its
truth is known exactly: a spoofing circle of 8 vessels (centre 44.55 N 38.05 E, radius 1,500 m,
03:00-05:00) and a jammed group of 12 vessels (07:00-09:00, six silent, six frozen), inside normal
traffic reporting every 60 s with 10 m of noise and 5 % of reports lost. Tolerances are stated in
physical units: the centre of a circle within 50 m, its radius within 30 m (2 %), times within
one report interval (60 s) for the spoofing and three (180 s, a lost report each side) for jamming.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, shape
from tests.cli_harness import invoke
from tests.conftest import SHARED_DATA, shared
from tests.pnt_interference_scenario import (
    JAM_CENTRE,
    JAM_RADIUS_M,
    JAM_START,
    JAM_STOP,
    SPOOF_CENTRE,
    SPOOF_RADIUS_M,
    SPOOF_START,
    SPOOF_STOP,
    planted,
)

from kizuna.formats.ais import parse_nmea, read_ais_file, split_records
from kizuna.maritime.tracks import haversine_m
from kizuna.model.maritime import FLAG_NOT_REPORTED, PositionArrays, VesselPosition
from kizuna.pnt.interference import (
    InterferenceConfig,
    circle_polygon,
    detect_interference,
    fit_circle,
    interference_geojson,
)


def _seconds(a: np.datetime64, b: np.datetime64) -> float:
    return float((a - b) / np.timedelta64(1, "s"))


def _only(areas, kind):
    found = [a for a in areas if a.kind == kind]
    assert len(found) == 1, [(a.kind, a.pattern, len(a.vessels), a.confidence) for a in areas]
    return found[0]


# ---------------------------------------------------------------- pieces
def test_circle_fit_returns_the_circle_through_points_on_it() -> None:
    angles = np.radians([0, 40, 95, 170, 230, 300])
    xy = np.stack([3 + 5 * np.cos(angles), -4 + 5 * np.sin(angles)], axis=1)
    centre, radius, residual = fit_circle(xy)
    assert centre == pytest.approx([3, -4], abs=1e-9) and radius == pytest.approx(5, abs=1e-9)
    assert residual < 1e-9
    # a square's corners lie on a circle of radius half the diagonal; its side midpoints do not
    square = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [1, 0], [0, 1], [-1, 0], [0, -1]], float)
    centre, radius, residual = fit_circle(square)
    assert centre == pytest.approx([0, 0], abs=1e-9)
    assert radius == pytest.approx((4 * math.sqrt(2) + 4) / 8, rel=1e-3)  # geometric mean fit
    assert residual == pytest.approx((math.sqrt(2) - 1) / 2, rel=1e-3)


def test_circle_polygon_vertices_lie_at_the_radius() -> None:
    geometry = circle_polygon(44.55, 38.05, 1500.0)
    ring = np.array(geometry["coordinates"][0])
    assert geometry["type"] == "Polygon" and (ring[0] == ring[-1]).all() and len(ring) == 73
    d = haversine_m(44.55, 38.05, ring[:, 1], ring[:, 0])
    assert d == pytest.approx(1500.0, abs=0.05)  # 7-decimal coordinates: 1 cm
    assert shape(geometry).contains(Point(38.05, 44.55))
    # counter-clockwise (RFC 7946): positive signed area in lon/lat
    x, y = ring[:, 0], ring[:, 1]
    assert np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) > 0


def test_nmea_reader_carries_the_quality_bits_gpsd_decodes() -> None:
    """Position accuracy and RAIM of every position report against gpsd's expected JSON output."""
    res = parse_nmea(shared("ais/gpsd/sample.aivdm").read_text(), "sample.aivdm")
    ours = [
        (r.mmsi, r.msg_type, r.position_accuracy, r.raim)
        for r in res.records
        if isinstance(r, VesselPosition)
    ]
    theirs = []
    for line in shared("ais/gpsd/sample.aivdm.js.chk").read_text().splitlines():
        ref = json.loads(line)
        if (
            ref["type"] in (1, 2, 3, 9, 18, 19, 27)
            and ref.get("lat", 91) != 91
            and ref.get("lon", 181) != 181
        ):
            theirs.append((ref["mmsi"], ref["type"], int(ref["accuracy"]), bool(ref["raim"])))
    assert ours == theirs and len(ours) == 14
    assert {a for _, _, a, _ in ours} == {0, 1} and {r for *_, r in ours} == {False, True}


def test_position_arrays_keep_the_quality_bits_through_take_and_concat() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    recs = [
        VesselPosition(1, t, 1.0, 2.0, position_accuracy=1, raim=True),
        VesselPosition(2, t, 1.0, 2.0),
        VesselPosition(3, t, 1.0, 2.0, position_accuracy=0, raim=False),
    ]
    p = PositionArrays.from_records(recs)
    assert p.position_accuracy.tolist() == [1, FLAG_NOT_REPORTED, 0]
    assert p.raim.tolist() == [1, FLAG_NOT_REPORTED, 0]
    both = PositionArrays.concat([p.take(np.array([2, 0])), p])
    assert both.position_accuracy.tolist() == [0, 1, 1, FLAG_NOT_REPORTED, 0]
    legacy = PositionArrays(
        *(
            getattr(p, f)
            for f in ("mmsi", "time_utc", "lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg")
        )
    )
    assert legacy.raim.tolist() == [FLAG_NOT_REPORTED] * 3


# ---------------------------------------------------------------- planted scenarios
@pytest.mark.parametrize("seed", [7, 11, 23])
def test_planted_spoofing_circle_is_recovered(seed: int) -> None:
    positions, truth = planted(seed)
    spoof = _only(detect_interference(positions).areas, "spoofing")
    assert spoof.pattern == "circle"
    assert haversine_m(spoof.centre_lat_deg, spoof.centre_lon_deg, *SPOOF_CENTRE) < 50.0
    assert spoof.radius_m == pytest.approx(SPOOF_RADIUS_M, abs=30.0)
    assert abs(_seconds(spoof.start_utc, SPOOF_START)) <= 60.0
    assert abs(_seconds(spoof.stop_utc, SPOOF_STOP)) <= 60.0 + 5.0  # last report before the stop
    assert list(spoof.vessels) == truth["spoof_mmsi"]
    assert spoof.area_km2 == pytest.approx(math.pi * 1.5**2, rel=0.05)
    assert spoof.confidence > 0.8 and set(spoof.confidence_terms) == {"vessels", "geometry", "persistence"}
    assert spoof.confidence == pytest.approx(float(np.prod(list(spoof.confidence_terms.values()))))
    assert spoof.confidence_terms["vessels"] == 1 - 0.5 ** (8 - 5 + 1)


def test_planted_common_point_spoofing_is_recovered() -> None:
    positions, truth = planted(7, point=True)
    spoof = _only(detect_interference(positions).areas, "spoofing")
    assert spoof.pattern == "point"
    assert haversine_m(spoof.centre_lat_deg, spoof.centre_lon_deg, *SPOOF_CENTRE) < 10.0  # 8 x 10 m noise
    assert spoof.radius_m <= InterferenceConfig().point_tolerance_m
    assert abs(_seconds(spoof.start_utc, SPOOF_START)) <= 60.0
    assert abs(_seconds(spoof.stop_utc, SPOOF_STOP)) <= 65.0
    assert list(spoof.vessels) == truth["spoof_mmsi"]


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_planted_jamming_area_is_recovered(seed: int) -> None:
    positions, truth = planted(seed)
    jam = _only(detect_interference(positions).areas, "jamming")
    assert jam.pattern == "cells"
    assert sorted(jam.vessels) == sorted(truth["jam_silent"] + truth["jam_frozen"])
    assert abs(_seconds(jam.start_utc, JAM_START)) <= 180.0
    assert abs(_seconds(jam.stop_utc, JAM_STOP)) <= 180.0
    assert jam.evidence["stops"] == 6 and jam.evidence["freezes"] == 6
    assert jam.evidence["peak_share"] == 1.0 and jam.confidence > 0.99
    # the area holds the planted centre and every jammed vessel's last fix before the jam, and is no
    # larger than twice the jammed disc
    area = shape(jam.polygon)
    assert area.contains(Point(JAM_CENTRE[1], JAM_CENTRE[0]))
    before = (positions.time_utc < JAM_START) & np.isin(positions.mmsi, jam.vessels)
    for m in jam.vessels:
        last = np.flatnonzero(before & (positions.mmsi == m))[-1]
        assert area.contains(Point(positions.lon_deg[last], positions.lat_deg[last])), m
    assert jam.area_km2 <= 2 * math.pi * (JAM_RADIUS_M / 1000) ** 2
    assert haversine_m(jam.centre_lat_deg, jam.centre_lon_deg, *JAM_CENTRE) < JAM_RADIUS_M / 2


def test_lost_quality_bits_across_a_group_are_jamming() -> None:
    positions, truth = planted(7, quality_bits=True)
    jam = _only(detect_interference(positions).areas, "jamming")
    assert sorted(jam.vessels) == sorted(truth["jam_flags"])
    assert jam.evidence["stops"] == jam.evidence["freezes"] == 0 and jam.evidence["quality_bit_changes"] >= 12
    assert abs(_seconds(jam.start_utc, JAM_START)) <= 180.0
    assert abs(_seconds(jam.stop_utc, JAM_STOP)) <= 180.0
    # the same reports without their bits (a CSV export, the store) show no jamming
    blind = dataclasses.replace(positions, position_accuracy=None, raim=None)
    assert not [a for a in detect_interference(blind).areas if a.kind == "jamming"]


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_normal_planted_traffic_flags_nothing(seed: int) -> None:
    positions, _ = planted(seed, spoof=False, jam=False)
    result = detect_interference(positions)
    assert result.areas == [] and result.indicators["jumps"] == 0
    assert result.vessels == 52 and result.positions == len(positions)


def test_kinds_are_chosen_and_checked() -> None:
    positions, _ = planted(7)
    assert {a.kind for a in detect_interference(positions, kinds=("jamming",)).areas} == {"jamming"}
    with pytest.raises(ValueError, match="unknown interference kinds"):
        detect_interference(positions, kinds=("spoofing", "meaconing"))
    with pytest.raises(ValueError, match="bin_s"):
        InterferenceConfig(bin_s=0.0)


def test_geojson_has_one_feature_per_area() -> None:
    positions, _ = planted(7)
    areas = detect_interference(positions).areas
    doc = interference_geojson(areas, {"source": "planted"})
    assert doc["type"] == "FeatureCollection" and doc["parameters"] == {"source": "planted"}
    assert [f["properties"]["kind"] for f in doc["features"]] == [a.kind for a in areas]
    json.dumps(doc, allow_nan=False)
    for f in doc["features"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon") and shape(f["geometry"]).is_valid


# ---------------------------------------------------------------- real AIS: nothing to find
def _shared_ais() -> list[Path]:
    root = SHARED_DATA / "ais"
    if not root.is_dir():
        pytest.skip("shared data not present: ../shared/data/ais")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix not in (".json", ".chk") and p.name not in ("LICENSE.txt", "COPYING")
    )


def test_shared_ais_files_flag_nothing() -> None:
    parts = []
    for path in _shared_ais():
        positions = PositionArrays.from_records(split_records(read_ais_file(path).records)[0])
        assert detect_interference(positions).areas == [], path.name
        parts.append(positions)
    every = PositionArrays.concat(parts)
    assert len(every) >= 40 and detect_interference(every).areas == []


def test_a_port_snapshot_has_no_common_point() -> None:
    """1,164 vessels off and in the Dutch ports (opentnsim), given one nominal time so every vessel
    counts as simultaneous: no three share a point at the default 25 m. At 40 m, moored and rafted
    ships come that close, yet none jumped there, so they are no common point either."""
    path = shared("ais/opentnsim/opentnsim_north_sea_ais.csv")
    when = datetime(2020, 1, 1, tzinfo=UTC)
    recs = [dataclasses.replace(r, time_utc=when) for r in split_records(read_ais_file(path).records)[0]]
    positions = PositionArrays.from_records(recs)
    assert len(np.unique(positions.mmsi)) == 1164
    assert detect_interference(positions).areas == []
    assert detect_interference(positions, InterferenceConfig(point_tolerance_m=40.0)).areas == []


# ---------------------------------------------------------------- command line
def _write_csv(path: Path, positions: PositionArrays) -> Path:
    times = np.datetime_as_string(positions.time_utc, unit="ms")
    with path.open("w") as fh:
        fh.write("mmsi,time_utc,lat,lon,sog,cog\n")
        for i in range(len(positions)):
            fh.write(
                f"{positions.mmsi[i]},{times[i]}Z,{positions.lat_deg[i]:.6f},{positions.lon_deg[i]:.6f},"
                f"{positions.sog_kn[i]:.1f},{positions.cog_deg[i]:.1f}\n"
            )
    return path


@pytest.fixture(scope="module")
def planted_csv(tmp_path_factory) -> tuple[Path, dict]:
    positions, truth = planted(7)
    return _write_csv(tmp_path_factory.mktemp("planted") / "planted.csv", positions), truth


def test_cli_finds_both_planted_areas(planted_csv, tmp_path: Path) -> None:
    csv, truth = planted_csv
    png = tmp_path / "map.png"
    result = invoke(["pnt", "interference", "--ais", str(csv), "-f", "json", "--png", str(png)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    areas = {a["kind"]: a for a in doc["areas"]}
    assert set(areas) == {"spoofing", "jamming"} and doc["shown"] == doc["total"] == 2
    spoof = areas["spoofing"]
    assert haversine_m(spoof["centre_lat_deg"], spoof["centre_lon_deg"], *SPOOF_CENTRE) < 50.0
    assert spoof["vessels"] == truth["spoof_mmsi"] and spoof["polygon"]["type"] == "Polygon"
    assert sorted(areas["jamming"]["vessels"]) == sorted(truth["jam_silent"] + truth["jam_frozen"])
    assert areas["jamming"]["definition"].startswith("share of vessels")
    p = doc["parameters"]
    assert p["inputs"] == [str(csv)] and p["positions"] > 30_000 and p["vessels"] == 60


def test_cli_point_radius_keeps_the_areas_inside(planted_csv) -> None:
    csv, truth = planted_csv
    result = invoke(
        [
            "pnt",
            "interference",
            "--ais",
            str(csv),
            "--point",
            "44.55,38.05",
            "--radius-km",
            "30",
            "-f",
            "geojson",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [f["properties"]["kind"] for f in doc["features"]] == ["spoofing"]
    assert doc["features"][0]["properties"]["vessels"] == truth["spoof_mmsi"]
    assert doc["parameters"]["where"] == "within 30 km of 44.55,38.05"
    # a window that ends before the jamming leaves only the spoofing
    result = invoke(["pnt", "interference", "--ais", str(csv), "--stop", "2024-03-01T06:00:00Z", "-f", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("number,kind,pattern") and len(lines) == 2 and ",spoofing,circle," in lines[1]


def test_cli_reads_the_store(planted_csv, tmp_path: Path) -> None:
    csv, truth = planted_csv
    db = tmp_path / "k.db"
    assert invoke(["-q", "ais", "load", str(csv), "--db", str(db)]).exit_code == 0
    result = invoke(["pnt", "interference", "--db", str(db), "--kind", "spoofing", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [a["vessels"] for a in doc["areas"]] == [truth["spoof_mmsi"]]
    assert doc["parameters"]["inputs"] == [f"store {db}"]
