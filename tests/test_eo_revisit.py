"""Revisit statistics and figures of merit (kizuna.eo.revisit): hand cases with the answer worked out
here, numeric references for the analytic figures (response time, fresh time), the grouped numpy
path against the plain definition, and never-seen targets."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from kizuna.eo.access import AccessWindows, Targets, compute_access
from kizuna.eo.constellation import walker
from kizuna.eo.revisit import (
    RevisitDefinition,
    RevisitError,
    aggregate,
    interval_stats,
    per_aoi,
    per_target,
    revisit_number,
)
from kizuna.eo.sensors import SarSensor
from kizuna.orbit import propagate

T0 = np.datetime64("2026-06-11T00:00:00", "ns")


def _windows(tgt: np.ndarray, st: np.ndarray, sp: np.ndarray, period_s: float) -> AccessWindows:
    def ns(x: np.ndarray) -> np.ndarray:
        return T0 + np.round(x * 1e9).astype(np.int64).astype("timedelta64[ns]")

    n = len(tgt)
    zeros = np.zeros(n)
    return AccessWindows(
        sat_index=np.zeros(n, np.int64),
        target_index=tgt,
        start_utc=ns(st),
        stop_utc=ns(sp),
        mid_utc=ns(0.5 * (st + sp)),
        incidence_deg=zeros,
        off_nadir_deg=zeros,
        slant_range_km=zeros,
        look_right=np.ones(n, bool),
        incidence_start_deg=zeros,
        incidence_stop_deg=zeros,
        ascending=np.ones(n, bool),
        sat_names=["s"],
        sat_norad=np.array([1]),
        period_start_utc=T0,
        period_stop_utc=T0 + np.timedelta64(int(period_s * 1e9), "ns"),
    )


def _targets(m: int) -> Targets:
    names = np.array([f"p{j}" for j in range(m)])
    return Targets(names, np.zeros(m), np.zeros(m), names)


def _numeric(st: np.ndarray, sp: np.ndarray, period_s: float, fresh_s: float) -> tuple[float, float]:
    """Mean wait to the next access start and the fresh share, by evaluating every instant of a
    1 ms grid (the references for the closed forms)."""
    t = np.arange(0.0, period_s, 1e-3) + 5e-4
    inside = ((t[:, None] >= st) & (t[:, None] <= sp)).any(axis=1)
    after = np.where(st[None, :] >= t[:, None], st[None, :], np.inf).min(axis=1)
    wait = np.where(inside, 0.0, np.minimum(after, period_s) - t)
    ended = np.where(sp[None, :] <= t[:, None], sp[None, :], -np.inf).max(axis=1)
    age = np.where(inside, 0.0, t - ended)
    return float(wait.mean()), float(100 * (age < fresh_s).mean())


def test_hand_case_merge_dwell_response_and_freshness():
    """Accesses [10, 30] (two overlapping windows), [100, 110], [150, 152] and [400, 430] in 600 s.

    Union: [10, 30], [100, 110], [150, 152], [400, 430]; gaps 70, 40, 248; edges 10 and 170.
    merge 50 s: [100, 110] and [150, 152] are one revisit -> 3 revisits, intervals 70 and 248.
    min dwell 5 s: [150, 152] dropped -> union [10, 30], [100, 110], [400, 430]; gaps 70, 290.
    """
    st = np.array([10.0, 15.0, 100.0, 150.0, 400.0])
    sp = np.array([20.0, 30.0, 110.0, 152.0, 430.0])
    s = interval_stats("x", st, sp, 600.0, RevisitDefinition(merge_gap_s=50.0, fresh_s=60.0))
    assert (s.accesses, s.revisits) == (5, 3)
    assert s.mean_revisit_s == pytest.approx((70 + 248) / 2) and s.median_revisit_s == pytest.approx(159.0)
    assert s.max_gap_s == 248.0  # edges 10 and 170 are shorter
    assert s.time_to_first_access_s == 10.0 and s.coverage_time_pct == pytest.approx(100 * 62 / 600)
    assert s.mean_response_time_s == pytest.approx((10**2 + 70**2 + 40**2 + 248**2 + 170**2) / 1200)
    # fresh: in access 62 s, then min(gap, 60) after each access: 60 + 40 + 60 + 60
    assert s.fresh_time_pct == pytest.approx(100 * (62 + 220) / 600)
    wait, fresh = _numeric(st, sp, 600.0, 60.0)
    assert s.mean_response_time_s == pytest.approx(wait, abs=2e-3)
    assert s.fresh_time_pct == pytest.approx(fresh, abs=2e-3)

    d = interval_stats("x", st, sp, 600.0, RevisitDefinition(merge_gap_s=0.0, min_dwell_s=5.0))
    assert (d.accesses, d.revisits, d.mean_revisit_s, d.max_gap_s) == (4, 3, 180.0, 290.0)
    # the trailing edge gap counts in the max gap: the longest stretch without access in the period
    late = interval_stats("x", np.array([10.0]), np.array([20.0]), 600.0)
    assert late.max_gap_s == 580.0 and np.isnan(late.mean_revisit_s) and late.revisits == 1


def test_split_pass_is_one_revisit():
    """A real split pass (one satellite straight over the target, incidence below 15 deg excluded in
    the middle) is two access windows and one revisit; without merging it is two."""
    epoch = datetime(2026, 6, 11, tzinfo=UTC)
    polar = walker(1, 1, 0, 575.0, 90.0, epoch)
    eph = propagate(list(polar.element_sets), np.array([np.datetime64("2026-06-11T00:00:00", "ns")]), "itrf")
    lon0 = float(np.degrees(np.arctan2(eph.position_km[0, 0, 1], eph.position_km[0, 0, 0])))
    targets = Targets(np.array(["under"]), np.zeros(1), np.array([lon0]), np.array(["under"]))
    acc = compute_access(polar, targets, "2026-06-10T23:50:00", "2026-06-11T00:10:00", SarSensor(15.0, 45.0))
    assert len(acc) == 2
    gap_s = float((acc.start_utc[1] - acc.stop_utc[0]).astype("int64") / 1e9)
    assert 10.0 < gap_s < 120.0
    merged = per_target(acc, targets)[0]
    assert (merged.accesses, merged.revisits) == (2, 1)
    assert revisit_number(acc).tolist() == [1, 1]
    apart = per_target(acc, targets, RevisitDefinition(merge_gap_s=0.0))[0]
    assert (apart.revisits, apart.mean_revisit_s) == (2, pytest.approx(gap_s, abs=1e-6))
    assert revisit_number(acc, RevisitDefinition(merge_gap_s=0.0)).tolist() == [1, 2]


def test_never_seen_target_is_unseen_everywhere_and_counted_area_wide():
    """Target p1 has no access in 86,400 s: its row, its area's row and the all-targets row say so."""
    acc = _windows(
        np.array([0, 0, 2]), np.array([100.0, 5000.0, 300.0]), np.array([200.0, 5100.0, 400.0]), 86400
    )
    targets = Targets(
        np.array(["a", "b", "c"]),
        np.zeros(3),
        np.zeros(3),
        np.array(["A", "B", "C"]),
        np.array([1.0, 3.0, 1.0]),
    )
    rows = per_target(acc, targets)
    unseen = rows[1]
    assert not unseen.seen and unseen.unseen_points == 1 and unseen.coverage_area_pct == 0.0
    assert (
        unseen.max_gap_s == 86400.0 and unseen.mean_response_time_s == 43200.0 and unseen.fresh_time_pct == 0
    )
    assert np.isnan(unseen.mean_revisit_s) and np.isnan(unseen.time_to_first_access_s)
    assert [r.coverage_area_pct for r in rows] == [100.0, 0.0, 100.0]
    area = per_aoi(acc, targets)[1]
    assert (area.name, area.seen, area.unseen_points, area.coverage_area_pct) == ("B", False, 1, 0.0)
    total = aggregate(rows)
    assert total.unseen_points == 1 and total.points == 3 and total.max_gap_s == 86400.0
    assert total.coverage_area_pct == pytest.approx(100 * 2 / 3)
    assert total.mean_response_time_s == pytest.approx(np.mean([r.mean_response_time_s for r in rows]))
    # the revisit interval of the only target with two revisits
    assert total.mean_revisit_s == pytest.approx(4800.0)
    d = unseen.as_dict()
    assert d["seen"] is False and d["mean_revisit_s"] is None


