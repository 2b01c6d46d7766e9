"""The page-at-once insert of product and audit rows (`share_store.bulk_insert`) stores exactly what
SQLAlchemy's own insert stores, and a row the database refuses fails the call with SQLAlchemy's
wrapped error (so `Node.commit_ingest` still isolates the poison product), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from tests.conftest import PG_URL, _postgres_reason

from kizuna.store.catalog import CatalogStore
from kizuna.store.share_store import ShareStore, _sqlite_bind, bulk_insert, products


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "bulk.db")
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_bulk_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _row(seq: int, pid: str, version: int = 1) -> dict[str, object]:
    return {
        "seq": seq,
        "product_id": pid,
        "version": version,
        "type": "conjunction",
        "created_utc": datetime(2026, 7, 1, 0, 0, 0, 0 if seq % 2 else 123456),  # with and without µs
        "added_utc": datetime(2026, 7, 1, 1, 2, 3, 456789),
        "originator": "JPN",
        "classification": 2,
        "banner": "SECRET//REL TO USA, JPN",
        "nations": ",JPN,USA,",
        "caveats": ",",
        "objects": ",25544,",
        "source": "JPN",
        "signature": f"sig{seq}",
        "is_current": bool(seq % 2),
        "wire": '{"product":{"payload":{"note":"\u00e9\u6f22 \\"q\\""}}}',
    }


def test_bulk_insert_stores_what_sqlalchemy_stores(db):
    store = ShareStore(CatalogStore(db))
    ours, theirs = [_row(i, f"p-{i}") for i in (1, 2)], [_row(i, f"p-{i}") for i in (3, 4)]
    with store.write() as conn:
        bulk_insert(conn, products, ours)
        conn.execute(products.insert(), theirs)
    with store.engine.connect() as conn:
        got = {r.seq: dict(r._mapping) for r in conn.execute(select(products))}
        # The raw stored text too (SQLite keeps DateTime as text: same format both ways).
        raw = {
            seq: tuple(str(v) for v in r)
            for seq, *r in conn.exec_driver_sql(
                "SELECT seq, created_utc, added_utc, is_current FROM share_product"
            )
        }
    for a, b in ((1, 3), (2, 4)):
        assert {**got[a], "seq": 0, "product_id": "", "signature": ""} == {
            **got[b],
            "seq": 0,
            "product_id": "",
            "signature": "",
        }
        assert raw[a] == raw[b]
    assert got[1]["wire"] == _row(1, "x")["wire"]
    store.store.close()


def test_a_refused_row_fails_the_call_with_a_wrapped_error(db):
    store = ShareStore(CatalogStore(db))
    with store.write() as conn:
        bulk_insert(conn, products, [_row(1, "p-1")])
    # A duplicate (id, version) is the store refusing a row, never "the store is down".
    with pytest.raises(DBAPIError) as err, store.write() as conn:
        bulk_insert(conn, products, [_row(2, "p-2"), _row(3, "p-1")])
    assert not isinstance(err.value, OperationalError)
    with store.engine.connect() as conn:  # nothing of the failed call was kept
        assert [r.seq for r in conn.execute(select(products.c.seq))] == [1]
    store.store.close()


def _sqlite_datetime_processor():
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    return DateTime().dialect_impl(dialect).bind_processor(dialect)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_the_fast_sqlite_datetime_bind_writes_sqlalchemys_text(value: datetime) -> None:
    process = _sqlite_datetime_processor()
    assert _sqlite_bind(process)(value) == process(value)


def test_the_fast_sqlite_datetime_bind_leaves_other_values_to_sqlalchemy() -> None:
    from datetime import UTC, date

    process = _sqlite_datetime_processor()
    bind = _sqlite_bind(process)
    aware = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    for value in (aware, date(2026, 7, 1), None):
        assert bind(value) == process(value)
    # a processor that writes datetimes in another form keeps its own
    assert _sqlite_bind(str) is str
    assert _sqlite_bind(None) is None


def test_rows_are_read_back_whole(db):
    # ProductRow is built from the selected columns by position: each field holds its own column
    store = ShareStore(CatalogStore(db))
    with store.write() as conn:
        bulk_insert(conn, products, [_row(i, f"p-{i}", i) for i in (1, 2, 3)])
    rows, more = store.select_page(None, after=0, limit=2)
    with store.engine.connect() as conn:
        mapped = [dict(r._mapping) for r in conn.execute(select(products).order_by(products.c.seq))]
    assert more
    for row, stored in zip(rows, mapped, strict=False):
        assert {f: getattr(row, f) for f in row.__dataclass_fields__} == {
            f: stored[f] for f in row.__dataclass_fields__
        }
    store.store.close()
