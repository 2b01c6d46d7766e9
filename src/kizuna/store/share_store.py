"""Tables and queries of the sharing layer: products, partner cursors and the audit chain.

Sequence numbers come from a counter row that each writing transaction updates first. The row lock is
held until commit, so sequence order equals commit order on PostgreSQL as on SQLite: a reader that has
seen sequence n can never later find a newly committed row below n. That is what lets the feed use the
sequence as its cursor without skipping or repeating items added while a partner pages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, any_, false, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import (
    GENESIS_HASH,
    share_audit,
    share_audit_head,
    share_audit_witness,
    share_counter,
    share_cursor,
    share_product,
)

# Short names the sharing layer (and its tests) use for its tables.
products = share_product
counters = share_counter
cursors = share_cursor
audit = share_audit
audit_head = share_audit_head
audit_witness = share_audit_witness

GENESIS = GENESIS_HASH


def _naive(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def delimited(values: Iterable[object] | None) -> str:
    return "*" if values is None else "," + ",".join(sorted(str(v) for v in values)) + ","


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[object]) -> ColumnElement[bool]:
    """`column` equals one of `values`: on PostgreSQL ``column = ANY(:array)``, one parameter however
    many values, else ``column IN (...)``.

    A page's ids (500) as an IN list are 500 placeholders: the query text is then too long for
    psycopg's cache of converted queries (4 KiB), so every such statement is re-parsed on the client
    (about a millisecond a statement on this project's 2-core test machine) and sends 500 parameters."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))
    return column.in_(list(values))


# Fewer rows than this go to PostgreSQL as one INSERT instead of a COPY: a COPY costs two round trips
# to the server (start, then data and end) where an INSERT costs one, and a publish, a feed answer's
# audit entry or a one-product page writes one or two rows, on the path from publish to visible.
COPY_MIN_ROWS = 16


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert `rows` (dicts with the same keys, column names of `table`) in the caller's transaction,
    as one round of work for the database instead of one statement per row.

    A feed page is a few hundred products and as many audit entries; through SQLAlchemy's generic
    executemany each row costs tens of microseconds of parameter handling (and on PostgreSQL a pipeline
    round per row), more than checking the product. PostgreSQL: one ``COPY ... FROM STDIN`` (a few
    rows: one multi-row INSERT, which is one round trip where a COPY is two). SQLite:
    the driver's own executemany, values passed through each column type's bind processor (the same
    stored text as SQLAlchemy writes, e.g. for DateTime). Either way the rows go in one transaction
    with the caller's other writes, and a row the database refuses (too long, duplicate key) fails the
    whole call, as the executemany did: the caller isolates rows in savepoints to find it. Driver
    errors are raised as SQLAlchemy's wrapped errors (`OperationalError`, `DataError`, ...), so callers
    tell "the store is down" from "the store refused a row" exactly as before.
    """
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        dbapi = conn.connection.dbapi_connection
        sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
        try:
            with dbapi.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row([row[c] for c in columns])
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from None
        return
    if dialect.name != "sqlite":
        conn.execute(table.insert(), list(rows))
        return
    processors = [
        _sqlite_bind(table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns
    ]
    converted = [(i, f) for i, f in enumerate(processors) if f is not None]
    params: list[tuple[object, ...]] = []
    for row in rows:
        values = [row[c] for c in columns]
        for i, f in converted:
            values[i] = f(values[i])
        params.append(tuple(values))
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(columns))})"
    conn.exec_driver_sql(sql, params)


# A fraction, none, a year below 1000: where formats that agree on most values would differ.
_PROBES = (datetime(2001, 2, 3, 4, 5, 6, 7), datetime(2026, 1, 1), datetime(999, 12, 31, 23, 59, 59))


def _sqlite_bind(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A column type's SQLite bind processor; for a DateTime column stored in SQLAlchemy's default
    format, one that writes a plain naive datetime by `isoformat` (the same text, in two fifths of the
    time: a page writes two per product) and hands anything else to `process`. The format is checked
    on probe values, not assumed: a column stored otherwise keeps its own processor."""
    if process is None:
        return None
    try:
        same = all(process(p) == p.isoformat(" ", "microseconds") for p in _PROBES)
    except Exception:  # noqa: BLE001 - not a DateTime processor: it refuses a datetime
        same = False
    if not same:
        return process

    def bind(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)

    return bind


def insert_or_defer(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, object]], page: PageWrite | None
) -> None:
    """:func:`bulk_insert` of `rows`, except that with `page` (PostgreSQL) a few rows (fewer than
    COPY_MIN_ROWS: a publish, a feed answer's audit entry, a one-product page) join the page's held-back
    writes as one multi-row INSERT, sent with them in one round trip before the commit. A row the
    database refuses then fails :meth:`ShareStore.finish_page` instead, in the same transaction."""
    if page is None or not rows or len(rows) >= COPY_MIN_ROWS:
        bulk_insert(conn, table, rows)
        return
    columns = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES " + ", ".join(
        [one] * len(rows)
    )
    page.deferred.append((sql, [row[c] for row in rows for c in columns]))


