"""Sentinel-1 GRD SAFE products: geolocation, calibration and ship detection on a real product.

The product (tests/data/S1B_IW_GRDH_1SDV_20211223T051122_..._5371.SAFE, see the README there) is
a real S1B IW GRDH scene across central Italy, Tyrrhenian coast (Fiumicino to Gaeta) to the
Adriatic (Pescara to Vasto), with its real annotation (210 tie points), calibration LUT and
manifest. Its measurement TIFF upstream holds only zeros (a size-only placeholder), so the
detection test writes digital numbers into a window of a measurement TIFF of the product's size:
sea and land clutter placed by the GLOBE mask, ships at chosen coordinates off Anzio, and bright
points on land. Geolocation is checked against the product's own tie points (exact at each,
held-out ones between), GDAL's reading of the same product and its GCP transformer, the
manifest footprint, the product's DEM heights, and NGA World Port Index ports on its coasts.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Geod
from rasterio.control import GroundControlPoint
from rasterio.transform import GCPTransformer
from rasterio.windows import Window
from tests.cli_harness import invoke, refused

from kizuna.errors import FormatError
from kizuna.formats.safe import GeolocationGrid, is_safe_path, open_safe, read_calibration, read_sigma0
from kizuna.formats.sar import read_safe_scene, read_sar_geotiff
from kizuna.maritime.scene import land_mask_for
from kizuna.maritime.shore import default_shore

PRODUCT = (
    Path(__file__).parent
    / "data"
    / "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
)
GEOD = Geod(ellps="WGS84")
# NGA World Port Index (Pub. 150, public domain): the ports inside the product's footprint, (lon, lat)
WPI_PORTS = {
    "Fiumicino": (12.214, 41.772),
    "Anzio - Nettuno": (12.637, 41.446),
    "San Felice Circeo": (13.097, 41.226),
    "Terracina": (13.258, 41.283),
    "Gaeta": (13.577, 41.223),
    "Formia": (13.614, 41.254),
    "Vasto": (14.716667, 42.116667),
    "Ortona": (14.416667, 42.35),
    "Pescara": (14.236, 42.464),
}
WINDOW = (12900, 19150, 2048, 2048)  # rows, cols around Anzio: sea to the south-west, land inland


def _dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    a, b, c, d = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2)))
    return np.asarray(GEOD.inv(a.ravel(), b.ravel(), c.ravel(), d.ravel())[2]).reshape(a.shape)


@pytest.fixture(scope="module")
def product():
    return open_safe(PRODUCT)


def _measurement_path(root: Path, prod) -> Path:
    return root / "measurement" / prod.annotation.name.replace(".xml", ".tiff")


def _write_measurement(path: Path, prod, window=None, dn=None) -> None:
    """A tiled, sparse uint16 TIFF of the product's size (unwritten blocks read as DN 0, no data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            path, "w", driver="GTiff", width=prod.samples, height=prod.lines, count=1, dtype="uint16",
            tiled=True, blockxsize=512, blockysize=512, compress="deflate", SPARSE_OK=True,
        ) as ds:  # fmt: skip
            if dn is not None:
                r0, c0, nr, nc = window
                ds.write(dn, 1, window=Window(c0, r0, nc, nr))


# ------------------------------------------------------------------------------ product
def test_reads_the_real_products_annotation(product):
    assert (product.lines, product.samples) == (16705, 26102)
    assert product.polarisation == "VV" and product.mission == "S1B" and product.mode == "IW"
    assert product.pass_direction == "Descending" and product.pixel_size_m == (10.0, 10.0)
    assert product.start_utc.isoformat() == "2021-12-23T05:11:22.594441+00:00"
    assert product.grid.lat_deg.shape == (10, 21) and product.calibration is not None
    assert product.measurement is None  # the shipped sample has no measurement TIFF
    assert is_safe_path(PRODUCT) and is_safe_path(PRODUCT / "manifest.safe")
    assert open_safe(PRODUCT / "manifest.safe").annotation == product.annotation


