"""`kizuna screen` end to end, as a user runs it: 1 day and 7 days all-vs-all and 200 assets x
7 days on the shared 2022 full catalog, each in a fresh process under `/usr/bin/time -v` (wall,
user + system CPU of the command and its worker processes, peak RSS of the largest process),
default options (every core, table output to /dev/null).

Usage: python benchmarks/bench_screening_cli.py --label after [--cases all_1d,all_7d,assets_7d]
           [--repeat N] [--db PATH]
The catalog is loaded once into a SQLite store (`kizuna catalog load`; --db keeps it between
runs). The assets are drawn as benchmarks/bench_screening.py draws them: 200 NORAD ids, without
replacement, numpy default_rng(1), among the sets with perigee below 2000 km and an epoch within
14 days of the start (the catalog's median epoch, to the hour: the command's default start).
Runs go to benchmarks/results/screening.json under "cli_<label>" (added to the label's earlier
runs; the other rows are kept), each with the 1-min load average at its start, with the best of
each measure: the machine is shared, so compare labels measured alternately in one session. The code measured is the `kizuna` package this Python imports
(PYTHONPATH decides), so a "before" label is measured by pointing PYTHONPATH at the old tree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
RESULTS = ROOT / "benchmarks" / "results" / "screening.json"
CASES = ("all_1d", "all_7d", "assets_7d")
N_ASSETS = 200


def kizuna(*args: str) -> list[str]:
    return [sys.executable, "-m", "kizuna", *args]


def draw_assets() -> list[int]:
    from kizuna.formats.detect import read_path
    from kizuna.ops.screening import default_start

    sets = read_path(CATALOG).records
    start = default_start(sets)
    fresh = [e for e in sets if (start - e.epoch_utc).days <= 14]
    rng = np.random.default_rng(1)
    ids = [e.norad_id for e in fresh if e.perigee_alt_km < 2000]
    return [int(x) for x in rng.choice(ids, N_ASSETS, replace=False)]


def timed(cmd: list[str]) -> dict[str, float]:
    """Wall, CPU [s] and peak RSS [MB] of `cmd` from GNU time's report."""
    load = os.getloadavg()[0]
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    report = proc.stderr
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} ... exited {proc.returncode}:\n{report[-2000:]}")

    def field(name: str) -> str:
        m = re.search(rf"{re.escape(name)}: (.+)", report)
        if m is None:
            raise SystemExit(f"no '{name}' in the report of /usr/bin/time")
        return m.group(1).strip()

    h_m_s = [float(x) for x in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(x * 60**k for k, x in enumerate(reversed(h_m_s)))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(float(field("Maximum resident set size (kbytes)")) / 1024.0, 1),
        "load_1min_at_start": round(load, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True, help="name of this series of rows (before, after, ...)")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--db", type=Path, default=None, help="SQLite store to reuse (loaded when absent)")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(cases) - set(CASES))
    if unknown or args.repeat < 1:
        raise SystemExit(f"--cases: one or more of {', '.join(CASES)}; --repeat at least 1")
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "catalog.db"
    if not db.exists():
        subprocess.run(
            kizuna("catalog", "load", str(CATALOG), "--db", str(db)), check=True, stdout=subprocess.DEVNULL
        )
    assets = ",".join(map(str, draw_assets()))
    commands = {
        "all_1d": ["--all", "--days", "1"],
        "all_7d": ["--all", "--days", "7"],
        "assets_7d": ["--assets", assets, "--days", "7"],
    }
    for case in cases:
        runs = [timed(kizuna("screen", *commands[case], "--db", str(db))) for _ in range(args.repeat)]
        print(f"{args.label:8s} {case:10s} {runs}", flush=True)
        # runs add to those already stored under the label: labels run alternately add up
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        row = results.setdefault(f"cli_{args.label}", {}).setdefault(case, {"runs": []})
        row["runs"] = row.get("runs", [row] if "wall_s" in row else []) + runs
        for key in ("wall_s", "cpu_s", "peak_rss_mb"):
            row.pop(key, None)
            row[f"best_{key}"] = min(r[key] for r in row["runs"])
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