def _pipelined(conn: Connection, statements: Sequence[tuple[str, Sequence[object]]]) -> list[list[Any]]:
    """Run `statements` (PostgreSQL SQL text with ``%s`` placeholders, and their parameters) in the
    caller's transaction as one psycopg pipeline: sent together, their results read back in one round
    trip to the server, in order (each statement runs after the one before it). Returns each
    statement's rows ([] for a statement that returns none).

    On a machine whose cores are busy, every round trip waits for the server process to be scheduled,
    which costs milliseconds where the statement itself costs microseconds. Driver errors are raised
    as SQLAlchemy's wrapped errors, as :func:`bulk_insert` raises them."""
    dialect = conn.dialect
    dbapi = conn.connection.dbapi_connection
    out: list[list[Any]] = []
    try:
        with dbapi.pipeline():  # type: ignore[union-attr]
            cursors = []
            for sql, params in statements:
                cur = dbapi.cursor()  # type: ignore[union-attr]
                cur.execute(sql, params)
                cursors.append(cur)
        # the pipeline's exit has synced: every result is in
        for cur in cursors:
            out.append(list(cur.fetchall()) if cur.description is not None else [])
            cur.close()
    except dialect.loaded_dbapi.Error as exc:
        sql = "; ".join(sql for sql, _ in statements)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from None
    return out


@dataclass
class PageWrite:
    """One batch's write transaction on PostgreSQL, with its reads done and its single-row writes
    held back (:meth:`ShareStore.begin_page`, :meth:`ShareStore.finish_page`).

    The reads run in one round trip, in this order: the product counter's row lock (taken first, as
    every product writer takes it before inserting, so no other transaction can add a product until
    this one commits: the stored versions read next are exact, not a snapshot another writer may
    overtake), the stored versions of the batch's ids, the audit head ``FOR UPDATE`` and the audit
    counter (under the head's lock, which every audit writer takes first). The small writes that
    return nothing the batch needs (counters, audit head, older versions no longer current, the
    partner's cursor) are queued in `deferred` and sent together before the commit; the bulk rows go
    as COPY in between, which a pipeline cannot carry.
    """

    versions: dict[str, dict[int, str]]  # stored versions per id -> {version: signature}
    stored_ids: frozenset[str]  # the ids that had a stored version when the page began
    product_seq: int  # the last product sequence number used (the counter, under its lock)
    audit_seq: int  # the audit head: its last entry and that entry's hash, under the head's lock
    audit_hash: str
    audit_counter: int  # the audit counter as read under the head's lock (must equal audit_seq)
    deferred: list[tuple[str, Sequence[object]]] = field(default_factory=list)


@dataclass(frozen=True)
class Visibility:
    """The SQL side of the policy: nationality, clearance, and the caveats the subject lacks."""

    nationality: str
    clearance: int
    lacking_caveats: frozenset[str]

    def clause(self, table: FromClause = products) -> ColumnElement[bool]:
        """The filter on `table` (the products table, or an alias of it in a subquery)."""
        t = table.c
        conds = [
            or_(t.nations == "*", t.nations.like(f"%,{self.nationality},%")),
            t.classification <= self.clearance,
        ]
        conds += [t.caveats.not_like(f"%,{c},%") for c in sorted(self.lacking_caveats)]
        return and_(*conds)


@dataclass(frozen=True)
class ProductRow:
    seq: int
    product_id: str
    version: int
    type: str
    originator: str
    banner: str
    source: str
    signature: str
    wire: str
    added_utc: datetime


