"""A planted AIS scenario for the interference detectors: normal traffic, one spoofing circle, one
jammed area, all with known truth (SYNTHETIC; built here so every number can be checked by hand).

Traffic moves on straight lines off the Caucasus Black Sea coast and reports every 60 s with a few
seconds of jitter and 5 % of reports lost. Then:

- spoofing: from SPOOF_START to SPOOF_STOP, SPOOF_VESSELS vessels report positions on a circle of
  SPOOF_RADIUS_M around SPOOF_CENTRE, evenly spread and going round it at 10 kn, while their true
  tracks go on 20 to 120 km away (they jump onto the circle and back);
- jamming: from JAM_START to JAM_STOP, every vessel of a group sailing inside JAM_RADIUS_M of
  JAM_CENTRE either stops reporting (even-numbered) or repeats its last position with its SOG
  (odd-numbered), and resumes at its true position afterwards.
"""

from __future__ import annotations

import numpy as np

from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import PositionArrays

T0 = np.datetime64("2024-03-01T00:00:00", "ns")
HOURS = 12
STEP_S = 60.0
SPOOF_CENTRE = (44.5500, 38.0500)  # deg
SPOOF_RADIUS_M = 1500.0
SPOOF_START, SPOOF_STOP = T0 + np.timedelta64(3, "h"), T0 + np.timedelta64(5, "h")
SPOOF_VESSELS = 8
JAM_CENTRE = (43.9000, 36.8000)
JAM_RADIUS_M = 25_000.0
JAM_START, JAM_STOP = T0 + np.timedelta64(7, "h"), T0 + np.timedelta64(9, "h")
JAM_VESSELS = 12
BACKGROUND_VESSELS = 40
NOISE_M = 10.0


def _offset(lat: np.ndarray, lon: np.ndarray, north_m: np.ndarray, east_m: np.ndarray):
    return (
        lat + np.degrees(north_m / EARTH_MEAN_RADIUS_M),
        lon + np.degrees(east_m / (EARTH_MEAN_RADIUS_M * np.cos(np.radians(lat)))),
    )


