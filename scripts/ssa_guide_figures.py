"""Figures and tables of the guide's "Space surveillance sensors" section, reproducibly.

    PYTHONPATH=src python scripts/ssa_guide_figures.py [--out docs/figures]

Uses the 2022-07 full public catalog in ../shared/data (24,132 objects, LEO to GEO) when present,
else the bundled LEO sample; object sizes from NASA CARA's hard-body radii (diameter = 2 x HBR)
where the file is present and gives one, else 1 m. One day of passes over every ground sensor of
the bundled network, then: the coverage table (Japan alone, with each ally, all), the GEO strip and
LEO maps, and the catalog-uncertainty study with 200 and 10,000 tracks a day.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from kizuna.formats.detect import read_path
from kizuna.plots.ssa import plot_geo_strip, plot_leo_coverage, plot_uncertainty_study
from kizuna.ssa.sensors import load_sensors
from kizuna.ssa.tasking import uncertainty_study
from kizuna.ssa.visibility import coverage, find_passes, is_leo, parse_network

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FULL = SHARED / "tle" / "full_catalog_3le_2022-07.txt"
HBR = SHARED / "satcat" / "cara_hbr_mass_estimates_20260601.csv"
SAMPLE = ROOT / "src" / "kizuna" / "data" / "sample" / "leo_2026-06_sample.3le"
NETWORKS = ("JPN", "JPN+USA", "JPN+AUS", "JPN+IND", "JPN+EUR", "ALL")


def sizes() -> dict[int, float]:
    if not HBR.exists():
        return {}
    out = {}
    with HBR.open(newline="") as fh:
        for row in csv.DictReader(fh):
            try:
                hbr = float(row["HBR"])
            except (TypeError, ValueError):
                continue
            if hbr > 0:
                out[int(row["ObjectID"])] = 2.0 * hbr
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = FULL if FULL.exists() else SAMPLE
    sets = read_path(source).records
    start = "2022-07-15T00:00:00Z" if source == FULL else "2026-06-10T00:00:00Z"
    stop = str(np.datetime64(start.rstrip("Z")) + np.timedelta64(1, "D")) + "Z"
    network = list(load_sensors().values())
    nets = dict(parse_network(n, network) for n in NETWORKS)
    ground = list({s.name: s for m in nets.values() for s in m}.values())
    size = sizes()
    t = time.process_time()
    passes = find_passes(sets, ground, start, stop, diameter_m=size)
    pass_cpu = time.process_time() - t
    cov = coverage(sets, passes, nets)
    plot_geo_strip(cov, args.out / "ssa_geo_strip.png", f"GEO belt per network ({source.name}, 1 day)")
    plot_leo_coverage(
        cov, args.out / "ssa_leo_coverage.png", ["JPN", "JPN+USA", "JPN+AUS", "JPN+IND", "JPN+EUR", "ALL"]
    )
    leo = [es for es in sets if is_leo(es)]
    ids = np.array([es.norad_id for es in leo])
    alt = np.array([es.semi_major_axis_km - 6378.137 for es in leo])
    study = {}
    series = {}
    for budget in (200, 10_000):
        t = time.process_time()
        r = uncertainty_study(passes, ground, ids, alt, budget, days=args.days)
        study[budget] = {
            "day": r.day.tolist(),
            "median_sigma_km": r.median_sigma_km.round(4).tolist(),
            "p90_sigma_km": r.p90_sigma_km.round(4).tolist(),
            "observed_fraction": r.observed_fraction.round(4).tolist(),
            "tracks_per_day": r.tracks_per_day.tolist(),
            "cpu_s": round(time.process_time() - t, 1),
        }
        series[f"{budget:,} tracks/day"] = {
            "day": r.day,
            "median_sigma_km": r.median_sigma_km,
            "p90_sigma_km": r.p90_sigma_km,
        }
    plot_uncertainty_study(
        series,
        args.out / "ssa_uncertainty.png",
        f"LEO catalog position sigma, {len(leo):,} objects ({source.name})",
    )
    doc = {
        "catalog": source.name,
        "objects": len(sets),
        "objects_with_cara_size": sum(1 for es in sets if es.norad_id in size),
        "start_utc": start,
        "ground_sensors": [s.name for s in ground],
        "passes": len(passes),
        "detectable_passes": int(passes.detectable.sum()),
        "passes_cpu_s": round(pass_cpu, 1),
        "coverage": cov.rows,
        "study": study,
    }
    (args.out / "ssa_results.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in doc.items() if k != "study"}, indent=1))
    for b, s in study.items():
        print(b, s["median_sigma_km"], s["observed_fraction"])


if __name__ == "__main__":
    main()
