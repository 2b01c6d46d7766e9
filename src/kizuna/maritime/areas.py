"""Which areas of interest hold each point: maritime events filtered to the AOIs a node watches.

Areas are polygons with holes (rings of (lon, lat) degrees, GeoJSON order: the first ring the
outline, the rest holes), tested with shapely's vectorised ``contains_xy`` in plain longitude and
latitude, the frame GeoJSON (RFC 7946 §3.1.1) defines them in. A point on an area's boundary is not
inside it (shapely's "contains").

Areas crossing the antimeridian are accepted both ways: already cut in two, as RFC 7946 §3.1.9 asks
of GeoJSON writers (a MultiPolygon with a part each side of 180 degrees), or as one ring whose
longitude jumps by more than 180 degrees between two vertices (170 to -170 is the 20-degree step
east across the line, not 340 degrees west). Such a ring is unwrapped to continuous longitudes and
cut at +-180 here; a ring that jumps an odd number of times encircles a pole and is refused, since
which side is inside is then ambiguous in plain longitude and latitude.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

Ring = Sequence[tuple[float, float]]
#: one area: its name and its polygons, each a sequence of rings (outline first, then holes)
Area = tuple[str, Sequence[Sequence[Ring]]]


#: the plain longitude/latitude frame, and the same shifted one turn east and one turn west
_WORLD = shapely.box(-180.0, -90.0, 180.0, 90.0)
_TURNS = (
    (0.0, _WORLD),
    (-360.0, shapely.box(180.0, -90.0, 540.0, 90.0)),
    (360.0, shapely.box(-540.0, -90.0, -180.0, 90.0)),
)


def _unwrapped(ring: Ring) -> np.ndarray:
    """The ring's (lon, lat) with each longitude step of more than 180 degrees taken the short way."""
    xy = np.asarray(ring, dtype=float).reshape(-1, 2).copy()
    step = np.diff(xy[:, 0])
    turns = np.where(step > 180.0, -360.0, np.where(step < -180.0, 360.0, 0.0))
    xy[1:, 0] += np.cumsum(turns)
    return xy


def _split_polygon(polygon: Sequence[Ring]) -> list[shapely.Polygon]:
    """One polygon as the parts it has in -180..180 (itself when it does not cross the antimeridian)."""
    lon = np.asarray(polygon[0], dtype=float).reshape(-1, 2)[:, 0]
    if not np.any(np.abs(np.diff(lon)) > 180.0):
        return [shapely.Polygon(polygon[0], list(polygon[1:]))]
    outline = _unwrapped(polygon[0])
    if abs(outline[-1, 0] - outline[0, 0]) > 180.0:
        raise ValueError(
            "a ring crossing the antimeridian an odd number of times encircles a pole: give the area "
            "cut at the antimeridian (RFC 7946 §3.1.9)"
        )
    holes = []
    for hole in polygon[1:]:  # each hole unwrapped, then moved by whole turns next to the outline
        xy = _unwrapped(hole)
        xy[:, 0] -= 360.0 * np.round((xy[:, 0].mean() - outline[:, 0].mean()) / 360.0)
        holes.append(xy)
    whole = shapely.Polygon(outline, holes)
    parts: list[shapely.Polygon] = []
    for shift_deg, frame in _TURNS:
        try:
            cut = shapely.intersection(whole, frame)
        except shapely.errors.GEOSException as exc:  # a self-intersecting ring cannot be cut
            raise ValueError(f"a ring crossing the antimeridian is not a valid polygon ({exc})") from None
        piece = shapely.transform(cut, lambda xy, d=shift_deg: xy + [d, 0.0])
        parts.extend(g for g in shapely.get_parts(piece) if isinstance(g, shapely.Polygon) and not g.is_empty)
    return parts


def area_geometry(polygons: Sequence[Sequence[Ring]]) -> shapely.MultiPolygon:
    """The area as one (multi)polygon, holes kept; a polygon crossing the antimeridian as a ring
    with a longitude jump is cut there (ValueError for a ring around a pole)."""
    return shapely.MultiPolygon([part for p in polygons for part in _split_polygon(p)])


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