def test_geolocation_is_exact_at_the_products_own_gcps(product):
    g = product.grid
    rows, cols = np.meshgrid(g.lines, g.pixels, indexing="ij")
    lon, lat = product.lonlat(rows, cols)
    assert float(_dist_m(lon, lat, g.lon_deg, g.lat_deg).max()) < 0.01


def test_geolocation_between_gcps_against_held_out_sea_gcps(product):
    """Drop every other tie-point row and column, interpolate, compare at the dropped points at sea.

    The grid then spans 40 x 26 km (twice the product's spacing) and the error bound is for that;
    inland points are left out because their terrain height displaces them (up to ~2.6 km at
    1,845 m), which no lat/lon interpolation between sea-level points can know.
    """
    g = product.grid
    keep_l = np.r_[0:9:2, 9]
    keep_p = np.r_[0:21:2]
    sub = GeolocationGrid(
        g.lines[keep_l],
        g.pixels[keep_p],
        g.lat_deg[np.ix_(keep_l, keep_p)],
        g.lon_deg[np.ix_(keep_l, keep_p)],
        g.height_m[np.ix_(keep_l, keep_p)],
    )
    rows, cols = np.meshgrid(g.lines, g.pixels, indexing="ij")
    lon, lat = sub.lonlat(rows, cols)
    err = _dist_m(lon, lat, g.lon_deg, g.lat_deg)
    held = ~(np.isin(np.arange(10), keep_l)[:, None] & np.isin(np.arange(21), keep_p)[None, :])
    sea = g.height_m < 1.0
    assert (held & sea).sum() >= 25
    assert float(np.median(err[held & sea])) < 20.0
    assert float(err[held & sea].max()) < 150.0  # measured 112 m


def test_gcps_and_geolocation_agree_with_gdal(product, tmp_path):
    """GDAL's SAFE driver reads the same tie points from the product; its thin-plate-spline GCP
    transformer places pixels between them close to ours (sea and land mixed: terrain height
    bends the two interpolants differently, hence the generous maximum)."""
    root = tmp_path / PRODUCT.name
    shutil.copytree(PRODUCT, root)
    _write_measurement(_measurement_path(root, product), product)
    with rasterio.open(root / "manifest.safe") as ds:
        gcps, crs = ds.gcps
    assert crs.to_epsg() == 4326 and len(gcps) == 210
    g_lon = np.array([p.x for p in gcps])
    g_lat = np.array([p.y for p in gcps])
    lon, lat = product.lonlat(np.array([p.row for p in gcps]), np.array([p.col for p in gcps]))
    assert float(_dist_m(lon, lat, g_lon, g_lat).max()) < 0.01
    tps = GCPTransformer(gcps, tps=True)
    rng = np.random.default_rng(0)
    r = rng.uniform(0, product.lines - 1, 300)
    c = rng.uniform(0, product.samples - 1, 300)
    x, y = tps.xy(r, c, offset="ul")  # GDAL GCPs carry the annotation's line/pixel as given
    lon, lat = product.lonlat(r, c)
    d = _dist_m(lon, lat, np.asarray(x), np.asarray(y))
    assert float(np.median(d)) < 25.0 and float(d.max()) < 300.0  # measured 13 m and 255 m


def test_corners_match_the_manifest_footprint(product):
    text = (PRODUCT / "manifest.safe").read_text()
    coords = text.split("<gml:coordinates>")[1].split("</gml:coordinates>")[0].split()
    foot = np.array([[float(v) for v in pair.split(",")] for pair in coords])  # lat,lon
    lon, lat = product.lonlat(
        np.array([0, 0, product.lines - 1, product.lines - 1]),
        np.array([0, product.samples - 1, 0, product.samples - 1]),
    )
    for lo, la in zip(lon, lat, strict=True):
        assert float(_dist_m(lo, la, foot[:, 1], foot[:, 0]).min()) < 2000.0  # measured 1.3 km


