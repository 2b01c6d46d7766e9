"""TEME -> ITRF / GCRS and geodetic conversions agree with Skyfield (an independent
implementation on IAU 2000/2006 models), given the same IERS Earth-orientation file.
Tolerance: 10 m in position (we see millimetres), 1 cm/s in velocity."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest
from skyfield.api import EarthSatellite, Loader, wgs84
from skyfield.data import iers
from skyfield.framelib import itrs
from tests.conftest import SAMPLE

from kizuna.formats.detect import read_path
from kizuna.orbit import propagate, satrec_from_element_set, time_grid
from kizuna.orbit.eop import load_eop


@pytest.fixture(scope="module")
def skyfield_ts():
    """Skyfield timescale built from the very same finals2000A.all, with polar motion."""
    loader = Loader(os.path.dirname(load_eop().source))
    ts = loader.timescale(builtin=False)
    with loader.open("finals2000A.all") as fh:
        iers.install_polar_motion_table(ts, iers.parse_x_y_dut1_from_finals_all(fh))
    return ts


@pytest.fixture(scope="module")
def sample_sets():
    sets = read_path(SAMPLE / "active_2026-07_sample.csv").records
    leo = read_path(SAMPLE / "leo_2026-06_sample.3le").records[::20]
    return sets + leo  # GEO, IGSO, MEO, HEO and LEO


def _skyfield_times(ts, times):
    return ts.from_datetimes([dt.datetime.fromisoformat(str(t)[:26] + "+00:00") for t in times])


def test_itrf_and_gcrs_within_10_m_of_skyfield(sample_sets, skyfield_ts):
    times = time_grid("2026-07-10T00:00:00", "2026-07-11T00:00:00", 900)
    itrf = propagate(sample_sets, times, "itrf")
    gcrs = propagate(sample_sets, times, "gcrs")
    t = _skyfield_times(skyfield_ts, times)
    worst = {"itrf_m": 0.0, "gcrs_m": 0.0, "itrf_v_mms": 0.0, "gcrs_v_mms": 0.0, "itrf_v_rate_rad_s": 0.0}
    for i, es in enumerate(sample_sets):
        sat = EarthSatellite.from_satrec(satrec_from_element_set(es), skyfield_ts)
        at = sat.at(t)
        r_itrs, v_itrs = at.frame_xyz_and_velocity(itrs)
        ok = itrf.ok[i]
        worst["itrf_m"] = max(
            worst["itrf_m"], np.abs(r_itrs.km.T[ok] - itrf.position_km[i, ok]).max(initial=0.0) * 1e3
        )
        worst["gcrs_m"] = max(
            worst["gcrs_m"], np.abs(at.position.km.T[ok] - gcrs.position_km[i, ok]).max(initial=0.0) * 1e3
        )
        # ITRF velocity differences grow with distance (Skyfield differentiates its full
        # rotation; we follow Vallado 2006: v_ITRF = W (R v_TEME - w x r_PEF)). Compare as an
        # angular rate: |dv| / |r| in rad/s.
        dv = np.linalg.norm(v_itrs.km_per_s.T[ok] - itrf.velocity_kms[i, ok], axis=1)
        rate = dv / np.linalg.norm(itrf.position_km[i, ok], axis=1)
        worst["itrf_v_rate_rad_s"] = max(worst["itrf_v_rate_rad_s"], rate.max(initial=0.0))
        worst["itrf_v_mms"] = max(worst["itrf_v_mms"], dv.max(initial=0.0) * 1e6)
        worst["gcrs_v_mms"] = max(
            worst["gcrs_v_mms"],
            np.abs(at.velocity.km_per_s.T[ok] - gcrs.velocity_kms[i, ok]).max(initial=0.0) * 1e6,
        )
    print("worst vs Skyfield:", {k: float(f"{v:.4g}") for k, v in worst.items()})
    assert worst["itrf_m"] < 10.0 and worst["gcrs_m"] < 10.0
    assert worst["gcrs_v_mms"] < 1.0
    assert worst["itrf_v_rate_rad_s"] < 1e-9  # 1e-5 of Earth's rotation rate; 7 mm/s at GEO


def test_geodetic_within_1_m_of_skyfield_wgs84(sample_sets, skyfield_ts):
    times = time_grid("2026-07-10T00:00:00", "2026-07-10T06:00:00", 600)
    itrf = propagate(sample_sets, times, "itrf")
    lat, lon, alt = itrf.geodetic()
    t = _skyfield_times(skyfield_ts, times)
    for i, es in enumerate(sample_sets):
        sat = EarthSatellite.from_satrec(satrec_from_element_set(es), skyfield_ts)
        sub = wgs84.geographic_position_of(sat.at(t))
        ok = itrf.ok[i]
        if not ok.any():
            continue
        assert np.abs(sub.latitude.degrees[ok] - lat[i, ok]).max() < 1e-5  # ~1 m
        dlon = (sub.longitude.degrees[ok] - lon[i, ok] + 180) % 360 - 180
        assert np.abs(dlon).max() < 1e-5
        assert np.abs(sub.elevation.km[ok] - alt[i, ok]).max() < 1e-3


def test_geodetic_of_known_points():
    from kizuna.orbit import itrf_to_geodetic

    a_km, b_km = 6378.137, 6356.752314245
    lat, lon, alt = itrf_to_geodetic(np.array([[a_km, 0, 0], [0, a_km + 100, 0], [0, 0, b_km]]))
    np.testing.assert_allclose(lat, [0, 0, 90], atol=1e-9)
    np.testing.assert_allclose(lon[:2], [0, 90], atol=1e-9)
    np.testing.assert_allclose(alt, [0, 100, 0], atol=1e-6)
