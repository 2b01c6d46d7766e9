"""Physical constants, defined once for every layer.

SGP4 mean elements are defined in WGS-72 (Vallado et al. 2006, "Revisiting Spacetrack Report #3"),
so the orbit-level constants are WGS-72's; ground distances use the IUGG mean Earth radius.
"""

from __future__ import annotations

# WGS-72 (the SGP4 gravity model)
MU_WGS72_KM3_S2 = 398600.8
EARTH_RADIUS_WGS72_KM = 6378.135
J2_WGS72 = 0.001082616

SECONDS_PER_DAY = 86400.0

# Great-circle work on the sphere (AIS tracks, SAR pixels): IUGG mean radius R1.
EARTH_MEAN_RADIUS_M = 6_371_008.8
METERS_PER_NM = 1852.0
KN_TO_MS = METERS_PER_NM / 3600.0
