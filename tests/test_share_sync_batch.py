"""Sync throughput work, checked for what it must not change: the bytes verified are the bytes received,
stored and served (RFC 8785, reference serialiser byte for byte); a page is one transaction with its
audit entries appended together, a product the store refuses is quarantined on its own in a savepoint
(SQLite and PostgreSQL); the verifier pool gives the verdicts verification here gives; a failed page
leaves the cursor before it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from kizuna.share.federation import SyncError, sync_partner
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node, NodeConfig
from kizuna.share.products import Product, ProductError, canonical_json
from kizuna.share.signing import Signer, load_private_key, unb64u
from kizuna.share.taxii import objects_path


@pytest.fixture
def pair(tmp_path, store):
    """USA's node on the store under test, and JPN's signer (JPN's feed is a mock transport)."""
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    usa = Node(
        store,
        NodeConfig.load(cfgs["USA"]),
        Signer("USA", load_private_key(tmp_path / "keys" / "USA.key.pem")),
    )
    jpn = Signer("JPN", load_private_key(tmp_path / "keys" / "JPN.key.pem"))
    return usa, jpn


def product(pid: str, payload: dict[str, object], banner: str = "SECRET//REL TO USA, JPN") -> Product:
    return Product(pid, 1, "conjunction", datetime.now(UTC), "JPN", payload, parse_banner(banner))


def received(signed: dict[str, object]) -> dict[str, object]:
    """What the partner's feed delivers: the document through JSON and back."""
    return json.loads(json.dumps(signed))


def feed(pages: dict[str | None, dict[str, object]]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path != objects_path("JPN"):
            return httpx.Response(404, json={"detail": "no"})
        return httpx.Response(200, json=pages[request.url.params.get("next")])

    return httpx.Client(transport=httpx.MockTransport(handle))


def commits(node: Node) -> list[int]:
    """A counter of the transactions committed on the node's store from now on."""
    count = [0]
    event.listen(node.share.engine, "commit", lambda _conn: count.__setitem__(0, count[0] + 1))

    # SQLite writes run BEGIN IMMEDIATE ... COMMIT themselves (ShareStore.write), outside SQLAlchemy's
    # transaction events: count those COMMIT statements too.
    def statement(_conn, _cursor, sql, *_args) -> None:  # noqa: ANN001
        if sql.strip().upper() == "COMMIT":
            count[0] += 1

    event.listen(node.share.engine, "after_cursor_execute", statement)
    return count


# ---------------------------------------------------------------- the bytes verified
_float = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e-5, 1.5e-7, 5.0, -0.0, 1e16, 1e21, 1e22, 123.0, 5e-324, -2.5e-10]
)
_text = st.text(
    st.sampled_from(list('ab"\\019e+-.:,[]{}') + ["\n", "\x01", "é", "\ue000", "\U0001f600"]), max_size=8
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _float | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=3000, deadline=None)
@given(_json)
def test_fast_canonical_bytes_are_the_rfc8785_reference_bytes(value):
    """Numbers that Python and ECMAScript write differently (1e-05, 5.0, 1e+16), number-like text
    inside strings, escapes and keys outside the BMP: the fast serialiser equals the reference."""
    from kizuna.share.products import canonical_json_parsed

    parsed = json.loads(json.dumps(value))
    assert canonical_json_parsed(parsed) == canonical_json(parsed)


def _nulls(value: object) -> int:
    if value is None:
        return 1
    if isinstance(value, dict):
        return sum(_nulls(v) for v in value.values())
    if isinstance(value, list):
        return sum(_nulls(v) for v in value)
    return 0


@settings(max_examples=3000, deadline=None)
@given(_json, st.data())
def test_fast_canonical_bytes_by_orjson_are_the_rfc8785_reference_bytes(value, data):
    """The orjson path (taken when the caller knows some of the value's nulls) gives the reference
    bytes too, whatever number of them it is told, up to all."""
    from kizuna.share.products import canonical_json_parsed

    parsed = json.loads(json.dumps(value))
    known = data.draw(st.integers(0, _nulls(parsed)))
    assert canonical_json_parsed(parsed, nulls=known) == canonical_json(parsed)


