"""Space-based optical sensors: the host orbit against its declared sun-synchronous geometry
(radius, highest latitude, local time of the node against the mean sun), the Earth-limb rule against a ray-sphere intersection, and what
a GEO-belt surveillance satellite (SBSS Block 10, bundled) adds to a network's coverage and plan."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.orbit import time_grid
from kizuna.ssa.sensors import load_sensors
from kizuna.ssa.space_based import EARTH_LIMB_CODE, EARTH_RADIUS_KM, host_itrf_km, space_detection
from kizuna.ssa.visibility import coverage, find_passes, parse_network

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
DAY = ("2026-06-10T00:00:00Z", "2026-06-11T00:00:00Z")


@pytest.fixture(scope="module")
def network():
    return load_sensors()


def test_host_flies_the_declared_sun_synchronous_orbit(network) -> None:
    sbss = network["sbss-block-10"]
    times = time_grid("2026-06-10T00:00:00", "2026-06-10T12:00:00", 10.0)
    r = host_itrf_km(sbss, times, times[0])
    assert np.allclose(np.linalg.norm(r, axis=1), EARTH_RADIUS_KM + 630.0, atol=1e-6)
    lat = np.degrees(np.arcsin(r[:, 2] / np.linalg.norm(r, axis=1)))
    assert abs(lat.max() - (180.0 - 97.9)) < 0.05  # the highest latitude of an orbit is 180 - i
    # local solar time at each ascending node: 6 h (ltan_h), give or take the equation of time
    up = np.flatnonzero((r[:-1, 2] < 0) & (r[1:, 2] >= 0))
    assert len(up) >= 7
    for k in up:
        lon_node = np.degrees(np.arctan2(r[k, 1], r[k, 0]))
        # the mean sun is overhead at longitude (12 h - UTC) x 15 deg; the true sun is within the
        # equation of time (under 17 minutes) of it
        hours = (times[k] - times[k].astype("datetime64[D]")).astype("int64") / 3.6e12
        lon_sun = (12.0 - hours) * 15.0
        local_h = (12.0 + (lon_node - lon_sun) / 15.0) % 24.0
        assert abs(local_h - 6.0) < 0.3, local_h


def test_earth_limb_rule_is_a_ray_sphere_intersection(network) -> None:
    """With no exclusion margin, an object is out of view exactly when the ray from the host
    through it meets the Earth (b < 0 and b^2 >= c for the ray r + s d, |d| = 1)."""
    sbss = network["sbss-block-10"]
    bare = dataclasses.replace(sbss, figures={**sbss.figures, "earth_limb_exclusion_deg": 0.0})
    rng = np.random.default_rng(4)
    host = rng.normal(size=(2000, 3))
    host *= (EARTH_RADIUS_KM + 630.0) / np.linalg.norm(host, axis=1, keepdims=True)
    obj = rng.normal(size=(2000, 3)) * 30_000.0
    obj = obj[np.linalg.norm(obj, axis=1) > EARTH_RADIUS_KM + 200]
    host = host[: len(obj)]
    _, code = space_detection(bare, obj, host, np.array([1.0, 0.0, 0.0]), 1.0)
    d = (obj - host) / np.linalg.norm(obj - host, axis=1, keepdims=True)
    b = np.einsum("ij,ij->i", host, d)
    c = np.einsum("ij,ij->i", host, host) - EARTH_RADIUS_KM**2
    hits_earth = (b < 0) & (b * b >= c)
    assert hits_earth.any() and (~hits_earth).any()
    assert ((code == EARTH_LIMB_CODE) == hits_earth).all()


@pytest.fixture(scope="module")
def catalog():
    leo = read_path(SAMPLE / "leo_2026-06_sample.3le").records[:60]
    deep = read_path(SAMPLE / "active_2026-07_sample.csv").records
    return [*leo, *deep]


@pytest.fixture(scope="module")
def with_sbss(network, catalog):
    jpn = parse_network("JPN", list(network.values()))[1]
    nets = {"JPN": jpn, "JPN+SBSS": [*jpn, network["sbss-block-10"]]}
    sensors = list({s.name: s for m in nets.values() for s in m}.values())
    passes = find_passes(catalog, sensors, *DAY)
    return nets, passes


def test_a_geo_belt_surveillance_satellite_adds_the_whole_belt(catalog, with_sbss) -> None:
    nets, passes = with_sbss
    cov = coverage(catalog, passes, nets)
    rows = {r["network"]: r for r in cov.rows}
    # Japan's ground sensors see under a third of the belt; a telescope in a dawn-dusk orbit sees
    # every longitude above the limb at some time of the day
    assert rows["JPN"]["geo_belt_visible_pct"] < 40.0
    assert rows["JPN+SBSS"]["geo_belt_visible_pct"] > 95.0
    assert rows["JPN+SBSS"]["geo_detected_pct"] > rows["JPN"]["geo_detected_pct"]
    space = passes.select(passes.sensor == "sbss-block-10")
    assert len(space) and np.isnan(space.max_elevation_deg).all()  # no elevation from orbit
    assert set(space.reason) <= {
        "",
        "target in shadow",
        "sun exclusion",
        "too faint",
        "below the limb exclusion",
    }
    # every detectable space pass lies inside its period and has a detectable arc inside the pass
    det = space.select(space.detectable)
    assert (det.detect_start_utc >= det.rise_utc).all() and (det.detect_stop_utc <= det.set_utc).all()


def test_tasking_plans_tracks_on_the_space_based_sensor(network, with_sbss) -> None:
    from kizuna.ssa.tasking import plan

    nets, passes = with_sbss
    sensors = nets["JPN+SBSS"]
    p = plan(passes, sensors, {}, 2000)
    mine = p.sensor.astype(str) == "sbss-block-10"
    assert mine.sum() > 50
    hours = (p.time_utc[mine] - passes.period_start_utc).astype("int64") // 3_600_000_000_000
    assert np.bincount(hours).max() <= network["sbss-block-10"].tracks_per_hour
