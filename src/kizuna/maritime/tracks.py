"""Per-vessel AIS tracks: cleaning, shared-MMSI separation, segmentation and resampling.

Pure functions over :class:`~kizuna.model.maritime.PositionArrays`. Cleaning follows the usual
AIS pre-processing of the literature (e.g. Kroodsma et al. 2018, Science 359:904 "Tracking the
global footprint of fisheries", supplementary S1: duplicate removal, speed-gated outliers and
separation of MMSIs broadcast by more than one vessel), with thresholds as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import PositionArrays


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance on the mean sphere (error < 0.5 % vs WGS-84 geodesic)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def from_unit_vectors(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(v[..., 2], -1, 1))), np.degrees(np.arctan2(v[..., 1], v[..., 0]))


@dataclass
class CleaningReport:
    positions_in: int = 0
    untimed: int = 0
    duplicates: int = 0
    out_of_order: int = 0  # arrived later than a newer report of the same vessel
    implausible_jumps: int = 0  # isolated positions dropped (implied speed above the limit)
    shared_mmsi: list[int] = field(default_factory=list)
    max_speed_kn: float = 50.0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Tracks:
    """Cleaned positions sorted by (vessel, time).

    ``vessel`` numbers vessels (an MMSI shared by two ships gives two vessels), ``segment``
    numbers continuous pieces (split at gaps longer than ``segment_gap_s``). Both are dense
    0..n-1 codes; ``vessel_mmsi[vessel]`` gives the MMSI back.
    """

    positions: PositionArrays
    vessel: np.ndarray
    segment: np.ndarray
    vessel_mmsi: np.ndarray
    speed_kn: np.ndarray  # SOG, or the implied speed where SOG is missing
    report: CleaningReport
    segment_gap_s: float

    def __len__(self) -> int:
        return len(self.positions)


def _implied_speed_kn(p: PositionArrays, same: np.ndarray) -> np.ndarray:
    """Speed from each position to the next in knots (inf for dt = 0 with movement, nan across vessels)."""
    d = haversine_m(p.lat_deg[:-1], p.lon_deg[:-1], p.lat_deg[1:], p.lon_deg[1:])
    dt = np.diff(p.time_utc).astype("int64") / 1e9
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(dt > 0, d / dt / KN_TO_MS, np.where(d > 1.0, np.inf, 0.0))
    return np.where(same, v, np.nan)


def vessel_time_position_order(
    mmsi: np.ndarray, time_ns: np.ndarray, lat_deg: np.ndarray, lon_deg: np.ndarray
) -> np.ndarray:
    """``np.lexsort((lon_deg, lat_deg, time_ns, mmsi))``, the same permutation, in about half the time.

    One stable sort of an integer key packing the vessel's and the time's dense ranks, then
    latitude and longitude sorted only inside the runs of equal (vessel, time), which are rare
    (a report heard twice): a lexsort over four keys sorts two float columns of every row.
    """
    n = len(mmsi)
    if n < 2:
        return np.arange(n)
    _, vessel_rank = np.unique(mmsi, return_inverse=True)
    time_values, time_rank = np.unique(time_ns, return_inverse=True)
    key = vessel_rank.astype(np.int64) * len(time_values) + time_rank
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    tied = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if len(tied):
        # rows of every run of equal keys (runs are contiguous in ``order``), in their stable order
        rows = np.unique(np.r_[tied, tied + 1])
        sub = order[rows]
        within = np.lexsort((lon_deg[sub], lat_deg[sub], sorted_key[rows]))
        order[rows] = sub[within]
    return order


def clean_tracks(
    positions: PositionArrays,
    *,
    max_speed_kn: float = 50.0,
    segment_gap_s: float = 3 * 3600.0,
    shared_min_jumps: int = 3,
    shared_min_fraction: float = 0.2,
) -> Tracks:
    """Sort, de-duplicate, drop isolated speed outliers, split shared MMSIs, segment on gaps.

    A position is an isolated outlier when reaching it and leaving it both need more than
    ``max_speed_kn`` while going straight from its predecessor to its successor does not.
    An MMSI whose remaining track still has at least ``shared_min_jumps`` impossible steps making
    up ``shared_min_fraction`` of its steps is treated as broadcast by two ships (alternating
    far-apart positions) and its reports are split greedily between two vessels.
    """
    report = CleaningReport(positions_in=len(positions), max_speed_kn=max_speed_kn)
    timed = ~np.isnat(positions.time_utc)
    report.untimed = int((~timed).sum())
    p = positions.take(np.flatnonzero(timed))
    # Out-of-order: received after a newer report of the same vessel (input order is arrival order).
    order_in = np.argsort(p.mmsi, kind="stable")  # by vessel, in arrival order
    t_in = p.time_utc[order_in].astype("int64")
    same_in = p.mmsi[order_in][1:] == p.mmsi[order_in][:-1]
    # (counted on adjacent arrivals of the same vessel; sorting by time below repairs them)
    report.out_of_order = int((np.diff(t_in) < 0)[same_in].sum()) if len(p) > 1 else 0
    order = vessel_time_position_order(p.mmsi, p.time_utc.astype("int64"), p.lat_deg, p.lon_deg)
    p = p.take(order)
    if len(p) > 1:
        dup = np.r_[False, (p.mmsi[1:] == p.mmsi[:-1]) & (p.time_utc[1:] == p.time_utc[:-1])]
        report.duplicates = int(dup.sum())
        p = p.take(np.flatnonzero(~dup))
    # Shared MMSI first (alternating far-apart positions look like a string of spikes otherwise).
    shared_set: set[int] = set()
    if len(p) > 1:
        starts = np.flatnonzero(np.r_[True, p.mmsi[1:] != p.mmsi[:-1]])
        ends = np.r_[starts[1:], len(p)]
        bad_step = np.r_[_implied_speed_kn(p, p.mmsi[1:] == p.mmsi[:-1]) > max_speed_kn, False]
        bad_per = np.add.reduceat(bad_step.astype(np.int64), starts)
        steps_per = np.maximum(ends - starts - 1, 1)
        shared = (bad_per >= shared_min_jumps) & (bad_per / steps_per >= shared_min_fraction)
        shared_set = {int(m) for m in p.mmsi[starts[shared]]}
    exempt = np.isin(p.mmsi, np.array(sorted(shared_set), dtype=np.int64))
    for _ in range(3):  # a few passes: removing one spike can expose its neighbour
        if len(p) < 3:
            break
        same = p.mmsi[1:] == p.mmsi[:-1]
        v = _implied_speed_kn(p, same)
        v_in = np.r_[np.nan, v]
        v_out = np.r_[v, np.nan]
        skip = np.full(len(p), np.nan)
        same2 = p.mmsi[2:] == p.mmsi[:-2]
        d2 = haversine_m(p.lat_deg[:-2], p.lon_deg[:-2], p.lat_deg[2:], p.lon_deg[2:])
        dt2 = (p.time_utc[2:] - p.time_utc[:-2]).astype("int64") / 1e9
        with np.errstate(divide="ignore", invalid="ignore"):
            skip[1:-1] = np.where(same2, np.where(dt2 > 0, d2 / dt2 / KN_TO_MS, np.inf), np.nan)
        spike = (v_in > max_speed_kn) & (v_out > max_speed_kn) & (skip <= max_speed_kn) & ~exempt
        if not spike.any():
            break
        report.implausible_jumps += int(spike.sum())
        keep = np.flatnonzero(~spike)
        p = p.take(keep)
        exempt = exempt[keep]
    vessel_mmsi_list: list[int] = []
    vessel = np.zeros(len(p), np.int64)
    if len(p):
        starts = np.flatnonzero(np.r_[True, p.mmsi[1:] != p.mmsi[:-1]])
        ends = np.r_[starts[1:], len(p)]
        code = 0
        for a, b in zip(starts, ends, strict=True):
            if int(p.mmsi[a]) in shared_set:
                report.shared_mmsi.append(int(p.mmsi[a]))
                sub = _split_shared(p, int(a), int(b), max_speed_kn)
                vessel[a:b] = code + sub
                vessel_mmsi_list += [int(p.mmsi[a])] * (int(sub.max()) + 1)
                code += int(sub.max()) + 1
            else:
                vessel[a:b] = code
                vessel_mmsi_list.append(int(p.mmsi[a]))
                code += 1
        if shared_set:  # otherwise vessels number MMSIs in order: p is already in (vessel, time) order
            order = np.lexsort((p.time_utc.astype("int64"), vessel))
            p = p.take(order)
            vessel = vessel[order]
    segment = np.zeros(len(p), np.int64)
    if len(p) > 1:
        new = np.r_[
            True,
            (vessel[1:] != vessel[:-1])
            | ((p.time_utc[1:] - p.time_utc[:-1]).astype("int64") > segment_gap_s * 1e9),
        ]
        segment = np.cumsum(new) - 1
    speed = p.sog_kn.copy()
    if len(p) > 1:
        same = vessel[1:] == vessel[:-1]
        v = _implied_speed_kn(p, same)
        v = np.where(np.isfinite(v), v, np.nan)
        fallback = np.where(np.isnan(np.r_[v, np.nan]), np.r_[np.nan, v], np.r_[v, np.nan])
        speed = np.where(np.isnan(speed), fallback, speed)
    return Tracks(p, vessel, segment, np.array(vessel_mmsi_list, np.int64), speed, report, segment_gap_s)


def _split_shared(p: PositionArrays, a: int, b: int, max_speed_kn: float) -> np.ndarray:
    """Assign the reports of one MMSI to two ships: each goes to the ship it can reach more plausibly.

    A sequential pass (the assignment of a report depends on the previous ones); it only runs on
    the few MMSIs flagged as shared.
    """
    sub = np.zeros(b - a, np.int64)
    last: list[int | None] = [a, None]
    for i in range(a + 1, b):
        speeds = []
        for j in last:
            if j is None:
                speeds.append(max_speed_kn)  # a free slot: open the second ship only when needed
                continue
            d = float(haversine_m(p.lat_deg[j], p.lon_deg[j], p.lat_deg[i], p.lon_deg[i]))
            dt = float((p.time_utc[i] - p.time_utc[j]).astype("int64")) / 1e9
            speeds.append(d / dt / KN_TO_MS if dt > 0 else (np.inf if d > 1 else 0.0))
        k = int(np.argmin(speeds)) if speeds[0] > max_speed_kn else 0
        sub[i - a] = k
        last[k] = i
    return sub


@dataclass
class Resampled:
    """Positions on a regular UTC grid, one row per (segment, grid time) inside the segment."""

    vessel: np.ndarray
    segment: np.ndarray
    time_utc: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    speed_kn: np.ndarray
    step_s: float


def resample(tracks: Tracks, step_s: float = 600.0) -> Resampled:
    """Interpolate every segment onto the grid of multiples of ``step_s`` (UTC, from the Unix epoch).

    Positions are interpolated along the great circle (linear in 3-D unit vectors, then
    renormalised: exact direction, < 1e-6 relative error in spacing for the <= 3 h spans used),
    which is also correct across the antimeridian. Speeds are interpolated linearly.
    """
    p = tracks.positions
    if len(p) == 0:
        e = np.zeros(0)
        return Resampled(e.astype(np.int64), e.astype(np.int64), e.astype("datetime64[ns]"), e, e, e, step_s)
    step_ns = int(round(step_s * 1e9))
    t = p.time_utc.astype("int64")
    seg = tracks.segment
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    ends = np.r_[starts[1:], len(p)] - 1
    g0 = -(-t[starts] // step_ns)  # first grid index at or after the segment start
    g1 = t[ends] // step_ns  # last grid index at or before the segment end
    count = np.maximum(g1 - g0 + 1, 0)
    total = int(count.sum())
    seg_of = np.repeat(np.arange(len(starts)), count)
    offs = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    g_ns = (np.repeat(g0, count) + offs) * step_ns
    # Global search on (segment, time): segment ranks are shifted into the high bits.
    t_base = t.min()
    key = seg.astype(np.int64) * (1 << 40) + (t - t_base) // 1_000_000
    gkey = seg_of.astype(np.int64) * (1 << 40) + (g_ns - t_base) // 1_000_000
    hi = np.searchsorted(key, gkey, side="left")
    hi = np.clip(hi, np.repeat(starts, count), np.repeat(ends, count))
    lo = np.maximum(hi - 1, np.repeat(starts, count))
    exact = t[hi] == g_ns
    lo = np.where(exact, hi, lo)
    span = (t[hi] - t[lo]).astype(np.float64)
    w = np.where(span > 0, (g_ns - t[lo]) / np.where(span > 0, span, 1.0), 0.0)
    u = unit_vectors(p.lat_deg, p.lon_deg)
    v = u[lo] * (1 - w)[:, None] + u[hi] * w[:, None]
    lat, lon = from_unit_vectors(v)
    s = tracks.speed_kn
    sp = np.where(np.isnan(s[lo]), s[hi], np.where(np.isnan(s[hi]), s[lo], s[lo] * (1 - w) + s[hi] * w))
    return Resampled(
        tracks.vessel[starts][seg_of], seg_of, g_ns.astype("datetime64[ns]"), lat, lon, sp, step_s
    )
