"""Product identity, stored-product verification and the publish oracle (issue findings 1, 7, 8 and
"denied requests are not audited"), on TestClient nodes of a loopback coalition.

Sync between nodes is the partner pull itself: the pulling node's signed request to the serving node's
TAXII feed (so the serving node's release policy applies), then `Node.ingest` of the page.
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from kizuna.cli import app as cli
from kizuna.service import create_app
from kizuna.share.federation import node_auth_headers
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.share.taxii import objects_path
from kizuna.store.share_store import products as product_table

FEED = objects_path("JPN")
TOKEN = {n: {"Authorization": f"Bearer token-{n}"} for n in ("JPN", "USA", "UKR")}
UKR_AT_JPN = {"Authorization": "Bearer token-ukr-liaison"}
LOW_PUBLISHER = {"Authorization": "Bearer token-conf-publisher"}


@pytest.fixture
def coalition(tmp_path):
    cfgs = write_coalition(tmp_path, {n: free_port() for n in ("JPN", "USA", "UKR")})
    cfg = yaml.safe_load(cfgs["JPN"].read_text())
    cfg["users"] += [
        {
            "name": "ukr-liaison",
            "token": "token-ukr-liaison",
            "nationality": "UKR",
            "clearance": "SECRET",
            "accesses": [],
            "roles": [],
        },
        {
            "name": "conf-publisher",
            "token": "token-conf-publisher",
            "nationality": "JPN",
            "clearance": "CONFIDENTIAL",
            "accesses": [],
            "roles": ["publisher"],
        },
    ]
    cfgs["JPN"].write_text(yaml.safe_dump(cfg, allow_unicode=True))
    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in cfgs}
    clients = {n: TestClient(create_app(node)) for n, node in nodes.items()}
    yield nodes, clients, cfgs, tmp_path
    for c in clients.values():
        c.close()
    for node in nodes.values():
        node.catalog.close()


def sync(nodes, clients, dst: str, src: str) -> None:
    """`dst` pulls `src`'s feed (everything `src` releases to it) and ingests it."""
    after: str | None = None
    while True:
        path = objects_path(src) + "?match[version]=all" + (f"&next={after}" if after else "")
        r = clients[src].get(path, headers=node_auth_headers(nodes[dst].signer, "GET", path))
        assert r.status_code == 200, r.text
        page = r.json()
        nodes[dst].ingest(page["objects"], source=src)
        after = page["next"]
        if not page["more"]:
            return


def refusals(node: Node) -> list[dict[str, object]]:
    return [
        {**r, "detail": json.loads(str(r["detail"]))}
        for r in node.share.audit_rows()
        if r["event"] == "refusal"
    ]


def current(node: Node, pid: str) -> Product:
    row = node.share.get(None, pid)
    assert row is not None
    return node.verify_wire(row.wire)


# ------------------------------------------------------------------ finding 1: identity
def test_partner_cannot_version_another_nations_product(coalition):
    nodes, clients, *_ = coalition
    jpn, usa, ukr = nodes["JPN"], nodes["USA"], nodes["UKR"]
    p = Product.new("conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN, UKR"), "JPN")
    jpn.publish(p, actor="analyst-JPN")
    sync(nodes, clients, "USA", "JPN")
    sync(nodes, clients, "UKR", "JPN")

    # A USA analyst tries to publish version 2 of JPN's product through USA's API: refused, audited.
    body = {
        "id": p.id,
        "version": 2,
        "type": "conjunction",
        "payload": {"miss_km": 99},
        "marking": "SECRET//REL TO USA",
    }
    r = clients["USA"].post("/products", json=body, headers=TOKEN["USA"])
    assert r.status_code == 403 and "originat" in r.json()["detail"]
    assert refusals(usa)[-1]["product_id"] == p.id

    # A modified USA node signs such a version itself and serves it: JPN and UKR refuse it on ingest.
    forged = usa.signer.sign_product(
        Product.new(
            "conjunction",
            {"miss_km": 99},
            parse_banner("SECRET//REL TO USA, JPN, UKR"),
            "USA",
            id=p.id,
            version=2,
        )
    )
    for victim in (jpn, ukr):
        rep = victim.ingest([forged], source="USA")
        assert rep.ingested == 0 and rep.refused[0][2].startswith("identity:"), rep.refused
        assert current(victim, p.id).originator == "JPN" and current(victim, p.id).payload == {"miss_km": 0.4}

    # JPN keeps control of its own product: its downgrade works and reaches the partners.
    r = clients["JPN"].post(
        f"/products/{p.id}/downgrade",
        json={"marking": "UNCLASSIFIED", "justification": "released by MOD"},
        headers=TOKEN["JPN"],
    )
    assert r.status_code == 200, r.text
    sync(nodes, clients, "UKR", "JPN")
    assert current(ukr, p.id).marking.banner() == "UNCLASSIFIED" and current(ukr, p.id).version == 2


