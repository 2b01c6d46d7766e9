"""Earth-observation benchmark: access + revisit, kizuna vs NASA TAT-C 3.6, measured in one run.

Run from the repository root:  .venv/bin/python benchmarks/bench_eo.py [--tatc-sats N] [--days D]

1. 24-satellite Walker (24/4/1, 575 km, 42 deg), 7 days, H3 points of the box 129-146 E, 30-46 N at
   ~100 km and ~50 km: kizuna compute_access + revisit statistics vs TAT-C collect_observations +
   aggregate_observations on the same points with the same nadir cone (field of regard 60 deg).
   TAT-C runs each satellite in turn, so by default it runs on the first --tatc-sats satellites and
   its time is extrapolated linearly to 24 (stated in the output); windows are compared on that subset
   (start/stop within 2 s, none missing or extra).
2. 36 satellites (36/4/1), 7 days, the same box at ~10 km (H3 resolution 5): kizuna wall time.
Prints a table and writes benchmarks/results/eo.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from kizuna.eo.access import compute_access
from kizuna.eo.aoi import grid_points, h3_resolution
from kizuna.eo.constellation import walker
from kizuna.eo.revisit import per_target
from kizuna.eo.sensors import ConeSensor

START = datetime(2026, 6, 11, tzinfo=UTC)
BOX = (129.0, 146.0, 30.0, 46.0)


def run_tatc(const, targets, days: float, n_sats: int):  # type: ignore[no-untyped-def]
    from tatc.analysis import aggregate_observations, collect_observations
    from tatc.schemas import Instrument, Point, Satellite, TwoLineElements

    from kizuna.formats.tle import write_tle

    # Designs carry no international designator; TAT-C's OMM export needs one (a placeholder here).
    sats = [
        Satellite(
            name=str(i),
            orbit=TwoLineElements(
                tle=write_tle([replace(es, object_id="2026-999A")], names=False).splitlines()[:2]
            ),
            instruments=[Instrument(name="cone", field_of_regard=60.0)],
        )
        for i, es in enumerate(const.element_sets[:n_sats])
    ]
    points = [
        Point(id=j, latitude=float(targets.lat_deg[j]), longitude=float(targets.lon_deg[j]))
        for j in range(len(targets))
    ]
    t = time.perf_counter()
    obs = collect_observations(points, sats, START, START + timedelta(days=days))
    agg = aggregate_observations(obs)
    return time.perf_counter() - t, obs, agg


def compare(acc, obs, targets) -> dict[str, object]:
    lon = np.array([g.x for g in obs.geometry])
    lat = np.array([g.y for g in obs.geometry])
    key = {
        (round(a, 6), round(b, 6)): j
        for j, (a, b) in enumerate(zip(targets.lon_deg, targets.lat_deg, strict=True))
    }
    j_ref = np.array([key[(round(a, 6), round(b, 6))] for a, b in zip(lon, lat, strict=True)])
    i_ref = obs.satellite.astype(int).to_numpy()
    s_ref = obs.start.dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    e_ref = obs.end.dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    sub = acc.select(acc.sat_index < i_ref.max() + 1) if len(obs) else acc
    worst, missing, grazing = 0.0, 0, []
    k_of = {}
    for k in range(len(sub)):
        k_of.setdefault((int(sub.sat_index[k]), int(sub.target_index[k])), []).append(k)
    for n in range(len(obs)):
        ks = k_of.get((int(i_ref[n]), int(j_ref[n])), [])
        d = [abs((sub.start_utc[k] - s_ref[n]).astype("int64")) / 1e9 for k in ks]
        if not d or min(d) > 60:
            missing += 1
            grazing.append(float((e_ref[n] - s_ref[n]).astype("int64") / 1e9))
            continue
        k = ks[int(np.argmin(d))]
        worst = max(worst, min(d), abs((sub.stop_utc[k] - e_ref[n]).astype("int64")) / 1e9)
    return {
        "tatc_windows": len(obs),
        "kizuna_windows_same_sats": len(sub),
        "missing_in_kizuna": missing,
        "max_edge_diff_s": round(worst, 4),
        # TAT-C windows kizuna lacks, by TAT-C duration: sub-second grazes where the two geometries
        # (Skyfield vs kizuna frames, geodetic nadir) differ by ~1e-4 deg of off-nadir.
        "missing_tatc_durations_s": [round(g, 3) for g in grazing],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--tatc-sats", type=int, default=3, help="satellites TAT-C runs on (time extrapolated to 24)"
    )
    ap.add_argument("--days", type=float, default=7.0)
    args = ap.parse_args()
    sensor = ConeSensor(30.0)
    rows, results = (
        [],
        {"machine": platform.processor() or platform.machine(), "python": platform.python_version()},
    )
    w24 = walker(24, 4, 1, 575.0, 42.0, START)
    for spacing in (100.0, 50.0):
        targets = grid_points(*BOX, spacing)
        t = time.perf_counter()
        acc = compute_access(w24, targets, START, START + timedelta(days=args.days), sensor)
        stats = per_target(acc, targets)
        t_kiz = time.perf_counter() - t
        entry = {
            "points": len(targets),
            "h3_res": h3_resolution(spacing),
            "kizuna_s": round(t_kiz, 3),
            "kizuna_windows": len(acc),
            "mean_revisit_s": float(np.nanmean([s.mean_revisit_s for s in stats])),
        }
        try:
            t_tatc, obs, _ = run_tatc(w24, targets, args.days, args.tatc_sats)
            t_full = t_tatc * 24 / args.tatc_sats
            entry |= {
                "tatc_s_measured": round(t_tatc, 3),
                "tatc_sats": args.tatc_sats,
                "tatc_s_extrapolated_24": round(t_full, 2),
                "ratio_tatc_over_kizuna": round(t_full / t_kiz, 1),
                **compare(acc, obs, targets),
            }
        except ImportError:
            entry["tatc"] = "not installed"
        results[f"walker24_7d_{spacing:g}km"] = entry
        rows.append((f"24 sats, {args.days:g} d, ~{spacing:g} km ({len(targets)} pts)", entry))
    w36 = walker(36, 4, 1, 575.0, 42.0, START)
    targets = grid_points(*BOX, 10.0)
    t, c = time.perf_counter(), time.process_time()
    acc = compute_access(w36, targets, START, START + timedelta(days=args.days), sensor)
    per_target(acc, targets)
    t36, c36 = time.perf_counter() - t, time.process_time() - c
    # CPU seconds next to wall seconds: on a shared machine the wall time depends on the neighbours.
    results["walker36_7d_10km"] = {
        "points": len(targets),
        "h3_res": h3_resolution(10.0),
        "kizuna_s": round(t36, 2),
        "kizuna_cpu_s": round(c36, 2),
        "load_avg_1min": os.getloadavg()[0],
        "kizuna_windows": len(acc),
        "target_s": 60,
    }
    rows.append((f"36 sats, {args.days:g} d, ~10 km ({len(targets)} pts)", results["walker36_7d_10km"]))
    print(
        f"{'scenario':44s} {'kizuna s':>9s} {'TAT-C s (extrap.)':>18s} {'ratio':>7s} {'windows':>9s} "
        f"{'max edge diff s':>15s} {'missing':>7s}"
    )
    for name, e in rows:
        print(
            f"{name:44s} {e['kizuna_s']:9.2f} {e.get('tatc_s_extrapolated_24', float('nan')):18.1f} "
            f"{e.get('ratio_tatc_over_kizuna', float('nan')):7.1f} {e['kizuna_windows']:9d} "
            f"{e.get('max_edge_diff_s', float('nan')):15.3f} {e.get('missing_in_kizuna', 0):7d}"
        )
    out = Path(__file__).parent / "results" / "eo.json"
    out.write_text(json.dumps(results, indent=2))
    e36 = results["walker36_7d_10km"]
    print(
        f"36-satellite run: {e36['kizuna_s']} s wall, {e36['kizuna_cpu_s']} s CPU (2 threads), "
        f"load average {e36['load_avg_1min']:.1f} on {os.cpu_count()} cores"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
