"""The optimal collection planner: a hand-checkable case where greedy-by-priority loses a request, an
exhaustive search over the same candidate starts on small random instances, and real geometry where the
optimal plan is feasible and never worse than greedy."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import pytest
from tests.conftest import assert_looks_respect_slew

from kizuna.eo.constellation import parse_design
from kizuna.eo.planning import (
    Request,
    _greedy,
    _Opportunity,
    _optimise,
    _Schedule,
    plan_collections,
    priority_weights,
)

T0 = np.datetime64("2026-06-11T00:00:00", "ns")
PERIOD_S = 5700.0


def _requests(priorities: list[int]) -> list[Request]:
    return [Request(f"r{i}", 0.0, 0.0, p, T0, T0 + np.timedelta64(1, "D")) for i, p in enumerate(priorities)]


def _schedule(duty: float = 1.0):  # type: ignore[no-untyped-def]
    return lambda: _Schedule(np.array([PERIOD_S, PERIOD_S]), 1.0, 15.0, duty)


def test_greedy_loses_a_request_the_optimiser_keeps():
    """One satellite; a priority-2 request open over [0, 200] s and two priority-1 requests open over
    [0, 20] s, all 10 s looks at nadir (gap between looks: 15 s settle). Greedy gives the priority-2
    request its earliest start, 0 s, which closes [0, 20] for the others (next start >= 25 s): 1 look.
    The optimum takes one priority-1 request at 0 s and the priority-2 one later: 2 looks (the two
    priority-1 requests exclude each other, 0 + 10 + 15 > 20)."""
    reqs = _requests([2, 1, 1])
    opps = [
        [_Opportunity(0, 0, 0, 0.0, 200.0, 0.0, 10.0)],
        [_Opportunity(1, 1, 0, 0.0, 20.0, 0.0, 10.0)],
        [_Opportunity(2, 2, 0, 0.0, 20.0, 0.0, 10.0)],
    ]
    greedy, _ = _greedy(reqs, opps, _schedule()())
    assert set(greedy) == {0} and greedy[0][1] == 0.0
    best, facts = _optimise(reqs, opps, greedy, _schedule(), grid_s=5.0, time_limit_s=10.0)
    assert best is not None and facts["optimal"] is True
    assert 0 in best and len(best) == 2
    t_high = best[0][1]
    t_low = next(t for i, (_, t) in best.items() if i != 0)
    assert t_high >= t_low + 10.0 + 15.0


def _feasible(choice: dict[int, tuple[_Opportunity, float]], duty: float) -> bool:
    """The rules restated: per satellite, any two looks separated by settle + |d off-nadir| / rate;
    per satellite orbit, imaging time within the duty cycle."""
    looks = sorted(choice.values(), key=lambda ot: ot[1])
    for (a, ta), (b, tb) in itertools.combinations(looks, 2):
        if a.sat == b.sat:
            gap = 15.0 + abs(a.signed_deg - b.signed_deg) / 1.0
            first, t1, second, t2 = (a, ta, b, tb) if ta <= tb else (b, tb, a, ta)
            if t2 < t1 + first.dwell_s + gap:
                return False
    used: dict[tuple[int, int], float] = {}
    for o, t in looks:
        key = (o.sat, int(t // PERIOD_S))
        used[key] = used.get(key, 0.0) + o.dwell_s
        if used[key] > duty * PERIOD_S + 1e-9:
            return False
    return True


@pytest.mark.parametrize("seed", range(10))
def test_optimum_matches_exhaustive_search(seed):
    """Random small instances (2 satellites, 4 requests, 1-2 opportunities each, duty cycle binding on
    some): the optimiser's value equals the best of every combination of the same candidate starts."""
    rng = np.random.default_rng(seed)
    duty = 20.0 / PERIOD_S  # room for two 10 s looks per orbit
    reqs = _requests([int(p) for p in rng.integers(1, 3, 4)])
    opps = []
    for i in range(4):
        mine = []
        for k in range(int(rng.integers(1, 3))):
            lo = float(rng.uniform(0, 400)) + (PERIOD_S if k and rng.random() < 0.5 else 0.0)
            mine.append(
                _Opportunity(
                    i,
                    10 * i + k,
                    int(rng.integers(0, 2)),
                    lo,
                    lo + float(rng.uniform(0, 40)),
                    float(rng.uniform(-30, 30)),
                    10.0,
                )
            )
        opps.append(mine)
    grid = 10.0
    best, facts = _optimise(reqs, opps, {}, _schedule(duty), grid_s=grid, time_limit_s=10.0)
    assert best is not None and facts["optimal"] is True and _feasible(best, duty)
    options = []
    for mine in opps:
        starts = [None] + [
            (o, float(t))
            for o in mine
            for t in sorted(set(np.arange(o.lo_s, o.hi_s, grid).tolist()) | {o.lo_s, o.hi_s})
        ]
        options.append(starts)
    weights = priority_weights([r.priority for r in reqs])
    exhaustive = 0.0
    for combo in itertools.product(*options):
        choice = {i: c for i, c in enumerate(combo) if c is not None}
        if _feasible(choice, duty):
            exhaustive = max(exhaustive, sum(weights[reqs[i].priority] for i in choice))
    assert sum(weights[reqs[i].priority] for i in best) == exhaustive


