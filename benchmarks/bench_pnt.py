"""GNSS DOP map benchmark: evaluations (grid points x times) per second, kizuna vs a plain numpy
loop and vs gnss_lib_py 1.1.0, measured in one run.

Run from the repository root:  .venv/bin/python benchmarks/bench_pnt.py [--repeats 3]

Workload: the bundled 2026-07 element sets of every GNSS (166 satellites: GPS, GLONASS, Galileo,
BeiDou, QZSS, NavIC), 24 h at 300 s (289 times), the "japan" region (Japan and the first island
chain) on a 1 deg grid (1312 points), 10 deg mask: 379,168 evaluations.

1. Map, whole pipeline (lines of sight, mask, multi-GNSS DOP with one clock per system):
   kizuna `evaluate_dop` vs a plain loop over points and times that does the same with numpy per
   evaluation (H built row by row from the satellites in view, Q = inv(H^T H)). The loop runs on
   a sample of points (all times) and its rate is per evaluation; the results are compared.
2. DOP alone from elevation/azimuth with one clock (what gnss_lib_py's `get_dop` computes):
   kizuna `dop_from_lines_of_sight` vs `gnss_lib_py.utils.dop.get_dop` on the same angles,
   gnss_lib_py on a sample of points; the results must agree to 1e-9.
Satellite propagation (SGP4, TEME -> ITRF) is shared by all and timed on its own.
Prints a table and writes benchmarks/results/pnt.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from kizuna.formats.detect import read_path
from kizuna.orbit.timescale import time_grid
from kizuna.pnt import (
    REGIONS,
    SYSTEMS,
    ElevationMask,
    catalog_positions,
    dop_from_lines_of_sight,
    elevation_azimuth_deg,
    evaluate_dop,
    line_of_sight,
    region_grid,
)

RESULTS = Path(__file__).resolve().parent / "results" / "pnt.json"
ELEMENTS = Path(str(resources.files("kizuna") / "data" / "pnt" / "gnss_2026-07.csv"))
MASK_DEG = 10.0


def best_of(repeats: int, fn):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def numpy_loop(receivers, sats, clock: np.ndarray, n_clocks: int, points: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """PDOP per (point, time), one evaluation at a time: the straightforward way to write it."""
    pdop = np.full((len(points), len(sats.times_utc)), np.nan)
    for a, p in enumerate(points):
        rx, enu = receivers.position_km[p], receivers.enu[p]
        for j in range(len(sats.times_utc)):
            rho = sats.position_km[:, j] - rx
            u = (rho / np.linalg.norm(rho, axis=1, keepdims=True)) @ enu.T
            seen = np.degrees(np.arcsin(np.clip(u[:, 2], -1, 1))) >= MASK_DEG
            columns = sorted(set(clock[seen].tolist()))
            h = np.zeros((int(seen.sum()), 3 + len(columns)))
            h[:, :3] = -u[seen]
            for row, c in enumerate(clock[seen]):
                h[row, 3 + columns.index(c)] = 1.0
            if h.shape[0] >= h.shape[1]:
                pdop[a, j] = np.sqrt(np.trace(np.linalg.inv(h.T @ h)[:3, :3]))
    return pdop


def gnss_lib_py_dops(el: np.ndarray, az: np.ndarray, points: np.ndarray) -> np.ndarray:
    """PDOP per (point, time) from gnss_lib_py: one NavData per point holding every time."""
    from gnss_lib_py.navdata.navdata import NavData
    from gnss_lib_py.utils.dop import get_dop

    n_times = el.shape[1]
    out = np.full((len(points), n_times), np.nan)
    for a, p in enumerate(points):
        seen = el[p] >= MASK_DEG  # (T, N)
        t_idx, n_idx = np.nonzero(seen)
        nav = NavData()
        nav["gps_millis"] = t_idx.astype("float64") * 1000.0
        nav["el_sv_deg"] = el[p][t_idx, n_idx]
        nav["az_sv_deg"] = az[p][t_idx, n_idx]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dop = get_dop(nav, PDOP=True, HDOP=False, VDOP=False)
        out[a, np.unique(t_idx)] = np.asarray(dop["PDOP"], dtype="float64")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-points", type=int, default=12, help="points the numpy loop runs (all times)")
    parser.add_argument("--glp-points", type=int, default=24, help="points gnss_lib_py runs (all times)")
    args = parser.parse_args()

    sets = read_path(ELEMENTS).raise_first().records
    times = time_grid("2026-07-10T00:00:00Z", "2026-07-11T00:00:00Z", 300.0)
    t_prop, sats = best_of(args.repeats, lambda: catalog_positions(sets, list(SYSTEMS), times))
    grid = region_grid(REGIONS["japan"], 1.0)
    receivers = grid.receivers()
    mask = ElevationMask(MASK_DEG)
    evaluations = len(receivers) * len(times)
    rng = np.random.default_rng(20260710)

    # 1. the whole map
    t_kizuna, series = best_of(args.repeats, lambda: evaluate_dop(receivers, sats, mask))
    letters = list(series.clocks)
    clock = np.array([letters.index(s) for s in sats.system])
    loop_points = np.sort(rng.choice(len(receivers), size=args.loop_points, replace=False))
    t_loop, loop_pdop = best_of(
        args.repeats, lambda: numpy_loop(receivers, sats, clock, len(letters), loop_points)
    )
    loop_rate = loop_pdop.size / t_loop
    kizuna_rate = evaluations / t_kizuna
    agree_map = float(np.nanmax(np.abs(loop_pdop - series.pdop[loop_points])))

    # 2. DOP alone, one clock (GPS), from elevation and azimuth
    gps = sats.subset(["G"])
    los = line_of_sight(receivers, gps.position_km)
    el, az = elevation_azimuth_deg(los)
    one = np.zeros(len(gps), dtype=int)
    t_dop, dops = best_of(args.repeats, lambda: dop_from_lines_of_sight(los, el >= MASK_DEG, one, 1))
    glp_points = np.sort(rng.choice(len(receivers), size=args.glp_points, replace=False))
    t_glp, glp_pdop = best_of(args.repeats, lambda: gnss_lib_py_dops(el, az, glp_points))
    glp_rate = glp_pdop.size / t_glp
    dop_rate = evaluations / t_dop
    agree_glp = float(np.nanmax(np.abs(glp_pdop - dops["pdop"][glp_points])))

    import gnss_lib_py

    doc = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "gnss_lib_py": gnss_lib_py.__version__ if hasattr(gnss_lib_py, "__version__") else "1.1.0",
        "satellites": sats.counts(),
        "points": len(receivers),
        "times": len(times),
        "evaluations": evaluations,
        "propagation_s": round(t_prop, 3),
        "map": {
            "kizuna_s": round(t_kizuna, 3),
            "kizuna_evaluations_per_s": round(kizuna_rate),
            "numpy_loop_points": int(len(loop_points)),
            "numpy_loop_s": round(t_loop, 3),
            "numpy_loop_evaluations_per_s": round(loop_rate),
            "ratio_kizuna_over_numpy_loop": round(kizuna_rate / loop_rate, 1),
            "max_abs_pdop_difference": agree_map,
        },
        "dop_only_single_clock": {
            "kizuna_s": round(t_dop, 3),
            "kizuna_evaluations_per_s": round(dop_rate),
            "gnss_lib_py_points": int(len(glp_points)),
            "gnss_lib_py_s": round(t_glp, 3),
            "gnss_lib_py_evaluations_per_s": round(glp_rate),
            "ratio_kizuna_over_gnss_lib_py": round(dop_rate / glp_rate, 1),
            "max_abs_pdop_difference": agree_glp,
        },
    }
    assert agree_glp < 1e-9 and agree_map < 1e-9, doc
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    m, d = doc["map"], doc["dop_only_single_clock"]
    print(f"kizuna pnt benchmark: {sats.counts()} satellites, {len(receivers)} points x {len(times)} times")
    print(f"propagation (SGP4 + ITRF), shared: {t_prop:.2f} s")
    print(f"{'map (LOS + mask + multi-GNSS DOP)':40s} {'eval/s':>12s} {'ratio':>8s}")
    print(f"{'  kizuna evaluate_dop':40s} {m['kizuna_evaluations_per_s']:>12,} {'1':>8s}")
    print(
        f"{'  numpy loop per evaluation':40s} {m['numpy_loop_evaluations_per_s']:>12,} "
        f"{1 / m['ratio_kizuna_over_numpy_loop']:>8.3f}   (kizuna x{m['ratio_kizuna_over_numpy_loop']})"
    )
    print(f"{'DOP only, one clock, from el/az':40s}")
    print(f"{'  kizuna dop_from_lines_of_sight':40s} {d['kizuna_evaluations_per_s']:>12,} {'1':>8s}")
    print(
        f"{'  gnss_lib_py get_dop':40s} {d['gnss_lib_py_evaluations_per_s']:>12,} "
        f"{1 / d['ratio_kizuna_over_gnss_lib_py']:>8.4f}   (kizuna x{d['ratio_kizuna_over_gnss_lib_py']})"
    )
    print(f"agreement: map {agree_map:.1e}, gnss_lib_py {agree_glp:.1e} (max |PDOP difference|)")
    print(f"JSON: {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
