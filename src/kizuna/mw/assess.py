"""Which architecture sees what, how fast and how well: per threat x architecture, over a Monte
Carlo of launches (launch time and azimuth are drawn by the trajectory generator; the frame
phase of every scanning sensor is drawn here, since a launch does not wait for a scan).

For each launch, from :func:`kizuna.mw.detection.detect` on a common grid of ``step_s``:

- time from launch to first detection (any sensor's first look that sees it);
- time to a stereo track: two or more sensors holding the target at once (a radar counts as a
  sensor; one radar alone also measures range, so it gives a 3-D fix and counts as tracked);
- track continuity: per flight phase (boost, midcourse, glide, re-entry), the fraction of that
  phase's steps with a 3-D fix;
- track accuracy: the position covariance of the fix triangulated from the held lines of sight,
  P = (sum_j (I - u u^T) / (rho_j^2 sigma_j^2) + radar u u^T / sigma_r^2)^-1 (the information
  form of the least-squares line-of-sight intersection, Bar-Shalom, Li & Kirubarajan, "Estimation
  with Applications to Tracking and Navigation", 2001, sec. 3.4), and of the velocity from a
  least-squares straight-line fit over the last ``fit_window_s`` of fixes (each look counted once:
  a sensor's information enters each step weighted by step / revisit);
- predicted impact point and its ellipse as they evolve: every ``impact_every_s`` along a
  coasting 3-D track, from the track's state and covariance by :mod:`kizuna.mw.impact`;
- warning time left at the target: flight time minus the time of the first stereo track, and the
  time to impact left when the impact ellipse first shrinks to ``warning_ellipse_km``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kizuna.model.missile import (
    PHASE_BOOST,
    PHASE_GLIDE,
    PHASE_MIDCOURSE,
    PHASE_NAMES,
    PHASE_REENTRY,
    ThreatTrajectory,
)
from kizuna.mw.detection import Detections, SensorTable, ThreatGrid, detect
from kizuna.mw.sensors import Architecture, sensor_positions_ecef_m

#: elements (launches x sensors x steps) per chunk: about 0.5 GB of working arrays at the peak
DEFAULT_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class AssessConfig:
    """Settings of one assessment.

    ``step_s``: the common grid; looks of faster sensors fall on it (a 1 s frame is seen every
    step when step_s >= 1). ``fit_window_s``: how much track history the velocity fit uses."""

    step_s: float = 2.0
    fit_window_s: float = 20.0
    #: orbiting sensors are propagated every this many seconds and interpolated between (None:
    #: SGP4 at every step); see kizuna.mw.sensors.sensor_positions_ecef_m
    sensor_knot_s: float | None = 30.0
    #: how often the impact point is predicted along a coasting track
    impact_every_s: float = 60.0
    #: an impact prediction is a warning a target can act on once its ellipse's semi-major axis
    #: (at kizuna.mw.impact's confidence, 95%) is this small: a city and its surroundings
    warning_ellipse_km: float = 50.0
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS

    def __post_init__(self) -> None:
        for name in ("step_s", "fit_window_s", "impact_every_s", "warning_ellipse_km"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")


@dataclass
class Assessment:
    """Per-launch results of one architecture against N launches (arrays of length N)."""

    architecture: str
    threat_ids: tuple[str, ...]
    flight_time_s: np.ndarray
    first_detection_s: np.ndarray  # NaN: never detected
    first_sensor: list[str]
    stereo_s: np.ndarray  # NaN: never a stereo/3-D track
    tracked_fraction: np.ndarray  # (N, len(PHASE_NAMES)), NaN where the flight has no such phase
    position_sigma_km: np.ndarray  # (N, phases) median 1-sigma RSS position error over tracked steps
    velocity_sigma_m_s: np.ndarray  # (N, phases) median 1-sigma RSS velocity error
    warning_time_s: np.ndarray  # flight time - stereo_s
    track_position_sigma_km: np.ndarray  # (N,) median over every tracked step
    track_velocity_sigma_m_s: np.ndarray  # (N,) median over tracked steps after burnout
    impact_semi_major_km: np.ndarray  # (N, E) ellipse semi-major axis at each impact epoch
    impact_miss_km: np.ndarray  # (N, E) predicted impact point's distance from the true one
    impact_epochs_s: np.ndarray  # (E,) seconds after launch
    impact_call_s: np.ndarray  # (N,) first epoch with an ellipse <= warning_ellipse_km
    impact_warning_s: np.ndarray  # (N,) time to impact left at that epoch
    sensors_used: int
    elements: int  # launches x sensors x steps evaluated
    extra: dict[str, object] = field(default_factory=dict)


def _fit_factors(
    run_steps: np.ndarray, window_steps: int, step_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variance factors of a least-squares line through n equally spaced fixes of unit variance
    (n = min(run, window)), at its last fix: (endpoint position, position-slope covariance, slope)
    = (S2, -S1, S0) / D with S0 = n, S1 = sum x, S2 = sum x^2, D = S0 S2 - S1^2,
    x = 0, -dt, ..., -(n-1) dt. Fewer than two fixes: no slope (inf)."""
    n = np.minimum(run_steps, window_steps).astype(float)
    s0 = n
    s1 = -step_s * n * (n - 1) / 2.0
    s2 = step_s**2 * (n - 1) * n * (2 * n - 1) / 6.0
    d = s0 * s2 - s1**2
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = np.where(n >= 2, s2 / d, np.where(n >= 1, 1.0, np.inf))
        cross = np.where(n >= 2, -s1 / d, np.inf)
        vel = np.where(n >= 2, s0 / d, np.inf)
    return pos, cross, vel


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each position along the last axis (0 where False)."""
    k = np.arange(flags.shape[-1])
    last_false = np.maximum.accumulate(np.where(~flags, k, -1), axis=-1)
    return np.where(flags, k - last_false, 0)


def track_information(
    det: Detections, table: SensorTable, step_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(info_fix, info_rate, tracked) over (N, K): the information matrix (3x3, 1/m^2) of the fix
    from every held line of sight, the same with each sensor weighted by step / revisit (new
    information per step), and whether the fix is 3-D (two or more sensors, or one radar)."""
    held = det.held.astype(float)
    u = det.los_unit
    with np.errstate(invalid="ignore"):
        w_ang = held / (det.range_m**2 * table.sigma_rad[None, :, None] ** 2)
    w_ang = np.nan_to_num(w_ang)
    w_rng = held * (table.is_radar[None, :, None] / table.sigma_range_m[None, :, None] ** 2)
    uu = np.nan_to_num(np.einsum("njka,njkb->njkab", u, u))
    eye = np.eye(3)
    per_sensor = w_ang[..., None, None] * (eye - uu) + w_rng[..., None, None] * uu
    info_fix = per_sensor.sum(axis=1)
    rate = np.minimum(1.0, step_s / table.revisit_s)[None, :, None, None, None]
    info_rate = (per_sensor * rate).sum(axis=1)
    n_held = det.held.sum(axis=1)
    radar_held = (det.held & table.is_radar[None, :, None]).any(axis=1)
    tracked = (n_held >= 2) | radar_held
    return info_fix, info_rate, tracked


