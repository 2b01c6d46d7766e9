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
MAX_LAND_MARGIN_M = 20_000.0  # beyond 20 km the "sea" left is no longer coastal waters
MAX_TIME_TOLERANCE_S = 86_400.0


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
# What a directory argument loads: its regular files with these suffixes, by name, not recursing.
AIS_FILE_SUFFIXES = (".nmea", ".aivdm", ".ais", ".log", ".txt", ".csv")


def _ais_inputs(paths: list[Path], label: str = "FILES") -> list[Path]:
    """Files as given; a directory gives its AIS_FILE_SUFFIXES files sorted by name (``label``
    names the argument in errors)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() in AIS_FILE_SUFFIXES)
            if not found:
                fail(f"{label} {path}: is a directory with no AIS file (*{', *'.join(AIS_FILE_SUFFIXES)})")
            files += found
        else:
            files.append(path)
    for path in files:
        text_file(path, label)
    return files


@ais_app.command("load")
def ais_load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="AIS NMEA (AIVDM, tag blocks, $PGHP, ZDA/RMC/type 4 times) or CSV files; a directory"
            " loads its *.nmea *.aivdm *.ais *.log *.txt *.csv files sorted by name (not recursing)"
        ),
    ],
    db: DbOption = None,
    max_errors: Annotated[int, typer.Option(help="errors listed (all are counted)")] = 200,
    strict: Annotated[bool, typer.Option(help="exit 2 when any line was rejected")] = False,
) -> None:
    """Stream files into the store in chunks. Prints a JSON summary with every issue's file and line.

    Exit 0 when anything was stored (or already was), 2 when nothing could be (or, with --strict,
    when any line was rejected), and 2 when a file's positions all lack a time (no tag block,
    vendor or $PGHP time, and no type 4/11 base-station, ZDA or RMC time before them).
    """
    count(max_errors, "--max-errors", minimum=0)
    paths = _ais_inputs(files)
    store = _ais_store(db, must_exist=False)
    summary = _load_ais(store, paths, keep=False)
    stored = summary.positions_loaded + summary.positions_duplicate
    print_json(summary.as_dict(max_errors))
    if summary.untimed_files:
        fail(_untimed_message(summary))
    accepted = stored + summary.statics > 0
    raise typer.Exit(0 if accepted and not (strict and summary.issues) else 2)


def _untimed_message(summary: Any) -> str:  # noqa: ANN401 - AisLoadSummary, imported lazily
    return (
        f"{', '.join(summary.untimed_files)}: no usable time: {summary.positions_untimed} positions"
        " untimed (no tag-block, vendor or $PGHP time, no type 4/11 base-station, ZDA or RMC time"
        " before them), none stored"
    )


def _load_ais(store: Any, paths: list[Path], *, keep: bool) -> Any:  # noqa: ANN401 - AisStore, AisLoadSummary
    """What `ais load` does with the files (a progress bar per file); exit 2 in one line when
    nothing was stored because no position had a time. ``keep``: keep the stored positions in
    memory for an events pass in this process (:meth:`AisStore.loaded_positions`)."""
    from kizuna.store.ais_store import AisLoadSummary

    summary = AisLoadSummary(kept=store.keep_positions() if keep else None)
    with progress() as bar:
        for path in paths:
            task = bar.add_task(f"loading {path.name}", total=path.stat().st_size)
            store.load_file(path, summary, progress=lambda done, total, t=task: bar.update(t, completed=done))
    if summary.untimed_files and not summary.positions_loaded + summary.positions_duplicate:
        fail(_untimed_message(summary))
    return summary


_PARAMETER_KEYS = frozenset(
    (
        "min_gap_h",
        "min_shore_distance_nm",
        "min_positions_before",
        "positions_window_h",
        "end_offshore_required",
        "reception_filter",
        "max_distance_m",
        "min_duration_h",
        "max_median_speed_kn",
        "min_port_distance_km",
        "max_speed_kn",
        "speed_average",
        "entry_km",
        "exit_km",
        "stop_begin_kn",
        "stop_end_kn",
        "port_gap_h",
    )
)


def _event_row(d: dict[str, Any]) -> dict[str, Any]:
    """An event flattened for a table or CSV (details as one k=v cell; a port visit names its port)."""
    # the rule parameters are in every event's JSON and in the definitions printed under the table
    details = {k: v for k, v in (d.get("details") or {}).items() if k not in _PARAMETER_KEYS}
    kind = f"{d['type']}{'/' + d['subtype'] if d['subtype'] else ''}"
    if d["type"] == "port_visit" and details.get("port_name"):
        details = {"port": details.pop("port_name"), **details}
    return {
        "type": kind,
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

# Bounds for the port/anchorage and GFW-rule options (beyond them a rule means nothing useful).
MAX_PORT_KM = 1000.0  # a 1000 km "port" radius already covers whole seas
MAX_HOURS = 8760.0  # one year
MAX_MIN_POSITIONS = 100_000
MAX_MIN_VESSELS = 1_000_000
MAX_CELL_M = 100_000.0
AnchoragesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--anchorages",
        help="your own ports/anchorages: CSV with lat_deg,lon_deg[,port_id,name,country,kind] or a "
        "World Port Index CSV (repeat)",
    ),
]
NoPortsOption = Annotated[
    bool, typer.Option("--no-ports", help="leave out the bundled NGA World Port Index (3,766 ports)")
]


def _port_points(no_ports: bool, files: list[Path] | None) -> list[Any]:
    """The bundled World Port Index (unless --no-ports) plus the user's port/anchorage files."""
    from kizuna.formats.ports import read_ports_file
    from kizuna.maritime.ports import load_ports

    points = [] if no_ports else load_ports()
    for path in files or []:
        try:
            res = read_ports_file(path)
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--anchorages {path}: {exc}")
        for issue in res.issues[:20]:
            warn(issue)
        if not res.records:
            fail(f"--anchorages {path}: no port or anchorage could be read ({len(res.issues)} problems)")
        points += res.records
    return points


