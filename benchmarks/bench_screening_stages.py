"""Where all-vs-all screening spends its CPU, stage by stage, on the shared 2022 full catalog.

Stages are the library's own functions called in order, as `screen` does: `prepare`, the
candidate search (`find_candidates`: SGP4 knots, interpolation, per-step pair filter), TCA
refinement (`refine_events`) and event building (`build_events`). Each stage's CPU seconds come
from time.process_time; inside the candidate search, cProfile splits SGP4, interpolation and the
compiled pair filter. The 1-min load average is printed at the start (the machine is shared).

Usage: python benchmarks/bench_screening_stages.py [--hours 24] [--objects N] [--save FILE]
`--json FILE` writes the stage CPU seconds, wall, load and counts. `--save` writes the event list (primary, secondary, tca ns, miss km) as .npy for comparisons
between versions; `--compare FILE` reports events lost, gained, and the largest TCA / miss change.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"


def events_array(events) -> np.ndarray:
    return np.array(
        [
            (e.primary, e.secondary, int(e.tca_utc.astype("datetime64[ns]").astype("int64")), e.miss_km)
            for e in events
        ],
        dtype=[("p", "i8"), ("s", "i8"), ("t", "i8"), ("m", "f8")],
    )


def compare(old: np.ndarray, new: np.ndarray) -> dict[str, float]:
    """Events matched by pair and TCA within 0.1 s; lost / gained counts and largest changes."""
    by_pair: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for p, s, t, m in new.tolist():
        by_pair.setdefault((p, s), []).append((t, m))
    lost = 0
    dt_max = dm_max = 0.0
    matched = 0
    for p, s, t, m in old.tolist():
        near = [x for x in by_pair.get((p, s), []) if abs(x[0] - t) < 100_000_000]
        if not near:
            lost += 1
            continue
        matched += 1
        dt_max = max(dt_max, abs(near[0][0] - t) / 1e9)
        dm_max = max(dm_max, abs(near[0][1] - m))
    return {"old": len(old), "new": len(new), "lost": lost, "gained": len(new) - matched,
            "max_tca_diff_s": dt_max, "max_miss_diff_km": dm_max}  # fmt: skip


def main() -> None:
    from kizuna.formats.detect import read_path
    from kizuna.sda import screening as s
    from kizuna.sda.records import ScreeningVolume

    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--objects", type=int, default=0, help="every k-th set so that about N remain (0: all)")
    ap.add_argument("--threshold-km", type=float, default=10.0)
    ap.add_argument("--step-s", type=float, default=0.0, help="coarse grid step [s] (0: the library default)")
    ap.add_argument("--save", default="")
    ap.add_argument("--compare", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    if not CATALOG.exists():
        sys.exit(f"{CATALOG} not found (../shared/data/tle/full_catalog_3le_2022-07.txt)")
    sets = read_path(CATALOG).records
    start = sorted(e.epoch_utc for e in sets)[len(sets) // 2].replace(minute=0, second=0, microsecond=0)
    if args.objects:
        sets = sets[:: max(1, len(sets) // args.objects)]
    stop = start + timedelta(hours=args.hours)
    load_start = os.getloadavg()[0]
    print(f"load 1-min at start: {load_start:.2f}")
    volume = ScreeningVolume.sphere(args.threshold_km)
    step_s = args.step_s or s.DEFAULT_STEP_S
    cpu: dict[str, float] = {}
    w0, c = time.perf_counter(), time.process_time()
    cat, volume, start_ns, stop_ns, grid = s.setup_run(sets, start, stop, None, volume, None, step_s, 14.0)
    cpu["prepare"] = time.process_time() - c
    c = time.process_time()
    prof = cProfile.Profile()
    prof.enable()
    ci, cj, ct, _errors = s.find_candidates(cat, grid, start_ns, stop_ns, step_s, volume.bound_km)
    prof.disable()
    cpu["find_candidates"] = time.process_time() - c
    c = time.process_time()
    found = s.refine_events(cat, ci, cj, ct, step_s, start_ns, stop_ns, volume)
    cpu["refine_events"] = time.process_time() - c
    c = time.process_time()
    events = s.build_events(cat, s.merge_found([found]))
    cpu["build_events"] = time.process_time() - c
    wall = time.perf_counter() - w0
    print(f"objects {len(cat.sets)}  steps {len(grid)}  candidates {len(ci)}  events {len(events)}")
    for k, v in cpu.items():
        print(f"  {k:16s} {v:8.2f} s CPU")
    print(
        f"  {'total':16s} {sum(cpu.values()):8.2f} s CPU, {wall:.1f} s wall; load 1-min at end {os.getloadavg()[0]:.2f}"
    )
    pstats.Stats(prof).sort_stats("tottime").print_stats(8)
    arr = events_array(events)
    if args.json:
        doc = {
            "catalog": "../shared/data/tle/full_catalog_3le_2022-07.txt",
            "hours": args.hours,
            "objects": len(cat.sets),
            "steps": len(grid),
            "candidates": len(ci),
            "events": len(events),
            "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
            "cpu_s_total": round(sum(cpu.values()), 2),
            "wall_s": round(wall, 1),
            "load_1min_at_start": round(load_start, 2),
            "load_1min_at_end": round(os.getloadavg()[0], 2),
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    if args.save:
        np.save(args.save, arr)
    if args.compare:
        print(compare(np.load(args.compare), arr))


if __name__ == "__main__":
    main()
