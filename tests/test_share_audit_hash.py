"""The audit chain's entry hash, written member by member, is the SHA-256 of the entry's RFC 8785 bytes
(the reference serialiser) for any text the members can hold; and entries that share one detail object
store the same details as entries with their own."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.share.audit import AuditEvent, AuditLog, entry_hash, verify_chain
from kizuna.share.products import canonical_json
from kizuna.store import CatalogStore
from kizuna.store.share_store import ShareStore

# Any text but lone surrogates (not encodable as UTF-8: no entry can hold one, by either serialiser).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
OPTIONAL_TEXT = st.none() | TEXT
VERSION = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)


@settings(max_examples=400, deadline=None)
@given(TEXT, TEXT, TEXT, OPTIONAL_TEXT, VERSION, TEXT, st.integers(0, 2**62))
def test_entry_hash_is_sha256_of_the_rfc_8785_entry(actor, detail, event, product_id, version, ts, seq):
    prev = hashlib.sha256(actor.encode()).hexdigest()
    members = {
        "actor": actor,
        "detail": detail,
        "event": event,
        "product_id": product_id,
        "seq": seq,
        "ts_utc": ts,
        "version": version,
    }
    expected = hashlib.sha256(bytes.fromhex(prev) + canonical_json(members)).hexdigest()
    assert entry_hash(prev, seq, ts, event, actor, product_id, version, detail) == expected


def test_entries_sharing_a_detail_object_store_what_entries_with_their_own_store(tmp_path):
    shared = {"banner": "SECRET//REL TO USA, JPN", "source": "JPN", "note": '秘 \u2028 " \\'}
    store = ShareStore(CatalogStore(str(tmp_path / "a.db")))
    log = AuditLog(store)
    events = [AuditEvent("ingest", "node:JPN", f"p{i}", 1, shared) for i in range(3)]
    events += [AuditEvent("ingest", "node:JPN", f"q{i}", 1, dict(shared)) for i in range(3)]
    events.append(AuditEvent("refusal", "node:JPN", None, None, {"reason": "other"}))
    with store.write() as conn:
        log.append(conn, events)
    rows = store.audit_rows()
    details = [json.loads(str(r["detail"])) for r in rows]
    assert details == [shared] * 6 + [{"reason": "other"}]
    assert verify_chain(rows, store.audit_head_now()).ok
