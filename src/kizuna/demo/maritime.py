"""Maritime part of `make demo`: bundled real AIS, events, a SYNTHETIC SAR scene, dark vessels, a map.

The scene is synthetic (no real SAR image can be bundled). Its AIS-carrying ships stand at the last
reported positions of the real vessels of the bundled pyais sample inside the scene (the Saronic
Gulf off Piraeus); that sample has no receive times, so the demo takes each real position as the
ship's position at the (made-up) image time and writes an AIS report 4 minutes earlier,
back-propagated with the vessel's own SOG/COG. Six dark ships (no AIS) are added at seeded random
sea positions. The scene itself has no land; the AIS events use the default GLOBE land mask
(:mod:`kizuna.maritime.shore`) for their shore and on-land conditions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from kizuna.store import CatalogStore

IMAGE_TIME = datetime(2026, 6, 1, 4, 10, tzinfo=UTC)
BOX = (23.5, 37.9, 23.7, 38.1)  # W, S, E, N: densest 0.2 deg box of the bundled sample
PIXEL_M = 20.0
SEED = 20260601


def bundled_ais_files() -> list[Path]:
    root = resources.files("kizuna") / "data" / "ais"
    return sorted(
        Path(str(p))
        for p in root.iterdir()
        if p.name.endswith((".txt", ".log", ".nmea")) and not p.name.startswith(("LICENSE", "NOTICE"))
    )


def run_demo(store: CatalogStore, out_dir: Path, console: Console) -> None:
    from kizuna.formats.ais import read_ais_file, split_records
    from kizuna.formats.sar import write_scene_geotiff
    from kizuna.maritime.cfar import CfarConfig, cfar, detections_from
    from kizuna.maritime.dark import dark_geojson, dark_product, find_dark_vessels
    from kizuna.maritime.events import detect_events, event_dict
    from kizuna.maritime.scene import ShipTruth, synthetic_scene
    from kizuna.maritime.tracks import clean_tracks
    from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
    from kizuna.model.maritime import PositionArrays, VesselPosition
    from kizuna.plots.maritime import maritime_map
    from kizuna.store.ais_store import AisLoadSummary, AisStore

    out_dir.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]Maritime: AIS, events, SAR dark vessels")
    ais = AisStore(store)
    summary = AisLoadSummary()
    files = bundled_ais_files()
    for f in files:
        ais.load_file(f, summary)
    console.print(
        f"Loaded bundled real AIS ({', '.join(f.name for f in files)}): "
        f"{summary.positions_loaded} timed positions stored, {summary.positions_untimed} untimed "
        f"(no receive time in the source), {summary.statics} vessels with static data, "
        f"{len(summary.issues)} bad lines reported (e.g. {summary.issues[0] if summary.issues else '-'})"
    )

    untimed: list[VesselPosition] = []
    for f in files:
        untimed += split_records(read_ais_file(f).records)[0]
    stored = ais.positions()
    tracks = clean_tracks(stored)
    from kizuna.maritime.shore import default_shore, preload

    with console.status("loading the GLOBE 1-km land mask for the shore conditions"):
        preload()
    events = detect_events(tracks, shore=default_shore())
    console.print(f"[dim]Shore model: {default_shore().description}[/]")
    table = Table(title=f"AIS events on the stored sample ({len(stored)} timed positions)")
    for col in ("type", "mmsi", "start (UTC)", "end (UTC)", "details"):
        table.add_column(col)
    for ev in map(event_dict, events):
        table.add_row(
            f"{ev['type']}/{ev['subtype']}" if ev["subtype"] else f"{ev['type']}",
            str(ev["mmsi"]),
            str(ev["start_utc"]),
            str(ev["end_utc"]),
            json.dumps(ev["details"]),
        )
    console.print(table)
    if not events:
        console.print(
            "[dim]No events: the bundled sample's timed part spans minutes, too short for GFW gap, "
            "encounter or loitering definitions (12 h / 2 h / 1 h).[/]"
        )

    # ---- SYNTHETIC SAR scene built around the real positions in BOX
    w, s, e, n = BOX
    last: dict[int, VesselPosition] = {}
    for p in untimed:
        if s <= p.lat_deg <= n and w <= p.lon_deg <= e:
            last[p.mmsi] = p
    rng = np.random.default_rng(SEED)
    ships: list[ShipTruth] = []
    reports = []
    for mmsi, p in sorted(last.items()):
        ships.append(
            ShipTruth(
                p.lat_deg,
                p.lon_deg,
                float(rng.uniform(60, 220)),
                20.0,
                float(np.nan_to_num(p.cog_deg, nan=0.0)),
                20.0,
                mmsi,
            )
        )
        sog = 0.0 if np.isnan(p.sog_kn) else p.sog_kn
        cog = np.radians(0.0 if np.isnan(p.cog_deg) else p.cog_deg)
        back = -240.0 * sog * KN_TO_MS
        lat = p.lat_deg + np.degrees(back * np.cos(cog) / EARTH_MEAN_RADIUS_M)
        lon = p.lon_deg + np.degrees(
            back * np.sin(cog) / (EARTH_MEAN_RADIUS_M * np.cos(np.radians(p.lat_deg)))
        )
        reports.append((mmsi, lat, lon, sog, np.degrees(cog)))
    for _ in range(6):
        ships.append(
            ShipTruth(
                float(rng.uniform(s + 0.01, n - 0.01)),
                float(rng.uniform(w + 0.01, e - 0.01)),
                float(rng.uniform(40, 180)),
                15.0,
                float(rng.uniform(0, 180)),
                20.0,
                None,
            )
        )
    rows = int(round((n - s) * np.pi / 180 * EARTH_MEAN_RADIUS_M / PIXEL_M))
    cols = int(round((e - w) * np.pi / 180 * EARTH_MEAN_RADIUS_M * np.cos(np.radians((s + n) / 2)) / PIXEL_M))
    scene = synthetic_scene(
        (rows, cols),
        pixel_m=PIXEL_M,
        center_lat_deg=(s + n) / 2,
        center_lon_deg=(w + e) / 2,
        ships=ships,
        nu=3.0,
        time_utc=IMAGE_TIME,
        seed=SEED,
    )
    write_scene_geotiff(out_dir / "maritime_synthetic_sar.tif", scene)
    (out_dir / "maritime_synthetic_truth.json").write_text(
        json.dumps(
            {
                "synthetic": True,
                "image_time_utc": IMAGE_TIME.isoformat(),
                "ships": [
                    {"lat_deg": x.lat_deg, "lon_deg": x.lon_deg, "length_m": x.length_m, "mmsi": x.mmsi}
                    for x in ships
                ],
            },
            indent=2,
        )
    )
    res = cfar(scene.intensity, CfarConfig(pfa=1e-7, guard=8, background=14, clutter="k", min_pixels=2))
    dets = detections_from(
        res, scene.intensity, scene.pixel_to_lonlat, scene.pixel_size_m, time_utc=IMAGE_TIME
    )
    console.print(
        f"SYNTHETIC SAR scene {rows} x {cols} px at {PIXEL_M:g} m, K clutter nu=3 (estimated "
        f"{res.k_shape:.2f}), {len(ships)} ships ({len(last)} at real AIS positions, 6 dark); CFAR "
        f"(CA, K model, Pfa 1e-7): {len(dets)} detections"
    )
    t_img = np.datetime64(IMAGE_TIME.replace(tzinfo=None), "ns")
    if reports:
        cols_ = list(zip(*reports, strict=True))
        pos = PositionArrays(
            np.array(cols_[0]),
            np.full(len(reports), t_img - np.timedelta64(240, "s")),
            np.array(cols_[1]),
            np.array(cols_[2]),
            np.array(cols_[3]),
            np.array(cols_[4]),
            np.full(len(reports), np.nan),
        )
    else:
        pos = PositionArrays.empty()
    result = find_dark_vessels(dets, pos, t_img, gate_m=500.0, footprint=scene.footprint())
    product = dark_product(result, source="kizuna demo (SYNTHETIC SAR scene)", synthetic=True)
    (out_dir / "maritime_dark_vessels.geojson").write_text(json.dumps(dark_geojson(result), indent=2))
    (out_dir / "maritime_dark_product.json").write_text(json.dumps(product, indent=2))
    c = product["counts"]
    candidates = product["dark_candidates"]
    # dark_product returns a JSON-ready dict[str, object]: these two entries are a dict and a list
    assert isinstance(c, dict) and isinstance(candidates, list)
    console.print(
        f"Matched to AIS: {c['matched']}, dark-vessel candidates: {c['dark_candidates']}, "
        f"AIS in footprint not detected: {c['ais_not_detected']}"
    )
    dt = Table(title="Dark-vessel candidates (SYNTHETIC image; the 6 planted dark ships are the truth)")
    for col in ("detection", "lat", "lon", "length [m]", "confidence", "nearest planted dark ship [m]"):
        dt.add_column(col)
    dark_truth = [x for x in ships if x.mmsi is None]
    from kizuna.maritime.tracks import haversine_m

    for d in candidates:
        near = min(float(haversine_m(d["lat_deg"], d["lon_deg"], x.lat_deg, x.lon_deg)) for x in dark_truth)
        dt.add_row(
            d["detection_id"],
            f"{d['lat_deg']:.5f}",
            f"{d['lon_deg']:.5f}",
            str(d["length_m"]),
            str(d["confidence"]),
            f"{near:.0f}",
        )
    console.print(dt)
    fig = maritime_map(
        positions=pos,
        dark=result,
        footprint=scene.footprint(),
        image=scene.intensity,
        image_extent=scene.footprint(),
        title=f"Dark-vessel candidates {IMAGE_TIME:%Y-%m-%d %H:%M}Z (Saronic Gulf)",
        synthetic_note="SYNTHETIC SAR scene; AIS positions from the real bundled sample",
    )
    import matplotlib.pyplot as plt

    fig.savefig(out_dir / "maritime_map.png")
    plt.close(fig)
    console.print(f"Map: {out_dir / 'maritime_map.png'}; product: {out_dir / 'maritime_dark_product.json'}")
