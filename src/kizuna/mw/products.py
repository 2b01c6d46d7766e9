"""Missile-warning products: the payloads of a launch event, a track update and an impact
prediction (plain JSON-ready dicts; the share layer marks, signs and publishes them), and the
replay that turns a simulated flight into the sequence of those products a node would publish.

Payloads. Times are ISO-8601 UTC with a Z; positions both geodetic (degrees, km) and Earth-fixed
(WGS-84 ECEF metres), covariances in the units of their state; every number finite (a product
refuses NaN). ``synthetic`` says the product comes from a replay, never from a sensor.

Replay. A flight (:class:`~kizuna.model.missile.ThreatTrajectory`) is observed every ``frame_s``
by a replay input: a pair of geostationary staring sensors (:func:`replay_sensor_pair`) that see
the object whenever the Earth does not block the line of sight, with isotropic angular noise. It is
a stand-in for a warning architecture, chosen so a replay exercises the products end to end; the
architectures themselves (what sees a cold re-entry vehicle, and when) are the assessment's. The
launch is detected at the first frame the boost plume is seen above the cloud tops
(``DETECT_ALT_M``); each frame with two lines of sight gives a triangulated fix
(:func:`kizuna.mw.tracking.triangulate_batch`) that updates the track filter; track updates go out
every ``track_interval_s``; an impact prediction goes out when the first one is tighter than
``first_ellipse_max_km`` and after that whenever its ellipse has shrunk below ``firm_ratio`` of the
last one sent or its point has moved by more than the last ellipse's semi-major axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kizuna.model.missile import PHASE_BOOST, ThreatTrajectory
from kizuna.mw.impact import DEFAULT_CONFIDENCE, ImpactPrediction, predict_impact_batch
from kizuna.mw.tracking import (
    ACCEL_PSD_BOOST_M2_S3,
    ACCEL_PSD_COAST_M2_S3,
    track_predict,
    track_start,
    track_update,
    triangulate_batch,
)
from kizuna.mw.trajectory import WGS84_A_M, WGS84_F, ecef_to_geodetic, geodetic_to_ecef

MW_PRODUCT_TYPES = ("launch_event", "track_update", "impact_prediction")
GEO_ALT_M = 35_786_000.0
DETECT_ALT_M = 12_000.0  # a plume is seen once it clears the cloud tops (a replay rule, stated)
REENTRY_Q_ALT_M = 100_000.0  # below this the filter's coast model misses drag: boost-size noise


def _iso(t: np.datetime64) -> str:
    return f"{np.datetime_as_string(np.asarray(t).astype('datetime64[ms]'), unit='ms')}Z"


def _r(x: Any, nd: int) -> float:
    return round(float(x), nd)


def _geodetic(r_m: np.ndarray) -> dict[str, float]:
    lat, lon, h = ecef_to_geodetic(np.asarray(r_m, dtype=float))
    return {"lat_deg": _r(lat, 5), "lon_deg": _r(lon, 5), "alt_km": _r(h / 1000.0, 3)}


def launch_event_payload(
    track_id: str,
    detected_utc: np.datetime64,
    *,
    fix_ecef_m: np.ndarray | None = None,
    fix_cov_m2: np.ndarray | None = None,
    sensors: tuple[str, ...] = (),
    synthetic: bool = False,
) -> dict[str, object]:
    """A launch event: when the launch was detected, by which sensors, and where the first fix
    puts the missile (omitted when the detection has no stereo fix yet)."""
    out: dict[str, object] = {
        "product_type": "launch_event",
        "track_id": track_id,
        "detected_utc": _iso(detected_utc),
        "sensors": list(sensors),
        "synthetic": synthetic,
    }
    if fix_ecef_m is not None and fix_cov_m2 is not None:
        out["first_fix"] = {
            **_geodetic(fix_ecef_m),
            "position_ecef_m": [_r(c, 1) for c in fix_ecef_m],
            "position_sigma_m": _r(np.sqrt(np.trace(fix_cov_m2)), 1),
        }
    return out


def track_update_payload(
    track_id: str,
    seq: int,
    t_utc: np.datetime64,
    state: np.ndarray,
    covariance: np.ndarray,
    *,
    fixes: int,
    boosting: bool,
    synthetic: bool = False,
) -> dict[str, object]:
    """A track update: the filtered Earth-fixed state and its 6x6 covariance (m, m/s)."""
    x = np.asarray(state, dtype=float)
    p = np.asarray(covariance, dtype=float)
    return {
        "product_type": "track_update",
        "track_id": track_id,
        "seq": int(seq),
        "t_utc": _iso(t_utc),
        **_geodetic(x[:3]),
        "speed_m_s": _r(np.linalg.norm(x[3:]), 2),
        "position_ecef_m": [_r(c, 1) for c in x[:3]],
        "velocity_ecef_m_s": [_r(c, 3) for c in x[3:]],
        "covariance": [[float(f"{v:.6g}") for v in row] for row in p],
        "position_sigma_m": _r(np.sqrt(max(np.trace(p[:3, :3]), 0.0)), 1),
        "velocity_sigma_m_s": _r(np.sqrt(max(np.trace(p[3:, 3:]), 0.0)), 3),
        "fixes": int(fixes),
        "boosting": bool(boosting),
        "synthetic": synthetic,
    }


def impact_prediction_payload(
    track_id: str,
    seq: int,
    t_utc: np.datetime64,
    prediction: ImpactPrediction,
    *,
    thrusting: bool = False,
    synthetic: bool = False,
) -> dict[str, object]:
    """An impact prediction: point, time, warning time left and the containment ellipse.
    ``thrusting`` marks an instantaneous impact point (where it would land if thrust stopped now),
    which moves downrange until burnout."""
    if not prediction.impacts:
        raise ValueError("an impact prediction product needs a state that impacts")
    return {
        "product_type": "impact_prediction",
        "track_id": track_id,
        "seq": int(seq),
        "predicted_at_utc": _iso(t_utc),
        "impact_lat_deg": _r(prediction.impact_lat_deg, 5),
        "impact_lon_deg": _r(prediction.impact_lon_deg, 5),
        "impact_time_utc": _iso(prediction.impact_time_utc),
        "warning_time_s": _r(prediction.time_to_impact_s, 1),
        "ellipse": {
            "confidence": prediction.confidence,
            "semi_major_km": _r(prediction.semi_major_km, 3),
            "semi_minor_km": _r(prediction.semi_minor_km, 3),
            "orientation_deg": _r(prediction.orientation_deg, 2),
        },
        "impact_time_sigma_s": _r(prediction.impact_time_sigma_s, 2),
        "method": "ballistic coast (WGS-84, J2, rotating frame, no drag); ellipse by linearisation",
        "thrusting": bool(thrusting),
        "synthetic": synthetic,
    }


# ---------------------------------------------------------------- replay
@dataclass(frozen=True, eq=False)
class ReplaySensors:
    """Replay input: fixed Earth-fixed sensor positions (K, 3) with their angular noise (K,)."""

    names: tuple[str, ...]
    position_ecef_m: np.ndarray
    sigma_rad: np.ndarray


def replay_sensor_pair(
    launch_lon_deg: float, separation_deg: float = 60.0, sigma_rad: float = 30e-6
) -> ReplaySensors:
    """Two geostationary staring sensors straddling the launch longitude (a geostationary satellite
    is fixed in the Earth-fixed frame). A replay input, not a modelled architecture."""
    lons = [launch_lon_deg - separation_deg / 2.0, launch_lon_deg + separation_deg / 2.0]
    pos = np.stack([geodetic_to_ecef(0.0, lon, GEO_ALT_M) for lon in lons])
    names = tuple(f"replay-geo-{((lon + 540.0) % 360.0) - 180.0:+.1f}" for lon in lons)
    return ReplaySensors(names, pos, np.full(2, sigma_rad))


def line_of_sight_clear(sensor_ecef_m: np.ndarray, target_ecef_m: np.ndarray) -> np.ndarray:
    """True where the segment sensor -> target misses the WGS-84 ellipsoid; (..., 3) broadcast."""
    scale = np.array([1.0, 1.0, 1.0 / (1.0 - WGS84_F)]) / WGS84_A_M  # ellipsoid -> unit sphere
    s = np.asarray(sensor_ecef_m, dtype=float) * scale
    t = np.asarray(target_ecef_m, dtype=float) * scale
    d = t - s
    dd = np.sum(d * d, axis=-1)
    tau = np.clip(-np.sum(s * d, axis=-1) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    closest = s + tau[..., None] * d
    return np.asarray(np.sum(closest * closest, axis=-1) > 1.0)


@dataclass(frozen=True)
class WarningProduct:
    """One product of a replay: when (seconds since launch, and UTC), its type and payload."""

    time_s: float
    t_utc: np.datetime64
    type: str
    payload: dict[str, object]


def _sample(traj: ThreatTrajectory, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite interpolation of the flight's positions (and velocities) at ``t_s``."""
    ts = traj.time_s
    i = np.clip(np.searchsorted(ts, t_s, side="right") - 1, 0, len(ts) - 2)
    h = ts[i + 1] - ts[i]
    tau = ((t_s - ts[i]) / h)[:, None]
    r0, r1 = traj.position_ecef_m[i], traj.position_ecef_m[i + 1]
    v0, v1 = traj.velocity_ecef_m_s[i], traj.velocity_ecef_m_s[i + 1]
    hh = h[:, None]
    pos = (
        (2 * tau**3 - 3 * tau**2 + 1) * r0
        + (tau**3 - 2 * tau**2 + tau) * hh * v0
        + (-2 * tau**3 + 3 * tau**2) * r1
        + (tau**3 - tau**2) * hh * v1
    )
    vel = (1 - tau) * v0 + tau * v1
    return pos, vel


