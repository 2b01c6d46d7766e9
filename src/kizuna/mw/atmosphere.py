"""US Standard Atmosphere 1976: density, temperature and speed of sound for drag and Mach.

Below 86 km the model is the standard's own: seven layers of linear temperature in geopotential
height with hydrostatic pressure (U.S. Standard Atmosphere, 1976, NOAA-S/T 76-1562, Table 4 and
equations 23, 33a-b). Above 86 km the standard's tabulated densities (its Table 1, via Vallado,
*Fundamentals of Astrodynamics and Applications*, 4th ed., Table 8-4) are interpolated
log-linearly up to 1,000 km; above that the density is zero. Temperature above 86 km is held at
the 86 km value, which only matters for the Mach number of a body that has no aerodynamic
forces left to speak of.
"""

from __future__ import annotations

import numpy as np

G0_M_S2 = 9.80665
R_AIR_J_KG_K = 287.053  # R* / M0 of the standard (8314.32 / 28.9644)
GAMMA_AIR = 1.4
EARTH_RADIUS_GEOPOT_M = 6_356_766.0  # r0 of the standard, for geopotential height

# Layer bases: geopotential height [m], temperature lapse [K/m] (Table 4 of the standard).
_H_BASE_M = np.array([0.0, 11_000.0, 20_000.0, 32_000.0, 47_000.0, 51_000.0, 71_000.0, 84_852.0])
_LAPSE_K_M = np.array([-0.0065, 0.0, 0.001, 0.0028, 0.0, -0.0028, -0.002, 0.0])
_T0_K = 288.15
_P0_PA = 101_325.0


def _layer_bases() -> tuple[np.ndarray, np.ndarray]:
    t = [_T0_K]
    p = [_P0_PA]
    for i in range(len(_H_BASE_M) - 1):
        dh = _H_BASE_M[i + 1] - _H_BASE_M[i]
        lapse = _LAPSE_K_M[i]
        t_next = t[i] + lapse * dh
        if lapse == 0.0:
            p_next = p[i] * np.exp(-G0_M_S2 * dh / (R_AIR_J_KG_K * t[i]))
        else:
            p_next = p[i] * (t[i] / t_next) ** (G0_M_S2 / (R_AIR_J_KG_K * lapse))
        t.append(t_next)
        p.append(p_next)
    return np.array(t), np.array(p)


_T_BASE_K, _P_BASE_PA = _layer_bases()

# Geometric altitude [km] and density [kg/m^3] tabulated by the standard above 86 km.
_UPPER_ALT_KM = np.array(
    [86.0, 100.0, 110.0, 120.0, 130.0, 140.0, 150.0, 180.0, 200.0, 250.0, 300.0, 350.0, 400.0]
    + [450.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0]
)
_UPPER_RHO = np.array(
    [6.958e-6, 5.604e-7, 9.708e-8, 2.222e-8, 8.152e-9, 3.831e-9, 2.076e-9, 5.194e-10]
    + [2.541e-10, 6.073e-11, 1.916e-11, 7.014e-12, 2.803e-12, 1.184e-12, 5.215e-13]
    + [1.137e-13, 3.070e-14, 1.136e-14, 5.759e-15, 3.561e-15]
)
_LOG_UPPER_RHO = np.log(_UPPER_RHO)
TOP_ALT_M = 1_000_000.0


def temperature_pressure(alt_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Temperature [K] and pressure [Pa] at geometric altitude (clipped to 0..86 km)."""
    z = np.clip(np.asarray(alt_m, dtype=float), 0.0, 86_000.0)
    h = EARTH_RADIUS_GEOPOT_M * z / (EARTH_RADIUS_GEOPOT_M + z)
    i = np.clip(np.searchsorted(_H_BASE_M, h, side="right") - 1, 0, len(_H_BASE_M) - 1)
    dh = h - _H_BASE_M[i]
    lapse = _LAPSE_K_M[i]
    tb = _T_BASE_K[i]
    t = tb + lapse * dh
    iso = lapse == 0.0
    safe_lapse = np.where(iso, 1.0, lapse)
    p_grad = _P_BASE_PA[i] * (tb / t) ** (G0_M_S2 / (R_AIR_J_KG_K * safe_lapse))
    p_iso = _P_BASE_PA[i] * np.exp(-G0_M_S2 * dh / (R_AIR_J_KG_K * tb))
    return t, np.where(iso, p_iso, p_grad)


def density(alt_m: np.ndarray) -> np.ndarray:
    """Mass density [kg/m^3] at geometric altitude [m]; negative altitudes read as sea level."""
    z = np.asarray(alt_m, dtype=float)
    t, p = temperature_pressure(z)
    low = p / (R_AIR_J_KG_K * t)
    high = np.exp(np.interp(z / 1000.0, _UPPER_ALT_KM, _LOG_UPPER_RHO))
    rho = np.where(z <= 86_000.0, low, high)
    return np.where(z > TOP_ALT_M, 0.0, rho)


def speed_of_sound(alt_m: np.ndarray) -> np.ndarray:
    """Speed of sound [m/s] (the 86 km value above 86 km)."""
    t, _ = temperature_pressure(alt_m)
    return np.sqrt(GAMMA_AIR * R_AIR_J_KG_K * t)


# A 50 m table of log-density and speed of sound for the integrator: one np.interp per call
# instead of the layer arithmetic (log-linear at 50 m against scale heights of 6-60 km: relative
# density error below 3e-4, at the layer joins).
_TABLE_STEP_M = 50.0
_TABLE_ALT_M = np.arange(0.0, TOP_ALT_M + _TABLE_STEP_M, _TABLE_STEP_M)
# One point past the top with a log-density of -300 so that interpolation reads zero above it.
_TABLE_ALT_M = np.append(_TABLE_ALT_M, TOP_ALT_M + _TABLE_STEP_M)
_TABLE_LOG_RHO = np.append(np.log(density(_TABLE_ALT_M[:-1])), -300.0)
_TABLE_SOUND = speed_of_sound(_TABLE_ALT_M)


def density_fast(alt_m: np.ndarray) -> np.ndarray:
    """:func:`density` from the 50 m table (zero above 1,000 km, sea level below 0)."""
    return np.exp(np.interp(alt_m, _TABLE_ALT_M, _TABLE_LOG_RHO))


def speed_of_sound_fast(alt_m: np.ndarray) -> np.ndarray:
    """:func:`speed_of_sound` from the 50 m table."""
    return np.interp(alt_m, _TABLE_ALT_M, _TABLE_SOUND)


def altitude_of_density(rho: np.ndarray) -> np.ndarray:
    """The altitude [m] at which the (monotone) table density equals ``rho``."""
    return np.interp(-np.log(rho), -_TABLE_LOG_RHO, _TABLE_ALT_M)
