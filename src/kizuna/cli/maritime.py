"""`kizuna ais ...`, `kizuna sar ...`, `kizuna dark`: wiring only, analyses live in kizuna.maritime.

Every option is checked (kizuna.cli._common) before a file is read or a store opened, so a bad value
ends in one line and exit 2, and a bad --map or --output is refused before the work, not after it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from kizuna.cli._common import (
    Column,
    DbOption,
    ForceOption,
    check_choice,
    check_number,
    count,
    emit_rows,
    fail,
    input_file,
    iso,
    note,
    open_store,
    optional_time,
    optional_window,
    out,
    output_file,
    parse_bbox,
    parse_time,
    positive,
    print_json,
    progress,
    text_file,
    warn,
)
from kizuna.errors import KizunaError

ais_app = typer.Typer(
    help="AIS: load NMEA/CSV, list events (gap, encounter, loitering, spoofing).", no_args_is_help=True
)
sar_app = typer.Typer(help="SAR ship detection (CFAR) and synthetic scenes.", no_args_is_help=True)

MAP_FORMATS = ("table", "csv", "json", "geojson")
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv, json or geojson")]
MapOption = Annotated[Path | None, typer.Option("--map", help="write a PNG map here")]

# Bounds that keep a run finite and meaningful; beyond them the analysis has no useful answer.
MAX_GATE_M = 100_000.0  # a 100 km match gate already pairs unrelated ships
MAX_SCENE_PX = 8192  # 8192^2 float64 = 512 MiB per synthetic image layer
MAX_SHIPS = 10_000
MAX_CFAR_HALF_WIDTH_PX = 1000


def register(app: typer.Typer) -> None:
    app.add_typer(ais_app, name="ais")
    app.add_typer(sar_app, name="sar")
    app.command("dark")(dark)


def _ais_store(db: str | None, *, must_exist: bool):  # noqa: ANN202 - AisStore, imported lazily
    from kizuna.store.ais_store import AisStore

    try:
        return AisStore(open_store(db, must_exist=must_exist))
    except KizunaError as exc:
        fail(exc)


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path)
    plt.close(fig)
    note(f"map written to {path}")


# ---------------------------------------------------------------- ais
@ais_app.command("load")
def ais_load(
    files: Annotated[list[Path], typer.Argument(help="AIS NMEA (AIVDM, tag blocks, $PGHP) or CSV")],
    db: DbOption = None,
    max_errors: Annotated[int, typer.Option(help="errors listed (all are counted)")] = 200,
    strict: Annotated[bool, typer.Option(help="exit 2 when any line was rejected")] = False,
) -> None:
    """Stream files into the store in chunks. Prints a JSON summary with every issue's file and line.

    Exit 0 when anything was stored (or already was), 2 when nothing could be (or, with --strict,
    when any line was rejected).
    """
    from kizuna.store.ais_store import AisLoadSummary

    count(max_errors, "--max-errors", minimum=0)
    for path in files:
        text_file(path, "FILES")
    store = _ais_store(db, must_exist=False)
    summary = AisLoadSummary()
    with progress() as bar:
        for path in files:
            task = bar.add_task(f"loading {path.name}", total=path.stat().st_size)
            store.load_file(path, summary, progress=lambda done, total, t=task: bar.update(t, completed=done))
    print_json(summary.as_dict(max_errors))
    accepted = summary.positions_loaded + summary.positions_duplicate + summary.statics > 0
    raise typer.Exit(0 if accepted and not (strict and summary.issues) else 2)


def _event_row(d: dict[str, Any]) -> dict[str, Any]:
    """An event flattened for a table or CSV (details as one k=v cell)."""
    details = d.get("details") or {}
    return {
        "type": f"{d['type']}{'/' + d['subtype'] if d['subtype'] else ''}",
        "mmsi": d["mmsi"],
        "other_mmsi": d["other_mmsi"],
        "start_utc": d["start_utc"],
        "end_utc": d["end_utc"],
        "duration_s": d["duration_s"],
        "lat_deg": d["lat_deg"],
        "lon_deg": d["lon_deg"],
        "details": "; ".join(f"{k}={v}" for k, v in details.items()),
    }


EVENT_COLUMNS = (
    Column("type", "type"),
    Column("mmsi", "mmsi"),
    Column("other", "other_mmsi"),
    Column("start (UTC)", "start_utc", lambda v: str(v)[:19]),
    Column("end (UTC)", "end_utc", lambda v: str(v)[:19]),
    Column("hours", "duration_s", lambda v: f"{v / 3600:.2f}", "right"),
    Column("lat", "lat_deg", lambda v: f"{v:.4f}", "right"),
    Column("lon", "lon_deg", lambda v: f"{v:.4f}", "right"),
    Column("details", "details"),
)


@ais_app.command("events")
def ais_events(
    types: Annotated[
        list[str] | None, typer.Option("--type", help="gap|encounter|loitering|spoofing (repeat)")
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N degrees")] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 (offsets accepted; naive is UTC)")] = None,
    stop: Annotated[str | None, typer.Option(help="ISO-8601 (offsets accepted; naive is UTC)")] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    map_png: MapOption = None,
    force: ForceOption = False,
    no_shore: Annotated[
        bool,
        typer.Option(
            "--no-shore",
            help="skip the distance-from-shore and on-land conditions (default: GLOBE 1-km land mask)",
        ),
    ] = False,
) -> None:
    """Events with Global Fishing Watch definitions (stated in the output) on stored AIS."""
    from kizuna.maritime.events import EVENT_TYPES, detect_events, event_dict
    from kizuna.maritime.tracks import clean_tracks

    check_choice(fmt, "--format", MAP_FORMATS)
    wanted = types or list(EVENT_TYPES)
    for t in wanted:
        check_choice(t, "--type", EVENT_TYPES)
    box = parse_bbox(bbox)
    t0, t1 = optional_window(optional_time(start, "--start"), optional_time(stop, "--stop"))
    output_file(map_png, "--map", force=force)
    store = _ais_store(db, must_exist=True)
    pos = store.positions(bbox=box, start=t0, stop=t1)
    tracks = clean_tracks(pos)
    shore = None
    if not no_shore and {"gap", "loitering", "spoofing"} & set(wanted):
        from kizuna.maritime.shore import default_shore, preload

        shore = default_shore()
        note("loading the GLOBE land mask (once per run)")
        preload()
    events = detect_events(tracks, wanted, shore=shore)
    if map_png:
        from kizuna.plots.maritime import maritime_map

        _save(maritime_map(positions=tracks.positions, events=events, title="AIS tracks and events"), map_png)
    dicts = [event_dict(e) for e in events]
    definitions = sorted({e.definition for e in events})
    if fmt == "geojson":
        print_json(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [d["lon_deg"], d["lat_deg"]]},
                        "properties": {k: v for k, v in d.items() if k not in ("lat_deg", "lon_deg")},
                    }
                    for d in dicts
                ],
            }
        )
        return
    parameters = {
        "types": wanted,
        "bbox": list(box) if box else None,
        "start_utc": iso(t0) if t0 else None,
        "stop_utc": iso(t1) if t1 else None,
        "shore_conditions": shore is not None,
        "positions": len(pos),
    }
    emit_rows(
        dicts if fmt == "json" else [_event_row(d) for d in dicts],
        EVENT_COLUMNS,
        fmt,
        title=f"{len(events)} events from {len(pos)} positions",
        parameters=parameters,
        key="events",
        extra={"positions": len(pos), "cleaning": tracks.report.as_dict(), "definitions": definitions},
    )
    for definition in definitions:
        if fmt == "table":
            out.print(f"[dim]{definition}[/]")
        elif fmt == "csv":
            note(definition)


# ---------------------------------------------------------------- sar
DETECTION_COLUMNS = (
    Column("id", "detection_id"),
    Column("lat", "lat_deg", lambda v: f"{v:.5f}", "right"),
    Column("lon", "lon_deg", lambda v: f"{v:.5f}", "right"),
    Column("length [m]", "length_m", lambda v: f"{v:.0f}", "right"),
    Column("confidence", "confidence", lambda v: f"{v:.3f}", "right"),
    Column("peak SCR [dB]", "peak_scr_db", lambda v: f"{v:.1f}", "right"),
    Column("pixels", "n_pixels", str, "right"),
)


@sar_app.command("detect")
def sar_detect(
    image: Annotated[
        Path, typer.Argument(help="calibrated SAR GeoTIFF (intensity, or amplitude with --amplitude)")
    ],
    pfa: Annotated[float, typer.Option(help="false-alarm probability per pixel (1e-15 to 0.1)")] = 1e-7,
    method: Annotated[str, typer.Option(help="ca (cell averaging) or os (order statistic)")] = "ca",
    clutter: Annotated[str, typer.Option(help="exponential or k")] = "k",
    guard: Annotated[int, typer.Option(help="guard half-width [px]")] = 16,
    background: Annotated[int, typer.Option(help="background outer half-width [px], > --guard")] = 26,
    amplitude: Annotated[bool, typer.Option(help="image holds amplitude (squared before CFAR)")] = False,
    fmt: FormatOption = "table",
    output: Annotated[Path | None, typer.Option(help="write GeoJSON here")] = None,
    map_png: MapOption = None,
    force: ForceOption = False,
) -> None:
    """CFAR ship detection; positions from the image geotransform."""
    from kizuna.formats.sar import read_sar_geotiff, scene_lonlat
    from kizuna.maritime.cfar import CfarConfig, cfar, detections_from

    check_choice(fmt, "--format", MAP_FORMATS)
    check_number(pfa, "--pfa", minimum=1e-15, maximum=0.1)
    check_choice(method, "--method", ("ca", "os"))
    check_choice(clutter, "--clutter", ("exponential", "k"))
    count(guard, "--guard", minimum=0, maximum=MAX_CFAR_HALF_WIDTH_PX)
    count(background, "--background", minimum=guard + 1, maximum=MAX_CFAR_HALF_WIDTH_PX)
    input_file(image, "IMAGE")
    output_file(output, "--output", force=force)
    output_file(map_png, "--map", force=force)
    if output is not None and map_png is not None and output.resolve() == map_png.resolve():
        fail(f"--output and --map are the same file ({output})")
    try:
        scene = read_sar_geotiff(image, amplitude=amplitude or None)
        cfg = CfarConfig(
            pfa=pfa, guard=guard, background=background, method=method, clutter=clutter, min_pixels=2
        )
        res = cfar(scene.intensity, cfg, land=scene.land)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    dets = detections_from(
        res,
        scene.intensity,
        lambda r, c: scene_lonlat(scene, r, c),
        scene.pixel_size_m,
        time_utc=scene.time_utc,
    )
    gj = _detections_geojson(dets, synthetic=scene.synthetic)
    if output:
        output.write_text(json.dumps(gj, indent=2))
    if map_png:
        from kizuna.model.maritime import DarkVesselResult
        from kizuna.plots.maritime import maritime_map

        empty = np.zeros(0)
        dv = DarkVesselResult(
            np.datetime64("NaT", "ns"),
            0.0,
            [],
            list(range(len(dets))),
            [],
            dets,
            empty.astype(np.int64),
            empty,
            empty,
            empty.astype("U1"),
        )
        _save(
            maritime_map(
                dark=dv,
                image=scene.intensity,
                image_extent=scene.footprint(),
                title=f"CFAR detections: {image.name}",
                synthetic_note="SYNTHETIC scene" if scene.synthetic else None,
            ),
            map_png,
        )
    parameters = {
        "image": str(image),
        "pfa": pfa,
        "method": method,
        "clutter": clutter,
        "guard_px": guard,
        "background_px": background,
        "amplitude": amplitude,
        "synthetic_image": scene.synthetic,
    }
    if fmt == "geojson":
        print_json(gj)
        return
    if fmt == "json":  # GeoJSON with the run's parameters as a foreign member
        print_json({**gj, "parameters": parameters})
        return
    emit_rows(
        [
            {
                "detection_id": d.detection_id,
                "lat_deg": d.lat_deg,
                "lon_deg": d.lon_deg,
                "length_m": d.length_m,
                "confidence": d.confidence,
                "peak_scr_db": d.peak_scr_db,
                "n_pixels": d.n_pixels,
            }
            for d in dets
        ],
        DETECTION_COLUMNS,
        fmt,
        title=f"{len(dets)} detections in {image.name}" + (" (SYNTHETIC)" if scene.synthetic else ""),
        parameters=parameters,
    )


@sar_app.command("scene")
def sar_scene(
    output: Annotated[Path, typer.Argument(help="GeoTIFF to write")],
    seed: Annotated[int, typer.Option(help="random seed (>= 0)")] = 0,
    size: Annotated[int, typer.Option(help=f"pixels per side (32 to {MAX_SCENE_PX})")] = 1024,
    ships: Annotated[int, typer.Option(help="ships placed at random")] = 10,
    nu: Annotated[float, typer.Option(help="K shape (texture), > 0")] = 4.0,
    time: Annotated[str, typer.Option(help="image time, ISO-8601")] = "2026-06-01T01:30:00Z",
    force: ForceOption = False,
) -> None:
    """Write a SYNTHETIC K-clutter scene with ships (truth printed as JSON)."""
    from kizuna.formats.sar import write_scene_geotiff
    from kizuna.maritime.scene import ShipTruth, synthetic_scene

    count(seed, "--seed", minimum=0, maximum=2**32 - 1)
    count(size, "--size", minimum=32, maximum=MAX_SCENE_PX)
    count(ships, "--ships", minimum=0, maximum=MAX_SHIPS)
    positive(nu, "--nu", maximum=1e6)
    image_time = parse_time(time, "--time")
    output_file(output, "OUTPUT", force=force)
    rng = np.random.default_rng(seed)
    # ships on a jittered grid so that no two overlap (truth stays unambiguous)
    side = int(np.ceil(np.sqrt(max(ships, 1))))
    cell_m = size * 10.0 * 0.8 / side
    m_per_deg = 111_195.0
    truth = []
    for k in range(ships):
        r, c = divmod(k, side)
        north = (r - (side - 1) / 2) * cell_m + rng.uniform(-0.2, 0.2) * cell_m
        east = (c - (side - 1) / 2) * cell_m + rng.uniform(-0.2, 0.2) * cell_m
        truth.append(
            ShipTruth(
                35.0 + north / m_per_deg,
                139.8 + east / (m_per_deg * np.cos(np.radians(35.0))),
                float(rng.uniform(50, 250)),
                20.0,
                float(rng.uniform(0, 180)),
            )
        )
    scene = synthetic_scene((size, size), ships=truth, nu=nu, time_utc=image_time, seed=seed)
    write_scene_geotiff(output, scene)
    print_json({"synthetic": True, "ships": [dataclasses.asdict(s) for s in truth]})


# ---------------------------------------------------------------- dark
DARK_COLUMNS = (
    Column("detection", "detection_id"),
    Column("lat", "lat_deg", lambda v: f"{v:.5f}", "right"),
    Column("lon", "lon_deg", lambda v: f"{v:.5f}", "right"),
    Column("length [m]", "length_m", str, "right"),
    Column("confidence", "confidence", str, "right"),
)


def dark(
    detections: Annotated[
        Path,
        typer.Option(
            "--detections", help="detections CSV or GeoJSON (e.g. from `kizuna sar detect --output`)"
        ),
    ],
    time: Annotated[str, typer.Option("--time", help="image time, ISO-8601")],
    ais: Annotated[list[Path] | None, typer.Option("--ais", help="AIS files (else the store)")] = None,
    gate_m: Annotated[float, typer.Option("--gate-m", help="matching gate [m]")] = 1000.0,
    bbox: Annotated[str | None, typer.Option(help="footprint W,S,E,N (default: detections' box)")] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    map_png: MapOption = None,
    force: ForceOption = False,
) -> None:
    """Match SAR detections with AIS at the image time; list dark-vessel candidates."""
    from kizuna.formats.ais import read_ais_file, split_records
    from kizuna.formats.sar import read_detections
    from kizuna.maritime.dark import dark_geojson, dark_product, find_dark_vessels
    from kizuna.model.maritime import PositionArrays

    check_choice(fmt, "--format", MAP_FORMATS)
    t = parse_time(time, "--time")
    positive(gate_m, "--gate-m", maximum=MAX_GATE_M, unit="m")
    footprint = parse_bbox(bbox)
    text_file(detections, "--detections")
    for path in ais or []:
        text_file(path, "--ais")
    output_file(map_png, "--map", force=force)
    res = read_detections(detections)
    for issue in res.issues[:20]:
        warn(issue)
    if not res.records and res.issues:
        fail(f"--detections {detections}: no detection could be read ({len(res.issues)} problems)")
    if ais:
        recs = []
        for path in ais:
            r = read_ais_file(path)
            recs += r.records
            for issue in r.issues[:20]:
                warn(issue)
        pos = PositionArrays.from_records(split_records(recs)[0])
    else:
        pos = _ais_store(db, must_exist=True).positions()
    result = find_dark_vessels(
        res.records, pos, np.datetime64(t.replace(tzinfo=None), "ns"), gate_m=gate_m, footprint=footprint
    )
    if map_png:
        from kizuna.plots.maritime import maritime_map

        _save(
            maritime_map(positions=pos, dark=result, footprint=footprint, title="Dark-vessel candidates"),
            map_png,
        )
    if fmt == "geojson":
        print_json(dark_geojson(result))
        return
    prod = dark_product(result, source=str(detections))
    parameters = {
        "image_time_utc": iso(t),
        "gate_m": gate_m,
        "bbox": list(footprint) if footprint else None,
        "ais": [str(p) for p in ais] if ais else "store",
    }
    if fmt == "json":
        print_json({**prod, "parameters": parameters})
        return
    if fmt == "table":
        c = prod["counts"]
        out.print(
            f"detections {c['detections']}, matched to AIS {c['matched']}, dark candidates "  # type: ignore[index]
            f"{c['dark_candidates']}, AIS in footprint not detected {c['ais_not_detected']}"  # type: ignore[index]
        )
    emit_rows(
        prod["dark_candidates"],  # type: ignore[arg-type]
        DARK_COLUMNS,
        fmt,
        title="Dark-vessel candidates" + (" (SYNTHETIC image)" if prod.get("synthetic_image") else ""),
        parameters=parameters,
    )


def _detections_geojson(dets: Any, synthetic: bool) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "properties": {"synthetic_image": synthetic},
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [d.lon_deg, d.lat_deg]},
                "properties": {
                    "detection_id": d.detection_id,
                    "length_m": d.length_m,
                    "confidence": d.confidence,
                    "peak_scr_db": d.peak_scr_db,
                    "time_utc": d.time_utc.strftime("%Y-%m-%dT%H:%M:%SZ") if d.time_utc else None,
                },
            }
            for d in dets
        ],
    }


from kizuna.cli import maritime_stream as _maritime_stream  # noqa: E402, F401 - registers `ais stream`
