"""GNSS interference seen through AIS: spoofing and jamming areas, each with a confidence.

A ship's AIS position report carries the fix of its GNSS receiver, so when GNSS is spoofed or
jammed over an area, the AIS picture of every ship in it goes wrong the same way at the same time.
This module turns AIS positions (:class:`~kizuna.model.maritime.PositionArrays`, any source) into
area products: where, when, which vessels, which pattern and how sure.

Spoofing (a false position fed to every receiver in range):

- **Common point.** Receivers under one spoofer compute the same false fix, so several unrelated
  vessels (distinct MMSIs) report one point at the same time. Ships cannot share a point: in the
  North Sea snapshot of ../shared/data/ais/opentnsim (1,164 vessels around Dutch ports, moored and
  rafted ships included) no three distinct vessels are linked by steps of 25 m (the first such
  group appears at 27 m), hence the 25 m default. C4ADS, "Above Us Only Stars: Exposing GPS Spoofing in Russia and Syria" (2019), found
  9,883 such events affecting 1,311 vessels, ships near Russian ports and the Black Sea coast shown
  at airports such as Gelendzhik and Vnukovo.
- **Circle.** Spoofed fixes also appear as rings: several vessels on one circle around a point,
  often moving around it (C4ADS 2019; the "circle spoofing" off Shanghai that MIT Technology
  Review reported from SkyTruth's AIS data in 2019). The circle is fitted to the vessels'
  simultaneous positions (algebraic fit of Kasa, 1976, refined geometrically), giving its centre
  and radius. Only vessels whose tracks jump (see next point) are used, since a circle through
  moored ships in a harbour is a coincidence; five vessels at least, since three points always lie
  on a circle; and the radius must hold over two windows, since ships closing in on one place line
  up on shrinking circles.
- **Converging jumps.** Several vessels "teleport" at once (steps needing more than 50 kn, the
  Global Fishing Watch teleport speed used by :mod:`kizuna.maritime.events`) from scattered true
  positions to one common place (SkyTruth's and Windward's analyses of vessels jumping to a common
  point, such as airports inland): their arrivals are close together and their departures are
  not, which tells the spoofed place from the true one.

Jamming / denial (no usable GNSS): across many vessels at once, reports stop (AIS class A sends no
position without a fix), freeze (the last position repeats while SOG is above 1 kn) or carry
degraded quality bits (the position-accuracy flag drops from high, or the RAIM flag changes, against
the vessel's own usual value; ITU-R M.1371-5). Denial areas reported in AIS since 2022 around the
Black Sea and the Baltic show this signature (Windward's maritime GNSS-interference reports; C4ADS
2019 for the jamming that accompanies spoofing). The test is made per space-time cell: an H3 cell
(default resolution 5, about 250 km²) together with its ring of neighbours (about 1,770 km², enough
vessels for a statistic) and a time bin (default 30 min). The share of the vessels present that are
affected is compared with the same cell's own baseline (its ordinary bins, with a prior pulled
toward the rate of all cells) by a one-sided binomial test. Flagged cells touching in space and
time become one area, drawn with the cells where affected vessels were.

Confidence (0-1) is a product of terms each product lists in ``confidence_terms``:

- spoofing: vessels (1 - 0.5^(n - n_min + 1)), geometry (1 - 0.5 * misfit/tolerance: circle RMS
  residual over radius, point spread over the point tolerance, or for converging jumps arrival
  spread over departure spread) and persistence (1 - 0.5^windows in which the pattern held);
- jamming: the best cell-bin of the area, (1 - p) times the excess share (share - p0)/(1 - p0),
  with p the binomial p-value of the affected count under the cell's baseline rate p0.

Pure functions over arrays: no files, no printing. Times are UTC ``datetime64[ns]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from kizuna.maritime.tracks import from_unit_vectors, haversine_m, unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import FLAG_NOT_REPORTED, PositionArrays

SPOOFING, JAMMING = "spoofing", "jamming"
REFERENCES = {
    SPOOFING: (
        "C4ADS 2019 'Above Us Only Stars' (vessels at a common point or on circles near Russian ports); "
        "SkyTruth and Windward analyses of vessels jumping at once to a common location"
    ),
    JAMMING: (
        "AIS reports that stop, freeze with SOG > 0 or lose their position-accuracy / RAIM quality across "
        "many vessels at once (ITU-R M.1371-5 quality bits; Black Sea and Baltic denial areas seen in AIS since 2022)"
    ),
}


@dataclass(frozen=True)
class InterferenceConfig:
    """Settings of both detectors, each with its reason."""

    # A step needing more than this is a jump: the Global Fishing Watch teleport speed
    # (kizuna.maritime.events), above any merchant ship and most fast craft.
    max_speed_kn: float = 50.0
    # Shorter "jumps" are position noise between reports a second apart, not a displaced fix.
    min_jump_m: float = 1000.0
    # Fewest distinct vessels (MMSIs) in any pattern: one or two vessels are a faulty receiver or a
    # shared MMSI, a pattern across several unrelated ships is the environment.
    min_vessels: int = 3
    # A circle has three parameters: five vessels leave two independent checks of the fit.
    min_circle_vessels: int = 5
    # Reports of different vessels in the same window count as simultaneous (AIS class A reports
    # every 2-10 s under way, but archives keep one report per minute or fewer).
    window_s: float = 600.0
    # Distinct vessels within this of one point share it (see the module docstring: real ships in a
    # port snapshot first form a group of three at 27 m).
    point_tolerance_m: float = 25.0
    # Displaced positions of different vessels within this distance chain into one candidate pattern.
    cluster_m: float = 5000.0
    min_circle_radius_m: float = 100.0
    max_circle_radius_m: float = 50_000.0
    # RMS radial residual of a circle fit, as a fraction of the radius; the radius must also hold to
    # this fraction over at least min_circle_windows windows.
    circle_tolerance: float = 0.05
    min_circle_windows: int = 2
    # Jamming: H3 resolution of the cells an area is drawn with (5: edges of about 9 km, 250 km²),
    # and the rings of neighbours each cell is tested with (1: seven cells, about 1,770 km², which
    # hold enough vessels for a binomial test on a busy coast), and the time bins.
    cell_resolution: int = 5
    disk_rings: int = 1
    bin_s: float = 1800.0
    # A silence is a stop when longer than both of these (archives thin reports to a few a minute,
    # so a vessel's own usual interval sets the scale).
    min_gap_s: float = 900.0
    gap_factor: float = 10.0
    # A frozen position: consecutive reports within freeze_tolerance_m (AIS resolves 1/10000 min,
    # about 0.2 m) for at least freeze_min_s while both report SOG above min_sog_kn.
    freeze_tolerance_m: float = 1.0
    freeze_min_s: float = 600.0
    min_sog_kn: float = 1.0
    # Quality bits are judged against a vessel's usual value only when it sent this many reports.
    flag_min_reports: int = 10
    # A cell-bin is flagged when at least min_vessels are affected, they are at least min_share of
    # those present, and the binomial p-value under the cell's baseline is at most alpha.
    min_share: float = 0.5
    alpha: float = 1e-3
    # Baseline: the cell's other bins plus this many pseudo-reports at the all-cells rate; never
    # below baseline_floor (a quiet cell would otherwise call any two stops significant).
    baseline_prior: float = 20.0
    baseline_floor: float = 0.01

    def __post_init__(self) -> None:
        positive = {
            "max_speed_kn": self.max_speed_kn,
            "window_s": self.window_s,
            "point_tolerance_m": self.point_tolerance_m,
            "cluster_m": self.cluster_m,
            "circle_tolerance": self.circle_tolerance,
            "bin_s": self.bin_s,
            "min_gap_s": self.min_gap_s,
            "freeze_tolerance_m": self.freeze_tolerance_m,
            "freeze_min_s": self.freeze_min_s,
        }
        for name, value in positive.items():
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"InterferenceConfig.{name} must be a positive number, got {value}")
        if self.min_vessels < 2 or self.min_circle_vessels < 4:
            raise ValueError("InterferenceConfig: min_vessels must be >= 2 and min_circle_vessels >= 4")
        if not 0 <= self.cell_resolution <= 15:
            raise ValueError(
                f"InterferenceConfig.cell_resolution {self.cell_resolution} is not an H3 resolution"
            )
        if not (0 < self.min_share <= 1 and 0 < self.alpha < 1 and 0 < self.baseline_floor < 1):
            raise ValueError("InterferenceConfig: min_share, alpha and baseline_floor must lie in (0, 1)")


@dataclass(frozen=True)
class InterferenceArea:
    """One area product: where (centre and radius, and a polygon), when, which vessels, how sure.

    ``radius_m`` is the fitted radius of a circle, the spread of a common point, the arrival spread
    of converging jumps, or for jamming the radius around the centre that covers the flagged cells.
    ``polygon`` is a GeoJSON geometry (lon, lat): the circle as a 72-gon, or the union of the cells.
    """

    kind: str  # "spoofing" | "jamming"
    pattern: str  # "circle" | "point" | "converging_jumps" | "cells"
    start_utc: np.datetime64
    stop_utc: np.datetime64
    centre_lat_deg: float
    centre_lon_deg: float
    radius_m: float
    area_km2: float
    polygon: dict[str, Any]
    vessels: tuple[int, ...]
    confidence: float
    confidence_terms: dict[str, float]
    evidence: dict[str, Any] = field(default_factory=dict)
    definition: str = ""

    @property
    def duration_s(self) -> float:
        return float((self.stop_utc - self.start_utc) / np.timedelta64(1, "s"))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (times ISO-8601 with Z)."""
        return {
            "kind": self.kind,
            "pattern": self.pattern,
            "start_utc": _iso(self.start_utc),
            "stop_utc": _iso(self.stop_utc),
            "duration_s": self.duration_s,
            "centre_lat_deg": self.centre_lat_deg,
            "centre_lon_deg": self.centre_lon_deg,
            "radius_m": self.radius_m,
            "area_km2": self.area_km2,
            "vessels_affected": len(self.vessels),
            "vessels": list(self.vessels),
            "confidence": self.confidence,
            "confidence_terms": dict(self.confidence_terms),
            "evidence": dict(self.evidence),
            "definition": self.definition,
        }


