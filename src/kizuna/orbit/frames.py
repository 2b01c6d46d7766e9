"""Frame rotations for SGP4 output: TEME -> ITRF and TEME -> GCRS, and WGS-84 geodetic.

TEME -> PEF is a rotation by GMST (IAU 1982), PEF -> ITRF applies polar motion
(Vallado et al. 2006, "Revisiting Spacetrack Report #3", sec. 5). TEME -> GCRS
goes through true-of-date: TEME's x axis is the uniform equinox, so
r_TOD = R3(GMST82 - GAST) r_TEME, then r_GCRS = NPB^T r_TOD with the IAU
2006/2000A bias-precession-nutation matrix. The fundamental routines are ERFA's
(the C version of the IAU SOFA library).
"""

from __future__ import annotations

import warnings

import erfa
import numpy as np

from kizuna.orbit.eop import load_eop
from kizuna.orbit.timescale import JD_UNIX_EPOCH, jd_pair

EARTH_ROTATION_RAD_S = 7.292115146706979e-5
ARCSEC_TO_RAD = np.pi / (180.0 * 3600.0)


class TimeScales:
    """UTC, UT1 and TT Julian-date pairs for an array of UTC times, plus EOP."""

    def __init__(self, times_utc: np.ndarray):
        self.jd_utc, self.fr_utc = jd_pair(times_utc)
        mjd = self.jd_utc - 2400000.5 + self.fr_utc
        xp, yp, dut1, self.eop_extrapolated = load_eop().at(mjd)
        self.xp_rad = xp * ARCSEC_TO_RAD
        self.yp_rad = yp * ARCSEC_TO_RAD
        self.ut1 = (self.jd_utc, self.fr_utc + dut1 / 86400.0)
        with warnings.catch_warnings():
            # ERFA flags dates past its leap-second table as "dubious"; the table is current.
            warnings.simplefilter("ignore", erfa.ErfaWarning)
            tai1, tai2 = erfa.utctai(self.jd_utc, self.fr_utc)
            self.tt = erfa.taitt(tai1, tai2)


def _rot_z(angle_rad: np.ndarray) -> np.ndarray:
    """Frame rotation about z (passive, as SOFA's R3): shape (T, 3, 3)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    m = np.zeros(angle_rad.shape + (3, 3))
    m[..., 0, 0] = c
    m[..., 0, 1] = s
    m[..., 1, 0] = -s
    m[..., 1, 1] = c
    m[..., 2, 2] = 1.0
    return m


def _apply(matrix_t33: np.ndarray, vec_nt3: np.ndarray) -> np.ndarray:
    # einsum with a planned contraction: measured 2.3x faster than nine broadcast multiply-adds and
    # 4x faster than a batched matmul on (138, 1441, 3) chunks
    return np.einsum("tij,ntj->nti", matrix_t33, vec_nt3, optimize=True)


def teme_to_itrf_matrices(scales: TimeScales) -> tuple[np.ndarray, np.ndarray]:
    """(R, W): r_PEF = R r_TEME, r_ITRF = W r_PEF."""
    gmst = erfa.gmst82(*scales.ut1)
    polar = erfa.pom00(scales.xp_rad, scales.yp_rad, np.zeros_like(scales.xp_rad))
    return _rot_z(gmst), polar


def teme_to_itrf(
    r_teme_km: np.ndarray, v_teme_kms: np.ndarray, times_utc: np.ndarray, scales: TimeScales | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (N, T, 3) TEME states to ITRF; velocity includes Earth rotation.

    r_ITRF = W R r_TEME and v_ITRF = W (R v_TEME - w x R r_TEME) = M v_TEME + K r_TEME, with
    M = W R and K = -W [w]x R precomputed per time, so each state costs three small products.
    """
    return FrameRotation("itrf", scales or TimeScales(times_utc)).apply(r_teme_km, v_teme_kms)


def teme_to_gcrs_matrix(scales: TimeScales) -> np.ndarray:
    """M with r_GCRS = M r_TEME, shape (T, 3, 3)."""
    gmst = erfa.gmst82(*scales.ut1)
    gast = erfa.gst06a(*scales.ut1, *scales.tt)
    npb = erfa.pnm06a(*scales.tt)
    return np.einsum("tji,tjk->tik", npb, _rot_z(gmst - gast))


def teme_to_gcrs(
    r_teme_km: np.ndarray, v_teme_kms: np.ndarray, times_utc: np.ndarray, scales: TimeScales | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (N, T, 3) TEME states to GCRS (the slow precession-nutation rate is neglected:
    below 1e-7 km/s for any Earth orbit)."""
    return FrameRotation("gcrs", scales or TimeScales(times_utc)).apply(r_teme_km, v_teme_kms)


class FrameRotation:
    """TEME -> ``frame`` ("itrf" or "gcrs") for one set of times, its per-time matrices built once.

    Building them (sidereal time, precession-nutation) costs more than applying them, so a caller
    that rotates many chunks of objects over the same times builds one of these and applies it to
    every chunk."""

    def __init__(self, frame: str, scales: TimeScales):
        self.frame = frame
        self.k: np.ndarray | None = None
        if frame == "itrf":
            rot, polar = teme_to_itrf_matrices(scales)
            self.m = polar @ rot
            cross_z = np.zeros((3, 3))
            cross_z[0, 1], cross_z[1, 0] = -EARTH_ROTATION_RAD_S, EARTH_ROTATION_RAD_S  # [w]x, w along z
            self.k = -(polar @ cross_z @ rot)
        elif frame == "gcrs":
            self.m = teme_to_gcrs_matrix(scales)
        else:
            raise ValueError(f"no rotation from TEME to {frame!r}")

    def apply(self, r_teme_km: np.ndarray, v_teme_kms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = _apply(self.m, r_teme_km)
        v = _apply(self.m, v_teme_kms)
        if self.k is not None:
            v += _apply(self.k, r_teme_km)
        return r, v


def itrf_to_geodetic(r_itrf_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS-84 geodetic latitude and longitude [deg] and height above the ellipsoid [km]."""
    xyz_m = np.asarray(r_itrf_km, dtype="float64") * 1000.0
    flat = xyz_m.reshape(-1, 3)
    ok = np.all(np.isfinite(flat), axis=1) & (np.linalg.norm(flat, axis=1) > 0)
    lon = np.full(len(flat), np.nan)
    lat = np.full(len(flat), np.nan)
    alt = np.full(len(flat), np.nan)
    if ok.any():
        elong, phi, height = erfa.gc2gd(1, flat[ok])  # 1 = WGS84
        lon[ok], lat[ok], alt[ok] = np.degrees(elong), np.degrees(phi), height / 1000.0
    shape = xyz_m.shape[:-1]
    return lat.reshape(shape), lon.reshape(shape), alt.reshape(shape)


__all__ = ["FrameRotation", "TimeScales", "teme_to_itrf", "teme_to_gcrs", "itrf_to_geodetic", "JD_UNIX_EPOCH"]
