"""End to end on loopback: JPN runs `kizuna serve` (a subprocess, so it can be killed -9) with a
pipeline watching a directory; USA and UKR are live nodes pulling JPN every 0.2 s. An element-set file
making a conjunction with a JPN asset appears as a conjunction product on USA's SSE feed within
LATENCY_S, never at UKR (marked SECRET//REL TO USA, JPN); JPN killed mid-pipeline and restarted
publishes each product of the interrupted job exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.pipeline_support import JPN_ASSET, asset_elements, coalition, load_sample, neighbour, write_csv

from kizuna.service import create_app
from kizuna.share.federation import SyncLoop, sync_partner
from kizuna.share.loopback import ServerThread, free_port
from kizuna.share.node import Node
from kizuna.store.catalog import CatalogStore
from kizuna.store.pipeline_jobs import JobLedger
from kizuna.store.schema import share_product

REPO = Path(__file__).resolve().parents[1]
#: file written -> product on USA's feed: JPN polls its directory every 0.1 s, screens (~1-2 s on this
#: machine idle; the node warms its analyses up before serving), USA pulls every 0.2 s, its feed polls
#: its store every 0.5 s. Measured in benchmarks/bench_pipeline.py.
LATENCY_S = 20.0
#: `kizuna serve` with its pipeline warmed up (imports, compiled kernels, EOP): ~3 s idle, far more on a
#: loaded machine
START_S = 120.0


def _start_jpn(tmp: Path, cfg: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kizuna",
            "serve",
            "--partners",
            str(cfg),
            "--keys",
            str(tmp / "keys"),
            "--db",
            str(tmp / "JPN.db"),
            "--port",
            str(port),
            "--sync-interval-s",
            "0",
            "--insecure",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "jpn.log", "ab"),  # noqa: SIM115 - the child owns it
    )
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"JPN did not start: {(tmp / 'jpn.log').read_text()[-2000:]}")


def _feed_products(port: int, token: str, max_s: float, until: int | None = None) -> list[dict]:
    """Product events from a node's SSE feed, read for at most `max_s` (or until `until` products)."""
    found: list[dict] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream(
        "GET",
        f"http://127.0.0.1:{port}/feed/stream",
        params={"max_s": max_s},
        headers=headers,
        timeout=max_s + 10,
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if until is not None and len(found) >= until:
                    break
    return found


@pytest.fixture
def loopback(tmp_path):
    ports = {n: free_port() for n in ("JPN", "USA", "UKR")}
    cfgs = coalition(tmp_path, ports)
    load_sample(str(tmp_path / "JPN.db"))
    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in ("USA", "UKR")}
    loops = [SyncLoop(node, 0.2, log=lambda _m: None).start() for node in nodes.values()]
    apps = [create_app(node) for node in nodes.values()]
    for app, loop in zip(apps, loops, strict=True):
        app.state.sync_loop = loop  # JPN's notifications make them pull at once
    servers = [ServerThread(app, ports[n]).start() for app, n in zip(apps, nodes, strict=True)]
    jpn = {"proc": _start_jpn(tmp_path, cfgs["JPN"], ports["JPN"])}
    yield tmp_path, ports, cfgs, nodes, jpn
    for loop in loops:
        loop.stop()
    jpn["proc"].kill()
    jpn["proc"].wait()
    for s in servers:
        s.stop()
    for node in nodes.values():
        node.catalog.close()


def _jpn_ids(tmp: Path) -> list[str]:
    store = CatalogStore(str(tmp / "JPN.db"))
    try:
        with store.engine.connect() as conn:
            return [str(r[0]) for r in conn.execute(select(share_product.c.product_id))]
    finally:
        store.close()


