"""Threat trajectories: ballistic missiles (minimum-energy, lofted, depressed) and glide vehicles,
flown from a launch site to a target over a rotating oblate Earth with drag.

Dynamics. The state is Earth-fixed (WGS-84 ECEF, metres, m/s), so the equations of motion carry
the Coriolis ``-2 w x v`` and centrifugal ``-w x (w x r)`` terms; gravity is the point mass plus
J2 (WGS-84 / EGM96 values); the air co-rotates with the Earth, so the air-relative velocity is the
Earth-fixed one; density and speed of sound come from the US Standard Atmosphere 1976
(:mod:`kizuna.mw.atmosphere`). :class:`EarthModel` can switch each effect off, and
:data:`VACUUM_SPHERE` (spherical, non-rotating, no air) is the model closed-form checks run
against.

Boost. Each class flies a stated stage stack (:mod:`kizuna.mw.threats`): a vertical rise, a
pitch-over that tilts the thrust by a kick angle towards an azimuth, then a gravity turn (thrust
along the air-relative velocity) until burnout of the last stage or an earlier thrust
termination (``cutoff_s``), after which the re-entry vehicle flies alone with its own ballistic
coefficient.

Shooting. :func:`fly` solves for the kick (as east and north tilt components, which stay well
conditioned for the near-vertical kicks of lofted shots) and the cutoff time so that the impact
point is the target and a third condition holds:

- ``minimum_energy``: the burnout flight-path angle (inertial) equals the vacuum optimum
  ``(pi - psi) / 4`` for the burnout-to-target range angle ``psi`` (Wheelon 1959; Regan &
  Anandakrishnan, *Dynamics of Atmospheric Re-Entry*, 1993, eq. 2.44). Drag during boost and the
  Earth's rotation move the true optimum by under a degree, and range is stationary about it, so
  the energy given away is second order.
- ``lofted`` / ``depressed``: the apogee equals the one requested (higher, resp. lower, than the
  minimum-energy apogee). Without ``apogee_km``, ``lofted`` burns to depletion on the high branch
  and ``depressed`` flies to 60 % of the minimum-energy apogee.

Integration. A fixed-step classical Runge-Kutta (RK4) over numpy arrays of N launches at once
(:func:`fly_batch`): each boost segment (rise, pitch-over, each stage, up to the launch's own
cutoff) is cut into the same number of steps for every launch, so each launch's step ends exactly
on its own cutoff; after burnout the step is ``coast_step_s`` above 120 km and ``atmosphere_step_s``
below. The impact instant is found on the cubic Hermite interpolant of the last step.
``tests/test_mw_trajectory.py`` checks the integrator against scipy's DOP853 at ``rtol=1e-10``.

Glide vehicles (class HGV). Boost on a depressed shot to a stated apogee, ballistic descent,
pull-up, then an equilibrium glide: the lift's vertical share balances gravity less the
centrifugal relief, plus a damped pull towards the altitude where the glide lift coefficient
``CL_GLIDE`` gives that balance (``L cos(bank) / m = g - V^2 / r - c hdot + k (h_eq - h)``,
capped by the lift the vehicle can make at ``CL_MAX``), drag ``D = L / (L/D)`` with the model's stated L/D, and a
lateral manoeuvre by bank reversals: the bank is ``glide_bank_deg`` to one side until the
heading error to the target exceeds ``glide_corridor_deg``, then to the other. Within a dive
range of the target (or when the glide runs out of speed) the vehicle steers its velocity onto
the target and dives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import erfa
import numpy as np

from kizuna.model.missile import (
    PHASE_BOOST,
    PHASE_GLIDE,
    PHASE_MIDCOURSE,
    PHASE_REENTRY,
    REENTRY_ALT_M,
    ThreatTrajectory,
)
from kizuna.mw import atmosphere
from kizuna.mw.threats import BOOST_CD_MACH, MissileModel, model_for

PROFILES = ("minimum_energy", "lofted", "depressed", "glide")

# WGS-84 (NIMA TR8350.2): semi-major axis, flattening, GM, rotation rate; J2 = -sqrt(5) C20 of
# EGM96 (C20 = -4.84165371736e-4).
WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_GM_M3_S2 = 3.986004418e14
WGS84_OMEGA_RAD_S = 7.292115e-5
WGS84_J2 = 1.082626683e-3

G0_M_S2 = 9.80665
ATMOSPHERE_TOP_M = 120_000.0  # above this the coast step applies and drag is negligible
LOW_ATMOSPHERE_M = 60_000.0  # below this a re-entry vehicle's drag changes within seconds

# Glide vehicle guidance and aerodynamics (stated, generic; order of HTV-2 / DF-ZF figures
# discussed in the open literature, e.g. Acton, Science & Global Security 23 (2015) 191).
CL_MAX = 0.8
CL_GLIDE = 0.4  # lift coefficient of the glide (near maximum L/D): sets the glide altitude
GLIDE_DAMPING_1_S = 0.044  # vertical channel: natural period 200 s, damping ratio 0.7
GLIDE_STIFFNESS_1_S2 = 1.0e-3
GLIDE_PULL_UP_ALT_M = 70_000.0
GLIDE_MIN_SPEED_M_S = 1_500.0
DIVE_RANGE_FACTOR = 1.5  # dive when range to go < factor x altitude
DIVE_TIME_CONSTANT_S = 3.0


@dataclass(frozen=True)
class EarthModel:
    """What the integrator includes. ``flattening`` 0 makes the Earth a sphere of radius
    ``radius_m`` (latitudes are then geocentric)."""

    name: str = "wgs84-j2-rotating-ussa76"
    radius_m: float = WGS84_A_M
    flattening: float = WGS84_F
    gm_m3_s2: float = WGS84_GM_M3_S2
    j2: float = WGS84_J2
    omega_rad_s: float = WGS84_OMEGA_RAD_S
    drag: bool = True


WGS84_EARTH = EarthModel()
VACUUM_SPHERE = EarthModel(name="vacuum-sphere", flattening=0.0, j2=0.0, omega_rad_s=0.0, drag=False)


@dataclass(frozen=True)
class Steps:
    """Integrator steps [s]: boost (upper bound; segments are split evenly), coast above
    120 km, 60-120 km, and below 60 km after burnout."""

    boost_s: float = 2.0
    coast_s: float = 10.0
    upper_atmosphere_s: float = 2.0
    atmosphere_s: float = 0.5
    max_flight_s: float = 3.0 * 3600.0


DEFAULT_STEPS = Steps()


# ---------------------------------------------------------------- geometry
def geodetic_to_ecef(
    lat_deg: np.ndarray | float,
    lon_deg: np.ndarray | float,
    alt_m: np.ndarray | float = 0.0,
    earth: EarthModel = WGS84_EARTH,
) -> np.ndarray:
    """ECEF [m] of geodetic latitude/longitude [deg] and height [m] on the model's ellipsoid."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    return np.asarray(erfa.gd2gce(earth.radius_m, earth.flattening, lon, lat, np.asarray(alt_m, dtype=float)))


