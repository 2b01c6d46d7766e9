"""Append-only, tamper-evident audit log: a SHA-256 hash chain stored in the node database.

Entry n stores ``hash_n = SHA-256(hash_{n-1} || JCS(entry_n))`` where the entry includes its sequence
number (RFC 6962-style chaining, linear rather than a Merkle tree). A head row holds the last sequence
and hash, updated in the same transaction as the append, so deleting the newest entries is detected too.
An attacker who can rewrite every row *and* the head can forge a consistent chain. Partners close that
gap by witnessing (Certificate Transparency's gossip of signed tree heads, RFC 6962 sec. 3.5, applied to
a linear chain): the node signs checkpoints ``(node, seq, hash, time)`` with its Ed25519 key, each partner
keeps the latest one it fetched and, on the next fetch, checks that the entry it witnessed still has the
same hash. A rewritten or rolled-back history is then caught by the partner, and the node's own auditor
can compare its chain with what every partner witnessed (`kizuna audit witnesses`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from kizuna.errors import KizunaError
from kizuna.share.products import canonical_json, canonical_json_parsed, iso_z
from kizuna.share.signing import Signer, TrustStore, ed25519_verify, unb64u
from kizuna.store.share_store import (
    GENESIS,
    PageWrite,
    ShareStore,
    audit,
    audit_head,
    counters,
    insert_or_defer,
)

EVENTS = ("ingest", "publish", "release", "refusal", "downgrade", "access", "sync", "witness", "config")
CHECKPOINT_CONTEXT = "kizuna audit checkpoint v1"  # signed with the fields, so the signature means one thing


class CheckpointError(KizunaError):
    """An audit checkpoint is malformed, names another node, or its signature does not verify."""


@dataclass(frozen=True)
class AuditEvent:
    event: str
    actor: str
    product_id: str | None = None
    version: int | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


def _json_scalar(value: str | int | None) -> str:
    """A string, integer or null as json.dumps(value, ensure_ascii=False) writes it."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    return str(value)


def entry_hash(
    prev_hash: str,
    seq: int,
    ts_utc: str,
    event: str,
    actor: str,
    product_id: str | None,
    version: int | None,
    detail: str,
) -> str:
    members = {
        "actor": actor,
        "detail": detail,
        "event": event,
        "product_id": product_id,
        "seq": seq,
        "ts_utc": ts_utc,
        "version": version,
    }
    if all(v is None or type(v) is str or type(v) is int for v in members.values()):
        # Strings, integers and nulls under fixed ASCII keys: the C encoder's compact text in key order
        # is already RFC 8785 (no float to rewrite, no key outside the BMP to reorder), so the
        # canonical serialiser's number scan is skipped.
        # Written out member by member with the encoder's own string function: the same bytes as
        # json.dumps(members, separators=(",", ":"), ensure_ascii=False), without its per-call set-up
        # (an entry per product ingested).
        body = (
            f'{{"actor":{_json_scalar(actor)},"detail":{_json_scalar(detail)},"event":{_json_scalar(event)},'
            f'"product_id":{_json_scalar(product_id)},"seq":{_json_scalar(seq)},'
            f'"ts_utc":{_json_scalar(ts_utc)},"version":{_json_scalar(version)}}}'
        ).encode()
    else:
        body = canonical_json_parsed(members)
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


# What is wrong with one stored product row (every column), or None; supplied by the node, which holds
# the trust store the signatures are checked against.
ProductCheck = Callable[[Mapping[str, object]], str | None]


