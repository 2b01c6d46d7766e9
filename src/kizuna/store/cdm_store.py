"""Received CDMs, kept verbatim with their key facts, so they can be listed and re-assessed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

from kizuna.formats.cdm import Cdm, read_cdm

metadata = MetaData()
cdm_messages = Table(
    "cdm_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("originator", String(100)),
    Column("tca_utc", DateTime, nullable=False),
    Column("object1", String(40)),
    Column("object2", String(40)),
    Column("miss_m", Float),
    Column("originator_pc", Float),
    Column("source", String(500)),
    Column("received_utc", DateTime, nullable=False),
    Column("text", Text, nullable=False),
    UniqueConstraint("sha256", name="uq_cdm_sha256"),
)


@dataclass(frozen=True)
class StoredCdm:
    id: int
    message_id: str
    tca_utc: datetime
    source: str | None
    cdm: Cdm


class CdmStore:
    """CDM table next to the catalog (same engine: SQLite or PostgreSQL)."""

    def __init__(self, engine):  # type: ignore[no-untyped-def]
        self.engine = engine
        metadata.create_all(engine)

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
            return int(res.inserted_primary_key[0])

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
