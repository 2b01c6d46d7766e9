"""Missile-warning assessment benchmark: launches x sensors x time steps per second, kizuna's
vectorized detection vs a straightforward per-element loop in the same run, and the wall time of a
1,000-launch Monte Carlo.

Run from the repository root:  .venv/bin/python benchmarks/bench_mw.py [--launches 1000]

Workload: the nk-irbm-tokyo scenario (IRBM from Wonsan to Tokyo, about 700 s of flight), launch
times drawn over a day and azimuths within +-5 deg of the aim (kizuna.mw.threat_scenarios); the
aim's steering is solved once and not timed. Architectures geo (4 sensors), geo-leo (34) and all
(88: GEO, HEO, the LEO and VLEO layers, six radars), 2 s steps.

1. Detection rule evaluation (Earth blocking, field of regard, thresholds, plume altitude, limb,
   radar horizon/sector/range) for every launch x sensor x step: kizuna `rule_masks` vs a plain
   Python loop over elements doing the same arithmetic with `math`, on a sample of elements; the
   two must agree on every sampled element.
2. The whole assessment (sensor propagation, detection, frames, track covariance, impact
   predictions) per element, for each architecture.
3. The Monte Carlo: flying the launches (kizuna.mw.trajectory.fly_batch) and assessing them
   against each architecture, wall time.
Prints a table and writes benchmarks/results/mw.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kizuna.mw.assess import AssessConfig, assess, summary_row
from kizuna.mw.detection import (
    _STRETCH,
    COLD_BODY_INTENSITY_W_SR,
    WGS84_A_M,
    SensorTable,
    ThreatGrid,
    rule_masks,
)
from kizuna.mw.sensors import load_architectures, sensor_positions_ecef_m
from kizuna.mw.threat_scenarios import monte_carlo

RESULTS = Path(__file__).resolve().parent / "results" / "mw.json"
SCENARIO = "nk-irbm-tokyo"
START = datetime(2026, 12, 1, tzinfo=UTC)
ARCHITECTURES = ("geo", "geo-leo", "all")


def loop_detectable(tgt, ir, rcs, sen, t: SensorTable, j: int) -> bool:  # noqa: ANN001
    """One element, the rules of kizuna.mw.detection written out with math (the floor)."""
    rel = [tgt[i] - sen[i] for i in range(3)]
    rng = math.sqrt(sum(c * c for c in rel))
    u = [c / rng for c in rel]
    if t.is_radar[j]:
        up, east, north = t.site_up[j], t.site_east[j], t.site_north[j]
        el = math.degrees(math.asin(max(-1.0, min(1.0, sum(u[i] * up[i] for i in range(3))))))
        az = math.degrees(
            math.atan2(sum(u[i] * east[i] for i in range(3)), sum(u[i] * north[i] for i in range(3)))
        )
        off = abs((az - t.boresight_az_deg[j] + 180.0) % 360.0 - 180.0)
        reach = min(
            t.max_range_m[j], t.reference_range_m[j] * (max(rcs, 0.0) / t.reference_rcs_m2[j]) ** 0.25
        )
        return (
            t.min_elevation_deg[j] <= el <= t.max_elevation_deg[j]
            and off <= t.half_width_deg[j]
            and rng <= reach
        )
    ss = [sen[0], sen[1], sen[2] * _STRETCH]
    rs = [rel[0], rel[1], rel[2] * _STRETCH]
    rn = math.sqrt(sum(c * c for c in rs))
    us = [c / rn for c in rs]
    tc = -sum(ss[i] * us[i] for i in range(3))
    t_seg = min(max(tc, 0.0), rn)
    d_seg = math.sqrt(sum((ss[i] + t_seg * us[i]) ** 2 for i in range(3)))
    t_past = max(tc, rn)
    d_past = math.sqrt(sum((ss[i] + t_past * us[i]) ** 2 for i in range(3)))
    if d_seg < WGS84_A_M - 1.0:
        return False
    r_sen = math.sqrt(sum(c * c for c in sen))
    if -sum(sen[i] * u[i] for i in range(3)) / r_sen < t.cos_for[j]:
        return False
    alt = math.sqrt(tgt[0] ** 2 + tgt[1] ** 2 + (tgt[2] * _STRETCH) ** 2) - WGS84_A_M
    hot = ir / rng**2 >= t.hot_threshold_w_m2[j] and alt >= t.min_plume_alt_m[j] - 1.0
    cold = (ir + COLD_BODY_INTENSITY_W_SR) / rng**2 >= t.cold_threshold_w_m2[
        j
    ] and d_past - WGS84_A_M >= t.limb_clearance_m[j]
    return bool(hot or cold)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=1000)
    ap.add_argument("--loop-sample", type=int, default=30_000, help="elements the Python loop evaluates")
    args = ap.parse_args()

    t = time.perf_counter()
    flights = monte_carlo(SCENARIO, 2, start_utc=START)  # solves the aim (cached), not timed below
    solve_s = time.perf_counter() - t
    t = time.perf_counter()
    flights = monte_carlo(SCENARIO, args.launches, start_utc=START, window_hours=24.0, azimuth_spread_deg=5.0)
    fly_s = time.perf_counter() - t
    archs = {a.name: a for a in load_architectures(list(ARCHITECTURES), START)}

    # 1. rule evaluation, vectorized vs loop, on the "all" architecture and the first 20 launches
    arch = archs["all"]
    table = SensorTable.from_sensors(arch.sensors)
    grid = ThreatGrid.resample(flights[:20], 2.0)
    times = grid.times_utc()
    n, k = times.shape
    flat = times.reshape(-1)
    order = np.argsort(flat, kind="stable")
    pos_sorted = sensor_positions_ecef_m(arch.sensors, flat[order], interpolate_s=30.0)
    pos_flat = np.empty_like(pos_sorted)
    pos_flat[:, order] = pos_sorted
    pos = pos_flat.reshape(len(arch.sensors), n, k, 3).transpose(1, 0, 2, 3)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        masks = rule_masks(grid.position_ecef_m, grid.ir_intensity_w_sr, grid.rcs_m2, pos, table)
        best = min(best, time.perf_counter() - t)
    elements = n * len(table) * k
    vec_rate = elements / best
    rng = np.random.default_rng(0)
    valid = np.argwhere(np.broadcast_to(grid.valid[:, None, :], masks["detectable"].shape))
    sample = valid[rng.choice(len(valid), size=min(args.loop_sample, len(valid)), replace=False)]
    t = time.perf_counter()
    loop = [
        loop_detectable(
            grid.position_ecef_m[a, c].tolist(),
            float(grid.ir_intensity_w_sr[a, c]),
            float(grid.rcs_m2[a, c]),
            pos[a, b, c].tolist(),
            table,
            int(b),
        )
        for a, b, c in sample
    ]
    loop_s = time.perf_counter() - t
    loop_rate = len(sample) / loop_s
    vec = masks["detectable"][sample[:, 0], sample[:, 1], sample[:, 2]]
    agree = int(np.sum(vec == np.array(loop)))

    doc = {
        "benchmark": "mw assessment",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "workload": {
            "scenario": SCENARIO,
            "launches": args.launches,
            "step_s": 2.0,
            "aim_solve_s_untimed": round(solve_s, 1),
            "fly_batch_s": round(fly_s, 2),
        },
        "rules": {
            "architecture": "all",
            "elements": elements,
            "kizuna_rule_masks_per_s": round(vec_rate),
            "python_loop_per_s": round(loop_rate),
            "ratio": round(vec_rate / loop_rate, 1),
            "loop_sample": len(sample),
            "agree": f"{agree}/{len(sample)}",
        },
        "monte_carlo": {},
    }
    print(f"fly_batch {args.launches} launches: {fly_s:.1f} s (aim solved once in {solve_s:.1f} s, untimed)")
    print(
        f"rules: kizuna {vec_rate:,.0f} elements/s vs Python loop {loop_rate:,.0f}/s = "
        f"{vec_rate / loop_rate:.0f}x; agree on {agree}/{len(sample)}",
        flush=True,
    )
    RESULTS.parent.mkdir(exist_ok=True)
    # 2 + 3. the whole assessment of the Monte Carlo per architecture, written after each one
    for name in ARCHITECTURES:
        t = time.perf_counter()
        result = assess(flights, archs[name], config=AssessConfig(step_s=2.0), seed=1)
        wall = time.perf_counter() - t
        row = summary_row(SCENARIO, result)
        m = {
            "sensors": len(archs[name]),
            "elements": result.elements,
            "assess_wall_s": round(wall, 2),
            "elements_per_s": round(result.elements / wall),
            "monte_carlo_wall_s": round(wall + fly_s, 2),
            # JSON has no NaN: a median over no launches (GEO makes no impact call) is null
            **{
                key: (None if isinstance(value, float) and math.isnan(value) else value)
                for key, value in (
                    ("first_detection_s_median", row["first_detection_s"]),
                    ("stereo_s_median", row["stereo_s"]),
                    ("tracked_midcourse_pct", row["tracked_midcourse_pct"]),
                    ("impact_warning_s_median", row["impact_warning_s"]),
                )
            },
        }
        doc["monte_carlo"][name] = m  # type: ignore[index]
        doc["machine"]["load_after"] = os.getloadavg()  # type: ignore[index]
        print(
            f"{name:8s} {m['sensors']:3d} sensors: assess {m['assess_wall_s']} s "
            f"({m['elements_per_s']:,} launch-sensor-steps/s), Monte Carlo {m['monte_carlo_wall_s']} s",
            flush=True,
        )
        RESULTS.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
