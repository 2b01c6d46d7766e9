"""Ground-station tracking for orbit determination: ranging and azimuth/elevation from antennas
whose range and pointing are biased, through the atmosphere, as Orekit measurements with the
modifiers that model them.

Per station (:class:`StationTracking`): the noise of range and of each angle; a range bias and an
azimuth/elevation bias pair, fixed or estimated within limits (an antenna's calibration is rarely
known to the kilometre a geostationary operator's ranging carries); radio refraction of the
elevation (ITU-R P.834); the tropospheric range delay (modified Saastamoinen, standard
atmosphere). For the satellite: an on-board range bias (the transponder's delay, fixed). For
every measurement: rejection of residuals beyond a multiple of sigma from a chosen iteration on.

These are the choices of Orekit's own Eutelsat W3B reference case (``od_test_W3.in``), which the
tests reproduce through this path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from kizuna.formats.orekit_od_input import OrekitInput
from kizuna.formats.tracking_text import TrackingObservation
from kizuna.orbit import orekit as ok
from kizuna.ssa import od


@dataclass(frozen=True)
class StationTracking:
    """How one station's tracking is modelled. Sigmas also scale the biases in the estimator's
    normalized parameters, as Orekit's examples do."""

    range_sigma_m: float = 20.0
    range_bias_m: float = 0.0
    estimate_range_bias: bool = False
    range_bias_limit_m: float = 50_000.0
    azel_sigma_deg: tuple[float, float] = (0.02, 0.02)
    azel_bias_deg: tuple[float, float] = (0.0, 0.0)
    estimate_azel_bias: bool = False
    azel_bias_limit_deg: float = 0.5
    refraction: bool = False  # ITU-R P.834 radio refraction added to the computed elevation
    troposphere: bool = False  # modified Saastamoinen delay added to the computed range

    def __post_init__(self) -> None:
        positive = (
            self.range_sigma_m,
            *self.azel_sigma_deg,
            self.range_bias_limit_m,
            self.azel_bias_limit_deg,
        )
        if not all(math.isfinite(v) and v > 0 for v in positive):
            raise od.OdError("station tracking: sigmas and bias limits must be positive and finite")
        if abs(self.range_bias_m) > self.range_bias_limit_m or any(
            abs(b) > self.azel_bias_limit_deg for b in self.azel_bias_deg
        ):
            raise od.OdError("station tracking: a starting bias lies outside its limits")


