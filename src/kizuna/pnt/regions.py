"""Named regions and the receiver grids that map them.

The boxes are drawn around public geography (W, S, E, N in degrees), generously, for maps of
GNSS conditions, not as boundaries: "japan" covers Japan and the first island chain (the Kurils
through the Ryukyus and Taiwan to the Philippines and Borneo's north coast), "ukraine" the
country and the Black Sea coast, "korea" the Korean peninsula, "taiwan" the island and the
strait.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kizuna.pnt.geometry import Receivers


@dataclass(frozen=True)
class Region:
    key: str
    title: str
    west_deg: float
    south_deg: float
    east_deg: float
    north_deg: float


REGIONS: dict[str, Region] = {
    r.key: r
    for r in (
        Region("japan", "Japan and the first island chain", 118.0, 5.0, 150.0, 46.0),
        Region("ukraine", "Ukraine and the Black Sea coast", 22.0, 44.0, 41.0, 53.0),
        Region("korea", "Korean peninsula", 124.0, 33.0, 131.0, 43.5),
        Region("taiwan", "Taiwan and the strait", 118.5, 21.5, 122.5, 26.0),
    )
}
#: a grid of more points than this is a typo (0.01 deg over a country), not a map
MAX_GRID_POINTS = 100_000


@dataclass(frozen=True)
class Grid:
    """Cell centres of a regular lat/lon grid (row-major from south-west) and the cell size."""

    region: Region
    spacing_deg: float
    lat_deg: np.ndarray  # (rows,)
    lon_deg: np.ndarray  # (cols,)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.lat_deg), len(self.lon_deg)

    def receivers(self) -> Receivers:
        lat, lon = np.meshgrid(self.lat_deg, self.lon_deg, indexing="ij")
        return Receivers.at(lat.ravel(), lon.ravel())


def region_grid(region: Region, spacing_deg: float) -> Grid:
    """Cell centres every `spacing_deg` inside the region's box; ValueError for a bad spacing."""
    if not np.isfinite(spacing_deg) or spacing_deg <= 0:
        raise ValueError(f"grid spacing must be a positive number of degrees, got {spacing_deg}")
    rows = max(1, int(round((region.north_deg - region.south_deg) / spacing_deg)))
    cols = max(1, int(round((region.east_deg - region.west_deg) / spacing_deg)))
    if rows * cols > MAX_GRID_POINTS:
        raise ValueError(
            f"a {spacing_deg:g} deg grid over {region.title} has {rows * cols:,} points "
            f"(at most {MAX_GRID_POINTS:,}): use a coarser spacing"
        )
    lat = region.south_deg + (np.arange(rows) + 0.5) * (region.north_deg - region.south_deg) / rows
    lon = region.west_deg + (np.arange(cols) + 0.5) * (region.east_deg - region.west_deg) / cols
    return Grid(region, spacing_deg, lat, lon)


def grid_geojson(grid: Grid, values: Mapping[str, Sequence[Any] | np.ndarray], title: str) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the grid's cells (polygons) with `values[k][i]` per cell i
    (row-major, as `Grid.receivers`); NaN becomes null."""
    rows, cols = grid.shape
    half_lat = (grid.region.north_deg - grid.region.south_deg) / rows / 2.0
    half_lon = (grid.region.east_deg - grid.region.west_deg) / cols / 2.0
    features = []
    for i in range(rows * cols):
        lat, lon = float(grid.lat_deg[i // cols]), float(grid.lon_deg[i % cols])
        w, e, s, n = lon - half_lon, lon + half_lon, lat - half_lat, lat + half_lat
        props: dict[str, Any] = {"lat_deg": round(lat, 6), "lon_deg": round(lon, 6)}
        for key, column in values.items():
            v = column[i]
            v = v.item() if hasattr(v, "item") else v
            props[key] = None if isinstance(v, float) and not np.isfinite(v) else v
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
                },
                "properties": props,
            }
        )
    return {
        "type": "FeatureCollection",
        "name": title,
        "bbox": [grid.region.west_deg, grid.region.south_deg, grid.region.east_deg, grid.region.north_deg],
        "features": features,
    }


__all__ = ["MAX_GRID_POINTS", "REGIONS", "Grid", "Region", "grid_geojson", "region_grid"]
