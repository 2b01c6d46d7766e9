"""Product ids are bound to their originator, also at a node that never received version 1.

A hostile partner that learned an id (it received the product, the victim did not) signs versions of it
as its own, for a node that holds nothing of it yet. Ids minted with their originator's tag (a version 8
UUID, RFC 9562 §5.8, checked here with Python's `uuid`) refuse that claim before anything is stored, so
the real originator's later versions still land. Ids without a tag keep the store's binding: the first
originator stored for an id keeps it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from kizuna.service import create_app
from kizuna.share.federation import node_auth_headers
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.share.taxii import objects_path

JPN_ANALYST = {"Authorization": "Bearer token-JPN"}


@pytest.fixture
def coalition(tmp_path):
    cfgs = write_coalition(tmp_path, {n: free_port() for n in ("JPN", "USA", "UKR")})
    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in cfgs}
    clients = {n: TestClient(create_app(node)) for n, node in nodes.items()}
    yield nodes, clients
    for c in clients.values():
        c.close()
    for node in nodes.values():
        node.catalog.close()


def sync(nodes, clients, dst: str, src: str) -> None:
    """`dst` pulls everything `src` releases to it and ingests it."""
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


def held(node: Node, pid: str) -> Product | None:
    row = node.share.get(None, pid)
    return None if row is None else node.verify_wire(row.wire)


def refusal_reasons(node: Node, pid: str) -> list[str]:
    return [
        json.loads(str(r["detail"]))["reason"]
        for r in node.share.audit_rows()
        if r["event"] == "refusal" and r["product_id"] == pid
    ]


def claim(node: Node, pid: str, version: int, banner: str) -> dict[str, object]:
    """`node` signs a version of `pid` as its own (a modified node: nothing in Kizuna would)."""
    product = Product(
        pid, version, "conjunction", datetime.now(UTC), node.node_id, {"miss_km": 99.0}, parse_banner(banner)
    )
    return node.signer.sign_product(product)


def test_minted_ids_are_version_8_uuids_carrying_the_originator_tag():
    from kizuna.share.products import id_tag, new_product_id, originator_tag

    jpn, usa = new_product_id("JPN"), new_product_id("USA")
    for pid, node in ((jpn, "JPN"), (usa, "USA")):
        assert pid.startswith("product--")
        u = uuid.UUID(pid.removeprefix("product--"))
        assert (u.version, u.variant) == (8, uuid.RFC_4122)
        assert id_tag(pid) == originator_tag(node) == pid[9:17] + pid[18:22]
    assert originator_tag("JPN") != originator_tag("USA")
    assert new_product_id("JPN") != jpn  # 74 random bits
    assert id_tag(f"product--{uuid.uuid4()}") is None


def test_a_partner_cannot_squat_an_id_at_a_node_that_never_got_v1(coalition):
    nodes, clients = coalition
    jpn, usa, ukr = nodes["JPN"], nodes["USA"], nodes["UKR"]
    # Version 1 is not releasable to UKR: USA holds it, UKR never gets it.
    p = Product.new("conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    jpn.publish(p, actor="analyst-JPN")
    sync(nodes, clients, "USA", "JPN")
    sync(nodes, clients, "UKR", "JPN")
    assert held(usa, p.id) is not None and held(ukr, p.id) is None

    # USA, having learned the id, claims versions 1 and 2 of it as USA's own, releasable to UKR.
    squat = [claim(usa, p.id, v, "SECRET//REL TO USA, JPN, UKR") for v in (1, 2)]
    rep = ukr.ingest(squat, source="USA")
    assert rep.ingested == 0 and len(rep.refused) == 2, rep
    assert all(reason.startswith("identity:") for _, _, reason in rep.refused), rep.refused
    assert held(ukr, p.id) is None
    assert len([r for r in refusal_reasons(ukr, p.id) if r.startswith("identity:")]) == 2

    # The real originator is not blocked: JPN's downgrade (version 2, UNCLASSIFIED) reaches UKR.
    r = clients["JPN"].post(
        f"/products/{p.id}/downgrade",
        json={"marking": "UNCLASSIFIED", "justification": "released by MOD"},
        headers=JPN_ANALYST,
    )
    assert r.status_code == 200, r.text
    sync(nodes, clients, "UKR", "JPN")
    got = held(ukr, p.id)
    assert got is not None and (got.originator, got.version, got.payload) == ("JPN", 2, {"miss_km": 0.4})
    assert ukr.audit.verify().ok


def test_a_squatted_version_is_refused_wherever_it_is_read(coalition):
    """A product stored under another originator's id (written past the node's checks) is never served
    and fails the audit: identity is part of verification, not only of ingest."""
    nodes, _clients = coalition
    jpn, usa = nodes["JPN"], nodes["USA"]
    pid = Product.new("derived", {}, parse_banner("UNCLASSIFIED"), "JPN").id
    forged = claim(usa, pid, 1, "UNCLASSIFIED")
    with pytest.raises(Exception, match="identity:"):
        jpn.verify_wire(json.dumps(forged))
    product = Product.from_document(forged["product"])  # type: ignore[arg-type]
    with jpn.share.write() as conn:
        jpn.share.insert(conn, [jpn._row(product, forged, "USA")])
    assert jpn.share.get(None, pid) is None
    report = jpn.audit.verify()
    assert not report.ok and any(pid in x and "identity:" in x for x in report.problems), report.problems


def test_an_id_without_a_tag_stays_with_the_first_originator_stored(coalition):
    """Ids minted before tags (or chosen): the store's binding refuses another originator, audited."""
    nodes, clients = coalition
    jpn, usa, ukr = nodes["JPN"], nodes["USA"], nodes["UKR"]
    legacy = f"product--{uuid.uuid4()}"
    p = Product.new(
        "conjunction", {"miss_km": 0.4}, parse_banner("SECRET//REL TO USA, JPN, UKR"), "JPN", id=legacy
    )
    jpn.publish(p, actor="analyst-JPN")
    sync(nodes, clients, "UKR", "JPN")
    rep = ukr.ingest([claim(usa, legacy, 2, "SECRET//REL TO USA, JPN, UKR")], source="USA")
    assert rep.ingested == 0 and rep.refused[0][2].startswith(f"identity: {legacy} belongs to JPN")
    held_now = held(ukr, legacy)
    assert held_now is not None and held_now.originator == "JPN"
    assert refusal_reasons(ukr, legacy)[-1].startswith("identity:")
