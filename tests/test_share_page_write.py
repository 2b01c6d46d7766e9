"""A partner's page written with its reads and small writes batched (`ShareStore.begin_page`, PostgreSQL)
stores exactly what the statement-by-statement path stores: the same product rows (every column but the
time they were added), the same current version per id, the same audit entries in a chain that verifies,
the same counters and cursor. And it costs the server fewer query cycles per page than that path did."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import pg_schema_url

from kizuna.share.audit import AuditEvent, verify_chain
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node, NodeConfig
from kizuna.share.policy import PolicyError
from kizuna.share.products import Product
from kizuna.share.signing import Signer, load_private_key
from kizuna.store import CatalogStore
from kizuna.store.share_store import counters, cursors

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def two_stores(kind: str, tmp_path: Path) -> Iterator[tuple[CatalogStore, CatalogStore]]:
    if kind == "sqlite":
        a, b = CatalogStore(str(tmp_path / "a.db")), CatalogStore(str(tmp_path / "b.db"))
        yield a, b
        a.close()
        b.close()
        return
    with pg_schema_url() as url_a, pg_schema_url() as url_b:
        a, b = CatalogStore(url_a), CatalogStore(url_b)
        try:
            yield a, b
        finally:
            a.close()
            b.close()


def usa_node(store: CatalogStore, cfg: Path, keys: Path) -> Node:
    node = Node(store, NodeConfig.load(cfg), Signer("USA", load_private_key(keys / "USA.key.pem")))
    node.verifier_pool = None
    return node


def pages(jpn: Signer) -> list[list[dict[str, object]]]:
    """Two pages exercising every outcome: new products, two versions of one id in a page (the older
    one not current), the same document twice (a duplicate), a product not releasable here (refused),
    a forged signature (quarantined), then new versions of ids stored by the first page (their old
    rows no longer current), duplicates of stored ones and a stored version with other content (a conflict)."""
    now = datetime(2026, 7, 1, tzinfo=UTC)

    def signed(pid: str, version: int, banner: str = "SECRET//REL TO USA, JPN") -> dict[str, object]:
        p = Product(
            pid,
            version,
            "conjunction",
            now,
            "JPN",
            {"miss_km": version + len(pid) / 10},
            parse_banner(banner),
        )
        return json.loads(json.dumps(jpn.sign_product(p)))

    first = [signed(f"p{i:03d}", 1) for i in range(40)]
    first += [signed("twice", 1), signed("twice", 2), signed("p000", 1)]
    first.append(signed("jpn-only", 1, "SECRET//REL TO JPN"))
    forged = signed("forged", 1)
    forged["signature"]["value"] = first[1]["signature"]["value"]  # type: ignore[index]
    first.append(forged)
    second = [signed(f"p{i:03d}", 2) for i in range(0, 40, 3)]
    second += [signed("p001", 1), signed("p002", 1), signed("twice", 1), signed("new", 1)]
    second.append(signed("p004", 1, "CONFIDENTIAL//REL TO USA, JPN"))  # stored v1, other content
    return [first, second]


def snapshot(node: Node) -> dict[str, object]:
    rows = [{k: v for k, v in r.items() if k != "added_utc"} for r in node.share.stored_rows()]
    audit_rows = node.share.audit_rows()
    with node.share.engine.connect() as conn:
        counter = dict(conn.execute(select(counters.c.name, counters.c.value)).all())
        cursor = conn.execute(select(cursors.c.partner, cursors.c.cursor)).all()
    return {
        "rows": rows,
        # the time of each entry is in its hash, so entries compare by everything else
        "audit": [
            (r["seq"], r["event"], r["actor"], r["product_id"], r["version"], r["detail"]) for r in audit_rows
        ],
        "chain": verify_chain(audit_rows, node.share.audit_head_now()),
        # what `kizuna audit verify` reports: the chain, and every stored product against its signature
        "audit_verify": node.audit.verify().as_dict(),
        "counters": counter,
        "cursor": [tuple(c) for c in cursor],
    }


@pytest.mark.parametrize("kind", KINDS)
def test_the_batched_page_stores_what_the_statement_by_statement_path_stores(kind, tmp_path, monkeypatch):
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    keys = tmp_path / "keys"
    jpn = Signer("JPN", load_private_key(keys / "JPN.key.pem"))
    docs = pages(jpn)
    with two_stores(kind, tmp_path) as (store_a, store_b):
        batched, plain = usa_node(store_a, cfgs["USA"], keys), usa_node(store_b, cfgs["USA"], keys)
        monkeypatch.setattr(plain.share, "begin_page", lambda conn, ids: None)
        reports = []
        for node in (batched, plain):
            reports.append(
                [node.ingest(page, source="JPN", cursor=f"c{i}") for i, page in enumerate(docs, start=1)]
            )
        a, b = snapshot(batched), snapshot(plain)

    # what the pages hold, counted here: 40 + twice v1, v2 in the first; 14 new versions and "new"
    assert [(r.ingested, r.duplicates, len(r.refused)) for r in reports[0]] == [(42, 1, 2), (15, 3, 1)]
    assert [(r.ingested, r.duplicates, len(r.refused)) for r in reports[0]] == [
        (r.ingested, r.duplicates, len(r.refused)) for r in reports[1]
    ]
    assert a["rows"] == b["rows"]
    rows = a["rows"]
    assert isinstance(rows, list) and len(rows) == 57
    assert len({(r["product_id"], r["version"]) for r in rows}) == 57, "a row stored twice"
    assert [r["seq"] for r in rows] == list(range(1, 58))
    highest: dict[str, int] = {}
    for r in rows:
        highest[r["product_id"]] = max(highest.get(r["product_id"], 0), r["version"])
    current = sorted((r["product_id"], r["version"]) for r in rows if r["is_current"])
    assert current == sorted(highest.items()), "exactly the highest version of each id is current"
    assert a["audit"] == b["audit"]
    assert len(a["audit"]) == 42 + 2 + 15 + 1  # an entry per product stored and per refusal
    assert a["chain"].ok and b["chain"].ok, (a["chain"].problems, b["chain"].problems)
    assert a["audit_verify"] == {"ok": True, "entries": 60, "problems": [], "products": 57}
    assert b["audit_verify"] == a["audit_verify"]
    assert a["counters"] == b["counters"] == {"product": 57, "audit": 60}
    assert a["cursor"] == b["cursor"] == [("JPN", "c2")]


def query_cycles(node: Node, tmp_path: Path, page: list[dict[str, object]], cursor: str) -> int:
    """How many times the server finished a query cycle (ReadyForQuery, libpq's protocol trace) in
    the one write transaction of ingesting `page`: each is at least one round trip to the server."""
    return write_cycles(node, tmp_path, lambda: node.ingest(page, source="JPN", cursor=cursor), cursor)


def write_cycles(node: Node, tmp_path: Path, action: Callable[[], object], name: str) -> int:
    """Query cycles of the write transactions `action` opens with `node.share.write`."""
    from psycopg import pq

    trace = tmp_path / f"trace-{name}.txt"
    write = node.share.write

    @contextmanager
    def traced() -> Iterator[object]:
        with write() as conn, trace.open("a") as out:
            pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
            pgconn.trace(out.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            try:
                yield conn
            finally:
                pgconn.untrace()

    node.share.write = traced  # type: ignore[method-assign]
    try:
        action()
    finally:
        node.share.write = write  # type: ignore[method-assign]
    return sum("\tReadyForQuery\t" in line for line in trace.read_text().splitlines())


@pytest.mark.postgres
def test_a_page_costs_postgresql_five_query_cycles_not_twelve(tmp_path):
    """BEGIN with the locks and reads, a COPY per table, the small writes, COMMIT. Row by row it was
    twelve: BEGIN, each read, counter, update and cursor on its own, the COPYs, COMMIT."""
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    keys = tmp_path / "keys"
    jpn = Signer("JPN", load_private_key(keys / "JPN.key.pem"))
    first, second = pages(jpn)
    with pg_schema_url() as url:
        store = CatalogStore(url)
        try:
            node = usa_node(store, cfgs["USA"], keys)
            assert query_cycles(node, tmp_path, first, "c1") == 5
            # ids already stored: their versions' rows are read once more, in one cycle; the page's 14
            # product rows (under COPY_MIN_ROWS) join the small writes instead of a COPY of their own
            assert query_cycles(node, tmp_path, second, "c2") == 5
            assert node.share.count() == 57
        finally:
            store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_products_are_found_by_id_through_the_unique_key_alone(kind, tmp_path):
    """Migration 0010 leaves one index that leads with product_id: the unique (product_id, version)
    key, which the lookups by id use (the query planner's own answer, with scans made unattractive
    on PostgreSQL, where a table this small would otherwise be read whole)."""
    from sqlalchemy import inspect, text

    with two_stores(kind, tmp_path) as (store, _):
        indexes = inspect(store.engine).get_indexes("share_product")
        uniques = inspect(store.engine).get_unique_constraints("share_product")
        keys = {tuple(i["column_names"]) for i in indexes} | {tuple(u["column_names"]) for u in uniques}
        assert [k for k in keys if k[0] == "product_id"] == [("product_id", "version")]
        with store.engine.connect() as conn:
            if kind == "sqlite":
                sql = "EXPLAIN QUERY PLAN SELECT version FROM share_product WHERE product_id = 'p'"
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(sql))
            else:
                conn.exec_driver_sql("SET enable_seqscan = off")
                sql = "EXPLAIN SELECT version FROM share_product WHERE product_id = ANY(ARRAY['p', 'q'])"
                plan = " ".join(str(r[0]) for r in conn.execute(text(sql)))
        # SQLite names a table constraint's index itself
        unique_key = "sqlite_autoindex_share_product" if kind == "sqlite" else "uq_share_product_version"
        assert unique_key in plan, plan


@pytest.mark.postgres
def test_pages_and_another_process_publishing_interleave_without_loss_or_deadlock(tmp_path):
    """The page takes the product counter, then the audit head, as every other writer does: a node's
    pages written while another connection (the CLI beside a live node) publishes lose nothing,
    number every product and audit entry once, and the chain verifies."""
    import threading

    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    keys = tmp_path / "keys"
    jpn = Signer("JPN", load_private_key(keys / "JPN.key.pem"))
    now, rel = datetime(2026, 7, 1, tzinfo=UTC), parse_banner("SECRET//REL TO USA, JPN")
    docs = [
        json.loads(
            json.dumps(jpn.sign_product(Product(f"j{i:04d}", 1, "conjunction", now, "JPN", {"i": i}, rel)))
        )
        for i in range(600)
    ]
    with pg_schema_url() as url:
        store_a, store_b = CatalogStore(url), CatalogStore(url)
        try:
            receiving, publishing = usa_node(store_a, cfgs["USA"], keys), usa_node(store_b, cfgs["USA"], keys)
            errors: list[BaseException] = []

            def publish() -> None:
                try:
                    for k in range(20):
                        batch = [
                            Product(f"u{k:02d}-{i}", 1, "conjunction", now, "USA", {"k": k}, rel)
                            for i in range(10)
                        ]
                        publishing.publish_many(batch, actor="cli")
                except BaseException as exc:  # noqa: BLE001 - reported by the test below
                    errors.append(exc)

            thread = threading.Thread(target=publish)
            thread.start()
            reports = [
                receiving.ingest(docs[i : i + 100], source="JPN", cursor=f"c{i}") for i in range(0, 600, 100)
            ]
            thread.join(120)
            assert not thread.is_alive(), "deadlock: the publishing writer never finished"
            assert errors == []
            assert sum(r.ingested for r in reports) == 600
            rows = list(receiving.share.stored_rows())
            assert [r["seq"] for r in rows] == list(range(1, 801))
            assert len({r["product_id"] for r in rows}) == 800
            assert receiving.audit.verify().as_dict() == {
                "ok": True,
                "entries": 800,
                "problems": [],
                "products": 800,
            }
        finally:
            store_a.close()
            store_b.close()


@pytest.mark.postgres
def test_a_publish_and_an_audit_record_cost_postgresql_three_query_cycles(tmp_path):
    """On the path from publish to visible: a publish of a new id was ten cycles (the head read, the
    counter, the insert, the audit head, its counter, the entry, the updates, COMMIT) and an audit
    record (every feed answer writes one) five. Now: BEGIN with the locks and reads, the writes, COMMIT.
    A new version of a stored id reads the stored head in one cycle more."""
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    keys = tmp_path / "keys"
    with pg_schema_url() as url:
        store = CatalogStore(url)
        try:
            node = Node(
                store, NodeConfig.load(cfgs["JPN"]), Signer("JPN", load_private_key(keys / "JPN.key.pem"))
            )
            now = datetime(2026, 7, 1, tzinfo=UTC)
            first = Product(
                "pub-1",
                1,
                "conjunction",
                now,
                "JPN",
                {"miss_km": 1.0},
                parse_banner("SECRET//REL TO USA, JPN"),
            )
            second = Product(
                "pub-1",
                2,
                "conjunction",
                now,
                "JPN",
                {"miss_km": 0.5},
                parse_banner("SECRET//REL TO USA, JPN"),
            )
            lower = Product(
                "pub-1",
                3,
                "conjunction",
                now,
                "JPN",
                {"miss_km": 0.4},
                parse_banner("CONFIDENTIAL//REL TO USA, JPN"),
            )
            assert write_cycles(node, tmp_path, lambda: node.publish(first, actor="t"), "p1") == 3
            assert write_cycles(node, tmp_path, lambda: node.publish(second, actor="t"), "p2") == 4
            event = AuditEvent("access", "user:t", None, None, {"what": "test"})
            assert write_cycles(node, tmp_path, lambda: node.audit.record(event), "r1") == 3
            with pytest.raises(PolicyError):
                node.publish(lower, actor="t")  # refused, and its refusal audited
            rows = list(node.share.stored_rows())
            assert [(r["product_id"], r["version"], r["is_current"]) for r in rows] == [
                ("pub-1", 1, False),
                ("pub-1", 2, True),
            ]
            audited = [(r["event"], r["version"]) for r in node.share.audit_rows()]
            assert audited == [("publish", 1), ("publish", 2), ("access", None), ("refusal", 3)]
            report = node.audit.verify()
            assert report.ok and report.products == 2, report.problems
            assert store_counters(store) == {"product": 2, "audit": 4}
        finally:
            store.close()


def store_counters(store: CatalogStore) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {name: value for name, value in conn.execute(select(counters.c.name, counters.c.value))}
