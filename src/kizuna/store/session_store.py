"""The console's open sessions, in the node's own database (SQLite or PostgreSQL).

Threat model: whoever reads a copy of the database (a backup, a replica, a stolen disk) must not be
able to use a session from it. A row therefore holds only the SHA-256 of the session id, never the id,
and nothing else secret: the session's CSRF token is derived from the id by the service and is not
stored either. The id is 256 random bits, so its hash cannot be inverted by search.

Invariants the service relies on (:mod:`kizuna.service.sessions`): a session exists exactly while its
row does; logout deletes the row, so every serving process of the node sees the logout at its next
request; the expiry times are checked against the row on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, or_, select, update

from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import console_session


@dataclass(frozen=True)
class SessionRow:
    user_name: str
    created_s: float  # epoch seconds
    used_s: float


class SessionTable:
    """Rows of ``console_session`` keyed by the hex SHA-256 of a session id."""

    def __init__(self, store: CatalogStore):
        self.store = store
        self.engine = store.engine

    def add(self, id_sha256: str, user_name: str, now_s: float, *, max_rows: int) -> None:
        """Store a new session, first dropping the oldest sessions beyond `max_rows` - 1 (bounded)."""
        c = console_session.c
        with self.engine.begin() as conn:
            count = int(conn.execute(select(func.count()).select_from(console_session)).scalar_one())
            excess = count - max_rows + 1
            if excess > 0:
                oldest = select(c.id_sha256).order_by(c.created_s).limit(excess).scalar_subquery()
                conn.execute(delete(console_session).where(c.id_sha256.in_(oldest)))
            conn.execute(
                insert(console_session).values(
                    id_sha256=id_sha256, user_name=user_name, created_s=now_s, used_s=now_s
                )
            )

    def get(self, id_sha256: str) -> SessionRow | None:
        c = console_session.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(c.user_name, c.created_s, c.used_s).where(c.id_sha256 == id_sha256)
            ).first()
        return (
            None if row is None else SessionRow(str(row.user_name), float(row.created_s), float(row.used_s))
        )

    def touch(self, id_sha256: str, used_s: float) -> None:
        """Move the session's last use forward to `used_s` (never back: two processes may race)."""
        c = console_session.c
        with self.engine.begin() as conn:
            conn.execute(
                update(console_session)
                .where(c.id_sha256 == id_sha256, c.used_s < used_s)
                .values(used_s=used_s)
            )

    def remove(self, id_sha256: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(delete(console_session).where(console_session.c.id_sha256 == id_sha256))
        return bool(result.rowcount)

    def remove_expired(self, now_s: float, idle_s: float, absolute_s: float) -> int:
        """Delete every session past its idle or absolute lifetime; how many."""
        c = console_session.c
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(console_session).where(
                    or_(c.created_s < now_s - absolute_s, c.used_s < now_s - idle_s)
                )
            )
        return int(result.rowcount or 0)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(console_session)).scalar_one())
