"""Conjunction screening: all-vs-all or assets-vs-catalog, with sub-second TCA.

The classic filter chain (Hoots, Crawford & Roehrich 1984, "An analytic method to determine
future close approaches between satellites", Celest. Mech. 33; Alarcon-Rodriguez et al. 2004
for the grid/KD-tree variant):

1. apogee/perigee band filter: two orbits whose altitude bands, widened by a pad, do not
   overlap cannot come closer than the gap;
2. SGP4 at knots spaced per object (the longest spacing whose cubic Hermite interpolation
   error stays within ``KNOT_TOL_KM``, ``KNOT_TOL_ASSETS_KM`` with assets), interpolated to a
   coarse time grid; at every step a compiled cell sweep (:mod:`kizuna.sda._sweep`, replacing
   the earlier KD-tree) gives the pairs
   closer than the threshold, plus the interpolation tolerance of both objects, plus the
   farthest the pair can close during half a step;
3. per pair and step, a radial filter (two objects whose geocentric radii stay further apart
   than the threshold over the step cannot meet; see :func:`radial_reach_km`), the band
   filter again, and the linear closest approach inside the step's interval screen the
   candidate again;
4. TCA refinement: the root of the range-rate (r_rel . v_rel = 0) with SGP4 states of the two
   objects, for all candidates at once (bracket as :func:`refine_tca`, then Illinois regula
   falsi, one SGP4 call per object per round), then polished onto the minimum of the range of
   SGP4 *positions* (SGP4's velocity is not exactly the derivative of its position, which
   moves the range-rate root of slow pairs by tenths of a second; see :func:`_polish_batch`);
   events are kept as columns (:class:`~kizuna.sda.records.EventTable`).

Everything here is pure (no I/O); time partitions of the grid are independent, which is what
the Dask scale-out (:mod:`kizuna.sda.scaleout`) maps over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from sgp4.api import SGP4_ERRORS, SatrecArray

from kizuna.model.constants import EARTH_RADIUS_WGS72_KM, MU_WGS72_KM3_S2
from kizuna.model.records import ElementSet
from kizuna.orbit.frames import teme_to_itrf
from kizuna.orbit.geometry import to_rtn
from kizuna.orbit.propagate import satrec_from_element_set
from kizuna.orbit.timescale import as_datetime64, grid_span_ns, jd_pair
from kizuna.sda._sweep import hermite_states, radial_reach, sweep_step
from kizuna.sda.pc import PC_MAX_ISOTROPIC, pc_max_isotropic
from kizuna.sda.records import EventTable, ObjectProblem, ScreeningResult, ScreeningVolume

NS = 1_000_000_000
#: extra altitude band (km) around SGP4 mean perigee/apogee: osculating radius swings by
#: ~10-20 km around the mean one (J2 short-period terms), plus drag over a week.
BAND_PAD_KM = 40.0
#: default time step of the coarse grid
DEFAULT_STEP_S = 60.0
#: grid steps handled per SGP4 call (memory ~ objects x knots x 48 bytes)
STEPS_PER_CHUNK = 180
#: speed above which an object gets its own, wider neighbour query [km/s]
FAST_KMS = 8.0
#: shortest spacing of the SGP4 knots the grid is interpolated from [s]; each object's knots are
#: MIN_KNOT_S * 2^k apart (see :func:`knot_spacing_s`), cubic Hermite in between
MIN_KNOT_S = 60.0
#: longest knot spacing [s] (GEO and the outer MEO shells reach it)
MAX_KNOT_S = 1920.0
#: what each object's Hermite interpolation may be off from SGP4 [km]; the candidate reach grows
#: by twice this (both objects of a pair)
KNOT_TOL_KM = 0.25
#: the same in assets mode [km]: there SGP4 at the knots is most of the cost (the pair filter runs
#: only from the assets), and a wider reach adds few candidates, so longer knots pay (LEO 480 s
#: instead of 240 s; a day of 200 assets against the 2022 catalog: candidate search 6.2 s of CPU
#: instead of 9.0 s, 5,953 candidates instead of 2,893, the same 1,808 events). All-vs-all the
#: trade goes the other way: 3 km saves 3 % of the search and doubles the candidates to refine
KNOT_TOL_ASSETS_KM = 3.0
#: cubic Hermite midpoint error bound: KNOT_ERR_FACTOR * r_p (w_p h)^4 / 384 + a floor, with r_p,
#: w_p the perigee radius and angular rate. r (w h)^4 / 384 is the midpoint error for uniform
#: circular motion; the factor 2 and the floors (drag, and for deep-space orbits SDP4's resonance
#: integrator steps and lunar-solar terms, make the states slightly non-smooth: TESS was 0.047 km
#: off at 1920 s knots) bound every object of the 2022 full catalog, a week into the window
#: (tests/test_sda_knots.py measures it against SGP4)
KNOT_ERR_FACTOR = 2.0
#: the velocity error of the same interpolation over its position error bound, times the knot
#: spacing: for uniform circular motion the position error is r (w h)^4 u^2 (1 - u)^2 / 24
#: (largest at u = 1/2: r (w h)^4 / 384) and its time derivative at most
#: r w^4 h^3 * 0.1925 / 24, so 384 * 0.1925 / 24 = 3.08
HERMITE_VEL_ERR_RATIO = 3.1
KNOT_ERR_FLOOR_KM = 0.03
KNOT_ERR_FLOOR_DEEP_SPACE_KM = 0.1
#: SGP4 treats periods of 225 min and more (mean motion below 6.4 rev/day) as deep space (SDP4)
DEEP_SPACE_REVDAY = 1440.0 / 225.0
#: below this mean perigee altitude SGP4 switches to its simplified drag model and drag reshapes
#: the orbit within days (a CZ-3B stage at 110 km perigee was 5 times its Kepler term off at
#: 120 s knots six days on, 20 times at 60 s): their bound takes KNOT_ERR_FACTOR_LOW_PERIGEE instead
LOW_PERIGEE_KM = 220.0
KNOT_ERR_FACTOR_LOW_PERIGEE = 32.0
#: Earth's gravitational parameter (WGS-72, as SGP4) [km^3/s^2]
#: bound on the radial acceleration beyond the two-body term: J2 (3 J2 mu R^2 / r^4 at the
#: surface is 3.3e-5 km/s^2) plus drag, with room [km/s^2]
RADIAL_ACC_PAD_KMS2 = 5e-5
#: slack on the radius band of each object for the Hermite state it is computed from [km]
RADIAL_PAD_KM = 0.5
#: error code (outside SGP4's own 1-6) for a state SGP4 returns without error that no orbit of
#: the element set can have: a decayed object's elements propagated past re-entry come back
#: far beyond their apogee (NORAD 52438 at 116,000 km a week after its epoch)
IMPOSSIBLE_STATE = 100
#: how far an osculating radius may exceed the element set's mean apogee radius (short-period
#: terms are tens of km; drag only lowers it) before the state is called impossible
APOGEE_SLACK_FRACTION = 0.1
APOGEE_SLACK_KM = 200.0
#: a bound orbit's speed stays below escape speed at its radius; 5 % covers SGP4's
#: osculating terms
ESCAPE_SLACK = 1.05
#: fallback hard-body radius per object when nothing better is known [m]
DEFAULT_HBR_M = 5.0
#: candidates refined together: one batch holds a few state arrays of 2 x REFINE_BATCH rows
#: (~100 MB each), and each refinement round makes one SGP4 call per object in the batch
REFINE_BATCH = 1_000_000
#: the range-rate root is found to within this [s] (one nanosecond, the time resolution)
TCA_TOL_S = 1e-9
#: bracket doublings whose ends are computed together when a candidate's bracket must grow
GROW_LEVELS = 3
#: events whose states, frames and Pc are computed together (bounds the temporaries)
BUILD_BATCH = 200_000
#: regula falsi rounds at most; the Illinois steps converge in a handful
MAX_ROOT_ROUNDS = 100
#: TCA is the minimum of the range between the two objects' SGP4 *positions*. The range-rate root
#: above uses SGP4's velocities, which are not exactly the time derivative of its positions: the
#: mismatch dv is ~2 cm/s for most objects and grows with drag (a Starlink with BSTAR 0.022 is
#: 1.4 m/s off four days after its epoch), and it moves the root by ~ |r_rel| |dv| / |v_rel|^2,
#: 0.2 s for a pair passing at 50 m/s and 28 km, microseconds for km/s pairs. The root is
#: therefore polished on the range itself: the vertex of the parabola through range^2 at three
#: times POLISH_STEP_S = h apart (:func:`_polish_batch`). With f = range^2, f'' = 2 (|v|^2 + r.a)
#: and f''' = 2 (3 v.a + r.j) for the relative position r, velocity v, acceleration a, jerk j,
#: the vertex is off the minimum by at most
#:   - truncation: |f'''| / f'' * h^2 / 6 (the vertex within 0.75 h of the middle time); LEO
#:     relative accelerations are ~3 w^2 |r| (w the orbit's rate), which makes this under 1e-6 s
#:     for pairs passing at km/s and 1.2e-5 s for the 50 m/s pair above (f'''/f'' = 1.2e-3 /s);
#:   - SGP4's position noise eps (under 1e-9 km a coordinate: the scatter of positions 1 ns
#:     apart about a smooth fit) scatters the vertex by ~2 |r| eps / (h f''): 2e-10 s at km/s,
#:     7e-5 s for that pair (its polished TCA is 9e-5 s off a fit to 4,000 samples 1 ms apart,
#:     its range-rate root 0.216 s).
#: h = 0.25 s balances the two for slow pairs; both grow as the relative speed falls (a pair
#: passing at a few m/s has no sharp TCA). The three times are on a fixed grid (multiples of h
#: since 1970), so that the batched and the per-pair refinements evaluate SGP4 at the very same
#: times and agree.
POLISH_STEP_S = 0.25
POLISH_STEP_NS = int(POLISH_STEP_S * NS)
#: a polished TCA within this of the range-rate root keeps the root and the states already
#: computed there, saving an SGP4 call (two thirds of the candidates of a full-catalog hour):
#: 1 us is 1.5 cm along the track at 15 km/s. Kept this small because it is also the largest
#: step between two refinements whose roots differ slightly (Brent's 1e-7 s against the
#: batch's 1e-9 s) and fall on either side of it
TCA_RANGE_TOL_S = 1e-6
TCA_RANGE_TOL_NS = int(TCA_RANGE_TOL_S * NS)
#: the middle time moves to the grid time nearest the vertex while the vertex lies further than
#: this many steps from it (hysteresis: a vertex near half-way between two grid times must not
#: make it swap back and forth; within 0.75 step of the middle the truncation bound above holds
#: as stated, |h^2/6 - offset^2/2| <= h^2/6)
POLISH_RECENTRE_STEPS = 0.75
#: one round moves the middle time at most this many steps (a parabola extrapolated further is
#: no longer a model of the range)
POLISH_MAX_MOVE_STEPS = 8
#: recentring rounds at most; a pair that has not settled by then, or whose sampled range is not
#: convex (SGP4's noise dominates at a few m/s), keeps the range-rate root
MAX_POLISH_ROUNDS = 8


@dataclass(frozen=True)
class PreparedCatalog:
    """Element sets that passed the checks, their SGP4 records and altitude bands."""

    sets: tuple[ElementSet, ...]
    norad_ids: np.ndarray
    is_primary: np.ndarray  # (N,) bool
    perigee_km: np.ndarray
    apogee_km: np.ndarray
    problems: tuple[ObjectProblem, ...]


def prepare(
    element_sets: Sequence[ElementSet],
    start_utc: object,
    *,
    primaries: Iterable[int] | None,
    threshold_km: float,
    stale_days: float = 14.0,
    band_pad_km: float = BAND_PAD_KM,
) -> PreparedCatalog:
    """Drop (and list) stale element sets, apply the apogee/perigee band filter."""
    t0 = as_datetime64(start_utc)[0]
    latest: dict[int, ElementSet] = {}
    for es in element_sets:  # one set per object: the newest
        if es.norad_id not in latest or es.epoch_utc > latest[es.norad_id].epoch_utc:
            latest[es.norad_id] = es
    sets = sorted(latest.values(), key=lambda e: e.norad_id)
    problems: list[ObjectProblem] = []
    keep: list[ElementSet] = []
    twins: dict[tuple, int] = {}
    for es in sets:
        # Identical elements under two ids (docked, or catalogued twice) have zero range for
        # ever: no encounter geometry to refine. Screen one, list the other.
        key = (
            es.epoch_utc,
            es.mean_motion_revday,
            es.eccentricity,
            es.inclination_deg,
            es.raan_deg,
            es.arg_perigee_deg,
            es.mean_anomaly_deg,
            es.bstar_per_er,
        )
        if key in twins:
            problems.append(
                ObjectProblem(
                    es.norad_id,
                    "duplicate-elements",
                    f"same elements as NORAD {twins[key]} (docked or catalogued twice); "
                    f"screened as {twins[key]}",
                )
            )
            continue
        twins[key] = es.norad_id
        age_d = float((t0 - as_datetime64(es.epoch_utc)[0]) / np.timedelta64(1, "s")) / 86400.0
        if age_d > stale_days:
            problems.append(
                ObjectProblem(
                    es.norad_id,
                    "stale",
                    f"element set epoch {es.epoch_utc:%Y-%m-%d} is {age_d:.1f} days "
                    f"before the screening start (limit {stale_days:g} d)",
                )
            )
        elif es.mean_motion_revday <= 0 or not 0 <= es.eccentricity < 1:
            problems.append(ObjectProblem(es.norad_id, "sgp4", "mean elements outside SGP4's domain"))
        else:
            keep.append(es)
    ids = np.array([e.norad_id for e in keep], dtype="int64")
    perigee = np.array([e.perigee_alt_km for e in keep])
    apogee = np.array([e.apogee_alt_km for e in keep])
    if primaries is None:
        is_primary = np.ones(len(keep), bool)
    else:
        wanted = set(int(p) for p in primaries)
        is_primary = np.isin(ids, list(wanted))
        missing = wanted - set(ids.tolist()) - {p.norad_id for p in problems}
        problems += [
            ObjectProblem(n, "no-elements", "asset has no element set in the catalog")
            for n in sorted(missing)
        ]
        # Band filter on the catalog side: keep objects whose band meets some asset's band.
        lo = perigee - band_pad_km - threshold_km
        hi = apogee + band_pad_km + threshold_km
        pa_lo, pa_hi = lo[is_primary], hi[is_primary]
        meets = np.zeros(len(keep), bool)
        for k in range(0, len(pa_lo), 64):
            meets |= np.any(
                (lo[:, None] <= pa_hi[None, k : k + 64]) & (pa_lo[None, k : k + 64] <= hi[:, None]), axis=1
            )
        sel = meets | is_primary
        keep = [e for e, s in zip(keep, sel, strict=True) if s]
        ids, perigee, apogee, is_primary = ids[sel], perigee[sel], apogee[sel], is_primary[sel]
    return PreparedCatalog(tuple(keep), ids, is_primary, perigee, apogee, tuple(problems))


def grid_steps(start_utc: object, stop_utc: object, step_s: float) -> np.ndarray:
    """Grid times (ns since 1970) covering [start, stop]; step k owns [t_k - dt/2, t_k + dt/2]."""
    t0, t1, dt, n = grid_span_ns(start_utc, stop_utc, step_s)  # checked: step, range, size cap
    grid = t0 + dt * np.arange(n, dtype="int64")
    if grid[-1] + dt // 2 < t1:
        grid = np.append(grid, grid[-1] + dt)
    return grid


def knot_spacing_s(cat: PreparedCatalog, tol_km: float = KNOT_TOL_KM) -> np.ndarray:
    """SGP4 knot spacing per object [s]: the longest MIN_KNOT_S * 2^k (up to MAX_KNOT_S) whose
    cubic Hermite error bound stays within tol_km, MIN_KNOT_S when none does.

    The bound follows the angular rate at perigee, w_p = sqrt(mu (1 + e) / r_p^3) (the fastest
    the orbit turns), so LEO gets 240 s, GEO 1920 s, eccentric orbits with a low perigee 120 s,
    and decaying ones 60 s."""
    ecc = np.array([e.eccentricity for e in cat.sets])
    mean_motion = np.array([e.mean_motion_revday for e in cat.sets])
    h = np.full(len(cat.sets), MIN_KNOT_S)
    trial = MIN_KNOT_S
    while trial * 2 <= MAX_KNOT_S:
        trial *= 2
        h[knot_error_bound_km(cat.perigee_km, ecc, mean_motion, trial) <= tol_km] = trial
    return h


def knot_error_bound_km(
    perigee_km: np.ndarray, ecc: np.ndarray, mean_motion_revday: np.ndarray, knot_s: float | np.ndarray
) -> np.ndarray:
    """Bound on the cubic Hermite position error between SGP4 knots knot_s apart [km], from the
    mean perigee altitude, eccentricity and mean motion."""
    r_p = EARTH_RADIUS_WGS72_KM + np.maximum(perigee_km, 0.0)
    w_p = np.sqrt(MU_WGS72_KM3_S2 * (1.0 + ecc) / r_p**3)
    factor = np.where(perigee_km < LOW_PERIGEE_KM, KNOT_ERR_FACTOR_LOW_PERIGEE, KNOT_ERR_FACTOR)
    floor = np.where(mean_motion_revday < DEEP_SPACE_REVDAY, KNOT_ERR_FLOOR_DEEP_SPACE_KM, KNOT_ERR_FLOOR_KM)
    return factor * r_p * (w_p * knot_s) ** 4 / 384.0 + floor


def find_candidates(
    cat: PreparedCatalog,
    grid_ns: np.ndarray,
    start_ns: int,
    stop_ns: int,
    step_s: float,
    threshold_km: float,
    *,
    band_pad_km: float = BAND_PAD_KM,
    knot_tol_km: float | None = None,
    sats: dict[int, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, tuple[int, int]]]:
    """Pairs (i, j) and estimated TCAs [ns] whose linear closest approach inside a grid
    step's interval falls below the threshold plus a margin. Returns (i, j, t_ns, sgp4_errors).

    `knot_tol_km` bounds each object's interpolation error between its SGP4 knots (None:
    KNOT_TOL_KM all-vs-all, KNOT_TOL_ASSETS_KM with assets). `sats`: SGP4 records by catalog
    index, kept between calls (a worker screening several time blocks makes them once)."""
    n = len(cat.sets)
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_t: list[np.ndarray] = []
    errors: dict[int, tuple[int, int]] = {}
    if n < 2 or len(grid_ns) == 0:
        return np.empty(0, int), np.empty(0, int), np.empty(0, "int64"), errors
    half_ns = int(round(step_s * NS / 2))
    # The linear model is off by at most ~a_rel dt^2 / 8 over half a step; 1 km + 10 % covers
    # the relative accelerations of close LEO pairs with a wide margin. Each state is off SGP4
    # by at most knot_tol_km (Hermite between knots), on both objects of a pair.
    if knot_tol_km is None:
        knot_tol_km = KNOT_TOL_KM if cat.is_primary.all() else KNOT_TOL_ASSETS_KM
    margin_km = 1.0 + 0.1 * threshold_km + 2 * knot_tol_km
    # Objects grouped by knot spacing, each group contiguous (the sweep sees them in this order;
    # its pairs are mapped back to catalog indices): SGP4 runs on each group's knots, aligned
    # to the window start so that time partitions see the same knots, and the grid steps in
    # between come from cubic Hermite interpolation of the knot positions and velocities.
    spacing_s = knot_spacing_s(cat, knot_tol_km)
    order = np.argsort(spacing_s, kind="stable")
    spacing_s = spacing_s[order]
    # each object's interpolation error bounds, for the sweep's allowance on the linear TCA
    ecc = np.array([cat.sets[x].eccentricity for x in order])
    mean_motion = np.array([cat.sets[x].mean_motion_revday for x in order])
    pos_err_km = knot_error_bound_km(cat.perigee_km[order], ecc, mean_motion, spacing_s)
    vel_err_kms = HERMITE_VEL_ERR_RATIO * pos_err_km / spacing_s
    bounds = np.flatnonzero(np.diff(spacing_s)) + 1
    groups = [
        (int(g[0]), int(g[-1]) + 1, int(round(spacing_s[g[0]] * NS))) for g in np.split(np.arange(n), bounds)
    ]
    sats = _satrecs(cat, order, {} if sats is None else sats)
    sat_arrays = [SatrecArray([sats[x] for x in order[g0:g1].tolist()]) for g0, g1, _ in groups]
    perigee_km = np.ascontiguousarray(cat.perigee_km[order])
    apogee_km = np.ascontiguousarray(cat.apogee_km[order])
    is_primary = np.ascontiguousarray(cat.is_primary[order])
    pos = np.empty((n, 3))
    vel = np.empty((n, 3))
    step_bad = np.zeros(n, bool)
    capacity = 4096  # candidate rows per step the compiled filter has room for; grows on demand
    for c0 in range(0, len(grid_ns), STEPS_PER_CHUNK):
        chunk = grid_ns[c0 : c0 + STEPS_PER_CHUNK]
        knot_states = []
        for (g0, _g1, knot_ns), sat_array in zip(groups, sat_arrays, strict=True):
            k0 = (int(chunk[0]) - start_ns) // knot_ns
            k1 = -(-(int(chunk[-1]) - start_ns) // knot_ns)
            knots = start_ns + knot_ns * np.arange(k0, max(k1, k0 + 1) + 1, dtype="int64")
            jd, fr = jd_pair(knots.astype("datetime64[ns]"))
            err, r, v = sat_array.sgp4(jd, fr)
            err = flag_impossible_states(err, r, v, apogee_km[g0:_g1])
            bad = err != 0
            if bad.any():
                r[bad] = np.nan
                v[bad] = np.nan
            # knot-major and contiguous, so each interpolation reads two compact blocks
            r = np.ascontiguousarray(r.transpose(1, 0, 2))
            v = np.ascontiguousarray(v.transpose(1, 0, 2))
            knot_states.append((knots, err, bad, r, v))
        for k in range(len(chunk)):
            tk = int(chunk[k])
            for (g0, g1, knot_ns), (knots, err, bad, r, v) in zip(groups, knot_states, strict=True):
                a = min((tk - int(knots[0])) // knot_ns, len(knots) - 2)
                u = (tk - int(knots[a])) / knot_ns  # 0 on a knot: SGP4's own state
                hermite_states(r, v, a, u, knot_ns / NS, pos, vel, g0)
                np.logical_or(bad[:, a], bad[:, a + 1], out=step_bad[g0:g1])
                if step_bad[g0:g1].any():
                    for x in np.flatnonzero(step_bad[g0:g1]):
                        code = int(err[x, a] or err[x, a + 1])
                        i = int(order[g0 + x])
                        prev = errors.get(i, (code, 0))
                        errors[i] = (prev[0], prev[1] + 1)
            ok = ~step_bad
            if np.count_nonzero(ok) < 2:
                continue
            rho = radial_reach(pos, vel, ok, step_s / 2, MU_WGS72_KM3_S2, RADIAL_ACC_PAD_KMS2, RADIAL_PAD_KM)
            lo = max(tk - half_ns, start_ns) - tk
            hi = min(tk + half_ns, stop_ns) - tk
            # Per-object search radii, radial filter, band filter and the linear closest
            # approach inside the step's interval, compiled (see kizuna.sda._sweep)
            args = (
                pos,
                vel,
                ok,
                rho,
                pos_err_km,
                vel_err_kms,
                perigee_km,
                apogee_km,
                is_primary,
                threshold_km + margin_km,
                threshold_km + 2 * band_pad_km,
                float(step_s),
                lo / NS,
                hi / NS,
                float(FAST_KMS),
            )
            pi, pj, tau_c, m = sweep_step(*args, capacity)
            if m > capacity:  # more candidates than room: once more with room for all
                capacity = 2 * m
                pi, pj, tau_c, m = sweep_step(*args, capacity)
            if m:
                ci, cj = order[pi[:m]], order[pj[:m]]
                # both primary: the lower catalog index first, as the sweep does in its order
                swap = is_primary[pi[:m]] & is_primary[pj[:m]] & (ci > cj)
                out_i.append(np.where(swap, cj, ci))
                out_j.append(np.where(swap, ci, cj))
                out_t.append(tk + np.round(tau_c[:m] * NS).astype("int64"))
        if progress:
            progress(len(chunk))
    if not out_i:
        return np.empty(0, int), np.empty(0, int), np.empty(0, "int64"), errors
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_t), errors


def flag_impossible_states(
    err: np.ndarray, r_km: np.ndarray, v_kms: np.ndarray, apogee_alt_km: np.ndarray
) -> np.ndarray:
    """SGP4 error codes (objects x times) with IMPOSSIBLE_STATE where SGP4 said 0 but the state
    is beyond escape speed or far above the element set's apogee."""
    rn = np.sqrt(np.einsum("ijk,ijk->ij", r_km, r_km))
    vn2 = np.einsum("ijk,ijk->ij", v_kms, v_kms)
    r_max = (apogee_alt_km + EARTH_RADIUS_WGS72_KM) * (1 + APOGEE_SLACK_FRACTION) + APOGEE_SLACK_KM
    with np.errstate(invalid="ignore", divide="ignore"):
        impossible = (rn > r_max[:, None]) | (vn2 > ESCAPE_SLACK**2 * 2 * MU_WGS72_KM3_S2 / rn)
    return np.where((err == 0) & impossible, IMPOSSIBLE_STATE, err)


