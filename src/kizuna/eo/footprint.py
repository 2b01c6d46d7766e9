"""Where a SAR can image during a pass, for drawing an access on a map or globe: its field of regard
at one instant (the ring of ground between the near and far limits of its incidence window, around
the sub-satellite point), and its swath along the pass (the part of that ring abeam of the track,
where a side-looking radar without squint images).

Access (:func:`kizuna.eo.access.compute_access`) asks only that the incidence be inside the window,
in any direction: a target inside the field of regard is in access, also ahead of or behind the
satellite, where it never enters the swath. The field of regard at mid-access therefore holds the
target; the swath holds it only when the target's cross-track distance is within the window's.

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

Ring = list[list[float]]  # closed [lon, lat] ring, GeoJSON order

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


def _ring(lat: np.ndarray, lon: np.ndarray) -> Ring:
    return [[round(float(x), 5), round(float(y), 5)] for x, y in zip(lon, lat, strict=True)]


def field_of_regard(r_itrf_km: np.ndarray, sensor: SarSensor, samples: int = 36) -> tuple[Ring, Ring]:
    """The ground `sensor` can image from one ITRF position [km]: the far-limit ring (outer) and the
    near-limit ring (inner, the hole), each closed, [lon, lat] in GeoJSON order."""
    r = np.asarray(r_itrf_km, dtype=float).reshape(3)
    rs = float(np.linalg.norm(r))
    up = r / rs
    # Any two unit vectors perpendicular to `up` span the directions on the ground.
    east = np.cross([0.0, 0.0, 1.0], up)
    east = east / np.linalg.norm(east) if np.linalg.norm(east) > 1e-9 else np.array([0.0, 1.0, 0.0])
    north = np.cross(up, east)
    lat0, lon0, _ = itrf_to_geodetic(r[None, :])
    surface, _ = geodetic_to_itrf(lat0, lon0)
    rt = np.linalg.norm(surface, axis=-1)
    az = np.linspace(0.0, 2.0 * np.pi, samples + 1)
    az[-1] = 0.0  # closed exactly
    heading = np.cos(az)[:, None] * north + np.sin(az)[:, None] * east
    rings = []
    for incidence in (sensor.inc_max_deg, sensor.inc_min_deg):
        theta = float(edge_central_angle_rad("elevation", 90.0 - incidence, np.array([rs]), rt)[0])
        lat, lon = _surface_lat_lon(np.cos(theta) * up + np.sin(theta) * heading)
        rings.append(_ring(lat, lon))
    return rings[0], rings[1]
