"""Position and identity anomalies in AIS, each with the affected area as a polygon.

Subtypes of ``spoofing`` events (the area is ``details["area_wkt"]``, WKT in lon/lat degrees, built
with shapely in a local tangent plane around the positions so it is right across the antimeridian):

- ``teleport``: a step whose implied speed exceeds ``max_speed_kn``;
- ``impossible_speed``: a reported SOG above ``max_reported_sog_kn``;
- ``on_land``: a run of positions on land (at least ``min_inland_km`` behind the coast when the
  shore model can say so);
- ``shared_mmsi``: one MMSI broadcast by two ships (split in cleaning);
- ``circle``: a vessel tracing the same circle for hours: positions fitting a circle (algebraic
  least-squares fit) within ``circle_max_residual`` of its radius while sweeping at least
  ``circle_min_turns`` full turns over at least ``circle_min_duration_s``. This is the pattern of the
  "circle spoofing" documented in and near Chinese ports from 2019 (SkyTruth, "Mysterious Crop
  Circles in Chinese Waters", 2020; MIT Technology Review, "Ghost ships, crop circles, and soft
  gold: A GPS mystery in Shanghai", 2019), where positions trace circles of a few hundred metres to
  a few kilometres while the ships are elsewhere;
- ``mass_jump``: at least ``mass_jump_min_vessels`` vessels whose teleports land within
  ``mass_jump_radius_m`` of each other within ``mass_jump_window_s``: a GNSS spoofer moving every
  receiver in range to one false point (US MARAD advisory 2017-005, Black Sea, June 2017: more than
  20 ships reported at Gelendzhik airport; C4ADS, "Above Us Only Stars", 2019). The area is where
  the vessels really were before the jump (the spoofer's reach), the false point is in the details.

Positions at (0, 0) ("null island": a receiver without a fix sending zeros) are not spoofing: their
runs are reported as ``bad_position`` events (subtype ``null_island``) and they are left out of the
teleport, speed and land checks instead of showing up as jumps to the Gulf of Guinea and back.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from shapely import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from kizuna.maritime.events import ShoreArg, _runs, _shore_note, resolve_shore
from kizuna.maritime.tracks import Tracks, haversine_m, unit_vectors
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, METERS_PER_NM
from kizuna.model.maritime import MaritimeEvent

#: |lat| and |lon| below this many degrees count as (0, 0): AIS resolution is 1/10000 minute
#: (1.7e-6 deg), so this only takes zeros and near-zeros, never a real position 10 m off the point.
NULL_ISLAND_DEG = 1e-4


# ---------------------------------------------------------------- local tangent plane and areas
def _enu(lat_deg, lon_deg, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    """East/north metres on the plane tangent at (lat0, lon0) (gnomonic: exact directions, < 0.1 %
    scale error within 50 km)."""
    u = unit_vectors(np.atleast_1d(lat_deg), np.atleast_1d(lon_deg))
    la, lo = np.radians(lat0), np.radians(lon0)
    east = np.array([-np.sin(lo), np.cos(lo), 0.0])
    north = np.array([-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)])
    up = np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    z = u @ up
    return EARTH_MEAN_RADIUS_M * (u @ east) / z, EARTH_MEAN_RADIUS_M * (u @ north) / z


def _enu_inverse(e, n, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    la, lo = np.radians(lat0), np.radians(lon0)
    east = np.array([-np.sin(lo), np.cos(lo), 0.0])
    north = np.array([-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)])
    up = np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    v = up[None, :] + (np.asarray(e)[:, None] * east + np.asarray(n)[:, None] * north) / EARTH_MEAN_RADIUS_M
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(v[:, 2], -1, 1))), np.degrees(np.arctan2(v[:, 1], v[:, 0]))


def _centre(lat_deg, lon_deg) -> tuple[float, float]:
    v = unit_vectors(np.atleast_1d(lat_deg), np.atleast_1d(lon_deg)).sum(axis=0)
    v /= np.linalg.norm(v)
    return float(np.degrees(np.arcsin(v[2]))), float(np.degrees(np.arctan2(v[1], v[0])))


def _to_lonlat(geom: BaseGeometry, lat0: float, lon0: float) -> BaseGeometry:
    from shapely import transform

    def back(xy: np.ndarray) -> np.ndarray:
        lat, lon = _enu_inverse(xy[:, 0], xy[:, 1], lat0, lon0)
        # keep a polygon that crosses the antimeridian continuous (lon may exceed 180)
        lon = np.where(lon - lon0 > 180, lon - 360, np.where(lon - lon0 < -180, lon + 360, lon))
        return np.column_stack([lon, lat])

    return transform(geom, back)


def area_polygon(lat_deg, lon_deg, buffer_m: float = 500.0) -> BaseGeometry:
    """The convex hull of positions widened by ``buffer_m``, as a lon/lat polygon."""
    lat0, lon0 = _centre(lat_deg, lon_deg)
    e, n = _enu(lat_deg, lon_deg, lat0, lon0)
    hull = MultiPoint(np.column_stack([e, n])).convex_hull.buffer(buffer_m, quad_segs=8)
    return _to_lonlat(hull, lat0, lon0)


def circle_polygon(lat_deg: float, lon_deg: float, radius_m: float) -> BaseGeometry:
    """A circle of ``radius_m`` around a point, as a lon/lat polygon (64 vertices)."""
    return _to_lonlat(Point(0.0, 0.0).buffer(radius_m, quad_segs=16), lat_deg, lon_deg)


def _wkt(geom: BaseGeometry) -> str:
    return geom.wkt if geom.is_valid else geom.buffer(0).wkt


# ---------------------------------------------------------------- circle fit
def fit_circle(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Algebraic (Kasa) least-squares circle: (cx, cy, radius, rms radial residual)."""
    mx, my = x.mean(), y.mean()
    u, v = x - mx, y - my
    a = np.column_stack([u, v, np.ones_like(u)])
    sol, *_ = np.linalg.lstsq(a, u * u + v * v, rcond=None)
    cx, cy = sol[0] / 2, sol[1] / 2
    r = float(np.sqrt(max(sol[2] + cx * cx + cy * cy, 0.0)))
    resid = np.hypot(u - cx, v - cy) - r
    return float(cx + mx), float(cy + my), r, float(np.sqrt(np.mean(resid**2)))