def test_products_dem_heights_agree_with_the_land_mask(product):
    """The tie points' heights come from ESA's DEM: sea-level points must fall on GLOBE sea and
    high ones on land; a flipped or transposed grid would break this."""
    g = product.grid
    land = default_shore().is_land(g.lat_deg, g.lon_deg)
    assert (g.height_m < 1.0).sum() >= 40 and not land[g.height_m < 1.0].any()
    assert (g.height_m > 100.0).sum() >= 100 and land[g.height_m > 100.0].all()


def test_world_port_index_ports_sit_on_the_coast_of_the_image(product):
    """Each published port lies inside the image and a 4 km box around its pixel, mapped through
    our geolocation onto the GLOBE mask, holds both land and sea."""
    for name, (lon, lat) in WPI_PORTS.items():
        r, c = product.grid.pixel(lon, lat)
        assert 0 <= r < product.lines and 0 <= c < product.samples, name
        back = product.lonlat(r, c)
        assert float(_dist_m(back[0], back[1], lon, lat)) < 1.0, name
        origin = (int(r) - 200, int(c) - 200)

        def geolocate(rr, cc, o=origin):
            return product.lonlat(rr + o[0], cc + o[1])

        land = land_mask_for(geolocate, (400, 400), (10.0, 10.0), 0.0)
        assert 0.05 < land.mean() < 0.95, f"{name}: land fraction {land.mean():.2f}"


# --------------------------------------------------------------------------- calibration
def test_calibration_lut_and_sigma0(product, tmp_path):
    lut = read_calibration(product.calibration)
    assert lut.sigma_nought.shape == (27, 654)
    assert lut.lines[0] == 0 and lut.pixels[-1] == 26101
    assert lut.sigma_nought[0, 0] == pytest.approx(663.8558)
    # nodes exactly, the midpoint of two pixel nodes linearly
    assert lut.at(0, 40) == pytest.approx(663.5805)
    assert lut.at(0, 20) == pytest.approx((663.8558 + 663.5805) / 2)
    root = tmp_path / PRODUCT.name
    shutil.copytree(PRODUCT, root)
    win = (0, 0, 64, 128)
    dn = np.full((64, 128), 100, np.uint16)
    dn[0, 0] = 0
    _write_measurement(_measurement_path(root, product), product, win, dn)
    s0, origin = read_sigma0(open_safe(root), win)
    assert origin == (0, 0) and np.isnan(s0[0, 0])  # DN 0 is the no-data border
    # sigma0 = DN^2 / A^2 (ESA radiometric calibration note)
    assert s0[0, 40] == pytest.approx(100.0**2 / 663.5805**2, rel=1e-6)
    assert s0[0, 80] == pytest.approx(100.0**2 / float(lut.sigma_nought[0, 2]) ** 2, rel=1e-6)


# sigma0 of DN 100 at scattered pixels of this product, computed by xarray-sentinel 0.9.6
# (xarray_sentinel.calibrate_intensity with the product's sigmaNought; B-Open, Apache-2.0), which
# cannot be installed next to this project's pinned xarray, so its values are recorded here.
XARRAY_SENTINEL_SIGMA0_DN100 = {
    (0, 0): 0.022690940648317337,
    (333, 20021): 0.030286535620689392,
    (5000, 7777): 0.026085318997502327,
    (8352, 13051): 0.02794075384736061,
    (12345, 25000): 0.03175189718604088,
    (16704, 26101): 0.032074522227048874,
    (7, 401): 0.02287909761071205,
    (16000, 3): 0.022692354395985603,
}


def test_sigma0_agrees_with_xarray_sentinel(product):
    lut = read_calibration(product.calibration)
    for (r, c), want in XARRAY_SENTINEL_SIGMA0_DN100.items():
        assert 100.0**2 / float(lut.at(r, c)) ** 2 == pytest.approx(want, rel=1e-6), (r, c)


