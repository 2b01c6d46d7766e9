"""Maritime awareness: AIS tracks and events, SAR ship detection, SAR-AIS fusion for dark vessels.

Pure analyses over numpy arrays and typed records (no file or socket I/O):

- :mod:`~kizuna.formats.ais`: NMEA (pyais) and AIS CSV text to records + issues;
- :mod:`~kizuna.maritime.tracks`: cleaning, shared-MMSI split, segmentation, resampling;
- :mod:`~kizuna.maritime.events`: gap / encounter / loitering / spoofing with GFW definitions;
- :mod:`~kizuna.maritime.cfar`: CA/OS-CFAR with K-distribution thresholds, ship grouping;
- :mod:`~kizuna.maritime.scene`: SYNTHETIC K-clutter scenes with ships of known position;
- :mod:`~kizuna.maritime.dark`: AIS at image time, Hungarian matching, dark-vessel products;
- :mod:`~kizuna.plots.maritime`: a static map figure.
"""

from kizuna.formats.ais import parse_ais_csv, parse_nmea
from kizuna.maritime.cfar import CfarConfig, cfar, cfar_tiled, detections_from
from kizuna.maritime.dark import dark_geojson, dark_product, find_dark_vessels
from kizuna.maritime.events import LandMask, detect_events
from kizuna.maritime.scene import ShipTruth, synthetic_scene
from kizuna.maritime.tracks import clean_tracks, resample
from kizuna.model.maritime import (
    DarkVesselResult,
    MaritimeEvent,
    PositionArrays,
    SarDetection,
    VesselPosition,
    VesselStatic,
)

__all__ = [
    "CfarConfig",
    "DarkVesselResult",
    "LandMask",
    "MaritimeEvent",
    "PositionArrays",
    "SarDetection",
    "ShipTruth",
    "VesselPosition",
    "VesselStatic",
    "cfar",
    "cfar_tiled",
    "clean_tracks",
    "dark_geojson",
    "dark_product",
    "detect_events",
    "detections_from",
    "find_dark_vessels",
    "parse_ais_csv",
    "parse_nmea",
    "resample",
    "synthetic_scene",
]
