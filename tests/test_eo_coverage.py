"""Strip coverage of areas: one pass over a rectangle against the analytic swath area, accumulation."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from kizuna.eo.aoi import AreaOfInterest, sample_points
from kizuna.eo.constellation import parse_design
from kizuna.eo.coverage import CoverageError, strip_coverage
from kizuna.eo.sensors import SAR_MODES
from kizuna.formats.tle import format_tle

START = datetime(2026, 6, 11, tzinfo=UTC)
LAT0, LAT1, LON0, LON1 = 10.0, 10.5, 130.0, 138.0
# the radius of H3's sphere (the authalic radius of WGS-84), on which the cell areas are computed
R_H3_KM = 6371.007180918475


def _box(spacing_km: float):
    ring = ((LON0, LAT0), (LON1, LAT0), (LON1, LAT1), (LON0, LAT1), (LON0, LAT0))
    return sample_points([AreaOfInterest("box", "polygon", ((ring,),), {})], spacing_km)


@pytest.fixture(scope="module")
def sso():
    return parse_design("sso:1:575:10.5", START)


@pytest.fixture(scope="module")
def stripmap(sso):
    return strip_coverage(sso, _box(1.0), START, START + timedelta(days=2), "stripmap")


def test_one_pass_over_a_rectangle_covers_the_analytic_swath_area(sso, stripmap):
    """A strip that crosses the rectangle's two parallels and stays inside its meridians cuts a
    parallelogram: area = swath width x centre-line length, the length being the latitude span over
    the cosine of the track's heading from the meridian. Heading from Skyfield's sub-satellite
    points (independent SGP4 and frames), 5 s either side of the strip's middle. Within 2 %."""
    sf = pytest.importorskip("skyfield.api")
    ts = sf.load.timescale(builtin=True)
    sat = sf.EarthSatellite(*format_tle(sso.element_sets[0]), ts=ts)
    checked = 0
    for p in stripmap.passes:
        lon, lat = p.outline_lonlat[:, 0], p.outline_lonlat[:, 1]
        if not (lon.min() > LON0 + 0.1 and lon.max() < LON1 - 0.1 and lat.min() < LAT0 and lat.max() > LAT1):
            continue
        mid = p.start_utc + (p.stop_utc - p.start_utc) / 2
        secs = (mid - np.datetime64("2026-06-11T00:00:00", "ns")).astype("int64") / 1e9
        t = ts.utc(2026, 6, 11, 0, 0, secs + np.array([-5.0, 5.0]))
        sub = sf.wgs84.subpoint_of(sat.at(t))
        la, lo = np.radians(sub.latitude.degrees), np.radians(sub.longitude.degrees)
        heading = math.atan2(
            math.sin(lo[1] - lo[0]) * math.cos(la[1]),
            math.cos(la[0]) * math.sin(la[1]) - math.sin(la[0]) * math.cos(la[1]) * math.cos(lo[1] - lo[0]),
        )
        length_km = R_H3_KM * math.radians(LAT1 - LAT0) / abs(math.cos(heading))
        analytic_km2 = SAR_MODES["stripmap"]["swath_km"] * length_km
        assert p.covered_km2 == pytest.approx(analytic_km2, rel=0.02), (p.satellite, p.start_utc)
        checked += 1
    assert checked >= 3


def test_accumulated_coverage_is_the_union_of_the_strips(stripmap):
    cov = stripmap
    assert len(cov.passes) >= 3
    cumulative = [p.cumulative_km2 for p in cov.passes]
    assert all(b >= a for a, b in zip(cumulative, cumulative[1:], strict=False))
    w = cov.targets.weight
    assert cumulative[-1] == pytest.approx(float(w[cov.first_pass >= 0].sum()))
    assert sum(p.new_km2 for p in cov.passes) == pytest.approx(cumulative[-1])
    assert 0 < cov.covered_pct < 100


def test_strips_stay_within_their_modes_incidence_range(sso):
    cov = strip_coverage(sso, _box(5.0), START, START + timedelta(days=2), "scansar")
    spec = SAR_MODES["scansar"]
    assert cov.passes
    for p in cov.passes:
        assert spec["inc_min_deg"] - 0.01 <= p.incidence_near_deg < p.incidence_far_deg
        assert p.incidence_far_deg <= spec["inc_max_deg"] + 0.01
        assert p.far_km - p.near_km == pytest.approx(min(spec["swath_km"], p.far_km - p.near_km))


def test_a_spotlight_scene_is_a_square_of_its_size(sso):
    """7 km x 7 km (49 km^2) sampled on 0.5 km cells: within 10 % (the sampling of its four edges)."""
    cov = strip_coverage(sso, _box(0.5), START, START + timedelta(days=1), "spotlight")
    assert cov.passes
    for p in cov.passes:
        assert p.covered_km2 == pytest.approx(49.0, rel=0.10)


def test_points_only_are_refused(sso):
    targets = sample_points([AreaOfInterest("p", "point", ((139.7, 35.7),), {})], 10.0)
    with pytest.raises(CoverageError, match="Polygon"):
        strip_coverage(sso, targets, START, START + timedelta(hours=6), "stripmap")
    with pytest.raises(CoverageError, match="mode"):
        strip_coverage(sso, _box(10.0), START, START + timedelta(hours=6), "wideband")


def test_cli_coverage_writes_table_json_geojson_and_png(tmp_path):
    from tests.cli_harness import invoke

    aoi = tmp_path / "box.geojson"
    ring = [[139.0, 35.0], [140.0, 35.0], [140.0, 36.0], [139.0, 36.0], [139.0, 35.0]]
    aoi.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {"name": "box"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    )
    png, gj = tmp_path / "c.png", tmp_path / "c.geojson"
    args = ["eo", "coverage", "--constellation", "walker:12/3/1:575:42", "--aoi", str(aoi)]
    args += ["--start", "2026-06-11T00:00:00Z", "--hours", "12", "--mode", "stripmap"]
    result = invoke([*args, "-f", "json", "--png", str(png), "--geojson", str(gj)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    passes = doc["passes"]
    assert len(passes) >= 2
    assert doc["parameters"]["covered_pct"] == pytest.approx(passes[-1]["cumulative_pct"])
    assert sum(p["new_pct"] for p in passes) == pytest.approx(passes[-1]["cumulative_pct"], abs=0.01)
    strips = json.loads(gj.read_text())
    assert [f["properties"]["start_utc"] for f in strips["features"]] == [p["start_utc"] for p in passes]
    ring0 = strips["features"][0]["geometry"]["coordinates"][0]
    assert ring0[0] == ring0[-1] and len(ring0) > 10
    assert png.stat().st_size > 10_000