def _safe_inv(m: np.ndarray, ok: np.ndarray) -> np.ndarray:
    out = np.full(m.shape, np.nan)
    if ok.any():
        good = ok & (np.linalg.det(m) > 0)
        out[good] = np.linalg.inv(m[good])
    return out


def assess_grid(
    grid: ThreatGrid,
    table: SensorTable,
    sensor_ecef_m: np.ndarray,
    phase_s: np.ndarray,
    config: AssessConfig,
    rng: np.random.Generator | None = None,
    impact_true_ecef_m: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The per-launch metrics of one chunk (see the module docstring)."""
    det = detect(grid, table, sensor_ecef_m, phase_s)
    n = grid.position_ecef_m.shape[0]
    t = grid.time_s
    first = det.first_look_s(t)  # (N, J)
    first_any = np.nanmin(np.where(np.isnan(first), np.inf, first), axis=1)
    first_any = np.where(np.isinf(first_any), np.nan, first_any)
    first_j = np.argmin(np.where(np.isnan(first), np.inf, first), axis=1)
    info_fix, info_rate, tracked = track_information(det, table, grid.step_s)
    tracked &= grid.valid
    stereo = np.where(tracked.any(axis=1), t[np.argmax(tracked, axis=1)], np.nan)
    p_fix = _safe_inv(info_fix, tracked)
    p_step = _safe_inv(info_rate, tracked)
    pos_sigma_km = np.sqrt(np.trace(p_fix, axis1=-2, axis2=-1)) / 1000.0
    window = max(2, round(config.fit_window_s / grid.step_s) + 1)
    pos_factor, cross_factor, vel_factor = _fit_factors(_run_lengths(tracked), window, grid.step_s)
    with np.errstate(invalid="ignore"):
        vel_sigma = np.sqrt(np.trace(p_step, axis1=-2, axis2=-1) * vel_factor)
    phases = len(PHASE_NAMES)
    frac = np.full((n, phases), np.nan)
    pos_med = np.full((n, phases), np.nan)
    vel_med = np.full((n, phases), np.nan)
    for p in range(phases):
        in_phase = (grid.phase == p) & grid.valid
        count = in_phase.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac[:, p] = np.where(count > 0, (tracked & in_phase).sum(axis=1) / count, np.nan)
        sel = tracked & in_phase
        pos_med[:, p] = _row_median(pos_sigma_km, sel)
        vel_med[:, p] = _row_median(vel_sigma, sel & np.isfinite(vel_sigma))
    impact = _impact_predictions(
        grid, tracked, p_step, pos_factor, cross_factor, vel_factor, config, rng, impact_true_ecef_m
    )
    return {
        **impact,
        "first_detection_s": first_any,
        "first_sensor": np.where(np.isnan(first_any), -1, first_j),
        "stereo_s": stereo,
        "tracked_fraction": frac,
        "position_sigma_km": pos_med,
        "velocity_sigma_m_s": vel_med,
        "track_position_sigma_km": _row_median(pos_sigma_km, tracked),
        # A straight-line fit through powered flight is not a velocity: coasting steps only.
        "track_velocity_sigma_m_s": _row_median(
            vel_sigma, tracked & (grid.phase != PHASE_BOOST) & np.isfinite(vel_sigma)
        ),
    }


def impact_epochs_s(config: AssessConfig, horizon_s: float) -> np.ndarray:
    """Seconds after launch at which the impact point is predicted (every impact_every_s)."""
    return np.arange(config.impact_every_s, horizon_s + config.impact_every_s, config.impact_every_s)


def _impact_predictions(
    grid: ThreatGrid,
    tracked: np.ndarray,
    p_step: np.ndarray,
    pos_factor: np.ndarray,
    cross_factor: np.ndarray,
    vel_factor: np.ndarray,
    config: AssessConfig,
    rng: np.random.Generator | None,
    impact_true_ecef_m: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Predicted impact points and ellipses at each epoch of :func:`impact_epochs_s` where the
    flight coasts ballistically (midcourse or re-entry) under a 3-D track with a velocity.

    The estimated state is the true one plus a draw from the track covariance
    [[a P, b P], [b P, c P]] (a, b, c from the straight-line fit, P the per-step fix covariance),
    so a prediction misses the true impact point as an estimate from that track would; the
    ellipse is :func:`kizuna.mw.impact.predict_impact_batch`'s at its stated confidence. A flight
    with a glide phase gets none: a ballistic prediction says nothing of where a glide vehicle,
    which pulls up and manoeuvres, comes down (its warning is the stereo track's alone)."""
    from kizuna.mw.impact import predict_impact_batch

    n = grid.position_ecef_m.shape[0]
    epochs = impact_epochs_s(config, float(grid.time_s[-1]))
    k_of = np.clip(np.round(epochs / grid.step_s).astype(int), 0, len(grid.time_s) - 1)
    major = np.full((n, len(epochs)), np.nan)
    miss = np.full((n, len(epochs)), np.nan)
    togo = np.full((n, len(epochs)), np.nan)
    ki = k_of[None, :].repeat(n, axis=0)
    ni = np.arange(n)[:, None].repeat(len(epochs), axis=1)
    ph = grid.phase[ni, ki]
    gliding = (grid.phase == PHASE_GLIDE).any(axis=1)
    usable = (
        ~gliding[:, None]
        & tracked[ni, ki]
        & ((ph == PHASE_MIDCOURSE) | (ph == PHASE_REENTRY))
        & np.isfinite(vel_factor[ni, ki])
        & np.all(np.isfinite(p_step[ni, ki]), axis=(-2, -1))
    )
    if usable.any():
        sel_n, sel_e = np.nonzero(usable)
        sel_k = k_of[sel_e]
        p = p_step[sel_n, sel_k]
        a, b, c = (f[sel_n, sel_k][:, None, None] for f in (pos_factor, cross_factor, vel_factor))
        cov6 = np.block([[a * p, b * p], [b * p, c * p]])
        cov6 = 0.5 * (cov6 + np.swapaxes(cov6, -1, -2))
        r = grid.position_ecef_m[sel_n, sel_k]
        v = grid.velocity_ecef_m_s[sel_n, sel_k]
        if rng is not None:
            chol = np.linalg.cholesky(cov6 + np.eye(6) * 1e-9)
            draw = np.einsum("mij,mj->mi", chol, rng.standard_normal((len(sel_n), 6)))
            r, v = r + draw[:, :3], v + draw[:, 3:]
        batch = predict_impact_batch(np.datetime64("2026-01-01T00:00:00", "ns"), r, v, cov6)
        major[sel_n, sel_e] = batch.semi_major_km
        togo[sel_n, sel_e] = batch.time_to_impact_s
        if impact_true_ecef_m is not None:
            miss[sel_n, sel_e] = (
                np.linalg.norm(batch.impact_ecef_m - impact_true_ecef_m[sel_n], axis=1) / 1000.0
            )
    good = major <= config.warning_ellipse_km
    first = np.argmax(good, axis=1)
    has = good.any(axis=1)
    rows = np.arange(n)
    return {
        "impact_semi_major_km": major,
        "impact_miss_km": miss,
        "impact_warning_s": np.where(has, togo[rows, first], np.nan),
        "impact_call_s": np.where(has, epochs[first], np.nan),
    }


def _row_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        masked = np.where(mask, values, np.nan)
    out = np.full(values.shape[0], np.nan)
    rows = mask.any(axis=1)
    if rows.any():
        out[rows] = np.nanmedian(masked[rows], axis=1)
    return out


def assess(
    trajectories: Sequence[ThreatTrajectory],
    architecture: Architecture,
    *,
    config: AssessConfig | None = None,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Assessment:
    """Assess one architecture against a batch of launches (each with its own launch time).

    Work runs in chunks of launches so that launches x sensors x steps stays below
    ``config.chunk_elements``; ``progress(k)`` is called with the launches finished per chunk."""
    config = config or AssessConfig()
    if not trajectories:
        raise ValueError("no launches to assess")
    sensors = architecture.sensors
    table = SensorTable.from_sensors(sensors)
    rng = np.random.default_rng(seed)
    n, j = len(trajectories), len(sensors)
    # Drawn sensor-major, so that a sensor keeps its phases in every architecture it belongs to
    # (architectures list their common layers first): adding sensors never changes the others.
    phase_all = rng.uniform(0.0, 1.0, size=(j, n)).T * table.revisit_s[None, :]
    steps = int(max(t.time_s[-1] for t in trajectories) // config.step_s) + 2
    per_chunk = max(1, config.chunk_elements // max(1, j * steps))
    parts: list[dict[str, np.ndarray]] = []
    elements = 0
    for start in range(0, n, per_chunk):
        batch = trajectories[start : start + per_chunk]
        grid = ThreatGrid.resample(batch, config.step_s)
        times = grid.times_utc()  # (n, K)
        nb, k = times.shape
        flat = times.reshape(-1)
        order = np.argsort(flat, kind="stable")
        sorted_pos = sensor_positions_ecef_m(sensors, flat[order], interpolate_s=config.sensor_knot_s)
        pos_flat = np.empty_like(sorted_pos)
        pos_flat[:, order] = sorted_pos
        pos = pos_flat.reshape(j, nb, k, 3).transpose(1, 0, 2, 3)
        truth = np.stack([t.position_ecef_m[-1] for t in batch])
        parts.append(assess_grid(grid, table, pos, phase_all[start : start + nb], config, rng, truth))
        elements += nb * j * k
        if progress:
            progress(nb)
    epochs = impact_epochs_s(config, steps * config.step_s)
    for p in parts:  # chunks end at their own longest flight: pad the epoch columns
        for key in ("impact_semi_major_km", "impact_miss_km"):
            pad = len(epochs) - p[key].shape[1]
            p[key] = np.pad(p[key], ((0, 0), (0, pad)), constant_values=np.nan)[:, : len(epochs)]
    cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    flight = np.array([t.flight_time_s for t in trajectories])
    return Assessment(
        architecture=architecture.name,
        threat_ids=tuple(t.threat_id for t in trajectories),
        flight_time_s=flight,
        first_detection_s=cat["first_detection_s"],
        first_sensor=[table.names[i] if i >= 0 else "" for i in cat["first_sensor"].astype(int)],
        stereo_s=cat["stereo_s"],
        tracked_fraction=cat["tracked_fraction"],
        position_sigma_km=cat["position_sigma_km"],
        velocity_sigma_m_s=cat["velocity_sigma_m_s"],
        warning_time_s=flight - cat["stereo_s"],
        track_position_sigma_km=cat["track_position_sigma_km"],
        track_velocity_sigma_m_s=cat["track_velocity_sigma_m_s"],
        impact_semi_major_km=cat["impact_semi_major_km"],
        impact_miss_km=cat["impact_miss_km"],
        impact_epochs_s=epochs,
        impact_call_s=cat["impact_call_s"],
        impact_warning_s=cat["impact_warning_s"],
        sensors_used=j,
        elements=elements,
    )


def _pct(values: np.ndarray, q: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q)) if finite.size else math.nan


def summary_row(threat: str, a: Assessment) -> dict[str, object]:
    """One comparison-table row: medians (and 90th percentiles of the times) over the launches;
    times are NaN-aware (a launch never detected counts in ``detected_pct`` only)."""
    n = len(a.threat_ids)
    row: dict[str, object] = {
        "threat": threat,
        "architecture": a.architecture,
        "launches": n,
        "sensors": a.sensors_used,
        "detected_pct": 100.0 * float(np.isfinite(a.first_detection_s).mean()),
        "first_detection_s": _pct(a.first_detection_s, 50),
        "first_detection_p90_s": _pct(a.first_detection_s, 90),
        "stereo_pct": 100.0 * float(np.isfinite(a.stereo_s).mean()),
        "stereo_s": _pct(a.stereo_s, 50),
        "stereo_p90_s": _pct(a.stereo_s, 90),
    }
    for p, name in enumerate(PHASE_NAMES):
        row[f"tracked_{name}_pct"] = 100.0 * _pct(a.tracked_fraction[:, p], 50)
    row["position_sigma_km"] = _pct(a.track_position_sigma_km, 50)
    row["velocity_sigma_m_s"] = _pct(a.track_velocity_sigma_m_s, 50)
    row["warning_time_s"] = _pct(a.warning_time_s, 50)
    row["impact_call_pct"] = 100.0 * float(np.isfinite(a.impact_call_s).mean())
    row["impact_call_s"] = _pct(a.impact_call_s, 50)
    row["impact_warning_s"] = _pct(a.impact_warning_s, 50)
    last = _last_finite(a.impact_miss_km)
    row["impact_miss_km"] = _pct(last, 50)
    row["flight_time_s"] = _pct(a.flight_time_s, 50)
    return row


def _last_finite(values: np.ndarray) -> np.ndarray:
    """Each row's last finite value (NaN if none): the final prediction of each launch."""
    ok = np.isfinite(values)
    idx = values.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    return np.where(ok.any(axis=1), values[np.arange(values.shape[0]), idx], np.nan)


def impact_evolution(threat: str, a: Assessment) -> dict[str, object]:
    """Medians over the launches of the impact ellipse and miss at each prediction epoch (epochs
    where no launch had a prediction are left out)."""
    have = np.isfinite(a.impact_semi_major_km).any(axis=0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            major = np.nanmedian(a.impact_semi_major_km[:, have], axis=0) if have.any() else np.array([])
            miss = np.nanmedian(a.impact_miss_km[:, have], axis=0) if have.any() else np.array([])
    return {
        "threat": threat,
        "architecture": a.architecture,
        "epochs_s": a.impact_epochs_s[have].tolist(),
        "semi_major_km": major.tolist(),
        "miss_km": miss.tolist(),
    }
