"""Revisit statistics from access windows, per target and aggregated per area.

Definitions (stated in every output as `gap_definition`):
- accesses of all satellites to one target are merged (overlapping windows count once);
- a gap is the time from the END of one access to the START of the next (Wertz, "Mission Geometry;
  Orbit and Constellation Design and Management" (2001), sec. 10.2: coverage gaps), interior gaps
  only, so mean/median/p95/p99/max gap say nothing about the period edges;
- time to first access: period start to the first access start (0 if it starts in access);
- mean wait (mean response time): the wait for a request arriving at a uniformly random time,
  averaged over the period = sum(g^2) / (2 T) over all gaps including the edge ones (a request
  in access waits 0; a request after the last access waits until the period end, a lower bound);
- time-average gap (Wertz): sum(g^2) / sum(g), the gap length seen by a random instant in a gap;
- coverage over time: fraction of the period in access; over area: area-weighted fraction of a
  polygon's points with at least one access; accesses/day: merged accesses per day.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from kizuna.eo.access import AccessWindows, Targets

GAP_DEFINITION = (
    "gap = end of one access to start of the next (accesses of all satellites merged); "
    "interior gaps only for mean/median/p95/p99/max; mean_wait = sum(g^2)/(2T) with edge gaps"
)


@dataclass(frozen=True)
class RevisitStats:
    name: str
    accesses: int
    accesses_per_day: float
    mean_revisit_s: float
    median_revisit_s: float
    p95_gap_s: float
    p99_gap_s: float
    max_gap_s: float
    time_average_gap_s: float
    mean_wait_s: float
    time_to_first_access_s: float
    coverage_time_pct: float
    coverage_area_pct: float = 100.0
    points: int = 1

    def as_dict(self) -> dict[str, object]:
        # JSON has no NaN: a statistic that does not exist (no gap yet) is null.
        return {
            k: ((round(v, 3) if math.isfinite(v) else None) if isinstance(v, float) else v)
            for k, v in asdict(self).items()
        }


def merge_intervals(start_s: np.ndarray, stop_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals (sorted output)."""
    if len(start_s) == 0:
        return start_s, stop_s
    o = np.argsort(start_s, kind="stable")
    s, e = start_s[o], stop_s[o]
    run_end = np.maximum.accumulate(e)
    new = np.r_[True, s[1:] > run_end[:-1]]
    idx = np.flatnonzero(new)
    return s[idx], np.maximum.reduceat(e, idx)


def interval_stats(name: str, start_s: np.ndarray, stop_s: np.ndarray, period_s: float) -> RevisitStats:
    s, e = merge_intervals(np.clip(start_s, 0, period_s), np.clip(stop_s, 0, period_s))
    nan = float("nan")
    if len(s) == 0:
        return RevisitStats(name, 0, 0.0, nan, nan, nan, nan, nan, period_s, period_s / 2, nan, 0.0)
    gaps = s[1:] - e[:-1]
    edges = np.r_[s[0], gaps, period_s - e[-1]]
    edges = edges[edges > 0]
    days = period_s / 86400.0

    def pct(p: float) -> float:
        return float(np.percentile(gaps, p)) if len(gaps) else nan

    return RevisitStats(
        name=name,
        accesses=len(s),
        accesses_per_day=len(s) / days,
        mean_revisit_s=float(gaps.mean()) if len(gaps) else nan,
        median_revisit_s=float(np.median(gaps)) if len(gaps) else nan,
        p95_gap_s=pct(95),
        p99_gap_s=pct(99),
        max_gap_s=float(gaps.max()) if len(gaps) else nan,
        time_average_gap_s=float((edges**2).sum() / edges.sum()) if len(edges) else 0.0,
        mean_wait_s=float((edges**2).sum() / (2 * period_s)),
        time_to_first_access_s=float(s[0]),
        coverage_time_pct=float(100 * (e - s).sum() / period_s),
    )


def _seconds(access: AccessWindows) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = access.period_start_utc
    period = (access.period_stop_utc - t0).astype("int64") / 1e9
    return (
        (access.start_utc - t0).astype("int64") / 1e9,
        (access.stop_utc - t0).astype("int64") / 1e9,
        float(period),
    )


def _grouped_percentile(values: np.ndarray, first: np.ndarray, count: np.ndarray, pct: float) -> np.ndarray:
    """np.percentile (linear) of each group of a group-sorted array, NaN for empty groups."""
    out = np.full(len(count), np.nan)
    has = count > 0
    pos = pct / 100.0 * (count[has] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, count[has] - 1)
    frac = pos - lo
    v_lo, v_hi = values[first[has] + lo], values[first[has] + hi]
    out[has] = v_lo + frac * (v_hi - v_lo)
    return out


