"""Sensor models: SAR (incidence window, near-range minimum, look side, modes), optical, nadir cone.

Geometry is Earth-fixed (ITRF) on the WGS-84 ellipsoid, with no terrain:
- incidence at the target = angle between the target's ellipsoid normal and the line to the
  satellite = 90 deg - elevation;
- off-nadir at the satellite = angle between the line of sight and nadir; nadir is geodetic (minus
  the ellipsoid normal under the satellite) as in NASA TAT-C's default, or geocentric (-r);
- look side: the satellite's right is v x r (velocity in ITRF crossed with position), i.e. the
  down-cross-velocity direction. A satellite over the equator heading north has east on its right.

Every sensor reduces to one scalar `quantity` that peaks once per pass (at closest approach) and
a window [lo, hi] on it; `hi` < inf is the near-range exclusion (SAR's minimum incidence). Checks
that do not change within a pass (look side, sun elevation) are applied at mid-access.
References: Curlander & McDonough, "Synthetic Aperture Radar" (1991), sec. 1.2 (SAR imaging
geometry: incidence, look angle, near/far range); Wertz, "Space Mission Analysis and Design",
3rd ed., sec. 5.2 (Earth-central angle of a sensor footprint).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import erfa
import numpy as np

from kizuna.errors import KizunaError
from kizuna.orbit.frames import TimeScales, teme_to_gcrs_matrix, teme_to_itrf_matrices

WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
_E2 = WGS84_F * (2.0 - WGS84_F)
_EP2 = _E2 / (1.0 - _E2)
AU_KM = 149597870.7

# Nominal mode limits for a small X-band SAR (iQPS-like; incidence in degrees, swath in km). These
# are planning defaults, not vendor specifications: pass your own SarSensor for a real tasking.
# ScanSAR is Sentinel-1's Interferometric Wide swath mode (ESA Sentinel-1 User Guide: 250 km swath,
# incidence 29.1-46.0 deg); `scene_km` bounds a spotlight scene along track (a stripmap or ScanSAR
# strip runs for the whole pass).
SAR_MODES: dict[str, dict[str, float]] = {
    "spotlight": {
        "inc_min_deg": 15.0,
        "inc_max_deg": 45.0,
        "swath_km": 7.0,
        "dwell_s": 10.0,
        "scene_km": 7.0,
    },
    "stripmap": {"inc_min_deg": 15.0, "inc_max_deg": 50.0, "swath_km": 12.0, "dwell_s": 30.0},
    "scansar": {"inc_min_deg": 29.1, "inc_max_deg": 46.0, "swath_km": 250.0, "dwell_s": 30.0},
}


class SensorError(KizunaError, ValueError):
    """A sensor specification is impossible or cannot be read."""


def geodetic_normal(r_km: np.ndarray) -> np.ndarray:
    """Unit WGS-84 ellipsoid normal under points r (..., 3): the direction of geodetic latitude.

    Uses the normal of the ellipsoid grown by the point's height, (x/A^2, y/A^2, z/B^2) with A = a + h,
    B = b + h and h measured along the geocentric direction: no trigonometry, and within 3e-5 deg of the
    exact geodetic latitude (ERFA gc2gd) up to 1200 km (tested), i.e. under 1 m at LEO ranges.
    """
    x, y, z = r_km[..., 0], r_km[..., 1], r_km[..., 2]
    rr = np.sqrt(x * x + y * y + z * z)
    r_surface = rr / np.sqrt((x * x + y * y) / WGS84_A_KM**2 + z * z / WGS84_B_KM**2)
    h = rr - r_surface
    ia, ib = 1.0 / (WGS84_A_KM + h) ** 2, 1.0 / (WGS84_B_KM + h) ** 2
    n = np.stack([x * ia, y * ia, z * ib], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def geodetic_to_itrf(
    lat_deg: np.ndarray,
    lon_deg: np.ndarray,
    h_km: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position [km] and unit up vector of WGS-84 geodetic points."""
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
    h = np.asarray(h_km, float)
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    r = np.stack(
        [
            (n + h) * np.cos(lat) * np.cos(lon),
            (n + h) * np.cos(lat) * np.sin(lon),
            (n * (1.0 - _E2) + h) * np.sin(lat),
        ],
        axis=-1,
    )
    return r, up


@dataclass
class Geometry:
    """Satellite-target geometry at given instants (all arrays of one shape)."""

    elevation_deg: np.ndarray
    off_nadir_deg: np.ndarray
    slant_range_km: np.ndarray
    look_right: np.ndarray  # bool: target on the satellite's right (v x r side)

    @property
    def incidence_deg(self) -> np.ndarray:
        return 90.0 - self.elevation_deg


