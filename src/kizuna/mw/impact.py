"""Impact prediction: where and when a tracked state comes down, and how uncertain that is.

Propagation. The state (Earth-fixed WGS-84 position and velocity) coasts ballistically in the
rotating frame: point-mass plus J2 gravity with the Coriolis and centrifugal terms
(:func:`kizuna.mw.tracking.coast_accel_m_s2`), fixed-step RK4, until the height above the
ellipsoid crosses zero; the crossing is found on the cubic Hermite interpolant of the last step.
Drag is neglected: above about 100 km it is negligible, and a re-entry vehicle with a ballistic
coefficient of several thousand kg/m^2 is displaced by only kilometres in the last tens of
seconds, while a light object (debris, a tumbling booster) falls short of the predicted point.
During boost the result is the instantaneous impact point (where the missile would land if thrust
stopped now); for a glide vehicle the ballistic point is not where it will land, only where it
would if it stopped gliding.

Uncertainty. The impact point's east/north offsets in the tangent plane at the nominal impact
point, and the impact time, are functions of the 6-element state; their 3x6 Jacobian is taken by
central finite differences of the same propagation (all 13 states integrated together), and the
6x6 state covariance is mapped through it. The ellipse is the ``confidence`` containment ellipse
of that 2x2 covariance (scale ``sqrt(-2 ln(1 - confidence))``; 95 % by default); its orientation
is the azimuth of the semi-major axis, degrees clockwise from north in [0, 180).
``tests/test_mw_tracking.py`` checks the ellipse against a Monte Carlo of sampled states and the
impact point against the closed-form Kepler solution on a non-rotating spherical Earth.

Warning time left is the impact time minus the time of the prediction (``time_to_impact_s``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.mw.tracking import coast_accel_m_s2
from kizuna.mw.trajectory import WGS84_EARTH, EarthModel, ecef_to_geodetic, enu_basis, height_m

DEFAULT_CONFIDENCE = 0.95
# Finite-difference steps for the Jacobian: small against any tracking error (metres, m/s), large
# against the integrator's round-off (~1e-8 m over an ICBM's flight).
FD_POSITION_M = 10.0
FD_VELOCITY_M_S = 0.01
MAX_COAST_S = 3.0 * 3600.0
STEP_S = 2.0


@dataclass(frozen=True, eq=False)
class ImpactPrediction:
    """A predicted impact point with its uncertainty ellipse (``confidence`` containment).

    NaN fields (and a NaT time) when the state does not come down within the coast horizon
    (``impacts`` is then False)."""

    impact_lat_deg: float
    impact_lon_deg: float
    impact_time_utc: np.datetime64
    time_to_impact_s: float
    semi_major_km: float
    semi_minor_km: float
    orientation_deg: float
    confidence: float = DEFAULT_CONFIDENCE
    impact_time_sigma_s: float = float("nan")
    covariance_en_km2: np.ndarray | None = None  # (2, 2) east/north at the impact point

    @property
    def impacts(self) -> bool:
        return bool(np.isfinite(self.time_to_impact_s))


@dataclass(frozen=True, eq=False)
class ImpactBatch:
    """:func:`predict_impact_batch` for N states: arrays, NaN where a state does not impact."""

    impact_lat_deg: np.ndarray
    impact_lon_deg: np.ndarray
    impact_ecef_m: np.ndarray  # (N, 3)
    time_to_impact_s: np.ndarray
    semi_major_km: np.ndarray
    semi_minor_km: np.ndarray
    orientation_deg: np.ndarray
    impact_time_sigma_s: np.ndarray
    covariance_en_km2: np.ndarray  # (N, 2, 2)
    confidence: float


def _hermite(
    r0: np.ndarray, v0: np.ndarray, r1: np.ndarray, v1: np.ndarray, h: np.ndarray, tau: np.ndarray
) -> np.ndarray:
    t = tau[:, None]
    h00 = 2 * t**3 - 3 * t**2 + 1
    h10 = t**3 - 2 * t**2 + t
    h01 = -2 * t**3 + 3 * t**2
    h11 = t**3 - t**2
    return h00 * r0 + h10 * h[:, None] * v0 + h01 * r1 + h11 * h[:, None] * v1


def impact_points(
    position_ecef_m: np.ndarray,
    velocity_ecef_m_s: np.ndarray,
    earth: EarthModel = WGS84_EARTH,
    step_s: float = STEP_S,
    max_coast_s: float = MAX_COAST_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Coast N states ``(N, 3)`` to the ellipsoid: ``(impact_ecef_m (N, 3), time_of_flight_s (N,))``,
    NaN for a state that starts below the surface or does not come down within ``max_coast_s``."""
    r = np.array(position_ecef_m, dtype=float, copy=True).reshape(-1, 3)
    v = np.array(velocity_ecef_m_s, dtype=float, copy=True).reshape(-1, 3)
    n = r.shape[0]
    out_r = np.full((n, 3), np.nan)
    out_t = np.full(n, np.nan)
    finite = np.all(np.isfinite(r), axis=1) & np.all(np.isfinite(v), axis=1)
    r[~finite] = [earth.radius_m * 2.0, 0.0, 0.0]
    v[~finite] = 0.0
    live = finite & (height_m(r, earth) > 0.0)
    idx = np.flatnonzero(live)
    r, v = r[idx], v[idx]
    h = step_s
    t = 0.0
    while idx.size and t < max_coast_s:
        a1 = coast_accel_m_s2(r, v, earth)
        r2, v2 = r + 0.5 * h * v, v + 0.5 * h * a1
        a2 = coast_accel_m_s2(r2, v2, earth)
        r3, v3 = r + 0.5 * h * v2, v + 0.5 * h * a2
        a3 = coast_accel_m_s2(r3, v3, earth)
        r4, v4 = r + h * v3, v + h * a3
        a4 = coast_accel_m_s2(r4, v4, earth)
        rn = r + h / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
        vn = v + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
        down = height_m(rn, earth) <= 0.0
        if down.any():
            r0, v0, r1, v1 = r[down], v[down], rn[down], vn[down]
            hh = np.full(r0.shape[0], h)
            lo = np.zeros(r0.shape[0])
            hi = np.ones(r0.shape[0])
            # bisection on the interpolant: monotone enough in one step, and smooth in the
            # initial state, which the finite-difference Jacobian needs
            for _ in range(48):
                mid = 0.5 * (lo + hi)
                above = height_m(_hermite(r0, v0, r1, v1, hh, mid), earth) > 0.0
                lo = np.where(above, mid, lo)
                hi = np.where(above, hi, mid)
            tau = 0.5 * (lo + hi)
            out_r[idx[down]] = _hermite(r0, v0, r1, v1, hh, tau)
            out_t[idx[down]] = t + tau * h
        keep = ~down
        idx, r, v = idx[keep], rn[keep], vn[keep]
        t += h
    return out_r, out_t


