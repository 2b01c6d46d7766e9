"""Default land/shore model: the GLOBE 30-arc-second land/sea mask shipped by ``global-land-mask``.

The mask (package ``global-land-mask`` 1.0.0, MIT licence, T. Karin 2019) marks as sea every cell
that has no elevation value in NOAA NGDC's GLOBE digital elevation model (Hastings & Dunbar 1999,
"Global Land One-km Base Elevation (GLOBE) Version 1.0", NOAA NGDC Key to Geophysical Records
Documentation 34), i.e. a 21600 x 43200 grid of 1/120 deg cells whose rows start at 90 N and
columns at 180 W. Lakes with an elevation (Caspian Sea, Great Lakes, ...) count as land.

Distance to shore is the great-circle distance to the centre of the nearest *coastal* land cell
(a land cell with a sea cell among its four neighbours), found with a KD-tree on unit vectors so
that it is exact on the sphere for the grid and needs no window or antimeridian handling. It is
the distance to a cell centre, so it overstates the distance to the true coastline by up to about
half a cell diagonal (0.65 km). Beyond ``max_distance_km`` the answer is ``inf`` ("at least the
cap"); callers comparing against a larger threshold get an error from the event detectors.

The package stores the 933 MB boolean array zlib-compressed; inflating it takes several seconds.
It is inflated once per machine into a cache directory (``$XDG_CACHE_HOME/kizuna``, default
``~/.cache/kizuna``) as uncompressed arrays: the bit-packed land flags (117 MB) and the rows and
columns of the ~1.5 million coastal cells, memory-mapped by every later run. The cache is keyed
on the source file's path, size and modification time and rebuilt when any changes; when the
directory cannot be written the arrays stay in memory for the process. The KD-tree is built per
run only on the coastal cells of the latitude band the queries need (the query latitudes
widened by the distance cap), which gives the same nearest cell as a global tree. Nothing is
downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format
from scipy.spatial import cKDTree

from kizuna.maritime.tracks import unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M

STEP_DEG = 1.0 / 120.0
ROWS, COLS = 21600, 43200
MASK_VERSION = 'global-land-mask 1.0.0 (GLOBE 30" land/sea mask)'


CACHE_FORMAT = 1  # bump when the cached arrays change meaning


class _MaskData:
    """Packed land flags plus coastal cells (sorted by row), with KD-trees over latitude bands."""

    def __init__(self, land_bits: np.ndarray, coast_rows: np.ndarray, coast_cols: np.ndarray) -> None:
        self.land_bits = land_bits  # (ROWS, COLS // 8) uint8, np.packbits of land, MSB = westmost column
        self.coast_rows = coast_rows  # int32, ascending
        self.coast_cols = coast_cols
        self._band: tuple[int, int] | None = None  # row range [a, b) the tree covers
        self._tree: cKDTree | None = None

    def coast_tree(self, row_lo: int, row_hi: int) -> cKDTree:
        """A tree over the coastal cells of rows [row_lo, row_hi), or of a band holding them,
        (an empty band gives an empty tree)."""
        if self._band is None or not (self._band[0] <= row_lo and row_hi <= self._band[1]):
            if self._band is not None:  # grow the band rather than rebuild for each new region
                row_lo, row_hi = min(row_lo, self._band[0]), max(row_hi, self._band[1])
            a, b = np.searchsorted(self.coast_rows, [row_lo, row_hi])
            lat, lon = cell_centres(self.coast_rows[a:b], self.coast_cols[a:b])
            pts = unit_vectors(lat, lon) if b > a else np.zeros((0, 3))
            self._tree = cKDTree(pts.reshape(-1, 3), balanced_tree=False, compact_nodes=False)
            self._band = (row_lo, row_hi)
        assert self._tree is not None
        return self._tree


def _mask_path() -> Path:
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("global-land-mask is not installed (pip install global-land-mask==1.0.0)")
    return Path(spec.origin).parent / "globe_combined_mask_compressed.npz"


def _read_land_bits(path: Path, chunk_rows: int = 1200) -> np.ndarray:
    """Stream the package's ``mask.npy`` (True = ocean) into bit-packed land flags.

    Importing ``global_land_mask.globe`` would hold the whole 933 MB array in memory; streaming the
    npz member chunk by chunk keeps the peak near the packed size.
    """
    with zipfile.ZipFile(path) as z, z.open("mask.npy") as f:
        version = npy_format.read_magic(f)
        read_header = (
            npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(f)
        if shape != (ROWS, COLS) or fortran or dtype != np.bool_:
            raise ValueError(f"{path}: unexpected mask layout {shape} {dtype} fortran={fortran}")
        bits = np.empty((ROWS, COLS // 8), np.uint8)
        for a in range(0, ROWS, chunk_rows):
            b = min(ROWS, a + chunk_rows)
            ocean = np.frombuffer(f.read((b - a) * COLS), np.bool_).reshape(b - a, COLS)
            bits[a:b] = np.packbits(~ocean, axis=1)
    return bits


def _coastal_cells(bits: np.ndarray, chunk_rows: int = 2400) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of land cells with a sea 4-neighbour, by bitwise ops on the packed grid.

    Columns wrap around the antimeridian; beyond the poles counts as land (no coast there).
    """
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    full = np.uint8(0xFF)
    for a in range(0, ROWS, chunk_rows):
        b = min(ROWS, a + chunk_rows)
        p = bits[a:b]
        west = (p >> 1) | (np.roll(p, 1, axis=1) << 7)
        east = (p << 1) | (np.roll(p, -1, axis=1) >> 7)
        north = np.vstack([bits[a - 1 : a] if a > 0 else np.full((1, p.shape[1]), full), p[:-1]])
        south = np.vstack([p[1:], bits[b : b + 1] if b < ROWS else np.full((1, p.shape[1]), full)])
        coast = p & ~(west & east & north & south)
        rb, cb = np.nonzero(coast)
        bit_r, bit_c = np.nonzero(np.unpackbits(coast[rb, cb][:, None], axis=1))
        rows_out.append((rb[bit_r] + a).astype(np.int32))
        cols_out.append((cb[bit_r] * 8 + bit_c).astype(np.int32))
    return np.concatenate(rows_out), np.concatenate(cols_out)


