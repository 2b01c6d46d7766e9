"""How all-vs-all screening grows with the catalog: 2,000 / 8,000 / 24,000 / 100,000 objects.

The objects are nested random subsets (one seeded permutation) of the future catalog of
kizuna.sda.population: the shared 2022 full catalog (the newest full catalog in ../shared/data/tle)
plus the filed shells of Starlink Gen2, Guowang, Qianfan and Kuiper and 10 cm breakup debris, 100,000
objects in all. Each size runs in its own child process, so its peak memory is its own: ru_maxrss
and CPU seconds come from os.wait4 on the child, wall and CPU seconds of the screening call itself
from inside it. The growth exponents (time, memory, events) are least-squares slopes in log-log.

Usage: python benchmarks/bench_screening_scaling.py [--sizes 2000,8000,24000,100000] [--days 1]
       [--threshold-km 10] [--seed 0] [--workers 1] [--no-write]
Writes benchmarks/results/screening_scaling.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
RESULTS = ROOT / "benchmarks" / "results" / "screening_scaling.json"
#: the issue's budget for 1 day all-vs-all on 100,000 objects on this machine [s]
BUDGET_100K_S = 300.0


def child(size: int, days: float, threshold_km: float, seed: int, workers: int) -> None:
    """One measurement: build the future catalog, take the subset, screen; JSON on stdout."""
    from kizuna.formats.detect import read_path
    from kizuna.sda.population import future_catalog, nested_subsets
    from kizuna.sda.scaleout import screen_local
    from kizuna.sda.screening import screen

    fc = future_catalog(read_path(CATALOG).records, seed=seed)
    # the subset permutation has its own seed stream (seed + 1), so the catalog and the subsets
    # are independent draws
    pick = nested_subsets(len(fc.element_sets), [size], seed + 1)[0]
    sets = [fc.element_sets[i] for i in pick]
    start = fc.epoch_utc
    stop = start + timedelta(days=days)
    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t, c = time.perf_counter(), time.process_time()
    if workers > 1:
        res = screen_local(sets, start, stop, threshold_km=threshold_km, workers=workers)
    else:
        res = screen(sets, start, stop, threshold_km=threshold_km)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    kinds: dict[str, int] = {}
    for p in res.problems:
        kinds[p.reason] = kinds.get(p.reason, 0) + 1
    json.dump(
        {
            "size": size,
            "screened_objects": res.n_objects,
            "events": len(res.events),
            "candidates": res.n_candidates,
            "problems": kinds,
            "screen_wall_s": wall,
            "screen_cpu_s": cpu,  # this process only: with --workers > 1 add the workers'
            "rss_before_screen_mb": rss_before_mb,
        },
        sys.stdout,
    )


def measure(size: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", str(size), "--days", str(args.days)]
    cmd += [
        "--threshold-km",
        str(args.threshold_km),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"size {size}: child exited {proc.returncode}")
    row = json.loads(text)
    # worker processes of screen_local are the child's children: their CPU is in the child's
    # RUSAGE_CHILDREN, which wait4 does not report; with --workers 1 there are none
    row |= {
        "process_wall_s": wall,
        "process_cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "load_1min_at_start": load,
    }
    return row


def slope(sizes: list[int], values: list[float]) -> float:
    """Least-squares slope of log(value) on log(size): the growth exponent."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="2000,8000,24000,100000")
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--threshold-km", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true", help="print only; keep the results file")
    args = ap.parse_args()
    if args.child is not None:
        child(args.child, args.days, args.threshold_km, args.seed, args.workers)
        return
    if not CATALOG.exists():
        raise SystemExit(f"{CATALOG} is missing: the scaling run needs the shared 2022 full catalog")
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for size in sizes:
        row = measure(size, args)
        rows.append(row)
        print(
            f"{size:>7} objects: screen {row['screen_wall_s']:8.1f} s wall, "
            f"{row['screen_cpu_s']:8.1f} s CPU, peak {row['peak_rss_mb']:7.0f} MB, "
            f"{row['events']} events (load {row['load_1min_at_start']:.1f})",
            flush=True,
        )
    doc: dict = {
        "catalog": "future catalog: 2022 full catalog + filed shells + 10 cm debris (kizuna.sda.population)",
        "days": args.days,
        "threshold_km": args.threshold_km,
        "seed": args.seed,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    if len(rows) >= 2:
        n = [r["size"] for r in rows]
        doc["exponent"] = {
            "screen_wall_s": slope(n, [r["screen_wall_s"] for r in rows]),
            "screen_cpu_s": slope(n, [r["screen_cpu_s"] for r in rows]),
            "peak_rss_mb": slope(n, [r["peak_rss_mb"] for r in rows]),
            # what the screening call adds above the process that built the catalog
            "screen_rss_mb": slope(n, [max(r["peak_rss_mb"] - r["rss_before_screen_mb"], 1.0) for r in rows]),
            "events": slope(n, [max(r["events"], 1) for r in rows]),
        }
    big = [r for r in rows if r["size"] >= 100_000]
    if big:
        doc["budget_100k_s"] = BUDGET_100K_S
        doc["within_budget_100k"] = big[0]["screen_wall_s"] <= BUDGET_100K_S
    print()
    print(f"{'objects':>8} {'wall s':>9} {'CPU s':>9} {'peak MB':>9} {'events':>9} {'load':>5}")
    for r in rows:
        print(
            f"{r['size']:>8} {r['screen_wall_s']:>9.1f} {r['screen_cpu_s']:>9.1f} "
            f"{r['peak_rss_mb']:>9.0f} {r['events']:>9} {r['load_1min_at_start']:>5.1f}"
        )
    if "exponent" in doc:
        e = doc["exponent"]
        print(
            f"growth exponent: wall N^{e['screen_wall_s']:.2f}, CPU N^{e['screen_cpu_s']:.2f}, "
            f"memory N^{e['peak_rss_mb']:.2f} (screening's share N^{e['screen_rss_mb']:.2f}), events N^{e['events']:.2f}"
        )
    if not args.no_write:
        RESULTS.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
