"""AIS static-data history: every distinct identity an MMSI broadcast, with first and last time heard.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ais_static_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("mmsi", sa.BigInteger(), nullable=False),
        sa.Column("identity_key", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=True),
        sa.Column("callsign", sa.String(length=16), nullable=True),
        sa.Column("imo", sa.BigInteger(), nullable=True),
        sa.Column("ship_type", sa.Integer(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("beam_m", sa.Float(), nullable=True),
        sa.Column("first_utc", sa.DateTime(), nullable=True),
        sa.Column("last_utc", sa.DateTime(), nullable=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mmsi", "identity_key", name="uq_ais_static_history"),
    )
    op.create_index("ix_ais_static_history_mmsi", "ais_static_history", ["mmsi"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ais_static_history_mmsi", table_name="ais_static_history")
    op.drop_table("ais_static_history")
