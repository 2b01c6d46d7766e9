"""Shared products: no separate product_id index; the unique (product_id, version) key serves it.

The unique key's index leads with product_id, so it already answers every lookup by id (a page's
stored versions, the latest version, a product by id) on SQLite and PostgreSQL alike. The
single-column index only cost work on every stored product: one more index entry to insert and log
per row, on the path that writes partners' pages. No row changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # IF EXISTS: a database adopted from before migrations may have been made without it
    op.execute("DROP INDEX IF EXISTS ix_share_product_product_id")


def downgrade() -> None:
    op.create_index("ix_share_product_product_id", "share_product", ["product_id"], unique=False)
