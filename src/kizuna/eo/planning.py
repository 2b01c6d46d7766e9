"""Collection planning: requests (target, priority, window, mode) -> a feasible schedule per satellite.

Feasibility rules (both planners):
- one collection at a time per satellite;
- between two looks, slew + settle time = settle_s + |change of signed off-nadir| / agility_deg_s
  (signed: right positive, left negative, so switching sides rolls through nadir);
- per-orbit imaging duty cycle: in each orbit (counted from the plan start, one orbital period per
  satellite), imaging time <= duty_cycle * period.
Off-nadir per look is the mid-access value of its access window. Reasons are kept for every request
that could not be served.

Planners:
- "greedy": by priority (then earliest deadline), each request takes the earliest collection that
  keeps every schedule feasible (Wang et al. 2020, "Agile Earth observation satellite scheduling",
  EJOR 287, review sec. 4: greedy constructive heuristics).
- "optimal" (default): a 0-1 integer program over candidate start times (every `grid_s` seconds of each
  access opportunity, its first and last feasible start, and the greedy plan's own starts), solved by
  HiGHS through scipy.optimize.milp: at most one collection per request, no pair of collections that
  violates the slew rule, the duty cycle per satellite orbit. Priorities are lexicographic: one request
  of a higher priority outweighs every request of lower priority together, so the optimiser never trades
  a priority-3 request for two priority-1s; among equals it serves more requests, then earlier ones.
  Because the greedy plan is a feasible point of the program, the optimum is never worse than greedy.
  When the solver stops without a solution (time limit), the greedy plan is returned and says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import numpy as np

from kizuna.eo.access import AccessWindows, Targets, compute_access
from kizuna.eo.constellation import Constellation
from kizuna.eo.sensors import SAR_MODES, SarSensor
from kizuna.errors import FormatError
from kizuna.orbit.timescale import as_datetime64, iso_utc


@dataclass(frozen=True)
class Request:
    request_id: str
    lat_deg: float
    lon_deg: float
    priority: int
    window_start_utc: np.datetime64
    window_stop_utc: np.datetime64
    mode: str = "spotlight"
    look_side: str = "both"
    # The incidence window asked for: the mode's own unless the request narrows it (a customer who
    # needs steep looks over a city, or shallow ones for layover-free terrain).
    incidence_deg: tuple[float, float] | None = None

    def sensor(self) -> SarSensor:
        mode = SarSensor.for_mode(self.mode, self.look_side)
        if self.incidence_deg is None:
            return mode
        return replace(mode, inc_min_deg=self.incidence_deg[0], inc_max_deg=self.incidence_deg[1])


@dataclass(frozen=True)
class Collection:
    request_id: str
    satellite: str
    norad_id: int
    start_utc: str
    stop_utc: str
    incidence_deg: float
    off_nadir_deg: float
    look_side: str
    mode: str
    priority: int


@dataclass
class Plan:
    collections: list[Collection]
    unfulfilled: list[dict[str, object]]
    parameters: dict[str, object]

    def as_dict(self) -> dict[str, object]:
        by_sat: dict[str, list[dict[str, object]]] = {}
        for c in sorted(self.collections, key=lambda c: c.start_utc):
            by_sat.setdefault(c.satellite, []).append(asdict(c))
        return {
            "parameters": self.parameters,
            "fulfilled": len(self.collections),
            "unfulfilled_count": len(self.unfulfilled),
            "schedule": by_sat,
            "unfulfilled": self.unfulfilled,
        }


def parse_requests(text: str, file: str = "<requests>") -> list[Request]:
    """JSON list (or {"requests": [...]}) of {id, lat, lon, priority, start, stop, mode[, look_side]
    [, incidence_deg: [MIN, MAX]]}; an incidence window must lie within the mode's."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(file, exc.lineno, "json", f"not JSON: {exc.msg}") from None
    items = doc.get("requests") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise FormatError(file, 0, "requests", "expected a non-empty list of requests")
    out = []
    for i, r in enumerate(items):
        rid = str(r.get("id", f"request-{i}")) if isinstance(r, dict) else f"request-{i}"
        where = f"requests[{i}] ({rid})"
        if not isinstance(r, dict):
            raise FormatError(file, 0, where, "a request must be an object")
        try:
            lat, lon = float(r["lat"]), float(r["lon"])
            start, stop = as_datetime64(r["start"])[0], as_datetime64(r["stop"])[0]
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(file, 0, where, f"needs lat, lon, start, stop (ISO UTC): {exc}") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise FormatError(file, 0, f"{where}.lat/lon", f"position {lat}, {lon} outside the globe")
        if stop <= start:
            raise FormatError(
                file,
                0,
                f"{where}.stop",
                f"impossible window: stop {r['stop']} is not after start {r['start']}",
            )
        mode = str(r.get("mode", "spotlight")).lower()
        if mode not in SAR_MODES:
            raise FormatError(file, 0, f"{where}.mode", f"unknown mode {mode!r}: use {', '.join(SAR_MODES)}")
        side = str(r.get("look_side", "both")).lower()
        if side not in ("left", "right", "both"):
            raise FormatError(file, 0, f"{where}.look_side", f"{side!r}: use left, right or both")
        incidence = None
        if r.get("incidence_deg") is not None:
            lo_hi = r["incidence_deg"]
            m = SAR_MODES[mode]
            ok = (
                isinstance(lo_hi, list)
                and len(lo_hi) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in lo_hi)
                and m["inc_min_deg"] <= lo_hi[0] < lo_hi[1] <= m["inc_max_deg"]
            )
            if not ok:
                raise FormatError(
                    file,
                    0,
                    f"{where}.incidence_deg",
                    f"{lo_hi!r}: need [MIN, MAX] with {m['inc_min_deg']:g} <= MIN < MAX <= "
                    f"{m['inc_max_deg']:g} (the {mode} mode's window)",
                )
            incidence = (float(lo_hi[0]), float(lo_hi[1]))
        out.append(Request(rid, lat, lon, int(r.get("priority", 1)), start, stop, mode, side, incidence))
    return out


