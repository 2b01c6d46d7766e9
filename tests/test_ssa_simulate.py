"""Simulated observations: geometry against Skyfield's topocentric angles before noise, noise
statistics against the configured sigmas (chi-square), biases, and TDMs that ccsds-ndm accepts."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.formats.tdm import read_tdm, write_tdm_kvn, write_tdm_xml
from kizuna.ssa.sensors import load_sensors
from kizuna.ssa.simulate import chi_square_bounds, line_of_sight, noise_sigmas, simulate, to_tdm
from kizuna.ssa.visibility import SiteArrays

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
T0, T1 = "2026-06-10T00:00:00Z", "2026-06-12T00:00:00Z"


@pytest.fixture(scope="module")
def objects():
    return {es.norad_id: es for es in read_path(SAMPLE / "leo_2026-06_sample.3le").records}


@pytest.fixture(scope="module")
def network():
    return load_sensors()


@pytest.fixture(scope="module")
def tracks(objects, network):
    names = ("kamisaibara-radar", "tira-wachtberg", "sst-exmouth", "bisei-1m", "koganei-slr")
    return simulate(
        objects[25544], [network[n] for n in names], T0, T1, seed=7, retroreflectors=[25544], cadence_s=5.0
    )


def _skyfield(objects, network, sensor: str, norad: int, times: np.ndarray):
    from skyfield.api import EarthSatellite, load, wgs84

    from kizuna.formats.tle import write_tle
    from kizuna.orbit.eop import load_eop

    eop = load_eop()
    # UT1 from the same IERS table as kizuna's frames (Skyfield's bundled table may be stale at
    # these dates): delta T = TT - UT1 = 32.184 s + (TAI - UTC = 37 s) - (UT1 - UTC), constant over
    # the few minutes compared
    mjd = (times[0] - np.datetime64("1858-11-17T00:00:00", "ns")).astype("int64") / 86400e9
    ts = load.timescale(delta_t=32.184 + 37.0 - float(eop.at(np.array([mjd]))[2][0]))
    # the same polar motion as kizuna's frames (IERS values), so the site sits at the same place
    ts.polar_motion_table = (ts.utc(1858, 11, 17.0 + eop.mjd_utc).tt, eop.xp_arcsec, eop.yp_arcsec)
    site = network[sensor].site
    topos = wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.alt_m)
    l1, l2 = write_tle([objects[norad]], names=False).splitlines()[:2]
    sat = EarthSatellite(l1, l2, ts=ts)
    dts = [datetime.fromisoformat(str(t)[:26]).replace(tzinfo=UTC) for t in times]
    t = ts.from_datetimes(dts)
    rel = (sat - topos).at(t)
    ra, dec, dist = rel.radec()
    alt, az, _ = rel.altaz()
    return ra._degrees, dec.degrees, alt.degrees, az.degrees, dist.km


@pytest.mark.parametrize("sensor", ["bisei-1m", "kamisaibara-radar"])
def test_geometry_matches_skyfield_to_sub_arcsecond(objects, network, sensor):
    sites = SiteArrays.of([network[sensor]])
    times = np.datetime64("2026-06-10T05:53:00", "ns") + np.arange(0, 240, 20).astype("timedelta64[s]")
    ours = line_of_sight(objects[25544], times, sites.r_km[0], sites.up[0], light_time=False)
    ra, dec, alt, az, dist = _skyfield(objects, network, sensor, 25544, times)
    arcsec = 1.0 / 3600.0
    dra = ((ours["ra_deg"] - ra + 180) % 360 - 180) * np.cos(np.radians(dec))
    assert np.max(np.abs(dra)) < 1.0 * arcsec
    assert np.max(np.abs(ours["dec_deg"] - dec)) < 1.0 * arcsec
    assert np.max(np.abs(ours["el_deg"] - alt)) < 1.0 * arcsec
    daz = ((ours["az_deg"] - az + 180) % 360 - 180) * np.cos(np.radians(alt))
    assert np.max(np.abs(daz)) < 1.0 * arcsec
    assert np.max(np.abs(ours["range_km"] - dist)) < 0.002


def test_light_time_moves_the_object_by_its_motion_over_the_light_time(objects, network):
    sites = SiteArrays.of([network["kamisaibara-radar"]])
    times = np.datetime64("2026-06-10T05:53:00", "ns") + np.arange(0, 240, 20).astype("timedelta64[s]")
    a = line_of_sight(objects[25544], times, sites.r_km[0], sites.up[0], light_time=False)
    b = line_of_sight(objects[25544], times, sites.r_km[0], sites.up[0], light_time=True)
    tau = a["range_km"] / 299_792.458
    # to first order the retarded range is the range minus range-rate x tau
    assert np.allclose(b["range_km"], a["range_km"] - a["range_rate_kms"] * tau, atol=2e-5)


def test_noise_matches_the_configured_sigmas(tracks):
    kinds = {t.sensor.kind for t in tracks}
    assert {"radar", "optical", "laser"} <= kinds
    for kind in ("radar", "optical", "laser"):
        z_all = []
        for t in [t for t in tracks if t.sensor.kind == kind]:
            for key, sigma in noise_sigmas(t.sensor).items():
                d = t.measured[key] - t.truth[key]
                if key in ("ra_deg", "az_deg"):
                    d = (d + 180) % 360 - 180
                if key == "ra_deg":
                    d = d * np.cos(np.radians(t.truth["dec_deg"]))
                z_all.append(d / sigma)
        z = np.concatenate(z_all)
        lo, hi = chi_square_bounds(len(z))
        assert len(z) > 60, (kind, len(z))
        assert lo < float(np.sum(z**2)) < hi, kind
        assert abs(z.mean()) < 4.0 / np.sqrt(len(z)), kind


def test_biases_are_added_exactly_and_seeded(objects, network):
    radar = network["kamisaibara-radar"]
    bias = {"kamisaibara-radar": {"range_km": 0.05, "el_deg": -0.01}}
    t1 = "2026-06-10T12:00:00Z"
    tr = simulate(objects[25544], [radar], T0, t1, noise=False, biases=bias)
    assert tr
    for t in tr:
        assert np.allclose(t.measured["range_km"] - t.truth["range_km"], 0.05, atol=1e-12)
        assert np.allclose(t.measured["el_deg"] - t.truth["el_deg"], -0.01, atol=1e-12)
        assert np.array_equal(t.measured["az_deg"], t.truth["az_deg"])
    one = simulate(objects[25544], [radar], T0, t1, seed=3, random_biases=True)
    two = simulate(objects[25544], [radar], T0, t1, seed=3, random_biases=True)
    other = simulate(objects[25544], [radar], T0, t1, seed=4, random_biases=True)
    assert one[0].bias == two[0].bias != other[0].bias
    assert np.array_equal(one[0].measured["range_km"], two[0].measured["range_km"])


@pytest.mark.parametrize("writer", [write_tdm_kvn, write_tdm_xml])
def test_tdms_pass_ccsds_ndm_and_read_back(tracks, writer):
    from ccsds_ndm.ndm_io import NdmIo

    for name in {t.sensor.name for t in tracks}:
        mine = [t for t in tracks if t.sensor.name == name]
        tdm = to_tdm(mine, "ISS (ZARYA)")
        text = writer(tdm)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = NdmIo().from_string(text)
        assert type(parsed).__name__ == "Tdm"
        back = read_tdm(text)
        assert not back.issues and back.observations == tdm.observations
        seg = back.segments[0]
        assert seg.metadata["PARTICIPANT_1"] == name and seg.metadata["MODE"] == "SEQUENTIAL"
        assert seg.metadata["TIMETAG_REF"] == "RECEIVE"
        kind = mine[0].sensor.kind
        assert seg.metadata["PATH"] == ("2,1" if kind == "optical" else "1,2,1")
        assert seg.metadata.get("ANGLE_TYPE") == {"radar": "AZEL", "optical": "RADEC", "laser": None}[kind]
        assert any(c.startswith("SITE ") for c in back.header_comments)
        first = seg.values("ANGLE_2" if kind == "optical" else "RANGE")[0]
        truth_key = "dec_deg" if kind == "optical" else "range_km"
        assert first.value == pytest.approx(mine[0].measured[truth_key][0], rel=1e-15)