def per_target(access: AccessWindows, targets: Targets) -> list[RevisitStats]:
    """`interval_stats` for every target at once (grouped numpy, no per-target loop)."""
    st, sp, period = _seconds(access)
    m = len(targets)
    st, sp = np.clip(st, 0, period), np.clip(sp, 0, period)
    tgt = access.target_index.astype(np.int64)
    # Offsetting each target's times by its index makes one running maximum merge all targets at once.
    big = 2.0 * period + 1.0
    # A stable argsort of the offset start is the (target, start) order, several times faster than lexsort.
    s_off = st + tgt * big
    order = np.argsort(s_off, kind="stable")
    s_off, e_off, tgt = s_off[order], sp[order] + tgt[order] * big, tgt[order]
    if len(s_off):
        run_end = np.maximum.accumulate(e_off)
        new = np.r_[True, s_off[1:] > run_end[:-1]]
        idx = np.flatnonzero(new)
        ms, me, mt = s_off[idx], np.maximum.reduceat(e_off, idx), tgt[idx]
        ms, me = ms - mt * big, me - mt * big
    else:
        ms = me = np.zeros(0)
        mt = np.zeros(0, np.int64)
    n_acc = np.bincount(mt, minlength=m)
    first_i = np.r_[0, np.cumsum(n_acc)[:-1]]
    same = mt[1:] == mt[:-1]
    gaps, gap_t = (ms[1:] - me[:-1])[same], mt[1:][same]
    n_gap = np.bincount(gap_t, minlength=m)
    g_order = np.lexsort((gaps, gap_t))
    g_sorted = gaps[g_order]
    g_first = np.r_[0, np.cumsum(n_gap)[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.bincount(gap_t, gaps, minlength=m) / n_gap
        has = n_acc > 0
        first_start = np.where(has, ms[np.minimum(first_i, max(len(ms) - 1, 0))] if len(ms) else 0.0, np.nan)
        last_end = np.where(
            has, me[np.minimum(first_i + n_acc - 1, max(len(me) - 1, 0))] if len(me) else 0.0, np.nan
        )
        lead = np.where(has, first_start, period)
        trail = np.where(has, period - last_end, 0.0)
        sq = np.bincount(gap_t, gaps**2, minlength=m) + lead**2 + trail**2
        tot = np.bincount(gap_t, gaps, minlength=m) + lead + trail
        tag = np.where(tot > 0, sq / np.where(tot > 0, tot, 1), 0.0)
        covered = np.bincount(mt, me - ms, minlength=m)
    med = _grouped_percentile(g_sorted, g_first, n_gap, 50)
    p95 = _grouped_percentile(g_sorted, g_first, n_gap, 95)
    p99 = _grouped_percentile(g_sorted, g_first, n_gap, 99)
    mx = _grouped_percentile(g_sorted, g_first, n_gap, 100)
    days = period / 86400.0
    return [
        RevisitStats(
            name=str(targets.name[j]),
            accesses=int(n_acc[j]),
            accesses_per_day=float(n_acc[j] / days),
            mean_revisit_s=float(mean_gap[j]),
            median_revisit_s=float(med[j]),
            p95_gap_s=float(p95[j]),
            p99_gap_s=float(p99[j]),
            max_gap_s=float(mx[j]),
            time_average_gap_s=float(tag[j]),
            mean_wait_s=float(sq[j] / (2 * period)),
            time_to_first_access_s=float(first_start[j]),
            coverage_time_pct=float(100 * covered[j] / period),
        )
        for j in range(m)
    ]


def per_aoi(access: AccessWindows, targets: Targets) -> list[RevisitStats]:
    """One row per area: the area counts as accessed when any of its points is (so the revisit of
    "some part of the area"), with coverage_area_pct the area-weighted share of points ever seen."""
    st, sp, period = _seconds(access)
    rows = []
    for aoi in dict.fromkeys(targets.aoi.tolist()):
        pts = np.flatnonzero(targets.aoi == aoi)
        m = np.isin(access.target_index, pts)
        stats = interval_stats(aoi, st[m], sp[m], period)
        seen = np.isin(pts, access.target_index[m])
        w = targets.weight[pts] if targets.weight is not None else np.ones(len(pts))
        w = np.where(w > 0, w, 1.0)
        area_pct = float(100 * w[seen].sum() / w.sum())
        rows.append(RevisitStats(**{**asdict(stats), "coverage_area_pct": area_pct, "points": len(pts)}))
    return rows


def aggregate(stats: list[RevisitStats], name: str = "all targets") -> RevisitStats:
    """Mean over targets of each statistic (max for max gap, time-to-first and share of targets seen)."""

    def m(field: str) -> float:
        v = np.array([getattr(s, field) for s in stats], float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    seen = np.mean([s.accesses > 0 for s in stats]) * 100 if stats else 0.0
    mx = np.array([s.max_gap_s for s in stats], float)
    return RevisitStats(
        name=name,
        accesses=int(sum(s.accesses for s in stats)),
        accesses_per_day=m("accesses_per_day"),
        mean_revisit_s=m("mean_revisit_s"),
        median_revisit_s=m("median_revisit_s"),
        p95_gap_s=m("p95_gap_s"),
        p99_gap_s=m("p99_gap_s"),
        max_gap_s=float(np.nanmax(mx)) if np.isfinite(mx).any() else float("nan"),
        time_average_gap_s=m("time_average_gap_s"),
        mean_wait_s=m("mean_wait_s"),
        time_to_first_access_s=m("time_to_first_access_s"),
        coverage_time_pct=m("coverage_time_pct"),
        coverage_area_pct=float(seen),
        points=len(stats),
    )
