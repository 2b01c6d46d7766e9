"""SAR inputs: calibrated GeoTIFF scenes (rasterio) and ship detections from elsewhere (CSV, GeoJSON)."""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from kizuna.errors import FormatError
from kizuna.formats.common import ParseResult, parse_utc_datetime
from kizuna.model.maritime import SarDetection, SarScene


# ------------------------------------------------------------------------------------------ SAR raster
@dataclass
class GeolocatedSarScene(SarScene):
    """A scene placed by a pixel -> (lon, lat) function rather than an affine geotransform: a
    Sentinel-1 product's geolocation grid or a GeoTIFF's ground control points. ``geotransform``
    holds only a north-up approximation for map extents; positions come from ``geolocate``.
    ``geolocation`` says where positions come from; ``land_source`` where the land mask came from
    (empty: none yet, the caller applies the global land mask)."""

    geolocate: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    geolocation: str = ""
    land_source: str = ""
    origin_px: tuple[int, int] = (0, 0)  # (row, col) of this image's first pixel in the product

    def pixel_to_lonlat(self, rows, cols):
        if self.geolocate is None:
            return super().pixel_to_lonlat(rows, cols)
        return self.geolocate(
            np.asarray(rows, float) + self.origin_px[0], np.asarray(cols, float) + self.origin_px[1]
        )

    def footprint(self) -> tuple[float, float, float, float]:
        h, w = self.intensity.shape
        r = np.r_[np.zeros(w), np.full(w, h - 1.0), np.arange(h, dtype=float), np.arange(h, dtype=float)]
        c = np.r_[np.arange(w, dtype=float), np.arange(w, dtype=float), np.zeros(h), np.full(h, w - 1.0)]
        lon, lat = self.pixel_to_lonlat(r[:: max(1, len(r) // 400)], c[:: max(1, len(c) // 400)])
        return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))


def _approx_geotransform(geolocate, h: int, w: int, r0: int = 0, c0: int = 0) -> tuple[float, ...]:
    """North-up affine through the corners of a geolocated image, for map extents only."""
    lon, lat = geolocate(
        np.array([r0, r0, r0 + h - 1.0, r0 + h - 1.0]), np.array([c0, c0 + w - 1.0, c0, c0 + w - 1.0])
    )
    west, east, south, north = float(np.min(lon)), float(np.max(lon)), float(np.min(lat)), float(np.max(lat))
    return (west, (east - west) / max(w, 1), 0.0, north, 0.0, -(north - south) / max(h, 1))


def _gcp_geolocator(gcps) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """Pixel centres -> (lon, lat) through a GeoTIFF's ground control points (GDAL's thin-plate
    spline transformer when there are enough points, its polynomial otherwise)."""
    from rasterio.transform import GCPTransformer

    tr = GCPTransformer(gcps, tps=len(gcps) >= 10)

    def geolocate(rows, cols):
        r, c = np.broadcast_arrays(np.asarray(rows, float), np.asarray(cols, float))
        xs, ys = tr.xy(r.ravel(), c.ravel(), offset="center")
        return np.asarray(xs, float).reshape(r.shape), np.asarray(ys, float).reshape(r.shape)

    return geolocate


def write_scene_geotiff(path: Path | str, scene: SarScene) -> None:
    """Intensity as band 1 (float32), land mask as band 2; tags say SYNTHETIC and the image time."""
    import rasterio
    from affine import Affine

    gt = scene.geotransform
    h, w = scene.intensity.shape
    tags = {
        "KIZUNA_SYNTHETIC": "yes" if scene.synthetic else "no",
        "KIZUNA_QUANTITY": "intensity",
        "KIZUNA_PIXEL_M": f"{scene.pixel_size_m[0]},{scene.pixel_size_m[1]}",
    }
    if scene.time_utc is not None:
        tags["ACQUISITION_TIME_UTC"] = scene.time_utc.isoformat()
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=h,
        width=w,
        count=2,
        dtype="float32",
        crs=scene.crs,
        transform=Affine.from_gdal(*gt),
        compress="deflate",
    ) as ds:
        ds.write(scene.intensity.astype(np.float32), 1)
        ds.write(scene.land.astype(np.float32), 2)
        ds.set_band_description(1, "intensity")
        ds.set_band_description(2, "land_mask")
        ds.update_tags(**tags)


