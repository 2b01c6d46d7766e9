"""SSA passes: the access-engine pass finder against brute-force 10 s sampling; tasking plan time.

- kizuna: ``kizuna.ssa.visibility.find_passes`` (screening, Hermite-refined edges, detection) for
  the full 2022-07 public catalog in ../shared/data (24,132 objects; the bundled LEO sample when the
  file is absent) x 10 ground sensors x 1 day;
- brute force, side by side on a random subset of ``--brute-objects`` objects (the same for both):
  SGP4 at every 10 s in ITRF (kizuna.orbit.propagate) and the elevation of every sample from every
  sensor, passes as runs of samples above the mask (edges to 10 s, passes under 10 s can be
  missed). Reported: CPU of each, their ratio, and recall (sampled passes that kizuna also finds,
  rise within 12 s);
- tasking: ``kizuna.ssa.tasking.plan`` of 10,000 tracks over the full catalog's passes.

CPU time (time.process_time), best of --repeats. Run:
    PYTHONPATH=src .venv/bin/python benchmarks/bench_ssa_passes.py [--brute-objects 1000]
Writes benchmarks/results/ssa.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT.parent / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
SAMPLE = ROOT / "src" / "kizuna" / "data" / "sample" / "leo_2026-06_sample.3le"
STEP_S = 10.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def brute_force(sets, sensors, start, stop):  # noqa: ANN001, ANN201
    from kizuna.orbit import propagate, time_grid
    from kizuna.ssa.visibility import SiteArrays, _elevation

    sites = SiteArrays.of(sensors)
    grid = time_grid(start, stop, STEP_S)
    found = []
    for i in range(0, len(sets), 100):
        part = sets[i : i + 100]
        r = propagate(part, grid, "itrf").position_km
        for j, s in enumerate(sites.sensors):
            above = np.nan_to_num(_elevation(r, sites.r_km[j], sites.up[j]), nan=-90.0) >= sites.min_el_deg[j]
            d = np.diff(np.pad(above, ((0, 0), (1, 1))).astype(np.int8), axis=1)
            for o, k in zip(*np.nonzero(d == 1), strict=True):
                found.append((s.name, part[o].norad_id, grid[k]))
    return found


def recall(found, passes) -> float:  # noqa: ANN001
    if not found:
        return 1.0
    key: dict[tuple[str, int], np.ndarray] = {}
    for name in set(passes.sensor.astype(str)):
        m = passes.sensor.astype(str) == name
        for n in set(passes.norad_id[m].tolist()):
            key[(name, n)] = passes.rise_utc[m & (passes.norad_id == n)]
    hit = 0
    for name, n, rise in found:
        r = key.get((name, int(n)))
        if r is not None and np.min(np.abs((r - rise).astype("int64"))) <= (STEP_S + 2) * 1e9:
            hit += 1
    return hit / len(found)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--brute-objects", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    from kizuna.formats.detect import read_path
    from kizuna.ssa.sensors import load_sensors
    from kizuna.ssa.tasking import plan
    from kizuna.ssa.visibility import find_passes

    source = FULL if FULL.exists() else SAMPLE
    if source is SAMPLE:
        log(f"{FULL} is absent: using the bundled sample")
    sets = read_path(source).records
    start = "2022-07-15T00:00:00Z" if source is FULL else "2026-06-10T00:00:00Z"
    stop = str(np.datetime64(start.rstrip("Z")) + np.timedelta64(1, "D")) + "Z"
    sensors = [s for s in load_sensors().values() if s.kind in ("radar", "optical", "laser")][:10]
    rng = np.random.default_rng(1)
    subset = [
        sets[i] for i in sorted(rng.choice(len(sets), min(args.brute_objects, len(sets)), replace=False))
    ]

    def best(fn):  # noqa: ANN001, ANN202
        times, out = [], None
        for _ in range(args.repeats):
            t = time.process_time()
            out = fn()
            times.append(time.process_time() - t)
        return min(times), out

    log(f"subset: {len(subset)} objects x {len(sensors)} sensors, kizuna then brute force")
    k_sub_s, k_sub = best(lambda: find_passes(subset, sensors, start, stop))
    b_sub_s, b_sub = best(lambda: brute_force(subset, sensors, start, stop))
    log(f"  kizuna {k_sub_s:.1f} s, brute {b_sub_s:.1f} s")
    log(f"full: {len(sets)} objects x {len(sensors)} sensors")
    k_full_s, k_full = best(lambda: find_passes(sets, sensors, start, stop))
    log(f"  kizuna {k_full_s:.1f} s, {len(k_full)} passes")
    p_s, p = best(lambda: plan(k_full, sensors, {}, 10_000))
    log(f"  plan {p_s:.2f} s, {len(p)} tracks")
    doc = {
        "catalog": source.name,
        "objects": len(sets),
        "sensors": [s.name for s in sensors],
        "start_utc": start,
        "hours": 24,
        "subset": {
            "objects": len(subset),
            "kizuna_cpu_s": round(k_sub_s, 2),
            "brute_force_10s_cpu_s": round(b_sub_s, 2),
            "speedup": round(b_sub_s / k_sub_s, 2),
            "kizuna_passes": len(k_sub),
            "brute_force_passes": len(b_sub),
            "recall": round(recall(b_sub, k_sub), 5),
        },
        "full": {
            "kizuna_cpu_s": round(k_full_s, 1),
            "passes": len(k_full),
            "detectable_passes": int(k_full.detectable.sum()),
            "brute_force_10s_cpu_s_extrapolated": round(b_sub_s * len(sets) / len(subset), 1),
        },
        "tasking": {
            "budget": 10_000,
            "tracks": len(p),
            "candidates": p.considered,
            "refused_for_capacity": p.rejected_capacity,
            "cpu_s": round(p_s, 2),
        },
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
    }
    out = ROOT / "benchmarks" / "results" / "ssa.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
