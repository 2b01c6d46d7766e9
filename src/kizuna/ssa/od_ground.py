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
from typing import Any

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
