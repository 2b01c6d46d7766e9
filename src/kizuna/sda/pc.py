"""Collision probability for short encounters (2-D, encounter plane).

References
- Foster & Estes (1992), "A parametric analysis of orbital debris collision probability and
  maneuver rate for space vehicles", NASA JSC-25898: Pc as the integral of the combined
  2-D position Gaussian over the hard-body circle in the encounter plane.
- Alfano (2005), "A numerical implementation of spherical object collision probability",
  J. Astronaut. Sci. 53(1), and NASA CARA ``PcCircle.m`` (same 1-D error-function form).
- Chan (1997/2008), "Spacecraft Collision Probability", Aerospace Press, ch. 5: the series in
  the equivalent-area circle, written here with Poisson weights.
- Alfano (2005), "Relating position uncertainty to maximum conjunction probability",
  J. Astronaut. Sci. 53(2): maximum Pc over covariance scalings.

All functions are pure and take kilometres (states), km^2 (covariances) and km (radii).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, special, stats

from kizuna.orbit.geometry import rtn_basis

PC_FOSTER = "FOSTER-1992"
PC_CHAN = "CHAN-1997"
PC_MAX_ISOTROPIC = "ALFANO-2005-MAX-PC-ISOTROPIC"
PC_MAX_SCALED = "ALFANO-2005-MAX-PC-COV-SCALED"
#: Newton steps at most for the maximum-Pc condition (it converges in 4 to 6)
MAX_NEWTON_STEPS = 50


@dataclass(frozen=True)
class EncounterPlane:
    """Relative geometry at TCA, projected on the plane normal to the relative velocity."""

    miss_2d_km: np.ndarray  # (2,) secondary minus primary, in-plane
    cov_2d_km2: np.ndarray  # (2, 2) combined position covariance, in-plane
    rel_speed_kms: float


def rtn_to_inertial_cov(cov_rtn: np.ndarray, r_km: np.ndarray, v_kms: np.ndarray) -> np.ndarray:
    """Rotate a 3x3 or 6x6 RTN covariance into the frame r and v are given in."""
    m = rtn_basis(r_km, v_kms)
    n = cov_rtn.shape[-1]
    rot = np.zeros((n, n))
    for k in range(n // 3):
        rot[3 * k : 3 * k + 3, 3 * k : 3 * k + 3] = m
    return rot.T @ cov_rtn @ rot


def encounter_plane(r1_km, v1_kms, cov1_km2, r2_km, v2_kms, cov2_km2) -> EncounterPlane:
    """Project the relative position and the summed 3x3 position covariances (uncorrelated
    objects) on the plane normal to the relative velocity. The in-plane x axis is along the
    miss vector, so the result does not depend on where along the line TCA was stamped."""
    dr = np.asarray(r2_km, float) - np.asarray(r1_km, float)
    dv = np.asarray(v2_kms, float) - np.asarray(v1_kms, float)
    speed = float(np.linalg.norm(dv))
    if not speed > 0:
        raise ValueError("zero relative velocity: the 2-D short-encounter model does not apply")
    ey = dv / speed
    perp = dr - np.dot(dr, ey) * ey
    if np.linalg.norm(perp) > 0:
        ex = perp / np.linalg.norm(perp)
    else:  # zero miss: any in-plane direction will do
        ex = np.cross(ey, [1.0, 0.0, 0.0] if abs(ey[0]) < 0.9 else [0.0, 1.0, 0.0])
        ex /= np.linalg.norm(ex)
    ez = np.cross(ex, ey)
    proj = np.stack([ex, ez])
    cov = np.asarray(cov1_km2, float)[:3, :3] + np.asarray(cov2_km2, float)[:3, :3]
    return EncounterPlane(miss_2d_km=proj @ perp, cov_2d_km2=proj @ cov @ proj.T, rel_speed_kms=speed)


def _principal(miss_2d: np.ndarray, cov_2d: np.ndarray) -> tuple[float, float, float, float]:
    """Miss components and sigmas in the covariance's principal axes."""
    cov = 0.5 * (np.asarray(cov_2d, float) + np.asarray(cov_2d, float).T)
    w, vec = np.linalg.eigh(cov)
    if w[0] <= 0:
        raise ValueError(f"2-D covariance is not positive definite (eigenvalues {w})")
    x, y = vec.T @ np.asarray(miss_2d, float)
    return float(x), float(y), math.sqrt(w[0]), math.sqrt(w[1])


