"""Incremental AIS events for a live feed: per-vessel sliding windows, the library's detectors re-run
on the vessels that received data, each event reported once under a stable key.

Pure state over arrays (no I/O): :class:`IncrementalEvents` takes batches of positions and answers
which events closed (final, reported once), which are still open (qualifying already: alerts may
fire on them) and which vessels went silent.

Why this gives the batch answer: every detector works on one vessel's track (gaps, loitering,
spoofing) or on pairs of vessels close together (encounters); tracks are resampled on a grid fixed
to the Unix epoch, so a window holding the whole event yields the same grid points, runs and
means as the whole store. The detectors are re-run on the vessels that received data, plus the
vessels whose last position lies within ``neighbour_km`` of theirs, plus the partners of their open
encounters, so a pair is always detected together.

An event is **closed** when no later data can change it, assuming each vessel's reports arrive in
time order: a gap or a teleport as soon as it is seen; a loitering run or an encounter once every
vessel in it has reported at least one grid step after its end (that step broke the run); a run on
land once its vessel reported after it. ``shared_mmsi`` findings and whatever is still open are
closed by :meth:`IncrementalEvents.update` with ``final=True`` (at shutdown).

Keys: ``kind|subtype|mmsi|other|start`` (``start`` left out for ``shared_mmsi``, which spans the
whole window). A restarted stream that re-detects an event reports it under the same key; a caller
keeping the keys (the live pipeline writes them to its events log) does not report it twice.

Bounds (memory is at most ``max_vessels * max_points_per_vessel * 48`` bytes of window columns):
at most ``max_vessels`` vessels (least recently heard evicted first), each holding its last
``window_s`` of positions and at most ``max_points_per_vessel`` of them (oldest dropped). The
newest position of a vessel is always kept, so a gap of any length is still seen when it ends.
An event longer than the window (or than ``max_points_per_vessel`` reports) is cut at the
window's start: its start, and so its key, differs from the batch answer. Keys already reported
are forgotten once their start leaves the window.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from kizuna.maritime.tracks import unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M
from kizuna.model.maritime import MaritimeEvent, PositionArrays

#: bytes per position held in a window: time (int64) and five float64 columns
BYTES_PER_POINT = 48
_NS = 1_000_000_000

Detector = Callable[[PositionArrays], list[MaritimeEvent]]


@dataclass(frozen=True)
class StreamLimits:
    """Memory bounds of the live state (defaults: 5,000 vessels x 1,440 points = 346 MB at most)."""

    max_vessels: int = 5_000
    window_s: float = 48 * 3600.0  # longer than the GFW events (gap 12 h, encounter 2 h) by a margin
    max_points_per_vessel: int = 1_440  # 48 h at one report per 2 min
    neighbour_km: float = 20.0  # an encounter's partner is within 500 m; 20 km covers a flush's drift

    def __post_init__(self) -> None:
        if self.max_vessels < 1 or self.max_points_per_vessel < 2:
            raise ValueError("max_vessels must be >= 1 and max_points_per_vessel >= 2")
        if not (self.window_s > 0 and np.isfinite(self.window_s)):
            raise ValueError("window_s must be a positive finite number of seconds")
        if not (self.neighbour_km >= 0 and np.isfinite(self.neighbour_km)):
            raise ValueError("neighbour_km must be a finite number >= 0")

    @property
    def max_bytes(self) -> int:
        return self.max_vessels * self.max_points_per_vessel * BYTES_PER_POINT


def _ns(t: object) -> int:
    """A datetime64 (any unit) as integer nanoseconds since the Unix epoch."""
    return int(np.asarray(t).astype("datetime64[ns]").astype(np.int64))


def event_key(e: MaritimeEvent) -> str:
    start = "" if e.subtype == "shared_mmsi" else str(np.asarray(e.start_utc).astype("datetime64[ns]"))
    return f"{e.kind}|{e.subtype or ''}|{e.mmsi}|{e.other_mmsi or ''}|{start}"


@dataclass
class _Window:
    t_ns: np.ndarray
    cols: np.ndarray  # (n, 5): lat, lon, sog, cog, heading

    def extend(self, t_ns: np.ndarray, cols: np.ndarray, limits: StreamLimits) -> None:
        t = np.concatenate([self.t_ns, t_ns])
        c = np.concatenate([self.cols, cols])
        if len(t) > 1 and np.any(np.diff(t) < 0):  # late report: keep the window in time order
            o = np.argsort(t, kind="stable")
            t, c = t[o], c[o]
        newest = t[-1]
        first = int(np.searchsorted(t, newest - int(limits.window_s * _NS), side="left"))
        first = max(first, len(t) - limits.max_points_per_vessel)
        self.t_ns, self.cols = t[first:], c[first:]

    @property
    def last_t_ns(self) -> int:
        return int(self.t_ns[-1])


@dataclass
class EventUpdate:
    closed: list[MaritimeEvent] = field(default_factory=list)  # final and not reported before
    open: list[MaritimeEvent] = field(default_factory=list)  # qualifying, may still grow


@dataclass(frozen=True)
class SilentVessel:
    """A vessel that has not reported for ``silent_s`` by the stream clock (a gap starting)."""

    mmsi: int
    last_utc: np.datetime64
    lat_deg: float
    lon_deg: float
    silent_s: float


class IncrementalEvents:
    """Sliding per-vessel windows and the events found in them (see the module docstring)."""

    def __init__(self, detector: Detector, limits: StreamLimits | None = None, *, step_s: float = 600.0):
        self.detector = detector
        self.limits = limits or StreamLimits()
        self.step_ns = int(round(step_s * _NS))
        self._windows: OrderedDict[int, _Window] = OrderedDict()
        self._touched: set[int] = set()
        self._reported: dict[str, int] = {}  # key -> start (ns), for forgetting old keys
        self._open: dict[str, MaritimeEvent] = {}
        self._silent_reported: dict[int, int] = {}  # mmsi -> last time (ns) already reported silent
        self._silence_checked: dict[int, int] = {}  # mmsi -> time up to which its steps were checked
        self._heard: set[int] = set()  # vessels that reported since the last silent()
        self.clock_ns: int | None = None  # newest report time seen
        self.evicted = 0

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return len(self._windows)

    @property
    def points(self) -> int:
        return sum(len(w.t_ns) for w in self._windows.values())

    def remember(self, keys: Iterable[str]) -> None:
        """Keys reported by an earlier run (from its events log): not reported again."""
        for k in keys:
            start = k.rsplit("|", 1)[-1]
            self._reported[k] = _ns(np.datetime64(start)) if start else 0

    def add(self, positions: PositionArrays) -> None:
        """Append a batch (any order) to the windows of its vessels; evict beyond the vessel cap."""
        if not len(positions):
            return
        t = positions.time_utc.astype(np.int64)
        cols = np.column_stack(
            [positions.lat_deg, positions.lon_deg, positions.sog_kn, positions.cog_deg, positions.heading_deg]
        )
        o = np.lexsort((t, positions.mmsi))
        m, t, cols = positions.mmsi[o], t[o], cols[o]
        bounds = np.flatnonzero(np.r_[True, m[1:] != m[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            mmsi = int(m[a])
            w = self._windows.get(mmsi)
            if w is None:
                w = self._windows[mmsi] = _Window(np.zeros(0, np.int64), np.zeros((0, 5)))
            else:
                self._windows.move_to_end(mmsi)
            w.extend(t[a:b], cols[a:b], self.limits)
            self._touched.add(mmsi)
            self._heard.add(mmsi)
        newest = int(t.max())
        self.clock_ns = newest if self.clock_ns is None else max(self.clock_ns, newest)
        while len(self._windows) > self.limits.max_vessels:
            gone, _ = self._windows.popitem(last=False)
            self._touched.discard(gone)
            self._heard.discard(gone)
            self._silent_reported.pop(gone, None)
            self._silence_checked.pop(gone, None)
            self.evicted += 1

    def positions(self, mmsis: Iterable[int] | None = None) -> PositionArrays:
        chosen = sorted(self._windows if mmsis is None else set(mmsis) & set(self._windows))
        if not chosen:
            return PositionArrays.empty()
        ws = [self._windows[k] for k in chosen]
        cols = np.concatenate([w.cols for w in ws])
        return PositionArrays(
            np.repeat(np.array(chosen, np.int64), [len(w.t_ns) for w in ws]),
            np.concatenate([w.t_ns for w in ws]).astype("datetime64[ns]"),
            cols[:, 0],
            cols[:, 1],
            cols[:, 2],
            cols[:, 3],
            cols[:, 4],
        )

    # ------------------------------------------------------------------ events
    def _candidates(self) -> set[int]:
        cand = set(self._touched)
        if cand and self.limits.neighbour_km > 0 and len(self._windows) > len(cand):
            keys = np.fromiter(self._windows, np.int64, len(self._windows))
            last = np.array([self._windows[int(k)].cols[-1, :2] for k in keys])
            xyz = unit_vectors(last[:, 0], last[:, 1]) * EARTH_MEAN_RADIUS_M
            tree = cKDTree(xyz)
            touched = np.isin(keys, np.fromiter(cand, np.int64, len(cand)))
            hits: Any = tree.query_ball_point(xyz[touched], self.limits.neighbour_km * 1000.0)
            for near in hits:
                cand.update(int(keys[h]) for h in near)
        for e in self._open.values():
            pair = {e.mmsi, e.other_mmsi}
            if pair & cand:
                cand.update(m for m in pair if m is not None and m in self._windows)
        return cand

    def _is_closed(self, e: MaritimeEvent) -> bool:
        if e.kind == "gap" or e.subtype in ("teleport", "impossible_speed"):
            return True
        if e.subtype == "shared_mmsi":
            return False
        end = _ns(e.end_utc)
        after = end + (self.step_ns if e.kind in ("encounter", "loitering") else 1)
        for m in (e.mmsi, e.other_mmsi):
            if m is None:
                continue
            w = self._windows.get(m)
            if w is not None and w.last_t_ns < after:
                return False
        return True

    def update(self, *, final: bool = False) -> EventUpdate:
        """Re-run the detector on the vessels that received data since the last update (all vessels
        when ``final``); closed events not reported before, and the open ones."""
        cand = set(self._windows) if final else self._candidates()
        self._touched.clear()
        out = EventUpdate()
        if not cand:
            return out
        found = self.detector(self.positions(cand))
        for e in found:
            key = event_key(e)
            if final or self._is_closed(e):
                self._open.pop(key, None)
                if key not in self._reported:
                    self._reported[key] = _ns(e.start_utc)
                    out.closed.append(e)
            elif key not in self._reported:
                if key not in self._open:
                    out.open.append(e)
                self._open[key] = e
        self._forget()
        return out

    def _forget(self) -> None:
        """Drop keys whose start left every window (they cannot be found again) and open events
        of evicted vessels."""
        if self.clock_ns is None:
            return
        horizon = self.clock_ns - int(self.limits.window_s * _NS) - self.step_ns
        for k in [k for k, start in self._reported.items() if start and start < horizon]:
            del self._reported[k]
        for k in [k for k, e in self._open.items() if e.mmsi not in self._windows]:
            del self._open[k]

    # ------------------------------------------------------------------ silence
    def silent(self, min_silent_s: float) -> list[SilentVessel]:
        """Vessels silent for at least ``min_silent_s`` by the stream clock, each reported once per
        silence (a vessel that reports again and falls silent again is reported again), and silences
        that already ended since the last call (reported late rather than never)."""
        if self.clock_ns is None:
            return []
        limit = self.clock_ns - int(min_silent_s * _NS)
        out = []
        # Silences that began and ended between two calls (a replay, a slow flush): found late, in
        # the windows of the vessels that reported since, and still reported once.
        for mmsi in self._heard & set(self._windows):
            w = self._windows[mmsi]
            steps = np.diff(w.t_ns)
            checked = self._silence_checked.get(mmsi, np.iinfo(np.int64).min)
            for k in np.flatnonzero((steps >= int(min_silent_s * _NS)) & (w.t_ns[:-1] >= checked)):
                last = int(w.t_ns[k])
                if self._silent_reported.get(mmsi, -1) < last:
                    self._silent_reported[mmsi] = last
                    out.append(
                        SilentVessel(
                            mmsi,
                            np.datetime64(last, "ns"),
                            float(w.cols[k, 0]),
                            float(w.cols[k, 1]),
                            float(steps[k]) / _NS,
                        )
                    )
            self._silence_checked[mmsi] = w.last_t_ns
        self._heard.clear()
        for mmsi, w in self._windows.items():
            last = w.last_t_ns
            if last <= limit and self._silent_reported.get(mmsi) != last:
                self._silent_reported[mmsi] = last
                out.append(
                    SilentVessel(
                        mmsi,
                        np.datetime64(last, "ns"),
                        float(w.cols[-1, 0]),
                        float(w.cols[-1, 1]),
                        (self.clock_ns - last) / _NS,
                    )
                )
        return out


def detector_for(
    types: Sequence[str], *, shore: object = None, step_s: float = 600.0, **kwargs: object
) -> Detector:
    """The batch pipeline of ``kizuna ais events`` (clean, then detect) as a window detector."""
    from kizuna.maritime.events import detect_events
    from kizuna.maritime.tracks import clean_tracks

    def detect(positions: PositionArrays) -> list[MaritimeEvent]:
        return detect_events(clean_tracks(positions), types, shore=shore, step_s=step_s, **kwargs)  # type: ignore[arg-type]

    return detect