def _pair(text: str) -> tuple[str, str]:
    from kizuna.maritime.events import CLASSES

    parts = text.split("-")
    if len(parts) != 2 or not all(p in CLASSES for p in parts):
        fail(f"--encounter-pair {text!r}: wants CLASS-CLASS with classes from {', '.join(CLASSES)}")
    return parts[0], parts[1]


@ais_app.command("events")
def ais_events(
    types: Annotated[
        list[str] | None,
        typer.Option("--type", help="gap|encounter|loitering|spoofing|port_visit (repeat)"),
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
    no_ports: NoPortsOption = False,
    anchorages: AnchoragesOption = None,
    learn_anchorages: Annotated[
        bool,
        typer.Option(
            "--learn-anchorages",
            help="add anchorages learned from the queried positions (GFW: vessels stationary 12 h in a 500 m cell)",
        ),
    ] = False,
    anchorage_min_vessels: Annotated[
        int, typer.Option(help="distinct vessels a learned anchorage needs (GFW: 20)")
    ] = 20,
    port_exclusion_km: Annotated[
        float,
        typer.Option(help="no encounter/loitering this close to a port or anchorage (GFW: 10; 0 = off)"),
    ] = 10.0,
    port_entry_km: Annotated[float, typer.Option(help="port visit entry distance (GFW: 3)")] = 3.0,
    port_exit_km: Annotated[float, typer.Option(help="port visit exit distance, >= entry (GFW: 4)")] = 4.0,
    port_min_hours: Annotated[float, typer.Option(help="shortest port visit kept (GFW: 3)")] = 3.0,
    gap_min_positions: Annotated[
        int, typer.Option(help="positions a gap needs in the 12 h before it (GFW: 14; 0 = off)")
    ] = 14,
    gap_both_ends: Annotated[
        bool, typer.Option("--gap-both-ends", help="gaps offshore at both ends (GFW: the start only)")
    ] = False,
    loitering_class: Annotated[
        list[str] | None,
        typer.Option(
            "--loitering-class",
            help="vessel classes that can loiter (GFW: carrier; 'any' = all; repeat)",
        ),
    ] = None,
    loitering_per_point: Annotated[
        bool,
        typer.Option("--loitering-per-point", help="test speed at every 10-min point (GFW: hourly averages)"),
    ] = False,
    encounter_pair: Annotated[
        list[str] | None,
        typer.Option("--encounter-pair", help="keep only these class pairs, e.g. carrier-fishing (repeat)"),
    ] = None,
    load: Annotated[
        list[Path] | None,
        typer.Option(
            "--load",
            help="load these AIS files (or directories) first, as `ais load` does, then detect events on"
            " the store; into an empty store, the loaded positions go to the events pass without being"
            " read back (repeat)",
        ),
    ] = None,
) -> None:
    """Events with Global Fishing Watch definitions (stated in the output) on stored AIS.

    Ports and anchorages (the bundled World Port Index, your --anchorages files, and with
    --learn-anchorages those learned from the data) give port visits and exclude encounters and
    loitering near them. Vessel classes come from the stored AIS static data. With --load, the
    files are loaded first (the load's summary is under "load" in JSON output).
    """
    from rich.markup import escape

    from kizuna.maritime.events import CLASSES, EVENT_TYPES, detect_events, event_dict, vessel_classes
    from kizuna.maritime.ports import learn_anchorages as learn
    from kizuna.maritime.tracks import clean_tracks

    check_choice(fmt, "--format", MAP_FORMATS)
    wanted = types or list(EVENT_TYPES)
    for t in wanted:
        check_choice(t, "--type", EVENT_TYPES)
    box = parse_bbox(bbox)
    t0, t1 = optional_window(optional_time(start, "--start"), optional_time(stop, "--stop"))
    count(anchorage_min_vessels, "--anchorage-min-vessels", minimum=1, maximum=MAX_MIN_VESSELS)
    check_number(port_exclusion_km, "--port-exclusion-km", minimum=0.0, maximum=MAX_PORT_KM, unit="km")
    positive(port_entry_km, "--port-entry-km", maximum=MAX_PORT_KM, unit="km")
    positive(port_exit_km, "--port-exit-km", maximum=MAX_PORT_KM, unit="km")
    if port_exit_km < port_entry_km:
        fail(f"--port-exit-km {port_exit_km:g}: must be at least --port-entry-km {port_entry_km:g}")
    check_number(port_min_hours, "--port-min-hours", minimum=0.0, maximum=MAX_HOURS, unit="h")
    count(gap_min_positions, "--gap-min-positions", minimum=0, maximum=MAX_MIN_POSITIONS)
    loiter_classes = loitering_class or ["carrier"]
    for c in loiter_classes:
        check_choice(c, "--loitering-class", (*CLASSES, "any"))
    pairs = [_pair(p) for p in encounter_pair or []]
    for path in anchorages or []:
        text_file(path, "--anchorages")
    output_file(map_png, "--map", force=force)
    load_paths = _ais_inputs(load, "--load") if load else []
    points = _port_points(no_ports, anchorages)
    store = _ais_store(db, must_exist=not load_paths)
    load_summary = None
    if load_paths:
        # the positions stay in memory only when the events pass takes them all (no filter)
        unfiltered = box is None and t0 is None and t1 is None
        load_summary = _load_ais(store, load_paths, keep=unfiltered)
        if load_summary.untimed_files:
            fail(_untimed_message(load_summary))
        note(
            f"loaded {load_summary.positions_loaded} positions ({load_summary.positions_duplicate} already"
            f" stored), {len(load_summary.issues)} lines rejected (`ais load` lists them)"
        )
    if load_summary is not None and load_summary.kept is not None:
        pos = store.loaded_positions(load_summary)
        handed_over = load_summary.kept.valid
    else:
        pos = store.positions(bbox=box, start=t0, stop=t1)
        handed_over = False
    tracks = clean_tracks(pos)
    learned = []
    if learn_anchorages:
        learned = learn(tracks, min_vessels=anchorage_min_vessels, ports=points)
        note(f"{len(learned)} anchorages learned (>= {anchorage_min_vessels} vessels stationary 12 h)")
        points = points + learned
    classes_by_mmsi = vessel_classes(store.statics())
    if (
        "loitering" in wanted
        and "any" not in loiter_classes
        and not any(classes_by_mmsi.get(int(m), "unknown") in loiter_classes for m in tracks.vessel_mmsi)
    ):
        note(
            f"no vessel here is of class {'/'.join(loiter_classes)} by its AIS static data, so none can "
            "loiter; --loitering-class any lifts the class rule"
        )
    if not points and {"port_visit", "encounter", "loitering"} & set(wanted):
        note(
            "no port or anchorage points (--no-ports without --anchorages): no port visits or port exclusions"
        )
    shore = None
    if not no_shore and {"gap", "loitering", "spoofing"} & set(wanted):
        from kizuna.maritime.shore import default_shore, preload

        shore = default_shore()
        note("loading the GLOBE land mask (once per run)")
        preload()
    exclusion_m = port_exclusion_km * 1000
    events = detect_events(
        tracks,
        wanted,
        shore=shore,
        ports=points,
        classes_by_mmsi=classes_by_mmsi,
        gap_options={"min_positions_before": gap_min_positions, "require_end_offshore": gap_both_ends},
        encounter_options={"min_anchorage_distance_m": exclusion_m, "pairs": pairs or None},
        loitering_options={
            "min_port_distance_m": exclusion_m,
            "hourly": not loitering_per_point,
            "classes": None if "any" in loiter_classes else loiter_classes,
        },
        port_visit_options={
            "entry_m": port_entry_km * 1000,
            "exit_m": port_exit_km * 1000,
            "min_duration_s": port_min_hours * 3600,
        },
    )
    from kizuna.maritime.identity import attach_identity

    events = attach_identity(events, _identity_history(store))  # name, flag, type as of each event
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
        "port_points": len(points),
        "world_port_index": not no_ports,
        "anchorage_files": [str(p) for p in anchorages or []],
        "learned_anchorages": len(learned),
        "port_exclusion_km": port_exclusion_km,
        "port_entry_km": port_entry_km,
        "port_exit_km": port_exit_km,
        "port_min_hours": port_min_hours,
        "gap_min_positions": gap_min_positions,
        "gap_both_ends": gap_both_ends,
        "loitering_classes": loiter_classes,
        "loitering_speed": "per point" if loitering_per_point else "hourly average",
        "encounter_pairs": ["-".join(p) for p in pairs] or None,
        "vessels_with_class": sum(1 for c in classes_by_mmsi.values() if c != "unknown"),
    }
    emit_rows(
        dicts if fmt == "json" else [_event_row(d) for d in dicts],
        EVENT_COLUMNS,
        fmt,
        title=f"{len(events)} events from {len(pos)} positions",
        parameters=parameters,
        key="events",
        extra={
            "positions": len(pos),
            "cleaning": tracks.report.as_dict(),
            "definitions": definitions,
            # with --load: the summary, and whether the positions came from memory or the store
            **(
                {"load": load_summary.as_dict(), "positions_from": "load" if handed_over else "store"}
                if load_summary is not None
                else {}
            ),
        },
    )
    for definition in definitions:
        if fmt == "table":
            out.print(f"[dim]{escape(definition)}[/]")
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
        Path,
        typer.Argument(
            help="calibrated SAR GeoTIFF (intensity, or amplitude with --amplitude; geotransform or GCPs), "
            "or a Sentinel-1 GRD .SAFE directory or its manifest.safe (calibrated to sigma0 here)"
        ),
    ],
    pfa: Annotated[float, typer.Option(help="false-alarm probability per pixel (1e-15 to 0.1)")] = 1e-7,
    method: Annotated[str, typer.Option(help="ca (cell averaging) or os (order statistic)")] = "ca",
    clutter: Annotated[str, typer.Option(help="exponential or k")] = "k",
    guard: Annotated[int, typer.Option(help="guard half-width [px]")] = 16,
    background: Annotated[int, typer.Option(help="background outer half-width [px], > --guard")] = 26,
    amplitude: Annotated[bool, typer.Option(help="image holds amplitude (squared before CFAR)")] = False,
    polarisation: Annotated[
        str | None, typer.Option(help="SAFE only: VV, VH, HH or HV (default VV, else HH)")
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            help=f"SAFE only: ROW,COL,ROWS,COLS of the product to read (at most {MAX_SCENE_PX}^2 px)"
        ),
    ] = None,
    land_margin_m: Annotated[
        float,
        typer.Option(
            help="buffer [m] around the global land mask (real scenes without a land band; 0 to "
            f"{MAX_LAND_MARGIN_M:g})"
        ),
    ] = 1000.0,
    fmt: FormatOption = "table",
    output: Annotated[Path | None, typer.Option(help="write GeoJSON here")] = None,
    map_png: MapOption = None,
    force: ForceOption = False,
) -> None:
    """CFAR ship detection; positions from the image's geotransform, GCPs or geolocation grid.

    Real scenes without a land band are masked with the global GLOBE land mask, buffered by
    --land-margin-m, so that no detection falls on land.
    """
    from kizuna.formats.safe import is_safe_path
    from kizuna.formats.sar import read_safe_scene, read_sar_geotiff, scene_lonlat
    from kizuna.maritime.cfar import CfarConfig, cfar, detections_from
    from kizuna.maritime.scene import land_mask_for

    check_choice(fmt, "--format", MAP_FORMATS)
    check_number(pfa, "--pfa", minimum=1e-15, maximum=0.1)
    check_choice(method, "--method", ("ca", "os"))
    check_choice(clutter, "--clutter", ("exponential", "k"))
    count(guard, "--guard", minimum=0, maximum=MAX_CFAR_HALF_WIDTH_PX)
    count(background, "--background", minimum=guard + 1, maximum=MAX_CFAR_HALF_WIDTH_PX)
    check_number(land_margin_m, "--land-margin-m", minimum=0.0, maximum=MAX_LAND_MARGIN_M, unit="m")
    safe = is_safe_path(image)
    pol = None
    if polarisation is not None:
        pol = polarisation.upper()
        check_choice(pol, "--polarisation", ("VV", "VH", "HH", "HV"))
    win = _parse_window(window) if window is not None else None
    if not safe:
        if pol is not None:
            fail(f"--polarisation {polarisation}: only for a .SAFE product, {image} is not one")
        if win is not None:
            fail(f"--window {window}: only for a .SAFE product, {image} is not one")
        input_file(image, "IMAGE")
    elif amplitude:
        fail(f"--amplitude: a SAFE product is calibrated from its DN, {image} needs no --amplitude")
    output_file(output, "--output", force=force)
    output_file(map_png, "--map", force=force)
    if output is not None and map_png is not None and output.resolve() == map_png.resolve():
        fail(f"--output and --map are the same file ({output})")
    try:
        if safe:
            from kizuna.formats.safe import measurement_extent, open_safe

            prod = open_safe(image, pol)
            if win is not None and (win[0] + win[2] > prod.lines or win[1] + win[3] > prod.samples):
                fail(f"--window {window}: outside the {prod.lines} x {prod.samples} px image of {image}")
            # a subset product's measurement holds only part of the image: that part is the default
            held = measurement_extent(prod) if win is None else None
            if held is not None and held[2] * held[3] > MAX_SCENE_PX**2:
                fail(
                    f"IMAGE {image}: {held[2]} x {held[3]} px is more than {MAX_SCENE_PX}^2 px; "
                    "choose a part with --window ROW,COL,ROWS,COLS"
                )
            scene = read_safe_scene(image, polarisation=pol, window=win)
        else:
            scene = read_sar_geotiff(image, amplitude=amplitude or None)
            if scene.intensity.size > MAX_SCENE_PX**2:
                fail(f"IMAGE {image}: {scene.intensity.size} px is more than {MAX_SCENE_PX}^2 px")
        land_source = scene.land_source
        if not land_source and not scene.synthetic:
            scene.land = land_mask_for(
                scene.pixel_to_lonlat, scene.intensity.shape, scene.pixel_size_m, land_margin_m
            )
            land_source = f"GLOBE land mask buffered by {land_margin_m:g} m"
        cfg = CfarConfig(
            pfa=pfa, guard=guard, background=background, method=method, clutter=clutter, min_pixels=2
        )
        if not np.any(np.isfinite(scene.intensity) & ~scene.land):
            res = None
        else:
            res = cfar(scene.intensity, cfg, land=scene.land)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    dets = (
        []
        if res is None
        else detections_from(
            res,
            scene.intensity,
            lambda r, c: scene_lonlat(scene, r, c),
            scene.pixel_size_m,
            time_utc=scene.time_utc,
        )
    )
    gj = _detections_geojson(
        dets, synthetic=scene.synthetic, geolocation=scene.geolocation, land_mask=land_source or None
    )
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
        "geolocation": scene.geolocation,
        "land_mask": land_source or None,
        "land_margin_m": land_margin_m if land_source.startswith("GLOBE") else None,
        "polarisation": pol,
        "window": list(win) if win else None,
        "quantity": "sigma0" if safe else "intensity",
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
    time: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="image time, ISO-8601 (default: the detections' own time_utc); must agree with "
            "the detections' times within --time-tolerance-s",
        ),
    ] = None,
    ais: Annotated[list[Path] | None, typer.Option("--ais", help="AIS files (else the store)")] = None,
    gate_m: Annotated[
        float, typer.Option("--gate-m", help="matching gate [m] (10 to 100,000: AIS is good to ~10 m)")
    ] = 1000.0,
    time_tolerance_s: Annotated[
        float,
        typer.Option(
            "--time-tolerance-s",
            help="largest accepted difference between --time and a detection's time_utc [s] (0 to 86,400)",
        ),
    ] = 60.0,
    bbox: Annotated[str | None, typer.Option(help="footprint W,S,E,N (default: detections' box)")] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
    map_png: MapOption = None,
    force: ForceOption = False,
) -> None:
    """Match SAR detections with AIS at the image time; list dark-vessel candidates.

    A detection whose own time_utc differs from --time by more than --time-tolerance-s is refused:
    AIS would be placed at the wrong instant and every ship could come out dark.
    """
    from kizuna.formats.ais import read_ais_file, split_records
    from kizuna.formats.sar import read_detections
    from kizuna.maritime.dark import (
        MIN_GATE_M,
        dark_geojson,
        dark_product,
        detection_time_offsets_s,
        find_dark_vessels,
    )
    from kizuna.model.maritime import PositionArrays

    check_choice(fmt, "--format", MAP_FORMATS)
    t = parse_time(time, "--time") if time is not None else None
    check_number(gate_m, "--gate-m", minimum=MIN_GATE_M, maximum=MAX_GATE_M, unit="m")
    check_number(time_tolerance_s, "--time-tolerance-s", minimum=0.0, maximum=MAX_TIME_TOLERANCE_S, unit="s")
    footprint = parse_bbox(bbox)
    text_file(detections, "--detections")
    for path in ais or []:
        text_file(path, "--ais")
    output_file(map_png, "--map", force=force)
    store = None if ais else _ais_store(db, must_exist=True)  # a missing store is refused first
    try:
        res = read_detections(detections)
    except KizunaError as exc:
        fail(f"--detections {exc}")
    if not res.records:
        why = f"{res.issues[0]}" if res.issues else "the file holds no detections"
        extra = f" ({len(res.issues)} problems)" if len(res.issues) > 1 else ""
        fail(f"--detections {detections}: no detection could be read: {why}{extra}")
    for issue in res.issues[:20]:
        warn(issue)
    own = sorted({d.time_utc.replace(tzinfo=None) for d in res.records if d.time_utc is not None})
    if t is None:
        if not own:
            fail(f"--time: the detections in {detections} carry no time_utc; give the image time")
        t = own[0]
    t64 = np.datetime64(t.replace(tzinfo=None), "ns")
    offsets = detection_time_offsets_s(res.records, t64)
    if np.any(np.abs(offsets[np.isfinite(offsets)]) > time_tolerance_s):
        worst = int(np.nanargmax(np.abs(offsets)))
        d = res.records[worst]
        fail(
            f"--time {iso(t)}: detection {d.detection_id} in {detections} was imaged at "
            f"{iso(d.time_utc) if d.time_utc else '?'} ({offsets[worst]:+.0f} s), beyond --time-tolerance-s {time_tolerance_s:g}"
        )
    if ais:
        recs = []
        for path in ais:
            r = read_ais_file(path)
            recs += r.records
            for issue in r.issues[:20]:
                warn(issue)
        pos = PositionArrays.from_records(split_records(recs)[0])
    else:
        assert store is not None
        pos = store.positions()
    result = find_dark_vessels(res.records, pos, t64, gate_m=gate_m, footprint=footprint)
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
        "time_tolerance_s": time_tolerance_s,
        "detections_time_utc": [iso(x) for x in own[:1] + own[-1:]] if own else None,
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


