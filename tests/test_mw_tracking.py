"""Triangulation, the track filter and impact prediction against references this project did not
write: Monte Carlo of the stated noise model (the covariance must contain the truth at the stated
rate: NEES within chi-square bounds), the closed-form Kepler solution on a non-rotating spherical
Earth (vacuum impact point and time of flight), and scipy's DOP853 integrator for the full model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import solve_ivp

from kizuna.mw.impact import impact_points, predict_impact, predict_impact_batch
from kizuna.mw.tracking import coast_accel_m_s2, triangulate, triangulate_batch
from kizuna.mw.trajectory import VACUUM_SPHERE, WGS84_EARTH, ecef_to_geodetic, enu_basis, geodetic_to_ecef

RNG_SEED = 20261130


def _noisy_los(rng: np.random.Generator, truth: np.ndarray, sensors: np.ndarray, sigma: np.ndarray, n: int):
    """n trials of K lines of sight from `sensors` to `truth`, each perturbed by N(0, sigma^2) on the
    two axes perpendicular to it (the noise model triangulate states)."""
    u = truth - sensors
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    a = np.cross(u, [0.0, 0.0, 1.0])
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(u, a)
    e = rng.standard_normal((n, len(sensors), 2)) * sigma[None, :, None]
    los = u[None] + e[..., :1] * a[None] + e[..., 1:] * b[None]
    return los / np.linalg.norm(los, axis=-1, keepdims=True)


# a missile at 300 km over the Sea of Japan, seen from several architectures
_TARGET = geodetic_to_ecef(39.0, 133.0, 300e3)
_GEO = lambda lon: geodetic_to_ecef(0.0, lon, 35_786e3)  # noqa: E731
_LEO = lambda lat, lon: geodetic_to_ecef(lat, lon, 1_000e3)  # noqa: E731
GEOMETRIES = {
    "two GEO 40 deg apart": (np.stack([_GEO(110.0), _GEO(150.0)]), np.array([30e-6, 30e-6])),
    "GEO + LEO": (np.stack([_GEO(120.0), _LEO(45.0, 140.0)]), np.array([30e-6, 100e-6])),
    "two LEO close baseline": (np.stack([_LEO(42.0, 128.0), _LEO(44.0, 131.0)]), np.array([50e-6, 50e-6])),
    "three sensors": (
        np.stack([_GEO(110.0), _LEO(42.0, 128.0), _LEO(30.0, 140.0)]),
        np.array([30e-6, 80e-6, 80e-6]),
    ),
    "three LEO, one far": (
        np.stack([_LEO(50.0, 125.0), _LEO(35.0, 130.0), _LEO(36.0, 150.0)]),
        np.array([40e-6, 60e-6, 200e-6]),
    ),
}


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_triangulation_covariance_contains_truth_at_stated_rate(name: str) -> None:
    sensors, sigma = GEOMETRIES[name]
    n = 800
    rng = np.random.default_rng(RNG_SEED)
    los = _noisy_los(rng, _TARGET, sensors, sigma, n)
    x, cov, ok = triangulate_batch(
        np.broadcast_to(sensors, los.shape).copy(), los, np.broadcast_to(sigma, (n, len(sigma))).copy()
    )
    assert ok.all()
    err = x - _TARGET
    nees = np.einsum("ni,nij,nj->n", err, np.linalg.inv(cov), err)
    # average NEES: n * mean ~ chi2(3n); two-sided 99 % bounds (Bar-Shalom et al. 2001, sec. 5.4.2)
    lo, hi = stats.chi2.ppf([0.005, 0.995], 3 * n) / n
    assert lo < nees.mean() < hi, (name, nees.mean(), lo, hi)
    # the 95 % ellipsoid holds the truth 95 % of the time (binomial 99 % band)
    inside = np.mean(nees <= stats.chi2.ppf(0.95, 3))
    half = 2.576 * math.sqrt(0.95 * 0.05 / n)
    assert abs(inside - 0.95) < half, (name, inside)
    # and the error is what the geometry says: metres to hundreds of metres, not kilometres off
    assert np.median(np.linalg.norm(err, axis=1)) < 5 * math.sqrt(np.trace(cov[0]))


def test_triangulate_single_is_exact_without_noise_and_refuses_bad_geometry() -> None:
    sensors, sigma = GEOMETRIES["three sensors"]
    u = _TARGET - sensors
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    x, cov = triangulate(sensors, u, sigma)
    assert np.linalg.norm(x - _TARGET) < 1e-3
    assert cov.shape == (3, 3) and np.all(np.linalg.eigvalsh(cov) > 0)
    with pytest.raises(ValueError, match="at least 2"):
        triangulate(sensors[:1], u[:1], sigma[:1])
    with pytest.raises(ValueError, match="parallel"):
        triangulate(sensors[:2], np.stack([u[0], u[0]]), sigma[:2])
    with pytest.raises(ValueError, match="positive"):
        triangulate(sensors, u, np.array([1e-5, 0.0, 1e-5]))
    with pytest.raises(ValueError, match="finite"):
        triangulate(sensors, u * np.array([[1.0], [np.nan], [1.0]]), sigma)


def test_triangulate_batch_masks_missing_lines() -> None:
    sensors, sigma = GEOMETRIES["three sensors"]
    u = _TARGET - sensors
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    valid = np.array([[True, True, False], [True, False, False], [False, True, True]])
    x, _, ok = triangulate_batch(
        np.broadcast_to(sensors, (3, 3, 3)).copy(),
        np.broadcast_to(u, (3, 3, 3)).copy(),
        np.tile(sigma, (3, 1)),
        valid,
    )
    assert ok.tolist() == [True, False, True]
    assert np.all(np.linalg.norm(x[ok] - _TARGET, axis=1) < 1e-3) and np.all(np.isnan(x[1]))


# ---------------------------------------------------------------- impact prediction
def _kepler_impact(r0: np.ndarray, v0: np.ndarray, mu: float, radius: float) -> tuple[np.ndarray, float]:
    """Closed-form vacuum impact on a non-rotating sphere (conic, Kepler's equation; Bate, Mueller &
    White, *Fundamentals of Astrodynamics*, 1971, ch. 2 and 4)."""
    rn, vn = np.linalg.norm(r0), np.linalg.norm(v0)
    hvec = np.cross(r0, v0)
    h = np.linalg.norm(hvec)
    evec = np.cross(v0, hvec) / mu - r0 / rn
    e = np.linalg.norm(evec)
    a = 1.0 / (2.0 / rn - vn * vn / mu)
    p = h * h / mu
    nu0 = math.atan2(np.dot(np.cross(evec, r0), hvec) / h, np.dot(evec, r0))
    nu_i = -math.acos((p / radius - 1.0) / e) % (2 * math.pi)  # descending branch
    nu0 %= 2 * math.pi

    def mean_anomaly(nu: float) -> float:
        ecc = 2.0 * math.atan2(math.sqrt(1 - e) * math.sin(nu / 2), math.sqrt(1 + e) * math.cos(nu / 2))
        return ecc - e * math.sin(ecc)

    dm = (mean_anomaly(nu_i) - mean_anomaly(nu0)) % (2 * math.pi)
    tof = dm * math.sqrt(a**3 / mu)
    ang = nu_i - nu0
    k = hvec / h
    rh = r0 / rn
    impact_dir = rh * math.cos(ang) + np.cross(k, rh) * math.sin(ang)
    return impact_dir * radius, tof


def test_vacuum_impact_point_matches_kepler() -> None:
    earth = VACUUM_SPHERE
    for lat, lon, alt, ve, vn_, vu in [
        (40.0, 125.0, 200e3, 2500.0, -1200.0, 1500.0),  # MRBM-like, rising
        (40.0, 127.0, 800e3, 4000.0, 1000.0, -500.0),  # IRBM-like, past apogee
        (10.0, -30.0, 150e3, 6000.0, 2000.0, 2500.0),  # ICBM-like
    ]:
        r0 = geodetic_to_ecef(lat, lon, alt, earth)
        e, n, u = enu_basis(np.array(lat), np.array(lon))
        v0 = ve * e + vn_ * n + vu * u
        ref_r, ref_t = _kepler_impact(r0, v0, earth.gm_m3_s2, earth.radius_m)
        imp, tof = impact_points(r0[None], v0[None], earth)
        assert np.linalg.norm(imp[0] - ref_r) < 5.0, np.linalg.norm(imp[0] - ref_r)  # metres
        assert abs(tof[0] - ref_t) < 5e-3, tof[0] - ref_t  # seconds


def test_impact_point_matches_scipy_dop853_in_rotating_j2_frame() -> None:
    r0 = geodetic_to_ecef(41.0, 128.0, 350e3)
    e, n, u = enu_basis(np.array(41.0), np.array(128.0))
    v0 = 3000.0 * e - 800.0 * n + 200.0 * u

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        return np.concatenate([y[3:], coast_accel_m_s2(y[None, :3], y[None, 3:], WGS84_EARTH)[0]])

    def ground(_t: float, y: np.ndarray) -> float:
        return float(ecef_to_geodetic(y[:3])[2])

    ground.terminal = True  # type: ignore[attr-defined]
    ground.direction = -1  # type: ignore[attr-defined]
    sol = solve_ivp(
        rhs, (0, 5000), np.concatenate([r0, v0]), method="DOP853", rtol=1e-11, atol=1e-6, events=ground
    )
    ref_r, ref_t = sol.y_events[0][0][:3], sol.t_events[0][0]
    imp, tof = impact_points(r0[None], v0[None])
    # the crossing uses height along the radius, the reference the geodetic height: equal at zero
    assert np.linalg.norm(imp[0] - ref_r) < 5.0
    assert abs(tof[0] - ref_t) < 5e-3


def test_impact_ellipse_matches_monte_carlo() -> None:
    t0 = np.datetime64("2026-11-30T12:00:00")
    r0 = geodetic_to_ecef(39.5, 127.0, 250e3)
    e, n, u = enu_basis(np.array(39.5), np.array(127.0))
    v0 = 2600.0 * e - 400.0 * n + 600.0 * u
    a = np.random.default_rng(1).standard_normal((6, 6))
    corr = a @ a.T + 6 * np.eye(6)
    sd = np.array([300.0, 300.0, 300.0, 4.0, 4.0, 4.0])
    cov = corr / np.sqrt(np.outer(np.diag(corr), np.diag(corr))) * np.outer(sd, sd)
    pred = predict_impact(t0, r0, v0, cov)
    assert pred.impacts and 0 < pred.time_to_impact_s < 1500
    # Monte Carlo: sample states, coast each, express in the tangent plane at the predicted point
    m = 3000
    xs = np.random.default_rng(RNG_SEED).multivariate_normal(np.concatenate([r0, v0]), cov, size=m)
    imp, tof = impact_points(xs[:, :3], xs[:, 3:])
    lat, lon = pred.impact_lat_deg, pred.impact_lon_deg
    ee, nn, _ = enu_basis(np.array(lat), np.array(lon))
    nominal = geodetic_to_ecef(lat, lon, 0.0)
    d = np.stack([(imp - nominal) @ ee, (imp - nominal) @ nn], axis=1) / 1000.0
    mc_cov = np.cov(d.T)
    assert pred.covariance_en_km2 is not None
    lin = pred.covariance_en_km2
    # sample covariance of 3000 draws: each variance within ~8 % (4 sigma of its sampling error)
    for i in range(2):
        assert abs(mc_cov[i, i] / lin[i, i] - 1.0) < 0.1, (mc_cov, lin)
    assert abs(np.mean(d[:, 0])) < 0.1 * math.sqrt(lin[0, 0]) + 0.05
    # containment: the 95 % ellipse holds 95 % of the sampled impacts
    d2 = np.einsum("ni,ij,nj->n", d, np.linalg.inv(lin), d)
    inside = np.mean(d2 <= stats.chi2.ppf(0.95, 2))
    assert abs(inside - 0.95) < 2.576 * math.sqrt(0.95 * 0.05 / m), inside
    # and the stated axes are that ellipse: area from the axes equals area from the covariance
    k = math.sqrt(stats.chi2.ppf(0.95, 2))
    assert pred.semi_major_km * pred.semi_minor_km == pytest.approx(
        k * k * math.sqrt(np.linalg.det(lin)), rel=1e-9
    )
    assert np.std(tof) == pytest.approx(pred.impact_time_sigma_s, rel=0.1)


def test_predict_impact_no_impact_and_bad_input() -> None:
    r0 = geodetic_to_ecef(0.0, 0.0, 500e3)
    e, _, _ = enu_basis(np.array(0.0), np.array(0.0))
    circ = math.sqrt(WGS84_EARTH.gm_m3_s2 / np.linalg.norm(r0))
    v_orbit = circ * e - np.cross([0, 0, WGS84_EARTH.omega_rad_s], r0)  # an orbit: never comes down
    p = predict_impact(np.datetime64("2026-01-01T00:00:00"), r0, v_orbit, np.eye(6), max_coast_s=3000.0)
    assert not p.impacts and np.isnan(p.impact_lat_deg) and np.isnat(p.impact_time_utc)
    with pytest.raises(ValueError, match="finite"):
        predict_impact(np.datetime64("2026-01-01"), r0 * np.nan, v_orbit, np.eye(6))
    with pytest.raises(ValueError, match=r"\(6, 6\)"):
        predict_impact(np.datetime64("2026-01-01"), r0, v_orbit, np.eye(3))
    b = predict_impact_batch(
        np.datetime64("2026-01-01"), np.stack([r0, r0]), np.stack([v_orbit, 0 * e]), np.stack([np.eye(6)] * 2)
    )
    assert np.isnan(b.time_to_impact_s[0]) and np.isfinite(b.time_to_impact_s[1])


# ---------------------------------------------------------------- track filter
def test_track_filter_position_and_velocity_covariance_is_consistent() -> None:
    """500 tracks of one coasting re-entry vehicle, fixes every 10 s with the stated covariance of a
    GEO + LEO pair: the filter's 6x6 covariance contains the truth at the stated rate (NEES of
    position and velocity within chi-square bounds) and the velocity is good to metres per second."""
    from kizuna.mw.tracking import coast, track_predict, track_start, track_update

    n, dt, steps = 500, 10.0, 30
    r0 = geodetic_to_ecef(40.0, 128.0, 300e3)
    e, nn, u = enu_basis(np.array(40.0), np.array(128.0))
    v0 = 2800.0 * e - 600.0 * nn + 1200.0 * u
    truth = [(r0, v0)]
    for _ in range(steps):
        truth.append(coast(truth[-1][0], truth[-1][1], dt, max_step_s=0.5))
    sensors, sigma = GEOMETRIES["GEO + LEO"]
    rng = np.random.default_rng(RNG_SEED)

    def fixes(k: int) -> tuple[np.ndarray, np.ndarray]:
        tr = truth[k][0]
        u_ = tr - sensors
        u_ /= np.linalg.norm(u_, axis=1, keepdims=True)
        _, cov = triangulate(sensors, u_, sigma)
        z = tr + rng.multivariate_normal(np.zeros(3), cov, size=n)
        return z, np.broadcast_to(cov, (n, 3, 3)).copy()

    z1, c1 = fixes(0)
    z2, c2 = fixes(1)
    # the truth coasts exactly as the process model does, so no process noise is needed: the test
    # is of the filter's algebra and linearisation, not of a tuning
    q = 1e-9
    x, p = track_start(z1, c1, z2, c2, dt, accel_psd_m2_s3=q)
    nis_all = []
    for k in range(2, steps + 1):
        x, p = track_predict(x, p, dt, accel_psd_m2_s3=q)
        z, c = fixes(k)
        x, p, nis = track_update(x, p, z, c)
        nis_all.append(nis)
    err = x - np.concatenate(truth[-1])[None]
    nees = np.einsum("ni,nij,nj->n", err, np.linalg.inv(p), err)
    lo, hi = stats.chi2.ppf([0.005, 0.995], 6 * n) / n
    assert lo < nees.mean() < hi, nees.mean()
    nis_mean = np.mean(nis_all)
    lo3, hi3 = stats.chi2.ppf([0.005, 0.995], 3 * n * len(nis_all)) / (n * len(nis_all))
    assert lo3 < nis_mean < hi3, nis_mean
    assert np.median(np.linalg.norm(err[:, 3:], axis=1)) < 10.0  # m/s after 5 minutes of track


def test_track_update_without_fix_keeps_prediction() -> None:
    from kizuna.mw.tracking import track_update

    x = np.arange(12.0).reshape(2, 6)
    p = np.stack([np.eye(6) * 100.0] * 2)
    xn, pn, nis = track_update(
        x, p, np.ones((2, 3)), np.stack([np.eye(3)] * 2), valid=np.array([True, False])
    )
    assert np.array_equal(xn[1], x[1]) and np.array_equal(pn[1], p[1]) and np.isnan(nis[1])
    # a fix of variance 1 against a prior of variance 100: gain 100/101 (scalar Kalman by hand)
    assert xn[0, 0] == pytest.approx(0.0 + 100.0 / 101.0 * (1.0 - 0.0))
    assert pn[0, 0, 0] == pytest.approx(100.0 / 101.0)


def test_track_continuity_by_hand() -> None:
    from kizuna.mw.tracking import track_continuity

    t = np.arange(0.0, 100.0, 10.0)  # 0..90
    tracked = np.array(
        [
            [0, 0, 1, 1, 0, 0, 0, 1, 1, 1],  # starts at 20, gap 30->70 (40 s) is a break
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # never tracked
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # held throughout
        ],
        dtype=bool,
    )
    c = track_continuity(t, tracked, max_gap_s=20.0)
    assert c.first_track_s[0] == 20.0 and np.isnan(c.first_track_s[1]) and c.first_track_s[2] == 0.0
    assert c.breaks.tolist() == [1, 0, 0]
    assert c.longest_gap_s.tolist() == [40.0, 0.0, 0.0]
    # launch 0 from t=20: samples 20..90 (8); not held at 60 (30 s after the fix at 30) only
    assert c.held_fraction[0] == pytest.approx(7 / 8)
    assert np.isnan(c.held_fraction[1]) and c.held_fraction[2] == 1.0
    # restricted to a phase (t >= 50): launch 0 is first tracked at 70
    c2 = track_continuity(t, tracked, max_gap_s=20.0, within=t >= 50)
    assert c2.first_track_s[0] == 70.0 and c2.breaks[0] == 0