def radial_reach_km(pos_km: np.ndarray, vel_kms: np.ndarray, half_s: float) -> np.ndarray:
    """Bound on how far each object's geocentric radius moves within +-half_s of this state.

    |r(t) - r(0)| <= |rdot| T + A T^2 / 2, with the two-body radial acceleration
    rddot = h^2/r^3 - mu/r^2 = (mu/r^2) e cos(nu) (Vallado, "Fundamentals of Astrodynamics and
    Applications", 4th ed., sec. 2.3), so |rddot| <= mu e / r_min^2, using the osculating
    eccentricity (plus 0.002 for its drift over the step) and the lowest radius the object can
    reach in T; J2 and drag are bounded by RADIAL_ACC_PAD_KMS2."""
    pos = np.ascontiguousarray(pos_km, dtype=float)
    vel = np.ascontiguousarray(vel_kms, dtype=float)
    ok = np.ones(len(pos), bool)
    return radial_reach(pos, vel, ok, float(half_s), MU_WGS72_KM3_S2, RADIAL_ACC_PAD_KMS2, RADIAL_PAD_KM)


def refine_tca(
    sat1,
    sat2,
    t_est_ns: int,
    step_s: float,
    start_ns: int,
    stop_ns: int,
) -> int | None:
    """TCA [ns] near the estimate: the root of d/dt |r2 - r1|^2 / 2 = dr . dv (Brent), polished
    onto the minimum of the range of SGP4 positions (:func:`_polish_tca`); None when the range
    has no local minimum inside the window there (the closest point is at the window edge)."""

    def rdot(t_s: float) -> float:
        # plain floats: this runs ~6 times per candidate, and small numpy arrays cost more to
        # build than the arithmetic
        days, rem = divmod(t_est_ns + int(round(t_s * NS)), 86_400 * NS)
        jd, fr = 2440587.5 + days, rem / (86_400 * NS)
        e1, r1, v1 = sat1.sgp4(jd, fr)
        e2, r2, v2 = sat2.sgp4(jd, fr)
        if e1 or e2:
            raise ValueError(SGP4_ERRORS.get(e1 or e2, f"SGP4 error {e1 or e2}"))
        return (
            (r2[0] - r1[0]) * (v2[0] - v1[0])
            + (r2[1] - r1[1]) * (v2[1] - v1[1])
            + (r2[2] - r1[2]) * (v2[2] - v1[2])
        )

    lo_lim = (start_ns - t_est_ns) / NS
    hi_lim = (stop_ns - t_est_ns) / NS
    h = 0.5
    a, b = max(-h, lo_lim), min(h, hi_lim)
    fa, fb = rdot(a), rdot(b)
    while not (fa <= 0 <= fb):
        if h > 2 * step_s:
            return None
        h *= 2
        if fa > 0 and a > lo_lim:
            a = max(-h, lo_lim)
            fa = rdot(a)
        elif fb < 0 and b < hi_lim:
            b = min(h, hi_lim)
            fb = rdot(b)
        else:
            return None
    t = brentq(rdot, a, b, xtol=1e-7, rtol=1e-12, maxiter=100)
    return _polish_tca(sat1, sat2, t_est_ns + int(round(t * NS)), start_ns, stop_ns)