def ecef_to_geodetic(
    r_m: np.ndarray, earth: EarthModel = WGS84_EARTH
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geodetic latitude, longitude [deg] and height [m] of ECEF points ``(..., 3)``."""
    with np.errstate(invalid="ignore"):
        lon, lat, h = erfa.gc2gde(earth.radius_m, earth.flattening, np.asarray(r_m, dtype=float))
    return np.degrees(lat), np.degrees(lon), np.asarray(h)


def surface_radius_m(r_m: np.ndarray, earth: EarthModel) -> np.ndarray:
    """Distance from the centre to the ellipsoid along the direction of ``r`` (exact on the
    surface, so ``|r| - surface_radius`` crosses zero exactly where the geodetic height does)."""
    a = earth.radius_m
    b = a * (1.0 - earth.flattening)
    rr = _norm(r_m)
    s2 = (r_m[..., 2] / rr) ** 2
    return a * b / np.sqrt(b * b * (1.0 - s2) + a * a * s2)


def height_m(r_m: np.ndarray, earth: EarthModel) -> np.ndarray:
    """Height above the ellipsoid along the radius (within metres of geodetic height at the
    altitudes where drag matters, and exactly zero on the surface)."""
    return _norm(r_m) - surface_radius_m(r_m, earth)


def enu_basis(lat_deg: np.ndarray, lon_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """East, north, up unit vectors ``(N, 3)`` at geodetic latitude/longitude."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    east = np.stack([-so, co, np.zeros_like(so)], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return east, north, up


def great_circle(
    lat1_deg: np.ndarray | float,
    lon1_deg: np.ndarray | float,
    lat2_deg: np.ndarray | float,
    lon2_deg: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Central angle [rad] and initial azimuth [deg] on the sphere (geodetic latitudes used as
    spherical: a shooting aid and a range measure, not a geodesic)."""
    p1 = _unit(lat1_deg, lon1_deg)
    p2 = _unit(lat2_deg, lon2_deg)
    ang = np.arctan2(np.linalg.norm(np.cross(p1, p2), axis=-1), np.sum(p1 * p2, axis=-1))
    e, n, _ = enu_basis(np.asarray(lat1_deg), np.asarray(lon1_deg))
    az = np.degrees(np.arctan2(np.sum(p2 * e, axis=-1), np.sum(p2 * n, axis=-1))) % 360.0
    return ang, az


def destination(lat_deg: float, lon_deg: float, azimuth_deg: float, range_km: float) -> tuple[float, float]:
    """The point ``range_km`` along a great circle (mean radius) from a start and azimuth."""
    d = range_km * 1000.0 / 6_371_008.8
    lat1, lon1, az = math.radians(lat_deg), math.radians(lon_deg), math.radians(azimuth_deg)
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(az))
    lon2 = lon1 + math.atan2(
        math.sin(az) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), (math.degrees(lon2) + 540.0) % 360.0 - 180.0


def _unit(lat_deg: np.ndarray | float, lon_deg: np.ndarray | float) -> np.ndarray:
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


# ---------------------------------------------------------------- forces
def gravity_m_s2(r_m: np.ndarray, earth: EarthModel) -> np.ndarray:
    """Point-mass plus J2 acceleration ``(N, 3)`` (Vallado, 4th ed., eq. 8-30)."""
    x, y, z = r_m[..., 0], r_m[..., 1], r_m[..., 2]
    r2 = x * x + y * y + z * z
    r = np.sqrt(r2)
    k = -earth.gm_m3_s2 / (r2 * r)
    if earth.j2 == 0.0:
        return k[..., None] * r_m
    c = 1.5 * earth.j2 * earth.radius_m**2 / r2
    zz = 5.0 * z * z / r2
    fxy = k * (1.0 + c * (1.0 - zz))
    out = np.empty_like(r_m)
    out[..., 0] = fxy * x
    out[..., 1] = fxy * y
    out[..., 2] = k * (1.0 + c * (3.0 - zz)) * z
    return out


def frame_m_s2(r_m: np.ndarray, v_m_s: np.ndarray, earth: EarthModel) -> np.ndarray:
    """Coriolis plus centrifugal acceleration of the Earth-fixed frame."""
    w = earth.omega_rad_s
    out = np.zeros_like(r_m)
    if w == 0.0:
        return out
    out[..., 0] = 2.0 * w * v_m_s[..., 1] + w * w * r_m[..., 0]
    out[..., 1] = -2.0 * w * v_m_s[..., 0] + w * w * r_m[..., 1]
    return out


def inertial_velocity_m_s(r_m: np.ndarray, v_m_s: np.ndarray, earth: EarthModel) -> np.ndarray:
    """Velocity in the non-rotating frame momentarily aligned with ECEF: ``v + w x r``."""
    w = earth.omega_rad_s
    out = np.array(v_m_s, dtype=float, copy=True)
    out[..., 0] -= w * r_m[..., 1]
    out[..., 1] += w * r_m[..., 0]
    return out


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2])


def _unit_rows(v: np.ndarray) -> np.ndarray:
    n = _norm(v)[..., None]
    return v / np.where(n > 0.0, n, 1.0)


# ---------------------------------------------------------------- boost plan
@dataclass(frozen=True)
class _Segment:
    start_s: float
    end_s: float
    stage: int
    mode: int  # 0 vertical rise, 1 pitch-over, 2 gravity turn


def _segments(model: MissileModel) -> list[_Segment]:
    t_rise = model.vertical_rise_s
    t_kick = t_rise + model.pitch_kick_s
    stage_ends = np.cumsum([s.burn_s for s in model.stages])
    cuts = sorted({0.0, t_rise, t_kick, *stage_ends.tolist()})
    out = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        mid = 0.5 * (a + b)
        stage = int(np.searchsorted(stage_ends, mid))
        mode = 0 if mid < t_rise else (1 if mid < t_kick else 2)
        out.append(_Segment(a, b, stage, mode))
    return out


@dataclass(frozen=True)
class _Vehicle:
    model: MissileModel
    start_mass_kg: np.ndarray  # per stage, at ignition
    mdot_kg_s: np.ndarray
    thrust_n: np.ndarray
    stage_start_s: np.ndarray

    @classmethod
    def of(cls, model: MissileModel) -> _Vehicle:
        stages = model.stages
        start = []
        for k in range(len(stages)):
            above = sum(s.propellant_kg + s.dry_kg for s in stages[k:])
            start.append(model.payload_kg + above)
        return cls(
            model=model,
            start_mass_kg=np.array(start),
            mdot_kg_s=np.array([s.propellant_kg / s.burn_s for s in stages]),
            thrust_n=np.array([s.thrust_n for s in stages]),
            stage_start_s=np.concatenate([[0.0], np.cumsum([s.burn_s for s in stages])[:-1]]),
        )


# ---------------------------------------------------------------- batch state
@dataclass
class _Batch:
    """Inputs of N launches flown together."""

    model: MissileModel
    earth: EarthModel
    launch_ecef_m: np.ndarray  # (N, 3)
    up: np.ndarray
    east: np.ndarray
    north: np.ndarray
    kick_east_deg: np.ndarray
    kick_north_deg: np.ndarray
    cutoff_s: np.ndarray
    target_ecef_m: np.ndarray | None = None  # glide guidance only
    glide_bank_deg: float = 30.0
    glide_corridor_deg: float = 5.0

    @property
    def n(self) -> int:
        return int(self.launch_ecef_m.shape[0])


def _accel_free(r: np.ndarray, v: np.ndarray, earth: EarthModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gravity (J2) plus frame terms ``(N, 3)``, height above the ellipsoid and speed, in one
    pass over components (the integrator's inner loop: numpy call count is its cost)."""
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    r2 = x * x + y * y + z * z
    rn = np.sqrt(r2)
    s2 = z * z / r2
    a_eq = earth.radius_m
    b_pol = a_eq * (1.0 - earth.flattening)
    h = rn - a_eq * b_pol / np.sqrt(b_pol * b_pol + (a_eq * a_eq - b_pol * b_pol) * s2)
    k = -earth.gm_m3_s2 / (r2 * rn)
    out = np.empty_like(r)
    if earth.j2 != 0.0:
        c = (1.5 * earth.j2 * a_eq * a_eq) * (1.0 / r2)
        zz = 5.0 * s2
        kxy = k * (1.0 + c * (1.0 - zz))
        out[:, 2] = k * (1.0 + c * (3.0 - zz)) * z
    else:
        kxy = k
        out[:, 2] = k * z
    w = earth.omega_rad_s
    if w != 0.0:
        out[:, 0] = kxy * x + (2.0 * w) * v[:, 1] + (w * w) * x
        out[:, 1] = kxy * y - (2.0 * w) * v[:, 0] + (w * w) * y
    else:
        out[:, 0] = kxy * x
        out[:, 1] = kxy * y
    speed = np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2])
    return out, h, speed