def _detections_geojson(
    dets: Any, synthetic: bool, *, geolocation: str | None = None, land_mask: str | None = None
) -> dict[str, Any]:
    """Detections as RFC 7946 points; the collection says how they were placed and masked."""
    props: dict[str, Any] = {"synthetic_image": synthetic}
    if geolocation:
        props["geolocation"] = geolocation
    if land_mask:
        props["land_mask"] = land_mask
    return {
        "type": "FeatureCollection",
        "properties": props,
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [d.lon_deg, d.lat_deg]},
                "properties": {
                    "detection_id": d.detection_id,
                    "length_m": d.length_m,
                    "confidence": d.confidence,
                    "peak_scr_db": d.peak_scr_db,
                    "time_utc": _utc_text(d.time_utc) if d.time_utc else None,
                },
            }
            for d in dets
        ],
    }


# ---------------------------------------------------------------- vessel identity, STS transfers
IDENTITY_FORMATS = ("table", "csv", "json")


def _identity_history(store: Any) -> Any:  # noqa: ANN401 - AisStore in, IdentityHistory out (lazy imports)
    """Every stored identity (name, callsign, IMO, ship type over time) as an IdentityHistory."""
    from kizuna.maritime.identity import IdentityHistory, IdentityVersion

    def t(v: Any) -> Any:  # noqa: ANN401
        return None if v is None else np.datetime64(v, "ns")

    return IdentityHistory(
        IdentityVersion(**{**r, "first_utc": t(r["first_utc"]), "last_utc": t(r["last_utc"])})
        for r in store.static_history()
    )


