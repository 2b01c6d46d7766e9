"""Typed missile-warning records: a threat trajectory sampled in time, shared by the trajectory
generator (``mw/trajectory``), the sensor and tracking analysis (``mw/sensors``, ``mw/tracking``,
``mw/assess``) and the warning products.

Positions and velocities are Earth-fixed (ITRF/WGS-84 ECEF, metres and metres per second) because
launch sites, radars and impact points are Earth-fixed; a space sensor's position is rotated into
the same frame before any geometry. Time is seconds since launch (``time_s``) plus one absolute
``launch_utc``. Units live in the names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Flight phases, one int8 code per sample. Boost ends at burnout of the last stage; a ballistic
# missile then coasts (midcourse) until it re-enters below REENTRY_ALT_M; a glide vehicle glides
# from pull-up until impact.
PHASE_BOOST = 0
PHASE_MIDCOURSE = 1
PHASE_GLIDE = 2
PHASE_REENTRY = 3
PHASE_NAMES = ("boost", "midcourse", "glide", "reentry")
REENTRY_ALT_M = 100_000.0

THREAT_CLASSES = ("SRBM", "MRBM", "IRBM", "ICBM", "HGV")


@dataclass(frozen=True, eq=False)
class ThreatTrajectory:
    """One flight from launch to impact, sampled at ``time_s`` (strictly increasing, starting at 0).

    ``ir_intensity_w_sr`` is the plume's in-band radiant intensity seen by a short-wave infrared
    sensor (zero after burnout for a ballistic missile; a glide vehicle's hot body is small but not
    zero). ``rcs_m2`` is the radar cross-section of what a radar would track (booster, then
    re-entry vehicle). ``profile`` names how the flight was shaped: ``minimum_energy``, ``lofted``,
    ``depressed`` or ``glide``.
    """

    threat_id: str
    threat_class: str
    profile: str
    launch_utc: np.datetime64
    launch_lat_deg: float
    launch_lon_deg: float
    impact_lat_deg: float
    impact_lon_deg: float
    time_s: np.ndarray  # (N,) float64 seconds since launch
    position_ecef_m: np.ndarray  # (N, 3) float64
    velocity_ecef_m_s: np.ndarray  # (N, 3) float64
    phase: np.ndarray  # (N,) int8, PHASE_* codes
    ir_intensity_w_sr: np.ndarray  # (N,) float64
    rcs_m2: np.ndarray  # (N,) float64
    burnout_time_s: float
    apogee_km: float
    ground_range_km: float
    flight_time_s: float

    def __post_init__(self) -> None:
        n = self.time_s.shape[0]
        if n < 2 or self.time_s[0] != 0.0 or not np.all(np.diff(self.time_s) > 0):
            raise ValueError(f"{self.threat_id}: time_s must start at 0 and increase strictly")
        for name in ("position_ecef_m", "velocity_ecef_m_s"):
            if getattr(self, name).shape != (n, 3):
                raise ValueError(f"{self.threat_id}: {name} must be ({n}, 3)")
        for name in ("phase", "ir_intensity_w_sr", "rcs_m2"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{self.threat_id}: {name} must be ({n},)")
        if self.threat_class not in THREAT_CLASSES:
            raise ValueError(
                f"{self.threat_id}: threat_class {self.threat_class!r} not one of {THREAT_CLASSES}"
            )

    @property
    def time_utc(self) -> np.ndarray:
        """Sample times as UTC ``datetime64[ns]``."""
        return self.launch_utc.astype("datetime64[ns]") + (self.time_s * 1e9).astype("timedelta64[ns]")
