"""Detection of threats by warning sensors, vectorized over launches x sensors x time steps.

Everything is Earth-fixed (ECEF metres): threat positions come that way
(:class:`kizuna.model.missile.ThreatTrajectory`), and space sensors are rotated into it by
:func:`kizuna.mw.sensors.sensor_positions_ecef_m`. The rules (see :mod:`kizuna.mw.sensors` for
what each sensor states):

- Earth blocking: the segment sensor -> target must not cross the WGS-84 ellipsoid. The ellipsoid
  becomes a sphere of radius a by stretching z by a/b (a line stays a line), so the test is one
  closest-approach distance. Heights are measured in the same stretched frame: exact on the
  surface and within 0.34% of the height above it (3 m at 1 km, 0.3 km at 100 km).
- Infrared field of regard: the angle between the line of sight and geocentric nadir.
- Hot (below-the-horizon) detection: plume intensity / range^2 >= snr x hot NEI, with the target
  above ``min_plume_alt_km``; the Earth behind it is allowed.
- Cold (above-the-horizon) detection: (plume + cold-body intensity) / range^2 >= snr x cold NEI,
  and the line of sight continued past the target clears the limb by ``limb_clearance_km``.
- Radar: elevation above the site's horizon (WGS-84 normal; no refraction) within the elevation
  band, azimuth within the sector, range <= min(max range, reference range x (RCS /
  reference RCS)^(1/4)).
- Frames: sensor j looks once per ``revisit_s`` with a phase; the look at grid step k belongs to
  the frame that step opens. A detection is *held* until the sensor's next look.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kizuna.model.missile import ThreatTrajectory
from kizuna.mw.sensors import WGS84_A_M, WGS84_F, Sensor, geodetic_up

WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
_STRETCH = WGS84_A_M / WGS84_B_M
# A target within this distance of the ellipsoid along the line of sight is not hidden by it
# (a launch pad sits on the surface itself).
_SURFACE_TOLERANCE_M = 1.0

# Planck's law constants (CODATA 2018, exact): h, c, k_B.
_H = 6.62607015e-34
_C = 299_792_458.0
_KB = 1.380649e-23
STEFAN_BOLTZMANN_W_M2_K4 = 5.670374419e-8


def band_radiance_w_m2_sr(temperature_k: float, band_um: tuple[float, float], samples: int = 4000) -> float:
    """Black-body radiance integrated over a wavelength band (Planck's law, trapezoid rule)."""
    lam = np.linspace(band_um[0], band_um[1], samples) * 1e-6
    b = 2.0 * _H * _C**2 / lam**5 / np.expm1(_H * _C / (lam * _KB * temperature_k))
    return float(np.sum((b[1:] + b[:-1]) * np.diff(lam)) / 2.0)


# What a long-wave sensor sees of a re-entry vehicle in midcourse: a grey body at 300 K (the
# temperature a spinning vehicle settles near in sunlight), emissivity 0.8, 0.5 m^2 projected
# area (a cone about 1.8 m long and 0.55 m across seen side-on), 8-12 um band. About 13 W/sr.
COLD_BODY_TEMPERATURE_K = 300.0
COLD_BODY_EMISSIVITY = 0.8
COLD_BODY_AREA_M2 = 0.5
COLD_BAND_UM = (8.0, 12.0)
COLD_BODY_INTENSITY_W_SR = (
    COLD_BODY_EMISSIVITY * COLD_BODY_AREA_M2 * band_radiance_w_m2_sr(COLD_BODY_TEMPERATURE_K, COLD_BAND_UM)
)


@dataclass(frozen=True)
class SensorTable:
    """The per-sensor numbers of a list of sensors as arrays (J,), for vectorized rules."""

    names: tuple[str, ...]
    is_radar: np.ndarray
    revisit_s: np.ndarray
    sigma_rad: np.ndarray
    sigma_range_m: np.ndarray  # inf for infrared (no range)
    cos_for: np.ndarray  # cos of the field-of-regard half-angle (infrared)
    hot_threshold_w_m2: np.ndarray  # snr x NEI, inf when the sensor has no such band
    cold_threshold_w_m2: np.ndarray
    min_plume_alt_m: np.ndarray
    limb_clearance_m: np.ndarray
    site_up: np.ndarray  # (J, 3) radar local up (zeros for infrared)
    site_east: np.ndarray
    site_north: np.ndarray
    reference_range_m: np.ndarray
    reference_rcs_m2: np.ndarray
    max_range_m: np.ndarray
    min_elevation_deg: np.ndarray
    max_elevation_deg: np.ndarray
    boresight_az_deg: np.ndarray
    half_width_deg: np.ndarray

    @classmethod
    def from_sensors(cls, sensors: Sequence[Sensor]) -> SensorTable:
        j = len(sensors)
        f = {
            name: np.full(j, fill)
            for name, fill in (
                ("sigma_range_m", np.inf),
                ("cos_for", 1.0),
                ("hot_threshold_w_m2", np.inf),
                ("cold_threshold_w_m2", np.inf),
                ("min_plume_alt_m", 0.0),
                ("limb_clearance_m", 0.0),
                ("reference_range_m", 0.0),
                ("reference_rcs_m2", 1.0),
                ("max_range_m", 0.0),
                ("min_elevation_deg", 90.0),
                ("max_elevation_deg", 90.0),
                ("boresight_az_deg", 0.0),
                ("half_width_deg", 0.0),
            )
        }
        up, east, north = np.zeros((j, 3)), np.zeros((j, 3)), np.zeros((j, 3))
        for k, s in enumerate(sensors):
            if s.infrared is not None:
                ir = s.infrared
                f["cos_for"][k] = math.cos(math.radians(ir.field_of_regard_deg))
                if ir.hot_nei_w_m2 is not None:
                    f["hot_threshold_w_m2"][k] = ir.snr * ir.hot_nei_w_m2
                if ir.cold_nei_w_m2 is not None:
                    f["cold_threshold_w_m2"][k] = ir.snr * ir.cold_nei_w_m2
                f["min_plume_alt_m"][k] = ir.min_plume_alt_km * 1000.0
                f["limb_clearance_m"][k] = ir.limb_clearance_km * 1000.0
            else:
                r = s.radar
                assert r is not None
                f["sigma_range_m"][k] = r.sigma_range_m
                f["reference_range_m"][k] = r.reference_range_km * 1000.0
                f["reference_rcs_m2"][k] = r.reference_rcs_m2
                f["max_range_m"][k] = r.max_range_km * 1000.0
                f["min_elevation_deg"][k] = r.min_elevation_deg
                f["max_elevation_deg"][k] = r.max_elevation_deg
                f["boresight_az_deg"][k] = r.boresight_az_deg
                f["half_width_deg"][k] = r.half_width_deg
                lat, lon = math.radians(s.site_lat_deg or 0.0), math.radians(s.site_lon_deg or 0.0)
                up[k] = geodetic_up(s.site_lat_deg, s.site_lon_deg)
                east[k] = (-math.sin(lon), math.cos(lon), 0.0)
                north[k] = (-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat))
        return cls(
            names=tuple(s.name for s in sensors),
            is_radar=np.array([s.is_radar for s in sensors], dtype=bool),
            revisit_s=np.array([s.revisit_s for s in sensors]),
            sigma_rad=np.array([s.sigma_rad for s in sensors]),
            site_up=up,
            site_east=east,
            site_north=north,
            **f,
        )

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class ThreatGrid:
    """N trajectories resampled on one grid of seconds since each launch, (N, K) arrays.

    Samples after a flight's impact are ``valid`` False with phase -1."""

    threat_ids: tuple[str, ...]
    launch_utc: np.ndarray  # (N,) datetime64[ns]
    time_s: np.ndarray  # (K,)
    position_ecef_m: np.ndarray  # (N, K, 3)
    velocity_ecef_m_s: np.ndarray  # (N, K, 3)
    ir_intensity_w_sr: np.ndarray  # (N, K)
    rcs_m2: np.ndarray  # (N, K)
    phase: np.ndarray  # (N, K) int8
    valid: np.ndarray  # (N, K) bool
    flight_time_s: np.ndarray  # (N,)
    burnout_time_s: np.ndarray  # (N,)

    @property
    def step_s(self) -> float:
        return float(self.time_s[1] - self.time_s[0]) if len(self.time_s) > 1 else 1.0

    def times_utc(self) -> np.ndarray:
        """(N, K) datetime64[ns] of every sample."""
        return self.launch_utc[:, None] + (self.time_s * 1e9).astype("timedelta64[ns]")[None, :]

    @classmethod
    def resample(cls, trajectories: Sequence[ThreatTrajectory], step_s: float) -> ThreatGrid:
        """Cubic Hermite interpolation of position (with the sampled velocities, so a coarse
        integrator output keeps its curvature), linear for velocity, intensity and RCS; the phase
        of the last sample at or before each instant."""
        if not trajectories:
            raise ValueError("no trajectories to resample")
        if not (math.isfinite(step_s) and step_s > 0):
            raise ValueError(f"step_s must be a positive number of seconds, got {step_s!r}")
        horizon = max(t.time_s[-1] for t in trajectories)
        grid = np.arange(0.0, horizon + step_s, step_s)
        n, k = len(trajectories), len(grid)
        pos, vel = np.full((n, k, 3), np.nan), np.full((n, k, 3), np.nan)
        ir, rcs = np.zeros((n, k)), np.zeros((n, k))
        phase, valid = np.full((n, k), -1, dtype=np.int8), np.zeros((n, k), dtype=bool)
        for i, tr in enumerate(trajectories):
            ts = tr.time_s
            inside = grid <= ts[-1]
            g = grid[inside]
            idx = np.clip(np.searchsorted(ts, g, side="right") - 1, 0, len(ts) - 2)
            h = ts[idx + 1] - ts[idx]
            s = ((g - ts[idx]) / h)[:, None]
            p0, p1 = tr.position_ecef_m[idx], tr.position_ecef_m[idx + 1]
            v0, v1 = tr.velocity_ecef_m_s[idx], tr.velocity_ecef_m_s[idx + 1]
            hh = h[:, None]
            h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
            h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
            pos[i, inside] = h00 * p0 + h10 * hh * v0 + h01 * p1 + h11 * hh * v1
            vel[i, inside] = (1 - s) * v0 + s * v1
            sl = s[:, 0]
            ir[i, inside] = (1 - sl) * tr.ir_intensity_w_sr[idx] + sl * tr.ir_intensity_w_sr[idx + 1]
            rcs[i, inside] = (1 - sl) * tr.rcs_m2[idx] + sl * tr.rcs_m2[idx + 1]
            at = np.searchsorted(ts, g, side="right") - 1
            phase[i, inside] = tr.phase[np.clip(at, 0, len(ts) - 1)]
            valid[i, inside] = True
        return cls(
            threat_ids=tuple(t.threat_id for t in trajectories),
            launch_utc=np.array([t.launch_utc for t in trajectories]).astype("datetime64[ns]"),
            time_s=grid,
            position_ecef_m=pos,
            velocity_ecef_m_s=vel,
            ir_intensity_w_sr=ir,
            rcs_m2=rcs,
            phase=phase,
            valid=valid,
            flight_time_s=np.array([t.flight_time_s for t in trajectories]),
            burnout_time_s=np.array([t.burnout_time_s for t in trajectories]),
        )


