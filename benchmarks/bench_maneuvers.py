"""Maneuver detection benchmark: accuracy against operator logs, and throughput, vs the baseline.

Run from the repository root:  .venv/bin/python benchmarks/bench_maneuvers.py

Inputs (../shared/data; when absent the benchmark says so and exits 0):
  * maneuvers/shorten_tle_benchmark: TLE histories of 8 LEO altimetry satellites and 4 Fengyun GEO
    satellites, and the raw operator logs (IDS/DORIS *man.txt; Fengyun *.fy in CST, converted to UTC).
    The logged time is the start of the maneuver (first burn).
  * tle/history/iss_25544_2020-2024.tle (9,571 ISS sets).

Measured in one run, side by side:
  1. accuracy: precision, recall and F1 per satellite, and pooled for LEO and GEO, of the detector and of
     the plain baseline (jumps in semi-major axis beyond k robust sigmas, one global MAD, no drag
     model). A detection matches a logged maneuver when |t_detected - t_logged| <= 1.5 days (one-to-one);
     logged maneuvers between the same two element sets count as one; attitude-control entries are
     dropped. Tuning is leave-one-satellite-out: for each satellite, the detector's threshold k_sigma
     (grid K_GRID) and the baseline's k and time convention (window middle or start) are the ones with
     the best pooled F1 on the OTHER satellites of the same regime, and the satellite is scored with
     them; the pooled held-out counts are the headline. The shipped presets (LEO_CONFIG, GEO_CONFIG) are
     reported too: their k is the one chosen on all satellites of the regime. LEO recall is also broken
     down by how large each logged maneuver should look (its net delta-v as a change of semi-major axis
     or of the orbit plane, over the object's own element-set noise): what the sets can show at all.
  2. throughput and memory: there is no 30-day full-catalog history in the shared data, so the real
     histories above (13 objects, 43,142 sets) are cut into 30-day windows, each treated as one
     "object" (about 1,200 objects of ~35 sets, the shape of a catalog's month of sets). Objects/s for
     the detector with SGP4 residuals, without them, and for the baseline (timed without tracing);
     peak traced memory (tracemalloc, separate pass over 200 windows) per method. Objects are processed
     one at a time, so memory does not grow with the catalog.
Prints a table and writes benchmarks/results/maneuvers.json.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SHARED = REPO / ".." / "shared" / "data"
BENCH = SHARED / "maneuvers" / "shorten_tle_benchmark"
TOL_DAYS = 1.5
BASELINE_KS = (4.0, 6.0, 10.0, 20.0, 40.0)
BASELINE_ANCHORS = (0.5, 0.0)  # time at the window middle or start
K_GRID = (4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0)

SATS = {  # name: operator log file
    "CryoSat-2": "cs2man.txt",
    "Jason-1": "ja1man.txt",
    "Sentinel-3A": "s3aman.txt",
    "TOPEX": "topman.txt",
    "Jason-2": "ja2man.txt",
    "SARAL": "srlman.txt",
    "Sentinel-6A": "s6aman.txt",
    "Haiyang-2A": "h2aman.txt",
    "Fengyun-2D": "manFY2D.txt.fy",
    "Fengyun-2E": "manFY2E.txt.fy",
    "Fengyun-2F": "manFY2F.txt.fy",
    "Fengyun-4A": "manFY4A.txt.fy",
}


def leave_one_out(evals: dict[str, dict[object, object]], regime_of: dict[str, str], zero):  # type: ignore[no-untyped-def]
    """For each satellite, the grid choice with the best pooled F1 on the other satellites of its regime,
    and the satellite's evaluation with it. Returns {name: (choice, evaluation)}."""
    out = {}
    for name, by_choice in evals.items():
        others = [o for o in evals if o != name and regime_of[o] == regime_of[name]]

        def pooled_f1(choice: object, others: list[str] = others) -> float:
            total = zero
            for o in others:
                total = total + evals[o][choice]
            return total.f1

        best = max(by_choice, key=pooled_f1)
        out[name] = (best, by_choice[best])
    return out


