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

from dataclasses import dataclass

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


# ---------------------------------------------------------------- track filter
# Process-noise presets [m^2/s^3], white-noise acceleration on each axis. Over a frame time T the
# unmodelled acceleration a is covered when q ~ a^2 T: boost thrust of ~50 m/s^2 with fixes every
# ~10 s needs q ~ 2.5e4; above the air a coasting re-entry vehicle departs from the model only
# through higher gravity harmonics and solar pressure (micro-g), so 1e-3 is a margin, not a need.
ACCEL_PSD_BOOST_M2_S3 = 2.5e4
ACCEL_PSD_COAST_M2_S3 = 1e-3
# Jacobian steps of the transition matrix (as for the impact Jacobian).
_FD_STEPS = np.array([10.0, 10.0, 10.0, 0.01, 0.01, 0.01])


def _white_accel_q(dt_s: float, psd: np.ndarray) -> np.ndarray:
    """Discrete process noise of continuous white acceleration (Bar-Shalom et al. 2001, eq. 6.2.3-8)."""
    dt = abs(dt_s)
    blk = np.array([[dt**3 / 3.0, dt**2 / 2.0], [dt**2 / 2.0, dt]])
    return psd[:, None, None] * np.kron(blk, np.eye(3))[None]


def track_start(
    fix1_ecef_m: np.ndarray,
    cov1_m2: np.ndarray,
    fix2_ecef_m: np.ndarray,
    cov2_m2: np.ndarray,
    dt_s: float,
    accel_psd_m2_s3: float | np.ndarray = ACCEL_PSD_COAST_M2_S3,
    earth: EarthModel = WGS84_EARTH,
) -> tuple[np.ndarray, np.ndarray]:
    """Start N tracks from two fixes ``dt_s`` apart (two-point differencing): the state at the
    second fix, ``(N, 6)``, and its covariance ``(N, 6, 6)``.

    The differenced velocity is the mean over the interval; the coast acceleration times
    ``dt / 2`` brings it to the second fix, and the white-noise acceleration adds ``q dt / 3`` to
    its variance."""
    z1 = np.asarray(fix1_ecef_m, dtype=float).reshape(-1, 3)
    z2 = np.asarray(fix2_ecef_m, dtype=float).reshape(-1, 3)
    r1 = np.asarray(cov1_m2, dtype=float).reshape(-1, 3, 3)
    r2 = np.asarray(cov2_m2, dtype=float).reshape(-1, 3, 3)
    if dt_s <= 0.0:
        raise ValueError(f"track_start: fixes must be in time order, dt_s = {dt_s}")
    psd = np.broadcast_to(np.asarray(accel_psd_m2_s3, dtype=float), (z2.shape[0],))
    v = (z2 - z1) / dt_s
    v = v + 0.5 * dt_s * coast_accel_m_s2(z2, v, earth)
    x = np.concatenate([z2, v], axis=1)
    p = np.zeros((z2.shape[0], 6, 6))
    p[:, :3, :3] = r2
    p[:, :3, 3:] = r2 / dt_s
    p[:, 3:, :3] = r2 / dt_s
    p[:, 3:, 3:] = (r1 + r2) / dt_s**2 + (psd * dt_s / 3.0)[:, None, None] * np.eye(3)
    return x, p