def elevation_deg(r_sat: np.ndarray, r_tgt: np.ndarray, up_tgt: np.ndarray) -> np.ndarray:
    rho = r_sat - r_tgt
    s = np.einsum("...i,...i->...", rho, up_tgt) / np.linalg.norm(rho, axis=-1)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def off_nadir_deg(r_sat: np.ndarray, r_tgt: np.ndarray, nadir_reference: str = "geodetic") -> np.ndarray:
    los = r_tgt - r_sat
    nadir = -(
        geodetic_normal(r_sat)
        if nadir_reference == "geodetic"
        else r_sat / np.linalg.norm(r_sat, axis=-1, keepdims=True)
    )
    c = np.einsum("...i,...i->...", los, nadir) / np.linalg.norm(los, axis=-1)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def geometry(
    r_sat: np.ndarray,
    v_sat: np.ndarray,
    r_tgt: np.ndarray,
    up_tgt: np.ndarray,
    nadir_reference: str = "geodetic",
) -> Geometry:
    los = r_tgt - r_sat
    right = np.cross(v_sat, r_sat)
    return Geometry(
        elevation_deg=elevation_deg(r_sat, r_tgt, up_tgt),
        off_nadir_deg=off_nadir_deg(r_sat, r_tgt, nadir_reference),
        slant_range_km=np.linalg.norm(los, axis=-1),
        look_right=np.einsum("...i,...i->...", los, right) > 0,
    )


def sun_itrf_unit(times_utc: np.ndarray) -> np.ndarray:
    """Unit vector to the Sun in ITRF (T, 3): ERFA epv00 (geocentric, aberration ignored, < 0.01 deg),
    rotated GCRS -> TEME -> ITRF with kizuna.orbit.frames' matrices."""
    scales = TimeScales(times_utc)
    pvh, _ = erfa.epv00(*scales.tt)
    sun_gcrs = -np.asarray(pvh["p"])
    m = teme_to_gcrs_matrix(scales)  # r_gcrs = m r_teme
    rot, polar = teme_to_itrf_matrices(scales)
    teme = np.einsum("tji,tj->ti", m, sun_gcrs)
    itrf = np.einsum("tij,tj->ti", polar, np.einsum("tij,tj->ti", rot, teme))
    return itrf / np.linalg.norm(itrf, axis=-1, keepdims=True)


def sun_elevation_deg(times_utc: np.ndarray, up_tgt: np.ndarray) -> np.ndarray:
    """Geometric elevation of the Sun's centre at targets (one time per target), no refraction."""
    s = np.einsum("ti,ti->t", sun_itrf_unit(times_utc), up_tgt)
    return np.degrees(np.arcsin(np.clip(s, -1.0, 1.0)))


def _reach_rad(
    alt_km: float,
    *,
    min_elev_deg: float | None = None,
    max_off_nadir_deg: float | None = None,
) -> float:
    """Largest Earth-central angle from the sub-satellite point to a target that can be in the
    window (Wertz eq. 5-26), on a conservative sphere of the polar radius."""
    r = WGS84_B_KM
    horizon = math.acos(r / (r + alt_km))
    if min_elev_deg is not None:
        e = math.radians(max(min_elev_deg, 0.0))
        return math.acos(r * math.cos(e) / (r + alt_km)) - e
    s = (r + alt_km) / r * math.sin(math.radians(max_off_nadir_deg or 90.0))
    return horizon if s >= 1.0 else math.asin(s) - math.radians(max_off_nadir_deg or 90.0)


def edge_central_angle_rad(kind: str, level: float, rs_km: np.ndarray, rt_km: np.ndarray) -> np.ndarray:
    """Earth-central angle between sub-satellite point and target where the sensor quantity equals
    `level` (sphere through the target; used only to predict where a window edge lies)."""
    if kind == "elevation":
        e = math.radians(level)
        return np.arccos(np.clip(rt_km * math.cos(e) / rs_km, -1, 1)) - e
    theta = math.radians(-level)
    s = rs_km / rt_km * math.sin(theta)
    return np.where(s < 1, np.arcsin(np.minimum(s, 1)) - theta, np.arccos(np.clip(rt_km / rs_km, -1, 1)))


@dataclass(frozen=True)
class SarSensor:
    """SAR: incidence window [inc_min, inc_max] at the target; inc_min is the near-range limit
    (too steep for useful SAR geometry); look side 'left', 'right' or 'both'."""

    inc_min_deg: float = 15.0
    inc_max_deg: float = 45.0
    look_side: str = "both"
    mode: str | None = None
    swath_km: float | None = None
    dwell_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.inc_min_deg < self.inc_max_deg <= 90.0:
            raise SensorError(
                f"SAR incidence window {self.inc_min_deg}-{self.inc_max_deg} deg: need 0 <= min < max <= 90"
            )
        if self.look_side not in ("left", "right", "both"):
            raise SensorError(f"look side {self.look_side!r}: use left, right or both")

    @classmethod
    def for_mode(cls, mode: str, look_side: str = "both") -> SarSensor:
        if mode not in SAR_MODES:
            raise SensorError(f"SAR mode {mode!r}: use one of {', '.join(SAR_MODES)}")
        m = SAR_MODES[mode]
        return cls(m["inc_min_deg"], m["inc_max_deg"], look_side, mode, m["swath_km"], m["dwell_s"])

    kind = "elevation"

    def quantity(self, r_sat, r_tgt, up_tgt):
        return elevation_deg(r_sat, r_tgt, up_tgt)

    @property
    def bounds(self) -> tuple[float, float]:
        return 90.0 - self.inc_max_deg, (90.0 - self.inc_min_deg) if self.inc_min_deg > 0 else math.inf

    def reach_rad(self, alt_km: float) -> float:
        return _reach_rad(alt_km, min_elev_deg=90.0 - self.inc_max_deg)

    def accept(self, geom: Geometry, times_utc: np.ndarray, up_tgt: np.ndarray) -> np.ndarray:
        if self.look_side == "both":
            return np.ones(geom.look_right.shape, bool)
        return geom.look_right if self.look_side == "right" else ~geom.look_right

    def describe(self) -> str:
        return f"sar:{self.inc_min_deg:g}-{self.inc_max_deg:g}:{self.look_side}"


