"""SAR inputs: calibrated GeoTIFF scenes (rasterio) and ship detections from elsewhere (CSV, GeoJSON)."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np

from kizuna.errors import FormatError
from kizuna.formats.common import ParseResult, parse_utc_datetime
from kizuna.model.maritime import SarDetection, SarScene


# ------------------------------------------------------------------------------------------ SAR raster
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
) -> SarScene:
    """A calibrated SAR image as intensity. Amplitude images (tag or ``amplitude=True``) are squared.

    Pixel size in metres comes from the transform (geographic CRS: degrees scaled on the mean
    sphere at the image centre). Geographic lat/lon of pixels come from the geotransform; images in
    a projected CRS are reprojected point-wise by :func:`scene_lonlat`.
    """
    import rasterio

    from kizuna.model.constants import EARTH_MEAN_RADIUS_M

    path = Path(path)
    try:
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
    if is_geo:
        lat_c = gt[3] + gt[5] * h / 2
        dy = abs(gt[5]) * math.pi / 180 * EARTH_MEAN_RADIUS_M
        dx = abs(gt[1]) * math.pi / 180 * EARTH_MEAN_RADIUS_M * math.cos(math.radians(lat_c))
    else:
        dy, dx = abs(gt[5]), abs(gt[1])
    scene = SarScene(
        img, land, gt, (dy, dx), time_utc, [], None, 1.0, crs, tags.get("KIZUNA_SYNTHETIC", "no") == "yes"
    )
    return scene


def scene_lonlat(scene: SarScene, rows, cols):
    """Pixel centres to (lon, lat) in degrees, reprojecting from a projected CRS when needed."""
    from kizuna.model.maritime import pixel_to_lonlat

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
    feats = doc.get("features", []) if isinstance(doc, dict) else []
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
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        return parse_detections_geojson(text, str(path))
    return parse_detections_csv(text, str(path))