@dataclass(frozen=True)
class VersionMatch:
    """Which versions of each product a read selects (the TAXII 2.1 `match[version]` filter):
    the first and the last version the reader may see, versions by number, and versions by the
    creation time they were signed with. A read given no VersionMatch selects every version.

    First and last are decided among the versions the reader may see, so a newer version the reader
    may not see neither hides an older one nor shows that it exists.
    """

    first: bool = False
    last: bool = False
    numbers: frozenset[int] = frozenset()
    created_utc: frozenset[datetime] = frozenset()

    def clause(self, vis: Visibility | None) -> ColumnElement[bool]:
        t = products.c
        conds: list[ColumnElement[bool]] = []
        if self.numbers:
            conds.append(t.version.in_(sorted(self.numbers)))
        if self.created_utc:
            conds.append(t.created_utc.in_(sorted(_naive(c) for c in self.created_utc)))
        for wanted, pick in ((self.first, func.min), (self.last, func.max)):
            if wanted:
                other = products.alias("other_version")
                q = select(pick(other.c.version)).where(other.c.product_id == t.product_id)
                if vis is not None:
                    q = q.where(vis.clause(other))
                conds.append(t.version == q.scalar_subquery())
        return or_(*conds) if conds else false()


# Decides whether a stored row may be returned to a reader with that visibility (None: an internal
# read). The store does not know signatures or policy; the sharing layer installs the check
# (`Node` verifies the row against its signature and re-decides from the signed label).
RowCheck = Callable[["ProductRow", "Visibility | None"], bool]

# The columns of a ProductRow, in its fields' order: a row selected with them is built positionally
# (`ProductRow(*row)`), half the time of building it from the row's mapping (a feed page reads 500).
_ROW_COLUMNS = tuple(products.c[f.name] for f in fields(ProductRow))