@settings(max_examples=500, deadline=None)
@given(_json, st.sampled_from([float("nan"), float("inf"), float("-inf")]), st.data())
def test_nan_and_infinity_are_refused_on_the_orjson_path_too(value, bad, data):
    """orjson writes NaN as null: a value holding one is never given canonical bytes, however many of
    its nulls the caller knows of."""
    from kizuna.share.products import canonical_json_parsed

    parsed = json.loads(json.dumps({"v": value, "x": [bad]}))
    known = data.draw(st.integers(0, _nulls(parsed)))
    with pytest.raises(ProductError, match="NaN"):
        canonical_json_parsed(parsed, nulls=known)


def test_floats_written_differently_by_python_verify_and_follow_the_documented_recipe(pair):
    usa, jpn = pair
    payload = {"pc": 1e-05, "miss_km": 5.0, "big": 1e16, "tiny": 1.5e-7, "zero": -0.0, "note": "1e-05 5.0"}
    doc = received(jpn.sign_product(product("floats", payload)))
    assert usa.ingest([doc], source="JPN").ingested == 1
    stored = json.loads(usa.share.get(None, "floats").wire)
    assert stored == doc
    # The recipe of the signing docstring, with the reference serialiser, on what is stored and served.
    message = canonical_json({"kizuna_product": 1, **stored["product"]})
    sig = stored["signature"]["value"]
    usa.trust.keys["JPN"].verify(unb64u(sig), message)


@pytest.mark.parametrize(
    ("what", "edit"),
    [
        ("an unsigned extra member", lambda p: p.__setitem__("note", "added on the way")),
        ("REL TO out of order", lambda p: p["marking"].__setitem__("releasable_to", ["USA", "JPN"])),
        (
            "the time in another ISO form",
            lambda p: p.__setitem__("created_utc", p["created_utc"][:-1] + "+00:00"),
        ),
        ("the classification abbreviated", lambda p: p["marking"].__setitem__("classification", "S")),
    ],
)
def test_a_document_not_in_its_one_canonical_form_is_refused(pair, what, edit):
    """Each edit leaves the product the node would parse unchanged (the old verifier, which rebuilt the
    document from what it parsed, accepted it and stored bytes that no signature covers)."""
    usa, jpn = pair
    doc = received(jpn.sign_product(product("p1", {"miss_km": 0.4})))
    edited = copy.deepcopy(doc)
    edit(edited["product"])
    rep = usa.ingest([edited], source="JPN")
    assert rep.ingested == 0 and "not in canonical form" in rep.refused[0][2], (what, rep)
    assert usa.share.count() == 0
    assert usa.ingest([doc], source="JPN").ingested == 1


# ---------------------------------------------------------------- one transaction per page
def test_a_page_with_poison_is_one_transaction_with_one_audit_batch(pair):
    usa, jpn = pair
    good = [received(jpn.sign_product(product(f"g{i}", {"i": i}))) for i in range(3)]
    bad_sig = copy.deepcopy(good[0])
    bad_sig["product"]["id"] = "forged"
    page = [good[0], "not a product", good[1], bad_sig, {"product": {"id": "x" * 200}}, good[2]]
    count = commits(usa)
    with feed({None: {"more": False, "next": "c1", "objects": page}}) as client:
        rep = sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert rep.ingest.ingested == 3 and len(rep.ingest.refused) == 3
    assert count[0] == 2  # the page (products, audit entries, cursor), then the sync's own entry
    rows = usa.share.audit_rows()
    page_entries = [r for r in rows if r["event"] in ("ingest", "refusal")]
    assert len(page_entries) == 6 and len({r["ts_utc"] for r in page_entries}) == 1  # one append
    assert usa.share.cursor("JPN") == "c1" and usa.audit.verify().ok


