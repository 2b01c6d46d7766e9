"""Positioning, navigation and timing: GNSS satellites in view, dilution of precision, availability.

Pure, vectorised functions over receivers x times x satellites (no files, no printing):
constellations from the catalog or from broadcast ephemerides (`systems`, `broadcast`), lines of
sight and masks (`geometry`), DOP with one receiver clock per system (`dop`), named regions and
their grids (`regions`), two descriptions of the same satellites set side by side (`compare`), and
GNSS spoofing and jamming areas seen in AIS (`interference`).
"""

from kizuna.pnt.broadcast import broadcast_positions, gpst_seconds, utc_from_gpst
from kizuna.pnt.compare import OrbitDifference, compare_positions
from kizuna.pnt.dop import (
    DEFAULT_SCENARIOS,
    DopSeries,
    PointSummary,
    compare_scenarios,
    dop_from_lines_of_sight,
    evaluate_dop,
    summarize,
)
from kizuna.pnt.geometry import ElevationMask, Receivers, elevation_azimuth_deg, line_of_sight
from kizuna.pnt.interference import (
    InterferenceArea,
    InterferenceConfig,
    InterferenceResult,
    detect_interference,
    interference_geojson,
)
from kizuna.pnt.regions import REGIONS, Grid, Region, grid_geojson, region_grid
from kizuna.pnt.systems import SYSTEMS, GnssSatellites, catalog_positions, parse_systems, select_catalog

__all__ = [
    "DEFAULT_SCENARIOS",
    "REGIONS",
    "SYSTEMS",
    "DopSeries",
    "ElevationMask",
    "OrbitDifference",
    "GnssSatellites",
    "Grid",
    "InterferenceArea",
    "InterferenceConfig",
    "InterferenceResult",
    "PointSummary",
    "Receivers",
    "Region",
    "broadcast_positions",
    "catalog_positions",
    "compare_positions",
    "compare_scenarios",
    "detect_interference",
    "dop_from_lines_of_sight",
    "elevation_azimuth_deg",
    "evaluate_dop",
    "gpst_seconds",
    "grid_geojson",
    "interference_geojson",
    "line_of_sight",
    "parse_systems",
    "region_grid",
    "select_catalog",
    "summarize",
    "utc_from_gpst",
]
