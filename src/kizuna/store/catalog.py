"""The catalog store: SQLite by default, PostgreSQL for real sites, one interface.

Every element set ever ingested is kept (one per object and epoch), so the
history is there for maneuver detection. Writes happen in one transaction per
call: a failure leaves the store exactly as it was.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    RowMapping,
    Table,
    create_engine,
    event,
    func,
    make_url,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from kizuna.errors import StoreError
from kizuna.model.records import ElementSet, SpaceObject
from kizuna.store import migrate
from kizuna.store.schema import element_set, ingest_log, space_object

DEFAULT_DB = "kizuna.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_BATCH_ROWS = 2000
_ELEMENT_COLUMNS = (
    "norad_id",
    "epoch_utc",
    "mean_motion_revday",
    "eccentricity",
    "inclination_deg",
    "raan_deg",
    "arg_perigee_deg",
    "mean_anomaly_deg",
    "bstar_per_er",
    "mean_motion_dot_revday2",
    "mean_motion_ddot_revday3",
    "object_name",
    "object_id",
    "classification",
    "ephemeris_type",
    "element_set_no",
    "rev_at_epoch",
)
_ELEMENT_INSERT_COLUMNS = (*_ELEMENT_COLUMNS, "source", "ingested_utc")
_element_values = operator.attrgetter(*_ELEMENT_COLUMNS)
# An element set creates its object, or keeps it current: the object keeps its first name and
# designator, and takes its regime and newest epoch from its newest set. The WHERE skips the
# objects the update would leave as they are, so a reload of stored sets writes no object (it
# used to rewrite every one) and needs no read-back of the objects to find the others.
_OBJECT_TOUCH_COLUMNS = ("norad_id", "object_name", "object_id", "regime", "latest_epoch_utc")
_NEWER = "excluded.latest_epoch_utc > COALESCE(space_object.latest_epoch_utc, '1900-01-01')"
_OBJECT_UPSERT = (
    "ON CONFLICT (norad_id) DO UPDATE SET "
    "object_name = COALESCE(space_object.object_name, excluded.object_name), "
    "object_id = COALESCE(space_object.object_id, excluded.object_id), "
    f"regime = CASE WHEN {_NEWER} THEN excluded.regime ELSE space_object.regime END, "
    f"latest_epoch_utc = CASE WHEN {_NEWER} THEN excluded.latest_epoch_utc "
    "ELSE space_object.latest_epoch_utc END "
    "WHERE (space_object.object_name IS NULL AND excluded.object_name IS NOT NULL) "
    "OR (space_object.object_id IS NULL AND excluded.object_id IS NOT NULL) "
    f"OR {_NEWER}"
)
_SATCAT_COLUMNS = (
    "object_name",
    "object_id",
    "object_type",
    "ops_status",
    "owner",
    "launch_date",
    "launch_site",
    "decay_date",
    "period_min",
    "inclination_deg",
    "apogee_km",
    "perigee_km",
    "rcs_m2",
    "rcs_size",
    "data_status",
    "orbit_center",
    "orbit_type",
)
OBJECT_TYPES = {
    "PAYLOAD": "PAYLOAD",
    "PAY": "PAYLOAD",
    "ROCKET BODY": "ROCKET BODY",
    "R/B": "ROCKET BODY",
    "RB": "ROCKET BODY",
    "DEBRIS": "DEBRIS",
    "DEB": "DEBRIS",
    "UNKNOWN": "UNKNOWN",
    "UNK": "UNKNOWN",
}


# The dialects (and drivers) Kizuna runs on; anything else is refused before connecting.
SUPPORTED_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


def database_url(db: str | None = None) -> str:
    """Resolve --db / KIZUNA_DB: a SQLAlchemy URL, a postgresql:// URL, or a SQLite file path."""
    value = db or os.environ.get("KIZUNA_DB") or DEFAULT_DB
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    if "://" in value:
        scheme = value.split("://", 1)[0]
        if scheme.lower() not in SUPPORTED_SCHEMES:
            raise StoreError(
                f"unsupported database URL scheme {scheme!r}: use a SQLite file path, "
                "sqlite:///PATH or postgresql://USER@HOST/DB"
            )
        return value
    return f"sqlite:///{Path(value).expanduser()}"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _naive_utc(dt: datetime) -> datetime:
    if dt.tzinfo is UTC:  # what every reader produces: skip the conversion
        return dt.replace(tzinfo=None)
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


