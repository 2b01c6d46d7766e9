"""Migration 0007: SQLite AIS position times from SQLAlchemy's DateTime text to integer microseconds.

A database is built at revision 0005 and filled through SQLAlchemy's own DateTime type (the text
form the previous code wrote); after the upgrade the positions read back equal the datetimes
written (to the microsecond, including times without a fraction and before 1970), a re-load of
the same rows is seen as duplicates, and the downgrade gives SQLAlchemy's text again.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import sqlalchemy as sa
from alembic import command

from kizuna.formats.ais import PositionColumns
from kizuna.store import CatalogStore
from kizuna.store.ais_store import AisStore
from kizuna.store.migrate import _config

TIMES = [
    datetime(2026, 3, 1, 0, 0, 0),
    datetime(2026, 3, 1, 0, 0, 0, 1),
    datetime(2019, 12, 31, 23, 59, 59, 999999),
    datetime(1969, 7, 20, 20, 17, 40, 500000),  # before 1970: negative microseconds
    datetime(2099, 12, 31, 23, 59, 59),
]


def _old_database(path: str) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0006")
    old = sa.table(
        "ais_position",
        sa.column("mmsi", sa.BigInteger),
        sa.column("time_utc", sa.DateTime),  # SQLAlchemy's text form, as written before 0007
        sa.column("lat_deg", sa.Float),
        sa.column("lon_deg", sa.Float),
        sa.column("source", sa.String),
    )
    with engine.begin() as conn:
        conn.execute(
            old.insert(),
            [
                {"mmsi": 431000000 + k, "time_utc": t, "lat_deg": 35.0, "lon_deg": 139.0, "source": ""}
                for k, t in enumerate(TIMES)
            ],
        )
        stored = conn.exec_driver_sql("SELECT time_utc, typeof(time_utc) FROM ais_position ORDER BY id").all()
    assert [r[1] for r in stored] == ["text"] * len(TIMES) and stored[0][0] == "2026-03-01 00:00:00.000000"
    engine.dispose()


def test_upgrade_keeps_every_time_and_duplicates_still_match(tmp_path):
    path = str(tmp_path / "old.db")
    _old_database(path)
    with CatalogStore(path) as store:  # opening migrates to head
        with store.engine.connect() as conn:
            kinds = conn.exec_driver_sql("SELECT DISTINCT typeof(time_utc) FROM ais_position").all()
        assert kinds == [("integer",)]
        ais = AisStore(store)
        fast, ref = ais.positions(), ais.positions(reference=True)
        want = np.array(TIMES, dtype="datetime64[ns]")
        assert np.array_equal(fast.time_utc, want) and np.array_equal(ref.time_utc, want)
        # a time filter binds through the column type (integer microseconds on SQLite)
        later = ais.positions(start=datetime(2026, 1, 1).astimezone())
        assert len(later) in (2, 3)  # the local-time zone of astimezone() moves 2026-01-01 a little
        n = len(TIMES)
        cols = PositionColumns(
            431000000 + np.arange(n),
            want.view(np.int64),
            np.full(n, 35.0),
            np.full(n, 139.0),
            *(np.full(n, np.nan) for _ in range(3)),
            np.ones(n, np.int16),
            np.full(n, -1, np.int16),
            np.zeros(n, np.int8),
            np.zeros(n, np.int8),
            np.zeros(n, np.int32),
            [None],
            np.arange(n),
        )
        with store.engine.begin() as conn:
            assert ais.add_columns(cols, conn) == (0, n, 0)  # the converted keys match new inserts
        engine = store.engine
        with engine.begin() as conn:
            command.downgrade(_config(conn), "0006")
        with engine.connect() as conn:
            text = [r[0] for r in conn.exec_driver_sql("SELECT time_utc FROM ais_position ORDER BY id")]
        assert text == [t.isoformat(" ", "microseconds") for t in TIMES]