def _accel_boost(
    t: np.ndarray,
    r: np.ndarray,
    v: np.ndarray,
    seg: _Segment,
    veh: _Vehicle,
    b: _Batch,
    kick_dir: np.ndarray,
    kick_tilt: np.ndarray,
) -> np.ndarray:
    earth = b.earth
    k = seg.stage
    mass = veh.start_mass_kg[k] - veh.mdot_kg_s[k] * (t - veh.stage_start_s[k])
    a, h, speed = _accel_free(r, v, earth)
    if seg.mode == 0:
        u = b.up
    elif seg.mode == 1:
        ang = (kick_tilt * ((t - seg.start_s) / (seg.end_s - seg.start_s)))[:, None]
        u = np.cos(ang) * b.up + np.sin(ang) * kick_dir
    else:
        u = v / np.where(speed > 0.0, speed, 1.0)[:, None]
    acc = veh.thrust_n[k] / mass
    if earth.drag:
        rho = atmosphere.density_fast(h)
        mach = speed / atmosphere.speed_of_sound_fast(h)
        cd = np.interp(mach, *BOOST_CD_MACH)
        kd = (0.5 * b.model.frontal_area_m2) * rho * cd * speed / mass
        return a + acc[:, None] * u - kd[:, None] * v
    return a + acc[:, None] * u


def _accel_coast(r: np.ndarray, v: np.ndarray, b: _Batch) -> np.ndarray:
    a, h, speed = _accel_free(r, v, b.earth)
    if b.earth.drag and float(h.min()) < atmosphere.TOP_ALT_M:
        kd = atmosphere.density_fast(h) * speed * (0.5 / b.model.rv_ballistic_coefficient_kg_m2)
        a -= kd[:, None] * v
    return a


def _rk4(f, t: np.ndarray, r: np.ndarray, v: np.ndarray, h: np.ndarray):
    hc = h[:, None]
    a1 = f(t, r, v)
    r2 = r + 0.5 * hc * v
    v2 = v + 0.5 * hc * a1
    a2 = f(t + 0.5 * h, r2, v2)
    r3 = r + 0.5 * hc * v2
    v3 = v + 0.5 * hc * a2
    a3 = f(t + 0.5 * h, r3, v3)
    r4 = r + hc * v3
    v4 = v + hc * a3
    a4 = f(t + h, r4, v4)
    r_new = r + hc / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
    v_new = v + hc / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return r_new, v_new


# ---------------------------------------------------------------- the flight
@dataclass
class _Flight:
    """What a batch integration returns: per-launch summaries and, if recorded, samples."""

    impact_ecef_m: np.ndarray
    impact_time_s: np.ndarray
    apogee_m: np.ndarray
    burnout_time_s: np.ndarray
    burnout_r_m: np.ndarray
    burnout_v_m_s: np.ndarray
    impacted: np.ndarray
    samples: list[dict[str, np.ndarray]] = field(default_factory=list)


