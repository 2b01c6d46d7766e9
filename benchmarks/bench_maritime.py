"""Maritime benchmarks, each side by side with a peer or brute-force reference in one run.

1. AIS ingest (decode + validation + typed records) and track cleaning + events, in messages/s,
   on the largest shared AIS NMEA file (repeated to get a measurable run), vs a plain pyais
   decode loop (pyais.stream.IterMessages + decode()). Events need times: the file has none, so
   each line gets a synthetic receive time 0.1 s after the previous one (stated in the output).
2. CA-CFAR (K model) on a SYNTHETIC 10,000 x 10,000 scene (strips of 1,024 rows) vs a brute-force
   per-pixel window mean on a 120 x 120 crop, in pixels/s; OS-CFAR on 1,000 x 1,000.
3. Dark-vessel matching: 10,000 detections vs 100,000 AIS positions (20,000 vessels x 5 reports)
   vs dense scipy linear_sum_assignment on the full cost matrix for a 2,000 x 4,000 subset.

Run: .venv/bin/python benchmarks/bench_maritime.py [--quick]. Writes benchmarks/results/maritime.json.
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
SHARED_AIS = ROOT.parent / "shared" / "data" / "ais"
T_IMG = np.datetime64("2026-06-01T01:30:00", "ns")


def _timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def largest_ais_file() -> Path:
    cands = [
        p
        for p in SHARED_AIS.rglob("*")
        if p.is_file() and p.suffix in (".log", ".txt", ".aivdm", ".nmea", ".ais")
    ]
    if not cands:
        return ROOT / "src/kizuna/data/ais/gpsd_ais-nmea.log"
    return max(cands, key=lambda p: p.stat().st_size)


def bench_ais(repeats: int) -> dict[str, object]:
    from pyais.stream import IterMessages

    from kizuna.formats.ais import NmeaDecoder, split_records
    from kizuna.maritime.events import detect_events
    from kizuna.maritime.tracks import clean_tracks
    from kizuna.model.maritime import PositionArrays

    path = largest_ais_file()
    lines = path.read_text(errors="replace").splitlines() * repeats

    def peer() -> int:
        n = 0
        for msg in IterMessages([ln.encode() for ln in lines]):
            try:
                msg.decode()
                n += 1
            except Exception:  # noqa: BLE001 - the peer loop skips what it cannot decode
                pass
        return n

    def ours() -> tuple[int, list]:  # type: ignore[type-arg]
        dec = NmeaDecoder(path.name)
        recs, where, _ = dec.feed(lines)
        return dec.counts.messages, list(zip(recs, where, strict=True))

    t_peer, n_peer = _timed(peer, 3)
    t_ours, (n_ours, recs) = _timed(ours, 3)
    pos, _ = split_records([r for r, _ in recs])
    line_of = [ln for r, ln in recs if type(r).__name__ == "VesselPosition"]
    arr = PositionArrays(
        np.array([p.mmsi for p in pos]),
        np.datetime64("2026-01-01T00:00:00", "ns")
        + (np.array(line_of) * 100_000_000).astype("timedelta64[ns]"),
        np.array([p.lat_deg for p in pos]),
        np.array([p.lon_deg for p in pos]),
        np.array([p.sog_kn for p in pos]),
        np.array([p.cog_deg for p in pos]),
        np.array([p.heading_deg for p in pos]),
    )
    t_ev, events = _timed(lambda: detect_events(clean_tracks(arr)))
    # store ingest: the same lines with NMEA 4.0 tag-block times (0.1 s per line) so positions are kept
    import tempfile

    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisStore

    def tag(k: int) -> str:
        body = f"c:{1767225600 + k // 10}"
        c = 0
        for ch in body.encode():
            c ^= ch
        return f"\\{body}*{c:02X}\\"

    with tempfile.TemporaryDirectory() as tmp:
        timed = Path(tmp) / "timed.nmea"
        timed.write_text(
            "\n".join(tag(k) + ln if ln.startswith("!") else ln for k, ln in enumerate(lines)) + "\n"
        )
        store = AisStore(CatalogStore(str(Path(tmp) / "b.db")))
        t_store, summ = _timed(lambda: store.load_file(timed))
    return {
        "file": str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT.parent) else str(path),
        "lines": len(lines),
        "repeats": repeats,
        "pyais_loop_messages": n_peer,
        "pyais_loop_s": round(t_peer, 3),
        "pyais_loop_msgs_per_s": round(n_peer / t_peer),
        "kizuna_decode_messages": n_ours,
        "kizuna_decode_s": round(t_ours, 3),
        "kizuna_decode_msgs_per_s": round(n_ours / t_ours),
        "ratio_kizuna_vs_pyais_loop": round((n_ours / t_ours) / (n_peer / t_peer), 3),
        "store_ingest_sqlite_s": round(t_store, 3),
        "store_positions_loaded": summ.positions_loaded,
        "store_ingest_msgs_per_s": round(n_ours / t_store),
        "events_positions": len(arr),
        "events_s": round(t_ev, 3),
        "events_positions_per_s": round(len(arr) / t_ev),
        "events_found": len(events),
        "note": "events run on synthetic receive times (0.1 s per line): the file carries none",
    }


def _brute_ca(img: np.ndarray, g: int, b: int) -> np.ndarray:
    pad = np.pad(img.astype(np.float64), b, mode="symmetric")
    out = np.empty(img.shape)
    for r in range(img.shape[0]):
        for c in range(img.shape[1]):
            win = pad[r : r + 2 * b + 1, c : c + 2 * b + 1]
            inner = win[b - g : b + g + 1, b - g : b + g + 1]
            out[r, c] = (win.sum() - inner.sum()) / (win.size - inner.size)
    return out


def bench_cfar(size: int) -> dict[str, object]:
    from kizuna.maritime.cfar import CfarConfig, cfar, cfar_tiled, detections_from
    from kizuna.maritime.scene import ShipTruth, synthetic_scene

    rng = np.random.default_rng(1)
    half_deg = size * 10 / 2 / 111_195 * 0.9
    ships = [
        ShipTruth(
            35 + rng.uniform(-half_deg, half_deg),
            139.8 + rng.uniform(-half_deg, half_deg) / 0.819,
            float(rng.uniform(60, 250)),
            20.0,
            float(rng.uniform(0, 180)),
            15.0,
        )
        for _ in range(500)
    ]
    t_gen, scene = _timed(lambda: synthetic_scene((size, size), ships=ships, nu=4.0, seed=3))
    cfg = CfarConfig(pfa=1e-7, guard=16, background=26, clutter="k", min_pixels=2)
    t_cfar, res = _timed(lambda: cfar_tiled(scene.intensity, cfg))
    t_det, dets = _timed(
        lambda: detections_from(res, scene.intensity, scene.pixel_to_lonlat, scene.pixel_size_m)
    )
    crop = scene.intensity[:120, :120]
    t_brute, brute = _timed(lambda: _brute_ca(crop, 16, 26))
    small = cfar(crop, CfarConfig(pfa=1e-7, guard=16, background=26, clutter="k", k_shape=res.k_shape))
    agree = float(np.max(np.abs(small.background_mean / brute - 1)))
    os_img = scene.intensity[:1000, :1000]
    t_os, _ = _timed(
        lambda: cfar(
            os_img,
            CfarConfig(pfa=1e-7, guard=4, background=12, method="os", clutter="k", k_shape=res.k_shape),
        )
    )
    t_ca_small, _ = _timed(
        lambda: cfar(os_img, CfarConfig(pfa=1e-7, guard=4, background=12, clutter="k", k_shape=res.k_shape))
    )
    px = size * size
    exceed_rate = float(res.exceed.mean())
    return {
        "scene": f"SYNTHETIC {size} x {size} K(nu=4) clutter, 500 ships",
        "generate_s": round(t_gen, 2),
        "ca_cfar_s": round(t_cfar, 2),
        "ca_cfar_px_per_s": round(px / t_cfar),
        "grouping_s": round(t_det, 2),
        "detections": len(dets),
        "ships": len(ships),
        "estimated_k_shape": round(res.k_shape or 0, 3),
        "threshold_exceedance_rate": exceed_rate,
        "brute_force_px_per_s": round(crop.size / t_brute),
        "ratio_vectorized_vs_brute": round((px / t_cfar) / (crop.size / t_brute), 1),
        "brute_vs_vectorized_max_rel_diff_background_mean": agree,
        "os_cfar_1000x1000_s": round(t_os, 2),
        "ca_cfar_1000x1000_s": round(t_ca_small, 3),
        "ratio_os_vs_ca_time_1000x1000": round(t_os / t_ca_small, 1),
    }


def bench_matching(n_det: int, n_vessels: int) -> dict[str, object]:
    from scipy.optimize import linear_sum_assignment

    from kizuna.maritime.dark import _enu, ais_at, assign
    from kizuna.model.maritime import (
        PositionArrays,
        SarScene,  # noqa: F401 - documents the data source
    )

    rng = np.random.default_rng(5)
    lat0, lon0 = 35.0, 139.8
    # vessels spread over ~ 2 x 2 deg; 5 reports each from -20 to +20 min around the image time
    vl = lat0 + rng.uniform(-1, 1, n_vessels)
    vo = lon0 + rng.uniform(-1, 1, n_vessels)
    offs = np.array([-1200, -600, 60, 600, 1200])
    mm = np.repeat(np.arange(n_vessels) + 200000000, len(offs))
    tt = T_IMG + np.tile(offs * 1_000_000_000, n_vessels).astype("timedelta64[ns]")
    pos = PositionArrays(
        mm,
        tt,
        np.repeat(vl, len(offs)),
        np.repeat(vo, len(offs)),
        np.zeros(len(mm)),
        np.zeros(len(mm)),
        np.full(len(mm), np.nan),
    )
    n_match = int(n_det * 0.8)
    pick = rng.choice(n_vessels, n_match, replace=False)
    dl = np.r_[vl[pick] + rng.normal(0, 100 / 111_195, n_match), lat0 + rng.uniform(-1, 1, n_det - n_match)]
    do = np.r_[vo[pick] + rng.normal(0, 100 / 91_000, n_match), lon0 + rng.uniform(-1, 1, n_det - n_match)]

    def ours():  # type: ignore[no-untyped-def]
        m, la, lo, _ = ais_at(pos, T_IMG)
        return assign(_enu(dl, do, lat0, lon0), _enu(la, lo, lat0, lon0), 1000.0)

    t_ours, pairs = _timed(ours)
    correct = sum(1 for i, j, _ in pairs if i < n_match and j == pick[i])
    # peer on a subset that fits a dense matrix
    ns, nv = min(2000, n_det), min(4000, n_vessels)
    sub_pick = pick[:ns] if n_match >= ns else pick
    det_xy = _enu(dl[:ns], do[:ns], lat0, lon0)
    vidx = np.unique(np.r_[sub_pick, rng.choice(n_vessels, nv, replace=False)])
    ais_xy = _enu(vl[vidx], vo[vidx], lat0, lon0)

    def dense():  # type: ignore[no-untyped-def]
        d = np.linalg.norm(det_xy[:, None, :] - ais_xy[None, :, :], axis=2)
        cost = np.where(d <= 1000.0, d, 1e12)
        big = np.full((len(det_xy), len(det_xy)), 1e12)
        np.fill_diagonal(big, 1000.0)
        r, c = linear_sum_assignment(np.hstack([cost, big]))
        return [
            (a, b, cost[a, b]) for a, b in zip(r, c, strict=True) if b < len(ais_xy) and cost[a, b] <= 1000.0
        ]

    t_dense, dp = _timed(dense)
    t_sub, sp = _timed(lambda: assign(det_xy, ais_xy, 1000.0))
    same = abs(sum(x[2] for x in dp) - sum(x[2] for x in sp)) < 1e-6 * max(
        1.0, sum(x[2] for x in dp)
    ) and len(dp) == len(sp)
    return {
        "detections": n_det,
        "ais_positions": len(pos),
        "vessels": n_vessels,
        "ours_s": round(t_ours, 3),
        "matched": len(pairs),
        "correct_matches": correct,
        "planted_matches": n_match,
        "subset": f"{len(det_xy)} x {len(ais_xy)}",
        "dense_lsa_s": round(t_dense, 3),
        "ours_subset_s": round(t_sub, 4),
        "ratio_dense_vs_ours_subset": round(t_dense / t_sub, 1),
        "subset_same_total_cost": bool(same),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = ap.parse_args()
    size = 2000 if args.quick else 10_000
    results = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "ais": bench_ais(20 if args.quick else 200),
        "cfar": bench_cfar(size),
        "matching": bench_matching(1000 if args.quick else 10_000, 2000 if args.quick else 20_000),
    }
    out = ROOT / "benchmarks" / "results" / "maritime.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    a, c, m = results["ais"], results["cfar"], results["matching"]
    rows = [
        (
            "AIS decode (kizuna)",
            f"{a['kizuna_decode_msgs_per_s']:,} msg/s",
            f"pyais loop {a['pyais_loop_msgs_per_s']:,} msg/s",
            f"x{a['ratio_kizuna_vs_pyais_loop']}",
        ),
        (
            "AIS ingest to SQLite",
            f"{a['store_ingest_msgs_per_s']:,} msg/s",
            f"{a['store_positions_loaded']:,} stored",
            f"x{round(a['store_ingest_msgs_per_s'] / a['pyais_loop_msgs_per_s'], 3)}",
        ),
        (
            "AIS clean+events",
            f"{a['events_positions_per_s']:,} pos/s",
            f"{a['events_positions']:,} positions",
            "",
        ),
        (
            f"CA-CFAR {size}^2",
            f"{c['ca_cfar_px_per_s']:,} px/s ({c['ca_cfar_s']} s)",
            f"brute force {c['brute_force_px_per_s']:,} px/s",
            f"x{c['ratio_vectorized_vs_brute']}",
        ),
        (
            "OS vs CA 1000^2",
            f"{c['os_cfar_1000x1000_s']} s",
            f"CA {c['ca_cfar_1000x1000_s']} s",
            f"x{c['ratio_os_vs_ca_time_1000x1000']} slower",
        ),
        (
            f"match {m['detections']:,} x {m['ais_positions']:,}",
            f"{m['ours_s']} s",
            f"dense LSA {m['subset']}: {m['dense_lsa_s']} s",
            f"x{m['ratio_dense_vs_ours_subset']} (subset)",
        ),
    ]
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Maritime benchmarks")
    for col in ("what", "kizuna", "reference", "ratio"):
        t.add_column(col)
    for r in rows:
        t.add_row(*r)
    Console().print(t)
    print(f"written {out}")


if __name__ == "__main__":
    main()