@dataclass(frozen=True)
class ConeSensor:
    """A nadir cone: off-nadir angle at most `half_angle_deg` (TAT-C's field of regard / 2)."""

    half_angle_deg: float
    nadir_reference: str = "geodetic"

    def __post_init__(self) -> None:
        if not 0.0 < self.half_angle_deg <= 90.0:
            raise SensorError(f"cone half angle {self.half_angle_deg} deg outside (0, 90]")

    kind = "off_nadir"

    def quantity(self, r_sat, r_tgt, up_tgt):
        return -off_nadir_deg(r_sat, r_tgt, self.nadir_reference)

    @property
    def bounds(self) -> tuple[float, float]:
        return -self.half_angle_deg, math.inf

    def reach_rad(self, alt_km: float) -> float:
        return _reach_rad(alt_km, max_off_nadir_deg=self.half_angle_deg)

    def accept(self, geom: Geometry, times_utc: np.ndarray, up_tgt: np.ndarray) -> np.ndarray:
        # Past the horizon the line of sight goes through the Earth; a cone alone would accept it.
        return geom.elevation_deg > 0.0

    def describe(self) -> str:
        return f"cone:{self.half_angle_deg:g}"


@dataclass(frozen=True)
class OpticalSensor:
    """Optical imager: off-nadir limit, and the Sun at least `min_sun_elevation_deg` above the target's
    horizon at mid-access (the Sun moves < 0.25 deg/min, so one check per pass suffices)."""

    max_off_nadir_deg: float = 30.0
    min_sun_elevation_deg: float = 10.0
    nadir_reference: str = "geodetic"

    kind = "off_nadir"

    def quantity(self, r_sat, r_tgt, up_tgt):
        return -off_nadir_deg(r_sat, r_tgt, self.nadir_reference)

    @property
    def bounds(self) -> tuple[float, float]:
        return -self.max_off_nadir_deg, math.inf

    def reach_rad(self, alt_km: float) -> float:
        return _reach_rad(alt_km, max_off_nadir_deg=self.max_off_nadir_deg)

    def accept(self, geom: Geometry, times_utc: np.ndarray, up_tgt: np.ndarray) -> np.ndarray:
        if len(times_utc) == 0:
            return np.zeros(0, bool)
        return (geom.elevation_deg > 0.0) & (
            sun_elevation_deg(times_utc, up_tgt) >= self.min_sun_elevation_deg
        )

    def describe(self) -> str:
        return f"optical:{self.max_off_nadir_deg:g}:{self.min_sun_elevation_deg:g}"


Sensor = SarSensor | ConeSensor | OpticalSensor

_SAR = re.compile(r"^sar:(?:(spotlight|stripmap|scansar)|([0-9.]+)-([0-9.]+))(?::(left|right|both))?$", re.I)


def parse_sensor(text: str) -> Sensor:
    """`sar:INC_MIN-INC_MAX:left|right|both`, `sar:spotlight[:side]`, `cone:HALF_DEG`,
    `optical:MAX_OFF_NADIR[:MIN_SUN_ELEV]`."""
    t = text.strip().lower()
    m = _SAR.match(t)
    if m:
        side = m.group(4) or "both"
        if m.group(1):
            return SarSensor.for_mode(m.group(1), side)
        return SarSensor(float(m.group(2)), float(m.group(3)), side)
    try:
        if t.startswith("cone:"):
            return ConeSensor(float(t.split(":")[1]))
        if t.startswith("optical:"):
            parts = t.split(":")[1:]
            return OpticalSensor(float(parts[0]), float(parts[1]) if len(parts) > 1 else 10.0)
    except (ValueError, IndexError):
        pass
    raise SensorError(
        f"cannot read sensor {text!r}: use sar:INC_MIN-INC_MAX:left|right|both "
        "(e.g. sar:15-45:right), sar:spotlight, cone:HALF_DEG or optical:MAX_OFF_NADIR[:SUN_DEG]"
    )
