"""Orbit determination through Orekit: observations + an initial guess + options -> an estimated
state with its covariance, residuals and their statistics.

The estimators are Orekit's (``BatchLSEstimator`` with Levenberg-Marquardt, ``KalmanEstimator``,
``UnscentedKalmanEstimator``), with a numerical propagator built from the options (geopotential to a
chosen degree and order, Harris-Priester drag, cannonball solar radiation pressure, Sun and Moon).
Kizuna's part is the plumbing a node needs around them: measurements from CCSDS TDMs mapped to the
sensor network, initial guesses from TLEs or initial orbit determination, and the outputs (OPM/OEM
with covariance, a fitted TLE, residual statistics) in Kizuna's units and records.

Units: metres, m/s and radians inside, as Orekit; states in EME2000; covariances in m^2, m^2/s,
m^2/s^2 (the OPM writer converts to km).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from kizuna.formats.tdm import Tdm
from kizuna.orbit import orekit as ok
from kizuna.orbit.ephemeris import Ephemeris

if TYPE_CHECKING:
    from kizuna.formats.cdm import Cdm
    from kizuna.formats.oem import Oem
    from kizuna.formats.opm import Opm

KINDS = ("range", "range_rate", "azel", "radec")
METHODS = ("batch", "ekf", "ukf")
DRAG_MODELS = ("harris-priester", "dtm2000")
# TDM keywords -> measurement kinds; angle pairs are read together by ANGLE_TYPE.
_TDM_SCALAR = {"RANGE": "range", "DOPPLER_INSTANTANEOUS": "range_rate"}


class OdError(ValueError):
    """Observations or options that cannot make an orbit determination (message names the cause)."""


@dataclass(frozen=True)
class Station:
    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclass(frozen=True)
class Measurement:
    """One observation: ``kind`` in :data:`KINDS`, the observing station's name, the epoch (aware
    UTC) and the value(s) in SI units: metres (one-way range), m/s, or a pair of radians
    (azimuth/elevation, right ascension/declination in EME2000). ``sigma`` has the value's shape."""

    kind: str
    station: str
    epoch: datetime
    value: tuple[float, ...]
    sigma: tuple[float, ...]
    two_way: bool = True


@dataclass(frozen=True)
class EmpiricalAcceleration:
    """An acceleration along a fixed EME2000 direction, a polynomial in time since the orbit's
    epoch (Orekit's ``ParametricAcceleration`` with a ``PolynomialAccelerationModel``): how a fit
    absorbs what the force model lacks, such as a geostationary satellite's thruster leaks or
    thermal emission. ``coefficients`` are m/s^2, m/s^3, ... (constant term first); their Orekit
    parameters are named ``name[0]``, ``name[1]``, ..."""

    name: str
    direction: tuple[float, float, float]
    coefficients: tuple[float, ...] = (0.0,)
    estimated: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise OdError("an empirical acceleration needs a name")
        if len(self.direction) != 3 or not all(math.isfinite(v) for v in self.direction):
            raise OdError(f"acceleration {self.name}: the direction needs three finite components")
        if math.hypot(*self.direction) == 0.0:
            raise OdError(f"acceleration {self.name}: the direction must not be zero")
        if not self.coefficients or not all(math.isfinite(v) for v in self.coefficients):
            raise OdError(f"acceleration {self.name}: coefficients must be finite (at least one)")


@dataclass(frozen=True)
class OdOptions:
    """The force model and estimator. Defaults are those of a LEO fit from radar data: 8x8
    geopotential (enough for a few-hours arc to stay below radar noise; J2..J8 carry most of the
    non-central force), drag on, no SRP, Sun and Moon on."""

    method: str = "batch"
    degree: int = 8
    order: int | None = None  # None: same as degree
    drag: bool = True
    srp: bool = False
    third_bodies: bool = True
    mass_kg: float = 1000.0
    area_m2: float = 10.0
    cd: float = 2.2
    cr: float = 1.5
    estimate_cd: bool = False
    estimate_range_bias: bool = False  # one range bias per station, Orekit's Bias modifier
    max_iterations: int = 25
    convergence: float = 1e-3  # Orekit's normalized parameter-change threshold for the batch
    outlier_sigma: float = 0.0  # reject |residual| > this many sigma from the 3rd iteration on (0: never)
    min_step_s: float = 0.001
    max_step_s: float = 300.0
    position_tolerance_m: float = 1.0
    process_noise_m: float = 0.0  # sequential filters: position process noise per step (m)
    initial_sigma_m: float = 1000.0  # sequential filters: a priori position sigma (m)
    initial_sigma_m_s: float = 1.0  # sequential filters: a priori velocity sigma (m/s)
    relativity: bool = False  # Schwarzschild term: ~1e-8 of gravity, centimetres for a laser fit
    optimizer: str = "levenberg-marquardt"  # or "gauss-newton" (QR), as Orekit's own real-data cases
    position_scale_m: float = 1.0  # Orekit's normalization of the orbital parameters
    # drag atmosphere: Harris-Priester (no solar-activity data needed) or DTM2000 driven by a
    # Marshall (MSAFE) monthly F10.7/Ap table, ``solar_activity_file`` (default: the bundled ones)
    drag_model: str = "harris-priester"
    solar_activity_file: str | None = None
    accelerations: tuple[EmpiricalAcceleration, ...] = ()
    # Levenberg-Marquardt's initial step bound in normalized parameters: Orekit's default 100 is
    # too small when the guess is far off or biases start kilometres away from their estimate
    lm_initial_step_bound: float = 100.0
    max_evaluations: int | None = None  # None: twice max_iterations


@dataclass(frozen=True)
class Residual:
    kind: str
    station: str
    epoch: datetime
    component: int
    residual: float  # observed - computed, SI (m, m/s, rad)
    sigma: float
    rejected: bool


@dataclass
class OdResult:
    """An estimated EME2000 state (m, m/s) at ``epoch`` with its 6x6 covariance, the estimated
    parameters beyond the orbit (name -> value), the residuals of the last iteration."""

    epoch: datetime
    state: np.ndarray
    covariance: np.ndarray
    method: str
    options: OdOptions
    parameters: dict[str, float] = field(default_factory=dict)
    parameter_sigmas: dict[str, float] = field(default_factory=dict)
    residuals: list[Residual] = field(default_factory=list)
    iterations: int = 0
    evaluations: int = 0
    rms: float = math.nan  # weighted RMS of normalized residuals
    frame: str = ok.INERTIAL_FRAME
    propagator: Any = None  # the Orekit propagator of the estimate, for ephemerides and TLE fits

    @property
    def position_sigma_m(self) -> float:
        return float(math.sqrt(max(np.trace(self.covariance[:3, :3]), 0.0)))


