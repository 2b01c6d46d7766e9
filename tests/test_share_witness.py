"""Audit witnessing on real loopback sockets: a partner keeps the signed checkpoint of a node's audit
chain and catches a history rewritten consistently (rows and head together, which the node's own
`verify` cannot see) or rolled back; the node's auditor sees the same from what partners witnessed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.service import create_app
from kizuna.share.audit import CheckpointError, entry_hash, verify_checkpoint
from kizuna.share.federation import check_witnesses, sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product
from kizuna.store.share_store import audit, audit_head, counters


@pytest.fixture
def pair(tmp_path):
    ports = {"JPN": free_port(), "USA": free_port()}
    cfgs = write_coalition(tmp_path, ports)
    nodes = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in ports}
    servers = {n: ServerThread(create_app(nodes[n]), ports[n]).start() for n in ports}
    yield tmp_path, cfgs, nodes
    for s in servers.values():
        s.stop()
    for node in nodes.values():
        node.catalog.close()


def _publish(node: Node, n: int) -> None:
    for i in range(n):
        node.publish(
            Product.new("element_set", {"i": i}, parse_banner("UNCLASSIFIED"), node.node_id), actor="analyst"
        )


def _rewrite_history_from(node: Node, seq: int) -> None:
    """What an insider with database access would do: edit entry `seq`, then recompute every hash after
    it and the head, so that the chain verifies again."""
    with node.share.engine.begin() as conn:
        conn.execute(update(audit).where(audit.c.seq == seq).values(actor="someone-else"))
        rows = conn.execute(select(audit).where(audit.c.seq >= seq).order_by(audit.c.seq)).mappings().all()
        prev = str(rows[0]["prev_hash"])
        for r in rows:
            h = entry_hash(
                prev,
                int(r["seq"]),
                r["ts_utc"],
                r["event"],
                r["actor"],
                r["product_id"],
                r["version"],
                r["detail"],
            )
            conn.execute(update(audit).where(audit.c.seq == r["seq"]).values(prev_hash=prev, hash=h))
            prev = h
        conn.execute(update(audit_head).values(seq=int(rows[-1]["seq"]), hash=prev))


def test_rewritten_history_is_caught_by_the_partner_and_by_the_node_auditor(pair):
    tmp, cfgs, nodes = pair
    jpn, usa = nodes["JPN"], nodes["USA"]
    partner = usa.config.partners["JPN"]
    _publish(jpn, 3)
    first = sync_partner(usa, partner)
    assert first.ingest.ingested == 3 and first.witness is not None and first.witness.ok
    _publish(jpn, 2)
    second = sync_partner(usa, partner)
    assert second.witness.ok and second.witness.seq > first.witness.seq  # type: ignore[union-attr,operator]
    assert all(r.ok for r in check_witnesses(jpn))

    _rewrite_history_from(jpn, 2)
    assert jpn.audit.verify().ok  # the node's own check cannot see a consistent rewrite

    [mine] = check_witnesses(jpn)
    assert mine.ok is False and "rewritten here" in (mine.problem or "")
    r = CliRunner().invoke(
        app,
        [
            "audit",
            "witnesses",
            "--partners",
            str(cfgs["JPN"]),
            "--keys",
            str(tmp / "keys"),
            "--db",
            str(tmp / "JPN.db"),
            "-f",
            "json",
        ],
    )
    assert r.exit_code == 2, r.output
    assert json.loads(r.stdout)["witnesses"][0]["ok"] is False

    third = sync_partner(usa, partner)
    assert third.witness is not None and third.witness.ok is False
    assert "changed since it was witnessed" in (third.witness.problem or "")
    # The bad checkpoint is recorded in USA's own audit log and not taken as the new witness.
    events = [row for row in usa.share.audit_rows() if row["event"] == "witness"]
    assert events and json.loads(str(events[-1]["detail"]))["partner"] == "JPN"
    assert json.loads(usa.share.witness("JPN") or "{}")["seq"] == second.witness.seq  # type: ignore[union-attr]
    r = CliRunner().invoke(
        app,
        [
            "node",
            "sync",
            "--partners",
            str(cfgs["USA"]),
            "--keys",
            str(tmp / "keys"),
            "--db",
            str(tmp / "USA.db"),
            "-f",
            "json",
        ],
    )
    assert r.exit_code == 2 and "fails witnessing" in r.output


def test_rolled_back_history_is_caught(pair):
    _, _, nodes = pair
    jpn, usa = nodes["JPN"], nodes["USA"]
    partner = usa.config.partners["JPN"]
    _publish(jpn, 4)
    assert sync_partner(usa, partner).witness.ok  # type: ignore[union-attr]
    head_seq, _ = jpn.share.audit_head_now()
    keep = 2
    with jpn.share.engine.begin() as conn:  # drop the newest entries; move head and counter back with them
        conn.execute(delete(audit).where(audit.c.seq > keep))
        last = conn.execute(select(audit.c.hash).where(audit.c.seq == keep)).scalar_one()
        conn.execute(update(audit_head).values(seq=keep, hash=last))
        conn.execute(update(counters).where(counters.c.name == "audit").values(value=keep))
    assert jpn.audit.verify().ok and jpn.share.audit_head_now()[0] < head_seq
    report = sync_partner(usa, partner).witness
    assert report is not None and report.ok is False
    assert "shrank" in (report.problem or "") or "changed since" in (report.problem or "")


def test_checkpoints_are_bound_to_their_node_and_fields(pair):
    _, _, nodes = pair
    jpn, usa = nodes["JPN"], nodes["USA"]
    _publish(jpn, 1)
    doc = jpn.audit.checkpoint(jpn.signer)
    assert doc is not None
    assert verify_checkpoint(doc, usa.trust, "JPN") == (doc["seq"], doc["hash"])
    for forged in (
        {**doc, "seq": int(doc["seq"]) + 1},
        {**doc, "hash": "f" * 64},
        {**doc, "node": "USA"},
        {**doc, "ts_utc": "2020-01-01T00:00:00Z"},
    ):
        with pytest.raises(CheckpointError):
            verify_checkpoint(forged, usa.trust, "JPN")
    with pytest.raises(CheckpointError):  # signed by USA's key, presented as JPN's
        verify_checkpoint(usa.audit.checkpoint(usa.signer) | {"node": "JPN"}, usa.trust, "JPN")  # type: ignore[operator]
    assert jpn.audit.checkpoint(jpn.signer, at=10_000) is None