def _turns(x: np.ndarray, y: np.ndarray, cx: float, cy: float) -> float:
    ang = np.unwrap(np.arctan2(y - cy, x - cx))
    return float(abs(ang[-1] - ang[0]) / (2 * np.pi))


def _circle_windows(
    t_s: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    *,
    window_s: float,
    min_radius_m: float,
    max_radius_m: float,
    max_residual: float,
    min_points: int,
) -> list[tuple[int, int]]:
    """Index ranges (inclusive) of windows in one segment whose positions lie on a circle over at
    least half a turn (a shorter arc does not pin the circle down)."""
    hits: list[tuple[int, int]] = []
    if t_s[-1] - t_s[0] < window_s or len(t_s) < min_points:
        return hits
    windows: list[tuple[int, int]] = []
    start = 0
    while start < len(t_s):
        end = int(np.searchsorted(t_s, t_s[start] + window_s, side="right")) - 1
        if t_s[end] - t_s[start] < window_s * 0.9:
            break
        if end - start + 1 >= min_points:
            windows.append((start, end))
        nxt = int(np.searchsorted(t_s, t_s[start] + window_s / 2, side="left"))
        start = max(nxt, start + 1)
    if not windows:
        return hits
    # Cheap screen first: over half a turn or more the straight-line distance from the first to the
    # last position is at most 2/pi of the path length (2r against pi r); a ship on passage is near 1.
    ws, we = np.array(windows).T
    path = np.r_[0.0, np.cumsum(haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]))]
    length = path[we] - path[ws]
    chord = haversine_m(lat[ws], lon[ws], lat[we], lon[we])
    maybe = (chord <= 0.7 * length) & (length >= np.pi * min_radius_m)
    for a, b in zip(ws[maybe], we[maybe], strict=True):
        lat0, lon0 = _centre(lat[a : b + 1], lon[a : b + 1])
        x, y = _enu(lat[a : b + 1], lon[a : b + 1], lat0, lon0)
        cx, cy, r, rms = fit_circle(x, y)
        if min_radius_m <= r <= max_radius_m and rms <= max_residual * r and _turns(x, y, cx, cy) >= 0.5:
            hits.append((int(a), int(b)))
    return hits


