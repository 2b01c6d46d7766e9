"""CFAR ship detection on calibrated SAR intensity.

Two detectors over a square background ring (outer half-width ``background``) around a guard
square (half-width ``guard``), vectorized with box sums (``scipy.ndimage.uniform_filter``) or a
rank filter, and with land pixels excluded from both the background and the test:

- **CA-CFAR** (cell averaging): threshold = alpha * mean(background). For exponential (single-look)
  speckle, alpha = N (Pfa^(-1/N) - 1) gives exactly the configured Pfa (Finn & Johnson 1968;
  Richards, *Fundamentals of Radar Signal Processing*, 2nd ed., section 7.3).
- **OS-CFAR** (order statistic): threshold = alpha * X_(k) with
  Pfa = prod_{i=0}^{k-1} (N - i) / (N - i + alpha) (Rohling 1983, IEEE Trans. AES-19:608).

For K-distributed sea clutter (Ward 1981; Ward, Tough & Watts, *Sea Clutter*, 2006) with shape
``nu``, the threshold multiplier comes from the single-look K survival function
P(I > t) = 2 / Gamma(nu) (nu t / mu)^(nu/2) K_nu(2 sqrt(nu t / mu)), with the local mean as mu
(the background estimate's own noise is neglected, so use a large background ring).
Adjacent detected pixels are grouped into one ship (8-connectivity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy import ndimage, optimize, special

from kizuna.model.maritime import SarDetection


@dataclass(frozen=True)
class CfarConfig:
    pfa: float = 1e-6
    guard: int = 4  # guard half-width, pixels
    background: int = 12  # background ring outer half-width, pixels
    method: str = "ca"  # "ca" | "os"
    clutter: str = "exponential"  # "exponential" | "k"
    k_shape: float | None = None  # K-distribution shape nu; estimated from the image when None
    os_rank_fraction: float = 0.75
    min_pixels: int = 1
    # Hysteresis: a detection grows into connected pixels above the threshold for this looser Pfa
    # (then a 3x3 closing), so a speckled hull is one blob with its full extent. None = off.
    grow_pfa: float | None = 1e-2


def k_survival(x: np.ndarray | float, nu: float) -> np.ndarray:
    """P(I/mu > x) for single-look K-distributed intensity of shape nu."""
    x = np.asarray(x, dtype=float)
    z = 2.0 * np.sqrt(nu * x)
    # kve avoids underflow: K_nu(z) = kve(nu, z) e^-z
    log_p = (
        math.log(2.0)
        - special.gammaln(nu)
        + (nu / 2) * np.log(nu * np.maximum(x, 1e-300))
        + np.log(special.kve(nu, z))
        - z
    )
    return np.where(x <= 0, 1.0, np.exp(log_p))


def k_threshold_factor(pfa: float, nu: float) -> float:
    """t/mu with P(I > t) = pfa under K(nu) single-look clutter."""
    with np.errstate(divide="ignore"):
        return float(optimize.brentq(lambda x: np.log(k_survival(x, nu)) - math.log(pfa), 1e-6, 1e6))


def estimate_k_shape(intensity: np.ndarray) -> float:
    """Shape nu of single-look K intensity from log moments, robust to the few bright ship pixels.

    <ln I> - ln <I> = psi(nu) - ln(nu) - gamma_E (Blacknell 1994, IEE Proc. Radar Sonar Navig.
    141:45, the "log" estimator); the plain second-moment estimator is pulled far down by ships.
    """
    x = intensity[np.isfinite(intensity) & (intensity > 0)].astype(np.float64)
    d = float(np.mean(np.log(x)) - np.log(np.mean(x)))
    target = d + np.euler_gamma

    def f(nu: float) -> float:
        return float(special.digamma(nu) - np.log(nu) - target)

    if f(100.0) <= 0:
        return 100.0
    if f(0.05) >= 0:
        return 0.05
    return float(optimize.brentq(f, 0.05, 100.0))


def ca_alpha(n: np.ndarray | float, pfa: float) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    return n * (pfa ** (-1.0 / np.maximum(n, 1.0)) - 1.0)


def os_alpha(n: int, k: int, pfa: float) -> float:
    def f(a: float) -> float:
        i = np.arange(k)
        return float(np.sum(np.log((n - i) / (n - i + a))) - math.log(pfa))

    return float(optimize.brentq(f, 1e-9, 1e9))


@dataclass
class CfarResult:
    mask: np.ndarray  # detected pixels (after hysteresis growth)
    exceed: np.ndarray  # pixels above the CFAR threshold (the Pfa applies to these)
    threshold: np.ndarray  # per-pixel threshold (float32)
    background_mean: np.ndarray
    labels: np.ndarray
    n_labels: int
    config: CfarConfig
    k_shape: float | None


def _box_sum(a: np.ndarray, half: int) -> np.ndarray:
    size = 2 * half + 1
    return ndimage.uniform_filter(a, size=size, mode="reflect") * float(size * size)


def cfar(
    intensity: np.ndarray, config: CfarConfig = CfarConfig(), land: np.ndarray | None = None
) -> CfarResult:
    """Run the detector on an intensity image (linear power, not dB). ``land`` True = land."""
    img = np.asarray(intensity, dtype=np.float64)
    if config.guard >= config.background:
        raise ValueError("background half-width must exceed the guard half-width")
    sea = np.isfinite(img) if land is None else (np.isfinite(img) & ~land)
    x = np.where(sea, img, 0.0)
    w = sea.astype(np.float64)
    nu: float | None = None
    if config.clutter == "k":
        nu = config.k_shape if config.k_shape is not None else estimate_k_shape(img[sea])
    elif config.clutter != "exponential":
        raise ValueError(f"unknown clutter model {config.clutter!r}")
    if config.method == "ca":
        s = _box_sum(x, config.background) - _box_sum(x, config.guard)
        n = np.rint(_box_sum(w, config.background) - _box_sum(w, config.guard))
        mean = np.where(n > 0, s / np.maximum(n, 1), np.inf)
        # a window with no sea cell (inland, or all land-masked) tests nothing: threshold +inf
        with np.errstate(invalid="ignore", divide="ignore"):
            thr = ca_alpha(n, config.pfa) * mean if nu is None else k_threshold_factor(config.pfa, nu) * mean
        thr = np.where(n > 0, thr, np.inf)
    elif config.method == "os":
        size = 2 * config.background + 1
        foot = np.ones((size, size), bool)
        g0 = config.background - config.guard
        foot[g0 : g0 + 2 * config.guard + 1, g0 : g0 + 2 * config.guard + 1] = False
        n_cells = int(foot.sum())
        k = max(1, min(n_cells, int(round(config.os_rank_fraction * n_cells))))
        # land cells are set to +inf... and so excluded from low ranks; near coasts use CA instead
        xs = np.where(sea, img, np.inf)
        xk = ndimage.rank_filter(xs, rank=k - 1, footprint=foot, mode="reflect")
        if nu is None:
            thr = os_alpha(n_cells, k, config.pfa) * xk
        else:
            # K clutter: scale the k-th order statistic to a mean with the K quantile, then apply t/mu.
            q = optimize.brentq(lambda v: float(1 - k_survival(v, nu) - k / (n_cells + 1)), 1e-9, 1e6)
            thr = k_threshold_factor(config.pfa, nu) * xk / q
        mean = xk
    else:
        raise ValueError(f"unknown CFAR method {config.method!r}")
    mask = exceed = sea & (img > thr)
    if config.grow_pfa is not None and mask.any():
        if config.method == "ca" and nu is None:
            with np.errstate(invalid="ignore"):
                loose = thr * (ca_alpha(n, config.grow_pfa) / np.maximum(ca_alpha(n, config.pfa), 1e-30))
            loose = np.where(n > 0, loose, np.inf)
        elif config.method == "os" and nu is None:
            loose = thr * (os_alpha(n_cells, k, config.grow_pfa) / os_alpha(n_cells, k, config.pfa))
        else:
            k_nu = cast(float, nu)  # only K clutter reaches here: the branches above took nu is None
            loose = thr * (k_threshold_factor(config.grow_pfa, k_nu) / k_threshold_factor(config.pfa, k_nu))
        weak = ndimage.binary_closing(sea & (img > loose), structure=np.ones((3, 3), bool)) & sea
        weak_labels, _ = ndimage.label(weak | mask, structure=np.ones((3, 3), bool))
        keep = np.unique(weak_labels[mask])
        mask = np.isin(weak_labels, keep[keep > 0])
    labels, n_labels = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return CfarResult(
        mask, exceed, thr.astype(np.float32), mean.astype(np.float32), labels, n_labels, config, nu
    )


def detections_from(
    result: CfarResult,
    intensity: np.ndarray,
    pixel_to_lonlat,
    pixel_size_m: tuple[float, float],
    *,
    time_utc=None,
    id_prefix: str = "det",
) -> list[SarDetection]:
    """Group detected pixels into ships with position, length and confidence.

    ``pixel_to_lonlat(rows, cols)`` maps fractional pixel centres to (lon, lat) (the image's
    geotransform). Length is the major axis of the blob's second moments, 4 sqrt(lambda_max)
    (a uniform bar of length L has variance L^2/12; 4 sigma ~ 1.15 L, the customary estimate for
    a few-pixel blob), in metres. Confidence = 1 - (p-value of the peak under the clutter model
    x number of sea pixels tested), clipped to [0, 1]: the chance that clutter alone would give a
    peak this bright anywhere in the image.
    """
    n = result.n_labels
    if n == 0:
        return []
    # work on the labelled pixels only (bincount sums): memory scales with detections, not the image
    rows, cols = np.nonzero(result.labels)
    lab = result.labels[rows, cols]
    val = np.asarray(intensity)[rows, cols].astype(np.float64)
    cnt = np.bincount(lab, minlength=n + 1)[1:].astype(np.float64)
    keep_mask = cnt >= result.config.min_pixels
    if not keep_mask.any():
        return []

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(lab, weights=weights, minlength=n + 1)[1:]

    r = rows.astype(np.float64)
    c = cols.astype(np.float64)
    m0 = total(val)
    mr, mc = total(val * r) / m0, total(val * c) / m0
    ur, uc = total(r) / cnt, total(c) / cnt
    dy, dx = pixel_size_m
    # second moments in metres (unweighted: the blob's shape, not its brightest facet), +1/12 per pixel
    srr = total(r * r) / cnt - ur**2 + 1 / 12
    scc = total(c * c) / cnt - uc**2 + 1 / 12
    src = total(r * c) / cnt - ur * uc
    a, b, cc_ = srr * dy * dy, scc * dx * dx, src * dy * dx
    lam = (a + b) / 2 + np.sqrt(((a - b) / 2) ** 2 + cc_**2)
    length_m = 4.0 * np.sqrt(np.maximum(lam, 0))
    # peak per blob and the background mean at the peak
    order = np.lexsort((val, lab))
    last = np.r_[lab[order][1:] != lab[order][:-1], True]
    peak_idx = order[last]  # one per label, labels ascending
    peak = np.zeros(n)
    bg = np.ones(n)
    peak[lab[peak_idx] - 1] = val[peak_idx]
    bg[lab[peak_idx] - 1] = result.background_mean[rows[peak_idx], cols[peak_idx]]
    ratio = peak / np.maximum(bg, 1e-30)
    n_tests = int(np.isfinite(result.threshold).sum())
    # exponential speckle with known mean when no K shape is in use
    pval = k_survival(ratio, result.k_shape) if result.k_shape is not None else np.exp(-ratio)
    conf = np.clip(1.0 - pval * n_tests, 0.0, 1.0)
    keep = np.flatnonzero(keep_mask)
    mr, mc, length_m, conf, ratio, cnt = (
        mr[keep],
        mc[keep],
        length_m[keep],
        conf[keep],
        ratio[keep],
        cnt[keep],
    )
    keep = keep + 1
    lon, lat = pixel_to_lonlat(mr, mc)
    t = time_utc
    return [
        SarDetection(
            f"{id_prefix}-{k:05d}",
            float(lat[i]),
            float(lon[i]),
            t,
            round(float(length_m[i]), 1),
            round(float(conf[i]), 4),
            round(float(10 * np.log10(ratio[i])), 2),
            float(mr[i]),
            float(mc[i]),
            int(cnt[i]),
        )
        for i, k in enumerate(keep)
    ]


def cfar_tiled(
    intensity: np.ndarray,
    config: CfarConfig = CfarConfig(),
    land: np.ndarray | None = None,
    tile_rows: int = 1024,
) -> CfarResult:
    """:func:`cfar` on horizontal strips with a margin of ``background`` rows, for images too large
    for whole-image float64 temporaries (10,000 x 10,000 and up). Results equal the whole-image
    run except that hysteresis growth stops ``background`` rows past a strip edge. The K shape is
    estimated once from a subsample of the whole image.
    """
    import dataclasses

    h, w = intensity.shape
    cfg = config
    if config.clutter == "k" and config.k_shape is None:
        step = max(1, int(np.sqrt(intensity.size / 4e6)))
        cfg = dataclasses.replace(config, k_shape=estimate_k_shape(intensity[::step, ::step]))
    m = cfg.background + 2
    mask = np.zeros((h, w), bool)
    exceed = np.zeros((h, w), bool)
    thr = np.empty((h, w), np.float32)
    mean = np.empty((h, w), np.float32)
    for r0 in range(0, h, tile_rows):
        r1 = min(h, r0 + tile_rows)
        a, b = max(0, r0 - m), min(h, r1 + m)
        part = cfar(intensity[a:b], cfg, None if land is None else land[a:b])
        sl = slice(r0 - a, r0 - a + (r1 - r0))
        mask[r0:r1], exceed[r0:r1] = part.mask[sl], part.exceed[sl]
        thr[r0:r1], mean[r0:r1] = part.threshold[sl], part.background_mean[sl]
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return CfarResult(mask, exceed, thr, mean, labels, n, cfg, cfg.k_shape if cfg.clutter == "k" else None)
