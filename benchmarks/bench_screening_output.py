"""Writing the events of `kizuna screen -f json|csv`: the per-event path against the column
writer, side by side in one process, on the events of a real full-catalog screening.

- `per-event`: each event made as a ConjunctionEvent, `as_dict`, `finite_or_none`, an indented
  `json.dumps` (or `_csv_cell` and csv.writer) one at a time: `stream_json(..., iter(rows))`,
  the path a plain list of events still takes;
- `columns`: `stream_json(..., EventRows(table))`, the EventTable written a block at a time.

The events are those of `kizuna screen --all --days 1` on the shared 2022 full catalog
(../shared/data/tle/full_catalog_3le_2022-07.txt), closest first as the command writes them.
The two paths run alternately (old, new, then new, old, ...) into a sink that drops the text,
timed in CPU seconds (time.process_time) and wall seconds; then each writes once more into a
SHA-256 to show the bytes are the same. The 1-minute load average is recorded at the start and
the end: the machine is shared, so CPU seconds are the comparable figure.

Usage: python benchmarks/bench_screening_output.py [--days 1] [--repeat 2] [--no-write]
Writes benchmarks/results/screening_output.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
RESULT = ROOT / "benchmarks" / "results" / "screening_output.json"


class _Drop:
    """A text sink that keeps only the character count (the paths are timed, not the disk)."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


class _Digest:
    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.bytes = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "surrogatepass")
        self.sha.update(data)
        self.bytes += len(data)
        return len(text)


def _load1() -> float:
    return os.getloadavg()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each path and format")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if not CATALOG.exists():
        sys.exit(f"{CATALOG} is absent")

    from kizuna.cli.sda import EVENT_COLUMNS, EventRows, stream_csv, stream_json
    from kizuna.ops.screening import ScreeningRequest, run_screening
    from kizuna.sda.records import EventTable, closest_first
    from kizuna.store import CatalogStore

    load_start = _load1()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "catalog.db")
        subprocess.run(
            [sys.executable, "-m", "kizuna", "-q", "catalog", "load", str(CATALOG), "--db", db], check=True
        )
        wall = time.perf_counter()
        # as the command screens: local worker processes, one per core
        run = run_screening(CatalogStore(db), ScreeningRequest(all_vs_all=True, days=args.days, workers=None))
        screening_wall_s = time.perf_counter() - wall
    result = run.result
    events = closest_first(result.events)
    assert isinstance(events, EventTable), "the screening returns an EventTable"
    rows = EventRows(events)
    head = {"parameters": run.parameters, "shown": len(rows), "total": len(events)}
    tail = {
        "problems": [p.as_dict() for p in result.problems],
        "objects": result.n_objects,
        "primaries": result.n_primaries,
    }
    print(f"{len(events)} events from {result.n_objects} objects; screening {screening_wall_s:.1f} s wall")

    writers: dict[tuple[str, str], Callable[[Any], None]] = {
        ("json", "per-event"): lambda sink: stream_json(head, "events", iter(rows), tail, sink),
        ("json", "columns"): lambda sink: stream_json(head, "events", rows, tail, sink),
        ("csv", "per-event"): lambda sink: stream_csv(iter(rows), EVENT_COLUMNS, sink),
        ("csv", "columns"): lambda sink: stream_csv(rows, EVENT_COLUMNS, sink),
    }
    runs: dict[str, dict[str, list[dict[str, float]]]] = {"json": {}, "csv": {}}
    for fmt in ("json", "csv"):
        for r in range(args.repeat):
            order = ("per-event", "columns") if r % 2 == 0 else ("columns", "per-event")
            for path in order:
                sink = _Drop()
                cpu, wall = time.process_time(), time.perf_counter()
                writers[fmt, path](sink)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                runs[fmt].setdefault(path, []).append({"cpu_s": round(cpu, 3), "wall_s": round(wall, 3)})
                print(
                    f"{fmt:4} {path:9} run {r + 1}: {cpu:6.2f} s CPU {wall:6.2f} s wall ({sink.chars:,} chars)"
                )

    same: dict[str, dict[str, object]] = {}
    for fmt in ("json", "csv"):
        digests = {}
        for path in ("per-event", "columns"):
            sink = _Digest()
            writers[fmt, path](sink)
            digests[path] = (sink.sha.hexdigest(), sink.bytes)
        same[fmt] = {
            "identical": digests["per-event"] == digests["columns"],
            "sha256": digests["columns"][0],
            "bytes": digests["columns"][1],
        }
        print(f"{fmt}: {digests['columns'][1]:,} bytes, identical: {same[fmt]['identical']}")

    summary = {}
    for fmt in ("json", "csv"):
        old = float(np.median([x["cpu_s"] for x in runs[fmt]["per-event"]]))
        new = float(np.median([x["cpu_s"] for x in runs[fmt]["columns"]]))
        summary[fmt] = {
            "per_event_cpu_s_median": round(old, 3),
            "columns_cpu_s_median": round(new, 3),
            "speedup": round(old / new, 1),
            "per_event_us_per_event": round(old / len(events) * 1e6, 2),
            "columns_us_per_event": round(new / len(events) * 1e6, 2),
        }
        print(f"{fmt}: per-event {old:.2f} s CPU, columns {new:.2f} s CPU: {old / new:.1f}x")
    doc = {
        "what": "kizuna screen -f json|csv output of a 1-day all-vs-all full-catalog screening: "
        "per-event path vs EventTable column writer, same process, alternating, sink drops the text",
        "catalog": "../shared/data/tle/full_catalog_3le_2022-07.txt",
        "days": args.days,
        "events": len(events),
        "objects": result.n_objects,
        "screening_wall_s": round(screening_wall_s, 1),
        "runs": runs,
        "summary": summary,
        "same_bytes": same,
        "load_1min": {"start": load_start, "end": _load1()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
    }
    if not args.no_write:
        RESULT.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {RESULT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
