"""AIS events with Global Fishing Watch (GFW) definitions as default parameters.

Definitions (each event carries its own in ``MaritimeEvent.definition``):

- **Gap** (AIS disabling): no position for >= 12 h while >= 50 nm from shore at both ends of the
  gap (Welch et al. 2022, "Hot spots of unseen fishing vessels", Science Advances 8:eabq2109).
- **Encounter**: two vessels within 500 m for >= 2 h at a median speed < 2 kn, >= 10 km from a
  coastal anchorage (Miller et al. 2018, "Identifying global patterns of transshipment behavior",
  Frontiers in Marine Science 5:240; GFW encounters data set).
- **Loitering**: one vessel at an average speed < 2 kn for >= 1 h while on average >= 20 nm from
  shore (GFW carrier loitering events; GFW technical documentation, "Loitering":
  ``avg_distance_from_shore_nm >= 20``).
- **Spoofing / identity**: :mod:`kizuna.maritime.spoofing` (positions on land, teleports,
  impossible SOG, shared MMSIs, circle spoofing, many vessels jumping to one point; (0, 0) runs as
  bad positions), each with the affected area as a polygon.

Shore conditions use, by default, the bundled-by-dependency GLOBE 30" land mask
(:class:`kizuna.maritime.shore.GlobalLandMask`, package ``global-land-mask``; nothing is
downloaded). Callers may pass any object with ``is_land`` and ``distance_to_shore_m`` (such as
:class:`LandMask`), or ``shore=None`` to switch the conditions off; every event states which.
Encounters and loitering are found on tracks resampled to a 10-minute grid, as GFW does, so
start and end times have that resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from kizuna.maritime.tracks import Resampled, Tracks, haversine_m, resample, unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, METERS_PER_NM
from kizuna.model.maritime import MaritimeEvent


@dataclass(frozen=True)
class LandMask:
    """A caller-supplied land/sea grid on regular lat/lon cells (True = land).

    ``lat0_deg``/``lon0_deg`` are the centre of cell [0, 0]; rows go north with ``step_deg``.
    Distance to shore uses a Euclidean distance transform on the grid with the east-west cell size
    taken at the grid's mid latitude, so it is accurate to about one cell.
    """

    land: np.ndarray
    lat0_deg: float
    lon0_deg: float
    step_deg: float

    def _index(self, lat_deg, lon_deg):
        r = np.rint((np.asarray(lat_deg) - self.lat0_deg) / self.step_deg).astype(np.int64)
        c = np.rint((np.asarray(lon_deg) - self.lon0_deg) / self.step_deg).astype(np.int64)
        inside = (r >= 0) & (r < self.land.shape[0]) & (c >= 0) & (c < self.land.shape[1])
        return np.clip(r, 0, self.land.shape[0] - 1), np.clip(c, 0, self.land.shape[1] - 1), inside

    def is_land(self, lat_deg, lon_deg) -> np.ndarray:
        r, c, inside = self._index(lat_deg, lon_deg)
        return self.land[r, c] & inside

    def distance_to_shore_m(self, lat_deg, lon_deg) -> np.ndarray:
        """Distance from a sea point to the nearest land cell (0 on land; inf outside the grid)."""
        mid = self.lat0_deg + self.step_deg * self.land.shape[0] / 2
        dy = self.step_deg * np.pi / 180 * EARTH_MEAN_RADIUS_M
        dx = dy * np.cos(np.radians(mid))
        dist = (
            ndimage.distance_transform_edt(~self.land, sampling=(dy, dx))
            if self.land.any()
            else np.full(self.land.shape, np.inf)
        )
        r, c, inside = self._index(lat_deg, lon_deg)
        return np.where(inside, dist[r, c], np.inf)


class ShoreModel(Protocol):
    """What the detectors need from a land/shore model (arrays of degrees in, arrays out)."""

    def is_land(self, lat_deg, lon_deg) -> np.ndarray: ...

    def distance_to_shore_m(self, lat_deg, lon_deg) -> np.ndarray: ...


ShoreArg = ShoreModel | Literal["default"] | None


def resolve_shore(shore: ShoreArg) -> ShoreModel | None:
    """``"default"`` -> the GLOBE mask model; ``None`` -> no shore conditions; else the caller's model."""
    if isinstance(shore, str):
        if shore != "default":
            raise ValueError(f"shore must be a model, 'default' or None, not {shore!r}")
        from kizuna.maritime.shore import default_shore

        return default_shore()
    return shore


