"""Earth observation: constellations, sensors, areas, access windows, revisit and collection planning.

Pure functions over arrays and records; no file or socket I/O (see kizuna.cli.eo for the wiring).
"""

from kizuna.eo.access import AccessError, AccessWindows, Targets, compute_access
from kizuna.eo.aoi import AreaOfInterest, parse_geojson, sample_points
from kizuna.eo.constellation import (
    Constellation,
    ConstellationError,
    parse_design,
    sun_synchronous,
    sun_synchronous_inclination_deg,
    walker,
)
from kizuna.eo.revisit import GAP_DEFINITION, RevisitStats, aggregate, per_aoi, per_target
from kizuna.eo.sensors import ConeSensor, OpticalSensor, SarSensor, parse_sensor

__all__ = [
    "GAP_DEFINITION",
    "AccessError",
    "AccessWindows",
    "AreaOfInterest",
    "ConeSensor",
    "Constellation",
    "ConstellationError",
    "OpticalSensor",
    "RevisitStats",
    "SarSensor",
    "Targets",
    "aggregate",
    "compute_access",
    "parse_design",
    "parse_geojson",
    "parse_sensor",
    "per_aoi",
    "per_target",
    "sample_points",
    "sun_synchronous",
    "sun_synchronous_inclination_deg",
    "walker",
]