def _nearest_grid_ns(t_ns):
    """The multiple of POLISH_STEP_NS nearest each time [ns since 1970] (int or int64 array)."""
    return (t_ns + POLISH_STEP_NS // 2) // POLISH_STEP_NS * POLISH_STEP_NS


def _polish_tca(sat1, sat2, root_ns: int, start_ns: int, stop_ns: int) -> int | None:
    """:func:`_polish_batch` for one pair, in plain floats with the same arithmetic (so that the
    per-pair reference and the batch agree): the minimum of the range of SGP4 positions near
    the range-rate root `root_ns`, the root itself when the two are within TCA_RANGE_TOL_S or
    the range gives no usable parabola, None when the minimum lies outside [start, stop]."""
    h = POLISH_STEP_NS

    def range_sq(t_ns: int) -> float:
        days, rem = divmod(t_ns, 86_400 * NS)
        jd, fr = 2440587.5 + days, rem / (86_400 * NS)
        e1, r1, _v1 = sat1.sgp4(jd, fr)
        e2, r2, _v2 = sat2.sgp4(jd, fr)
        if e1 or e2:
            return float("nan")
        dx, dy, dz = r2[0] - r1[0], r2[1] - r1[1], r2[2] - r1[2]
        return dx * dx + dy * dy + dz * dz

    centre = _nearest_grid_ns(root_ns)
    for _ in range(MAX_POLISH_ROUNDS):
        fm, f0, fp = range_sq(centre - h), range_sq(centre), range_sq(centre + h)
        curv = fm - 2.0 * f0 + fp
        offset = 0.5 * (fm - fp) / curv if curv > 0 else float("nan")  # in steps
        if not math.isfinite(offset):
            return root_ns
        if abs(offset) <= POLISH_RECENTRE_STEPS:
            vertex = centre + int(round(offset * h))
            break
        move = min(max(offset, -POLISH_MAX_MOVE_STEPS), POLISH_MAX_MOVE_STEPS)
        centre = _nearest_grid_ns(centre + int(round(move * h)))
    else:
        return root_ns
    if not start_ns <= vertex <= stop_ns:
        return None
    if abs(vertex - root_ns) <= TCA_RANGE_TOL_NS or math.isnan(range_sq(vertex)):
        return root_ns
    return vertex


def refine_events(
    cat: PreparedCatalog,
    cand_i: np.ndarray,
    cand_j: np.ndarray,
    cand_t: np.ndarray,
    step_s: float,
    start_ns: int,
    stop_ns: int,
    volume: ScreeningVolume,
    sats: dict[int, Any] | None = None,
) -> list[tuple[int, int, int]]:
    """Refine every candidate; return (i, j, tca_ns) of those inside the volume, one per encounter.

    All candidates are refined together (:func:`refine_tca_batch`, batches of REFINE_BATCH);
    the encounters kept are those the per-pair loop keeps (:func:`_one_per_encounter`).
    `sats`: SGP4 records by catalog index, kept between calls (filled as needed)."""
    n = len(cand_i)
    if n == 0:
        return []
    order = np.lexsort((cand_t, cand_j, cand_i))
    ci = np.asarray(cand_i, np.int64)[order]
    cj = np.asarray(cand_j, np.int64)[order]
    ct = np.asarray(cand_t, np.int64)[order]
    sats = {} if sats is None else sats
    tca = np.empty(n, np.int64)
    ok = np.empty(n, bool)
    # the volume test's inputs at each TCA, from the refinement's last SGP4 evaluation (at that
    # very time): 4 numbers a candidate instead of the 12 of both states
    miss = np.empty(n)
    rtn = np.empty((n, 3))
    for s in range(0, n, REFINE_BATCH):
        e = min(s + REFINE_BATCH, n)
        _satrecs(cat, np.concatenate([ci[s:e], cj[s:e]]), sats)
        tca[s:e], ok[s:e], st = _refine_batch(sats, ci[s:e], cj[s:e], ct[s:e], step_s, start_ns, stop_ns)
        good = s + np.flatnonzero(ok[s:e])
        st = st[good - s]
        rel = st[:, 2] - st[:, 0]
        miss[good] = np.linalg.norm(rel, axis=1)
        rtn[good] = to_rtn(st[:, 0], st[:, 1], rel)
        del st, rel
    keep = _one_per_encounter(ci, cj, ct, tca, ok, step_s)
    keep[keep] = volume.contains(rtn[keep], miss[keep])
    return [tuple(x) for x in np.stack([ci[keep], cj[keep], tca[keep]], axis=1).tolist()]


def _one_per_encounter(
    ci: np.ndarray, cj: np.ndarray, ct: np.ndarray, tca: np.ndarray, ok: np.ndarray, step_s: float
) -> np.ndarray:
    """Mask of the refined candidates (sorted by pair, then estimated time) that are new
    encounters, decided as the per-pair loop did: a candidate within a quarter step of a TCA
    already found for its pair is the same encounter, and so is a TCA within 1 s of one found.

    A pair with one candidate needs no loop (nearly all of them); only pairs with several go
    through the sequential rule, which depends on the order."""
    n = len(ci)
    first = np.ones(n, bool)
    first[1:] = (ci[1:] != ci[:-1]) | (cj[1:] != cj[:-1])
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, n))
    keep = ok.copy()
    quarter_ns = step_s * NS / 4
    for s0, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        seen: list[int] = []
        for k in range(s0, s0 + size):
            keep[k] = False
            t = int(ct[k])
            if any(abs(t - s) < quarter_ns for s in seen):
                continue  # the same encounter, already refined
            if not ok[k]:
                continue
            found = int(tca[k])
            if any(abs(found - s) < NS for s in seen):
                continue
            seen.append(found)
            keep[k] = True
    return keep