def measurements(
    observations: Sequence[TrackingObservation],
    stations: Mapping[str, od.Station],
    tracking: Mapping[str, StationTracking],
    onboard_range_bias_m: float = 0.0,
    outlier_sigma: float = 6.0,
    outlier_start_iteration: int = 2,
) -> tuple[list[Any], list[od.Measurement]]:
    """Orekit measurements of ``observations`` (two-way range, azimuth/elevation) with their
    stations' modifiers, and the Kizuna records beside them (for residuals)."""
    ok.start()
    from jpype import JArray, JDouble, JString  # type: ignore[attr-defined]
    from org.orekit.estimation.measurements import AngularAzEl, ObservableSatellite, Range
    from org.orekit.estimation.measurements.modifiers import (
        AngularRadioRefractionModifier,
        Bias,
        OutlierFilter,
        RangeTroposphericDelayModifier,
    )
    from org.orekit.models.earth import ITURP834AtmosphericRefraction
    from org.orekit.models.earth.troposphere import ModifiedSaastamoinenModel, TroposphericModelUtils

    if not (math.isfinite(outlier_sigma) and outlier_sigma > 0) or outlier_start_iteration < 1:
        raise od.OdError("outlier rejection needs a positive multiple of sigma and a first iteration >= 1")
    if not math.isfinite(onboard_range_bias_m):
        raise od.OdError("the on-board range bias must be finite")

    def bias(names: list[str], values: list[float], scales: list[float], limit: list[float], on: bool) -> Any:
        b: Any = Bias(
            JArray(JString)(names),
            JArray(JDouble)(values),
            JArray(JDouble)(scales),
            JArray(JDouble)([-x for x in limit]),
            JArray(JDouble)(limit),
        )
        for driver in b.getParametersDrivers():
            driver.setSelected(on)
        return b

    satellite = ObservableSatellite(0)
    outliers: Any = OutlierFilter(int(outlier_start_iteration), float(outlier_sigma))
    onboard = (
        bias(["transponder-delay"], [float(onboard_range_bias_m)], [1.0], [math.inf], False)
        if onboard_range_bias_m != 0.0
        else None
    )
    used = {o.station for o in observations}
    missing = sorted(used - set(stations)) or sorted(used - set(tracking))
    if missing:
        raise od.OdError(f"station {missing[0]!r}: no site or no tracking model given")
    orekit_stations = {name: ok.ground_station(*od._site(stations, name)) for name in used}
    range_modifiers: dict[str, list[Any]] = {}
    angle_modifiers: dict[str, list[Any]] = {}
    for name in used:
        t = tracking[name]
        station = orekit_stations[name]
        ranges: list[Any] = []
        if t.estimate_range_bias or t.range_bias_m != 0.0:
            ranges.append(
                bias(
                    [f"{name}/range-bias"],
                    [float(t.range_bias_m)],
                    [float(t.range_sigma_m)],
                    [float(t.range_bias_limit_m)],
                    t.estimate_range_bias,
                )
            )
        if onboard is not None:
            ranges.append(onboard)
        if t.troposphere:
            model = ModifiedSaastamoinenModel(TroposphericModelUtils.STANDARD_ATMOSPHERE_PROVIDER)
            ranges.append(RangeTroposphericDelayModifier(model))
        angles: list[Any] = []
        if t.refraction:
            altitude = float(station.getBaseFrame().getPoint().getAltitude())
            angles.append(AngularRadioRefractionModifier(ITURP834AtmosphericRefraction(altitude)))
        if t.estimate_azel_bias or any(b != 0.0 for b in t.azel_bias_deg):
            angles.append(
                bias(
                    [f"{name}/azimuth-bias", f"{name}/elevation-bias"],
                    [math.radians(b) for b in t.azel_bias_deg],
                    [math.radians(s) for s in t.azel_sigma_deg],
                    [math.radians(t.azel_bias_limit_deg)] * 2,
                    t.estimate_azel_bias,
                )
            )
        range_modifiers[name] = [*ranges, outliers]
        angle_modifiers[name] = [*angles, outliers]

    orekit: list[Any] = []
    ours: list[od.Measurement] = []
    for o in sorted(observations, key=lambda o: o.epoch_utc):
        t = tracking[o.station]
        date = ok.absolute_date(o.epoch_utc)
        m: Any
        if o.kind == "range":
            sigma: tuple[float, ...] = (float(t.range_sigma_m),)
            m = Range(orekit_stations[o.station], True, date, float(o.value_si[0]), sigma[0], 1.0, satellite)
            modifiers = range_modifiers[o.station]
        elif o.kind == "azel":
            sigma = tuple(math.radians(s) for s in t.azel_sigma_deg)
            m = AngularAzEl(
                orekit_stations[o.station],
                date,
                JArray(JDouble)(list(o.value_si)),
                JArray(JDouble)(list(sigma)),
                JArray(JDouble)([1.0, 1.0]),
                satellite,
            )
            modifiers = angle_modifiers[o.station]
        else:
            raise od.OdError(
                f"{o.kind} at {o.epoch_utc.isoformat()} from {o.station}: only range and azel are modelled"
            )
        for modifier in modifiers:
            m.addModifier(modifier)
        orekit.append(m)
        ours.append(od.Measurement(o.kind, o.station, o.epoch_utc, o.value_si, sigma, True))
    return orekit, ours


# ------------------------------------------------------------------- Orekit's OD input files
@dataclass(frozen=True)
class OdCase:
    """A whole orbit-determination case: initial orbit, stations and their tracking models, the
    force model and estimator, the measurement files (relative to the input file)."""

    epoch: datetime
    initial_state: np.ndarray
    stations: dict[str, od.Station]
    tracking: dict[str, StationTracking]
    options: od.OdOptions
    onboard_range_bias_m: float
    outlier_sigma: float
    outlier_start_iteration: int
    measurement_files: tuple[str, ...]
    use_range: bool


