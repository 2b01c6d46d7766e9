"""The architecture assessment: track covariance against a Monte Carlo of noisy lines of sight,
the velocity-fit factors against numpy's least squares, first detection and stereo times on the
hand-checked geometry, and architecture comparisons on flown trajectories."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from tests.test_mw_sensors import LAUNCH, geo_sensor, vertical_rise

from kizuna.model.missile import PHASE_NAMES
from kizuna.mw.assess import AssessConfig, _fit_factors, assess, summary_row, track_information
from kizuna.mw.detection import Detections, SensorTable
from kizuna.mw.sensors import Architecture, load_architectures


def test_fit_factors_against_numpy_least_squares():
    """Endpoint-position and slope variances of a straight-line fit: (X^T X)^-1 from numpy."""
    dt = 2.0
    for n in (2, 3, 7, 11):
        x = -dt * np.arange(n)[::-1]
        design = np.stack([np.ones(n), x], axis=1)
        cov = np.linalg.inv(design.T @ design)
        pos, cross, vel = _fit_factors(np.array([n]), 50, dt)
        assert pos[0] == pytest.approx(cov[0, 0], rel=1e-12)
        assert vel[0] == pytest.approx(cov[1, 1], rel=1e-12)
        assert cross[0] == pytest.approx(cov[0, 1], rel=1e-12)
    pos, _, vel = _fit_factors(np.array([1, 0]), 50, dt)
    assert pos[0] == 1.0 and np.isinf(vel).all()


def test_triangulation_covariance_contains_a_monte_carlo_of_noisy_lines_of_sight():
    """Two sensors, 30 and 100 urad noise, crossing lines of sight: the information-form P from
    track_information matches the scatter of least-squares intersections of noisy lines of sight
    (weighted by 1 / (range sigma)^2, numpy lstsq, 4,000 draws) within 10% per axis, and ~95% of draws fall inside the 95% ellipsoid
    (chi-square 3 dof: 7.815)."""
    target = np.array([-3.5e6, 4.5e6, 3.8e6])
    sensors = np.array([[-2.4e7, 3.5e7, 0.0], [-4.0e6, 5.0e6, 4.6e6]])
    sigma = np.array([30e-6, 100e-6])
    rel = target - sensors
    rng_m = np.linalg.norm(rel, axis=1)
    u = rel / rng_m[:, None]
    det = Detections(
        looked=np.ones((1, 2, 1), bool),
        held=np.ones((1, 2, 1), bool),
        range_m=rng_m.reshape(1, 2, 1),
        los_unit=u.reshape(1, 2, 1, 3),
    )
    table = SensorTable.from_sensors([geo_sensor(), geo_sensor()])
    table = SensorTable(**{**table.__dict__, "sigma_rad": sigma})
    info, _, tracked = track_information(det, table, 1.0)
    assert tracked[0, 0]
    p = np.linalg.inv(info[0, 0])
    rng = np.random.default_rng(7)
    draws = 4000
    est = np.empty((draws, 3))
    for k in range(draws):
        a, b = np.zeros((3, 3)), np.zeros(3)
        for j in range(2):
            noisy = u[j] + sigma[j] * rng.standard_normal(3)
            noisy /= np.linalg.norm(noisy)
            proj = np.eye(3) - np.outer(noisy, noisy)
            w = 1.0 / (rng_m[j] * sigma[j]) ** 2  # a miss of angle e is rho e metres off the line
            a += proj * w
            b += proj @ sensors[j] * w
        est[k] = np.linalg.lstsq(a, b, rcond=None)[0]
    err = est - target
    emp = np.cov(err.T)
    assert np.allclose(np.sqrt(np.diag(emp)), np.sqrt(np.diag(p)), rtol=0.1)
    d2 = np.einsum("ki,ij,kj->k", err, np.linalg.inv(p), err)
    assert 0.93 < np.mean(d2 <= 7.815) < 0.97


def _two_geo() -> Architecture:
    return Architecture("two-geo", "", (geo_sensor(125.0), geo_sensor(150.0)))


def test_assess_first_detection_stereo_and_warning_on_the_hand_geometry():
    """The hand-checked launch (see test_mw_sensors): one GEO sensor right above sees it at the
    first look after 25.8 s; a second GEO sensor 25 deg east shares the 10 s frames (revisit
    phases drawn per launch and sensor), so the stereo time is the later of the two first looks."""
    traj = vertical_rise(lambda t: np.full(len(t), 1e5))
    one = Architecture("one-geo", "", (geo_sensor(125.0),))
    config = AssessConfig(step_s=1.0)
    r1 = assess([traj], one, config=config, seed=3)
    rng = np.random.default_rng(3)
    phase = rng.uniform(0.0, 1.0, size=(1, 1)).T[0, 0] * 10.0
    # Frames open at m * 10 - phase; the first look at or after 25.82 s, on the 1 s grid.
    starts = np.arange(0, 20) * 10.0 - phase
    expected = float(np.ceil(starts[starts >= 25.82 - 1e-9][0]))
    assert r1.first_detection_s[0] == expected
    assert np.isnan(r1.stereo_s[0])  # one sensor alone never makes a stereo track
    assert r1.tracked_fraction[0, PHASE_NAMES.index("boost")] == 0.0
    r2 = assess([traj], _two_geo(), config=config, seed=3)
    assert r2.first_detection_s[0] <= r1.first_detection_s[0] + 1e-9
    assert r2.stereo_s[0] >= r2.first_detection_s[0]
    assert r2.warning_time_s[0] == pytest.approx(traj.flight_time_s - r2.stereo_s[0])
    assert 0.0 < r2.tracked_fraction[0, 0] < 1.0
    # Position accuracy of a GEO stereo pair 25 deg apart: tens of urad at 36,000 km, about 1-5 km.
    assert 0.5 < r2.track_position_sigma_km[0] < 5.0


@pytest.fixture(scope="module")
def flights():
    """Ten launches from Wonsan towards Tokyo (the steering the shooting finds for that pair)
    with launch times over a day and +-5 deg of azimuth."""
    from kizuna.mw.trajectory import Launch, fly_batch

    # solve_launch("IRBM", 39.17, 127.52, 35.68, 139.77, "minimum_energy") (13 s, not rerun here)
    aim = Launch(39.17, 127.52, 35.68, 139.77, 39.1827, -9.5274, 94.015)
    aim_az = float(np.degrees(np.arctan2(aim.kick_east_deg, aim.kick_north_deg)))
    rng = np.random.default_rng(11)
    launches = [aim.with_azimuth(aim_az + d) for d in rng.uniform(-5, 5, 10)]
    times = LAUNCH + (rng.uniform(0, 86400, 10) * 1e9).astype("timedelta64[ns]")
    return fly_batch(launches, "IRBM", "minimum_energy", list(times))


def test_more_layers_never_see_later(flights):
    """Same launches, same seed: a superset of sensors detects no later, tracks no less."""
    archs = {
        a.name: a for a in load_architectures(["geo", "geo-leo", "all"], datetime(2026, 11, 30, tzinfo=UTC))
    }
    res = {n: assess(flights, a, seed=5) for n, a in archs.items()}
    assert np.all(res["geo-leo"].first_detection_s <= res["geo"].first_detection_s)
    assert np.all(res["all"].first_detection_s <= res["geo-leo"].first_detection_s)
    mid = PHASE_NAMES.index("midcourse")
    assert np.all(res["geo-leo"].tracked_fraction[:, mid] >= res["geo"].tracked_fraction[:, mid])
    # GEO's short-wave sensors lose the missile at burnout; the LEO layer's long-wave band keeps it.
    assert np.nanmedian(res["geo"].tracked_fraction[:, mid]) < 0.1
    assert np.nanmedian(res["geo-leo"].tracked_fraction[:, mid]) > 0.9
    # Every launch is detected in boost by GEO: within the first minute and a half.
    assert np.all(res["geo"].first_detection_s < 90.0)
    row = summary_row("irbm", res["all"])
    assert row["detected_pct"] == 100.0 and row["launches"] == 10


def test_never_detected_counts_as_such():
    """A sensor on the far side of the Earth: no detection, no stereo, NaN times, 0% detected."""
    traj = vertical_rise(lambda t: np.full(len(t), 1e5))
    blind = Architecture("blind", "", (geo_sensor(-55.0), geo_sensor(-40.0)))
    r = assess([traj], blind, config=AssessConfig(step_s=1.0))
    assert np.isnan(r.first_detection_s[0]) and np.isnan(r.stereo_s[0]) and r.first_sensor == [""]
    row = summary_row("rise", r)
    assert row["detected_pct"] == 0.0 and np.isnan(row["first_detection_s"])  # type: ignore[arg-type]


def test_chunking_does_not_change_results(flights):
    arch = load_architectures(["geo-heo"], datetime(2026, 11, 30, tzinfo=UTC))[0]
    whole = assess(flights, arch, seed=2)
    parts = assess(flights, arch, seed=2, config=AssessConfig(chunk_elements=1))
    assert np.array_equal(whole.first_detection_s, parts.first_detection_s, equal_nan=True)
    assert np.allclose(whole.track_position_sigma_km, parts.track_position_sigma_km, equal_nan=True)


def test_interpolated_sensor_positions_within_a_metre_of_sgp4():
    """Hermite between SGP4 knots 30 s apart vs SGP4 at every instant, for the VLEO (250 km),
    LEO and HEO sensors, over two windows hours apart (a gap the knots must bridge): within a metre
    (the Hermite error bound h^4 w^4 r / 384 is 3 cm at 250 km)."""
    from kizuna.mw.sensors import sensor_positions_ecef_m

    arch = load_architectures(["geo-leo-vleo"], datetime(2026, 11, 30, tzinfo=UTC))[0]
    sensors = [s for s in arch.sensors if s.element_set is not None][::5]
    step = np.timedelta64(2, "s")
    times = np.concatenate(
        [LAUNCH + np.arange(400) * step, LAUNCH + np.timedelta64(5, "h") + np.arange(300) * step]
    )
    exact = sensor_positions_ecef_m(sensors, times)
    fast = sensor_positions_ecef_m(sensors, times, interpolate_s=30.0)
    miss_m = np.linalg.norm(fast - exact, axis=-1)
    heo = np.array([s.kind == "heo" for s in sensors])
    assert np.max(miss_m[~heo]) < 1.0
    # SDP4's deep-space velocity is not exactly the derivative of its position (about 1 m/s for the
    # 12 h HEO orbit), so there Hermite misses by metres: 0.3 urad seen from 30,000 km, against 40
    # urad of noise.
    assert np.max(miss_m[heo]) < 10.0


def test_stereo_covariance_equals_the_tracking_triangulation():
    """The assessment's information-form fix covariance and kizuna.mw.tracking.triangulate (the
    track products' triangulation) agree for the same two lines of sight."""
    from kizuna.mw.tracking import triangulate

    target = np.array([-3.5e6, 4.5e6, 3.8e6])
    sensors = np.array([[-2.4e7, 3.5e7, 0.0], [-4.0e6, 5.0e6, 4.6e6]])
    sigma = np.array([30e-6, 100e-6])
    rel = target - sensors
    rng_m = np.linalg.norm(rel, axis=1)
    u = rel / rng_m[:, None]
    det = Detections(
        looked=np.ones((1, 2, 1), bool),
        held=np.ones((1, 2, 1), bool),
        range_m=rng_m.reshape(1, 2, 1),
        los_unit=u.reshape(1, 2, 1, 3),
    )
    table = SensorTable(
        **{**SensorTable.from_sensors([geo_sensor(), geo_sensor()]).__dict__, "sigma_rad": sigma}
    )
    info, _, _ = track_information(det, table, 1.0)
    position, covariance = triangulate(sensors, u, sigma)
    assert np.allclose(position, target, atol=1e-3)
    assert np.allclose(np.linalg.inv(info[0, 0]), covariance, rtol=1e-6)


