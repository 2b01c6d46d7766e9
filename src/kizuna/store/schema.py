"""Tables of the catalog store (SQLAlchemy 2 declarative). Same schema on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class SchemaVersionRow(Base):
    __tablename__ = "kizuna_schema"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class SpaceObjectRow(Base):
    """One row per catalog object: SATCAT facts, and the name/designator last seen."""

    __tablename__ = "space_object"
    norad_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    object_name: Mapped[str | None] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(16), index=True)
    object_type: Mapped[str | None] = mapped_column(String(16), index=True)
    ops_status: Mapped[str | None] = mapped_column(String(4))
    owner: Mapped[str | None] = mapped_column(String(8), index=True)
    launch_date: Mapped[date | None] = mapped_column(Date)
    launch_site: Mapped[str | None] = mapped_column(String(8))
    decay_date: Mapped[date | None] = mapped_column(Date)
    period_min: Mapped[float | None] = mapped_column(Float)
    inclination_deg: Mapped[float | None] = mapped_column(Float)
    apogee_km: Mapped[float | None] = mapped_column(Float)
    perigee_km: Mapped[float | None] = mapped_column(Float)
    rcs_m2: Mapped[float | None] = mapped_column(Float)
    rcs_size: Mapped[str | None] = mapped_column(String(8))
    data_status: Mapped[str | None] = mapped_column(String(8))
    orbit_center: Mapped[str | None] = mapped_column(String(8))
    orbit_type: Mapped[str | None] = mapped_column(String(8))
    satcat_source: Mapped[str | None] = mapped_column(Text)
    # Regime of the newest element set, kept current by the store for fast search.
    regime: Mapped[str | None] = mapped_column(String(4), index=True)
    latest_epoch_utc: Mapped[datetime | None] = mapped_column(DateTime)


class ElementSetRow(Base):
    """Every element set ever ingested, one per (object, epoch): the history maneuver detection reads."""

    __tablename__ = "element_set"
    __table_args__ = (UniqueConstraint("norad_id", "epoch_utc", name="uq_element_set_object_epoch"),)
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    norad_id: Mapped[int] = mapped_column(Integer, index=True)
    epoch_utc: Mapped[datetime] = mapped_column(DateTime, index=True)  # naive UTC, microseconds
    mean_motion_revday: Mapped[float] = mapped_column(Float)
    eccentricity: Mapped[float] = mapped_column(Float)
    inclination_deg: Mapped[float] = mapped_column(Float)
    raan_deg: Mapped[float] = mapped_column(Float)
    arg_perigee_deg: Mapped[float] = mapped_column(Float)
    mean_anomaly_deg: Mapped[float] = mapped_column(Float)
    bstar_per_er: Mapped[float] = mapped_column(Float)
    mean_motion_dot_revday2: Mapped[float] = mapped_column(Float)
    mean_motion_ddot_revday3: Mapped[float] = mapped_column(Float)
    object_name: Mapped[str | None] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(16))
    classification: Mapped[str] = mapped_column(String(1))
    ephemeris_type: Mapped[int] = mapped_column(Integer)
    element_set_no: Mapped[int] = mapped_column(Integer)
    rev_at_epoch: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    ingested_utc: Mapped[datetime] = mapped_column(DateTime)


class IngestRow(Base):
    """One row per file load: what came in, what was kept, what was refused."""

    __tablename__ = "ingest_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str | None] = mapped_column(String(64))
    loaded: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    started_utc: Mapped[datetime] = mapped_column(DateTime)
    finished_utc: Mapped[datetime] = mapped_column(DateTime)
