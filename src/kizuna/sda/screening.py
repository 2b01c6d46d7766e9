"""Conjunction screening: all-vs-all or assets-vs-catalog, with sub-second TCA.

The classic filter chain (Hoots, Crawford & Roehrich 1984, "An analytic method to determine
future close approaches between satellites", Celest. Mech. 33; Alarcon-Rodriguez et al. 2004
for the grid/KD-tree variant):

1. apogee/perigee band filter: two orbits whose altitude bands, widened by a pad, do not
   overlap cannot come closer than the gap;
2. SGP4 on a coarse time grid; at every step a KD-tree (scipy cKDTree) gives the pairs closer
   than the threshold plus the farthest the pair can close during half a step;
3. per pair and step, a radial filter (two objects whose geocentric radii stay further apart
   than the threshold over the step cannot meet; see :func:`radial_reach_km`), the band
   filter again, and the linear closest approach inside the step's interval screen the
   candidate again;
4. TCA refinement: Brent's method on the range-rate (r_rel . v_rel = 0) with SGP4 states of
   the two objects at arbitrary times (sgp4 Satrec), to well under a millisecond.

Everything here is pure (no I/O); time partitions of the grid are independent, which is what
the Dask scale-out (:mod:`kizuna.sda.scaleout`) maps over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

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
from kizuna.sda.records import ConjunctionEvent, ObjectProblem, ScreeningResult, ScreeningVolume

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
#: cubic Hermite midpoint error bound: KNOT_ERR_FACTOR * r_p (w_p h)^4 / 384 + a floor, with r_p,
#: w_p the perigee radius and angular rate. r (w h)^4 / 384 is the midpoint error for uniform
#: circular motion; the factor 2 and the floors (drag, and for deep-space orbits SDP4's resonance
#: integrator steps and lunar-solar terms, make the states slightly non-smooth: TESS was 0.047 km
#: off at 1920 s knots) bound every object of the 2022 full catalog, a week into the window
#: (tests/test_sda_knots.py measures it against SGP4)
KNOT_ERR_FACTOR = 2.0
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
    perigee_km: np.ndarray, ecc: np.ndarray, mean_motion_revday: np.ndarray, knot_s: float
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
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, tuple[int, int]]]:
    """Pairs (i, j) and estimated TCAs [ns] whose linear closest approach inside a grid
    step's interval falls below the threshold plus a margin. Returns (i, j, t_ns, sgp4_errors)."""
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
    # by at most KNOT_TOL_KM (Hermite between knots), on both objects of a pair.
    margin_km = 1.0 + 0.1 * threshold_km + 2 * KNOT_TOL_KM
    # Objects grouped by knot spacing, each group contiguous (the sweep sees them in this order;
    # its pairs are mapped back to catalog indices): SGP4 runs on each group's knots, aligned
    # to the window start so that time partitions see the same knots, and the grid steps in
    # between come from cubic Hermite interpolation of the knot positions and velocities.
    spacing_s = knot_spacing_s(cat)
    order = np.argsort(spacing_s, kind="stable")
    spacing_s = spacing_s[order]
    bounds = np.flatnonzero(np.diff(spacing_s)) + 1
    groups = [
        (int(g[0]), int(g[-1]) + 1, int(round(spacing_s[g[0]] * NS))) for g in np.split(np.arange(n), bounds)
    ]
    sat_arrays = [
        SatrecArray([satrec_from_element_set(cat.sets[x]) for x in order[g0:g1]]) for g0, g1, _ in groups
    ]
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
    """TCA [ns] as the root of d/dt |r2 - r1|^2 / 2 = dr . dv near the estimate (Brent), or
    None when the range has no local minimum there (the closest point is at the window edge)."""

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
    return t_est_ns + int(round(t * NS))


def refine_events(
    cat: PreparedCatalog,
    cand_i: np.ndarray,
    cand_j: np.ndarray,
    cand_t: np.ndarray,
    step_s: float,
    start_ns: int,
    stop_ns: int,
    volume: ScreeningVolume,
) -> list[tuple[int, int, int]]:
    """Refine every candidate; return (i, j, tca_ns) of those inside the volume, one per encounter."""
    sats: dict[int, object] = {}
    found: dict[tuple[int, int], list[int]] = {}
    order = np.lexsort((cand_t, cand_j, cand_i))
    for n in order:
        i, j, t = int(cand_i[n]), int(cand_j[n]), int(cand_t[n])
        seen = found.setdefault((i, j), [])
        if any(abs(t - s) < step_s * NS / 4 for s in seen if s >= 0):
            continue  # the same encounter, already refined
        for x in (i, j):
            if x not in sats:
                sats[x] = satrec_from_element_set(cat.sets[x])
        try:
            tca = refine_tca(sats[i], sats[j], t, step_s, start_ns, stop_ns)
        except ValueError:
            continue
        if tca is None or any(abs(tca - s) < NS for s in seen):
            continue
        seen.append(tca)
    out = [(i, j, t) for (i, j), ts in found.items() for t in ts]
    if not out:
        return []
    # volume test at TCA
    arr = np.array(out, dtype="int64")
    r1, v1, r2, v2 = _states_at(cat, sats, arr)
    rel = r2 - r1
    miss = np.linalg.norm(rel, axis=1)
    rtn = to_rtn(r1, v1, rel)
    inside = volume.contains(rtn, miss)
    return [tuple(x) for x in arr[inside].tolist()]


