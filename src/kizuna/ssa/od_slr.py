"""Satellite laser ranging for orbit determination: ILRS normal points (read by
``formats.crd``) as Orekit range measurements with the corrections a centimetre-level laser fit
needs, on stations placed by ILRS SINEX files.

- stations: positions from an SLRF SINEX solution (at the solution's epoch), eccentricities of the
  reference point from an ILRS ``ecc_une`` SINEX, solid Earth tide displacement (IERS 2010);
- each normal point: two-way time of flight -> one-way range (c * tof / 2) at its receive time,
  the satellite's centre-of-mass offset as a fixed bias, the Shapiro delay, one estimated range
  bias per station, outliers rejected beyond a multiple of sigma from the second iteration.

These are the choices of Orekit's own LAGEOS-2 reference case (``od_test_Lageos2.in``), which the
tests reproduce through this path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from kizuna.formats.crd import LaserRange
from kizuna.orbit import orekit as ok
from kizuna.ssa import od

SPEED_OF_LIGHT_M_S = 299_792_458.0


def _sinex(path: Path) -> Any:
    from org.orekit.data import DataSource
    from org.orekit.files.sinex import SinexParser
    from org.orekit.time import TimeScalesFactory

    return SinexParser(TimeScalesFactory.getTimeScales()).parse(DataSource(str(path)))


def laser_stations(
    pad_ids: Sequence[int], positions_sinex: Path, eccentricities_sinex: Path, reference: datetime
) -> dict[int, Any]:
    """Orekit ground stations for ILRS pad ids, with tidal displacement and eccentricities."""
    ok.start()
    from org.orekit.bodies import CelestialBodyFactory
    from org.orekit.estimation.measurements import GroundStation
    from org.orekit.files.sinex import Station
    from org.orekit.frames import FramesFactory, TopocentricFrame
    from org.orekit.models.earth.displacement import TidalDisplacement
    from org.orekit.utils import Constants, IERSConventions

    earth = ok.earth()
    positions = _sinex(positions_sinex).getStations()
    eccentricities = _sinex(eccentricities_sinex).getStations()
    tides = TidalDisplacement(
        Constants.EIGEN5C_EARTH_EQUATORIAL_RADIUS,
        Constants.JPL_SSD_SUN_EARTH_PLUS_MOON_MASS_RATIO,
        Constants.JPL_SSD_EARTH_MOON_MASS_RATIO,
        CelestialBodyFactory.getSun(),
        CelestialBodyFactory.getMoon(),
        IERSConventions.IERS_2010,
        False,
    )
    eop = FramesFactory.findEOP(earth.getBodyFrame())
    ref = ok.absolute_date(reference)
    out: dict[int, Any] = {}
    for pad in pad_ids:
        site = positions.get(str(pad))
        if site is None:
            raise od.OdError(f"ILRS station {pad}: not in {positions_sinex.name}")
        point = earth.transform(site.getPosition(), earth.getBodyFrame(), site.getEpoch())
        station = GroundStation(TopocentricFrame(earth, point, str(pad)), eop, tides)
        ecc_site = eccentricities.get(str(pad))
        if ecc_site is not None:
            ecc = ecc_site.getEccentricities(ref)
            if ecc_site.getEccRefSystem() != Station.ReferenceSystem.UNE:
                from org.hipparchus.geometry.euclidean.threed import Vector3D

                ecc = Vector3D(
                    Vector3D.dotProduct(ecc, point.getZenith()),
                    Vector3D.dotProduct(ecc, point.getNorth()),
                    Vector3D.dotProduct(ecc, point.getEast()),
                )
            for driver, value in (
                (station.getZenithOffsetDriver(), ecc.getX()),
                (station.getNorthOffsetDriver(), ecc.getY()),
                (station.getEastOffsetDriver(), ecc.getZ()),
            ):
                driver.setReferenceValue(float(value))
                driver.setValue(float(value))
        out[pad] = station
    return out


def laser_measurements(
    ranges: Sequence[LaserRange],
    stations: dict[int, Any],
    sigma_m: float = 20.0,
    center_of_mass_m: float = 0.0,
    outlier_sigma: float = 6.0,
) -> tuple[list[Any], list[od.Measurement]]:
    """Orekit ``Range`` measurements of normal points (and the Kizuna records beside them)."""
    ok.start()
    from jpype import JArray, JDouble, JString  # type: ignore[attr-defined]
    from org.orekit.estimation.measurements import ObservableSatellite, Range
    from org.orekit.estimation.measurements.modifiers import (
        Bias,
        OutlierFilter,
        RangeTroposphericDelayModifier,
        ShapiroRangeModifier,
    )
    from org.orekit.models.earth.troposphere import MendesPavlisModel
    from org.orekit.models.earth.weather import (
        ConstantPressureTemperatureHumidityProvider,
        PressureTemperatureHumidity,
    )
    from org.orekit.models.earth.weather.water import CIPM2007
    from org.orekit.utils.units import Unit

    satellite = ObservableSatellite(0)
    shapiro = ShapiroRangeModifier(ok.mu_m3_s2())
    outliers: Any = OutlierFilter(2, float(outlier_sigma))

    def bias(name: str, value: float, selected: bool) -> Any:
        b: Any = Bias(
            JArray(JString)([name]),
            JArray(JDouble)([value]),
            JArray(JDouble)([1.0]),
            JArray(JDouble)([-math.inf if not selected else -1e4]),
            JArray(JDouble)([math.inf if not selected else 1e4]),
        )
        b.getParametersDrivers().get(0).setSelected(selected)
        return b

    center = bias("center of mass", float(center_of_mass_m), False)
    station_bias = {pad: bias(f"{pad}/range-bias", 0.0, True) for pad in stations}
    orekit: list[Any] = []
    ours: list[od.Measurement] = []
    for r in ranges:
        pad = r.session.cdp_pad_id
        if pad not in stations:
            continue
        epoch = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=int(r.epoch_utc.astype("datetime64[ns]").astype(np.int64)) / 1000.0
        )
        transmit = ok.absolute_date(epoch)
        if r.epoch_event == 1:  # bounce time: the pulse left half a flight earlier
            transmit = transmit.shiftedBy(-0.5 * r.time_of_flight_s)
        receive = transmit.shiftedBy(float(r.time_of_flight_s))
        two_way = r.session.range_type == "two_way"
        value = r.time_of_flight_s * SPEED_OF_LIGHT_M_S * (0.5 if two_way else 1.0)
        m = Range(stations[pad], two_way, receive, float(value), float(sigma_m), 1.0, satellite)
        # Mendes-Pavlis zenith delay and mapping for optical wavelengths (IERS 2010 section 9.2),
        # from the pass's meteorology (CRD record 20); the standard atmosphere when it has none
        wavelength_m = float(r.session.wavelength_nm) * 1e-9
        if all(math.isfinite(v) for v in (r.pressure_mbar, r.temperature_k, r.humidity_pct)):
            pressure_pa = float(r.pressure_mbar) * 100.0
            altitude = float(stations[pad].getBaseFrame().getPoint().getAltitude())
            vapour = CIPM2007().waterVaporPressure(
                pressure_pa, float(r.temperature_k), 0.01 * float(r.humidity_pct)
            )
            pth = PressureTemperatureHumidity(
                altitude, pressure_pa, float(r.temperature_k), vapour, math.nan, math.nan
            )
            model = MendesPavlisModel(
                ConstantPressureTemperatureHumidityProvider(pth), wavelength_m, Unit.METRE
            )
        else:
            model = MendesPavlisModel.getStandardModel(wavelength_m, Unit.METRE)
        for modifier in (center, RangeTroposphericDelayModifier(model), shapiro, station_bias[pad], outliers):
            m.addModifier(modifier)
        orekit.append(m)
        ours.append(
            od.Measurement(
                "range", str(pad), ok.to_datetime(receive), (float(value),), (float(sigma_m),), two_way
            )
        )
    return orekit, ours
