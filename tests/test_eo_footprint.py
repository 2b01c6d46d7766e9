"""The SAR swath drawn for an access: its near and far edges sit where the incidence angle is the
sensor's limits, checked with skyfield (an independent SGP4, frame and WGS-84 topocentric chain)."""

from datetime import UTC
from importlib import resources

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load, wgs84

from kizuna.eo.footprint import field_of_regard, sar_swath
from kizuna.eo.sensors import SarSensor
from kizuna.formats.tle import format_tle, read_tle
from kizuna.orbit.propagate import propagate

ISS = resources.files("kizuna") / "data" / "maneuvers" / "iss_25544_2023.tle"


@pytest.mark.parametrize("look_right", [True, False])
@pytest.mark.parametrize(("inc_min_deg", "inc_max_deg"), [(15.0, 45.0), (20.0, 35.0)])
def test_swath_edges_lie_at_the_incidence_limits(look_right, inc_min_deg, inc_max_deg):
    es = read_tle(ISS.read_text(), "iss").records[-1]
    times = np.datetime64(es.epoch_utc.replace(tzinfo=None), "ns") + np.arange(0, 5400, 450) * np.timedelta64(
        1, "s"
    )
    eph = propagate([es], times, "itrf")
    sensor = SarSensor(inc_min_deg, inc_max_deg, "right" if look_right else "left")
    swath = sar_swath(eph.position_km[0], eph.velocity_kms[0], sensor, look_right)
    ts = load.timescale()
    l1, l2 = format_tle(es)
    sat = EarthSatellite(l1, l2, ts=ts)
    t = ts.from_datetimes([x.astype("datetime64[us]").item().replace(tzinfo=UTC) for x in times])
    for lat, lon, limit in (
        (swath.near_lat_deg, swath.near_lon_deg, inc_min_deg),
        (swath.far_lat_deg, swath.far_lon_deg, inc_max_deg),
    ):
        for k in range(len(times)):
            alt, _az, _d = (sat - wgs84.latlon(lat[k], lon[k])).at(t[k]).altaz()
            assert 90.0 - alt.degrees == pytest.approx(limit, abs=0.3)
    polygon = swath.polygon()
    assert polygon[0] == polygon[-1] and len(polygon) == 2 * len(times) + 1


def test_the_radar_looks_to_the_side_it_is_told():
    es = read_tle(ISS.read_text(), "iss").records[-1]
    times = np.datetime64(es.epoch_utc.replace(tzinfo=None), "ns") + np.arange(0, 60, 30) * np.timedelta64(
        1, "s"
    )
    eph = propagate([es], times, "itrf")
    r, v = eph.position_km[0], eph.velocity_kms[0]
    for look_right in (True, False):
        swath = sar_swath(r, v, SarSensor(15.0, 45.0), look_right)
        up = r[0] / np.linalg.norm(r[0])
        lat, lon = np.radians(swath.far_lat_deg[0]), np.radians(swath.far_lon_deg[0])
        edge = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        right_of_motion = float(np.dot(np.cross(v[0], up), edge - up)) > 0
        assert right_of_motion == look_right


def test_field_of_regard_rings_lie_at_the_incidence_limits():
    es = read_tle(ISS.read_text(), "iss").records[-1]
    when = np.datetime64(es.epoch_utc.replace(tzinfo=None), "ns") + np.timedelta64(1800, "s")
    eph = propagate([es], np.array([when]), "itrf")
    outer, inner = field_of_regard(eph.position_km[0, 0], SarSensor(15.0, 45.0), samples=24)
    assert outer[0] == outer[-1] and inner[0] == inner[-1] and len(outer) == 25
    ts = load.timescale()
    l1, l2 = format_tle(es)
    sat = EarthSatellite(l1, l2, ts=ts)
    t = ts.from_datetime(when.astype("datetime64[us]").item().replace(tzinfo=UTC))
    for ring, limit in ((outer, 45.0), (inner, 15.0)):
        for lon, lat in ring[:-1]:
            alt, _az, _d = (sat - wgs84.latlon(lat, lon)).at(t).altaz()
            assert 90.0 - alt.degrees == pytest.approx(limit, abs=0.3)
