"""Sharing benchmark: a partner node (JPN) feeding this node (USA) over loopback HTTP, on SQLite and on
PostgreSQL (127.0.0.1:5432/test, skipped when absent).

Measured side by side, in one run, against two references:

* the floor: Ed25519 verifications per second on this machine with libsodium (PyNaCl), the verifier the
  node uses, over the very bytes the products are signed over, on one core; beside it (`floor_openssl_*`)
  the same with `cryptography` (OpenSSL), the floor the node was first measured against;
* the same sync with signature verification off (every other check, the writes and the audit on).

Sync throughput (products/s), each configuration into a fresh database, interleaved and repeated
(median and best reported: the machine may be shared, and the best run is the one least disturbed),
as ratios to the floor and to the unverified sync: verified with every check in this process,
verified with every check of each received product (shape, limits, canonical form, RFC 8785 bytes,
Ed25519) in a `VerifierPool` worker while this process writes, and unverified.
Two partners:

* end to end: JPN's real node serving its feed from its own process (its stored rows verified once
  before timing, as a running node has them: it verifies each stored row once, then serves it from its
  cache). Both nodes share this machine's cores, so the serving node's work is in the numbers; both
  settle their start-up heap (`node.settle_heap`) as `kizuna serve` does;
* the receiving node alone: JPN's recorded answers (the same bytes) replayed by a minimal HTTP server in
  another process, so the numbers are those of the node that verifies and stores.

Beside each rate, the receiving process's CPU time per product (all its threads, not a pool worker's):
it moves far less than the rates with what else the machine runs, and `verify_cost_over_floor` says
what verifying costs it beyond the unverified sync, counted in bare Ed25519 verifications. With the
pool, the same with the worker's CPU time added (read from /proc): what the receiving node spends in
all, which does not depend on how the work was split between the process and its worker.

Latency: publish at JPN to visible at USA (USA pulls as soon as JPN has published), p50/p99: visible
when USA's page transaction has committed (the product then reads back from USA's store), and, beside
it, when the pull has returned (after the partner's checkpoint is judged and the sync audited).
Per-product costs: canonical bytes by the reference RFC 8785 serialiser, by the fast exact one and by
plain `json.dumps`; every check of a received product but the signature; and with the signature.

The page write alone (`page_write`): the feed's pages, their checks already done, written by
`Node.commit_ingest` into a fresh database (decisions against the store, products, audit entries,
cursor: one transaction a page), per product: wall time, this process's CPU and, on PostgreSQL, the
CPU of the server processes that served its connections (from /proc: the server runs on this
machine, on the same two cores), best of the repeats.

Writes benchmarks/results/share.json and prints a table.
Usage: python benchmarks/bench_share.py [N] [--repeats R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from kizuna.service import create_app
from kizuna.share.federation import CHECKPOINT_PATH, node_auth_headers, sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node, settle_heap
from kizuna.share.products import Product, canonical_json, canonical_json_parsed
from kizuna.share.signing import CheckedDocument, check_signed, ed25519_verify, verify_signed
from kizuna.share.taxii import objects_path
from kizuna.share.verifier import VerifierPool, start_verification

BANNERS = [
    "UNCLASSIFIED",
    "SECRET//REL TO USA, JPN",
    "CONFIDENTIAL//REL TO USA, JPN, UKR",
    "SECRET//ORCON/REL TO USA, JPN",
    "TOP SECRET//REL TO USA, JPN",
]
PG_URL = os.environ.get("KIZUNA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PAGE = 500


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


# ---------------------------------------------------------------- stores
def postgres_problem() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


class Databases:
    """Fresh databases of one kind: SQLite files in a directory, or PostgreSQL schemas (dropped after)."""

    def __init__(self, kind: str, directory: Path):
        self.kind, self.directory = kind, directory
        self.schemas: list[str] = []

    def new(self, name: str) -> str:
        if self.kind == "sqlite":
            return str(self.directory / f"{name}-{uuid.uuid4().hex[:8]}.db")
        import psycopg

        schema = f"bench_share_{name.lower()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        return f"{PG_URL}?options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        if not self.schemas:
            return
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# ---------------------------------------------------------------- the serving node, in its own process
def _serve(db: str, config: str, keys: str, port: int, ready: Event, stop: Event) -> None:
    node = Node.open(db, Path(config), Path(keys))
    app = create_app(node)
    settle_heap()  # as `kizuna serve` does once set up
    server = ServerThread(app, port).start()
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


# ---------------------------------------------------------------- the same partner, replayed
def capture(port: int, asker: Node) -> dict[str, bytes]:
    """The exact answers the serving node gives `asker` for a whole sync: every feed page (keyed by
    the path and query the sync asks for) and the audit checkpoint."""
    base, answers, cursor = f"http://127.0.0.1:{port}", {}, None
    with httpx.Client(timeout=60) as client:
        while True:
            # exactly the path and query sync_partner asks for, so the replay answers it
            path = (
                objects_path("JPN")
                + f"?match[version]=all&limit={PAGE}"
                + (f"&next={cursor}" if cursor else "")
            )
            r = client.get(base + path, headers=node_auth_headers(asker.signer, "GET", path))
            answers[path] = r.content
            env = r.json()
            cursor = env["next"] or cursor
            if not env["more"]:
                break
        r = client.get(
            base + CHECKPOINT_PATH, headers=node_auth_headers(asker.signer, "GET", CHECKPOINT_PATH)
        )
        answers[CHECKPOINT_PATH] = r.content
    return answers


def _replay(answers: dict[str, bytes], port: int, ready: Event, stop: Event) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as between nodes

        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            body = answers.get(self.path)
            self.send_response(404 if body is None else 200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ready.set()
    stop.wait()
    server.shutdown()


@contextmanager
def replaying(answers: dict[str, bytes], port: int) -> Iterator[None]:
    """The partner's recorded answers served from their bytes, in another process: a sync against it
    costs this machine the receiving node's work only."""
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_replay, args=(answers, port, ready, stop), daemon=True)
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("the replaying partner did not start")
        yield
    finally:
        stop.set()
        proc.join(20)


