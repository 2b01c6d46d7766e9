"""Named constellations (designs and catalog selections), stored beside the catalog.

Own tables on their own MetaData, created with create_all on the catalog's engine (SQLite or
PostgreSQL). Members are stored as their mean elements, so a stored design reproduces exactly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, delete, insert, select

from kizuna.model.constellation import Constellation, ConstellationError
from kizuna.model.records import ElementSet
from kizuna.store.catalog import CatalogStore

metadata = MetaData()
constellation_table = Table(
    "eo_constellation",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("design", String(120)),
    Column("size", Integer, nullable=False),
    Column("members_json", Text, nullable=False),
    Column("saved_utc", DateTime, nullable=False),
)

_FIELDS = (
    "norad_id",
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
)


class ConstellationStore:
    def __init__(self, store: CatalogStore):
        self.engine = store.engine
        metadata.create_all(self.engine)

    def save(self, c: Constellation) -> None:
        members = [
            {**{f: getattr(es, f) for f in _FIELDS}, "epoch_utc": es.epoch_utc.isoformat()}
            for es in c.element_sets
        ]
        with self.engine.begin() as conn:
            conn.execute(delete(constellation_table).where(constellation_table.c.name == c.name))
            conn.execute(
                insert(constellation_table).values(
                    name=c.name,
                    source=c.source,
                    design=c.design,
                    size=len(c),
                    members_json=json.dumps(members),
                    saved_utc=datetime.now(UTC).replace(tzinfo=None),
                )
            )

    def load(self, name: str) -> Constellation | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(constellation_table).where(constellation_table.c.name == name)).first()
        if row is None:
            return None
        sets = tuple(
            ElementSet(**{**m, "epoch_utc": datetime.fromisoformat(m["epoch_utc"])})
            for m in json.loads(row.members_json)
        )
        if not sets:
            raise ConstellationError(f"stored constellation {name!r} has no satellites")
        return Constellation(name=row.name, element_sets=sets, design=row.design, source=row.source)

    def names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(constellation_table.c.name).order_by("name"))]
