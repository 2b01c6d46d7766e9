"""Typed records of conjunction screening: the volume, events and objects left out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kizuna.orbit.timescale import iso_utc


@dataclass(frozen=True)
class ScreeningVolume:
    """Where a close approach counts as an event.

    `sphere`: miss distance below `radius_km`. `ellipsoid` / `box`: the secondary's position at
    TCA in the primary's RTN frame lies inside the ellipsoid or box with these semi-axes
    (half-sizes), e.g. the common LEO volume 2 x 25 x 25 km is ``ellipsoid(1, 12.5, 12.5)``.
    The test is made at TCA (minimum range), as CCSDS 508.0-B-1 SCREEN_VOLUME_* describes.
    """

    shape: str = "sphere"
    radial_km: float = 10.0
    intrack_km: float = 10.0
    crosstrack_km: float = 10.0

    def __post_init__(self) -> None:
        if self.shape not in ("sphere", "ellipsoid", "box"):
            raise ValueError("shape must be sphere, ellipsoid or box")
        if min(self.radial_km, self.intrack_km, self.crosstrack_km) <= 0:
            raise ValueError("screening volume sizes must be positive")

    @classmethod
    def sphere(cls, radius_km: float) -> ScreeningVolume:
        return cls("sphere", radius_km, radius_km, radius_km)

    @classmethod
    def ellipsoid(cls, radial_km: float, intrack_km: float, crosstrack_km: float) -> ScreeningVolume:
        return cls("ellipsoid", radial_km, intrack_km, crosstrack_km)

    @classmethod
    def box(cls, radial_km: float, intrack_km: float, crosstrack_km: float) -> ScreeningVolume:
        return cls("box", radial_km, intrack_km, crosstrack_km)

    @property
    def bound_km(self) -> float:
        """Radius of a sphere that holds the whole volume (used by the spatial filters)."""
        if self.shape == "box":
            return float(np.sqrt(self.radial_km**2 + self.intrack_km**2 + self.crosstrack_km**2))
        return max(self.radial_km, self.intrack_km, self.crosstrack_km)

    def contains(self, rtn_km: np.ndarray, miss_km: np.ndarray) -> np.ndarray:
        rtn = np.asarray(rtn_km, float).reshape(-1, 3)
        if self.shape == "sphere":
            return np.asarray(miss_km).reshape(-1) <= self.radial_km
        axes = np.array([self.radial_km, self.intrack_km, self.crosstrack_km])
        if self.shape == "ellipsoid":
            return np.sum((rtn / axes) ** 2, axis=1) <= 1.0
        return np.all(np.abs(rtn) <= axes, axis=1)


@dataclass(frozen=True)
class ConjunctionEvent:
    """One close approach: secondary relative to primary, RTN in the primary's frame at TCA."""

    primary: int
    secondary: int
    tca_utc: np.datetime64
    miss_km: float
    rel_speed_kms: float
    radial_km: float
    intrack_km: float
    crosstrack_km: float
    primary_teme: tuple[float, ...]  # x, y, z [km], vx, vy, vz [km/s]
    secondary_teme: tuple[float, ...]
    primary_itrf: tuple[float, ...] = ()
    secondary_itrf: tuple[float, ...] = ()
    pc: float | None = None
    pc_method: str = ""
    hbr_m: float | None = None
    hbr_source: str = ""
    primary_name: str = ""
    secondary_name: str = ""
    #: international designators from the element sets (OBJECT_ID, e.g. "1998-067A"); "" if unknown
    primary_object_id: str = ""
    secondary_object_id: str = ""
    #: 3x3 position covariance of each object in its own RTN frame at TCA [km^2], row-major, when
    #: `pc` was computed from covariances (:func:`kizuna.sda.assess.with_covariance_pc`); () when
    #: `pc` is the TLE-only maximum Pc, which assumes no covariance
    primary_cov_rtn_km2: tuple[float, ...] = ()
    secondary_cov_rtn_km2: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "primary": self.primary,
            "secondary": self.secondary,
            "primary_name": self.primary_name,
            "secondary_name": self.secondary_name,
            "primary_object_id": self.primary_object_id,
            "secondary_object_id": self.secondary_object_id,
            "tca_utc": iso_utc(np.array([self.tca_utc]))[0],
            "miss_km": round(self.miss_km, 6),
            "rel_speed_kms": round(self.rel_speed_kms, 6),
            "radial_km": round(self.radial_km, 6),
            "intrack_km": round(self.intrack_km, 6),
            "crosstrack_km": round(self.crosstrack_km, 6),
            "pc": self.pc,
            "pc_method": self.pc_method,
            "hbr_m": self.hbr_m,
            "hbr_source": self.hbr_source,
            "primary_teme": list(self.primary_teme),
            "secondary_teme": list(self.secondary_teme),
            "primary_itrf": list(self.primary_itrf),
            "secondary_itrf": list(self.secondary_itrf),
            "primary_cov_rtn_km2": list(self.primary_cov_rtn_km2),
            "secondary_cov_rtn_km2": list(self.secondary_cov_rtn_km2),
        }


@dataclass(frozen=True)
class ObjectProblem:
    """An object the screening could not cover in full, and why (never dropped silently)."""

    norad_id: int
    reason: str  # "stale", "sgp4", "no-elements"
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"norad_id": self.norad_id, "reason": self.reason, "detail": self.detail}


@dataclass
class ScreeningResult:
    events: list[ConjunctionEvent]
    problems: list[ObjectProblem]
    start_utc: np.datetime64
    stop_utc: np.datetime64
    volume: ScreeningVolume
    step_s: float
    n_objects: int
    n_primaries: int
    n_candidates: int = 0
    stats: dict[str, float] = field(default_factory=dict)
