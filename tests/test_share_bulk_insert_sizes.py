"""`share_store.bulk_insert` on either side of COPY_MIN_ROWS (PostgreSQL: a multi-row INSERT below
it, a COPY from it): the stored values are SQLAlchemy's own insert's, and a refused row fails the whole
call with the store's refusal (never "the store is down"), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from tests.test_share_bulk_insert import _row, db  # noqa: F401 - db is the two-store fixture

from kizuna.store.catalog import CatalogStore
from kizuna.store.share_store import COPY_MIN_ROWS, ShareStore, bulk_insert, products

SIZES = [1, COPY_MIN_ROWS - 1, COPY_MIN_ROWS, COPY_MIN_ROWS + 5]


@pytest.mark.parametrize("n", SIZES)
def test_bulk_insert_stores_what_sqlalchemy_stores_at_every_size(db, n):  # noqa: F811
    store = ShareStore(CatalogStore(db))
    ours = [_row(i, f"p-{i}") for i in range(1, n + 1)]
    theirs = [_row(i + 1000, f"p-{i + 1000}") for i in range(1, n + 1)]
    with store.write() as conn:
        bulk_insert(conn, products, ours)
        conn.execute(products.insert(), theirs)
    with store.engine.connect() as conn:
        got = {r.seq: dict(r._mapping) for r in conn.execute(select(products))}
    assert len(got) == 2 * n
    differ = ("seq", "product_id", "signature")
    for i in range(1, n + 1):
        a, b = got[i], got[i + 1000]
        assert {k: v for k, v in a.items() if k not in differ} == {
            k: v for k, v in b.items() if k not in differ
        }
        assert (a["product_id"], a["signature"]) == (f"p-{i}", f"sig{i}")
    store.store.close()


@pytest.mark.parametrize("n", SIZES)
def test_a_refused_row_fails_the_whole_call_at_every_size(db, n):  # noqa: F811
    store = ShareStore(CatalogStore(db))
    with store.write() as conn:
        bulk_insert(conn, products, [_row(1, "p-1")])
    rows = [_row(i, f"p-{i}") for i in range(2, n + 1)] + [_row(n + 1, "p-1")]  # the last repeats p-1 v1
    with pytest.raises(DBAPIError) as err, store.write() as conn:
        bulk_insert(conn, products, rows)
    assert not isinstance(err.value, OperationalError)
    with store.engine.connect() as conn:
        assert [r.seq for r in conn.execute(select(products.c.seq))] == [1]
    store.store.close()