def _ellipse(cov_en: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    evals, evecs = np.linalg.eigh(cov_en)  # ascending
    scale = np.sqrt(-2.0 * np.log(1.0 - confidence))
    major = scale * np.sqrt(np.clip(evals[..., 1], 0.0, None))
    minor = scale * np.sqrt(np.clip(evals[..., 0], 0.0, None))
    e_comp, n_comp = evecs[..., 0, 1], evecs[..., 1, 1]
    orient = np.degrees(np.arctan2(e_comp, n_comp)) % 180.0
    return major, minor, orient


def predict_impact_batch(
    t_utc: np.datetime64,
    position_ecef_m: np.ndarray,
    velocity_ecef_m_s: np.ndarray,
    covariance_6x6: np.ndarray,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    earth: EarthModel = WGS84_EARTH,
    step_s: float = STEP_S,
    max_coast_s: float = MAX_COAST_S,
) -> ImpactBatch:
    """Impact points and ellipses of N states ``(N, 3)`` with covariances ``(N, 6, 6)`` (position
    metres then velocity m/s, Earth-fixed), all at ``t_utc``; see the module docstring."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    r = np.asarray(position_ecef_m, dtype=float).reshape(-1, 3)
    v = np.asarray(velocity_ecef_m_s, dtype=float).reshape(-1, 3)
    p = np.asarray(covariance_6x6, dtype=float).reshape(-1, 6, 6)
    n = r.shape[0]
    if v.shape[0] != n or p.shape[0] != n:
        raise ValueError("positions, velocities and covariances must have the same length")
    x0 = np.concatenate([r, v], axis=1)  # (N, 6)
    steps = np.array([FD_POSITION_M] * 3 + [FD_VELOCITY_M_S] * 3)
    pert = np.concatenate([np.diag(steps), -np.diag(steps)])  # (12, 6)
    states = np.concatenate([x0[:, None, :], x0[:, None, :] + pert[None]], axis=1)  # (N, 13, 6)
    flat = states.reshape(-1, 6)
    imp, tof = impact_points(flat[:, :3], flat[:, 3:], earth, step_s, max_coast_s)
    imp = imp.reshape(n, 13, 3)
    tof = tof.reshape(n, 13)
    lat, lon, _ = ecef_to_geodetic(imp[:, 0], earth)
    east, north, _ = enu_basis(lat, lon)
    d = imp[:, 1:] - imp[:, :1]  # (N, 12, 3)
    de = np.einsum("nki,ni->nk", d, east) / 1000.0
    dn = np.einsum("nki,ni->nk", d, north) / 1000.0
    dt = tof[:, 1:] - tof[:, :1]
    g = np.stack([de, dn, dt], axis=1)  # (N, 3, 12)
    jac = (g[:, :, :6] - g[:, :, 6:]) / (2.0 * steps)  # (N, 3, 6)
    cov3 = jac @ p @ np.swapaxes(jac, -1, -2)
    cov_en = cov3[:, :2, :2]
    ok = np.all(np.isfinite(tof), axis=1) & np.all(np.isfinite(p), axis=(1, 2))
    cov_en = np.where(ok[:, None, None], cov_en, np.nan)
    major, minor, orient = _ellipse(np.where(ok[:, None, None], cov_en, np.eye(2)), confidence)
    nan = np.where(ok, 1.0, np.nan)
    return ImpactBatch(
        impact_lat_deg=lat * np.where(np.isfinite(tof[:, 0]), 1.0, np.nan),
        impact_lon_deg=lon * np.where(np.isfinite(tof[:, 0]), 1.0, np.nan),
        impact_ecef_m=imp[:, 0],
        time_to_impact_s=tof[:, 0],
        semi_major_km=major * nan,
        semi_minor_km=minor * nan,
        orientation_deg=orient * nan,
        impact_time_sigma_s=np.sqrt(np.clip(cov3[:, 2, 2], 0.0, None)) * nan,
        covariance_en_km2=cov_en,
        confidence=confidence,
    )


def predict_impact(
    t_utc: np.datetime64,
    position_ecef_m: np.ndarray,
    velocity_ecef_m_s: np.ndarray,
    covariance_6x6: np.ndarray,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    earth: EarthModel = WGS84_EARTH,
    step_s: float = STEP_S,
    max_coast_s: float = MAX_COAST_S,
) -> ImpactPrediction:
    """Where and when the state at ``t_utc`` comes down, with its ``confidence`` ellipse.

    Raises ``ValueError`` for a malformed state or covariance; a state that does not come down
    within ``max_coast_s`` (or starts below the surface) gives NaN fields, ``impacts`` False."""
    r = np.asarray(position_ecef_m, dtype=float)
    v = np.asarray(velocity_ecef_m_s, dtype=float)
    p = np.asarray(covariance_6x6, dtype=float)
    if r.shape != (3,) or v.shape != (3,) or p.shape != (6, 6):
        raise ValueError("predict_impact needs position (3,), velocity (3,) and covariance (6, 6)")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(v)) and np.all(np.isfinite(p))):
        raise ValueError("predict_impact: state and covariance must be finite")
    t0 = np.datetime64(np.asarray(t_utc).astype("datetime64[ns]").item(), "ns")
    if np.isnat(t0):
        raise ValueError("predict_impact: t_utc is NaT")
    b = predict_impact_batch(
        t0, r, v, p, confidence=confidence, earth=earth, step_s=step_s, max_coast_s=max_coast_s
    )
    tof = float(b.time_to_impact_s[0])
    when = (
        t0 + np.timedelta64(int(round(tof * 1e9)), "ns") if np.isfinite(tof) else np.datetime64("NaT", "ns")
    )
    return ImpactPrediction(
        impact_lat_deg=float(b.impact_lat_deg[0]),
        impact_lon_deg=float(b.impact_lon_deg[0]),
        impact_time_utc=when,
        time_to_impact_s=tof,
        semi_major_km=float(b.semi_major_km[0]),
        semi_minor_km=float(b.semi_minor_km[0]),
        orientation_deg=float(b.orientation_deg[0]),
        confidence=confidence,
        impact_time_sigma_s=float(b.impact_time_sigma_s[0]),
        covariance_en_km2=b.covariance_en_km2[0],
    )


__all__ = [
    "DEFAULT_CONFIDENCE",
    "ImpactBatch",
    "ImpactPrediction",
    "impact_points",
    "predict_impact",
    "predict_impact_batch",
]