def _states_at(cat, sats, arr):
    """SGP4 TEME states of both objects of each (i, j, t_ns) row: one vectorized sgp4_array
    call per object over all its times, with the same (jd, fraction) split as :func:`_state`."""
    obj = np.concatenate([arr[:, 0], arr[:, 1]])
    t = np.concatenate([arr[:, 2], arr[:, 2]])
    days, rem = np.divmod(t, 86_400 * NS)
    jd = 2440587.5 + days.astype(float)
    fr = rem / (86_400 * NS)
    r = np.empty((len(obj), 3))
    v = np.empty_like(r)
    order = np.argsort(obj, kind="stable")
    bounds = np.flatnonzero(np.diff(obj[order])) + 1
    for grp in np.split(order, bounds):
        x = int(obj[grp[0]])
        if x not in sats:
            sats[x] = satrec_from_element_set(cat.sets[x])
        _e, r[grp], v[grp] = sats[x].sgp4_array(jd[grp], fr[grp])
    m = len(arr)
    return r[:m], v[:m], r[m:], v[m:]


def build_events(
    cat: PreparedCatalog,
    found: Sequence[tuple[int, int, int]],
    hbr_m: Mapping[int, tuple[float, str]] | None = None,
) -> list[ConjunctionEvent]:
    """Events with RTN components, TEME and ITRF states, and TLE-only maximum Pc."""
    if not found:
        return []
    # primary first: the asset (or, all-vs-all, the lower NORAD id)
    rows = []
    for i, j, t in found:
        if cat.is_primary[j] and (not cat.is_primary[i] or cat.norad_ids[j] < cat.norad_ids[i]):
            i, j = j, i
        rows.append((i, j, t))
    rows.sort(key=lambda x: (x[2], int(cat.norad_ids[x[0]]), int(cat.norad_ids[x[1]])))
    arr = np.array(rows, dtype="int64")
    r1, v1, r2, v2 = _states_at(cat, {}, arr)
    times = arr[:, 2].astype("datetime64[ns]")
    i1, iv1 = teme_to_itrf(r1[None], v1[None], times)
    i2, iv2 = teme_to_itrf(r2[None], v2[None], times)
    rel = r2 - r1
    miss = np.linalg.norm(rel, axis=1)
    speed = np.linalg.norm(v2 - v1, axis=1)
    rtn = to_rtn(r1, v1, rel)
    hbr_m = hbr_m or {}
    hbrs = [
        (
            hbr_m.get(int(cat.norad_ids[i]), (DEFAULT_HBR_M, "default")),
            hbr_m.get(int(cat.norad_ids[j]), (DEFAULT_HBR_M, "default")),
        )
        for i, j, _ in rows
    ]
    pcs, _ = pc_max_isotropic(miss, np.array([(a[0] + b[0]) / 1000.0 for a, b in hbrs]))
    # six-element states as lists in one call each (per-row np.r_ cost more than the events)
    teme1 = np.hstack([r1, v1]).tolist()
    teme2 = np.hstack([r2, v2]).tolist()
    itrf1 = np.hstack([i1[0], iv1[0]]).tolist()
    itrf2 = np.hstack([i2[0], iv2[0]]).tolist()
    events = []
    for n, (i, j, t) in enumerate(rows):
        a, b = int(cat.norad_ids[i]), int(cat.norad_ids[j])
        (ha, sa), (hb, sb) = hbrs[n]
        pc = float(pcs[n])
        events.append(
            ConjunctionEvent(
                primary=a,
                secondary=b,
                tca_utc=np.datetime64(int(t), "ns"),
                miss_km=float(miss[n]),
                rel_speed_kms=float(speed[n]),
                radial_km=float(rtn[n, 0]),
                intrack_km=float(rtn[n, 1]),
                crosstrack_km=float(rtn[n, 2]),
                primary_teme=tuple(teme1[n]),
                secondary_teme=tuple(teme2[n]),
                primary_itrf=tuple(itrf1[n]),
                secondary_itrf=tuple(itrf2[n]),
                pc=pc,
                pc_method=PC_MAX_ISOTROPIC,
                hbr_m=ha + hb,
                hbr_source=f"{sa}+{sb}",
                primary_name=cat.sets[i].object_name or "",
                secondary_name=cat.sets[j].object_name or "",
                primary_object_id=cat.sets[i].object_id or "",
                secondary_object_id=cat.sets[j].object_id or "",
            )
        )
    return events


def screen_partition(
    cat: PreparedCatalog,
    grid_ns: np.ndarray,
    start_ns: int,
    stop_ns: int,
    step_s: float,
    volume: ScreeningVolume,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[tuple[int, int, int]], dict[int, tuple[int, int]], int]:
    """One time partition of the grid: refined (i, j, tca_ns) inside the volume, SGP4 errors,
    number of candidates. Pure; partitions combine with :func:`merge_found`."""
    ci, cj, ct, errors = find_candidates(
        cat, grid_ns, start_ns, stop_ns, step_s, volume.bound_km, progress=progress
    )
    return refine_events(cat, ci, cj, ct, step_s, start_ns, stop_ns, volume), errors, len(ci)


def merge_found(parts: Iterable[Sequence[tuple[int, int, int]]]) -> list[tuple[int, int, int]]:
    """Union of partitions; one encounter found near a partition edge twice is kept once."""
    allf = sorted({x for p in parts for x in p})
    out: list[tuple[int, int, int]] = []
    last: dict[tuple[int, int], int] = {}
    for i, j, t in allf:
        if (i, j) in last and t - last[(i, j)] < NS:
            continue
        last[(i, j)] = t
        out.append((i, j, t))
    return out


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
) -> ScreeningResult:
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
        events=build_events(cat, found, hbr_m),
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
