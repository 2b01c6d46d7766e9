"""What the console's EO and maritime views read: areas of interest with their passes and revisit,
and the node's own AIS tracks, events and dark-vessel candidates.

EO and maritime products come only through ``node.visibility(caller.subject)`` (as every list of
:mod:`kizuna.service.routes.console`): a product the caller's marking does not release is answered
exactly like one that does not exist, and the page never filters.

AIS tracks are the node's own data, not products: positions the node decoded from AIS radio
broadcasts, which any receiver in range hears in clear. They are shown under :data:`AIS_MARKING`
(UNCLASSIFIED), like the public element catalog, to every user; what the node concludes from them
(events, dark-vessel candidates) is published as marked products and released by marking.
A node whose AIS comes from a source under a marking must not load it into the store it serves.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from kizuna.orbit.timescale import iso_utc
from kizuna.service import models
from kizuna.service.deps import CallerDep, NodeDep, Refused, audit_access
from kizuna.service.responses import AUTH_RESPONSES, NOT_VISIBLE
from kizuna.service.routes.console import MAX_ITEMS, _item, _released
from kizuna.share import limits
from kizuna.store.ais_store import AisStore

router = APIRouter(prefix="/console/api", tags=["console"])

# The node's own AIS positions (module docstring): open radio broadcasts, as the catalog.
AIS_MARKING = {"banner": "UNCLASSIFIED", "label": {"classification": "UNCLASSIFIED"}}
# Track points one answer carries at most (the page draws them on a 2-D map): the default is
# enough for a region over a day after decimation; the hard limit bounds the JSON at about 1 MB.
DEFAULT_TRACK_POINTS = 5000
MAX_TRACK_POINTS = 20_000
# Stored positions read for one answer at most before decimation (bounded memory and time): a
# larger box or window is refused with the hint to narrow it.
MAX_POSITIONS_READ = 2_000_000
# Product types of the maritime view.
MARITIME_TYPES = ("maritime_alert", "dark_vessels")
EO_TYPE = "revisit_report"
_ID_PATH = PathParam(max_length=limits.MAX_ID_CHARS)
BAD_QUERY: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "a box, time window or stored-position count refused"}
}


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    """An EO report without its passes (the list of areas stays small)."""
    payload = item["payload"] if isinstance(item.get("payload"), dict) else {}
    passes = payload.get("accesses")
    return {
        **{k: v for k, v in item.items() if k != "payload"},
        "payload": {k: v for k, v in payload.items() if k != "accesses"},
        "passes": len(passes) if isinstance(passes, list) else 0,
    }


@router.get("/eo/aois", responses=AUTH_RESPONSES)
def eo_aois(
    c: CallerDep, node: NodeDep, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 200
) -> dict[str, object]:
    """Areas of interest of the revisit reports released to the caller, newest first: each with its
    polygon, constellation, sensor, period, revisit statistics and number of passes (no passes:
    ``/console/api/eo/aois/{id}``)."""
    return {"items": [_summary(_item(r)) for r in _released(node, c, EO_TYPE, limit)]}


def _gaps(passes: list[dict[str, Any]], start: str, stop: str) -> list[dict[str, object]]:
    """The gaps between the union of the passes over the period, for the revisit plot."""
    try:
        t0 = np.datetime64(start.rstrip("Z"), "ns")
        t1 = np.datetime64(stop.rstrip("Z"), "ns")
        spans = sorted(
            (
                np.datetime64(str(p["start_utc"]).rstrip("Z"), "ns"),
                np.datetime64(str(p["stop_utc"]).rstrip("Z"), "ns"),
            )
            for p in passes
        )
    except (KeyError, TypeError, ValueError):
        return []
    gaps: list[tuple[np.datetime64, np.datetime64]] = []
    edge = t0
    for a, b in spans:
        if a > edge:
            gaps.append((edge, a))
        edge = max(edge, b)
    if t1 > edge:
        gaps.append((edge, t1))
    if not gaps:
        return []
    starts = iso_utc(np.array([g[0] for g in gaps]))
    stops = iso_utc(np.array([g[1] for g in gaps]))
    hours = [float((b - a) / np.timedelta64(1, "s")) / 3600.0 for a, b in gaps]
    return [
        {"start_utc": a, "stop_utc": b, "gap_h": round(h, 3)}
        for a, b, h in zip(starts, stops, hours, strict=True)
    ]


@router.get("/eo/aois/{product_id}", responses=AUTH_RESPONSES | {403: {"description": NOT_VISIBLE}})
def eo_aoi(c: CallerDep, node: NodeDep, product_id: Annotated[str, _ID_PATH]) -> dict[str, object]:
    """One revisit report released to the caller, whole: its passes (per satellite: start, stop,
    look side, the swath polygon and ground track to draw) and the gaps between them."""
    row = node.share.get(node.visibility(c.subject), product_id) if limits.safe_id(product_id) else None
    if row is None or row.type != EO_TYPE:
        raise Refused(403, NOT_VISIBLE, c, f"console eo: {limits.safe_id(product_id) or 'an impossible id'}")
    audit_access(node, c, [row], "console eo area")
    item = _item(row)
    payload = item["payload"] if isinstance(item["payload"], dict) else {}
    accesses = payload.get("accesses")
    passes: list[dict[str, Any]] = accesses if isinstance(accesses, list) else []
    item["gaps"] = _gaps(passes, str(payload.get("period_start_utc")), str(payload.get("period_stop_utc")))
    return item


@router.get("/maritime/products", responses=AUTH_RESPONSES)
def maritime_products(
    c: CallerDep, node: NodeDep, limit: Annotated[int, Query(ge=1, le=MAX_ITEMS)] = 200
) -> dict[str, object]:
    """Maritime alerts (events, with the vessel's track) and dark-vessel candidates released to the
    caller, newest first, each with its marking."""
    rows = [r for t in MARITIME_TYPES for r in _released(node, c, t, limit)]
    rows.sort(key=lambda r: r.seq, reverse=True)
    return {"items": [_item(r) for r in rows[:limit]]}


def _utc(c: CallerDep, text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)  # a time without zone is UTC
    except (ValueError, OverflowError):
        raise Refused(400, f"{option}: not an ISO-8601 time ({text[:40]!r})", c) from None


def decimate_tracks(mmsi: np.ndarray, order: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most `max_points` positions keeping every vessel's first and last position and
    an even share of the points between (each vessel keeps the same fraction of its inner points).
    `order` sorts the positions by vessel, then time. When the vessels' ends alone are more than
    `max_points`, the last vessels (by MMSI) are left out whole."""
    n = len(order)
    if n <= max_points:
        return order
    vessel = mmsi[order]
    starts = np.flatnonzero(np.r_[True, vessel[1:] != vessel[:-1]])
    counts = np.diff(np.r_[starts, n])
    ends = np.minimum(counts, 2)
    fits = int(np.searchsorted(np.cumsum(ends), max_points, side="right"))
    starts, counts, ends = starts[:fits], counts[:fits], ends[:fits]
    inner = counts - ends
    spare = max_points - int(ends.sum())
    fraction = min(1.0, spare / inner.sum()) if inner.sum() else 0.0
    picks = []
    for s, k, e, m in zip(starts, counts, ends, np.floor(inner * fraction).astype(int), strict=True):
        # the ends, and m points spread evenly between them
        idx = np.unique(np.round(np.linspace(0, k - 1, e + m)).astype(int)) if k > 1 else np.zeros(1, int)
        picks.append(order[s + idx])
    return np.concatenate(picks) if picks else order[:0]


@router.get("/maritime/tracks", responses=AUTH_RESPONSES | BAD_QUERY)
def maritime_tracks(
    c: CallerDep,
    node: NodeDep,
    west: Annotated[float, Query(ge=-180, le=180)] = -180.0,
    south: Annotated[float, Query(ge=-90, le=90)] = -90.0,
    east: Annotated[float, Query(ge=-180, le=180)] = 180.0,
    north: Annotated[float, Query(ge=-90, le=90)] = 90.0,
    start_utc: Annotated[str | None, Query(max_length=40)] = None,
    stop_utc: Annotated[str | None, Query(max_length=40)] = None,
    max_points: Annotated[int, Query(ge=2, le=MAX_TRACK_POINTS)] = DEFAULT_TRACK_POINTS,
) -> JSONResponse:
    """The node's stored AIS positions inside a box (degrees; west > east crosses the antimeridian)
    and time window, as one track per vessel, decimated to at most `max_points` points in all (every
    vessel keeps its first and last position). Marked :data:`AIS_MARKING`."""
    if south > north:
        raise Refused(400, f"south ({south:g}) is north of north ({north:g})", c)
    t0, t1 = _utc(c, start_utc, "start_utc"), _utc(c, stop_utc, "stop_utc")
    if t0 is not None and t1 is not None and t1 < t0:
        raise Refused(400, "stop_utc is before start_utc", c)
    store = AisStore(node.catalog)
    box = (west, south, east, north)
    read = store.count_positions(bbox=box, start=t0, stop=t1)
    if read > MAX_POSITIONS_READ:
        raise Refused(
            400, f"{read} positions in that box and window; narrow them (at most {MAX_POSITIONS_READ})", c
        )
    found = store.positions(bbox=box, start=t0, stop=t1)
    mmsi, times, lat, lon = found.mmsi, found.time_utc, found.lat_deg, found.lon_deg
    order = np.lexsort((times, mmsi))
    kept = decimate_tracks(mmsi, order, max_points)
    vessels: list[dict[str, object]] = []
    if len(kept):
        iso = iso_utc(times[kept])
        vessel = mmsi[kept]
        starts = np.flatnonzero(np.r_[True, vessel[1:] != vessel[:-1]])
        for a, b in zip(starts, np.r_[starts[1:], len(kept)], strict=True):
            sl = kept[a:b]
            vessels.append(
                {
                    "mmsi": int(vessel[a]),
                    "points": [
                        [round(float(x), 5), round(float(y), 5), t]
                        for x, y, t in zip(lon[sl], lat[sl], iso[a:b], strict=True)
                    ],
                }
            )
    body = {
        **AIS_MARKING,
        "positions": read,
        "drawn": int(len(kept)),
        "vessels_found": len(np.unique(mmsi)),
        "vessels": vessels,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
