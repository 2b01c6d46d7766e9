"""Migration 0009: the unique AIS position key indexed time first, the time index dropped.

A database is built at revision 0008 (the key as a (mmsi, time, lat, lon) table constraint, a
time index) and filled with positions, then opened (migrated to head): every row reads back
exactly as stored before (ids, times, floats including -0.0 and NULLs), a re-load of the same
rows adds nothing, a new row goes in, a time window is answered by the new index, and the
downgrade gives the old key back with the rows unchanged. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
import sqlalchemy as sa
from alembic import command
from tests.conftest import pg_schema_url

from kizuna.formats.ais import PositionColumns
from kizuna.store import CatalogStore, database_url
from kizuna.store.ais_store import AisStore
from kizuna.store.migrate import _config

TIMES = [
    datetime(2026, 3, 1, 0, 0, 0),
    datetime(2026, 3, 1, 0, 0, 0, 1),
    datetime(2026, 3, 1, 0, 0, 0, 1),  # same time, another position
    datetime(2019, 12, 31, 23, 59, 59, 999999),
    datetime(1969, 7, 20, 20, 17, 40, 500000),
]
LATS = [35.0, -0.0, 35.000001, 89.999999, -12.5]
SOGS = [12.3, None, 0.0, 102.2, None]
ROWS_SQL = "SELECT id, mmsi, time_utc, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg, msg_type, source"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "old.db")
        return
    with pg_schema_url() as url:
        yield url


def _stored(conn: sa.Connection) -> list[tuple[object, ...]]:
    rows = conn.exec_driver_sql(f"{ROWS_SQL} FROM ais_position ORDER BY id").all()
    # the sign of zero is part of "exactly": repr tells -0.0 from 0.0
    return [tuple(repr(v) for v in r) for r in rows]


def _key_indexes(conn: sa.Connection) -> tuple[list[list[str]], list[list[str]]]:
    """(unique keys, other indexes) of ais_position, as column lists."""
    inspector = sa.inspect(conn)
    unique = [u["column_names"] for u in inspector.get_unique_constraints("ais_position")]
    unique += [i["column_names"] for i in inspector.get_indexes("ais_position") if i["unique"]]
    other = [i["column_names"] for i in inspector.get_indexes("ais_position") if not i["unique"]]
    # PostgreSQL lists a unique constraint's index among the indexes too
    return sorted({tuple(u) for u in unique}), sorted(other)  # type: ignore[return-value]


def _columns(n: int, mmsi0: int) -> PositionColumns:
    return PositionColumns(
        mmsi0 + np.arange(n),
        np.array(TIMES[:n], dtype="datetime64[ns]").view(np.int64),
        np.array(LATS[:n]),
        np.full(n, 139.0),
        np.array([np.nan if s is None else s for s in SOGS[:n]]),
        np.full(n, np.nan),
        np.full(n, 511.0),
        np.ones(n, np.int16),
        np.full(n, -1, np.int16),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n, np.int32),
        ["rx1"],
        np.zeros(n, np.int64),
    )


def test_upgrade_keeps_every_row_and_the_key_and_downgrade_restores_it(db_url):
    engine = sa.create_engine(database_url(db_url))
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0008")
    with engine.connect() as conn:
        before_keys = _key_indexes(conn)
    assert before_keys == ([("mmsi", "time_utc", "lat_deg", "lon_deg")], [["time_utc"]])
    engine.dispose()

    with CatalogStore(db_url) as store:  # at 0008: the key as it was, rows through today's writer
        ais = AisStore(store)
        with store.engine.begin() as conn:
            command.downgrade(_config(conn), "0008")
        n = len(TIMES)
        # 431000000 + k for all but the third row: it shares the second's MMSI and time
        cols = _columns(n, 431_000_000)
        cols.mmsi[2] = cols.mmsi[1]
        with store.engine.begin() as conn:
            assert ais.add_columns(cols, conn) == (n, 0, 0)
            before = _stored(conn)
        with store.engine.begin() as conn:
            command.upgrade(_config(conn), "head")
        with store.engine.connect() as conn:
            assert _stored(conn) == before
            assert _key_indexes(conn) == ([("time_utc", "mmsi", "lat_deg", "lon_deg")], [])
        with store.engine.begin() as conn:
            assert ais.add_columns(cols, conn) == (0, n, 0)  # the same keys, found by the new index
            more = _columns(1, 431_000_000)
            more.lat_deg[0] = 35.5
            assert ais.add_columns(more, conn) == (1, 0, 0)
            after = _stored(conn)
        assert after[:n] == before and len(after) == n + 1
        # a time window is answered by the unique index, not a scan
        window = ais.positions(
            start=datetime(2026, 1, 1).astimezone(), stop=datetime(2026, 12, 1).astimezone()
        )
        assert len(window) == 4
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                plan = conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM ais_position WHERE time_utc BETWEEN 1 AND 2"
                ).all()
            assert "uq_ais_position" in " ".join(str(r[-1]) for r in plan)
        with store.engine.begin() as conn:
            command.downgrade(_config(conn), "0008")
        with store.engine.connect() as conn:
            assert _key_indexes(conn) == before_keys
            assert _stored(conn) == after
        with store.engine.begin() as conn:
            assert ais.add_columns(cols, conn) == (0, n, 0)  # the old key catches them again