def test_ingest_refuses_a_new_version_that_silently_lowers_the_marking(coalition):
    nodes, clients, *_ = coalition
    jpn, usa = nodes["JPN"], nodes["USA"]
    p = Product.new("conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    jpn.publish(p, actor="analyst-JPN")
    sync(nodes, clients, "USA", "JPN")
    # The originator's own (modified) node signs v2 with a lower marking but not as a downgrade.
    quiet = jpn.signer.sign_product(p.next_version(marking=parse_banner("UNCLASSIFIED")))
    rep = usa.ingest([quiet], source="JPN")
    assert rep.ingested == 0 and "lowers the marking" in rep.refused[0][2]
    assert "lowers the marking" in str(refusals(usa)[-1]["detail"]["reason"])
    # The same lowering as an explicit, signed downgrade by the originator is accepted.
    explicit = jpn.signer.sign_product(p.next_version(marking=parse_banner("UNCLASSIFIED"), downgrade=True))
    assert usa.ingest([explicit], source="JPN").ingested == 1
    # A stricter new version needs no downgrade.
    v3 = jpn.signer.sign_product(
        current(usa, p.id).next_version(marking=parse_banner("CONFIDENTIAL//REL TO USA, JPN"))
    )
    assert usa.ingest([v3], source="JPN").ingested == 1


# ------------------------------------------------------------------ finding 7: stored products
def _tamper(node: Node, pid: str, **values: object) -> None:
    with node.share.engine.begin() as conn:
        conn.execute(update(product_table).where(product_table.c.product_id == pid).values(**values))


def test_edited_payload_is_not_served_and_fails_audit_verify(coalition):
    nodes, clients, *_ = coalition
    jpn = nodes["JPN"]
    p = Product.new("conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    jpn.publish(p, actor="t")
    assert jpn.audit.verify().ok
    row = jpn.share.get(None, p.id)
    _tamper(jpn, p.id, wire=row.wire.replace('"miss_km":0.4', '"miss_km":4.0'))

    report = jpn.audit.verify()
    assert not report.ok and any(p.id in x and "bad signature" in x for x in report.problems), report.problems
    r = clients["JPN"].get(f"/products/conjunctions/{p.id}", headers=TOKEN["JPN"])
    assert r.status_code == 403
    listing = clients["JPN"].get("/products/conjunctions", headers=TOKEN["JPN"]).json()
    feed = clients["JPN"].get(FEED, headers=TOKEN["JPN"]).json()
    assert listing["objects"] == [] and feed["objects"] == []
    assert any("fails verification" in str(x["detail"]["reason"]) for x in refusals(jpn))


def test_edited_nations_column_does_not_release_to_ukr(coalition):
    nodes, clients, *_ = coalition
    jpn = nodes["JPN"]
    secret = Product.new("conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    public = Product.new("conjunction", {"miss_km": 9.0}, parse_banner("UNCLASSIFIED"), "JPN")
    jpn.publish(secret, actor="t")
    jpn.publish(public, actor="t")
    _tamper(jpn, secret.id, nations=",JPN,UKR,USA,")

    assert clients["JPN"].get(f"/products/conjunctions/{secret.id}", headers=UKR_AT_JPN).status_code == 403
    for path in ("/products/conjunctions", FEED):
        got = clients["JPN"].get(path, headers=UKR_AT_JPN).json()["objects"]
        assert [o["product"]["id"] for o in got] == [public.id], path
    # The partner feed is decided the same way: UKR's node pulls only the public product.
    sync(nodes, clients, "UKR", "JPN")
    assert nodes["UKR"].share.get(None, secret.id) is None
    assert any("policy columns" in str(x["detail"]["reason"]) for x in refusals(jpn))
    assert any("nations" in x for x in jpn.audit.verify().problems)
    # The JPN analyst, whom the signed label does release it to, still gets it.
    assert clients["JPN"].get(f"/products/conjunctions/{secret.id}", headers=TOKEN["JPN"]).status_code == 200


def test_product_verify_command_and_audit_verify_with_trust_store(coalition):
    nodes, clients, cfgs, tmp = coalition
    jpn = nodes["JPN"]
    p = Product.new("maneuver", {"dv_ms": 0.5}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    signed = jpn.publish(p, actor="t")
    good, bad = tmp / "good.json", tmp / "bad.json"
    good.write_text(json.dumps(signed))
    signed["product"]["payload"]["dv_ms"] = 5.0
    bad.write_text(json.dumps(signed))
    runner = CliRunner()
    # USA's trust store verifies JPN's product independently of JPN's database.
    trust = ["--partners", str(cfgs["USA"]), "--keys", str(tmp / "keys")]
    r = runner.invoke(cli, ["product", "verify", str(good), *trust])
    assert r.exit_code == 0 and "verifies" in r.stdout and "signed by JPN" in r.stdout, r.output
    r = runner.invoke(cli, ["product", "verify", str(bad), *trust, "-f", "json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["problem"] == "bad signature"

    db = ["--db", str(tmp / "JPN.db")]
    jtrust = ["--partners", str(cfgs["JPN"]), "--keys", str(tmp / "keys")]
    r = runner.invoke(cli, ["product", "verify", p.id, *jtrust, *db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["audit", "verify", *db, *jtrust, "-f", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["products"] == 1, r.output
    _tamper(jpn, p.id, caveats=",", classification=0)
    r = runner.invoke(cli, ["product", "verify", p.id, *jtrust, *db])
    assert r.exit_code == 2 and "classification" in r.stdout
    r = runner.invoke(cli, ["audit", "verify", *db, *jtrust])
    assert r.exit_code == 2 and "TAMPERED" in r.stdout and p.id in r.stdout


def test_signed_bytes_are_as_documented(coalition):
    """The signing docstring's recipe, followed with the standard library and `cryptography` only."""
    nodes, *_, tmp = coalition
    p = Product.new(
        "conjunction",
        {"miss_km": 1, "note": "ok"},
        parse_banner("SECRET//REL TO USA, JPN"),
        "JPN",
        objects=(7, 3),
    )
    signed = nodes["JPN"].publish(p, actor="t")
    # For ASCII keys, strings and integers, RFC 8785 equals sorted-key compact JSON.
    message = json.dumps(
        {"kizuna_product": 1, **signed["product"]}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()
    sig = signed["signature"]["value"]
    key = load_pem_public_key((tmp / "keys" / "JPN.pub.pem").read_bytes())
    key.verify(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)), message)  # raises if not


# ------------------------------------------------------------------ finding 8: publish oracle
def test_publish_reveals_nothing_and_cannot_overwrite(coalition):
    nodes, clients, *_ = coalition
    jpn = nodes["JPN"]
    hidden = Product.new("conjunction", {"x": 1}, parse_banner("TOP SECRET//NOFORN"), "JPN")
    jpn.publish(hidden, actor="setup")
    c = clients["JPN"]

    def post(**body):
        base = {"type": "conjunction", "payload": {"x": 2}, "marking": "CONFIDENTIAL//REL TO JPN"}
        return c.post("/products", json=base | body, headers=LOW_PUBLISHER)

    # A marking above the publisher's clearance is refused whatever the id.
    assert post(marking="SECRET//REL TO JPN").status_code == 403
    assert post(id=hidden.id, version=2, marking="TOP SECRET//NOFORN").status_code == 403
    # Versioning an id the caller may not see answers exactly as an id that does not exist.
    over = post(id=hidden.id, version=2)
    absent = post(id="product--does-not-exist", version=2)
    assert over.status_code == absent.status_code == 403 and over.content == absent.content
    # A chosen id for a new product is refused the same way whether or not it is taken.
    taken = post(id=hidden.id, version=1)
    free = post(id="product--free-id", version=1)
    assert taken.status_code == free.status_code == 400 and taken.content == free.content
    assert "version" not in over.text and "marking" not in over.text
    # Nothing was overwritten; a plain publish within clearance works and gets a node-assigned id.
    assert current(jpn, hidden.id).version == 1 and current(jpn, hidden.id).payload == {"x": 1}
    ok = post()
    assert ok.status_code == 201 and ok.json()["product"]["id"].startswith("product--")
    reasons = [str(x["detail"]["reason"]) for x in refusals(jpn) if x["actor"] == "conf-publisher"]
    assert sum("clearance does not cover" in r for r in reasons) == 2
    assert len(reasons) == 6  # every refusal above is audited


def test_denied_reads_are_audited(coalition):
    nodes, clients, *_ = coalition
    jpn = nodes["JPN"]
    p = Product.new("conjunction", {}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    jpn.publish(p, actor="t")
    before = len(refusals(jpn))
    assert clients["JPN"].get(f"/products/conjunctions/{p.id}", headers=UKR_AT_JPN).status_code == 403
    assert clients["JPN"].get("/audit/verify", headers=UKR_AT_JPN).status_code == 403
    new = refusals(jpn)[before:]
    assert [(x["actor"], x["product_id"]) for x in new] == [("ukr-liaison", p.id), ("ukr-liaison", None)]