# keys read only to check they ask for nothing this path leaves out (value -> what it must be)
_INERT = {
    "iers.conventions": "2010",
    "inertial.frame": "EME2000",
    "body.frame": "CIO/2010-based ITRF simple EOP",
    "ocean.tides.degree": "-1",
    "ocean.tides.order": "-1",
    "solid.tides.sun": "false",
    "solid.tides.moon": "false",
    "solar.radiation.pressure.cr.estimated": "false",
    "earth.albedo.infrared": "false",
    "onboard.range.bias.estimated": "false",
    "on.board.antenna.phase.center.x": "0.0",
    "on.board.antenna.phase.center.y": "0.0",
    "on.board.antenna.phase.center.z": "0.0",
    "on.board.clock.offset": "0.0",
    "on.board.clock.offset.estimated": "false",
    "solid.tides.displacement.correction": "false",
    "ocean.loading.correction": "false",
    "use.range.rate.measurements": "false",
    "range.measurements.base.weight": "1.0",
    "azimuth.measurements.base.weight": "1.0",
    "elevation.measurements.base.weight": "1.0",
}
_INERT_STATION = {
    "ground.station.clock.offset": "0.0",
    "ground.station.clock.offset.estimated": "false",
    "ground.station.position.estimated": "false",
    "ground.station.tropospheric.model.estimated": "false",
    "ground.station.tropospheric.delay.estimated": "false",
    "ground.station.weather.estimated": "false",
    "ground.station.range.ionospheric.correction": "false",
    "ground.station.ionospheric.model.estimated": "false",
    "ground.station.ionospheric.vtec.estimated": "false",
}
# keys with no effect on this case (range-rate and PV settings, unused model parameters, outputs)
_IGNORED = (
    "body.equatorial.radius",
    "body.inverse.flattening",
    "albedo.infrared.angular.resolution",
    "onboard.range.bias.min",
    "onboard.range.bias.max",
    "on.board.clock.offset.min",
    "on.board.clock.offset.max",
    "use.time.span.tropospheric.model",
    "solid.tides.displacement.remove.permanent.deformation",  # only with the displacement, refused
    "range.rate.outlier.rejection.multiplier",
    "range.rate.outlier.rejection.starting.iteration",
    "pv.outlier.rejection.multiplier",
    "pv.outlier.rejection.starting.iteration",
    "range.rate.measurements.base.weight",
    "pv.measurements.base.weight",
    "pv.measurements.position.sigma",
    "pv.measurements.velocity.sigma",
    "output.base.name",
    "ground.station.clock.offset.min",
    "ground.station.clock.offset.max",
    "ground.station.range.rate.sigma",
    "ground.station.range.rate.bias",
    "ground.station.range.rate.bias.min",
    "ground.station.range.rate.bias.max",
    "ground.station.range.rate.bias.estimated",
    "ground.station.tropospheric.zenith.delay",
    "ground.station.global.mapping.function",
    "ground.station.niell.mapping.function",
    "ground.station.ionospheric.vtec.value",
    "ground.station.ionospheric.hion.value",
)