def test_impact_predictions_close_in_on_the_true_impact(flights):
    """Along a tracked coast the 95% ellipse shrinks as the track lengthens (median over launches,
    first vs last epoch) and holds the true impact point for most predictions."""
    arch = load_architectures(["geo-leo"], datetime(2026, 11, 30, tzinfo=UTC))[0]
    a = assess(flights, arch, seed=9)
    have = np.isfinite(a.impact_semi_major_km)
    assert have.sum() > 50
    assert np.all(np.isfinite(a.impact_call_s))
    inside = a.impact_miss_km[have] <= a.impact_semi_major_km[have]
    assert inside.mean() > 0.85
    # The impact call comes after burnout and leaves most of the flight as warning.
    assert np.all(a.impact_call_s > np.array([f.burnout_time_s for f in flights]))
    assert np.all(a.impact_warning_s > 0.5 * (a.flight_time_s - a.impact_call_s))


def test_no_ballistic_impact_prediction_for_a_glide_vehicle():
    """The same tracked coast gets impact predictions as a ballistic flight, none once the flight
    has a glide phase (a ballistic predictor cannot say where a glide vehicle comes down)."""
    from dataclasses import replace

    from kizuna.model.missile import PHASE_GLIDE, PHASE_MIDCOURSE

    rise = vertical_rise(lambda t: np.full(len(t), 1e5), seconds=200)
    phase = np.where(rise.time_s < 60.0, 0, PHASE_MIDCOURSE).astype(np.int8)
    coast = replace(rise, phase=phase, burnout_time_s=60.0)
    glide = replace(rise, phase=np.where(rise.time_s > 180.0, PHASE_GLIDE, phase).astype(np.int8))
    config = AssessConfig(step_s=1.0, warning_ellipse_km=1e6)
    ballistic = assess([coast], _two_geo(), config=config)
    assert np.isfinite(ballistic.impact_semi_major_km).any() and np.isfinite(ballistic.impact_call_s[0])
    gliding = assess([glide], _two_geo(), config=config)
    assert not np.isfinite(gliding.impact_semi_major_km).any() and np.isnan(gliding.impact_call_s[0])
