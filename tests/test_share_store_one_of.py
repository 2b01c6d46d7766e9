"""A page's ids are looked up with one array parameter on PostgreSQL (`share_store.one_of`) and with
an IN list on SQLite: the same rows either way, the versions a page's decisions read, the heads, and
which version stays current after an insert; on PostgreSQL the statement text no longer grows with
the page (a 500-placeholder text is too long for psycopg's cache of converted queries)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from kizuna.store.share_store import ShareStore, one_of, products


def _row(pid: str, version: int) -> dict[str, object]:
    return {
        "product_id": pid,
        "version": version,
        "type": "conjunction",
        "created_utc": datetime(2026, 7, 1, tzinfo=UTC),
        "originator": "JPN",
        "classification": 2,
        "banner": "SECRET//REL TO USA, JPN",
        "nations": ",JPN,USA,",
        "caveats": ",",
        "objects": ",25544,",
        "source": "JPN",
        "signature": f"sig-{pid}-{version}",
        "wire": f'{{"id":"{pid}","v":{version}}}',
    }


def test_page_lookups_select_the_same_rows_as_an_in_list(store):
    share = ShareStore(store)
    stored = [f"p-{i:04d}" for i in range(0, 1200, 2)]  # 600 ids, one page and more of the 500-id chunks
    with share.write() as conn:
        share.insert(conn, [_row(pid, 1) for pid in stored])
        share.insert(conn, [_row(pid, 2) for pid in stored[::3]])  # the older version of these not current
    asked = [f"p-{i:04d}" for i in range(1200)]  # half of them never stored
    with share.write() as conn:
        versions = share.versions(conn, asked)
        heads = share.latest(conn, asked)
        by_in = {
            (pid, ver, sig)
            for pid, ver, sig in conn.execute(
                select(products.c.product_id, products.c.version, products.c.signature).where(
                    products.c.product_id.in_(asked[:500])
                )
            )
        }
        by_one_of = set(
            conn.execute(
                select(products.c.product_id, products.c.version, products.c.signature).where(
                    one_of(conn, products.c.product_id, asked[:500])
                )
            )
        )
        current = set(
            conn.execute(select(products.c.product_id, products.c.version).where(products.c.is_current))
        )
    assert by_one_of == by_in and len(by_in) == 250 + len(stored[:250:3])
    assert set(versions) == set(stored)
    newer = set(stored[::3])
    for pid in stored:
        assert versions[pid] == (
            {1: f"sig-{pid}-1", 2: f"sig-{pid}-2"} if pid in newer else {1: f"sig-{pid}-1"}
        )
        assert heads[pid].version == (2 if pid in newer else 1)
    assert current == {(pid, 2 if pid in newer else 1) for pid in stored}


def test_one_of_is_one_parameter_on_postgresql(store):
    share = ShareStore(store)
    with share.engine.connect() as conn:
        clause = one_of(conn, products.c.product_id, [f"p-{i}" for i in range(500)])
        compiled = select(products.c.seq).where(clause).compile(dialect=conn.dialect)
    if conn.dialect.name == "postgresql":
        assert len(compiled.params) == 1 and len(str(compiled)) < 300
    else:
        assert "IN" in str(compiled)