@dataclass(frozen=True)
class InterferenceResult:
    areas: list[InterferenceArea]
    positions: int  # timed reports analysed (after removing repeats of one vessel and time)
    vessels: int
    indicators: dict[str, int]  # counts of jumps, stops, freezes and quality-bit changes found


def _iso(t: np.datetime64) -> str:
    return f"{np.datetime_as_string(t, unit='s')}Z"


# ---------------------------------------------------------------- tracks
@dataclass(frozen=True)
class _Tracks:
    p: PositionArrays  # sorted by (mmsi, time), one report per vessel and time
    t_s: np.ndarray  # float seconds since the Unix epoch
    xyz_m: np.ndarray  # (n, 3) points on the mean sphere [m]: chord distances for the KD-trees
    same: np.ndarray  # (n-1,) step k -> k+1 stays on one vessel
    step_m: np.ndarray  # (n-1,)
    step_s: np.ndarray  # (n-1,)
    jump: np.ndarray  # (n-1,) step needs more than max_speed_kn over more than min_jump_m


def _tracks(positions: PositionArrays, cfg: InterferenceConfig) -> _Tracks:
    ok = ~np.isnat(positions.time_utc) & np.isfinite(positions.lat_deg) & np.isfinite(positions.lon_deg)
    p = positions.take(np.flatnonzero(ok))
    p = p.take(np.lexsort((p.time_utc.astype("int64"), p.mmsi)))
    if len(p) > 1:
        repeat = np.r_[False, (p.mmsi[1:] == p.mmsi[:-1]) & (p.time_utc[1:] == p.time_utc[:-1])]
        p = p.take(np.flatnonzero(~repeat))
    t_s = p.time_utc.astype("int64") / 1e9
    xyz = unit_vectors(p.lat_deg, p.lon_deg) * EARTH_MEAN_RADIUS_M
    same = p.mmsi[1:] == p.mmsi[:-1]
    step_m = haversine_m(p.lat_deg[:-1], p.lon_deg[:-1], p.lat_deg[1:], p.lon_deg[1:])
    step_s = np.diff(t_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed_kn = np.where(step_s > 0, step_m / step_s / KN_TO_MS, np.inf)
    jump = same & (step_m > cfg.min_jump_m) & (speed_kn > cfg.max_speed_kn)
    return _Tracks(p, t_s, xyz.reshape(-1, 3), same, np.asarray(step_m), step_s, jump)


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    if n == 0:
        return np.zeros(0, np.int64)
    if len(pairs) == 0:
        return np.arange(n)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1])


