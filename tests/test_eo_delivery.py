"""Request-to-delivery latency: station contacts against Skyfield, and a case worked by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
import pytest
from tests.conftest import SAMPLE

from kizuna.eo.delivery import (
    DeliveryError,
    DeliveryModel,
    GroundStation,
    contact_windows,
    parse_stations,
    satellite_delivery,
)
from kizuna.formats.tle import read_tle

START = datetime(2026, 6, 11, tzinfo=UTC)


def _leo_lines(norad: int) -> tuple[str, str]:
    lines = (SAMPLE / "leo_2026-06_sample.3le").read_text().splitlines()
    for k, line in enumerate(lines):
        if line.startswith("1 ") and int(line[2:7]) == norad:
            return line, lines[k + 1]
    raise AssertionError(norad)


def test_station_contacts_match_skyfield_elevation_on_a_1_s_grid():
    """Reference: Skyfield's EarthSatellite and wgs84 topos (an independent SGP4 + frame chain),
    elevation on a 1 s grid over 12 h; every contact edge within 2 s, none missed or invented."""
    sf = pytest.importorskip("skyfield.api")
    l1, l2 = _leo_lines(22827)
    es = read_tle(f"{l1}\n{l2}\n").records[0]
    station = GroundStation("SvalSat", 78.2297722, 15.4077861, alt_m=500.0, min_elevation_deg=5.0)
    tromso = GroundStation("Tromso", 69.6625, 18.9408, min_elevation_deg=10.0)
    hours = 12
    got = contact_windows([es], [station, tromso], START, START + timedelta(hours=hours))
    ts = sf.load.timescale(builtin=True)
    sat = sf.EarthSatellite(l1, l2, ts=ts)
    secs = np.arange(0, hours * 3600 + 1)
    t = ts.utc(2026, 6, 11, 0, 0, secs)
    for k, st in enumerate((station, tromso)):
        topo = sf.wgs84.latlon(st.lat_deg, st.lon_deg, elevation_m=st.alt_m)
        alt = (sat - topo).at(t).altaz()[0].degrees
        above = alt >= st.min_elevation_deg
        rises = secs[1:][above[1:] & ~above[:-1]]
        sets = secs[:-1][above[:-1] & ~above[1:]]
        m = got.station_index == k
        assert len(rises) == len(sets) == int(m.sum()) >= 2, (st.name, rises, sets, got.start_s[m])
        assert np.max(np.abs(got.start_s[m] - rises)) < 2.0
        assert np.max(np.abs(got.stop_s[m] - sets)) < 2.0


def test_a_station_that_never_sees_the_satellite_has_no_contacts():
    """ISS (51.6 deg inclination) never rises above 5 deg at Svalbard (78 N): an empty result, not
    an error (compute_access used to fail on a period without any window)."""
    l1, l2 = _leo_lines(25544)
    es = read_tle(f"{l1}\n{l2}\n").records[0]
    station = GroundStation("SvalSat", 78.2297722, 15.4077861)
    got = contact_windows([es], [station], START, START + timedelta(hours=6))
    assert len(got) == 0


def test_hand_checked_delivery():
    """Request at 50 s; uplink contacts [100, 400] and [3000, 3300]; access windows [600, 605] (too
    short for 10 s of imaging) and [1000, 1060]; downlink [2000, 2100] at 100 Mbit/s (10,000 Mbit),
    [5000, 5600] at 100 and a second station [5200, 5300] at 300 Mbit/s. A 35 Gbit image: imaged
    1000-1010, 10,000 Mbit in the first pass, 20,000 at 100 Mbit/s by 5200, then 300 Mbit/s: the
    last 5,000 Mbit take 16.67 s -> delivered 5216.67 s."""
    tasked, collected, delivered = satellite_delivery(
        np.array([50.0, 350.0, 500.0, 4000.0]),
        np.array([100.0, 3000.0]),
        np.array([400.0, 3300.0]),
        np.array([600.0, 1000.0]),
        np.array([605.0, 1060.0]),
        np.array([2000.0, 5000.0, 5200.0]),
        np.array([2100.0, 5600.0, 5300.0]),
        np.array([100.0, 100.0, 300.0]),
        DeliveryModel(image_gbit=35.0, imaging_s=10.0),
    )
    assert tasked[:2].tolist() == [100.0, 350.0]
    assert tasked[2] == 3000.0  # after the first uplink contact: wait for the next
    assert collected[:2].tolist() == [1000.0, 1000.0]
    assert np.isnan(collected[2])  # no access after 3000 s
    assert delivered[0] == pytest.approx(5200.0 + 5000.0 / 300.0, abs=1e-9)
    assert np.isnan(delivered[3])  # no uplink after 4000 s


def test_per_pass_volume_limit_defers_delivery():
    """A 10 Gbit image through a 100 s pass at 100 Mbit/s fits; 10.1 Gbit waits for the next pass."""
    args = [np.array([0.0]), np.array([0.0]), np.array([10.0]), np.array([20.0]), np.array([40.0])]
    links = [np.array([100.0, 900.0]), np.array([200.0, 1000.0]), np.array([100.0, 100.0])]
    fits = satellite_delivery(*args, *links, DeliveryModel(image_gbit=10.0, imaging_s=10.0))[2]
    spills = satellite_delivery(*args, *links, DeliveryModel(image_gbit=10.1, imaging_s=10.0))[2]
    assert fits[0] == pytest.approx(200.0)
    assert spills[0] == pytest.approx(901.0)


def test_image_larger_than_storage_is_refused():
    with pytest.raises(DeliveryError, match="does not fit"):
        DeliveryModel(image_gbit=100.0, storage_gbit=50.0)


def test_bundled_stations_parse_and_cite_a_source():
    text = (resources.files("kizuna") / "data" / "ground_stations" / "stations.yaml").read_text()
    stations = parse_stations(text, "stations.yaml")
    assert len(stations) >= 8
    assert all(s.source for s in stations)
    names = {s.name for s in stations}
    assert {"KSAT Svalbard (SvalSat)", "KSAT Tromso"} <= names


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name,lat_deg,lon_deg\nA,91,0\n", "st.csv:2: lat_deg"),
        ("name,lat_deg,lon_deg\nA,1,2\nA,3,4\n", "st.csv:3: name 'A' is used twice"),
        ("name,lat_deg,lon_deg,uplink\nA,1,2,maybe\n", "uplink"),
        ("name,lat_deg,lon_deg,colour\nA,1,2,red\n", "unknown field 'colour'"),
        ("- name: A\n  lat_deg: 1\n", "station 1: lon_deg is missing"),
        ("- name: A\n  lat_deg: 1\n  lon_deg: 2\n  min_elevation_deg: 95\n", "min_elevation_deg"),
        ("stations: [\n", "st.csv"),
        ("", "want a list"),
    ],
)
def test_bad_station_files_name_file_row_and_field(text, fragment):
    with pytest.raises(DeliveryError, match=None) as info:
        parse_stations(text, "st.csv")
    assert fragment in str(info.value)


CLI = ["eo", "delivery", "--constellation", "walker:12/3/1:575:97.7", "--start", "2026-06-11T00:00:00Z"]


def test_cli_json_statistics_are_those_of_the_listed_requests(tmp_path):
    from tests.cli_harness import invoke

    png = tmp_path / "h.png"
    args = [*CLI, "--point", "35.68,139.77,Tokyo", "--hours", "12", "--requests-every-min", "20"]
    result = invoke([*args, "-f", "json", "--png", str(png)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["parameters"]["stations"] >= 8
    reqs = doc["requests"]
    assert len(reqs) == 36
    latency = np.array([r["delivery_latency_min"] for r in reqs if r["delivery_latency_min"] is not None])
    row = doc["targets"][0]
    assert row["delivered"] == len(latency) > 30
    assert row["delivery_median_min"] == pytest.approx(np.median(latency), abs=0.01)
    assert row["delivery_max_min"] == pytest.approx(latency.max(), abs=0.01)
    for r in reqs:
        if r["delivered_utc"] is not None:
            assert r["requested_utc"] <= r["tasked_utc"] <= r["collected_utc"] < r["delivered_utc"]
    assert png.stat().st_size > 10_000


def test_cli_stations_without_uplink_deliver_nothing_and_say_so(tmp_path):
    from tests.cli_harness import invoke

    stations = tmp_path / "st.csv"
    stations.write_text("name,lat_deg,lon_deg,uplink\nSvalbard,78.23,15.41,false\n")
    result = invoke(
        [*CLI, "--point", "35.68,139.77", "--hours", "3", "--stations", str(stations), "-f", "csv"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith('"35.68,139.77",3,0,3,')
    assert "3 requests not delivered" in result.stderr
