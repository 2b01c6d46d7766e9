"""Areas of interest from GeoJSON (RFC 7946): points, polygons and multipolygons.

Polygons are sampled on H3 cells (Uber's hexagonal hierarchical grid, cells of near-equal area:
Sahr et al. 2003 on discrete global grids; h3 v4 `polygon_to_cells`), at the resolution whose mean
cell area is closest to `spacing_km`^2. A polygon smaller than one cell is represented by its
centroid. Parsing takes text (no file I/O here); errors name the file and the feature.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from kizuna.eo.access import Targets
from kizuna.errors import FormatError


@dataclass(frozen=True)
class AreaOfInterest:
    name: str
    kind: str  # "point" or "polygon"
    # Points: [(lon, lat)]; polygons: list of polygons, each a list of rings of (lon, lat).
    coordinates: tuple
    properties: dict


def _coord_pair(c: object, where: str, file: str) -> tuple[float, float]:
    if (
        not isinstance(c, (list, tuple))
        or len(c) < 2
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in c[:2])
    ):
        raise FormatError(file, 0, where, f"expected a [longitude, latitude] pair, got {c!r}")
    lon, lat = float(c[0]), float(c[1])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise FormatError(
            file,
            0,
            where,
            f"position {c!r} outside lon -180..180, lat -90..90 (GeoJSON order is [longitude, latitude])",
        )
    return lon, lat


def _rings(poly: object, where: str, file: str) -> list[list[tuple[float, float]]]:
    if not isinstance(poly, list) or not poly:
        raise FormatError(file, 0, where, "a Polygon needs a list of linear rings")
    rings = []
    for k, ring in enumerate(poly):
        if not isinstance(ring, list) or len(ring) < 4:
            raise FormatError(file, 0, f"{where}[{k}]", "a linear ring needs at least 4 positions")
        pts = [_coord_pair(c, f"{where}[{k}][{j}]", file) for j, c in enumerate(ring)]
        if pts[0] != pts[-1]:
            raise FormatError(file, 0, f"{where}[{k}]", "linear ring is not closed (first != last position)")
        rings.append(pts)
    return rings


def parse_geojson(text: str, file: str = "<geojson>") -> list[AreaOfInterest]:
    """Read a FeatureCollection, a Feature or a bare geometry. Each feature's name comes from its
    `name` (or `NAME`, `id`) property, else `feature-N`."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(file, exc.lineno, "json", f"not JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise FormatError(file, 0, "type", "not a GeoJSON object (no 'type')")
    if doc["type"] == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise FormatError(file, 0, "features", "FeatureCollection without a 'features' list")
    elif doc["type"] == "Feature":
        feats = [doc]
    else:
        feats = [{"type": "Feature", "geometry": doc, "properties": {}}]
    out: list[AreaOfInterest] = []
    for i, f in enumerate(feats):
        props = (f.get("properties") or {}) if isinstance(f, dict) else {}
        name = str(
            props.get("name")
            or props.get("NAME")
            or (f.get("id") if isinstance(f, dict) else None)
            or f"feature-{i}"
        )
        where = f"features[{i}] ({name})"
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise FormatError(file, 0, where, "not a GeoJSON Feature")
        geom = f.get("geometry")
        if not isinstance(geom, dict) or "type" not in geom:
            raise FormatError(file, 0, f"{where}.geometry", "missing or empty geometry")
        gtype, coords = geom["type"], geom.get("coordinates")
        g = f"{where}.geometry.coordinates"
        if gtype == "Point":
            out.append(AreaOfInterest(name, "point", (_coord_pair(coords, g, file),), props))
        elif gtype == "MultiPoint" and isinstance(coords, list) and coords:
            out.append(
                AreaOfInterest(
                    name,
                    "point",
                    tuple(_coord_pair(c, f"{g}[{j}]", file) for j, c in enumerate(coords)),
                    props,
                )
            )
        elif gtype == "Polygon":
            out.append(AreaOfInterest(name, "polygon", (_rings(coords, g, file),), props))
        elif gtype == "MultiPolygon" and isinstance(coords, list) and coords:
            out.append(
                AreaOfInterest(
                    name, "polygon", tuple(_rings(p, f"{g}[{j}]", file) for j, p in enumerate(coords)), props
                )
            )
        else:
            raise FormatError(
                file,
                0,
                f"{where}.geometry.type",
                f"unsupported or empty geometry {gtype!r}: use Point, MultiPoint, Polygon or MultiPolygon",
            )
    if not out:
        raise FormatError(file, 0, "features", "no features: the area of interest is empty")
    return out


def h3_resolution(spacing_km: float) -> int:
    import h3

    areas = np.array([h3.average_hexagon_area(r, unit="km^2") for r in range(16)])
    return int(np.argmin(np.abs(np.log(areas) - 2 * math.log(spacing_km))))


def sample_points(aois: list[AreaOfInterest], spacing_km: float = 10.0) -> Targets:
    """Ground points for access: points as given, polygons as H3 cell centres (weight = cell area)."""
    import h3

    res = h3_resolution(spacing_km)
    names, lats, lons, owner, weights = [], [], [], [], []
    for aoi in aois:
        if aoi.kind == "point":
            for k, (lon, lat) in enumerate(aoi.coordinates):
                names.append(aoi.name if len(aoi.coordinates) == 1 else f"{aoi.name}#{k}")
                lats.append(lat)
                lons.append(lon)
                owner.append(aoi.name)
                weights.append(0.0)
            continue
        cells: list[str] = []
        for rings in aoi.coordinates:
            shape = h3.LatLngPoly(
                [(la, lo) for lo, la in rings[0]], *[[(la, lo) for lo, la in r] for r in rings[1:]]
            )
            cells.extend(h3.polygon_to_cells(shape, res))
        cells = sorted(set(cells))
        if not cells:
            outer = np.array(aoi.coordinates[0][0][:-1])
            pts = [(float(outer[:, 1].mean()), float(outer[:, 0].mean()))]
            w = [0.0]
        else:
            pts = [h3.cell_to_latlng(c) for c in cells]
            w = [h3.cell_area(c, unit="km^2") for c in cells]
        for k, (lat, lon) in enumerate(pts):
            names.append(f"{aoi.name}#{k}")
            lats.append(lat)
            lons.append(lon)
            owner.append(aoi.name)
            weights.append(w[k])
    return Targets(
        np.array(names),
        np.array(lats, float),
        np.array(lons, float),
        np.array(owner),
        np.array(weights, float),
    )


def grid_points(
    lon_min: float, lon_max: float, lat_min: float, lat_max: float, spacing_km: float, name: str = "box"
) -> Targets:
    """Points of a lon/lat box on the H3 grid (the benchmark's 'box at N km')."""
    ring = [
        (lon_min, lat_min),
        (lon_max, lat_min),
        (lon_max, lat_max),
        (lon_min, lat_max),
        (lon_min, lat_min),
    ]
    return sample_points([AreaOfInterest(name, "polygon", ([ring],), {})], spacing_km)