class ShareStore:
    """Sharing tables in the opened database (SQLite or PostgreSQL).

    The tables, the sequence counters and the audit head at genesis come from the store's migrations.
    Reads through :meth:`page` and :meth:`get` pass every row through :attr:`row_check` when one is
    installed, so nothing that fails it is ever returned, whatever the SQL columns say.
    """

    def __init__(self, store: CatalogStore, row_check: RowCheck | None = None):
        self.store = store
        self.engine = store.engine
        self.row_check = row_check
        # One writer at a time inside a node process: SQLite would otherwise fail with SQLITE_BUSY when
        # two deferred transactions upgrade to write; PostgreSQL is additionally serialised by row locks.
        self._write_lock = threading.RLock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that holds the database's write lock from its first statement.

        Writers read before they write (the audit head before its counter, the stored versions before
        an insert), so the read must already be under the lock another process (the CLI beside a live
        node) takes to write. SQLite: the driver would run those reads outside any transaction and only
        BEGIN (deferred) at the first UPDATE, so in autocommit mode we issue ``BEGIN IMMEDIATE``, which
        takes the write lock up front and waits for it up to the connection's busy timeout, as
        :mod:`kizuna.store.migrate` does for schema changes. PostgreSQL: each writer locks the rows it
        reads (the audit head ``FOR UPDATE``, the counter rows by their UPDATE) until commit.
        """
        with self._write_lock:
            if self.dialect != "sqlite":
                with self.engine.begin() as conn:
                    yield conn
                return
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    # SQLite has already rolled back after some errors (a full disk, an interrupt).
                    if conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                        conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")

    def begin_page(self, conn: Connection, ids: Sequence[str]) -> PageWrite | None:
        """On PostgreSQL, the locks and reads a batch of products with its audit entries needs, in
        one round trip (see :class:`PageWrite`); None elsewhere (SQLite's ``BEGIN IMMEDIATE`` already
        holds the only write lock, and a statement there costs no round trip)."""
        if self.dialect != "postgresql":
            return None
        q = conn.dialect.identifier_preparer.quote
        counter, product, head = q(counters.name), q(products.name), q(audit_head.name)
        locked, stored, head_rows, audit_counter = _pipelined(
            conn,
            [
                # FOR UPDATE: the row lock an allocating UPDATE takes, without writing a row version
                (f"SELECT value FROM {counter} WHERE name = 'product' FOR UPDATE", ()),
                (
                    f"SELECT product_id, version, signature FROM {product} WHERE product_id = ANY(%s)",
                    (sorted(set(ids)),),
                ),
                (f"SELECT seq, hash FROM {head} WHERE id = 1 FOR UPDATE", ()),
                (f"SELECT value FROM {counter} WHERE name = 'audit'", ()),
            ],
        )
        versions: dict[str, dict[int, str]] = {}
        for pid, ver, sig in stored:
            versions.setdefault(pid, {})[ver] = sig
        ((seq, h),) = head_rows
        return PageWrite(
            versions=versions,
            stored_ids=frozenset(versions),
            product_seq=int(locked[0][0]),
            audit_seq=int(seq),
            audit_hash=str(h),
            audit_counter=int(audit_counter[0][0]),
        )

    def finish_page(self, conn: Connection, page: PageWrite) -> None:
        """Send the page's held-back writes, in order, in one round trip (before the commit)."""
        if page.deferred:
            _pipelined(conn, page.deferred)
            page.deferred.clear()

    def allocate(self, conn: Connection, name: str, n: int) -> int:
        """Reserve `n` sequence numbers; returns the first. Locks the counter row until commit."""
        stmt = (
            update(counters)
            .where(counters.c.name == name)
            .values(value=counters.c.value + n)
            .returning(counters.c.value)
        )
        last = int(conn.execute(stmt).scalar_one())
        return last - n + 1

    def lock_products(self, conn: Connection) -> None:
        """Take the product counter's row lock now, as the transaction's first write. A batch that
        isolates products in savepoints calls it first: on SQLite the transaction has then begun
        before the first SAVEPOINT (pysqlite defers BEGIN to the first write, and a SAVEPOINT that
        opens the transaction commits it on RELEASE)."""
        conn.execute(update(counters).where(counters.c.name == "product").values(value=counters.c.value))

    # ------------------------------------------------------------ products
    def versions(self, conn: Connection, ids: Sequence[str]) -> dict[str, dict[int, str]]:
        """Stored versions per product id -> {version: signature}."""
        out: dict[str, dict[int, str]] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            q = select(products.c.product_id, products.c.version, products.c.signature).where(
                one_of(conn, products.c.product_id, part)
            )
            for pid, ver, sig in conn.execute(q):
                out.setdefault(pid, {})[ver] = sig
        return out

    def latest(self, conn: Connection, ids: Sequence[str]) -> dict[str, ProductRow]:
        """The highest stored version of each id, unchecked (the caller verifies it), in `conn`."""
        out: dict[str, ProductRow] = {}
        for start in range(0, len(ids), 500):
            part = list(ids[start : start + 500])
            q = select(*_ROW_COLUMNS).where(one_of(conn, products.c.product_id, part))
            for r in conn.execute(q):
                row = ProductRow(*r)
                if row.product_id not in out or row.version > out[row.product_id].version:
                    out[row.product_id] = row
        return out

    def insert(
        self, conn: Connection, rows: Sequence[dict[str, object]], page: PageWrite | None = None
    ) -> list[int]:
        """Insert product rows (without seq) in order; marks older versions not current. With `page`
        (:meth:`begin_page`), the sequence numbers come from the counter it read and the single-row
        updates wait in ``page.deferred`` for :meth:`finish_page`."""
        if not rows:
            return []
        if page is None:
            first = self.allocate(conn, "product", len(rows))
        else:
            first = page.product_seq + 1
            page.product_seq += len(rows)
        now = datetime.now(UTC).replace(tzinfo=None)
        full: list[dict[str, object]] = []
        # (product_id, version, seq) per row, typed, for the "which version is current" bookkeeping
        keys: list[tuple[str, int, int]] = []
        for i, row in enumerate(rows):
            pid, version, created = row["product_id"], row["version"], row["created_utc"]
            if not (isinstance(pid, str) and isinstance(version, int) and isinstance(created, datetime)):
                raise TypeError(
                    f"product row needs a str product_id, an int version and a datetime created_utc: {row!r}"
                )
            full.append(
                {
                    **row,
                    "seq": first + i,
                    "added_utc": now,
                    "is_current": True,
                    "created_utc": _naive(created),
                }
            )
            keys.append((pid, version, first + i))
        ids = sorted({pid for pid, _, _ in keys})
        # Within the batch only the highest version of an id stays current.
        newest: dict[str, tuple[int, int]] = {}
        for pid, ver, seq in keys:
            if pid not in newest or ver > newest[pid][0]:
                newest[pid] = (ver, seq)
        stale = [seq for pid, _, seq in keys if newest[pid][1] != seq]
        if page is not None:
            q = conn.dialect.identifier_preparer.quote
            table, counter = q(products.name), q(counters.name)
            insert_or_defer(conn, products, full, page)  # before the updates below, which follow it
            deferred: list[tuple[str, Sequence[object]]] = [
                (f"UPDATE {counter} SET value = %s WHERE name = 'product'", (page.product_seq,))
            ]
            # Only ids stored before the page can have an older current version (the counter's lock
            # keeps others from adding any); the update runs after the COPY, so it spares this
            # batch's rows by their sequence numbers.
            older = sorted(page.stored_ids.intersection(ids))
            if older:
                deferred.append(
                    (
                        f"UPDATE {table} SET is_current = false "
                        "WHERE product_id = ANY(%s) AND seq < %s AND is_current",
                        (older, first),
                    )
                )
            if stale:
                deferred.append((f"UPDATE {table} SET is_current = false WHERE seq = ANY(%s)", (stale,)))
            page.deferred.extend(deferred)
            return [first + i for i in range(len(rows))]
        for start in range(0, len(ids), 500):
            conn.execute(
                update(products)
                .where(one_of(conn, products.c.product_id, ids[start : start + 500]))
                .values(is_current=False)
            )
        bulk_insert(conn, products, full)
        if stale:
            conn.execute(update(products).where(one_of(conn, products.c.seq, stale)).values(is_current=False))
        return [first + i for i in range(len(rows))]

    def page(
        self,
        vis: Visibility | None,
        *,
        after: int = 0,
        limit: int = 100,
        type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        norad_id: int | None = None,
        current_only: bool = False,
        exclude_originator: str | None = None,
        added_after: datetime | None = None,
    ) -> list[ProductRow]:
        """Up to `limit` rows after sequence `after` that pass the SQL filters and :attr:`row_check`.
        Rows the check refuses are skipped and the page is filled from the rows after them, so a bad
        row never shortens a page into looking like the end of the feed."""
        t = products.c
        q = select(*_ROW_COLUMNS)
        if vis is not None:
            q = q.where(vis.clause())
        if type:
            q = q.where(t.type == type)
        if since:
            q = q.where(t.created_utc >= _naive(since))
        if until:
            q = q.where(t.created_utc <= _naive(until))
        if added_after:
            q = q.where(t.added_utc > _naive(added_after))
        if norad_id is not None:
            q = q.where(t.objects.like(f"%,{int(norad_id)},%"))
        if current_only:
            q = q.where(t.is_current.is_(True))
        if exclude_originator:
            q = q.where(t.originator != exclude_originator)
        out: list[ProductRow] = []
        scanned = after
        while len(out) < limit:
            want = limit - len(out)
            with self.engine.connect() as conn:
                page = q.where(t.seq > scanned).order_by(t.seq).limit(want)
                batch = [ProductRow(*r) for r in conn.execute(page)]
            if not batch:
                break
            scanned = batch[-1].seq
            # Checked outside the read connection: a refusal writes an audit entry.
            out.extend(r for r in batch if self.row_check is None or self.row_check(r, vis))
            if len(batch) < want:
                break
        return out

    def get(self, vis: Visibility | None, product_id: str, version: int | None = None) -> ProductRow | None:
        t = products.c
        q = select(*_ROW_COLUMNS).where(t.product_id == product_id)
        q = q.where(t.version == version) if version is not None else q.where(t.is_current.is_(True))
        if vis is not None:
            q = q.where(vis.clause())
        with self.engine.connect() as conn:
            r = conn.execute(q).first()
        if r is None:
            return None
        row = ProductRow(*r)
        return row if self.row_check is None or self.row_check(row, vis) else None

    def select_page(
        self,
        vis: Visibility | None,
        *,
        after: int = 0,
        limit: int = 100,
        ids: Sequence[str] = (),
        types: Sequence[str] = (),
        versions: VersionMatch | None = None,
        added_after: datetime | None = None,
        exclude_originator: str | None = None,
    ) -> tuple[list[ProductRow], bool]:
        """Up to `limit` rows after sequence `after`, in the order they were added, that pass the
        filters (`ids`, `types`: any of; none given: all) and :attr:`row_check`, and whether more rows
        pass after them. Like :meth:`page`, rows the check refuses are skipped and the page filled from
        the rows after them; one row beyond the page is read so that "more" is exact."""
        t = products.c
        q = select(*_ROW_COLUMNS)
        if vis is not None:
            q = q.where(vis.clause())
        if ids:
            q = q.where(t.product_id.in_(sorted(set(ids))))
        if types:
            q = q.where(t.type.in_(sorted(set(types))))
        if versions is not None:
            q = q.where(versions.clause(vis))
        if added_after is not None:
            q = q.where(t.added_utc > _naive(added_after))
        if exclude_originator:
            q = q.where(t.originator != exclude_originator)
        out: list[ProductRow] = []
        scanned = after
        while len(out) <= limit:
            want = limit + 1 - len(out)
            with self.engine.connect() as conn:
                batch = [
                    ProductRow(*r) for r in conn.execute(q.where(t.seq > scanned).order_by(t.seq).limit(want))
                ]
            if not batch:
                break
            scanned = batch[-1].seq
            # Checked outside the read connection: a refusal writes an audit entry.
            out.extend(r for r in batch if self.row_check is None or self.row_check(r, vis))
            if len(batch) < want:
                break
        return out[:limit], len(out) > limit

    def stored_row(self, product_id: str, version: int | None = None) -> dict[str, object] | None:
        """One stored product row with all its columns (current version by default), unchecked: for
        verification tools, never to serve."""
        t = products.c
        q = select(products).where(t.product_id == product_id)
        q = q.where(t.version == version) if version is not None else q.where(t.is_current.is_(True))
        with self.engine.connect() as conn:
            r = conn.execute(q).mappings().first()
        return dict(r) if r else None

    def stored_rows(self, chunk: int = 1000) -> Iterator[dict[str, object]]:
        """Every stored product row with all its columns, in sequence order, unchecked."""
        after = 0
        while True:
            with self.engine.connect() as conn:
                rows = [
                    dict(r)
                    for r in conn.execute(
                        select(products).where(products.c.seq > after).order_by(products.c.seq).limit(chunk)
                    ).mappings()
                ]
            if not rows:
                return
            yield from rows
            after = int(rows[-1]["seq"])

    def all_keys(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            return [
                (a, b)
                for a, b in conn.execute(
                    select(products.c.product_id, products.c.version).order_by(products.c.seq)
                )
            ]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(products)).scalar() or 0)

    def max_seq(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(products.c.seq), 0))).scalar() or 0)

    # ------------------------------------------------------------ partner cursors
    def cursor(self, partner: str) -> str | None:
        with self.engine.connect() as conn:
            v = conn.execute(select(cursors.c.cursor).where(cursors.c.partner == partner)).scalar()
        return None if v is None else str(v)

    def set_cursor(self, conn: Connection, partner: str, value: str, page: PageWrite | None = None) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        if page is not None:  # one upsert, held back for finish_page
            table = conn.dialect.identifier_preparer.quote(cursors.name)
            page.deferred.append(
                (
                    f"INSERT INTO {table} (partner, cursor, updated_utc) VALUES (%s, %s, %s) "
                    "ON CONFLICT (partner) DO UPDATE SET cursor = EXCLUDED.cursor, "
                    "updated_utc = EXCLUDED.updated_utc",
                    (partner, value, now),
                )
            )
            return
        n = conn.execute(
            update(cursors).where(cursors.c.partner == partner).values(cursor=value, updated_utc=now)
        ).rowcount
        if not n:
            conn.execute(cursors.insert().values(partner=partner, cursor=value, updated_utc=now))

    # ------------------------------------------------------------ audit chain rows
    def audit_head(self, conn: Connection, *, lock: bool = False) -> tuple[int, str]:
        q = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        if lock and self.dialect == "postgresql":
            q = q.with_for_update()
        seq, h = conn.execute(q).one()
        return int(seq), str(h)

    def audit_rows(self) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(audit).order_by(audit.c.seq)).mappings()]

    def audit_head_now(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            return self.audit_head(conn)

    def audit_hash_at(self, seq: int) -> str | None:
        """Stored hash of audit entry `seq` (GENESIS for 0; None when there is no such entry)."""
        if seq == 0:
            return GENESIS
        with self.engine.connect() as conn:
            v = conn.execute(select(audit.c.hash).where(audit.c.seq == seq)).scalar()
        return None if v is None else str(v)

    # ------------------------------------------------------------ witnessed partner checkpoints
    def witness(self, partner: str) -> str | None:
        """The signed checkpoint document last witnessed for `partner` (JSON text), if any."""
        with self.engine.connect() as conn:
            v = conn.execute(
                select(audit_witness.c.checkpoint).where(audit_witness.c.partner == partner)
            ).scalar()
        return None if v is None else str(v)

    def set_witness(self, conn: Connection, partner: str, seq: int, hash_hex: str, checkpoint: str) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        values = {"seq": seq, "hash": hash_hex, "checkpoint": checkpoint, "updated_utc": now}
        n = conn.execute(
            update(audit_witness).where(audit_witness.c.partner == partner).values(**values)
        ).rowcount
        if not n:
            conn.execute(audit_witness.insert().values(partner=partner, **values))