# ------------------------------------------------------------------------------ measurements
def measurements_from_tdm(
    tdm: Tdm,
    sigmas: Mapping[str, Mapping[str, float]] | None = None,
    default_sigmas: Mapping[str, float] | None = None,
) -> list[Measurement]:
    """Measurements from a TDM: the station is ``PARTICIPANT_1``, the spacecraft the last
    participant of the path. ``RANGE`` (km) is read as one-way range (a two-way path 1,2,1 gives the
    round trip halved, as TDM range in km is), ``DOPPLER_INSTANTANEOUS`` (km/s) as range rate,
    ``ANGLE_1``/``ANGLE_2`` pairs at the same epoch as azimuth/elevation or RA/Dec per
    ``ANGLE_TYPE``. ``sigmas`` gives per-station noise (``sigma_range_m``, ``sigma_range_rate_m_s``,
    ``sigma_angle_deg``/``sigma_angle_arcsec``, the sensor file's names); ``default_sigmas`` the rest."""
    defaults = {"sigma_range_m": 10.0, "sigma_range_rate_m_s": 0.1, "sigma_angle_deg": 0.01}
    defaults.update(default_sigmas or {})
    out: list[Measurement] = []
    for segment in tdm.segments:
        meta = segment.metadata
        station = meta["PARTICIPANT_1"]
        figures = {**defaults, **dict((sigmas or {}).get(station, {}))}
        sigma_range = float(figures["sigma_range_m"])
        sigma_rr = float(figures["sigma_range_rate_m_s"])
        if "sigma_angle_arcsec" in figures and "sigma_angle_deg" not in (sigmas or {}).get(station, {}):
            sigma_angle = math.radians(float(figures["sigma_angle_arcsec"]) / 3600.0)
        else:
            sigma_angle = math.radians(float(figures["sigma_angle_deg"]))
        path = meta.get("PATH", "1,2,1").replace(" ", "")
        two_way = path.split(",")[0] == path.split(",")[-1] and path.count(",") >= 2
        if meta.get("RANGE_UNITS", "km") != "km" and segment.values("RANGE"):
            raise OdError(f"{tdm.file}: RANGE_UNITS {meta['RANGE_UNITS']} is not supported (km only)")
        scale = meta["TIME_SYSTEM"]
        epochs = {}
        angles: dict[datetime, dict[str, float]] = {}
        for obs in segment.observations:
            epoch = _utc(obs.epoch, scale)
            epochs[obs.epoch] = epoch
            if obs.keyword in _TDM_SCALAR:
                kind = _TDM_SCALAR[obs.keyword]
                value = obs.value * 1000.0
                sigma = sigma_range if kind == "range" else sigma_rr
                out.append(Measurement(kind, station, epoch, (value,), (sigma,), two_way))
            elif obs.keyword in ("ANGLE_1", "ANGLE_2"):
                angles.setdefault(epoch, {})[obs.keyword] = obs.value
        angle_type = segment.angle_type or "AZEL"
        if angles and angle_type not in ("AZEL", "RADEC"):
            raise OdError(f"{tdm.file}: ANGLE_TYPE {angle_type} is not supported (AZEL or RADEC)")
        for epoch, pair in angles.items():
            if "ANGLE_1" not in pair or "ANGLE_2" not in pair:
                continue  # half a pair cannot be fitted: Orekit's angular measurements are pairs
            kind = "azel" if angle_type == "AZEL" else "radec"
            a1 = math.radians(pair["ANGLE_1"] % 360.0)
            out.append(
                Measurement(
                    kind, station, epoch, (a1, math.radians(pair["ANGLE_2"])), (sigma_angle, sigma_angle)
                )
            )
    out.sort(key=lambda m: m.epoch)
    return out


def _utc(epoch: datetime, scale: str) -> datetime:
    if scale == "UTC":
        return epoch
    return ok.to_datetime(ok.absolute_date(epoch.replace(tzinfo=None), scale))


def stations_from_sensors(sensors: Mapping[str, Any]) -> dict[str, Station]:
    """Ground sensors of the network (``ssa.sensors.SsaSensor``) as stations by name."""
    return {
        name: Station(name, s.site.lat_deg, s.site.lon_deg, s.site.alt_m)
        for name, s in sensors.items()
        if s.site is not None
    }