@dataclass(frozen=True)
class InsertCounts:
    loaded: int
    duplicates: int


@dataclass(frozen=True)
class CatalogEntry:
    """An object with its SATCAT facts and newest element set (either may be missing)."""

    norad_id: int
    space_object: SpaceObject | None
    latest: ElementSet | None
    regime: str | None


class CatalogStore:
    """Persistence of space objects and element-set history behind one interface."""

    def __init__(self, db: str | None = None, *, echo: bool = False, must_exist: bool = False):
        """Open (creating unless `must_exist`) the database and bring its schema to this release.

        `must_exist=True` is for read-only commands: a database that is not there (a SQLite file
        that does not exist, or a database without Kizuna tables) raises StoreError instead of
        being created empty.
        """
        self.url = database_url(db)
        self._binds: dict[tuple[str, str], Callable[[Any], Any]] = {}
        path = sqlite_path(self.url)
        if path is not None:
            if must_exist and not path.exists():
                raise StoreError(f"no database at {path}")
            if not path.parent.is_dir():
                raise StoreError(f"cannot create database {path}: directory {path.parent} does not exist")
        try:
            self.engine: Engine = create_engine(self.url, echo=echo)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            if must_exist:
                with self.engine.connect() as conn:
                    if not migrate.is_kizuna_database(conn):
                        raise StoreError(f"no Kizuna database at {self.safe_url}")
            migrate.upgrade(self.engine, self.safe_url)
        except SQLAlchemyError as exc:
            self.close()
            raise StoreError(
                f"cannot open store {self.safe_url}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
            ) from exc
        except StoreError:
            self.close()
            raise

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else self.url

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        if hasattr(self, "engine"):
            self.engine.dispose()

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writes
    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def transaction(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: commit on success, rollback on any error."""
        return self.engine.begin()

    def add_element_sets(
        self,
        records: Sequence[ElementSet],
        conn: Connection | None = None,
    ) -> InsertCounts:
        """Insert element sets, skipping (object, epoch) pairs already stored, and create or
        update their objects (see `_OBJECT_UPSERT`).

        Rows go in as plain SQL: one prepared INSERT for the sets and one guarded upsert for
        the objects, each run by the driver's executemany on SQLite; on PostgreSQL one COPY into
        a staging table, from which one INSERT ... SELECT writes the sets and another the objects.
        SQLAlchemy's multi-row statements cost more to build, and psycopg more to parse, than
        the rows cost to store (the load measured 6x to 10x its floor with them).
        """
        if conn is None:
            with self.transaction() as own:
                return self.add_element_sets(records, own)
        bind_epoch = self._bind_processor(element_set, "epoch_utc")
        now = bind_epoch(datetime.now(UTC).replace(tzinfo=None))
        keys: set[tuple[int, datetime]] = set()
        rows: list[tuple[object, ...]] = []
        # Each object's newest set of the batch: (naive UTC epoch, set, its index in rows).
        newest: dict[int, tuple[datetime, ElementSet, int]] = {}
        for es in records:
            epoch = _naive_utc(es.epoch_utc)
            key = (es.norad_id, epoch)
            if key in keys:
                continue
            keys.add(key)
            values = _element_values(es)
            cur = newest.get(es.norad_id)
            if cur is None or epoch > cur[0]:
                newest[es.norad_id] = (epoch, es, len(rows))
            rows.append((values[0], bind_epoch(epoch), *values[2:], es.source, now))
        if self.dialect == "postgresql":
            loaded = self._copy_element_sets(conn, rows, newest)
        else:
            loaded = self._executemany(
                conn,
                f"INSERT INTO element_set ({', '.join(_ELEMENT_INSERT_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in _ELEMENT_INSERT_COLUMNS)}) "
                "ON CONFLICT (norad_id, epoch_utc) DO NOTHING",
                rows,
            )
            # The object's row takes the set's epoch exactly as the set's row stored it.
            objects = [
                (n, es.object_name, es.object_id, es.regime, rows[k][1]) for n, (_, es, k) in newest.items()
            ]
            self._executemany(
                conn,
                f"INSERT INTO space_object ({', '.join(_OBJECT_TOUCH_COLUMNS)}) VALUES (?, ?, ?, ?, ?) "
                + _OBJECT_UPSERT,
                objects,
            )
        return InsertCounts(loaded=loaded, duplicates=len(records) - loaded)

    def _executemany(self, conn: Connection, sql: str, rows: Sequence[Sequence[object]]) -> int:
        """Rows written by one prepared statement run over `rows` (SQLite)."""
        if not rows:
            return 0
        return int(conn.exec_driver_sql(sql, rows).rowcount)

    def _copy_element_sets(
        self,
        conn: Connection,
        rows: Sequence[Sequence[object]],
        newest: dict[int, tuple[datetime, ElementSet, int]],
    ) -> int:
        """PostgreSQL: COPY the rows into a temporary staging table (emptied at commit), then
        write the sets with one INSERT ... SELECT (in input order, `ord`; the conflict rule
        applied by the server) and the objects with another, from the rows that are their
        object's newest of the batch (the only ones with a `newest_regime`). Sets written.

        One COPY feeds both tables: the objects' rows cost no second transfer, and no read-back
        of the stored objects is needed to find the ones that change (`_OBJECT_UPSERT` does it).
        Driver errors come back as SQLAlchemy's DBAPIError, so callers see one kind of store
        failure whatever the path."""
        if not rows:
            return 0
        names = ", ".join(_ELEMENT_INSERT_COLUMNS)
        stage = "kizuna_stage_element_set"
        regimes: list[str | None] = [None] * len(rows)
        for _epoch, es, k in newest.values():
            regimes[k] = es.regime
        statements = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
            f"SELECT 0 AS ord, {names}, CAST(NULL AS VARCHAR(4)) AS newest_regime "
            "FROM element_set WITH NO DATA",
            f"TRUNCATE {stage}",
        )
        insert_sets = (
            f"INSERT INTO element_set ({names}) SELECT {names} FROM {stage} ORDER BY ord "
            "ON CONFLICT (norad_id, epoch_utc) DO NOTHING"
        )
        insert_objects = (
            f"INSERT INTO space_object ({', '.join(_OBJECT_TOUCH_COLUMNS)}) "
            f"SELECT norad_id, object_name, object_id, newest_regime, epoch_utc FROM {stage} "
            f"WHERE newest_regime IS NOT NULL {_OBJECT_UPSERT}"
        )
        raw = conn.connection.driver_connection
        dbapi = self.engine.dialect.loaded_dbapi
        statement = statements[0]
        try:
            with raw.cursor() as cur:  # type: ignore[union-attr]
                for statement in statements:
                    cur.execute(statement)
                statement = f"COPY {stage} (ord, {names}, newest_regime) FROM STDIN"
                with cur.copy(statement) as copy:
                    for k, row in enumerate(rows):
                        copy.write_row((k, *row, regimes[k]))
                statement = insert_sets
                cur.execute(insert_sets)
                loaded = int(cur.rowcount)
                statement = insert_objects
                cur.execute(insert_objects)
                return loaded
        except dbapi.Error as exc:
            raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc

    def _bind_processor(self, table: Table, column: str) -> Callable[[Any], Any]:
        """How the column's SQLAlchemy type turns a Python value into a driver parameter, so
        plain-SQL rows store exactly what SQLAlchemy would (SQLite keeps DATETIME as text, and
        the uniqueness of (object, epoch) rests on that exact text).

        SQLAlchemy's SQLite DATETIME formatter ('YYYY-MM-DD HH:MM:SS.ffffff') runs in Python
        and took a quarter of a catalog load; datetime.isoformat writes the same text in C and
        replaces it once checked to agree here.
        """
        key = (table.name, column)
        if key not in self._binds:
            dialect = self.engine.dialect
            proc = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None and self.dialect == "sqlite" and isinstance(table.c[column].type, DateTime):
                samples = (
                    datetime(2022, 7, 14, 1, 2, 3, 456789),
                    datetime(1957, 10, 4),
                    datetime(2056, 12, 31),
                )
                if all(proc(d) == _sqlite_datetime_text(d) for d in samples):
                    proc = _sqlite_datetime_text
            self._binds[key] = proc or _unchanged
        return self._binds[key]

    def add_space_objects(
        self,
        objects: Sequence[SpaceObject],
        conn: Connection | None = None,
    ) -> InsertCounts:
        """Insert or update SATCAT entries. Identical entries count as duplicates."""
        if conn is None:
            with self.transaction() as own:
                return self.add_space_objects(objects, own)
        t = space_object
        latest: dict[int, SpaceObject] = {o.norad_id: o for o in objects}
        existing = {}
        ids = list(latest)
        for start in range(0, len(ids), _BATCH_ROWS):
            part = ids[start : start + _BATCH_ROWS]
            for row in conn.execute(select(t).where(t.c.norad_id.in_(part))).mappings():
                existing[row["norad_id"]] = row
        rows, duplicates = [], len(objects) - len(latest)
        for n, o in latest.items():
            values = {c: getattr(o, c) for c in _SATCAT_COLUMNS}
            old = existing.get(n)
            if old is not None and all(old[c] == values[c] for c in _SATCAT_COLUMNS):
                duplicates += 1
                continue
            rows.append({"norad_id": n, **values, "satcat_source": o.source})
        if rows:
            ins = self._insert(t)
            stmt = ins.on_conflict_do_update(
                index_elements=["norad_id"],
                set_={c: getattr(ins.excluded, c) for c in (*_SATCAT_COLUMNS, "satcat_source")},
            )
            for start in range(0, len(rows), _BATCH_ROWS):
                conn.execute(stmt, rows[start : start + _BATCH_ROWS])
        return InsertCounts(loaded=len(rows), duplicates=duplicates)

    def log_ingest(
        self,
        conn: Connection,
        *,
        file: str,
        fmt: str,
        sha256: str | None,
        loaded: int,
        duplicates: int,
        rejected: int,
        started_utc: datetime,
    ) -> None:
        conn.execute(
            ingest_log.insert().values(
                file=file,
                format=fmt,
                sha256=sha256,
                loaded=loaded,
                duplicates=duplicates,
                rejected=rejected,
                started_utc=_naive_utc(started_utc),
                finished_utc=datetime.now(UTC).replace(tzinfo=None),
            )
        )

    # ------------------------------------------------------------ reads
    def count_element_sets(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(element_set)).scalar() or 0)

    def count_objects(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(space_object)).scalar() or 0)

    def history(
        self, norad_id: int, start: datetime | None = None, stop: datetime | None = None
    ) -> list[ElementSet]:
        """Every stored element set of one object, oldest first."""
        t = element_set
        q = select(t).where(t.c.norad_id == norad_id)
        if start is not None:
            q = q.where(t.c.epoch_utc >= _naive_utc(start))
        if stop is not None:
            q = q.where(t.c.epoch_utc <= _naive_utc(stop))
        with self.engine.connect() as conn:
            return [_element_set(r) for r in conn.execute(q.order_by(t.c.epoch_utc)).mappings()]

    def latest_element_sets(
        self, norad_ids: Iterable[int] | None = None, *, as_of: datetime | None = None
    ) -> list[ElementSet]:
        """Newest element set per object (at or before `as_of` when given), by NORAD id."""
        t = element_set
        inner = select(t.c.norad_id, func.max(t.c.epoch_utc).label("epoch_utc"))
        if as_of is not None:
            inner = inner.where(t.c.epoch_utc <= _naive_utc(as_of))
        ids = sorted(set(norad_ids)) if norad_ids is not None else None
        out: list[ElementSet] = []
        with self.engine.connect() as conn:
            for part in _chunks(ids, _BATCH_ROWS) if ids is not None else [None]:
                grouped = inner if part is None else inner.where(t.c.norad_id.in_(part))
                sub = grouped.group_by(t.c.norad_id).subquery()
                q = (
                    select(t)
                    .join(sub, (t.c.norad_id == sub.c.norad_id) & (t.c.epoch_utc == sub.c.epoch_utc))
                    .order_by(t.c.norad_id)
                )
                out.extend(_element_set(r) for r in conn.execute(q).mappings())
        return out

    def get_object(self, norad_id: int) -> CatalogEntry | None:
        entries = self.search(norad_ids=[norad_id])
        return entries[0] if entries else None

    def search(
        self,
        *,
        owner: str | None = None,
        object_type: str | None = None,
        regime: str | None = None,
        name: str | None = None,
        norad_ids: Iterable[int] | None = None,
        limit: int | None = None,
    ) -> list[CatalogEntry]:
        """Objects matching every given filter, with their newest element set."""
        t = space_object
        q = select(t)
        if owner:
            q = q.where(func.upper(t.c.owner) == owner.upper())
        if object_type:
            wanted = OBJECT_TYPES.get(object_type.upper(), object_type.upper())
            q = q.where(t.c.object_type == wanted)
        if regime:
            q = q.where(t.c.regime == regime.upper())
        if name:
            q = q.where(func.upper(t.c.object_name).like(f"%{name.upper()}%"))
        if norad_ids is not None:
            q = q.where(t.c.norad_id.in_(sorted(set(norad_ids))))
        q = q.order_by(t.c.norad_id)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(q).mappings())
        latest = {es.norad_id: es for es in self.latest_element_sets([r["norad_id"] for r in rows])}
        return [
            CatalogEntry(
                norad_id=r["norad_id"],
                space_object=_space_object(r),
                latest=latest.get(r["norad_id"]),
                regime=r["regime"],
            )
            for r in rows
        ]

    def summary(self) -> dict[str, dict[str, int]]:
        """Object counts by regime and by owner (unknown where no SATCAT entry)."""
        t = space_object
        with self.engine.connect() as conn:
            by_regime = {
                r or "UNKNOWN": n
                for r, n in conn.execute(select(t.c.regime, func.count()).group_by(t.c.regime))
            }
            by_owner = {
                o or "UNKNOWN": n
                for o, n in conn.execute(select(t.c.owner, func.count()).group_by(t.c.owner))
            }
        return {
            "regime": dict(sorted(by_regime.items(), key=lambda kv: -kv[1])),
            "owner": dict(sorted(by_owner.items(), key=lambda kv: -kv[1])),
        }


def _unchanged(value: Any) -> Any:
    return value


def _sqlite_datetime_text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    # First: processes that open one file together wait for each other's locks instead of failing.
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the loader
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _element_set(row: RowMapping) -> ElementSet:
    values = {c: row[c] for c in _ELEMENT_COLUMNS}
    values["epoch_utc"] = row["epoch_utc"].replace(tzinfo=UTC)
    return ElementSet(**values, source=row["source"])


def _space_object(row: RowMapping) -> SpaceObject | None:
    if row["satcat_source"] is None and row["owner"] is None and row["object_type"] is None:
        return None
    values = {c: row[c] for c in _SATCAT_COLUMNS}
    for key in ("launch_date", "decay_date"):
        if isinstance(values[key], datetime):
            values[key] = values[key].date()
        elif values[key] is not None and not isinstance(values[key], date):
            values[key] = date.fromisoformat(str(values[key]))
    return SpaceObject(norad_id=row["norad_id"], **values, source=row["satcat_source"])
