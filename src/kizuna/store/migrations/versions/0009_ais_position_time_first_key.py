"""AIS positions: the unique (mmsi, time, lat, lon) key indexed time first; no separate time index.

A feed arrives nearly in time order, so with the time leading, a bulk load appends to the unique
index's last pages; with the MMSI leading, each row went to one of as many places as there are
vessels (on SQLite that index was about 4 of the 6 s of CPU a million-row load spent). The same
index answers time windows, so the single-column time index goes. The set of keys is the same:
no stored row changes or goes (SQLite rebuilds the table, as it cannot drop a table constraint;
every row is copied with its id, the arrival order).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME_FIRST = ["time_utc", "mmsi", "lat_deg", "lon_deg"]
_MMSI_FIRST = ["mmsi", "time_utc", "lat_deg", "lon_deg"]


def upgrade() -> None:
    # IF EXISTS: a database adopted from before migrations may have been made without it
    op.execute("DROP INDEX IF EXISTS ix_ais_position_time_utc")
    inspector = sa.inspect(op.get_bind())
    if any(u["name"] == "uq_ais_position" for u in inspector.get_unique_constraints("ais_position")):
        with op.batch_alter_table("ais_position") as batch:
            batch.drop_constraint("uq_ais_position", type_="unique")
    # a database adopted from before migrations, made by create_all with this schema, has it already
    if not any(i["name"] == "uq_ais_position" for i in inspector.get_indexes("ais_position")):
        op.create_index("uq_ais_position", "ais_position", _TIME_FIRST, unique=True)


def downgrade() -> None:
    op.drop_index("uq_ais_position", table_name="ais_position")
    with op.batch_alter_table("ais_position") as batch:
        batch.create_unique_constraint("uq_ais_position", _MMSI_FIRST)
    op.create_index("ix_ais_position_time_utc", "ais_position", ["time_utc"], unique=False)