def test_product_without_calibration_is_refused(product, tmp_path):
    root = tmp_path / PRODUCT.name
    shutil.copytree(PRODUCT, root)
    shutil.rmtree(root / "annotation" / "calibration")
    _write_measurement(_measurement_path(root, product), product)
    with pytest.raises(FormatError, match="calibration XML: sigma0 cannot be computed"):
        read_safe_scene(root, window=(0, 0, 64, 64))
    refused(["sar", "detect", str(root), "--window", "0,0,64,64"], contains="calibration")


# ------------------------------------------------------------------------ detection
SHIPS_OFFSHORE = [  # (east, north) metres from the Anzio - Nettuno WPI position: all at sea
    (-3000.0, -4000.0),
    (1500.0, -5000.0),
    (-6000.0, -2500.0),
    (4000.0, -7000.0),
    (-1000.0, -8000.0),
]
LAND_TARGETS = [(2000.0, 3000.0), (-2000.0, 5000.0), (6000.0, 2500.0), (500.0, 1200.0)]


def _offset(east_m: float, north_m: float) -> tuple[float, float]:
    lon0, lat0 = WPI_PORTS["Anzio - Nettuno"]
    az = float(np.degrees(np.arctan2(east_m, north_m)))
    lon, lat, _ = GEOD.fwd(lon0, lat0, az, float(np.hypot(east_m, north_m)))
    return float(lon), float(lat)


@pytest.fixture(scope="module")
def anzio(tmp_path_factory, product):
    """The product with a measurement window off Anzio: K-distributed sea clutter at -20 dB,
    brighter textured land (-8 dB), 5 ships (5 x 3 px at 0 dB, +20 dB over the sea clutter) at
    sea and 4 building-like targets (+13 dB) on land."""
    root = tmp_path_factory.mktemp("s1") / PRODUCT.name
    shutil.copytree(PRODUCT, root)
    r0, c0, n, m = WINDOW
    lut = read_calibration(product.calibration)
    rows = np.arange(r0, r0 + n, dtype=float)[:, None]
    cols = np.arange(c0, c0 + m, dtype=float)[None, :]
    a = lut.at(rows, cols)
    lon, lat = product.lonlat(rows + 0 * cols, cols + 0 * rows)
    land = default_shore().is_land(lat, lon)
    rng = np.random.default_rng(7)
    sea_s0 = 0.01 * rng.standard_gamma(4.0, (n, m)) / 4.0
    land_s0 = 0.15 * rng.standard_gamma(1.0, (n, m))
    s0 = np.where(land, land_s0, sea_s0) * rng.standard_exponential((n, m))
    planted = {}
    for kind, offsets in (("sea", SHIPS_OFFSHORE), ("land", LAND_TARGETS)):
        for k, (e, nn) in enumerate(offsets):
            plon, plat = _offset(e, nn)
            r, c = product.grid.pixel(plon, plat)
            ir, ic = int(round(float(r))) - r0, int(round(float(c))) - c0
            s0[ir - 2 : ir + 3, ic - 1 : ic + 2] = 1.0 if kind == "sea" else 20.0
            planted[f"{kind}-{k}"] = (plon, plat, kind, bool(land[ir, ic]))
    dn = np.clip(np.rint(a * np.sqrt(s0)), 1, 65535).astype(np.uint16)
    _write_measurement(_measurement_path(root, product), product, WINDOW, dn)
    return root, planted


def test_planted_positions_are_where_the_test_says(anzio):
    _, planted = anzio
    for key, (_lon, _lat, kind, on_land) in planted.items():
        assert on_land == (kind == "land"), key


