"""Simulated tracking campaigns for orbit-determination checks: a truth orbit, a sensor schedule,
noisy measurements, a perturbed initial guess, and the fit's error against truth with its
normalized estimation error squared (NEES).

NEES = e^T P^-1 e of the 6-vector error against the estimate's covariance; over N independent
runs its sum is chi-square with 6N degrees of freedom when the covariance is realistic, which is
the covariance-realism test of Bar-Shalom, Li and Kirubarajan (2001), section 5.4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy import stats as _stats

from kizuna.orbit import orekit as ok
from kizuna.ssa import od


@dataclass(frozen=True)
class Campaign:
    """A truth orbit at ``epoch``, the stations, the (station, kind, time) schedule, the noise per
    kind (SI) and the force model of truth and fit (the same: the test is of the estimator and its
    covariance, not of force-model mismatch)."""

    name: str
    epoch: datetime
    truth: np.ndarray
    stations: dict[str, od.Station]
    schedule: list[tuple[str, str, datetime]]
    sigmas: dict[str, tuple[float, ...]]
    options: od.OdOptions
    guess_sigma_m: float
    guess_sigma_m_s: float


@dataclass(frozen=True)
class Run:
    position_error_m: float
    velocity_error_m_s: float
    nees: float
    position_sigma_m: float
    iterations: int


def _keplerian(
    a_m: float, e: float, i_deg: float, argp_deg: float, raan_deg: float, m_deg: float, epoch: datetime
) -> np.ndarray:
    ok.start()
    from org.orekit.orbits import KeplerianOrbit, PositionAngleType

    orbit = KeplerianOrbit(
        a_m,
        e,
        math.radians(i_deg),
        math.radians(argp_deg),
        math.radians(raan_deg),
        math.radians(m_deg),
        PositionAngleType.MEAN,
        ok.frame(),
        ok.absolute_date(epoch),
        ok.mu_m3_s2(),
    )
    return ok.state_vector(orbit.getPVCoordinates())


def _passes(
    propagator: Any,
    stations: dict[str, od.Station],
    start: datetime,
    hours: float,
    step_s: float,
    min_el_deg: float,
) -> list[tuple[str, list[datetime]]]:
    """Passes above ``min_el_deg`` per station on a ``step_s`` grid (one propagation per time,
    forward only: Orekit's numerical propagator continues from its last state)."""
    frames = {name: od._topocentric(st) for name, st in stations.items()}
    current: dict[str, list[datetime]] = {name: [] for name in stations}
    passes: list[tuple[str, list[datetime]]] = []
    t = start
    while t <= start + timedelta(hours=hours):
        s = propagator.propagate(ok.absolute_date(t))
        for name, base in frames.items():
            el = math.degrees(float(base.getElevation(s.getPosition(), s.getFrame(), s.getDate())))
            if el >= min_el_deg:
                current[name].append(t)
            elif current[name]:
                passes.append((name, current[name]))
                current[name] = []
        t += timedelta(seconds=step_s)
    passes += [(name, p) for name, p in current.items() if p]
    return passes


def leo_radar_campaign() -> Campaign:
    """A 700 km, 98 deg LEO object tracked by three radar passes (range and azimuth/elevation every
    20 s above 10 deg), from three sites of the sensor network's kind (Japan, Alaska, Germany),
    with the bundled radar noise (20 m, 0.05 deg). Force model 8x8 + Sun/Moon, no drag: the
    200-run realism test is then not hostage to an atmosphere model."""
    epoch = datetime(2026, 3, 1, tzinfo=UTC)
    truth = _keplerian(7_078_137.0, 0.001, 98.2, 30.0, 200.0, 10.0, epoch)
    stations = {
        "kamisaibara": od.Station("kamisaibara", 35.31, 133.95, 560.0),
        "cobra-dane": od.Station("cobra-dane", 52.74, 174.09, 60.0),
        "wachtberg": od.Station("wachtberg", 50.62, 7.13, 300.0),
    }
    options = od.OdOptions(degree=8, drag=False, srp=False)
    builder = od.propagator_builder(epoch, truth, options)
    propagator = builder.buildPropagator(builder.getSelectedNormalizedParameters())
    # passes found on a 60 s grid, then sampled every 20 s between their first and last minute
    found = [(name, p) for name, p in _passes(propagator, stations, epoch, 8.0, 60.0, 10.0) if len(p) >= 3]
    found.sort(key=lambda x: x[1][0])
    chosen: list[tuple[str, list[datetime]]] = []
    for name, p in found:  # three passes from three different radars: the geometry of a real campaign
        if name not in {n for n, _ in chosen}:
            chosen.append((name, p))
        if len(chosen) == 3:
            break
    schedule = [
        (name, kind, p[0] + timedelta(seconds=20 * k))
        for name, p in chosen
        for k in range(int((p[-1] - p[0]).total_seconds() // 20) + 1)
        for kind in ("range", "azel")
    ]
    sigmas = {"range": (20.0,), "azel": (math.radians(0.05), math.radians(0.05))}
    return Campaign("leo-3-radar-passes", epoch, truth, stations, schedule, sigmas, options, 1000.0, 1.0)


def geo_optical_campaign() -> Campaign:
    """A GEO object at 130 deg E observed by one telescope (Bisei, Japan) for two nights: RA/Dec
    every 15 minutes from 20:00 to 04:00 local mean solar time (longitude/15 h from UTC), 1 arcsec
    noise. Force model 8x8 + Sun/Moon + SRP (GEO's largest non-gravitational force)."""
    epoch = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)  # 20:00 local mean time at 133.5 E
    options = od.OdOptions(degree=8, drag=False, srp=True, area_m2=20.0, mass_kg=2000.0)
    ok.start()
    # a geostationary radius at 130 E: start on the equator above the longitude, circular velocity
    from org.orekit.bodies import GeodeticPoint

    itrf_point = ok.earth().transform(GeodeticPoint(0.0, math.radians(130.0), 35_786_000.0))
    transform = ok.frame("ITRF").getTransformTo(ok.frame(), ok.absolute_date(epoch))
    r = transform.transformPosition(itrf_point)
    position = np.array([r.getX(), r.getY(), r.getZ()])
    speed = math.sqrt(ok.mu_m3_s2() / np.linalg.norm(position))
    direction = np.cross([0.0, 0.0, 1.0], position)
    truth = np.r_[position, speed * direction / np.linalg.norm(direction)]
    stations = {"bisei": od.Station("bisei", 34.67, 133.54, 400.0)}
    schedule = []
    for night in range(2):
        t = epoch + timedelta(days=night)
        while t <= epoch + timedelta(days=night, hours=8):
            schedule.append(("bisei", "radec", t))
            t += timedelta(minutes=15)
    sigma = math.radians(1.0 / 3600.0)
    return Campaign(
        "geo-2-nights-angles",
        epoch,
        truth,
        stations,
        schedule,
        {"radec": (sigma, sigma)},
        options,
        5000.0,
        0.5,
    )


def run(campaign: Campaign, seed: int, method: str = "batch") -> Run:
    """One Monte Carlo run: noisy measurements of the truth, a perturbed guess, the fit, and its
    error against truth at the estimate's epoch."""
    rng = np.random.default_rng(seed)
    measurements, truth_propagator = od.truth_measurements(
        campaign.epoch,
        campaign.truth,
        campaign.stations,
        campaign.schedule,
        campaign.sigmas,
        rng,
        campaign.options,
    )
    guess = (
        campaign.truth
        + np.r_[rng.normal(0.0, campaign.guess_sigma_m, 3), rng.normal(0.0, campaign.guess_sigma_m_s, 3)]
    )
    options = od.OdOptions(**{**campaign.options.__dict__, "method": method})
    result = od.fit(measurements, campaign.stations, campaign.epoch, guess, options)
    truth = od.state_at(truth_propagator, result.epoch)
    error = result.state - truth
    nees = float(error @ np.linalg.solve(result.covariance, error))
    return Run(
        float(np.linalg.norm(error[:3])),
        float(np.linalg.norm(error[3:])),
        nees,
        result.position_sigma_m,
        result.iterations,
    )


def nees_bounds(runs: int, dof: int = 6, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided bounds on the mean NEES over ``runs`` runs: chi-square(dof*runs)/runs quantiles."""
    alpha = 1.0 - confidence
    n = dof * runs
    return float(_stats.chi2.ppf(alpha / 2, n) / runs), float(_stats.chi2.ppf(1 - alpha / 2, n) / runs)


def summary(runs: Sequence[Run]) -> dict[str, float]:
    nees = np.array([r.nees for r in runs])
    lo, hi = nees_bounds(len(runs))
    return {
        "runs": len(runs),
        "mean_nees": float(nees.mean()),
        "nees_low_95": lo,
        "nees_high_95": hi,
        "rms_position_error_m": float(np.sqrt(np.mean([r.position_error_m**2 for r in runs]))),
        "mean_position_sigma_m": float(np.mean([r.position_sigma_m for r in runs])),
    }


@dataclass(frozen=True)
class TwoRadars:
    """One LEO object tracked by two nations' radars: each radar's own noisy measurements (one pass
    each), the truth propagator (for errors against truth), the initial guess both fits start from,
    and the figures both fit with."""

    campaign: Campaign
    tracks: dict[str, list[od.Measurement]]  # radar name -> its measurements
    truth: Any
    guess: np.ndarray
    sigmas: dict[str, dict[str, float]]  # radar name -> the sensor-file noise figures


def two_radar_campaign(
    radars: Sequence[str] = ("kamisaibara", "cobra-dane"), passes: int = 2, seed: int = 17
) -> TwoRadars:
    """The truth orbit, radars and noise of :func:`leo_radar_campaign`, seen by two of its radars
    only (by default Japan's Kamisaibara and the United States' Cobra Dane), each tracking its first
    `passes` passes of 8 hours (range and azimuth/elevation every 20 s above 10 deg), with seeded
    noise; the guess is the truth perturbed by the campaign's guess sigmas (a catalog orbit's
    quality)."""
    base = leo_radar_campaign()
    unknown = set(radars) - set(base.stations)
    if unknown:
        raise od.OdError(f"no radar {sorted(unknown)[0]!r} in the campaign")
    stations = {name: base.stations[name] for name in radars}
    builder = od.propagator_builder(base.epoch, base.truth, base.options)
    propagator = builder.buildPropagator(builder.getSelectedNormalizedParameters())
    found = [(n, p) for n, p in _passes(propagator, stations, base.epoch, 8.0, 60.0, 10.0) if len(p) >= 3]
    schedule = [
        (name, kind, p[0] + timedelta(seconds=20 * k))
        for radar in radars
        for name, p in [x for x in found if x[0] == radar][:passes]
        for k in range(int((p[-1] - p[0]).total_seconds() // 20) + 1)
        for kind in ("range", "azel")
    ]
    campaign = Campaign(
        "leo-two-radars",
        base.epoch,
        base.truth,
        stations,
        schedule,
        base.sigmas,
        base.options,
        base.guess_sigma_m,
        base.guess_sigma_m_s,
    )
    rng = np.random.default_rng(seed)
    measurements, truth = od.truth_measurements(
        campaign.epoch, campaign.truth, stations, schedule, campaign.sigmas, rng, campaign.options
    )
    guess = (
        campaign.truth
        + np.r_[rng.normal(0.0, campaign.guess_sigma_m, 3), rng.normal(0.0, campaign.guess_sigma_m_s, 3)]
    )
    figures = {
        "sigma_range_m": float(campaign.sigmas["range"][0]),
        "sigma_angle_deg": math.degrees(campaign.sigmas["azel"][0]),
    }
    tracks = {name: [m for m in measurements if m.station == name] for name in radars}
    return TwoRadars(campaign, tracks, truth, guess, {name: dict(figures) for name in radars})