def track_predict(
    state: np.ndarray,
    covariance: np.ndarray,
    dt_s: float,
    accel_psd_m2_s3: float | np.ndarray = ACCEL_PSD_COAST_M2_S3,
    earth: EarthModel = WGS84_EARTH,
    max_step_s: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Predict N track states ``(N, 6)`` and covariances ``(N, 6, 6)`` by ``dt_s``: ballistic coast
    of the mean, ``P <- F P F^T + Q`` with ``F`` the central-difference Jacobian of the same coast
    and ``Q`` white-noise acceleration of spectral density ``accel_psd_m2_s3`` (scalar or (N,))."""
    x = np.asarray(state, dtype=float).reshape(-1, 6)
    p = np.asarray(covariance, dtype=float).reshape(-1, 6, 6)
    n = x.shape[0]
    if dt_s == 0.0:
        return x.copy(), p.copy()
    psd = np.broadcast_to(np.asarray(accel_psd_m2_s3, dtype=float), (n,))
    pert = np.concatenate([np.diag(_FD_STEPS), -np.diag(_FD_STEPS)])
    states = np.concatenate([x[:, None, :], x[:, None, :] + pert[None]], axis=1).reshape(-1, 6)
    r, v = coast(states[:, :3], states[:, 3:], dt_s, earth, max_step_s)
    out = np.concatenate([r, v], axis=1).reshape(n, 13, 6)
    f = np.swapaxes((out[:, 1:7] - out[:, 7:13]) / (2.0 * _FD_STEPS)[None, :, None], 1, 2)  # (N, 6, 6)
    pn = f @ p @ np.swapaxes(f, 1, 2) + _white_accel_q(dt_s, psd)
    return out[:, 0], 0.5 * (pn + np.swapaxes(pn, 1, 2))


def track_update(
    state: np.ndarray,
    covariance: np.ndarray,
    fix_ecef_m: np.ndarray,
    fix_cov_m2: np.ndarray,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kalman update of N predicted tracks with position fixes ``(N, 3)`` of covariance
    ``(N, 3, 3)`` (Joseph form). Rows where ``valid`` is False (no fix this frame) keep the
    prediction. Returns the state, covariance and each fix's normalised innovation squared (NIS,
    chi-square with 3 degrees of freedom for a consistent track; NaN without a fix), which a caller
    can gate on to refuse a fix that belongs to another object."""
    x = np.asarray(state, dtype=float).reshape(-1, 6)
    p = np.asarray(covariance, dtype=float).reshape(-1, 6, 6)
    z = np.asarray(fix_ecef_m, dtype=float).reshape(-1, 3)
    r = np.asarray(fix_cov_m2, dtype=float).reshape(-1, 3, 3)
    n = x.shape[0]
    ok = np.ones(n, dtype=bool) if valid is None else np.asarray(valid, dtype=bool).copy()
    ok &= np.all(np.isfinite(z), axis=1) & np.all(np.isfinite(r), axis=(1, 2))
    z = np.where(ok[:, None], z, 0.0)
    r = np.where(ok[:, None, None], r, np.eye(3))
    innov = z - x[:, :3]
    s = p[:, :3, :3] + r
    s_inv = np.linalg.inv(s)
    k = p[:, :, :3] @ s_inv  # (N, 6, 3)
    h = np.concatenate([np.eye(3), np.zeros((3, 3))], axis=1)  # the fix measures position
    ikh = np.eye(6)[None] - k @ h[None]
    pn = ikh @ p @ np.swapaxes(ikh, 1, 2) + k @ r @ np.swapaxes(k, 1, 2)
    xn = x + np.einsum("nij,nj->ni", k, innov)
    nis = np.einsum("ni,nij,nj->n", innov, s_inv, innov)
    xn = np.where(ok[:, None], xn, x)
    pn = np.where(ok[:, None, None], 0.5 * (pn + np.swapaxes(pn, 1, 2)), p)
    return xn, pn, np.where(ok, nis, np.nan)


# ---------------------------------------------------------------- continuity
@dataclass(frozen=True, eq=False)
class TrackContinuity:
    """Track-custody bookkeeping for N launches over T samples (arrays of length N).

    ``first_track_s``: the first sample with a track (NaN if never). ``breaks``: how many times the
    track was lost (a gap between tracked samples longer than ``max_gap_s``) after it started.
    ``longest_gap_s``: the longest such stretch without a fix (0 when never broken).
    ``held_fraction``: share of the considered time from the first track to the last considered
    sample that lies within ``max_gap_s`` after a fix (custody held)."""

    first_track_s: np.ndarray
    breaks: np.ndarray
    longest_gap_s: np.ndarray
    held_fraction: np.ndarray


def track_continuity(
    time_s: np.ndarray, tracked: np.ndarray, max_gap_s: float, within: np.ndarray | None = None
) -> TrackContinuity:
    """Continuity of N tracks sampled at ``time_s`` (T,), ``tracked`` (N, T) True where a fix (a
    stereo track update) exists. ``within`` (N, T) or (T,) restricts the samples considered (a
    flight phase, say); a gap is measured between considered samples only."""
    t = np.asarray(time_s, dtype=float)
    fix = np.atleast_2d(np.asarray(tracked, dtype=bool))
    if fix.shape[1] != t.shape[0]:
        raise ValueError("tracked must be (N, T) with T = len(time_s)")
    if max_gap_s <= 0.0:
        raise ValueError(f"max_gap_s must be positive, got {max_gap_s}")
    n, nt = fix.shape
    win = np.ones_like(fix) if within is None else np.broadcast_to(np.asarray(within, dtype=bool), fix.shape)
    fix = fix & win
    tt = np.broadcast_to(t, (n, nt))
    # time of the latest fix at or before each sample (-inf before the first)
    last_fix = np.maximum.accumulate(np.where(fix, tt, -np.inf), axis=1)
    started = np.isfinite(last_fix)
    first = np.where(fix.any(axis=1), np.where(fix, tt, np.inf).min(axis=1), np.nan)
    # gaps: differences between successive fix times
    fix_times = np.where(fix, tt, np.nan)
    breaks = np.zeros(n, dtype=int)
    longest = np.zeros(n)
    for i in range(n):  # N launches of a few hundred fixes each: the loop is over launches only
        ft = fix_times[i][np.isfinite(fix_times[i])]
        if ft.size >= 2:
            gaps = np.diff(ft)
            big = gaps > max_gap_s
            breaks[i] = int(big.sum())
            longest[i] = float(gaps[big].max()) if big.any() else 0.0
    # custody: sample-weighted share of considered, started samples within max_gap_s of a fix
    dt = np.gradient(t) if nt > 1 else np.ones(1)
    consider = win & started
    held = consider & (tt - last_fix <= max_gap_s)
    denom = (consider * dt).sum(axis=1)
    frac = np.where(denom > 0, (held * dt).sum(axis=1) / np.where(denom > 0, denom, 1.0), np.nan)
    return TrackContinuity(first_track_s=first, breaks=breaks, longest_gap_s=longest, held_fraction=frac)


__all__ = [
    "ACCEL_PSD_BOOST_M2_S3",
    "ACCEL_PSD_COAST_M2_S3",
    "MIN_PARALLAX_RAD",
    "TrackContinuity",
    "track_continuity",
    "track_predict",
    "track_start",
    "track_update",
    "triangulate",
    "triangulate_batch",
    "coast",
    "coast_accel_m_s2",
]
