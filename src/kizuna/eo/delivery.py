"""Time from request to delivered image: tasking uplink, collection, downlink through ground stations.

A request names a target and the instant it is made. For each satellite of the constellation:
1. tasking: the first instant at or after the request when the satellite is in contact with a
   station that can uplink (above that station's elevation mask);
2. collection: the first access window of that satellite over the target that still leaves
   `imaging_s` of imaging after tasking (the image is complete `imaging_s` after it starts);
3. downlink: from the end of the collection, the satellite's downlink contacts carry data at the
   station's rate for as long as they last (per-pass volume = rate x duration; where two stations
   see the satellite at once it uses the faster), until the image's volume is through.
The request is delivered by the satellite that delivers first (the operator tasks that one);
delivery latency = delivered - requested. Requests are independent: on-board storage bounds the
image size only, and a satellite is not kept busy by one request for another.

Station contacts are access windows with an elevation mask: the same root finder as `eo access`
(edges to well under 1 s), on the WGS-84 ellipsoid at zero height (a station 500 m up sees a
LEO satellite about 0.1 s earlier at a 5 deg mask).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from kizuna.eo.access import AccessWindows, Targets, compute_access
from kizuna.eo.constellation import Constellation
from kizuna.eo.revisit import merge_intervals
from kizuna.eo.sensors import SarSensor
from kizuna.errors import KizunaError

#: planning defaults: a 5 deg mask is usual for X-band reception at high-latitude commercial sites
DEFAULT_MIN_ELEVATION_DEG = 5.0
#: X-band downlink of current small SAR satellites is a few hundred Mbit/s (ICEYE and iQPS publish
#: figures of this order); a station file sets its own rate per station
DEFAULT_DOWNLINK_MBPS = 500.0
STATION_FIELDS = ("name", "lat_deg", "lon_deg", "alt_m", "min_elevation_deg", "downlink_mbps", "uplink")


class DeliveryError(KizunaError, ValueError):
    """Stations or a delivery model cannot be read or are impossible."""


@dataclass(frozen=True)
class GroundStation:
    """A ground station: WGS-84 position, elevation mask, downlink rate, and whether it can uplink."""

    name: str
    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG
    downlink_mbps: float = DEFAULT_DOWNLINK_MBPS
    uplink: bool = True
    source: str = ""


@dataclass(frozen=True)
class DeliveryModel:
    """Image size and on-board limits of one collection."""

    image_gbit: float = 10.0
    imaging_s: float = 10.0
    storage_gbit: float = 1000.0

    def __post_init__(self) -> None:
        for name in ("image_gbit", "imaging_s", "storage_gbit"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise DeliveryError(f"{name} {v}: must be a positive finite number")
        if self.image_gbit > self.storage_gbit:
            raise DeliveryError(
                f"an image of {self.image_gbit:g} Gbit does not fit in {self.storage_gbit:g} Gbit of storage"
            )


def _number(value: Any, where: str, field: str, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DeliveryError(f"{where}: {field} {value!r} is not a number") from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise DeliveryError(f"{where}: {field} {value!r} outside {lo:g}..{hi:g}")
    return v


def _boolean(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise DeliveryError(f"{where}: uplink {value!r}: use true or false")


def parse_stations(text: str, source: str = "<stations>") -> list[GroundStation]:
    """Stations from YAML (a list of mappings, or a mapping with a `stations` list) or CSV with a
    header row; fields name, lat_deg, lon_deg and optional alt_m, min_elevation_deg, downlink_mbps,
    uplink, source. Errors name the file, the row (CSV line or YAML entry) and the field."""
    rows: list[tuple[str, dict[str, Any]]] = []
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    if first.replace(" ", "").lower().startswith("name,"):
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            if None in row:
                raise DeliveryError(f"{source}:{reader.line_num}: more values than header fields")
            rows.append((f"{source}:{reader.line_num}", dict(row)))
    else:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise DeliveryError(f"{source}{line}: not YAML or CSV ({getattr(exc, 'problem', exc)})") from None
        if isinstance(doc, dict):
            doc = doc.get("stations")
        if not isinstance(doc, list):
            raise DeliveryError(f"{source}: want a list of stations (YAML) or a CSV with a name,... header")
        for k, entry in enumerate(doc):
            if not isinstance(entry, dict):
                raise DeliveryError(f"{source}: station {k + 1}: want a mapping of fields")
            rows.append((f"{source}: station {k + 1}", entry))
    if not rows:
        raise DeliveryError(f"{source}: no stations")
    stations: list[GroundStation] = []
    seen: set[str] = set()
    for where, row in rows:
        unknown = set(row) - set(STATION_FIELDS) - {"source"}
        if unknown:
            raise DeliveryError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        name = str(row.get("name") or "").strip()
        if not name:
            raise DeliveryError(f"{where}: name is empty")
        if name in seen:
            raise DeliveryError(f"{where}: name {name!r} is used twice")
        seen.add(name)
        for need in ("lat_deg", "lon_deg"):
            if row.get(need) in (None, ""):
                raise DeliveryError(f"{where}: {need} is missing")

        def opt(
            field: str, default: float, lo: float, hi: float, row: dict[str, Any] = row, where: str = where
        ) -> float:
            v = row.get(field)
            return default if v in (None, "") else _number(v, where, field, lo, hi)

        stations.append(
            GroundStation(
                name=name,
                lat_deg=_number(row["lat_deg"], where, "lat_deg", -90.0, 90.0),
                lon_deg=_number(row["lon_deg"], where, "lon_deg", -180.0, 180.0),
                alt_m=opt("alt_m", 0.0, -500.0, 9000.0),
                min_elevation_deg=opt("min_elevation_deg", DEFAULT_MIN_ELEVATION_DEG, 0.0, 89.0),
                downlink_mbps=opt("downlink_mbps", DEFAULT_DOWNLINK_MBPS, 0.0, 1e6),
                uplink=True if row.get("uplink") in (None, "") else _boolean(row["uplink"], where),
                source=str(row.get("source") or ""),
            )
        )
    return stations


@dataclass
class Contacts:
    """Station contact windows, one row each: satellite, station, start/stop in seconds from the
    period start (and as UTC)."""

    sat_index: np.ndarray
    station_index: np.ndarray
    start_s: np.ndarray
    stop_s: np.ndarray
    period_start_utc: np.datetime64
    period_stop_utc: np.datetime64
    sat_names: list[str]

    def __len__(self) -> int:
        return len(self.sat_index)

    def utc(self, seconds: np.ndarray) -> np.ndarray:
        return self.period_start_utc + np.round(np.asarray(seconds) * 1e9).astype("timedelta64[ns]")


def _seconds(access: AccessWindows, column: np.ndarray) -> np.ndarray:
    return (column - access.period_start_utc).astype("int64") / 1e9


def contact_windows(
    constellation: Constellation | Sequence,
    stations: Sequence[GroundStation],
    start_utc: object,
    stop_utc: object,
    *,
    step_s: float = 60.0,
) -> Contacts:
    """Every satellite x station window above the station's elevation mask."""
    if not stations:
        raise DeliveryError("no ground stations")
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    acc: AccessWindows | None = None
    masks = sorted({s.min_elevation_deg for s in stations})
    for mask in masks:
        idx = np.array([k for k, s in enumerate(stations) if s.min_elevation_deg == mask])
        targets = Targets(
            name=np.array([stations[k].name for k in idx]),
            lat_deg=np.array([stations[k].lat_deg for k in idx]),
            lon_deg=np.array([stations[k].lon_deg for k in idx]),
            aoi=np.array([stations[k].name for k in idx]),
        )
        # Elevation >= mask is incidence <= 90 - mask; with no near-range limit (incidence 0 allowed)
        # the SAR window is exactly a station's visibility, with the same edge finder as `eo access`.
        acc = compute_access(
            constellation, targets, start_utc, stop_utc, SarSensor(0.0, 90.0 - mask), step_s=step_s
        )
        parts.append(
            (acc.sat_index, idx[acc.target_index], _seconds(acc, acc.start_utc), _seconds(acc, acc.stop_utc))
        )
    assert acc is not None
    sat, sta, st, sp = (np.concatenate([p[k] for p in parts]) for k in range(4))
    o = np.lexsort((st, sta, sat))
    return Contacts(
        sat[o], sta[o], st[o], sp[o], acc.period_start_utc, acc.period_stop_utc, list(acc.sat_names)
    )