def _satrecs(cat: PreparedCatalog, objects: np.ndarray, sats: dict[int, Any]) -> dict[int, Any]:
    """SGP4 records of `objects` (indices into the catalog) added to `sats`, once per object."""
    for x in np.unique(objects).tolist():
        if x not in sats:
            sats[x] = satrec_from_element_set(cat.sets[x])
    return sats


def _sgp4_rows(
    sats: Mapping[int, Any], obj: np.ndarray, t_ns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SGP4 TEME state of object obj[k] at t_ns[k] for every row k: (error code, r, v).

    One `sgp4_array` call per distinct object over all of its rows (sorted by object, so each
    call reads a contiguous slice), with the (jd, fraction) split of :func:`refine_tca`, exact
    to the nanosecond."""
    m = len(obj)
    err = np.zeros(m, np.int64)
    r = np.empty((m, 3))
    v = np.empty((m, 3))
    if m == 0:
        return err, r, v
    order = np.argsort(obj, kind="stable")
    obj_s = obj[order]
    days, rem = np.divmod(np.asarray(t_ns, np.int64)[order], 86_400 * NS)
    jd = 2440587.5 + days.astype(float)
    fr = rem.astype(float) / (86_400 * NS)
    bounds = np.flatnonzero(np.diff(obj_s)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    stops = np.concatenate((bounds, [m])).tolist()
    err_s = np.empty(m, np.uint8)
    r_s = np.empty((m, 3))
    v_s = np.empty((m, 3))
    for a, b in zip(starts, stops, strict=True):
        # Satrec.sgp4_array is this call on three arrays it allocates (sgp4 2.27, pinned);
        # writing into slices of one output saves the allocation and a copy per object, which
        # is most of the cost when an object has a few rows
        sats[int(obj_s[a])]._sgp4(jd[a:b], fr[a:b], err_s[a:b], r_s[a:b], v_s[a:b])
    err[order], r[order], v[order] = err_s, r_s, v_s
    return err, r, v


def refine_tca_batch(
    sats: Mapping[int, Any],
    obj1: np.ndarray,
    obj2: np.ndarray,
    t_est_ns: np.ndarray,
    step_s: float,
    start_ns: int,
    stop_ns: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`refine_tca` for many candidates at once: (tca_ns, ok), ok False where
    :func:`refine_tca` returns None (no local range minimum near the estimate) or meets an SGP4
    error. See :func:`_refine_batch`."""
    tca, ok, _states = _refine_batch(sats, obj1, obj2, t_est_ns, step_s, start_ns, stop_ns)
    return tca, ok


def _refine_batch(
    sats: Mapping[int, Any],
    obj1: np.ndarray,
    obj2: np.ndarray,
    t_est_ns: np.ndarray,
    step_s: float,
    start_ns: int,
    stop_ns: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tca_ns, ok, states): states (n, 4, 3) are r1, v1, r2, v2 [km, km/s] at tca_ns, the
    last point SGP4 evaluated for each candidate.

    The bracket is grown exactly as :func:`refine_tca` grows it (the values it would read at
    every doubling are computed in one round for the few candidates that need any). The root of
    the range-rate inside the bracket is then found by regula falsi with the Illinois
    modification (Dowell & Jarratt 1971), which keeps the bracket and converges superlinearly;
    a point is final when the Newton step from it, with the two-body slope of the range-rate,
    is under TCA_TOL_S (Brent stopped at 1e-7 s). Each round is one SGP4 call per object over
    the candidates still active (:func:`_sgp4_rows`): SGP4 runs in its compiled loop instead
    of six Python calls per candidate. The roots are then moved onto the minimum of the range of
    SGP4 positions (:func:`_polish_batch`, as :func:`refine_tca` does per pair)."""
    t_est = np.asarray(t_est_ns, np.int64)
    obj1 = np.asarray(obj1, np.int64)
    obj2 = np.asarray(obj2, np.int64)
    n = len(t_est)
    states = np.full((n, 4, 3), np.nan)

    def rdot(rows: np.ndarray, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Range-rate r.v [km^2/s], its two-body slope [km^2/s^2], SGP4 failure, states."""
        k = len(rows)
        t = t_est[rows] + np.round(t_s * NS).astype(np.int64)
        err, r, v = _sgp4_rows(sats, np.concatenate([obj1[rows], obj2[rows]]), np.concatenate([t, t]))
        dr, dv = r[k:] - r[:k], v[k:] - v[:k]
        f = dr[:, 0] * dv[:, 0] + dr[:, 1] * dv[:, 1] + dr[:, 2] * dv[:, 2]
        rn3 = np.einsum("ij,ij->i", r, r) ** 1.5
        acc = -MU_WGS72_KM3_S2 * r / rn3[:, None]
        slope = np.einsum("ij,ij->i", dv, dv) + np.einsum("ij,ij->i", dr, acc[k:] - acc[:k])
        st = np.stack([r[:k], v[:k], r[k:], v[k:]], axis=1)
        return f, slope, (err[:k] != 0) | (err[k:] != 0), st

    lo_lim = (start_ns - t_est) / NS
    hi_lim = (stop_ns - t_est) / NS
    a = np.maximum(-0.5, lo_lim)
    b = np.minimum(0.5, hi_lim)
    rows = np.arange(n)
    f, _slope, bad, _st = rdot(np.concatenate([rows, rows]), np.concatenate([a, b]))
    fa, fb = f[:n].copy(), f[n:].copy()
    failed = bad[:n] | bad[n:]
    grow = np.flatnonzero(~failed & ~((fa <= 0) & (fb >= 0)))
    if len(grow):
        a[grow], fa[grow], b[grow], fb[grow], failed_grow = _grow_brackets(
            rdot, grow, a[grow], fa[grow], b[grow], fb[grow], lo_lim[grow], hi_lim[grow], step_s
        )
        failed[grow] |= failed_grow
    # a root on an end of the bracket is the answer (as brentq returns it); its states are
    # evaluated again below (f exactly 0 is rare)
    x = np.where(fa == 0, a, b)
    on_end = np.flatnonzero(~failed & ((fa == 0) | (fb == 0)))
    act = np.flatnonzero(~failed & (fa != 0) & (fb != 0))
    last_side = np.zeros(n, np.int8)  # which end the previous step replaced: -1 a, +1 b
    for _ in range(MAX_ROOT_ROUNDS):
        if not len(act):
            break
        aa, bb, ffa, ffb = a[act], b[act], fa[act], fb[act]
        xn = np.minimum(np.maximum(bb - ffb * (bb - aa) / (ffb - ffa), aa), bb)  # ffa < 0 < ffb
        fx, slope, bad, st = rdot(act, xn)
        bad |= ~np.isfinite(fx)
        failed[act[bad]] = True
        x[act] = xn
        states[act] = st
        up = (fx > 0) & ~bad
        down = (fx < 0) & ~bad
        iu, idn = act[up], act[down]
        # Illinois: an end kept twice in a row has its value halved, so that it moves next time
        fa[iu] = np.where(last_side[iu] == 1, fa[iu] / 2, fa[iu])
        b[iu], fb[iu], last_side[iu] = xn[up], fx[up], 1
        fb[idn] = np.where(last_side[idn] == -1, fb[idn] / 2, fb[idn])
        a[idn], fa[idn], last_side[idn] = xn[down], fx[down], -1
        with np.errstate(divide="ignore", invalid="ignore"):
            newton_s = np.abs(fx / slope)
        done = bad | (fx == 0) | (newton_s <= TCA_TOL_S) | (b[act] - a[act] <= TCA_TOL_S)
        act = act[~done]
    if len(on_end):
        _f, _slope, bad, states[on_end] = rdot(on_end, x[on_end])
        failed[on_end] |= bad
    tca = t_est + np.round(np.nan_to_num(x) * NS).astype(np.int64)
    return _polish_batch(sats, obj1, obj2, tca, ~failed, states, start_ns, stop_ns)


def _polish_batch(
    sats: Mapping[int, Any],
    obj1: np.ndarray,
    obj2: np.ndarray,
    root_ns: np.ndarray,
    ok: np.ndarray,
    states: np.ndarray,
    start_ns: int,
    stop_ns: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The range-rate roots `root_ns` (where `ok`) moved onto the minimum of the range of SGP4
    positions: (tca_ns, ok, states), the states SGP4's at the returned TCA.

    Each round evaluates range^2 at the grid time nearest the current estimate and one
    POLISH_STEP_S on either side (one SGP4 call per object over all three) and takes the
    parabola's vertex; while the vertex lies more than POLISH_RECENTRE_STEPS from the middle
    time, the middle moves to the grid time nearest it (at most POLISH_MAX_MOVE_STEPS a round)
    and the round is repeated: the vertex then interpolates, and its error bound (see
    POLISH_STEP_S) holds. A vertex within TCA_RANGE_TOL_S of the root keeps the root and its
    states (no further SGP4 call); a vertex outside [start, stop] means the range has no
    minimum inside the window (not ok, as when the range-rate has no root); a candidate whose
    range gives no usable parabola (not convex, an SGP4 error) keeps the root."""
    n = len(root_ns)
    h = POLISH_STEP_NS
    tca = root_ns.copy()
    ok = ok.copy()
    vertex = np.zeros(n, np.int64)
    settled = np.zeros(n, bool)
    act = np.flatnonzero(ok)
    centre = np.zeros(n, np.int64)
    centre[act] = _nearest_grid_ns(root_ns[act])
    for _ in range(MAX_POLISH_ROUNDS):
        if not len(act):
            break
        k = len(act)
        c = centre[act]
        rows = np.concatenate([act, act, act])
        t3 = np.concatenate([c - h, c, c + h])
        err, r, _v = _sgp4_rows(sats, np.concatenate([obj1[rows], obj2[rows]]), np.concatenate([t3, t3]))
        d = r[3 * k :] - r[: 3 * k]
        # written out in the order _polish_tca adds, so that both give the same bits
        f = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]
        f[(err[: 3 * k] != 0) | (err[3 * k :] != 0)] = np.nan
        fm, f0, fp = f[:k], f[k : 2 * k], f[2 * k :]
        curv = fm - 2.0 * f0 + fp
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = np.where(curv > 0, 0.5 * (fm - fp) / curv, np.nan)  # in steps
        usable = np.isfinite(offset)
        here = usable & (np.abs(offset) <= POLISH_RECENTRE_STEPS)
        vertex[act[here]] = c[here] + np.round(offset[here] * h).astype(np.int64)
        settled[act[here]] = True
        go = usable & ~here
        move = np.clip(offset[go], -POLISH_MAX_MOVE_STEPS, POLISH_MAX_MOVE_STEPS)
        centre[act[go]] = _nearest_grid_ns(c[go] + np.round(move * h).astype(np.int64))
        act = act[go]
    outside = settled & ((vertex < start_ns) | (vertex > stop_ns))
    ok[outside] = False
    moved = np.flatnonzero(settled & ~outside & (np.abs(vertex - root_ns) > TCA_RANGE_TOL_NS))
    if len(moved):
        k = len(moved)
        t = vertex[moved]
        err, r, v = _sgp4_rows(sats, np.concatenate([obj1[moved], obj2[moved]]), np.concatenate([t, t]))
        good = (err[:k] == 0) & (err[k:] == 0)
        tca[moved[good]] = t[good]
        states[moved[good]] = np.stack([r[:k], v[:k], r[k:], v[k:]], axis=1)[good]
    return tca, ok, states


def _grow_brackets(rdot, rows, a, fa, b, fb, lo_lim, hi_lim, step_s):
    """The bracket :func:`refine_tca` ends with, for candidates whose +-0.5 s bracket holds no
    root: it doubles h and moves one end per step (a while f(a) > 0, else b while f(b) < 0) until
    f(a) <= 0 <= f(b), and gives up past h > 2 step. The range-rate at every end it could reach
    is computed a few doublings at a time (one round for several steps), then the same steps
    are taken on those values."""
    m = len(rows)
    hs = [1.0]
    while hs[-1] / 2 <= 2 * step_s:
        hs.append(hs[-1] * 2)
    n_h = len(hs)
    h_col = np.array(hs)[None, :]
    ends_a = np.maximum(-h_col, lo_lim[:, None])  # (m, n_h): every end each side can reach
    ends_b = np.minimum(h_col, hi_lim[:, None])
    fa_all = np.full((m, n_h), np.nan)
    fb_all = np.full((m, n_h), np.nan)
    bad_a = np.zeros((m, n_h), bool)
    bad_b = np.zeros((m, n_h), bool)
    known_a = np.zeros(m, np.int64)  # levels computed so far for each row and side
    known_b = np.zeros(m, np.int64)

    def compute(ends, f_all, bad_all, known, want, level):
        """Fill levels [level, level + GROW_LEVELS) for rows `want` that lack them: most
        brackets close after one or two doublings, so the far ends are computed only when
        reached."""
        rows_w = np.flatnonzero(want & (known <= level))
        if not len(rows_w):
            return
        top = min(level + GROW_LEVELS, n_h)
        width = top - level
        rr = np.repeat(rows_w, width)
        f, _slope, bad, _st = rdot(rows[rr], ends[rows_w, level:top].ravel())
        f_all[rows_w, level:top] = f.reshape(-1, width)
        bad_all[rows_w, level:top] = bad.reshape(-1, width)
        known[rows_w] = top

    failed = np.zeros(m, bool)
    h = np.full(m, 0.5)
    for step in range(n_h + 1):
        need = ~failed & ~((fa <= 0) & (fb >= 0))
        if not need.any():
            break
        wide = need & (h > 2 * step_s)
        failed |= wide
        need &= ~wide
        h[need] *= 2
        move_a = need & (fa > 0) & (a > lo_lim)
        move_b = need & ~move_a & (fb < 0) & (b < hi_lim)
        failed |= need & ~move_a & ~move_b
        compute(ends_a, fa_all, bad_a, known_a, move_a, step)
        compute(ends_b, fb_all, bad_b, known_b, move_b, step)
        a[move_a], fa[move_a] = ends_a[move_a, step], fa_all[move_a, step]
        b[move_b], fb[move_b] = ends_b[move_b, step], fb_all[move_b, step]
        failed |= (move_a & bad_a[:, step]) | (move_b & bad_b[:, step])
    return a, fa, b, fb, failed


def _states_at(cat, sats, arr):
    """SGP4 TEME states (r1, v1, r2, v2) of both objects of each (i, j, t_ns) row."""
    _satrecs(cat, np.concatenate([arr[:, 0], arr[:, 1]]), sats)
    m = len(arr)
    _err, r, v = _sgp4_rows(
        sats, np.concatenate([arr[:, 0], arr[:, 1]]), np.concatenate([arr[:, 2], arr[:, 2]])
    )
    return r[:m], v[:m], r[m:], v[m:]


def _empty_events() -> EventTable:
    return EventTable(
        {
            **{k: np.empty(0) for k in ("tca_ns", "miss_km", "rel_speed_kms", "pc", "hbr_m")},
            "primary": np.empty(0, np.int32),
            "secondary": np.empty(0, np.int32),
            "rtn_km": np.empty((0, 3)),
            **{
                k: np.empty((0, 6))
                for k in ("primary_teme", "secondary_teme", "primary_itrf", "secondary_itrf")
            },
        },
        norad_ids=[],
        names=[],
        object_ids=[],
        hbr_sources=[],
        pc_method=PC_MAX_ISOTROPIC,
    )


def primary_first(cat: PreparedCatalog, found: np.ndarray) -> np.ndarray:
    """(i, j, tca_ns) rows with the primary first: the asset (or, all-vs-all, the lower NORAD id)."""
    arr = np.asarray(found, np.int64).reshape(-1, 3)
    i, j = arr[:, 0], arr[:, 1]
    ids = cat.norad_ids
    swap = cat.is_primary[j] & (~cat.is_primary[i] | (ids[j] < ids[i]))
    return np.stack([np.where(swap, j, i), np.where(swap, i, j), arr[:, 2]], axis=1)


def event_order(cat: PreparedCatalog, rows: np.ndarray) -> np.ndarray:
    """Order of primary-first rows in an event table: by TCA, then primary, then secondary id
    (stable: ties keep the order given)."""
    ids = cat.norad_ids
    return np.lexsort((ids[rows[:, 1]], ids[rows[:, 0]], rows[:, 2]))


def object_hbr(
    cat: PreparedCatalog, hbr_m: Mapping[int, tuple[float, str]] | None, objects: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """Hard-body radius [m] and its source for catalog objects (all of them when None)."""
    ids = cat.norad_ids if objects is None else cat.norad_ids[objects]
    got = [(hbr_m or {}).get(n, (DEFAULT_HBR_M, "default")) for n in ids.tolist()]
    return np.array([h for h, _ in got], float), [src for _, src in got]


def event_columns(
    cat: PreparedCatalog, rows: np.ndarray, radius_m: np.ndarray, sats: dict[int, Any] | None = None
) -> dict[str, np.ndarray]:
    """Every event column but `primary` and `secondary` for primary-first rows, in their order;
    `radius_m` is the hard-body radius of each catalog object; `sats` the SGP4 records made so
    far, by catalog index (added to: a worker keeps them from one time block to the next).

    Each row is computed on its own (SGP4 per object and time, frames per time, Pc per event),
    so rows computed in time partitions equal, bit for bit, the same rows computed together."""
    n = len(rows)
    cols: dict[str, np.ndarray] = {
        "tca_ns": rows[:, 2].copy(),
        "miss_km": np.empty(n),
        "rel_speed_kms": np.empty(n),
        "rtn_km": np.empty((n, 3)),
        "primary_teme": np.empty((n, 6)),
        "secondary_teme": np.empty((n, 6)),
        "primary_itrf": np.empty((n, 6)),
        "secondary_itrf": np.empty((n, 6)),
        "pc": np.empty(n),
        "hbr_m": radius_m[rows[:, 0]] + radius_m[rows[:, 1]],
    }
    sats = {} if sats is None else sats
    for s in range(0, n, BUILD_BATCH):  # the temporaries of one batch at a time
        batch = slice(s, min(s + BUILD_BATCH, n))
        r1, v1, r2, v2 = _states_at(cat, sats, rows[batch])
        times = rows[batch, 2].astype("datetime64[ns]")
        i1, iv1 = teme_to_itrf(r1[None], v1[None], times)
        i2, iv2 = teme_to_itrf(r2[None], v2[None], times)
        rel = r2 - r1
        cols["miss_km"][batch] = np.linalg.norm(rel, axis=1)
        cols["rel_speed_kms"][batch] = np.linalg.norm(v2 - v1, axis=1)
        cols["rtn_km"][batch] = to_rtn(r1, v1, rel)
        cols["primary_teme"][batch] = np.hstack([r1, v1])
        cols["secondary_teme"][batch] = np.hstack([r2, v2])
        cols["primary_itrf"][batch] = np.hstack([i1[0], iv1[0]])
        cols["secondary_itrf"][batch] = np.hstack([i2[0], iv2[0]])
        cols["pc"][batch] = pc_max_isotropic(cols["miss_km"][batch], cols["hbr_m"][batch] / 1000.0)[0]
    return cols


def event_table(
    cat: PreparedCatalog,
    rows: np.ndarray,
    cols: dict[str, np.ndarray],
    hbr_m: Mapping[int, tuple[float, str]] | None,
) -> EventTable:
    """The event table of primary-first rows in event order and their :func:`event_columns`."""
    if not len(rows):
        return _empty_events()
    objects = np.unique(rows[:, :2])
    cols["primary"] = np.searchsorted(objects, rows[:, 0]).astype(np.int32)
    cols["secondary"] = np.searchsorted(objects, rows[:, 1]).astype(np.int32)
    _radius, sources = object_hbr(cat, hbr_m, objects)
    sets = [cat.sets[x] for x in objects.tolist()]
    return EventTable(
        cols,
        norad_ids=cat.norad_ids[objects].tolist(),
        names=[e.object_name or "" for e in sets],
        object_ids=[e.object_id or "" for e in sets],
        hbr_sources=sources,
        pc_method=PC_MAX_ISOTROPIC,
    )


def build_events(
    cat: PreparedCatalog,
    found: Sequence[tuple[int, int, int]] | np.ndarray,
    hbr_m: Mapping[int, tuple[float, str]] | None = None,
) -> EventTable:
    """Events with RTN components, TEME and ITRF states, and TLE-only maximum Pc, as columns
    (one ConjunctionEvent is made when it is read)."""
    rows = primary_first(cat, np.asarray(found, np.int64))
    if not len(rows):
        return _empty_events()
    rows = rows[event_order(cat, rows)]
    objects = np.unique(rows[:, :2])
    radius_m = np.zeros(len(cat.norad_ids))
    radius_m[objects] = object_hbr(cat, hbr_m, objects)[0]
    return event_table(cat, rows, event_columns(cat, rows, radius_m), hbr_m)


def merge_events(
    cat: PreparedCatalog,
    parts: Sequence[tuple[np.ndarray, dict[str, np.ndarray]]],
    hbr_m: Mapping[int, tuple[float, str]] | None = None,
) -> EventTable:
    """One event table from partitions given as (found rows, :func:`event_columns` of those rows
    primary first, row for row): the rows :func:`merge_found` keeps, in event order, exactly the
    table :func:`build_events` makes of the merged rows. Each partition's columns are read once
    into the table and may be freed after (a part's columns dict is emptied)."""
    merged, source = merge_found_rows([p[0] for p in parts])
    if not len(merged):
        return _empty_events()
    rows = primary_first(cat, merged)
    order = event_order(cat, rows)
    rows, source = rows[order], source[order]
    n = len(rows)
    cols: dict[str, np.ndarray] = {}
    start = 0
    for found, part_cols in parts:
        stop = start + len(found)
        at = np.flatnonzero((source >= start) & (source < stop))
        pick = source[at] - start
        for name in list(part_cols):
            col = part_cols.pop(name)
            if name not in cols:
                cols[name] = np.empty((n,) + col.shape[1:], col.dtype)
            cols[name][at] = col[pick]
        start = stop
    return event_table(cat, rows, cols, hbr_m)


def screen_partition(
    cat: PreparedCatalog,
    grid_ns: np.ndarray,
    start_ns: int,
    stop_ns: int,
    step_s: float,
    volume: ScreeningVolume,
    progress: Callable[[int], None] | None = None,
    sats: dict[int, Any] | None = None,
) -> tuple[np.ndarray, dict[int, tuple[int, int]], int]:
    """One time partition of the grid: refined (i, j, tca_ns) inside the volume as (n, 3) int64
    rows (24 bytes an event, where a list of tuples took ~150), SGP4 errors, number of
    candidates. Pure; partitions combine with :func:`merge_found`. `sats`: SGP4 records by
    catalog index kept between calls."""
    sats = {} if sats is None else sats
    ci, cj, ct, errors = find_candidates(
        cat, grid_ns, start_ns, stop_ns, step_s, volume.bound_km, sats=sats, progress=progress
    )
    found = refine_events(cat, ci, cj, ct, step_s, start_ns, stop_ns, volume, sats)
    return np.asarray(found, np.int64).reshape(-1, 3), errors, len(ci)


def merge_found(parts: Iterable[Sequence[tuple[int, int, int]] | np.ndarray]) -> np.ndarray:
    """Union of partitions as (n, 3) rows (i, j, tca_ns) sorted; one encounter found near a
    partition edge twice (TCAs of one pair less than 1 s apart) is kept once, the earlier."""
    return merge_found_rows(parts)[0]


def merge_found_rows(
    parts: Iterable[Sequence[tuple[int, int, int]] | np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`merge_found`'s rows and, for each, its index in the partitions' rows laid end to
    end (a row found in two partitions: the first of them)."""
    blocks = [np.asarray(p, np.int64).reshape(-1, 3) for p in parts]
    allf = np.concatenate(blocks) if blocks else np.empty((0, 3), np.int64)
    # a stable sort, so that the index of a row found twice is its first
    allf, source = np.unique(allf, axis=0, return_index=True)
    if len(allf) < 2:
        return allf, source
    same_pair = (allf[1:, 0] == allf[:-1, 0]) & (allf[1:, 1] == allf[:-1, 1])
    close = np.zeros(len(allf), bool)
    close[1:] = same_pair & (allf[1:, 2] - allf[:-1, 2] < NS)
    if not close.any():
        return allf, source
    # a run of TCAs each within 1 s of the one before is decided in order: one is dropped
    # when it is within 1 s of the last one kept (rare: only near partition edges)
    keep = np.ones(len(allf), bool)
    last = 0
    for k in np.flatnonzero(close).tolist():
        last = k - 1 if keep[k - 1] else last
        if allf[k, 2] - allf[last, 2] < NS:
            keep[k] = False
    return allf[keep], source[keep]


def setup_run(
    element_sets: Sequence[ElementSet],
    start_utc: object,
    stop_utc: object,
    primaries: Iterable[int] | None,
    volume: ScreeningVolume | None,
    threshold_km: float | None,
    step_s: float,
    stale_days: float,
) -> tuple[PreparedCatalog, ScreeningVolume, int, int, np.ndarray]:
    """What every way of running a screening shares: the volume, the prepared catalog, the window
    in integer nanoseconds and the coarse grid."""
    if volume is None:
        volume = ScreeningVolume.sphere(10.0 if threshold_km is None else threshold_km)
    cat = prepare(
        element_sets, start_utc, primaries=primaries, threshold_km=volume.bound_km, stale_days=stale_days
    )
    start_ns = int(as_datetime64(start_utc)[0].astype("int64"))
    stop_ns = int(as_datetime64(stop_utc)[0].astype("int64"))
    return cat, volume, start_ns, stop_ns, grid_steps(start_utc, stop_utc, step_s)


def screen(
    element_sets: Sequence[ElementSet],
    start_utc: object,
    stop_utc: object,
    *,
    primaries: Iterable[int] | None = None,
    threshold_km: float | None = None,
    volume: ScreeningVolume | None = None,
    step_s: float = DEFAULT_STEP_S,
    stale_days: float = 14.0,
    hbr_m: Mapping[int, tuple[float, str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScreeningResult:
    """Screen `primaries` (None: all-vs-all) against every element set from start to stop.

    `progress(done_steps, total_steps)` is called as the grid is swept."""
    cat, volume, start_ns, stop_ns, grid = setup_run(
        element_sets, start_utc, stop_utc, primaries, volume, threshold_km, step_s, stale_days
    )
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(grid))

    found, errors, n_cand = screen_partition(cat, grid, start_ns, stop_ns, step_s, volume, tick)
    return finish(
        cat, merge_found([found]), errors, n_cand, start_ns, stop_ns, volume, step_s, len(grid), hbr_m
    )


def _error_text(code: int) -> str:
    if code == IMPOSSIBLE_STATE:
        return "SGP4 state physically impossible (beyond escape speed or far above the element set's apogee)"
    return SGP4_ERRORS.get(code, f"SGP4 error {code}")


def finish(
    cat: PreparedCatalog,
    found,
    errors,
    n_cand,
    start_ns,
    stop_ns,
    volume,
    step_s,
    n_steps,
    hbr_m,
    events: EventTable | None = None,
) -> ScreeningResult:
    """The result of merged rows `found` (their events built here unless `events` holds them)."""
    problems = list(cat.problems)
    for i, (code, nbad) in sorted(errors.items()):
        problems.append(
            ObjectProblem(
                int(cat.norad_ids[i]),
                "sgp4",
                f"{_error_text(code)} at {nbad} of {n_steps} grid steps (not screened there)",
            )
        )
    return ScreeningResult(
        events=build_events(cat, found, hbr_m) if events is None else events,
        problems=problems,
        start_utc=np.datetime64(start_ns, "ns"),
        stop_utc=np.datetime64(stop_ns, "ns"),
        volume=volume,
        step_s=step_s,
        n_objects=len(cat.sets),
        n_primaries=int(cat.is_primary.sum()),
        n_candidates=n_cand,
        stats={"grid_steps": float(n_steps)},
    )
