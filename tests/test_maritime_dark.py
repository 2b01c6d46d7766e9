"""Dark-vessel matching with known ground truth on a SYNTHETIC scene, and assignment vs brute force."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import permutations

import numpy as np
import pytest

from kizuna.maritime.cfar import CfarConfig, cfar, detections_from
from kizuna.maritime.dark import ais_at, assign, dark_geojson, dark_product, find_dark_vessels
from kizuna.maritime.scene import ShipTruth, synthetic_scene
from kizuna.maritime.tracks import haversine_m
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import PositionArrays

T_IMG = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)
T64 = np.datetime64("2026-06-01T01:30:00", "ns")


def _offset(lat, lon, north_m, east_m):  # type: ignore[no-untyped-def]
    return (
        lat + np.degrees(north_m / EARTH_MEAN_RADIUS_M),
        lon + np.degrees(east_m / (EARTH_MEAN_RADIUS_M * np.cos(np.radians(lat)))),
    )


def _world(seed: int = 4):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    grid = [(r, c) for r in range(5) for c in range(5)]
    ships, ais = [], []
    for k, (r, c) in enumerate(grid[:20]):
        lat, lon = _offset(
            35.0, 139.8, (r - 2) * 1400 + rng.uniform(-150, 150), (c - 2) * 1400 + rng.uniform(-150, 150)
        )
        heading = float(rng.uniform(0, 360))
        mmsi = 431000000 + k if k < 14 else None
        ships.append(ShipTruth(lat, lon, float(rng.uniform(60, 200)), 18.0, heading, 15.0, mmsi))
        if mmsi is None:
            continue
        v = 8.0 * KN_TO_MS
        h = np.radians(heading)
        # reports 7 min before and (for the first 10) 5 min after the image; the rest only before
        offsets = [-420.0, 300.0] if k < 10 else [-600.0]
        for dt in offsets:
            la, lo = _offset(lat, lon, v * dt * np.cos(h), v * dt * np.sin(h))
            ais.append((mmsi, T64 + np.timedelta64(int(dt), "s"), la, lo, 8.0, np.degrees(h) % 360))
    # two AIS vessels inside the footprint with no ship in the image
    for j, (n, e) in enumerate([(-3100.0, 3100.0), (3100.0, -3100.0)]):
        la, lo = _offset(35.0, 139.8, n, e)
        ais.append((432000000 + j, T64 - np.timedelta64(60, "s"), la, lo, 0.0, 0.0))
    cols = list(zip(*ais, strict=True))
    pos = PositionArrays(
        np.array(cols[0]),
        np.array(cols[1]),
        np.array(cols[2]),
        np.array(cols[3]),
        np.array(cols[4]),
        np.array(cols[5]),
        np.full(len(ais), np.nan),
    )
    return ships, pos


def test_every_ais_ship_matched_every_dark_ship_flagged():
    ships, pos = _world()
    scene = synthetic_scene((800, 800), ships=ships, nu=4.0, time_utc=T_IMG, seed=9)
    res = cfar(
        scene.intensity, CfarConfig(pfa=1e-7, guard=16, background=26, clutter="k", k_shape=4.0, min_pixels=2)
    )
    dets = detections_from(res, scene.intensity, scene.pixel_to_lonlat, scene.pixel_size_m, time_utc=T_IMG)
    assert len(dets) == len(ships)
    out = find_dark_vessels(dets, pos, T64, gate_m=300.0, footprint=scene.footprint())
    det_lat = np.array([d.lat_deg for d in dets])
    det_lon = np.array([d.lon_deg for d in dets])
    truth_of_det = [
        int(
            np.argmin(
                haversine_m(det_lat[i], det_lon[i], [s.lat_deg for s in ships], [s.lon_deg for s in ships])
            )
        )
        for i in range(len(dets))
    ]
    matched = {truth_of_det[i]: int(out.ais_mmsi[j]) for i, j, _ in out.matches}
    for k, s in enumerate(ships):
        if s.mmsi is not None:
            assert matched.get(k) == s.mmsi, f"AIS ship {s.mmsi} not matched to its own detection"
    assert sorted(truth_of_det[i] for i in out.dark_detections) == [
        k for k, s in enumerate(ships) if s.mmsi is None
    ]
    assert sorted(int(out.ais_mmsi[j]) for j in out.unmatched_ais) == [432000000, 432000001]
    # interpolated (10), dead-reckoned (4), reported exactly: none; the phantom pair is dead-reckoned at 0 kn
    methods = dict(zip(out.ais_mmsi.tolist(), out.ais_method.tolist(), strict=True))
    assert sum(m == "interpolated" for m in methods.values()) == 10
    assert max(d for _, _, d in out.matches) < 60.0  # detection centroid vs interpolated AIS, metres
    gj = dark_geojson(out)
    assert sum(f["properties"]["status"] == "dark_candidate" for f in gj["features"]) == 6
    prod = dark_product(out, synthetic=True)
    assert prod["counts"]["dark_candidates"] == 6 and prod["counts"]["matched"] == 14


def test_dead_reckoning_moves_along_course():
    pos = PositionArrays(
        np.array([1]),
        np.array([T64 - np.timedelta64(600, "s")]),
        np.array([0.0]),
        np.array([0.0]),
        np.array([10.0]),
        np.array([90.0]),
        np.array([np.nan]),
    )
    mmsi, lat, lon, method = ais_at(pos, T64)
    assert method[0] == "dead_reckoned"
    assert haversine_m(0, 0, lat[0], lon[0]) == pytest.approx(10 * KN_TO_MS * 600, rel=1e-6)
    assert lon[0] > 0 and abs(lat[0]) < 1e-12
    # beyond the dead-reckoning limit the vessel is not placed
    assert len(ais_at(pos, T64, max_dead_reckon_s=300)[0]) == 0


def test_assignment_is_optimal_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(12):
        det = rng.uniform(0, 1000, (5, 2))
        ais = rng.uniform(0, 1000, (4, 2))
        gate = 400.0
        pairs = assign(det, ais, gate)
        d = np.linalg.norm(det[:, None] - ais[None], axis=2)
        # brute force: best matching = most pairs... as the dummy cost is the gate, minimise
        # sum(matched distance) + gate * unmatched detections over all partial injections
        best = np.inf
        for perm in permutations(list(range(4)) + [-1] * 5, 5):
            cost = sum(d[i, j] if j >= 0 and d[i, j] <= gate else gate for i, j in enumerate(perm))
            if len({j for j in perm if j >= 0}) == sum(j >= 0 for j in perm):
                best = min(best, cost)
        ours = sum(p[2] for p in pairs) + gate * (5 - len(pairs))
        assert ours == pytest.approx(best, abs=1e-6)
        assert all(p[2] <= gate for p in pairs) and len({p[1] for p in pairs}) == len(pairs)


# ------------------------------------------------------------ the dark command's input checks
def _dark_inputs(tmp_path):
    """Three detections at 01:30 UTC, each with a moored AIS ship on it reporting every 10 min."""
    dets = tmp_path / "dets.csv"
    dets.write_text(
        "detection_id,lat,lon,time_utc\n"
        "d1,35.000,139.800,2026-06-01T01:30:00Z\n"
        "d2,35.010,139.820,2026-06-01T01:30:00Z\n"
        "d3,34.990,139.780,2026-06-01T01:30:05Z\n"
    )
    rows = ["mmsi,timestamp,lat,lon,sog,cog"]
    for k, (lat, lon) in enumerate([(35.0, 139.8), (35.01, 139.82), (34.99, 139.78)]):
        for minute in range(0, 24 * 60, 10):  # 00:00 to 23:50, moored
            t = datetime(2026, 6, 1, minute // 60, minute % 60, tzinfo=UTC)
            rows.append(f"{431000001 + k},{t:%Y-%m-%dT%H:%M:%SZ},{lat},{lon},0.0,0.0")
    ais = tmp_path / "ais.csv"
    ais.write_text("\n".join(rows) + "\n")
    return dets, ais


def _dark_json(args):
    import json

    from tests.cli_harness import invoke

    res = invoke(["dark", *args, "-f", "json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_dark_matches_every_ship_at_the_detections_own_time(tmp_path):
    dets, ais = _dark_inputs(tmp_path)
    out = _dark_json(["--detections", str(dets), "--ais", str(ais), "--time", "2026-06-01T01:30:00Z"])
    assert out["counts"]["matched"] == 3 and out["counts"]["dark_candidates"] == 0
    # without --time, the detections' own time is the image time
    out = _dark_json(["--detections", str(dets), "--ais", str(ais)])
    assert out["counts"]["matched"] == 3 and out["parameters"]["image_time_utc"] == "2026-06-01T01:30:00Z"


def test_dark_refuses_an_image_time_far_from_the_detections(tmp_path):
    """The finding: --time 3 h off gave 15/15 dark with no warning."""
    from tests.cli_harness import refused

    dets, ais = _dark_inputs(tmp_path)
    args = ["dark", "--detections", str(dets), "--ais", str(ais)]
    refused([*args, "--time", "2026-06-01T04:30:00Z"], contains="beyond --time-tolerance-s 60")
    # within a stated tolerance it runs (and, the ships being moored, still matches)
    out = _dark_json([*args[1:], "--time", "2026-06-01T04:30:00Z", "--time-tolerance-s", "14400"])
    assert out["parameters"]["time_tolerance_s"] == 14400


def test_dark_refuses_empty_and_unreadable_detection_files(tmp_path):
    """The finding: an unreadable detections file exited 0 with 0 detections."""
    from tests.cli_harness import refused

    _, ais = _dark_inputs(tmp_path)
    cases = {
        "header.csv": ("lat,lon\n", "the file holds no detections"),
        "empty.geojson": ('{"type": "FeatureCollection", "features": []}', "the file holds no detections"),
        "other.json": ('{"a": 1}', "not a GeoJSON FeatureCollection"),
        "cut.geojson": ('{"type": "FeatureCollection", "features": [', "json"),
        "latin1.csv": (b"lat,lon\n35.0,139.8\n\xe9\n", "not a UTF-8 text file"),
    }
    for name, (body, why) in cases.items():
        path = tmp_path / name
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body)
        res = refused(["dark", "--detections", str(path), "--ais", str(ais)], contains=str(path))
        assert why.lower() in res.stderr.lower(), (name, res.stderr)


def test_dark_gate_below_ais_accuracy_is_refused(tmp_path):
    """A 1e-9 m gate cannot pair any ship with its own AIS report: every detection came out dark."""
    from tests.cli_harness import refused

    dets, ais = _dark_inputs(tmp_path)
    refused(
        ["dark", "--detections", str(dets), "--ais", str(ais), "--gate-m", "1e-9"], contains="at least 10"
    )
    out = _dark_json(["--detections", str(dets), "--ais", str(ais), "--gate-m", "10"])
    assert out["counts"]["matched"] == 3


def test_detection_time_offsets():
    from kizuna.maritime.dark import detection_time_offsets_s
    from kizuna.model.maritime import SarDetection

    dets = [
        SarDetection("a", 0.0, 0.0, T_IMG),
        SarDetection("b", 0.0, 0.0, datetime(2026, 6, 1, 4, 30, tzinfo=UTC)),
        SarDetection("c", 0.0, 0.0, None),
    ]
    off = detection_time_offsets_s(dets, T64)
    assert off[0] == 0.0 and off[1] == 3 * 3600.0 and np.isnan(off[2])