SIZE_CLASSES = ((0.0, 3.0), (3.0, 10.0), (10.0, 30.0), (30.0, float("inf")))


def recall_by_expected_size(detections: dict, logs: dict, truths: dict) -> list[dict[str, object]]:  # type: ignore[type-arg]
    """Recall of the preset detector binned by how large each logged maneuver should look in the element
    sets: the net in-track delta-v of the log gives da = 2 dv_T / n (Gauss), the net cross-track delta-v a
    plane rotation dv_N / v; each is divided by the detector's robust noise of that series at the pair
    holding the maneuver, and the larger ratio is the event's size. Logged burns often come in pairs that
    cancel (eccentricity control), so a large logged delta-v can be a small net change. Events whose log
    has no burn vectors (TOPEX) are a class of their own."""
    from kizuna.sda import maneuvers as M

    counts: dict[str, list[int]] = {}
    for name, det in detections.items():
        s = det.series
        te = truths[name]
        found = M.matched_truth([m.t_utc for m in det.maneuvers], te, TOL_DAYS)
        pair_of_log = np.searchsorted(s.times_utc, M.as_datetime64([r.start_utc for r in logs[name]])) - 1
        for j, t in enumerate(te):
            k = int(np.searchsorted(s.times_utc, t)) - 1
            recs = [r for r, p in zip(logs[name], pair_of_log, strict=True) if p == k]  # same two sets
            if not any(r.burns for r in recs) or not 0 <= k < len(det.score):
                label = "no burn vectors in the log"
            else:
                n_rad_s = float(np.sqrt(M.MU_WGS72_KM3_S2 / s.a_km[k] ** 3))
                dv_t = sum(b.dv_rtn_mps[1] for r in recs for b in r.burns)
                dv_n = sum(b.dv_rtn_mps[2] for r in recs for b in r.burns)
                da_km = 2.0 * dv_t / n_rad_s / 1000.0
                dtheta_deg = float(np.degrees(abs(dv_n) / (n_rad_s * s.a_km[k] * 1000.0)))
                size = max(abs(da_km) / det.scores["a"].sigma[k], dtheta_deg / det.scores["inc"].sigma[k])
                lo, hi = next(c for c in SIZE_CLASSES if c[0] <= size < c[1])
                label = f"{lo:g}-{hi:g} sigma" if np.isfinite(hi) else f">= {lo:g} sigma"
            c = counts.setdefault(label, [0, 0])
            c[0] += 1
            c[1] += int(found[j])
    order = [f"{lo:g}-{hi:g} sigma" if np.isfinite(hi) else f">= {lo:g} sigma" for lo, hi in SIZE_CLASSES]
    order.append("no burn vectors in the log")
    return [
        {
            "size_class": k,
            "events": counts.get(k, [0, 0])[0],
            "found": counts.get(k, [0, 0])[1],
            "recall": round(counts[k][1] / counts[k][0], 4) if counts.get(k, [0])[0] else None,
        }
        for k in order
    ]


