"""Revisit statistics and figures of merit from access windows, per target, per area and area-wide.

Definitions (a `RevisitDefinition` holds the settings; its `describe()` goes with every output):
- an access is one satellite's window on one target; accesses shorter than `min_dwell_s` are
  dropped first (a window cut by the period edges counts with its clipped length). The accesses of
  all satellites to one target are then united (overlapping windows count once);
- a revisit is a run of accesses separated by less than `merge_gap_s` (overlapping and touching
  accesses always merge): a pass split in two by SAR's near-range exclusion, or two satellites
  passing a minute apart, is one revisit, not two revisits minutes apart;
- a revisit interval (gap) runs from the END of one revisit to the START of the next (Wertz,
  "Mission Geometry; Orbit and Constellation Design and Management" (2001), sec. 10.2: coverage
  gaps); mean/median/p95/p99 are over these interior intervals only;
- max gap: the longest stretch of the period without access, the period edges included (at least
  as long as every revisit interval; the whole period for a target never seen);
- mean response time (Wertz, "Space Mission Analysis and Design", 3rd ed., sec. 7.2.2): the wait
  from a request at a uniformly random time to the start of the next access, 0 in access, averaged
  over the period = sum(g^2) / (2 T) over every stretch without access g, edges included; a request
  after the last access counts as waiting until the period end, so this is a lower bound;
- time-average gap (Wertz): sum(g^2) / sum(g), the length of the gap a random instant falls in;
- time to first access: period start to the first access start (0 if the period starts in access);
- fresh time: the share of the period in which the newest access ended less than `fresh_s` ago
  (age of information; 0 in access; no data before the first access counts as stale);
- coverage over time: share of the period in access; over area: area-weighted share of a polygon's
  points with at least one access.
A target with no access in the period is unseen: its revisit figures are null, it is counted in
every area-wide figure (as 0 coverage and freshness, a period-long gap, a response time of at least
half the period) and in `unseen_points`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from kizuna.errors import KizunaError

if TYPE_CHECKING:  # at run time only their attributes are used: no scipy for the CLI's defaults
    from kizuna.eo.access import AccessWindows, Targets

DEFAULT_MERGE_GAP_S = 300.0
DEFAULT_FRESH_S = 3600.0


class RevisitError(KizunaError, ValueError):
    """A revisit setting is impossible (negative or not finite)."""


@dataclass(frozen=True)
class RevisitDefinition:
    """How accesses become revisits, and the freshness horizon of the age-of-information figure."""

    merge_gap_s: float = DEFAULT_MERGE_GAP_S
    min_dwell_s: float = 0.0
    fresh_s: float = DEFAULT_FRESH_S

    def __post_init__(self) -> None:
        for name in ("merge_gap_s", "min_dwell_s", "fresh_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise RevisitError(f"{name} {value}: must be a finite number >= 0")
        if self.fresh_s == 0:
            raise RevisitError("fresh_s 0: the freshness horizon must be positive")

    def usable(self, access: AccessWindows) -> AccessWindows:
        """The accesses every statistic is computed from: those lasting at least `min_dwell_s`."""
        if self.min_dwell_s <= 0:
            return access
        return access.select(access.duration_s >= self.min_dwell_s)

    def as_dict(self) -> dict[str, float]:
        return {
            "merge_gap_s": self.merge_gap_s,
            "min_dwell_s": self.min_dwell_s,
            "fresh_min": self.fresh_s / 60.0,
        }

    def describe(self, *, with_freshness: bool = True) -> str:
        text = (
            f"revisit = accesses less than {self.merge_gap_s:g} s apart merged "
            f"(accesses shorter than {self.min_dwell_s:g} s dropped); "
            "gap = end of one revisit to start of the next, interior gaps for mean/median/p95/p99, "
            "period edges included in max gap; mean response time = sum(g^2)/(2T) (lower bound)"
        )
        if with_freshness:
            text += f"; fresh = newest access less than {self.fresh_s / 60:g} min old"
        return text


GAP_DEFINITION = RevisitDefinition().describe()


@dataclass(frozen=True)
class RevisitStats:
    name: str
    accesses: int  # access windows (satellite x target), after the minimum dwell
    revisits: int
    revisits_per_day: float
    mean_revisit_s: float
    median_revisit_s: float
    p95_gap_s: float
    p99_gap_s: float
    max_gap_s: float
    time_average_gap_s: float
    mean_response_time_s: float
    time_to_first_access_s: float
    coverage_time_pct: float
    fresh_time_pct: float
    coverage_area_pct: float
    points: int = 1
    unseen_points: int = 0

    @property
    def seen(self) -> bool:
        return self.revisits > 0

    def as_dict(self) -> dict[str, object]:
        # JSON has no NaN: a statistic that does not exist (no gap yet) is null.
        out: dict[str, object] = {
            k: ((round(v, 3) if math.isfinite(v) else None) if isinstance(v, float) else v)
            for k, v in asdict(self).items()
        }
        out["seen"] = self.seen
        return out


def merge_intervals(start_s: np.ndarray, stop_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of intervals (sorted output; touching intervals merge)."""
    if len(start_s) == 0:
        return start_s, stop_s
    o = np.argsort(start_s, kind="stable")
    s, e = start_s[o], stop_s[o]
    run_end = np.maximum.accumulate(e)
    new = np.r_[True, s[1:] > run_end[:-1]]
    idx = np.flatnonzero(new)
    return s[idx], np.maximum.reduceat(e, idx)


