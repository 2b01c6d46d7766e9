"""Which areas of interest hold each point: maritime events filtered to the AOIs a node watches.

Areas are polygons with holes (rings of (lon, lat) degrees, GeoJSON order: the first ring the
outline, the rest holes), tested with shapely's vectorised ``contains_xy`` in plain longitude and
latitude, the frame GeoJSON (RFC 7946 §3.1.1) defines them in. A point on an area's boundary is not
inside it (shapely's "contains"). Areas crossing the antimeridian must be split in two, as RFC 7946
§3.1.9 asks of GeoJSON writers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

Ring = Sequence[tuple[float, float]]
#: one area: its name and its polygons, each a sequence of rings (outline first, then holes)
Area = tuple[str, Sequence[Sequence[Ring]]]


def area_geometry(polygons: Sequence[Sequence[Ring]]) -> shapely.MultiPolygon:
    """The area as one (multi)polygon, holes kept."""
    return shapely.MultiPolygon([shapely.Polygon(p[0], list(p[1:])) for p in polygons])


def areas_containing(
    lat_deg: np.ndarray | Sequence[float], lon_deg: np.ndarray | Sequence[float], areas: Sequence[Area]
) -> list[list[str]]:
    """For each point, the names of the areas that contain it (in the areas' order; empty: none)."""
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    out: list[list[str]] = [[] for _ in range(len(lat))]
    for name, polygons in areas:
        geom = area_geometry(polygons)
        shapely.prepare(geom)
        for i in np.flatnonzero(shapely.contains_xy(geom, lon, lat)):
            out[int(i)].append(name)
    return out
