"""Named constellations (designs and catalog selections), stored beside the catalog.

The table is in ``store/schema.py``, created by the store's migrations (SQLite or PostgreSQL).
Members are stored as their mean elements, so a stored design reproduces exactly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select

from kizuna.model.constellation import Constellation, ConstellationError
from kizuna.model.records import ElementSet
from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import eo_constellation

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
    """Named constellations in the opened database."""

    def __init__(self, store: CatalogStore):
        self.store = store
        self.engine = store.engine

    def save(self, c: Constellation) -> None:
        members = [
            {**{f: getattr(es, f) for f in _FIELDS}, "epoch_utc": es.epoch_utc.isoformat()}
            for es in c.element_sets
        ]
        with self.engine.begin() as conn:
            conn.execute(delete(eo_constellation).where(eo_constellation.c.name == c.name))
            conn.execute(
                insert(eo_constellation).values(
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
            row = conn.execute(select(eo_constellation).where(eo_constellation.c.name == name)).first()
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
            return [r[0] for r in conn.execute(select(eo_constellation.c.name).order_by("name"))]