def _integrate(
    b: _Batch,
    steps: Steps,
    record: bool,
    glide: bool = False,
    initial: tuple[np.ndarray, np.ndarray] | None = None,
) -> _Flight:
    model, earth = b.model, b.earth
    veh = _Vehicle.of(model)
    n = b.n
    r = b.launch_ecef_m.copy() if initial is None else np.array(initial[0], dtype=float)
    v = np.zeros_like(r) if initial is None else np.array(initial[1], dtype=float)
    t = np.zeros(n)
    rec_t: list[np.ndarray] = [t.copy()]
    rec_r: list[np.ndarray] = [r.copy()]
    rec_v: list[np.ndarray] = [v.copy()]
    rec_stage: list[np.ndarray] = [np.zeros(n, dtype=np.int16)]
    rec_alive: list[np.ndarray] = [np.ones(n, dtype=bool)]
    apogee = height_m(r, earth)
    hor = np.radians(b.kick_east_deg)[:, None] * b.east + np.radians(b.kick_north_deg)[:, None] * b.north
    kick_tilt = _norm(hor)
    kick_dir = hor / np.where(kick_tilt > 0.0, kick_tilt, 1.0)[:, None]
    # Boost: every segment in the same number of steps for every launch, ending on its cutoff.
    for seg in _segments(model) if initial is None else []:
        start = np.minimum(seg.start_s, b.cutoff_s)
        end = np.minimum(seg.end_s, b.cutoff_s)
        nstep = max(1, math.ceil((seg.end_s - seg.start_s) / steps.boost_s))
        h = (end - start) / nstep
        if not np.any(h > 0):
            continue

        def f(tt, rr, vv, idx=None, gs=None, seg=seg):
            return _accel_boost(tt, rr, vv, seg, veh, b, kick_dir, kick_tilt)

        for _ in range(nstep):
            r, v = _rk4(f, t, r, v, h)
            t = t + h
            apogee = np.maximum(apogee, height_m(r, earth))
            if record:
                rec_t.append(t.copy())
                rec_r.append(r.copy())
                rec_v.append(v.copy())
                rec_stage.append(np.full(n, seg.stage, dtype=np.int16))
                rec_alive.append(h > 0)
    t_bo = t.copy()
    r_bo, v_bo = r.copy(), v.copy()
    # Coast / glide until impact.
    alive = np.ones(n, dtype=bool)
    impact_r = np.full((n, 3), np.nan)
    impact_t = np.full(n, np.nan)
    glide_state = np.zeros(n, dtype=np.int8)  # glide only: 0 ballistic, 1 gliding, 2 diving
    bank_sign = np.ones(n)

    while np.any(alive):
        idx = np.flatnonzero(alive)
        ri, vi, ti = r[idx], v[idx], t[idx]
        hi = height_m(ri, earth)
        h = np.where(
            hi > ATMOSPHERE_TOP_M,
            steps.coast_s,
            np.where(hi > LOW_ATMOSPHERE_M, steps.upper_atmosphere_s, steps.atmosphere_s),
        )
        if glide:
            gs = glide_state[idx]
            vup = np.sum(vi * _unit_rows(ri), axis=-1)
            start_glide = (gs == 0) & (hi < GLIDE_PULL_UP_ALT_M) & (vup < 0.0)
            gs = np.where(start_glide, 1, gs)
            assert b.target_ecef_m is not None
            to_go = _range_to_go_m(ri, b.target_ecef_m[idx])
            speed = np.linalg.norm(vi, axis=-1)
            dive = (gs == 1) & ((to_go < DIVE_RANGE_FACTOR * hi) | (speed < GLIDE_MIN_SPEED_M_S))
            gs = np.where(dive, 2, gs)
            glide_state[idx] = gs
            bank_sign[idx] = _bank_sign(ri, vi, b.target_ecef_m[idx], bank_sign[idx], b)

            def f(tt, rr, vv, idx=idx, gs=gs, seg=None):
                return _accel_glide(rr, vv, b, idx, gs, bank_sign[idx])
        else:

            def f(tt, rr, vv, idx=None, gs=None, seg=None):
                return _accel_coast(rr, vv, b)

        r_new, v_new = _rk4(f, ti, ri, vi, h)
        t_new = ti + h
        h_new = height_m(r_new, earth)
        apogee[idx] = np.maximum(apogee[idx], h_new)
        hit = h_new <= 0.0
        too_long = t_new > steps.max_flight_s
        if np.any(hit):
            tau = _hermite_root(ri[hit], vi[hit], r_new[hit], v_new[hit], h[hit], earth)
            rr, vv = _hermite(ri[hit], vi[hit], r_new[hit], v_new[hit], h[hit], tau)
            r_new[hit], v_new[hit] = rr, vv
            t_new[hit] = ti[hit] + tau
            impact_r[idx[hit]] = rr
            impact_t[idx[hit]] = t_new[hit]
        r[idx], v[idx], t[idx] = r_new, v_new, t_new
        if record:
            step_alive = np.zeros(n, dtype=bool)
            step_alive[idx] = True
            st = np.full(n, -1, dtype=np.int16)
            if glide:
                st[idx] = -1 - glide_state[idx]
            rec_t.append(t.copy())
            rec_r.append(r.copy())
            rec_v.append(v.copy())
            rec_stage.append(st)
            rec_alive.append(step_alive)
        done = hit | too_long
        alive[idx[done]] = False

    flight = _Flight(
        impact_ecef_m=impact_r,
        impact_time_s=impact_t,
        apogee_m=apogee,
        burnout_time_s=t_bo,
        burnout_r_m=r_bo,
        burnout_v_m_s=v_bo,
        impacted=np.isfinite(impact_t),
    )
    if record:
        tt = np.stack(rec_t)
        rr = np.stack(rec_r)
        vv = np.stack(rec_v)
        ss = np.stack(rec_stage)
        ok = np.stack(rec_alive)
        for i in range(n):
            m = ok[:, i]
            flight.samples.append({"time_s": tt[m, i], "r": rr[m, i], "v": vv[m, i], "stage": ss[m, i]})
    return flight


def _hermite(r0, v0, r1, v1, h, tau):
    s = (tau / h)[:, None]
    hc = h[:, None]
    h00 = 2 * s**3 - 3 * s**2 + 1
    h10 = s**3 - 2 * s**2 + s
    h01 = -2 * s**3 + 3 * s**2
    h11 = s**3 - s**2
    r = h00 * r0 + h10 * hc * v0 + h01 * r1 + h11 * hc * v1
    d00 = (6 * s**2 - 6 * s) / hc
    d10 = 3 * s**2 - 4 * s + 1
    d01 = (-6 * s**2 + 6 * s) / hc
    d11 = 3 * s**2 - 2 * s
    v = d00 * r0 + d10 * v0 + d01 * r1 + d11 * v1
    return r, v


def _hermite_root(r0, v0, r1, v1, h, earth: EarthModel) -> np.ndarray:
    lo = np.zeros_like(h)
    hi = h.copy()
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        rm, _vm = _hermite(r0, v0, r1, v1, h, mid)
        above = height_m(rm, earth) > 0.0
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------- glide
def _range_to_go_m(r: np.ndarray, target: np.ndarray) -> np.ndarray:
    u1 = _unit_rows(r)
    u2 = _unit_rows(target)
    ang = np.arctan2(np.linalg.norm(np.cross(u1, u2), axis=-1), np.sum(u1 * u2, axis=-1))
    return ang * WGS84_A_M