def planted(
    seed: int = 7, *, spoof: bool = True, jam: bool = True, point: bool = False, quality_bits: bool = False
) -> tuple[PositionArrays, dict]:
    """Positions and the truth: {"spoof_mmsi": [...], "jam_frozen": [...], "jam_silent": [...]}.

    Every reported position carries GNSS noise of 10 m (1 sigma per axis) except repeats of a frozen
    fix, which a receiver without a new fix sends unchanged. With `point`, the spoofed vessels all
    report SPOOF_CENTRE (each with its own noise) instead of going round the circle. Each vessel
    keeps its own position-accuracy and RAIM bits (70 % high accuracy); with `quality_bits`, the
    jammed group keeps reporting its true positions and only loses its quality bits (accuracy high
    to low, RAIM flipped) while jammed, a receiver still tracking through a degraded fix."""
    rng = np.random.default_rng(seed)
    n_times = int(HOURS * 3600 / STEP_S)
    parts = []
    truth: dict[str, list[int]] = {"spoof_mmsi": [], "jam_frozen": [], "jam_silent": [], "jam_flags": []}

    def track(mmsi: int, lat0: float, lon0: float, speed_kn: float, course_deg: float):
        t_s = np.arange(n_times) * STEP_S + rng.uniform(0, 5, n_times)
        keep = rng.random(n_times) > 0.05
        t_s = t_s[keep]
        d = speed_kn * KN_TO_MS * t_s
        c = np.radians(course_deg)
        north = d * np.cos(c) + rng.normal(0, NOISE_M, len(t_s))
        east = d * np.sin(c) + rng.normal(0, NOISE_M, len(t_s))
        lat, lon = _offset(np.full(len(t_s), lat0), np.full(len(t_s), lon0), north, east)
        accuracy, raim = int(rng.random() < 0.7), int(rng.random() < 0.5)
        return {
            "accuracy": np.full(len(t_s), accuracy),
            "raim": np.full(len(t_s), raim),
            "mmsi": np.full(len(t_s), mmsi),
            "t": T0 + (t_s * 1e9).astype("timedelta64[ns]"),
            "lat": lat,
            "lon": lon,
            "sog": np.full(len(t_s), speed_kn),
            "cog": np.full(len(t_s), course_deg),
        }

    mmsi = 273_000_000
    # background traffic, kept away from the jammed area (it would be jammed too)
    for _ in range(BACKGROUND_VESSELS):
        mmsi += 1
        lat0, lon0 = rng.uniform(44.2, 45.0), rng.uniform(36.2, 39.0)
        parts.append(track(mmsi, lat0, lon0, rng.uniform(8, 15), rng.uniform(0, 360)))
    # spoofed vessels: background-like tracks, then the circle between the spoof times
    for i in range(SPOOF_VESSELS if spoof else 0):
        mmsi += 1
        bearing = 2 * np.pi * i / SPOOF_VESSELS
        dist = rng.uniform(20_000, 120_000)
        lat0, lon0 = _offset(
            np.array(SPOOF_CENTRE[0]),
            np.array(SPOOF_CENTRE[1]),
            dist * np.cos(bearing),
            dist * np.sin(bearing),
        )
        tr = track(mmsi, float(lat0), float(lon0), rng.uniform(8, 12), rng.uniform(0, 360))
        on = (tr["t"] >= SPOOF_START) & (tr["t"] < SPOOF_STOP)
        t_on = (tr["t"][on] - T0).astype("int64") / 1e9
        angle = bearing + (10 * KN_TO_MS / SPOOF_RADIUS_M) * t_on
        radius = 0.0 if point else SPOOF_RADIUS_M
        lat, lon = _offset(
            np.full(on.sum(), SPOOF_CENTRE[0]),
            np.full(on.sum(), SPOOF_CENTRE[1]),
            radius * np.cos(angle) + rng.normal(0, NOISE_M, on.sum()),
            radius * np.sin(angle) + rng.normal(0, NOISE_M, on.sum()),
        )
        tr["lat"][on], tr["lon"][on] = lat, lon
        parts.append(tr)
        truth["spoof_mmsi"].append(mmsi)
    # the jammed group: slow vessels inside the area the whole time
    for i in range(JAM_VESSELS):
        mmsi += 1
        r, b = rng.uniform(10_000, 15_000), rng.uniform(0, 2 * np.pi)
        lat0, lon0 = _offset(np.array(JAM_CENTRE[0]), np.array(JAM_CENTRE[1]), r * np.cos(b), r * np.sin(b))
        course = np.degrees(b + np.pi) % 360  # heading across the area, so it stays inside for 12 h
        tr = track(mmsi, float(lat0), float(lon0), rng.uniform(1.5, 2.0), course)
        tr["accuracy"][:] = 1
        if jam:
            during = (tr["t"] >= JAM_START) & (tr["t"] < JAM_STOP)
            if quality_bits:
                tr["accuracy"][during] = 0
                tr["raim"][during] = 1 - tr["raim"][during]
                truth["jam_flags"].append(mmsi)
            elif i % 2 == 0:
                tr = {k: v[~during] for k, v in tr.items()}
                truth["jam_silent"].append(mmsi)
            else:
                last = np.flatnonzero(tr["t"] < JAM_START)[-1]
                tr["lat"][during], tr["lon"][during] = tr["lat"][last], tr["lon"][last]
                truth["jam_frozen"].append(mmsi)
        parts.append(tr)
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = len(cat["mmsi"])
    order = np.argsort(cat["t"], kind="stable")  # arrival order, as a receiver would log it
    positions = PositionArrays(
        cat["mmsi"][order],
        cat["t"][order],
        cat["lat"][order],
        cat["lon"][order],
        cat["sog"][order],
        cat["cog"][order],
        np.full(n, np.nan),
        cat["accuracy"][order],
        cat["raim"][order],
    )
    return positions, truth
