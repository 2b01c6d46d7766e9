"""Constellation designs, AOI parsing/sampling, revisit statistics, planning and the CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest
from tests.conftest import assert_looks_respect_slew

from kizuna.demo.earth_observation import demo_aoi_text
from kizuna.eo.aoi import parse_geojson, sample_points
from kizuna.eo.constellation import (
    ConstellationError,
    parse_design,
    sun_synchronous,
    sun_synchronous_inclination_deg,
)
from kizuna.errors import FormatError
from kizuna.orbit import propagate, time_grid

EPOCH = datetime(2026, 6, 11, tzinfo=UTC)


def test_walker_pattern_and_errors():
    c = parse_design("walker:36/4/1:575:42", EPOCH)
    assert len(c) == 36
    raan = np.array([es.raan_deg for es in c.element_sets]).reshape(4, 9)
    assert np.allclose(raan[:, 0], [0, 90, 180, 270]) and np.allclose(raan, raan[:, :1])
    ma = np.array([es.mean_anomaly_deg for es in c.element_sets]).reshape(4, 9)
    assert np.allclose(np.diff(ma[0]), 40.0) and np.isclose(ma[1, 0], 10.0)  # F * 360 / T
    # SGP4 (the reference) keeps the designed altitude: mean geodetic height within 25 km of 575.
    eph = propagate(list(c.element_sets[:2]), time_grid(EPOCH, "2026-06-11T02:00:00", 30.0), "itrf")
    assert abs(np.nanmean(eph.geodetic()[2]) - 575.0) < 25.0
    for bad in ("walker:36/5/1:575:42", "walker:36/4/7:575:42", "walker:4/4/0:50:42", "walker:x"):
        with pytest.raises(ConstellationError):
            parse_design(bad, EPOCH)


def test_sun_synchronous_nodal_rate_against_sgp4():
    inc = sun_synchronous_inclination_deg(575.0)
    assert 97.6 < inc < 97.9  # Wertz SMAD table: ~97.7 deg near 575 km
    sso = sun_synchronous(575.0, 10.5, EPOCH)
    times = time_grid(EPOCH, "2026-07-01T00:00:00", 86400.0)
    eph = propagate(list(sso.element_sets), times, "teme")
    h = np.cross(eph.position_km[0], eph.velocity_kms[0])
    raan = np.unwrap(np.arctan2(h[:, 0], -h[:, 1]))
    rate = np.degrees(np.polyfit(np.arange(len(times)), raan, 1)[0])
    assert abs(rate - 0.9856) < 0.01  # deg/day: the mean Sun's rate


def test_constellation_store_round_trip(store):
    from kizuna.store.eo_store import ConstellationStore

    cs = ConstellationStore(store)
    c = parse_design("walker:8/2/1:575:42", EPOCH)
    cs.save(c)
    back = cs.load(c.name)
    assert back is not None and back.element_sets == c.element_sets and back.design == c.design
    assert cs.load("missing") is None and c.name in cs.names()


def test_bundled_aoi_and_equal_area_sampling():
    from pyproj import Geod

    aois = parse_geojson(demo_aoi_text(), "aoi_demo.geojson")
    assert [a.name for a in aois] == ["Kyiv", "Kharkiv", "Senkaku islands", "Tsushima strait"]
    t = sample_points(aois[3:], spacing_km=10.0)
    ring = np.array(aois[3].coordinates[0][0])
    area_km2 = abs(Geod(ellps="WGS84").polygon_area_perimeter(ring[:, 0], ring[:, 1])[0]) / 1e6
    assert abs(t.weight.sum() - area_km2) / area_km2 < 0.15  # H3 cells inside cover the polygon's area


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{not json", "not JSON"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Port"}, '
            '"geometry": {"type": "Point", "coordinates": [200, 10]}}]}',
            r"features\[0\] \(Port\).*outside",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Bay"}, '
            '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}]}',
            r"\(Bay\).*not closed",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "L"}, '
            '"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}',
            r"\(L\).*unsupported",
        ),
        ('{"type": "FeatureCollection", "features": []}', "empty"),
    ],
)
def test_bad_geojson_names_the_feature(text, match):
    with pytest.raises(FormatError, match=match):
        parse_geojson(text, "bad.geojson")


def test_planning_respects_one_at_a_time_slew_and_reports_reasons():
    from kizuna.eo.planning import parse_requests, plan_collections

    reqs = [
        {
            "id": f"r{k}",
            "lat": 34.0 + 0.05 * k,
            "lon": 129.9,
            "priority": k % 3,
            "start": "2026-06-11T00:00:00Z",
            "stop": "2026-06-11T12:00:00Z",
            "mode": "spotlight",
        }
        for k in range(12)
    ]
    reqs.append(
        {
            "id": "pole",
            "lat": 89.0,
            "lon": 0.0,
            "priority": 5,
            "start": "2026-06-11T00:00:00Z",
            "stop": "2026-06-11T12:00:00Z",
            "mode": "stripmap",
        }
    )
    c = parse_design("walker:4/2/1:575:42", EPOCH)
    plan = plan_collections(
        c, parse_requests(json.dumps(reqs)), EPOCH, "2026-06-11T12:00:00", duty_cycle=0.05
    )
    assert plan.collections and any(
        u["request_id"] == "pole" and "no access" in u["reason"] for u in plan.unfulfilled
    )
    assert len(plan.collections) + len(plan.unfulfilled) == len(reqs)
    assert_looks_respect_slew(plan.collections)
    with pytest.raises(FormatError, match="impossible window"):
        parse_requests(json.dumps([{**reqs[0], "stop": "2026-06-10T00:00:00Z"}]), "req.json")


def test_cli_revisit_and_plan(tmp_path):
    from typer.testing import CliRunner

    from kizuna.cli import app

    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(demo_aoi_text())
    runner = CliRunner()
    db = str(tmp_path / "k.db")
    res = runner.invoke(
        app,
        [
            "eo",
            "revisit",
            "--constellation",
            "walker:12/3/1:575:42",
            "--aoi",
            str(aoi),
            "--start",
            "2026-06-11T00:00:00Z",
            "--days",
            "0.5",
            "--sensor",
            "sar:15-45:both",
            "--format",
            "json",
            "--plot",
            str(tmp_path / "g.png"),
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert "end of one revisit" in doc["definition"] and len(doc["areas"]) == 4
    assert (tmp_path / "g.png").stat().st_size > 10_000
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Feature", "properties": {"name": "Oops"}, "geometry": null}')
    res = runner.invoke(
        app,
        [
            "eo",
            "revisit",
            "--constellation",
            "walker:12/3/1:575:42",
            "--aoi",
            str(bad),
            "--start",
            "2026-06-11",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 2 and "Oops" in res.output
    res = runner.invoke(
        app,
        [
            "eo",
            "revisit",
            "--constellation",
            "NO-SUCH-SAT",
            "--aoi",
            str(aoi),
            "--start",
            "2026-06-11",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 2 and "no database" in res.output  # reading a catalog never creates one
    req = tmp_path / "req.json"
    req.write_text(
        json.dumps(
            [
                {
                    "id": "a",
                    "lat": 34.0,
                    "lon": 129.9,
                    "priority": 2,
                    "start": "2026-06-11T00:00:00Z",
                    "stop": "2026-06-11T06:00:00Z",
                    "mode": "stripmap",
                }
            ]
        )
    )
    res = runner.invoke(
        app,
        [
            "eo",
            "plan",
            "--constellation",
            "walker:12/3/1:575:42",
            "--requests",
            str(req),
            "--start",
            "2026-06-11T00:00:00Z",
            "--hours",
            "6",
            "--format",
            "json",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["fulfilled"] == 1 and doc["parameters"]["method"] == "optimal" and doc["parameters"]["optimal"]
    res = runner.invoke(
        app,
        [
            "eo",
            "plan",
            "--constellation",
            "walker:12/3/1:575:42",
            "--requests",
            str(req),
            "--start",
            "2026-06-11T00:00:00Z",
            "--hours",
            "6",
            "--method",
            "best",
            "--db",
            db,
        ],
    )
    assert res.exit_code == 2 and "unknown planner" in res.output


def test_sun_elevation_against_skyfield_de421():
    """Optical sensors' sun check vs Skyfield with JPL DE421 (skyfield-data, offline): within 0.05 deg."""
    import os

    skyfield_data = pytest.importorskip("skyfield_data")
    from skyfield.api import Loader, wgs84

    from kizuna.eo.sensors import geodetic_to_itrf, sun_elevation_deg

    load = Loader(skyfield_data.get_skyfield_data_path())
    if not os.path.exists(os.path.join(skyfield_data.get_skyfield_data_path(), "de421.bsp")):
        pytest.skip("de421.bsp not bundled")
    eph = load("de421.bsp")
    ts = load.timescale(builtin=True)
    lat, lon = np.array([35.68, 50.45, -33.9]), np.array([139.77, 30.52, 151.2])
    times = np.array(
        ["2026-06-11T03:00:00", "2026-06-11T09:30:00", "2026-12-21T23:00:00"], dtype="datetime64[ns]"
    )
    ours = sun_elevation_deg(times, geodetic_to_itrf(lat, lon)[1])
    for k in range(3):
        t = ts.utc(*[int(x) for x in str(times[k])[:19].replace("T", "-").replace(":", "-").split("-")])
        alt, _, _ = (eph["earth"] + wgs84.latlon(lat[k], lon[k])).at(t).observe(eph["sun"]).apparent().altaz()
        # apparent() includes aberration (20"); ours is geometric: 0.05 deg covers it.
        assert abs(ours[k] - alt.degrees) < 0.05, (k, ours[k], alt.degrees)


