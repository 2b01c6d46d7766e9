"""SGP4 propagation of N objects x T times, frames and ground geometry.

Knows nothing of conjunctions, ships or HTTP.
"""

from kizuna.orbit.frames import itrf_to_geodetic, teme_to_gcrs, teme_to_itrf
from kizuna.orbit.propagate import (
    FRAMES,
    Ephemeris,
    ObjectError,
    iter_propagate,
    propagate,
    satrec_from_element_set,
)
from kizuna.orbit.timescale import as_datetime64, jd_pair, time_grid

__all__ = [
    "FRAMES",
    "Ephemeris",
    "ObjectError",
    "as_datetime64",
    "iter_propagate",
    "itrf_to_geodetic",
    "jd_pair",
    "propagate",
    "satrec_from_element_set",
    "teme_to_gcrs",
    "teme_to_itrf",
    "time_grid",
]