@dataclass(frozen=True)
class _Opportunity:
    """One access window in which request `request` can be collected: start anywhere in [lo_s, hi_s]."""

    request: int
    row: int  # access-window row
    sat: int
    lo_s: float
    hi_s: float
    signed_deg: float  # off-nadir, right positive
    dwell_s: float


class _Schedule:
    """Looks per satellite and imaging time per satellite orbit, with the feasibility rules above."""

    def __init__(self, periods_s: np.ndarray, agility_deg_s: float, settle_s: float, duty_cycle: float):
        self.periods_s, self.agility, self.settle, self.duty = periods_s, agility_deg_s, settle_s, duty_cycle
        self.looks: dict[int, list[tuple[float, float, float]]] = {}  # sat -> (start, stop, signed)
        self.imaging: dict[tuple[int, int], float] = {}

    def gap_s(self, a_deg: float, b_deg: float) -> float:
        return self.settle + abs(a_deg - b_deg) / self.agility

    def orbit(self, sat: int, t: float) -> int:
        return int(t // self.periods_s[sat])

    def clashes(self, sat: int, t: float, dwell: float, signed: float) -> bool:
        return any(
            t < e + self.gap_s(signed, o) and t + dwell + self.gap_s(signed, o) > s0
            for s0, e, o in self.looks.get(sat, [])
        )

    def duty_ok(self, sat: int, t: float, dwell: float) -> bool:
        used = self.imaging.get((sat, self.orbit(sat, t)), 0.0)
        return used + dwell <= self.duty * self.periods_s[sat] + 1e-9

    def earliest(self, o: _Opportunity) -> tuple[float | None, bool, bool]:
        """Earliest feasible start in the opportunity, and whether slew/one-at-a-time or the duty cycle
        blocked some start."""
        cands = sorted(
            {o.lo_s, *[e + self.gap_s(o.signed_deg, sg) for _, e, sg in self.looks.get(o.sat, [])]}
        )
        saw_busy = saw_duty = False
        for t in cands:
            if t < o.lo_s or t > o.hi_s:
                continue
            if self.clashes(o.sat, t, o.dwell_s, o.signed_deg):
                saw_busy = True
                continue
            if not self.duty_ok(o.sat, t, o.dwell_s):
                saw_duty = True
                continue
            return t, saw_busy, saw_duty
        return None, saw_busy, saw_duty

    def add(self, o: _Opportunity, t: float) -> None:
        self.looks.setdefault(o.sat, []).append((t, t + o.dwell_s, o.signed_deg))
        key = (o.sat, self.orbit(o.sat, t))
        self.imaging[key] = self.imaging.get(key, 0.0) + o.dwell_s


PLANNERS = ("optimal", "greedy")


def plan_collections(
    constellation: Constellation,
    requests: list[Request],
    start_utc: object,
    stop_utc: object,
    *,
    agility_deg_s: float = 1.0,
    settle_s: float = 15.0,
    duty_cycle: float = 0.1,
    step_s: float = 60.0,
    method: str = "optimal",
    grid_s: float = 20.0,
    time_limit_s: float = 30.0,
) -> Plan:
    if method not in PLANNERS:
        raise ValueError(f"unknown planner {method!r}: use {', '.join(PLANNERS)}")
    t0 = as_datetime64(start_utc)[0]
    t1 = as_datetime64(stop_utc)[0]
    targets = Targets(
        np.array([r.request_id for r in requests]),
        np.array([r.lat_deg for r in requests]),
        np.array([r.lon_deg for r in requests]),
        np.array([r.request_id for r in requests]),
    )
    access: dict[SarSensor, AccessWindows] = {}
    for sensor in {r.sensor() for r in requests}:
        access[sensor] = compute_access(constellation, targets, t0, t1, sensor, step_s=step_s)
    periods_s = np.array([es.period_min * 60.0 for es in constellation.element_sets])

    def sec(t: np.ndarray | np.datetime64) -> float:
        return float((t - t0).astype("int64") / 1e9)

    # Opportunities per request (access windows overlapping its window), and the reasons a request has none.
    opps: list[list[_Opportunity]] = []
    no_access: dict[int, str] = {}
    short: dict[int, int] = {}
    for i, req in enumerate(requests):
        dwell = float(SAR_MODES[req.mode]["dwell_s"])
        acc = access[req.sensor()]
        m = np.flatnonzero(
            (acc.target_index == i)
            & (acc.stop_utc > req.window_start_utc)
            & (acc.start_utc < req.window_stop_utc)
        )
        mine = []
        for k in m[np.argsort(acc.start_utc[m])]:
            lo = max(sec(acc.start_utc[k]), sec(req.window_start_utc))
            hi = min(sec(acc.stop_utc[k]), sec(req.window_stop_utc)) - dwell
            if hi < lo:
                short[i] = short.get(i, 0) + 1
                continue
            mine.append(
                _Opportunity(
                    i,
                    int(k),
                    int(acc.sat_index[k]),
                    lo,
                    hi,
                    float(acc.off_nadir_deg[k] * (1 if acc.look_right[k] else -1)),
                    dwell,
                )
            )
        opps.append(mine)
        if req.window_stop_utc <= t0 or req.window_start_utc >= t1:
            no_access[i] = "request window outside the planning period"
        elif not len(m):
            no_access[i] = (
                f"no access in the request window ({req.mode}: incidence "
                f"{req.sensor().inc_min_deg:g}-{req.sensor().inc_max_deg:g} deg, "
                f"look {req.look_side})"
            )

    def new_schedule() -> _Schedule:
        return _Schedule(periods_s, agility_deg_s, settle_s, duty_cycle)

    # Greedy: also a feasible starting point of the optimiser.
    chosen, greedy = _greedy(requests, opps, new_schedule())
    parameters: dict[str, object] = {
        "agility_deg_s": agility_deg_s,
        "settle_s": settle_s,
        "duty_cycle": duty_cycle,
        "method": method,
    }
    final = greedy
    if method == "optimal":
        result = _optimise(requests, opps, chosen, new_schedule, grid_s, time_limit_s)
        parameters.update(result[1])
        if result[0] is not None:
            chosen = result[0]
            final = new_schedule()
            for o, t in sorted(chosen.values(), key=lambda ot: ot[1]):
                final.add(o, t)

    done: list[Collection] = []
    missing: list[dict[str, object]] = []
    for i, req in enumerate(requests):
        if i in chosen:
            o, t = chosen[i]
            acc = access[req.sensor()]
            st = t0 + np.timedelta64(int(round(t * 1e9)), "ns")
            done.append(
                Collection(
                    req.request_id,
                    acc.sat_names[o.sat],
                    int(acc.sat_norad[o.sat]),
                    iso_utc(np.array([st]))[0],
                    iso_utc(np.array([st + np.timedelta64(int(o.dwell_s * 1e9), "ns")]))[0],
                    round(float(acc.incidence_deg[o.row]), 2),
                    round(float(acc.off_nadir_deg[o.row]), 2),
                    "right" if acc.look_right[o.row] else "left",
                    req.mode,
                    req.priority,
                )
            )
            continue
        reason = no_access.get(i)
        if reason is None:
            counts = {"busy": 0, "duty": 0, "short": short.get(i, 0), "open": 0}
            for o in opps[i]:  # why each opportunity is closed in the final plan
                t_open, saw_busy, saw_duty = final.earliest(o)
                counts["open" if t_open is not None else "busy" if saw_busy or not saw_duty else "duty"] += 1
            labels = {
                "busy": "blocked by other collections or slew time",
                "duty": "blocked by the per-orbit duty cycle",
                "short": "shorter than the dwell",
                "open": "open only between the optimiser's candidate start times",
            }
            reason = f"all {len(opps[i]) + short.get(i, 0)} access opportunities failed: " + ", ".join(
                f"{n} {labels[key]}" for key, n in counts.items() if n
            )
        missing.append({"request_id": req.request_id, "priority": req.priority, "reason": reason})
    return Plan(done, missing, parameters)


def _greedy(
    requests: list[Request], opps: list[list[_Opportunity]], sched: _Schedule
) -> tuple[dict[int, tuple[_Opportunity, float]], _Schedule]:
    """By priority, then earliest deadline: each request takes its earliest feasible start."""
    chosen: dict[int, tuple[_Opportunity, float]] = {}
    for i in sorted(range(len(requests)), key=lambda i: (-requests[i].priority, requests[i].window_stop_utc)):
        for o in opps[i]:
            t, _, _ = sched.earliest(o)
            if t is not None:
                sched.add(o, t)
                chosen[i] = (o, t)
                break
    return chosen, sched


def priority_weights(priorities: list[int]) -> dict[int, float]:
    """Lexicographic weights: one request of a priority outweighs all requests of lower priorities."""
    weights: dict[int, float] = {}
    below = 0.0
    for p in sorted(set(priorities)):
        weights[p] = below + 1.0
        below += weights[p] * priorities.count(p)
    return weights


def _optimise(
    requests: list[Request],
    opps: list[list[_Opportunity]],
    greedy: dict[int, tuple[_Opportunity, float]],
    new_schedule,
    grid_s: float,
    time_limit_s: float,
) -> tuple[dict[int, tuple[_Opportunity, float]] | None, dict[str, object]]:
    """The 0-1 program of the module docstring; (choice per request or None, facts for the plan)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_array

    sched = new_schedule()
    greedy_t = {(o.request, o.row): t for o, t in greedy.values()}
    cand: list[tuple[_Opportunity, float]] = []
    for mine in opps:
        for o in mine:
            times = set(np.arange(o.lo_s, o.hi_s, grid_s).tolist()) | {o.lo_s, o.hi_s}
            if (o.request, o.row) in greedy_t:
                times.add(greedy_t[(o.request, o.row)])
            cand += [(o, float(t)) for t in sorted(times)]
    facts: dict[str, object] = {"grid_s": grid_s, "candidates": len(cand)}
    if not cand:
        facts["solver"] = "nothing to schedule"
        return {}, facts
    n = len(cand)
    weights = priority_weights([r.priority for r in requests])
    horizon = max(t for _, t in cand) + 1.0
    # Maximise weight; ties: earlier (the time term adds up to less than half the smallest weight).
    cost = np.array(
        [-(weights[requests[o.request].priority] - 0.5 * t / horizon / (len(requests) + 1)) for o, t in cand]
    )
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    ub: list[float] = []

    def row(members: list[int], coeffs: list[float] | None, bound: float) -> None:
        r = len(ub)
        rows.extend([r] * len(members))
        cols.extend(members)
        vals.extend(coeffs or [1.0] * len(members))
        ub.append(bound)

    by_request: dict[int, list[int]] = {}
    by_orbit: dict[tuple[int, int], list[int]] = {}
    by_sat: dict[int, list[int]] = {}
    for c, (o, t) in enumerate(cand):
        by_request.setdefault(o.request, []).append(c)
        by_orbit.setdefault((o.sat, sched.orbit(o.sat, t)), []).append(c)
        by_sat.setdefault(o.sat, []).append(c)
    for members in by_request.values():
        row(members, None, 1.0)
    for (sat, _), members in by_orbit.items():
        row(members, [cand[c][0].dwell_s for c in members], sched.duty * sched.periods_s[sat])
    # Conflicts. Starts closer than the shortest dwell + settle always clash (whatever the slew), so every
    # run of them is one clique row (sum <= 1; a much tighter relaxation than its pairs); the remaining
    # slew-dependent clashes are pair rows.
    pairs = cliques = 0
    reach = min(o.dwell_s for o, _ in cand) + sched.settle
    for members in by_sat.values():
        members.sort(key=lambda c: cand[c][1])
        starts_s = np.array([cand[c][1] for c in members])
        ends = np.searchsorted(starts_s, starts_s + reach, side="left")
        last_end = 0
        for a_pos, a in enumerate(members):
            if ends[a_pos] > last_end and ends[a_pos] - a_pos > 1:  # not inside the previous clique
                row(members[a_pos : ends[a_pos]], None, 1.0)
                cliques += 1
            last_end = max(last_end, int(ends[a_pos]))
            oa, ta = cand[a]
            for b in members[max(a_pos + 1, int(ends[a_pos])) :]:
                ob, tb = cand[b]
                if tb >= ta + oa.dwell_s + sched.settle + 180.0 / sched.agility:
                    break  # no later candidate can be within slew reach
                if ob.request == oa.request:
                    continue
                gap = sched.gap_s(oa.signed_deg, ob.signed_deg)
                if tb < ta + oa.dwell_s + gap and tb + ob.dwell_s + gap > ta:
                    row([a, b], None, 1.0)
                    pairs += 1
    facts["conflict_cliques"] = cliques
    facts["conflict_pairs"] = pairs
    a_mat = coo_array((vals, (rows, cols)), shape=(len(ub), n)).tocsr()
    res = milp(
        cost,
        constraints=LinearConstraint(a_mat, -np.inf, np.array(ub)),
        integrality=np.ones(n, dtype=np.int64),  # every variable 0/1
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s, "mip_rel_gap": 0.0},
    )
    facts["solver"] = f"HiGHS: {res.message}"
    if res.x is None:
        facts["method"] = "greedy (the optimiser found no solution in time)"
        return None, facts
    picked = {}
    for c_picked in np.flatnonzero(res.x > 0.5):
        o, t = cand[c_picked]
        picked[o.request] = (o, t)
    # Replay through the same rules in time order: the plan must be feasible by construction.
    check = new_schedule()
    for o, t in sorted(picked.values(), key=lambda ot: ot[1]):
        if check.clashes(o.sat, t, o.dwell_s, o.signed_deg) or not check.duty_ok(o.sat, t, o.dwell_s):
            facts["method"] = "greedy (the optimiser's plan failed the feasibility replay)"
            return None, facts
        check.add(o, t)
    facts["optimal"] = bool(res.status == 0)
    return picked, facts
