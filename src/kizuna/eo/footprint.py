"""Where a side-looking SAR can image during a pass: its ground track and the near and far edges of
its incidence window on the ground (the accessible swath), for drawing an access on a map or globe.

The edges are placed on the sphere through the sub-satellite point (the same spherical model
:func:`kizuna.eo.sensors.edge_central_angle_rad` uses to predict access edges), perpendicular to the
Earth-fixed ground track, then mapped to WGS-84 geodetic latitude. The ellipsoid's curvature across a
swath of a few hundred kilometres moves an edge by well under a kilometre (the tests compare the
incidence at each edge point with skyfield's, within 0.3 deg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kizuna.eo.sensors import SarSensor, edge_central_angle_rad, geodetic_to_itrf
from kizuna.orbit.frames import itrf_to_geodetic

# WGS-84 first eccentricity squared: geocentric to geodetic latitude on the surface.
_WGS84_E2 = 6.69437999014e-3


@dataclass(frozen=True)
class SwathEdges:
    """One row per time sample: the sub-satellite point and the swath's near and far edge points
    [deg], on the side the radar looks."""

    track_lat_deg: np.ndarray
    track_lon_deg: np.ndarray
    near_lat_deg: np.ndarray
    near_lon_deg: np.ndarray
    far_lat_deg: np.ndarray
    far_lon_deg: np.ndarray

    def polygon(self) -> list[list[float]]:
        """The swath as one closed [lon, lat] ring (GeoJSON order): near edge forward, far edge back."""
        lon = np.concatenate([self.near_lon_deg, self.far_lon_deg[::-1], self.near_lon_deg[:1]])
        lat = np.concatenate([self.near_lat_deg, self.far_lat_deg[::-1], self.near_lat_deg[:1]])
        return [[round(float(x), 5), round(float(y), 5)] for x, y in zip(lon, lat, strict=True)]


def _surface_lat_lon(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geodetic latitude and longitude [deg] of the surface point seen from the Earth's centre along
    the unit vectors `direction` (T, 3)."""
    geocentric = np.arcsin(np.clip(direction[:, 2], -1.0, 1.0))
    lat = np.degrees(np.arctan(np.tan(geocentric) / (1.0 - _WGS84_E2)))
    lon = np.degrees(np.arctan2(direction[:, 1], direction[:, 0]))
    return lat, lon


def sar_swath(
    r_itrf_km: np.ndarray, v_itrf_kms: np.ndarray, sensor: SarSensor, look_right: bool
) -> SwathEdges:
    """The accessible swath of `sensor` along one satellite's ITRF states (T, 3) [km, km/s] (the
    velocity Earth-fixed, so the track is the ground track), on the right or left of the motion."""
    r = np.asarray(r_itrf_km, dtype=float).reshape(-1, 3)
    v = np.asarray(v_itrf_kms, dtype=float).reshape(-1, 3)
    rs = np.linalg.norm(r, axis=1)
    up = r / rs[:, None]
    left = np.cross(up, v)
    left /= np.linalg.norm(left, axis=1)[:, None]
    side = -left if look_right else left
    track_lat, track_lon, _ = itrf_to_geodetic(r)
    surface, _ = geodetic_to_itrf(track_lat, track_lon)
    rt = np.linalg.norm(surface, axis=-1)
    near_rad = edge_central_angle_rad("elevation", 90.0 - sensor.inc_min_deg, rs, rt)
    far_rad = edge_central_angle_rad("elevation", 90.0 - sensor.inc_max_deg, rs, rt)
    near = np.cos(near_rad)[:, None] * up + np.sin(near_rad)[:, None] * side
    far = np.cos(far_rad)[:, None] * up + np.sin(far_rad)[:, None] * side
    near_lat, near_lon = _surface_lat_lon(near)
    far_lat, far_lon = _surface_lat_lon(far)
    return SwathEdges(track_lat, track_lon, near_lat, near_lon, far_lat, far_lon)
