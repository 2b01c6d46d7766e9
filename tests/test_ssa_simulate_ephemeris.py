"""Truth orbits from precise ephemerides: interpolation (Lagrange, Hermite, linear, as an OEM
declares) against a Keplerian orbit in closed form, frames against the SGP4 states of python-sgp4
(a peer library), and observations simulated from an OEM against those simulated from the element
set itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.formats.oem import Oem, OemSegment, oem_ephemeris, read_oem, write_oem_kvn
from kizuna.orbit import propagate, time_grid
from kizuna.orbit.ephemeris import Ephemeris, EphemerisError
from kizuna.ssa.sensors import load_sensors
from kizuna.ssa.simulate import simulate

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
T0, T1 = "2026-06-10T00:00:00", "2026-06-11T00:00:00"


@pytest.fixture(scope="module")
def iss():
    return next(es for es in read_path(SAMPLE / "leo_2026-06_sample.3le").records if es.norad_id == 25544)


def _oem(es, step_s: float, method: str, degree: int, frame: str = "gcrs") -> str:
    grid = time_grid(T0, T1, step_s)
    eph = propagate(es, grid, frame)
    states = np.concatenate([eph.position_km[0], eph.velocity_kms[0]], axis=1)
    meta = {
        "OBJECT_NAME": "ISS",
        "OBJECT_ID": "1998-067A",
        "CENTER_NAME": "EARTH",
        "REF_FRAME": {"gcrs": "GCRF", "itrf": "ITRF2014", "teme": "TEME"}[frame],
        "TIME_SYSTEM": "UTC",
        "START_TIME": T0,
        "STOP_TIME": T1,
        "INTERPOLATION": method,
        "INTERPOLATION_DEGREE": str(degree),
    }
    oem = Oem(
        version="2.0",
        header={"CREATION_DATE": "2026-06-10T00:00:00", "ORIGINATOR": "TEST"},
        segments=[OemSegment(metadata=meta, epochs=grid, states=states)],
    )
    return write_oem_kvn(oem)


def _kepler(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A 7,000 km, e = 0.05 orbit in its own plane (closed form: Kepler's equation by Newton)."""
    mu, a, e = 398600.4418, 7000.0, 0.05
    n = np.sqrt(mu / a**3)
    m = n * t_s
    ecc = m.copy()
    for _ in range(30):
        ecc -= (ecc - e * np.sin(ecc) - m) / (1 - e * np.cos(ecc))
    b = a * np.sqrt(1 - e**2)
    r = np.stack([a * (np.cos(ecc) - e), b * np.sin(ecc), np.zeros_like(ecc)], axis=1)
    edot = n / (1 - e * np.cos(ecc))
    v = np.stack([-a * np.sin(ecc) * edot, b * np.cos(ecc) * edot, np.zeros_like(ecc)], axis=1)
    return r, v


@pytest.mark.parametrize(
    ("method", "degree", "step_s", "tol_m", "vtol_ms"),
    [
        # sampled every 60 s: a degree-7 polynomial through 8 states, or degree 5 through 3 states
        # and their velocities, is good to a millimetre (the error terms, r w^8 h^8 / 8! and
        # r w^6 h^6 / 6!, are micrometres to a tenth of a millimetre); a 10 s chord is ~100 m off
        ("LAGRANGE", 7, 60.0, 1e-3, 1e-4),
        ("HERMITE", 5, 60.0, 1e-3, 1e-4),
        ("LINEAR", 1, 10.0, 150.0, None),
    ],
)
def test_interpolation_between_states_matches_a_keplerian_orbit(
    method, degree, step_s, tol_m, vtol_ms
) -> None:
    t0 = np.datetime64("2026-06-10T00:00:00", "ns")
    nodes_s = np.arange(0.0, 12_000.0 + step_s, step_s)
    r, v = _kepler(nodes_s)
    epochs = t0 + (nodes_s * 1e9).astype("int64").astype("timedelta64[ns]")
    eph = Ephemeris(epochs, r, v, "gcrs", method.lower(), degree)
    mid_s = np.arange(100.0, 11_900.0, 37.3)
    r_i, v_i = eph.interpolate(t0 + (mid_s * 1e9).astype("int64").astype("timedelta64[ns]"))
    r_ref, v_ref = _kepler(mid_s)
    err_m = np.linalg.norm(r_i - r_ref, axis=1) * 1000.0
    assert err_m.max() < tol_m
    assert err_m.max() > tol_m / 1e4  # between the states, so not an echo of them
    if vtol_ms is not None:
        assert np.linalg.norm(v_i - v_ref, axis=1).max() * 1000.0 < vtol_ms