def test_a_product_the_database_refuses_is_quarantined_in_a_savepoint(pair, monkeypatch):
    """A real database error (a unique violation, which aborts a PostgreSQL transaction) for one
    product: the others, the audit entries and the cursor still commit, in one transaction."""
    usa, jpn = pair
    docs = [received(jpn.sign_product(product(pid, {}))) for pid in ("a", "unstorable", "b")]
    real_insert = usa.share.insert

    def insert(conn, rows):  # noqa: ANN001, ANN202
        if any(r["product_id"] == "unstorable" for r in rows):
            return real_insert(conn, [*rows, *(r for r in rows if r["product_id"] == "unstorable")])
        return real_insert(conn, rows)

    monkeypatch.setattr(usa.share, "insert", insert)
    count = commits(usa)
    with feed({None: {"more": False, "next": "after", "objects": docs}}) as client:
        rep = sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert rep.ingest.ingested == 2 and [r[0] for r in rep.ingest.refused] == ["unstorable"]
    assert (
        "quarantined: the store refused it: IntegrityError"
        in json.loads([r for r in usa.share.audit_rows() if r["event"] == "refusal"][0]["detail"])["reason"]
    )
    assert count[0] == 2
    assert sorted(k for k, _ in usa.share.all_keys()) == ["a", "b"] and usa.share.cursor("JPN") == "after"
    assert usa.audit.verify().ok


def test_the_savepoint_batch_is_still_one_transaction(pair, monkeypatch):
    """When the products are written one savepoint each, a failure before the commit still leaves
    nothing of the page (on SQLite the transaction must have begun before the first savepoint, or its
    RELEASE commits on its own)."""
    usa, jpn = pair
    docs = [received(jpn.sign_product(product(pid, {}))) for pid in ("a", "unstorable", "b")]
    real_insert = usa.share.insert

    def insert(conn, rows):  # noqa: ANN001, ANN202
        if any(r["product_id"] == "unstorable" for r in rows):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real_insert(conn, rows)

    def append(conn, events):  # noqa: ANN001, ANN202
        raise OperationalError("INSERT INTO share_audit", {}, Exception("disk I/O error"))

    monkeypatch.setattr(usa.share, "insert", insert)
    monkeypatch.setattr(usa.audit, "append", append)
    with pytest.raises(OperationalError):
        usa.ingest(docs, source="JPN", cursor="after")
    assert usa.share.all_keys() == [] and usa.share.cursor("JPN") is None


def test_a_product_that_breaks_the_decision_is_quarantined_alone(pair, monkeypatch):
    usa, jpn = pair
    docs = [received(jpn.sign_product(product(pid, {}))) for pid in ("a", "odd", "b")]
    real_row = usa._row

    def row(p, signed, source, *wire):  # noqa: ANN001, ANN202
        if p.id == "odd":
            raise TypeError("a value the row cannot hold")
        return real_row(p, signed, source, *wire)

    monkeypatch.setattr(usa, "_row", row)
    count = commits(usa)
    with feed({None: {"more": False, "next": "after", "objects": docs}}) as client:
        rep = sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert rep.ingest.ingested == 2 and [r[0] for r in rep.ingest.refused] == ["odd"]
    assert "undecidable: TypeError" in rep.ingest.refused[0][2] and count[0] == 2
    assert usa.share.cursor("JPN") == "after" and usa.audit.verify().ok