def replay_products(
    traj: ThreatTrajectory,
    sensors: ReplaySensors,
    *,
    frame_s: float = 2.0,
    track_interval_s: float = 10.0,
    firm_ratio: float = 0.7,
    first_ellipse_max_km: float = 200.0,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    track_id: str | None = None,
) -> list[WarningProduct]:
    """The warning products a node would publish while ``traj`` flies (see the module docstring),
    in time order."""
    if not 0.0 < frame_s <= track_interval_s:
        raise ValueError("frame_s must be positive and no longer than track_interval_s")
    if not 0.0 < firm_ratio < 1.0:
        raise ValueError("firm_ratio must be in (0, 1)")
    rng = np.random.default_rng(seed)
    tid = track_id or f"track-{traj.threat_id}"
    t = np.arange(0.0, traj.time_s[-1], frame_s)
    pos, _ = _sample(traj, t)
    idx = np.clip(np.searchsorted(traj.time_s, t, side="right") - 1, 0, len(traj.time_s) - 1)
    plume = traj.ir_intensity_w_sr[idx] > 0.0
    boost = traj.phase[idx] == PHASE_BOOST
    _, _, alt = ecef_to_geodetic(pos)
    s = sensors.position_ecef_m
    clear = line_of_sight_clear(s[None, :, :], pos[:, None, :])  # (T, K)
    u = pos[:, None, :] - s[None]
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    # isotropic angular noise on the two axes perpendicular to each line of sight
    a = np.cross(u, np.array([0.0, 0.0, 1.0]))
    a /= np.linalg.norm(a, axis=-1, keepdims=True)
    b = np.cross(u, a)
    e = rng.standard_normal(u.shape[:2] + (2,)) * sensors.sigma_rad[None, :, None]
    los = u + e[..., :1] * a + e[..., 1:] * b
    los /= np.linalg.norm(los, axis=-1, keepdims=True)
    fix, fix_cov, ok = triangulate_batch(
        np.broadcast_to(s, u.shape).copy(),
        los,
        np.broadcast_to(sensors.sigma_rad, clear.shape).copy(),
        valid=clear,
    )
    seen = np.flatnonzero(plume & (alt >= DETECT_ALT_M) & clear.any(axis=1))
    if seen.size == 0:
        return []
    t0_utc = traj.launch_utc.astype("datetime64[ns]")

    def utc(ts: float) -> np.datetime64:
        return t0_utc + np.timedelta64(int(round(ts * 1e9)), "ns")

    k_det = int(seen[0])
    who = tuple(n for n, c in zip(sensors.names, clear[k_det], strict=True) if c)
    out = [
        WarningProduct(
            float(t[k_det]),
            utc(t[k_det]),
            "launch_event",
            launch_event_payload(
                tid,
                utc(t[k_det]),
                fix_ecef_m=fix[k_det] if ok[k_det] else None,
                fix_cov_m2=fix_cov[k_det] if ok[k_det] else None,
                sensors=who,
                synthetic=True,
            ),
        )
    ]
    # the track: fixes from detection on
    frames = [k for k in range(k_det, len(t)) if ok[k]]
    if len(frames) < 2:
        return out
    k1, k2 = frames[0], frames[1]
    x, p = track_start(
        fix[k1], fix_cov[k1], fix[k2], fix_cov[k2], float(t[k2] - t[k1]), ACCEL_PSD_BOOST_M2_S3
    )
    last_t, n_fix = float(t[k2]), 2
    states, covs, times, fixes_n, boosting = [], [], [], [], []
    next_pub = float(t[k2])
    for k in frames[2:]:
        _, _, est_alt = ecef_to_geodetic(x[0, :3])
        q = (
            ACCEL_PSD_BOOST_M2_S3
            if (plume[k] or boost[k] or est_alt < REENTRY_Q_ALT_M)
            else ACCEL_PSD_COAST_M2_S3
        )
        x, p = track_predict(x, p, float(t[k]) - last_t, q)
        x, p, _ = track_update(x, p, fix[k], fix_cov[k])
        last_t, n_fix = float(t[k]), n_fix + 1
        if last_t + 1e-9 >= next_pub:
            states.append(x[0])
            covs.append(p[0])
            times.append(last_t)
            fixes_n.append(n_fix)
            boosting.append(bool(plume[k]))
            next_pub = last_t + track_interval_s
    if not states:
        return out
    st = np.array(states)
    pred = predict_impact_batch(utc(times[0]), st[:, :3], st[:, 3:], np.array(covs), confidence=confidence)
    last_major = np.inf
    last_point: np.ndarray | None = None
    n_impact = 0
    for j, ts in enumerate(times):
        out.append(
            WarningProduct(
                ts,
                utc(ts),
                "track_update",
                track_update_payload(
                    tid,
                    j + 1,
                    utc(ts),
                    st[j],
                    covs[j],
                    fixes=fixes_n[j],
                    boosting=boosting[j],
                    synthetic=True,
                ),
            )
        )
        major = float(pred.semi_major_km[j])
        if not np.isfinite(major) or pred.time_to_impact_s[j] <= 0.0:
            continue
        point = pred.impact_ecef_m[j]
        moved_km = np.inf if last_point is None else float(np.linalg.norm(point - last_point)) / 1000.0
        first = last_point is None and major <= first_ellipse_max_km
        firmer = last_point is not None and (major <= firm_ratio * last_major or moved_km > last_major)
        if not (first or firmer):
            continue
        n_impact += 1
        tof = float(pred.time_to_impact_s[j])
        ip = ImpactPrediction(
            impact_lat_deg=float(pred.impact_lat_deg[j]),
            impact_lon_deg=float(pred.impact_lon_deg[j]),
            impact_time_utc=utc(ts + tof),
            time_to_impact_s=tof,
            semi_major_km=major,
            semi_minor_km=float(pred.semi_minor_km[j]),
            orientation_deg=float(pred.orientation_deg[j]),
            confidence=confidence,
            impact_time_sigma_s=float(pred.impact_time_sigma_s[j]),
            covariance_en_km2=pred.covariance_en_km2[j],
        )
        out.append(
            WarningProduct(
                ts,
                utc(ts),
                "impact_prediction",
                impact_prediction_payload(tid, n_impact, utc(ts), ip, thrusting=boosting[j], synthetic=True),
            )
        )
        last_major, last_point = major, point
    return out


__all__ = [
    "DETECT_ALT_M",
    "MW_PRODUCT_TYPES",
    "ReplaySensors",
    "WarningProduct",
    "impact_prediction_payload",
    "launch_event_payload",
    "line_of_sight_clear",
    "replay_products",
    "replay_sensor_pair",
    "track_update_payload",
]
