"""The node API: schemathesis against its OpenAPI document, authentication (401), wrong-nation requests
(403 that leaks nothing), the SSE live feed and mutual TLS over loopback sockets."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kizuna.service import create_app
from kizuna.share.federation import sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.share.taxii import objects_path

JPN_TOKEN = {"Authorization": "Bearer token-JPN"}
UKR_VISITOR = {"Authorization": "Bearer token-ukr-liaison"}
FEED = objects_path("JPN")


@pytest.fixture(scope="module")
def jpn(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    cfgs = write_coalition(tmp, {"JPN": free_port(), "USA": free_port(), "UKR": free_port()})
    cfg = yaml.safe_load(cfgs["JPN"].read_text())
    cfg["users"].append(
        {
            "name": "ukr-liaison",
            "token": "token-ukr-liaison",
            "nationality": "UKR",
            "clearance": "SECRET",
            "accesses": [],
            "roles": [],
        }
    )
    cfgs["JPN"].write_text(yaml.safe_dump(cfg, allow_unicode=True))
    node = Node.open(str(tmp / "JPN.db"), cfgs["JPN"], tmp / "keys")
    secret = Product.new(
        "conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN"), "JPN", objects=(25544,)
    )
    public = Product.new(
        "element_set", {"norad_id": 25544}, parse_banner("UNCLASSIFIED"), "JPN", objects=(25544,)
    )
    node.publish(secret, actor="setup")
    node.publish(public, actor="setup")
    yield node, secret, public, tmp, cfgs
    node.catalog.close()


@pytest.fixture(scope="module")
def api_schema(jpn):
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(jpn[0])).exclude(path="/feed/stream")


def test_openapi_conformance_no_5xx(api_schema):
    # Driven by hand rather than through schemathesis' pytest plugin, which does not load under
    # pytest 9 (it reads the removed Function._nodeid).
    from hypothesis import given

    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for op in operations:

        @given(op.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(
                headers=JPN_TOKEN,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        run()


@pytest.fixture
def client(jpn):
    from fastapi.testclient import TestClient

    with TestClient(create_app(jpn[0])) as c:
        yield c


@pytest.mark.parametrize(
    "path",
    [
        "/taxii2/",
        FEED,
        "/products/conjunctions",
        "/audit/verify",
        "/feed/stream",
    ],
)
def test_unauthenticated_requests_get_401(client, path):
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"X-Kizuna-Node": "USA", "X-Kizuna-Date": "2026-11-25T00:00:00Z", "X-Kizuna-Signature": "AAAA"},
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 401
        if path.startswith("/taxii2/"):  # a TAXII 2.1 error message
            assert r.json() == {
                "title": "Unauthorized",
                "description": "authentication required",
                "http_status": "401",
            }
        else:
            assert r.json() == {"detail": "authentication required"}


def test_wrong_nation_gets_403_and_learns_nothing(client, jpn):
    node, secret, public, *_ = jpn
    r_hidden = client.get(f"/products/conjunctions/{secret.id}", headers=UKR_VISITOR)
    r_absent = client.get("/products/conjunctions/product--does-not-exist", headers=UKR_VISITOR)
    assert r_hidden.status_code == r_absent.status_code == 403
    assert r_hidden.content == r_absent.content  # existence is not revealed
    listing = client.get("/products/conjunctions", headers=UKR_VISITOR)
    assert listing.status_code == 200 and listing.json()["objects"] == []
    feed = client.get(FEED, headers=UKR_VISITOR).json()
    assert [o["product"]["id"] for o in feed["objects"]] == [public.id]
    assert secret.id not in json.dumps(feed) and "count" not in json.dumps(feed)
    # The cursor is opaque: it differs on every call and does not decode to a number.
    again = client.get(FEED, headers=UKR_VISITOR).json()
    assert feed["next"] != again["next"] and not feed["next"].isdigit()
    assert client.get(FEED + "?next=1", headers=UKR_VISITOR).status_code == 400
    # Roles: a reader may not publish, downgrade or read the audit verdict.
    assert client.get("/audit/verify", headers=UKR_VISITOR).status_code == 403
    body = {"type": "conjunction", "payload": {}, "marking": "UNCLASSIFIED"}
    assert client.post("/products", json=body, headers=UKR_VISITOR).status_code == 403
    # The cleared JPN analyst sees both; access is audited.
    mine = client.get(FEED, headers=JPN_TOKEN).json()
    assert {o["product"]["id"] for o in mine["objects"]} == {secret.id, public.id}
    assert client.get("/audit/verify", headers=JPN_TOKEN).json()["ok"] is True


def test_publish_rejects_contradictory_marking_and_filters_work(client):
    bad = {"type": "conjunction", "payload": {"miss_km": 1}, "marking": "SECRET//NOFORN/REL TO USA"}
    r = client.post("/products", json=bad, headers=JPN_TOKEN)
    assert r.status_code == 400 and "NOFORN" in r.json()["detail"]
    ok = {
        "type": "maneuver",
        "payload": {"dv_ms": 0.5},
        "marking": "CONFIDENTIAL//REL TO USA, JPN",
        "objects": [43013],
    }
    r = client.post("/products", json=ok, headers=JPN_TOKEN)
    assert r.status_code == 201 and r.json()["banner"] == "CONFIDENTIAL//REL TO USA, JPN"
    got = client.get("/products/maneuvers?norad_id=43013", headers=JPN_TOKEN).json()["objects"]
    assert [o["product"]["payload"] for o in got] == [{"dv_ms": 0.5}]
    assert client.get("/products/maneuvers?norad_id=1", headers=JPN_TOKEN).json()["objects"] == []
    assert (
        client.get("/products/maneuvers?since=2100-01-01T00:00:00Z", headers=JPN_TOKEN).json()["objects"]
        == []
    )


def test_sse_live_feed_and_mutual_tls_over_loopback(tmp_path):
    ports = {"JPN": free_port(), "USA": free_port()}
    cfgs = write_coalition(tmp_path, ports, tls=True, profiles={"JPN": ("SECRET", []), "USA": ("SECRET", [])})
    jpn = Node.open(str(tmp_path / "JPN.db"), cfgs["JPN"], tmp_path / "keys")
    usa = Node.open(str(tmp_path / "USA.db"), cfgs["USA"], tmp_path / "keys")
    server = ServerThread(create_app(jpn, sse_poll_s=0.05), ports["JPN"], tls=jpn.config.tls).start()
    try:
        p = Product.new("conjunction", {"miss_km": 0.1}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
        jpn.publish(p, actor="t")
        # Federation over mutual TLS with the node's CA-issued client certificate.
        assert sync_partner(usa, usa.config.partners["JPN"]).ingest.ingested == 1
        url = f"https://127.0.0.1:{ports['JPN']}"
        # Without a client certificate the TLS handshake itself fails (CERT_REQUIRED).
        import ssl

        with pytest.raises(httpx.HTTPError):
            httpx.get(
                url + "/health", verify=ssl.create_default_context(cafile=str(jpn.config.tls.ca)), timeout=5
            )
        ctx = ssl.create_default_context(cafile=str(jpn.config.tls.ca))
        ctx.load_cert_chain(str(usa.config.tls.cert), str(usa.config.tls.key))
        # A request signed as JPN but arriving with USA's certificate is refused: identities must agree.
        from kizuna.share.federation import node_auth_headers

        path = FEED
        forged = node_auth_headers(jpn.signer, "GET", path)
        assert httpx.get(url + path, headers=forged, verify=ctx, timeout=5).status_code == 401
        # The SSE stream delivers existing then newly published products, each with a cursor id.
        with (
            httpx.Client(verify=ctx, timeout=10) as c,
            c.stream("GET", url + "/feed/stream?max_s=5", headers={"Authorization": "Bearer token-JPN"}) as r,
        ):
            assert r.headers["content-type"].startswith("text/event-stream")
            seen: list[str] = []
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:])["product"]["id"])
                    if len(seen) == 1:
                        q = Product.new("element_set", {}, parse_banner("UNCLASSIFIED"), "JPN")
                        jpn.publish(q, actor="t")
                    else:
                        break
        assert seen == [p.id, q.id]
    finally:
        server.stop()
        jpn.catalog.close()
        usa.catalog.close()
