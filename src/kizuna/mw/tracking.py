"""Stereo tracking: triangulated fixes from lines of sight, a position-velocity track filter, and
track-continuity bookkeeping.

Measurement model. A sensor at ``s_k`` reports a unit line of sight ``u_k`` towards the target,
perturbed by angular noise of standard deviation ``sigma_k`` [rad] on each of the two axes
perpendicular to the line of sight (isotropic, zero mean, independent between sensors and frames).
At range ``r_k`` that is a position error of ``sigma_k r_k`` in the plane perpendicular to ``u_k``
and no information along it.

Triangulation. The fix minimises ``sum_k |P_k (x - s_k)|^2 / (sigma_k r_k)^2`` with
``P_k = I - u_k u_k^T`` (the squared perpendicular distance from ``x`` to each line, weighted by
the inverse variance of the angular error projected at range). The normal equations are linear in
``x`` for fixed weights; the ranges come from the previous iterate (the first pass weights by
``1 / sigma_k^2`` alone). The covariance is the inverse information ``(sum_k P_k / (sigma_k
r_k)^2)^-1``, the Cramer-Rao bound of the linearised problem; ``tests/test_mw_tracking.py`` checks
with a Monte Carlo of noisy lines of sight that it contains the truth at the stated rate.

Track filter. An extended Kalman filter on the Earth-fixed state ``(r, v)`` fed with the fixes.
Process model: a ballistic coast in the rotating WGS-84 frame (point mass plus J2 gravity,
Coriolis and centrifugal terms; drag neglected) plus continuous white-noise acceleration of
power spectral density ``q`` [m^2/s^3] on each axis, which stands for what the coast does not
model: thrust while the plume is seen (a large ``q``), drag and lift below 100 km. The state is
predicted by RK4 and the transition matrix is the central finite-difference Jacobian of the same
propagation. The track starts from two fixes (two-point differencing, Bar-Shalom, Li &
Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001, sec. 5.5.3).
"""

from __future__ import annotations

import numpy as np

from kizuna.mw.trajectory import WGS84_EARTH, EarthModel, frame_m_s2, gravity_m_s2

# Two lines closer to parallel than this carry no range: refuse them rather than return a fix
# whose covariance is numerically meaningless.
MIN_PARALLAX_RAD = 1e-6


def _unit_perp_projectors(los_unit: np.ndarray) -> np.ndarray:
    u = los_unit / np.linalg.norm(los_unit, axis=-1, keepdims=True)
    eye = np.eye(3)
    return eye - u[..., :, None] * u[..., None, :]