def satellite_delivery(
    request_s: np.ndarray,
    uplink_start_s: np.ndarray,
    uplink_stop_s: np.ndarray,
    access_start_s: np.ndarray,
    access_stop_s: np.ndarray,
    downlink_start_s: np.ndarray,
    downlink_stop_s: np.ndarray,
    downlink_mbps: np.ndarray,
    model: DeliveryModel,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tasked, collected, delivered) seconds for each request through one satellite: its uplink
    contacts, its access windows over the target and its downlink contacts (with rates). NaN where
    a step has no opportunity left in the data given."""
    req = np.asarray(request_s, float)
    nan = np.full(len(req), np.nan)
    # 1. tasking: the first moment in an uplink contact (contacts from several stations merged)
    us, ue = merge_intervals(np.asarray(uplink_start_s, float), np.asarray(uplink_stop_s, float))
    k = np.searchsorted(ue, req, side="right")
    have = k < len(ue)
    tasked = nan.copy()
    tasked[have] = np.maximum(us[k[have]], req[have])
    # 2. collection: windows long enough for the image; the latest useful start of each is
    # stop - imaging_s, increasing with the windows (they are disjoint per satellite and target)
    ast, asp = np.asarray(access_start_s, float), np.asarray(access_stop_s, float)
    o = np.argsort(ast, kind="stable")
    ast, asp = ast[o], asp[o]
    long_enough = asp - ast >= model.imaging_s
    ast, asp = ast[long_enough], asp[long_enough]
    latest = asp - model.imaging_s
    ok = np.isfinite(tasked)
    j = np.full(len(req), len(latest))
    j[ok] = np.searchsorted(latest, tasked[ok], side="left")
    ok &= j < len(latest)
    collected = nan.copy()
    collected[ok] = np.maximum(ast[j[ok]], tasked[ok])
    done = collected + model.imaging_s
    # 3. downlink: cumulative volume V(t) through the contacts is piecewise linear; the image is
    # through when V reaches V(done) + image volume
    ds, de = np.asarray(downlink_start_s, float), np.asarray(downlink_stop_s, float)
    rate = np.asarray(downlink_mbps, float)
    delivered = nan.copy()
    if len(ds) and ok.any():
        edges = np.unique(np.r_[ds, de])
        mid = 0.5 * (edges[:-1] + edges[1:])
        cover = (ds[:, None] <= mid[None, :]) & (mid[None, :] < de[:, None])
        seg_rate = np.where(cover, rate[:, None], 0.0).max(axis=0)
        volume = np.r_[0.0, np.cumsum(seg_rate * np.diff(edges))]  # Mbit at each edge
        need = np.interp(done[ok], edges, volume) + model.image_gbit * 1000.0
        m = np.searchsorted(volume, need, side="left")
        fits = m < len(volume)
        mm = m[fits]
        t = edges[mm - 1] + (need[fits] - volume[mm - 1]) / seg_rate[mm - 1]
        out = np.full(int(ok.sum()), np.nan)
        out[fits] = t
        delivered[ok] = out
    return tasked, collected, delivered


@dataclass
class DeliveryResult:
    """Per request (rows) for one target: the instants of each step and the satellite used."""

    request_s: np.ndarray
    tasked_s: np.ndarray
    collected_s: np.ndarray
    delivered_s: np.ndarray
    sat_index: np.ndarray  # -1 where the request is not delivered in the period

    @property
    def delivered(self) -> np.ndarray:
        return np.isfinite(self.delivered_s)

    @property
    def latency_s(self) -> np.ndarray:
        return self.delivered_s - self.request_s


def deliver(
    request_s: np.ndarray,
    access: AccessWindows,
    target_index: int,
    contacts: Contacts,
    stations: Sequence[GroundStation],
    model: DeliveryModel,
) -> DeliveryResult:
    """Each request for target `target_index` through the satellite that delivers it first.
    `access` and `contacts` must cover the same period and constellation (same satellite order)."""
    req = np.asarray(request_s, float)
    can_uplink = np.array([s.uplink for s in stations])[contacts.station_index]
    rate = np.array([s.downlink_mbps for s in stations])[contacts.station_index]
    can_downlink = rate > 0
    mine = access.target_index == target_index
    a_sat = access.sat_index[mine]
    a_st, a_sp = _seconds(access, access.start_utc[mine]), _seconds(access, access.stop_utc[mine])
    best = DeliveryResult(
        req,
        np.full(len(req), np.nan),
        np.full(len(req), np.nan),
        np.full(len(req), np.inf),
        np.full(len(req), -1, np.int64),
    )
    for s in np.unique(a_sat):
        c = contacts.sat_index == s
        up, dn, w = c & can_uplink, c & can_downlink, a_sat == s
        tasked, collected, delivered = satellite_delivery(
            req,
            contacts.start_s[up],
            contacts.stop_s[up],
            a_st[w],
            a_sp[w],
            contacts.start_s[dn],
            contacts.stop_s[dn],
            rate[dn],
            model,
        )
        better = np.isfinite(delivered) & (delivered < best.delivered_s)
        best.tasked_s[better] = tasked[better]
        best.collected_s[better] = collected[better]
        best.delivered_s[better] = delivered[better]
        best.sat_index[better] = s
    best.delivered_s[~np.isfinite(best.delivered_s)] = np.nan
    return best


def latency_stats(result: DeliveryResult) -> dict[str, float | int | None]:
    """Mean, median, 90th percentile and maximum of each step's latency over delivered requests [s],
    with the count of requests not delivered within the period (left out of the statistics)."""
    ok = result.delivered
    out: dict[str, float | int | None] = {
        "requests": len(ok),
        "delivered": int(ok.sum()),
        "not_delivered_in_period": int((~ok).sum()),
    }
    parts = {
        "tasking": result.tasked_s - result.request_s,
        "collection": result.collected_s - result.tasked_s,
        "downlink": result.delivered_s - result.collected_s,
        "delivery": result.latency_s,
    }
    for key, values in parts.items():
        v = values[ok]
        for stat, fn in (("mean", np.mean), ("median", np.median), ("max", np.max)):
            out[f"{key}_{stat}_s"] = float(fn(v)) if len(v) else None
        out[f"{key}_p90_s"] = float(np.percentile(v, 90)) if len(v) else None
    return out


def request_times(
    period_s: float,
    *,
    every_s: float | None = None,
    random_count: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Request instants [s from the period start] in [0, period_s): regular every `every_s`, or
    `random_count` uniform random ones (seeded, sorted)."""
    if (every_s is None) == (random_count is None):
        raise DeliveryError("give either a regular request interval or a number of random requests")
    if every_s is not None:
        if not (math.isfinite(every_s) and every_s > 0):
            raise DeliveryError(f"request interval {every_s} s: must be positive")
        return np.arange(0.0, period_s, every_s)
    assert random_count is not None
    return np.sort(np.random.default_rng(seed).uniform(0.0, period_s, int(random_count)))