def stretched(v: np.ndarray) -> np.ndarray:
    """Coordinates in which the WGS-84 ellipsoid is the sphere of radius a."""
    out = np.array(v, dtype=float, copy=True)
    out[..., 2] *= _STRETCH
    return out


def height_m(position_ecef_m: np.ndarray) -> np.ndarray:
    """Height above the ellipsoid in the stretched frame (see the module docstring)."""
    return np.linalg.norm(stretched(position_ecef_m), axis=-1) - WGS84_A_M


@dataclass
class Geometry:
    """Lines of sight from J sensors to N targets at K steps: (N, J, K) arrays."""

    range_m: np.ndarray
    los_unit: np.ndarray  # (N, J, K, 3), sensor -> target
    blocked: np.ndarray  # the Earth lies between sensor and target
    beyond_clearance_m: np.ndarray  # height of the line of sight past the target above the limb


def _norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (einsum: a third of np.linalg.norm's time on big stacks)."""
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def line_of_sight(target_ecef_m: np.ndarray, sensor_ecef_m: np.ndarray) -> Geometry:
    """target (N, K, 3), sensor (N, J, K, 3) or (J, K, 3)."""
    s = sensor_ecef_m if sensor_ecef_m.ndim == 4 else sensor_ecef_m[None]
    rel = target_ecef_m[:, None, :, :] - s
    rng = _norm(rel)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = rel / rng[..., None]
        # Blocking and limb in the stretched frame (ellipsoid -> sphere of radius a).
        ss, rs = stretched(s), stretched(rel)
        rn = _norm(rs)
        us = rs / rn[..., None]
        tc = -np.einsum("...i,...i->...", ss, us)  # closest approach of the line to the centre
        t_seg = np.clip(tc, 0.0, rn)
        d_seg = _norm(ss + t_seg[..., None] * us)
        t_past = np.maximum(tc, rn)
        d_past = _norm(ss + t_past[..., None] * us)
    return Geometry(
        range_m=rng,
        los_unit=u,
        blocked=d_seg < WGS84_A_M - _SURFACE_TOLERANCE_M,
        beyond_clearance_m=d_past - WGS84_A_M,
    )


def rule_masks(
    grid_position_ecef_m: np.ndarray,
    ir_intensity_w_sr: np.ndarray,
    rcs_m2: np.ndarray,
    sensor_ecef_m: np.ndarray,
    table: SensorTable,
    geometry: Geometry | None = None,
) -> dict[str, np.ndarray]:
    """Each rule's pass mask, (N, J, K), and ``detectable`` (all that apply, per sensor kind).

    Infrared: ``earth`` (not blocked), ``field_of_regard``, ``hot_threshold``, ``plume_altitude``,
    ``cold_threshold``, ``limb``; radar: ``radar_horizon`` (elevation band), ``radar_sector``,
    ``radar_range``. A rule that does not apply to a sensor's kind passes."""
    g = geometry or line_of_sight(grid_position_ecef_m, sensor_ecef_m)
    s = sensor_ecef_m if sensor_ecef_m.ndim == 4 else sensor_ecef_m[None]
    r2 = g.range_m**2
    ir = ir_intensity_w_sr[:, None, :]
    radar = table.is_radar[None, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        nadir_cos = -np.einsum("...i,...i->...", s, g.los_unit) / np.linalg.norm(s, axis=-1)
        alt = height_m(grid_position_ecef_m)[:, None, :]
        hot_threshold = ir / r2 >= table.hot_threshold_w_m2[None, :, None]
        cold_threshold = (ir + COLD_BODY_INTENSITY_W_SR) / r2 >= table.cold_threshold_w_m2[None, :, None]
        u = g.los_unit
        el = np.degrees(np.arcsin(np.clip(np.einsum("njki,ji->njk", u, table.site_up), -1, 1)))
        az = np.degrees(
            np.arctan2(
                np.einsum("njki,ji->njk", u, table.site_east), np.einsum("njki,ji->njk", u, table.site_north)
            )
        )
        off = np.abs((az - table.boresight_az_deg[None, :, None] + 180.0) % 360.0 - 180.0)
        reach = np.minimum(
            table.max_range_m[None, :, None],
            table.reference_range_m[None, :, None]
            * (np.maximum(rcs_m2[:, None, :], 0.0) / table.reference_rcs_m2[None, :, None]) ** 0.25,
        )
    masks = {
        "earth": ~g.blocked | radar,
        "field_of_regard": (nadir_cos >= table.cos_for[None, :, None]) | radar,
        "hot_threshold": hot_threshold | radar,
        "plume_altitude": (alt >= table.min_plume_alt_m[None, :, None] - _SURFACE_TOLERANCE_M) | radar,
        "cold_threshold": cold_threshold | radar,
        "limb": (g.beyond_clearance_m >= table.limb_clearance_m[None, :, None]) | radar,
        "radar_horizon": (
            (el >= table.min_elevation_deg[None, :, None]) & (el <= table.max_elevation_deg[None, :, None])
        )
        | ~radar,
        "radar_sector": (off <= table.half_width_deg[None, :, None]) | ~radar,
        "radar_range": (g.range_m <= reach) | ~radar,
    }
    base_ir = masks["earth"] & masks["field_of_regard"]
    hot = base_ir & masks["hot_threshold"] & masks["plume_altitude"]
    cold = base_ir & masks["cold_threshold"] & masks["limb"]
    radar_ok = masks["radar_horizon"] & masks["radar_sector"] & masks["radar_range"]
    masks["detectable"] = np.where(radar, radar_ok, hot | cold)
    return masks


def frame_starts(time_s: np.ndarray, revisit_s: np.ndarray, phase_s: np.ndarray) -> np.ndarray:
    """(N, J, K) bool: step k opens a frame of sensor j for launch n (its look).

    Frames of sensor j begin at launch + m * revisit - phase (phase in [0, revisit)); the look of a
    frame happens at the first grid step at or after its start."""
    f = np.floor((time_s[None, None, :] + phase_s[:, :, None]) / revisit_s[None, :, None])
    starts = np.ones(f.shape, dtype=bool)
    starts[..., 1:] = f[..., 1:] != f[..., :-1]
    return starts


def hold(looks: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each look's result carried to the sensor's next look: (N, J, K)."""
    k = np.arange(looks.shape[-1])
    last = np.maximum.accumulate(np.where(starts, k, 0), axis=-1)
    return np.take_along_axis(looks, last, axis=-1)


@dataclass
class Detections:
    """What every sensor saw: ``looked`` (a frame opened this step and the target was detectable
    then), ``held`` (the sensor's latest look saw the target), and the lines of sight."""

    looked: np.ndarray  # (N, J, K) bool
    held: np.ndarray  # (N, J, K) bool
    range_m: np.ndarray
    los_unit: np.ndarray

    def first_look_s(self, time_s: np.ndarray) -> np.ndarray:
        """(N, J) time of each sensor's first detection, NaN if never."""
        any_ = self.looked.any(axis=-1)
        first = np.argmax(self.looked, axis=-1)
        return np.where(any_, time_s[first], np.nan)


def detect(
    grid: ThreatGrid,
    table: SensorTable,
    sensor_ecef_m: np.ndarray,
    phase_s: np.ndarray | None = None,
) -> Detections:
    """Detections of N gridded threats by J sensors: ``sensor_ecef_m`` (N, J, K, 3) (space sensors
    at each launch's own instants) or (J, K, 3) (one instant per step for all); ``phase_s`` (N, J)
    frame phases in [0, revisit) (default 0: a frame opens at launch)."""
    n, j = grid.position_ecef_m.shape[0], len(table)
    geometry = line_of_sight(grid.position_ecef_m, sensor_ecef_m)
    masks = rule_masks(
        grid.position_ecef_m, grid.ir_intensity_w_sr, grid.rcs_m2, sensor_ecef_m, table, geometry
    )
    detectable = masks["detectable"] & grid.valid[:, None, :]
    phase = np.zeros((n, j)) if phase_s is None else phase_s
    starts = frame_starts(grid.time_s, table.revisit_s, phase)
    looked = detectable & starts
    held = hold(looked, starts) & grid.valid[:, None, :]
    return Detections(looked=looked, held=held, range_m=geometry.range_m, los_unit=geometry.los_unit)
