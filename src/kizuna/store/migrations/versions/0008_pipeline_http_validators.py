"""The live pipeline's HTTP validators (ETag, Last-Modified) per source URL, so a restarted node's first
fetch of an unchanged source is conditional (a 304 and no body) instead of a full download.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipeline_http_validator",
        sa.Column("url_sha256", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("updated_utc", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("url_sha256"),
    )


def downgrade() -> None:
    op.drop_table("pipeline_http_validator")