def _heading_error_rad(r: np.ndarray, v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Signed angle from the horizontal velocity to the great circle towards the target
    (positive: target to the left)."""
    up = _unit_rows(r)
    vh = v - np.sum(v * up, axis=-1, keepdims=True) * up
    to = target - np.sum(target * up, axis=-1, keepdims=True) * up
    cross = np.sum(np.cross(vh, to) * up, axis=-1)
    return np.arctan2(cross, np.sum(vh * to, axis=-1))


def _bank_sign(r, v, target, sign, b: _Batch) -> np.ndarray:
    err = _heading_error_rad(r, v, target)
    corridor = math.radians(b.glide_corridor_deg)
    # Positive sign banks left (lift towards the left). Reverse when the error leaves the corridor.
    out = np.where(err > corridor, 1.0, sign)
    return np.where(err < -corridor, -1.0, out)


def _accel_glide(r, v, b: _Batch, idx, gs, bank_sign):
    earth = b.earth
    model = b.model
    a = gravity_m_s2(r, earth) + frame_m_s2(r, v, earth)
    h = height_m(r, earth)
    rho = atmosphere.density_fast(h)
    speed = _norm(v)
    q = 0.5 * rho * speed**2
    mass = model.payload_kg
    s_ref = model.rv_area_m2
    lift_max = CL_MAX * q * s_ref / mass  # [m/s^2]
    up = _unit_rows(r)
    vhat = _unit_rows(v)
    # Lift directions: "vertical" in the plane of v and up, perpendicular to v; lateral left.
    lat = _unit_rows(np.cross(up, vhat))  # left of the velocity
    vert = _unit_rows(np.cross(vhat, lat))
    g_r = -np.sum(gravity_m_s2(r, earth) * up, axis=-1)
    rr = np.linalg.norm(r, axis=-1)
    vup = np.sum(v * up, axis=-1)
    g_eff = g_r - (speed**2 - vup**2) / rr
    bank = math.radians(b.glide_bank_deg)
    # The altitude where CL_GLIDE at this bank balances g_eff: the glide's reference.
    rho_eq = 2.0 * mass * np.maximum(g_eff, 0.1) / (CL_GLIDE * s_ref * speed**2 * math.cos(bank))
    h_eq = atmosphere.altitude_of_density(rho_eq)
    need_v = g_eff - GLIDE_DAMPING_1_S * vup + GLIDE_STIFFNESS_1_S2 * (h_eq - h)
    lift_total = np.clip(need_v / math.cos(bank), 0.0, lift_max)
    lift_vec = lift_total[:, None] * (math.cos(bank) * vert + (bank_sign * math.sin(bank))[:, None] * lat)
    # Dive: steer the velocity onto the target.
    assert b.target_ecef_m is not None
    los = _unit_rows(b.target_ecef_m[idx] - r)
    perp = los - np.sum(los * vhat, axis=-1, keepdims=True) * vhat
    grav_perp = a - np.sum(a * vhat, axis=-1, keepdims=True) * vhat
    cmd = speed[:, None] * perp / DIVE_TIME_CONSTANT_S - grav_perp
    cmd_n = np.linalg.norm(cmd, axis=-1, keepdims=True)
    cmd = cmd * np.minimum(1.0, lift_max[:, None] / np.where(cmd_n > 0, cmd_n, 1.0))
    gliding = (gs == 1)[:, None]
    diving = (gs == 2)[:, None]
    lift = np.where(gliding, lift_vec, np.where(diving, cmd, 0.0))
    lift_mag = np.linalg.norm(lift, axis=-1)
    drag_lift = lift_mag / model.glide_l_over_d
    drag_zero = 0.5 * rho * speed**2 / model.rv_ballistic_coefficient_kg_m2
    drag = np.where(gs == 0, drag_zero, np.maximum(drag_lift, drag_zero))
    return a + lift - drag[:, None] * vhat


# ---------------------------------------------------------------- launches and shooting
@dataclass(frozen=True)
class Launch:
    """What one launch needs besides the missile: where, where to, and the steering found by
    the shooting (east/north kick tilt [deg], thrust cutoff [s])."""

    launch_lat_deg: float
    launch_lon_deg: float
    target_lat_deg: float
    target_lon_deg: float
    kick_east_deg: float
    kick_north_deg: float
    cutoff_s: float

    def with_azimuth(self, azimuth_deg: float) -> Launch:
        """The same shot turned to another azimuth (same tilt and cutoff; the target moved to
        the same distance along it, which only glide guidance reads): a Monte Carlo over launch
        azimuth."""
        tilt = math.hypot(self.kick_east_deg, self.kick_north_deg)
        ang, _ = great_circle(
            self.launch_lat_deg, self.launch_lon_deg, self.target_lat_deg, self.target_lon_deg
        )
        lat, lon = destination(self.launch_lat_deg, self.launch_lon_deg, azimuth_deg, float(ang) * 6371.0088)
        a = math.radians(azimuth_deg)
        return Launch(
            self.launch_lat_deg,
            self.launch_lon_deg,
            lat,
            lon,
            tilt * math.sin(a),
            tilt * math.cos(a),
            self.cutoff_s,
        )


def _batch(
    model: MissileModel,
    earth: EarthModel,
    lat,
    lon,
    tlat,
    tlon,
    ke,
    kn,
    cut,
    glide_bank_deg: float = 30.0,
    glide_corridor_deg: float = 5.0,
) -> _Batch:
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    n = max(lat.size, np.atleast_1d(ke).size)
    lat, lon = np.broadcast_to(lat, (n,)), np.broadcast_to(lon, (n,))
    east, north, up = enu_basis(lat, lon)
    target = geodetic_to_ecef(np.broadcast_to(tlat, (n,)), np.broadcast_to(tlon, (n,)), 0.0, earth)
    return _Batch(
        model=model,
        earth=earth,
        launch_ecef_m=geodetic_to_ecef(lat, lon, 0.0, earth),
        up=up,
        east=east,
        north=north,
        kick_east_deg=np.broadcast_to(np.asarray(ke, dtype=float), (n,)).copy(),
        kick_north_deg=np.broadcast_to(np.asarray(kn, dtype=float), (n,)).copy(),
        cutoff_s=np.broadcast_to(np.asarray(cut, dtype=float), (n,)).copy(),
        target_ecef_m=target,
        glide_bank_deg=glide_bank_deg,
        glide_corridor_deg=glide_corridor_deg,
    )


def _miss_km(lat, lon, tlat, tlon, impact_ecef_m, earth: EarthModel) -> tuple[np.ndarray, np.ndarray]:
    """Along-track and cross-track miss [km] of impacts against the launch -> target great
    circle (spherical measure, used by the shooting)."""
    ilat, ilon, _ = ecef_to_geodetic(impact_ecef_m, earth)
    p0 = np.broadcast_to(_unit(lat, lon), impact_ecef_m.shape)
    pt = np.broadcast_to(_unit(tlat, tlon), impact_ecef_m.shape)
    pi = _unit(ilat, ilon)
    nrm = _unit_rows(np.cross(p0, pt))
    radius_km = 6371.0088
    cross = np.arcsin(np.clip(np.sum(pi * nrm, axis=-1), -1, 1)) * radius_km
    along_i = np.arctan2(np.sum(np.cross(p0, pi) * nrm, axis=-1), np.sum(p0 * pi, axis=-1))
    along_t = np.arctan2(np.linalg.norm(np.cross(p0, pt), axis=-1), np.sum(p0 * pt, axis=-1))
    return (along_i - along_t) * radius_km, cross


def _burnout_gamma_deg(fl: _Flight, earth: EarthModel) -> np.ndarray:
    vin = inertial_velocity_m_s(fl.burnout_r_m, fl.burnout_v_m_s, earth)
    s = np.sum(_unit_rows(fl.burnout_r_m) * _unit_rows(vin), axis=-1)
    return np.degrees(np.arcsin(np.clip(s, -1, 1)))


def optimal_gamma_deg(range_angle_rad: np.ndarray | float) -> np.ndarray:
    """Minimum-energy burnout flight-path angle for a free-flight range angle (vacuum)."""
    return np.degrees((math.pi - np.asarray(range_angle_rad)) / 4.0)


class ShootingError(ValueError):
    """The target or apogee cannot be reached by this missile and profile."""


def solve_launch(
    threat_class: str,
    launch_lat_deg: float,
    launch_lon_deg: float,
    target_lat_deg: float,
    target_lon_deg: float,
    profile: str = "minimum_energy",
    apogee_km: float | None = None,
    model: MissileModel | None = None,
    earth: EarthModel = WGS84_EARTH,
    steps: Steps = DEFAULT_STEPS,
    tol_km: float = 0.05,
) -> Launch:
    """Find the kick and cutoff that put a ballistic missile on the target with the profile."""
    model = model or model_for(threat_class)
    if profile not in ("minimum_energy", "lofted", "depressed"):
        raise ValueError(f"profile {profile!r} is not ballistic")
    lat, lon, tlat, tlon = launch_lat_deg, launch_lon_deg, target_lat_deg, target_lon_deg
    ang, az = great_circle(lat, lon, tlat, tlon)
    if float(ang) * 6371.0 < 1.0:
        raise ShootingError("target within 1 km of the launch point")
    full = model.burn_s
    min_cut = model.vertical_rise_s + model.pitch_kick_s + 2.0

    def run(ke, kn, cut):
        b = _batch(model, earth, lat, lon, tlat, tlon, ke, kn, cut)
        return _integrate(b, steps, record=False)

    # A sweep of kicks along the great-circle azimuth at full burn: reach and branches.
    kicks = np.concatenate([np.linspace(0.2, 5.0, 13), np.linspace(6.0, 60.0, 28)])
    s, c = math.sin(math.radians(float(az))), math.cos(math.radians(float(az)))
    sweep = run(kicks * s, kicks * c, full)
    along, _ = _miss_km(lat, lon, tlat, tlon, sweep.impact_ecef_m, earth)
    along = np.where(sweep.impacted, along, -np.inf)
    if not np.any(along >= 0.0):
        reach = float(np.max(along)) + float(ang) * 6371.0088
        raise ShootingError(
            f"target {float(ang) * 6371.0:.0f} km away is beyond the reach of {model.name} "
            f"(about {reach:.0f} km)"
        )
    best = int(np.argmax(along))

    if profile == "minimum_energy":

        def third(fl: _Flight) -> np.ndarray:
            bo_ang, _ = great_circle(*ecef_to_geodetic(fl.burnout_r_m, earth)[:2], tlat, tlon)
            return _burnout_gamma_deg(fl, earth) - optimal_gamma_deg(bo_ang)

        x0 = np.array([kicks[best] * s, kicks[best] * c, full])
        try:
            x = _newton(run, lat, lon, tlat, tlon, earth, x0, third, 1.0, (min_cut, full), tol_km)
        except ShootingError:
            # Near the edge of reach drag moves the best angle off the vacuum one and the
            # condition would need more than a full burn: fly the full burn that reaches.
            x = _newton(run, lat, lon, tlat, tlon, earth, x0, None, 1.0, (full, full), tol_km)
    else:
        if apogee_km is None and profile == "lofted":
            # Full burn, the high branch: the smallest kick that reaches the target.
            hi = np.flatnonzero(along >= 0.0)[0]
            k0 = kicks[hi]
            x0 = np.array([k0 * s, k0 * c, full])
            x = _newton(run, lat, lon, tlat, tlon, earth, x0, None, 1.0, (full, full), tol_km)
        else:
            if apogee_km is None:  # depressed default: 60 % of the minimum-energy apogee
                me = solve_launch(
                    threat_class, lat, lon, tlat, tlon, "minimum_energy", None, model, earth, steps
                )
                fl = run(me.kick_east_deg, me.kick_north_deg, me.cutoff_s)
                apogee_km = 0.6 * float(fl.apogee_m[0]) / 1000.0
            goal_m = apogee_km * 1000.0

            def third(fl: _Flight) -> np.ndarray:
                return (fl.apogee_m - goal_m) / 1000.0

            # Start from the sweep member on the right branch nearest the requested apogee.
            ok = np.flatnonzero(along >= 0.0)
            branch = ok[ok <= best] if profile == "lofted" else ok[ok >= best]
            if branch.size == 0:
                branch = ok
            i0 = branch[np.argmin(np.abs(sweep.apogee_m[branch] - goal_m))]
            x0 = np.array([kicks[i0] * s, kicks[i0] * c, full])
            x = _newton(run, lat, lon, tlat, tlon, earth, x0, third, 10.0, (min_cut, full), tol_km)
    return Launch(lat, lon, tlat, tlon, float(x[0]), float(x[1]), float(x[2]))


def _newton(run, lat, lon, tlat, tlon, earth, x0, third, third_tol, cut_bounds, tol_km):
    """Damped Newton on (kick east, kick north[, cutoff]) with a finite-difference Jacobian
    from one batch of 3-4 flights per iteration."""
    dim = 2 if third is None else 3
    x = x0[:dim].astype(float).copy()
    deltas = np.array([1e-3, 1e-3, -0.05])[:dim]  # cutoff probes downwards: full burn is a bound

    def resid(fl):
        a, c = _miss_km(lat, lon, tlat, tlon, fl.impact_ecef_m, earth)
        cols = [a, c] if third is None else [a, c, third(fl) * (tol_km / third_tol)]
        out = np.stack(cols, axis=-1)
        return np.where(fl.impacted[:, None], out, np.nan)

    at_full = 0
    for _ in range(40):
        xs = np.repeat(x[None, :], dim + 1, axis=0)
        for j in range(dim):
            xs[j + 1, j] += deltas[j]
        cut = xs[:, 2] if dim == 3 else np.full(dim + 1, x0[2])
        fl = run(xs[:, 0], xs[:, 1], cut)
        f = resid(fl)
        if not np.all(np.isfinite(f)):
            raise ShootingError("a trial flight did not come down; no solution found")
        f0 = f[0]
        if np.all(np.abs(f0) < tol_km):
            return np.array([x[0], x[1], cut[0]])
        jac = ((f[1:] - f0) / deltas[:, None]).T
        try:
            dx = np.linalg.solve(jac, -f0)
        except np.linalg.LinAlgError as exc:
            raise ShootingError("shooting Jacobian is singular; no solution found") from exc
        # Damping: at most 5 deg of kick and 20 s of cutoff per iteration.
        scale = min(1.0, 5.0 / max(1e-12, float(np.max(np.abs(dx[:2])))))
        if dim == 3:
            scale = min(scale, 20.0 / max(1e-12, abs(float(dx[2]))))
        x = x + scale * dx
        if dim == 3:
            # Asked for more than a full burn three times running: out of reach.
            at_full = at_full + 1 if x[2] > cut_bounds[1] + 1e-6 else 0
            if at_full >= 3:
                raise ShootingError("the requested apogee needs more energy than a full burn")
            x[2] = float(np.clip(x[2], cut_bounds[0], cut_bounds[1]))
    raise ShootingError(f"shooting did not converge (miss {float(np.max(np.abs(f0))):.3f})")


# ---------------------------------------------------------------- records
def _to_record(
    fl: _Flight,
    i: int,
    b: _Batch,
    threat_id: str,
    profile: str,
    launch_utc: np.datetime64,
    glide: bool = False,
) -> ThreatTrajectory:
    model, earth = b.model, b.earth
    smp = fl.samples[i]
    t, r, v, st = smp["time_s"], smp["r"], smp["v"], smp["stage"]
    keep = np.concatenate([[True], np.diff(t) > 0])
    t, r, v, st = t[keep], r[keep], v[keep], st[keep]
    h = height_m(r, earth)
    boosting = st >= 0
    # The last boost sample is burnout itself: the plume is out from that instant on.
    boosting &= t < fl.burnout_time_s[i] - 1e-9
    apo_i = int(np.argmax(h))
    descending = np.arange(len(t)) > apo_i
    phase = np.full(len(t), PHASE_MIDCOURSE, dtype=np.int8)
    if glide:
        phase[st <= -2] = PHASE_GLIDE
    else:
        phase[descending & (h < REENTRY_ALT_M)] = PHASE_REENTRY
    phase[boosting] = PHASE_BOOST
    veh = _Vehicle.of(model)
    stage = np.clip(st, 0, len(model.stages) - 1)
    ir = np.where(boosting, model.plume_w_sr * veh.thrust_n[stage] / veh.thrust_n.max(), 0.0)
    if glide:
        ir = np.where(phase == PHASE_GLIDE, model.hot_body_w_sr, ir)
    rcs = np.where(t < fl.burnout_time_s[i] - 1e-9, model.booster_rcs_m2, model.rv_rcs_m2)
    lat, lon, _ = ecef_to_geodetic(fl.impact_ecef_m[i], earth)
    ang, _az = great_circle(*ecef_to_geodetic(b.launch_ecef_m[i], earth)[:2], float(lat), float(lon))
    llat, llon, _ = ecef_to_geodetic(b.launch_ecef_m[i], earth)
    return ThreatTrajectory(
        threat_id=threat_id,
        threat_class=model.threat_class,
        profile=profile,
        launch_utc=launch_utc,
        launch_lat_deg=float(llat),
        launch_lon_deg=float(llon),
        impact_lat_deg=float(lat),
        impact_lon_deg=float(lon),
        time_s=t,
        position_ecef_m=r,
        velocity_ecef_m_s=v,
        phase=phase,
        ir_intensity_w_sr=ir,
        rcs_m2=rcs,
        burnout_time_s=float(fl.burnout_time_s[i]),
        apogee_km=float(fl.apogee_m[i]) / 1000.0,
        ground_range_km=float(ang) * 6371.0088,
        flight_time_s=float(fl.impact_time_s[i]),
    )


def fly_batch(
    launches: Sequence[Launch],
    threat_class: str,
    profile: str = "minimum_energy",
    launch_utc: np.datetime64 | Sequence[np.datetime64] | None = None,
    model: MissileModel | None = None,
    earth: EarthModel = WGS84_EARTH,
    steps: Steps = DEFAULT_STEPS,
    threat_ids: Sequence[str] | None = None,
    glide_bank_deg: float = 30.0,
    glide_corridor_deg: float = 5.0,
) -> list[ThreatTrajectory]:
    """Integrate N launches of one missile at once (vectorized RK4) and return their records.

    Each :class:`Launch` carries its own site, target and steering, so a Monte Carlo over launch
    azimuth (:meth:`Launch.with_azimuth`) or steering dispersions is one call; launch time only
    stamps ``launch_utc`` (the flight is Earth-fixed; default 2026-01-01T00:00Z). Launches that
    do not come down within ``steps.max_flight_s`` raise :class:`ShootingError`.
    """
    model = model or model_for(threat_class)
    n = len(launches)
    if n == 0:
        return []
    glide = profile == "glide"
    b = _batch(
        model,
        earth,
        [x.launch_lat_deg for x in launches],
        [x.launch_lon_deg for x in launches],
        np.array([x.target_lat_deg for x in launches]),
        np.array([x.target_lon_deg for x in launches]),
        [x.kick_east_deg for x in launches],
        [x.kick_north_deg for x in launches],
        [x.cutoff_s for x in launches],
        glide_bank_deg,
        glide_corridor_deg,
    )
    fl = _integrate(b, steps, record=True, glide=glide)
    if not np.all(fl.impacted):
        bad = int(np.flatnonzero(~fl.impacted)[0])
        raise ShootingError(f"launch {bad} did not come down within {steps.max_flight_s:.0f} s")
    if launch_utc is None:
        stamps: list[Any] = [np.datetime64("2026-01-01T00:00:00", "ns")] * n
    elif isinstance(launch_utc, np.datetime64):
        stamps = [launch_utc] * n
    else:
        stamps = list(launch_utc)
    ids = list(threat_ids) if threat_ids is not None else [f"{model.name}-{i}" for i in range(n)]
    return [_to_record(fl, i, b, ids[i], profile, stamps[i], glide) for i in range(n)]


def fly(
    threat_class: str,
    launch_lat_deg: float,
    launch_lon_deg: float,
    target_lat_deg: float,
    target_lon_deg: float,
    profile: str = "minimum_energy",
    apogee_km: float | None = None,
    launch_utc: np.datetime64 | None = None,
    model: MissileModel | None = None,
    earth: EarthModel = WGS84_EARTH,
    steps: Steps = DEFAULT_STEPS,
    threat_id: str | None = None,
) -> ThreatTrajectory:
    """One flight from launch site to target with the given profile (see the module docstring).

    Raises :class:`ShootingError` when the target is beyond the missile's reach or the profile
    cannot be flown (an apogee the missile cannot reach, a lofted apogee below the
    minimum-energy one).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r} not one of {PROFILES}")
    model = model or model_for(threat_class)
    if profile == "glide":
        launch = solve_glide(
            threat_class,
            launch_lat_deg,
            launch_lon_deg,
            target_lat_deg,
            target_lon_deg,
            apogee_km,
            model,
            earth,
            steps,
        )
    else:
        launch = solve_launch(
            threat_class,
            launch_lat_deg,
            launch_lon_deg,
            target_lat_deg,
            target_lon_deg,
            profile,
            apogee_km,
            model,
            earth,
            steps,
        )
    tid = threat_id or f"{model.name}-{profile}"
    return fly_batch([launch], threat_class, profile, launch_utc, model, earth, steps, [tid])[0]


