"""Hardening of a coalition node against hostile or careless input (issue 14, findings 2-6): limits
where products enter, per-product quarantine that never blocks a partner's page or cursor, a sync loop
that survives any partner, fail-closed configuration, TLS required between nodes, and request bodies
bounded and authenticated before they are read. Each test fails on the code before the fix."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from cli_harness import invoke, refused
from kizuna.service import create_app
from kizuna.service.app import MAX_BODY_BYTES
from kizuna.share.federation import SyncError, SyncLoop, partner_status, sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import ConfigError, Node, NodeConfig
from kizuna.share.products import Product
from kizuna.share.signing import Signer, public_pem
from kizuna.share.taxii import objects_path

JPN_TOKEN = {"Authorization": "Bearer token-JPN"}
FEED = objects_path("JPN")


def nested(depth: int) -> dict[str, object]:
    payload: dict[str, object] = {}
    cur = payload
    for _ in range(depth - 1):
        cur["a"] = {}
        cur = cur["a"]  # type: ignore[assignment]
    return payload


def raw_product(pid: str, version: int, payload: dict[str, object], banner: str = "UNCLASSIFIED") -> Product:
    """A product built past every check (the dataclass itself), as a hostile partner would sign it."""
    return Product(pid, version, "derived", datetime.now(UTC), "JPN", payload, parse_banner(banner))


@pytest.fixture
def coalition(tmp_path):
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port(), "UKR": free_port()})
    return tmp_path, cfgs


def open_node(tmp, cfgs, name, store=None):  # noqa: ANN001, ANN201
    if store is None:
        return Node.open(str(tmp / f"{name}.db"), cfgs[name], tmp / "keys")
    from kizuna.share.signing import load_private_key

    config = NodeConfig.load(cfgs[name])
    return Node(store, config, Signer(name, load_private_key(tmp / "keys" / f"{name}.key.pem")))


def feed_transport(pages: dict[str | None, dict[str, object]]) -> httpx.MockTransport:
    """A partner answering its feed from `pages` (keyed by the `next` asked for) and 404 elsewhere."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path != FEED:
            return httpx.Response(404, json={"detail": "no"})
        return httpx.Response(200, json=pages[request.url.params.get("next")])

    return httpx.MockTransport(handle)


# ---------------------------------------------------------------- finding 2: limits where input enters
def test_deep_or_huge_payload_is_refused_before_storing_and_reads_keep_working(coalition):
    tmp, cfgs = coalition
    node = open_node(tmp, cfgs, "JPN")
    client = TestClient(create_app(node), raise_server_exceptions=False)
    bodies = {
        "300 levels deep": {"type": "derived", "marking": "UNCLASSIFIED", "payload": nested(300)},
        "33 levels deep": {"type": "derived", "marking": "UNCLASSIFIED", "payload": nested(33)},
        "over 1 MiB": {"type": "derived", "marking": "UNCLASSIFIED", "payload": {"x": "y" * (1 << 20)}},
        "id of 81": {"type": "derived", "marking": "UNCLASSIFIED", "payload": {}, "id": "p" * 81},
        "version 2^31": {"type": "derived", "marking": "UNCLASSIFIED", "payload": {}, "version": 2**31},
    }
    for what, body in bodies.items():
        r = client.post("/products", json=body, headers=JPN_TOKEN)
        assert r.status_code == 422, (what, r.status_code, r.text[:200])
        assert len(r.content) < 2000, f"{what}: the refusal echoes the input"
    assert (
        "deeper than 32" in client.post("/products", json=bodies["300 levels deep"], headers=JPN_TOKEN).text
    )
    assert list(node.share.all_keys()) == []
    # At the limit is accepted; every read still answers.
    ok = client.post(
        "/products",
        json={"type": "derived", "marking": "UNCLASSIFIED", "payload": nested(32)},
        headers=JPN_TOKEN,
    )
    assert ok.status_code == 201, ok.text[:300]
    for path in (FEED, "/products/derived"):
        r = client.get(path, headers=JPN_TOKEN)
        assert r.status_code == 200 and len(r.json()["objects"]) == 1, (path, r.status_code)
    node.catalog.close()


