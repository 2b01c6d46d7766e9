"""Guards of a running node: every refused request is audited (anonymous floods counted, not logged entry
by entry), a CLI writing beside a live node never fails a request, and SSE streams are limited per
caller and in all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from starlette.requests import Request
from tests.conftest import PG_URL, REPO, _postgres_reason

from kizuna.service import create_app
from kizuna.service.deps import Caller, identify
from kizuna.share.federation import node_auth_headers
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.node import ConfigError, FeedLimits, Node, NodeConfig
from kizuna.share.signing import Signer, load_private_key

ANALYST = {"Authorization": "Bearer token-JPN"}  # publisher, auditor, downgrader
READER = {"Authorization": "Bearer token-reader"}  # no roles
PUBLISH_BODY = {"type": "conjunction", "payload": {"miss_km": 0.2}, "marking": "UNCLASSIFIED"}


def _coalition(tmp: Path, ports: dict[str, int] | None = None, feed: dict[str, int] | None = None) -> Path:
    cfgs = write_coalition(tmp, ports or {"JPN": 1, "USA": 2})
    cfg = yaml.safe_load(cfgs["JPN"].read_text())
    cfg["users"].append(
        {
            "name": "reader",
            "token": "token-reader",
            "nationality": "JPN",
            "clearance": "SECRET",
            "accesses": [],
            "roles": [],
        }
    )
    if feed is not None:
        cfg["feed"] = feed
    cfgs["JPN"].write_text(yaml.safe_dump(cfg, sort_keys=False))
    return cfgs["JPN"]


@pytest.fixture
def node(tmp_path):
    n = Node.open(str(tmp_path / "JPN.db"), _coalition(tmp_path), tmp_path / "keys")
    yield n
    n.catalog.close()


def _refusals(node: Node, after: int) -> list[dict[str, object]]:
    rows = [r for r in node.share.audit_rows() if int(r["seq"]) > after and r["event"] == "refusal"]  # type: ignore[call-overload]
    return [{**r, "detail": json.loads(str(r["detail"]))} for r in rows]


# ------------------------------------------------------------------------ refusals are audited
def test_a_role_refusal_by_a_dependency_is_audited_with_who_what_and_why(node):
    app = create_app(node)
    head = node.share.audit_head_now()[0]
    r = TestClient(app, client=("192.0.2.7", 4000)).get("/node/status", headers=READER)
    assert r.status_code == 403 and r.json() == {"detail": "the 'auditor' role is required"}
    (entry,) = _refusals(node, head)
    assert entry["actor"] == "reader"
    assert entry["detail"] == {
        "action": "GET /node/status",
        "status": 403,
        "reason": "the 'auditor' role is required",
        "client": "192.0.2.7",
    }
    assert node.audit.verify().ok


def test_unauthenticated_requests_are_audited_with_client_address_and_reason(node):
    app = create_app(node)
    path = "/products/conjunctions"
    usa_claim = {
        "X-Kizuna-Node": "USA",
        "X-Kizuna-Date": "2026-11-25T00:00:00Z",
        "X-Kizuna-Signature": "AAAA",
    }
    cases = [
        ("198.51.100.1", "GET", {}, "no credentials"),
        ("198.51.100.2", "GET", {"Authorization": "Bearer wrong"}, "bearer token not recognised"),
        ("198.51.100.3", "GET", usa_claim, "request signature of node 'USA' does not verify"),
        # Signed with this node's own key: trusted, but the node is not its own partner.
        (
            "198.51.100.4",
            "GET",
            node_auth_headers(node.signer, "GET", path),
            "node 'JPN' signs with a trusted key but is not a partner",
        ),
        # A write is refused by the body-limit middleware before routing: audited there too.
        ("198.51.100.5", "POST", {}, "no credentials"),
    ]
    head = node.share.audit_head_now()[0]
    for address, method, headers, _ in cases:
        url = "/products" if method == "POST" else path
        r = TestClient(app, client=(address, 5000)).request(method, url, headers=headers, json=PUBLISH_BODY)
        assert r.status_code == 401 and r.json() == {"detail": "authentication required"}  # says no more
    entries = _refusals(node, head)
    assert [(e["actor"], e["detail"]["client"], e["detail"]["reason"]) for e in entries] == [
        ("anonymous", address, reason) for address, _, _, reason in cases
    ]
    assert entries[-1]["detail"]["action"] == "POST /products" and entries[0]["detail"]["status"] == 401
    assert node.audit.verify().ok


def test_tls_identity_and_request_signature_must_agree(node, tmp_path):
    """The refusal names both identities (the TLS peer comes from the server's protocol, see
    share.loopback.PeerCertH11Protocol)."""
    path = "/taxii2/"
    usa = Signer("USA", load_private_key(tmp_path / "keys" / "USA.key.pem"))
    raw = [(k.lower().encode(), v.encode()) for k, v in node_auth_headers(usa, "GET", path).items()]

    def request(peer: str) -> Request:
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": raw}
        return Request(scope | {"state": {"peer_node": peer}})

    found = identify(node, request("USA"))
    assert isinstance(found, Caller) and found.node_id == "USA"
    assert (
        identify(node, request("GBR")) == "TLS client certificate names 'GBR' but the request signature 'USA'"
    )


def test_a_refusal_a_route_audits_itself_is_written_once(node):
    app = create_app(node)
    head = node.share.audit_head_now()[0]
    assert TestClient(app).post("/products", json=PUBLISH_BODY, headers=READER).status_code == 403
    assert [e["detail"]["action"] for e in _refusals(node, head)] == ["publish"]


def test_an_anonymous_flood_is_counted_per_address_and_window_not_logged_per_request(node):
    app = create_app(node)
    now = [1_800_000_000.0]  # a window boundary: 1_800_000_000 = 30_000_000 minutes
    app.state.refusals.clock = lambda: now[0]
    head = node.share.audit_head_now()[0]
    flooder = TestClient(app, client=("203.0.113.9", 1))
    for _ in range(300):
        assert flooder.get("/products/conjunctions").status_code == 401
    for i in range(100):  # more addresses than are tracked per window (64)
        c = TestClient(app, client=(f"10.0.{i // 256}.{i % 256}", 2))
        assert c.get("/products/conjunctions").status_code == 401
        assert c.post("/products", json={}).status_code == 401
    firsts = _refusals(node, head)
    assert len(firsts) == 64  # the flooder's first refusal, then one per new address up to the cap
    assert firsts[0]["detail"]["client"] == "203.0.113.9"
    # The next window: the first request of any kind writes the summary of the last one.
    now[0] += 60
    assert TestClient(app).get("/health").status_code == 200
    entries = _refusals(node, head)
    assert len(entries) == 65
    summary = entries[-1]["detail"]
    assert summary["window_start_utc"] == "2027-01-15T08:00:00.000000Z" and summary["window_s"] == 60
    assert summary["refused"] == 300 + 200
    assert summary["by_client"]["203.0.113.9"] == 300 and len(summary["by_client"]) == 64
    assert summary["untracked_clients_refused"] == 37 * 2
    assert node.audit.verify().ok
    # Nothing more to summarise: a quiet window writes nothing.
    now[0] += 600
    assert TestClient(app).get("/health").status_code == 200
    assert len(_refusals(node, head)) == 65


def test_the_count_of_the_last_window_is_written_when_the_app_shuts_down(node):
    app = create_app(node)
    head = node.share.audit_head_now()[0]
    with TestClient(app, client=("192.0.2.50", 9)) as c:
        for _ in range(3):
            assert c.get("/audit/verify").status_code == 401
        assert len(_refusals(node, head)) == 1
    last = _refusals(node, head)[-1]["detail"]
    assert last["refused"] == 3 and last["by_client"] == {"192.0.2.50": 3}


# ------------------------------------------------------------------------ a CLI beside a live node
WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from kizuna.share.audit import AuditEvent
    from kizuna.share.markings import parse_banner
    from kizuna.share.node import Node
    from kizuna.share.products import Product

    db, cfg, keys, n = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    node = Node.open(db, cfg, keys)
    print("ready", flush=True)
    for i in range(n):
        # What `kizuna product publish` and `kizuna serve --insecure` write: a product, an audit entry.
        node.publish(Product.new("element_set", {"i": i}, parse_banner("UNCLASSIFIED"), "JPN"), actor="cli")
        node.audit.record(AuditEvent("config", "cli", None, None, {"i": i}))
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def node_db(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "JPN.db")
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_guard_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_cli_writing_beside_a_live_node_fails_no_request(tmp_path, node_db):
    """The audit head and its counter are read and advanced under one write lock (SQLite BEGIN
    IMMEDIATE, PostgreSQL row locks): before, a deferred SQLite transaction read the head, another
    process appended, and the request failed with "audit counter N disagrees with head M"."""
    cfg = _coalition(tmp_path)
    node = Node.open(node_db, cfg, tmp_path / "keys")
    app = create_app(node)
    writes = 150
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cli = subprocess.Popen(
        [sys.executable, "-c", WRITER, node_db, str(cfg), str(tmp_path / "keys"), str(writes)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stdout is not None and cli.stdout.readline().strip() == "ready"
        statuses: list[int] = []
        with TestClient(app) as client:
            while cli.poll() is None or len(statuses) < 40:
                # A publish (product and audit entry) and a read (an access entry, audit only).
                statuses.append(client.post("/products", json=PUBLISH_BODY, headers=ANALYST).status_code)
                statuses.append(client.get("/products/element-sets?limit=5", headers=ANALYST).status_code)
        _, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, stderr.strip().splitlines()[-1:]
    assert set(statuses) == {200, 201}, sorted(set(statuses))
    report = node.audit.verify()
    assert report.ok, report.problems[:3]
    published = statuses.count(201)
    assert node.share.count() == writes + published
    node.catalog.close()


# ------------------------------------------------------------------------ SSE stream limits
def test_feed_limits_come_from_the_node_config_and_are_checked(tmp_path):
    base = yaml.safe_load(_coalition(tmp_path).read_text())
    assert NodeConfig.from_mapping(base, tmp_path).feed == FeedLimits(4, 64)
    cfg = NodeConfig.from_mapping({**base, "feed": {"max_streams_per_caller": 2}}, tmp_path)
    assert cfg.feed == FeedLimits(2, 64)
    for feed, key in [
        ({"max_streams_per_caller": 0}, "feed.max_streams_per_caller"),
        ({"max_streams": -1}, "feed.max_streams"),
        ({"max_streams": True}, "feed.max_streams"),
        ({"max_streams": "4"}, "feed.max_streams"),
        ({"max_streams": 10**6}, "feed.max_streams"),
        ({"max_stream": 4}, "unknown key(s) ['max_stream']"),
        ([4], "feed: must be a mapping"),
    ]:
        with pytest.raises(
            ConfigError, match=key.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
        ):
            NodeConfig.from_mapping({**base, "feed": feed}, tmp_path)


# Open stream line iterators: an abandoned iterator closes its connection when collected.
_READING: list[object] = []


def _open_stream(stack: ExitStack, client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    r = stack.enter_context(client.stream("GET", url + "/feed/stream?max_s=60", headers=headers))
    if r.status_code == 200:
        lines = r.iter_lines()
        assert next(lines) == ": kizuna live feed"  # the stream is open (its slot taken)
        _READING.append(lines)
    else:
        r.read()
    return r


def test_streams_are_limited_per_caller_and_in_all_and_a_closed_stream_frees_its_slot(tmp_path):
    port = free_port()
    cfg = _coalition(
        tmp_path, {"JPN": port, "USA": free_port()}, {"max_streams_per_caller": 2, "max_streams": 3}
    )
    node = Node.open(str(tmp_path / "JPN.db"), cfg, tmp_path / "keys")
    app = create_app(node, sse_poll_s=0.05)
    slots = app.state.streams
    server = ServerThread(app, port).start()
    url = f"http://127.0.0.1:{port}"
    head = node.share.audit_head_now()[0]
    try:
        with httpx.Client(timeout=10) as client, ExitStack() as analyst_streams, ExitStack() as others:
            first = _open_stream(analyst_streams, client, url, ANALYST)
            second = _open_stream(analyst_streams, client, url, ANALYST)
            assert first.status_code == second.status_code == 200
            third = _open_stream(others, client, url, ANALYST)
            assert third.status_code == 429 and third.headers["retry-after"] == "30"
            assert third.json() == {"detail": "too many open streams; close one or retry later"}
            # Another caller still has a slot, until the node's total is reached.
            assert _open_stream(others, client, url, READER).status_code == 200
            assert _open_stream(others, client, url, READER).status_code == 429
            assert slots.held() == 3 and slots.held(("user", "analyst-JPN")) == 2
            refused = _refusals(node, head)
            assert [(e["actor"], e["detail"]["status"], e["detail"]["action"]) for e in refused] == [
                ("analyst-JPN", 429, "GET /feed/stream"),
                ("reader", 429, "GET /feed/stream"),
            ]
            assert refused[0]["detail"]["reason"] == "caller holds 2 open streams (at most 2)"
            assert refused[1]["detail"]["reason"] == "3 open streams on this node (at most 3)"
            # The client goes away: its slot is free once the server notices the disconnect.
            analyst_streams.close()
            deadline = time.monotonic() + 10
            while slots.held(("user", "analyst-JPN")) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert slots.held(("user", "analyst-JPN")) == 0
            assert _open_stream(others, client, url, ANALYST).status_code == 200
        deadline = time.monotonic() + 10
        while slots.held() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slots.held() == 0
        assert node.audit.verify().ok
    finally:
        _READING.clear()
        server.stop()
        node.catalog.close()


def test_a_stream_that_ends_on_its_own_frees_its_slot(node):
    app = create_app(node, sse_poll_s=0.01)
    with TestClient(app) as client:
        for _ in range(6):  # more than the default 4 per caller, one after another
            r = client.get("/feed/stream?max_s=0.05", headers=ANALYST)
            assert r.status_code == 200
        assert app.state.streams.held() == 0


# ------------------------------------------------------------------------ found by tests/test_service_fuzz.py
def test_a_downgrade_cannot_apply_a_marking_above_the_actors_own_access(node):
    """A SECRET downgrader "downgrading" to TOP SECRET stored a version nobody at the node (SECRET)
    could read again: its own product vanished from every list."""
    client = TestClient(create_app(node))
    body = {"type": "conjunction", "payload": {}, "marking": "SECRET//REL TO USA, JPN"}
    pid = client.post("/products", json=body, headers=ANALYST).json()["product"]["id"]
    head = node.share.audit_head_now()[0]
    up = {"marking": "TOP SECRET//REL TO USA, JPN", "justification": "fuzz"}
    r = client.post(f"/products/{pid}/downgrade", json=up, headers=ANALYST)
    assert r.status_code == 403 and "could not access" in r.json()["detail"]
    assert [e["detail"]["action"] for e in _refusals(node, head)] == ["downgrade"]
    got = client.get(f"/products/conjunctions/{pid}", headers=ANALYST)
    assert got.status_code == 200 and got.json()["product"]["version"] == 1


def test_ids_no_product_can_have_are_refused_like_absent_ones(tmp_path, node_db):
    """On PostgreSQL an id over the 80-character column failed the refusal's audit write, and one
    with a NUL failed the lookup: both answered 500. Now 403, as for any product not releasable."""
    node = Node.open(node_db, _coalition(tmp_path), tmp_path / "keys")
    client = TestClient(create_app(node), raise_server_exceptions=False)
    absent = client.get("/products/conjunctions/product--absent", headers=ANALYST)
    head = node.share.audit_head_now()[0]
    for product_id in ("p" * 81, "a%00b"):
        got = client.get(f"/products/conjunctions/{product_id}", headers=ANALYST)
        down = client.post(
            f"/products/{product_id}/downgrade",
            json={"marking": "UNCLASSIFIED", "justification": "x"},
            headers=ANALYST,
        )
        assert got.status_code == down.status_code == 403 and got.content == absent.content
    entries = _refusals(node, head)
    assert len(entries) == 4 and all(e["product_id"] is None for e in entries)
    assert [e["detail"]["requested_id"] for e in entries] == ["p" * 81, "p" * 81, "a\x00b", "a\x00b"]
    node.catalog.close()
