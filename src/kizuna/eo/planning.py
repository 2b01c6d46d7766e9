"""Collection planning: requests (target, priority, window, mode) -> a feasible schedule per satellite.

Greedy by priority (then earliest deadline): each request takes the earliest collection that keeps
every satellite's schedule feasible:
- one collection at a time per satellite;
- between two looks, slew + settle time = settle_s + |change of signed off-nadir| / agility_deg_s
  (signed: right positive, left negative, so switching sides rolls through nadir);
- per-orbit imaging duty cycle: in each orbit (counted from the plan start, one orbital period per
  satellite), imaging time <= duty_cycle * period.
Off-nadir per look is the mid-access value of its access window. Reasons are kept for every request
that could not be served. Greedy is a baseline (Wang et al. 2020, "Agile Earth observation satellite
scheduling", EJOR 287, review sec. 4: greedy constructive heuristics), not an optimum.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

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
    parameters: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        by_sat: dict[str, list[dict[str, object]]] = {}
        for c in sorted(self.collections, key=lambda c: c.start_utc):
            by_sat.setdefault(c.satellite, []).append(asdict(c))
        return {"parameters": self.parameters, "fulfilled": len(self.collections),
                "unfulfilled_count": len(self.unfulfilled), "schedule": by_sat, "unfulfilled": self.unfulfilled}


def parse_requests(text: str, file: str = "<requests>") -> list[Request]:
    """JSON list (or {"requests": [...]}) of {id, lat, lon, priority, start, stop, mode[, look_side]}."""
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
            raise FormatError(file, 0, f"{where}.stop", f"impossible window: stop {r['stop']} is not after "
                              f"start {r['start']}")
        mode = str(r.get("mode", "spotlight")).lower()
        if mode not in SAR_MODES:
            raise FormatError(file, 0, f"{where}.mode", f"unknown mode {mode!r}: use {', '.join(SAR_MODES)}")
        side = str(r.get("look_side", "both")).lower()
        if side not in ("left", "right", "both"):
            raise FormatError(file, 0, f"{where}.look_side", f"{side!r}: use left, right or both")
        out.append(Request(rid, lat, lon, int(r.get("priority", 1)), start, stop, mode, side))
    return out


def plan_collections(constellation: Constellation, requests: list[Request], start_utc: object,
                     stop_utc: object, *, agility_deg_s: float = 1.0, settle_s: float = 15.0,
                     duty_cycle: float = 0.1, step_s: float = 60.0) -> Plan:
    t0 = as_datetime64(start_utc)[0]
    t1 = as_datetime64(stop_utc)[0]
    targets = Targets(np.array([r.request_id for r in requests]), np.array([r.lat_deg for r in requests]),
                      np.array([r.lon_deg for r in requests]), np.array([r.request_id for r in requests]))
    access: dict[tuple[str, str], AccessWindows] = {}
    for key in {(r.mode, r.look_side) for r in requests}:
        access[key] = compute_access(constellation, targets, t0, t1, SarSensor.for_mode(*key), step_s=step_s)
    periods_s = np.array([es.period_min * 60.0 for es in constellation.element_sets])

    def sec(t: np.ndarray | np.datetime64) -> np.ndarray:
        return np.asarray((t - t0).astype("int64") / 1e9)

    busy: dict[int, list[tuple[float, float, float]]] = {}  # sat -> (start, stop, signed off-nadir)
    imaging: dict[tuple[int, int], float] = {}  # (sat, orbit number) -> imaging seconds
    done: list[Collection] = []
    missing: list[dict[str, object]] = []
    order = sorted(range(len(requests)), key=lambda i: (-requests[i].priority, requests[i].window_stop_utc))
    for i in order:
        req = requests[i]
        dwell = SAR_MODES[req.mode]["dwell_s"]
        acc = access[(req.mode, req.look_side)]
        m = np.flatnonzero((acc.target_index == i) & (acc.stop_utc > req.window_start_utc)
                           & (acc.start_utc < req.window_stop_utc))
        reason = None
        if req.window_stop_utc <= t0 or req.window_start_utc >= t1:
            reason = "request window outside the planning period"
        elif not len(m):
            reason = (f"no access in the request window ({req.mode}: incidence "
                      f"{SAR_MODES[req.mode]['inc_min_deg']:g}-{SAR_MODES[req.mode]['inc_max_deg']:g} deg, "
                      f"look {req.look_side})")
        best = None
        counts = {"short": 0, "busy": 0, "duty": 0}
        for k in m[np.argsort(acc.start_utc[m])] if reason is None else []:
            sat = int(acc.sat_index[k])
            lo = float(max(sec(acc.start_utc[k]), sec(req.window_start_utc)))
            hi = float(min(sec(acc.stop_utc[k]), sec(req.window_stop_utc))) - dwell
            if hi < lo:
                counts["short"] += 1
                continue
            signed = float(acc.off_nadir_deg[k] * (1 if acc.look_right[k] else -1))
            sched = busy.get(sat, [])
            cands = sorted({lo, *[e + settle_s + abs(signed - o) / agility_deg_s for _, e, o in sched]})
            found = False
            saw_busy = saw_duty = False
            for t in cands:
                if t < lo or t > hi:
                    continue
                clash = any(t < e + settle_s + abs(signed - o) / agility_deg_s
                            and t + dwell + settle_s + abs(signed - o) / agility_deg_s > s
                            for s, e, o in sched)
                if clash:
                    saw_busy = True
                    continue
                orbit = int(t // periods_s[sat])
                if imaging.get((sat, orbit), 0.0) + dwell > duty_cycle * periods_s[sat]:
                    saw_duty = True
                    continue
                found = True
                break
            if found:
                best = (sat, t, k, signed)
                break
            counts["busy" if saw_busy or not saw_duty else "duty"] += 1
        if best is None:
            if reason is None:
                labels = {"busy": "blocked by higher-priority collections or slew time",
                          "duty": "blocked by the per-orbit duty cycle", "short": "shorter than the dwell"}
                reason = f"all {len(m)} access opportunities failed: " + ", ".join(
                    f"{n} {labels[key]}" for key, n in counts.items() if n)
            missing.append({"request_id": req.request_id, "priority": req.priority, "reason": reason})
            continue
        sat, t, k, signed = best
        busy.setdefault(sat, []).append((t, t + dwell, signed))
        orbit = int(t // periods_s[sat])
        imaging[(sat, orbit)] = imaging.get((sat, orbit), 0.0) + dwell
        st = t0 + np.timedelta64(int(round(t * 1e9)), "ns")
        done.append(Collection(
            req.request_id, acc.sat_names[sat], int(acc.sat_norad[sat]), iso_utc(np.array([st]))[0],
            iso_utc(np.array([st + np.timedelta64(int(dwell * 1e9), "ns")]))[0],
            round(float(acc.incidence_deg[k]), 2), round(float(acc.off_nadir_deg[k]), 2),
            "right" if acc.look_right[k] else "left", req.mode, req.priority))
    return Plan(done, missing, {"agility_deg_s": agility_deg_s, "settle_s": settle_s, "duty_cycle": duty_cycle})
