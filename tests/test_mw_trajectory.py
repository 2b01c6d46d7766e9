"""Threat trajectories against references this project did not write: the lofted North Korean
flights Japan's Ministry of Defense reported, the closed-form vacuum minimum-energy range, the
US Standard Atmosphere 1976 tables, conservation laws, and scipy's DOP853."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from kizuna.model.missile import (
    PHASE_BOOST,
    PHASE_GLIDE,
    PHASE_MIDCOURSE,
    PHASE_REENTRY,
    ThreatTrajectory,
)
from kizuna.mw import atmosphere
from kizuna.mw import trajectory as tj
from kizuna.mw.threats import MODELS, bundled_sites, model_for, parse_sites

SITES = bundled_sites()


def _miss_km(traj: ThreatTrajectory, lat: float, lon: float) -> float:
    ang, _ = tj.great_circle(lat, lon, traj.impact_lat_deg, traj.impact_lon_deg)
    return float(ang) * 6371.0088


# ---------------------------------------------------------------- atmosphere
@pytest.mark.parametrize(
    ("alt_m", "rho_ref", "sound_ref"),
    [
        # U.S. Standard Atmosphere 1976 (NOAA-S/T 76-1562), Table 1, geometric altitude.
        (0.0, 1.2250, 340.29),
        (11_000.0, 3.6480e-1, 295.15),
        (20_000.0, 8.8910e-2, 295.07),
        (50_000.0, 1.0269e-3, 329.80),
        (80_000.0, 1.8458e-5, 282.54),
        (100_000.0, 5.604e-7, None),
        (300_000.0, 1.916e-11, None),
    ],
)
def test_atmosphere_matches_the_1976_standard_tables(alt_m, rho_ref, sound_ref):
    z = np.array([alt_m])
    assert atmosphere.density(z)[0] == pytest.approx(rho_ref, rel=2e-3)
    assert atmosphere.density_fast(z)[0] == pytest.approx(rho_ref, rel=2e-3)
    if sound_ref is not None:
        assert atmosphere.speed_of_sound(z)[0] == pytest.approx(sound_ref, abs=0.05)


def test_atmosphere_table_is_faithful_between_nodes_and_zero_above_the_top():
    z = np.linspace(0.0, 999_000.0, 20_011)
    rel = atmosphere.density_fast(z) / atmosphere.density(z) - 1.0
    assert np.max(np.abs(rel)) < 3e-4
    assert atmosphere.density_fast(np.array([1_200_000.0]))[0] < 1e-100
    back = atmosphere.altitude_of_density(atmosphere.density(np.array([30_000.0, 60_000.0])))
    np.testing.assert_allclose(back, [30_000.0, 60_000.0], atol=1.0)


# ---------------------------------------------------------------- vacuum closed forms
def _vacuum_states(speeds: np.ndarray, gamma_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r0 = tj.VACUUM_SPHERE.radius_m
    g = np.radians(gamma_deg)
    r = np.tile([r0, 0.0, 0.0], (len(speeds), 1))
    v = np.stack([speeds * np.sin(g), speeds * np.cos(g), np.zeros_like(speeds)], axis=1)
    return r, v


def test_minimum_energy_range_against_the_closed_form_vacuum_solution():
    """Spherical, non-rotating, no drag: from burnout speed v at the surface the largest range
    angle is psi = 2 asin(nu / (2 - nu)), nu = v^2 r / mu, flown at gamma = (pi - psi) / 4
    (Regan & Anandakrishnan 1993, eqs. 2.42-2.44)."""
    earth = tj.VACUUM_SPHERE
    radius, mu = earth.radius_m, earth.gm_m3_s2
    speeds = np.array([1_500.0, 3_000.0, 5_000.0, 6_500.0, 7_200.0])
    nu = speeds**2 * radius / mu
    psi = 2.0 * np.arcsin(nu / (2.0 - nu))
    gamma = tj.optimal_gamma_deg(psi)
    # The closed-form optimum and one degree either side.
    r, v = _vacuum_states(np.repeat(speeds, 3), np.concatenate([gamma[:, None] + [0.0, -1.0, 1.0]]).ravel())
    flights = tj.coast(r, v, model_for("ICBM"), earth)
    ranges = np.array([math.atan2(f["r"][-1][1], f["r"][-1][0]) for f in flights]).reshape(-1, 3)
    np.testing.assert_allclose(ranges[:, 0] * radius, psi * radius, rtol=1e-8)
    assert np.all(ranges[:, 1:] < ranges[:, :1])  # the optimum is a maximum


def test_vacuum_coast_conserves_energy_and_angular_momentum():
    earth = tj.VACUUM_SPHERE
    mu = earth.gm_m3_s2
    r, v = _vacuum_states(np.array([7_000.0]), np.array([60.0]))
    f = tj.coast(r, v, model_for("ICBM"), earth)[0]
    energy = 0.5 * np.sum(f["v"] ** 2, axis=1) - mu / np.linalg.norm(f["r"], axis=1)
    h = np.cross(f["r"], f["v"])
    assert f["time_s"][-1] > 2_000.0  # a long flight: the check means something
    assert np.max(np.abs(energy / energy[0] - 1.0)) < 1e-9
    assert np.max(np.linalg.norm(h - h[0], axis=1)) / np.linalg.norm(h[0]) < 1e-9


def test_rotating_oblate_coast_conserves_the_jacobi_integral():
    """With J2 and the frame terms but no air, the Jacobi integral
    v^2/2 - w^2 (x^2 + y^2)/2 + U(r) of the rotating frame and the polar angular momentum of
    the inertial motion are constant."""
    earth = tj.EarthModel(name="vacuum-oblate-rotating", drag=False)
    lat, lon = 39.0, 125.7
    r0 = tj.geodetic_to_ecef(lat, lon, 200_000.0, earth)[None, :]
    east, north, up = tj.enu_basis(np.array([lat]), np.array([lon]))
    v0 = 6_000.0 * (0.6 * up + 0.8 * (0.7 * east + 0.3 * north) / np.linalg.norm(0.7 * east + 0.3 * north))
    f = tj.coast(r0, v0, model_for("ICBM"), earth)[0]
    r, v = f["r"], f["v"]
    rn = np.linalg.norm(r, axis=1)
    w, mu, a, j2 = earth.omega_rad_s, earth.gm_m3_s2, earth.radius_m, earth.j2
    potential = -mu / rn + mu * j2 * a**2 / rn**3 * (1.5 * (r[:, 2] / rn) ** 2 - 0.5)
    jacobi = 0.5 * np.sum(v**2, axis=1) - 0.5 * w**2 * (r[:, 0] ** 2 + r[:, 1] ** 2) + potential
    vin = tj.inertial_velocity_m_s(r, v, earth)
    hz = r[:, 0] * vin[:, 1] - r[:, 1] * vin[:, 0]
    assert np.max(np.abs(jacobi / jacobi[0] - 1.0)) < 1e-9
    assert np.max(np.abs(hz / hz[0] - 1.0)) < 1e-9


# ---------------------------------------------------------------- the fast integrator vs DOP853
def _dop853_flight(launch: tj.Launch, model_name: str) -> tuple[np.ndarray, float, float]:
    """The same boost, guidance and forces integrated segment by segment with scipy's DOP853 at
    rtol 1e-10 (an independent integrator; the force model is shared)."""
    model = MODELS[model_name]
    earth = tj.WGS84_EARTH
    b = tj._batch(
        model,
        earth,
        launch.launch_lat_deg,
        launch.launch_lon_deg,
        launch.target_lat_deg,
        launch.target_lon_deg,
        launch.kick_east_deg,
        launch.kick_north_deg,
        launch.cutoff_s,
    )
    veh = tj._Vehicle.of(model)
    hor = np.radians(b.kick_east_deg)[:, None] * b.east + np.radians(b.kick_north_deg)[:, None] * b.north
    tilt = np.linalg.norm(hor, axis=1)
    kdir = hor / tilt[:, None]
    y = np.concatenate([b.launch_ecef_m[0], np.zeros(3)])
    t = 0.0
    for seg in tj._segments(model):
        end = min(seg.end_s, launch.cutoff_s)
        if end <= seg.start_s:
            continue

        def rhs(tt, yy, seg=seg):
            a = tj._accel_boost(np.array([tt]), yy[None, :3], yy[None, 3:], seg, veh, b, kdir, tilt)
            return np.concatenate([yy[3:], a[0]])

        sol = solve_ivp(rhs, (t, end), y, method="DOP853", rtol=1e-10, atol=1e-6)
        y, t = sol.y[:, -1], end
    burnout = y.copy()

    def rhs_coast(tt, yy):
        a = tj._accel_coast(yy[None, :3], yy[None, 3:], b)
        return np.concatenate([yy[3:], a[0]])

    def ground(tt, yy):
        return tj.height_m(yy[None, :3], earth)[0] if tt > t + 1.0 else 1.0

    ground.terminal = True
    ground.direction = -1
    sol = solve_ivp(rhs_coast, (t, t + 4 * 3600.0), y, method="DOP853", rtol=1e-10, atol=1e-6, events=ground)
    return sol.y_events[0][0][:3], float(sol.t_events[0][0]), float(np.linalg.norm(burnout[3:]))


@pytest.mark.parametrize(
    ("threat_class", "model_name", "to"),
    [("IRBM", "hwasong-12-like", "kadena"), ("ICBM", "hwasong-17-like", "guam")],
)
def test_batch_rk4_agrees_with_dop853(threat_class, model_name, to):
    s0, s1 = SITES["sunan"], SITES[to]
    launch = tj.solve_launch(threat_class, s0.lat_deg, s0.lon_deg, s1.lat_deg, s1.lon_deg)
    traj = tj.fly_batch([launch], threat_class)[0]
    impact, t_impact, v_bo = _dop853_flight(launch, model_name)
    assert np.linalg.norm(traj.position_ecef_m[-1] - impact) < 100.0  # metres, after 10-25 min
    assert traj.flight_time_s == pytest.approx(t_impact, abs=0.1)
    assert tj.burnout_speed_m_s(traj) == pytest.approx(v_bo, abs=0.05)


def test_batch_members_do_not_mix():
    """N launches in one batch fly exactly as each would alone (a Monte Carlo over azimuth)."""
    s0 = SITES["sunan"]
    launches = []
    for az in (60.0, 120.0, 170.0):
        lat, lon = tj.destination(s0.lat_deg, s0.lon_deg, az, 900.0)
        launches.append(
            tj.Launch(
                s0.lat_deg,
                s0.lon_deg,
                lat,
                lon,
                20 * math.sin(math.radians(az)),
                20 * math.cos(math.radians(az)),
                130.0,
            )
        )
    together = tj.fly_batch(launches, "IRBM")
    for launch, traj in zip(launches, together, strict=True):
        alone = tj.fly_batch([launch], "IRBM")[0]
        np.testing.assert_allclose(traj.position_ecef_m, alone.position_ecef_m, rtol=0, atol=1e-6)
        assert traj.flight_time_s == alone.flight_time_s
    headings = [
        tj.great_circle(s0.lat_deg, s0.lon_deg, t.impact_lat_deg, t.impact_lon_deg)[1] for t in together
    ]
    assert len({round(float(h)) for h in headings}) == 3


# ---------------------------------------------------------------- the reported lofted flights
@pytest.mark.parametrize(
    ("case", "site", "model_name", "apogee_km", "range_km", "azimuth_deg", "flight_min"),
    [
        # Japan MoD, 29 Nov 2017 (Hwasong-15): about 53 min, about 1,000 km, apogee well over
        # 4,000 km; the KCNA figures Japan quoted: 4,475 km apogee, 950 km range.
        ("2017-11-29 Hwasong-15", "pyongsong", "hwasong-15-like", 4475.0, 950.0, 95.0, 53.0),
        # Japan MoD, 18 Nov 2022 (Hwasong-17): about 69 min, about 1,000 km, apogee about 6,000
        # km (KCNA: 6,040.9 km, 999.2 km, 4,135 s).
        ("2022-11-18 Hwasong-17", "sunan", "hwasong-17-like", 6040.9, 999.2, 85.0, 4135.0 / 60.0),
        # Japan MoD, 14 May 2017 (Hwasong-12): about 30 min, about 800 km, apogee over 2,000 km
        # (KCNA: 2,111.5 km, 787 km).
        ("2017-05-14 Hwasong-12", "kusong", "hwasong-12-like", 2111.5, 787.0, 110.0, 30.0),
    ],
)
def test_lofted_flights_reproduce_the_reported_flight_times(
    case, site, model_name, apogee_km, range_km, azimuth_deg, flight_min
):
    s = SITES[site]
    lat, lon = tj.destination(s.lat_deg, s.lon_deg, azimuth_deg, range_km)
    model = MODELS[model_name]
    traj = tj.fly(model.threat_class, s.lat_deg, s.lon_deg, lat, lon, "lofted", apogee_km, model=model)
    assert traj.apogee_km == pytest.approx(apogee_km, rel=0.005), case
    assert traj.ground_range_km == pytest.approx(range_km, abs=2.0), case
    assert traj.flight_time_s / 60.0 == pytest.approx(flight_min, rel=0.03), case


# ---------------------------------------------------------------- profiles and the record
@pytest.fixture(scope="module")
def icbm_profiles() -> dict[str, ThreatTrajectory]:
    s0, s1 = SITES["sunan"], SITES["guam"]
    out = {}
    for profile, apogee in (("minimum_energy", None), ("lofted", 2500.0), ("depressed", None)):
        out[profile] = tj.fly("ICBM", s0.lat_deg, s0.lon_deg, s1.lat_deg, s1.lon_deg, profile, apogee)
    return out


def test_profiles_hit_the_target_and_order_apogee_and_time(icbm_profiles):
    guam = SITES["guam"]
    for traj in icbm_profiles.values():
        assert _miss_km(traj, guam.lat_deg, guam.lon_deg) < 0.1
    me, lo, de = icbm_profiles["minimum_energy"], icbm_profiles["lofted"], icbm_profiles["depressed"]
    assert lo.apogee_km == pytest.approx(2500.0, rel=0.005)
    assert de.apogee_km == pytest.approx(0.6 * me.apogee_km, rel=0.01)
    assert de.apogee_km < me.apogee_km < lo.apogee_km
    assert de.flight_time_s < me.flight_time_s < lo.flight_time_s
    # Minimum energy: the least burnout speed of the three.
    speeds = {k: tj.burnout_speed_m_s(t) for k, t in icbm_profiles.items()}
    assert speeds["minimum_energy"] < min(speeds["lofted"], speeds["depressed"])


def test_record_phases_signatures_and_summary(icbm_profiles):
    traj = icbm_profiles["minimum_energy"]
    model = model_for("ICBM")
    h_km = tj.height_m(traj.position_ecef_m, tj.WGS84_EARTH) / 1000.0
    assert traj.apogee_km == pytest.approx(h_km.max(), abs=0.05)
    assert traj.flight_time_s == traj.time_s[-1]
    assert abs(h_km[-1]) < 1e-3 and h_km[0] == pytest.approx(0.0, abs=1e-6)
    boost = traj.phase == PHASE_BOOST
    assert np.all(traj.time_s[boost] < traj.burnout_time_s)
    assert np.all(traj.ir_intensity_w_sr[boost] > 1e5) and np.all(traj.ir_intensity_w_sr[~boost] == 0.0)
    assert np.all(traj.rcs_m2[boost] == model.booster_rcs_m2)
    assert np.all(traj.rcs_m2[~boost] == model.rv_rcs_m2)
    # Phases in order: boost, midcourse, re-entry; re-entry below 100 km on the way down.
    codes = traj.phase[np.concatenate([[True], np.diff(traj.phase) != 0])].tolist()
    assert codes == [PHASE_BOOST, PHASE_MIDCOURSE, PHASE_REENTRY]
    assert np.all(h_km[traj.phase == PHASE_REENTRY] < 100.0)
    # The stated boost: burnout no later than the stack's burn time, at the (inertial) speed
    # the vacuum minimum-energy solution needs for the free-flight range, within losses to
    # drag on the way down and to the burnout altitude (Regan & Anandakrishnan eq. 2.43:
    # nu = 2 sin(psi/2) / (1 + sin(psi/2))).
    assert 150.0 < traj.burnout_time_s <= model.burn_s + 1e-9
    r_bo, v_bo = tj.sample(traj, np.array([traj.burnout_time_s]))
    v_in = float(np.linalg.norm(tj.inertial_velocity_m_s(r_bo, v_bo, tj.WGS84_EARTH)))
    lat_bo, lon_bo, _ = tj.ecef_to_geodetic(r_bo[0])
    psi, _ = tj.great_circle(lat_bo, lon_bo, traj.impact_lat_deg, traj.impact_lon_deg)
    s = math.sin(float(psi) / 2.0)
    v_closed = math.sqrt(2.0 * s / (1.0 + s) * tj.WGS84_GM_M3_S2 / float(np.linalg.norm(r_bo)))
    assert 0.97 < v_in / v_closed < 1.05
    # Samples on the Hermite interpolant reproduce the stored samples.
    r, v = tj.sample(traj, traj.time_s[5:8])
    np.testing.assert_allclose(r, traj.position_ecef_m[5:8], atol=1e-6)


@pytest.mark.parametrize(
    ("name", "low_km", "high_km"),
    [
        # Published ranges: Scud-B ~300 km, Nodong ~1,300 km, Hwasong-12 ~4,500 km,
        # Hwasong-15 over 13,000 km, Hwasong-17 over 15,000 km (CSIS Missile Threat). Near
        # orbital speed the eastward range grows fast with burnout speed, so the ICBM bands
        # only bound it below by the published figure and above by a half circumference.
        ("scud-b-like", 270.0, 340.0),
        ("nodong-like", 1_150.0, 1_500.0),
        ("hwasong-12-like", 3_800.0, 5_200.0),
        ("hwasong-15-like", 13_000.0, 20_000.0),
        ("hwasong-17-like", 15_000.0, 20_000.0),
    ],
)
def test_each_class_reaches_its_published_range(name, low_km, high_km):
    assert low_km < tj.max_range_km(MODELS[name], 39.0, 125.7, 90.0) < high_km


def test_unreachable_target_and_impossible_apogee_are_refused():
    s0, s1 = SITES["sunan"], SITES["guam"]
    with pytest.raises(tj.ShootingError, match="beyond the reach"):
        tj.fly("SRBM", s0.lat_deg, s0.lon_deg, s1.lat_deg, s1.lon_deg)
    lat, lon = tj.destination(s0.lat_deg, s0.lon_deg, 90.0, 200.0)
    with pytest.raises(tj.ShootingError):
        tj.fly("SRBM", s0.lat_deg, s0.lon_deg, lat, lon, "lofted", 2_000.0)


def test_glide_vehicle_glides_manoeuvres_and_hits():
    s0, s1 = SITES["beijing"], SITES["kadena"]
    traj = tj.fly("HGV", s0.lat_deg, s0.lon_deg, s1.lat_deg, s1.lon_deg, "glide")
    assert traj.profile == "glide" and traj.threat_class == "HGV"
    assert _miss_km(traj, s1.lat_deg, s1.lon_deg) < tj.GLIDE_MISS_KM
    glide = traj.phase == PHASE_GLIDE
    assert np.count_nonzero(glide) > 50
    h_km = tj.height_m(traj.position_ecef_m, tj.WGS84_EARTH) / 1000.0
    t_glide = traj.time_s[glide]
    mid = glide & (traj.time_s > t_glide[0] + 60.0) & (traj.time_s < t_glide[-1] - 120.0)
    # Equilibrium glide: 25-60 km, far below a ballistic apogee for the range.
    assert h_km[mid].min() > 25.0 and h_km[mid].max() < 60.0
    assert traj.apogee_km < 120.0
    # Bank reversals: the heading error to the target changes sign during the glide.
    err = tj._heading_error_rad(
        traj.position_ecef_m[mid],
        traj.velocity_ecef_m_s[mid],
        tj.geodetic_to_ecef(s1.lat_deg, s1.lon_deg)[None, :],
    )
    assert np.any(err > 0.02) and np.any(err < -0.02)
    assert np.all(traj.ir_intensity_w_sr[glide] == model_for("HGV").hot_body_w_sr)


def test_sites_carry_sources_and_bad_rows_are_named():
    assert {"sunan", "pyongsong", "tokyo", "kadena", "guam"} <= set(SITES)
    assert all(s.source.startswith("https://") for s in SITES.values())
    header = "name,kind,lat_deg,lon_deg,country,description,source\n"
    with pytest.raises(ValueError, match=r"x.csv: line 3: lat_deg 'north' is not a number"):
        parse_sites(header + "a,launch,1,2,X,d,s\nb,target,north,2,X,d,s\n", "x.csv")
    with pytest.raises(ValueError, match=r"line 2: source is empty"):
        parse_sites(header + "a,launch,1,2,X,d,\n", "x.csv")


def test_with_azimuth_turns_the_shot_and_keeps_its_distance():
    s0 = SITES["sunan"]
    lat, lon = tj.destination(s0.lat_deg, s0.lon_deg, 100.0, 1_000.0)
    base = tj.Launch(
        s0.lat_deg,
        s0.lon_deg,
        lat,
        lon,
        20.0 * math.sin(math.radians(100.0)),
        20.0 * math.cos(math.radians(100.0)),
        110.0,
    )
    same = base.with_azimuth(100.0)
    assert same.kick_east_deg == pytest.approx(base.kick_east_deg)
    assert same.kick_north_deg == pytest.approx(base.kick_north_deg)
    assert (same.target_lat_deg, same.target_lon_deg) == pytest.approx((lat, lon), abs=1e-6)
    south = base.with_azimuth(180.0)
    assert south.kick_east_deg == pytest.approx(0.0, abs=1e-12) and south.kick_north_deg == pytest.approx(
        -20.0
    )
    ang, az = tj.great_circle(s0.lat_deg, s0.lon_deg, south.target_lat_deg, south.target_lon_deg)
    assert float(ang) * 6371.0088 == pytest.approx(1_000.0, abs=0.01)
    assert float(az) == pytest.approx(180.0, abs=1e-6)
