"""Orbit determination: fits per second through Kizuna's path against Orekit called directly, and
covariance realism (NEES over Monte Carlo runs) of the simulated LEO and GEO campaigns.

1. Speed. The LEO campaign (three radar passes, range + az/el every 20 s, 8x8 + Sun/Moon) is fitted
   by batch least squares from the same perturbed guess, in one run, two ways (best of --repeats):
   - floor: Orekit called directly: the measurements already built as Orekit objects, a
     ``NumericalPropagatorBuilder`` and ``BatchLSEstimator.estimate()``, nothing else;
   - kizuna: ``ssa.od.fit`` from Kizuna's measurements (builds the Orekit objects, the force model,
     the estimator, then the covariance and the residual records).
   The ratio is the floor's time over kizuna's (1: the adapter costs nothing). EKF and UKF fits
   of the same data are timed through kizuna too. CPU time of the process is reported beside wall
   time, as the machine is shared.
2. Realism. ``od_campaigns.run`` over --runs seeds (default 200) for each campaign: mean NEES
   against the 95 % two-sided chi-square band of 6 x runs degrees of freedom, RMS position error
   against the mean position sigma the covariance claims.

Run: .venv/bin/python benchmarks/bench_od.py [--runs 200] [--geo-runs 200] [--repeats 3]
Writes benchmarks/results/od.json.
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
sys.path.insert(0, str(ROOT / "src"))

from kizuna.orbit import orekit as ok  # noqa: E402
from kizuna.ssa import od, od_campaigns  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _timed(fn):  # noqa: ANN001, ANN202
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def direct_orekit_fit(campaign: od_campaigns.Campaign, orekit_measurements: list, guess: np.ndarray):  # noqa: ANN201
    """The floor: Orekit's batch least squares with nothing of Kizuna around it."""
    from org.hipparchus.optim.nonlinear.vector.leastsquares import LevenbergMarquardtOptimizer
    from org.orekit.estimation.leastsquares import BatchLSEstimator

    builder = od.propagator_builder(campaign.epoch, guess, campaign.options)
    estimator = BatchLSEstimator(LevenbergMarquardtOptimizer(), builder)
    estimator.setParametersConvergenceThreshold(campaign.options.convergence)
    estimator.setMaxIterations(campaign.options.max_iterations)
    estimator.setMaxEvaluations(campaign.options.max_iterations * 2)
    for m in orekit_measurements:
        estimator.addMeasurement(m)
    propagators = estimator.estimate()
    return propagators[0].getInitialState().getOrbit()


def speed(repeats: int) -> dict:
    campaign = od_campaigns.leo_radar_campaign()
    rng = np.random.default_rng(7)
    measurements, _ = od.truth_measurements(
        campaign.epoch,
        campaign.truth,
        campaign.stations,
        campaign.schedule,
        campaign.sigmas,
        rng,
        campaign.options,
    )
    guess = campaign.truth + np.r_[rng.normal(0, 1000.0, 3), rng.normal(0, 1.0, 3)]
    orekit_measurements, _ = od._prepare(measurements, campaign.stations, campaign.options)
    rows: dict[str, dict] = {}
    # one warm-up each: the JVM compiles Orekit's hot paths on first use
    direct_orekit_fit(campaign, orekit_measurements, guess)
    od.fit(measurements, campaign.stations, campaign.epoch, guess, campaign.options)
    best: dict[str, tuple[float, float]] = {}
    for _ in range(repeats):
        for name, fn in (
            ("floor_orekit_direct", lambda: direct_orekit_fit(campaign, orekit_measurements, guess)),
            (
                "kizuna_batch",
                lambda: od.fit(measurements, campaign.stations, campaign.epoch, guess, campaign.options),
            ),
            (
                "kizuna_ekf",
                lambda: od.fit(
                    measurements,
                    campaign.stations,
                    campaign.epoch,
                    guess,
                    od.OdOptions(**{**campaign.options.__dict__, "method": "ekf"}),
                ),
            ),
            (
                "kizuna_ukf",
                lambda: od.fit(
                    measurements,
                    campaign.stations,
                    campaign.epoch,
                    guess,
                    od.OdOptions(**{**campaign.options.__dict__, "method": "ukf"}),
                ),
            ),
        ):
            _, wall, cpu = _timed(fn)
            prev = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(prev[0], wall), min(prev[1], cpu))
            log(f"{name}: {wall:.2f} s wall, {cpu:.2f} s cpu")
    for name, (wall, cpu) in best.items():
        rows[name] = {"wall_s": wall, "cpu_s": cpu, "fits_per_s": 1.0 / wall}
    rows["ratio_floor_over_kizuna_batch"] = {
        "wall": best["floor_orekit_direct"][0] / best["kizuna_batch"][0],
        "cpu": best["floor_orekit_direct"][1] / best["kizuna_batch"][1],
    }
    return {"measurements": len(measurements), "repeats": repeats, "fits": rows}


def realism(campaign: od_campaigns.Campaign, runs: int) -> dict:
    out = []
    start = time.perf_counter()
    for seed in range(runs):
        try:
            out.append(od_campaigns.run(campaign, 1000 + seed))
        except od.OdError as exc:
            log(f"{campaign.name} seed {seed}: {exc}")
        if (seed + 1) % 10 == 0:
            log(f"{campaign.name}: {seed + 1}/{runs} runs, {time.perf_counter() - start:.0f} s")
    doc = od_campaigns.summary(out)
    doc["failed"] = runs - len(out)
    doc["within_band"] = bool(doc["nees_low_95"] <= doc["mean_nees"] <= doc["nees_high_95"])
    doc["seconds"] = time.perf_counter() - start
    return doc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200, help="LEO Monte Carlo runs")
    parser.add_argument("--geo-runs", type=int, default=200, help="GEO Monte Carlo runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    ok.start()
    doc: dict = {"machine": platform.platform(), "cpus": __import__("os").cpu_count()}
    doc["load_average_start"] = __import__("os").getloadavg()
    doc["speed_leo_3_passes"] = speed(args.repeats)
    if args.runs > 0:
        doc["nees_leo_3_radar_passes"] = realism(od_campaigns.leo_radar_campaign(), args.runs)
    if args.geo_runs > 0:
        doc["nees_geo_2_nights_angles"] = realism(od_campaigns.geo_optical_campaign(), args.geo_runs)
    doc["load_average_end"] = __import__("os").getloadavg()
    text = json.dumps(doc, indent=2)
    print(text)
    if not args.no_write:
        path = ROOT / "benchmarks" / "results" / "od.json"
        path.write_text(text + "\n")
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
