"""Tampering, replay and unknown keys are refused and audited; audit-log tampering is detected;
feed paging with concurrent inserts neither skips nor repeats. Runs on SQLite and PostgreSQL.

References: Ed25519 (RFC 8032) through `cryptography`; the RFC 8032 §7.1 TEST 1 vector checks that the
library is the standard algorithm.
"""

from __future__ import annotations

import copy
import json
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, update

from kizuna.share.markings import parse_banner
from kizuna.share.node import Node, NodeConfig
from kizuna.share.products import Product
from kizuna.share.signing import Signer, public_pem
from kizuna.store.share_store import audit, audit_head


def test_ed25519_is_rfc8032_test_vector_1():
    sk = Ed25519PrivateKey.from_private_bytes(
        bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    )
    assert sk.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
        "d25bf5f0595bbe24655141438e7a100b"
    )


def _node(store, node_id, partner_keys):
    cfg = NodeConfig.from_mapping(
        {
            "node": {"id": node_id, "clearance": "TOP SECRET", "accesses": ["ORCON", "PROPIN"]},
            "partners": [
                {
                    "id": p,
                    "url": None,
                    "public_key": public_pem(k.public_key()).decode(),
                    "clearance": "SECRET",
                    "accesses": [],
                }
                for p, k in partner_keys.items()
            ],
        }
    )
    return Node(store, cfg, Signer(node_id, Ed25519PrivateKey.generate()))


@pytest.fixture
def jpn_and_signed(store):
    key = Ed25519PrivateKey.generate()
    node = _node(store, "USA", {"JPN": key})
    signer = Signer("JPN", key)
    p = Product.new(
        "conjunction",
        {"miss_km": 0.31, "tca_utc": "2026-07-01T00:00:00Z"},
        parse_banner("SECRET//REL TO USA, JPN"),
        "JPN",
        objects=(25544, 48274),
    )
    return node, signer, p


def _refusal_reasons(node):
    return [json.loads(r["detail"])["reason"] for r in node.share.audit_rows() if r["event"] == "refusal"]


def test_tampered_products_are_refused_and_audited(jpn_and_signed):
    node, signer, p = jpn_and_signed
    good = signer.sign_product(p)

    flipped = copy.deepcopy(good)
    flipped["product"]["payload"]["miss_km"] = 0.32  # one payload byte: '1' -> '2'
    stripped = copy.deepcopy(good)
    stripped["product"]["marking"] = parse_banner("UNCLASSIFIED").as_label()
    stripped["banner"] = "UNCLASSIFIED"
    altered = copy.deepcopy(good)
    altered["product"]["marking"]["releasable_to"] = ["JPN", "UKR", "USA"]
    altered["banner"] = "SECRET//REL TO USA, JPN, UKR"
    banner_only = copy.deepcopy(good)
    banner_only["banner"] = "UNCLASSIFIED"
    unsigned = copy.deepcopy(good)
    del unsigned["signature"]
    rogue = Signer("JPN", Ed25519PrivateKey.generate()).sign_product(p)

    report = node.ingest([flipped, stripped, altered, banner_only, unsigned, rogue], source="JPN")
    assert report.ingested == 0 and len(report.refused) == 6
    reasons = _refusal_reasons(node)
    assert reasons[:3] == ["bad signature"] * 3
    assert "does not match the signed label" in reasons[3]
    assert reasons[4] == "unsigned product"
    assert reasons[5].startswith("unknown signing key")
    assert node.share.count() == 0

    assert node.ingest([good], source="JPN").ingested == 1
    again = node.ingest([good], source="JPN")
    assert (again.ingested, again.duplicates, again.refused) == (0, 1, [])  # idempotent no-op
    v2 = signer.sign_product(p.next_version(payload={"miss_km": 0.2}))
    assert node.ingest([v2], source="JPN").ingested == 1
    replay = node.ingest([good], source="JPN")  # v1 again after v2: same bytes, still a no-op
    assert replay.duplicates == 1
    v1_other = signer.sign_product(Product(**{**p.__dict__, "payload": {"miss_km": 9.9}}))
    assert "conflict" in node.ingest([v1_other], source="JPN").refused[0][2]
    assert node.share.count() == 2
    assert node.audit.verify().ok