def revisit_number(access: AccessWindows, definition: RevisitDefinition | None = None) -> np.ndarray:
    """For each access window, the 1-based number of the revisit of its target it belongs to (time
    order), so a listing shows which windows count as one revisit. Every given window is numbered:
    apply `definition.usable` first to leave out the short ones."""
    d = definition or RevisitDefinition()
    st, sp, period = _seconds(access)
    out = np.zeros(len(st), np.int64)
    if not len(st):
        return out
    st, sp = np.clip(st, 0, period), np.clip(sp, 0, period)
    tgt = access.target_index.astype(np.int64)
    # Offsetting each target's times by its index makes one running maximum serve every target.
    big = 2.0 * period + 1.0
    s_off = st + tgt * big
    order = np.argsort(s_off, kind="stable")
    s_off, e_off, t = s_off[order], sp[order] + tgt[order] * big, tgt[order]
    reach = np.maximum.accumulate(e_off)
    first = np.r_[True, t[1:] != t[:-1]]
    gap = np.r_[np.inf, s_off[1:] - reach[:-1]]
    number = np.cumsum(first | ((gap >= d.merge_gap_s) & (gap > 0)))
    seg = np.cumsum(first) - 1
    out[order] = number - number[first][seg] + 1
    return out


def interval_stats(
    name: str,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    period_s: float,
    definition: RevisitDefinition | None = None,
) -> RevisitStats:
    """The statistics of one target (or one area taken as a whole) from its access windows, in
    seconds from the period start. The plain definition; `per_target` computes it grouped."""
    d = definition or RevisitDefinition()
    start_s, stop_s = np.clip(start_s, 0, period_s), np.clip(stop_s, 0, period_s)
    kept = (stop_s > start_s) & (stop_s - start_s >= d.min_dwell_s)
    start_s, stop_s = start_s[kept], stop_s[kept]
    windows = len(start_s)
    s, e = merge_intervals(start_s, stop_s)
    nan = float("nan")
    days = period_s / 86400.0
    if len(s) == 0:
        return RevisitStats(
            name=name,
            accesses=0,
            revisits=0,
            revisits_per_day=0.0,
            mean_revisit_s=nan,
            median_revisit_s=nan,
            p95_gap_s=nan,
            p99_gap_s=nan,
            max_gap_s=period_s,
            time_average_gap_s=period_s,
            mean_response_time_s=period_s / 2,
            time_to_first_access_s=nan,
            coverage_time_pct=0.0,
            fresh_time_pct=0.0,
            coverage_area_pct=0.0,
            unseen_points=1,
        )
    gaps = s[1:] - e[:-1]
    between = gaps[gaps >= d.merge_gap_s]
    lead, trail = float(s[0]), float(period_s - e[-1])
    stretches = np.r_[lead, gaps, trail]
    stretches = stretches[stretches > 0]

    def pct(p: float) -> float:
        return float(np.percentile(between, p)) if len(between) else nan

    return RevisitStats(
        name=name,
        accesses=windows,
        revisits=1 + len(between),
        revisits_per_day=(1 + len(between)) / days,
        mean_revisit_s=float(between.mean()) if len(between) else nan,
        median_revisit_s=pct(50),
        p95_gap_s=pct(95),
        p99_gap_s=pct(99),
        max_gap_s=float(max(between.max(initial=0.0), lead, trail)),
        time_average_gap_s=float((stretches**2).sum() / stretches.sum()) if len(stretches) else 0.0,
        mean_response_time_s=float((stretches**2).sum() / (2 * period_s)),
        time_to_first_access_s=lead,
        coverage_time_pct=float(100 * (e - s).sum() / period_s),
        fresh_time_pct=float(
            100 * ((e - s).sum() + np.minimum(np.r_[gaps, trail], d.fresh_s).sum()) / period_s
        ),
        coverage_area_pct=100.0,
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


def per_target(
    access: AccessWindows, targets: Targets, definition: RevisitDefinition | None = None
) -> list[RevisitStats]:
    """`interval_stats` for every target at once (grouped numpy, no per-target loop); `access` is
    filtered by the definition's minimum dwell first."""
    d = definition or RevisitDefinition()
    access = d.usable(access)
    st, sp, period = _seconds(access)
    m = len(targets)
    st, sp = np.clip(st, 0, period), np.clip(sp, 0, period)
    tgt = access.target_index.astype(np.int64)
    n_win = np.bincount(tgt[sp > st], minlength=m)
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
    n_acc = np.bincount(mt, minlength=m)  # access union intervals per target
    first_i = np.r_[0, np.cumsum(n_acc)[:-1]]
    same = mt[1:] == mt[:-1]
    gaps, gap_t = (ms[1:] - me[:-1])[same], mt[1:][same]
    between = gaps >= d.merge_gap_s
    rg, rg_t = gaps[between], gap_t[between]
    n_gap = np.bincount(rg_t, minlength=m)
    has = n_acc > 0
    n_rev = np.where(has, n_gap + 1, 0)
    g_order = np.lexsort((rg, rg_t))
    g_sorted = rg[g_order]
    g_first = np.r_[0, np.cumsum(n_gap)[:-1]]
    last_i = np.minimum(first_i + n_acc - 1, max(len(me) - 1, 0))
    first_start = np.where(has, ms[np.minimum(first_i, max(len(ms) - 1, 0))] if len(ms) else 0.0, np.nan)
    last_end = np.where(has, me[last_i] if len(me) else 0.0, np.nan)
    lead = np.where(has, first_start, period)
    trail = np.where(has, period - last_end, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.bincount(rg_t, rg, minlength=m) / n_gap
    sq = np.bincount(gap_t, gaps**2, minlength=m) + lead**2 + trail**2
    tot = np.bincount(gap_t, gaps, minlength=m) + lead + trail
    tag = np.where(tot > 0, sq / np.where(tot > 0, tot, 1), 0.0)
    # float even with no access at all: numpy's bincount of nothing is integer, whatever the weights
    covered = np.bincount(mt, me - ms, minlength=m).astype(float)
    fresh = covered + np.bincount(gap_t, np.minimum(gaps, d.fresh_s), minlength=m)
    fresh += np.where(has, np.minimum(trail, d.fresh_s), 0.0)
    med = _grouped_percentile(g_sorted, g_first, n_gap, 50)
    p95 = _grouped_percentile(g_sorted, g_first, n_gap, 95)
    p99 = _grouped_percentile(g_sorted, g_first, n_gap, 99)
    mx = np.fmax(_grouped_percentile(g_sorted, g_first, n_gap, 100), np.maximum(lead, trail))
    days = period / 86400.0
    return [
        RevisitStats(
            name=str(targets.name[j]),
            accesses=int(n_win[j]),
            revisits=int(n_rev[j]),
            revisits_per_day=float(n_rev[j] / days),
            mean_revisit_s=float(mean_gap[j]),
            median_revisit_s=float(med[j]),
            p95_gap_s=float(p95[j]),
            p99_gap_s=float(p99[j]),
            max_gap_s=float(mx[j]),
            time_average_gap_s=float(tag[j]),
            mean_response_time_s=float(sq[j] / (2 * period)),
            time_to_first_access_s=float(first_start[j]),
            coverage_time_pct=float(100 * covered[j] / period),
            fresh_time_pct=float(100 * fresh[j] / period),
            coverage_area_pct=100.0 if has[j] else 0.0,
            unseen_points=0 if has[j] else 1,
        )
        for j in range(m)
    ]


def per_aoi(
    access: AccessWindows, targets: Targets, definition: RevisitDefinition | None = None
) -> list[RevisitStats]:
    """One row per area: the area counts as accessed when any of its points is (so the revisit of
    "some part of the area"), with coverage_area_pct the area-weighted share of points ever seen and
    unseen_points the points never seen."""
    d = definition or RevisitDefinition()
    access = d.usable(access)
    st, sp, period = _seconds(access)
    rows = []
    for aoi in dict.fromkeys(targets.aoi.tolist()):
        pts = np.flatnonzero(targets.aoi == aoi)
        m = np.isin(access.target_index, pts)
        stats = interval_stats(aoi, st[m], sp[m], period, d)
        seen = np.isin(pts, access.target_index[m])
        w = targets.weight[pts] if targets.weight is not None else np.ones(len(pts))
        w = np.where(w > 0, w, 1.0)
        area_pct = float(100 * w[seen].sum() / w.sum())
        rows.append(
            RevisitStats(
                **{
                    **asdict(stats),
                    "coverage_area_pct": area_pct,
                    "points": len(pts),
                    "unseen_points": int((~seen).sum()),
                }
            )
        )
    return rows


def aggregate(stats: list[RevisitStats], name: str = "all targets") -> RevisitStats:
    """Area-wide figures over per-target rows. Unseen targets count everywhere they have a value (0
    revisits, coverage and freshness; a period-long max gap; a response time of at least half the
    period); the revisit interval statistics and the time to first access, which an unseen target
    does not have, are means over the targets that have them, with `unseen_points` beside them."""

    def mean(field: str) -> float:
        v = np.array([getattr(s, field) for s in stats], float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

    mx = np.array([s.max_gap_s for s in stats], float)
    points = sum(s.points for s in stats)
    unseen = sum(s.unseen_points for s in stats)
    return RevisitStats(
        name=name,
        accesses=int(sum(s.accesses for s in stats)),
        revisits=int(sum(s.revisits for s in stats)),
        revisits_per_day=mean("revisits_per_day"),
        mean_revisit_s=mean("mean_revisit_s"),
        median_revisit_s=mean("median_revisit_s"),
        p95_gap_s=mean("p95_gap_s"),
        p99_gap_s=mean("p99_gap_s"),
        max_gap_s=float(np.nanmax(mx)) if np.isfinite(mx).any() else float("nan"),
        time_average_gap_s=mean("time_average_gap_s"),
        mean_response_time_s=mean("mean_response_time_s"),
        time_to_first_access_s=mean("time_to_first_access_s"),
        coverage_time_pct=mean("coverage_time_pct"),
        fresh_time_pct=mean("fresh_time_pct"),
        coverage_area_pct=float(100 * (points - unseen) / points) if points else 0.0,
        points=points,
        unseen_points=unseen,
    )
