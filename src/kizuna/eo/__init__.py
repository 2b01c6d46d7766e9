"""Earth observation: constellations, sensors, areas, access windows, revisit and collection planning.

Pure functions over arrays and records; no file or socket I/O (see kizuna.cli.eo for the wiring).
Names are loaded on first use, so `kizuna.eo.revisit`'s settings are importable (by the command
line, for its defaults) without loading scipy and the access engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from kizuna.eo.revisit import (
        GAP_DEFINITION,
        RevisitDefinition,
        RevisitError,
        RevisitStats,
        aggregate,
        per_aoi,
        per_target,
        revisit_number,
    )
    from kizuna.eo.sensors import ConeSensor, OpticalSensor, SarSensor, parse_sensor

_MODULE_OF = {
    "AccessError": "access",
    "AccessWindows": "access",
    "Targets": "access",
    "compute_access": "access",
    "AreaOfInterest": "aoi",
    "parse_geojson": "aoi",
    "sample_points": "aoi",
    "Constellation": "constellation",
    "ConstellationError": "constellation",
    "parse_design": "constellation",
    "sun_synchronous": "constellation",
    "sun_synchronous_inclination_deg": "constellation",
    "walker": "constellation",
    "GAP_DEFINITION": "revisit",
    "RevisitDefinition": "revisit",
    "RevisitError": "revisit",
    "RevisitStats": "revisit",
    "aggregate": "revisit",
    "per_aoi": "revisit",
    "per_target": "revisit",
    "revisit_number": "revisit",
    "ConeSensor": "sensors",
    "OpticalSensor": "sensors",
    "SarSensor": "sensors",
    "parse_sensor": "sensors",
}

__all__ = [
    "AccessError",
    "AccessWindows",
    "AreaOfInterest",
    "ConeSensor",
    "Constellation",
    "ConstellationError",
    "GAP_DEFINITION",
    "OpticalSensor",
    "RevisitDefinition",
    "RevisitError",
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
    "revisit_number",
    "sample_points",
    "sun_synchronous",
    "sun_synchronous_inclination_deg",
    "walker",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'kizuna.eo' has no attribute {name!r}")
    return getattr(importlib.import_module(f"kizuna.eo.{module}"), name)