def test_partner_poison_products_are_quarantined_one_by_one_and_the_cursor_moves(tmp_path, store):
    """A partner's page mixes good products with a signed 300-deep payload, a version of 2^63 (SQLite
    overflow), an id of 120 characters (PostgreSQL VARCHAR(80)) and a non-document: the good ones land,
    each bad one is refused and audited on its own, the cursor moves and the feed still reads."""
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    usa = open_node(tmp_path, cfgs, "USA", store)
    from kizuna.share.signing import load_private_key

    jpn = Signer("JPN", load_private_key(tmp_path / "keys" / "JPN.key.pem"))
    good = [jpn.sign_product(raw_product(f"good-{i}", 1, {"i": i})) for i in range(3)]
    poison = [
        jpn.sign_product(raw_product("deep", 1, nested(300))),
        jpn.sign_product(raw_product("huge-version", 2**63, {})),
        jpn.sign_product(raw_product("x" * 120, 1, {})),
        "not a product",
    ]
    pages = {
        None: {"more": True, "next": "c1", "objects": [good[0], *poison, good[1]]},
        "c1": {"more": False, "next": "c2", "objects": [good[2]]},
    }
    with httpx.Client(transport=feed_transport(pages)) as client:
        rep = sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert rep.ingest.ingested == 3 and len(rep.ingest.refused) == 4
    assert usa.share.cursor("JPN") == "c2"
    refusals = [r for r in usa.share.audit_rows() if r["event"] == "refusal"]
    assert len(refusals) == 4
    assert usa.audit.verify().ok
    api = TestClient(create_app(usa), raise_server_exceptions=False)
    r = api.get(objects_path("USA"), headers={"Authorization": "Bearer token-USA"})
    assert r.status_code == 200 and {o["product"]["id"] for o in r.json()["objects"]} == {
        "good-0",
        "good-1",
        "good-2",
    }


def test_a_product_the_store_refuses_is_isolated_from_its_page(coalition, monkeypatch):
    """Whatever the store cannot hold (here: an insert failing for one product) is quarantined on its
    own; the rest of the page and the cursor are committed."""
    tmp, cfgs = coalition
    usa = open_node(tmp, cfgs, "USA")
    from kizuna.share.signing import load_private_key

    jpn = Signer("JPN", load_private_key(tmp / "keys" / "JPN.key.pem"))
    docs = [jpn.sign_product(raw_product(pid, 1, {})) for pid in ("a", "unstorable", "b")]
    real_insert = usa.share.insert

    def insert(conn, rows):  # noqa: ANN001, ANN202
        if any(r["product_id"] == "unstorable" for r in rows):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real_insert(conn, rows)

    monkeypatch.setattr(usa.share, "insert", insert)
    pages = {None: {"more": False, "next": "after", "objects": docs}}
    with httpx.Client(transport=feed_transport(pages)) as client:
        rep = sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert rep.ingest.ingested == 2 and [r[0] for r in rep.ingest.refused] == ["unstorable"]
    assert usa.share.cursor("JPN") == "after"
    usa.catalog.close()


# ---------------------------------------------------------------- finding 3: the sync loop survives
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(
            200, text="<html><body>maintenance</body></html>", headers={"content-type": "text/html"}
        ),
        httpx.Response(200, json=[1, 2, 3]),
        httpx.Response(200, json={"objects": "nope", "more": False}),
        httpx.Response(200, json={"objects": [], "more": True, "next": "n" * 500}),
        httpx.Response(200, content=b"[" * 200_000),
    ],
    ids=["html", "list", "objects-not-list", "cursor-too-long", "deep-json"],
)
def test_a_bad_partner_answer_is_one_sync_error_and_audited(coalition, answer):
    tmp, cfgs = coalition
    usa = open_node(tmp, cfgs, "USA")
    client = httpx.Client(transport=httpx.MockTransport(lambda _r: answer))
    with client, pytest.raises(SyncError):  # max_pages: the old code paged an endless `more` for ever
        sync_partner(usa, usa.config.partners["JPN"], client=client, max_pages=5)
    status = {s["partner"]: s for s in partner_status(usa)}["JPN"]
    assert (
        status["last_error"] and status["failures_since_success"] == 1 and status["last_success_utc"] is None
    )
    usa.catalog.close()