def test_replayed_old_version_is_refused(jpn_and_signed):
    node, signer, p = jpn_and_signed
    v1 = signer.sign_product(p)
    v3 = signer.sign_product(p.next_version().next_version())
    node.ingest([v3], source="JPN")
    rep = node.ingest([v1], source="JPN")
    assert rep.ingested == 0 and rep.refused[0][2].startswith("replay: version 1 is older than stored 3")
    assert _refusal_reasons(node)[-1].startswith("replay")


def test_product_not_releasable_to_receiving_node_is_refused(jpn_and_signed):
    node, signer, _ = jpn_and_signed
    leak = signer.sign_product(Product.new("conjunction", {}, parse_banner("SECRET//REL TO JPN, UKR"), "JPN"))
    rep = node.ingest([leak], source="JPN")
    assert rep.ingested == 0 and "not releasable to this node" in rep.refused[0][2]


def test_new_version_cannot_lower_marking_without_audited_downgrade(store):
    from kizuna.share.policy import PolicyError, Subject

    node = _node(store, "JPN", {})
    p = Product.new("conjunction", {"miss_km": 1.0}, parse_banner("SECRET//REL TO USA, JPN"), "JPN")
    node.publish(p, actor="analyst")
    with pytest.raises(PolicyError, match="downgrade"):
        node.publish(p.next_version(marking=parse_banner("UNCLASSIFIED")), actor="analyst")
    boss = Subject(
        "boss",
        "JPN",
        parse_banner("TOP SECRET//NOFORN").classification,
        frozenset(),
        frozenset({"downgrader"}),
    )
    node.downgrade(p.id, parse_banner("UNCLASSIFIED"), actor=boss, justification="MOD release 2026-11")
    rows = node.share.audit_rows()
    assert rows[-1]["event"] == "downgrade" and rows[-1]["actor"] == "boss"
    assert json.loads(rows[-1]["detail"])["from"] == "SECRET//REL TO USA, JPN"
    assert node.share.get(None, p.id).banner == "UNCLASSIFIED"


def _audited_node(store):
    node = _node(store, "JPN", {})
    for i in range(6):
        node.publish(Product.new("element_set", {"i": i}, parse_banner("UNCLASSIFIED"), "JPN"), actor="a")
    assert node.audit.verify().ok
    return node


@pytest.mark.parametrize("attack", ["edit", "delete", "reorder", "truncate"])
def test_audit_tampering_is_detected(store, attack):
    node = _audited_node(store)
    with node.share.engine.begin() as conn:
        if attack == "edit":
            conn.execute(update(audit).where(audit.c.seq == 3).values(actor="someone-else"))
        elif attack == "delete":
            conn.execute(delete(audit).where(audit.c.seq == 3))
        elif attack == "reorder":
            rows = {r.seq: r for r in conn.execute(audit.select().where(audit.c.seq.in_([2, 4])))}
            for a, b in ((2, 4), (4, 2)):
                src = rows[b]._mapping
                conn.execute(
                    update(audit)
                    .where(audit.c.seq == a)
                    .values(**{k: v for k, v in src.items() if k != "seq"})
                )
        else:
            conn.execute(delete(audit).where(audit.c.seq == 6))
    report = node.audit.verify()
    assert not report.ok, attack
    expected = {"edit": "edited", "delete": "deleted", "reorder": "reordered", "truncate": "head"}[attack]
    assert any(expected in p for p in report.problems), report.problems
    if attack == "truncate":  # rewriting the head to hide truncation breaks the next verify
        with node.share.engine.begin() as conn:
            conn.execute(update(audit_head).values(seq=5))
        assert not node.audit.verify().ok


def test_paging_with_concurrent_inserts_neither_skips_nor_repeats(store):
    node = _node(store, "JPN", {})
    total, seen, done = 400, [], threading.Event()

    def writer():
        for i in range(0, total, 8):
            node.publish_many(
                [
                    Product.new("element_set", {"i": j}, parse_banner("UNCLASSIFIED"), "JPN")
                    for j in range(i, i + 8)
                ],
                actor="w",
            )
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    after = 0
    while True:
        rows = node.share.page(None, after=after, limit=7)
        seen.extend(r.product_id for r in rows)
        after = rows[-1].seq if rows else after
        if not rows and done.is_set():
            rows = node.share.page(None, after=after, limit=7)
            if not rows:
                break
            seen.extend(r.product_id for r in rows)
            after = rows[-1].seq
    t.join()
    assert len(seen) == total and len(set(seen)) == total
    assert [pid for pid, _ in node.share.all_keys()] == seen  # exactly the commit order