def test_sar_detect_on_a_safe_product_finds_the_ships_at_their_coordinates(anzio, product, tmp_path):
    """Must show: detections land on the right coordinates, and none on land."""
    root, planted = anzio
    out = tmp_path / "dets.geojson"
    win = ",".join(str(v) for v in WINDOW)
    res = invoke(["sar", "detect", str(root), "--window", win, "--output", str(out), "-f", "json"])
    assert res.exit_code == 0, res.output
    gj = json.loads(out.read_text())
    assert "geolocation grid" in gj["properties"]["geolocation"]
    assert gj["properties"]["land_mask"] == "GLOBE land mask buffered by 1000 m"
    lon = np.array([f["geometry"]["coordinates"][0] for f in gj["features"]])
    lat = np.array([f["geometry"]["coordinates"][1] for f in gj["features"]])
    assert all(f["properties"]["time_utc"] == "2021-12-23T05:11:22.594441Z" for f in gj["features"])
    # every ship at sea found within 20 m (two pixels) of where it was planted; nothing else
    sea = [(p[0], p[1]) for p in planted.values() if p[2] == "sea"]
    assert len(gj["features"]) == len(sea), gj["features"]
    for plon, plat in sea:
        assert float(_dist_m(lon, lat, np.full(len(lon), plon), np.full(len(lat), plat)).min()) < 20.0
    # no detection on land (GLOBE), and the bright land targets were not reported
    assert not default_shore().is_land(lat, lon).any()
    # the same detections placed by GDAL's transformer over the product's GCPs, within 100 m
    with rasterio.open(root / "manifest.safe") as ds:
        tps = GCPTransformer(ds.gcps[0], tps=True)
    r, c = product.grid.pixel(lon, lat)
    x, y = tps.xy(r, c, offset="ul")
    assert float(_dist_m(lon, lat, np.asarray(x), np.asarray(y)).max()) < 100.0
    # dark: AIS on three of the five ships at the product's time (moored, reporting every 2 min),
    # and `dark` takes the image time from the detections themselves
    ais = tmp_path / "ais.csv"
    rows = ["mmsi,timestamp,lat,lon,sog,cog"]
    for k, (plon, plat) in enumerate(sea[:3]):
        for minute in range(0, 20, 2):
            rows.append(f"{247000001 + k},2021-12-23T05:{minute:02d}:00Z,{plat:.6f},{plon:.6f},0.0,0.0")
    ais.write_text("\n".join(rows) + "\n")
    res = invoke(["dark", "--detections", str(out), "--ais", str(ais), "--gate-m", "100", "-f", "json"])
    assert res.exit_code == 0, res.output
    prod = json.loads(res.stdout)
    assert prod["counts"]["matched"] == 3 and prod["counts"]["dark_candidates"] == 2
    dark_pos = [(d["lon_deg"], d["lat_deg"]) for d in prod["dark_candidates"]]
    for plon, plat in sea[3:]:
        assert min(float(_dist_m(x, y, plon, plat)) for x, y in dark_pos) < 20.0


def test_the_same_targets_all_come_back_without_the_land_mask(anzio):
    """Control: without a land mask the land targets are found, so the mask is what drops them."""
    root, planted = anzio
    scene = read_safe_scene(root, window=WINDOW)
    from kizuna.maritime.cfar import CfarConfig, cfar, detections_from

    cfg = CfarConfig(pfa=1e-7, guard=16, background=26, clutter="exponential", min_pixels=2)
    res = cfar(scene.intensity, cfg, land=np.zeros(scene.intensity.shape, bool))
    dets = detections_from(res, scene.intensity, scene.pixel_to_lonlat, scene.pixel_size_m)
    lon = np.array([d.lon_deg for d in dets])
    lat = np.array([d.lat_deg for d in dets])
    for key, (plon, plat, kind, _) in planted.items():
        if kind == "land":
            assert float(_dist_m(lon, lat, np.full(len(lon), plon), np.full(len(lat), plat)).min()) < 20.0, (
                key
            )


