"""AIS events with Global Fishing Watch (GFW) definitions as default parameters.

Definitions (each event carries its own, with every parameter, in ``MaritimeEvent.definition``):

- **Gap** (AIS disabling, Welch et al. 2022, "Hot spots of unseen fishing vessels", Science
  Advances 8:eabq2109): no position for >= 12 h, the vessel >= 50 nm from shore where the gap
  *starts*, and at least 14 positions in the 12 h before it (so that the silence is a change, not
  a vessel that is always poorly received). GFW also drops gaps where satellite reception is poor;
  Kizuna has no reception-quality map, so that filter is not applied and every gap says so.
  Options: ``require_end_offshore`` (both ends offshore, Kizuna's earlier rule),
  ``min_positions_before=0`` (no density rule).
- **Encounter** (Miller et al. 2018, "Identifying global patterns of transshipment behavior",
  Frontiers in Marine Science 5:240; GFW encounters data set): two vessels within 500 m for >= 2 h
  at a median speed < 2 kn, >= 10 km from every port or anchorage point (the bundled World Port
  Index by default, see :mod:`kizuna.maritime.ports`). Option ``pairs``: keep only given vessel-class
  pairs (e.g. carrier-fishing, the transshipment GFW studies; tanker-tanker for ship-to-ship transfers).
- **Loitering** (GFW technical documentation, "Loitering"): a *carrier* vessel whose speed,
  averaged over each clock hour, stays < 2 kn for >= 1 h, on average >= 20 nm from shore. Options:
  ``classes`` (other vessel classes, or ``None`` for all), ``hourly=False`` (every 10-min point,
  Kizuna's earlier rule). Kizuna also drops loitering within 10 km of a port or anchorage point
  (the encounter rule; GFW's 20 nm shore rule removes nearly all of them already); ``0`` disables.
- **Port visit**: see :mod:`kizuna.maritime.ports` (entry 3 km, exit 4 km, stop < 0.2 kn).
- **Spoofing / identity**: :mod:`kizuna.maritime.spoofing` (positions on land, teleports,
  impossible SOG, shared MMSIs, circle spoofing, many vessels jumping to one point; (0, 0) runs as
  bad positions), each with the affected area as a polygon.

Vessel classes come from AIS static data (:func:`vessel_class`): AIS ship type 30 is fishing,
80-89 tanker, 70-79 *carrier* (AIS has no code for a refrigerated cargo vessel, GFW's carrier, so
every cargo ship is a carrier candidate), 60-69 passenger, 31/32/52 tug; others ``other``;
vessels with no static data ``unknown``. A caller's own mapping (from a registry) can replace it.

Shore conditions use, by default, the bundled-by-dependency GLOBE 30" land mask
(:class:`kizuna.maritime.shore.GlobalLandMask`, package ``global-land-mask``; nothing is
downloaded). Callers may pass any object with ``is_land`` and ``distance_to_shore_m`` (such as
:class:`LandMask`), or ``shore=None`` to switch the conditions off; every event states which.
Encounters and loitering are found on tracks resampled to a 10-minute grid, as GFW does, so
start and end times have that resolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from kizuna.formats.ports import Port
from kizuna.maritime.ports import PortIndex, as_index, load_ports, port_visits
from kizuna.maritime.tracks import Resampled, Tracks, haversine_m, resample, unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, METERS_PER_NM
from kizuna.model.maritime import MaritimeEvent, VesselStatic


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


PortsArg = PortIndex | Sequence[Port] | Literal["default"] | None

#: AIS ship type (ITU-R M.1371-5 table 53) -> vessel class used by the GFW-style filters
CLASSES = ("carrier", "fishing", "tanker", "passenger", "tug", "other", "unknown")
DEFAULT_LOITERING_CLASSES = ("carrier",)
#: reception-quality caveat every gap carries
RECEPTION_CAVEAT = (
    "reception-quality filter NOT applied (GFW drops gaps where satellite AIS reception is poor; "
    "a gap there may be reception, not disabling)"
)


def vessel_class(ship_type: int | None) -> str:
    """GFW-style vessel class from an AIS ship type (see the module docstring for the mapping)."""
    if ship_type is None:
        return "unknown"
    t = int(ship_type)
    if t == 30:
        return "fishing"
    if 70 <= t <= 79:
        return "carrier"
    if 80 <= t <= 89:
        return "tanker"
    if 60 <= t <= 69:
        return "passenger"
    if t in (31, 32, 52):
        return "tug"
    return "other"


def vessel_classes(statics: Mapping[int, VesselStatic]) -> dict[int, str]:
    """MMSI -> class from the latest static report of each vessel."""
    return {int(m): vessel_class(s.ship_type) for m, s in statics.items()}


def resolve_ports(ports: PortsArg, anchorages: Sequence[tuple[float, float]] | None = None) -> PortIndex:
    """``"default"`` -> the bundled World Port Index; ``None`` -> none; plus (lat, lon) anchorages."""
    base: list[Port] = []
    if isinstance(ports, str):
        if ports != "default":
            raise ValueError(f"ports must be a list, 'default' or None, not {ports!r}")
        base = load_ports()
    elif isinstance(ports, PortIndex):
        if not anchorages:
            return ports
        base = list(ports.ports)
    elif ports is not None:
        base = list(ports)
    extra = [
        Port(f"anchorage:{k}", f"anchorage {k}", float(lat), float(lon), kind="anchorage", source="caller")
        for k, (lat, lon) in enumerate(anchorages or [])
    ]
    return as_index(base + extra)


def _ports_note(index: PortIndex, distance_m: float) -> str:
    if distance_m <= 0:
        return "; port/anchorage exclusion disabled"
    if len(index) == 0:
        return f"; >= {distance_m / 1000:g} km from a port/anchorage [no port/anchorage points given: none excluded]"
    return f"; >= {distance_m / 1000:g} km from all of {len(index)} port/anchorage points"


def _class_of(classes_by_mmsi: Mapping[int, str] | None, mmsi: int) -> str:
    if classes_by_mmsi is None:
        return "unknown"
    return classes_by_mmsi.get(int(mmsi), "unknown")


def detect_gaps(
    tracks: Tracks,
    *,
    min_gap_s: float = 12 * 3600.0,
    min_shore_distance_nm: float = 50.0,
    shore: ShoreArg = "default",
    min_positions_before: int = 14,
    positions_window_s: float = 12 * 3600.0,
    require_end_offshore: bool = False,
) -> list[MaritimeEvent]:
    """AIS gaps with GFW's rules (module docstring); the departures are the keyword options."""
    shore = resolve_shore(shore)
    _check_cap(shore, min_shore_distance_nm * METERS_PER_NM)
    ends = "both ends" if require_end_offshore else "the start (GFW)"
    density = (
        f"at least {min_positions_before} positions in the {positions_window_s / 3600:g} h before"
        if min_positions_before > 0
        else "no positions-before rule [departure from GFW: 14 in 12 h]"
    )
    definition = (
        f"GFW AIS gap: no position for >= {min_gap_s / 3600:g} h; >= {min_shore_distance_nm:g} nm from "
        f"shore at {ends}; {density} (Welch et al. 2022); {RECEPTION_CAVEAT}" + _shore_note(shore)
    )
    p = tracks.positions
    if len(p) < 2:
        return []
    same = tracks.vessel[1:] == tracks.vessel[:-1]
    t_ns = p.time_utc.astype("int64")
    dt_s = np.diff(t_ns) / 1e9
    idx = np.flatnonzero(same & (dt_s >= min_gap_s))
    if min_positions_before > 0 and len(idx):
        # positions of the same vessel in (start - window, start]; rows are sorted by (vessel, time)
        vstart = np.flatnonzero(np.r_[True, tracks.vessel[1:] != tracks.vessel[:-1]])
        first = vstart[np.searchsorted(vstart, idx, "right") - 1]
        window_ns = int(round(positions_window_s * 1e9))
        lo = np.array(
            [
                f + np.searchsorted(t_ns[f : i + 1], t_ns[i] - window_ns, "right")
                for f, i in zip(first, idx, strict=True)
            ],
            dtype=np.int64,
        )
        idx = idx[idx - lo + 1 >= min_positions_before]
    if shore is not None and len(idx):
        d0 = shore.distance_to_shore_m(p.lat_deg[idx], p.lon_deg[idx])
        ok = d0 >= min_shore_distance_nm * METERS_PER_NM
        if require_end_offshore:
            d1 = shore.distance_to_shore_m(p.lat_deg[idx + 1], p.lon_deg[idx + 1])
            ok &= d1 >= min_shore_distance_nm * METERS_PER_NM
        idx = idx[ok]
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
                    "min_gap_h": min_gap_s / 3600,
                    "min_shore_distance_nm": min_shore_distance_nm,
                    "min_positions_before": min_positions_before,
                    "positions_window_h": positions_window_s / 3600,
                    "end_offshore_required": require_end_offshore,
                    "reception_filter": "not applied",
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
    ports: PortsArg = "default",
    pairs: Sequence[tuple[str, str]] | None = None,
    classes_by_mmsi: Mapping[int, str] | None = None,
) -> list[MaritimeEvent]:
    """Pairs of vessels (different MMSIs) within ``max_distance_m`` on consecutive grid times.

    A KD-tree on 3-D positions per grid time finds the close pairs; runs of consecutive grid
    times per pair become candidate encounters, kept when long and slow enough and at least
    ``min_anchorage_distance_m`` from every port/anchorage point (``ports``: the bundled World
    Port Index by default, a list or :class:`PortIndex`, or None; ``anchorages``: extra (lat, lon)
    points). ``pairs`` keeps only encounters whose two vessel classes (``classes_by_mmsi``, else
    ``unknown``) form one of the given unordered pairs.
    """
    index = resolve_ports(ports, anchorages)
    pair_set = {frozenset(pr) for pr in pairs} if pairs else None
    pair_note = (
        "; vessel classes " + ", ".join(sorted("-".join(sorted(pr)) for pr in pair_set))
        if pair_set
        else "; any vessel classes"
    )
    definition = (
        f"GFW encounter: two vessels within {max_distance_m:g} m for >= {min_duration_s / 3600:g} h at "
        f"median speed < {max_median_speed_kn:g} kn (Miller et al. 2018)"
        + _ports_note(index, min_anchorage_distance_m)
        + pair_note
        + f"; {step_s / 60:g}-min resampled tracks"
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
        close = cKDTree(xyz[rows]).query_pairs(chord, output_type="ndarray")
        if len(close):
            pa.append(rows[close[:, 0]])
            pb.append(rows[close[:, 1]])
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
        a_m, b_m = int(mm[r.vessel[i[starts[k]]]]), int(mm[r.vessel[j[starts[k]]]])
        ca, cb = _class_of(classes_by_mmsi, a_m), _class_of(classes_by_mmsi, b_m)
        if pair_set is not None and frozenset((ca, cb)) not in pair_set:
            continue
        port_d, port_k = index.nearest(lat, lon)
        if min_anchorage_distance_m > 0 and port_d[0] < min_anchorage_distance_m:
            continue
        dist = haversine_m(r.lat_deg[i[sl]], r.lon_deg[i[sl]], r.lat_deg[j[sl]], r.lon_deg[j[sl]])
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
                    "vessel_class": ca,
                    "other_vessel_class": cb,
                    "nearest_port": index.ports[int(port_k[0])].name if len(index) else None,
                    "nearest_port_km": round(float(port_d[0]) / 1000, 3) if len(index) else None,
                    "max_distance_m": max_distance_m,
                    "min_duration_h": min_duration_s / 3600,
                    "max_median_speed_kn": max_median_speed_kn,
                    "min_port_distance_km": min_anchorage_distance_m / 1000,
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
    hourly: bool = True,
    classes: Sequence[str] | None = DEFAULT_LOITERING_CLASSES,
    classes_by_mmsi: Mapping[int, str] | None = None,
    ports: PortsArg = "default",
    min_port_distance_m: float = 10_000.0,
) -> list[MaritimeEvent]:
    """Slow runs, kept when long enough and, as GFW filters its published loitering events, when
    their *mean* distance from shore reaches the threshold (distances beyond the model's cap count
    as the cap, so the mean is a lower bound).

    ``hourly`` (GFW): speeds on the resampled grid are averaged per clock hour and a run is a
    sequence of slow hours (start at the first grid time of the first slow hour, end one hour
    after the last one starts); ``hourly=False`` tests every grid point. ``classes``: vessel
    classes kept (``None``: all); the class condition applies only when ``classes_by_mmsi`` is
    given (vessels missing from it are ``unknown``), and the definition says when it was not.
    """
    shore = resolve_shore(shore)
    min_shore_m = min_shore_distance_nm * METERS_PER_NM
    _check_cap(shore, min_shore_m)
    index = resolve_ports(ports)
    if classes is None:
        class_note = "; any vessel class"
    elif classes_by_mmsi is None:
        class_note = f"; vessel class condition ({'/'.join(classes)}) NOT applied: no vessel classes given"
    else:
        class_note = f"; vessel class {'/'.join(classes)}" + (
            "" if tuple(classes) == DEFAULT_LOITERING_CLASSES else " [departure from GFW: carriers]"
        )
    speed_note = (
        "speed averaged per clock hour (GFW)"
        if hourly
        else f"speed tested at every {step_s / 60:g}-min point [departure from GFW: hourly averages]"
    )
    definition = (
        f"GFW loitering: one vessel at average speed < {max_speed_kn:g} kn for >= "
        f"{min_duration_s / 3600:g} h while on average >= {min_shore_distance_nm:g} nm from shore; "
        f"{speed_note}{class_note}"
        + _ports_note(index, min_port_distance_m)
        + f"; {step_s / 60:g}-min resampled tracks"
        + _shore_note(shore)
    )
    r = resampled if resampled is not None else resample(tracks, step_s)
    if len(r.time_utc) == 0:
        return []
    step_ns = int(round(r.step_s * 1e9))
    if hourly:
        hour = r.time_utc.astype("int64") // 3_600_000_000_000
        block = np.r_[0, np.cumsum((hour[1:] != hour[:-1]) | (r.segment[1:] != r.segment[:-1]))]
        sp = np.where(np.isfinite(r.speed_kn), r.speed_kn, 0.0)
        n_ok = np.bincount(block, weights=np.isfinite(r.speed_kn).astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_hour = np.bincount(block, weights=sp) / n_ok
        slow = mean_hour[block] < max_speed_kn
    else:
        slow = r.speed_kn < max_speed_kn
    s, e = _runs(slow, r.segment)
    end_ns = r.time_utc[e].astype("int64")
    if hourly:  # the end of the last slow hour, but not past the segment's last grid time + one step
        end_ns = np.minimum((end_ns // 3_600_000_000_000 + 1) * 3_600_000_000_000, end_ns + step_ns)
    dur = (end_ns - r.time_utc[s].astype("int64")) / 1e9
    long_ = dur >= min_duration_s
    s, e, dur, end_ns = s[long_], e[long_], dur[long_], end_ns[long_]
    mean_shore_m = np.full(len(s), np.nan)
    if shore is not None and len(s):
        run = np.repeat(np.arange(len(s)), e - s + 1)
        rows = np.concatenate([np.arange(a, b + 1) for a, b in zip(s, e, strict=True)])
        d = shore.distance_to_shore_m(r.lat_deg[rows], r.lon_deg[rows])
        d = np.minimum(d, getattr(shore, "max_distance_m", np.inf))
        mean_shore_m = np.bincount(run, weights=d, minlength=len(s)) / (e - s + 1)
    wanted = set(classes) if classes is not None else None
    out = []
    for a, b, d, t_end, shore_m in zip(s, e, dur, end_ns, mean_shore_m, strict=True):
        if shore is not None and not shore_m >= min_shore_m:
            continue
        mmsi = int(tracks.vessel_mmsi[r.vessel[a]])
        cls = _class_of(classes_by_mmsi, mmsi)
        if wanted is not None and classes_by_mmsi is not None and cls not in wanted:
            continue
        sl = slice(a, b + 1)
        lat = float(np.mean(r.lat_deg[sl]))
        lon = float(
            np.degrees(
                np.arctan2(
                    np.mean(np.sin(np.radians(r.lon_deg[sl]))), np.mean(np.cos(np.radians(r.lon_deg[sl])))
                )
            )
        )
        port_d, port_k = index.nearest(lat, lon)
        if min_port_distance_m > 0 and port_d[0] < min_port_distance_m:
            continue
        out.append(
            MaritimeEvent(
                "loitering",
                mmsi,
                r.time_utc[a],
                np.datetime64(int(t_end), "ns"),
                lat,
                lon,
                details={
                    "duration_s": float(d),
                    "mean_speed_kn": round(float(np.nanmean(r.speed_kn[sl])), 3),
                    "mean_shore_distance_km": None if shore is None else round(float(shore_m) / 1000, 3),
                    "vessel_class": cls,
                    "nearest_port": index.ports[int(port_k[0])].name if len(index) else None,
                    "nearest_port_km": round(float(port_d[0]) / 1000, 3) if len(index) else None,
                    "max_speed_kn": max_speed_kn,
                    "min_duration_h": min_duration_s / 3600,
                    "min_shore_distance_nm": min_shore_distance_nm,
                    "speed_average": "hourly" if hourly else "per point",
                    "min_port_distance_km": min_port_distance_m / 1000,
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


EVENT_TYPES = ("gap", "encounter", "loitering", "spoofing", "port_visit")


def detect_events(
    tracks: Tracks,
    types: Sequence[str] = EVENT_TYPES,
    *,
    shore: ShoreArg = "default",
    anchorages: Sequence[tuple[float, float]] | None = None,
    step_s: float = 600.0,
    ports: PortsArg = "default",
    classes_by_mmsi: Mapping[int, str] | None = None,
    gap_options: Mapping[str, object] | None = None,
    encounter_options: Mapping[str, object] | None = None,
    loitering_options: Mapping[str, object] | None = None,
    port_visit_options: Mapping[str, object] | None = None,
) -> list[MaritimeEvent]:
    """All requested event types with GFW default parameters, sorted by start time.

    ``shore``: ``"default"`` (GLOBE land mask), a caller's model, or ``None`` (no shore conditions).
    ``ports``: port/anchorage points for port visits and the encounter/loitering exclusions
    (``"default"``: the bundled World Port Index), ``anchorages`` extra (lat, lon) points.
    ``*_options``: keyword arguments passed to each detector (the documented departures).
    """
    unknown = set(types) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event type(s) {sorted(unknown)}; choose from {EVENT_TYPES}")
    if {"gap", "loitering", "spoofing"} & set(types):
        shore = resolve_shore(shore)
    index = (
        resolve_ports(ports, anchorages) if {"encounter", "loitering", "port_visit"} & set(types) else None
    )
    r = resample(tracks, step_s) if {"encounter", "loitering"} & set(types) else None
    out: list[MaritimeEvent] = []
    if "gap" in types:
        out += detect_gaps(tracks, shore=shore, **dict(gap_options or {}))  # type: ignore[arg-type]
    if "encounter" in types:
        out += detect_encounters(
            tracks,
            step_s=step_s,
            resampled=r,
            ports=index,
            classes_by_mmsi=classes_by_mmsi,
            **dict(encounter_options or {}),  # type: ignore[arg-type]
        )
    if "loitering" in types:
        out += detect_loitering(
            tracks,
            shore=shore,
            step_s=step_s,
            resampled=r,
            ports=index,
            classes_by_mmsi=classes_by_mmsi,
            **dict(loitering_options or {}),  # type: ignore[arg-type]
        )
    if "spoofing" in types:
        from kizuna.maritime.spoofing import detect_spoofing

        out += detect_spoofing(tracks, shore=shore)
    if "port_visit" in types and index is not None:
        out += port_visits(tracks, index, **dict(port_visit_options or {}))  # type: ignore[arg-type]
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
