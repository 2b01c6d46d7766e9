"""Live pipeline benchmark: file arrival at JPN to the product on USA's SSE feed, p50/p99.

Two nodes on loopback in this process (SQLite each): JPN serves its API and runs the pipeline
(`PipelineLoop`, polling its watched directory every `--poll-s`), USA pulls JPN every `--sync-s`
(`SyncLoop`) and at once when JPN notifies it (`POST /sync/notify`; run again without the
notification, for comparison), and a client reads USA's `/feed/stream` (the store polled every 0.25 s, the service's
default). N arrivals one after another, each a CelesTrak CSV with one new object near a JPN payload
of the bundled sample catalog (a conjunction every time), renamed into the watched directory.

Measured per arrival, side by side in one run:

* pipeline: rename -> the first product of that object on USA's feed (wall clock), split into
  rename -> job done at JPN (the ledger's finish time) and job done -> USA's feed;
* floor: the same steps called directly with no watcher, queue, ledger, loop or feed: ingest the
  file, screen the protected assets against it, publish the products, and USA pulls JPN once
  (`sync_partner`), timed from the call to the pull's return.

The pipeline's latency minus the floor's is what watching, queueing, polling and the feed add. Their
CPU time (this process, all threads) per arrival is reported too: it moves less with the machine's load.

Writes benchmarks/results/pipeline.json. Usage: python benchmarks/bench_pipeline.py [N] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src")]

from tests.pipeline_support import JPN_ASSET, PIPELINE, coalition, load_sample, neighbour, write_csv  # noqa: E402

from kizuna.ops.pipeline import PipelineConfig, PipelineLoop, Runner  # noqa: E402
from kizuna.service import create_app  # noqa: E402
from kizuna.share.federation import SyncLoop, sync_partner  # noqa: E402
from kizuna.share.loopback import ServerThread, free_port  # noqa: E402
from kizuna.share.node import Node  # noqa: E402
from kizuna.store.ingest import load_file  # noqa: E402
from kizuna.store.pipeline_jobs import JobLedger  # noqa: E402


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))]


class FeedReader(threading.Thread):
    """Reads a node's SSE feed and stamps the arrival time of each product by the objects it names."""

    def __init__(self, port: int, token: str):
        super().__init__(daemon=True)
        self.url, self.token = f"http://127.0.0.1:{port}/feed/stream", token
        self.first_seen: dict[int, float] = {}
        self.count = 0
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.stream("GET", self.url, params={"max_s": 3600}, headers=headers, timeout=None) as r:
            for line in r.iter_lines():
                self.ready.set()
                if self.stop.is_set():
                    return
                if line.startswith("data: "):
                    now = time.time()
                    self.count += 1
                    for n in json.loads(line[6:])["product"]["objects"]:
                        self.first_seen.setdefault(int(n), now)


def setup(tmp: Path, poll_s: float) -> tuple[dict[str, Node], dict[str, int], PipelineConfig]:
    ports = {"JPN": free_port(), "USA": free_port(), "UKR": free_port()}
    cfgs = coalition(tmp, ports, PIPELINE | {"poll_s": poll_s})
    load_sample(str(tmp / "JPN.db"))
    nodes = {n: Node.open(str(tmp / f"{n}.db"), cfgs[n], tmp / "keys") for n in ("JPN", "USA")}
    c = nodes["JPN"].config
    config = PipelineConfig.load(cfgs["JPN"], c.nation, c.clearance.banner, c.markings)
    assert config is not None
    return nodes, ports, config


