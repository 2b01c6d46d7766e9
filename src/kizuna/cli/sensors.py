"""`kizuna sensors`: the node's space-surveillance network (radars, telescopes, space-based optical
sensors, laser ranging), each sensor with what it sees and the public source of its figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    check_number,
    count,
    emit_rows,
    fail,
    input_file,
    key_value_table,
    missing_ids,
    open_store,
    out,
    output_format,
    parse_ids,
    parse_time,
    print_json,
    progress,
    warn,
)

if TYPE_CHECKING:
    from kizuna.model.records import ElementSet
    from kizuna.ssa.sensors import SsaSensor

sensors_app = typer.Typer(
    help="The space-surveillance sensor network: list, show, passes, coverage.", no_args_is_help=True
)

SENSORS_OPTION = typer.Option(
    "--sensors", help="a sensor file of the bundled file's shape (default: the bundled network)"
)
COLUMNS = (
    Column("sensor", "name"),
    Column("kind", "kind"),
    Column("operator", "operator"),
    Column("where", "where"),
    Column("sees", "sees"),
    Column("reach", "reach"),
    Column("tracks/h", "tracks_per_hour", lambda v: f"{v:g}", "right"),
)


def register(app: typer.Typer) -> None:
    app.add_typer(sensors_app, name="sensors")


def _load(path: Path | None):
    from kizuna.ssa.sensors import SensorFileError, load_sensors

    if path is not None:
        input_file(path, "--sensors")
    try:
        return load_sensors(path)
    except SensorFileError as exc:
        fail(f"--sensors {exc}" if path is not None else exc)


@sensors_app.command("list")
def list_cmd(
    sensors_file: Annotated[Path | None, SENSORS_OPTION] = None,
    operator: Annotated[
        str | None, typer.Option("--operator", help="only this nation's sensors (ISO 3166 alpha-3, e.g. JPN)")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="radar, optical, space_optical or laser")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Every sensor: kind, operator, place, what it detects, reach and capacity."""
    from kizuna.ssa.sensors import KINDS, sensor_rows

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    if kind is not None and kind not in KINDS:
        fail(f"--kind {kind!r}: use one of {', '.join(KINDS)}")
    if operator is not None and not (len(operator) == 3 and operator.isalpha()):
        fail(f"--operator {operator!r}: use an ISO 3166 alpha-3 code such as JPN")
    sensors = _load(sensors_file)
    rows = [
        r
        for r in sensor_rows(sensors)
        if (operator is None or r["operator"] == operator.upper()) and (kind is None or r["kind"] == kind)
    ]
    columns = COLUMNS if fmt == "table" else (*COLUMNS, Column("source", "source"))
    emit_rows(
        rows,
        columns,
        fmt,
        title="space-surveillance sensors",
        parameters={
            "sensors": str(sensors_file or "bundled"),
            "operator": operator or "all",
            "kind": kind or "all",
        },
        key="sensors",
    )


@sensors_app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="the sensor's name (see `kizuna sensors list`)")],
    sensors_file: Annotated[Path | None, SENSORS_OPTION] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """One sensor with every figure and its source."""
    fmt = output_format(fmt, "--format", ("table", "json"))
    sensors = _load(sensors_file)
    if name not in sensors:
        fail(f"sensor {name!r}: not in the network; one of {', '.join(sorted(sensors))}")
    s = sensors[name]
    doc = {"name": s.name, "kind": s.kind, "operator": s.operator}
    if s.site:
        doc.update({"lat_deg": s.site.lat_deg, "lon_deg": s.site.lon_deg, "alt_m": s.site.alt_m})
    if s.host:
        doc.update({f"host_{k}": v for k, v in vars(s.host).items() if v is not None})
    doc.update({"tracks_per_hour": s.tracks_per_hour, "slew_deg_s": s.slew_deg_s, **s.figures})
    doc["source"] = s.source
    if fmt == "json":
        print_json(doc)
        return
    out.print(key_value_table(f"sensor {s.name}", doc.items()))