def test_an_oem_declares_its_interpolation(iss) -> None:
    for method, degree, nodes in (("LAGRANGE", 7, 8), ("HERMITE", 5, 3), ("LINEAR", 1, 2)):
        eph = oem_ephemeris(read_oem(_oem(iss, 60.0, method, degree), "iss.oem").segments[0], "iss.oem")
        assert (eph.method, eph.degree, eph.nodes, eph.frame) == (method.lower(), degree, nodes, "gcrs")


def test_frames_round_trip_through_the_ephemeris(iss) -> None:
    """An ITRF ephemeris read back in GCRS and TEME matches SGP4's own GCRS and TEME (the rotations
    of kizuna.orbit.frames inverted, velocity including the Earth's rotation)."""
    eph = oem_ephemeris(read_oem(_oem(iss, 60.0, "LAGRANGE", 7, "itrf")).segments[0])
    mid = time_grid("2026-06-10T02:00:00", "2026-06-10T03:00:00", 41.0)
    for frame in ("gcrs", "teme"):
        r, v = eph.states(mid, frame)
        ref = propagate(iss, mid, frame)
        assert np.abs(r - ref.position_km[0]).max() * 1000.0 < 0.01
        assert np.abs(v - ref.velocity_kms[0]).max() * 1000.0 < 1e-4


def test_outside_the_ephemeris_is_nan_and_bad_settings_are_refused(iss) -> None:
    eph = oem_ephemeris(read_oem(_oem(iss, 60.0, "LAGRANGE", 7)).segments[0])
    r, _ = eph.interpolate(np.array(["2026-06-09T23:59:59", "2026-06-11T00:00:00"], "datetime64[ns]"))
    assert np.isnan(r[0]).all() and np.isfinite(r[1]).all()
    with pytest.raises(EphemerisError, match="needs 8"):
        Ephemeris(eph.epochs_utc[:5], eph.position_km[:5], None, "gcrs", "lagrange", 7)
    with pytest.raises(EphemerisError, match="Hermite interpolation needs velocities"):
        Ephemeris(eph.epochs_utc, eph.position_km, None, "gcrs", "hermite", 5)


def test_observations_from_an_oem_match_those_from_its_element_set(iss) -> None:
    network = load_sensors()
    sensors = [network[n] for n in ("kamisaibara-radar", "koganei-slr", "bisei-1m")]
    eph = oem_ephemeris(read_oem(_oem(iss, 60.0, "LAGRANGE", 7)).segments[0])
    start, stop = "2026-06-10T00:05:00Z", "2026-06-10T23:55:00Z"
    kwargs = {"seed": 3, "noise": False, "retroreflectors": [25544], "cadence_s": 10.0}
    from_tle = simulate(iss, sensors, start, stop, **kwargs)
    from_oem = simulate(eph, sensors, start, stop, norad_id=25544, **kwargs)
    assert len(from_tle) >= 3 and {t.sensor.kind for t in from_tle} >= {"radar", "laser"}
    # the same tracks; the detectable arc's ends are bounded to the detection samples' spacing, so
    # a track can gain or lose an observation at either end
    assert [t.sensor.name for t in from_oem] == [t.sensor.name for t in from_tle]
    for a, b in zip(from_tle, from_oem, strict=True):
        assert abs(len(a.times_utc) - len(b.times_utc)) <= 2 and b.norad_id == 25544
        _, ia, ib = np.intersect1d(a.times_utc, b.times_utc, return_indices=True)
        assert len(ia) >= min(len(a.times_utc), len(b.times_utc)) - 1
        for key, value in a.measured.items():
            diff = np.abs(b.measured[key][ib] - value[ia])
            if key.endswith("_deg"):
                diff = np.minimum(diff, 360.0 - diff) * 3600.0  # arcsec
                assert diff.max() < 0.01, key
            else:
                assert diff.max() < 2e-5, key  # km: 2 cm in range, 2 cm/s in range rate