def _tangent(xyz_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points on the sphere as (x east, y north) metres in the plane tangent at their centroid
    (gnomonic; relative error (d/R)^2, below 1e-5 over 20 km), and that centroid's unit vector."""
    c = xyz_m.mean(axis=0)
    c = c / np.linalg.norm(c)
    east = np.cross([0.0, 0.0, 1.0], c)
    east = east / np.linalg.norm(east) if np.linalg.norm(east) > 1e-12 else np.array([1.0, 0.0, 0.0])
    north = np.cross(c, east)
    u = xyz_m / np.linalg.norm(xyz_m, axis=1, keepdims=True)
    scale = EARTH_MEAN_RADIUS_M / (u @ c)
    return np.stack([(u @ east) * scale, (u @ north) * scale], axis=1), c


def _from_tangent(xy: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    east = np.cross([0.0, 0.0, 1.0], c)
    east = east / np.linalg.norm(east) if np.linalg.norm(east) > 1e-12 else np.array([1.0, 0.0, 0.0])
    north = np.cross(c, east)
    v = c * EARTH_MEAN_RADIUS_M + xy[0] * east + xy[1] * north
    lat, lon = from_unit_vectors(v)
    return float(lat), float(lon)


def fit_circle(xy_m: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Centre (x, y), radius and RMS radial residual [m] of the circle best fitting planar points.

    Kasa's algebraic fit (a linear least-squares problem) starts a Gauss-Newton refinement of the
    geometric distances (Chernov, "Circular and Linear Regression", 2010, ch. 4-5)."""
    x, y = xy_m[:, 0], xy_m[:, 1]
    a = np.stack([x, y, np.ones_like(x)], axis=1)
    sol = np.linalg.lstsq(a, x * x + y * y, rcond=None)[0]
    centre = np.array([sol[0] / 2, sol[1] / 2])
    radius = math.sqrt(max(sol[2] + centre @ centre, 0.0))
    for _ in range(20):
        d = xy_m - centre
        dist = np.linalg.norm(d, axis=1)
        if np.any(dist == 0):
            break
        jac = np.column_stack([-d[:, 0] / dist, -d[:, 1] / dist, -np.ones_like(dist)])
        step = np.linalg.lstsq(jac, -(dist - radius), rcond=None)[0]
        centre, radius = centre + step[:2], radius + step[2]
        if np.abs(step).max() < 1e-6:
            break
    residual = np.linalg.norm(xy_m - centre, axis=1) - radius
    return centre, float(abs(radius)), float(np.sqrt(np.mean(residual**2)))


# ---------------------------------------------------------------- spoofing
@dataclass
class _Hit:
    pattern: str
    t0: float
    t1: float
    xyz_m: np.ndarray  # centre on the sphere
    radius_m: float
    vessels: frozenset[int]
    misfit: float  # 0 = perfect, 1 = at the tolerance


def _displaced(tr: _Tracks) -> np.ndarray:
    """Whether each report lies on a stretch of its vessel's track that begins or ends with a jump
    (a displaced stretch, true or spoofed: the clustering tells which)."""
    n = len(tr.p)
    if n == 0:
        return np.zeros(0, bool)
    new = np.r_[True, ~tr.same | tr.jump]
    seg = np.cumsum(new) - 1
    arrive = np.r_[False, tr.jump]  # first report after a jump
    leave = np.r_[tr.jump, False]  # last report before a jump
    touched = np.zeros(int(seg[-1]) + 1, bool)
    touched[seg[arrive]] = True
    touched[seg[leave]] = True
    return np.asarray(touched[seg])


def _window_hits(tr: _Tracks, displaced: np.ndarray, cfg: InterferenceConfig) -> list[_Hit]:
    """Common points and circles, window by window, from the last report of each vessel."""
    p = tr.p
    if len(p) == 0:
        return []
    window = np.floor(tr.t_s / cfg.window_s).astype(np.int64)
    last = np.r_[(p.mmsi[1:] != p.mmsi[:-1]) | (window[1:] != window[:-1]), True]
    idx = np.flatnonzero(last)
    idx = idx[np.argsort(window[idx], kind="stable")]
    bounds = np.flatnonzero(np.r_[True, window[idx][1:] != window[idx][:-1], True])
    hits: list[_Hit] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = idx[a:b]
        if len(rows) < cfg.min_vessels:
            continue
        tree = cKDTree(tr.xyz_m[rows])
        labels = _components(len(rows), tree.query_pairs(cfg.point_tolerance_m, output_type="ndarray"))
        for lab in np.flatnonzero(np.bincount(labels) >= cfg.min_vessels):
            members = rows[labels == lab]
            xy, c = _tangent(tr.xyz_m[members])
            spread = float(np.sqrt(np.mean(np.sum((xy - xy.mean(axis=0)) ** 2, axis=1))))
            if spread > cfg.point_tolerance_m:  # a chain of ships moored side by side, not a point
                continue
            # Spoofed receivers jump to the false fix; ships moored at one berth (three barges
            # at a Rhine quay in gpsd's type-6 recording, once its RMC/ZDA times are used) never
            # jumped there.
            if int(displaced[members].sum()) < cfg.min_vessels:
                continue
            hits.append(
                _Hit(
                    "point",
                    float(tr.t_s[members].min()),
                    float(tr.t_s[members].max()),
                    c * EARTH_MEAN_RADIUS_M,
                    max(spread, float(np.linalg.norm(xy - xy.mean(axis=0), axis=1).max())),
                    frozenset(int(m) for m in p.mmsi[members]),
                    spread / cfg.point_tolerance_m,
                )
            )
        moved = rows[displaced[rows]]
        if len(moved) < cfg.min_circle_vessels:
            continue
        tree = cKDTree(tr.xyz_m[moved])
        labels = _components(len(moved), tree.query_pairs(cfg.cluster_m, output_type="ndarray"))
        for lab in np.flatnonzero(np.bincount(labels) >= cfg.min_circle_vessels):
            members = moved[labels == lab]
            xy, c = _tangent(tr.xyz_m[members])
            centre, radius, residual = fit_circle(xy)
            if not (cfg.min_circle_radius_m <= radius <= cfg.max_circle_radius_m):
                continue
            if residual > cfg.circle_tolerance * radius:
                continue
            # points bunched on a short arc also fit a huge family of circles: ask for a third of it
            angles = np.sort(np.arctan2(xy[:, 1] - centre[1], xy[:, 0] - centre[0]))
            largest_gap = np.max(np.diff(np.r_[angles, angles[0] + 2 * np.pi]))
            if largest_gap > 2 * np.pi * 2 / 3:
                continue
            lat, lon = _from_tangent(centre, c)
            hits.append(
                _Hit(
                    "circle",
                    float(tr.t_s[members].min()),
                    float(tr.t_s[members].max()),
                    unit_vectors(lat, lon) * EARTH_MEAN_RADIUS_M,
                    radius,
                    frozenset(int(m) for m in p.mmsi[members]),
                    residual / (cfg.circle_tolerance * radius),
                )
            )
    return hits


def _jump_hits(tr: _Tracks, cfg: InterferenceConfig) -> list[_Hit]:
    """Several vessels jumping within one window to places close together, from places that are not."""
    k = np.flatnonzero(tr.jump)
    if len(k) < cfg.min_vessels:
        return []
    arrive, depart = k + 1, k
    tree = cKDTree(tr.xyz_m[arrive])
    pairs = tree.query_pairs(cfg.cluster_m, output_type="ndarray")
    if len(pairs):
        pairs = pairs[np.abs(tr.t_s[arrive[pairs[:, 0]]] - tr.t_s[arrive[pairs[:, 1]]]) <= cfg.window_s]
    labels = _components(len(k), pairs)
    hits: list[_Hit] = []
    for lab in np.unique(labels):
        members = np.flatnonzero(labels == lab)
        vessels = frozenset(int(m) for m in tr.p.mmsi[arrive[members]])
        if len(vessels) < cfg.min_vessels:
            continue
        xy_in, c = _tangent(tr.xyz_m[arrive[members]])
        xy_out, _ = _tangent(tr.xyz_m[depart[members]])
        spread_in = float(np.sqrt(np.mean(np.sum((xy_in - xy_in.mean(axis=0)) ** 2, axis=1))))
        spread_out = float(np.sqrt(np.mean(np.sum((xy_out - xy_out.mean(axis=0)) ** 2, axis=1))))
        if spread_out < 2 * spread_in:  # dispersing (the end of a spoof) or moving together
            continue
        hits.append(
            _Hit(
                "converging_jumps",
                float(tr.t_s[arrive[members]].min()),
                float(tr.t_s[arrive[members]].max()),
                c * EARTH_MEAN_RADIUS_M,
                float(np.linalg.norm(xy_in - xy_in.mean(axis=0), axis=1).max()),
                vessels,
                spread_in / spread_out * 2,  # 1 at the 2x limit, 0 for arrivals at one point
            )
        )
    return hits


def _on_pattern(
    tr: _Tracks,
    rows: np.ndarray,
    hit_centre: np.ndarray,
    radius: float,
    pattern: str,
    cfg: InterferenceConfig,
) -> np.ndarray:
    """Which of `rows` lie on the pattern: on the ring for a circle, inside it otherwise."""
    dist = np.linalg.norm(tr.xyz_m[rows] - hit_centre, axis=1)
    if pattern == "circle":
        return np.asarray(
            np.abs(dist - radius) <= max(3 * cfg.circle_tolerance * radius, cfg.point_tolerance_m)
        )
    return np.asarray(dist <= radius + cfg.point_tolerance_m)


def _spoofing_areas(tr: _Tracks, cfg: InterferenceConfig) -> list[InterferenceArea]:
    hits = _window_hits(tr, _displaced(tr), cfg) + _jump_hits(tr, cfg)
    if not hits:
        return []
    # hits of one event: close in time and their centres within each other's reach
    n = len(hits)
    centres = np.array([h.xyz_m for h in hits])
    reach = max(h.radius_m for h in hits) + cfg.cluster_m
    pairs = cKDTree(centres).query_pairs(reach, output_type="ndarray")
    keep = [
        (i, j)
        for i, j in pairs
        if max(hits[i].t0, hits[j].t0) - min(hits[i].t1, hits[j].t1) <= 2 * cfg.window_s
        and np.linalg.norm(centres[i] - centres[j])
        <= max(hits[i].radius_m, hits[j].radius_m) + cfg.point_tolerance_m
    ]
    labels = _components(n, np.array(keep, dtype=np.int64).reshape(-1, 2))
    areas = []
    for lab in np.unique(labels):
        group = [hits[i] for i in np.flatnonzero(labels == lab)]
        area = _spoofing_area(tr, group, cfg)
        if area is not None:
            areas.append(area)
    return areas


def _spoofing_area(tr: _Tracks, group: list[_Hit], cfg: InterferenceConfig) -> InterferenceArea | None:
    shaped: list[_Hit] = []
    circles = [h for h in group if h.pattern == "circle"]
    if circles:
        # a spoofing ring keeps its radius: ships closing in on (or leaving) one place also line up
        # on circles, but on shrinking (growing) ones
        typical = float(np.median([h.radius_m for h in circles]))
        steady = [h for h in circles if abs(h.radius_m - typical) <= cfg.circle_tolerance * typical]
        if len({int(h.t1 // cfg.window_s) for h in steady}) >= cfg.min_circle_windows:
            shaped, pattern = steady, "circle"
    for other in ("point", "converging_jumps"):
        if not shaped:
            shaped, pattern = [h for h in group if h.pattern == other], other
    if not shaped:
        return None
    centre = np.median(np.array([h.xyz_m for h in shaped]), axis=0)
    centre = centre / np.linalg.norm(centre) * EARTH_MEAN_RADIUS_M
    radius = float(np.median([h.radius_m for h in shaped]))
    if pattern != "circle":
        radius = max(radius, cfg.point_tolerance_m)
    vessels = frozenset().union(*(h.vessels for h in group))
    # start and stop from the member vessels' own reports on the pattern, chained outwards from the
    # windows where it held while consecutive on-pattern reports are at most two windows apart
    rows = np.flatnonzero(np.isin(tr.p.mmsi, np.array(sorted(vessels), dtype=np.int64)))
    on = rows[_on_pattern(tr, rows, centre, radius, pattern, cfg)]
    t_on = np.sort(tr.t_s[on])
    lo, hi = min(h.t0 for h in group), max(h.t1 for h in group)
    if len(t_on):
        i0 = int(np.searchsorted(t_on, lo))
        i1 = max(int(np.searchsorted(t_on, hi, side="right")) - 1, i0)
        i0 = min(i0, len(t_on) - 1)
        gaps = np.diff(t_on) > 2 * cfg.window_s
        while i0 > 0 and not gaps[i0 - 1]:
            i0 -= 1
        while i1 < len(t_on) - 1 and not gaps[i1]:
            i1 += 1
        lo, hi = min(lo, float(t_on[i0])), max(hi, float(t_on[i1]))
        on_vessels = frozenset(int(m) for m in tr.p.mmsi[on][(tr.t_s[on] >= lo) & (tr.t_s[on] <= hi)])
        vessels = vessels & on_vessels if pattern == "circle" else vessels
    n_min = cfg.min_circle_vessels if pattern == "circle" else cfg.min_vessels
    if len(vessels) < n_min:
        return None
    windows = len({int(h.t1 // cfg.window_s) for h in shaped})
    misfit = float(np.median([h.misfit for h in shaped]))
    terms = {
        "vessels": 1.0 - 0.5 ** (len(vessels) - n_min + 1),
        "geometry": float(np.clip(1.0 - 0.5 * misfit, 0.0, 1.0)),
        "persistence": 1.0 - 0.5**windows,
    }
    lat, lon = (float(v) for v in from_unit_vectors(centre))
    evidence: dict[str, Any] = {
        "windows": windows,
        "window_s": cfg.window_s,
        "patterns": sorted({h.pattern for h in group}),
    }
    if pattern == "circle":
        evidence["rms_residual_m"] = round(misfit * cfg.circle_tolerance * radius, 3)
    definition = {
        "circle": f">= {n_min} vessels whose tracks jump, simultaneously on one circle "
        f"(RMS residual <= {cfg.circle_tolerance:g} x radius)",
        "point": f">= {n_min} distinct vessels simultaneously within {cfg.point_tolerance_m:g} m of one point",
        "converging_jumps": f">= {n_min} vessels jumping (> {cfg.max_speed_kn:g} kn) within "
        f"{cfg.window_s:g} s to places within {cfg.cluster_m:g} m, from places twice as scattered",
    }[pattern]
    return InterferenceArea(
        kind=SPOOFING,
        pattern=pattern,
        start_utc=np.datetime64(int(round(lo * 1e9)), "ns"),
        stop_utc=np.datetime64(int(round(hi * 1e9)), "ns"),
        centre_lat_deg=lat,
        centre_lon_deg=lon,
        radius_m=radius,
        area_km2=math.pi * radius**2 / 1e6,
        polygon=circle_polygon(lat, lon, radius),
        vessels=tuple(sorted(vessels)),
        confidence=float(np.prod(list(terms.values()))),
        confidence_terms=terms,
        evidence=evidence,
        definition=f"{definition}; {REFERENCES[SPOOFING]}",
    )


def circle_polygon(lat_deg: float, lon_deg: float, radius_m: float, vertices: int = 72) -> dict[str, Any]:
    """A GeoJSON Polygon approximating the circle of `radius_m` around a point (great-circle
    destinations on the mean sphere, counter-clockwise as RFC 7946 asks)."""
    phi1, lam1 = math.radians(lat_deg), math.radians(lon_deg)
    delta = radius_m / EARTH_MEAN_RADIUS_M
    bearings = -np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    phi2 = np.arcsin(np.sin(phi1) * np.cos(delta) + np.cos(phi1) * np.sin(delta) * np.cos(bearings))
    lam2 = lam1 + np.arctan2(
        np.sin(bearings) * np.sin(delta) * np.cos(phi1), np.cos(delta) - np.sin(phi1) * np.sin(phi2)
    )
    lon2 = (np.degrees(lam2) + 180.0) % 360.0 - 180.0
    ring = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon2, np.degrees(phi2), strict=True)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


# ---------------------------------------------------------------- jamming
@dataclass(frozen=True)
class _Affected:
    """Stretches of single vessels with no usable fix: (report index it is placed at, start, stop)."""

    row: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    kind: np.ndarray  # "stop" | "freeze" | "flags"


def _affected(tr: _Tracks, cfg: InterferenceConfig) -> _Affected:
    p, n = tr.p, len(tr.p)
    rows: list[np.ndarray] = []
    t0: list[np.ndarray] = []
    t1: list[np.ndarray] = []
    kinds: list[np.ndarray] = []

    def add(kind: str, row: np.ndarray, start: np.ndarray, stop: np.ndarray) -> None:
        rows.append(row)
        t0.append(start)
        t1.append(stop)
        kinds.append(np.full(len(row), kind, dtype="U6"))

    if n > 1:
        vessel = np.cumsum(np.r_[True, ~tr.same]) - 1
        n_vessels = int(vessel[-1]) + 1
        # stops: silences longer than min_gap_s and gap_factor times the vessel's usual interval
        k = np.flatnonzero(tr.same)
        usual = _median_by_group(tr.step_s[k], vessel[k], n_vessels)
        limit = np.maximum(cfg.min_gap_s, cfg.gap_factor * usual[vessel[:-1]])
        stop = np.flatnonzero(tr.same & (tr.step_s > limit))
        add("stop", stop, tr.t_s[stop], tr.t_s[stop + 1])
        # freezes: one position repeated while the vessel says it is under way
        moving = np.nan_to_num(p.sog_kn, nan=0.0) > cfg.min_sog_kn
        frozen = tr.same & (tr.step_m <= cfg.freeze_tolerance_m) & moving[:-1] & moving[1:]
        a, b = _runs(frozen)
        long = tr.t_s[b + 1] - tr.t_s[a] >= cfg.freeze_min_s
        add("freeze", a[long], tr.t_s[a[long]], tr.t_s[b[long] + 1])
        # quality bits against the vessel's usual value (its majority), two reports running at least
        for name in ("position_accuracy", "raim"):
            flags = getattr(p, name)
            reported = flags != FLAG_NOT_REPORTED
            counts = np.bincount(vessel[reported], minlength=n_vessels)
            ones = np.bincount(vessel[reported], weights=flags[reported] == 1, minlength=n_vessels)
            usual_flag = np.where(ones * 2 >= counts, 1, 0)
            judged = counts >= cfg.flag_min_reports
            if name == "position_accuracy":  # only a drop from high accuracy is a loss of quality
                judged &= usual_flag == 1
            off = reported & judged[vessel] & (flags != usual_flag[vessel])
            a, b = _runs(off[:-1] & off[1:] & tr.same)
            add("flags", a, tr.t_s[a], tr.t_s[b + 1])
    if not rows:
        e = np.zeros(0)
        return _Affected(e.astype(np.int64), e, e, e.astype("U6"))
    return _Affected(
        np.concatenate(rows).astype(np.int64), np.concatenate(t0), np.concatenate(t1), np.concatenate(kinds)
    )


def _median_by_group(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of `values` per group 0..n_groups-1 (inf for a group without values)."""
    order = np.lexsort((values, group))
    v, counts = values[order], np.bincount(group, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    out = np.full(n_groups, np.inf)
    has = counts > 0
    out[has] = (v[starts[has] + (counts[has] - 1) // 2] + v[starts[has] + counts[has] // 2]) / 2
    return out


def _runs(flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of each run of True."""
    f = np.r_[False, flag.astype(bool), False]
    d = np.diff(f.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1


def _jamming_areas(tr: _Tracks, cfg: InterferenceConfig) -> tuple[list[InterferenceArea], _Affected]:
    import h3
    from scipy import stats  # here, not at the top: it doubles the import time of kizuna.pnt

    hit = _affected(tr, cfg)
    p = tr.p
    if len(p) == 0:
        return [], hit
    names: list[str] = []
    code_of: dict[str, int] = {}

    def code(name: str) -> int:
        if name not in code_of:
            code_of[name] = len(names)
            names.append(name)
        return code_of[name]

    cell = np.array(
        [
            code(h3.latlng_to_cell(la, lo, cfg.cell_resolution))
            for la, lo in zip(p.lat_deg, p.lon_deg, strict=True)
        ],
        dtype=np.int64,
    )
    time_bin = np.floor(tr.t_s / cfg.bin_s).astype(np.int64)
    # every affected stretch is present, and affected, in its cell for every bin it overlaps
    first = np.floor(hit.t0 / cfg.bin_s).astype(np.int64)
    last = np.maximum(np.ceil(hit.t1 / cfg.bin_s).astype(np.int64) - 1, first)
    reps = last - first + 1
    which = np.repeat(np.arange(len(hit.row)), reps)
    aff_bin = np.repeat(first, reps) + (np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps))
    hit_cell = cell[hit.row]
    # each cell is tested on its disk (itself and disk_rings rings of neighbours)
    used = np.unique(np.r_[cell, hit_cell])
    disk = {int(c): [code(d) for d in h3.grid_disk(names[c], cfg.disk_rings)] for c in used}

    def on_disks(c: np.ndarray, b: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Unique (disk centre, bin, mmsi) rows for reports in cells `c`."""
        if not len(c):
            return np.zeros((0, 3), np.int64)
        keys = np.unique(np.stack([c, b, m], axis=1), axis=0)
        sizes = np.array([len(disk[int(x)]) for x in keys[:, 0]])
        centres = np.concatenate([disk[int(x)] for x in keys[:, 0]])
        rows = np.repeat(keys, sizes, axis=0)
        rows[:, 0] = centres
        return np.unique(rows, axis=0)

    present = on_disks(
        np.r_[cell, hit_cell[which]], np.r_[time_bin, aff_bin], np.r_[p.mmsi, p.mmsi[hit.row][which]]
    )
    affected = on_disks(hit_cell[which], aff_bin, p.mmsi[hit.row][which])
    nodes, n_present = np.unique(present[:, :2], axis=0, return_counts=True)
    k_aff = np.zeros(len(nodes), np.int64)
    if len(affected):
        a_nodes, a_counts = np.unique(affected[:, :2], axis=0, return_counts=True)
        k_aff[_rows_in(nodes, a_nodes)] = a_counts
    share = k_aff / n_present
    # the baseline counts only a disk's ordinary bins (share below min_share), so a long jamming
    # episode does not raise its own baseline; the tested bin is never part of it
    ordinary = share < cfg.min_share
    total_present = np.bincount(nodes[ordinary, 0], weights=n_present[ordinary], minlength=len(names))
    total_aff = np.bincount(nodes[ordinary, 0], weights=k_aff[ordinary], minlength=len(names))
    p_all = max(cfg.baseline_floor, float(k_aff[ordinary].sum()) / max(float(n_present[ordinary].sum()), 1.0))
    other_n = total_present[nodes[:, 0]] - np.where(ordinary, n_present, 0)
    other_k = total_aff[nodes[:, 0]] - np.where(ordinary, k_aff, 0)
    baseline = np.maximum(
        cfg.baseline_floor, (other_k + cfg.baseline_prior * p_all) / (other_n + cfg.baseline_prior)
    )
    p_value = np.asarray(stats.binom.sf(k_aff - 1, n_present, baseline), dtype=np.float64)
    node_conf = (1.0 - p_value) * np.clip((share - baseline) / (1.0 - baseline), 0.0, 1.0)
    idx = np.flatnonzero((k_aff >= cfg.min_vessels) & (share >= cfg.min_share) & (p_value <= cfg.alpha))
    if not len(idx):
        return [], hit
    # flagged disks touching in space (same or neighbouring centre) and time (same or next bin)
    pairs = [
        (a, a + 1 + c)
        for a, i in enumerate(idx)
        for c, j in enumerate(idx[a + 1 :])
        if abs(nodes[i, 1] - nodes[j, 1]) <= 1
        and (nodes[i, 0] == nodes[j, 0] or h3.are_neighbor_cells(names[nodes[i, 0]], names[nodes[j, 0]]))
    ]
    labels = _components(len(idx), np.array(pairs, np.int64).reshape(-1, 2))
    areas = []
    for lab in np.unique(labels):
        members = idx[labels == lab]
        b0, b1 = int(nodes[members, 1].min()), int(nodes[members, 1].max())
        reach = {c for centre in nodes[members, 0] for c in disk.get(int(centre), [int(centre)])}
        reach |= {int(c) for c in nodes[members, 0]}
        # the area is made of the cells where affected vessels were, inside the flagged disks and bins
        inside = (
            np.isin(hit_cell, np.array(sorted(reach)))
            & (hit.t0 < (b1 + 1) * cfg.bin_s)
            & (hit.t1 > b0 * cfg.bin_s)
        )
        if not inside.any():
            continue
        best = members[int(np.argmax(node_conf[members]))]
        areas.append(
            _jamming_area(
                tr,
                hit,
                inside,
                sorted({names[c] for c in hit_cell[inside]}),
                (b0, b1),
                {
                    "share": float(share[best]),
                    "baseline": float(baseline[best]),
                    "p_value": float(p_value[best]),
                    "confidence": float(node_conf[best]),
                    "disks": len(set(nodes[members, 0].tolist())),
                },
                cfg,
            )
        )
    return areas, hit


def _rows_in(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Row numbers of `keys` in the sorted unique 2-column `table` (every key is present)."""
    view = np.ascontiguousarray(table).view([("a", np.int64), ("b", np.int64)]).ravel()
    kview = np.ascontiguousarray(keys).view([("a", np.int64), ("b", np.int64)]).ravel()
    return np.asarray(np.searchsorted(view, kview))


def _jamming_area(
    tr: _Tracks,
    hit: _Affected,
    inside: np.ndarray,
    cells: list[str],
    bins: tuple[int, int],
    best: dict[str, float],
    cfg: InterferenceConfig,
) -> InterferenceArea:
    import h3

    rows = hit.row[inside]
    vessels = tuple(sorted({int(m) for m in tr.p.mmsi[rows]}))
    lat, lon = (float(v) for v in from_unit_vectors(tr.xyz_m[rows].mean(axis=0)))
    ring = np.array([v for c in cells for v in h3.cell_to_boundary(c)])
    kinds = hit.kind[inside]
    return InterferenceArea(
        kind=JAMMING,
        pattern="cells",
        start_utc=np.datetime64(int(round(float(hit.t0[inside].min()) * 1e9)), "ns"),
        stop_utc=np.datetime64(int(round(float(hit.t1[inside].max()) * 1e9)), "ns"),
        centre_lat_deg=lat,
        centre_lon_deg=lon,
        radius_m=float(np.max(haversine_m(lat, lon, ring[:, 0], ring[:, 1]))),
        area_km2=float(sum(h3.cell_area(c, unit="km^2") for c in cells)),
        polygon=dict(h3.cells_to_geo(cells)),
        vessels=vessels,
        confidence=best["confidence"],
        confidence_terms={"significance_times_excess_share": best["confidence"]},
        evidence={
            "cells": cells,
            "h3_resolution": cfg.cell_resolution,
            "disks_flagged": int(best["disks"]),
            "bins": bins[1] - bins[0] + 1,
            "bin_s": cfg.bin_s,
            "peak_share": best["share"],
            "baseline_share": best["baseline"],
            "p_value": best["p_value"],
            "stops": int(np.count_nonzero(kinds == "stop")),
            "freezes": int(np.count_nonzero(kinds == "freeze")),
            "quality_bit_changes": int(np.count_nonzero(kinds == "flags")),
        },
        definition=(
            f"share of vessels whose reports stop, freeze (SOG > {cfg.min_sog_kn:g} kn) or lose their quality "
            f"bits, per H3 res {cfg.cell_resolution} cell with its {cfg.disk_rings} ring(s) of neighbours and "
            f"{cfg.bin_s:g} s bin: >= {cfg.min_vessels} vessels, >= {cfg.min_share:g} of those present, "
            f"binomial p <= {cfg.alpha:g} against the cell's own baseline; {REFERENCES[JAMMING]}"
        ),
    )


# ---------------------------------------------------------------- entry points
def detect_interference(
    positions: PositionArrays,
    config: InterferenceConfig | None = None,
    kinds: Sequence[str] = (SPOOFING, JAMMING),
) -> InterferenceResult:
    """Spoofing and jamming areas in AIS positions, most confident first."""
    cfg = config or InterferenceConfig()
    unknown = set(kinds) - {SPOOFING, JAMMING}
    if unknown:
        raise ValueError(f"unknown interference kinds {sorted(unknown)}: use spoofing, jamming")
    tr = _tracks(positions, cfg)
    areas: list[InterferenceArea] = []
    if SPOOFING in kinds:
        areas += _spoofing_areas(tr, cfg)
    if JAMMING in kinds:
        jam, hit = _jamming_areas(tr, cfg)
        areas += jam
    else:
        hit = _affected(tr, cfg)
    areas.sort(key=lambda a: (-a.confidence, a.start_utc))
    return InterferenceResult(
        areas=areas,
        positions=len(tr.p),
        vessels=len(np.unique(tr.p.mmsi)),
        indicators={
            "jumps": int(tr.jump.sum()),
            "stops": int(np.count_nonzero(hit.kind == "stop")),
            "freezes": int(np.count_nonzero(hit.kind == "freeze")),
            "quality_bit_changes": int(np.count_nonzero(hit.kind == "flags")),
        },
    )


def interference_geojson(
    areas: Sequence[InterferenceArea], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (RFC 7946): one feature per area, its polygon and properties."""
    features = []
    for a in areas:
        features.append({"type": "Feature", "geometry": a.polygon, "properties": a.as_dict()})
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if parameters is not None:
        doc["parameters"] = parameters
    return doc


__all__ = [
    "JAMMING",
    "SPOOFING",
    "InterferenceArea",
    "InterferenceConfig",
    "InterferenceResult",
    "circle_polygon",
    "detect_interference",
    "fit_circle",
    "interference_geojson",
]