GLIDE_APOGEE_KM = 80.0  # default boost apogee of a glide vehicle (stated, DF-17-like reports)
GLIDE_MISS_KM = 10.0  # a glide that ends farther than this from the target is refused


def solve_glide(
    threat_class: str,
    launch_lat_deg: float,
    launch_lon_deg: float,
    target_lat_deg: float,
    target_lon_deg: float,
    apogee_km: float | None = None,
    model: MissileModel | None = None,
    earth: EarthModel = WGS84_EARTH,
    steps: Steps = DEFAULT_STEPS,
    glide_bank_deg: float = 30.0,
    glide_corridor_deg: float = 5.0,
) -> Launch:
    """Boost steering for a glide vehicle: a full burn along the great-circle azimuth with the
    kick that gives the requested boost apogee (default :data:`GLIDE_APOGEE_KM`); the glide
    guidance then steers onto the target. Refuses a target the glide cannot reach (or one too
    near to dive onto) within :data:`GLIDE_MISS_KM`."""
    model = model or model_for(threat_class)
    if model.glide_l_over_d <= 0.0:
        raise ShootingError(f"{model.name} carries no glide vehicle")
    goal_km = GLIDE_APOGEE_KM if apogee_km is None else apogee_km
    lat, lon, tlat, tlon = launch_lat_deg, launch_lon_deg, target_lat_deg, target_lon_deg
    _ang, az = great_circle(lat, lon, tlat, tlon)
    s, c = math.sin(math.radians(float(az))), math.cos(math.radians(float(az)))
    kicks = np.linspace(5.0, 80.0, 31)
    b = _batch(model, earth, lat, lon, tlat, tlon, kicks * s, kicks * c, model.burn_s)
    sweep = _integrate(b, steps, record=False)
    apo_km = sweep.apogee_m / 1000.0
    order = np.argsort(apo_km)
    if not apo_km.min() <= goal_km <= apo_km.max():
        raise ShootingError(
            f"boost apogee {goal_km:.0f} km is outside what {model.name} can fly "
            f"({apo_km.min():.0f}-{apo_km.max():.0f} km)"
        )
    kick = float(np.interp(goal_km, apo_km[order], kicks[order]))
    launch = Launch(lat, lon, tlat, tlon, kick * s, kick * c, model.burn_s)
    b1 = _batch(
        model,
        earth,
        lat,
        lon,
        tlat,
        tlon,
        kick * s,
        kick * c,
        model.burn_s,
        glide_bank_deg,
        glide_corridor_deg,
    )
    fl = _integrate(b1, steps, record=False, glide=True)
    if not fl.impacted[0]:
        raise ShootingError("the glide did not come down")
    along, cross = _miss_km(lat, lon, tlat, tlon, fl.impact_ecef_m, earth)
    miss = float(np.hypot(along[0], cross[0]))
    if miss > GLIDE_MISS_KM:
        where = "short of" if along[0] < 0 else "past"
        raise ShootingError(
            f"{model.name} glide ends {miss:.0f} km {where} the target (reach or dive geometry)"
        )
    return launch


