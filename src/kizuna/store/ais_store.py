"""AIS storage: positions and per-MMSI static data in the catalog database (SQLite or PostgreSQL).

Tables in ``store/schema.py`` (created by the store's migrations when the database opens).
Positions are unique on (mmsi, time, lat, lon), indexed time first (a load appends to the index),
so re-loading a file adds nothing. Inserts go through the driver in one transaction per batch: on
SQLite a prepared ``INSERT OR IGNORE`` run by ``executemany`` (rows inserted counted by
``total_changes``), on PostgreSQL binary ``COPY`` straight into the table when no stored row can
collide (one range probe over the batch's time span), else into a
temporary table then one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (its row count).
Rows keep the file's order, so the ``id`` column is the arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from kizuna.errors import FormatIssue
from kizuna.formats.ais import NAT_NS, PositionColumns, latest_static
from kizuna.model.maritime import PositionArrays, VesselPosition, VesselStatic
from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import ais_position, ais_static, ais_static_history

_BATCH = 5000
_SQLITE_CACHE_KIB = 65536
_COLUMNS = (
    "mmsi",
    "time_utc",
    "lat_deg",
    "lon_deg",
    "sog_kn",
    "cog_deg",
    "heading_deg",
    "msg_type",
    "source",
)
# times as schema.UtcMicroseconds stores them on SQLite (integer microseconds since 1970): rows
# inserted through the driver must match it exactly or a re-load would not be seen as duplicates.
_SQLITE_INSERT = (
    f"INSERT OR IGNORE INTO ais_position ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
# PostgreSQL: rows go in by binary COPY (fixed-width fields packed by numpy, no per-row Python)
# into a temporary stage; the source station as a code into a second small stage table; NaN
# (not available) becomes NULL on the move, as the other inserts store it.
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS kizuna_ais_stage (n bigint, mmsi bigint, time_utc timestamp,"
    " lat_deg double precision, lon_deg double precision, sog_kn double precision,"
    " cog_deg double precision, heading_deg double precision, msg_type integer,"
    " source_code integer) ON COMMIT DELETE ROWS;"
    " CREATE TEMP TABLE IF NOT EXISTS kizuna_ais_source (code integer, source varchar(200))"
    " ON COMMIT DELETE ROWS"
)
_PG_MOVE = (
    f"INSERT INTO ais_position ({', '.join(_COLUMNS)}) SELECT s.mmsi, s.time_utc, s.lat_deg, s.lon_deg,"
    " NULLIF(s.sog_kn, 'NaN'), NULLIF(s.cog_deg, 'NaN'), NULLIF(s.heading_deg, 'NaN'), s.msg_type,"
    " c.source FROM kizuna_ais_stage s JOIN kizuna_ais_source c ON c.code = s.source_code"
    " ORDER BY s.n ON CONFLICT DO NOTHING"
)


def _pg_binary_row(fields: tuple[tuple[str, str], ...]) -> np.dtype:
    """One tuple of PostgreSQL's binary COPY format with every field present: a field count, then
    each field's byte length and big-endian value."""
    return np.dtype(
        [
            ("fields", ">i2"),
            *(item for name, kind in fields for item in ((f"len_{name}", ">i4"), (name, kind))),
        ]
    )


_PG_COPY_ROW = _pg_binary_row(
    (
        ("n", ">i8"),
        ("mmsi", ">i8"),
        ("time_utc", ">i8"),
        ("lat_deg", ">f8"),
        ("lon_deg", ">f8"),
        ("sog_kn", ">f8"),
        ("cog_deg", ">f8"),
        ("heading_deg", ">f8"),
        ("msg_type", ">i4"),
        ("source_code", ">i4"),
    )
)
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL timestamps count microseconds from 2000-01-01
_PG_COPY_FINAL = f"COPY ais_position ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_NULLABLE = ("sog_kn", "cog_deg", "heading_deg")  # NaN (not available) goes in as NULL


def _pg_asynchronous_commit(conn: Connection) -> None:
    """This transaction's commit returns before its WAL reaches the disk (``SET LOCAL``: the
    session's setting is back once it ends). Safe for a file load: a server crash can lose the last
    chunks committed, each one whole, never part of one (the database stays consistent), and
    loading the file again adds exactly the rows lost, as the unique (mmsi, time, lat, lon) key
    skips the rest. A live feed's batches (``insert_positions``) keep the durable commit: their
    source cannot be read again."""
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")


_MIX = 0x9E3779B97F4A7C15  # an odd 64-bit constant (2^64 / golden ratio): MMSIs spread over the bits