VESSEL_COLUMNS = (
    Column("mmsi", "mmsi"),
    Column("kind", "mmsi_kind"),
    Column("flag", "flag"),
    Column("MMSI issues", "mmsi_issues"),
    Column("name", "name"),
    Column("callsign", "callsign"),
    Column("IMO", "imo"),
    Column("type", "ship_type"),
    Column("class", "ship_class"),
    Column("identities", "identities", str, "right"),
    Column("positions", "positions", str, "right"),
)


@ais_app.command("vessels")
def ais_vessels(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    mmsi: Annotated[list[int] | None, typer.Option("--mmsi", help="only these MMSIs (repeat)")] = None,
    suspicious: Annotated[
        bool,
        typer.Option("--suspicious", help="only MMSIs that are invalid, placeholders or changed identity"),
    ] = False,
) -> None:
    """Every stored vessel: latest name, callsign, IMO and type, flag from the MMSI's MID (ITU table),
    station kind, MMSI issues (wrong digit count, unknown MID, placeholder) and identities seen."""
    from kizuna.maritime.identity import MID_SOURCE, vessel_rows

    check_choice(fmt, "--format", IDENTITY_FORMATS)
    wanted = {int(m) for m in mmsi or ()}
    for m in wanted:
        if not 0 <= m <= 999_999_999:
            fail(f"--mmsi {m}: must be 0..999999999 (at most 9 digits)")
    store = _ais_store(db, must_exist=True)
    counts = store.position_counts()
    rows = vessel_rows(_identity_history(store), counts, counts)
    total = len(rows)
    if wanted:
        rows = [r for r in rows if r["mmsi"] in wanted]
    if suspicious:
        rows = [r for r in rows if r["mmsi_issues"] or int(r["identities"]) > 1]  # type: ignore[call-overload]
    emit_rows(
        rows,
        VESSEL_COLUMNS,
        fmt,
        title=f"{len(rows)} of {total} vessels",
        parameters={"mmsi": sorted(wanted) or None, "suspicious": suspicious, "mid_table": MID_SOURCE},
        total=total,
        key="vessels",
    )