def test_a_failed_page_leaves_the_cursor_before_it_and_nothing_after(pair, monkeypatch):
    """Pages are fetched and verified ahead of the one being written; the store failing on page 2
    ends the sync with page 1 committed and nothing of pages 2 and 3."""
    usa, jpn = pair
    pages = {
        None: {"more": True, "next": "c1", "objects": [received(jpn.sign_product(product("p1", {})))]},
        "c1": {"more": True, "next": "c2", "objects": [received(jpn.sign_product(product("p2", {})))]},
        "c2": {"more": False, "next": "c3", "objects": [received(jpn.sign_product(product("p3", {})))]},
    }
    real_set_cursor = usa.share.set_cursor

    def set_cursor(conn, partner, value):  # noqa: ANN001, ANN202
        if value == "c2":
            raise OperationalError("UPDATE share_cursor", {}, Exception("database is locked"))
        return real_set_cursor(conn, partner, value)

    monkeypatch.setattr(usa.share, "set_cursor", set_cursor)
    with feed(pages) as client, pytest.raises(SyncError, match="database is locked"):
        sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert usa.share.cursor("JPN") == "c1"
    assert [k for k, _ in usa.share.all_keys()] == ["p1"]
    monkeypatch.setattr(usa.share, "set_cursor", real_set_cursor)
    with feed(pages) as client:
        rep = sync_partner(usa, usa.config.partners["JPN"], client=client)
    assert rep.ingest.ingested == 2 and usa.share.cursor("JPN") == "c3"


# ---------------------------------------------------------------- the verifier pool
def _mixed_batch(jpn: Signer) -> list[dict[str, object]]:
    docs = [received(jpn.sign_product(product(f"p{i}", {"i": i, "pc": 1e-5 * i}))) for i in range(12)]
    for i in (3, 7):
        docs[i]["product"]["payload"]["i"] = -1  # the signature no longer covers it
    return docs


def test_the_verifier_pool_gives_the_verdicts_given_here(tmp_path, pair):
    from kizuna.share.verifier import VerifierPool, verify_signed_many

    usa, jpn = pair
    docs = _mixed_batch(jpn)
    pool = VerifierPool(workers=1, min_batch=4, chunk=3)
    try:
        verdicts = verify_signed_many(docs, usa.trust, usa.config.markings, pool=pool)
        assert [isinstance(v, Product) for v in verdicts] == [i not in (3, 7) for i in range(12)]
        usa.verifier_pool = pool
        rep = usa.ingest(docs, source="JPN")
    finally:
        pool.close()
    assert rep.ingested == 10 and sorted(r[0] for r in rep.refused) == ["p3", "p7"]
    assert {r[2] for r in rep.refused} == {"bad signature"}


def test_a_pool_that_cannot_start_workers_verifies_here(pair):
    """A node in a process that may not have children (a daemon) still ingests: the checks run here."""
    from kizuna.share.verifier import VerifierPool

    class NoChildren(VerifierPool):
        def start(self, docs, trust, config, page=None):  # noqa: ANN001, ANN202
            raise AssertionError("daemonic processes are not allowed to have children")

    usa, jpn = pair
    usa.verifier_pool = NoChildren(workers=1, min_batch=1)
    rep = usa.ingest(_mixed_batch(jpn), source="JPN")
    assert rep.ingested == 10 and sorted(r[0] for r in rep.refused) == ["p3", "p7"]


def test_a_payload_with_numpy_floats_is_signed_as_every_reader_reads_it(pair):
    """numpy.float64 is a float whose repr is `np.float64(0.5)`: signed from that text, the product
    was stored and then failed its own signature check on every read, vanishing from every list."""
    import numpy as np

    usa, _ = pair
    payload = {"miss_km": np.float64(0.123456789), "pc": np.float64(1.5e-7), "n": 3}
    assert canonical_json(payload) == canonical_json(json.loads(json.dumps(payload)))
    made = Product.new("conjunction", payload, parse_banner("SECRET//REL TO USA"), "USA")
    usa.publish(made, actor="test")
    held = [usa.verified_row(r) for r in usa.share.page(None, limit=100)]
    assert [p.id for p in held if p is not None] == [made.id]
    # a numpy scalar that is no Python number is refused when the product is made, never stored
    with pytest.raises(ProductError, match="not JSON"):
        Product.new("conjunction", {"n": np.int64(3)}, parse_banner("SECRET//REL TO USA"), "USA")
