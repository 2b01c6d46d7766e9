"""Passes over SSA sensors against a brute-force 1 s / 10 s sampling and against Skyfield's
`find_events` (a pass finder nobody here wrote), and the detection conditions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.ssa.sensors import load_sensors
from kizuna.ssa.visibility import find_passes, sampled_passes

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
T0, T1 = "2026-06-10T00:00:00Z", "2026-06-10T06:00:00Z"


@pytest.fixture(scope="module")
def leo():
    return read_path(SAMPLE / "leo_2026-06_sample.3le").records[:120]


@pytest.fixture(scope="module")
def deep():
    return read_path(SAMPLE / "active_2026-07_sample.csv").records


@pytest.fixture(scope="module")
def network():
    return load_sensors()


def _match(mine, ref, step_s: float) -> tuple[int, float]:
    """Every sampled pass has one of ours whose rise lies in (first sample above - step, first
    sample above] and whose set lies in [last sample above, last + step): returns how many matched and
    the worst excess beyond that interval [s]."""
    matched, worst = 0, 0.0
    for norad, rise, sett in ref:
        near = (mine.norad_id == norad) & (
            np.abs((mine.rise_utc - rise).astype("int64")) < (step_s + 2) * 1e9
        )
        if not near.any():
            continue
        i = np.flatnonzero(near)[0]
        dr = (mine.rise_utc[i] - rise).astype("int64") / 1e9  # expected in (-step, 0]
        ds = (mine.set_utc[i] - sett).astype("int64") / 1e9  # expected in [0, step)
        worst = max(worst, max(dr, 0.0), max(-step_s - dr, 0.0), max(-ds, 0.0), max(ds - step_s, 0.0))
        matched += 1
    return matched, worst


@pytest.mark.parametrize("name", ["kamisaibara-radar", "cobra-dane", "bisei-1m"])
def test_every_sampled_leo_pass_is_found_with_edges_inside_the_sample(leo, network, name):
    passes = find_passes(leo, list(network.values()), T0, T1)
    mine = passes.select(passes.sensor == name)
    ref = sampled_passes(leo, network[name], T0, T1, 1.0)
    assert len(ref) > 20
    matched, worst = _match(mine, ref, 1.0)
    assert matched == len(ref)
    assert worst < 0.02  # edges inside the 1 s sampling interval (to 20 ms)
    # nothing invented: passes the 1 s grid did not see are shorter than a second
    assert len(mine) - matched == int((mine.duration_s < 1.0).sum())


def test_deep_space_passes_match_a_10s_sampling(deep, network):
    sensors = [network["bisei-1m"], network["c-band-exmouth"], network["graves"]]
    t1 = "2026-07-11T00:00:00Z"
    passes = find_passes(deep, sensors, "2026-07-10T00:00:00Z", t1)
    assert len(passes) > 30
    for s in sensors:
        mine = passes.select(passes.sensor == s.name)
        ref = sampled_passes(deep, s, "2026-07-10T00:00:00Z", t1, 10.0)
        # a window open at the period's end: the sampler's last sample is the period's last grid point
        matched, worst = _match(mine, ref, 10.0)
        assert matched == len(ref), s.name
        assert worst < 0.05, s.name


def test_passes_agree_with_skyfield_find_events(leo, network):
    from skyfield.api import EarthSatellite, load, wgs84

    from kizuna.formats.tle import write_tle

    ts = load.timescale(builtin=True)
    site = network["kamisaibara-radar"]
    assert site.site is not None
    topos = wgs84.latlon(site.site.lat_deg, site.site.lon_deg, elevation_m=site.site.alt_m)
    chosen = [es for es in leo if es.norad_id in (25544, 11, 5, 694, 733)] or leo[:5]
    passes = find_passes(chosen, [site], T0, "2026-06-11T00:00:00Z")
    compared = 0
    for es in chosen:
        l1, l2 = write_tle([es], names=False).splitlines()[:2]
        sat = EarthSatellite(l1, l2, ts=ts)
        t, kinds = sat.find_events(
            topos, ts.utc(2026, 6, 10), ts.utc(2026, 6, 11), altitude_degrees=site.figure("min_elevation_deg")
        )
        sky = [(ti.utc_datetime().replace(tzinfo=None), k) for ti, k in zip(t, kinds, strict=True)]
        mine = passes.select(passes.norad_id == es.norad_id)
        events = {0: mine.rise_utc, 1: mine.culmination_utc, 2: mine.set_utc}
        for when, kind in sky:
            ours = events[int(kind)]
            gap = np.min(np.abs((ours - np.datetime64(when, "ns")).astype("int64"))) / 1e9
            # rise and set to 0.5 s; the culmination is flat (elevation changes by micro-degrees over
            # seconds), so its time is compared loosely
            assert gap < (0.5 if kind != 1 else 3.0), (es.norad_id, when, kind, gap)
            compared += 1
    assert compared >= 15


def test_detection_conditions_name_the_failed_one(leo, network):
    radar = network["kamisaibara-radar"]
    small = find_passes(leo[:40], [radar], T0, T1, default_diameter_m=0.01)
    big = find_passes(leo[:40], [radar], T0, T1, default_diameter_m=2.0)
    assert len(small) == len(big) > 5
    # 1 cm is below 10 cm at 650 km anywhere in range; 2 m is seen wherever it is in range
    assert not small.detectable.any() and set(small.reason) == {"too small at range", "beyond range"}
    assert (small.reason == "too small at range").sum() > 5
    # 2 m is seen on every pass that comes within the radar's range
    in_range = small.reason == "too small at range"
    assert big.detectable[in_range].all() and not big.detectable[~in_range].any()
    laser = network["koganei-slr"]
    plain = find_passes(leo[:40], [laser], T0, T1)
    assert not plain.detectable.any() and set(plain.reason) <= {"no retroreflector", "beyond range"}
    retro = find_passes(leo[:40], [laser], T0, T1, retroreflectors=[es.norad_id for es in leo[:40]])
    assert retro.detectable.sum() > 0
    scope = network["bisei-1m"]
    # 00:00-06:00 UTC is 09:00-15:00 in Japan: never dark
    day = find_passes(leo[:40], [scope], T0, T1)
    assert len(day) and set(day.reason) == {"site not dark"}


def test_networks_are_operators_and_groups(network):
    from kizuna.ssa.visibility import NetworkError, parse_network

    sensors = list(network.values())
    assert {s.operator for s in parse_network("jpn", sensors)[1]} == {"JPN"}
    eur = parse_network("JPN+EUR", sensors)[1]
    assert {"graves", "tira-wachtberg", "kamisaibara-radar"} <= {s.name for s in eur}
    every = parse_network("ALL", sensors)[1]
    assert "sapphire" in {s.name for s in every}  # space-based sensors belong to their operator's network
    with pytest.raises(NetworkError, match="XYZ operates no sensor"):
        parse_network("JPN+XYZ", sensors)


def test_geo_belt_visibility_matches_the_spherical_formula(network):
    """Elevation of a GEO point seen from latitude L, longitude offset G on a sphere:
    tan(el) = (cos G cos L - R/r) / sqrt(1 - cos^2 G cos^2 L) (Pratt & Bostian, Satellite
    Communications, sec. 2.2). The ellipsoid moves the edge by a fraction of a degree."""
    from kizuna.ssa.visibility import GEO_RADIUS_KM, geo_longitude_visible

    scope = network["bisei-1m"]
    assert scope.site is not None
    lon = np.arange(0.0, 360.0, 0.05)
    seen = geo_longitude_visible([scope], lon, diameter_m=5.0)
    g = np.radians(lon - scope.site.lon_deg)
    lat = np.radians(scope.site.lat_deg)
    c = np.cos(g) * np.cos(lat)
    el = np.degrees(np.arctan2(c - 6371.0 / GEO_RADIUS_KM, np.sqrt(1 - c**2)))
    expected = el >= scope.figure("min_elevation_deg")
    assert seen.sum() > 0
    west, east = lon[seen].min(), lon[seen].max()
    assert abs(west - lon[expected].min()) < 0.5 and abs(east - lon[expected].max()) < 0.5


def test_coverage_never_drops_when_an_ally_joins(leo, deep, network):
    from kizuna.ssa.visibility import coverage, parse_network

    sensors = list(network.values())
    sets = [*leo[:60], *deep]
    nets = dict(parse_network(n, sensors) for n in ("JPN", "JPN+USA", "JPN+AUS", "ALL"))
    ground = list({s.name: s for m in nets.values() for s in m}.values())
    passes = find_passes(sets, ground, "2026-06-10T00:00:00Z", "2026-06-10T12:00:00Z")
    cov = coverage(sets, passes, nets)
    rows = {r["network"]: r for r in cov.rows}
    for key in ("leo_detected_pct", "geo_detected_pct", "geo_belt_visible_pct"):
        for ally in ("JPN+USA", "JPN+AUS", "ALL"):
            assert rows[ally][key] >= rows["JPN"][key], (ally, key)
    assert rows["JPN"]["geo_objects"] == len(cov.geo_objects_lon_deg) > 10
    # the LEO map counts the same objects as the table
    assert cov.leo_total.sum() == rows["JPN"]["leo_objects"]
    assert round(100 * cov.leo_seen["JPN"].sum() / cov.leo_total.sum(), 1) == rows["JPN"]["leo_detected_pct"]
    # a GEO object detected by the network sits at a longitude the network can see (1 deg bins,
    # objects drift by less than a degree a day)
    seen_lon = cov.geo_objects_lon_deg[cov.geo_objects_seen["ALL"]]
    vis = cov.geo_lon_deg[cov.geo_visible["ALL"]]
    for lon in seen_lon:
        assert np.min(np.abs((vis - lon + 180) % 360 - 180)) < 3.0