# ---------------------------------------------------------------- measurements
# The OpenSSL floor, measured each time the libsodium one is (`floor_verify_per_s`).
OPENSSL_FLOORS: list[float] = []


def floor_verify_per_s(checked: list[CheckedDocument]) -> float:
    """Ed25519 verifications per second over the exact signed bytes (no other work), by libsodium as
    the node verifies; OpenSSL's rate over the same bytes, measured right after, goes to OPENSSL_FLOORS."""
    t0 = time.perf_counter()
    for c in checked:
        if not ed25519_verify(c.public_key, c.signature, c.message):
            raise RuntimeError("a floor signature does not verify")
    sodium = len(checked) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for c in checked:
        c.public_key.verify(c.signature, c.message)
    OPENSSL_FLOORS.append(len(checked) / (time.perf_counter() - t0))
    return sodium


def process_cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes `pids` have used so far, from /proc (0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def sync_rate(
    databases: Databases, cfgs: dict[str, Path], keys: Path, *, verify: bool, pool: VerifierPool | None
) -> tuple[float, int, float, float]:
    """Products/s of one whole sync into a fresh database, how many, this process's CPU time per
    product in microseconds (every thread; a pool worker's time is not in it), and the same with the
    pool workers' CPU time added (what verifying and storing cost the receiving node in all)."""
    usa = Node.open(databases.new("USA"), cfgs["USA"], keys)
    usa.verify_signatures = verify
    usa.verifier_pool = pool
    settle_heap()  # the receiving node set up as `kizuna serve` leaves its process
    workers = pool.worker_pids() if pool is not None else []
    try:
        with httpx.Client(timeout=60) as client:
            t0, cpu0, wcpu0 = time.perf_counter(), time.process_time(), process_cpu_s(workers)
            rep = sync_partner(usa, usa.config.partners["JPN"], client=client, limit=PAGE)
            dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            wcpu = process_cpu_s(workers) - wcpu0
    finally:
        usa.catalog.close()
    n = rep.ingest.ingested
    return n / dt, n, cpu / max(n, 1) * 1e6, (cpu + wcpu) / max(n, 1) * 1e6


def backend_pids(node: Node) -> list[int]:
    """The PostgreSQL server process of each connection `node`'s engine opens from now on."""
    from sqlalchemy import event

    pids: list[int] = []

    def connected(dbapi_conn: Any, _record: object) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pids.append(int(cur.fetchone()[0]))

    event.listen(node.share.engine, "connect", connected)
    node.share.engine.dispose()  # connections opened so far would not be seen
    return pids


def page_write_us(
    databases: Databases, cfgs: dict[str, Path], keys: Path, docs: list[dict[str, object]], repeats: int
) -> dict[str, float]:
    """The receiving transaction alone: every page of `docs` checked first (signatures off: only the
    write is measured), then written page by page, each into its own transaction with its cursor.
    Per product, best of `repeats` fresh databases: wall time, this process's CPU, the server's."""
    best: dict[str, float] = {}
    for _ in range(repeats):
        usa = Node.open(databases.new("USA"), cfgs["USA"], keys)
        usa.verify_signatures, usa.verifier_pool = False, None
        pids = backend_pids(usa) if databases.kind == "postgresql" else []
        try:
            staged = [usa.stage_ingest(docs[i : i + PAGE]) for i in range(0, len(docs), PAGE)]
            for page in staged:
                page.verdicts.result()
            usa.share.cursor("JPN")  # the connection is open before timing
            t0, cpu0, srv0 = time.perf_counter(), time.process_time(), process_cpu_s(pids)
            for i, page in enumerate(staged):
                usa.commit_ingest(page, source="JPN", cursor=f"page-{i}")
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            srv = process_cpu_s(pids) - srv0
            if usa.share.count() != len(docs):
                raise RuntimeError(f"page write stored {usa.share.count()} of {len(docs)}")
        finally:
            usa.catalog.close()
        got = {"wall_us_per_product": wall, "cpu_us_per_product": cpu}
        if pids:
            got["server_cpu_us_per_product"] = srv
        for k, seconds in got.items():
            us = seconds / len(docs) * 1e6
            best[k] = min(best.get(k, us), us)
    return {k: round(v, 1) for k, v in best.items()} | {"pages": -(-len(docs) // PAGE)}


def latency_ms(jpn: Node, usa: Node, samples: int, rng: random.Random) -> dict[str, dict[str, float]]:
    """Publish at JPN, then USA pulls at once: p50/p99 of publish -> visible (the instant USA's page
    transaction has committed and the product reads back from its store, as any reader there would
    see it) and of publish -> the pull returned (after the sync's own closing work: the partner's
    audit checkpoint judged and the sync's audit entry written)."""
    visible, returned = [], []
    with httpx.Client(timeout=30) as client:
        for p in products(samples, rng):
            seen: list[float] = []

            def on_page(_: object, product_id: str = p.id, seen: list[float] = seen) -> None:
                now = time.perf_counter()  # taken first: the read below only confirms it
                if not seen and usa.share.get(None, product_id) is not None:
                    seen.append(now)

            t0 = time.perf_counter()
            jpn.publish(p, actor="bench")
            while usa.share.get(None, p.id) is None:
                sync_partner(usa, usa.config.partners["JPN"], client=client, on_page=on_page)
            returned.append(time.perf_counter() - t0)
            if not seen:
                raise RuntimeError(f"{p.id}: stored, but no page committed it")
            visible.append(seen[0] - t0)
    return {
        name: {
            "p50": round(float(np.percentile(lat, 50) * 1e3), 1),
            "p99": round(float(np.percentile(lat, 99) * 1e3), 1),
            "samples": samples,
        }
        for name, lat in (("publish_to_visible_ms", visible), ("publish_to_sync_returned_ms", returned))
    }


def per_product_us(jpn: Node, signed: list[dict[str, object]]) -> dict[str, float]:
    received = [json.loads(json.dumps(d)) for d in signed]
    docs = [{**d["product"], "kizuna_product": 1} for d in received]  # type: ignore[dict-item]

    def each(f: Callable[[object], object], items: list[object]) -> float:
        t0 = time.perf_counter()
        for x in items:
            f(x)
        return (time.perf_counter() - t0) / len(items) * 1e6

    trust, cfg = jpn.trust, jpn.config.markings
    return {
        "canonical_reference_us": each(canonical_json, docs),  # type: ignore[arg-type]
        "canonical_fast_us": each(canonical_json_parsed, docs),  # type: ignore[arg-type]
        "json_dumps_sorted_us": each(
            lambda d: json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            docs,  # type: ignore[arg-type]
        ),
        "checks_without_signature_us": each(lambda d: check_signed(d, trust, cfg), received),  # type: ignore[arg-type]
        "verify_with_signature_us": each(lambda d: verify_signed(d, trust, cfg), received),  # type: ignore[arg-type]
    }


def rates(
    databases: Databases,
    cfgs: dict[str, Path],
    keys: Path,
    n: int,
    repeats: int,
    pool: VerifierPool,
    floor: Callable[[], float],
) -> tuple[dict[str, object], list[float]]:
    """Unverified, verified here and verified with the pool, interleaved `repeats` times (median
    reported), each as a ratio to the Ed25519 floor measured between the rounds. CPU time per product
    (this process) is reported beside the rates: it depends far less than they do on what else the
    machine runs, and the floor's share of it is 1e6 / floor microseconds."""
    runs: dict[str, list[float]] = {"unverified": [], "verified": [], "verified_pool": []}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    all_cpus: dict[str, list[float]] = {name: [] for name in runs}
    floors = [floor()]
    for _ in range(repeats):
        for name, verify, use_pool in (
            ("unverified", False, None),
            ("verified", True, None),
            ("verified_pool", True, pool),
        ):
            rate, synced, cpu_us, all_cpu_us = sync_rate(databases, cfgs, keys, verify=verify, pool=use_pool)
            if synced != n:
                raise RuntimeError(f"{name}: synced {synced} of {n}")
            runs[name].append(rate)
            cpus[name].append(cpu_us)
            all_cpus[name].append(all_cpu_us)
        floors.append(floor())
    out: dict[str, object] = {}
    median_floor = statistics.median(floors)
    for name, got in runs.items():
        out[f"{name}_best_per_s"] = round(max(got))
        out[f"{name}_best_over_best_floor"] = round(max(got) / max(floors), 3)
        out[f"{name}_per_s"] = round(statistics.median(got))
        out[f"{name}_runs_per_s"] = [round(r) for r in got]
        out[f"{name}_over_floor"] = round(statistics.median(got) / median_floor, 3)
        out[f"{name}_cpu_us_per_product"] = round(statistics.median(cpus[name]), 1)
        if name == "verified_pool":  # the same with the pool worker's CPU time added
            out[f"{name}_cpu_with_workers_us_per_product"] = round(statistics.median(all_cpus[name]), 1)
    out["floor_us_per_verify"] = round(1e6 / median_floor, 1)
    out["floor_best_per_s"] = round(max(floors))
    # What verifying costs this process beyond the unverified sync, in Ed25519 verifications.
    out["verify_cost_over_floor"] = round(
        (statistics.median(cpus["verified"]) - statistics.median(cpus["unverified"])) * median_floor / 1e6, 3
    )
    out["verified_over_unverified"] = round(
        statistics.median(runs["verified"]) / statistics.median(runs["unverified"]), 3
    )
    out["verified_pool_over_unverified"] = round(
        statistics.median(runs["verified_pool"]) / statistics.median(runs["unverified"]), 3
    )
    out["pool_over_verified_here"] = round(
        statistics.median(runs["verified_pool"]) / statistics.median(runs["verified"]), 3
    )
    return out, floors


def run_store(
    kind: str, tmp: Path, n: int, repeats: int, latency_samples: int, profile: bool
) -> tuple[dict[str, object], list[float], dict[str, float]]:
    rng = random.Random(7)
    databases = Databases(kind, tmp)
    port = free_port()
    cfgs = write_coalition(tmp / kind, {"JPN": port, "USA": free_port()})
    keys = tmp / kind / "keys"
    pool = VerifierPool(workers=1)
    out: dict[str, object] = {}
    try:
        jpn_db = databases.new("JPN")
        jpn = Node.open(jpn_db, cfgs["JPN"], keys)
        jpn.publish_many(products(n, rng), actor="bench")
        signed_docs = [json.loads(str(r["wire"])) for r in jpn.share.stored_rows()]
        checked = [check_signed(d, jpn.trust, jpn.config.markings) for d in signed_docs]
        # the worker is started once per node, not per sync
        start_verification(signed_docs[: pool.min_batch], jpn.trust, jpn.config.markings, pool=pool).result()

        def floor() -> float:
            return floor_verify_per_s(checked)

        with serving(jpn_db, cfgs["JPN"], keys, port):
            asker = Node.open(databases.new("USA"), cfgs["USA"], keys)
            answers = capture(port, asker)  # the serving node verifies its rows once, as a running node has
            asker.catalog.close()
            out["end_to_end"], floors = rates(databases, cfgs, keys, n, repeats, pool, floor)
            usa = Node.open(databases.new("USA"), cfgs["USA"], keys)
            usa.verifier_pool = pool
            with httpx.Client(timeout=60) as client:
                sync_partner(usa, usa.config.partners["JPN"], client=client, limit=PAGE)
            out |= latency_ms(jpn, usa, latency_samples, rng)
            usa.catalog.close()
        with replaying(answers, port):
            out["receiving_node"], more_floors = rates(databases, cfgs, keys, n, repeats, pool, floor)
            floors += more_floors
            if profile:
                usa = Node.open(databases.new("USA"), cfgs["USA"], keys)
                usa.verifier_pool = None  # every check in this process, where the profiler sees it
                prof = cProfile.Profile()
                with httpx.Client(timeout=60) as client:
                    prof.enable()
                    sync_partner(usa, usa.config.partners["JPN"], client=client, limit=PAGE)
                    prof.disable()
                usa.catalog.close()
                print(f"--- profile of one verified sync from the replayed partner ({kind}), by own time")
                pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        out["page_write"] = page_write_us(databases, cfgs, keys, signed_docs, repeats)
        micro = per_product_us(jpn, signed_docs[:2000])
        jpn.catalog.close()
    finally:
        pool.close()
        databases.drop()
    return out, floors, micro


def main(
    n: int = 3000, repeats: int = 3, latency_samples: int = 200, profile: bool = False
) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_share_"))
    result: dict[str, object] = {
        "products": n,
        "page_size": PAGE,
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    all_floors: list[float] = []
    for kind in ("sqlite", "postgresql"):
        problem = postgres_problem() if kind == "postgresql" else None
        if problem is not None:
            result[kind] = {"skipped": problem}
            continue
        out, floors, micro = run_store(kind, tmp, n, repeats, latency_samples, profile)
        all_floors += floors
        result[kind] = out
        result.setdefault("per_product_us", micro)
    result["floor_ed25519_verify_per_s"] = round(statistics.median(all_floors))
    result["floor_best_per_s"] = round(max(all_floors))
    result["floor_runs_per_s"] = [round(f) for f in all_floors]
    result["floor_openssl_verify_per_s"] = round(statistics.median(OPENSSL_FLOORS))
    result["floor_openssl_best_per_s"] = round(max(OPENSSL_FLOORS))
    result["floor_over_openssl"] = round(statistics.median(all_floors) / statistics.median(OPENSSL_FLOORS), 3)
    result["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return result


def table(res: dict[str, object]) -> Table:
    t = Table(title=f"Sharing, two nodes on loopback ({res['products']} products)")
    t.add_column("measure")
    t.add_column("value", justify="right")

    def rows(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                rows(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            t.add_row(prefix, f"{value:.3g}" if isinstance(value, float) else str(value))

    rows("", res)
    return t


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=3000, help="products in the partner's feed")
    ap.add_argument(
        "--repeats", type=int, default=3, help="syncs per configuration (median and best reported)"
    )
    ap.add_argument("--latency-samples", type=int, default=200)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one verified sync")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/share.json")
    args = ap.parse_args()
    res = main(args.n, args.repeats, args.latency_samples, args.profile)
    if not args.no_write:
        out = Path(__file__).parent / "results" / "share.json"
        out.write_text(json.dumps(res, indent=2) + "\n")
    Console(width=110).print(table(res))
