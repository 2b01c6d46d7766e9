"""Area coverage by SAR strips: the swath each pass images over a polygon, per pass and accumulated.

Model (per pass, on the sphere through the area's points):
- a pass is a satellite's time over the area: the union of its access windows (the mode's
  incidence range) to the area's sample points;
- the beam is pointed at the area: the strip, `swath_km` wide in ground range, is centred on the
  cross-track ground distance of the area's centroid, moved inward or outward as little as needed to
  stay within the mode's incidence range, on the centroid's side (or the allowed side);
- a ground point is imaged when, at the instant the satellite is abeam of it (the point is
  perpendicular to the ground track) inside the pass, its cross-track ground distance is within the
  strip; a spotlight scene also stays within `scene_km` along track of the centroid's abeam point.
Areas are sums of H3 cell areas (kizuna.eo.aoi samples polygons on H3's near-equal-area cells), so
no projection is needed: the percentage is of the sampled area, good to the sampling (a strip of
N cells across is resolved to about 1/N at its edges).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kizuna.eo.access import Targets, compute_access
from kizuna.eo.constellation import Constellation, ConstellationError
from kizuna.eo.revisit import merge_intervals
from kizuna.eo.sensors import SAR_MODES, WGS84_F, SarSensor, geodetic_to_itrf
from kizuna.errors import KizunaError
from kizuna.orbit import propagate, time_grid
from kizuna.orbit.timescale import as_datetime64

TRACK_STEP_S = 1.0
#: the whole-pass track is extended by this on each side, so points abeam at a pass edge have
#: samples on both sides of them
TRACK_PAD_S = 30.0
_BLOCK_POINTS = 4096


class CoverageError(KizunaError, ValueError):
    """Coverage cannot be computed: an unknown mode or an area without polygon cells."""


@dataclass
class StripPass:
    """One pass's strip over the area, with its coverage."""

    sat_index: int
    satellite: str
    start_utc: np.datetime64  # first and last abeam instants of imaged points
    stop_utc: np.datetime64
    look_right: bool
    near_km: float  # cross-track ground distance of the strip's edges
    far_km: float
    incidence_near_deg: float
    incidence_far_deg: float
    covered_km2: float  # of the area, by this strip
    new_km2: float  # of the area, not covered by an earlier pass
    cumulative_km2: float
    outline_lonlat: np.ndarray  # (K, 2) closed ring: near edge forward, far edge back

    def as_dict(self, area_km2: float) -> dict[str, object]:
        from kizuna.orbit.timescale import iso_utc

        return {
            "satellite": self.satellite,
            "start_utc": iso_utc(np.array([self.start_utc]))[0],
            "stop_utc": iso_utc(np.array([self.stop_utc]))[0],
            "look_side": "right" if self.look_right else "left",
            "near_km": round(self.near_km, 3),
            "far_km": round(self.far_km, 3),
            "incidence_near_deg": round(self.incidence_near_deg, 3),
            "incidence_far_deg": round(self.incidence_far_deg, 3),
            "covered_km2": round(self.covered_km2, 3),
            "covered_pct": round(100.0 * self.covered_km2 / area_km2, 3),
            "new_pct": round(100.0 * self.new_km2 / area_km2, 3),
            "cumulative_pct": round(100.0 * self.cumulative_km2 / area_km2, 3),
        }


@dataclass
class Coverage:
    passes: list[StripPass]
    area_km2: float
    first_pass: np.ndarray  # (M,) index into passes of the first strip imaging each point, -1 if none
    targets: Targets

    @property
    def covered_pct(self) -> float:
        return 100.0 * self.passes[-1].cumulative_km2 / self.area_km2 if self.passes else 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _central_angle(inc_deg: float, r_sat_km: float, r_ground_km: float) -> float:
    """Earth-central angle from the sub-satellite point to a ground point seen at `inc_deg`."""
    e = math.radians(90.0 - inc_deg)
    return math.acos(min(1.0, r_ground_km * math.cos(e) / r_sat_km)) - e


