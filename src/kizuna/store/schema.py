"""Every table of a Kizuna database, on one MetaData (SQLAlchemy Core). Same schema on SQLite and PostgreSQL.

The store modules (catalog, AIS, CDM, EO, sharing) query these tables; the Alembic migrations under
``store/migrations`` create and change them, and a test checks that the migrated schema equals this
metadata. A schema change therefore means: edit the table here and add a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

# Written into `kizuna_schema` for releases before Alembic: they refuse a database whose version is
# above theirs. Bump it (in a migration) only when a change would break those releases.
SCHEMA_VERSION = 1

metadata = MetaData()

# 64-bit sequence numbers, but INTEGER on SQLite where only INTEGER PRIMARY KEY is the rowid.
_Seq = BigInteger().with_variant(Integer, "sqlite")

_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


class _SqliteDatetimeInteger(UserDefinedType[int]):
    """A DATETIME column (the DDL of SQLAlchemy's DateTime) whose values pass as they are."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:  # noqa: ANN401
        return "DATETIME"


class UtcMicroseconds(TypeDecorator[datetime]):
    """A naive UTC datetime, as DateTime, except that SQLite stores it as integer microseconds since
    1970 instead of 26 characters of text. Why: the unique (mmsi, time, lat, lon) index of AIS
    positions compares these on every insert of a bulk load (about a quarter of its CPU went to
    text), and `ais events` reads them back in bulk (integers need no parsing). The column keeps
    the DATETIME declaration (numeric affinity) so the schema is unchanged; PostgreSQL keeps its
    timestamp, which is an integer already. Migration 0007 converts the stored text."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SqliteDatetimeInteger()
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:  # noqa: ANN401
        if value is None or dialect.name != "sqlite":
            return value
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return (value - _EPOCH) // _US

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ANN401
        if value is None or dialect.name != "sqlite":
            return value
        return _EPOCH + int(value) * _US


# ---------------------------------------------------------------- catalog
kizuna_schema = Table(
    "kizuna_schema",
    metadata,
    Column("version", Integer, primary_key=True),
)

# One row per catalog object: SATCAT facts, and the name/designator last seen.
space_object = Table(
    "space_object",
    metadata,
    Column("norad_id", Integer, primary_key=True, autoincrement=False),
    Column("object_name", String(80)),
    Column("object_id", String(16), index=True),
    Column("object_type", String(16), index=True),
    Column("ops_status", String(4)),
    Column("owner", String(8), index=True),
    Column("launch_date", Date),
    Column("launch_site", String(8)),
    Column("decay_date", Date),
    Column("period_min", Float),
    Column("inclination_deg", Float),
    Column("apogee_km", Float),
    Column("perigee_km", Float),
    Column("rcs_m2", Float),
    Column("rcs_size", String(8)),
    Column("data_status", String(8)),
    Column("orbit_center", String(8)),
    Column("orbit_type", String(8)),
    Column("satcat_source", Text),
    # Regime of the newest element set, kept current by the store for fast search.
    Column("regime", String(4), index=True),
    Column("latest_epoch_utc", DateTime),
)

# Every element set ever ingested, one per (object, epoch): the history maneuver detection reads.
element_set = Table(
    "element_set",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),
    Column("norad_id", Integer, nullable=False, index=True),
    Column("epoch_utc", DateTime, nullable=False, index=True),  # naive UTC, microseconds
    Column("mean_motion_revday", Float, nullable=False),
    Column("eccentricity", Float, nullable=False),
    Column("inclination_deg", Float, nullable=False),
    Column("raan_deg", Float, nullable=False),
    Column("arg_perigee_deg", Float, nullable=False),
    Column("mean_anomaly_deg", Float, nullable=False),
    Column("bstar_per_er", Float, nullable=False),
    Column("mean_motion_dot_revday2", Float, nullable=False),
    Column("mean_motion_ddot_revday3", Float, nullable=False),
    Column("object_name", String(80)),
    Column("object_id", String(16)),
    Column("classification", String(1), nullable=False),
    Column("ephemeris_type", Integer, nullable=False),
    Column("element_set_no", Integer, nullable=False),
    Column("rev_at_epoch", Integer, nullable=False),
    Column("source", Text),
    Column("ingested_utc", DateTime, nullable=False),
    UniqueConstraint("norad_id", "epoch_utc", name="uq_element_set_object_epoch"),
)

# One row per file load: what came in, what was kept, what was refused.
ingest_log = Table(
    "ingest_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file", Text, nullable=False),
    Column("format", String(16), nullable=False),
    Column("sha256", String(64)),
    Column("loaded", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("started_utc", DateTime, nullable=False),
    Column("finished_utc", DateTime, nullable=False),
)

# ---------------------------------------------------------------- AIS
# Positions are unique on (mmsi, time, lat, lon) so re-loading a file adds nothing. The unique
# index leads with the time (migration 0009): a feed arrives nearly in time order, so a bulk load
# appends to the index's last pages instead of inserting at one place per vessel (on SQLite 5.6 ->
# 2.1 s of CPU per million rows), and the same index answers time windows (no time index of its
# own). A lookup by vessel alone scans the table (about 50 ms per million positions on SQLite).
ais_position = Table(
    "ais_position",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mmsi", BigInteger, nullable=False),
    Column("time_utc", UtcMicroseconds, nullable=False),
    Column("lat_deg", Float, nullable=False),
    Column("lon_deg", Float, nullable=False),
    Column("sog_kn", Float),
    Column("cog_deg", Float),
    Column("heading_deg", Float),
    Column("msg_type", Integer),
    Column("source", String(200)),
    Index("uq_ais_position", "time_utc", "mmsi", "lat_deg", "lon_deg", unique=True),
)

ais_static = Table(
    "ais_static",
    metadata,
    Column("mmsi", BigInteger, primary_key=True),
    Column("updated_utc", DateTime),
    Column("name", String(40)),
    Column("callsign", String(16)),
    Column("imo", BigInteger),
    Column("ship_type", Integer),
    Column("length_m", Float),
    Column("beam_m", Float),
    Column("draught_m", Float),
    Column("destination", String(40)),
)

# Every distinct identity (name, callsign, IMO, ship type) an MMSI has broadcast, with when it was
# first and last heard: ais_static keeps the latest, this keeps them all (re-used or shared MMSIs,
# name and flag hopping). identity_key is those four fields joined, unique per MMSI.
ais_static_history = Table(
    "ais_static_history",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),
    Column("mmsi", BigInteger, nullable=False, index=True),
    Column("identity_key", String(200), nullable=False),
    Column("name", String(40)),
    Column("callsign", String(16)),
    Column("imo", BigInteger),
    Column("ship_type", Integer),
    Column("length_m", Float),
    Column("beam_m", Float),
    Column("first_utc", DateTime),
    Column("last_utc", DateTime),
    Column("messages", Integer, nullable=False),
    UniqueConstraint("mmsi", "identity_key", name="uq_ais_static_history"),
)

# ---------------------------------------------------------------- received CDMs (kept verbatim)
cdm_messages = Table(
    "cdm_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("originator", String(100)),
    Column("tca_utc", DateTime, nullable=False),
    Column("object1", String(40)),
    Column("object2", String(40)),
    Column("miss_m", Float),
    Column("originator_pc", Float),
    Column("source", String(500)),
    Column("received_utc", DateTime, nullable=False),
    Column("text", Text, nullable=False),
    UniqueConstraint("sha256", name="uq_cdm_sha256"),
)

# ---------------------------------------------------------------- EO constellations
# Members are stored as their mean elements, so a stored design reproduces exactly.
eo_constellation = Table(
    "eo_constellation",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("design", String(120)),
    Column("size", Integer, nullable=False),
    Column("members_json", Text, nullable=False),
    Column("saved_utc", DateTime, nullable=False),
)

# ---------------------------------------------------------------- sharing: products, cursors, audit
share_product = Table(
    "share_product",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=False),
    Column("product_id", String(80), nullable=False),  # looked up by the unique key below, id first
    Column("version", Integer, nullable=False),
    Column("type", String(32), nullable=False, index=True),
    Column("created_utc", DateTime, nullable=False, index=True),
    Column("added_utc", DateTime, nullable=False),
    Column("originator", String(16), nullable=False),
    Column("classification", Integer, nullable=False),
    Column("banner", Text, nullable=False),
    # Delimited lists so policy filters run in SQL on both dialects: ",JPN,USA," ("*" = everyone).
    Column("nations", Text, nullable=False),
    Column("caveats", Text, nullable=False),
    Column("objects", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("signature", Text, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("wire", Text, nullable=False),
    UniqueConstraint("product_id", "version", name="uq_share_product_version"),
)
# Sequence counters ("product", "audit"), seeded by the baseline migration.
share_counter = Table(
    "share_counter",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", _Seq, nullable=False),
)
share_cursor = Table(
    "share_cursor",
    metadata,
    Column("partner", String(32), primary_key=True),
    Column("cursor", String(200), nullable=False),
    Column("updated_utc", DateTime, nullable=False),
)
share_audit = Table(
    "share_audit",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=False),
    Column("ts_utc", String(32), nullable=False),
    Column("event", String(16), nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("product_id", String(80)),
    Column("version", Integer),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
# One row (id 1): the newest audit entry, seeded at the genesis hash by the baseline migration.
share_audit_head = Table(
    "share_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", _Seq, nullable=False),
    Column("hash", String(64), nullable=False),
)
# The latest audit checkpoint each partner signed and this node checked (federation.witness_partner).
share_audit_witness = Table(
    "share_audit_witness",
    metadata,
    Column("partner", String(32), primary_key=True),
    Column("seq", _Seq, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("checkpoint", Text, nullable=False),  # the signed document as received
    Column("updated_utc", DateTime, nullable=False),
)

GENESIS_HASH = "0" * 64

# ---------------------------------------------------------------- TAXII 2.1 status resources
# One row per add-objects request (TAXII 2.1 §4.3): the status document as answered, readable again by
# the caller who made the request. Bounded per caller by the store (TaxiiStatusStore.keep_per_owner).
taxii_status = Table(
    "taxii_status",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("status_id", String(36), nullable=False),
    Column("owner", String(80), nullable=False, index=True),  # "user:<name>": the caller who asked
    Column("request_utc", DateTime, nullable=False),
    Column("document", Text, nullable=False),
    UniqueConstraint("status_id", name="uq_taxii_status_id"),
)

# ---------------------------------------------------------------- live pipeline (ops.pipeline)
# One row per arrival, keyed by (kind, sha256 of the file's bytes): the same content seen again is the
# same job, so a re-seen or re-copied file is a no-op. Bounded by JobLedger.keep_done.
pipeline_job = Table(
    "pipeline_job",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("job_id", String(80), nullable=False),  # "<kind>-<first 32 hex of sha256>"
    Column("kind", String(20), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("state", String(12), nullable=False, index=True),  # queued, running, done, failed
    Column("attempts", Integer, nullable=False),
    Column("queued_utc", DateTime, nullable=False),
    Column("started_utc", DateTime),
    Column("heartbeat_utc", DateTime),  # the runner's last sign of life on this job (stale: it died)
    Column("finished_utc", DateTime),
    Column("error", Text),
    UniqueConstraint("job_id", name="uq_pipeline_job_id"),
)

# One row per finished step of a job, written in the transaction that stores the step's products, so
# a step is either done with its products or not done without them.
pipeline_step = Table(
    "pipeline_step",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("job_id", String(80), nullable=False, index=True),
    Column("step", String(40), nullable=False),
    Column("started_utc", DateTime, nullable=False),
    Column("finished_utc", DateTime, nullable=False),
    Column("counts", Text, nullable=False),  # JSON object of counts
    Column("state", String(12), nullable=False),  # done, failed (the last failure; replaced when done)
    Column("error", Text),
    UniqueConstraint("job_id", "step", name="uq_pipeline_step"),
)

# The last validators (ETag, Last-Modified) of each polled HTTP source, keyed by the SHA-256 of its URL
# (a URL may be longer than an index allows): a restarted node asks conditionally from its first fetch.
pipeline_http_validator = Table(
    "pipeline_http_validator",
    metadata,
    Column("url_sha256", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("updated_utc", DateTime, nullable=False),
)

# ---------------------------------------------------------------- console sessions (service.sessions)
# One row per open session, keyed by the SHA-256 of its id: the id itself (the cookie) is never stored,
# so a copy of the database opens no session. Times are epoch seconds of the serving clock.
console_session = Table(
    "console_session",
    metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("user_name", String(200), nullable=False),
    Column("created_s", Float, nullable=False, index=True),
    Column("used_s", Float, nullable=False),
)
