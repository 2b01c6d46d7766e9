"""Space-based optical sensors (``space_optical``): a telescope on a satellite, looking at objects
above the Earth's limb, away from the sun, sunlit and bright enough.

- the host flies a circular orbit (``HostOrbit``): its right ascension of the ascending node from
  the local time of the ascending node (``ltan_h``: the node sits (ltan_h - 12) x 15 deg east of
  the mean sun's right ascension, which a sun-synchronous orbit keeps) or fixed (``raan_deg``), and
  its argument of latitude is 0 at the period's start (the sensor files give no phase; over a day
  the host flies 14 orbits, so coverage barely depends on it);
- an object is in view when the line of sight clears the Earth's limb, as seen from the host, by
  ``earth_limb_exclusion_deg`` (the Earth and its airglow fill the background below); it is
  detected when it is also ``sun_exclusion_deg`` from the sun, outside the Earth's shadow
  (``visibility.sunlit``) and no fainter than ``limiting_magnitude`` (``sensors.visual_magnitude``);
- a pass is a run of in-view samples of the 60 s propagation grid (edges to the grid step), with
  the closest range and the detectable arc at the same resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import erfa
import numpy as np

from kizuna.orbit.frames import FrameRotation, TimeScales
from kizuna.ssa.sensors import SsaSensor, visual_magnitude

EARTH_RADIUS_KM = 6378.137
MU_KM3_S2 = 398600.4418
EARTH_LIMB_CODE = 11  # beside visibility.REASONS' codes


def host_itrf_km(sensor: SsaSensor, times_utc: np.ndarray, phase_epoch_utc: np.datetime64) -> np.ndarray:
    """ITRF position [km] of a space-based sensor's host at the times (module docstring)."""
    host = sensor.host
    if host is None:
        raise ValueError(f"{sensor.name}: no host orbit")
    t = np.asarray(times_utc, "datetime64[ns]")
    scales = TimeScales(t)
    a_km = EARTH_RADIUS_KM + host.altitude_km
    dt_s = (t - phase_epoch_utc).astype("int64") / 1e9
    u = math.sqrt(MU_KM3_S2 / a_km**3) * dt_s
    if host.ltan_h is not None:
        # the sun's right ascension (ERFA's Earth ephemeris, GCRS axes), the node ltan - 12 h east
        pvh, _ = erfa.epv00(*scales.tt)
        sun = -np.asarray(pvh["p"])
        raan = np.arctan2(sun[:, 1], sun[:, 0]) + math.radians((host.ltan_h - 12.0) * 15.0)
    else:
        raan = np.full(len(t), math.radians(host.raan_deg or 0.0))
    inc = math.radians(host.inclination_deg)
    x_orb, y_orb = np.cos(u), np.sin(u)
    r_gcrs = a_km * np.stack(
        [
            np.cos(raan) * x_orb - np.sin(raan) * math.cos(inc) * y_orb,
            np.sin(raan) * x_orb + np.cos(raan) * math.cos(inc) * y_orb,
            math.sin(inc) * y_orb,
        ],
        axis=-1,
    )
    r_teme = np.einsum("tji,tj->ti", FrameRotation("gcrs", scales).m, r_gcrs)
    return np.einsum("tij,tj->ti", FrameRotation("itrf", scales).m, r_teme)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = np.einsum("...i,...i->...", a, b) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def space_detection(
    sensor: SsaSensor,
    r_obj_km: np.ndarray,
    r_host_km: np.ndarray,
    sun_unit: np.ndarray,
    diameter_m: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether the space-based sensor detects each object state (arrays broadcast), and the first
    failed condition: 11 below the limb exclusion, 7 sun exclusion, 6 target in shadow, 9 too faint
    (0 = detected)."""
    from kizuna.ssa.visibility import sunlit

    los = r_obj_km - r_host_km
    rng = np.linalg.norm(los, axis=-1)
    host_r = np.linalg.norm(r_host_km, axis=-1)
    # the limb lies asin(R / r) from the nadir; the line of sight must clear it by the exclusion
    limb_from_nadir = np.degrees(np.arcsin(np.clip(EARTH_RADIUS_KM / host_r, -1.0, 1.0)))
    from_nadir = _angle_deg(los, -np.broadcast_to(r_host_km, los.shape))
    code = np.where(
        from_nadir < limb_from_nadir + sensor.figure("earth_limb_exclusion_deg"), EARTH_LIMB_CODE, 0
    )

    def fail(cond: np.ndarray, c: int) -> None:
        code[(code == 0) & cond] = c

    fail(_angle_deg(los, np.broadcast_to(sun_unit, los.shape)) < sensor.figure("sun_exclusion_deg"), 7)
    fail(~sunlit(r_obj_km, np.broadcast_to(sun_unit, los.shape)), 6)
    phase = _angle_deg(np.broadcast_to(sun_unit, los.shape), -los)
    fail(visual_magnitude(diameter_m, rng, phase) > sensor.figure("limiting_magnitude"), 9)
    return code == 0, code


def space_passes(
    sensor: SsaSensor,
    r_obj_km: np.ndarray,
    grid_utc: np.ndarray,
    t0: np.datetime64,
    t1: np.datetime64,
    sun_unit: np.ndarray,
    norad_ids: np.ndarray,
    diameter_m: Mapping[int, float],
    default_diameter_m: float,
) -> dict[str, np.ndarray] | None:
    """Pass rows (the columns of ``visibility.Passes``) of N objects on the grid (r_obj_km
    (N, T, 3) ITRF, grid_utc (T,), sun_unit (T, 3) ITRF) for one space-based sensor."""
    inside = (grid_utc >= t0) & (grid_utc <= t1)
    times = grid_utc[inside]
    r = r_obj_km[:, inside]
    host = host_itrf_km(sensor, times, t0)
    diam = np.array([diameter_m.get(int(n), default_diameter_m) for n in norad_ids])[:, None]
    with np.errstate(invalid="ignore"):
        det, code = space_detection(sensor, r, host[None], sun_unit[inside][None], diam)
    finite = np.isfinite(r).all(axis=-1)
    view = (code != EARTH_LIMB_CODE) & finite
    det &= finite
    rng = np.where(view, np.linalg.norm(r - host[None], axis=-1), np.inf)
    n_obj, n_t = view.shape
    edges = np.diff(np.pad(view, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    obj, k0 = np.nonzero(edges == 1)  # first in-view sample of each run (row-major order) ...
    _, k_end = np.nonzero(edges == -1)  # ... and the first sample after it, in the same order
    if not len(obj):
        return None
    k1 = k_end - 1
    # per run, from flattened segments [obj * T + k0, obj * T + k_end): the closest range, the
    # furthest failed condition, and (from running indices) the first and last detected samples
    bounds = np.empty(2 * len(obj), np.int64)
    bounds[0::2], bounds[1::2] = obj * n_t + k0, obj * n_t + k_end
    rng_flat = np.append(rng.reshape(-1), np.inf)  # a run ending at the last sample ends at the pad
    min_rng = np.minimum.reduceat(rng_flat, bounds)[0::2]
    worst = np.maximum.reduceat(np.append(np.where(view, code, 0).reshape(-1), 0), bounds)[0::2]
    k = np.arange(n_t)
    next_det = np.minimum.accumulate(np.where(det, k, n_t)[:, ::-1], axis=1)[:, ::-1]
    prev_det = np.maximum.accumulate(np.where(det, k, -1), axis=1)
    first, last = next_det[obj, k0], prev_det[obj, k1]
    any_det = first <= k1
    # the culmination: the run's first sample at its closest range
    run_of = np.full(n_obj * n_t, -1)
    for_run = np.repeat(np.arange(len(obj)), k_end - k0)
    flat_idx = np.repeat(bounds[0::2], k_end - k0) + (
        np.arange(len(for_run)) - np.repeat(np.cumsum(k_end - k0) - (k_end - k0), k_end - k0)
    )
    run_of[flat_idx] = for_run
    at_min = np.flatnonzero((run_of >= 0) & (rng_flat[:-1] == min_rng[np.maximum(run_of, 0)]))
    runs, first_at_min = np.unique(run_of[at_min], return_index=True)
    best = np.empty(len(obj), np.int64)
    best[runs] = at_min[first_at_min] % n_t
    nat = np.datetime64("NaT", "ns")
    n = len(obj)
    return {
        "sensor": np.full(n, sensor.name, dtype=object),
        "norad_id": np.asarray(norad_ids, np.int64)[obj],
        "rise_utc": times[k0],
        "culmination_utc": times[best],
        "set_utc": times[k1],
        # no elevation or azimuth from a moving platform
        "max_elevation_deg": np.full(n, np.nan),
        "culmination_az_deg": np.full(n, np.nan),
        "min_range_km": min_rng,
        "detectable": any_det,
        "detect_start_utc": np.where(any_det, times[np.minimum(first, n_t - 1)], nat),
        "detect_stop_utc": np.where(any_det, times[np.maximum(last, 0)], nat),
        "reason": np.array(
            [_REASONS[0 if d else int(c)] for d, c in zip(any_det, worst, strict=True)], dtype=object
        ),
    }


_REASONS = {
    0: "",
    6: "target in shadow",
    7: "sun exclusion",
    9: "too faint",
    EARTH_LIMB_CODE: "below the limb exclusion",
}


def geo_longitude_visible_space(
    sensor: SsaSensor, lon_deg: np.ndarray, diameter_m: float, t0: np.datetime64, t1: np.datetime64
) -> np.ndarray:
    """Whether a GEO-belt object at each longitude is detected by the space-based sensor at some
    instant of [t0, t1] (10-minute samples): above the limb exclusion, away from the sun, sunlit
    and bright enough, with the sun's true direction (not a fixed phase angle)."""
    from kizuna.eo.sensors import sun_itrf_unit
    from kizuna.orbit import time_grid
    from kizuna.ssa.visibility import GEO_RADIUS_KM

    times = time_grid(t0, t1, 600.0)
    host = host_itrf_km(sensor, times, t0)
    sun = sun_itrf_unit(times)
    lon = np.radians(np.asarray(lon_deg, float))
    belt = GEO_RADIUS_KM * np.stack([np.cos(lon), np.sin(lon), np.zeros_like(lon)], axis=-1)
    det, _ = space_detection(sensor, belt[:, None, :], host[None], sun[None], diameter_m)
    return np.asarray(det.any(axis=1), bool)
