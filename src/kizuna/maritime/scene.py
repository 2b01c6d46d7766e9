"""Land masks for real SAR scenes, and SYNTHETIC SAR scenes: K-distributed sea clutter with ships at known positions.

No real calibrated SAR image could be bundled, so tests, the demo and the benchmark use scenes
made here and labelled synthetic everywhere they appear. Sea clutter intensity is the product of
a gamma texture (shape ``nu``, mean 1) and unit-mean exponential speckle, i.e. single-look
K-distributed (Jakeman & Pusey 1976; Ward, Tough & Watts, *Sea Clutter*, 2006, ch. 4). The
texture is drawn independently per pixel, so each sea pixel's marginal is exactly K(nu); with
``nu=None`` the clutter is pure exponential speckle. Ships are rotated rectangles whose pixels have
mean intensity ``scr_db`` above the clutter mean, with exponential speckle too. An optional land
strip on the west edge is brighter, textured and returned as a mask.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from kizuna.model.constants import EARTH_MEAN_RADIUS_M
from kizuna.model.maritime import SarScene, ShipTruth, lonlat_to_pixel

# Default land buffer for real scenes: the GLOBE mask's cells are 1/120 deg (about 0.93 km N-S),
# so its coastline is only good to about one cell; 1 km keeps breakwaters, moored ships and the
# bright coastal strip out of CFAR, at the cost of missing ships within 1 km of the mask's coast.
LAND_MARGIN_M = 1000.0
_LAND_SAMPLE_M = 100.0  # the mask is sampled every ~100 m on the image, then buffered


def land_mask_for(
    geolocate, shape: tuple[int, int], pixel_size_m: tuple[float, float], margin_m: float = LAND_MARGIN_M
):
    """Land (True) on an image from the global GLOBE land mask (:mod:`kizuna.maritime.shore`),
    buffered seaward by ``margin_m`` metres.

    ``geolocate(rows, cols) -> (lon, lat)`` places the image's pixel centres. The mask is sampled
    on a grid of about ``_LAND_SAMPLE_M`` and every pixel within ``margin_m`` plus half a sample
    step of a land sample is land, so the coarse sampling can only widen the buffer.
    """
    from scipy import ndimage

    from kizuna.maritime.shore import default_shore

    if not (margin_m >= 0 and np.isfinite(margin_m)):
        raise ValueError("land margin must be finite and >= 0")
    h, w = shape
    dy, dx = pixel_size_m
    sr = max(1, int(_LAND_SAMPLE_M // max(dy, 1e-9)))
    sc = max(1, int(_LAND_SAMPLE_M // max(dx, 1e-9)))
    rows = np.arange(0, h + sr, sr, dtype=float)
    cols = np.arange(0, w + sc, sc, dtype=float)
    rr, cc = np.meshgrid(np.minimum(rows, h - 1), np.minimum(cols, w - 1), indexing="ij")
    lon, lat = geolocate(rr, cc)
    coarse = default_shore().is_land(lat, lon).reshape(rr.shape)
    if not coarse.any():
        return np.zeros(shape, bool)
    # metres from the nearest land sample, on the anisotropic sample grid
    dist_m = ndimage.distance_transform_edt(~coarse, sampling=(sr * dy, sc * dx))
    reach = margin_m + 0.5 * float(np.hypot(sr * dy, sc * dx))
    near = dist_m <= reach
    # each pixel takes its nearest sample
    r_idx = np.clip(np.rint(np.arange(h) / sr).astype(int), 0, near.shape[0] - 1)
    c_idx = np.clip(np.rint(np.arange(w) / sc).astype(int), 0, near.shape[1] - 1)
    return near[np.ix_(r_idx, c_idx)]


def synthetic_scene(
    shape: tuple[int, int] = (1024, 1024),
    *,
    pixel_m: float = 10.0,
    center_lat_deg: float = 35.0,
    center_lon_deg: float = 139.8,
    ships: list[ShipTruth] | None = None,
    nu: float | None = 4.0,
    land_cols: int = 0,
    time_utc: datetime | None = None,
    seed: int = 0,
    dtype=np.float32,
) -> SarScene:
    rng = np.random.default_rng(seed)
    rows, cols = shape
    speckle = (
        rng.standard_exponential(shape, dtype=np.float32)
        if dtype == np.float32
        else rng.standard_exponential(shape)
    )
    if nu is not None:
        texture = rng.standard_gamma(nu, size=shape, dtype=np.float32) / np.float32(nu)
        img = texture * speckle
    else:
        img = speckle
    img = img.astype(dtype, copy=False)
    dlat = pixel_m / (EARTH_MEAN_RADIUS_M * np.pi / 180)
    dlon = dlat / np.cos(np.radians(center_lat_deg))
    gt = (center_lon_deg - cols / 2 * dlon, dlon, 0.0, center_lat_deg + rows / 2 * dlat, 0.0, -dlat)
    land = np.zeros(shape, bool)
    if land_cols:
        land[:, :land_cols] = True
        img[:, :land_cols] *= 8.0 * rng.standard_gamma(1.0, size=(rows, land_cols)).astype(dtype)
    truth = list(ships or [])
    for s in truth:
        r0, c0 = lonlat_to_pixel(gt, s.lon_deg, s.lat_deg)
        half = int(np.ceil(max(s.length_m, s.beam_m) / pixel_m)) + 1
        rr, cc = np.mgrid[int(r0) - half : int(r0) + half + 1, int(c0) - half : int(c0) + half + 1]
        north = -(rr - r0) * pixel_m
        east = (cc - c0) * pixel_m
        h = np.radians(s.heading_deg)
        along = north * np.cos(h) + east * np.sin(h)
        across = -north * np.sin(h) + east * np.cos(h)
        inside = (np.abs(along) <= s.length_m / 2) & (np.abs(across) <= s.beam_m / 2)
        inside |= (np.abs(along) <= pixel_m / 2) & (np.abs(across) <= pixel_m / 2)  # at least one pixel
        ok = inside & (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        r_, c_ = rr[ok], cc[ok]
        img[r_, c_] = (10 ** (s.scr_db / 10) * rng.standard_exponential(len(r_))).astype(dtype)
    return SarScene(img, land, gt, (pixel_m, pixel_m), time_utc, truth, nu)
