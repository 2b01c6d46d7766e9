"""Typed maritime records: AIS positions and static data, SAR detections, events, dark-vessel matches.

Single records are dataclasses for readers and products; analyses work on the columnar
:class:`PositionArrays` (one numpy array per field, times as UTC ``datetime64[ns]``) so that
tracks and events are vectorized. Units live in the names (``sog_kn``, ``length_m``, ``gap_s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import numpy as np

NAT = np.datetime64("NaT", "ns")
# ITU-R M.1371-5 "not available" sentinels (not errors): lat 91, lon 181, SOG 102.3, COG 360, heading 511.
LAT_NOT_AVAILABLE = 91.0
LON_NOT_AVAILABLE = 181.0
SOG_NOT_AVAILABLE = 102.3
COG_NOT_AVAILABLE = 360.0
HEADING_NOT_AVAILABLE = 511


@dataclass(frozen=True, slots=True)
class VesselPosition:
    """One AIS position report (types 1-3, 18, 19, 27, 9 or a CSV row).

    ``time_utc`` is the receiver time (tag block ``c:``, Gatehouse ``$PGHP``, vendor suffix, CSV
    column); it is None when the source carries no time. Missing SOG/COG/heading are NaN.
    ``position_accuracy`` (1 = high, better than 10 m; 0 = low) and ``raim`` (receiver autonomous
    integrity monitoring in use) are the two GNSS quality bits of ITU-R M.1371-5 position reports;
    None where the source does not carry them (CSV exports).
    """

    mmsi: int
    time_utc: datetime | None
    lat_deg: float
    lon_deg: float
    sog_kn: float = float("nan")
    cog_deg: float = float("nan")
    heading_deg: float = float("nan")
    msg_type: int = 0
    nav_status: int | None = None
    source: str | None = field(default=None, compare=False)  # tag block s: station or file name
    position_accuracy: int | None = None
    raim: bool | None = None


#: the value of PositionArrays.position_accuracy / .raim for a report that does not carry the bit
FLAG_NOT_REPORTED = -1


@dataclass(frozen=True, slots=True)
class VesselStatic:
    """Static and voyage data (types 5, 19, 24 or CSV columns); None where not sent."""

    mmsi: int
    time_utc: datetime | None = None
    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None
    length_m: float | None = None
    beam_m: float | None = None
    draught_m: float | None = None
    destination: str | None = None
    msg_type: int = 0


_COLUMNS = (
    "mmsi",
    "time_utc",
    "lat_deg",
    "lon_deg",
    "sog_kn",
    "cog_deg",
    "heading_deg",
    "position_accuracy",
    "raim",
)


@dataclass
class PositionArrays:
    """Columnar AIS positions: the form every track and event analysis takes.

    ``position_accuracy`` and ``raim`` are int8: 1 or 0 as reported, FLAG_NOT_REPORTED (-1) where
    the source has no such bit (CSV, the store); left out, they are all FLAG_NOT_REPORTED.
    """

    mmsi: np.ndarray  # int64
    time_utc: np.ndarray  # datetime64[ns]
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sog_kn: np.ndarray
    cog_deg: np.ndarray
    heading_deg: np.ndarray
    position_accuracy: np.ndarray | None = None
    raim: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.mmsi = np.asarray(self.mmsi, dtype=np.int64)
        self.time_utc = np.asarray(self.time_utc, dtype="datetime64[ns]")
        for name in ("lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        n = len(self.mmsi)
        for name in ("position_accuracy", "raim"):
            value = getattr(self, name)
            setattr(
                self,
                name,
                np.full(n, FLAG_NOT_REPORTED, np.int8) if value is None else np.asarray(value, dtype=np.int8),
            )
        for name in _COLUMNS[1:]:
            if len(getattr(self, name)) != n:
                raise ValueError(f"PositionArrays.{name} has {len(getattr(self, name))} rows, mmsi has {n}")

    def __len__(self) -> int:
        return len(self.mmsi)

    def take(self, index: np.ndarray) -> PositionArrays:
        return PositionArrays(*(getattr(self, name)[index] for name in _COLUMNS))

    @classmethod
    def empty(cls) -> PositionArrays:
        z = np.zeros(0)
        return cls(np.zeros(0, np.int64), np.zeros(0, "datetime64[ns]"), z, z, z, z, z)

    @classmethod
    def from_records(cls, records: Sequence[VesselPosition]) -> PositionArrays:
        """Positions with a time (untimed reports cannot be placed on a track and are left out)."""
        recs = [r for r in records if r.time_utc is not None]
        if not recs:
            return cls.empty()
        t = np.array([np.datetime64(cast(datetime, r.time_utc).replace(tzinfo=None), "ns") for r in recs])
        return cls(
            np.array([r.mmsi for r in recs]),
            t,
            np.array([r.lat_deg for r in recs]),
            np.array([r.lon_deg for r in recs]),
            np.array([r.sog_kn for r in recs]),
            np.array([r.cog_deg for r in recs]),
            np.array([r.heading_deg for r in recs]),
            np.array(
                [FLAG_NOT_REPORTED if r.position_accuracy is None else r.position_accuracy for r in recs]
            ),
            np.array([FLAG_NOT_REPORTED if r.raim is None else int(r.raim) for r in recs]),
        )

    @classmethod
    def concat(cls, parts: Sequence[PositionArrays]) -> PositionArrays:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _COLUMNS))


@dataclass(frozen=True, slots=True)
class SarDetection:
    """A ship detected in a SAR image (or read from a partner's CSV/GeoJSON)."""

    detection_id: str
    lat_deg: float
    lon_deg: float
    time_utc: datetime | None = None
    length_m: float | None = None
    confidence: float | None = None  # 0..1
    peak_scr_db: float | None = None  # peak over local clutter mean
    row: float | None = None
    col: float | None = None
    n_pixels: int | None = None


@dataclass(frozen=True)
class MaritimeEvent:
    """A gap, encounter, loitering or identity/spoofing event, with the definition that produced it."""

    kind: str  # "gap" | "encounter" | "loitering" | "spoofing"
    mmsi: int
    start_utc: np.datetime64
    end_utc: np.datetime64
    lat_deg: float
    lon_deg: float
    other_mmsi: int | None = None  # encounter partner
    subtype: str | None = None  # spoofing: "teleport", "on_land", "shared_mmsi", "impossible_speed"
    details: dict[str, float | int | str | None] = field(default_factory=dict)
    definition: str = ""

    @property
    def duration_s(self) -> float:
        return float((self.end_utc - self.start_utc) / np.timedelta64(1, "s"))


@dataclass(frozen=True)
class DarkVesselResult:
    """Outcome of matching SAR detections with AIS at one image time."""

    image_time_utc: np.datetime64
    gate_m: float
    matches: list[tuple[int, int, float]]  # (detection index, AIS vessel index, distance_m)
    dark_detections: list[int]  # detection indices with no AIS partner
    unmatched_ais: list[int]  # AIS vessels inside the footprint with no detection
    detections: list[SarDetection]
    ais_mmsi: np.ndarray
    ais_lat_deg: np.ndarray
    ais_lon_deg: np.ndarray
    ais_method: np.ndarray  # "interpolated" | "dead_reckoned"


# ---------------------------------------------------------------- SAR scenes
@dataclass(frozen=True)
class ShipTruth:
    lat_deg: float
    lon_deg: float
    length_m: float = 120.0
    beam_m: float = 20.0
    heading_deg: float = 0.0
    scr_db: float = 15.0
    mmsi: int | None = None  # None = dark (no AIS)


@dataclass
class SarScene:
    intensity: np.ndarray  # float32 linear intensity, clutter mean = clutter_mean
    land: np.ndarray  # bool
    geotransform: tuple[float, float, float, float, float, float]  # GDAL order, EPSG:4326
    pixel_size_m: tuple[float, float]
    time_utc: datetime | None
    ships: list[ShipTruth] = field(default_factory=list)
    nu: float | None = None
    clutter_mean: float = 1.0
    crs: str = "EPSG:4326"
    synthetic: bool = True

    def pixel_to_lonlat(self, rows, cols):
        return pixel_to_lonlat(self.geotransform, rows, cols)

    def footprint(self) -> tuple[float, float, float, float]:
        gt = self.geotransform
        h, w = self.intensity.shape
        lons = (gt[0], gt[0] + gt[1] * w)
        lats = (gt[3] + gt[5] * h, gt[3])
        return min(lons), min(lats), max(lons), max(lats)


def pixel_to_lonlat(gt, rows, cols):
    """GDAL geotransform applied to pixel-centre coordinates (row, col are 0-based indices)."""
    r = np.asarray(rows, dtype=float) + 0.5
    c = np.asarray(cols, dtype=float) + 0.5
    return gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]


def lonlat_to_pixel(gt, lon, lat):
    """Inverse of :func:`pixel_to_lonlat` for north-up transforms (no rotation terms)."""
    return (np.asarray(lat) - gt[3]) / gt[5] - 0.5, (np.asarray(lon) - gt[0]) / gt[1] - 0.5
