"""Received CDMs, kept verbatim with their key facts, so they can be listed and re-assessed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from kizuna.formats.cdm import Cdm, read_cdm
from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import cdm_messages


@dataclass(frozen=True)
class StoredCdm:
    id: int
    message_id: str
    tca_utc: datetime
    source: str | None
    cdm: Cdm


class CdmStore:
    """Received CDMs in the opened database, next to the catalog (SQLite or PostgreSQL)."""

    def __init__(self, store: CatalogStore):
        self.store = store
        self.engine = store.engine

    def add(self, cdm: Cdm, text: str, source: str | None = None) -> int:
        """Store one received CDM (idempotent on its bytes); returns its row id."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self.engine.begin() as conn:
            row = conn.execute(select(cdm_messages.c.id).where(cdm_messages.c.sha256 == digest)).first()
            if row:
                return int(row[0])
            res = conn.execute(
                cdm_messages.insert().values(
                    sha256=digest,
                    message_id=cdm.message_id,
                    originator=str(cdm.header.get("ORIGINATOR", "")),
                    tca_utc=cdm.tca_utc.replace(tzinfo=None),
                    object1=cdm.objects[0].designator,
                    object2=cdm.objects[1].designator,
                    miss_m=cdm.miss_km * 1000,
                    originator_pc=cdm.collision_probability,
                    source=source,
                    received_utc=datetime.now(UTC).replace(tzinfo=None),
                    text=text,
                )
            )
            key = res.inserted_primary_key
            assert key is not None  # a single-row INSERT always reports its primary key
            return int(key[0])

    def list(self, norad: str | None = None) -> list[StoredCdm]:
        q = select(cdm_messages).order_by(cdm_messages.c.tca_utc)
        with self.engine.connect() as conn:
            rows = list(conn.execute(q).mappings())
        out = [
            StoredCdm(
                r["id"],
                r["message_id"],
                r["tca_utc"].replace(tzinfo=UTC),
                r["source"],
                read_cdm(r["text"], r["source"] or r["message_id"]),
            )
            for r in rows
        ]
        if norad is not None:
            out = [s for s in out if norad.lstrip("0") in (o.designator.lstrip("0") for o in s.cdm.objects)]
        return out
