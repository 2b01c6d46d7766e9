"""`kizuna pnt ...`: GNSS satellites in view, dilution of precision, availability and interference
seen in AIS (wiring only)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    atomic_output,
    check_choice,
    check_number,
    count,
    emit_rows,
    fail,
    grid_steps,
    iso,
    note,
    open_store,
    optional_time,
    optional_window,
    output_file,
    output_format,
    parse_time,
    positive,
    print_json,
    progress,
    read_text,
    supported_window,
    text_file,
    warn,
    window,
)
from kizuna.errors import KizunaError

if TYPE_CHECKING:
    from kizuna.pnt import DopSeries, ElevationMask, GnssSatellites, Grid, Receivers

pnt_app = typer.Typer(
    help="Positioning, navigation and timing: GNSS satellites in view, DOP, availability, interference.",
    no_args_is_help=True,
)

#: GP elements are good for days; a period much past a week from their epochs is guesswork
MAX_HOURS = 14 * 24.0
MAX_STEP_S = 3600.0
MIN_GRID_DEG, MAX_GRID_DEG = 0.1, 10.0
#: receivers x times one command evaluates (with ~170 satellites in view or not, about half a
#: minute on one core); more is a typo of --grid-deg or --step-s, not a map
MAX_EVALUATIONS = 2_000_000
#: element sets older (or newer) than this against the period get a warning
STALE_DAYS = 14.0
BUNDLED_ELEMENTS = "gnss_2026-07.csv"

PointOption = Annotated[str | None, typer.Option("--point", help="receiver at LAT,LON [deg]")]
RegionOption = Annotated[
    str | None, typer.Option("--region", help="named region for a map: japan, ukraine, korea, taiwan")
]
ConstellationsOption = Annotated[
    str,
    typer.Option("--constellations", help="comma list of gps, glonass, galileo, beidou, qzss, navic, or all"),
]
MaskOption = Annotated[
    str, typer.Option("--mask", help="elevation mask [deg], or a file of azimuth,elevation pairs [deg]")
]
StartOption = Annotated[
    str, typer.Option("--start", help="ISO-8601 start; offsets and Z accepted, naive is UTC")
]
HoursOption = Annotated[float, typer.Option("--hours", help=f"period length [h], (0, {MAX_HOURS:g}]")]
StepOption = Annotated[float, typer.Option("--step-s", help=f"time step [s], (0, {MAX_STEP_S:g}]")]
GridOption = Annotated[
    float, typer.Option("--grid-deg", help=f"map cell size [deg], {MIN_GRID_DEG:g} to {MAX_GRID_DEG:g}")
]
ElementsOption = Annotated[
    Path | None,
    typer.Option(
        "--elements", help="element sets (TLE/3LE, OMM CSV/JSON/XML); default: the bundled 2026-07 set"
    ),
]
NavOption = Annotated[
    Path | None, typer.Option("--nav", help="RINEX navigation file: broadcast orbits instead of element sets")
]
SharedClockOption = Annotated[
    str | None,
    typer.Option(
        "--shared-clock", help="systems solved with one receiver clock, e.g. gps,qzss (default: one each)"
    ),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
PngOption = Annotated[
    Path | None, typer.Option("--png", help="write a PNG map (region) or time series (point)")
]
GeojsonOption = Annotated[
    Path | None, typer.Option("--geojson", help="write the region map as GeoJSON cells")
]
MaxPdopOption = Annotated[
    float, typer.Option("--max-pdop", help="largest PDOP that counts as available, > 0")
]
MinSatsOption = Annotated[
    int, typer.Option("--min-satellites", help="fewest satellites in view that count, >= 4")
]


@dataclass
class Setup:
    """What every pnt command computes from its options before the DOPs."""

    receivers: Receivers
    grid: Grid | None
    satellites: GnssSatellites
    mask: ElevationMask
    shared_clocks: tuple[str, ...]
    start: datetime
    stop: datetime
    parameters: dict[str, Any]


def _parse_point(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        fail(f"--point {text!r}: wants LAT,LON in degrees")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        fail(f"--point {text!r}: latitude must be within -90..90 and longitude within -180..180")
    return lat, lon


def _parse_mask(text: str) -> ElevationMask:
    from kizuna.formats.horizon_mask import read_horizon_mask
    from kizuna.pnt import ElevationMask

    try:
        degrees = float(text)
    except ValueError:
        path = Path(text)
        if not path.exists():
            fail(f"--mask {text!r}: neither a number of degrees nor an existing file")
        try:
            return ElevationMask(0.0, read_horizon_mask(read_text(path, "--mask"), str(path)))
        except KizunaError as exc:
            fail(f"--mask {exc}")
    if not math.isfinite(degrees) or not 0.0 <= degrees < 90.0:
        fail(f"--mask {text}: an elevation mask must be at least 0 and below 90 deg")
    return ElevationMask(degrees)


def _systems(text: str, option: str) -> tuple[str, ...]:
    from kizuna.pnt import parse_systems

    try:
        return parse_systems(text)
    except ValueError as exc:
        fail(f"{option} {text!r}: {exc}")


def _satellites(
    systems: tuple[str, ...], elements: Path | None, nav: Path | None, times: Any, start: datetime
) -> GnssSatellites:
    import numpy as np

    from kizuna.pnt import SYSTEMS, broadcast_positions, catalog_positions

    if nav is not None:
        from kizuna.formats.rinex_nav import read_rinex_nav
        from kizuna.pnt.broadcast import COMPUTED_SYSTEMS

        text_file(nav, "--nav")
        try:
            eph = read_rinex_nav(nav)
        except KizunaError as exc:
            fail(f"--nav {exc}")
        letters = [SYSTEMS[s].letter for s in systems]
        not_computed = [SYSTEMS[s].title for s in systems if SYSTEMS[s].letter not in COMPUTED_SYSTEMS]
        if len(not_computed) == len(systems):
            fail(
                f"--nav: broadcast orbits of {', '.join(not_computed)} are not computed (GPS, QZSS and Galileo are)"
            )
        if not_computed:
            warn(f"--nav: broadcast orbits of {', '.join(not_computed)} are not computed; left out")
        sats = broadcast_positions(eph, times, systems=letters)
        covered = np.isfinite(sats.position_km[..., 0]).any(axis=0)
        if not covered.any():
            fail(
                f"--nav {nav}: no record of {', '.join(systems)} within 2 h of the period "
                f"starting {iso(start)} (the file has {', '.join(eph.satellites) or 'none'})"
            )
        if not covered.all():
            warn(
                f"--nav {nav}: {np.count_nonzero(~covered)} of {len(covered)} times are more than 2 h from "
                "every record: no satellites then"
            )
        return sats
    source = elements
    if source is None:
        source = Path(str(resources.files("kizuna") / "data" / "pnt" / BUNDLED_ELEMENTS))
    else:
        text_file(source, "--elements")
    from kizuna.formats.detect import read_path

    try:
        parsed = read_path(source)
    except KizunaError as exc:
        fail(f"--elements {exc}")
    if parsed.issues:
        warn(f"--elements {source}: {len(parsed.issues)} records skipped (first: {parsed.issues[0]})")
    sats = catalog_positions(parsed.records, systems, times)
    if not len(sats):
        fail(f"--elements {source}: no satellites of {', '.join(systems)} (selected by name, see 'pnt' docs)")
    chosen = set(sats.name.tolist())
    epochs = [es.epoch_utc for es in parsed.records if (es.object_name or str(es.norad_id)) in chosen]
    oldest, newest = min(epochs), max(epochs)
    if (start - newest) > timedelta(days=STALE_DAYS) or (oldest - start) > timedelta(days=STALE_DAYS):
        warn(
            f"element epochs {iso(oldest)} to {iso(newest)} are more than {STALE_DAYS:g} days from the "
            f"period start {iso(start)}: positions degrade by kilometres per day"
        )
    return sats


def _setup(
    point: str | None,
    region: str | None,
    constellations: str,
    mask: str,
    start: str,
    hours: float,
    step_s: float,
    grid_deg: float,
    elements: Path | None,
    nav: Path | None,
    shared_clock: str | None,
) -> Setup:
    from kizuna.orbit.timescale import time_grid
    from kizuna.pnt import REGIONS, SYSTEMS, Receivers, region_grid

    if (point is None) == (region is None):
        fail("--point/--region: give exactly one of --point LAT,LON or --region NAME")
    if elements is not None and nav is not None:
        fail("--elements/--nav: give one source of orbits, not both")
    systems = _systems(constellations, "--constellations")
    shared = (
        tuple(SYSTEMS[s].letter for s in _systems(shared_clock, "--shared-clock")) if shared_clock else ()
    )
    elevation_mask = _parse_mask(mask)
    positive(hours, "--hours", maximum=MAX_HOURS, unit="h")
    positive(step_s, "--step-s", maximum=MAX_STEP_S, unit="s")
    t0 = parse_time(start, "--start")
    t0, t1 = window(t0, stop=t0 + timedelta(hours=hours), option="--start/--hours")
    supported_window(t0, t1, "--start/--hours")
    grid_steps((t1 - t0).total_seconds(), step_s)
    grid = None
    if region is not None:
        if region.lower() not in REGIONS:
            fail(f"--region {region!r}: use one of {', '.join(REGIONS)}")
        check_number(grid_deg, "--grid-deg", minimum=MIN_GRID_DEG, maximum=MAX_GRID_DEG, unit="deg")
        try:
            grid = region_grid(REGIONS[region.lower()], grid_deg)
        except ValueError as exc:
            fail(f"--grid-deg {grid_deg:g}: {exc}")
        receivers = grid.receivers()
    else:
        lat, lon = _parse_point(point or "")
        receivers = Receivers.at(lat, lon)
    times = time_grid(t0, t1, step_s)
    if len(times) * len(receivers) > MAX_EVALUATIONS:
        fail(
            f"--grid-deg/--step-s: {len(receivers):,} points x {len(times):,} times is more than "
            f"{MAX_EVALUATIONS:,} evaluations; use a coarser --grid-deg, a longer --step-s or fewer --hours"
        )
    satellites = _satellites(systems, elements, nav, times, t0)
    parameters = {
        "where": f"region {grid.region.key} ({grid.region.title}), {grid_deg:g} deg grid"
        if grid
        else f"point {receivers.lat_deg[0]:g},{receivers.lon_deg[0]:g}",
        "constellations": list(systems),
        "satellites": satellites.counts(),
        "orbits": "broadcast " + str(nav)
        if nav
        else "GP elements (SGP4) " + str(elements or BUNDLED_ELEMENTS),
        "mask": elevation_mask.describe(),
        "clocks": "one per system" + (f"; shared: {shared_clock}" if shared_clock else ""),
        "start_utc": iso(t0),
        "stop_utc": iso(t1),
        "step_s": step_s,
        "times": len(times),
        "receivers": len(receivers),
    }
    return Setup(receivers, grid, satellites, elevation_mask, shared, t0, t1, parameters)


def _evaluate(setup: Setup) -> DopSeries:
    from kizuna.pnt import evaluate_dop

    with progress() as bar:
        task = bar.add_task(
            f"DOP {len(setup.receivers)} points x {len(setup.satellites)} satellites", total=None
        )
        return evaluate_dop(
            setup.receivers,
            setup.satellites,
            setup.mask,
            shared_clocks=setup.shared_clocks,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _check_outputs(png: Path | None, geojson: Path | None, region: str | None, force: bool) -> None:
    output_file(png, "--png", force=force)
    output_file(geojson, "--geojson", force=force)
    if geojson is not None and region is None:
        fail("--geojson: a GeoJSON map needs --region")


def _write_geojson(path: Path, doc: dict[str, Any]) -> None:
    with atomic_output(path) as fh:
        json.dump(doc, fh, allow_nan=False)
        fh.write("\n")
    note(f"wrote {path} ({len(doc['features'])} cells)")


def _short(params: dict[str, Any]) -> str:
    """Systems and mask in a few words, for a table title that fits 80 columns (the parameters
    line below the table has the rest)."""
    systems = params["constellations"]
    names = "all systems" if len(systems) == len(_all_systems()) else "+".join(systems)
    mask = params["mask"] if not params["mask"].startswith("horizon") else "horizon file"
    return f"{names}, mask {mask}"


def _all_systems() -> tuple[str, ...]:
    from kizuna.pnt import SYSTEMS

    return tuple(SYSTEMS)


def _f(digits: int) -> Any:
    return lambda v: f"{v:.{digits}f}"


SERIES_COLUMNS = (
    Column("time (UTC)", "time_utc"),
    Column("sats", "satellites", justify="right"),
    Column("GDOP", "gdop", _f(2), "right"),
    Column("PDOP", "pdop", _f(2), "right"),
    Column("HDOP", "hdop", _f(2), "right"),
    Column("VDOP", "vdop", _f(2), "right"),
    Column("TDOP", "tdop", _f(2), "right"),
)
# Tables fit 80 columns: "sats" and "PDOP" are means over the period, "min" and "max" its extremes,
# ">60" the mean number of satellites above 60 deg elevation.
SUMMARY_COLUMNS = (
    Column("lat", "lat_deg", _f(2), "right"),
    Column("lon", "lon_deg", _f(2), "right"),
    Column("min", "min_visible", justify="right"),
    Column("sats", "mean_visible", _f(1), "right"),
    Column("PDOP", "mean_pdop", _f(2), "right"),
    Column("max", "max_pdop", _f(2), "right"),
    Column("no fix %", "no_fix_pct", _f(1), "right"),
    Column("avail %", "availability_pct", _f(1), "right"),
)


@pnt_app.command("dop")
def dop(
    start: StartOption,
    point: PointOption = None,
    region: RegionOption = None,
    constellations: ConstellationsOption = "all",
    mask: MaskOption = "10",
    hours: HoursOption = 24.0,
    step_s: StepOption = 300.0,
    grid_deg: GridOption = 1.0,
    elements: ElementsOption = None,
    nav: NavOption = None,
    shared_clock: SharedClockOption = None,
    max_pdop: MaxPdopOption = 6.0,
    min_satellites: MinSatsOption = 4,
    fmt: FormatOption = "table",
    png: PngOption = None,
    geojson: GeojsonOption = None,
    force: ForceOption = False,
) -> None:
    """DOP over time at a point, or per cell of a region (mean and worst PDOP, a map)."""
    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    positive(max_pdop, "--max-pdop", maximum=1000.0)
    count(min_satellites, "--min-satellites", minimum=4, maximum=200)
    _check_outputs(png, geojson, region, force)
    setup = _setup(
        point, region, constellations, mask, start, hours, step_s, grid_deg, elements, nav, shared_clock
    )
    series = _evaluate(setup)
    params = {**setup.parameters, "max_pdop": max_pdop, "min_satellites": min_satellites}
    if setup.grid is None:
        from kizuna.orbit.timescale import iso_utc

        rows = [
            {
                "time_utc": t,
                "satellites": int(series.n_visible[0, j]),
                **{k: float(getattr(series, k)[0, j]) for k in ("gdop", "pdop", "hdop", "vdop", "tdop")},
            }
            for j, t in enumerate(iso_utc(series.times_utc))
        ]
        if png:
            from kizuna.plots.pnt import plot_dop_series

            dops = {k: getattr(series, k)[0] for k in ("gdop", "pdop", "hdop", "vdop")}
            plot_dop_series(
                series.times_utc, dops, series.n_visible[0], png, f"{params['where']}, mask {params['mask']}"
            )
        lat, lon = setup.receivers.lat_deg[0], setup.receivers.lon_deg[0]
        title = f"DOP at {lat:.4f},{lon:.4f}: {_short(params)}"
        emit_rows(rows, SERIES_COLUMNS, fmt, title=title, parameters=params, key="times")
        return
    _emit_map(setup, series, params, fmt, png, geojson, max_pdop, min_satellites, "mean_pdop", "mean PDOP")


def _emit_map(
    setup: Setup,
    series: DopSeries,
    params: dict[str, Any],
    fmt: str,
    png: Path | None,
    geojson: Path | None,
    max_pdop: float,
    min_satellites: int,
    mapped: str,
    mapped_label: str,
) -> None:
    from kizuna.pnt import grid_geojson, summarize

    assert setup.grid is not None
    rows = [r.as_dict() for r in summarize(series, max_pdop, min_satellites)]
    values = {k: [r[k] for r in rows] for k in rows[0] if k not in ("lat_deg", "lon_deg")}
    title = f"{mapped_label}, {setup.grid.region.key}: {_short(params)}"
    if png:
        from kizuna.plots.pnt import plot_grid_map

        plot_grid_map(
            setup.grid,
            values[mapped],
            png,
            f"{mapped_label}, {setup.grid.region.title}: {_short(params)}\n"
            f"{params['start_utc']} to {params['stop_utc']} every {params['step_s']:g} s",
            mapped_label,
            value_range=(0.0, 100.0) if mapped_label.rstrip().endswith("%") else None,
        )
        note(f"wrote {png}")
    if geojson:
        doc = grid_geojson(setup.grid, values, title)
        doc["parameters"] = params
        _write_geojson(geojson, doc)
    emit_rows(rows, SUMMARY_COLUMNS, fmt, title=title, parameters=params, key="points")


@pnt_app.command("availability")
def availability(
    start: StartOption,
    point: PointOption = None,
    region: RegionOption = None,
    constellations: ConstellationsOption = "all",
    mask: MaskOption = "10",
    hours: HoursOption = 24.0,
    step_s: StepOption = 300.0,
    grid_deg: GridOption = 1.0,
    elements: ElementsOption = None,
    nav: NavOption = None,
    shared_clock: SharedClockOption = None,
    max_pdop: MaxPdopOption = 6.0,
    min_satellites: MinSatsOption = 4,
    fmt: FormatOption = "table",
    png: PngOption = None,
    geojson: GeojsonOption = None,
    force: ForceOption = False,
) -> None:
    """Share of time with PDOP <= --max-pdop and at least --min-satellites in view, per point or cell."""
    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    positive(max_pdop, "--max-pdop", maximum=1000.0)
    count(min_satellites, "--min-satellites", minimum=4, maximum=200)
    _check_outputs(png, geojson, region, force)
    setup = _setup(
        point, region, constellations, mask, start, hours, step_s, grid_deg, elements, nav, shared_clock
    )
    series = _evaluate(setup)
    params = {**setup.parameters, "max_pdop": max_pdop, "min_satellites": min_satellites}
    if setup.grid is None:
        from kizuna.pnt import summarize

        if png:
            fail("--png: an availability plot needs --region (use 'pnt dop --point --png' for a time series)")
        rows = [r.as_dict() for r in summarize(series, max_pdop, min_satellites)]
        lat, lon = setup.receivers.lat_deg[0], setup.receivers.lon_deg[0]
        title = f"PDOP <= {max_pdop:g}, >= {min_satellites} sats at {lat:.4f},{lon:.4f}: {_short(params)}"
        emit_rows(rows, SUMMARY_COLUMNS, fmt, title=title, parameters=params, key="points")
        return
    _emit_map(
        setup,
        series,
        params,
        fmt,
        png,
        geojson,
        max_pdop,
        min_satellites,
        "availability_pct",
        "availability %",
    )


SCENARIO_COLUMNS = (
    Column("scenario", "scenario"),
    Column("sats", "mean_visible", _f(1), "right"),
    Column("min", "min_visible", justify="right"),
    Column(">60", "mean_above_60_deg", _f(1), "right"),
    Column("PDOP", "mean_pdop", _f(2), "right"),
    Column("max PDOP", "max_pdop", _f(2), "right"),
    Column("no fix %", "no_fix_pct", _f(1), "right"),
    Column("avail %", "availability_pct", _f(1), "right"),
)


@pnt_app.command("scenarios")
def scenarios(
    start: StartOption,
    point: PointOption = None,
    mask: MaskOption = "10",
    hours: HoursOption = 24.0,
    step_s: StepOption = 300.0,
    elements: ElementsOption = None,
    nav: NavOption = None,
    shared_clock: SharedClockOption = None,
    max_pdop: MaxPdopOption = 6.0,
    min_satellites: MinSatsOption = 4,
    fmt: FormatOption = "table",
) -> None:
    """Every system, then without QZSS / NavIC, GPS denied, GPS alone and GPS + QZSS, at one point."""
    import numpy as np

    from kizuna.pnt import DEFAULT_SCENARIOS, ElevationMask, compare_scenarios, evaluate_dop, summarize

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    positive(max_pdop, "--max-pdop", maximum=1000.0)
    count(min_satellites, "--min-satellites", minimum=4, maximum=200)
    if point is None:
        fail("--point: scenarios are compared at one point (LAT,LON)")
    setup = _setup(point, None, "all", mask, start, hours, step_s, 1.0, elements, nav, shared_clock)
    rows = []
    with progress() as bar:
        task = bar.add_task("scenarios", total=len(DEFAULT_SCENARIOS))
        for label, series in compare_scenarios(
            setup.receivers, setup.satellites, setup.mask, shared_clocks=setup.shared_clocks
        ):
            kept = [s for s in set(setup.satellites.system.tolist()) if s in series.systems]
            high = evaluate_dop(setup.receivers, setup.satellites.subset(kept), ElevationMask(60.0))
            summary = summarize(series, max_pdop, min_satellites)[0].as_dict()
            rows.append(
                {
                    "scenario": label,
                    "systems": "".join(series.systems),
                    "mean_above_60_deg": float(np.mean(high.n_visible[0])),
                    **{k: v for k, v in summary.items() if k not in ("lat_deg", "lon_deg")},
                }
            )
            bar.advance(task)
    params = {**setup.parameters, "max_pdop": max_pdop, "min_satellites": min_satellites}
    if fmt == "json":
        print_json({"parameters": params, "scenarios": rows})
        return
    emit_rows(
        rows,
        SCENARIO_COLUMNS,
        fmt,
        title=f"GNSS scenarios at {params['where']}, mask {_short(params).split('mask ')[1]}",
        parameters=params,
    )


# km throughout (the title says so); the number of common times is in CSV and JSON
COMPARE_COLUMNS = (
    Column("catalog", "name"),
    Column("nav", "matched"),
    Column("rms", "rms_km", _f(3), "right"),
    Column("max", "max_km", _f(3), "right"),
    Column("radial", "rms_radial_km", _f(3), "right"),
    Column("along", "rms_along_km", _f(3), "right"),
    Column("cross", "rms_cross_km", _f(3), "right"),
)


@pnt_app.command("compare")
def compare(
    start: StartOption,
    nav: Annotated[
        Path, typer.Option("--nav", help="RINEX navigation file of the same days as the elements")
    ],
    elements: ElementsOption = None,
    constellations: ConstellationsOption = "gps,qzss,galileo",
    hours: HoursOption = 2.0,
    step_s: StepOption = 300.0,
    max_match_km: Annotated[
        float,
        typer.Option("--max-match-km", help="farthest apart two descriptions of one satellite may be [km]"),
    ] = 100.0,
    fmt: FormatOption = "table",
) -> None:
    """Catalog (SGP4 of GP elements) against broadcast positions, satellite by satellite.

    Satellites are matched by their orbits, not by name (see kizuna.pnt.compare); R, T and N are
    the RMS radial, along-track and cross-track parts in the catalog orbit's (Earth-fixed) frame."""
    from kizuna.orbit.timescale import time_grid
    from kizuna.pnt.compare import compare_positions

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    systems = _systems(constellations, "--constellations")
    positive(hours, "--hours", maximum=MAX_HOURS, unit="h")
    positive(step_s, "--step-s", maximum=MAX_STEP_S, unit="s")
    positive(max_match_km, "--max-match-km", maximum=10_000.0, unit="km")
    t0 = parse_time(start, "--start")
    t0, t1 = window(t0, stop=t0 + timedelta(hours=hours), option="--start/--hours")
    supported_window(t0, t1, "--start/--hours")
    grid_steps((t1 - t0).total_seconds(), step_s)
    times = time_grid(t0, t1, step_s)
    broadcast = _satellites(systems, None, nav, times, t0)
    catalog = _satellites(systems, elements, None, times, t0)
    diffs = compare_positions(catalog, broadcast, max_match_km=max_match_km)
    if not diffs:
        fail(
            f"--nav {nav}: no catalog satellite is within {max_match_km:g} km of one of its satellites "
            f"over {iso(t0)} + {hours:g} h: are the element sets and the navigation file of the same days?"
        )
    rows = [d.as_dict() for d in diffs]
    params = {
        "constellations": list(systems),
        "elements": str(elements or BUNDLED_ELEMENTS),
        "nav": str(nav),
        "start_utc": iso(t0),
        "stop_utc": iso(t1),
        "step_s": step_s,
        "max_match_km": max_match_km,
        "catalog_satellites": catalog.counts(),
        "broadcast_satellites": broadcast.counts(),
        "matched": len(diffs),
    }
    title = f"SGP4 vs broadcast [km], {len(diffs)} satellites matched"
    emit_rows(rows, COMPARE_COLUMNS, fmt, title=title, parameters=params, key="satellites")


