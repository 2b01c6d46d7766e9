"""Threat-trajectory Monte Carlo: N launches in one vectorized `fly_batch` against the same
launches one call each, and against scipy's DOP853 (rtol 1e-10) per launch, in one run.

The launches are one solved IRBM shot from Sunan with its kick turned to N azimuths (a Monte
Carlo over launch azimuth; launch time only stamps the record). The one-at-a-time and DOP853
rows time a sample and scale it to N (stated in the output).

    .venv/bin/python benchmarks/bench_mw_trajectory.py [--launches 1000] [--sample 20]

Writes benchmarks/results/mw_trajectory.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from kizuna.mw import trajectory as tj  # noqa: E402
from kizuna.mw.threats import bundled_sites  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launches", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=20)
    args = ap.parse_args()
    s0, s1 = bundled_sites()["sunan"], bundled_sites()["kadena"]
    base = tj.solve_launch("IRBM", s0.lat_deg, s0.lon_deg, s1.lat_deg, s1.lon_deg)
    tilt = math.hypot(base.kick_east_deg, base.kick_north_deg)
    az = np.linspace(60.0, 200.0, args.launches)
    launches = [
        tj.Launch(
            s0.lat_deg,
            s0.lon_deg,
            s1.lat_deg,
            s1.lon_deg,
            tilt * math.sin(math.radians(a)),
            tilt * math.cos(math.radians(a)),
            base.cutoff_s,
        )
        for a in az
    ]
    t0 = time.perf_counter()
    batch = tj.fly_batch(launches, "IRBM")
    t_batch = time.perf_counter() - t0
    sample = launches[: args.sample]
    t0 = time.perf_counter()
    for launch in sample:
        tj.fly_batch([launch], "IRBM")
    t_loop = (time.perf_counter() - t0) / len(sample) * args.launches
    from test_mw_trajectory import _dop853_flight  # the reference integrator of the tests

    n_ref = max(1, args.sample // 4)
    t0 = time.perf_counter()
    miss = []
    for launch, traj in zip(launches[:n_ref], batch[:n_ref], strict=True):
        impact, _t, _v = _dop853_flight(launch, "hwasong-12-like")
        miss.append(float(np.linalg.norm(traj.position_ecef_m[-1] - impact)))
    t_ref = (time.perf_counter() - t0) / n_ref * args.launches
    rows = [
        ("fly_batch, one call", t_batch, "measured"),
        ("fly_batch, one launch per call", t_loop, f"{len(sample)} timed, scaled to N"),
        ("scipy DOP853 rtol 1e-10 per launch", t_ref, f"{n_ref} timed, scaled to N"),
    ]
    print(f"{args.launches} IRBM launches (Sunan, azimuths 60-200 deg), flights to impact")
    for name, sec, how in rows:
        print(
            f"  {name:38s} {sec:9.2f} s  {args.launches / sec:9.1f} launches/s  x{sec / t_batch:6.1f}  ({how})"
        )
    print(f"  impact difference to DOP853: max {max(miss):.1f} m over {n_ref} launches")
    out = Path(__file__).resolve().parent / "results" / "mw_trajectory.json"
    out.write_text(
        json.dumps(
            {
                "launches": args.launches,
                "rows": [{"name": n, "seconds": s, "how": h} for n, s, h in rows],
                "impact_difference_to_dop853_m": miss,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
