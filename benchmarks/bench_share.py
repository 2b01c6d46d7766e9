"""Sharing benchmark: two nodes (JPN -> USA) on loopback sockets.

* sync throughput (products/s) with Ed25519 verification on, and the same sync with verification off
  (the reference), reported as a ratio;
* end-to-end latency, publish at JPN to visible at USA (USA pulls as soon as JPN publishes), p50/p99;
* sign + verify cost per product (canonical bytes included), next to the canonicalisation alone.

Writes benchmarks/results/share.json and prints a table. Usage: python benchmarks/bench_share.py [N]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from kizuna.service import create_app
from kizuna.share.federation import sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.share.signing import verify_signed

BANNERS = [
    "UNCLASSIFIED",
    "SECRET//REL TO USA, JPN",
    "CONFIDENTIAL//REL TO USA, JPN, UKR",
    "SECRET//ORCON/REL TO USA, JPN",
    "TOP SECRET//REL TO USA, JPN",
]


def products(n: int, rng: random.Random) -> list[Product]:
    return [
        Product.new(
            "conjunction",
            {
                "primary_norad_id": rng.randrange(60000),
                "secondary_norad_id": rng.randrange(60000),
                "miss_km": rng.random() * 5,
                "rel_speed_kms": rng.random() * 15,
                "tca_utc": "2026-07-01T00:00:00Z",
                "pc": rng.random() * 1e-4,
            },
            parse_banner(rng.choice(BANNERS)),
            "JPN",
        )
        for _ in range(n)
    ]


def main(n: int = 3000, latency_samples: int = 200) -> dict[str, object]:
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="bench_share_"))
    ports = {"JPN": free_port(), "USA": free_port()}
    cfgs = write_coalition(tmp, ports)
    jpn = Node.open(str(tmp / "JPN.db"), cfgs["JPN"], tmp / "keys")
    server = ServerThread(create_app(jpn), ports["JPN"]).start()
    result: dict[str, object] = {"products": n}
    try:
        jpn.publish_many(products(n, rng), actor="bench")
        for verify in (True, False):
            db = tmp / f"USA-{verify}.db"
            usa = Node.open(str(db), cfgs["USA"], tmp / "keys")
            usa.verify_signatures = verify
            with httpx.Client(timeout=60) as client:
                t0 = time.perf_counter()
                rep = sync_partner(usa, usa.config.partners["JPN"], client=client, limit=500)
                dt = time.perf_counter() - t0
            result[f"sync_products_per_s_verify_{'on' if verify else 'off'}"] = rep.ingest.ingested / dt
            result[f"synced_{'on' if verify else 'off'}"] = rep.ingest.ingested
            if verify:
                usa_live = usa
            else:
                usa.catalog.close()
        result["sync_ratio_on_over_off"] = (
            result["sync_products_per_s_verify_on"]  # type: ignore[operator]
            / result["sync_products_per_s_verify_off"]
        )
        lat = []
        with httpx.Client(timeout=30) as client:
            for p in products(latency_samples, rng):
                t0 = time.perf_counter()
                jpn.publish(p, actor="bench")
                while usa_live.share.get(None, p.id) is None:
                    sync_partner(usa_live, usa_live.config.partners["JPN"], client=client)
                lat.append(time.perf_counter() - t0)
        result["e2e_latency_ms_p50"] = float(np.percentile(lat, 50) * 1e3)
        result["e2e_latency_ms_p99"] = float(np.percentile(lat, 99) * 1e3)

        sample = products(2000, rng)
        t0 = time.perf_counter()
        for p in sample:
            p.canonical_bytes()
        canon = (time.perf_counter() - t0) / len(sample)
        t0 = time.perf_counter()
        signed = [jpn.signer.sign_product(p) for p in sample]
        sign = (time.perf_counter() - t0) / len(sample)
        t0 = time.perf_counter()
        for d in signed:
            verify_signed(d, jpn.trust, jpn.config.markings)
        verify = (time.perf_counter() - t0) / len(sample)
        t0 = time.perf_counter()
        for d in signed:
            verify_signed(d, jpn.trust, jpn.config.markings, check_signature=False)
        parse_only = (time.perf_counter() - t0) / len(sample)
        result |= {
            "canonical_us": canon * 1e6,
            "sign_us": sign * 1e6,
            "verify_us": verify * 1e6,
            "parse_without_signature_check_us": parse_only * 1e6,
            "verify_over_parse_ratio": verify / parse_only,
        }
        usa_live.catalog.close()
    finally:
        server.stop()
        jpn.catalog.close()
    return result


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    res = main(n)
    out = Path(__file__).parent / "results" / "share.json"
    out.write_text(json.dumps(res, indent=2))
    table = Table(title=f"Sharing, two nodes on loopback ({n} products)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in res.items():
        table.add_row(k, f"{v:.3g}" if isinstance(v, float) else str(v))
    Console().print(table)
