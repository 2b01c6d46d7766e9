"""AIS positions: drop the single-column MMSI index.

The unique (mmsi, time_utc, lat_deg, lon_deg) index starts with the MMSI, so it answers every
lookup by vessel; the second index only cost a B-tree update per stored report (about a fifth of
the CPU of a bulk load on SQLite).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF EXISTS: a database adopted from before migrations may have been made without it
    op.execute("DROP INDEX IF EXISTS ix_ais_position_mmsi")


def downgrade() -> None:
    op.create_index("ix_ais_position_mmsi", "ais_position", ["mmsi"], unique=False)