def sigmas_from_sensors(sensors: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    keys = ("sigma_range_m", "sigma_range_rate_m_s", "sigma_angle_deg", "sigma_angle_arcsec")
    return {name: {k: float(v) for k, v in s.figures.items() if k in keys} for name, s in sensors.items()}


# ---------------------------------------------------------------------------- initial guesses
def state_from_tle(line1: str, line2: str, when: datetime | None = None) -> tuple[datetime, np.ndarray]:
    """An EME2000 state (m, m/s) from a TLE through Orekit's SGP4, at ``when`` (default the epoch)."""
    ok.start()
    from org.orekit.propagation.analytical.tle import TLE, TLEPropagator

    tle = TLE(line1, line2)
    propagator = TLEPropagator.selectExtrapolator(tle)
    date = tle.getDate() if when is None else ok.absolute_date(when)
    pv = propagator.getPVCoordinates(date, ok.frame())
    return ok.to_datetime(date), ok.state_vector(pv)


def initial_orbit_from_angles(
    measurements: Sequence[Measurement], stations: Mapping[str, Station]
) -> tuple[datetime, np.ndarray]:
    """Initial orbit determination from three angle pairs of one station's longest track (first,
    middle, last): Orekit's Laplace method, which needs no range guess, refined by Gooding's with
    Laplace's ranges when Gooding gives a bound orbit. One track, because a Keplerian IOD across
    passes hours apart would have to bridge perturbations it does not model."""
    ok.start()
    from org.orekit.estimation.iod import IodGooding, IodLaplace

    tracks: list[list[Measurement]] = []
    for name in sorted({m.station for m in measurements}):
        for kind in ("azel", "radec"):
            current: list[Measurement] = []
            for m in (m for m in measurements if m.station == name and m.kind == kind):
                if current and (m.epoch - current[-1].epoch).total_seconds() > 1800:
                    tracks.append(current)
                    current = []
                current.append(m)
            tracks.append(current)
    tracks = [t for t in tracks if len(t) >= 3]
    if not tracks:
        raise OdError(
            "initial orbit determination needs a track of 3 angle pairs, or an initial orbit (--initial)"
        )
    track = max(tracks, key=lambda t: (len(t), (t[-1].epoch - t[0].epoch).total_seconds()))
    picks = [track[0], track[len(track) // 2], track[-1]]
    station = ok.ground_station(*_site(stations, picks[0].station))
    obs = [_orekit_measurement(m, station, None) for m in picks]
    mu = ok.mu_m3_s2()
    inertial = ok.frame()
    orbit = IodLaplace(mu).estimate(inertial, obs[0], obs[1], obs[2])
    if orbit is None:
        raise OdError("initial orbit determination from angles found no orbit")
    try:
        rho = []
        for m in (obs[0], obs[2]):
            site = m.getStation().getBaseFrame().getPosition(m.getDate(), inertial)
            rho.append(float(orbit.getPosition(m.getDate(), inertial).subtract(site).getNorm()))
        refined = IodGooding(mu).estimate(inertial, obs[0], obs[1], obs[2], rho[0], rho[1])
        if refined is not None and 0.0 <= float(refined.getE()) < 1.0:
            orbit = refined
    except Exception:  # noqa: BLE001 - Gooding may not converge; Laplace's orbit stands
        pass
    pv = orbit.getPVCoordinates(inertial)
    return ok.to_datetime(orbit.getDate()), ok.state_vector(pv)


# ------------------------------------------------------------------------------ Orekit parts
def _site(stations: Mapping[str, Station], name: str) -> tuple[str, float, float, float]:
    if name not in stations:
        raise OdError(f"station {name!r}: not in the sensor network (give its site)")
    s = stations[name]
    return s.name, s.lat_deg, s.lon_deg, s.alt_m


def _orekit_measurement(m: Measurement, station: Any, satellite: Any) -> Any:
    from jpype import JArray, JDouble  # type: ignore[attr-defined]
    from org.orekit.estimation.measurements import (
        AngularAzEl,
        AngularRaDec,
        ObservableSatellite,
        Range,
        RangeRate,
    )

    sat = satellite if satellite is not None else ObservableSatellite(0)
    date = ok.absolute_date(m.epoch)
    pair = JArray(JDouble)(list(m.value))
    sig = JArray(JDouble)(list(m.sigma))
    weight = JArray(JDouble)([1.0, 1.0])
    om: Any
    if m.kind == "range":
        om = Range(station, m.two_way, date, m.value[0], m.sigma[0], 1.0, sat)
    elif m.kind == "range_rate":
        om = RangeRate(station, date, m.value[0], m.sigma[0], 1.0, m.two_way, sat)
    elif m.kind == "azel":
        om = AngularAzEl(station, date, pair, sig, weight, sat)
    elif m.kind == "radec":
        om = AngularRaDec(station, ok.frame(), date, pair, sig, weight, sat)
    else:
        raise OdError(f"measurement kind {m.kind!r} is not one of {', '.join(KINDS)}")
    # the station's Earth-orientation drivers are polynomials in time: they need a reference date
    # before a measurement is evaluated outside an estimator (the estimators set their own)
    for driver in om.getParametersDrivers():
        if driver.getReferenceDate() is None:
            driver.setReferenceDate(date)
    return om


def propagator_builder(epoch: datetime, state: np.ndarray, options: OdOptions) -> Any:
    """Orekit's ``NumericalPropagatorBuilder`` for the options (Cartesian orbit in EME2000, so the
    first six estimated parameters, and the covariance, are x, y, z, vx, vy, vz)."""
    ok.start()
    from org.orekit.bodies import CelestialBodyFactory
    from org.orekit.forces.drag import DragForce, IsotropicDrag
    from org.orekit.forces.gravity import (
        HolmesFeatherstoneAttractionModel,
        ThirdBodyAttraction,
    )
    from org.orekit.forces.gravity.potential import GravityFieldFactory
    from org.orekit.forces.radiation import (
        IsotropicRadiationSingleCoefficient,
        SolarRadiationPressure,
    )
    from org.orekit.orbits import PositionAngleType
    from org.orekit.propagation.conversion import (
        DormandPrince853IntegratorBuilder,
        NumericalPropagatorBuilder,
    )

    orbit = ok.cartesian_orbit(state, epoch)
    integrator = DormandPrince853IntegratorBuilder(
        options.min_step_s, options.max_step_s, options.position_tolerance_m
    )
    builder = NumericalPropagatorBuilder(
        orbit, integrator, PositionAngleType.MEAN, float(options.position_scale_m)
    )
    builder.setMass(float(options.mass_kg))
    earth = ok.earth()
    if options.degree >= 2:
        order = options.degree if options.order is None else options.order
        field_provider = GravityFieldFactory.getNormalizedProvider(int(options.degree), int(order))
        builder.addForceModel(HolmesFeatherstoneAttractionModel(earth.getBodyFrame(), field_provider))
    sun = CelestialBodyFactory.getSun()
    if options.third_bodies:
        builder.addForceModel(ThirdBodyAttraction(sun))
        builder.addForceModel(ThirdBodyAttraction(CelestialBodyFactory.getMoon()))
    if options.drag:
        drag = DragForce(
            _atmosphere(options, sun, earth), IsotropicDrag(float(options.area_m2), float(options.cd))
        )
        if options.estimate_cd:
            from org.orekit.forces.drag import DragSensitive

            # the drag coefficient only: Orekit also offers a "global drag factor" multiplying the
            # same force, and estimating both makes the normal equations singular
            for driver in drag.getParametersDrivers():
                driver.setSelected(str(driver.getName()) == str(DragSensitive.DRAG_COEFFICIENT))
        builder.addForceModel(drag)
    if options.relativity:
        from org.orekit.forces.gravity import Relativity

        builder.addForceModel(Relativity(ok.mu_m3_s2()))
    if options.srp:
        srp = IsotropicRadiationSingleCoefficient(float(options.area_m2), float(options.cr))
        builder.addForceModel(SolarRadiationPressure(sun, earth, srp))
    for acceleration in options.accelerations:
        builder.addForceModel(_empirical(acceleration))
    return builder


def _atmosphere(options: OdOptions, sun: Any, earth: Any) -> Any:
    from org.orekit.models.earth.atmosphere import DTM2000, HarrisPriester

    if options.drag_model == "harris-priester":
        return HarrisPriester(sun, earth)
    if options.drag_model != "dtm2000":
        raise OdError(f"drag model {options.drag_model!r} is not one of {', '.join(DRAG_MODELS)}")
    return DTM2000(solar_activity(options.solar_activity_file), sun, earth)


def solar_activity(path: str | None = None) -> Any:
    """Marshall's (MSAFE) monthly F10.7 and Ap predictions from ``path``, or from every table in
    Orekit's data when None; the average (50 %) column, as Orekit's own examples use. A file that
    is not such a table raises :class:`OdError` at once, before any fit."""
    ok.start()
    from org.orekit.data import DataSource
    from org.orekit.models.earth.atmosphere.data import MarshallSolarActivityFutureEstimation as Msafe

    level = Msafe.StrengthLevel.AVERAGE
    if path is None:
        return Msafe(Msafe.DEFAULT_SUPPORTED_NAMES, level)
    try:
        return Msafe(DataSource(str(path)), level)
    except Exception as exc:  # noqa: BLE001 - Orekit raises Java exceptions; one line
        raise OdError(f"{path}: {_java_message(exc)}") from None


def _empirical(acceleration: EmpiricalAcceleration) -> Any:
    from org.hipparchus.geometry.euclidean.threed import Vector3D
    from org.orekit.forces.empirical import ParametricAcceleration, PolynomialAccelerationModel

    degree = len(acceleration.coefficients) - 1
    # no reference date: the polynomial's time origin is the propagation's start, the orbit epoch
    no_date: Any = None
    model = PolynomialAccelerationModel(acceleration.name, no_date, degree)
    force = ParametricAcceleration(Vector3D(*[float(v) for v in acceleration.direction]), True, model)
    for k, value in enumerate(acceleration.coefficients):
        driver = force.getParameterDriver(f"{acceleration.name}[{k}]")
        driver.setValue(float(value))
        driver.setSelected(bool(acceleration.estimated))
    return force


def _prepare(
    measurements: Sequence[Measurement], stations: Mapping[str, Station], options: OdOptions
) -> tuple[list[Any], list[Measurement]]:
    from jpype import JArray, JDouble, JString  # type: ignore[attr-defined]
    from org.orekit.estimation.measurements import ObservableSatellite
    from org.orekit.estimation.measurements.modifiers import Bias, OutlierFilter

    if not measurements:
        raise OdError("no measurements to fit")
    for m in measurements:
        if m.kind not in KINDS:
            raise OdError(f"measurement kind {m.kind!r} is not one of {', '.join(KINDS)}")
        if not all(s > 0 and math.isfinite(s) for s in m.sigma):
            raise OdError(f"measurement at {m.epoch.isoformat()} from {m.station}: sigma must be positive")
    satellite = ObservableSatellite(0)
    orekit_stations = {
        name: ok.ground_station(*_site(stations, name)) for name in {m.station for m in measurements}
    }
    biases: dict[str, Any] = {}
    if options.estimate_range_bias:
        for name in orekit_stations:
            bias: Any = Bias(
                JArray(JString)([f"{name}/range-bias"]),
                JArray(JDouble)([0.0]),
                JArray(JDouble)([1.0]),
                JArray(JDouble)([-1e5]),
                JArray(JDouble)([1e5]),
            )
            bias.getParametersDrivers().get(0).setSelected(True)
            biases[name] = bias
    outliers: Any = OutlierFilter(3, float(options.outlier_sigma)) if options.outlier_sigma > 0 else None
    orekit = []
    for m in measurements:
        om = _orekit_measurement(m, orekit_stations[m.station], satellite)
        if m.kind == "range" and m.station in biases:
            om.addModifier(biases[m.station])
        if outliers is not None:
            om.addModifier(outliers)
        orekit.append(om)
    return orekit, list(measurements)


def _estimated_parameters(drivers_lists: Iterable[Any]) -> dict[str, float]:
    values: dict[str, float] = {}
    for drivers in drivers_lists:
        for driver in drivers.getDrivers():
            values[str(driver.getName())] = float(driver.getValue())
    return values


def _residuals(estimations: Any, by_java: Any, ours: Sequence[Measurement]) -> list[Residual]:
    from org.orekit.estimation.measurements import EstimatedMeasurementBase

    out: list[Residual] = []
    for entry in estimations.entrySet():
        observed = entry.getKey()
        index = by_java.get(observed)
        if index is None:
            continue
        m = ours[int(index)]
        est = entry.getValue()
        computed = list(est.getEstimatedValue())
        rejected = est.getStatus() == EstimatedMeasurementBase.Status.REJECTED
        for i, (obs, calc) in enumerate(zip(m.value, computed, strict=True)):
            diff = float(obs) - float(calc)
            if m.kind == "azel" and i == 0 or m.kind == "radec" and i == 0:
                diff = (diff + math.pi) % (2 * math.pi) - math.pi  # azimuth/RA wrap at 2 pi
            out.append(Residual(m.kind, m.station, m.epoch, i, diff, m.sigma[i], bool(rejected)))
    out.sort(key=lambda r: (r.epoch, r.component))
    return out


def fit(
    measurements: Sequence[Measurement],
    stations: Mapping[str, Station],
    initial_epoch: datetime,
    initial_state: np.ndarray,
    options: OdOptions | None = None,
) -> OdResult:
    """Fit an orbit to ``measurements`` from ``stations``, starting at ``initial_state`` (EME2000,
    m and m/s) at ``initial_epoch``. The estimate's epoch is the initial epoch for the batch, the
    last measurement's for the filters."""
    options = options or OdOptions()
    if options.method not in METHODS:
        raise OdError(f"method {options.method!r} is not one of {', '.join(METHODS)}")
    ok.start()
    orekit, ours = _prepare(measurements, stations, options)
    return fit_prepared(orekit, ours, initial_epoch, initial_state, options)


def fit_prepared(
    orekit: Sequence[Any],
    ours: Sequence[Measurement],
    initial_epoch: datetime,
    initial_state: np.ndarray,
    options: OdOptions,
    on_evaluation: Callable[[int, int, float], None] | None = None,
) -> OdResult:
    """:func:`fit` on measurements already built as Orekit objects (with their modifiers: station
    displacements, Shapiro delay, biases), ``ours`` the matching Kizuna records for residuals.
    ``on_evaluation(iteration, evaluation, rms)`` is called after each evaluation of the batch
    (for a progress display)."""
    if options.method not in METHODS:
        raise OdError(f"method {options.method!r} is not one of {', '.join(METHODS)}")
    orekit = list(orekit)
    builder = propagator_builder(initial_epoch, np.asarray(initial_state, dtype=float), options)
    from java.util import IdentityHashMap

    # Orekit's estimations are keyed by the measurement objects: map them back by identity
    by_java: Any = IdentityHashMap()
    for i, o in enumerate(orekit):
        by_java.put(o, i)
    if options.method == "batch":
        return _fit_batch(builder, orekit, by_java, ours, options, on_evaluation)
    return _fit_sequential(builder, orekit, ours, options)


def _fit_batch(
    builder: Any,
    orekit: list[Any],
    by_java: Any,
    ours: Sequence[Measurement],
    options: OdOptions,
    on_evaluation: Callable[[int, int, float], None] | None = None,
) -> OdResult:
    from org.hipparchus.optim.nonlinear.vector.leastsquares import (
        LevenbergMarquardtOptimizer,
    )
    from org.orekit.estimation.leastsquares import BatchLSEstimator

    if options.optimizer == "gauss-newton":
        from org.hipparchus.linear import QRDecomposer
        from org.hipparchus.optim.nonlinear.vector.leastsquares import GaussNewtonOptimizer

        optimizer: Any = GaussNewtonOptimizer(QRDecomposer(1e-11), False)
    else:
        optimizer = LevenbergMarquardtOptimizer().withInitialStepBoundFactor(
            float(options.lm_initial_step_bound)
        )
    estimator = BatchLSEstimator(optimizer, builder)
    estimator.setParametersConvergenceThreshold(float(options.convergence))
    estimator.setMaxIterations(int(options.max_iterations))
    evaluations = (
        options.max_evaluations if options.max_evaluations is not None else options.max_iterations * 2
    )
    estimator.setMaxEvaluations(int(evaluations))
    for om in orekit:
        estimator.addMeasurement(om)
    if on_evaluation is not None:
        estimator.setObserver(_observer(on_evaluation))
    try:
        propagators = estimator.estimate()
    except Exception as exc:  # noqa: BLE001 - Orekit raises Java exceptions; name the cause in one line
        raise OdError(f"batch least squares did not converge: {_java_message(exc)}") from None
    orbit = propagators[0].getInitialState().getOrbit()
    covariance_all = ok.to_numpy(estimator.getPhysicalCovariances(1e-10))
    parameters = _estimated_parameters(
        [estimator.getPropagatorParametersDrivers(True), estimator.getMeasurementsParametersDrivers(True)]
    )
    names = [str(d.getName()) for d in estimator.getOrbitalParametersDrivers(True).getDrivers()]
    names += list(parameters)
    sigmas = {n: float(math.sqrt(max(covariance_all[i, i], 0.0))) for i, n in enumerate(names) if i >= 6}
    return OdResult(
        epoch=ok.to_datetime(orbit.getDate()),
        state=ok.state_vector(orbit.getPVCoordinates(ok.frame())),
        covariance=covariance_all[:6, :6],
        method="batch",
        options=options,
        parameters=parameters,
        parameter_sigmas=sigmas,
        residuals=_residuals(estimator.getLastEstimations(), by_java, ours),
        iterations=int(estimator.getIterationsCount()),
        evaluations=int(estimator.getEvaluationsCount()),
        rms=float(estimator.getOptimum().getRMS()),
        propagator=propagators[0],
    )


def _observer(callback: Callable[[int, int, float], None]) -> Any:
    from jpype import JImplements, JOverride  # type: ignore[attr-defined]

    @JImplements("org.orekit.estimation.leastsquares.BatchLSObserver")
    class _Observer:
        @JOverride
        def evaluationPerformed(self, iteration: int, evaluation: int, *rest: Any) -> None:  # noqa: N802
            callback(int(iteration), int(evaluation), float(rest[-1].getRMS()))

    return _Observer()


def _fit_sequential(
    builder: Any, orekit: list[Any], ours: Sequence[Measurement], options: OdOptions
) -> OdResult:
    from java.util import ArrayList
    from org.hipparchus.util import MerweUnscentedTransform
    from org.orekit.estimation.sequential import (
        ConstantProcessNoise,
        KalmanEstimatorBuilder,
        UnscentedKalmanEstimatorBuilder,
    )

    n = 6 + sum(1 for _ in _selected_drivers(builder))
    p0 = np.zeros((n, n))
    p0[:3, :3] = np.eye(3) * options.initial_sigma_m**2
    p0[3:6, 3:6] = np.eye(3) * options.initial_sigma_m_s**2
    q = np.zeros((n, n))
    q[:3, :3] = np.eye(3) * options.process_noise_m**2
    q[3:6, 3:6] = np.eye(3) * (options.process_noise_m * 1e-3) ** 2
    noise = ConstantProcessNoise(ok.to_real_matrix(p0), ok.to_real_matrix(q))
    estimator: Any
    if options.method == "ekf":
        estimator = KalmanEstimatorBuilder().addPropagationConfiguration(builder, noise).build()
    else:
        estimator = (
            UnscentedKalmanEstimatorBuilder()
            .unscentedTransformProvider(MerweUnscentedTransform(n))
            .addPropagationConfiguration(builder, noise)
            .build()
        )
    measurements: Any = ArrayList()
    for om in sorted(orekit, key=lambda m: float(m.getDate().durationFrom(orekit[0].getDate()))):
        measurements.add(om)
    residuals: list[Residual] = []

    try:
        propagators = estimator.processMeasurements(measurements)
    except Exception as exc:  # noqa: BLE001
        raise OdError(f"{options.method} filter failed: {_java_message(exc)}") from None
    state = propagators[0].getInitialState().getOrbit()
    covariance = ok.to_numpy(estimator.getPhysicalEstimatedCovarianceMatrix())
    # the filter's residuals: each measurement against the final estimate (post-fit), the same
    # definition as the batch's last iteration, so statistics compare across methods
    propagator = propagators[0]
    for om, m in zip(orekit, ours, strict=True):
        predicted = propagator.propagate(om.getDate())
        est = om.estimateWithoutDerivatives([predicted])
        for i, calc in enumerate(est.getEstimatedValue()):
            diff = float(m.value[i]) - float(calc)
            if m.kind in ("azel", "radec") and i == 0:
                diff = (diff + math.pi) % (2 * math.pi) - math.pi
            residuals.append(Residual(m.kind, m.station, m.epoch, i, diff, m.sigma[i], False))
    residuals.sort(key=lambda r: (r.epoch, r.component))
    norm = [r.residual / r.sigma for r in residuals]
    return OdResult(
        epoch=ok.to_datetime(state.getDate()),
        state=ok.state_vector(state.getPVCoordinates(ok.frame())),
        covariance=covariance[:6, :6],
        method=options.method,
        options=options,
        parameters=_estimated_parameters([estimator.getPropagationParametersDrivers(True)]),
        residuals=residuals,
        iterations=1,
        evaluations=len(orekit),
        rms=float(np.sqrt(np.mean(np.square(norm)))) if norm else math.nan,
        propagator=propagator,
    )


def _selected_drivers(builder: Any) -> Iterable[Any]:
    for driver in builder.getPropagationParametersDrivers().getDrivers():
        if driver.isSelected():
            yield driver


def _java_message(exc: BaseException) -> str:
    text = str(exc.getMessage()) if hasattr(exc, "getMessage") else str(exc)
    return " ".join(text.split())


# ------------------------------------------------------------------------------------ outputs
def residual_statistics(residuals: Sequence[Residual]) -> list[dict[str, Any]]:
    """Per station, measurement kind and component: count used, outliers rejected, mean, RMS and
    RMS of the normalized residual (1 when the noise model is right), in the natural unit (m, m/s,
    arcsec)."""
    groups: dict[tuple[str, str, int], list[Residual]] = {}
    for r in residuals:
        groups.setdefault((r.station, r.kind, r.component), []).append(r)
    rows = []
    for (station, kind, component), rs in sorted(groups.items()):
        used = [r for r in rs if not r.rejected]
        scale, unit = (
            (math.degrees(1.0) * 3600.0, "arcsec")
            if kind in ("azel", "radec")
            else (1.0, "m" if kind == "range" else "m/s")
        )
        values = np.array([r.residual for r in used]) * scale
        normalized = np.array([r.residual / r.sigma for r in used])
        rows.append(
            {
                "station": station,
                "kind": kind,
                "component": _component_name(kind, component),
                "unit": unit,
                "count": len(used),
                "rejected": len(rs) - len(used),
                "mean": float(values.mean()) if len(values) else math.nan,
                "rms": float(np.sqrt(np.mean(values**2))) if len(values) else math.nan,
                "normalized_rms": float(np.sqrt(np.mean(normalized**2))) if len(values) else math.nan,
            }
        )
    return rows


def _component_name(kind: str, component: int) -> str:
    names = {"azel": ("azimuth", "elevation"), "radec": ("right_ascension", "declination")}
    return names[kind][component] if kind in names else kind


def ephemeris(
    result: OdResult, start: datetime, stop: datetime, step_s: float
) -> tuple[list[datetime], np.ndarray, np.ndarray]:
    """States (m, m/s, EME2000) and their 6x6 covariances on a grid from ``start`` to ``stop``,
    the covariance carried by the state transition matrix of the fitted propagator (Orekit's
    ``StateCovarianceMatrixProvider``: P(t) = Phi P0 Phi^T)."""
    ok.start()
    from org.orekit.orbits import OrbitType, PositionAngleType
    from org.orekit.propagation import StateCovariance, StateCovarianceMatrixProvider

    if step_s <= 0 or stop < start:
        raise OdError("an ephemeris needs start <= stop and a positive step")
    propagator = fresh_propagator(result)
    harvester = propagator.setupMatricesComputation("kizuna-stm", None, None)
    initial = StateCovariance(
        ok.to_real_matrix(result.covariance),
        ok.absolute_date(result.epoch),
        ok.frame(),
        OrbitType.CARTESIAN,
        PositionAngleType.MEAN,
    )
    provider = StateCovarianceMatrixProvider("kizuna-covariance", "kizuna-stm", harvester, initial)
    propagator.addAdditionalDataProvider(provider)
    total = (stop - start).total_seconds()
    steps = int(math.floor(total / step_s + 1e-9))
    times = [start + _seconds(i * step_s) for i in range(steps + 1)]
    states = np.empty((len(times), 6))
    covs = np.empty((len(times), 6, 6))
    for i, t in enumerate(times):
        s = propagator.propagate(ok.absolute_date(t))
        states[i] = ok.state_vector(s.getPVCoordinates(ok.frame()))
        cov = provider.getStateCovariance(s)
        covs[i] = ok.to_numpy(cov.changeCovarianceFrame(s.getOrbit(), ok.frame()).getMatrix())
    return times, states, covs


def fresh_propagator(result: OdResult) -> Any:
    """A new numerical propagator from the estimate (state at its epoch, the options' force model,
    estimated force parameters such as the drag coefficient set to their estimates): each
    ephemeris or covariance run gets its own, as Orekit's propagators keep the providers added."""
    builder = propagator_builder(result.epoch, result.state, result.options)
    for driver in builder.getPropagationParametersDrivers().getDrivers():
        name = str(driver.getName())
        if name in result.parameters:
            driver.setValue(float(result.parameters[name]))
    return builder.buildPropagator(builder.getSelectedNormalizedParameters())


def _seconds(s: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=s)


def fitted_tle(
    result: OdResult, template: tuple[str, str] | None = None, norad_id: int = 99999
) -> tuple[str, str]:
    """A TLE fitted to the estimated state (Orekit's ``TLE.stateToTLE`` with the fixed-point
    generation algorithm: the mean elements whose SGP4 osculating state at the epoch is the
    estimate). Identification fields come from ``template`` when given."""
    ok.start()
    from org.orekit.propagation import SpacecraftState
    from org.orekit.propagation.analytical.tle import TLE
    from org.orekit.propagation.analytical.tle.generation import (
        FixedPointTleGenerationAlgorithm,
    )

    orbit = ok.cartesian_orbit(result.state, result.epoch)
    state = SpacecraftState(orbit)
    if template is not None:
        base = TLE(template[0], template[1])
    else:
        from org.orekit.orbits import KeplerianOrbit

        kep = KeplerianOrbit(
            orbit.getPVCoordinates(ok.frame("TEME")), ok.frame("TEME"), orbit.getDate(), orbit.getMu()
        )
        base = TLE(
            int(norad_id),
            "U",
            2000,
            1,
            "A",
            0,
            999,
            orbit.getDate(),
            float(kep.getKeplerianMeanMotion()),
            0.0,
            0.0,
            float(kep.getE()),
            float(kep.getI()),
            float(kep.getPerigeeArgument()),
            float(kep.getRightAscensionOfAscendingNode()),
            float(kep.getMeanAnomaly()),
            0,
            0.0,
        )
    tle = TLE.stateToTLE(state, base, FixedPointTleGenerationAlgorithm())
    return str(tle.getLine1()), str(tle.getLine2())


# ------------------------------------------------------------------------- simulated campaigns
def truth_measurements(
    epoch: datetime,
    state: np.ndarray,
    stations: Mapping[str, Station],
    schedule: Sequence[tuple[str, str, datetime]],
    sigmas: Mapping[str, tuple[float, ...]],
    rng: np.random.Generator,
    options: OdOptions | None = None,
) -> tuple[list[Measurement], Any]:
    """Measurements of a truth orbit (``state`` at ``epoch``, propagated with the options' force
    model) for a ``schedule`` of (station, kind, time), with Gaussian noise of ``sigmas[kind]``
    (SI). Returns the measurements and the truth propagator (for the error against truth)."""
    options = options or OdOptions()
    ok.start()
    builder = propagator_builder(epoch, np.asarray(state, dtype=float), options)
    propagator = builder.buildPropagator(builder.getSelectedNormalizedParameters())
    orekit_stations = {
        name: ok.ground_station(*_site(stations, name)) for name in {s for s, _, _ in schedule}
    }
    out: list[Measurement] = []
    for station, kind, when in sorted(schedule, key=lambda x: x[2]):
        sigma = tuple(float(s) for s in sigmas[kind])
        zero = tuple(0.0 for _ in sigma)
        probe = Measurement(
            kind, station, when, zero if kind in ("range", "range_rate") else (0.0, 0.0), sigma
        )
        om = _orekit_measurement(probe, orekit_stations[station], None)
        truth_state = propagator.propagate(ok.absolute_date(when))
        exact = [float(v) for v in om.estimateWithoutDerivatives([truth_state]).getEstimatedValue()]
        noisy = tuple(v + rng.normal(0.0, s) for v, s in zip(exact, sigma, strict=True))
        if kind in ("azel", "radec"):
            noisy = (noisy[0] % (2 * math.pi), noisy[1])
        out.append(Measurement(kind, station, when, noisy, sigma))
    return out, propagator


def state_at(propagator: Any, when: datetime) -> np.ndarray:
    """The EME2000 state (m, m/s) of an Orekit propagator at ``when``."""
    return ok.state_vector(propagator.propagate(ok.absolute_date(when)).getPVCoordinates(ok.frame()))


def elevation_deg(propagator: Any, station: Station, when: datetime) -> float:
    """Elevation of the propagated object above ``station``'s horizon (geodetic), degrees."""
    base = _topocentric(station)
    s = propagator.propagate(ok.absolute_date(when))
    return math.degrees(float(base.getElevation(s.getPosition(), s.getFrame(), s.getDate())))


@functools.lru_cache(maxsize=64)
def _topocentric(station: Station) -> Any:
    return ok.ground_station(station.name, station.lat_deg, station.lon_deg, station.alt_m).getBaseFrame()


# ------------------------------------------------------------------------------ CCSDS products
def opm_of(
    result: OdResult, object_name: str = "UNKNOWN", object_id: str = "UNKNOWN", originator: str = "KIZUNA"
) -> Opm:
    """The estimate as an OPM: state in km and km/s, covariance in km^2... (EME2000, UTC)."""
    from kizuna.formats.opm import Opm

    # m^2 -> km^2 (and m^2/s -> km^2/s, ...); the message carries the lower triangle: symmetrize
    covariance = (result.covariance + result.covariance.T) * 0.5e-6
    epoch = np.datetime64(result.epoch.astimezone(UTC).replace(tzinfo=None), "ns")
    return Opm(
        epoch=epoch,
        state_km=result.state / 1e3,
        metadata={
            "OBJECT_NAME": object_name,
            "OBJECT_ID": object_id,
            "CENTER_NAME": "EARTH",
            "REF_FRAME": result.frame,
            "TIME_SYSTEM": "UTC",
        },
        header={"CREATION_DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "ORIGINATOR": originator},
        covariance_km=covariance,
        cov_ref_frame=result.frame,
        spacecraft={
            "MASS": result.options.mass_kg,
            "SOLAR_RAD_AREA": result.options.area_m2,
            "SOLAR_RAD_COEFF": result.options.cr,
            "DRAG_AREA": result.options.area_m2,
            "DRAG_COEFF": result.parameters.get("drag coefficient", result.options.cd),
        },
        comments=[
            f"orbit determination: Orekit {result.method}, {len(result.residuals)} residual components,"
            f" normalized RMS {result.rms:.3f}",
        ],
    )


def oem_of(
    times: Sequence[datetime],
    states: np.ndarray,
    covariances: np.ndarray,
    object_name: str = "UNKNOWN",
    object_id: str = "UNKNOWN",
) -> Oem:
    """An OEM segment with a covariance at every state (km, km/s; km^2 ...), EME2000, UTC."""
    from kizuna.formats.oem import Covariance, Oem, OemSegment

    epochs = np.array([np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "ns") for t in times])
    segment = OemSegment(
        metadata={
            "OBJECT_NAME": object_name,
            "OBJECT_ID": object_id,
            "CENTER_NAME": "EARTH",
            "REF_FRAME": ok.INERTIAL_FRAME,
            "TIME_SYSTEM": "UTC",
            "START_TIME": str(epochs[0]),
            "STOP_TIME": str(epochs[-1]),
        },
        epochs=epochs,
        states=np.asarray(states) / 1e3,
        covariances=[
            Covariance(e, np.asarray(c) * 1e-6, ok.INERTIAL_FRAME)
            for e, c in zip(epochs, covariances, strict=True)
        ],
    )
    return Oem(
        version="2.0",
        header={"CREATION_DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "ORIGINATOR": "KIZUNA"},
        segments=[segment],
    )


def tdm_of(
    measurements: Sequence[Measurement], spacecraft: str = "SPACECRAFT", originator: str = "KIZUNA"
) -> Tdm:
    """Measurements as a TDM: one segment per station and kind (range km two-way, range rate km/s,
    AZEL or RADEC degrees), UTC, in time order."""
    from kizuna.formats.tdm import Observation, TdmSegment

    groups: dict[tuple[str, str], list[Measurement]] = {}
    for m in sorted(measurements, key=lambda m: m.epoch):
        groups.setdefault((m.station, m.kind), []).append(m)
    segments = []
    for (station, kind), ms in groups.items():
        meta = {"TIME_SYSTEM": "UTC", "PARTICIPANT_1": station, "PARTICIPANT_2": spacecraft}
        if kind in ("range", "range_rate"):
            meta.update({"MODE": "SEQUENTIAL", "PATH": "1,2,1" if ms[0].two_way else "2,1"})
        if kind == "range":
            meta["RANGE_UNITS"] = "km"
        if kind in ("azel", "radec"):
            meta.update(
                {"MODE": "SEQUENTIAL", "PATH": "2,1", "ANGLE_TYPE": "AZEL" if kind == "azel" else "RADEC"}
            )
            if kind == "radec":
                meta["REFERENCE_FRAME"] = "EME2000"
        obs: list[Observation] = []
        for m in ms:
            if kind == "range":
                obs.append(Observation("RANGE", m.epoch, m.value[0] / 1e3))
            elif kind == "range_rate":
                obs.append(Observation("DOPPLER_INSTANTANEOUS", m.epoch, m.value[0] / 1e3))
            else:
                obs.append(Observation("ANGLE_1", m.epoch, math.degrees(m.value[0]) % 360.0))
                obs.append(Observation("ANGLE_2", m.epoch, math.degrees(m.value[1])))
        meta["START_TIME"] = ms[0].epoch.strftime("%Y-%m-%dT%H:%M:%S.%f")
        meta["STOP_TIME"] = ms[-1].epoch.strftime("%Y-%m-%dT%H:%M:%S.%f")
        segments.append(TdmSegment(metadata=meta, observations=obs))
    header = {"CREATION_DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "ORIGINATOR": originator}
    return Tdm(version="2.0", header=header, segments=segments)


def read_epoch(text: str) -> datetime:
    """An ISO-8601 UTC time (as the CLI's JSON writes it) as an aware datetime."""
    from kizuna.model.time import parse_utc_datetime

    return parse_utc_datetime(text)


# ------------------------------------------------------------------ covariance into collision Pc
def result_from_state(
    epoch: datetime, state: np.ndarray, covariance: np.ndarray, options: OdOptions | None = None
) -> OdResult:
    """An estimate made elsewhere (a partner's OPM, a CDM's object) as an :class:`OdResult`, with a
    propagator of the options' force model, so it can be carried to a TCA like our own fits."""
    options = options or OdOptions()
    builder = propagator_builder(epoch, np.asarray(state, dtype=float), options)
    propagator = builder.buildPropagator(builder.getSelectedNormalizedParameters())
    return OdResult(
        epoch,
        np.asarray(state, dtype=float),
        np.asarray(covariance, dtype=float),
        "external",
        options,
        propagator=propagator,
    )


@dataclass(frozen=True)
class OdConjunction:
    """Two estimates carried to their time of closest approach: states (m, m/s, EME2000) and 6x6
    covariances there, miss distance, relative speed and Foster's Pc with these covariances."""

    tca: datetime
    states: tuple[np.ndarray, np.ndarray]
    covariances: tuple[np.ndarray, np.ndarray]
    miss_m: float
    rel_speed_m_s: float
    hbr_m: float
    pc: float
    method: str


def conjunction(
    first: OdResult, second: OdResult, tca_guess: datetime, window_s: float = 600.0, hbr_m: float = 20.0
) -> OdConjunction:
    """The closest approach of two estimates within ``tca_guess`` +- ``window_s`` (a 10 s scan,
    then Brent's bounded search on the distance to the millisecond), each covariance carried there
    by its state transition matrix, and Foster's 2-D Pc (``sda.pc``, FOSTER-1992) with them."""
    from datetime import timedelta

    from scipy import optimize

    from kizuna.sda.pc import PC_FOSTER, pc_from_states

    if not (window_s > 0 and hbr_m > 0):
        raise OdError("the TCA window and the hard-body radius must be positive")

    def distance(offset_s: float) -> float:
        t = tca_guess + timedelta(seconds=float(offset_s))
        return float(np.linalg.norm(state_at(first.propagator, t)[:3] - state_at(second.propagator, t)[:3]))

    grid = np.arange(-window_s, window_s + 1e-9, 10.0)
    d = [distance(s) for s in grid]
    k = int(np.argmin(d))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    best = optimize.minimize_scalar(distance, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    tca = tca_guess + timedelta(seconds=float(best.x))
    carried = []
    for result in (first, second):
        _, states, covs = ephemeris(result, tca, tca, 1.0)
        carried.append((states[0], covs[0]))
    (s1, c1), (s2, c2) = carried
    pc = pc_from_states(
        s1[:3] / 1e3, s1[3:] / 1e3, c1 * 1e-6, s2[:3] / 1e3, s2[3:] / 1e3, c2 * 1e-6, hbr_m / 1e3
    )
    return OdConjunction(
        tca=tca,
        states=(s1, s2),
        covariances=(c1, c2),
        miss_m=float(np.linalg.norm(s2[:3] - s1[:3])),
        rel_speed_m_s=float(np.linalg.norm(s2[3:] - s1[3:])),
        hbr_m=hbr_m,
        pc=float(pc),
        method=PC_FOSTER,
    )


def conjunction_cdm(
    event: OdConjunction,
    names: tuple[str, str] = ("OBJECT1", "OBJECT2"),
    originator: str = "KIZUNA",
    covariance_notes: tuple[str | None, str | None] = (None, None),
) -> Cdm:
    """A CDM 1.0 carrying our own covariances: EME2000 states at TCA, each 6x6 covariance rotated
    into its object's RTN frame (m^2), and the Foster Pc they give (``COLLISION_PROBABILITY``).
    An object whose covariance is an assumed default rather than a fit's gets its note in
    ``covariance_notes`` and ``COVARIANCE_METHOD = DEFAULT``."""
    from kizuna.formats.cdm import COVARIANCE_6X6_KEYS, STATE_KEYS, Cdm, CdmObject
    from kizuna.orbit.geometry import rtn_basis

    s1, s2 = event.states
    basis1 = rtn_basis(s1[:3], s1[3:])
    rel_r, rel_v = basis1 @ (s2[:3] - s1[:3]), basis1 @ (s2[3:] - s1[3:])
    tca = event.tca.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    cdm = Cdm()
    cdm.header.update(
        {
            "CCSDS_CDM_VERS": "1.0",
            "CREATION_DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "ORIGINATOR": originator,
            "MESSAGE_ID": f"{names[0]}_conj_{names[1]}_{tca[:19]}",
        }
    )
    cdm.relative_comments.append(f"HBR = {event.hbr_m} [m] (given)")
    cdm.relative.update(
        {
            "TCA": tca,
            "MISS_DISTANCE": round(event.miss_m, 3),
            "RELATIVE_SPEED": round(event.rel_speed_m_s, 3),
            "RELATIVE_POSITION_R": round(float(rel_r[0]), 3),
            "RELATIVE_POSITION_T": round(float(rel_r[1]), 3),
            "RELATIVE_POSITION_N": round(float(rel_r[2]), 3),
            "RELATIVE_VELOCITY_R": round(float(rel_v[0]), 4),
            "RELATIVE_VELOCITY_T": round(float(rel_v[1]), 4),
            "RELATIVE_VELOCITY_N": round(float(rel_v[2]), 4),
            "COLLISION_PROBABILITY": float(f"{event.pc:.6e}"),
            "COLLISION_PROBABILITY_METHOD": event.method,
        }
    )
    objects = zip(names, event.states, event.covariances, covariance_notes, strict=True)
    for n, (name, state, cov, note) in enumerate(objects, start=1):
        obj = CdmObject()
        obj.fields.update(
            {
                "OBJECT": f"OBJECT{n}",
                "OBJECT_DESIGNATOR": name,
                "CATALOG_NAME": "SATCAT",
                "OBJECT_NAME": name,
                "INTERNATIONAL_DESIGNATOR": "UNKNOWN",
                "EPHEMERIS_NAME": "NONE",
                "COVARIANCE_METHOD": "CALCULATED" if note is None else "DEFAULT",
                "MANEUVERABLE": "N/A",
                "REF_FRAME": "EME2000",
            }
        )
        obj.comments.append(
            note or "covariance: orbit determination (Orekit), carried to TCA by the state transition matrix"
        )
        for key, value in zip(STATE_KEYS, state / 1e3, strict=True):
            obj.fields[key] = float(value)
        rot = np.zeros((6, 6))
        basis = rtn_basis(state[:3], state[3:])
        rot[:3, :3] = rot[3:, 3:] = basis
        rtn = rot @ cov @ rot.T
        k = 0
        for i in range(6):
            for j in range(i + 1):
                obj.fields[COVARIANCE_6X6_KEYS[k]] = float(0.5 * (rtn[i, j] + rtn[j, i]))
                k += 1
        cdm.objects.append(obj)
    return cdm


def reference_state(ephemeris: Ephemeris, when: datetime) -> np.ndarray:
    """A precise ephemeris' state (a CPF prediction, an OEM) at ``when`` in Orekit's inertial
    frame (EME2000) [m, m/s], through Orekit's own frame transformation (IERS 2010, with EOP), so
    a fitted state can be scored against it."""
    t = np.array([np.datetime64(when.astimezone(UTC).replace(tzinfo=None), "ns")])
    r_km, v_kms = ephemeris.interpolate(t)
    if not np.isfinite(r_km).all():
        raise OdError(
            f"{when.isoformat()} is outside the reference ephemeris "
            f"({ephemeris.start_utc} to {ephemeris.stop_utc})"
        )
    ok.start()
    source = ok.frame({"itrf": "ITRF", "gcrs": "GCRF", "teme": "TEME"}[ephemeris.frame])
    date = ok.absolute_date(when)
    pv = source.getTransformTo(ok.frame(), date).transformPVCoordinates(ok.pv(r_km[0] * 1e3, v_kms[0] * 1e3))
    return ok.state_vector(pv)
