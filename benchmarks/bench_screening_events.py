"""What happens after the candidates are found: TCA refinement, merging and event building,
against the per-pair path they replaced, side by side in one run.

Each path runs in its own child process (so its peak RSS is its own): the candidate search
(the same code in both), then
- `per-pair`: Brent on the range-rate one candidate at a time (`refine_tca`), the per-pair
  encounter loop, a list of ConjunctionEvent with the maximum Pc by grid + golden-section search
  (the code as it stood, kept below);
- `batched`: `refine_events` (all candidates together), `merge_found`, `build_events` (an
  EventTable, maximum Pc from its closed condition).
Per stage CPU seconds (time.process_time), peak RSS (wait4), and the two results compared:
same pairs, largest TCA, miss and Pc differences. The 1-minute load average is recorded at
the start of each child: the machine is shared, so CPU seconds are the comparable figure.

Usage: python benchmarks/bench_screening_events.py [--days 1] [--future 40000] [--order ab]
       [--no-write]
Without --future: the shared 2022 full catalog (../shared/data/tle/full_catalog_3le_2022-07.txt);
with it: that many objects of the future catalog (kizuna.sda.population, as
bench_screening_scaling.py draws them). Writes benchmarks/results/screening_events_<catalog>_<days>d.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
RESULTS = ROOT / "benchmarks" / "results"
STEP_S = 60.0
THRESHOLD_KM = 10.0


def _per_pair_refine(S, cat, ci, cj, ct, start_ns, stop_ns, volume):
    """refine_events as it was: Brent per candidate, per-pair encounter loop, volume test."""
    sats: dict = {}
    found: dict[tuple[int, int], list[int]] = {}
    for n in np.lexsort((ct, cj, ci)):
        i, j, t = int(ci[n]), int(cj[n]), int(ct[n])
        seen = found.setdefault((i, j), [])
        if any(abs(t - s) < STEP_S * S.NS / 4 for s in seen if s >= 0):
            continue
        for x in (i, j):
            if x not in sats:
                sats[x] = S.satrec_from_element_set(cat.sets[x])
        try:
            tca = S.refine_tca(sats[i], sats[j], t, STEP_S, start_ns, stop_ns)
        except ValueError:
            continue
        if tca is None or any(abs(tca - s) < S.NS for s in seen):
            continue
        seen.append(tca)
    out = [(i, j, t) for (i, j), ts in found.items() for t in ts]
    if not out:
        return []
    arr = np.array(out, dtype="int64")
    r1, v1, r2, v2 = _per_object_states(S, cat, sats, arr)
    rel = r2 - r1
    inside = volume.contains(S.to_rtn(r1, v1, rel), np.linalg.norm(rel, axis=1))
    return [tuple(x) for x in arr[inside].tolist()]


def _per_object_states(S, cat, sats, arr):
    obj = np.concatenate([arr[:, 0], arr[:, 1]])
    t = np.concatenate([arr[:, 2], arr[:, 2]])
    days, rem = np.divmod(t, 86_400 * S.NS)
    jd = 2440587.5 + days.astype(float)
    fr = rem / (86_400 * S.NS)
    r = np.empty((len(obj), 3))
    v = np.empty_like(r)
    order = np.argsort(obj, kind="stable")
    for grp in np.split(order, np.flatnonzero(np.diff(obj[order])) + 1):
        x = int(obj[grp[0]])
        if x not in sats:
            sats[x] = S.satrec_from_element_set(cat.sets[x])
        _e, r[grp], v[grp] = sats[x].sgp4_array(jd[grp], fr[grp])
    m = len(arr)
    return r[:m], v[:m], r[m:], v[m:]


def _per_pair_merge(found):
    out, last = [], {}
    for i, j, t in sorted(set(found)):
        if (i, j) in last and t - last[(i, j)] < 1_000_000_000:
            continue
        last[(i, j)] = t
        out.append((i, j, t))
    return out


def _per_pair_build(S, cat, found):
    """build_events as it was: a list of ConjunctionEvent, Pc by grid + golden section."""
    from kizuna.sda.pc import PC_MAX_ISOTROPIC, pc_max_isotropic_search
    from kizuna.sda.records import ConjunctionEvent

    rows = []
    for i, j, t in found:
        if cat.is_primary[j] and (not cat.is_primary[i] or cat.norad_ids[j] < cat.norad_ids[i]):
            i, j = j, i
        rows.append((i, j, t))
    rows.sort(key=lambda x: (x[2], int(cat.norad_ids[x[0]]), int(cat.norad_ids[x[1]])))
    arr = np.array(rows, dtype="int64")
    r1, v1, r2, v2 = _per_object_states(S, cat, {}, arr)
    times = arr[:, 2].astype("datetime64[ns]")
    i1, iv1 = S.teme_to_itrf(r1[None], v1[None], times)
    i2, iv2 = S.teme_to_itrf(r2[None], v2[None], times)
    rel = r2 - r1
    miss = np.linalg.norm(rel, axis=1)
    speed = np.linalg.norm(v2 - v1, axis=1)
    rtn = S.to_rtn(r1, v1, rel)
    hbrs = [((S.DEFAULT_HBR_M, "default"), (S.DEFAULT_HBR_M, "default")) for _ in rows]
    pcs, _ = pc_max_isotropic_search(miss, np.array([(a[0] + b[0]) / 1000.0 for a, b in hbrs]))
    teme1, teme2 = np.hstack([r1, v1]).tolist(), np.hstack([r2, v2]).tolist()
    itrf1, itrf2 = np.hstack([i1[0], iv1[0]]).tolist(), np.hstack([i2[0], iv2[0]]).tolist()
    events = []
    for n, (i, j, t) in enumerate(rows):
        (ha, sa), (hb, sb) = hbrs[n]
        events.append(
            ConjunctionEvent(
                primary=int(cat.norad_ids[i]),
                secondary=int(cat.norad_ids[j]),
                tca_utc=np.datetime64(int(t), "ns"),
                miss_km=float(miss[n]),
                rel_speed_kms=float(speed[n]),
                radial_km=float(rtn[n, 0]),
                intrack_km=float(rtn[n, 1]),
                crosstrack_km=float(rtn[n, 2]),
                primary_teme=tuple(teme1[n]),
                secondary_teme=tuple(teme2[n]),
                primary_itrf=tuple(itrf1[n]),
                secondary_itrf=tuple(itrf2[n]),
                pc=float(pcs[n]),
                pc_method=PC_MAX_ISOTROPIC,
                hbr_m=ha + hb,
                hbr_source=f"{sa}+{sb}",
                primary_name=cat.sets[i].object_name or "",
                secondary_name=cat.sets[j].object_name or "",
                primary_object_id=cat.sets[i].object_id or "",
                secondary_object_id=cat.sets[j].object_id or "",
            )
        )
    return events


def _load(args):
    from kizuna.formats.detect import read_path

    if args.future:
        from kizuna.sda.population import future_catalog, nested_subsets

        fc = future_catalog(read_path(CATALOG).records, seed=0)
        pick = nested_subsets(len(fc.element_sets), [args.future], 1)[0]
        return [fc.element_sets[i] for i in pick], fc.epoch_utc
    from kizuna.ops.screening import default_start

    sets = read_path(CATALOG).records
    return sets, default_start(sets)


def child(path: str, args: argparse.Namespace, out_npz: str) -> None:
    from kizuna.sda import screening as S

    load = os.getloadavg()[0]
    sets, start = _load(args)
    cat, volume, start_ns, stop_ns, grid = S.setup_run(
        sets, start, start + timedelta(days=args.days), None, None, THRESHOLD_KM, STEP_S, 14.0
    )
    rss_catalog_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    cpu: dict[str, float] = {}
    c = time.process_time()
    ci, cj, ct, _errors = S.find_candidates(cat, grid, start_ns, stop_ns, STEP_S, volume.bound_km)
    cpu["find_candidates"] = time.process_time() - c
    rss_candidates_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    c = time.process_time()
    if path == "per-pair":
        found = _per_pair_refine(S, cat, ci, cj, ct, start_ns, stop_ns, volume)
    else:
        found = S.refine_events(cat, ci, cj, ct, STEP_S, start_ns, stop_ns, volume)
    cpu["refine"] = time.process_time() - c
    c = time.process_time()
    merged = _per_pair_merge(found) if path == "per-pair" else S.merge_found([found])
    cpu["merge"] = time.process_time() - c
    del found
    c = time.process_time()
    events = _per_pair_build(S, cat, merged) if path == "per-pair" else S.build_events(cat, merged)
    cpu["build_events"] = time.process_time() - c
    # every event read once, as the CLI's output does
    c = time.process_time()
    n_read = sum(1 for _e in events)
    cpu["read_events"] = time.process_time() - c
    if path == "per-pair":
        cols = (
            [e.primary for e in events],
            [e.secondary for e in events],
            [int(e.tca_utc.astype("int64")) for e in events],
            [e.miss_km for e in events],
            [e.pc for e in events],
        )
    else:
        cols = (
            events.column("primary"),
            events.column("secondary"),
            events.column("tca_ns"),
            events.column("miss_km"),
            events.column("pc"),
        )
    np.savez(out_npz, primary=cols[0], secondary=cols[1], tca_ns=cols[2], miss_km=cols[3], pc=cols[4])
    json.dump(
        {
            "path": path,
            "objects": len(cat.sets),
            "candidates": len(ci),
            "events": n_read,
            "cpu_s": cpu,
            "cpu_after_candidates_s": cpu["refine"] + cpu["merge"] + cpu["build_events"] + cpu["read_events"],
            "rss_after_catalog_mb": rss_catalog_mb,
            "rss_after_candidates_mb": rss_candidates_mb,
            "load_1min_at_start": load,
        },
        sys.stdout,
    )


def measure(path: str, args: argparse.Namespace, out_npz: str) -> dict:
    cmd = [sys.executable, __file__, "--child", path, "--npz", out_npz, "--days", str(args.days)]
    if args.future:
        cmd += ["--future", str(args.future)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{path}: child failed")
    row = json.loads(text)
    row |= {
        "process_wall_s": time.perf_counter() - t,
        "process_cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
    }
    return row


def compare(a_npz: str, b_npz: str) -> dict:
    a, b = np.load(a_npz), np.load(b_npz)
    ka = np.lexsort((a["tca_ns"], a["secondary"], a["primary"]))
    kb = np.lexsort((b["tca_ns"], b["secondary"], b["primary"]))
    same = len(ka) == len(kb) and bool(
        np.array_equal(a["primary"][ka], b["primary"][kb])
        and np.array_equal(a["secondary"][ka], b["secondary"][kb])
    )
    out: dict = {"same_pairs": same, "events": [len(ka), len(kb)]}
    if same and len(ka):
        out["max_tca_diff_ns"] = int(np.max(np.abs(a["tca_ns"][ka] - b["tca_ns"][kb])))
        out["max_miss_diff_km"] = float(np.max(np.abs(a["miss_km"][ka] - b["miss_km"][kb])))
        out["max_pc_rel_diff"] = float(np.max(np.abs(a["pc"][ka] - b["pc"][kb]) / a["pc"][ka]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--future", type=int, default=0, help="objects of the future catalog (0: the 2022 one)")
    ap.add_argument("--order", default="ab", help="ab: per-pair first, ba: batched first")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--npz", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.child, args, args.npz)
        return
    if not CATALOG.exists():
        raise SystemExit(f"{CATALOG} is missing: this benchmark needs the shared 2022 full catalog")
    paths = ["per-pair", "batched"] if args.order == "ab" else ["batched", "per-pair"]
    with tempfile.TemporaryDirectory() as tmp:
        rows = {p: measure(p, args, f"{tmp}/{p}.npz") for p in paths}
        diff = compare(f"{tmp}/per-pair.npz", f"{tmp}/batched.npz")
    old, new = rows["per-pair"], rows["batched"]
    doc = {
        "catalog": f"future catalog, {args.future} objects" if args.future else "2022 full catalog",
        "days": args.days,
        "threshold_km": THRESHOLD_KM,
        "step_s": STEP_S,
        "cpu_count": os.cpu_count(),
        "runs": [rows[p] for p in paths],
        "comparison": diff,
        "cpu_ratio_after_candidates": old["cpu_after_candidates_s"] / new["cpu_after_candidates_s"],
        "peak_rss_ratio": old["peak_rss_mb"] / new["peak_rss_mb"],
    }
    for p in paths:
        r = rows[p]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_s"].items())
        print(f"{p:>9}: CPU s {stages}; peak {r['peak_rss_mb']:.0f} MB (load {r['load_1min_at_start']:.1f})")
    print(f"after the candidates: {doc['cpu_ratio_after_candidates']:.2f}x less CPU; {diff}")
    if not args.no_write:
        tag = f"future{args.future}" if args.future else "full2022"
        (RESULTS / f"screening_events_{tag}_{args.days:g}d.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