def read_sar_geotiff(
    path: Path | str, *, band: int = 1, amplitude: bool | None = None, land_band: int | None = None
) -> GeolocatedSarScene:
    """A calibrated SAR image as intensity. Amplitude images (tag or ``amplitude=True``) are squared.

    Pixel size in metres comes from the transform (geographic CRS: degrees scaled on the mean
    sphere at the image centre). Geographic lat/lon of pixels come from the geotransform; images in
    a projected CRS are reprojected point-wise by :func:`scene_lonlat`. An image without a
    geotransform but with ground control points (Sentinel-1 GRD measurement TIFFs) is geolocated
    through its GCPs; one with neither is refused.
    """
    import rasterio

    from kizuna.model.constants import EARTH_MEAN_RADIUS_M

    path = Path(path)
    try:
        with warnings.catch_warnings():
            # an image with no georeferencing is refused below, by name
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            ds = rasterio.open(path)
    except Exception as exc:  # noqa: BLE001 - rasterio raises RasterioIOError and others
        raise FormatError(str(path), 0, "file", f"not a readable raster: {exc}") from None
    with ds:
        img = ds.read(band).astype(np.float32)
        tags = ds.tags()
        desc = [d or "" for d in ds.descriptions]
        if land_band is None and ds.count >= 2 and desc[1] == "land_mask":
            land_band = 2
        land = ds.read(land_band) > 0.5 if land_band else np.zeros(img.shape, bool)
        gcps, gcp_crs = ds.gcps
        has_transform = not ds.transform.is_identity
        # GDAL reports an identity transform (and no CRS) for an image with neither a geotransform
        # nor GCPs: pixel indices would come out as degrees (lon 207, lat 302). Refuse instead.
        if not has_transform and not gcps:
            raise FormatError(
                str(path),
                0,
                "georeferencing",
                "neither a geotransform nor ground control points: cannot geolocate",
            )
        if not has_transform and len(gcps) < 3:
            raise FormatError(str(path), 0, "gcps", f"{len(gcps)} ground control points, need 3 or more")
        if not has_transform and gcp_crs is not None and not gcp_crs.is_geographic:
            raise FormatError(
                str(path), 0, "gcps", f"GCPs in projected CRS {gcp_crs}: only geographic GCPs are read"
            )
        gt = ds.transform.to_gdal()
        crs = ds.crs.to_string() if ds.crs else "EPSG:4326"
        is_geo = bool(ds.crs.is_geographic) if ds.crs else True
        nodata = ds.nodata
    if nodata is not None:
        img[img == nodata] = np.nan
    quantity = tags.get("KIZUNA_QUANTITY", "").lower()
    if amplitude or (amplitude is None and quantity == "amplitude"):
        img = img * img
    t = tags.get("ACQUISITION_TIME_UTC")
    time_utc = parse_utc_datetime(t.replace("+00:00", "")) if t else None
    h, w = img.shape
    synthetic = tags.get("KIZUNA_SYNTHETIC", "no") == "yes"
    land_source = f"band {land_band} of {path.name}" if land_band else ""
    if not has_transform:
        geolocate = _gcp_geolocator(gcps)
        gt_approx = _approx_geotransform(geolocate, h, w)
        # ground pixel size from the geolocation: distance across the image / pixels
        lon, lat = geolocate(np.array([h / 2, h / 2, 0.0, h - 1.0]), np.array([0.0, w - 1.0, w / 2, w / 2]))
        k = math.pi / 180 * EARTH_MEAN_RADIUS_M
        cos_lat = math.cos(math.radians(float(np.mean(lat))))
        dx = math.hypot((lon[1] - lon[0]) * k * cos_lat, (lat[1] - lat[0]) * k) / max(w - 1, 1)
        dy = math.hypot((lon[3] - lon[2]) * k * cos_lat, (lat[3] - lat[2]) * k) / max(h - 1, 1)
        return GeolocatedSarScene(
            img,
            land,
            gt_approx,  # type: ignore[arg-type]
            (dy, dx),
            time_utc,
            [],
            None,
            1.0,
            "EPSG:4326",
            synthetic,
            geolocate=geolocate,
            geolocation=f"{len(gcps)} ground control points of {path.name} (GDAL GCP transformer)",
            land_source=land_source,
        )
    if is_geo:
        lat_c = gt[3] + gt[5] * h / 2
        dy = abs(gt[5]) * math.pi / 180 * EARTH_MEAN_RADIUS_M
        dx = abs(gt[1]) * math.pi / 180 * EARTH_MEAN_RADIUS_M * math.cos(math.radians(lat_c))
    else:
        dy, dx = abs(gt[5]), abs(gt[1])
    return GeolocatedSarScene(
        img,
        land,
        gt,
        (dy, dx),
        time_utc,
        [],
        None,
        1.0,
        crs,
        synthetic,
        geolocation=f"geotransform of {path.name}",
        land_source=land_source,
    )


def read_safe_scene(
    path: Path | str,
    *,
    polarisation: str | None = None,
    window: tuple[int, int, int, int] | None = None,
) -> GeolocatedSarScene:
    """Calibrated sigma0 of a Sentinel-1 GRD SAFE product (or a window of it), geolocated by the
    product's geolocation grid. The land mask is left empty for the caller (the global mask)."""
    from kizuna.formats.safe import open_safe, read_sigma0

    prod = open_safe(path, polarisation)
    sigma0, (r0, c0) = read_sigma0(prod, window)
    h, w = sigma0.shape
    return GeolocatedSarScene(
        sigma0,
        np.zeros(sigma0.shape, bool),
        _approx_geotransform(prod.lonlat, h, w, r0, c0),  # type: ignore[arg-type]
        prod.pixel_size_m,
        prod.start_utc,
        [],
        None,
        1.0,
        "EPSG:4326",
        False,
        geolocate=prod.lonlat,
        geolocation=(
            f"geolocation grid of {prod.annotation.name} ({prod.grid.lat_deg.size} points, bilinear)"
        ),
        origin_px=(r0, c0),
    )