def test_area_with_some_points_unseen():
    acc = _windows(np.array([0]), np.array([100.0]), np.array([200.0]), 3600.0)
    targets = Targets(
        np.array(["x#0", "x#1"]), np.zeros(2), np.zeros(2), np.array(["X", "X"]), np.array([1.0, 3.0])
    )
    area = per_aoi(acc, targets)[0]
    assert (area.seen, area.points, area.unseen_points, area.coverage_area_pct) == (True, 2, 1, 25.0)


@pytest.mark.parametrize(
    "definition",
    [
        RevisitDefinition(),
        RevisitDefinition(merge_gap_s=0.0),
        RevisitDefinition(merge_gap_s=1800.0, min_dwell_s=300.0, fresh_s=600.0),
    ],
)
def test_grouped_revisit_equals_the_plain_definition(definition):
    """per_target (grouped numpy) reproduces interval_stats on random windows; revisit_number agrees
    with the revisit counts."""
    rng = np.random.default_rng(3)
    n, m, period = 400, 7, 86400.0
    tgt = rng.integers(0, m - 1, n)  # the last target has no access
    st = rng.uniform(-100, period, n)
    sp = st + rng.uniform(1, 900, n)
    acc = _windows(tgt, st, sp, period)
    got = per_target(acc, _targets(m), definition)
    for j in range(m):
        ref = interval_stats(f"p{j}", st[tgt == j], sp[tgt == j], period, definition).as_dict()
        assert got[j].as_dict() == pytest.approx(ref, nan_ok=True, abs=1e-3)
    usable = definition.usable(acc)
    numbers = revisit_number(usable, definition)
    for j in range(m):
        mine = numbers[usable.target_index == j]
        assert (mine.max() if len(mine) else 0) == got[j].revisits


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"merge_gap_s": -1.0}, "merge_gap_s"),
        ({"min_dwell_s": float("nan")}, "min_dwell_s"),
        ({"fresh_s": 0.0}, "fresh_s"),
        ({"fresh_s": float("inf")}, "fresh_s"),
    ],
)
def test_impossible_definitions_are_refused(kwargs, match):
    with pytest.raises(RevisitError, match=match):
        RevisitDefinition(**kwargs)
