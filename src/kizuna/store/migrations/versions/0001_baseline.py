"""Baseline: every table of the schema as released before migrations existed.

A database made by that release (``create_all`` plus the `kizuna_schema` version row) already has
some or all of these tables, with this exact shape: each is created only when missing, so such a
database is adopted in place, rows kept, and stamped at this revision. Frozen: later schema changes
go in later revisions, never here.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create(
    name: str, elements: list[sa.schema.SchemaItem], indexes: dict[str, list[str]] | None = None
) -> None:
    if sa.inspect(op.get_bind()).has_table(name):
        return  # made by the release before migrations: keep it and its rows
    op.create_table(name, *elements)
    for index, columns in (indexes or {}).items():
        op.create_index(index, name, columns, unique=False)


def _seed(name: str, key: str, rows: list[dict[str, object]]) -> None:
    """Insert the rows whose key is not there yet (the old release seeded some of them itself)."""
    table = sa.table(name, *(sa.column(c) for c in rows[0]))
    bind = op.get_bind()
    have = {r[0] for r in bind.execute(sa.select(table.c[key]))}
    missing = [r for r in rows if r[key] not in have]
    if missing:
        op.bulk_insert(table, missing)


def upgrade() -> None:
    _create(
        "kizuna_schema",
        [
            sa.Column("version", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("version"),
        ],
    )
    _create(
        "space_object",
        [
            sa.Column("norad_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("object_name", sa.String(length=80), nullable=True),
            sa.Column("object_id", sa.String(length=16), nullable=True),
            sa.Column("object_type", sa.String(length=16), nullable=True),
            sa.Column("ops_status", sa.String(length=4), nullable=True),
            sa.Column("owner", sa.String(length=8), nullable=True),
            sa.Column("launch_date", sa.Date(), nullable=True),
            sa.Column("launch_site", sa.String(length=8), nullable=True),
            sa.Column("decay_date", sa.Date(), nullable=True),
            sa.Column("period_min", sa.Float(), nullable=True),
            sa.Column("inclination_deg", sa.Float(), nullable=True),
            sa.Column("apogee_km", sa.Float(), nullable=True),
            sa.Column("perigee_km", sa.Float(), nullable=True),
            sa.Column("rcs_m2", sa.Float(), nullable=True),
            sa.Column("rcs_size", sa.String(length=8), nullable=True),
            sa.Column("data_status", sa.String(length=8), nullable=True),
            sa.Column("orbit_center", sa.String(length=8), nullable=True),
            sa.Column("orbit_type", sa.String(length=8), nullable=True),
            sa.Column("satcat_source", sa.Text(), nullable=True),
            sa.Column("regime", sa.String(length=4), nullable=True),
            sa.Column("latest_epoch_utc", sa.DateTime(), nullable=True),
            sa.PrimaryKeyConstraint("norad_id"),
        ],
        indexes={
            "ix_space_object_object_id": ["object_id"],
            "ix_space_object_object_type": ["object_type"],
            "ix_space_object_owner": ["owner"],
            "ix_space_object_regime": ["regime"],
        },
    )
    _create(
        "element_set",
        [
            sa.Column(
                "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
            ),
            sa.Column("norad_id", sa.Integer(), nullable=False),
            sa.Column("epoch_utc", sa.DateTime(), nullable=False),
            sa.Column("mean_motion_revday", sa.Float(), nullable=False),
            sa.Column("eccentricity", sa.Float(), nullable=False),
            sa.Column("inclination_deg", sa.Float(), nullable=False),
            sa.Column("raan_deg", sa.Float(), nullable=False),
            sa.Column("arg_perigee_deg", sa.Float(), nullable=False),
            sa.Column("mean_anomaly_deg", sa.Float(), nullable=False),
            sa.Column("bstar_per_er", sa.Float(), nullable=False),
            sa.Column("mean_motion_dot_revday2", sa.Float(), nullable=False),
            sa.Column("mean_motion_ddot_revday3", sa.Float(), nullable=False),
            sa.Column("object_name", sa.String(length=80), nullable=True),
            sa.Column("object_id", sa.String(length=16), nullable=True),
            sa.Column("classification", sa.String(length=1), nullable=False),
            sa.Column("ephemeris_type", sa.Integer(), nullable=False),
            sa.Column("element_set_no", sa.Integer(), nullable=False),
            sa.Column("rev_at_epoch", sa.Integer(), nullable=False),
            sa.Column("source", sa.Text(), nullable=True),
            sa.Column("ingested_utc", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("norad_id", "epoch_utc", name="uq_element_set_object_epoch"),
        ],
        indexes={"ix_element_set_epoch_utc": ["epoch_utc"], "ix_element_set_norad_id": ["norad_id"]},
    )
    _create(
        "ingest_log",
        [
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("file", sa.Text(), nullable=False),
            sa.Column("format", sa.String(length=16), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=True),
            sa.Column("loaded", sa.Integer(), nullable=False),
            sa.Column("duplicates", sa.Integer(), nullable=False),
            sa.Column("rejected", sa.Integer(), nullable=False),
            sa.Column("started_utc", sa.DateTime(), nullable=False),
            sa.Column("finished_utc", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
    )
    _create(
        "ais_position",
        [
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("mmsi", sa.BigInteger(), nullable=False),
            sa.Column("time_utc", sa.DateTime(), nullable=False),
            sa.Column("lat_deg", sa.Float(), nullable=False),
            sa.Column("lon_deg", sa.Float(), nullable=False),
            sa.Column("sog_kn", sa.Float(), nullable=True),
            sa.Column("cog_deg", sa.Float(), nullable=True),
            sa.Column("heading_deg", sa.Float(), nullable=True),
            sa.Column("msg_type", sa.Integer(), nullable=True),
            sa.Column("source", sa.String(length=200), nullable=True),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("mmsi", "time_utc", "lat_deg", "lon_deg", name="uq_ais_position"),
        ],
        indexes={"ix_ais_position_mmsi": ["mmsi"], "ix_ais_position_time_utc": ["time_utc"]},
    )
    _create(
        "ais_static",
        [
            sa.Column("mmsi", sa.BigInteger(), nullable=False),
            sa.Column("updated_utc", sa.DateTime(), nullable=True),
            sa.Column("name", sa.String(length=40), nullable=True),
            sa.Column("callsign", sa.String(length=16), nullable=True),
            sa.Column("imo", sa.BigInteger(), nullable=True),
            sa.Column("ship_type", sa.Integer(), nullable=True),
            sa.Column("length_m", sa.Float(), nullable=True),
            sa.Column("beam_m", sa.Float(), nullable=True),
            sa.Column("draught_m", sa.Float(), nullable=True),
            sa.Column("destination", sa.String(length=40), nullable=True),
            sa.PrimaryKeyConstraint("mmsi"),
        ],
    )
    _create(
        "cdm_messages",
        [
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("message_id", sa.String(length=200), nullable=False),
            sa.Column("originator", sa.String(length=100), nullable=True),
            sa.Column("tca_utc", sa.DateTime(), nullable=False),
            sa.Column("object1", sa.String(length=40), nullable=True),
            sa.Column("object2", sa.String(length=40), nullable=True),
            sa.Column("miss_m", sa.Float(), nullable=True),
            sa.Column("originator_pc", sa.Float(), nullable=True),
            sa.Column("source", sa.String(length=500), nullable=True),
            sa.Column("received_utc", sa.DateTime(), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("sha256", name="uq_cdm_sha256"),
        ],
    )
    _create(
        "eo_constellation",
        [
            sa.Column("name", sa.String(length=120), nullable=False),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("design", sa.String(length=120), nullable=True),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("members_json", sa.Text(), nullable=False),
            sa.Column("saved_utc", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        ],
    )
    _create(
        "share_product",
        [
            sa.Column(
                "seq",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=False,
                nullable=False,
            ),
            sa.Column("product_id", sa.String(length=80), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("type", sa.String(length=32), nullable=False),
            sa.Column("created_utc", sa.DateTime(), nullable=False),
            sa.Column("added_utc", sa.DateTime(), nullable=False),
            sa.Column("originator", sa.String(length=16), nullable=False),
            sa.Column("classification", sa.Integer(), nullable=False),
            sa.Column("banner", sa.Text(), nullable=False),
            sa.Column("nations", sa.Text(), nullable=False),
            sa.Column("caveats", sa.Text(), nullable=False),
            sa.Column("objects", sa.Text(), nullable=False),
            sa.Column("source", sa.String(length=32), nullable=False),
            sa.Column("signature", sa.Text(), nullable=False),
            sa.Column("is_current", sa.Boolean(), nullable=False),
            sa.Column("wire", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("seq"),
            sa.UniqueConstraint("product_id", "version", name="uq_share_product_version"),
        ],
        indexes={
            "ix_share_product_created_utc": ["created_utc"],
            "ix_share_product_product_id": ["product_id"],
            "ix_share_product_type": ["type"],
        },
    )
    _create(
        "share_counter",
        [
            sa.Column("name", sa.String(length=32), nullable=False),
            sa.Column("value", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        ],
    )
    _create(
        "share_cursor",
        [
            sa.Column("partner", sa.String(length=32), nullable=False),
            sa.Column("cursor", sa.String(length=200), nullable=False),
            sa.Column("updated_utc", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("partner"),
        ],
    )
    _create(
        "share_audit",
        [
            sa.Column(
                "seq",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                autoincrement=False,
                nullable=False,
            ),
            sa.Column("ts_utc", sa.String(length=32), nullable=False),
            sa.Column("event", sa.String(length=16), nullable=False),
            sa.Column("actor", sa.String(length=64), nullable=False),
            sa.Column("product_id", sa.String(length=80), nullable=True),
            sa.Column("version", sa.Integer(), nullable=True),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.Column("prev_hash", sa.String(length=64), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("seq"),
        ],
        indexes={"ix_share_audit_event": ["event"]},
    )
    _create(
        "share_audit_head",
        [
            sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
    )
    _create(
        "share_audit_witness",
        [
            sa.Column("partner", sa.String(length=32), nullable=False),
            sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.Column("checkpoint", sa.Text(), nullable=False),
            sa.Column("updated_utc", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("partner"),
        ],
    )
    # The version older releases check before opening a database (they refuse a newer one).
    _seed("kizuna_schema", "version", [{"version": 1}])
    # Sequence counters and the audit chain's head at genesis: the sharing layer updates them in place.
    _seed("share_counter", "name", [{"name": "product", "value": 0}, {"name": "audit", "value": 0}])
    _seed("share_audit_head", "id", [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)


_TABLES = (
    "kizuna_schema",
    "space_object",
    "element_set",
    "ingest_log",
    "ais_position",
    "ais_static",
    "cdm_messages",
    "eo_constellation",
    "share_product",
    "share_counter",
    "share_cursor",
    "share_audit",
    "share_audit_head",
    "share_audit_witness",
)