class AuditLog:
    def __init__(self, store: ShareStore, product_check: ProductCheck | None = None):
        self.store = store
        self.product_check = product_check

    def append(self, conn: Connection, events: Sequence[AuditEvent], page: PageWrite | None = None) -> int:
        """Append events in the caller's transaction; returns the last sequence number.

        `conn` comes from :meth:`ShareStore.write`: reading the head and allocating the next counter
        are consistent only under its write lock (SQLite ``BEGIN IMMEDIATE``; on PostgreSQL the head
        row is read ``FOR UPDATE``), or another process appending in between makes them disagree.
        With `page` (:meth:`ShareStore.begin_page`, which read the head and the counter under that
        lock), the head and counter updates wait in ``page.deferred`` for
        :meth:`ShareStore.finish_page`; the stored entries are the same."""
        if not events:
            return page.audit_seq if page is not None else self.store.audit_head(conn)[0]
        for e in events:
            if e.event not in EVENTS:
                raise ValueError(f"unknown audit event {e.event!r}")
        if page is None:
            head_seq, prev = self.store.audit_head(conn, lock=True)
            first = self.store.allocate(conn, "audit", len(events))
        else:
            head_seq, prev = page.audit_seq, page.audit_hash
            first = page.audit_counter + 1
        if first != head_seq + 1:
            raise RuntimeError(f"audit counter {first} disagrees with head {head_seq}")
        ts = iso_z(datetime.now(UTC))
        rows = []
        # A batch's entries often share one detail object (an ingest entry per product of a page):
        # each object is serialised once (by identity, while `events` holds them all).
        details: dict[int, str] = {}
        for i, e in enumerate(events):
            seq = first + i
            detail = details.get(id(e.detail))
            if detail is None:
                detail = json.dumps(dict(e.detail), sort_keys=True, separators=(",", ":"), default=str)
                details[id(e.detail)] = detail
            h = entry_hash(prev, seq, ts, e.event, e.actor, e.product_id, e.version, detail)
            rows.append(
                {
                    "seq": seq,
                    "ts_utc": ts,
                    "event": e.event,
                    "actor": e.actor,
                    "product_id": e.product_id,
                    "version": e.version,
                    "detail": detail,
                    "prev_hash": prev,
                    "hash": h,
                }
            )
            prev = h
        insert_or_defer(conn, audit, rows, page)
        last = first + len(rows) - 1
        if page is None:
            conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=last, hash=prev))
            return last
        quote = conn.dialect.identifier_preparer.quote
        page.deferred += [
            (f"UPDATE {quote(counters.name)} SET value = %s WHERE name = 'audit'", (last,)),
            (f"UPDATE {quote(audit_head.name)} SET seq = %s, hash = %s WHERE id = 1", (last, prev)),
        ]
        page.audit_seq, page.audit_hash, page.audit_counter = last, prev, last
        return last

    def record(self, *events: AuditEvent) -> int:
        """Append `events` in a transaction of their own. On PostgreSQL its reads (the head under its
        lock, the counter) go in one round trip and its writes in one more before the commit
        (:meth:`ShareStore.begin_page`): a feed answer and every refusal audit one entry, on the path
        a partner or a user waits on."""
        with self.store.write() as conn:
            page = self.store.begin_page(conn, [])
            last = self.append(conn, events, page)
            if page is not None:
                self.store.finish_page(conn, page)
            return last

    def verify(self) -> AuditReport:
        """The hash chain and, when the log knows how to check them, every stored product: its
        signature and the policy columns recomputed from the signed label."""
        report = verify_chain(self.store.audit_rows(), self.store.audit_head_now())
        if self.product_check is None:
            return report
        problems = list(report.problems)
        checked = 0
        for row in self.store.stored_rows():
            checked += 1
            problem = self.product_check(row)
            if problem is not None:
                problems.append(
                    f"product {row['product_id']} v{row['version']} (seq {row['seq']}): {problem}"
                )
        return AuditReport(ok=not problems, entries=report.entries, problems=problems, products=checked)

    def checkpoint(self, signer: Signer, at: int | None = None) -> dict[str, object] | None:
        """A signed checkpoint of the head, or of entry `at` (None when there is no such entry)."""
        if at is None:
            seq, h = self.store.audit_head_now()
        else:
            seq, found = at, self.store.audit_hash_at(at)
            if found is None:
                return None
            h = found
        ts = iso_z(datetime.now(UTC))
        return {
            "node": signer.node_id,
            "seq": seq,
            "hash": h,
            "ts_utc": ts,
            "key_id": signer.key_id,
            "signature": signer.sign_bytes(checkpoint_bytes(signer.node_id, seq, h, ts)),
        }


def checkpoint_bytes(node_id: str, seq: int, hash_hex: str, ts_utc: str) -> bytes:
    return canonical_json(
        {"context": CHECKPOINT_CONTEXT, "node": node_id, "seq": seq, "hash": hash_hex, "ts_utc": ts_utc}
    )


def verify_checkpoint(doc: Mapping[str, object], trust: TrustStore, node_id: str) -> tuple[int, str]:
    """(seq, hash) of a checkpoint signed by `node_id` with its trusted key; CheckpointError otherwise."""
    try:
        seq, h, ts = doc["seq"], doc["hash"], doc["ts_utc"]
        if (
            doc["node"] != node_id
            or not isinstance(seq, int)
            or seq < 0
            or not isinstance(h, str)
            or len(h) != 64
            or not isinstance(ts, str)
        ):
            raise ValueError("malformed")
        signature, message = unb64u(str(doc["signature"])), checkpoint_bytes(node_id, seq, h, ts)
        if not ed25519_verify(trust.keys[node_id], signature, message):
            raise ValueError("bad signature")
    except Exception as exc:  # noqa: BLE001 - any failure means "not a checkpoint of node_id"
        raise CheckpointError(
            f"audit checkpoint of {node_id} does not verify ({type(exc).__name__})"
        ) from None
    return seq, h


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    problems: list[str]
    products: int | None = None  # stored products verified (None: not checked, no trust store)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.ok, "entries": self.entries, "problems": self.problems}
        if self.products is not None:
            out["products"] = self.products
        return out


def verify_chain(rows: Sequence[Mapping[str, Any]], head: tuple[int, str]) -> AuditReport:
    """Recompute the chain; report every edit (hash mismatch), deletion (gap or broken link),
    reordering (broken link) and truncation (head mismatch)."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for r in rows:
        seq = int(r["seq"])
        if seq != expected_seq:
            problems.append(f"entry {seq}: expected sequence {expected_seq} (entry deleted or moved)")
        if r["prev_hash"] != prev:
            problems.append(f"entry {seq}: does not link to the entry before it (deleted or reordered)")
        h = entry_hash(
            str(r["prev_hash"]),
            seq,
            str(r["ts_utc"]),
            str(r["event"]),
            str(r["actor"]),
            r["product_id"],
            r["version"],
            str(r["detail"]),
        )
        if h != r["hash"]:
            problems.append(f"entry {seq}: content does not match its hash (edited)")
        prev = str(r["hash"])
        expected_seq = seq + 1
    head_seq, head_hash = head
    last_seq = int(rows[-1]["seq"]) if rows else 0
    if head_seq != last_seq or head_hash != prev:
        problems.append(
            f"head says entry {head_seq} is last but the log ends at {last_seq} "
            "(entries removed from the end, or the head was edited)"
        )
    return AuditReport(ok=not problems, entries=len(rows), problems=problems)
