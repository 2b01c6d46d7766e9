"""The live pipeline's job ledger: one row per arrival (by content hash) and one per finished step.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pipeline_job",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queued_utc", sa.DateTime(), nullable=False),
        sa.Column("started_utc", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_utc", sa.DateTime(), nullable=True),
        sa.Column("finished_utc", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("job_id", name="uq_pipeline_job_id"),
    )
    op.create_index("ix_pipeline_job_state", "pipeline_job", ["state"], unique=False)
    op.create_table(
        "pipeline_step",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=80), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("started_utc", sa.DateTime(), nullable=False),
        sa.Column("finished_utc", sa.DateTime(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("job_id", "step", name="uq_pipeline_step"),
    )
    op.create_index("ix_pipeline_step_job_id", "pipeline_step", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pipeline_step_job_id", table_name="pipeline_step")
    op.drop_table("pipeline_step")
    op.drop_index("ix_pipeline_job_state", table_name="pipeline_job")
    op.drop_table("pipeline_job")
