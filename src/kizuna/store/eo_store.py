"""Named constellations (designs and catalog selections), stored beside the catalog.

The table is in ``store/schema.py``, created by the store's migrations (SQLite or PostgreSQL).
Members are stored as their mean elements, so a stored design reproduces exactly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, union

from kizuna.model.constellation import Constellation, ConstellationError
from kizuna.model.records import ElementSet
from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import element_set, eo_constellation, space_object

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
        """Store `c` under its name (replacing any). A composed design (notes["parts"]) keeps its parts
        beside its members, so it is rebuilt from them at each analysis."""
        rows = [
            {**{f: getattr(es, f) for f in _FIELDS}, "epoch_utc": es.epoch_utc.isoformat()}
            for es in c.element_sets
        ]
        parts = c.notes.get("parts")
        members: object = {"parts": parts, "members": rows} if parts is not None else rows
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
        doc = json.loads(row.members_json)
        parts = doc["parts"] if isinstance(doc, dict) else None
        sets = tuple(
            ElementSet(**{**m, "epoch_utc": datetime.fromisoformat(m["epoch_utc"])})
            for m in (doc["members"] if isinstance(doc, dict) else doc)
        )
        if not sets:
            raise ConstellationError(f"stored constellation {name!r} has no satellites")
        notes: dict[str, object] = {"saved_utc": row.saved_utc}
        if parts is not None:
            notes["parts"] = parts
        return Constellation(
            name=row.name, element_sets=sets, design=row.design, source=row.source, notes=notes
        )

    def delete(self, name: str) -> bool:
        """Remove the constellation `name`; False if there was none."""
        with self.engine.begin() as conn:
            return conn.execute(delete(eo_constellation).where(eo_constellation.c.name == name)).rowcount > 0

    def sizes(self) -> list[tuple[str, str, str | None, int]]:
        """(name, source, design, satellites) of every stored constellation, by name."""
        t = eo_constellation
        with self.engine.connect() as conn:
            q = select(t.c.name, t.c.source, t.c.design, t.c.size).order_by(t.c.name)
            return [(r[0], r[1], r[2], r[3]) for r in conn.execute(q)]

    def catalog_norad_ids(self, lo: int, hi: int) -> set[int]:
        """Every NORAD id in lo..hi the catalog knows (objects or element sets)."""
        q = union(
            select(space_object.c.norad_id).where(space_object.c.norad_id.between(lo, hi)),
            select(element_set.c.norad_id).where(element_set.c.norad_id.between(lo, hi)),
        )
        with self.engine.connect() as conn:
            return {int(r[0]) for r in conn.execute(q)}

    def names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(eo_constellation.c.name).order_by("name"))]