def _extend(
    x: np.ndarray, y: np.ndarray, s: int, e: int, cx: float, cy: float, r: float, tol: float
) -> tuple[int, int]:
    """Grow [s, e] over neighbouring positions that lie on the fitted circle (exact start and end)."""
    off = np.abs(np.hypot(x - cx, y - cy) - r) <= tol
    while s > 0 and off[s - 1]:
        s -= 1
    while e < len(x) - 1 and off[e + 1]:
        e += 1
    return s, e


def detect_circles(
    tracks: Tracks,
    *,
    min_duration_s: float = 3600.0,
    min_turns: float = 3.0,
    min_radius_m: float = 50.0,
    max_radius_m: float = 20_000.0,
    max_residual: float = 0.15,
    min_points: int = 20,
    keep: np.ndarray | None = None,
    definition: str = "",
) -> list[MaritimeEvent]:
    """Circle spoofing: per track segment, windows of ``min(min_duration_s / 2, 30 min)`` (stepped
    by half a window) whose positions fit a circle (radius in range, RMS residual within
    ``max_residual`` of it, at least half a turn) are merged; a merged run is grown over the
    neighbouring positions on its circle, fitted again, and is an event when it still meets the
    bounds, lasts ``min_duration_s`` and sweeps ``min_turns`` turns."""
    p = tracks.positions
    out: list[MaritimeEvent] = []
    if len(p) < min_points:
        return out
    window_s = min(min_duration_s / 2, 1800.0)
    rows_all = np.arange(len(p)) if keep is None else np.flatnonzero(keep)
    seg = tracks.segment[rows_all]
    bounds = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1], True])
    t_all = p.time_utc.astype("int64") / 1e9
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = rows_all[a:b]
        if len(rows) < min_points or t_all[rows[-1]] - t_all[rows[0]] < min_duration_s:
            continue
        t_s, lat, lon = t_all[rows], p.lat_deg[rows], p.lon_deg[rows]
        hits = _circle_windows(
            t_s,
            lat,
            lon,
            window_s=window_s,
            min_radius_m=min_radius_m,
            max_radius_m=max_radius_m,
            max_residual=max_residual,
            min_points=max(min_points // 2, 6),
        )
        runs: list[list[int]] = []
        for s, e in hits:
            if runs and s <= runs[-1][1] + 1:
                runs[-1][1] = max(runs[-1][1], e)
            else:
                runs.append([s, e])
        for s, e in runs:
            lat0, lon0 = _centre(lat[s : e + 1], lon[s : e + 1])
            x, y = _enu(lat, lon, lat0, lon0)
            cx, cy, r, rms = fit_circle(x[s : e + 1], y[s : e + 1])
            s, e = _extend(x, y, s, e, cx, cy, r, max(3 * rms, 0.05 * r))
            cx, cy, r, rms = fit_circle(x[s : e + 1], y[s : e + 1])
            turns = _turns(x[s : e + 1], y[s : e + 1], cx, cy)
            if not (
                min_radius_m <= r <= max_radius_m
                and rms <= max_residual * r
                and turns >= min_turns
                and t_s[e] - t_s[s] >= min_duration_s
            ):
                continue
            clat, clon = _enu_inverse(np.array([cx]), np.array([cy]), lat0, lon0)
            steps = haversine_m(lat[s:e], lon[s:e], lat[s + 1 : e + 1], lon[s + 1 : e + 1])
            k0 = rows[s]
            out.append(
                MaritimeEvent(
                    "spoofing",
                    int(p.mmsi[k0]),
                    p.time_utc[k0],
                    p.time_utc[rows[e]],
                    float(clat[0]),
                    float(clon[0]),
                    subtype="circle",
                    details={
                        "radius_km": round(r / 1000, 3),
                        "turns": round(turns, 2),
                        "rms_residual_m": round(rms, 1),
                        "positions": int(e - s + 1),
                        "track_speed_kn": round(
                            float(steps.sum() / (t_s[e] - t_s[s]) / (METERS_PER_NM / 3600)), 2
                        ),
                        "area_wkt": _wkt(circle_polygon(float(clat[0]), float(clon[0]), r + 2 * rms)),
                    },
                    definition=definition,
                )
            )
    return out


# ---------------------------------------------------------------- many vessels to one point
def _mass_jumps(
    teleports: list[tuple[int, int, int]],
    tracks: Tracks,
    *,
    radius_m: float,
    window_s: float,
    min_vessels: int,
    definition: str,
) -> list[MaritimeEvent]:
    """``teleports`` as (row before, row after, vessel code): landings close in space and time,
    linked into groups; groups with enough distinct vessels are events."""
    if len(teleports) < min_vessels:
        return []
    p = tracks.positions
    before = np.array([t[0] for t in teleports])
    after = np.array([t[1] for t in teleports])
    vessel = np.array([t[2] for t in teleports])
    xyz = unit_vectors(p.lat_deg[after], p.lon_deg[after]) * EARTH_MEAN_RADIUS_M
    chord = 2 * EARTH_MEAN_RADIUS_M * np.sin(radius_m / (2 * EARTH_MEAN_RADIUS_M))
    pairs = cKDTree(xyz).query_pairs(chord, output_type="ndarray")
    t = p.time_utc[after].astype("int64") / 1e9
    parent = np.arange(len(after))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for i, j in pairs:
        if abs(t[i] - t[j]) <= window_s:
            ri, rj = find(int(i)), find(int(j))
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([find(i) for i in range(len(after))])
    out = []
    for root in np.unique(roots):
        members = np.flatnonzero(roots == root)
        if len(np.unique(vessel[members])) < min_vessels:
            continue
        mmsis = sorted({int(tracks.vessel_mmsi[v]) for v in vessel[members]})
        tlat, tlon = _centre(p.lat_deg[after[members]], p.lon_deg[after[members]])
        origin = area_polygon(p.lat_deg[before[members]], p.lon_deg[before[members]], buffer_m=1000.0)
        out.append(
            MaritimeEvent(
                "spoofing",
                mmsis[0],
                p.time_utc[after[members]].min(),
                p.time_utc[after[members]].max(),
                tlat,
                tlon,
                subtype="mass_jump",
                details={
                    "vessels": len(mmsis),
                    "mmsis": ",".join(str(m) for m in mmsis),
                    "false_point_lat_deg": round(tlat, 6),
                    "false_point_lon_deg": round(tlon, 6),
                    "median_jump_km": round(
                        float(
                            np.median(
                                haversine_m(
                                    p.lat_deg[before[members]],
                                    p.lon_deg[before[members]],
                                    p.lat_deg[after[members]],
                                    p.lon_deg[after[members]],
                                )
                            )
                        )
                        / 1000,
                        3,
                    ),
                    "area_wkt": _wkt(origin),
                },
                definition=definition,
            )
        )
    return out


def null_island(lat_deg, lon_deg) -> np.ndarray:
    """True where a position is (0, 0) within :data:`NULL_ISLAND_DEG`."""
    return (np.abs(np.asarray(lat_deg)) < NULL_ISLAND_DEG) & (np.abs(np.asarray(lon_deg)) < NULL_ISLAND_DEG)


def detect_spoofing(
    tracks: Tracks,
    *,
    max_speed_kn: float = 50.0,
    max_reported_sog_kn: float = 60.0,
    shore: ShoreArg = "default",
    min_inland_km: float = 2.0,
    circles: bool = True,
    circle_min_duration_s: float = 3600.0,
    circle_min_turns: float = 3.0,
    mass_jump_min_vessels: int = 3,
    mass_jump_radius_m: float = 2000.0,
    mass_jump_window_s: float = 3600.0,
) -> list[MaritimeEvent]:
    """Identity and position anomalies on cleaned tracks (isolated spikes were already dropped);
    see the module docstring for each subtype. The GLOBE mask has no inland waters, so vessels on
    rivers, canals and lakes (Mississippi, Columbia, Great Lakes, Caspian) are flagged ``on_land``
    too and need ``shore=None`` or a finer mask there."""
    shore = resolve_shore(shore)
    inland = shore is not None and hasattr(shore, "distance_inland_m")
    land_rule = f"on land >= {min_inland_km:g} km behind the coast" if inland else "on the land mask"
    definition = (
        f"identity/spoofing: teleport = step implying > {max_speed_kn:g} kn; impossible_speed = SOG > "
        f"{max_reported_sog_kn:g} kn; on_land = position {land_rule}; shared_mmsi = one "
        "MMSI broadcast by two ships (alternating far-apart positions); circle = positions on one "
        f"circle (RMS residual <= 15 % of a 0.05-20 km radius) for >= {circle_min_duration_s / 3600:g} h "
        f"and >= {circle_min_turns:g} turns; mass_jump = >= {mass_jump_min_vessels} vessels teleporting "
        f"to within {mass_jump_radius_m / 1000:g} km of one point within {mass_jump_window_s / 3600:g} h; "
        "(0,0) positions are bad_position/null_island, not spoofing" + _shore_note(shore)
    )
    p = tracks.positions
    out: list[MaritimeEvent] = []

    def spoof(subtype: str, a: int, b: int, at: int, area_rows, **details) -> None:
        """A spoofing event over rows a..b placed at row `at`, its area around `area_rows`."""
        details["area_wkt"] = _wkt(area_polygon(p.lat_deg[area_rows], p.lon_deg[area_rows], 500.0))
        out.append(
            MaritimeEvent(
                "spoofing",
                int(p.mmsi[a]),
                p.time_utc[a],
                p.time_utc[b],
                float(p.lat_deg[at]),
                float(p.lon_deg[at]),
                subtype=subtype,
                details=details,
                definition=definition,
            )
        )

    bad = null_island(p.lat_deg, p.lon_deg)
    s, e = _runs(bad, tracks.vessel)
    for a, b in zip(s, e, strict=True):
        out.append(
            MaritimeEvent(
                "bad_position",
                int(p.mmsi[a]),
                p.time_utc[a],
                p.time_utc[b],
                float(p.lat_deg[a]),
                float(p.lon_deg[a]),
                subtype="null_island",
                details={"positions": int(b - a + 1)},
                definition="bad position: reported (0, 0) (no GNSS fix), left out of the spoofing checks",
            )
        )
    good = np.flatnonzero(~bad)
    vg = tracks.vessel[good]
    teleports: list[tuple[int, int, int]] = []
    if len(good) >= 2:
        i0, i1 = good[:-1], good[1:]
        same = vg[1:] == vg[:-1]
        d = haversine_m(p.lat_deg[i0], p.lon_deg[i0], p.lat_deg[i1], p.lon_deg[i1])
        dt = (p.time_utc[i1] - p.time_utc[i0]).astype("int64") / 1e9
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(dt > 0, d / dt / (METERS_PER_NM / 3600), np.where(d > 1, np.inf, 0))
        for k in np.flatnonzero(same & (v > max_speed_kn)):
            a, b = int(i0[k]), int(i1[k])
            teleports.append((a, b, int(tracks.vessel[a])))
            spoof(
                "teleport",
                a,
                b,
                b,
                [b],
                jump_km=round(float(d[k]) / 1000, 3),
                implied_speed_kn=float(min(v[k], 1e9)),
                dt_s=float(dt[k]),
                from_lat_deg=float(p.lat_deg[a]),
                from_lon_deg=float(p.lon_deg[a]),
            )
    for k in good[p.sog_kn[good] > max_reported_sog_kn]:
        spoof("impossible_speed", int(k), int(k), int(k), [k], sog_kn=float(p.sog_kn[k]))
    if shore is not None and len(p):
        on_land = np.zeros(len(p), bool)
        on_land[good] = shore.is_land(p.lat_deg[good], p.lon_deg[good])
        if inland and on_land.any():
            deep = shore.distance_inland_m(p.lat_deg[on_land], p.lon_deg[on_land])  # type: ignore[attr-defined]
            on_land[np.flatnonzero(on_land)] = deep >= min_inland_km * 1000.0
        s, e = _runs(on_land, tracks.vessel)
        for a, b in zip(s, e, strict=True):
            spoof("on_land", int(a), int(b), int(a), slice(a, b + 1), positions=int(b - a + 1))
    for m in tracks.report.shared_mmsi:
        rows = np.flatnonzero((p.mmsi == m) & ~bad)
        if len(rows) == 0 or len(np.unique(tracks.vessel[rows])) < 2:
            continue  # the "second ship" was only (0, 0) reports: bad positions, not a shared MMSI
        spoof("shared_mmsi", int(rows[0]), int(rows[-1]), int(rows[0]), rows, positions=len(rows))
    if circles:
        out += detect_circles(
            tracks,
            min_duration_s=circle_min_duration_s,
            min_turns=circle_min_turns,
            keep=~bad,
            definition=definition,
        )
    out += _mass_jumps(
        teleports,
        tracks,
        radius_m=mass_jump_radius_m,
        window_s=mass_jump_window_s,
        min_vessels=mass_jump_min_vessels,
        definition=definition,
    )
    return out
