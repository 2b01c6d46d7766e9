"""Dark-vessel candidates: SAR detections with no AIS partner at the image time.

AIS states are brought to the image time by great-circle interpolation between the reports that
bracket it (when they are at most ``max_interp_gap_s`` apart) or, failing that, dead-reckoned from
the nearest report with its SOG/COG (at most ``max_dead_reckon_s`` away). Detections and AIS
states are then paired one-to-one by minimum total distance (Hungarian assignment,
``scipy.optimize.linear_sum_assignment``) inside a distance gate. The gated bipartite graph is
split into connected components first, so the assignment runs on small blocks and 10^4 x 10^5
problems fit in memory; each block gets one dummy "unmatched" column per detection costing the
gate, so a far pair is never forced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from kizuna.maritime.tracks import from_unit_vectors, unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import DarkVesselResult, PositionArrays, SarDetection

# The image time and the detections' own times must agree: one Sentinel-1 IW slice spans about
# 25 s and a product about 3 min, so a minute covers a detection stamped with its slice's start.
# Beyond that AIS is placed at the wrong instant (a ship at 15 kn moves 460 m a minute).
TIME_TOLERANCE_S = 60.0
# AIS positions are good to about 10 m (GNSS) and SAR pixels are 10 m or more: a smaller gate
# cannot pair a ship with its own AIS report and turns every detection dark.
MIN_GATE_M = 10.0


def detection_time_offsets_s(detections: Sequence[SarDetection], time_utc: np.datetime64) -> np.ndarray:
    """Seconds from ``time_utc`` to each detection's own ``time_utc`` (NaN where it has none)."""
    t0 = time_utc.astype("datetime64[ns]")
    out = np.full(len(detections), np.nan)
    for k, d in enumerate(detections):
        if d.time_utc is not None:
            t = np.datetime64(d.time_utc.replace(tzinfo=None), "ns")
            out[k] = (t - t0) / np.timedelta64(1, "s")
    return out