def _first_arrivals(cols: PositionColumns) -> np.ndarray:
    """Rows that are the first arrival of their (mmsi, time to the microsecond, lat, lon) key in
    the batch, in arrival order (the stored unique key; floats compared as the database does,
    -0.0 equal to 0.0)."""
    t_us = cols.time_ns // 1000
    # most batches repeat nothing: equal (mmsi, time) pairs mix to equal 64-bit keys, so distinct
    # keys (one sort of integers) prove it; a shared key (a repeat, or rarely two pairs mixing to
    # one value) takes the full four-key sort
    key = np.sort(t_us.view(np.uint64) ^ (cols.mmsi.view(np.uint64) * np.uint64(_MIX)))
    if not np.any(key[1:] == key[:-1]):
        return np.arange(len(cols))
    order = np.lexsort((cols.lon_deg, cols.lat_deg, t_us, cols.mmsi))  # stable: arrival order kept
    m, t, la, lo = cols.mmsi[order], t_us[order], cols.lat_deg[order], cols.lon_deg[order]
    repeat = np.zeros(len(order), bool)
    repeat[1:] = (m[1:] == m[:-1]) & (t[1:] == t[:-1]) & (la[1:] == la[:-1]) & (lo[1:] == lo[:-1])
    return np.sort(order[~repeat])


def _pg_overlaps_stored(cur: Any, cols: PositionColumns) -> bool:  # noqa: ANN401 - psycopg.Cursor
    """Whether a stored report of any vessel of the batch lies within that vessel's time span in
    the batch: one range scan of the unique (time, mmsi, ...) index over the batch's whole time
    span, each stored row in it matched to its vessel's span (a join on the batch's vessels)."""
    t_us = cols.time_ns // 1000 - _PG_EPOCH_US
    order = np.lexsort((t_us, cols.mmsi))
    m, t = cols.mmsi[order], t_us[order]
    starts = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])
    ends = np.r_[starts[1:], len(m)] - 1
    us = "timestamp '2000-01-01' + interval '1 microsecond' *"
    # MATERIALIZED: the stored rows of the span are read once; left to itself the planner probes
    # the span once per vessel, which reads every other vessel's rows in it each time
    cur.execute(
        "WITH w AS MATERIALIZED (SELECT mmsi, time_utc FROM ais_position"
        f" WHERE time_utc BETWEEN {us} %s::bigint AND {us} %s::bigint)"
        " SELECT EXISTS (SELECT 1 FROM w"
        " JOIN unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS r(mmsi, t0, t1) ON w.mmsi = r.mmsi"
        f" WHERE w.time_utc BETWEEN {us} r.t0 AND {us} r.t1)",
        (int(t.min()), int(t.max()), m[starts].tolist(), t[starts].tolist(), t[ends].tolist()),
    )
    row = cur.fetchone()
    return bool(row[0])


def _pg_final_rows(cols: PositionColumns) -> bytes:
    """Binary COPY data for ``ais_position`` (``_COLUMNS``): rows packed at full width by numpy,
    then NULL fields (NaN) and the unused tail of each source string cut out by one byte mask."""
    n = len(cols)
    sources = [(s or "")[:200].encode() for s in cols.sources]
    width = max(1, *map(len, sources))
    fixed = (
        ("mmsi", ">i8"),
        ("time_utc", ">i8"),
        ("lat_deg", ">f8"),
        ("lon_deg", ">f8"),
        ("sog_kn", ">f8"),
        ("cog_deg", ">f8"),
        ("heading_deg", ">f8"),
        ("msg_type", ">i4"),
        ("source", f"S{width}"),
    )
    row = _pg_binary_row(fixed)
    rec = np.zeros(n, row)
    rec["fields"] = len(fixed)
    for name, kind in fixed[:-1]:
        rec[f"len_{name}"] = np.dtype(kind).itemsize
    rec["mmsi"] = cols.mmsi
    rec["time_utc"] = cols.time_ns // 1000 - _PG_EPOCH_US
    for name in ("lat_deg", "lon_deg", *_PG_NULLABLE):
        rec[name] = getattr(cols, name)
    rec["msg_type"] = cols.msg_type
    source_len = np.array([len(s) for s in sources], np.int32)[cols.source_code]
    rec["len_source"] = source_len
    rec["source"] = np.array(sources, dtype=f"S{width}")[cols.source_code]
    keep = np.ones((n, row.itemsize), bool)
    for name in _PG_NULLABLE:
        null = np.isnan(getattr(cols, name))
        rec[f"len_{name}"][null] = -1
        off = row.fields[name][1]  # type: ignore[index]
        keep[null, off : off + 8] = False
    off = row.fields["source"][1]  # type: ignore[index]
    keep[:, off:] = np.arange(width) < source_len[:, None]
    body = rec.view(np.uint8).reshape(n, row.itemsize)[keep]
    return _PG_COPY_HEADER + body.tobytes() + b"\xff\xff"