def test_sync_loop_outlives_a_partner_answering_html_and_reports_its_health(coalition):
    """A partner first answers HTML, then its real feed: the loop keeps trying with backoff, picks the
    product up once the partner recovers, and its health is visible in the API and `kizuna node status`."""
    tmp, cfgs = coalition
    jpn, usa = open_node(tmp, cfgs, "JPN"), open_node(tmp, cfgs, "USA")
    product = Product.new("derived", {"n": 1}, parse_banner("UNCLASSIFIED"), "JPN")
    jpn.publish(product, actor="setup")
    real = create_app(jpn)
    broken = threading.Event()
    broken.set()
    proxy = FastAPI()

    @proxy.middleware("http")
    async def maybe_html(request, call_next):  # noqa: ANN001, ANN202
        if broken.is_set():
            return Response("<html>502 from a proxy</html>", media_type="text/html")
        return await call_next(request)

    proxy.mount("/", real)
    port = int(yaml.safe_load(cfgs["USA"].read_text())["partners"][0]["url"].rsplit(":", 1)[1])
    server = ServerThread(proxy, port).start()
    logs: list[str] = []
    loop = SyncLoop(usa, interval_s=0.05, log=logs.append).start()

    def failed() -> int:
        return sum(line.startswith("sync JPN failed") for line in list(logs))

    try:
        deadline = time.monotonic() + 30
        while failed() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failed() >= 2, logs  # the old loop thread died on the first HTML answer, silently
        api = TestClient(create_app(usa))
        st = api.get("/node/status", headers={"Authorization": "Bearer token-USA"}).json()
        jpn_st = {p["partner"]: p for p in st["partners"]}["JPN"]
        assert "not JSON" in jpn_st["last_error"] and jpn_st["last_success_utc"] is None
        broken.clear()
        while usa.share.get(None, product.id) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert usa.share.get(None, product.id) is not None, logs
    finally:
        loop.stop()
        server.stop()
    status = {s["partner"]: s for s in partner_status(usa)}["JPN"]
    assert status["last_success_utc"] is not None and status["failures_since_success"] == 0
    assert status["lag_s"] is not None and status["lag_s"] < 60
    # Partners may not read the node's health; the CLI shows it from the database.
    assert api.get("/node/status").status_code == 401
    usa.catalog.close()
    result = invoke(
        [
            "node",
            "status",
            "--partners",
            str(cfgs["USA"]),
            "--keys",
            str(tmp / "keys"),
            "--db",
            str(tmp / "USA.db"),
            "-f",
            "json",
        ]
    )
    assert result.exit_code == 2, result.output  # UKR has no server in this test: its pulls fail
    rows = {r["partner"]: r for r in json.loads(result.stdout)["partners"]}
    assert rows["JPN"]["last_success_utc"] == status["last_success_utc"]
    assert rows["UKR"]["last_error"] and rows["UKR"]["last_success_utc"] is None
    jpn.catalog.close()


