"""Typed records for the space-object catalog.

`ElementSet` is one SGP4 mean-element set (a TLE or an OMM with
MEAN_ELEMENT_THEORY = SGP4). Field values are kept as the source gave them
(angles in degrees, mean motion in rev/day, the TLE's ndot/2 and nddot/6), so
that writing a record back reproduces the source exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from kizuna.model.constants import EARTH_RADIUS_WGS72_KM, MU_WGS72_KM3_S2, SECONDS_PER_DAY

__all__ = [
    "EARTH_RADIUS_WGS72_KM",
    "MU_WGS72_KM3_S2",
    "SECONDS_PER_DAY",
    "ElementSet",
    "SpaceObject",
    "object_regime",
]


@dataclass(frozen=True, slots=True)
class ElementSet:
    norad_id: int
    epoch_utc: datetime
    mean_motion_revday: float
    eccentricity: float
    inclination_deg: float
    raan_deg: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    bstar_per_er: float = 0.0
    # As in the TLE and CelesTrak OMM: first derivative / 2 [rev/day^2] and second / 6 [rev/day^3].
    mean_motion_dot_revday2: float = 0.0
    mean_motion_ddot_revday3: float = 0.0
    object_name: str | None = None
    object_id: str | None = None  # COSPAR international designator, "1998-067A"
    classification: str = "U"
    ephemeris_type: int = 0
    element_set_no: int = 999
    rev_at_epoch: int = 0
    # Where the record came from, for error reports and audit; not part of identity.
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.epoch_utc.tzinfo is None:
            raise ValueError("epoch_utc must be timezone-aware UTC")
        if self.norad_id < 0 or self.norad_id > 339999:
            raise ValueError(f"norad_id {self.norad_id} outside 0..339999 (alpha-5 range)")

    def with_source(self, source: str | None) -> ElementSet:
        return replace(self, source=source)

    # --- derived quantities (pure, cheap) ---------------------------------
    @property
    def period_min(self) -> float:
        return 1440.0 / self.mean_motion_revday if self.mean_motion_revday > 0 else math.inf

    @property
    def semi_major_axis_km(self) -> float:
        n_rad_s = self.mean_motion_revday * 2.0 * math.pi / SECONDS_PER_DAY
        if n_rad_s <= 0:
            return math.inf
        return (MU_WGS72_KM3_S2 / n_rad_s**2) ** (1.0 / 3.0)

    @property
    def apogee_alt_km(self) -> float:
        return self.semi_major_axis_km * (1.0 + self.eccentricity) - EARTH_RADIUS_WGS72_KM

    @property
    def perigee_alt_km(self) -> float:
        return self.semi_major_axis_km * (1.0 - self.eccentricity) - EARTH_RADIUS_WGS72_KM

    @property
    def regime(self) -> str:
        return object_regime(
            self.mean_motion_revday, self.eccentricity, self.perigee_alt_km, self.apogee_alt_km
        )


def object_regime(
    mean_motion_revday: float, eccentricity: float, perigee_alt_km: float, apogee_alt_km: float
) -> str:
    """Orbit regime, by the usual thresholds.

    GEO: geosynchronous period (0.9 to 1.1 rev/day) and e < 0.25, whatever the
    inclination (so inclined GSO such as QZSS counts as GEO). LEO: apogee below
    2000 km. HEO: e >= 0.25, or an orbit that crosses the 2000 km boundary, or one
    beyond GEO. MEO: the rest (2000 km to GEO, near-circular).
    """
    if 0.9 <= mean_motion_revday <= 1.1 and eccentricity < 0.25:
        return "GEO"
    if apogee_alt_km < 2000.0:
        return "LEO"
    if eccentricity >= 0.25 or perigee_alt_km < 2000.0 or mean_motion_revday < 0.9:
        return "HEO"
    return "MEO"


@dataclass(frozen=True, slots=True)
class SpaceObject:
    """One SATCAT entry: who owns an object, what it is, and when it flew."""

    norad_id: int
    object_name: str | None = None
    object_id: str | None = None
    object_type: str | None = None  # PAYLOAD, ROCKET BODY, DEBRIS, UNKNOWN
    ops_status: str | None = None
    owner: str | None = None  # CelesTrak / Space-Track owner code, e.g. JPN, US, PRC
    launch_date: date | None = None
    launch_site: str | None = None
    decay_date: date | None = None
    period_min: float | None = None
    inclination_deg: float | None = None
    apogee_km: float | None = None
    perigee_km: float | None = None
    rcs_m2: float | None = None
    rcs_size: str | None = None  # SMALL / MEDIUM / LARGE where only the class is given
    data_status: str | None = None
    orbit_center: str | None = None
    orbit_type: str | None = None
    source: str | None = field(default=None, compare=False)


# SATCAT object-type codes (CelesTrak) and their long names (Space-Track).
OBJECT_TYPE_NAMES = {
    "PAY": "PAYLOAD",
    "R/B": "ROCKET BODY",
    "DEB": "DEBRIS",
    "UNK": "UNKNOWN",
    "TBA": "UNKNOWN",
}


def utc(dt: datetime) -> datetime:
    """Return dt as an aware UTC datetime (naive input is taken to be UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