def triangulate_batch(
    sensor_pos_ecef_m: np.ndarray,
    los_unit_ecef: np.ndarray,
    sigma_rad: np.ndarray,
    valid: np.ndarray | None = None,
    iterations: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangulate N targets at once, each seen by up to K sensors.

    ``sensor_pos_ecef_m`` and ``los_unit_ecef`` are ``(N, K, 3)``, ``sigma_rad`` ``(N, K)``,
    ``valid`` an optional ``(N, K)`` mask of the lines that exist. Returns ``position (N, 3)``,
    ``covariance (N, 3, 3)`` and ``ok (N,)``: False (and NaN rows) where fewer than two valid lines
    are left or they are parallel to within :data:`MIN_PARALLAX_RAD`.
    """
    s = np.asarray(sensor_pos_ecef_m, dtype=float)
    u = np.asarray(los_unit_ecef, dtype=float)
    sig = np.asarray(sigma_rad, dtype=float)
    if s.ndim != 3 or s.shape[-1] != 3 or u.shape != s.shape or sig.shape != s.shape[:2]:
        raise ValueError("sensor positions and lines of sight must be (N, K, 3) and sigma (N, K)")
    m = np.ones(sig.shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    m = m & np.all(np.isfinite(s), axis=-1) & np.all(np.isfinite(u), axis=-1)
    m = m & np.isfinite(sig) & (sig > 0.0) & (np.linalg.norm(np.where(np.isfinite(u), u, 0.0), axis=-1) > 0)
    s = np.where(m[..., None], s, 0.0)
    u = np.where(m[..., None], u, 1.0)
    proj = _unit_perp_projectors(u)  # (N, K, 3, 3)
    w = np.where(m, 1.0 / np.where(m, sig, 1.0) ** 2, 0.0)  # first pass: angular weights only
    n = s.shape[0]
    x = np.full((n, 3), np.nan)
    info = np.zeros((n, 3, 3))
    ok = m.sum(axis=1) >= 2
    # parallax: the largest angle between any two valid lines of sight of a target
    uu = u / np.linalg.norm(u, axis=-1, keepdims=True)
    cosang = np.einsum("nki,nli->nkl", uu, uu)
    pair = m[:, :, None] & m[:, None, :]
    sin_max = np.sqrt(np.clip(1.0 - np.where(pair, cosang, 1.0) ** 2, 0.0, None)).max(axis=(1, 2))
    ok &= sin_max > MIN_PARALLAX_RAD
    for _ in range(max(1, iterations)):
        info = np.einsum("nk,nkij->nij", w, proj)
        rhs = np.einsum("nk,nkij,nkj->ni", w, proj, s)
        info_ok = np.where(ok[:, None, None], info, np.eye(3))
        x = np.linalg.solve(info_ok, rhs[..., None])[..., 0]
        rng = np.linalg.norm(x[:, None, :] - s, axis=-1)
        w = np.where(m, 1.0 / (np.where(m, sig, 1.0) * np.where(m, np.maximum(rng, 1.0), 1.0)) ** 2, 0.0)
    info = np.einsum("nk,nkij->nij", w, proj)
    rhs = np.einsum("nk,nkij,nkj->ni", w, proj, s)
    info_ok = np.where(ok[:, None, None], info, np.eye(3))
    x = np.linalg.solve(info_ok, rhs[..., None])[..., 0]
    cov = np.linalg.inv(info_ok)
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    x[~ok] = np.nan
    cov[~ok] = np.nan
    return x, cov, ok


def triangulate(
    sensor_pos_ecef_m: np.ndarray, los_unit_ecef: np.ndarray, sigma_rad: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares intersection of K >= 2 lines of sight: ``(position_ecef_m (3,),
    covariance_m2 (3, 3))``. Raises ``ValueError`` for fewer than two usable lines, parallel lines,
    non-finite values or a non-positive sigma."""
    s = np.asarray(sensor_pos_ecef_m, dtype=float)
    u = np.asarray(los_unit_ecef, dtype=float)
    sig = np.asarray(sigma_rad, dtype=float)
    if s.ndim != 2 or s.shape[1] != 3 or u.shape != s.shape or sig.shape != (s.shape[0],):
        raise ValueError("triangulate needs sensor positions (K, 3), lines of sight (K, 3), sigma (K,)")
    if s.shape[0] < 2:
        raise ValueError(f"triangulate needs at least 2 lines of sight, got {s.shape[0]}")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(u)) and np.all(np.isfinite(sig))):
        raise ValueError("triangulate: sensor positions, lines of sight and sigma must be finite")
    if np.any(sig <= 0.0):
        raise ValueError("triangulate: sigma_rad must be positive")
    if np.any(np.linalg.norm(u, axis=1) == 0.0):
        raise ValueError("triangulate: a line of sight is the zero vector")
    x, cov, ok = triangulate_batch(s[None], u[None], sig[None])
    if not ok[0]:
        raise ValueError("triangulate: the lines of sight are parallel; no range information")
    return x[0], cov[0]


# ---------------------------------------------------------------- ballistic coast
def coast_accel_m_s2(r_m: np.ndarray, v_m_s: np.ndarray, earth: EarthModel = WGS84_EARTH) -> np.ndarray:
    """Acceleration of a coasting body in the Earth-fixed frame: gravity (point mass + J2) plus the
    frame's Coriolis and centrifugal terms. Drag is not included (see the module docstring)."""
    return gravity_m_s2(r_m, earth) + frame_m_s2(r_m, v_m_s, earth)


def coast(
    r_m: np.ndarray, v_m_s: np.ndarray, dt_s: float, earth: EarthModel = WGS84_EARTH, max_step_s: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Propagate ``(..., 3)`` states ballistically by ``dt_s`` (either sign) with fixed-step RK4."""
    r = np.array(r_m, dtype=float, copy=True)
    v = np.array(v_m_s, dtype=float, copy=True)
    if dt_s == 0.0:
        return r, v
    n = max(1, int(np.ceil(abs(dt_s) / max_step_s)))
    h = dt_s / n
    for _ in range(n):
        a1 = coast_accel_m_s2(r, v, earth)
        r2, v2 = r + 0.5 * h * v, v + 0.5 * h * a1
        a2 = coast_accel_m_s2(r2, v2, earth)
        r3, v3 = r + 0.5 * h * v2, v + 0.5 * h * a2
        a3 = coast_accel_m_s2(r3, v3, earth)
        r4, v4 = r + h * v3, v + h * a3
        a4 = coast_accel_m_s2(r4, v4, earth)
        r = r + h / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
        v = v + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return r, v


__all__ = [
    "MIN_PARALLAX_RAD",
    "triangulate",
    "triangulate_batch",
    "coast",
    "coast_accel_m_s2",
]