# ---------------------------------------------------------------- finding 4: configuration fails closed
def _cfg(**node_overrides: object) -> dict[str, object]:
    pem = public_pem(Ed25519PrivateKey.generate().public_key()).decode()
    node = {"id": "UKR", "clearance": "SECRET", "accesses": []} | node_overrides
    return {
        "node": {k: v for k, v in node.items() if v is not None},
        "partners": [{"id": "USA", "public_key": pem, "clearance": "SECRET", "accesses": ["ORCON"]}],
        "users": [{"name": "a", "token": "t", "nationality": "UKR", "clearance": "SECRET", "accesses": []}],
    }


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c["node"].pop("accesses"), "node.accesses"),
        (lambda c: c["node"].pop("clearance"), "node.clearance"),
        (lambda c: c["partners"][0].pop("accesses"), "partners[0] (USA).accesses"),
        (lambda c: c["partners"][0].pop("clearance"), "partners[0] (USA).clearance"),
        (lambda c: c["users"][0].pop("accesses"), "users[0] (a).accesses"),
        (lambda c: c["users"][0].pop("clearance"), "users[0] (a).clearance"),
        (lambda c: c["partners"][0].update(accesses="ORCON"), "partners[0] (USA).accesses"),
        (lambda c: c["node"].update(accesses=["ORCN"]), "node.accesses"),
        (lambda c: c["partners"][0].update(url="ftp://x"), "partners[0] (USA).url"),
    ],
)
def test_config_without_explicit_clearance_and_accesses_is_refused(tmp_path, edit, key):
    cfg = _cfg()
    edit(cfg)
    path = tmp_path / "UKR.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError) as info:
        NodeConfig.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and key in message, message


def test_empty_accesses_grant_no_caveat():
    cfg = NodeConfig.from_mapping(_cfg())
    assert cfg.accesses == frozenset()
    assert cfg.users[0].subject.accesses == frozenset()


def test_careless_partner_orcon_product_is_refused_by_the_receivers_own_check(coalition):
    """USA's config carelessly grants UKR ORCON, so USA releases a SECRET//ORCON product to UKR; UKR's
    config grants it no caveat (`accesses: []`), and its own re-check refuses and audits it."""
    tmp, cfgs = coalition
    usa_cfg = yaml.safe_load(cfgs["USA"].read_text())
    for p in usa_cfg["partners"]:
        if p["id"] == "UKR":
            p["accesses"] = ["ORCON"]
    cfgs["USA"].write_text(yaml.safe_dump(usa_cfg))
    usa, ukr = open_node(tmp, cfgs, "USA"), open_node(tmp, cfgs, "UKR")
    assert ukr.config.accesses == frozenset()
    orcon = Product.new("derived", {"k": 1}, parse_banner("SECRET//ORCON//REL TO USA, UKR"), "USA")
    usa.publish(orcon, actor="setup")
    url = ukr.config.partners["USA"].url
    server = ServerThread(create_app(usa), int(url.rsplit(":", 1)[1])).start()
    try:
        rep = sync_partner(ukr, ukr.config.partners["USA"])
    finally:
        server.stop()
    assert rep.fetched == 1 and rep.ingest.ingested == 0
    assert ukr.share.get(None, orcon.id) is None
    reasons = [
        json.loads(r["detail"]).get("reason", "") for r in ukr.share.audit_rows() if r["event"] == "refusal"
    ]
    assert any("not releasable" in r for r in reasons), reasons
    usa.catalog.close()
    ukr.catalog.close()