def cell_centres(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude [deg] of the centres of mask cells."""
    return 90.0 - (np.asarray(rows) + 0.5) * STEP_DEG, -180.0 + (np.asarray(cols) + 0.5) * STEP_DEG


def cache_dir() -> Path:
    """Where the inflated mask is kept: ``$XDG_CACHE_HOME/kizuna`` or ``~/.cache/kizuna``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kizuna"


def _source_key(source: Path) -> dict[str, object]:
    st = source.stat()
    return {
        "format": CACHE_FORMAT,
        "source": str(source.resolve()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }


def _build_arrays(source: Path) -> dict[str, np.ndarray]:
    bits = _read_land_bits(source)
    r, c = _coastal_cells(bits)
    return {"land_bits": bits, "coast_rows": r, "coast_cols": c}


def _cached_arrays(source: Path, directory: Path | None = None) -> dict[str, np.ndarray]:
    """The mask arrays, memory-mapped from the cache; built (and written) when missing or stale."""
    directory = directory or cache_dir()
    key = _source_key(source)
    names = ("land_bits", "coast_rows", "coast_cols")
    meta = directory / "globe_land_mask.json"
    try:
        if json.loads(meta.read_text()) == key:
            return {n: np.load(directory / f"globe_{n}.npy", mmap_mode="r") for n in names}
    except (OSError, ValueError):
        pass  # missing, unreadable or stale: rebuild
    arrays = _build_arrays(source)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        meta.unlink(missing_ok=True)  # never a fresh key next to half-written arrays
        for n in names:
            tmp = directory / f".globe_{n}.{os.getpid()}.npy"
            np.save(tmp, arrays[n])
            os.replace(tmp, directory / f"globe_{n}.npy")
        tmp_meta = directory / f".globe_land_mask.{os.getpid()}.json"
        tmp_meta.write_text(json.dumps(key))
        os.replace(tmp_meta, meta)
    except OSError:
        pass  # read-only home: this process keeps the arrays in memory
    return arrays


@lru_cache(maxsize=1)
def _load() -> _MaskData:
    a = _cached_arrays(_mask_path())
    return _MaskData(a["land_bits"], a["coast_rows"], a["coast_cols"])


def cell_index(lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    """Mask row and column holding each point, as ``global_land_mask.globe`` indexes them (floor)."""
    lat = np.clip(np.asarray(lat_deg, float), -90.0, 90.0)
    lon = np.asarray(lon_deg, float)
    r = np.clip(np.floor((90.0 - lat) / STEP_DEG), 0, ROWS - 1).astype(np.int64)
    c = np.floor((lon + 180.0) / STEP_DEG).astype(np.int64) % COLS
    return r, c


def land_grid() -> np.ndarray:
    """The packed land flags (rows from 90 N, columns from 180 W; ``np.unpackbits`` a window to use)."""
    return _load().land_bits


class GlobalLandMask:
    """Land test and distance to shore on the GLOBE mask, for the event detectors (see module doc).

    Implements the shore protocol of :mod:`kizuna.maritime.events`: ``is_land`` and
    ``distance_to_shore_m`` (0 on land, ``inf`` beyond ``max_distance_km``), plus
    ``distance_inland_m`` (how deep a land point lies behind the coastal cells; 0 at sea).
    All take arrays of degrees and are vectorized. Non-finite positions are sea at NaN distance.
    """

    def __init__(self, max_distance_km: float = 200.0) -> None:
        if not max_distance_km > 0:
            raise ValueError("max_distance_km must be positive")
        self.max_distance_m = float(max_distance_km) * 1000.0
        self.description = (
            f"{MASK_VERSION}; distance to the nearest coastal land-cell centre, "
            f"capped at {max_distance_km:g} km"
        )

    def is_land(self, lat_deg, lon_deg) -> np.ndarray:
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
        ok = np.isfinite(lat) & np.isfinite(lon)
        r, c = cell_index(np.where(ok, lat, 0.0), np.where(ok, lon, 0.0))
        byte = _load().land_bits[r, c >> 3]
        return ok & ((byte >> (7 - (c & 7)).astype(np.uint8)) & 1).astype(bool)

    def _nearest_coast_m(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        chord = 2.0 * np.sin(self.max_distance_m / (2.0 * EARTH_MEAN_RADIUS_M))
        if not len(lat):
            return np.zeros(0)
        # Only coastal cells within the cap can answer: those lie within the query latitudes
        # widened by the cap's angle (plus a row for the cell-centre offset).
        margin_rows = int(np.ceil(np.degrees(self.max_distance_m / EARTH_MEAN_RADIUS_M) / STEP_DEG)) + 1
        rows, _ = cell_index(lat, lon)
        tree = _load().coast_tree(int(rows.min()) - margin_rows, int(rows.max()) + margin_rows + 1)
        d_chord, _ = tree.query(unit_vectors(lat, lon), distance_upper_bound=chord)
        with np.errstate(invalid="ignore"):
            return np.where(
                np.isfinite(d_chord),
                2.0 * EARTH_MEAN_RADIUS_M * np.arcsin(np.minimum(d_chord, 2.0) / 2.0),
                np.inf,
            )

    def _split(self, lat_deg, lon_deg):
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
        lat, lon = lat.ravel(), lon.ravel()
        ok = np.isfinite(lat) & np.isfinite(lon)
        land = self.is_land(lat, lon)
        return lat, lon, ok, land

    def distance_to_shore_m(self, lat_deg, lon_deg) -> np.ndarray:
        lat, lon, ok, land = self._split(lat_deg, lon_deg)
        out = np.where(ok, 0.0, np.nan)
        sea = ok & ~land
        out[sea] = self._nearest_coast_m(lat[sea], lon[sea])
        return out.reshape(np.shape(np.broadcast_arrays(np.asarray(lat_deg), np.asarray(lon_deg))[0]))

    def distance_to_shore_km(self, lat_deg, lon_deg) -> np.ndarray:
        return self.distance_to_shore_m(lat_deg, lon_deg) / 1000.0

    def distance_inland_m(self, lat_deg, lon_deg) -> np.ndarray:
        lat, lon, ok, land = self._split(lat_deg, lon_deg)
        out = np.where(ok, 0.0, np.nan)
        out[land] = self._nearest_coast_m(lat[land], lon[land])
        return out.reshape(np.shape(np.broadcast_arrays(np.asarray(lat_deg), np.asarray(lon_deg))[0]))


def preload() -> None:
    """Load the mask now (for a progress display) rather than on the first query."""
    _load()


@lru_cache(maxsize=1)
def default_shore() -> GlobalLandMask:
    """The shared default model (the mask itself is loaded on first query)."""
    return GlobalLandMask()