def case_from_orekit_input(cfg: OrekitInput, solar_activity_file: str | None = None) -> OdCase:
    """The case an Orekit orbit-determination input file describes, for the keys of its
    ground-station cases (Cartesian initial orbit, geopotential, Sun/Moon, DTM2000 drag, SRP,
    polynomial accelerations, station range and azimuth/elevation biases, refraction, troposphere,
    an on-board range bias, outlier rejection, the batch estimator). A key asking for a model this
    path does not have (tides, ocean loading, estimated troposphere, clock offsets, ...) or a key
    it does not know is refused, naming it and its line: nothing is silently left out."""
    used: set[str] = set()

    def text(key: str, default: str | None = None) -> str:
        used.add(key)
        if key in cfg.scalars:
            return cfg.scalars[key]
        if default is None:
            raise od.OdError(f"{cfg.file}: {key}: missing")
        return default

    def number(key: str, default: float | None = None) -> float:
        raw = text(key, None if default is None else repr(default))
        try:
            value = float(raw)
        except ValueError:
            raise od.OdError(f"{cfg.where(key)}: not a number: {raw!r}") from None
        if not math.isfinite(value):
            raise od.OdError(f"{cfg.where(key)}: not a finite number: {raw!r}")
        return value

    def flag(key: str, default: bool = False) -> bool:
        raw = text(key, "true" if default else "false").lower()
        if raw not in ("true", "false"):
            raise od.OdError(f"{cfg.where(key)}: true or false, not {raw!r}")
        return raw == "true"

    def column(key: str) -> dict[int, str]:
        used.add(key)
        return cfg.arrays.get(key, {})

    for key, expected in _INERT.items():
        if key in cfg.scalars:
            used.add(key)
            if not _same(cfg.scalars[key], expected):
                raise od.OdError(
                    f"{cfg.where(key)}: only {expected} is supported here, not {cfg.scalars[key]!r}"
                )
    used.update(k for k in _IGNORED if k in cfg.scalars)

    if any(
        k.startswith(("orbit.keplerian", "orbit.equinoctial", "orbit.circular", "orbit.tle"))
        for k in cfg.scalars
    ):
        raise od.OdError(f"{cfg.file}: only a Cartesian initial orbit (orbit.cartesian.*) is supported here")
    from kizuna.model.time import parse_utc_datetime

    try:
        epoch = parse_utc_datetime(text("orbit.date"))
    except ValueError as exc:
        raise od.OdError(f"{cfg.where('orbit.date')}: {exc}") from None
    state = np.array([number(f"orbit.cartesian.{c}") for c in ("px", "py", "pz", "vx", "vy", "vz")])

    degree = int(number("central.body.degree"))
    order = int(number("central.body.order", float(degree)))
    sun, moon = flag("third.body.sun"), flag("third.body.moon")
    if sun != moon:
        raise od.OdError(f"{cfg.where('third.body.moon')}: the Sun and the Moon are modelled together here")
    drag, srp = flag("drag"), flag("solar.radiation.pressure")
    drag_area = number("drag.area", 10.0) if drag else None
    srp_area = number("solar.radiation.pressure.area", 10.0) if srp else None
    if drag_area is not None and srp_area is not None and drag_area != srp_area:
        raise od.OdError(
            f"{cfg.where('solar.radiation.pressure.area')}: must equal drag.area (one cross-section)"
        )
    area = drag_area if drag_area is not None else srp_area if srp_area is not None else 10.0

    names = column("polynomial.acceleration.name")
    accelerations = []
    for i in sorted(names):
        direction = tuple(
            _indexed_number(
                cfg,
                column(f"polynomial.acceleration.direction.{c}"),
                f"polynomial.acceleration.direction.{c}",
                i,
            )
            for c in ("x", "y", "z")
        )
        coefficients_text = column("polynomial.acceleration.coefficients").get(i, "0.0")
        try:
            coefficients = tuple(float(c) for c in coefficients_text.split(","))
        except ValueError:
            raise od.OdError(
                f"{cfg.where('polynomial.acceleration.coefficients', i)}: numbers separated by commas"
            ) from None
        estimated = column("polynomial.acceleration.estimated").get(i, "false").lower() == "true"
        accelerations.append(
            od.EmpiricalAcceleration(
                names[i], (direction[0], direction[1], direction[2]), coefficients, estimated
            )
        )

    engine = text("estimator.optimization.engine", "Levenberg-Marquardt").lower()
    min_step = number("propagator.min.step", 6000.0)
    max_step = number("propagator.max.step", 86400.0)
    position_error = number("propagator.position.error", 10.0)
    options = od.OdOptions(
        method="batch",
        degree=degree,
        order=order,
        drag=drag,
        drag_model="dtm2000",
        solar_activity_file=solar_activity_file,
        cd=number("drag.cd", 2.0) if drag else 2.2,
        estimate_cd=flag("drag.cd.estimated") if drag else False,
        srp=srp,
        cr=number("solar.radiation.pressure.cr", 1.5) if srp else 1.5,
        third_bodies=sun,
        mass_kg=number("mass", 1000.0),
        area_m2=area,
        relativity=flag("general.relativity"),
        accelerations=tuple(accelerations),
        min_step_s=min_step,
        max_step_s=max_step,
        position_tolerance_m=position_error,
        position_scale_m=number("estimator.orbital.parameters.position.scale", position_error),
        optimizer="levenberg-marquardt" if "levenberg" in engine else "gauss-newton",
        lm_initial_step_bound=number("estimator.levenberg.marquardt.initial.step.bound.factor", 100.0),
        convergence=number("estimator.normalized.parameters.convergence.threshold", 1e-3),
        max_iterations=int(number("estimator.max.iterations", 10.0)),
        max_evaluations=int(number("estimator.max.evaluations", 20.0)),
    )

    stations: dict[str, od.Station] = {}
    tracking: dict[str, StationTracking] = {}
    station_names = column("ground.station.name")
    for key, expected in _INERT_STATION.items():
        for i, given in column(key).items():
            if not _same(given, expected):
                raise od.OdError(f"{cfg.where(key, i)}: only {expected} is supported here, not {given!r}")
    for key in _IGNORED:
        if key.startswith("ground.station."):
            column(key)
    for i in sorted(station_names):
        name = station_names[i]

        def value(key: str, index: int = i) -> float:
            return _indexed_number(cfg, column(f"ground.station.{key}"), f"ground.station.{key}", index)

        def on(key: str, index: int = i) -> bool:
            return column(f"ground.station.{key}").get(index, "false").lower() == "true"

        stations[name] = od.Station(name, value("latitude"), value("longitude"), value("altitude"))
        range_limits = (value("range.bias.min"), value("range.bias.max"))
        angle_limits = (
            {value("azimuth.bias.min"), value("elevation.bias.min")},
            {
                value("azimuth.bias.max"),
                value("elevation.bias.max"),
            },
        )
        if (
            range_limits[0] != -range_limits[1]
            or len(angle_limits[0]) != 1
            or angle_limits[0] != {-x for x in angle_limits[1]}
        ):
            raise od.OdError(
                f"{cfg.where('ground.station.name', i)}: bias limits must be symmetric (min = -max), and equal for azimuth and elevation"
            )
        try:
            tracking[name] = StationTracking(
                range_sigma_m=value("range.sigma"),
                range_bias_m=value("range.bias"),
                estimate_range_bias=on("range.bias.estimated"),
                range_bias_limit_m=range_limits[1],
                azel_sigma_deg=(value("azimuth.sigma"), value("elevation.sigma")),
                azel_bias_deg=(value("azimuth.bias"), value("elevation.bias")),
                estimate_azel_bias=on("az.el.biases.estimated"),
                azel_bias_limit_deg=next(iter(angle_limits[1])),
                refraction=on("elevation.refraction.correction"),
                troposphere=on("range.tropospheric.correction"),
            )
        except od.OdError as exc:
            raise od.OdError(f"{cfg.where('ground.station.name', i)}: {exc}") from None

    range_outliers = (
        number("range.outlier.rejection.multiplier", 0.0),
        number("range.outlier.rejection.starting.iteration", 0.0),
    )
    azel_outliers = (
        number("az.el.outlier.rejection.multiplier", 0.0),
        number("az.el.outlier.rejection.starting.iteration", 0.0),
    )
    if range_outliers != azel_outliers or range_outliers[0] <= 0:
        raise od.OdError(
            f"{cfg.where('az.el.outlier.rejection.multiplier')}: one outlier rejection (multiplier > 0, first iteration) for ranges and angles here"
        )
    onboard = number("onboard.range.bias", 0.0)
    files = tuple(f.strip() for f in text("measurements.files").split(",") if f.strip())
    use_range = flag("use.range.measurements", True)

    unknown = sorted({*cfg.scalars, *cfg.arrays} - used)
    if unknown:
        index = next(iter(cfg.arrays[unknown[0]])) if unknown[0] in cfg.arrays else None
        raise od.OdError(f"{cfg.where(unknown[0], index)}: not a key this orbit-determination path knows")
    return OdCase(
        epoch,
        state,
        stations,
        tracking,
        options,
        onboard,
        range_outliers[0],
        int(range_outliers[1]),
        files,
        use_range,
    )


def _same(value: str, expected: str) -> bool:
    try:
        return float(value) == float(expected)
    except ValueError:
        return value.strip().lower() == expected.lower()


def _indexed_number(cfg: OrekitInput, column: dict[int, str], key: str, index: int) -> float:
    if index not in column:
        raise od.OdError(f"{cfg.file}: {key}[{index}]: missing")
    try:
        value = float(column[index])
    except ValueError:
        raise od.OdError(f"{cfg.where(key, index)}: not a number: {column[index]!r}") from None
    if not math.isfinite(value):
        raise od.OdError(f"{cfg.where(key, index)}: not a finite number")
    return value