def _none_if_nan(x: float) -> float | None:
    return None if x != x else float(x)


_IDENTITY_FIELDS = ("name", "callsign", "imo", "ship_type")
_HISTORY_FIELDS = (*_IDENTITY_FIELDS, "length_m", "beam_m")


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _naive_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=None) if t.tzinfo is UTC else t.astimezone(UTC).replace(tzinfo=None)


class LoadedPositions:
    """The positions a load stored, kept in memory in arrival order (the columns ``positions()``
    reads back), for an events pass run in the same process: while they are all the store holds,
    reading them back gives the same arrays and only costs time.

    Kept only while it is certain which rows went in: the store held no position before the load
    (checked before its first chunk), and each chunk stored all its timed reports, or exactly its
    first arrivals of each (mmsi, time, lat, lon) key (the count the database reports equals
    theirs). Anything else (a row refused, a fallback the count cannot vouch for) drops what was
    kept, and the events pass reads the store back."""

    def __init__(self, sqlite: bool) -> None:
        self.parts: list[PositionArrays] = []
        self.rows = 0
        self.valid = True
        self.checked_store = False
        # SQLite stores a REAL -0.0 as 0 (it reads back 0.0); PostgreSQL keeps the sign
        self._unsigned_zero = sqlite

    def add(self, cols: PositionColumns, loaded: int) -> None:
        """A chunk's timed columns as given to :meth:`AisStore.add_columns` and the rows it stored."""
        if not self.valid:
            return
        if loaded != len(cols):
            cols = cols.take(_first_arrivals(cols))
            if loaded != len(cols):
                self.drop()
                return
        zero = 0.0 if self._unsigned_zero else -0.0  # x + 0.0 turns -0.0 into 0.0; x + -0.0 is x
        self.parts.append(
            PositionArrays(
                cols.mmsi,
                (cols.time_ns // 1000 * 1000).view("datetime64[ns]"),  # stored to the microsecond
                *(
                    getattr(cols, n) + zero
                    for n in ("lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg")
                ),
            )
        )
        self.rows += len(cols)

    def drop(self) -> None:
        self.valid = False
        self.parts = []


@dataclass
class AisLoadSummary:
    """What a load did. ``statics`` counts distinct vessels (MMSIs) with static data in the loaded
    files; ``static_vessels_in_store`` the store's total after the load. ``out_of_order`` counts
    positions older than the previous report of the same vessel in arrival order (across chunks
    and files of one load); ``untimed_files`` the files whose positions all lacked a time."""

    positions_loaded: int = 0
    positions_duplicate: int = 0
    positions_untimed: int = 0
    statics: int = 0
    static_vessels_in_store: int = 0
    out_of_order: int = 0
    issues: list[FormatIssue] = field(default_factory=list)
    untimed_files: list[str] = field(default_factory=list)
    static_mmsi: set[int] = field(default_factory=set, repr=False)
    last_time_ns: dict[int, int] = field(default_factory=dict, repr=False)  # per MMSI, carried over
    # set to keep the stored positions for the events pass (see AisStore.loaded_positions)
    kept: LoadedPositions | None = field(default=None, repr=False)

    def as_dict(self, max_issues: int = 200) -> dict[str, object]:
        return {
            "positions_loaded": self.positions_loaded,
            "positions_duplicate": self.positions_duplicate,
            "positions_untimed": self.positions_untimed,
            "statics": self.statics,
            "static_vessels_in_store": self.static_vessels_in_store,
            "cleaning": {"duplicates": self.positions_duplicate, "out_of_order": self.out_of_order},
            "untimed_files": self.untimed_files,
            "issues": len(self.issues),
            "errors": [i.as_dict() for i in self.issues[:max_issues]],
        }


class AisStore:
    """AIS positions and static data in the opened database, next to the catalog."""

    def __init__(self, store: CatalogStore):
        self.store = store
        self.engine = store.engine

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self.engine.dialect.name == "postgresql" else sqlite.insert(table)

    def add_positions(self, positions: Sequence[VesselPosition], conn: Connection) -> tuple[int, int, int]:
        """(loaded, duplicates, untimed) inside the caller's transaction (see :meth:`add_columns`)."""
        return self.add_columns(PositionColumns.from_records(positions, [0] * len(positions)), conn)

    def add_columns(self, cols: PositionColumns, conn: Connection) -> tuple[int, int, int]:
        """(loaded, duplicates, untimed) inside the caller's transaction. Untimed reports cannot go
        on a track and are not stored. Bulk, from the columns: see the module doc."""
        timed = np.flatnonzero(cols.time_ns != NAT_NS)
        n_rows, untimed = len(timed), len(cols) - len(timed)
        if n_rows == 0:
            return 0, 0, untimed
        if untimed:
            cols = cols.take(timed)
        driver = conn.connection.driver_connection
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            loaded = self._sqlite_insert(cols, driver)
        elif dialect == "postgresql":
            loaded = self._pg_copy(cols, driver)
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
            rows = _rows(cols, [_naive(t) for t in cols.times()])
            stmt = self._insert(ais_position).on_conflict_do_nothing().returning(ais_position.c.id)
            loaded = len(conn.execute(stmt, [dict(zip(_COLUMNS, r, strict=True)) for r in rows]).all())
        return loaded, n_rows - loaded, untimed

    def _sqlite_insert(self, cols: PositionColumns, driver: Any) -> int:  # noqa: ANN401 - sqlite3.Connection
        # the unique (time, mmsi, lat, lon) index is probed for every row: a 64 MiB page cache
        # (SQLite's default is 2 MiB) keeps it in memory for loads of millions of positions
        driver.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        before = driver.total_changes
        # NaN (not available) is bound as NULL by SQLite itself
        driver.executemany(_SQLITE_INSERT, _rows(cols, (cols.time_ns // 1000).tolist()))
        return int(driver.total_changes - before)

    def _pg_copy(self, cols: PositionColumns, driver: Any) -> int:  # noqa: ANN401 - psycopg.Connection
        """Rows in by binary COPY. Straight into ``ais_position`` when no stored report of a
        vessel lies within the batch's time span for that vessel (one index range probe:
        nothing stored can then collide on (mmsi, time, lat, lon)) and the batch's own repeats
        are dropped first (the first arrival kept, as ON CONFLICT DO NOTHING keeps it); otherwise,
        or when a concurrent writer got a colliding row in since the probe (the COPY runs under a
        savepoint), through the stage table and ``INSERT ... ON CONFLICT DO NOTHING``. Loading a
        file into a fresh store or one with other days takes the straight way, which the server
        does in about two thirds of the time of the move from the stage."""
        from psycopg.errors import UniqueViolation

        first = _first_arrivals(cols)
        with driver.cursor() as cur:
            if not _pg_overlaps_stored(cur, cols):
                try:
                    # a savepoint inside the caller's transaction
                    with driver.transaction(), cur.copy(_PG_COPY_FINAL) as cp:
                        cp.write(_pg_final_rows(cols.take(first)))
                    return len(first)
                except UniqueViolation:
                    pass  # stored by someone else since the probe: the stage way skips those rows
        return self._pg_stage_copy(cols, driver)

    def _pg_stage_copy(self, cols: PositionColumns, driver: Any) -> int:  # noqa: ANN401 - psycopg.Connection
        n = len(cols)
        rec = np.zeros(n, _PG_COPY_ROW)
        rec["fields"] = 10
        for name in ("n", "mmsi", "time_utc", "lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg"):
            rec[f"len_{name}"] = 8
        rec["len_msg_type"] = rec["len_source_code"] = 4
        rec["n"] = np.arange(n)
        rec["mmsi"] = cols.mmsi
        rec["time_utc"] = cols.time_ns // 1000 - _PG_EPOCH_US
        for name in ("lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg"):
            rec[name] = getattr(cols, name)
        rec["msg_type"] = cols.msg_type
        rec["source_code"] = cols.source_code
        with driver.cursor() as cur:
            cur.execute(_PG_STAGE)
            with cur.copy("COPY kizuna_ais_source (code, source) FROM STDIN") as cp:
                for code, source in enumerate(cols.sources):
                    cp.write_row((code, (source or "")[:200]))
            with cur.copy(
                f"COPY kizuna_ais_stage (n, {', '.join(_COLUMNS[:-1])}, source_code) FROM STDIN (FORMAT BINARY)"
            ) as cp:
                cp.write(_PG_COPY_HEADER + rec.tobytes() + b"\xff\xff")
            cur.execute(_PG_MOVE)
            loaded = int(cur.rowcount)
            cur.execute("TRUNCATE kizuna_ais_stage, kizuna_ais_source")
        return loaded

    def insert_positions(self, positions: Sequence[VesselPosition]) -> tuple[int, int, int]:
        """Store a batch of positions in one transaction: (loaded, duplicates, untimed).

        The entry point for callers that decode on their own (a live feed): positions already
        stored are skipped, untimed ones are not stored.
        """
        with self.engine.begin() as conn:
            return self.add_positions(positions, conn)

    def upsert_static(self, statics: Iterable[VesselStatic], conn: Connection) -> int:
        merged = latest_static(statics)
        if not merged:
            return 0
        existing = {
            r.mmsi: r for r in conn.execute(select(ais_static).where(ais_static.c.mmsi.in_(list(merged))))
        }
        n = 0
        for mmsi, s in merged.items():
            row = {
                "mmsi": mmsi,
                "updated_utc": s.time_utc.astimezone(UTC).replace(tzinfo=None) if s.time_utc else None,
                "name": s.name,
                "callsign": s.callsign,
                "imo": s.imo,
                "ship_type": s.ship_type,
                "length_m": s.length_m,
                "beam_m": s.beam_m,
                "draught_m": s.draught_m,
                "destination": s.destination,
            }
            old = existing.get(mmsi)
            if old is not None:
                row = {k: (v if v is not None else getattr(old, k)) for k, v in row.items()}
                conn.execute(ais_static.update().where(ais_static.c.mmsi == mmsi).values(**row))
            else:
                conn.execute(ais_static.insert().values(**row))
            n += 1
        return n

    def record_static_history(self, statics: Iterable[VesselStatic], conn: Connection) -> int:
        """Keep every distinct (name, callsign, IMO, ship type) an MMSI broadcasts, with the first and
        last time heard and a message count (``ais_static`` keeps only the latest). Reports are taken
        in time order per MMSI; a field a report leaves out (type 24 A carries the name, B the callsign
        and type) is carried from the MMSI's previous report, in this batch or in ``ais_static``.
        Returns the number of identities inserted or updated."""
        by_mmsi: dict[int, list[VesselStatic]] = {}
        for s in statics:
            by_mmsi.setdefault(s.mmsi, []).append(s)
        if not by_mmsi:
            return 0
        prior = {
            r.mmsi: r for r in conn.execute(select(ais_static).where(ais_static.c.mmsi.in_(list(by_mmsi))))
        }
        merged: dict[tuple[int, str], dict[str, object]] = {}
        for mmsi, reps in by_mmsi.items():
            reps.sort(key=lambda r: (r.time_utc is None, r.time_utc.timestamp() if r.time_utc else 0.0))
            old = prior.get(mmsi)
            state: dict[str, object] = (
                {f: getattr(old, f) for f in _HISTORY_FIELDS if getattr(old, f) is not None} if old else {}
            )
            for r in reps:
                for f in _HISTORY_FIELDS:
                    v = getattr(r, f)
                    if isinstance(v, str):
                        v = v.replace("@", " ").strip() or None
                    if v is not None:
                        state[f] = v
                ident = [state.get(f) for f in _IDENTITY_FIELDS]
                if all(v is None for v in ident):
                    continue
                key = "|".join("" if v is None else str(v) for v in ident)[:200]
                t = r.time_utc.astimezone(UTC).replace(tzinfo=None) if r.time_utc else None
                row = merged.get((mmsi, key))
                if row is None:
                    merged[(mmsi, key)] = {
                        "mmsi": mmsi,
                        "identity_key": key,
                        **{f: state.get(f) for f in _HISTORY_FIELDS},
                        "first_utc": t,
                        "last_utc": t,
                        "messages": 1,
                    }
                else:
                    row["first_utc"] = _earliest(row["first_utc"], t)  # type: ignore[arg-type]
                    row["last_utc"] = _latest(row["last_utc"], t)  # type: ignore[arg-type]
                    row["messages"] = int(row["messages"]) + 1  # type: ignore[call-overload]
        h = ais_static_history.c
        pg = self.engine.dialect.name == "postgresql"
        least, greatest = (func.least, func.greatest) if pg else (func.min, func.max)
        stmt = self._insert(ais_static_history)
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[h.mmsi, h.identity_key],
            set_={
                # NULL (an untimed report) never wins over a time
                "first_utc": least(
                    func.coalesce(h.first_utc, ex.first_utc), func.coalesce(ex.first_utc, h.first_utc)
                ),
                "last_utc": greatest(
                    func.coalesce(h.last_utc, ex.last_utc), func.coalesce(ex.last_utc, h.last_utc)
                ),
                "messages": h.messages + ex.messages,
                "length_m": func.coalesce(ex.length_m, h.length_m),
                "beam_m": func.coalesce(ex.beam_m, h.beam_m),
            },
        )
        rows = list(merged.values())
        for k in range(0, len(rows), _BATCH):
            conn.execute(stmt, rows[k : k + _BATCH])
        return len(rows)

    def static_history(self, mmsi: Sequence[int] | None = None) -> list[dict[str, object]]:
        """Every stored identity (times as naive UTC datetimes), by MMSI then first time heard."""
        h = ais_static_history.c
        q = select(ais_static_history)
        if mmsi:
            q = q.where(h.mmsi.in_([int(m) for m in mmsi]))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(h.mmsi, h.first_utc, h.id)).mappings().all()
        return [{k: v for k, v in r.items() if k not in ("id", "identity_key")} for r in rows]

    def position_counts(self) -> dict[int, int]:
        """Stored positions per MMSI."""
        c = ais_position.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.mmsi, func.count()).group_by(c.mmsi)).all()
        return {int(m): int(n) for m, n in rows}

    def load_file(
        self,
        path: Path | str,
        summary: AisLoadSummary | None = None,
        progress: Callable[[int, int], None] | None = None,
        chunk_lines: int = 50_000,
    ) -> AisLoadSummary:
        """Stream a file in chunks; each chunk in one transaction. ``progress(bytes_done, bytes_total)``."""
        from kizuna.formats.ais import iter_ais_chunks

        summary = summary or AisLoadSummary()
        kept = summary.kept
        if kept is not None and not kept.checked_store:
            kept.checked_store = True
            if self.has_positions():
                kept.drop()
        total = Path(path).stat().st_size
        timed = untimed_here = 0
        for part in iter_ais_chunks(path, chunk_lines):
            st = part.statics
            with self.engine.begin() as conn:
                if self.engine.dialect.name == "postgresql":
                    _pg_asynchronous_commit(conn)
                loaded, dup, untimed = self.add_columns(part.positions, conn)
                if st:
                    self.upsert_static(st, conn)
                    self.record_static_history(st, conn)
            if kept is not None and kept.valid:  # after the commit: only rows that are stored
                cols = part.positions
                kept.add(cols.take(np.flatnonzero(cols.time_ns != NAT_NS)) if untimed else cols, loaded)
            summary.static_mmsi.update(s.mmsi for s in st)
            summary.out_of_order += _out_of_order_columns(part.positions, summary.last_time_ns)
            summary.positions_loaded += loaded
            summary.positions_duplicate += dup
            summary.positions_untimed += untimed
            timed += loaded + dup
            untimed_here += untimed
            summary.issues += part.issues
            if progress is not None:
                progress(part.consumed_bytes or total, total)
        if untimed_here and not timed:
            summary.untimed_files.append(str(path))
        # vessels, not per-chunk upserts: a vessel whose static data spans chunks counts once
        summary.statics = len(summary.static_mmsi)
        summary.static_vessels_in_store = self.static_count()
        return summary

    def has_positions(self) -> bool:
        """Whether any position is stored."""
        with self.engine.connect() as conn:
            return bool(conn.execute(select(select(ais_position.c.id).limit(1).exists())).scalar_one())

    def loaded_positions(self, summary: AisLoadSummary) -> PositionArrays:
        """What :meth:`positions` (no filter) returns after a load made with
        ``AisLoadSummary(kept=store.keep_positions())``: the positions kept in memory when they
        are still all the store holds (its row count equals theirs: no other writer added any),
        without reading a row back; else read back from the store."""
        kept = summary.kept
        if kept is not None and kept.valid and self.count() == kept.rows:
            return PositionArrays.concat(kept.parts)
        return self.positions()

    def keep_positions(self) -> LoadedPositions:
        """A fresh :class:`LoadedPositions` for this store's database."""
        return LoadedPositions(sqlite=self.engine.dialect.name == "sqlite")

    def static_count(self) -> int:
        """Vessels (MMSIs) with static data in the store."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ais_static)).scalar_one())

    def positions(
        self,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        start: datetime | None = None,
        stop: datetime | None = None,
        mmsi: Sequence[int] | None = None,
        reference: bool = False,
    ) -> PositionArrays:
        """Stored positions in arrival order (the order they were loaded), so that track cleaning
        can count reports that arrived after a newer one of the same vessel.

        On PostgreSQL the server packs the rows into one bytea value per block read straight into
        numpy (fixed-width rows: not-available values travel as NaN, not NULL), on SQLite the
        cursor fills one structured array; ``reference=True`` fetches them as driver tuples, the
        path the fast ones are tested against."""
        q = self._positions_query(bbox, start, stop, mmsi)
        if self.engine.dialect.name == "postgresql" and not reference:
            return self._pg_positions(q)
        if self.engine.dialect.name == "sqlite" and not reference:
            return self._sqlite_positions(q)
        c = ais_position.c
        with self.engine.connect() as conn:
            # SQLAlchemy rows, times converted by the column's type: the reference the fast paths
            # (which read the stored values themselves) are tested against
            rows = conn.execute(q.order_by(c.id)).all()
        if not rows:
            return PositionArrays.empty()
        cols = list(zip(*rows, strict=True))
        f = lambda v: np.array(v, dtype=float)  # noqa: E731 - numpy turns None (NULL) into nan
        return PositionArrays(
            np.array(cols[0], np.int64),
            np.array(cols[1], dtype="datetime64[ns]"),
            f(cols[2]),
            f(cols[3]),
            f(cols[4]),
            f(cols[5]),
            f(cols[6]),
        )

    @staticmethod
    def _positions_query(
        bbox: tuple[float, float, float, float] | None,
        start: datetime | None,
        stop: datetime | None,
        mmsi: Sequence[int] | None,
    ) -> Select[Any]:
        c = ais_position.c
        q = select(c.mmsi, c.time_utc, c.lat_deg, c.lon_deg, c.sog_kn, c.cog_deg, c.heading_deg)
        if bbox is not None:
            w, s, e, n = bbox
            q = q.where(c.lat_deg >= s, c.lat_deg <= n)
            q = (
                q.where(c.lon_deg >= w, c.lon_deg <= e)
                if w <= e
                else q.where((c.lon_deg >= w) | (c.lon_deg <= e))
            )
        if start is not None:
            q = q.where(c.time_utc >= start.astimezone(UTC).replace(tzinfo=None))
        if stop is not None:
            q = q.where(c.time_utc <= stop.astimezone(UTC).replace(tzinfo=None))
        if mmsi:
            q = q.where(c.mmsi.in_(list(mmsi)))
        return q

    def _sqlite_positions(self, q: Select[Any]) -> PositionArrays:
        # rows straight into one structured array (no list of tuples to transpose): the time as
        # its stored integer microseconds; NULL read as +inf (the literal 9e999 is SQLite's
        # infinity), as the array cannot hold None: no stored speed, course or heading is
        # infinite (readers map anything out of range to "not available", stored as NULL)
        c = ais_position.c
        inf = literal_column("9e999", Float)
        q = q.with_only_columns(
            c.mmsi,
            type_coerce(c.time_utc, BigInteger),  # stored microseconds, as they are
            c.lat_deg,
            c.lon_deg,
            *(func.ifnull(x, inf) for x in (c.sog_kn, c.cog_deg, c.heading_deg)),
        ).order_by(c.id)
        with self.engine.connect() as conn:
            rows: Iterable[tuple[Any, ...]] = conn.execute(q).cursor  # type: ignore[assignment]
            rec = np.fromiter(rows, _SQLITE_POSITION_ROW)
        if len(rec) == 0:
            return PositionArrays.empty()
        nullable = {
            name: np.where(rec[name] == np.inf, np.nan, rec[name])
            for name in ("sog_kn", "cog_deg", "heading_deg")
        }
        return PositionArrays(
            rec["mmsi"],
            (rec["time_utc"] * 1000).view("datetime64[ns]"),
            rec["lat_deg"],
            rec["lon_deg"],
            nullable["sog_kn"],
            nullable["cog_deg"],
            nullable["heading_deg"],
        )

    def _pg_positions(self, q: Select[Any]) -> PositionArrays:
        # each row packed by the server into 56 bytes (its fields' binary send forms, NaN for
        # NULL) and the rows of up to _PG_READ_ROWS ids joined into one bytea value read in place
        # by numpy: one value per block instead of one COPY message (and one Python call) per row
        # (1,000,000 rows: 0.1 s of client CPU instead of 0.8, and less server CPU). Blocks follow
        # the id (keyset), each well under PostgreSQL's 1 GB limit for a value.
        c = ais_position.c
        after = bindparam("after_id", -1, type_=Integer)  # the last id of the previous block
        inner = (
            q.with_only_columns(c.id, literal_column(_PG_ROW_BYTES).label("r"))
            .where(c.id > after)
            .order_by(c.id)
            .limit(_PG_READ_ROWS)
            .subquery()
        )
        block = select(
            func.string_agg(inner.c.r, aggregate_order_by(literal_column("''::bytea"), inner.c.id)),
            func.max(inner.c.id),
            func.count(),
        )
        compiled = block.compile(dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
        sql = str(compiled)
        parts: list[bytes] = []
        last_id = -1
        with self.engine.connect() as conn:
            # every block from one snapshot, as one statement would be: rows another writer
            # commits between blocks are in none of them
            conn.execution_options(isolation_level="REPEATABLE READ")
            driver = conn.connection.driver_connection
            with driver.cursor(binary=True) as cur:  # type: ignore[union-attr]
                while True:
                    cur.execute(sql, {**compiled.params, "after_id": last_id})
                    data, max_id, n = cur.fetchone()
                    if n:
                        parts.append(bytes(data))
                        last_id = int(max_id)
                    if n < _PG_READ_ROWS:
                        break
        return _parse_pg_positions(b"".join(parts))

    def statics(self) -> dict[int, VesselStatic]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ais_static)).all()
        return {
            r.mmsi: VesselStatic(
                r.mmsi,
                r.updated_utc.replace(tzinfo=UTC) if r.updated_utc else None,
                r.name,
                r.callsign,
                r.imo,
                r.ship_type,
                r.length_m,
                r.beam_m,
                r.draught_m,
                r.destination,
            )
            for r in rows
        }

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ais_position)).scalar_one())

    def count_positions(
        self,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        start: datetime | None = None,
        stop: datetime | None = None,
    ) -> int:
        """How many positions :meth:`positions` would return with these filters (a caller bounds its
        work before reading them)."""
        q = self._positions_query(bbox, start, stop, None).subquery()
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(q)).scalar_one())


# SQLite positions as read by _sqlite_positions; times in microseconds since 1970
_SQLITE_POSITION_ROW = np.dtype(
    [
        ("mmsi", np.int64),
        ("time_utc", np.int64),
        ("lat_deg", np.float64),
        ("lon_deg", np.float64),
        ("sog_kn", np.float64),
        ("cog_deg", np.float64),
        ("heading_deg", np.float64),
    ]
)
# the positions query's row as the PostgreSQL server packs it for _pg_positions: each field's
# binary send form (big-endian; a timestamp as microseconds since 2000), NULL sent as NaN
_PG_ROW_BYTES = (
    "int8send(ais_position.mmsi) || timestamp_send(ais_position.time_utc)"
    " || float8send(ais_position.lat_deg) || float8send(ais_position.lon_deg)"
    " || float8send(coalesce(ais_position.sog_kn, 'NaN')) || float8send(coalesce(ais_position.cog_deg, 'NaN'))"
    " || float8send(coalesce(ais_position.heading_deg, 'NaN'))"
)
_PG_POSITION_ROW = np.dtype(
    [
        ("mmsi", ">i8"),
        ("time_utc", ">i8"),
        ("lat_deg", ">f8"),
        ("lon_deg", ">f8"),
        ("sog_kn", ">f8"),
        ("cog_deg", ">f8"),
        ("heading_deg", ">f8"),
    ]
)
_PG_READ_ROWS = 4_000_000  # rows per block: 224 MB


def _parse_pg_positions(data: bytes) -> PositionArrays:
    """Positions from the rows _pg_positions has the server pack (``_PG_POSITION_ROW`` each)."""
    if len(data) % _PG_POSITION_ROW.itemsize:
        raise ValueError("PostgreSQL positions: unexpected row layout")
    rec = np.frombuffer(data, _PG_POSITION_ROW)
    if len(rec) == 0:
        return PositionArrays.empty()
    t_us = rec["time_utc"].astype(np.int64) + _PG_EPOCH_US
    f = lambda name: rec[name].astype(np.float64)  # noqa: E731 - native byte order
    return PositionArrays(
        rec["mmsi"].astype(np.int64),
        (t_us * 1000).view("datetime64[ns]"),
        f("lat_deg"),
        f("lon_deg"),
        f("sog_kn"),
        f("cog_deg"),
        f("heading_deg"),
    )


def _out_of_order_columns(cols: PositionColumns, last: dict[int, int]) -> int:
    """Timed positions older than the previous arrival of the same vessel (``last``, nanoseconds
    per MMSI, carries over between chunks and files): a stable sort by MMSI keeps arrival order
    within each vessel, so each report is compared with the one that arrived before it."""
    timed = cols.time_ns != NAT_NS
    mmsi, t = cols.mmsi[timed], cols.time_ns[timed]
    if len(mmsi) == 0:
        return 0
    order = np.argsort(mmsi, kind="stable")
    m, tt = mmsi[order], t[order]
    first = np.r_[True, m[1:] != m[:-1]]
    prev = np.r_[np.int64(NAT_NS), tt[:-1]]
    starts = np.flatnonzero(first)
    carried = np.array([last.get(v, NAT_NS) for v in m[starts].tolist()], np.int64)
    prev[starts] = carried
    n = int(np.count_nonzero((prev != NAT_NS) & (tt < prev)))
    ends = np.r_[starts[1:], len(m)] - 1
    last.update(zip(m[ends].tolist(), tt[ends].tolist(), strict=True))
    return n


def _from_ns(v: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=v // 1000)


def _naive(t: datetime | None) -> datetime:
    assert t is not None  # only timed rows are stored
    return _naive_utc(t)


def _rows(cols: PositionColumns, times: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
    """Insert rows (in ``_COLUMNS`` order) from the columns, with ``times`` as the driver takes them."""
    sources = np.array([(s or "")[:200] for s in cols.sources], dtype=object)
    return zip(
        cols.mmsi.tolist(),
        times,
        cols.lat_deg.tolist(),
        cols.lon_deg.tolist(),
        cols.sog_kn.tolist(),
        cols.cog_deg.tolist(),
        cols.heading_deg.tolist(),
        cols.msg_type.tolist(),
        sources[cols.source_code].tolist(),
        strict=True,
    )