# ------------------------------------------------------------------ shared by passes, coverage, observe, tasking
MAX_HOURS = 168.0  # a week: pass prediction from element sets is not meant for longer


def select_sensors(
    sensors: dict[str, SsaSensor], names: Sequence[str] | None, option: str
) -> list[SsaSensor]:
    """The named sensors (repeatable, comma-separated), or every sensor when none is named."""
    wanted = [n.strip() for v in names or [] for n in v.split(",") if n.strip()]
    if names and not wanted:
        fail(f"{option}: name at least one sensor")
    unknown = [n for n in wanted if n not in sensors]
    if unknown:
        fail(f"{option} {unknown[0]!r}: not in the network; one of {', '.join(sorted(sensors))}")
    return [sensors[n] for n in dict.fromkeys(wanted)] if wanted else list(sensors.values())


def load_objects(
    tle: Path | None, norad: Sequence[str] | None, all_objects: bool, db: str | None
) -> list[ElementSet]:
    """Element sets from a TLE/3LE/OMM file or the store: `--norad` ids or `--catalog` (all of them)."""
    ids = parse_ids(norad, "--norad")
    if not ids and not all_objects:
        fail("--norad: name objects (--norad 25544,...) or take the whole --catalog")
    if ids and all_objects:
        fail("--catalog: give --norad or --catalog, not both")
    if tle is not None:
        from kizuna.formats.detect import read_path

        input_file(tle, "--tle")
        result = read_path(tle)
        for issue in result.issues[:5]:
            warn(f"--tle {issue}")
        if len(result.issues) > 5:
            warn(f"--tle {tle}: {len(result.issues) - 5} more bad records skipped")
        newest: dict[int, ElementSet] = {}
        for es in getattr(result, "records", []):
            if not hasattr(es, "mean_motion_revday"):
                fail(f"--tle {tle}: not an element-set file (TLE, 3LE or OMM)")
            if es.norad_id not in newest or es.epoch_utc > newest[es.norad_id].epoch_utc:
                newest[es.norad_id] = es
        sets = [newest[i] for i in ids if i in newest] if ids else list(newest.values())
    else:
        store = open_store(db, must_exist=True)
        try:
            sets = store.latest_element_sets(ids or None)
        finally:
            store.close()
    if ids:
        missing_ids(ids, {s.norad_id for s in sets})
    if not sets:
        fail(f"--{'norad' if ids else 'catalog'}: no element sets to work on")
    return sets


def start_of(text: str | None, sets: Sequence[ElementSet]) -> datetime:
    """--start, or the newest element-set epoch rounded down to the minute."""
    if text is not None:
        return parse_time(text, "--start")
    newest = max(s.epoch_utc for s in sets)
    return newest.replace(second=0, microsecond=0).astimezone(UTC)


def hours_of(hours: float) -> timedelta:
    check_number(hours, "--hours", minimum=0.0, exclusive_minimum=True, maximum=MAX_HOURS, unit="h")
    return timedelta(hours=hours)


def retro_ids(values: Sequence[str] | None) -> list[int]:
    return parse_ids(values, "--retro")


