"""Collection planning benchmark: the optimal planner (0-1 program, HiGHS) against greedy-by-priority.

Run from the repository root:  .venv/bin/python benchmarks/bench_planning.py

Scenarios (generated here, seeded): Walker constellations at 575 km / 42 deg (the iQPS-like design),
requests scattered (sigma 0.3 deg) around Kyiv, Kharkiv, the Tsushima strait and the Senkaku islands,
priorities 1-3, random request windows, spotlight or stripmap, looks to either side; default agility
1 deg/s, 15 s settle. For each scenario, in one run: requests fulfilled per priority, the
lexicographic priority value (one request of a priority outweighs all of lower priority), how many
requests had any access at all (an upper bound), and wall time of each planner (access computation
included in both; it is shared work). Both plans are re-checked against the slew and duty rules.
Prints a table and writes benchmarks/results/planning.json.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

CENTRES = ((50.45, 30.52), (49.99, 36.23), (34.5, 129.5), (25.75, 123.5))
# (satellites, requests, hours, duty cycle, seed)
SCENARIOS = (
    (12, 120, 12, 0.05, 4),
    (24, 80, 12, 0.02, 1),
    (24, 150, 12, 0.02, 2),
    (24, 200, 6, 0.05, 5),
    (36, 200, 24, 0.01, 3),
    (36, 300, 24, 0.02, 6),
)


def make_requests(n: int, hours: float, seed: int):  # type: ignore[no-untyped-def]
    from kizuna.eo.planning import Request

    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2026-06-11T00:00:00", "ns")
    out = []
    for k in range(n):
        lat, lon = CENTRES[k % len(CENTRES)]
        a = rng.uniform(0, hours - 2)
        b = a + rng.uniform(2, hours - a)
        out.append(
            Request(
                f"r{k}",
                lat + rng.normal(0, 0.3),
                lon + rng.normal(0, 0.3),
                int(rng.integers(1, 4)),
                t0 + np.timedelta64(int(a * 3600), "s"),
                t0 + np.timedelta64(int(b * 3600), "s"),
                str(rng.choice(["spotlight", "stripmap"])),
                "both",
            )
        )
    return out


def check(plan, period_s: float, duty: float) -> bool:  # type: ignore[no-untyped-def]
    """Slew/settle between consecutive looks of a satellite and imaging time per orbit, from the output."""
    t0 = np.datetime64("2026-06-11T00:00:00", "ms")
    by_sat: dict[str, list] = {}
    for c in plan.collections:
        by_sat.setdefault(c.satellite, []).append(c)
    for cols in by_sat.values():
        cols.sort(key=lambda c: c.start_utc)
        used: dict[int, float] = {}
        for i, c in enumerate(cols):
            start = (np.datetime64(c.start_utc[:-1], "ms") - t0).astype(float) / 1000
            stop = (np.datetime64(c.stop_utc[:-1], "ms") - t0).astype(float) / 1000
            orbit = int(start // period_s)
            used[orbit] = used.get(orbit, 0.0) + (stop - start)
            if used[orbit] > duty * period_s + 0.01:
                return False
            if i:
                p = cols[i - 1]
                gap = start - (np.datetime64(p.stop_utc[:-1], "ms") - t0).astype(float) / 1000
                slew = 15.0 + abs(
                    p.off_nadir_deg * (1 if p.look_side == "right" else -1)
                    - c.off_nadir_deg * (1 if c.look_side == "right" else -1)
                )
                if gap < slew - 0.6:  # off-nadir is rounded to 0.01 deg in the output
                    return False
    return True


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    from kizuna.eo.constellation import walker
    from kizuna.eo.planning import plan_collections, priority_weights

    console = Console(width=170)
    rows = []
    for sats, n, hours, duty, seed in SCENARIOS:
        const = walker(sats, 4, 1, 575.0, 42.0, datetime(2026, 6, 11, tzinfo=UTC))
        reqs = make_requests(n, hours, seed)
        stop = np.datetime64("2026-06-11T00:00:00", "ns") + np.timedelta64(int(hours * 3600), "s")
        weights = priority_weights([r.priority for r in reqs])
        row: dict[str, object] = {
            "satellites": sats,
            "requests": n,
            "hours": hours,
            "duty_cycle": duty,
            "seed": seed,
        }
        for method in ("greedy", "optimal"):
            t = time.perf_counter()
            plan = plan_collections(const, reqs, "2026-06-11T00:00:00", stop, duty_cycle=duty, method=method)
            dt = time.perf_counter() - t
            row[method] = {
                "seconds": round(dt, 2),
                "fulfilled": len(plan.collections),
                "by_priority": {p: sum(1 for c in plan.collections if c.priority == p) for p in (3, 2, 1)},
                "value": sum(weights[c.priority] for c in plan.collections),
                "feasible": check(plan, const.element_sets[0].period_min * 60.0, duty),
                **{
                    k: v
                    for k, v in plan.parameters.items()
                    if k in ("candidates", "conflict_pairs", "optimal")
                },
            }
            if method == "greedy":
                row["with_any_access"] = sum(
                    1
                    for u in plan.unfulfilled
                    if "no access" not in str(u["reason"]) and "outside" not in str(u["reason"])
                ) + len(plan.collections)
        g, o = row["greedy"], row["optimal"]
        row["extra_fulfilled"] = o["fulfilled"] - g["fulfilled"]  # type: ignore[index,operator]
        row["time_ratio"] = round(o["seconds"] / g["seconds"], 1)  # type: ignore[index,operator]
        rows.append(row)
        console.print(
            f"{sats} sats, {n} requests, {hours:g} h, duty {duty:g}: greedy {g['fulfilled']} "
            f"optimal {o['fulfilled']} ({o['seconds']} s)"
        )

    t = Table(title="Collection planning: optimal (0-1 program, HiGHS) vs greedy by priority, same requests")
    for col in (
        "sats",
        "requests",
        "h",
        "duty",
        "with access",
        "greedy P3/P2/P1",
        "optimal P3/P2/P1",
        "extra served",
        "greedy s",
        "optimal s",
        "time ratio",
        "candidates",
        "conflict pairs",
        "proven optimal",
        "both feasible",
    ):
        t.add_column(col)
    for r in rows:
        g, o = r["greedy"], r["optimal"]
        t.add_row(
            str(r["satellites"]),
            str(r["requests"]),
            f"{r['hours']:g}",
            f"{r['duty_cycle']:g}",
            str(r["with_any_access"]),
            "/".join(str(v) for v in g["by_priority"].values()),  # type: ignore[index,union-attr]
            "/".join(str(v) for v in o["by_priority"].values()),
            f"{r['extra_fulfilled']:+d}",  # type: ignore[index,union-attr]
            f"{g['seconds']:.1f}",
            f"{o['seconds']:.1f}",
            f"{r['time_ratio']:g}x",  # type: ignore[index]
            str(o["candidates"]),
            str(o["conflict_pairs"]),
            str(o["optimal"]),  # type: ignore[index]
            str(g["feasible"] and o["feasible"]),
        )  # type: ignore[index]
    console.print(t)
    out = REPO / "benchmarks" / "results" / "planning.json"
    out.write_text(
        json.dumps(
            {
                "scenarios": rows,
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
            },
            indent=1,
        )
    )
    console.print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
