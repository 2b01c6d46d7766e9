"""CFAR on SYNTHETIC scenes: measured false-alarm rate vs configured Pfa, detection of known ships.

The reference is the detector theory itself (Finn & Johnson CA-CFAR, Rohling OS-CFAR, the K
survival function, cross-checked here against scipy/Monte Carlo), applied to clutter drawn from
the stated distributions. Tolerance: the count of false alarms is compared with N * Pfa using a
+-5 sigma binomial band widened by 20 % for the correlation between overlapping windows and, for
K clutter, the neglected noise of the local-mean estimate.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from kizuna.maritime.cfar import (
    CfarConfig,
    cfar,
    detections_from,
    estimate_k_shape,
    k_survival,
    k_threshold_factor,
    os_alpha,
)
from kizuna.maritime.scene import ShipTruth, synthetic_scene
from kizuna.maritime.tracks import haversine_m


def _within(count: int, n: int, pfa: float) -> bool:
    mu = n * pfa
    band = 5 * np.sqrt(mu) + 0.2 * mu
    return abs(count - mu) <= band


def test_k_survival_matches_numerical_compound_integral():
    # K = gamma texture x exponential speckle: P(I > x) = E_tau[exp(-x / tau)], tau ~ Gamma(nu, 1/nu)
    for nu in (0.8, 2.0, 6.0):
        for x in (0.5, 3.0, 12.0):
            ref = integrate.quad(
                lambda tau, x=x, nu=nu: np.exp(-x / tau) * stats.gamma.pdf(tau, nu, scale=1 / nu),
                0,
                np.inf,
                limit=200,
            )[0]
            assert k_survival(x, nu) == pytest.approx(ref, rel=1e-6)


def test_os_alpha_reproduces_its_pfa_by_monte_carlo():
    rng = np.random.default_rng(3)
    n, k, pfa = 24, 18, 1e-2
    a = os_alpha(n, k, pfa)
    bg = np.sort(rng.standard_exponential((200_000, n)), axis=1)[:, k - 1]
    cut = rng.standard_exponential(200_000)
    measured = np.mean(cut > a * bg)
    assert abs(measured - pfa) < 5 * np.sqrt(pfa / 200_000)


@pytest.mark.parametrize(
    ("nu", "clutter", "method", "pfa"),
    [
        (None, "exponential", "ca", 1e-4),
        (None, "exponential", "os", 1e-3),
        (4.0, "k", "ca", 1e-4),
        (1.5, "k", "ca", 1e-4),
        (4.0, "k", "os", 1e-3),
    ],
)
def test_false_alarm_rate_matches_configured_pfa(nu, clutter, method, pfa):
    size = 700 if method == "ca" else 300
    scene = synthetic_scene((size, size), nu=nu, seed=11)
    cfg = CfarConfig(
        pfa=pfa, guard=3, background=15 if method == "ca" else 7, method=method, clutter=clutter, k_shape=nu
    )
    res = cfar(scene.intensity, cfg)
    inner = res.exceed[20:-20, 20:-20]  # away from the reflected borders
    assert _within(int(inner.sum()), inner.size, pfa), (int(inner.sum()), inner.size * pfa)


def test_k_shape_estimate_and_wrong_model_shows():
    scene = synthetic_scene((800, 800), nu=2.0, seed=5)
    assert estimate_k_shape(scene.intensity) == pytest.approx(2.0, rel=0.15)
    # an exponential-clutter threshold on spiky K clutter raises false alarms many-fold
    wrong = cfar(scene.intensity, CfarConfig(pfa=1e-4, guard=3, background=15))
    assert wrong.exceed.mean() > 5e-4
    assert k_threshold_factor(1e-4, 2.0) > -np.log(1e-4)


def test_ships_detected_with_position_and_length():
    rng = np.random.default_rng(7)
    ships = [
        ShipTruth(
            35.0 + rng.uniform(-0.03, 0.03),
            139.8 + rng.uniform(-0.035, 0.035),
            length_m=float(rng.uniform(60, 250)),
            beam_m=20.0,
            heading_deg=float(rng.uniform(0, 180)),
            scr_db=15.0,
        )
        for _ in range(25)
    ]
    scene = synthetic_scene((800, 800), pixel_m=10.0, ships=ships, nu=4.0, land_cols=60, seed=2)
    cfg = CfarConfig(pfa=1e-7, guard=16, background=26, clutter="k", k_shape=4.0, min_pixels=2)
    res = cfar(scene.intensity, cfg, land=scene.land)
    dets = detections_from(res, scene.intensity, scene.pixel_to_lonlat, scene.pixel_size_m)
    assert not res.mask[scene.land].any()  # land is never tested
    lat = np.array([d.lat_deg for d in dets])
    lon = np.array([d.lon_deg for d in dets])
    found = 0
    for s in ships:
        if scene.land[
            tuple(
                np.round(
                    np.array(
                        __import__("kizuna.maritime.scene", fromlist=["x"]).lonlat_to_pixel(
                            scene.geotransform, s.lon_deg, s.lat_deg
                        )
                    )
                ).astype(int)
            )
        ]:
            continue
        d = haversine_m(lat, lon, s.lat_deg, s.lon_deg)
        k = int(np.argmin(d))
        if d[k] < 30.0:  # 3 pixels
            found += 1
            assert dets[k].length_m == pytest.approx(s.length_m, rel=0.35, abs=25)
            assert dets[k].confidence > 0.99
    on_sea = sum(1 for s in ships if s.lon_deg > scene.pixel_to_lonlat(0, 60)[0])
    assert found / on_sea >= 0.95  # Pd at 15 dB SCR, Pfa 1e-7 per pixel
    assert len(dets) - found <= 3  # false alarms: expected 640k * 1e-7 ~ 0.06 pixels


def test_geotiff_roundtrip_and_detection_files(tmp_path):
    from kizuna.formats.sar import (
        parse_detections_csv,
        parse_detections_geojson,
        read_sar_geotiff,
        write_scene_geotiff,
    )

    scene = synthetic_scene((128, 160), nu=None, land_cols=10, seed=1)
    path = tmp_path / "s.tif"
    write_scene_geotiff(path, scene)
    back = read_sar_geotiff(path)
    assert back.synthetic and np.array_equal(back.land, scene.land)
    np.testing.assert_allclose(back.intensity, scene.intensity)
    np.testing.assert_allclose(back.geotransform, scene.geotransform, rtol=0, atol=1e-12)
    assert back.pixel_size_m[0] == pytest.approx(10.0, rel=1e-9)
    csv_res = parse_detections_csv("id,lat,lon,length_m\na,35.1,139.8,120\nb,95,1,\n", "d.csv")
    assert [d.detection_id for d in csv_res.records] == ["a"] and csv_res.issues[0].line == 3
    gj = (
        '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point",'
        '"coordinates":[139.8,35.1]},"properties":{"id":"x","confidence":0.9}}]}'
    )
    g = parse_detections_geojson(gj)
    assert g.records[0].lat_deg == 35.1 and g.records[0].confidence == 0.9


def test_tiled_cfar_equals_whole_image_away_from_growth():
    from kizuna.maritime.cfar import cfar_tiled

    scene = synthetic_scene((600, 300), nu=3.0, seed=8)
    cfg = CfarConfig(pfa=1e-3, guard=3, background=9, clutter="k", k_shape=3.0, grow_pfa=None)
    whole = cfar(scene.intensity, cfg)
    tiled = cfar_tiled(scene.intensity, cfg, tile_rows=128)
    assert np.array_equal(whole.exceed, tiled.exceed)
    np.testing.assert_allclose(whole.threshold, tiled.threshold, rtol=1e-5)


def test_vectorized_ca_threshold_equals_brute_force_window_sums():
    scene = synthetic_scene((60, 70), nu=None, seed=2)
    g, b = 2, 6
    res = cfar(scene.intensity, CfarConfig(pfa=1e-3, guard=g, background=b, grow_pfa=None))
    img = scene.intensity.astype(np.float64)
    pad = np.pad(img, b, mode="symmetric")  # scipy "reflect" = numpy "symmetric"
    n = (2 * b + 1) ** 2 - (2 * g + 1) ** 2
    alpha = n * (1e-3 ** (-1 / n) - 1)
    for r, c in [(0, 0), (10, 20), (59, 69), (30, 3)]:
        win = pad[r : r + 2 * b + 1, c : c + 2 * b + 1].copy()
        win[b - g : b + g + 1, b - g : b + g + 1] = np.nan
        assert res.threshold[r, c] == pytest.approx(alpha * np.nanmean(win), rel=1e-5)