def ais_at(
    positions: PositionArrays,
    time_utc: np.datetime64,
    *,
    max_interp_gap_s: float = 3 * 3600.0,
    max_dead_reckon_s: float = 1800.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mmsi, lat_deg, lon_deg, method) of every vessel that can be placed at ``time_utc``."""
    p = positions.take(np.flatnonzero(~np.isnat(positions.time_utc)))
    if len(p) == 0:
        e = np.zeros(0)
        return e.astype(np.int64), e, e, e.astype("U13")
    # numpy's stubs lack datetime64(datetime64, unit), which converts the unit
    t_img = np.datetime64(time_utc, "ns").astype("int64")  # type: ignore[call-overload]
    order = np.lexsort((p.time_utc.astype("int64"), p.mmsi))
    p = p.take(order)
    t = p.time_utc.astype("int64")
    starts = np.flatnonzero(np.r_[True, p.mmsi[1:] != p.mmsi[:-1]])
    ends = np.r_[starts[1:], len(p)]
    # per vessel: number of reports at or before the image time
    before = np.add.reduceat((t <= t_img).astype(np.int64), starts)
    i_prev = starts + before - 1
    i_next = starts + before
    has_prev = before > 0
    has_next = i_next < ends
    i_prev_c = np.clip(i_prev, 0, len(p) - 1)
    i_next_c = np.clip(i_next, 0, len(p) - 1)
    dt_prev = (t_img - t[i_prev_c]) / 1e9
    dt_next = (t[i_next_c] - t_img) / 1e9
    interp = has_prev & has_next & ((dt_prev + dt_next) <= max_interp_gap_s)
    exact = has_prev & (dt_prev == 0)
    u = unit_vectors(p.lat_deg, p.lon_deg)
    span = np.where(interp, dt_prev + dt_next, 1.0)
    w = np.where(interp, dt_prev / span, 0.0)
    v = u[i_prev_c] * (1 - w)[:, None] + u[i_next_c] * w[:, None]
    lat_i, lon_i = from_unit_vectors(v)
    # dead reckoning from the closer report, flat-earth over <= 30 min
    use_prev = has_prev & (~has_next | (dt_prev <= dt_next))
    src = np.where(use_prev, i_prev_c, i_next_c)
    dt = np.where(use_prev, dt_prev, -dt_next)
    sog = np.nan_to_num(p.sog_kn[src], nan=0.0) * KN_TO_MS
    cog = np.radians(np.nan_to_num(p.cog_deg[src], nan=0.0))
    dn, de = sog * np.cos(cog) * dt, sog * np.sin(cog) * dt
    lat_d = p.lat_deg[src] + np.degrees(dn / EARTH_MEAN_RADIUS_M)
    lon_d = p.lon_deg[src] + np.degrees(de / (EARTH_MEAN_RADIUS_M * np.cos(np.radians(p.lat_deg[src]))))
    dr_ok = np.abs(dt) <= max_dead_reckon_s
    ok = exact | interp | dr_ok
    method = np.where(exact, "reported", np.where(interp, "interpolated", "dead_reckoned"))
    lat = np.where(exact, p.lat_deg[i_prev_c], np.where(interp, lat_i, lat_d))
    lon = np.where(exact, p.lon_deg[i_prev_c], np.where(interp, lon_i, lon_d))
    lon = (lon + 180.0) % 360.0 - 180.0
    return p.mmsi[starts][ok], lat[ok], lon[ok], method[ok]


def _enu(lat, lon, lat0: float, lon0: float) -> np.ndarray:
    """Local tangent-plane metres (equirectangular about the scene centre; < 0.1 % over 100 km)."""
    dlon = (np.asarray(lon) - lon0 + 180.0) % 360.0 - 180.0
    return np.column_stack(
        [
            np.radians(dlon) * EARTH_MEAN_RADIUS_M * np.cos(np.radians(lat0)),
            np.radians(np.asarray(lat) - lat0) * EARTH_MEAN_RADIUS_M,
        ]
    )


def assign(det_xy: np.ndarray, ais_xy: np.ndarray, gate_m: float) -> list[tuple[int, int, float]]:
    """One-to-one pairs (det, ais, distance_m) minimising total distance, every pair within the gate."""
    if len(det_xy) == 0 or len(ais_xy) == 0:
        return []
    dm = cKDTree(det_xy).sparse_distance_matrix(cKDTree(ais_xy), gate_m, output_type="coo_matrix")
    if dm.nnz == 0:
        return []
    nd, na = len(det_xy), len(ais_xy)
    rows, cols, dist = dm.row, dm.col, dm.data
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, nd + cols)), shape=(nd + na, nd + na))
    _, comp = connected_components(graph, directed=False)
    pair_comp = comp[rows]
    order = np.argsort(pair_comp, kind="stable")
    rows, cols, dist, pair_comp = rows[order], cols[order], dist[order], pair_comp[order]
    bounds = np.flatnonzero(np.r_[True, pair_comp[1:] != pair_comp[:-1], True])
    out: list[tuple[int, int, float]] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        r, c, d = rows[a:b], cols[a:b], dist[a:b]
        if b - a == 1:
            out.append((int(r[0]), int(c[0]), float(d[0])))
            continue
        ur, ri = np.unique(r, return_inverse=True)
        uc, ci = np.unique(c, return_inverse=True)
        big = 1e12
        cost = np.full((len(ur), len(uc) + len(ur)), big)
        cost[ri, ci] = d
        # zero-distance pairs must still beat "unmatched" (cost = gate)
        cost[np.arange(len(ur)), len(uc) + np.arange(len(ur))] = gate_m
        rr, cc = linear_sum_assignment(cost)
        for x, y in zip(rr, cc, strict=True):
            if y < len(uc) and cost[x, y] <= gate_m:
                out.append((int(ur[x]), int(uc[y]), float(cost[x, y])))
    return out


def find_dark_vessels(
    detections: Sequence[SarDetection],
    positions: PositionArrays,
    image_time_utc: np.datetime64,
    *,
    gate_m: float = 1000.0,
    footprint: tuple[float, float, float, float] | None = None,
    max_interp_gap_s: float = 3 * 3600.0,
    max_dead_reckon_s: float = 1800.0,
) -> DarkVesselResult:
    """Match detections with AIS at the image time; unmatched detections are dark candidates.

    ``footprint`` (W, S, E, N degrees) limits which AIS vessels count as "should have been seen";
    without it the bounding box of the detections padded by the gate is used.
    """
    t_img = np.datetime64(image_time_utc, "ns")  # type: ignore[call-overload]  # as in ais_at
    mmsi, lat, lon, method = ais_at(
        positions, t_img, max_interp_gap_s=max_interp_gap_s, max_dead_reckon_s=max_dead_reckon_s
    )
    det_lat = np.array([d.lat_deg for d in detections], dtype=float)
    det_lon = np.array([d.lon_deg for d in detections], dtype=float)
    if footprint is None and len(detections):
        pad = np.degrees(gate_m / EARTH_MEAN_RADIUS_M)
        padlon = pad / max(np.cos(np.radians(np.mean(det_lat))), 1e-3)
        footprint = (det_lon.min() - padlon, det_lat.min() - pad, det_lon.max() + padlon, det_lat.max() + pad)
    if footprint is not None:
        w, s, e, n = footprint
        inside = (lat >= s) & (lat <= n) & (((lon - w) % 360) <= ((e - w) % 360))
        mmsi, lat, lon, method = mmsi[inside], lat[inside], lon[inside], method[inside]
        lat0, lon0 = (s + n) / 2, w + ((e - w) % 360) / 2
    else:
        lat0, lon0 = 0.0, 0.0
    matches = assign(_enu(det_lat, det_lon, lat0, lon0), _enu(lat, lon, lat0, lon0), gate_m)
    matched_det = {m[0] for m in matches}
    matched_ais = {m[1] for m in matches}
    return DarkVesselResult(
        t_img,
        gate_m,
        sorted(matches),
        [i for i in range(len(detections)) if i not in matched_det],
        [j for j in range(len(mmsi)) if j not in matched_ais],
        list(detections),
        mmsi,
        lat,
        lon,
        method,
    )


def dark_geojson(result: DarkVesselResult) -> dict[str, object]:
    """GeoJSON FeatureCollection (RFC 7946): every detection and every unmatched AIS vessel."""
    from kizuna.orbit.timescale import iso_utc

    by_det = {m[0]: m for m in result.matches}
    feats: list[dict[str, object]] = []
    for i, d in enumerate(result.detections):
        m = by_det.get(i)
        props: dict[str, object] = {
            "kind": "sar_detection",
            "detection_id": d.detection_id,
            "status": "matched" if m else "dark_candidate",
            "length_m": d.length_m,
            "confidence": d.confidence,
            "peak_scr_db": d.peak_scr_db,
        }
        if m:
            props |= {
                "mmsi": int(result.ais_mmsi[m[1]]),
                "distance_m": round(m[2], 1),
                "ais_method": str(result.ais_method[m[1]]),
            }
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [d.lon_deg, d.lat_deg]},
                "properties": props,
            }
        )
    for j in result.unmatched_ais:
        feats.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(result.ais_lon_deg[j]), float(result.ais_lat_deg[j])],
                },
                "properties": {
                    "kind": "ais",
                    "status": "ais_not_detected",
                    "mmsi": int(result.ais_mmsi[j]),
                    "ais_method": str(result.ais_method[j]),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": feats,
        "properties": {
            "image_time_utc": iso_utc(np.array([result.image_time_utc]))[0],
            "gate_m": result.gate_m,
        },
    }


def dark_product(result: DarkVesselResult, *, source: str = "", synthetic: bool = False) -> dict[str, object]:
    """A plain dict ready to become a shared product (the share layer adds marking and signature)."""
    from kizuna.orbit.timescale import iso_utc

    return {
        "product_type": "dark_vessel_candidates",
        "image_time_utc": iso_utc(np.array([result.image_time_utc]))[0],
        "source": source,
        "synthetic_image": synthetic,
        "method": (
            f"SAR detections matched one-to-one to AIS (interpolated/dead-reckoned to image time) by Hungarian "
            f"assignment within {result.gate_m:g} m; unmatched detections are dark-vessel candidates"
        ),
        "counts": {
            "detections": len(result.detections),
            "matched": len(result.matches),
            "dark_candidates": len(result.dark_detections),
            "ais_not_detected": len(result.unmatched_ais),
            "ais_in_footprint": len(result.ais_mmsi),
        },
        "dark_candidates": [
            {
                "detection_id": result.detections[i].detection_id,
                "lat_deg": round(result.detections[i].lat_deg, 6),
                "lon_deg": round(result.detections[i].lon_deg, 6),
                "length_m": result.detections[i].length_m,
                "confidence": result.detections[i].confidence,
            }
            for i in result.dark_detections
        ],
        "matched": [
            {
                "detection_id": result.detections[i].detection_id,
                "mmsi": int(result.ais_mmsi[j]),
                "distance_m": round(d, 1),
            }
            for i, j, d in result.matches
        ],
        "ais_not_detected": [int(result.ais_mmsi[j]) for j in result.unmatched_ais],
    }