# ---------------------------------------------------------------- interference
INTERFERENCE_FORMATS = ("table", "csv", "json", "geojson")
MAX_RADIUS_KM = 2000.0
MIN_BIN_S, MAX_BIN_S = 60.0, 86_400.0
#: positions this far outside the region or radius are read too: spoofed ships are shown tens of
#: kilometres from where they sail, and the jump from their true track is the evidence
MARGIN_KM = 150.0
INTERFERENCE_KINDS = ("spoofing", "jamming", "all")

INTERFERENCE_COLUMNS = (
    Column("#", "number", justify="right"),
    Column("kind", "kind"),
    Column("pattern", "pattern"),
    Column("start (UTC)", "start_utc", lambda v: str(v)[:16].replace("T", " ")),
    Column("stop (UTC)", "stop_utc", lambda v: str(v)[:16].replace("T", " ")),
    Column("lat", "centre_lat_deg", _f(3), "right"),
    Column("lon", "centre_lon_deg", _f(3), "right"),
    Column("r km", "radius_km", _f(2), "right"),
    Column("ships", "vessels_affected", justify="right"),
    Column("conf", "confidence", _f(2), "right"),
)


def _box_around(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """W, S, E, N of a box holding the circle (W > E when it crosses the antimeridian)."""
    from kizuna.model.constants import EARTH_MEAN_RADIUS_M

    dlat = math.degrees(radius_km * 1000.0 / EARTH_MEAN_RADIUS_M)
    south, north = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
    if south <= -90.0 or north >= 90.0 or math.cos(math.radians(max(abs(south), abs(north)))) < 1e-6:
        return -180.0, south, 180.0, north
    dlon = dlat / math.cos(math.radians(max(abs(south), abs(north))))
    if dlon >= 180.0:
        return -180.0, south, 180.0, north
    return ((lon - dlon + 180.0) % 360.0) - 180.0, south, ((lon + dlon + 180.0) % 360.0) - 180.0, north


def _in_box(lat: Any, lon: Any, box: tuple[float, float, float, float]) -> Any:
    w, s, e, n = box
    return (lat >= s) & (lat <= n) & (((lon - w) % 360.0) <= ((e - w) % 360.0))


def _grow(box: tuple[float, float, float, float], km: float) -> tuple[float, float, float, float]:
    w, s, e, n = box
    dlat = km / 111.195
    south, north = max(s - dlat, -90.0), min(n + dlat, 90.0)
    dlon = dlat / max(math.cos(math.radians(max(abs(south), abs(north)))), 1e-6)
    if (e - w) % 360.0 + 2 * dlon >= 360.0 or (w == -180.0 and e == 180.0):
        return -180.0, south, 180.0, north
    return ((w - dlon + 180.0) % 360.0) - 180.0, south, ((e + dlon + 180.0) % 360.0) - 180.0, north


def _read_ais(paths: list[Path]) -> Any:
    """Positions of the AIS files (the first problems of each named as warnings)."""
    from kizuna.formats.ais import read_ais_file, split_records
    from kizuna.model.maritime import PositionArrays

    parts = []
    for path in paths:
        parsed = read_ais_file(path)
        positions = split_records(parsed.records)[0]
        for issue in parsed.issues[:5]:
            warn(issue)
        if len(parsed.issues) > 5:
            warn(f"--ais {path}: {len(parsed.issues) - 5} more problems not shown")
        if not positions:
            fail(f"--ais {path}: no AIS position report could be read ({len(parsed.issues)} problems)")
        timed = PositionArrays.from_records(positions)
        if not len(timed):
            fail(
                f"--ais {path}: none of its {len(positions)} position reports carries a time "
                "(tag block, $PGHP or a time column); interference needs times"
            )
        if len(timed) < len(positions):
            warn(
                f"--ais {path}: {len(positions) - len(timed)} of {len(positions)} reports carry no time; left out"
            )
        parts.append(timed)
    return PositionArrays.concat(parts)


@pnt_app.command("interference")
def interference(
    ais: Annotated[
        list[Path] | None,
        typer.Option("--ais", help="AIS NMEA or CSV file (repeat); without it, the store is read"),
    ] = None,
    db: DbOption = None,
    region: RegionOption = None,
    point: PointOption = None,
    radius_km: Annotated[
        float | None,
        typer.Option(
            "--radius-km", help=f"with --point: radius of the area [km], (0, {MAX_RADIUS_KM:g}], default 100"
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="ISO-8601 start (offsets and Z accepted)")
    ] = None,
    stop: Annotated[str | None, typer.Option("--stop", help="ISO-8601 stop (offsets and Z accepted)")] = None,
    kind: Annotated[str, typer.Option("--kind", help="spoofing, jamming or all")] = "all",
    min_vessels: Annotated[
        int, typer.Option("--min-vessels", help="fewest distinct vessels in a pattern, 2 to 1000")
    ] = 3,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", help="list areas at least this confident, 0 to 1")
    ] = 0.0,
    bin_s: Annotated[
        float, typer.Option("--bin-s", help=f"jamming time bin [s], {MIN_BIN_S:g} to {MAX_BIN_S:g}")
    ] = 1800.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or geojson")] = "table",
    png: Annotated[Path | None, typer.Option("--png", help="write a PNG map of the areas here")] = None,
    force: ForceOption = False,
) -> None:
    """GNSS spoofing and jamming areas seen in AIS, each with a confidence (see kizuna.pnt.interference).

    Reads the --ais files, or the store (--db) when no file is given, or both when both are given."""
    from kizuna.pnt import REGIONS
    from kizuna.pnt.interference import InterferenceConfig, detect_interference, interference_geojson

    fmt = output_format(fmt, "--format", INTERFERENCE_FORMATS)
    check_choice(kind, "--kind", INTERFERENCE_KINDS)
    count(min_vessels, "--min-vessels", minimum=2, maximum=1000)
    check_number(min_confidence, "--min-confidence", minimum=0.0, maximum=1.0)
    check_number(bin_s, "--bin-s", minimum=MIN_BIN_S, maximum=MAX_BIN_S, unit="s")
    if region is not None and point is not None:
        fail("--point/--region: give one of --point LAT,LON or --region NAME, not both")
    if radius_km is not None and point is None:
        fail("--radius-km: a radius needs --point LAT,LON")
    box = None
    where = "all positions read"
    centre: tuple[float, float] | None = None
    radius = (
        100.0 if radius_km is None else positive(radius_km, "--radius-km", maximum=MAX_RADIUS_KM, unit="km")
    )
    if region is not None:
        if region.lower() not in REGIONS:
            fail(f"--region {region!r}: use one of {', '.join(REGIONS)}")
        r = REGIONS[region.lower()]
        box = (r.west_deg, r.south_deg, r.east_deg, r.north_deg)
        where = f"region {r.key} ({r.title})"
    elif point is not None:
        centre = _parse_point(point)
        box = _box_around(*centre, radius)
        where = f"within {radius:g} km of {centre[0]:g},{centre[1]:g}"
    t0, t1 = optional_window(optional_time(start, "--start"), optional_time(stop, "--stop"))
    for path in ais or []:
        text_file(path, "--ais")
    output_file(png, "--png", force=force)
    import numpy as np

    from kizuna.model.maritime import PositionArrays

    read_box = _grow(box, MARGIN_KM) if box is not None else None
    parts = []
    if ais:
        parts.append(_read_ais(ais))
    if not ais or db is not None:
        from kizuna.store.ais_store import AisStore

        try:
            parts.append(
                AisStore(open_store(db, must_exist=True)).positions(bbox=read_box, start=t0, stop=t1)
            )
        except KizunaError as exc:
            fail(f"--db {db or 'kizuna.db'}: {exc}")
    positions = PositionArrays.concat(parts)
    keep = np.ones(len(positions), bool)
    if read_box is not None:
        keep &= _in_box(positions.lat_deg, positions.lon_deg, read_box)
    if t0 is not None:
        keep &= positions.time_utc >= np.datetime64(t0.replace(tzinfo=None), "ns")
    if t1 is not None:
        keep &= positions.time_utc <= np.datetime64(t1.replace(tzinfo=None), "ns")
    positions = positions.take(np.flatnonzero(keep))
    if not len(positions):
        scope = "" if box is None else f" {where}" if point is not None else f" in {where}"
        warn(f"no AIS positions{scope}" + (f" between {iso(t0)} and {iso(t1)}" if t0 and t1 else ""))
    config = InterferenceConfig(min_vessels=min_vessels, min_circle_vessels=max(5, min_vessels), bin_s=bin_s)
    kinds = ("spoofing", "jamming") if kind == "all" else (kind,)
    with progress() as bar:
        task = bar.add_task(f"interference in {len(positions):,} AIS positions", total=None)
        result = detect_interference(positions, config, kinds)
        bar.update(task, completed=1, total=1)
    areas = [a for a in result.areas if a.confidence >= min_confidence]
    if centre is not None:
        from kizuna.maritime.tracks import haversine_m

        areas = [
            a
            for a in areas
            if haversine_m(centre[0], centre[1], a.centre_lat_deg, a.centre_lon_deg) <= radius * 1000
        ]
    elif box is not None:
        areas = [a for a in areas if _in_box(a.centre_lat_deg, a.centre_lon_deg, box)]
    params: dict[str, Any] = {
        "inputs": [str(x) for x in ais or []]
        + (["store " + (db or "kizuna.db")] if not ais or db is not None else []),
        "where": where,
        "start_utc": iso(t0) if t0 else None,
        "stop_utc": iso(t1) if t1 else None,
        "kinds": list(kinds),
        "min_vessels": min_vessels,
        "min_confidence": min_confidence,
        "bin_s": bin_s,
        "positions": result.positions,
        "vessels": result.vessels,
        "indicators": result.indicators,
    }
    if png:
        from kizuna.plots.pnt import plot_interference_map

        plot_interference_map(
            areas,
            positions.lat_deg,
            positions.lon_deg,
            png,
            f"GNSS interference in AIS, {where}: {len(areas)} areas\n"
            f"{result.positions:,} positions of {result.vessels:,} vessels",
            extent=box if box is not None and box[0] < box[2] else None,
        )
        note(f"wrote {png}")
    if fmt == "geojson":
        print_json(interference_geojson(areas, params))
        return
    rows = []
    for number, a in enumerate(areas, start=1):
        row = {"number": number, **a.as_dict(), "radius_km": a.radius_m / 1000.0}
        if fmt == "json":
            row["polygon"] = a.polygon
        else:
            row["vessels"] = " ".join(str(m) for m in a.vessels)
        rows.append(row)
    title = f"GNSS interference in AIS, {where}: {len(areas)} areas"
    emit_rows(rows, INTERFERENCE_COLUMNS, fmt, title=title, parameters=params, key="areas")
    if fmt == "table" and areas:
        note("how each area was found and its confidence computed: -f json (definition, confidence_terms)")


def register(app: typer.Typer) -> None:
    app.add_typer(pnt_app, name="pnt")