def passes_with_progress(
    sets: Sequence[ElementSet],
    ground: Sequence[Any],
    t0: datetime,
    length: timedelta,
    diameter_m: float,
    retro_list: Sequence[int],
) -> Any:
    """Passes of `sets` over the ground sensors in [t0, t0 + length], with a progress bar; a
    visibility error is the command's one-line error."""
    from kizuna.ssa.visibility import VisibilityError, find_passes

    with progress() as bar:
        task = bar.add_task("passes", total=None)
        try:
            return find_passes(
                sets,
                ground,
                t0,
                t0 + length,
                default_diameter_m=diameter_m,
                retroreflectors=retro_list,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except VisibilityError as exc:
            fail(exc)


SENSOR_NAMES = typer.Option(
    "--sensor", help="sensor names (repeat or comma-separate; default every ground sensor)"
)
NORAD = typer.Option("--norad", help="objects by NORAD id (repeat or comma-separate)")
CATALOG = typer.Option("--catalog", help="every object of the --tle file or the store")
TLE = typer.Option("--tle", help="a TLE/3LE/OMM file instead of the store")
START = typer.Option("--start", help="UTC start (default: the newest element-set epoch)")
HOURS = typer.Option("--hours", help="length of the window [h], at most 168")
DIAMETER = typer.Option("--diameter-m", help="object size for radar and telescope detection [m]")
RETRO = typer.Option(
    "--retro", help="NORAD ids carrying laser retroreflectors (laser stations range only these)"
)

PASS_COLUMNS = (
    Column("sensor", "sensor"),
    Column("norad", "norad_id", str, "right"),
    Column("rise (UTC)", "rise_utc"),
    Column("culmination", "culmination_utc"),
    Column("set", "set_utc"),
    Column("max el", "max_elevation_deg", lambda v: f"{v:.1f}", "right"),
    Column("min range km", "min_range_km", lambda v: f"{v:.0f}", "right"),
    Column("detect", "detectable", lambda v: "yes" if v else "no"),
    Column("why not", "reason"),
)
PASS_CSV_COLUMNS = (
    *PASS_COLUMNS,
    Column("duration_s", "duration_s"),
    Column("detect_start_utc", "detect_start_utc"),
    Column("detect_stop_utc", "detect_stop_utc"),
)


@sensors_app.command("passes")
def passes_cmd(
    sensor: Annotated[list[str] | None, SENSOR_NAMES] = None,
    norad: Annotated[list[str] | None, NORAD] = None,
    all_objects: Annotated[bool, CATALOG] = False,
    tle: Annotated[Path | None, TLE] = None,
    start: Annotated[str | None, START] = None,
    hours: Annotated[float, HOURS] = 24.0,
    diameter_m: Annotated[float, DIAMETER] = 1.0,
    retro: Annotated[list[str] | None, RETRO] = None,
    detectable_only: Annotated[
        bool, typer.Option("--detectable-only", help="only passes the sensor detects")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", help="rows shown at most (the JSON total counts all)")
    ] = 1000,
    sensors_file: Annotated[Path | None, SENSORS_OPTION] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Passes of objects over sensors: rise, culmination, set, closest range, and whether the sensor
    detects the object (radar size at range, telescope darkness/sunlit/magnitude, laser reflector)."""

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    check_number(diameter_m, "--diameter-m", minimum=0.0, exclusive_minimum=True, maximum=100.0, unit="m")
    limit = count(limit, "--limit", maximum=10_000_000)
    length = hours_of(hours)
    retro_list = retro_ids(retro)
    network = _load(sensors_file)
    chosen = select_sensors(network, sensor, "--sensor")
    ground = [s for s in chosen if s.kind != "space_optical"]
    if not ground:
        fail("--sensor: space-based sensors have no passes; name a radar, telescope or laser station")
    if len(ground) < len(chosen) and sensor:
        warn("space-based sensors have no ground passes and are left out")
    sets = load_objects(tle, norad, all_objects, db)
    t0 = start_of(start, sets)
    result = passes_with_progress(sets, ground, t0, length, diameter_m, retro_list)
    if detectable_only:
        result = result.select(result.detectable)
    rows = result.records()
    emit_rows(
        rows[:limit],
        PASS_COLUMNS if fmt == "table" else PASS_CSV_COLUMNS,
        fmt,
        title=f"passes over {len(ground)} sensors, {len(sets)} objects",
        parameters=_parameters(ground, sets, t0, hours, diameter_m=diameter_m, retro=retro_list),
        total=len(rows),
        key="passes",
        extra={"detectable": int(result.detectable.sum())},
    )


def _parameters(
    sensors: Sequence[SsaSensor], sets: Sequence[ElementSet], t0: datetime, hours: float, **more: Any
) -> dict[str, Any]:
    return {
        "sensors": [s.name for s in sensors],
        "objects": len(sets),
        "start_utc": t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hours": hours,
        **more,
    }


COVERAGE_COLUMNS = (
    Column("network", "network"),
    Column("sensors", "sensors", str, "right"),
    Column("LEO objects", "leo_objects", str, "right"),
    Column("LEO visible %", "leo_visible_pct", lambda v: f"{v:.1f}", "right"),
    Column("LEO detected %", "leo_detected_pct", lambda v: f"{v:.1f}", "right"),
    Column("GEO objects", "geo_objects", str, "right"),
    Column("GEO detected %", "geo_detected_pct", lambda v: f"{v:.1f}", "right"),
    Column("GEO belt visible %", "geo_belt_visible_pct", lambda v: f"{v:.1f}", "right"),
    Column("detectable passes", "detectable_passes", str, "right"),
)
DEFAULT_NETWORKS = "JPN,JPN+USA,JPN+AUS,JPN+IND,JPN+EUR,ALL"


@sensors_app.command("coverage")
def coverage_cmd(
    networks: Annotated[
        str,
        typer.Option(
            "--networks",
            help="comma-separated networks, each operators joined by '+' (ISO alpha-3, EUR, ALL)",
        ),
    ] = DEFAULT_NETWORKS,
    norad: Annotated[list[str] | None, NORAD] = None,
    all_objects: Annotated[bool, CATALOG] = False,
    tle: Annotated[Path | None, TLE] = None,
    start: Annotated[str | None, START] = None,
    hours: Annotated[float, HOURS] = 24.0,
    diameter_m: Annotated[float, DIAMETER] = 1.0,
    retro: Annotated[list[str] | None, RETRO] = None,
    png: Annotated[
        Path | None,
        typer.Option("--png", help="directory for geo_strip.png and leo_coverage.png (created if missing)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="write into a non-empty --png directory")] = False,
    sensors_file: Annotated[Path | None, SENSORS_OPTION] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Which fraction of the LEO catalog and of the GEO belt each network sees in the period (Japan
    alone against Japan with each ally), as a table and, with --png, a GEO longitude strip and LEO
    inclination x altitude maps."""
    from kizuna.cli._common import output_dir
    from kizuna.ssa.visibility import NetworkError, coverage, parse_network

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    check_number(diameter_m, "--diameter-m", minimum=0.0, exclusive_minimum=True, maximum=100.0, unit="m")
    length = hours_of(hours)
    retro_list = retro_ids(retro)
    png = output_dir(png, "--png", force=force)
    network = _load(sensors_file)
    specs = [n.strip() for n in networks.split(",") if n.strip()]
    if not specs:
        fail("--networks: name at least one network, e.g. JPN,JPN+USA")
    chosen: dict[str, list[SsaSensor]] = {}
    for spec in specs:
        try:
            name, members = parse_network(spec, list(network.values()))
        except NetworkError as exc:
            fail(f"--networks {exc}")
        chosen[name] = members
    ground = list({s.name: s for members in chosen.values() for s in members}.values())
    sets = load_objects(tle, norad, all_objects, db)
    t0 = start_of(start, sets)
    passes = passes_with_progress(sets, ground, t0, length, diameter_m, retro_list)
    cov = coverage(sets, passes, chosen, diameter_m=diameter_m)
    if png is not None:
        from kizuna.plots.ssa import plot_geo_strip, plot_leo_coverage

        png.mkdir(parents=True, exist_ok=True)
        plot_geo_strip(cov, png / "geo_strip.png", f"GEO belt per network, {len(sets)} objects, {hours:g} h")
        plot_leo_coverage(cov, png / "leo_coverage.png")
    emit_rows(
        cov.rows,
        COVERAGE_COLUMNS,
        fmt,
        title=f"coverage of {len(sets)} objects in {hours:g} h",
        parameters=_parameters(
            ground, sets, t0, hours, diameter_m=diameter_m, networks={k: v for k, v in cov.sensors.items()}
        ),
        key="networks",
    )
