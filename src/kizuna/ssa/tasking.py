"""Sensor tasking: which detectable passes to observe under each sensor's capacity, by value; and the
catalog-uncertainty study (median position sigma over days for a daily observation budget).

Schedule (greedy by value, a lazy max-heap):
- a candidate is one detectable pass, observed as one track of ``dwell_s`` centred in its detectable
  arc (at the culmination when that is inside it), pointing at the culmination's azimuth/elevation;
- the value of observing object i is ``value_i * DECAY**k`` where k is how many tracks of i are
  already planned (a second look is worth less than a first look at something else);
- a track fits a sensor when the sensor's hour holds fewer than ``tracks_per_hour`` tracks and the
  neighbouring tracks on its timeline leave time to slew (great-circle angle / ``slew_deg_s``) and
  dwell; the plan stops at the budget.

Value of an object (``object_values``): 1, plus ``PROTECTED_WEIGHT`` for a protected asset,
``CONJUNCTION_WEIGHT`` when a recent conjunction reached the Pc threshold, ``MANEUVER_WEIGHT`` for a
maneuver suspect, plus its current position sigma over the catalog median (so the objects whose
uncertainty has grown most come first).

Uncertainty model (stated, simple; ``sigma_km``): a track of accuracy ``a`` (``track_sigma_km``)
is fused with the predicted sigma ``p`` (inverse variances add: ``s0 = (p^-2 + a^-2)^-1/2``); the
along-track position sigma then grows quadratically with the time since, from unmodelled drag:
``sigma(t) = s0 + 0.5 * q * t^2`` with ``q`` [km/day^2] = ``Q_REF_KM_DAY2 * exp(-(h - 400 km) / H)``,
``H = 70 km``, floored at ``Q_FLOOR_KM_DAY2`` (gravity and solar-pressure mismodelling). At 400 km
an object unobserved for 3 days reaches ~ 2 km; at 800 km ~ 0.1 km.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kizuna.errors import KizunaError
from kizuna.ssa.sensors import SsaSensor
from kizuna.ssa.visibility import Passes

DECAY = 0.5
PROTECTED_WEIGHT = 10.0
CONJUNCTION_WEIGHT = 5.0
MANEUVER_WEIGHT = 5.0
DWELL_S = 10.0
Q_REF_KM_DAY2 = 0.45  # along-track acceleration uncertainty at 400 km [km/day^2]
SCALE_HEIGHT_KM = 70.0
Q_FLOOR_KM_DAY2 = 0.005
OBS_PER_TRACK = 10  # a track's accuracy is the single-observation noise over sqrt(this)


class TaskingError(KizunaError, ValueError):
    """A plan cannot be made: no sensors with capacity, or a bad budget."""


def growth_km_day2(alt_km: np.ndarray) -> np.ndarray:
    """Along-track acceleration uncertainty ``q`` of the model (module docstring)."""
    return np.maximum(
        Q_REF_KM_DAY2 * np.exp(-(np.asarray(alt_km, float) - 400.0) / SCALE_HEIGHT_KM), Q_FLOOR_KM_DAY2
    )


def sigma_km(
    s0_km: np.ndarray | float, q_km_day2: np.ndarray | float, days_since: np.ndarray | float
) -> np.ndarray:
    return np.asarray(s0_km) + 0.5 * np.asarray(q_km_day2) * np.asarray(days_since) ** 2


def track_sigma_km(sensor: SsaSensor, range_km: np.ndarray) -> np.ndarray:
    """Position accuracy of one track: the larger of range and cross-range noise, over sqrt(N)."""
    f = sensor.figures
    rng = np.asarray(range_km, float)
    if sensor.kind == "radar":
        one = np.maximum(f["sigma_range_m"] / 1000.0, np.radians(f["sigma_angle_deg"]) * rng)
    elif sensor.kind == "optical":
        one = np.radians(f["sigma_angle_arcsec"] / 3600.0) * rng
    else:
        one = np.full(rng.shape, f["sigma_range_m"] / 1000.0)
    return one / math.sqrt(OBS_PER_TRACK)


def object_values(
    norad_ids: np.ndarray,
    sigma_now_km: np.ndarray,
    *,
    protected: Collection[int] = (),
    conjunction_pc: Mapping[int, float] | None = None,
    pc_threshold: float = 1e-4,
    maneuver_suspects: Collection[int] = (),
) -> np.ndarray:
    """Value of one more track of each object (module docstring)."""
    ids = np.asarray(norad_ids)
    sig = np.asarray(sigma_now_km, float)
    med = float(np.median(sig)) if len(sig) else 1.0
    value = 1.0 + sig / max(med, 1e-9)
    value += PROTECTED_WEIGHT * np.isin(ids, list(protected))
    hot = [n for n, pc in (conjunction_pc or {}).items() if pc >= pc_threshold]
    value += CONJUNCTION_WEIGHT * np.isin(ids, hot)
    value += MANEUVER_WEIGHT * np.isin(ids, list(maneuver_suspects))
    return value


@dataclass
class Plan:
    """Planned tracks (columns of equal length), in time order."""

    sensor: np.ndarray
    norad_id: np.ndarray
    time_utc: np.ndarray
    az_deg: np.ndarray
    el_deg: np.ndarray
    range_km: np.ndarray
    value: np.ndarray
    considered: int  # candidate passes
    rejected_capacity: int  # candidates refused for a full hour or no time to slew

    def __len__(self) -> int:
        return len(self.norad_id)

    def records(self) -> list[dict[str, Any]]:
        from kizuna.orbit.timescale import iso_utc

        cols = {
            "time_utc": iso_utc(self.time_utc) if len(self) else [],
            "sensor": self.sensor.astype(str).tolist(),
            "norad_id": self.norad_id.tolist(),
            "az_deg": self.az_deg.round(2).tolist(),
            "el_deg": self.el_deg.round(2).tolist(),
            "range_km": self.range_km.round(1).tolist(),
            "value": self.value.round(3).tolist(),
        }
        keys = list(cols)
        return [dict(zip(keys, row, strict=True)) for row in zip(*cols.values(), strict=True)]


def _unit(az_deg: np.ndarray, el_deg: np.ndarray) -> np.ndarray:
    az, el = np.radians(az_deg), np.radians(el_deg)
    return np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)


def plan(
    passes: Passes,
    sensors: Sequence[SsaSensor],
    values: Mapping[int, float],
    budget: int,
    *,
    dwell_s: float = DWELL_S,
) -> Plan:
    """Greedy-by-value schedule of at most ``budget`` tracks over the detectable passes."""
    if budget < 1:
        raise TaskingError(f"budget {budget}: plan at least one track")
    by_name = {s.name: s for s in sensors}
    cand = passes.select(passes.detectable & np.isin(passes.sensor.astype(str), list(by_name)))
    n = len(cand)
    if n == 0:
        return _empty(0)
    # the track's time: the culmination when the sensor detects there, else mid detectable arc
    mid = cand.detect_start_utc + (cand.detect_stop_utc - cand.detect_start_utc) // 2
    inside = (cand.culmination_utc >= cand.detect_start_utc) & (cand.culmination_utc <= cand.detect_stop_utc)
    t_utc = np.where(inside, cand.culmination_utc, mid)
    t0 = passes.period_start_utc
    t_s = (t_utc - t0).astype("int64") / 1e9
    hour = np.floor(t_s / 3600.0).astype(np.int64)
    pointing = _unit(cand.culmination_az_deg, cand.max_elevation_deg)
    base = np.array([values.get(int(i), 1.0) for i in cand.norad_id])
    sensor_names = cand.sensor.astype(str)
    names = sorted(set(sensor_names))
    sidx = np.searchsorted(names, sensor_names)
    cap = np.array([by_name[nm].tracks_per_hour for nm in names])
    slew = np.array([by_name[nm].slew_deg_s for nm in names])
    timelines: list[list[float]] = [[] for _ in names]  # planned track times per sensor, sorted
    where: list[list[int]] = [[] for _ in names]  # candidate index of each timeline entry
    per_hour: dict[tuple[int, int], int] = {}
    count: dict[int, int] = {}
    heap = [(-float(v), int(i)) for i, v in enumerate(base)]
    heapq.heapify(heap)
    chosen: list[int] = []
    chosen_value: list[float] = []
    rejected = 0
    ids = cand.norad_id
    while heap and len(chosen) < budget:
        neg, i = heapq.heappop(heap)
        obj = int(ids[i])
        current = base[i] * DECAY ** count.get(obj, 0)
        if current < -neg - 1e-12:  # stale: another track of this object was planned since
            heapq.heappush(heap, (-current, i))
            continue
        s = int(sidx[i])
        key = (s, int(hour[i]))
        if per_hour.get(key, 0) + 1 > cap[s]:
            rejected += 1
            continue
        line = timelines[s]
        k = bisect.bisect_left(line, t_s[i])
        ok = True
        for nb in (k - 1, k):
            if 0 <= nb < len(line):
                j = where[s][nb]
                cos_angle = float(pointing[i] @ pointing[j])
                # a space-based sensor's pointing is not modelled (no az/el from a moving platform):
                # its tracks are spaced by the dwell alone
                angle = (
                    math.degrees(math.acos(max(-1.0, min(1.0, cos_angle))))
                    if math.isfinite(cos_angle)
                    else 0.0
                )
                if abs(line[nb] - t_s[i]) < dwell_s + angle / slew[s]:
                    ok = False
                    break
        if not ok:
            rejected += 1
            continue
        line.insert(k, float(t_s[i]))
        where[s].insert(k, i)
        per_hour[key] = per_hour.get(key, 0) + 1
        count[obj] = count.get(obj, 0) + 1
        chosen.append(i)
        chosen_value.append(current)
    sel = np.array(chosen, dtype=np.int64)
    order = np.argsort(t_s[sel], kind="stable")
    sel = sel[order]
    return Plan(
        sensor=cand.sensor[sel],
        norad_id=ids[sel],
        time_utc=t_utc[sel],
        az_deg=cand.culmination_az_deg[sel],
        el_deg=cand.max_elevation_deg[sel],
        range_km=cand.min_range_km[sel],
        value=np.array(chosen_value)[order],
        considered=n,
        rejected_capacity=rejected,
    )


def _empty(considered: int) -> Plan:
    z = np.zeros(0)
    return Plan(
        np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, "datetime64[ns]"), z, z, z, z, considered, 0
    )


@dataclass
class StudyResult:
    day: np.ndarray
    median_sigma_km: np.ndarray
    p90_sigma_km: np.ndarray
    observed_fraction: np.ndarray  # objects with at least one track that day
    tracks_per_day: np.ndarray


def uncertainty_study(
    passes: Passes,
    sensors: Sequence[SsaSensor],
    norad_ids: np.ndarray,
    alt_km: np.ndarray,
    budget: int,
    days: int = 7,
    *,
    initial_days_since: float = 1.0,
) -> StudyResult:
    """Median and 90th-percentile along-track sigma of the catalog at the end of each day when the
    network observes ``budget`` tracks a day, planned greedily with the objects' current sigma as
    value. The day's passes repeat every day (LEO geometry is statistically the same from one day to
    the next; the tracks change because the values do). Day 0 is the state before any tasking: every
    object last observed ``initial_days_since`` days ago by a 0.1 km track."""
    ids = np.asarray(norad_ids)
    q = growth_km_day2(alt_km)
    s0 = np.full(len(ids), 0.1)
    last = np.full(len(ids), -float(initial_days_since))  # day of the last track
    pos = {int(n): k for k, n in enumerate(ids)}
    by_name = {s.name: s for s in sensors}
    t0 = passes.period_start_utc
    day_axis, med, p90, frac, per_day = [0.0], [], [], [0.0], [0]
    sig = sigma_km(s0, q, 0.0 - last)
    med.append(float(np.median(sig)))
    p90.append(float(np.percentile(sig, 90)))
    for d in range(days):
        sig_start = sigma_km(s0, q, d - last)
        values = dict(
            zip(
                ids.tolist(), (1.0 + sig_start / max(float(np.median(sig_start)), 1e-9)).tolist(), strict=True
            )
        )
        p = plan(passes, sensors, values, budget)
        seen = np.zeros(len(ids), bool)
        t_day = d + (p.time_utc - t0).astype("int64") / 86400e9
        names = p.sensor.astype(str)
        acc = np.empty(len(p))
        for name in set(names):
            m = names == name
            acc[m] = track_sigma_km(by_name[name], p.range_km[m])
        for n, t, a in zip(p.norad_id, t_day, acc, strict=True):  # in time order
            k = pos.get(int(n))
            if k is None:
                continue
            # the track is fused with the prediction (inverse variances add), then growth restarts
            pred = float(sigma_km(s0[k], q[k], t - last[k]))
            s0[k], last[k] = (pred**-2 + a**-2) ** -0.5, t
            seen[k] = True
        sig = sigma_km(s0, q, (d + 1) - last)
        day_axis.append(d + 1.0)
        med.append(float(np.median(sig)))
        p90.append(float(np.percentile(sig, 90)))
        frac.append(float(seen.mean()))
        per_day.append(len(p))
    return StudyResult(np.array(day_axis), np.array(med), np.array(p90), np.array(frac), np.array(per_day))
