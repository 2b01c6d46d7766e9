"""Dilution of precision for receivers x times x satellites, vectorised, single or multi-GNSS.

The geometry matrix has one row per satellite in view, ``h = [-e, -n, -u, c_1 .. c_K]``: the
unit line of sight in local east-north-up and one receiver-clock column per GNSS system, set to 1
in the column of the satellite's own system. One clock per system is how a multi-GNSS receiver
without known inter-system biases solves (each system keeps its own time scale; GPST, GST, BDT
and the GLONASS scale differ by tens of nanoseconds to seconds), and it costs one satellite per
system in view: a position needs at least 3 + K satellites when K systems are in view. A system
with no satellite in view has no clock column (it cannot be estimated and is not needed).

The DOPs read Q = (H^T H)^-1: PDOP = sqrt(Q_ee + Q_nn + Q_uu), HDOP = sqrt(Q_ee + Q_nn),
VDOP = sqrt(Q_uu), TDOP = sqrt(Q_tt) of the reference clock (the first system, in the order
asked, with a satellite in view) and GDOP = sqrt(PDOP^2 + TDOP^2). For one system this is the
textbook GDOP = sqrt(trace Q) (Misra & Enge, sec. 6.1), the same as gnss_lib_py's `get_dop`.

Because the clock block of H^T H is diagonal (each satellite has one clock), the clocks are
eliminated in closed form (Schur complement) and only a 3x3 matrix is inverted per receiver and
time, whatever the number of systems.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kizuna.pnt.geometry import ElevationMask, Receivers, line_of_sight_components
from kizuna.pnt.systems import SYSTEM_BY_LETTER, GnssSatellites

#: lines of sight per chunk (receivers x times x satellites): 4 MB for each of the dozen float64
#: arrays a chunk holds; measured fastest between 0.1 and 1 million (bench_pnt.py's map), slower
#: at 2 million as the arrays leave the caches
DEFAULT_CHUNK_STATES = 500_000
DOP_NAMES = ("gdop", "pdop", "hdop", "vdop", "tdop")


def dop_from_lines_of_sight(
    los_enu: np.ndarray, visible: np.ndarray, system_index: np.ndarray, n_systems: int
) -> dict[str, np.ndarray]:
    """GDOP, PDOP, HDOP, VDOP, TDOP and the satellites used, for any leading shape.

    `los_enu` (..., N, 3) unit vectors receiver -> satellite in ENU, `visible` (..., N) bool,
    `system_index` (N,) in 0..n_systems-1 (the clock column of each satellite). Where the
    satellites in view cannot fix a position (fewer than 3 + systems in view, or a degenerate
    geometry) every DOP is NaN.
    """
    los = np.asarray(los_enu, dtype="float64")
    return dop_from_components(los[..., 0], los[..., 1], los[..., 2], visible, system_index, n_systems)


def dop_from_components(
    east: np.ndarray,
    north: np.ndarray,
    up: np.ndarray,
    visible: np.ndarray,
    system_index: np.ndarray,
    n_systems: int,
) -> dict[str, np.ndarray]:
    """`dop_from_lines_of_sight` with the line-of-sight components as three (..., N) arrays.

    The map's inner loop: each sum runs along the contiguous satellite axis, so the normal
    matrix costs a few passes over memory instead of a batched product of 3-vectors."""
    weight = np.asarray(visible, dtype="float64")
    # -u is the geometry row; invisible satellites get weight 0 (and NaN positions become 0 first)
    g = [np.where(weight > 0, -c, 0.0) for c in (east, north, up)]
    one_hot = np.eye(n_systems)[np.asarray(system_index, dtype="int64")]  # (N, K)
    lead = weight.shape[:-1]
    normal = np.empty((*lead, 3, 3))
    for i in range(3):
        for j in range(i, 3):
            normal[..., i, j] = normal[..., j, i] = np.einsum("...n,...n->...", g[i], g[j])
    cross = np.stack([gi @ one_hot for gi in g], axis=-2)  # (..., 3, K)
    clock_count = weight @ one_hot  # (..., K)
    active = clock_count > 0
    inv_count = np.divide(1.0, clock_count, out=np.zeros_like(clock_count), where=active)
    reduced = normal - np.einsum("...ik,...k,...jk->...ij", cross, inv_count, cross)
    n_used = weight.sum(axis=-1)
    ok = active.any(axis=-1) & (n_used >= 3 + active.sum(axis=-1))
    # a geometry with enough satellites can still be (nearly) degenerate: all in one plane
    scale = np.trace(reduced, axis1=-2, axis2=-1) / 3.0
    det = np.linalg.det(reduced)
    ok &= np.abs(det) > 1e-12 * np.where(scale > 0, scale, 1.0) ** 3
    reduced = np.where(ok[..., None, None], reduced, np.eye(3))
    q = np.linalg.inv(reduced)
    reference = np.argmax(active, axis=-1)  # first system in view, in the order of the columns
    b = np.take_along_axis(cross, reference[..., None, None], axis=-1)[..., 0]
    c_ref = np.take_along_axis(inv_count, reference[..., None], axis=-1)[..., 0]
    b = b * c_ref[..., None]
    tdop2 = c_ref + np.einsum("...i,...ij,...j->...", b, q, b)
    pdop2 = np.trace(q, axis1=-2, axis2=-1)
    nan = np.where(ok, 1.0, np.nan)
    return {
        "gdop": np.sqrt(pdop2 + tdop2) * nan,
        "pdop": np.sqrt(pdop2) * nan,
        "hdop": np.sqrt(q[..., 0, 0] + q[..., 1, 1]) * nan,
        "vdop": np.sqrt(q[..., 2, 2]) * nan,
        "tdop": np.sqrt(tdop2) * nan,
        "n_used": n_used.astype("int64"),
    }


@dataclass(frozen=True)
class DopSeries:
    """DOPs and satellites in view for P receivers at T times: every array is (P, T)[, K]."""

    receivers: Receivers
    times_utc: np.ndarray  # (T,)
    systems: tuple[str, ...]  # (K,) RINEX letters of the systems present
    gdop: np.ndarray
    pdop: np.ndarray
    hdop: np.ndarray
    vdop: np.ndarray
    tdop: np.ndarray
    n_visible: np.ndarray  # (P, T) satellites above the mask
    n_visible_by_system: np.ndarray  # (P, T, K)
    mask: ElevationMask
    clocks: tuple[str, ...] = ()  # the clock columns, each named by the first system using it

    def available(self, max_pdop: float, min_satellites: int) -> np.ndarray:
        """(P, T) bool: a position with PDOP <= max_pdop from at least min_satellites in view."""
        with np.errstate(invalid="ignore"):
            return (self.pdop <= max_pdop) & (self.n_visible >= min_satellites)

    def availability(self, max_pdop: float, min_satellites: int) -> np.ndarray:
        """(P,) share of the times (0..1) with a position as in `available`."""
        return np.asarray(self.available(max_pdop, min_satellites).mean(axis=1))


def evaluate_dop(
    receivers: Receivers,
    satellites: GnssSatellites,
    mask: ElevationMask,
    *,
    shared_clocks: Sequence[str] = (),
    chunk_states: int = DEFAULT_CHUNK_STATES,
    progress: Callable[[int, int], None] | None = None,
) -> DopSeries:
    """DOP series of every receiver over the satellites' times, one clock per system present.

    `shared_clocks` groups systems whose time scales the receiver takes as one (e.g. "GJ": QZSS
    time is steered to GPS time and many receivers solve them with one clock); each group is one
    clock column. Works in chunks of times so that receivers x times x satellites never exceeds
    `chunk_states` line-of-sight vectors; `progress(done, total)` counts times."""
    systems = tuple(s for s in SYSTEM_BY_LETTER if np.any(satellites.system == s))
    system_index = np.array([systems.index(s) for s in satellites.system], dtype="int64")
    clock_of = {s: s for s in systems}
    for group in shared_clocks:
        present = [s for s in SYSTEM_BY_LETTER if s in group and s in systems]
        for s in present:
            clock_of[s] = present[0]
    clocks = tuple(dict.fromkeys(clock_of[s] for s in systems))
    clock_index = np.array([clocks.index(clock_of[s]) for s in satellites.system], dtype="int64")
    n_rx, n_times, n_sats = len(receivers), len(satellites.times_utc), len(satellites)
    out = {name: np.full((n_rx, n_times), np.nan) for name in DOP_NAMES}
    n_visible = np.zeros((n_rx, n_times), dtype="int64")
    by_system = np.zeros((n_rx, n_times, len(systems)), dtype="int64")
    step = max(1, chunk_states // max(1, n_rx * n_sats))
    for start in range(0, n_times, step):
        stop = min(n_times, start + step)
        if n_sats:
            east, north, up = line_of_sight_components(receivers, satellites.position_km[:, start:stop])
            visible = mask.visible_components(east, north, up)
            dops = dop_from_components(east, north, up, visible, clock_index, len(clocks))
            for name in DOP_NAMES:
                out[name][:, start:stop] = dops[name]
            n_visible[:, start:stop] = dops["n_used"]
            by_system[:, start:stop] = (
                visible.astype("int64") @ np.eye(len(systems), dtype="int64")[system_index]
            )
        if progress:
            progress(stop, n_times)
    return DopSeries(
        receivers=receivers,
        times_utc=satellites.times_utc,
        systems=systems,
        n_visible=n_visible,
        n_visible_by_system=by_system,
        mask=mask,
        clocks=clocks,
        **out,
    )


@dataclass(frozen=True)
class PointSummary:
    """One receiver over the period: satellites in view, PDOP statistics and availability."""

    lat_deg: float
    lon_deg: float
    min_visible: int
    mean_visible: float
    mean_pdop: float
    median_pdop: float
    max_pdop: float
    mean_hdop: float
    mean_vdop: float
    no_fix_pct: float  # share of times with no position at all (too few satellites or degenerate)
    availability_pct: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def summarize(series: DopSeries, max_pdop: float, min_satellites: int) -> list[PointSummary]:
    """Per-receiver statistics; PDOP means and maxima are over the times with a position."""
    share = series.availability(max_pdop, min_satellites)
    no_fix = np.isnan(series.pdop).mean(axis=1)
    rows = []
    for p in range(len(series.receivers)):
        pdop = series.pdop[p]
        have = np.isfinite(pdop)
        rows.append(
            PointSummary(
                lat_deg=float(series.receivers.lat_deg[p]),
                lon_deg=float(series.receivers.lon_deg[p]),
                min_visible=int(series.n_visible[p].min()) if series.n_visible.shape[1] else 0,
                mean_visible=float(series.n_visible[p].mean()),
                mean_pdop=float(pdop[have].mean()) if have.any() else float("nan"),
                median_pdop=float(np.median(pdop[have])) if have.any() else float("nan"),
                max_pdop=float(pdop[have].max()) if have.any() else float("nan"),
                mean_hdop=float(np.nanmean(series.hdop[p])) if have.any() else float("nan"),
                mean_vdop=float(np.nanmean(series.vdop[p])) if have.any() else float("nan"),
                no_fix_pct=float(100.0 * no_fix[p]),
                availability_pct=float(100.0 * share[p]),
            )
        )
    return rows


#: the scenarios `compare_scenarios` runs by default: (label, systems removed from the full set)
DEFAULT_SCENARIOS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("all", ()),
    ("no QZSS", ("J",)),
    ("no NavIC", ("I",)),
    ("no QZSS/NavIC", ("J", "I")),
    ("GPS denied", ("G",)),
    ("GPS only", ("R", "E", "C", "J", "I")),
    ("GPS + QZSS", ("R", "E", "C", "I")),
)


def compare_scenarios(
    receivers: Receivers,
    satellites: GnssSatellites,
    mask: ElevationMask,
    scenarios: Sequence[tuple[str, tuple[str, ...]]] = DEFAULT_SCENARIOS,
    *,
    shared_clocks: Sequence[str] = (),
    chunk_states: int = DEFAULT_CHUNK_STATES,
) -> list[tuple[str, DopSeries]]:
    """The DOP series with some systems removed (denied, or not used), for each scenario."""
    present = set(satellites.system.tolist())
    results = []
    for label, removed in scenarios:
        kept = [s for s in present if s not in removed]
        series = evaluate_dop(
            receivers, satellites.subset(kept), mask, shared_clocks=shared_clocks, chunk_states=chunk_states
        )
        results.append((label, series))
    return results


__all__ = [
    "DEFAULT_SCENARIOS",
    "DOP_NAMES",
    "DopSeries",
    "PointSummary",
    "compare_scenarios",
    "dop_from_components",
    "dop_from_lines_of_sight",
    "evaluate_dop",
    "summarize",
]