# ---------------------------------------------------------------- using a record
def sample(traj: ThreatTrajectory, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position and velocity ``(K, 3)`` at times within the flight, on the cubic Hermite
    interpolant of the stored samples (positions and velocities both known: fourth-order
    accurate, within metres at the integrator's steps)."""
    t = np.asarray(time_s, dtype=float)
    if np.any(t < 0.0) or np.any(t > traj.time_s[-1]):
        raise ValueError("times outside the flight")
    i = np.clip(np.searchsorted(traj.time_s, t, side="right") - 1, 0, len(traj.time_s) - 2)
    t0 = traj.time_s[i]
    h = traj.time_s[i + 1] - t0
    r0, v0 = traj.position_ecef_m[i], traj.velocity_ecef_m_s[i]
    r1, v1 = traj.position_ecef_m[i + 1], traj.velocity_ecef_m_s[i + 1]
    return _hermite(r0, v0, r1, v1, h, t - t0)


def uniform_times(traj: ThreatTrajectory, step_s: float) -> np.ndarray:
    """``0, step, 2 step, ...`` plus burnout and impact, sorted and unique."""
    grid = np.arange(0.0, traj.flight_time_s, step_s)
    return np.unique(np.concatenate([grid, [traj.burnout_time_s, traj.flight_time_s]]))


def phase_at(traj: ThreatTrajectory, time_s: np.ndarray) -> np.ndarray:
    """The phase code in force at each time (that of the sample at or before it; burnout itself
    is already after boost)."""
    i = np.clip(np.searchsorted(traj.time_s, time_s, side="right") - 1, 0, len(traj.time_s) - 1)
    return traj.phase[i]


def burnout_speed_m_s(traj: ThreatTrajectory) -> float:
    """Earth-fixed speed at burnout."""
    _r, v = sample(traj, np.array([traj.burnout_time_s]))
    return float(np.linalg.norm(v[0]))


def max_range_km(
    model: MissileModel,
    launch_lat_deg: float = 0.0,
    launch_lon_deg: float = 0.0,
    azimuth_deg: float = 90.0,
    earth: EarthModel = WGS84_EARTH,
    steps: Steps = DEFAULT_STEPS,
) -> float:
    """The farthest ground range [km] of a full burn over a sweep of kicks (a parabola through
    the best three), towards an azimuth (rotation makes eastward shots reach farther)."""
    kicks = np.concatenate([np.linspace(2.0, 20.0, 10), np.linspace(22.0, 60.0, 20)])
    s, c = math.sin(math.radians(azimuth_deg)), math.cos(math.radians(azimuth_deg))
    far_lat, far_lon = destination(launch_lat_deg, launch_lon_deg, azimuth_deg, 100.0)
    b = _batch(
        model,
        earth,
        launch_lat_deg,
        launch_lon_deg,
        far_lat,
        far_lon,
        kicks * s,
        kicks * c,
        model.burn_s,
    )
    fl = _integrate(b, steps, record=False)
    lat, lon, _ = ecef_to_geodetic(fl.impact_ecef_m, earth)
    ang, _ = great_circle(launch_lat_deg, launch_lon_deg, lat, lon)
    rng = np.where(fl.impacted, ang * 6371.0088, 0.0)
    i = int(np.clip(np.argmax(rng), 1, len(kicks) - 2))
    x, y = kicks[i - 1 : i + 2], rng[i - 1 : i + 2]
    a, bb, cc = np.polyfit(x, y, 2)
    return float(cc - bb * bb / (4.0 * a)) if a < 0 else float(rng.max())


def coast(
    r_m: np.ndarray,
    v_m_s: np.ndarray,
    model: MissileModel,
    earth: EarthModel = WGS84_EARTH,
    steps: Steps = DEFAULT_STEPS,
) -> list[dict[str, np.ndarray]]:
    """Unpowered flights of the model's re-entry vehicle from Earth-fixed states ``(N, 3)`` to
    impact: per flight ``time_s``, ``r``, ``v`` samples (the last one is the impact). For checks
    against closed forms and for dispersing a state after burnout."""
    r = np.atleast_2d(np.asarray(r_m, dtype=float))
    v = np.atleast_2d(np.asarray(v_m_s, dtype=float))
    n = r.shape[0]
    lat, lon, _ = ecef_to_geodetic(r, earth)
    b = _batch(model, earth, lat, lon, lat, lon, np.zeros(n), np.zeros(n), 0.0)
    fl = _integrate(b, steps, record=True, initial=(r, v))
    if not np.all(fl.impacted):
        raise ShootingError(f"a coast did not come down within {steps.max_flight_s:.0f} s")
    return [{k: smp[k] for k in ("time_s", "r", "v")} for smp in fl.samples]