def _band(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Phi(hi) - Phi(lo) without cancellation in either tail."""
    upper = lo > 0
    return np.where(upper, special.ndtr(-lo) - special.ndtr(-hi), special.ndtr(hi) - special.ndtr(lo))


def pc_foster(miss_2d_km: np.ndarray, cov_2d_km2: np.ndarray, hbr_km: float) -> float:
    """2-D Pc: the Gaussian integrated over the hard-body disk (Foster 1992).

    Done as CARA's PcCircle does: in the covariance principal axes the inner integral over y
    is an error-function difference, leaving a smooth 1-D integral over x = R sin(theta)."""
    if hbr_km <= 0:
        return 0.0
    xm, ym, sx, sy = _principal(miss_2d_km, cov_2d_km2)
    r = float(hbr_km)

    def integrand(theta: float) -> float:
        x = r * math.sin(theta)
        half = r * math.cos(theta)
        gx = math.exp(-0.5 * ((x - xm) / sx) ** 2) / (math.sqrt(2 * math.pi) * sx)
        return gx * float(_band(np.array((ym - half) / sy), np.array((ym + half) / sy))) * r * math.cos(theta)

    # Points where the Gaussian peaks inside the disk help quad on tight covariances.
    pts = [math.asin(max(-1.0, min(1.0, xm / r)))] if abs(xm) < r else None
    val, _ = integrate.quad(
        integrand, -math.pi / 2, math.pi / 2, epsabs=0.0, epsrel=1e-12, limit=500, points=pts
    )
    return float(min(max(val, 0.0), 1.0))


def pc_chan(miss_2d_km: np.ndarray, cov_2d_km2: np.ndarray, hbr_km: float) -> float:
    """Chan's series (equivalent-area circle): exact for a circular covariance, an
    approximation when sigma_x != sigma_y and R is not small against the sigmas.

    Pc = sum_m Pois(m; v/2) * P(Pois(u/2) > m), u = R^2/(sx sy), v = (x/sx)^2 + (y/sy)^2."""
    xm, ym, sx, sy = _principal(miss_2d_km, cov_2d_km2)
    u = hbr_km**2 / (sx * sy)
    v = (xm / sx) ** 2 + (ym / sy) ** 2
    m_max = int(v / 2 + 40 * math.sqrt(v / 2 + 1) + 60)
    m = np.arange(m_max + 1)
    return float(np.sum(stats.poisson.pmf(m, v / 2) * stats.poisson.sf(m, u / 2)))


def pc_isotropic(miss_km, hbr_km, sigma_km):
    """Exact 2-D Pc for a circular covariance sigma^2 I: a non-central chi-square CDF
    (2 degrees of freedom, noncentrality (d/sigma)^2) at (R/sigma)^2. Vectorized."""
    s = np.asarray(sigma_km, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.chndtr((np.asarray(hbr_km) / s) ** 2, 2.0, (np.asarray(miss_km) / s) ** 2)


def pc_max_isotropic(miss_km, hbr_km):
    """Maximum Pc over an unknown isotropic covariance sigma^2 I (Alfano 2005, max-Pc).

    With x = (R/sigma)^2 and lambda = (d/sigma)^2, Pc = F(x; 2, lambda), the non-central
    chi-square CDF. From dF/dx = f(x; 2, lambda) and dF/dlambda = -f(x; 4, lambda), dPc/dsigma
    vanishes where d I1(z) = R I0(z), z = d R / sigma^2: the optimum solves I1(z)/I0(z) = R/d,
    one equation in z whose left side rises from 0 to 1 (Newton's method on scaled Bessel
    functions, from the inverse approximation z ~ 2 rho / (1 - rho^2)). For R << d this gives
    sigma = d/sqrt(2) and Pc_max = R^2 / (e d^2) (Alfano 2005, eq. 8). Vectorized over
    events; returns (pc_max, sigma_km at the maximum), scalars for scalar input."""
    d = np.maximum(np.atleast_1d(np.asarray(miss_km, float)), 1e-12)
    r = np.broadcast_to(np.asarray(hbr_km, float), d.shape)
    inside = d <= r  # the hard bodies overlap at TCA
    rho = np.where(inside, 0.5, r / d)
    z = _bessel_ratio_inverse(rho)
    sigma = np.sqrt(d * r / z)
    # x = R^2 / sigma^2 = rho z and lambda = d^2 / sigma^2 = z / rho
    with np.errstate(divide="ignore", invalid="ignore"):
        pc = special.chndtr(rho * z, 2.0, z / rho)
    pc = np.where(inside, 1.0, pc)
    sigma = np.where(inside, 0.0, sigma)
    if np.ndim(miss_km) == 0:
        return float(pc[0]), float(sigma[0])
    return pc, sigma


def _bessel_ratio_inverse(rho: np.ndarray) -> np.ndarray:
    """z > 0 with I1(z) / I0(z) = rho, for 0 < rho < 1 (Newton; the ratio A(z) is increasing
    and concave, A' = 1 - A/z - A^2, so after the first step the iterates approach from above)."""
    z = np.array(2 * rho / (1 - rho * rho), float)  # exact to first order at both ends
    # each value stops on its own, so that an event's answer never depends on its batch
    act = np.arange(z.size)
    for _ in range(MAX_NEWTON_STEPS):
        if not act.size:
            break
        za, ra = z.flat[act], rho.flat[act]
        ratio = special.i1e(za) / special.i0e(za)
        step = (ratio - ra) / (1 - ratio / za - ratio * ratio)
        z.flat[act] = np.maximum(za - step, 0.5 * za)
        act = act[np.abs(step) > 1e-15 * za]
    return z


def pc_max_isotropic_search(miss_km, hbr_km):
    """Maximum isotropic Pc by direct search: a log grid of sigma from d/100 to 100 d, then
    golden-section steps on the best cell. The reference :func:`pc_max_isotropic` is checked
    against (it found the maximum before the closed condition replaced it)."""
    d = np.maximum(np.atleast_1d(np.asarray(miss_km, float)), 1e-12)
    r = np.broadcast_to(np.asarray(hbr_km, float), d.shape)
    ratios = np.logspace(-2, 2, 81)
    vals = pc_isotropic(d[:, None], r[:, None], d[:, None] * ratios[None, :])
    k = np.clip(np.argmax(vals, axis=1), 1, len(ratios) - 2)
    a, b = np.log(d * ratios[k - 1]), np.log(d * ratios[k + 1])
    g = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        c, e = b - g * (b - a), a + g * (b - a)
        fc, fe = pc_isotropic(d, r, np.exp(c)), pc_isotropic(d, r, np.exp(e))
        left = fc >= fe
        b = np.where(left, e, b)
        a = np.where(left, a, c)
    sigma = np.exp(0.5 * (a + b))
    pc = pc_isotropic(d, r, sigma)
    inside = d <= r
    return np.where(inside, 1.0, pc), np.where(inside, 0.0, sigma)


def pc_max_scaled(miss_2d_km: np.ndarray, cov_2d_km2: np.ndarray, hbr_km: float) -> tuple[float, float]:
    """Maximum Foster Pc over the one-parameter family k^2 * C (Alfano 2005): the worst case
    when the covariance shape is trusted but its size is not. Returns (pc_max, k)."""

    def neg(log_k: float) -> float:
        return -pc_foster(miss_2d_km, np.asarray(cov_2d_km2) * math.exp(2 * log_k), hbr_km)

    res = optimize.minimize_scalar(neg, bounds=(-12.0, 12.0), method="bounded", options={"xatol": 1e-8})
    return -float(res.fun), math.exp(float(res.x))


def pc_from_states(
    r1_km, v1_kms, cov1_km2, r2_km, v2_kms, cov2_km2, hbr_km: float, method: str = PC_FOSTER
) -> float:
    """Pc from two states and their inertial covariances (CDM data block, rotated from RTN)."""
    plane = encounter_plane(r1_km, v1_kms, cov1_km2, r2_km, v2_kms, cov2_km2)
    if method == PC_FOSTER:
        return pc_foster(plane.miss_2d_km, plane.cov_2d_km2, hbr_km)
    if method == PC_CHAN:
        return pc_chan(plane.miss_2d_km, plane.cov_2d_km2, hbr_km)
    raise ValueError(f"unknown Pc method {method!r}")