@ais_app.command("identity-changes")
def ais_identity_changes(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Identity changes as events: an MMSI changing name, callsign, IMO or ship type, and an IMO
    number moving to an MMSI of another flag (flag hopping) or the same flag."""
    from kizuna.maritime.events import event_dict
    from kizuna.maritime.identity import detect_identity_changes

    check_choice(fmt, "--format", IDENTITY_FORMATS)
    store = _ais_store(db, must_exist=True)
    history = _identity_history(store)
    pos = store.positions(mmsi=history.mmsis()) if len(history) else None
    events = detect_identity_changes(history, pos)
    dicts = [event_dict(e) for e in events]
    emit_rows(
        dicts if fmt == "json" else [_event_row(d) for d in dicts],
        EVENT_COLUMNS,
        fmt,
        title=f"{len(events)} identity changes among {len(history)} MMSIs with static data",
        parameters={"vessels_with_static_data": len(history)},
        key="events",
        extra={"definitions": sorted({e.definition for e in events})},
    )


STS_PAIR_CHOICES = (
    "tanker-tanker",
    "carrier-fishing",
    "tanker-carrier",
    "carrier-carrier",
    "fishing-fishing",
)
MAX_SANCTIONED_RADIUS_KM = 500.0
MAX_SHORE_KM = 200.0


@ais_app.command("sts")
def ais_sts(
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N degrees")] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 (offsets accepted; naive is UTC)")] = None,
    stop: Annotated[str | None, typer.Option(help="ISO-8601 (offsets accepted; naive is UTC)")] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    pairs: Annotated[
        list[str] | None,
        typer.Option(
            "--pair",
            help=f"vessel-class pair (repeat; default tanker-tanker, carrier-fishing): {', '.join(STS_PAIR_CHOICES)}",
        ),
    ] = None,
    sanctioned_ports: Annotated[
        Path | None,
        typer.Option(
            "--sanctioned-ports",
            help="CSV name,country,lat_deg,lon_deg[,source] (default: bundled DPRK list)",
        ),
    ] = None,
    sanctioned_radius_km: Annotated[
        float,
        typer.Option("--sanctioned-radius-km", help="a port visit this close to a listed port is flagged"),
    ] = 30.0,
    min_shore_km: Annotated[
        float,
        typer.Option(
            "--min-shore-km",
            help="require (and state) this distance from shore; > 0 loads the GLOBE land mask",
        ),
    ] = 0.0,
) -> None:
    """Ship-to-ship transfers: GFW encounters between tankers, or carriers and fishing vessels, with
    both identities, duration, location and each party's previous/next port visit near a sanctioned
    port."""
    from kizuna.maritime.events import detect_encounters, event_dict
    from kizuna.maritime.sts import DEFAULT_PAIRS, detect_sts, load_sanctioned_ports
    from kizuna.maritime.tracks import clean_tracks

    check_choice(fmt, "--format", IDENTITY_FORMATS)
    for p in pairs or ():
        check_choice(p, "--pair", STS_PAIR_CHOICES)
    pair_list = [tuple(p.split("-")) for p in pairs] if pairs else list(DEFAULT_PAIRS)
    check_number(
        sanctioned_radius_km,
        "--sanctioned-radius-km",
        minimum=0.0,
        maximum=MAX_SANCTIONED_RADIUS_KM,
        unit="km",
    )
    # the GLOBE shore model measures distances up to 200 km: a larger threshold could never be met
    check_number(min_shore_km, "--min-shore-km", minimum=0.0, maximum=MAX_SHORE_KM, unit="km")
    box = parse_bbox(bbox)
    t0, t1 = optional_window(optional_time(start, "--start"), optional_time(stop, "--stop"))
    ports = None
    if sanctioned_ports is not None:
        text_file(sanctioned_ports, "--sanctioned-ports")
        try:
            ports = load_sanctioned_ports(sanctioned_ports)
        except (ValueError, UnicodeDecodeError) as exc:
            fail(f"--sanctioned-ports {exc}")
    store = _ais_store(db, must_exist=True)
    pos = store.positions(bbox=box, start=t0, stop=t1)
    tracks = clean_tracks(pos)
    shore = None
    if min_shore_km > 0:
        from kizuna.maritime.shore import default_shore, preload

        shore = default_shore()
        note("loading the GLOBE land mask (once per run)")
        preload()
    from kizuna.maritime.events import resolve_ports
    from kizuna.maritime.ports import port_visits

    index = resolve_ports("default")
    encounters = detect_encounters(tracks, ports=index)
    history = _identity_history(store)
    candidates = detect_sts(encounters, history, pairs=pair_list, sanctioned=[])  # type: ignore[arg-type]
    # previous and next port calls lie outside the query window: the parties' whole stored tracks
    parties = sorted({m for e in candidates for m in (e.mmsi, e.other_mmsi) if m is not None})
    visits = port_visits(clean_tracks(store.positions(mmsi=parties)), index) if parties else []
    events = detect_sts(
        encounters if candidates else [],
        history,
        pairs=pair_list,  # type: ignore[arg-type]
        port_visits=visits,
        sanctioned=ports,
        sanctioned_radius_km=sanctioned_radius_km,
        shore=shore,
        min_shore_distance_km=min_shore_km,
    )
    dicts = [event_dict(e) for e in events]
    emit_rows(
        dicts if fmt == "json" else [_event_row(d) for d in dicts],
        EVENT_COLUMNS,
        fmt,
        title=f"{len(events)} STS transfers among {len(encounters)} encounters",
        parameters={
            "pairs": ["-".join(p) for p in pair_list],
            "bbox": list(box) if box else None,
            "start_utc": iso(t0) if t0 else None,
            "stop_utc": iso(t1) if t1 else None,
            "sanctioned_ports": str(sanctioned_ports) if sanctioned_ports else "bundled",
            "sanctioned_radius_km": sanctioned_radius_km,
            "min_shore_km": min_shore_km,
        },
        key="events",
        extra={
            "encounters": len(encounters),
            "port_visits_of_parties": len(visits),
            "definitions": sorted({e.definition for e in events}),
        },
    )


# ---------------------------------------------------------------- ais ports / ais anchorages
PORT_LIST_COLUMNS = (
    Column("id", "port_id"),
    Column("name", "name"),
    Column("country", "country"),
    Column("kind", "kind"),
    Column("lat", "lat_deg", lambda v: f"{v:.5f}", "right"),
    Column("lon", "lon_deg", lambda v: f"{v:.5f}", "right"),
    Column("source", "source"),
)
PORT_FORMATS = ("table", "csv", "json")


def _in_box(lat: float, lon: float, box: tuple[float, float, float, float] | None) -> bool:
    if box is None:
        return True
    w, s, e, n = box
    in_lon = w <= lon <= e if w <= e else (lon >= w or lon <= e)  # a box may cross the antimeridian
    return s <= lat <= n and in_lon


@ais_app.command("ports")
def ais_ports(
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N degrees")] = None,
    country: Annotated[
        str | None, typer.Option(help="country name as the World Port Index spells it")
    ] = None,
    no_ports: NoPortsOption = False,
    anchorages: AnchoragesOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """List the port and anchorage points events use (bundled World Port Index plus your files)."""
    check_choice(fmt, "--format", PORT_FORMATS)
    box = parse_bbox(bbox)
    if country is not None and not country.strip():
        fail("--country '': give a country name")
    for path in anchorages or []:
        text_file(path, "--anchorages")
    points = _port_points(no_ports, anchorages)
    want = country.strip().lower() if country else None
    rows = [
        dataclasses.asdict(p)
        for p in points
        if _in_box(p.lat_deg, p.lon_deg, box) and (want is None or (p.country or "").lower() == want)
    ]
    emit_rows(
        rows,
        PORT_LIST_COLUMNS,
        fmt,
        title=f"{len(rows)} ports and anchorages",
        parameters={
            "bbox": list(box) if box else None,
            "country": country,
            "world_port_index": not no_ports,
            "anchorage_files": [str(p) for p in anchorages or []],
        },
        key="ports",
    )


@ais_app.command("anchorages")
def ais_anchorages(
    db: DbOption = None,
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N degrees")] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 (offsets accepted; naive is UTC)")] = None,
    stop: Annotated[str | None, typer.Option(help="ISO-8601 (offsets accepted; naive is UTC)")] = None,
    min_vessels: Annotated[int, typer.Option(help="distinct vessels stationary in a cell (GFW: 20)")] = 20,
    min_hours: Annotated[
        float, typer.Option(help="how long a vessel stays to be stationary (GFW: 12)")
    ] = 12.0,
    move_m: Annotated[float, typer.Option(help="how far a stationary vessel may move (GFW: 500)")] = 500.0,
    cell_m: Annotated[float, typer.Option(help="grid cell size (GFW: ~500, S2 level 14)")] = 500.0,
    output: Annotated[
        Path | None, typer.Option(help="write the anchorages here as CSV (usable as --anchorages)")
    ] = None,
    force: ForceOption = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Learn anchorages from stored AIS the way Global Fishing Watch builds theirs.

    A cell is an anchorage when at least --min-vessels distinct vessels stayed within --move-m for
    --min-hours there; it is named after a World Port Index port within 4 km, if any.
    """
    from kizuna.formats.ports import write_ports_csv
    from kizuna.maritime.ports import learn_anchorages, load_ports
    from kizuna.maritime.tracks import clean_tracks

    check_choice(fmt, "--format", PORT_FORMATS)
    box = parse_bbox(bbox)
    t0, t1 = optional_window(optional_time(start, "--start"), optional_time(stop, "--stop"))
    count(min_vessels, "--min-vessels", minimum=1, maximum=MAX_MIN_VESSELS)
    positive(min_hours, "--min-hours", maximum=MAX_HOURS, unit="h")
    positive(move_m, "--move-m", maximum=MAX_CELL_M, unit="m")
    check_number(cell_m, "--cell-m", minimum=10.0, maximum=MAX_CELL_M, unit="m")
    output_file(output, "--output", force=force)
    store = _ais_store(db, must_exist=True)
    pos = store.positions(bbox=box, start=t0, stop=t1)
    found = learn_anchorages(
        clean_tracks(pos),
        cell_m=cell_m,
        stationary_move_m=move_m,
        min_stationary_s=min_hours * 3600,
        min_vessels=min_vessels,
        ports=load_ports(),
    )
    if output is not None:
        output.write_text(write_ports_csv(found), encoding="utf-8")
        note(f"{len(found)} anchorages written to {output}")
    emit_rows(
        [dataclasses.asdict(p) for p in found],
        PORT_LIST_COLUMNS,
        fmt,
        title=f"{len(found)} anchorages learned from {len(pos)} positions",
        parameters={
            "bbox": list(box) if box else None,
            "start_utc": iso(t0) if t0 else None,
            "stop_utc": iso(t1) if t1 else None,
            "min_vessels": min_vessels,
            "min_hours": min_hours,
            "move_m": move_m,
            "cell_m": cell_m,
            "positions": len(pos),
        },
        key="anchorages",
    )


def _utc_text(t: Any) -> str:
    """ISO-8601 with Z, keeping sub-second digits only when there are some (SAFE start times)."""
    frac = f".{t.microsecond:06d}" if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def _parse_window(text: str) -> tuple[int, int, int, int]:
    """ROW,COL,ROWS,COLS: four integers, offsets >= 0, sizes >= 64 and at most MAX_SCENE_PX^2 px."""
    try:
        r0, c0, nr, nc = (int(x) for x in text.split(","))
    except ValueError:
        fail(f"--window {text}: must be ROW,COL,ROWS,COLS (four integers)")
    if r0 < 0 or c0 < 0:
        fail(f"--window {text}: ROW and COL must be at least 0")
    if nr < 64 or nc < 64:
        fail(f"--window {text}: ROWS and COLS must be at least 64 (the CFAR window needs room)")
    if nr * nc > MAX_SCENE_PX**2:
        fail(f"--window {text}: at most {MAX_SCENE_PX}^2 px")
    return r0, c0, nr, nc


from kizuna.cli import maritime_stream as _maritime_stream  # noqa: E402, F401 - registers `ais stream`