def test_arrival_to_usa_feed_not_ukr_and_kill_restart_without_duplicates(loopback):
    tmp, ports, cfgs, nodes, jpn = loopback
    asset = asset_elements(str(tmp / "JPN.db"), JPN_ASSET)

    # 1. A new object near a JPN asset arrives: USA's console (SSE) shows the conjunction in time.
    t0 = time.monotonic()
    write_csv(tmp / "incoming" / "first.csv", [neighbour(asset, 99901, 0)])
    got = _feed_products(ports["USA"], "token-USA", LATENCY_S, until=1)
    latency_s = time.monotonic() - t0
    assert got, f"no product at USA within {LATENCY_S} s; JPN log: {(tmp / 'jpn.log').read_text()[-1500:]}"
    first = got[0]["product"]
    assert first["type"] == "conjunction" and first["originator"] == "JPN"
    assert 99901 in first["objects"] and JPN_ASSET in first["objects"]
    assert latency_s < LATENCY_S

    # UKR pulls JPN too, and holds nothing of it; its feed shows nothing.
    sync_partner(nodes["UKR"], nodes["UKR"].config.partners["JPN"])
    assert nodes["UKR"].share.page(None, limit=100) == []
    assert _feed_products(ports["UKR"], "token-UKR", 0.5) == []

    # 2. A second arrival; JPN is killed -9 as soon as its job has started, then restarted.
    write_csv(tmp / "incoming" / "second.csv", [neighbour(asset, 99902, 3)])
    ledger_store = CatalogStore(str(tmp / "JPN.db"))
    ledger = JobLedger(ledger_store)
    deadline = time.monotonic() + 20
    job = None
    while time.monotonic() < deadline:
        running = ledger.list(state="running")
        if running:
            job = running[0]
            break
        time.sleep(0.01)
    assert job is not None, "the second job never started"
    os.kill(jpn["proc"].pid, signal.SIGKILL)
    jpn["proc"].wait()
    killed_after = ledger.get(job.job_id).done_steps()  # what had committed when it died
    assert "screen" not in killed_after or ledger.get(job.job_id).state != "done"
    jpn["proc"] = _start_jpn(tmp, cfgs["JPN"], ports["JPN"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ledger.get(job.job_id).state != "done":
        time.sleep(0.1)
    done = ledger.get(job.job_id)
    ledger_store.close()
    assert done.state == "done", done.as_dict()
    made = int({s.step: s for s in done.steps}["screen"].counts["products"])
    assert made > 0

    # No duplicate and no loss: at JPN, and at USA once it has pulled.
    ids = _jpn_ids(tmp)
    assert len(ids) == len(set(ids))
    usa_deadline = time.monotonic() + 10
    while time.monotonic() < usa_deadline:
        usa = [r.product_id for r in nodes["USA"].share.page(None, limit=10_000)]
        if len(usa) == len(ids):
            break
        time.sleep(0.1)
    assert sorted(usa) == sorted(ids)
    second = nodes["USA"].share.page(None, limit=10_000, norad_id=99902)
    assert len(second) == made
    sync_partner(nodes["UKR"], nodes["UKR"].config.partners["JPN"])
    assert nodes["UKR"].share.page(None, limit=100) == []


def test_partners_the_products_are_released_to_are_notified_and_pull_at_once(tmp_path):
    """USA and UKR pull JPN only every 10 minutes; JPN's pipeline notifies the partners its new
    products are releasable to (POST /sync/notify), so USA pulls at once and UKR is not even told."""
    from kizuna.ops.pipeline import PipelineConfig, PipelineLoop

    ports = {n: free_port() for n in ("JPN", "USA", "UKR")}
    cfgs = coalition(tmp_path, ports)
    load_sample(str(tmp_path / "JPN.db"))
    nodes = {
        n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in ("JPN", "USA", "UKR")
    }
    loops = {n: SyncLoop(nodes[n], 600.0, log=lambda _m: None) for n in ("USA", "UKR")}
    pokes: list[tuple[str, str]] = []
    for n, loop in loops.items():
        real = loop.poke
        loop.poke = lambda pid, n=n, real=real: pokes.append((n, pid)) or real(pid)  # type: ignore[method-assign]
    apps = {n: create_app(nodes[n]) for n in nodes}
    for n, loop in loops.items():
        apps[n].state.sync_loop = loop
        loop.start()
    servers = [ServerThread(apps[n], ports[n]).start() for n in nodes]
    c = nodes["JPN"].config
    config = PipelineConfig.load(cfgs["JPN"], c.nation, c.clearance.banner, c.markings)
    assert config is not None
    live = PipelineLoop(nodes["JPN"], config, log=lambda _m: None).start()
    try:
        asset = nodes["JPN"].catalog.latest_element_sets([JPN_ASSET])[0]
        t0 = time.monotonic()
        write_csv(tmp_path / "incoming" / "a.csv", [neighbour(asset, 99901)])
        while time.monotonic() - t0 < LATENCY_S and not nodes["USA"].share.page(None, limit=1):
            time.sleep(0.05)
        assert nodes["USA"].share.page(None, limit=1), "USA was not notified (its own pull is 10 min away)"
        assert ("USA", "JPN") in pokes and not [p for p in pokes if p[0] == "UKR"]
        assert nodes["UKR"].share.page(None, limit=1) == []
    finally:
        live.stop()
        for loop in loops.values():
            loop.stop()
        for s in servers:
            s.stop()
        for node in nodes.values():
            node.catalog.close()