def _incidence(angle_rad: float, r_sat_km: float, r_ground_km: float) -> float:
    """Incidence at a ground point `angle_rad` (central angle) from the sub-satellite point."""
    elev = math.atan2(math.cos(angle_rad) - r_ground_km / r_sat_km, math.sin(angle_rad))
    return 90.0 - math.degrees(elev)


def _geodetic_lonlat(u: np.ndarray) -> np.ndarray:
    """(lon, geodetic lat) [deg] of the ellipsoid point in geocentric direction u (..., 3)."""
    lat_gc = np.arctan2(u[..., 2], np.hypot(u[..., 0], u[..., 1]))
    lat = np.arctan(np.tan(lat_gc) / (1.0 - WGS84_F) ** 2)
    return np.stack([np.degrees(np.arctan2(u[..., 1], u[..., 0])), np.degrees(lat)], axis=-1)


class _Track:
    """A pass's ground track on a uniform time grid: sub-satellite directions, the unit normal of the
    track's plane (left of the track), the along-track direction and the angular rate."""

    def __init__(self, r_km: np.ndarray, v_kms: np.ndarray, t_s: np.ndarray):
        self.t_s = t_s
        self.r_hat = _unit(r_km)
        self.normal = _unit(np.cross(r_km, v_kms))
        self.along = np.cross(self.normal, self.r_hat)
        step = np.arccos(np.clip(np.einsum("ij,ij->i", self.r_hat[1:], self.r_hat[:-1]), -1, 1))
        self.rate = np.r_[step, step[-1]] / np.diff(t_s).mean()  # [rad/s]

    def abeam(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(signed cross-track angle [rad], abeam time [s], nearest sample) of unit vectors u."""
        k = np.argmax(u @ self.r_hat.T, axis=1)
        cross = np.arcsin(np.clip(np.einsum("ij,ij->i", u, self.normal[k]), -1, 1))
        ang = np.arctan2(np.einsum("ij,ij->i", u, self.along[k]), np.einsum("ij,ij->i", u, self.r_hat[k]))
        return cross, self.t_s[k] + ang / self.rate[k], k


def strip_coverage(
    constellation: Constellation | Sequence,
    targets: Targets,
    start_utc: object,
    stop_utc: object,
    mode: str,
    *,
    look_side: str = "both",
    step_s: float = 60.0,
) -> Coverage:
    """Strips of every pass over the sampled area `targets` (polygon cells with weights), in time order."""
    if mode not in SAR_MODES:
        raise CoverageError(f"mode {mode!r}: use one of {', '.join(SAR_MODES)}")
    weight = targets.weight if targets.weight is not None else np.zeros(len(targets))
    area_km2 = float(weight.sum())
    if not area_km2 > 0:
        raise CoverageError("the area has no polygon cells: coverage needs a Polygon or MultiPolygon")
    sets = list(constellation.element_sets if isinstance(constellation, Constellation) else constellation)
    if not sets:
        raise ConstellationError("the constellation is empty")
    spec = SAR_MODES[mode]
    sensor = SarSensor.for_mode(mode, look_side)
    swath_km = float(spec["swath_km"])
    scene_km = spec.get("scene_km")
    acc = compute_access(sets, targets, start_utc, stop_utc, sensor, step_s=step_s)
    t0 = as_datetime64(start_utc)[0]
    sec = (acc.start_utc - t0).astype("int64") / 1e9, (acc.stop_utc - t0).astype("int64") / 1e9
    passes: list[tuple[float, int, float, float]] = []
    for s in np.unique(acc.sat_index):
        m = acc.sat_index == s
        merged = merge_intervals(sec[0][m], sec[1][m])
        passes.extend((float(x), int(s), float(x), float(y)) for x, y in zip(*merged, strict=True))
    passes.sort()

    r_pts, _ = geodetic_to_itrf(targets.lat_deg, targets.lon_deg)
    radius_km = np.linalg.norm(r_pts, axis=-1)
    p_hat = r_pts / radius_km[:, None]
    centroid = _unit((p_hat * weight[:, None]).sum(axis=0))
    r_centroid = float((radius_km * weight).sum() / area_km2)
    first_pass = np.full(len(targets), -1, np.int64)
    out: list[StripPass] = []
    cumulative = 0.0
    for _, s, a, b in passes:
        grid = time_grid(
            t0 + np.timedelta64(int((a - TRACK_PAD_S) * 1e9), "ns"),
            t0 + np.timedelta64(int((b + TRACK_PAD_S) * 1e9), "ns"),
            TRACK_STEP_S,
        )
        eph = propagate([sets[s]], grid, "itrf")
        r, v = eph.position_km[0], eph.velocity_kms[0]
        t_s = (grid - t0).astype("int64") / 1e9
        track = _Track(r, v, t_s)
        abeam = track.abeam
        rate = track.rate
        r_hat, normal = track.r_hat, track.normal
        c_cross, c_time, c_k = abeam(centroid[None, :])
        r_sat = float(np.linalg.norm(r[c_k[0]]))
        right = bool(c_cross[0] < 0) if look_side == "both" else look_side == "right"
        near_lim = r_centroid * _central_angle(sensor.inc_min_deg, r_sat, r_centroid)
        far_lim = r_centroid * _central_angle(sensor.inc_max_deg, r_sat, r_centroid)
        width = min(swath_km, far_lim - near_lim)
        centre = abs(float(c_cross[0])) * r_centroid if (c_cross[0] < 0) == right else near_lim
        centre = min(max(centre, near_lim + width / 2), far_lim - width / 2)
        near_km, far_km = centre - width / 2, centre + width / 2
        hit = np.zeros(len(targets), bool)
        t_abeam = np.full(len(targets), np.nan)
        for lo in range(0, len(targets), _BLOCK_POINTS):
            blk = slice(lo, lo + _BLOCK_POINTS)
            cross, t_ab, k = abeam(p_hat[blk])
            d_km = np.abs(cross) * radius_km[blk]
            ok = ((cross < 0) == right) & (d_km >= near_km) & (d_km <= far_km)
            ok &= (t_ab >= a) & (t_ab <= b) & (k > 0) & (k < len(t_s) - 1)
            if scene_km is not None:
                ok &= np.abs(t_ab - c_time[0]) * rate[k] * radius_km[blk] <= 0.5 * scene_km
            hit[blk], t_abeam[blk] = ok, t_ab
        if not hit.any():
            continue
        covered = float(weight[hit].sum())
        new = hit & (first_pass < 0)
        first_pass[new] = len(out)
        new_km2 = float(weight[new].sum())
        cumulative += new_km2
        t_first, t_last = float(t_abeam[hit].min()), float(t_abeam[hit].max())
        span = (t_s >= t_first - TRACK_STEP_S) & (t_s <= t_last + TRACK_STEP_S)
        sign = -1.0 if right else 1.0
        edges = []
        for d_km in (near_km, far_km):
            th = d_km / r_centroid
            edges.append(_geodetic_lonlat(np.cos(th) * r_hat[span] + sign * np.sin(th) * normal[span]))
        ring = np.vstack([edges[0], edges[1][::-1], edges[0][:1]])
        to_utc = lambda x: t0 + np.timedelta64(int(round(x * 1e9)), "ns")  # noqa: E731
        out.append(
            StripPass(
                sat_index=s,
                satellite=acc.sat_names[s],
                start_utc=to_utc(t_first),
                stop_utc=to_utc(t_last),
                look_right=right,
                near_km=near_km,
                far_km=far_km,
                incidence_near_deg=_incidence(near_km / r_centroid, r_sat, r_centroid),
                incidence_far_deg=_incidence(far_km / r_centroid, r_sat, r_centroid),
                covered_km2=covered,
                new_km2=new_km2,
                cumulative_km2=cumulative,
                outline_lonlat=ring,
            )
        )
    return Coverage(out, area_km2, first_pass, targets)