def test_priority_weights_are_lexicographic():
    w = priority_weights([1, 1, 1, 2, 2, 3])
    assert w[2] > 3 * w[1] and w[3] > 2 * w[2] + 3 * w[1]


def test_optimal_plan_on_real_geometry_is_feasible_and_not_worse_than_greedy():
    """12 satellites, 60 spotlight/stripmap requests around Kharkiv and Tsushima over 6 h, a 1 % duty
    cycle: both plans obey the rules; the optimal one serves at least the greedy value."""
    rng = np.random.default_rng(11)
    const = parse_design("walker:12/4/1:575:42", datetime(2026, 6, 11, tzinfo=UTC))
    centres = [(49.99, 36.23), (34.5, 129.5)]
    reqs = []
    for k in range(60):
        lat, lon = centres[k % 2]
        reqs.append(
            Request(
                f"r{k}",
                lat + rng.normal(0, 0.3),
                lon + rng.normal(0, 0.3),
                int(rng.integers(1, 4)),
                T0,
                T0 + np.timedelta64(6, "h"),
                str(rng.choice(["spotlight", "stripmap"])),
            )
        )
    plans = {
        m: plan_collections(const, reqs, T0, T0 + np.timedelta64(6, "h"), duty_cycle=0.01, method=m)
        for m in ("greedy", "optimal")
    }
    weights = priority_weights([r.priority for r in reqs])
    value = {m: sum(weights[c.priority] for c in p.collections) for m, p in plans.items()}
    assert value["optimal"] >= value["greedy"] and plans["optimal"].parameters["optimal"] is True
    for p in plans.values():
        assert len(p.collections) + len(p.unfulfilled) == len(reqs)
        assert_looks_respect_slew(p.collections)


def test_a_request_narrows_its_incidence_window_within_the_mode():
    """`incidence_deg` in a request is honoured: the same target asked for steep looks only is
    collected at 20-30 deg, where the mode's own 15-45 deg window had chosen other looks too; a window
    outside the mode's is refused naming the request and field."""
    import json

    from kizuna.eo.planning import parse_requests
    from kizuna.errors import FormatError

    const = parse_design("walker:12/4/1:575:42", datetime(2026, 6, 11, tzinfo=UTC))
    base = {"lat": 34.5, "lon": 129.5, "start": "2026-06-11T00:00:00Z", "stop": "2026-06-12T00:00:00Z"}
    wide = [{**base, "id": f"w{k}", "mode": "stripmap"} for k in range(6)]
    steep = [{**w, "id": f"s{k}", "incidence_deg": [20, 30]} for k, w in enumerate(wide)]
    t1 = T0 + np.timedelta64(1, "D")
    plans = {
        name: plan_collections(const, parse_requests(json.dumps(reqs)), T0, t1, method="greedy")
        for name, reqs in (("wide", wide), ("steep", steep))
    }
    assert plans["steep"].collections, "some steep looks exist in a day"
    assert all(20 - 0.01 <= c.incidence_deg <= 30 + 0.01 for c in plans["steep"].collections)
    assert any(not 20 <= c.incidence_deg <= 30 for c in plans["wide"].collections)
    for bad in ([10, 30], [30, 20], [20], ["a", 30], [20, 60]):
        with pytest.raises(FormatError, match=r"incidence_deg"):
            parse_requests(json.dumps([{**wide[0], "incidence_deg": bad}]), "req.json")