def scene_lonlat(scene: SarScene, rows, cols):
    """Pixel centres to (lon, lat) in degrees, reprojecting from a projected CRS when needed."""
    from kizuna.model.maritime import pixel_to_lonlat

    if isinstance(scene, GeolocatedSarScene) and scene.geolocate is not None:
        return scene.pixel_to_lonlat(rows, cols)
    x, y = pixel_to_lonlat(scene.geotransform, rows, cols)
    if scene.crs in ("EPSG:4326", "OGC:CRS84"):
        return x, y
    from rasterio.crs import CRS
    from rasterio.warp import transform

    if CRS.from_string(scene.crs).is_geographic:
        return x, y
    lon, lat = transform(scene.crs, "EPSG:4326", np.atleast_1d(x).tolist(), np.atleast_1d(y).tolist())
    return np.asarray(lon), np.asarray(lat)


# ------------------------------------------------------------------------------------ detections
_DET_ALIASES = {
    "id": ("detection_id", "id", "name"),
    "lat": ("lat", "latitude", "lat_deg"),
    "lon": ("lon", "longitude", "long", "lon_deg"),
    "time": ("time_utc", "time", "timestamp"),
    "length": ("length_m", "length"),
    "confidence": ("confidence", "score", "probability"),
}


def _opt_float(v: object) -> float | None:
    if v is None or v == "":
        return None
    f = float(v)  # type: ignore[arg-type]
    return f if math.isfinite(f) else None


def _opt_time(v: object) -> datetime | None:
    if v in (None, ""):
        return None
    text = str(v)
    return parse_utc_datetime(text[:-6] if text.endswith(("+00:00", "+0000")) else text)


def parse_detections_csv(text: str, file: str = "<text>") -> ParseResult[SarDetection]:
    """Ship detections from another source: columns id, lat, lon, [time_utc, length_m, confidence]."""
    res: ParseResult[SarDetection] = ParseResult(file, "detections-csv")
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower(): f for f in (reader.fieldnames or [])}
    col = {k: next((fields[a] for a in names if a in fields), None) for k, names in _DET_ALIASES.items()}
    if col["lat"] is None or col["lon"] is None:
        res.issue(1, "header", "needs lat and lon columns")
        return res
    for n, row in enumerate(reader, start=2):
        try:
            lat, lon = float(row[col["lat"]]), float(row[col["lon"]])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"impossible position {lat}, {lon}")
            res.add(
                SarDetection(
                    row[col["id"]] if col["id"] else f"row-{n}",
                    lat,
                    lon,
                    _opt_time(row.get(col["time"] or "", "")),
                    _opt_float(row.get(col["length"] or "", "")),
                    _opt_float(row.get(col["confidence"] or "", "")),
                ),
                n,
            )
        except (ValueError, TypeError) as exc:
            res.issue(n, "row", str(exc))
    return res


def parse_detections_geojson(text: str, file: str = "<text>") -> ParseResult[SarDetection]:
    """Point features (RFC 7946: [lon, lat]) with optional id/time/length/confidence properties."""
    res: ParseResult[SarDetection] = ParseResult(file, "detections-geojson")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        res.issue(exc.lineno, "json", exc.msg)
        return res
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        res.issue(1, "type", "not a GeoJSON FeatureCollection with a features list")
        return res
    feats = doc["features"]
    for k, f in enumerate(feats):
        try:
            geom = f["geometry"]
            if geom["type"] != "Point":
                raise ValueError(f"geometry {geom['type']} is not a Point")
            lon, lat = float(geom["coordinates"][0]), float(geom["coordinates"][1])
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"impossible position {lat}, {lon}")
            p = f.get("properties") or {}
            if p.get("kind") == "ais":
                continue  # our own dark-vessel output also lists AIS-only vessels
            res.add(
                SarDetection(
                    str(p.get("detection_id", p.get("id", f"feature-{k}"))),
                    lat,
                    lon,
                    _opt_time(p.get("time_utc", p.get("time"))),
                    _opt_float(p.get("length_m")),
                    _opt_float(p.get("confidence")),
                ),
                k + 1,
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            res.issue(k + 1, "feature", f"feature {k}: {exc}")
    return res


def read_detections(path: Path | str) -> ParseResult[SarDetection]:
    """Detections from a CSV or GeoJSON file; an unreadable file is a FormatError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(str(path), 0, "file", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise FormatError(str(path), 0, "file", exc.strerror or str(exc)) from None
    if text.lstrip().startswith("{"):
        return parse_detections_geojson(text, str(path))
    return parse_detections_csv(text, str(path))