def test_geodetic_normal_against_erfa_gc2gd():
    """The off-nadir reference direction: within 3e-5 deg of ERFA's exact geodetic latitude to 1200 km."""
    import erfa

    from kizuna.eo.sensors import geodetic_normal

    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-89.9, 89.9, 2000), rng.uniform(-180, 180, 2000)
    h_m = rng.uniform(0, 1_200_000, 2000)
    r_km = erfa.gd2gc(1, np.radians(lon), np.radians(lat), h_m) / 1000.0
    n = geodetic_normal(r_km)
    lat_n = np.degrees(np.arcsin(n[:, 2]))
    lon_n = np.degrees(np.arctan2(n[:, 1], n[:, 0]))
    assert np.max(np.abs(lat_n - lat)) < 3e-5
    assert np.max(np.abs((lon_n - lon + 180) % 360 - 180)) < 1e-9


def test_planning_duty_cycle_limits_looks_per_orbit():
    from kizuna.eo.planning import parse_requests, plan_collections

    reqs = [
        {
            "id": f"r{k}",
            "lat": 34.0 + 0.02 * k,
            "lon": 129.9,
            "priority": 1,
            "start": "2026-06-11T00:00:00Z",
            "stop": "2026-06-11T03:00:00Z",
            "mode": "spotlight",
        }
        for k in range(8)
    ]
    c = parse_design("walker:4/2/1:575:42", EPOCH)
    period_s = c.element_sets[0].period_min * 60
    # 0.0022 of a 96-minute orbit is 12.7 s: room for one 10 s spotlight look per orbit.
    plan = plan_collections(
        c, parse_requests(json.dumps(reqs)), EPOCH, "2026-06-11T03:00:00", duty_cycle=0.0022
    )
    seen = [
        (
            col.satellite,
            int(
                (np.datetime64(col.start_utc[:-1]) - np.datetime64("2026-06-11T00:00:00"))
                .astype("timedelta64[ms]")
                .astype(float)
                / 1000
                // period_s
            ),
        )
        for col in plan.collections
    ]
    assert plan.collections and len(seen) == len(set(seen))
    assert any(
        re.search(r"[1-9]\d* blocked by the per-orbit duty cycle", u["reason"]) for u in plan.unfulfilled
    )
