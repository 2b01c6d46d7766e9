"""Missile-warning products, publish -> partner-visible latency: the fastest-moving products a node
carries (launch event, track update, impact prediction), from a replayed SRBM launch.

Two nodes on loopback HTTP, SQLite: JPN publishes in this process and serves its feed from another
process (the same database, as `kizuna serve` would); USA pulls as soon as JPN has published and
the clock stops when the product is in USA's store (verified, policy-checked, audited). Per product
type, p50 and p99 over the samples, side by side with the floor measured in the same run: the bare
local publish at JPN (sign, store, audit) of the same products, and the ratio of the two. A control
row, a small generic product (``conjunction``) sent through the same path interleaved with the
others, tells whether the warning products cost more than any product does.

Writes benchmarks/results/mw_products.json and prints a table.
Usage: python benchmarks/bench_mw_products.py [--samples N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from kizuna.mw.products import MW_PRODUCT_TYPES, replay_products, replay_sensor_pair
from kizuna.mw.trajectory import fly
from kizuna.service import create_app
from kizuna.share.federation import sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product

BANNER = "SECRET//REL TO USA, JPN"
CONTROL = "conjunction"
CONTROL_PAYLOAD: dict[str, object] = {
    "miss_km": 0.2,
    "tca_utc": "2026-11-30T12:00:00.000Z",
    "objects": [25544, 48274],
}
KINDS = (*MW_PRODUCT_TYPES, CONTROL)


def _serve(db: str, config: str, keys: str, port: int, ready: Event, stop: Event) -> None:
    node = Node.open(db, Path(config), Path(keys))
    server = ServerThread(create_app(node), port).start()
    ready.set()
    stop.wait()
    server.stop()
    node.catalog.close()


@contextmanager
def serving(db: str, config: Path, keys: Path, port: int) -> Iterator[None]:
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(db, str(config), str(keys), port, ready, stop), daemon=True)
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the serving node did not start")
        yield
    finally:
        stop.set()
        proc.join(20)


def _pct(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(values, 50)) * 1e3, 2),
        "p99": round(float(np.percentile(values, 99)) * 1e3, 2),
    }


def main(samples: int = 60) -> dict[str, object]:
    traj = fly("SRBM", 39.0, 125.7, 37.5, 127.0, launch_utc=np.datetime64("2026-11-30T12:00:00"))
    replay = replay_products(traj, replay_sensor_pair(125.7), seed=1)
    by_type = {t: [p.payload for p in replay if p.type == t] for t in MW_PRODUCT_TYPES}
    by_type[CONTROL] = [CONTROL_PAYLOAD]
    tmp = Path(tempfile.mkdtemp(prefix="bench_mw_"))
    port = free_port()
    cfgs = write_coalition(tmp, {"JPN": port, "USA": free_port()})
    keys = tmp / "keys"
    jpn_db = str(tmp / "JPN.db")
    jpn = Node.open(jpn_db, cfgs["JPN"], keys)
    usa = Node.open(str(tmp / "USA.db"), cfgs["USA"], keys)
    marking = parse_banner(BANNER, jpn.config.markings)
    publish_s: dict[str, list[float]] = {t: [] for t in KINDS}
    visible_s: dict[str, list[float]] = {t: [] for t in KINDS}
    syncs: dict[str, int] = dict.fromkeys(KINDS, 0)
    payload_bytes = {t: len(json.dumps(by_type[t][0])) for t in KINDS}
    result: dict[str, object] = {
        "samples_per_type": samples,
        "marking": BANNER,
        "store": "sqlite",
        "cpu_count": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    try:
        with serving(jpn_db, cfgs["JPN"], keys, port), httpx.Client(timeout=30) as client:
            sync_partner(usa, usa.config.partners["JPN"], client=client)  # connection and cursor warm
            for i in range(samples):
                for kind in KINDS:  # interleaved, so load drifts hit every type alike
                    payloads = by_type[kind]
                    product = Product.new(kind, payloads[i % len(payloads)], marking, jpn.node_id)
                    t0 = time.perf_counter()
                    jpn.publish(product, actor="bench")
                    t1 = time.perf_counter()
                    while usa.share.get(None, product.id) is None:
                        sync_partner(usa, usa.config.partners["JPN"], client=client)
                        syncs[kind] += 1
                    t2 = time.perf_counter()
                    publish_s[kind].append(t1 - t0)
                    visible_s[kind].append(t2 - t0)
    finally:
        jpn.catalog.close()
        usa.catalog.close()
    for kind in KINDS:
        floor, e2e = _pct(publish_s[kind]), _pct(visible_s[kind])
        result[kind] = {
            "payload_bytes": payload_bytes[kind],
            "publish_to_partner_visible_ms": e2e,
            "floor_local_publish_ms": floor,
            "ratio_p50": round(e2e["p50"] / floor["p50"], 2),
            "ratio_p99": round(e2e["p99"] / floor["p99"], 2),
            "syncs_per_product": round(syncs[kind] / samples, 2),
        }
    control = np.percentile(visible_s[CONTROL], 50)
    result["visible_p50_over_control"] = {
        kind: round(float(np.percentile(visible_s[kind], 50) / control), 2) for kind in MW_PRODUCT_TYPES
    }
    result["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return result


def table(res: dict[str, object]) -> Table:
    t = Table(title=f"Missile-warning products, JPN -> USA on loopback ({res['samples_per_type']} per type)")
    for col in (
        "type",
        "bytes",
        "visible p50 ms",
        "visible p99 ms",
        "publish p50 ms",
        "publish p99 ms",
        "x p50",
    ):
        t.add_column(col, justify="left" if col == "type" else "right")
    for kind in KINDS:
        r = res[kind]
        assert isinstance(r, dict)
        e2e, floor = r["publish_to_partner_visible_ms"], r["floor_local_publish_ms"]
        t.add_row(
            kind if kind != CONTROL else f"{kind} (control)",
            str(r["payload_bytes"]),
            f"{e2e['p50']:.1f}",
            f"{e2e['p99']:.1f}",
            f"{floor['p50']:.1f}",
            f"{floor['p99']:.1f}",
            f"{r['ratio_p50']:.2f}",
        )
    return t


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=60, help="products per type")
    ap.add_argument(
        "--no-write", action="store_true", help="do not write benchmarks/results/mw_products.json"
    )
    args = ap.parse_args()
    res = main(args.samples)
    if not args.no_write:
        out = Path(__file__).parent / "results" / "mw_products.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
    Console(width=110).print(table(res))
