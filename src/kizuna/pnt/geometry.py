"""Receivers on the ground, lines of sight to satellites, and what a receiver can see (masks).

Receivers sit on the WGS-84 ellipsoid (ERFA's gd2gc); lines of sight are unit vectors in each
receiver's local east-north-up frame, so elevation is asin(up) and azimuth atan2(east, north),
clockwise from north. Arrays keep the order (receivers P, times T, satellites N).
"""

from __future__ import annotations

from dataclasses import dataclass

import erfa
import numpy as np

from kizuna.formats.horizon_mask import HorizonMask


@dataclass(frozen=True)
class Receivers:
    """P ground receivers: geodetic position, Earth-fixed position [km] and local ENU axes."""

    lat_deg: np.ndarray  # (P,)
    lon_deg: np.ndarray  # (P,)
    height_m: np.ndarray  # (P,)
    position_km: np.ndarray  # (P, 3) ITRF
    enu: np.ndarray  # (P, 3, 3): rows are the east, north and up unit vectors

    def __len__(self) -> int:
        return len(self.lat_deg)

    @classmethod
    def at(cls, lat_deg: object, lon_deg: object, height_m: object = 0.0) -> Receivers:
        lat, lon, h = np.broadcast_arrays(
            np.atleast_1d(np.asarray(lat_deg, dtype="float64")),
            np.atleast_1d(np.asarray(lon_deg, dtype="float64")),
            np.atleast_1d(np.asarray(height_m, dtype="float64")),
        )
        if np.any(~np.isfinite(lat) | (np.abs(lat) > 90)) or np.any(~np.isfinite(lon)):
            raise ValueError("receiver latitudes must be finite and within -90..90, longitudes finite")
        phi, lam = np.radians(lat), np.radians(lon)
        position_m = erfa.gd2gc(1, lam, phi, h)  # 1 = WGS-84
        sp, cp, sl, cl = np.sin(phi), np.cos(phi), np.sin(lam), np.cos(lam)
        east = np.stack([-sl, cl, np.zeros_like(sl)], axis=-1)
        north = np.stack([-sp * cl, -sp * sl, cp], axis=-1)
        up = np.stack([cp * cl, cp * sl, sp], axis=-1)
        return cls(
            lat.copy(), lon.copy(), h.copy(), position_m / 1000.0, np.stack([east, north, up], axis=-2)
        )


def line_of_sight(receivers: Receivers, sat_position_km: np.ndarray) -> np.ndarray:
    """Unit vectors receiver -> satellite in each receiver's ENU frame: (P, T, N, 3).

    `sat_position_km` is (N, T, 3) ITRF; a NaN position gives a NaN vector."""
    rho = sat_position_km.transpose(1, 0, 2)[None, :, :, :] - receivers.position_km[:, None, None, :]
    rho = rho / np.linalg.norm(rho, axis=-1, keepdims=True)
    return np.einsum("pij,ptnj->ptni", receivers.enu, rho, optimize=True)


def line_of_sight_components(
    receivers: Receivers, sat_position_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`line_of_sight` as three (P, T, N) arrays (east, north, up): the layout the DOP sums want
    (contiguous along satellites), built without the (P, T, N, 3) intermediate."""
    sat = np.ascontiguousarray(sat_position_km.transpose(2, 1, 0))  # (3, T, N)
    rx = receivers.position_km[:, :, None, None]  # (P, 3, 1, 1)
    dx, dy, dz = (sat[k][None] - rx[:, k] for k in range(3))
    inv_range = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
    axes = receivers.enu[:, :, :, None, None]  # (P, 3 axes, 3 components, 1, 1)
    east, north, up = (
        (axes[:, a, 0] * dx + axes[:, a, 1] * dy + axes[:, a, 2] * dz) * inv_range for a in range(3)
    )
    return east, north, up


def elevation_azimuth_deg(los_enu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elevation and azimuth (clockwise from north, 0..360) [deg] of ENU unit vectors."""
    elevation = np.degrees(np.arcsin(np.clip(los_enu[..., 2], -1.0, 1.0)))
    azimuth = np.mod(np.degrees(np.arctan2(los_enu[..., 0], los_enu[..., 1])), 360.0)
    return elevation, azimuth


@dataclass(frozen=True)
class ElevationMask:
    """Minimum elevation a satellite needs to count as in view: a constant, or by azimuth.

    With a `horizon`, the mask is the larger of `min_elevation_deg` and the horizon profile,
    interpolated linearly in azimuth and wrapping through north (an urban canyon, a ridge)."""

    min_elevation_deg: float = 5.0
    horizon: HorizonMask | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_elevation_deg < 90.0:
            raise ValueError(f"elevation mask {self.min_elevation_deg:g} deg is outside 0..90 (90 excluded)")

    def minimum_deg(self, azimuth_deg: np.ndarray) -> np.ndarray | float:
        if self.horizon is None:
            return self.min_elevation_deg
        profile = np.interp(azimuth_deg, self.horizon.azimuth_deg, self.horizon.elevation_deg, period=360.0)
        return np.maximum(profile, self.min_elevation_deg)

    def visible(self, elevation_deg: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
        """True where a satellite clears the mask (NaN positions never do)."""
        with np.errstate(invalid="ignore"):
            return np.isfinite(elevation_deg) & (elevation_deg >= self.minimum_deg(azimuth_deg))

    def visible_components(self, east: np.ndarray, north: np.ndarray, up: np.ndarray) -> np.ndarray:
        """`visible` from line-of-sight components; a constant mask needs no angles at all."""
        if self.horizon is None:
            with np.errstate(invalid="ignore"):
                return up >= np.sin(np.radians(self.min_elevation_deg))
        elevation = np.degrees(np.arcsin(np.clip(up, -1.0, 1.0)))
        azimuth = np.mod(np.degrees(np.arctan2(east, north)), 360.0)
        return self.visible(elevation, azimuth)

    def describe(self) -> str:
        if self.horizon is None:
            return f"{self.min_elevation_deg:g} deg"
        return (
            f"horizon {self.horizon.source} ({len(self.horizon.azimuth_deg)} points, "
            f"{self.horizon.elevation_deg.min():g}-{self.horizon.elevation_deg.max():g} deg)"
        )


__all__ = ["ElevationMask", "Receivers", "elevation_azimuth_deg", "line_of_sight", "line_of_sight_components"]