# ---------------------------------------------------------------- finding 5: TLS required between nodes
def test_plain_http_partner_is_refused_unless_insecure_and_then_announced(coalition):
    tmp, cfgs = coalition
    cfg = yaml.safe_load(cfgs["USA"].read_text())
    cfg.pop("insecure", None)
    cfgs["USA"].write_text(yaml.safe_dump(cfg))
    jpn, usa = open_node(tmp, cfgs, "JPN"), open_node(tmp, cfgs, "USA")
    secret = Product.new("derived", {"k": 1}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    jpn.publish(secret, actor="setup")
    url = usa.config.partners["JPN"].url
    assert url.startswith("http://")
    server = ServerThread(create_app(jpn), int(url.rsplit(":", 1)[1])).start()
    try:
        with pytest.raises(SyncError, match="plain HTTP"):
            sync_partner(usa, usa.config.partners["JPN"])
        assert usa.share.get(None, secret.id) is None
        usa.catalog.close()
        args = ["node", "sync", "--partners", str(cfgs["USA"]), "--keys", str(tmp / "keys"),
                "--db", str(tmp / "USA.db"), "--partner", "JPN"]  # fmt: skip
        refused(args, contains="TLS is required")
        result = invoke([*args, "--insecure", "-f", "json"])
        assert result.exit_code == 0, result.output
        assert "INSECURE" in result.stderr
    finally:
        server.stop()
    usa = open_node(tmp, cfgs, "USA")
    assert usa.share.get(None, secret.id) is not None
    events = [(r["event"], json.loads(r["detail"])) for r in usa.share.audit_rows()]
    assert any(e == "config" and "JPN" in d.get("plain_http", []) for e, d in events)
    assert any(e == "sync" and d.get("insecure") is True and "error" not in d for e, d in events)
    jpn.catalog.close()
    usa.catalog.close()


# ---------------------------------------------------------------- finding 6: bodies bounded, auth first
def _post(app, headers: list[tuple[bytes, bytes]], total_bytes: int, chunk: bytes = b" " * 65536):  # noqa: ANN001
    """POST /products straight into the ASGI app with a streamed body; returns (status, bytes the app
    pulled from the client)."""
    pulled = 0
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        nonlocal pulled
        if pulled >= total_bytes:
            await asyncio.sleep(3600)  # a client that never sends the rest
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < total_bytes}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/products",
        "raw_path": b"/products",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"node"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, pulled


def test_unauthenticated_or_oversized_bodies_are_refused_before_they_are_read(coalition):
    tmp, cfgs = coalition
    node = open_node(tmp, cfgs, "JPN")
    app = create_app(node)
    huge = 150 * 1024 * 1024
    # Unauthenticated: 401 before a single byte is read (the old app read all 150 MB first).
    assert _post(app, [], huge) == (401, 0)
    assert _post(app, [(b"authorization", b"Bearer wrong")], huge) == (401, 0)
    # Over the limit by Content-Length: 413 without reading.
    auth = [(b"authorization", b"Bearer token-JPN")]
    assert _post(app, [*auth, (b"content-length", str(huge).encode())], huge) == (413, 0)
    # Streamed without a length: 413 as soon as the count passes the limit.
    status, pulled = _post(app, auth, huge)
    assert status == 413 and pulled <= MAX_BODY_BYTES + 65536
    node.catalog.close()


def test_body_limit_over_a_real_socket(coalition):
    tmp, cfgs = coalition
    node = open_node(tmp, cfgs, "JPN")
    port = free_port()
    server = ServerThread(create_app(node), port).start()
    try:

        def body():  # noqa: ANN202
            for _ in range(1000):  # 64 MB if it were all read
                yield b" " * 65536

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            r = client.post("/products", content=body(), headers={"content-type": "application/json"})
            assert r.status_code == 401
            r = client.post(
                "/products", content=body(), headers={**JPN_TOKEN, "content-type": "application/json"}
            )
            assert r.status_code == 413
            ok = client.post(
                "/products",
                json={"type": "derived", "marking": "UNCLASSIFIED", "payload": {}},
                headers=JPN_TOKEN,
            )
            assert ok.status_code == 201
    finally:
        server.stop()
        node.catalog.close()


def test_a_refused_read_of_an_overlong_path_id_is_audited_not_a_500(coalition, store):
    """The id in a read's path is unbounded; its refusal is audited under a digest, so the audit row
    fits the 80-character column (PostgreSQL enforced it: the refusal failed with a 500)."""
    tmp, cfgs = coalition
    node = open_node(tmp, cfgs, "JPN", store)
    client = TestClient(create_app(node), raise_server_exceptions=False)
    long_id = "p" * 300
    r = client.get(f"/products/element-sets/{long_id}", headers=JPN_TOKEN)
    assert r.status_code in (403, 404), r.text
    refusals = [row for row in node.share.audit_rows() if row["event"] == "refusal"]
    assert refusals and refusals[-1]["product_id"] is None
    assert (
        json.loads(str(refusals[-1]["detail"]))["id_sha256"]
        == __import__("hashlib").sha256(long_id.encode()).hexdigest()
    )
    assert node.audit.verify().ok
