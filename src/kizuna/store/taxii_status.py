"""TAXII 2.1 status resources: what an add-objects request did, kept so its caller can read it
again at ``<api-root>/status/<id>/``.

A status is read back only by the owner it was stored under, so a status id learned by someone else
opens nothing. Each owner keeps at most :data:`KEEP_PER_OWNER` statuses, the newest: owners are the
node's configured users, so the table stays bounded however many requests are made.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select

from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import taxii_status

# A client polls a status shortly after its request (taxii2-client waits 60 s by default); a thousand
# requests later, that status has served its purpose.
KEEP_PER_OWNER = 1000


class TaxiiStatusStore:
    """Status documents in the opened database (SQLite or PostgreSQL), bounded per owner."""

    def __init__(self, store: CatalogStore, keep_per_owner: int = KEEP_PER_OWNER):
        if keep_per_owner < 1:
            raise ValueError(f"keep_per_owner must be at least 1, not {keep_per_owner}")
        self.store = store
        self.engine = store.engine
        self.keep_per_owner = keep_per_owner

    def save(self, status_id: str, owner: str, document: str, request_utc: datetime | None = None) -> None:
        """Store one status document under `owner`, dropping that owner's oldest beyond the bound."""
        t = taxii_status.c
        when = (request_utc or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            conn.execute(
                taxii_status.insert().values(
                    status_id=status_id, owner=owner, request_utc=when, document=document
                )
            )
            kept = (
                select(t.seq)
                .where(t.owner == owner)
                .order_by(t.seq.desc())
                .limit(self.keep_per_owner)
                .scalar_subquery()
            )
            conn.execute(delete(taxii_status).where(t.owner == owner, t.seq.not_in(kept)))

    def get(self, status_id: str, owner: str) -> str | None:
        """The status document `status_id` when `owner` stored it; None otherwise (whether it does not
        exist or belongs to someone else)."""
        t = taxii_status.c
        with self.engine.connect() as conn:
            doc = conn.execute(select(t.document).where(t.status_id == status_id, t.owner == owner)).scalar()
        return None if doc is None else str(doc)

    def count(self, owner: str) -> int:
        """How many status documents `owner` has stored."""
        with self.engine.connect() as conn:
            q = select(func.count()).select_from(taxii_status).where(taxii_status.c.owner == owner)
            return int(conn.execute(q).scalar() or 0)
