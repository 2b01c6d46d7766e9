"""AIS track cleaning's sort: kizuna's (vessel, time) rank sort against numpy's four-key lexsort.

``clean_tracks`` orders positions by (mmsi, time, lat, lon) with a stable sort, so that of two
reports of one vessel at one time the first arrival is kept. The peer is
``np.lexsort((lon, lat, time, mmsi))``; kizuna's ``vessel_time_position_order`` must give the
same permutation (checked here on every run, and in tests/test_tracks_order.py) and is timed
against it, A/B interleaved, by this process's CPU time (``time.process_time``: the machine is
shared). Then ``clean_tracks`` itself on the same positions.

Input: SYNTHETIC --positions (default 1,000,000) reports of 2,000 vessels steaming on straight
tracks, arriving interleaved in time order (as a feed does), 1 % of them heard twice; generated
with numpy here, never committed.

Run: .venv/bin/python benchmarks/bench_ais_tracks.py [--positions N] [--rounds R].
Writes benchmarks/results/ais_tracks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kizuna.maritime.tracks import clean_tracks, vessel_time_position_order  # noqa: E402
from kizuna.model.maritime import PositionArrays  # noqa: E402


def synthetic_positions(n: int, vessels: int = 2000, seed: int = 16) -> PositionArrays:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    v = k % vessels
    step = k // vessels
    lat0, lon0 = rng.uniform(-50, 50, vessels), rng.uniform(-170, 170, vessels)
    course, sog = rng.uniform(0, 360, vessels), rng.uniform(5, 15, vessels)
    dist_deg = sog[v] * 1852 / 111_195 * 10 * step / 3600
    lat = np.round(lat0[v] + dist_deg * np.cos(np.radians(course[v])), 6)
    lon = np.round(lon0[v] + dist_deg * np.sin(np.radians(course[v])) / np.cos(np.radians(lat0[v])), 6)
    t_ns = (1_772_323_200 + step * 10 + (v % 10)) * 10**9
    mmsi = 200_000_000 + v * 37
    heard_twice = rng.choice(n, n // 100, replace=False)
    idx = np.sort(np.r_[k, heard_twice])  # the repeat arrives right after the first report
    return PositionArrays(
        mmsi[idx],
        t_ns[idx].astype("datetime64[ns]"),
        lat[idx],
        lon[idx],
        sog[v][idx],
        course[v][idx],
        np.full(len(idx), np.nan),
    )


def cpu(fn) -> tuple[float, object]:  # noqa: ANN001
    c = time.process_time()
    out = fn()
    return time.process_time() - c, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "ais_tracks.json")
    args = ap.parse_args()
    p = synthetic_positions(args.positions)
    t = p.time_utc.astype("int64")
    keys = (p.mmsi, t, p.lat_deg, p.lon_deg)
    lex_s, rank_s, clean_s = [], [], []
    for _ in range(args.rounds):  # interleaved: both see the same load
        s, ref = cpu(lambda: np.lexsort((p.lon_deg, p.lat_deg, t, p.mmsi)))
        lex_s.append(s)
        s, got = cpu(lambda: vessel_time_position_order(*keys))
        rank_s.append(s)
        if not np.array_equal(ref, got):
            print("vessel_time_position_order differs from np.lexsort", file=sys.stderr)
            return 1
        s, tracks = cpu(lambda: clean_tracks(p))
        clean_s.append(s)
    result = {
        "machine": {"python": platform.python_version(), "cores": os.cpu_count()},
        "load_average": os.getloadavg()[0],
        "positions": len(p),
        "duplicates": tracks.report.duplicates,  # type: ignore[attr-defined]
        "np_lexsort_cpu_s": round(min(lex_s), 3),
        "vessel_time_position_order_cpu_s": round(min(rank_s), 3),
        "speedup_vs_np_lexsort": round(min(lex_s) / min(rank_s), 2),
        "clean_tracks_cpu_s": round(min(clean_s), 3),
        "rounds": args.rounds,
    }
    print(json.dumps(result, indent=2))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