def run_pipeline(n: int, poll_s: float, sync_s: float, notify: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nodes, ports, config = setup(tmp, poll_s)
        jpn, usa = nodes["JPN"], nodes["USA"]
        sync = SyncLoop(usa, sync_s, log=lambda _m: None)
        apps = {name: create_app(node) for name, node in nodes.items()}
        apps["USA"].state.sync_loop = sync  # JPN's notification (POST /sync/notify) pokes it
        servers = [ServerThread(apps[name], ports[name]).start() for name in nodes]
        live = PipelineLoop(jpn, config, log=lambda _m: None, notify=notify).start()  # warms up first
        sync.start()
        reader = FeedReader(ports["USA"], "token-USA")
        reader.start()
        reader.ready.wait(10)
        asset = jpn.catalog.latest_element_sets([JPN_ASSET])[0]
        ledger = JobLedger(jpn.catalog)
        total, to_job, job_to_feed = [], [], []
        cpu0 = time.process_time()
        try:
            for k in range(n):
                norad = 99000 + k
                t0 = time.time()
                write_csv(tmp / "incoming" / f"arrival-{k:03d}.csv", [neighbour(asset, norad, k)])
                deadline = t0 + 120
                while norad not in reader.first_seen and time.time() < deadline:
                    time.sleep(0.005)
                if norad not in reader.first_seen:
                    raise RuntimeError(f"arrival {k}: no product at USA within 120 s")
                seen = reader.first_seen[norad]
                job = ledger.list(limit=1)[0]
                finished = (job.finished_utc or datetime.now(UTC)).timestamp()
                total.append(seen - t0)
                to_job.append(finished - t0)
                job_to_feed.append(seen - finished)
        finally:
            cpu = time.process_time() - cpu0
            reader.stop.set()
            sync.stop()
            live.stop()
            for s in servers:
                s.stop()
            for node in nodes.values():
                node.catalog.close()
    return {
        "latency_s": summary(total),
        "arrival_to_job_done_s": summary(to_job),
        "job_done_to_usa_feed_s": summary(job_to_feed),
        "cpu_s_per_arrival": round(cpu / n, 4),
    }


def run_floor(n: int) -> dict[str, object]:
    """The same steps called directly: ingest, screen, publish at JPN; USA pulls once."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        nodes, ports, config = setup(tmp, 1.0)
        jpn, usa = nodes["JPN"], nodes["USA"]
        server = ServerThread(create_app(jpn), ports["JPN"]).start()
        runner = Runner(jpn, config)
        runner.warm_up()
        asset = jpn.catalog.latest_element_sets([JPN_ASSET])[0]
        partner = usa.config.partners["JPN"]
        times = []
        cpu0 = time.process_time()
        try:
            with httpx.Client(timeout=30) as client:
                sync_partner(usa, partner, client=client)  # the connection is open, as a running loop's
                for k in range(n):
                    norad = 99000 + k
                    path = write_csv(tmp / "incoming" / f"arrival-{k:03d}.csv", [neighbour(asset, norad, k)])
                    t0 = time.time()
                    load_file(jpn.catalog, path)
                    changed = jpn.catalog.latest_element_sets([norad])
                    products, _ = runner.screen_products(f"floor-{k}", changed)
                    jpn.publish_idempotent(products, actor="bench")
                    rep = sync_partner(usa, partner, client=client)
                    times.append(time.time() - t0)
                    assert products and rep.ingest.ingested == len(products), (len(products), rep.as_dict())
        finally:
            cpu = time.process_time() - cpu0
            server.stop()
            for node in nodes.values():
                node.catalog.close()
    return {"latency_s": summary(times), "cpu_s_per_arrival": round(cpu / n, 4)}


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 4),
        "p99": round(pct(values, 99), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=30, help="arrivals (default 30)")
    ap.add_argument("--poll-s", type=float, default=0.1, help="JPN's directory poll (default 0.1)")
    ap.add_argument("--sync-s", type=float, default=2.0, help="USA's pull interval (default 2)")
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/pipeline.json")
    args = ap.parse_args()
    floor = run_floor(args.n)
    pipe = run_pipeline(args.n, args.poll_s, args.sync_s, notify=True)
    pulled_only = run_pipeline(args.n, args.poll_s, args.sync_s, notify=False)
    res = {
        "parameters": {
            "arrivals": args.n,
            "jpn_poll_s": args.poll_s,
            "usa_sync_interval_s": args.sync_s,
            "notification": "JPN posts /sync/notify to partners a product is released to; USA pulls at once",
            "usa_feed_poll_s": 0.25,
            "catalog": "bundled sample (677 LEO sets, 53 JPN payloads protected)",
            "screening": PIPELINE["screening"],
            "database": "SQLite",
        },
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "pipeline": pipe,
        "pipeline_without_notification": pulled_only,
        "floor": floor,
        "p50_over_floor": round(pipe["latency_s"]["p50"] / floor["latency_s"]["p50"], 2),  # type: ignore[index]
    }
    print(json.dumps(res, indent=2))
    if not args.no_write:
        out = Path(__file__).parent / "results" / "pipeline.json"
        out.write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
