"""Bring a Kizuna database to the current schema with the package's own Alembic migrations.

Opening a store calls :func:`upgrade`: no alembic.ini is needed on a node. Schema changes are
serialised across processes, so several first uses of one new database (parallel `catalog load`
runs, a service and a CLI) cannot race: SQLite takes the write lock with ``BEGIN IMMEDIATE`` before
looking at the schema, PostgreSQL a transaction-scoped advisory lock. A database made by a release
before migrations (tables from ``create_all`` and a `kizuna_schema` version row) is recognised and
stamped: the baseline creates only the tables it lacks and keeps every row.

For developers, after editing ``store/schema.py``::

    python -m kizuna.store.migrate revision "add vessel flags"

writes a new revision under ``store/migrations/versions`` from the difference between the
migrated schema and the metadata (review it before committing).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, create_engine, inspect, select, text

from kizuna.errors import StoreError
from kizuna.store.schema import SCHEMA_VERSION, kizuna_schema

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# Any fixed 64-bit key: every Kizuna schema change on a PostgreSQL server waits on it (they are rare
# and short, so serialising them across schemas of one database costs nothing).
_PG_LOCK_KEY = 0x4B495A554E41  # "KIZUNA"


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The revision this Kizuna's schema is at."""
    head = _script().get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision a database is stamped at (None before any migration)."""
    return MigrationContext.configure(conn).get_current_revision()


def is_kizuna_database(conn: Connection) -> bool:
    """True when the database holds a Kizuna schema: migrated, or made by a release before migrations."""
    tables = set(inspect(conn).get_table_names())
    return "alembic_version" in tables or kizuna_schema.name in tables


def upgrade(engine: Engine, where: str) -> None:
    """Migrate the database behind `engine` to head; `where` names it in errors (no password)."""
    head = head_revision()
    # Fast path without any lock: an up-to-date database (every open but the first) must not wait
    # behind a long write in another process.
    with engine.connect() as conn:
        if _check(conn, where) == head:
            return
    with _schema_lock(engine) as conn:
        current = _check(conn, where)  # again: another process may have migrated while we waited
        if current == head:
            return
        if current is None:
            _check_legacy(conn, where)
        command.upgrade(_config(conn), "head")


def _check(conn: Connection, where: str) -> str | None:
    current = current_revision(conn)
    if current is not None:
        try:
            _script().get_revision(current)
        except CommandError:
            raise StoreError(
                f"{where}: database schema revision {current} is newer than this Kizuna "
                f"(which knows up to {head_revision()}); upgrade Kizuna"
            ) from None
    return current


def _check_legacy(conn: Connection, where: str) -> None:
    """A database from before migrations: accept the schema versions the baseline describes."""
    if not inspect(conn).has_table(kizuna_schema.name):
        return
    found = conn.execute(select(kizuna_schema.c.version).order_by(kizuna_schema.c.version.desc())).scalar()
    if found is not None and found > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: schema version {found} is newer than this Kizuna ({SCHEMA_VERSION}); upgrade Kizuna"
        )


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the database's schema lock; commits on success."""
    if engine.dialect.name == "sqlite":
        # The driver would only BEGIN (deferred) before DML and run DDL outside any transaction; in
        # autocommit mode we issue BEGIN IMMEDIATE ourselves: it takes the write lock up front
        # (waiting up to busy_timeout), so check-then-create is atomic.
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        yield conn


def new_revision(message: str) -> None:
    """Autogenerate a revision: migrate a scratch SQLite database to head, diff it with the metadata."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade(engine, "scratch")
        with engine.begin() as conn:
            command.revision(_config(conn), message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover - developer tool
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m kizuna.store.migrate revision "what changes"')
    new_revision(sys.argv[2])
