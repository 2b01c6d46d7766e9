"""Satellite positions from broadcast ephemerides (GPS, QZSS, Galileo), vectorised over records x times.

The user algorithm of IS-GPS-200 (Rev. N, Table 20-IV), which IS-QZSS-PNT and the Galileo OS
SIS ICD (sec. 5.1.1) reuse with their own constants: Kepler's equation solved by Newton's method
to 1e-13 rad, harmonic corrections, Earth rotation during the time since the reference epoch.
The result is Earth-fixed (WGS-84 / GTRF, both within centimetres of ITRF) at the given instant,
referred to the antenna phase centre as broadcast (an SP3 precise orbit is the centre of mass:
they differ by the antenna offset, about a metre for GPS).

Time: a record's epochs are in the system's time scale (GPST, or GST which is steered to it);
UTC instants are converted with ERFA's leap-second table, GPST = TAI - 19 s.

BeiDou (its GEO satellites need an extra rotation) and GLONASS (state vectors to integrate)
are not computed here; `BroadcastEphemerides.skipped` counts their records.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import erfa
import numpy as np

from kizuna.formats.rinex_nav import BroadcastEphemerides
from kizuna.orbit.timescale import jd_pair
from kizuna.pnt.systems import SYSTEM_BY_LETTER, GnssSatellites

#: gravitational parameter [m^3/s^2] and Earth rotation rate [rad/s] each ICD prescribes
GM_M3_S2 = {"G": 3.986005e14, "J": 3.986005e14, "E": 3.986004418e14}
EARTH_ROTATION_RAD_S = {"G": 7.2921151467e-5, "J": 7.2921151467e-5, "E": 7.2921151467e-5}
COMPUTED_SYSTEMS = tuple(GM_M3_S2)
GPS_EPOCH = np.datetime64("1980-01-06T00:00:00", "ns")
SECONDS_PER_WEEK = 604_800.0
GPST_MINUS_TAI_S = -19.0
#: how far from a record's reference epoch (toe) it is used: the ICDs' curve fits are 4 hours
#: long (GPS: 2 h each side of toe); past this a satellite has no position (NaN)
DEFAULT_MAX_AGE_S = 7200.0


def tai_minus_utc_s(times_utc: np.ndarray) -> np.ndarray:
    """TAI - UTC [s] (leap seconds) at each UTC instant, from ERFA's table."""
    jd, fr = jd_pair(np.asarray(times_utc, dtype="datetime64[ns]"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        tai1, tai2 = erfa.utctai(jd, fr)
    return np.round(((tai1 - jd) + (tai2 - fr)) * 86400.0 * 1e3) / 1e3  # whole ms: leap seconds are whole


def gpst_seconds(times_utc: np.ndarray) -> np.ndarray:
    """GPS time in seconds since the GPS epoch (1980-01-06 00:00 UTC = GPST) for UTC instants."""
    t = np.asarray(times_utc, dtype="datetime64[ns]")
    return (t - GPS_EPOCH).astype("int64") / 1e9 + tai_minus_utc_s(t) + GPST_MINUS_TAI_S


def utc_from_gpst(times_gpst: np.ndarray) -> np.ndarray:
    """UTC instants (datetime64[ns]) of GPST calendar instants (as an SP3 file writes them)."""
    t = np.asarray(times_gpst, dtype="datetime64[ns]")
    guess = t - (tai_minus_utc_s(t) + GPST_MINUS_TAI_S).astype("int64") * np.timedelta64(1, "s")
    # one more pass settles instants within a leap second's reach of the first guess
    offset_ns = np.round((tai_minus_utc_s(guess) + GPST_MINUS_TAI_S) * 1e9).astype("int64")
    return t - offset_ns.astype("timedelta64[ns]")


def _wrap_week(seconds: np.ndarray) -> np.ndarray:
    """Into (-302400, 302400]: the ICDs' rule for a time difference across a week boundary."""
    return seconds - SECONDS_PER_WEEK * np.round(seconds / SECONDS_PER_WEEK)


def kepler_positions_m(elements: dict[str, np.ndarray], tk_s: np.ndarray, system: str) -> np.ndarray:
    """Earth-fixed positions [m] of records at `tk_s` seconds from their toe: (..., 3).

    Each `elements[k]` broadcasts against `tk_s` (records (R,) with tk (R,) or (R, T) with a
    trailing axis added by the caller)."""
    gm, omega_e = GM_M3_S2[system], EARTH_ROTATION_RAD_S[system]
    e = elements["Eccentricity"]
    a = elements["sqrtA"] ** 2
    n = np.sqrt(gm / a**3) + elements["DeltaN"]
    mean_anomaly = elements["M0"] + n * tk_s
    ecc_anomaly = mean_anomaly.copy()
    for _ in range(30):
        step = (ecc_anomaly - e * np.sin(ecc_anomaly) - mean_anomaly) / (1.0 - e * np.cos(ecc_anomaly))
        ecc_anomaly = ecc_anomaly - step
        if np.all(np.abs(step[np.isfinite(step)]) < 1e-13):
            break
    true_anomaly = np.arctan2(np.sqrt(1.0 - e**2) * np.sin(ecc_anomaly), np.cos(ecc_anomaly) - e)
    phi = true_anomaly + elements["omega"]
    sin2, cos2 = np.sin(2.0 * phi), np.cos(2.0 * phi)
    u = phi + elements["Cus"] * sin2 + elements["Cuc"] * cos2
    r = a * (1.0 - e * np.cos(ecc_anomaly)) + elements["Crs"] * sin2 + elements["Crc"] * cos2
    inc = elements["Io"] + elements["Cis"] * sin2 + elements["Cic"] * cos2 + elements["IDOT"] * tk_s
    x_orb, y_orb = r * np.cos(u), r * np.sin(u)
    node = elements["Omega0"] + (elements["OmegaDot"] - omega_e) * tk_s - omega_e * elements["Toe"]
    cos_node, sin_node, cos_i = np.cos(node), np.sin(node), np.cos(inc)
    return np.stack(
        [
            x_orb * cos_node - y_orb * cos_i * sin_node,
            x_orb * sin_node + y_orb * cos_i * cos_node,
            y_orb * np.sin(inc),
        ],
        axis=-1,
    )


def record_toe_gpst_s(eph: BroadcastEphemerides) -> np.ndarray:
    """Each record's reference epoch (toe) as GPST seconds: its toc's week plus toe, wrapped so a
    toe just across a week boundary from toc lands in the right week."""
    toc_s = (eph.toc_system - GPS_EPOCH).astype("int64") / 1e9
    tow_toc = np.mod(toc_s, SECONDS_PER_WEEK)
    return toc_s + _wrap_week(eph.elements["Toe"] - tow_toc)


def broadcast_positions(
    eph: BroadcastEphemerides,
    times_utc: np.ndarray,
    *,
    systems: Iterable[str] = COMPUTED_SYSTEMS,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    healthy_only: bool = True,
) -> GnssSatellites:
    """Positions (ITRF, km) of every satellite of `systems` (RINEX letters) in the file at each time.

    Each satellite at each time uses its record with the nearest toe; farther than `max_age_s`
    (or unhealthy, with `healthy_only`) its position is NaN.
    """
    wanted = [s for s in systems if s in COMPUTED_SYSTEMS]
    times = np.asarray(times_utc, dtype="datetime64[ns]")
    t_gpst = gpst_seconds(times)
    toe = record_toe_gpst_s(eph)
    usable = np.isin(eph.system, wanted)
    if healthy_only:
        usable &= ~(eph.health > 0)  # NaN health (not given) counts as usable
    keys = sorted({(str(s), int(p)) for s, p in zip(eph.system[usable], eph.prn[usable], strict=True)})
    keys.sort(key=lambda k: (list(SYSTEM_BY_LETTER).index(k[0]), k[1]))
    position_km = np.full((len(keys), len(times), 3), np.nan)
    for i, (system, prn) in enumerate(keys):
        rows = np.flatnonzero(usable & (eph.system == system) & (eph.prn == prn))
        age = np.abs(t_gpst[None, :] - toe[rows, None])  # (records, T)
        nearest = np.argmin(age, axis=0)
        ok = age[nearest, np.arange(len(times))] <= max_age_s
        chosen = rows[nearest]
        elements = {k: v[chosen] for k, v in eph.elements.items()}
        tk = t_gpst - toe[chosen]
        position_km[i] = np.where(ok[:, None], kepler_positions_m(elements, tk, system) / 1000.0, np.nan)
    return GnssSatellites(
        name=np.array([f"{s}{p:02d}" for s, p in keys]),
        system=np.array([s for s, _ in keys], dtype="<U1"),
        times_utc=times,
        position_km=position_km,
        source=eph.file,
    )


__all__ = [
    "COMPUTED_SYSTEMS",
    "DEFAULT_MAX_AGE_S",
    "broadcast_positions",
    "gpst_seconds",
    "kepler_positions_m",
    "record_toe_gpst_s",
    "tai_minus_utc_s",
    "utc_from_gpst",
]