def _describe(shore: ShoreModel) -> str:
    return str(getattr(shore, "description", "caller-supplied land mask"))


def _shore_note(shore: ShoreModel | None) -> str:
    if shore is None:
        return " [distance-from-shore condition NOT applied: shore model disabled]"
    return f" [shore condition applied: {_describe(shore)}]"


def _check_cap(shore: ShoreModel | None, threshold_m: float) -> None:
    cap = getattr(shore, "max_distance_m", np.inf)
    if threshold_m > cap:
        raise ValueError(
            f"shore threshold {threshold_m / 1000:g} km exceeds the shore model's distance cap "
            f"{cap / 1000:g} km; build the model with a larger max_distance_km"
        )


def _runs(flag: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (inclusive) indices of runs of True within equal values of ``group``."""
    f = flag.astype(bool)
    prev = np.r_[False, f[:-1] & (group[1:] == group[:-1])]
    nxt = np.r_[f[1:] & (group[1:] == group[:-1]), False]
    return np.flatnonzero(f & ~prev), np.flatnonzero(f & ~nxt)


def detect_gaps(
    tracks: Tracks,
    *,
    min_gap_s: float = 12 * 3600.0,
    min_shore_distance_nm: float = 50.0,
    shore: ShoreArg = "default",
) -> list[MaritimeEvent]:
    shore = resolve_shore(shore)
    _check_cap(shore, min_shore_distance_nm * METERS_PER_NM)
    definition = (
        f"GFW AIS gap: no position for >= {min_gap_s / 3600:g} h while >= "
        f"{min_shore_distance_nm:g} nm from shore at both ends (Welch et al. 2022)" + _shore_note(shore)
    )
    p = tracks.positions
    if len(p) < 2:
        return []
    same = tracks.vessel[1:] == tracks.vessel[:-1]
    dt_s = np.diff(p.time_utc).astype("int64") / 1e9
    idx = np.flatnonzero(same & (dt_s >= min_gap_s))
    if shore is not None and len(idx):
        d0 = shore.distance_to_shore_m(p.lat_deg[idx], p.lon_deg[idx])
        d1 = shore.distance_to_shore_m(p.lat_deg[idx + 1], p.lon_deg[idx + 1])
        idx = idx[
            (d0 >= min_shore_distance_nm * METERS_PER_NM) & (d1 >= min_shore_distance_nm * METERS_PER_NM)
        ]
    out = []
    for i in idx:
        gap_km = float(haversine_m(p.lat_deg[i], p.lon_deg[i], p.lat_deg[i + 1], p.lon_deg[i + 1])) / 1000
        out.append(
            MaritimeEvent(
                "gap",
                int(p.mmsi[i]),
                p.time_utc[i],
                p.time_utc[i + 1],
                float(p.lat_deg[i]),
                float(p.lon_deg[i]),
                details={
                    "gap_s": float(dt_s[i]),
                    "gap_distance_km": round(gap_km, 3),
                    "end_lat_deg": float(p.lat_deg[i + 1]),
                    "end_lon_deg": float(p.lon_deg[i + 1]),
                },
                definition=definition,
            )
        )
    return out


def detect_encounters(
    tracks: Tracks,
    *,
    max_distance_m: float = 500.0,
    min_duration_s: float = 2 * 3600.0,
    max_median_speed_kn: float = 2.0,
    min_anchorage_distance_m: float = 10_000.0,
    anchorages: Sequence[tuple[float, float]] | None = None,
    step_s: float = 600.0,
    resampled: Resampled | None = None,
) -> list[MaritimeEvent]:
    """Pairs of vessels (different MMSIs) within ``max_distance_m`` on consecutive grid times.

    A KD-tree on 3-D positions per grid time finds the close pairs; runs of consecutive grid
    times per pair become candidate encounters, kept when long and slow enough and away from
    every anchorage (``anchorages`` as (lat, lon) points; none given means none excluded).
    """
    definition = (
        f"GFW encounter: two vessels within {max_distance_m:g} m for >= {min_duration_s / 3600:g} h at "
        f"median speed < {max_median_speed_kn:g} kn, >= {min_anchorage_distance_m / 1000:g} km from an "
        f"anchorage (Miller et al. 2018); {step_s / 60:g}-min resampled tracks"
        + ("" if anchorages else " [no anchorage list given: none excluded]")
    )
    r = resampled if resampled is not None else resample(tracks, step_s)
    if len(r.time_utc) < 2:
        return []
    xyz = unit_vectors(r.lat_deg, r.lon_deg) * EARTH_MEAN_RADIUS_M
    chord = 2 * EARTH_MEAN_RADIUS_M * np.sin(max_distance_m / (2 * EARTH_MEAN_RADIUS_M))
    t_ns = r.time_utc.astype("int64")
    order = np.argsort(t_ns, kind="stable")
    ts = t_ns[order]
    bounds = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1], True])
    pa: list[np.ndarray] = []
    pb: list[np.ndarray] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b - a < 2:
            continue
        rows = order[a:b]
        pairs = cKDTree(xyz[rows]).query_pairs(chord, output_type="ndarray")
        if len(pairs):
            pa.append(rows[pairs[:, 0]])
            pb.append(rows[pairs[:, 1]])
    if not pa:
        return []
    i = np.concatenate(pa)
    j = np.concatenate(pb)
    vi, vj = r.vessel[i], r.vessel[j]
    swap = vi > vj
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    mm = tracks.vessel_mmsi
    keep = mm[r.vessel[i]] != mm[r.vessel[j]]
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return []
    step_ns = int(round(r.step_s * 1e9))
    gidx = t_ns[i] // step_ns
    pair_key = r.vessel[i] * (int(r.vessel.max()) + 1) + r.vessel[j]
    o = np.lexsort((gidx, pair_key))
    i, j, gidx, pair_key = i[o], j[o], gidx[o], pair_key[o]
    brk = np.r_[True, (pair_key[1:] != pair_key[:-1]) | (np.diff(gidx) != 1)]

    starts = np.flatnonzero(brk)
    ends = np.r_[starts[1:], len(i)] - 1
    dur_s = (gidx[ends] - gidx[starts]) * r.step_s
    out: list[MaritimeEvent] = []
    anc = np.asarray(anchorages, dtype=float).reshape(-1, 2) if anchorages else np.zeros((0, 2))
    for k in np.flatnonzero(dur_s >= min_duration_s):
        sl = slice(starts[k], ends[k] + 1)
        speeds = np.r_[r.speed_kn[i[sl]], r.speed_kn[j[sl]]]
        med = float(np.nanmedian(speeds)) if np.isfinite(speeds).any() else np.nan
        if not med < max_median_speed_kn:
            continue
        lat = float(np.mean(np.r_[r.lat_deg[i[sl]], r.lat_deg[j[sl]]]))
        lon = float(
            np.degrees(
                np.arctan2(
                    np.mean(np.sin(np.radians(r.lon_deg[i[sl]]))),
                    np.mean(np.cos(np.radians(r.lon_deg[i[sl]]))),
                )
            )
        )
        if len(anc) and haversine_m(anc[:, 0], anc[:, 1], lat, lon).min() < min_anchorage_distance_m:
            continue
        dist = haversine_m(r.lat_deg[i[sl]], r.lon_deg[i[sl]], r.lat_deg[j[sl]], r.lon_deg[j[sl]])
        a_m, b_m = int(mm[r.vessel[i[starts[k]]]]), int(mm[r.vessel[j[starts[k]]]])
        out.append(
            MaritimeEvent(
                "encounter",
                a_m,
                r.time_utc[i[starts[k]]],
                r.time_utc[i[ends[k]]],
                lat,
                lon,
                other_mmsi=b_m,
                details={
                    "duration_s": float(dur_s[k]),
                    "median_speed_kn": round(med, 3),
                    "median_distance_m": round(float(np.median(dist)), 1),
                    "min_distance_m": round(float(dist.min()), 1),
                },
                definition=definition,
            )
        )
    return out


def detect_loitering(
    tracks: Tracks,
    *,
    max_speed_kn: float = 2.0,
    min_duration_s: float = 3600.0,
    min_shore_distance_nm: float = 20.0,
    shore: ShoreArg = "default",
    step_s: float = 600.0,
    resampled: Resampled | None = None,
) -> list[MaritimeEvent]:
    """Slow runs on the resampled grid, kept when long enough and, as GFW filters its published
    loitering events, when their *mean* distance from shore reaches the threshold (distances
    beyond the model's cap count as the cap, so the mean is a lower bound)."""
    shore = resolve_shore(shore)
    min_shore_m = min_shore_distance_nm * METERS_PER_NM
    _check_cap(shore, min_shore_m)
    definition = (
        f"GFW loitering: one vessel at average speed < {max_speed_kn:g} kn for >= "
        f"{min_duration_s / 3600:g} h while on average >= {min_shore_distance_nm:g} nm from shore; "
        f"{step_s / 60:g}-min resampled tracks" + _shore_note(shore)
    )
    r = resampled if resampled is not None else resample(tracks, step_s)
    if len(r.time_utc) == 0:
        return []
    s, e = _runs(r.speed_kn < max_speed_kn, r.segment)
    dur = (r.time_utc[e] - r.time_utc[s]).astype("int64") / 1e9
    long_ = dur >= min_duration_s
    s, e, dur = s[long_], e[long_], dur[long_]
    mean_shore_m = np.full(len(s), np.nan)
    if shore is not None and len(s):
        run = np.repeat(np.arange(len(s)), e - s + 1)
        rows = np.concatenate([np.arange(a, b + 1) for a, b in zip(s, e, strict=True)])
        d = shore.distance_to_shore_m(r.lat_deg[rows], r.lon_deg[rows])
        d = np.minimum(d, getattr(shore, "max_distance_m", np.inf))
        mean_shore_m = np.bincount(run, weights=d, minlength=len(s)) / (e - s + 1)
    out = []
    for a, b, d, shore_m in zip(s, e, dur, mean_shore_m, strict=True):
        if shore is not None and not shore_m >= min_shore_m:
            continue
        sl = slice(a, b + 1)
        out.append(
            MaritimeEvent(
                "loitering",
                int(tracks.vessel_mmsi[r.vessel[a]]),
                r.time_utc[a],
                r.time_utc[b],
                float(np.mean(r.lat_deg[sl])),
                float(np.mean(r.lon_deg[sl])),
                details={
                    "duration_s": float(d),
                    "mean_speed_kn": round(float(np.nanmean(r.speed_kn[sl])), 3),
                    "mean_shore_distance_km": None if shore is None else round(float(shore_m) / 1000, 3),
                },
                definition=definition,
            )
        )
    return out


def __getattr__(name: str) -> object:
    # detect_spoofing lives in kizuna.maritime.spoofing (which builds on this module's shore helpers);
    # resolved lazily so that `from kizuna.maritime.events import detect_spoofing` keeps working
    if name == "detect_spoofing":
        from kizuna.maritime.spoofing import detect_spoofing

        return detect_spoofing
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


EVENT_TYPES = ("gap", "encounter", "loitering", "spoofing")


def detect_events(
    tracks: Tracks,
    types: Sequence[str] = EVENT_TYPES,
    *,
    shore: ShoreArg = "default",
    anchorages: Sequence[tuple[float, float]] | None = None,
    step_s: float = 600.0,
) -> list[MaritimeEvent]:
    """All requested event types with GFW default parameters, sorted by start time.

    ``shore``: ``"default"`` (GLOBE land mask), a caller's model, or ``None`` (no shore conditions).
    """
    unknown = set(types) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event type(s) {sorted(unknown)}; choose from {EVENT_TYPES}")
    if {"gap", "loitering", "spoofing"} & set(types):
        shore = resolve_shore(shore)
    r = resample(tracks, step_s) if {"encounter", "loitering"} & set(types) else None
    out: list[MaritimeEvent] = []
    if "gap" in types:
        out += detect_gaps(tracks, shore=shore)
    if "encounter" in types:
        out += detect_encounters(tracks, anchorages=anchorages, step_s=step_s, resampled=r)
    if "loitering" in types:
        out += detect_loitering(tracks, shore=shore, step_s=step_s, resampled=r)
    if "spoofing" in types:
        from kizuna.maritime.spoofing import detect_spoofing

        out += detect_spoofing(tracks, shore=shore)
    out.sort(key=lambda e: (e.start_utc, e.kind, e.mmsi))
    return out


def event_dict(e: MaritimeEvent) -> dict[str, object]:
    """Plain JSON-ready form (times ISO-8601 Z)."""
    from kizuna.orbit.timescale import iso_utc

    start, end = iso_utc(np.array([e.start_utc, e.end_utc]))
    return {
        "type": e.kind,
        "subtype": e.subtype,
        "mmsi": e.mmsi,
        "other_mmsi": e.other_mmsi,
        "start_utc": start,
        "end_utc": end,
        "duration_s": e.duration_s,
        "lat_deg": round(e.lat_deg, 6),
        "lon_deg": round(e.lon_deg, 6),
        "details": e.details,
        "definition": e.definition,
    }
