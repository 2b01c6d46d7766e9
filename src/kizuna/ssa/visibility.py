"""Passes of catalog objects over ground space-surveillance sensors, and whether each is detectable.

Method (vectorized; objects in chunks so memory stays bounded on a full catalog):
1. screening: near-circular near-Earth objects (period < 225 min, e < 0.05) through the access
   engine (``kizuna.eo.access.compute_access``) with every sensor site as a target and an elevation
   mask at the lowest sensor elevation (an incidence window 0..90-el is an elevation mask);
   deep-space and eccentric objects, which the access engine's pass model does not fit (a slow
   ground track; passes near apogee, perigee passes shorter than a grid step), by sign changes of
   elevation on the propagation grid plus a candidate around every grid-point elevation maximum
   that the line of sight's turn rate could lift above the mask between two grid points;
2. each screened window is refined on a cubic Hermite track of the SGP4 states
   (``HermiteTrack``) with the true site (height included): culmination by sampling the window and a
   golden-section step, then each edge at the sensor's own ``min_elevation_deg`` as the crossing
   between the screened edge and the culmination (Illinois regula falsi, to < 0.01 s);
3. detection (``kizuna.ssa.sensors``) is evaluated at ``DETECT_SAMPLES`` instants spread over the pass:
   radar field of regard, range and size (radar equation), telescope darkness, target sunlit
   (cylindrical Earth shadow), sun and moon exclusion and visual magnitude, laser range and
   retroreflector. The pass is detectable when some instant is; the first and last such instants
   bound the detectable arc (to the sample spacing).

Space-based sensors (``space_optical``) have no ground site: their passes (runs of grid samples in
view above the Earth's limb, detection at each) come from ``kizuna.ssa.space_based`` on the same
propagated states.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import erfa
import numpy as np

from kizuna.eo.access import HermiteTrack, Targets, _maximize, _solve_edge, compute_access
from kizuna.eo.sensors import AU_KM, SarSensor, geodetic_to_itrf, sun_itrf_unit
from kizuna.errors import KizunaError
from kizuna.model.records import ElementSet
from kizuna.orbit import propagate, time_grid
from kizuna.orbit.ephemeris import Ephemeris
from kizuna.orbit.frames import TimeScales, teme_to_gcrs_matrix, teme_to_itrf_matrices
from kizuna.orbit.timescale import as_datetime64, iso_utc
from kizuna.ssa.sensors import SsaSensor, visual_magnitude

DEEP_SPACE_PERIOD_MIN = 225.0  # the SGP4/SDP4 boundary: deeper orbits move too slowly for access screening
ECCENTRIC_MIN = 0.05  # near-Earth orbits at least this eccentric are screened on the grid
STEP_S = 60.0  # propagation grid; Hermite interpolation of SGP4 is < 1 m off at this step in LEO
DETECT_SAMPLES = 32
CHUNK_OBJECTS = 400  # objects propagated together: 400 x 1,442 states x 12 coefficients ~ 55 MB
EDGE_ITERS = 14
EARTH_RADIUS_KM = 6378.137
DEFAULT_DIAMETER_M = 1.0
GROUND_KINDS = ("radar", "optical", "laser")


class VisibilityError(KizunaError, ValueError):
    """Passes cannot be computed: no objects, no ground sensors or an impossible window."""


@dataclass
class Passes:
    """One row per pass (columns of equal length), ordered by sensor, object, rise."""

    sensor: np.ndarray  # (P,) str
    norad_id: np.ndarray  # (P,) int
    rise_utc: np.ndarray  # datetime64[ns], clipped to the period
    culmination_utc: np.ndarray
    set_utc: np.ndarray
    max_elevation_deg: np.ndarray
    culmination_az_deg: np.ndarray
    min_range_km: np.ndarray
    detectable: np.ndarray  # bool
    detect_start_utc: np.ndarray  # NaT where not detectable
    detect_stop_utc: np.ndarray
    reason: np.ndarray  # (P,) str: "" when detectable, else why not (at the best instant)
    period_start_utc: np.datetime64
    period_stop_utc: np.datetime64

    def __len__(self) -> int:
        return len(self.norad_id)

    @property
    def duration_s(self) -> np.ndarray:
        return (self.set_utc - self.rise_utc).astype("int64") / 1e9

    def select(self, mask: np.ndarray) -> Passes:
        cols = {k: v[mask] for k, v in vars(self).items() if isinstance(v, np.ndarray) and v.ndim == 1}
        return Passes(**cols, period_start_utc=self.period_start_utc, period_stop_utc=self.period_stop_utc)

    def records(self) -> list[dict[str, Any]]:
        def iso_or_none(t: np.ndarray) -> list[str | None]:
            text = iso_utc(t) if len(t) else []
            return [None if np.isnat(x) else s for x, s in zip(t, text, strict=True)]

        columns: dict[str, list[Any]] = {
            "sensor": self.sensor.astype(str).tolist(),
            "norad_id": self.norad_id.tolist(),
            "rise_utc": iso_utc(self.rise_utc) if len(self) else [],
            "culmination_utc": iso_utc(self.culmination_utc) if len(self) else [],
            "set_utc": iso_utc(self.set_utc) if len(self) else [],
            "duration_s": self.duration_s.round(1).tolist(),
            "max_elevation_deg": self.max_elevation_deg.round(3).tolist(),
            "culmination_az_deg": self.culmination_az_deg.round(3).tolist(),
            "min_range_km": self.min_range_km.round(3).tolist(),
            "detectable": self.detectable.tolist(),
            "detect_start_utc": iso_or_none(self.detect_start_utc),
            "detect_stop_utc": iso_or_none(self.detect_stop_utc),
            "reason": self.reason.astype(str).tolist(),
        }
        keys = list(columns)
        return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


@dataclass(frozen=True)
class SiteArrays:
    """Ground sensors as arrays: ITRF position [km] (height included) and geodetic up."""

    sensors: tuple[SsaSensor, ...]
    r_km: np.ndarray
    up: np.ndarray
    min_el_deg: np.ndarray

    @classmethod
    def of(cls, sensors: Sequence[SsaSensor]) -> SiteArrays:
        ground = [s for s in sensors if s.kind in GROUND_KINDS and s.site is not None]
        if not ground:
            raise VisibilityError("no ground sensors: passes need a radar, telescope or laser station")
        lat = np.array([s.site.lat_deg for s in ground if s.site])
        lon = np.array([s.site.lon_deg for s in ground if s.site])
        h_km = np.array([s.site.alt_m / 1000.0 for s in ground if s.site])
        r, up = geodetic_to_itrf(lat, lon, h_km)
        el = np.array([s.figure("min_elevation_deg") for s in ground])
        return cls(tuple(ground), r, up, el)


def topocentric(r_obj_km: np.ndarray, r_site_km: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, ...]:
    """Azimuth (clockwise from north) and elevation [deg], range [km] of ITRF points from sites."""
    rho = r_obj_km - r_site_km
    rng = np.linalg.norm(rho, axis=-1)
    east = np.stack([-up[..., 1], up[..., 0], np.zeros(up.shape[:-1])], axis=-1)
    east /= np.linalg.norm(east, axis=-1, keepdims=True)
    north = np.cross(up, east)
    e, n, u = (np.einsum("...i,...i->...", rho, b) for b in (east, north, up))
    el = np.degrees(np.arcsin(np.clip(u / rng, -1.0, 1.0)))
    az = np.mod(np.degrees(np.arctan2(e, n)), 360.0)
    return az, el, rng


def _elevation(r_obj_km: np.ndarray, r_site_km: np.ndarray, up: np.ndarray) -> np.ndarray:
    rho = r_obj_km - r_site_km
    s = np.einsum("...i,...i->...", rho, up) / np.linalg.norm(rho, axis=-1)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def moon_itrf_km(times_utc: np.ndarray) -> np.ndarray:
    """Geocentric moon position in ITRF [km] (ERFA moon98, Meeus' series: ~10 arcsec, ample for an
    exclusion angle), rotated GCRS -> TEME -> ITRF with kizuna.orbit.frames' matrices."""
    scales = TimeScales(times_utc)
    pv = erfa.moon98(*scales.tt)
    moon_gcrs = np.asarray(pv["p"]) * AU_KM
    m = teme_to_gcrs_matrix(scales)
    rot, polar = teme_to_itrf_matrices(scales)
    teme = np.einsum("tji,tj->ti", m, moon_gcrs)
    return np.einsum("tij,tj->ti", polar, np.einsum("tij,tj->ti", rot, teme))