def main() -> int:
    if not BENCH.exists():
        print("../shared/data/maneuvers is absent: nothing to benchmark")
        return 0
    from rich.console import Console
    from rich.table import Table

    from kizuna.formats.maneuver_logs import read_maneuver_log
    from kizuna.formats.tle import read_tle
    from kizuna.sda import maneuvers as M

    console = Console(width=170)
    zero = M.Evaluation(TOL_DAYS, 0, 0, 0)
    histories: dict[str, list] = {}
    regime_of: dict[str, str] = {}
    lookback_of: dict[str, float] = {}
    truth_of: dict[str, np.ndarray] = {}
    logs_of: dict[str, list] = {}
    preset_det_of: dict[str, object] = {}
    det_evals: dict[str, dict[object, M.Evaluation]] = {}
    base_evals: dict[str, dict[object, M.Evaluation]] = {}
    for name, log in SATS.items():
        sets = M.clean_history(read_tle((BENCH / "processed_files" / f"{name}.tle").read_text()).records)
        histories[name] = sets
        logs_of[name] = [
            r
            for r in read_maneuver_log((BENCH / "raw_data" / "manoeuvres" / log).read_text()).records
            if r.orbital
        ]
        truth = [r.start_utc for r in logs_of[name]]
        series = M.element_series(sets)
        regime_of[name] = series.regime
        lookback_of[name] = series.a_lookback_days
        te = truth_of[name] = M.truth_events(truth, series.times_utc)
        preset = M.config_for_regime(series.regime)
        preset_det_of[name] = M.detect(sets, preset, residuals=False)
        det_evals[name] = {
            k: M.match_events(
                [
                    m.t_utc
                    for m in M.detect(sets, dataclasses.replace(preset, k_sigma=k), residuals=False).maneuvers
                ],
                te,
                TOL_DAYS,
            )
            for k in sorted({*K_GRID, preset.k_sigma})
        }
        base_evals[name] = {
            (k, anchor): M.match_events(M.detect_baseline(sets, k, anchor), te, TOL_DAYS)
            for k in BASELINE_KS
            for anchor in BASELINE_ANCHORS
        }
    # Leave-one-satellite-out choices: the grid of the detector excludes the preset's own k unless in K_GRID.
    det_loo = leave_one_out(
        {n: {k: e for k, e in ev.items() if k in K_GRID} for n, ev in det_evals.items()}, regime_of, zero
    )
    base_loo = leave_one_out(base_evals, regime_of, zero)
    per_sat: list[dict[str, object]] = []
    pooled: dict[str, M.Evaluation] = {}
    for name in SATS:
        reg = regime_of[name]
        preset_k = M.config_for_regime(reg).k_sigma
        rows = {
            "held-out": det_loo[name][1],
            "preset": det_evals[name][preset_k],
            "baseline k=6": base_evals[name][(6.0, 0.5)],
            "baseline held-out": base_loo[name][1],
        }
        for key, ev in rows.items():
            pooled[f"{reg} {key}"] = pooled.get(f"{reg} {key}", zero) + ev
        per_sat.append(
            {
                "satellite": name,
                "regime": reg,
                "element_sets": len(histories[name]),
                "logged_events": len(truth_of[name]),
                "a_lookback_days": lookback_of[name],
                "detector_held_out": {"k_sigma": det_loo[name][0], **det_loo[name][1].as_dict()},
                "detector_preset": {"k_sigma": preset_k, **rows["preset"].as_dict()},
                "baseline_k6": rows["baseline k=6"].as_dict(),
                "baseline_held_out": {
                    "k": base_loo[name][0][0],
                    "time_anchor": base_loo[name][0][1],
                    **base_loo[name][1].as_dict(),
                },
            }
        )

    t = Table(
        title=f"Accuracy vs operator logs (match within {TOL_DAYS} d); held-out = thresholds chosen on "
        "the other satellites of the regime"
    )
    for col in (
        "satellite",
        "regime",
        "events",
        "look-back d",
        "k held-out",
        "P",
        "R",
        "F1 held-out",
        "F1 preset",
        "baseline F1 k=6",
        "baseline F1 held-out",
    ):
        t.add_column(col)
    for r in per_sat:
        d, p = r["detector_held_out"], r["detector_preset"]
        t.add_row(
            str(r["satellite"]),
            str(r["regime"]),
            str(r["logged_events"]),
            f"{r['a_lookback_days']:g}",
            f"{d['k_sigma']:g}",
            f"{d['precision']:.3f}",
            f"{d['recall']:.3f}",
            f"{d['f1']:.3f}",
            f"{p['f1']:.3f}",
            f"{r['baseline_k6']['f1']:.3f}",
            f"{r['baseline_held_out']['f1']:.3f}",
        )
    for reg in ("LEO", "GEO"):
        d = pooled[f"{reg} held-out"]
        t.add_row(
            f"[bold]{reg} pooled",
            "",
            str(d.true_positives + d.false_negatives),
            "",
            "",
            f"{d.precision:.3f}",
            f"{d.recall:.3f}",
            f"[bold]{d.f1:.3f}",
            f"{pooled[f'{reg} preset'].f1:.3f}",
            f"{pooled[f'{reg} baseline k=6'].f1:.3f}",
            f"{pooled[f'{reg} baseline held-out'].f1:.3f}",
        )
    console.print(t)

    by_size = recall_by_expected_size(
        {n: preset_det_of[n] for n in SATS if regime_of[n] == "LEO"}, logs_of, truth_of
    )
    z = Table(
        title="LEO recall (preset detector) by the size the operator log implies, in units of the object's "
        "own element-set noise at that time"
    )
    for col in ("logged change / TLE noise", "events", "found", "recall"):
        z.add_column(col)
    for r in by_size:
        z.add_row(
            str(r["size_class"]),
            str(r["events"]),
            str(r["found"]),
            f"{r['recall']:.3f}" if r["events"] else "-",
        )
    console.print(z)

    # ---- throughput on 30-day windows of every real history
    iss = SHARED / "tle" / "history" / "iss_25544_2020-2024.tle"
    if iss.exists():
        histories["ISS"] = read_tle(iss.read_text()).records
    windows: list[list] = []
    for sets in histories.values():
        sets = M.clean_history(sets)
        ep = np.array([s.epoch_utc.timestamp() for s in sets]) / 86400.0
        bins = np.floor((ep - ep[0]) / 30.0).astype(int)
        for b in np.unique(bins):
            w = [sets[i] for i in np.flatnonzero(bins == b)]
            if len(w) >= 8:
                windows.append(w)
    n_sets = sum(len(w) for w in windows)

    def run(label: str, fn) -> dict[str, float]:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        count = sum(len(fn(w)) for w in windows)
        dt = time.perf_counter() - t0
        # Memory in a second pass (tracemalloc slows allocation-heavy code, so never while timing).
        tracemalloc.start()
        for w in windows[:200]:
            fn(w)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {
            "method": label,
            "seconds": round(dt, 3),
            "objects_per_s": round(len(windows) / dt, 1),
            "sets_per_s": round(n_sets / dt, 1),
            "peak_traced_mb": round(peak / 1e6, 2),
            "detections": count,
        }

    speed = [
        run("detector + SGP4 RTN residuals", lambda w: M.detect(w).maneuvers),
        run("detector, element series only", lambda w: M.detect(w, residuals=False).maneuvers),
        run("baseline (a jumps, global MAD)", M.detect_baseline),
    ]
    ref = speed[-1]["objects_per_s"]
    s = Table(
        title=f"Throughput: {len(windows)} thirty-day windows ({n_sets} element sets) of "
        f"{len(histories)} real histories"
    )
    for col in ("method", "s", "objects/s", "sets/s", "x baseline speed", "peak traced MB", "detections"):
        s.add_column(col)
    for r in speed:
        r["speed_vs_baseline"] = round(r["objects_per_s"] / ref, 3)
        s.add_row(
            str(r["method"]),
            f"{r['seconds']:.2f}",
            f"{r['objects_per_s']:.0f}",
            f"{r['sets_per_s']:.0f}",
            f"{r['speed_vs_baseline']:.3f}",
            f"{r['peak_traced_mb']:.1f}",
            str(r["detections"]),
        )
    console.print(s)

    out = REPO / "benchmarks" / "results" / "maneuvers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "tolerance_days": TOL_DAYS,
                "k_grid": K_GRID,
                "baseline_k_grid": BASELINE_KS,
                "per_satellite": per_sat,
                "pooled": {k: v.as_dict() for k, v in pooled.items()},
                "leo_recall_by_logged_size": by_size,
                "throughput": {"windows": len(windows), "element_sets": n_sets, "methods": speed},
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
            },
            indent=1,
        )
    )
    console.print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
