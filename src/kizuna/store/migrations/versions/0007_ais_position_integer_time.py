"""AIS positions on SQLite: times as integer microseconds since 1970 instead of text.

The column keeps its DATETIME declaration (numeric affinity: SQLite keeps integers as integers);
only the stored values change, from SQLAlchemy's 26-character text ``YYYY-MM-DD HH:MM:SS.ffffff``
to an integer (``schema.UtcMicroseconds``). The unique (mmsi, time, lat, lon) index then compares
integers on every insert of a bulk load and `ais events` reads them back without parsing text.
PostgreSQL stores a timestamp (an integer already): nothing to do there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # seconds from strftime('%s') on the first 19 characters, microseconds from the 6 after the
    # '.' (text written without a fraction reads as .000000): exact, no floating-point Julian day
    op.execute(
        "UPDATE ais_position SET time_utc ="
        " CAST(strftime('%s', substr(time_utc, 1, 19)) AS INTEGER) * 1000000"
        " + CAST(substr(time_utc || '.000000', 21, 6) AS INTEGER)"
        " WHERE typeof(time_utc) = 'text'"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # floor division by hand: SQLite's / and % truncate toward zero (times before 1970)
    frac = "((time_utc % 1000000) + 1000000) % 1000000"
    op.execute(
        "UPDATE ais_position SET time_utc ="
        f" strftime('%Y-%m-%d %H:%M:%S', (time_utc - {frac}) / 1000000, 'unixepoch')"
        f" || printf('.%06d', {frac})"
        " WHERE typeof(time_utc) = 'integer'"
    )