class _Ephemerides:
    """Sun (unit) and moon [km] in ITRF on a 5-minute grid over the period, linearly interpolated:
    both turn 1.25 deg in 5 minutes in an Earth-fixed frame, so the interpolated direction is off
    by under 0.02 deg."""

    def __init__(self, t0: np.datetime64, t1: np.datetime64):
        self.t0 = t0
        self.grid = time_grid(t0 - np.timedelta64(300, "s"), t1 + np.timedelta64(600, "s"), 300.0)
        self.sec = (self.grid - t0).astype("int64") / 1e9
        self.sun = sun_itrf_unit(self.grid)
        self.moon = moon_itrf_km(self.grid)

    def at(self, t_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = (t_utc - self.t0).astype("int64") / 1e9
        sun = np.stack([np.interp(s, self.sec, self.sun[:, i]) for i in range(3)], axis=-1)
        moon = np.stack([np.interp(s, self.sec, self.moon[:, i]) for i in range(3)], axis=-1)
        return sun / np.linalg.norm(sun, axis=-1, keepdims=True), moon


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c = np.einsum("...i,...i->...", a, b) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def sunlit(r_obj_km: np.ndarray, sun_unit: np.ndarray) -> np.ndarray:
    """Outside the Earth's cylindrical shadow (umbra and penumbra merged: within ~0.5 deg of the
    terminator, a few seconds of a pass, the answer can differ from a conical model)."""
    along = np.einsum("...i,...i->...", r_obj_km, sun_unit)
    perp = np.linalg.norm(r_obj_km - along[..., None] * sun_unit, axis=-1)
    return (along > 0) | (perp > EARTH_RADIUS_KM)


def detection(
    sensor: SsaSensor,
    r_obj_km: np.ndarray,
    site_r_km: np.ndarray,
    site_up: np.ndarray,
    sun_unit: np.ndarray,
    moon_km: np.ndarray,
    diameter_m: np.ndarray,
    retro: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether the sensor detects each object state (arrays broadcast over rows), and a code for the
    first failed condition (0 = detected): 1 below the elevation mask, 2 outside the field of regard,
    3 beyond range, 4 too small at this range, 5 site not dark, 6 target in shadow, 7 sun exclusion,
    8 moon exclusion, 9 too faint, 10 no retroreflector."""
    az, el, rng = topocentric(r_obj_km, site_r_km, site_up)
    code = np.where(el < sensor.figure("min_elevation_deg"), 1, 0)

    def fail(cond: np.ndarray, c: int) -> None:
        code[(code == 0) & cond] = c

    if sensor.kind == "radar":
        fail(~sensor.in_azimuth(az), 2)
        fail(rng > sensor.figure("max_range_km"), 3)
        fail(diameter_m < sensor.min_diameter_m(rng), 4)
    elif sensor.kind == "optical":
        sun_el = 90.0 - _angle_deg(sun_unit, site_up)
        fail(sun_el > sensor.figure("max_sun_elevation_deg"), 5)
        fail(~sunlit(r_obj_km, sun_unit), 6)
        los = r_obj_km - site_r_km
        fail(_angle_deg(los, sun_unit) < sensor.figure("sun_exclusion_deg"), 7)
        fail(_angle_deg(los, moon_km - site_r_km) < sensor.figure("moon_exclusion_deg"), 8)
        phase = _angle_deg(sun_unit, site_r_km - r_obj_km)
        fail(visual_magnitude(diameter_m, rng, phase) > sensor.figure("limiting_magnitude"), 9)
    elif sensor.kind == "laser":
        fail(rng > sensor.figure("max_range_km"), 3)
        fail(~retro, 10)
        if "max_sun_elevation_deg" in sensor.figures:
            sun_el = 90.0 - _angle_deg(sun_unit, site_up)
            fail(sun_el > sensor.figure("max_sun_elevation_deg"), 5)
    return code == 0, code


REASONS = {
    0: "",
    1: "below elevation mask",
    2: "outside field of regard",
    3: "beyond range",
    4: "too small at range",
    5: "site not dark",
    6: "target in shadow",
    7: "sun exclusion",
    8: "moon exclusion",
    9: "too faint",
    10: "no retroreflector",
}


def _track(
    sets: Sequence[ElementSet], t0: np.datetime64, t1: np.datetime64
) -> tuple[HermiteTrack, np.datetime64]:
    grid = time_grid(t0 - np.timedelta64(int(STEP_S), "s"), t1 + np.timedelta64(int(2 * STEP_S), "s"), STEP_S)
    eph = propagate(list(sets), grid, "itrf")
    return HermiteTrack(eph.position_km, eph.velocity_kms, STEP_S), grid[0]


def _screen_near_earth(
    sets: Sequence[ElementSet], sites: SiteArrays, t0: np.datetime64, t1: np.datetime64, level_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(object index, site index, start, stop as datetime64) of windows above level_deg."""
    targets = Targets(
        name=np.array([s.name for s in sites.sensors]),
        lat_deg=np.array([s.site.lat_deg for s in sites.sensors if s.site]),
        lon_deg=np.array([s.site.lon_deg for s in sites.sensors if s.site]),
        aoi=np.array([s.name for s in sites.sensors]),
    )
    # SarSensor(0, 90 - el): incidence <= 90 - el, i.e. elevation >= el, with no near-range limit
    mask = SarSensor(inc_min_deg=0.0, inc_max_deg=90.0 - level_deg)
    win = compute_access(list(sets), targets, t0, t1, mask, step_s=STEP_S, workers=1)
    return win.sat_index, win.target_index, win.start_utc, win.stop_utc


def _screen_on_grid(
    track: HermiteTrack,
    grid0: np.datetime64,
    sites: SiteArrays,
    t0: np.datetime64,
    t1: np.datetime64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows above each sensor's mask from sign changes on the grid, edges solved on the track;
    and, for passes short enough to rise and set between two grid points (an eccentric orbit's
    perigee, a grazing pass), a candidate window around each grid-point maximum of elevation below
    the mask that the elevation's rate could lift above it within a step (``_refine`` keeps those
    whose true culmination clears the mask)."""
    lo_s = (t0 - grid0).astype("int64") / 1e9
    hi_s = (t1 - grid0).astype("int64") / 1e9
    k = np.arange(track.r.shape[1])
    tk = k * track.h
    keep = (tk >= lo_s - track.h) & (tk <= hi_s + track.h)
    tt = tk[keep]
    k_kept = k[keep]
    objs, sts, sps, tgts = [], [], [], []
    # peak candidates go last: their bounds are below the mask on both sides, no edge to solve here
    peak_objs, peak_sts, peak_sps, peak_tgts = [], [], [], []
    for j in range(len(sites.sensors)):
        # each sensor at its own mask: a slow deep-space pass can rise above a low mask once and
        # above a higher one twice
        el = _elevation(track.r[:, keep], sites.r_km[j], sites.up[j]) - sites.min_el_deg[j]
        above = np.nan_to_num(el, nan=-1.0) >= 0
        edge = np.diff(above.astype(np.int8), axis=1)
        rise_o, rise_k = np.nonzero(edge == 1)
        set_o, set_k = np.nonzero(edge == -1)
        # windows: per object, pair rises and sets in order; one open at either end uses the bound
        for o in np.unique(np.r_[rise_o, set_o, np.flatnonzero(above[:, 0])]):
            r_t = list(tt[rise_k[rise_o == o]])
            s_t = list(tt[set_k[set_o == o]])
            starts = ([lo_s] if above[o, 0] else []) + r_t
            stops = s_t + ([hi_s] if above[o, -1] else [])
            for a, b in zip(starts, stops, strict=False):
                objs.append(o)
                tgts.append(j)
                sts.append(a)
                sps.append(b)
        # between-sample passes: a local maximum of the sampled elevation lies within one step of
        # the true one; the line of sight turns at most |v| / range [rad/s], so the true maximum is
        # under el_k + rate * h. Twice that bound covers the rate's change over the two steps.
        el0 = np.nan_to_num(el, nan=-180.0)
        peak = (el0[:, 1:-1] < 0) & (el0[:, 1:-1] >= el0[:, :-2]) & (el0[:, 1:-1] >= el0[:, 2:])
        po, pk = np.nonzero(peak)
        pk = pk + 1
        if len(po):
            r_k, v_k = track.state(po, k_kept[pk] * track.h)
            rng_km = np.linalg.norm(r_k - sites.r_km[j], axis=-1)
            rate_deg = np.degrees(np.linalg.norm(v_k, axis=-1) / rng_km) * track.h
            lift = el0[po, pk] + 2.0 * rate_deg >= 0
            peak_objs += po[lift].tolist()
            peak_tgts += [j] * int(lift.sum())
            peak_sts += np.maximum(tt[pk[lift] - 1], lo_s).tolist()
            peak_sps += np.minimum(tt[pk[lift] + 1], hi_s).tolist()
    edges_solved = len(objs)
    objs, tgts, sts, sps = objs + peak_objs, tgts + peak_tgts, sts + peak_sts, sps + peak_sps
    if not objs:
        z = np.zeros(0, np.int64)
        return z, z, np.zeros(0, "datetime64[ns]"), np.zeros(0, "datetime64[ns]")
    obj, tgt = np.array(objs), np.array(tgts)
    st, sp = np.array(sts, float), np.array(sps, float)

    def f(idx: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda t: (
            _elevation(track.state(obj[idx], t, pos_only=True), sites.r_km[tgt[idx]], sites.up[tgt[idx]])
            - sites.min_el_deg[tgt[idx]]
        )

    allidx = np.arange(len(obj))
    from_signs = allidx < edges_solved
    inner_st = (st != lo_s) & from_signs
    inner_sp = (sp != hi_s) & from_signs
    # a grid rise at k means the crossing lies in (t_k, t_k + h]
    st = np.where(inner_st, _solve_edge(f(allidx), st, st + track.h, iters=EDGE_ITERS), st)
    # a grid set at k: above at t_k, below at t_k + h (the solver takes the below-mask end first)
    sp = np.where(inner_sp, _solve_edge(f(allidx), sp + track.h, sp, iters=EDGE_ITERS), sp)
    st, sp = np.clip(st, lo_s, hi_s), np.clip(sp, lo_s, hi_s)
    fine = np.isfinite(st) & np.isfinite(sp)  # an object SGP4 gave up on mid-window has no edge
    obj, tgt, st, sp = obj[fine], tgt[fine], st[fine], sp[fine]
    return obj, tgt, _utc(grid0, st), _utc(grid0, sp)


def _utc(grid0: np.datetime64, sec: np.ndarray) -> np.ndarray:
    return grid0 + np.round(np.asarray(sec) * 1e9).astype(np.int64).astype("timedelta64[ns]")


def find_passes(
    element_sets: Sequence[ElementSet],
    sensors: Sequence[SsaSensor],
    start_utc: object,
    stop_utc: object,
    *,
    diameter_m: Mapping[int, float] | None = None,
    default_diameter_m: float = DEFAULT_DIAMETER_M,
    retroreflectors: Collection[int] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Passes:
    """Every pass of every object above every ground sensor's elevation mask between start and stop
    (clipped to the period), with culmination, closest range and detection (module docstring).
    ``diameter_m`` maps NORAD id to size (default ``default_diameter_m``); ``retroreflectors`` lists
    the objects laser stations can range."""
    sets = list(element_sets)
    if not sets:
        raise VisibilityError("no objects: the catalog selection is empty")
    space = [s for s in sensors if s.kind == "space_optical" and s.host is not None]
    sites = SiteArrays.of(sensors) if len(space) < len(sensors) or not space else None
    t0, t1 = as_datetime64(start_utc)[0], as_datetime64(stop_utc)[0]
    if not t1 > t0:
        raise VisibilityError(f"impossible window: stop {t1} is not after start {t0}")
    level = max(0.0, float(sites.min_el_deg.min())) if sites is not None else 0.0
    sizes = diameter_m or {}
    retro = set(retroreflectors)
    ephem = _Ephemerides(t0, t1)
    parts: list[dict[str, np.ndarray]] = []
    on_grid = np.array([_screened_on_grid(es) for es in sets])
    chunks = [
        (list(idx), bool(grid))
        for grid, mask in ((False, ~on_grid), (True, on_grid))
        for idx in np.array_split(np.flatnonzero(mask), max(1, math.ceil(mask.sum() / CHUNK_OBJECTS)))
        if len(idx)
    ]
    for c, (idx, grid) in enumerate(chunks):
        # an object SGP4 gives up on (decay) has NaN states: its root finds yield NaN times, which
        # the finite-value filters drop; numpy's casting warnings for them are noise
        with np.errstate(invalid="ignore"):
            parts += _chunk_passes(
                [sets[i] for i in idx],
                grid,
                sites,
                space,
                t0,
                t1,
                level,
                ephem,
                sizes,
                default_diameter_m,
                retro,
            )
        if progress:
            progress(c + 1, len(chunks))
    return _assemble(parts, t0, t1)


def find_passes_of_ephemeris(
    ephemeris: Ephemeris,
    norad_id: int,
    sensors: Sequence[SsaSensor],
    start_utc: object,
    stop_utc: object,
    *,
    diameter_m: float = DEFAULT_DIAMETER_M,
    retroreflectors: Collection[int] = (),
) -> Passes:
    """``find_passes`` for one object whose orbit is a precise ephemeris (an OEM, a CPF) rather than
    an element set: the ephemeris' ITRF states on the 60 s grid make the Hermite track, screened on
    the grid (as deep-space and eccentric objects are) and refined the same way. The period is
    clipped to the ephemeris' span less one grid step at its start and two at its end, which the
    track needs (never extrapolated)."""
    sites = SiteArrays.of(sensors)
    t0, t1 = as_datetime64(start_utc)[0], as_datetime64(stop_utc)[0]
    # the grid runs a step before the period and two after: those must lie in the ephemeris
    t0 = max(t0, ephemeris.start_utc + np.timedelta64(int(STEP_S), "s"))
    t1 = min(t1, ephemeris.stop_utc - np.timedelta64(int(2 * STEP_S), "s"))
    if not t1 > t0:
        raise VisibilityError(
            f"the ephemeris covers {ephemeris.start_utc} to {ephemeris.stop_utc}: nothing of the period"
        )
    grid = time_grid(t0 - np.timedelta64(int(STEP_S), "s"), t1 + np.timedelta64(int(2 * STEP_S), "s"), STEP_S)
    r_km, v_kms = ephemeris.states(grid, "itrf")
    track = HermiteTrack(r_km[None], v_kms[None], STEP_S)
    obj, tgt, st_utc, sp_utc = _screen_on_grid(track, grid[0], sites, t0, t1)
    part = None
    if len(obj):
        with np.errstate(invalid="ignore"):
            part = _refine(
                track,
                grid[0],
                sites,
                obj,
                tgt,
                st_utc,
                sp_utc,
                t0,
                t1,
                _Ephemerides(t0, t1),
                np.array([norad_id]),
                {norad_id: diameter_m},
                diameter_m,
                set(retroreflectors),
            )
    return _assemble([part] if part is not None else [], t0, t1)


def _screened_on_grid(es: ElementSet) -> bool:
    """Deep-space and eccentric objects are screened on the grid, not by the access engine: its
    pass model (reach from the highest apogee, one closest approach per pass at a near-constant
    ground-track speed) misses passes of eccentric orbits near apogee and at the period's ends."""
    return es.period_min >= DEEP_SPACE_PERIOD_MIN or es.eccentricity >= ECCENTRIC_MIN


def _chunk_passes(
    chunk: list[ElementSet],
    on_grid: bool,
    sites: SiteArrays | None,
    space: Sequence[SsaSensor],
    t0: np.datetime64,
    t1: np.datetime64,
    level: float,
    ephem: _Ephemerides,
    sizes: Mapping[int, float],
    default_diameter_m: float,
    retro: set[int],
) -> list[dict[str, np.ndarray]]:
    track, grid0 = _track(chunk, t0, t1)
    norad_ids = np.array([es.norad_id for es in chunk])
    parts = []
    if space:
        from kizuna.ssa.space_based import space_passes

        grid = grid0 + (np.arange(track.r.shape[1]) * int(track.h * 1e9)).astype("timedelta64[ns]")
        sun, _ = ephem.at(grid)
        for sensor in space:
            rows = space_passes(sensor, track.r, grid, t0, t1, sun, norad_ids, sizes, default_diameter_m)
            if rows is not None:
                parts.append(rows)
    if sites is None:
        return parts
    if on_grid:
        obj, tgt, st_utc, sp_utc = _screen_on_grid(track, grid0, sites, t0, t1)
    else:
        obj, tgt, st_utc, sp_utc = _screen_near_earth(chunk, sites, t0, t1, level)
    if not len(obj):
        return parts
    ground = _refine(
        track,
        grid0,
        sites,
        obj,
        tgt,
        st_utc,
        sp_utc,
        t0,
        t1,
        ephem,
        norad_ids,
        sizes,
        default_diameter_m,
        retro,
    )
    return parts if ground is None else [*parts, ground]


def _refine(
    track: HermiteTrack,
    grid0: np.datetime64,
    sites: SiteArrays,
    obj: np.ndarray,
    tgt: np.ndarray,
    st_utc: np.ndarray,
    sp_utc: np.ndarray,
    t0: np.datetime64,
    t1: np.datetime64,
    ephem: _Ephemerides,
    norad_ids: np.ndarray,
    sizes: Mapping[int, float],
    default_diameter_m: float,
    retro: set[int],
) -> dict[str, np.ndarray] | None:
    lo_s = (t0 - grid0).astype("int64") / 1e9
    hi_s = (t1 - grid0).astype("int64") / 1e9
    a = (st_utc - grid0).astype("int64") / 1e9
    b = (sp_utc - grid0).astype("int64") / 1e9
    # screening edges are at the lowest mask and without site height: widen by 2 s so the refined
    # edge (the same pass at >= that mask) lies inside
    a, b = np.maximum(a - 2.0, lo_s), np.minimum(b + 2.0, hi_s)
    r_site, up_site = sites.r_km[tgt], sites.up[tgt]

    def el_fn(idx: np.ndarray, level: np.ndarray | float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
        o, rs, us = obj[idx], r_site[idx], up_site[idx]
        return lambda t: _elevation(track.state(o, t, pos_only=True), rs, us) - level

    allidx = np.arange(len(obj))
    el_all = el_fn(allidx)
    # culmination: the best of 64 instants across the window, then golden section around it
    u = np.linspace(0.0, 1.0, 64)
    samples = a[:, None] + (b - a)[:, None] * u[None, :]
    el_s = np.stack([el_all(samples[:, i]) for i in range(len(u))], axis=1)
    best = np.nanargmax(np.nan_to_num(el_s, nan=-90.0), axis=1)
    spacing = (b - a) / 63.0
    tc = samples[allidx, best]
    tc, el_max = _maximize(el_all, np.maximum(tc - spacing, a), np.minimum(tc + spacing, b), iters=30)
    level = sites.min_el_deg[tgt]
    ok = np.isfinite(el_max) & (el_max >= level)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    obj, tgt, a, b, tc, el_max, level = obj[idx], tgt[idx], a[idx], b[idx], tc[idx], el_max[idx], level[idx]
    r_site, up_site = r_site[idx], up_site[idx]
    allidx = np.arange(len(obj))
    f = el_fn(allidx, level)
    fa, fb = f(a), f(b)
    rise = np.where(fa >= 0, a, _solve_edge(f, a, tc, iters=EDGE_ITERS, fb=f(tc)))
    # the set edge: the solver takes the below-mask end first, whichever side of the peak it is
    setting = np.where(fb >= 0, b, _solve_edge(f, b, tc, iters=EDGE_ITERS, fa=fb, fb=f(tc)))
    # an object whose SGP4 states end inside the window (decay) has no defined edge: left out
    fine = np.isfinite(rise) & np.isfinite(setting)
    if not fine.all():
        obj, tgt, tc, el_max, rise, setting = (x[fine] for x in (obj, tgt, tc, el_max, rise, setting))
        r_site, up_site = r_site[fine], up_site[fine]
    az_culm, _, _ = topocentric(track.state(obj, tc, pos_only=True), r_site, up_site)
    # closest range: the range minimum lies within the pass (at the culmination for a circular
    # orbit); golden section on -range over the pass
    rng_fn = lambda t: -np.linalg.norm(track.state(obj, t, pos_only=True) - r_site, axis=-1)  # noqa: E731
    _, neg_rng = _maximize(rng_fn, rise, setting, iters=30)
    # detection at DETECT_SAMPLES instants across the pass
    k = DETECT_SAMPLES
    ts = rise[:, None] + (setting - rise)[:, None] * np.linspace(0.0, 1.0, k)[None, :]
    ts_flat = ts.reshape(-1)
    o_flat = np.repeat(obj, k)
    r_obj = track.state(o_flat, ts_flat, pos_only=True)
    sun, moon = ephem.at(_utc(grid0, ts_flat))
    norad = norad_ids[obj]
    diam = np.repeat(np.array([sizes.get(int(n), default_diameter_m) for n in norad]), k)
    has_retro = np.repeat(np.array([int(n) in retro for n in norad]), k)
    det = np.zeros(len(ts_flat), bool)
    code = np.zeros(len(ts_flat), np.int64)
    t_site = np.repeat(tgt, k)
    for j, sensor in enumerate(sites.sensors):
        m = t_site == j
        if m.any():
            det[m], code[m] = detection(
                sensor, r_obj[m], sites.r_km[j], sites.up[j], sun[m], moon[m], diam[m], has_retro[m]
            )
    det2 = det.reshape(-1, k)
    # the reason shown is the furthest check any instant reached (conditions are tested in order);
    # samples at exactly the mask can round below it and do not decide it
    code2 = np.where(code == 1, -1, code).reshape(-1, k)
    any_det = det2.any(axis=1)
    first = np.argmax(det2, axis=1)
    last = k - 1 - np.argmax(det2[:, ::-1], axis=1)
    rows = np.arange(len(obj))
    nat = np.datetime64("NaT", "ns")
    d_start = np.where(any_det, _utc(grid0, ts[rows, first]), nat)
    d_stop = np.where(any_det, _utc(grid0, ts[rows, last]), nat)
    reason_code = np.where(any_det, 0, code2.max(axis=1))
    reason = np.array([REASONS.get(int(c), "below elevation mask") for c in reason_code], dtype=object)
    return {
        "sensor": np.array([sites.sensors[j].name for j in tgt], dtype=object),
        "norad_id": norad,
        "rise_utc": _utc(grid0, rise),
        "culmination_utc": _utc(grid0, tc),
        "set_utc": _utc(grid0, setting),
        "max_elevation_deg": el_max,
        "culmination_az_deg": az_culm,
        "min_range_km": -neg_rng,
        "detectable": any_det,
        "detect_start_utc": d_start,
        "detect_stop_utc": d_stop,
        "reason": reason,
    }


def _assemble(parts: list[dict[str, np.ndarray]], t0: np.datetime64, t1: np.datetime64) -> Passes:
    keys = (
        "sensor",
        "norad_id",
        "rise_utc",
        "culmination_utc",
        "set_utc",
        "max_elevation_deg",
        "culmination_az_deg",
        "min_range_km",
        "detectable",
        "detect_start_utc",
        "detect_stop_utc",
        "reason",
    )
    if parts:
        cols = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    else:
        empty_t = np.zeros(0, "datetime64[ns]")
        cols = {
            "sensor": np.zeros(0, object),
            "norad_id": np.zeros(0, np.int64),
            "rise_utc": empty_t,
            "culmination_utc": empty_t,
            "set_utc": empty_t,
            "max_elevation_deg": np.zeros(0),
            "culmination_az_deg": np.zeros(0),
            "min_range_km": np.zeros(0),
            "detectable": np.zeros(0, bool),
            "detect_start_utc": empty_t,
            "detect_stop_utc": empty_t,
            "reason": np.zeros(0, object),
        }
    # a window the screening split (block boundaries) can appear twice: keep one per sensor/object/rise
    order = np.lexsort((cols["rise_utc"], cols["norad_id"], cols["sensor"].astype(str)))
    cols = {k: v[order] for k, v in cols.items()}
    if len(order) > 1:
        same = (
            (cols["sensor"][1:] == cols["sensor"][:-1])
            & (cols["norad_id"][1:] == cols["norad_id"][:-1])
            & (np.abs((cols["rise_utc"][1:] - cols["rise_utc"][:-1]).astype("int64")) < 1_000_000_000)
        )
        keep = np.r_[True, ~same]
        cols = {k: v[keep] for k, v in cols.items()}
    return Passes(**cols, period_start_utc=t0, period_stop_utc=t1)


def sampled_passes(
    element_sets: Sequence[ElementSet],
    sensor: SsaSensor,
    start_utc: object,
    stop_utc: object,
    step_s: float,
) -> list[tuple[int, np.datetime64, np.datetime64]]:
    """Brute-force reference: (norad, rise, set) of every run of samples at or above the sensor's
    mask on a plain ``step_s`` grid (no interpolation; edges good to one step)."""
    sites = SiteArrays.of([sensor])
    grid = time_grid(start_utc, stop_utc, step_s)
    out: list[tuple[int, np.datetime64, np.datetime64]] = []
    for i in range(0, len(element_sets), 200):
        part = list(element_sets[i : i + 200])
        eph = propagate(part, grid, "itrf")
        above = (
            np.nan_to_num(_elevation(eph.position_km, sites.r_km[0], sites.up[0]), nan=-90.0)
            >= sites.min_el_deg[0]
        )
        padded = np.pad(above, ((0, 0), (1, 1))).astype(np.int8)
        d = np.diff(padded, axis=1)
        for o in range(len(part)):
            ups = np.flatnonzero(d[o] == 1)
            downs = np.flatnonzero(d[o] == -1) - 1
            out += [(part[o].norad_id, grid[u], grid[w]) for u, w in zip(ups, downs, strict=True)]
    return out


# ------------------------------------------------------------------------------------ coverage
#: Operator groups a network name may use besides ISO 3166 alpha-3 codes: the European SST
#: partners and "ALL" for every operator in the sensor file.
OPERATOR_GROUPS: dict[str, frozenset[str]] = {
    "EUR": frozenset(
        {"DEU", "FRA", "GBR", "ITA", "ESP", "POL", "PRT", "ROU", "NLD", "CZE", "GRC", "AUT", "DNK"}
    ),
}
LEO_MAX_PERIOD_MIN = 128.0  # LEO as in the catalog: mean motion above 11.25 rev/day
GEO_PERIOD_MIN = (1400.0, 1480.0)  # near-GEO: a period within ~1 h of a sidereal day ...
GEO_MAX_ECC, GEO_MAX_INC_DEG = 0.05, 20.0  # ... nearly circular and inclined under 20 deg
GEO_RADIUS_KM = 42164.0
GEO_BIN_DEG = 1.0
INC_BINS_DEG = np.arange(0.0, 181.0, 10.0)
ALT_BINS_KM = np.array([150, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1700, 2000, 3000], float)


class NetworkError(KizunaError, ValueError):
    """A network specification names no known operator."""


def parse_network(spec: str, sensors: Sequence[SsaSensor]) -> tuple[str, list[SsaSensor]]:
    """``JPN``, ``JPN+USA``, ``JPN+EUR``, ``ALL``: the sensors of those operators (ground and
    space-based)."""
    known = {s.operator for s in sensors}
    ops: set[str] = set()
    for part in spec.upper().split("+"):
        part = part.strip()
        if part == "ALL":
            ops |= known
        elif part in OPERATOR_GROUPS:
            ops |= OPERATOR_GROUPS[part] & known
        elif part in known:
            ops.add(part)
        else:
            raise NetworkError(
                f"network {spec!r}: {part or 'an empty name'} operates no sensor here (known: {', '.join(sorted(known | {'EUR', 'ALL'}))})"
            )
    chosen = [s for s in sensors if s.operator in ops and (s.kind in GROUND_KINDS or s.host is not None)]
    if not chosen:
        raise NetworkError(f"network {spec!r}: no sensors")
    return spec.upper(), chosen


def is_leo(es: ElementSet) -> bool:
    return es.period_min < LEO_MAX_PERIOD_MIN


def is_geo(es: ElementSet) -> bool:
    return (
        GEO_PERIOD_MIN[0] <= es.period_min <= GEO_PERIOD_MIN[1]
        and es.eccentricity < GEO_MAX_ECC
        and es.inclination_deg < GEO_MAX_INC_DEG
    )


def geo_longitude_visible(
    sensors: Sequence[SsaSensor],
    lon_deg: np.ndarray,
    diameter_m: float,
    period_utc: tuple[np.datetime64, np.datetime64] | None = None,
) -> np.ndarray:
    """Whether an object at each GEO-belt longitude (equator, 42,164 km) is above some sensor's mask,
    within its range and field of regard, and large enough (radar) or bright enough at a 45 deg phase
    angle, a mid-night geometry (telescope). The belt does not move in an Earth-fixed frame, so this
    is the same every day; telescopes see it every night but in the weeks of the equinox eclipses.
    A space-based sensor moves: it counts when it detects the longitude at some instant of
    ``period_utc`` (``space_based.geo_longitude_visible_space``)."""
    ground = [s for s in sensors if s.kind in GROUND_KINDS]
    sites = SiteArrays.of(ground) if ground else None
    lon = np.radians(np.asarray(lon_deg, float))
    r = GEO_RADIUS_KM * np.stack([np.cos(lon), np.sin(lon), np.zeros_like(lon)], axis=-1)
    seen = np.zeros(len(lon), bool)
    space = [s for s in sensors if s.kind == "space_optical" and s.host is not None]
    if space and period_utc is not None:
        from kizuna.ssa.space_based import geo_longitude_visible_space

        for s in space:
            seen |= geo_longitude_visible_space(s, lon_deg, diameter_m, *period_utc)
    if sites is None:
        return seen
    for j, s in enumerate(sites.sensors):
        az, el, rng = topocentric(r, sites.r_km[j], sites.up[j])
        ok = el >= s.figure("min_elevation_deg")
        if s.kind == "radar":
            ok &= s.in_azimuth(az) & (rng <= s.figure("max_range_km")) & (diameter_m >= s.min_diameter_m(rng))
        elif s.kind == "optical":
            ok &= visual_magnitude(diameter_m, rng, 45.0) <= s.figure("limiting_magnitude")
        else:
            ok &= rng <= s.figure("max_range_km")
        seen |= ok
    return seen


@dataclass
class Coverage:
    """What each network sees of a catalog in one period."""

    networks: list[str]
    sensors: dict[str, list[str]]
    rows: list[dict[str, Any]]  # one per network: counts and fractions
    geo_lon_deg: np.ndarray  # bin centres
    geo_visible: dict[str, np.ndarray]  # network -> bool per bin (geometric)
    geo_objects_lon_deg: np.ndarray  # longitude of each near-GEO object at the period start
    geo_objects_seen: dict[str, np.ndarray]  # network -> bool per near-GEO object (detected)
    leo_inc_edges_deg: np.ndarray
    leo_alt_edges_km: np.ndarray
    leo_total: np.ndarray  # (inc bins, alt bins) LEO objects per cell
    leo_seen: dict[str, np.ndarray]  # network -> detected objects per cell


def coverage(
    element_sets: Sequence[ElementSet],
    passes: Passes,
    networks: Mapping[str, Sequence[SsaSensor]],
    *,
    diameter_m: float = DEFAULT_DIAMETER_M,
) -> Coverage:
    """Fraction of the LEO catalog and of the near-GEO catalog each network detects in the passes'
    period (an object counts when some sensor of the network has a detectable pass of it), the GEO
    belt longitudes each network can see, and LEO detection by inclination and mean altitude."""
    sets = list(element_sets)
    norad = np.array([es.norad_id for es in sets])
    leo = np.array([is_leo(es) for es in sets])
    geo = np.array([is_geo(es) for es in sets])
    inc = np.array([es.inclination_deg for es in sets])
    alt = np.array([es.semi_major_axis_km - EARTH_RADIUS_KM for es in sets])
    t0 = passes.period_start_utc
    geo_lon = _geo_longitudes([es for es, g in zip(sets, geo, strict=True) if g], t0)
    bins = np.arange(0.0, 360.0, GEO_BIN_DEG) + GEO_BIN_DEG / 2
    leo_total, _, _ = np.histogram2d(inc[leo], alt[leo], bins=(INC_BINS_DEG, ALT_BINS_KM))
    rows, geo_visible, geo_seen, leo_seen, members = [], {}, {}, {}, {}
    for name, sensors in networks.items():
        names = {s.name for s in sensors}
        members[name] = sorted(names)
        mask = np.isin(passes.sensor.astype(str), list(names))
        seen_any = np.isin(norad, passes.norad_id[mask])
        seen_det = np.isin(norad, passes.norad_id[mask & passes.detectable])
        vis = geo_longitude_visible(sensors, bins, diameter_m, (t0, passes.period_stop_utc))
        geo_visible[name] = vis
        geo_seen[name] = seen_det[geo]
        leo_seen[name] = np.histogram2d(
            inc[leo & seen_det], alt[leo & seen_det], bins=(INC_BINS_DEG, ALT_BINS_KM)
        )[0]
        rows.append(
            {
                "network": name,
                "sensors": len(names),
                "leo_objects": int(leo.sum()),
                "leo_visible_pct": _pct(seen_any[leo]),
                "leo_detected_pct": _pct(seen_det[leo]),
                "geo_objects": int(geo.sum()),
                "geo_detected_pct": _pct(seen_det[geo]),
                "geo_belt_visible_pct": round(100.0 * float(vis.mean()), 1),
                "passes": int(mask.sum()),
                "detectable_passes": int((mask & passes.detectable).sum()),
            }
        )
    return Coverage(
        networks=list(networks),
        sensors=members,
        rows=rows,
        geo_lon_deg=bins,
        geo_visible=geo_visible,
        geo_objects_lon_deg=geo_lon,
        geo_objects_seen=geo_seen,
        leo_inc_edges_deg=INC_BINS_DEG,
        leo_alt_edges_km=ALT_BINS_KM,
        leo_total=leo_total,
        leo_seen=leo_seen,
    )


def _pct(flags: np.ndarray) -> float | None:
    return round(100.0 * float(flags.mean()), 1) if len(flags) else None


def _geo_longitudes(sets: Sequence[ElementSet], t: np.datetime64) -> np.ndarray:
    if not sets:
        return np.zeros(0)
    eph = propagate(list(sets), np.array([t]), "itrf")
    r = eph.position_km[:, 0]
    return np.mod(np.degrees(np.arctan2(r[:, 1], r[:, 0])), 360.0)