# ---------------------------------------------------------------------- GeoTIFF inputs
def _tiff_with_gcps(path: Path, product, r0: int, c0: int, n: int, gcps: bool = True) -> np.ndarray:
    rng = np.random.default_rng(3)
    img = rng.standard_exponential((n, n)).astype(np.float32)
    kwargs = {}
    if gcps:
        rows = np.linspace(0, n - 1, 5)
        cols = np.linspace(0, n - 1, 5)
        pts = []
        for i, rr in enumerate(rows):
            for j, cc in enumerate(cols):
                lon, lat = product.lonlat(rr + r0, cc + c0)
                # GDAL GCP line/pixel are pixel-corner based: a centre is +0.5
                pts.append(
                    GroundControlPoint(row=rr + 0.5, col=cc + 0.5, x=float(lon), y=float(lat), id=f"{i}-{j}")
                )
        kwargs = {"gcps": pts, "crs": "EPSG:4326"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32") as ds:
            if kwargs:
                ds.gcps = (kwargs["gcps"], rasterio.crs.CRS.from_epsg(4326))
            ds.write(img, 1)
    return img


def test_gcp_georeferenced_geotiff_is_placed_by_its_gcps(product, tmp_path):
    """The finding: a GeoTIFF placed by GCPs came out at lon 207.5 / lat 302.0 (pixel indices)."""
    path = tmp_path / "gcp.tif"
    r0, c0, n = 13000, 19500, 512
    _tiff_with_gcps(path, product, r0, c0, n)
    scene = read_sar_geotiff(path)
    rows = np.array([0, 100, 511, 256])
    cols = np.array([0, 400, 511, 256])
    lon, lat = scene.pixel_to_lonlat(rows, cols)
    want_lon, want_lat = product.lonlat(rows + r0, cols + c0)
    assert float(_dist_m(lon, lat, want_lon, want_lat).max()) < 5.0
    assert scene.pixel_size_m[0] == pytest.approx(10.0, rel=0.02)
    assert "ground control points" in scene.geolocation


def test_geotiff_with_neither_geotransform_nor_gcps_is_refused(product, tmp_path):
    path = tmp_path / "bare.tif"
    _tiff_with_gcps(path, product, 0, 0, 64, gcps=False)
    with pytest.raises(FormatError, match="neither a geotransform nor ground control points"):
        read_sar_geotiff(path)
    refused(["sar", "detect", str(path)], contains="neither a geotransform nor ground control points")


def test_real_geotiff_without_a_land_band_gets_the_global_land_mask(tmp_path):
    """The finding: no land mask on real scenes unless band 2 is named land_mask. A north-up
    GeoTIFF off Anzio with one bright target at sea and one on land: only the sea one comes back."""
    from affine import Affine

    n, px_deg = 1024, 1.0e-4  # ~11 m x 8 m pixels
    west, north = 12.60, 41.47
    rng = np.random.default_rng(5)
    img = rng.standard_exponential((n, n)).astype(np.float32)
    targets = {"sea": _offset(-1000.0, -4000.0), "land": _offset(1500.0, 2500.0)}
    for lon, lat in targets.values():
        r, c = int((north - lat) / px_deg), int((lon - west) / px_deg)
        img[r - 1 : r + 2, c - 1 : c + 2] = 300.0
    path = tmp_path / "real.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs="EPSG:4326",
        transform=Affine(px_deg, 0.0, west, 0.0, -px_deg, north),
    ) as ds:  # fmt: skip
        ds.write(img, 1)
    out = tmp_path / "d.geojson"
    res = invoke(["sar", "detect", str(path), "--clutter", "exponential", "--output", str(out), "-f", "json"])
    assert res.exit_code == 0, res.output
    gj = json.loads(out.read_text())
    assert gj["properties"]["land_mask"] == "GLOBE land mask buffered by 1000 m"
    pts = [f["geometry"]["coordinates"] for f in gj["features"]]
    assert len(pts) == 1
    assert float(_dist_m(pts[0][0], pts[0][1], *targets["sea"])) < 20.0
