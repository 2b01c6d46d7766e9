"""`kizuna eo ...`: constellation access, revisit and collection planning (wiring only)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    check_number,
    emit_rows,
    fail,
    grid_steps,
    iso,
    open_store,
    out,
    output_file,
    output_format,
    parse_time,
    positive,
    print_json,
    progress,
    read_text,
    supported_window,
    warn,
    window,
)
from kizuna.eo.revisit import DEFAULT_FRESH_S, DEFAULT_MERGE_GAP_S
from kizuna.errors import KizunaError

eo_app = typer.Typer(help="Earth observation: access, revisit and collection planning.", no_args_is_help=True)

ConstOption = Annotated[
    str,
    typer.Option(
        "--constellation",
        help="catalog name prefix (e.g. QPS-SAR), a stored constellation name, or walker:T/P/F:ALT_KM:INC_DEG",
    ),
]
#: H3 sampling finer than this turns a country-sized polygon into tens of millions of points
MIN_SPACING_KM = 1.0
MAX_SPACING_KM = 1000.0
#: the coarse access step: beyond this a LEO pass (about 10 min) falls between two steps
MAX_ACCESS_STEP_S = 600.0
#: windows are refined to milliseconds between coarse steps, so a finer step only costs memory (a 2 h
#: window at 1 ms held every satellite x target x step in memory and was killed)
MIN_ACCESS_STEP_S = 1.0
#: element sets (and so plans) are good for days, not months
MAX_PLAN_HOURS = 31 * 24.0
PLAN_METHODS = ("optimal", "greedy")
#: accesses and revisit merges are about passes (minutes); a day bounds any sensible setting
MAX_DWELL_S = 86400.0
#: the age-of-information horizon, up to a year
MAX_FRESH_MIN = 525_600.0
ACCESS_FORMATS = ("table", "csv", "json", "geojson")
#: the stored design column's width (store.schema.eo_constellation.design)
MAX_DESIGN_CHARS = 120


def resolve_constellation(spec: str, db: str | None, epoch: datetime) -> Any:
    """A design, a stored constellation, or catalog objects whose name starts with `spec`. Designs
    (inline, or stored without an epoch) take `epoch`, the analysis start."""
    from kizuna.eo.constellation import at_analysis_start, from_element_sets, is_design, parse_design
    from kizuna.store.eo_store import ConstellationStore

    if is_design(spec):
        return parse_design(spec, epoch)
    store = open_store(db, must_exist=True)  # reading a catalog never creates a database
    stored = ConstellationStore(store).load(spec)
    if stored is not None and stored.notes.get("parts") is not None:
        from kizuna.cli.eo_design import build_stored

        return build_stored(stored, store, epoch)
    if stored is not None:
        return at_analysis_start(stored, epoch)
    sets = [e.latest for e in store.search(name=spec) if e.latest is not None]
    return from_element_sets(spec, sets, prefix=spec)


AoiOption = Annotated[Path | None, typer.Option("--aoi", help="GeoJSON points / polygons")]
PointOption = Annotated[
    list[str] | None,
    typer.Option(
        "--point",
        help="a ground point LAT,LON[,NAME] in degrees (repeatable; with or instead of --aoi)",
    ),
]
StartOption = Annotated[str, typer.Option(help="ISO-8601 start; offsets and Z accepted, naive is UTC")]
DaysOption = Annotated[float, typer.Option(help="length of the period [days], > 0")]
SensorOption = Annotated[
    str,
    typer.Option(
        help="sar:INC_MIN-INC_MAX:left|right|both, sar:spotlight, cone:HALF_DEG, optical:MAX_OFF_NADIR[:SUN_DEG]"
    ),
]
SpacingOption = Annotated[
    float,
    typer.Option(
        "--spacing-km", help=f"polygon sampling (H3 grid) [km], {MIN_SPACING_KM:g} to {MAX_SPACING_KM:g}"
    ),
]
StepOption = Annotated[
    float,
    typer.Option(
        "--step-s", help=f"coarse propagation step [s], {MIN_ACCESS_STEP_S:g} to {MAX_ACCESS_STEP_S:g}"
    ),
]
MinDwellOption = Annotated[
    float,
    typer.Option("--min-dwell-s", help=f"drop accesses shorter than this [s], 0 to {MAX_DWELL_S:g}"),
]
MergeGapOption = Annotated[
    float,
    typer.Option(
        "--merge-gap-s",
        help="accesses less than this apart count as one revisit (a split pass, back-to-back "
        f"satellites) [s], 0 to {MAX_DWELL_S:g}",
    ),
]


def parse_point(text: str, option: str = "--point") -> tuple[float, float, str]:
    """LAT,LON[,NAME] in degrees: finite, latitude in [-90, 90], longitude in [-180, 180]."""
    parts = text.split(",", 2)
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        fail(f"{option} {text!r}: wants LAT,LON[,NAME] in degrees (e.g. 35.68,139.77,Tokyo)")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        fail(f"{option} {text!r}: latitude and longitude must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        fail(f"{option} {text!r}: latitude {lat:g} outside -90..90 (the order is LAT,LON)")
    if not -180.0 <= lon <= 180.0:
        fail(f"{option} {text!r}: longitude {lon:g} outside -180..180")
    if len(parts) == 3 and not parts[2].strip():
        fail(f"{option} {text!r}: empty NAME (give LAT,LON or LAT,LON,NAME)")
    name = parts[2].strip() if len(parts) == 3 else f"{lat:g},{lon:g}"
    return lat, lon, name


@dataclass
class AccessRun:
    """Everything `eo access` and `eo revisit` compute from the same inputs: one set of windows."""

    constellation: Any
    sensor: Any
    targets: Any
    access: Any  # AccessWindows, the minimum dwell applied
    definition: Any  # RevisitDefinition
    start: datetime
    stop: datetime
    parameters: dict[str, Any]


def run_access(
    *,
    constellation: str,
    aoi: Path | None,
    points: list[str] | None,
    start: str,
    days: float,
    sensor: str,
    spacing_km: float,
    step_s: float,
    min_dwell_s: float,
    merge_gap_s: float,
    fresh_min: float | None,
    db: str | None,
    checks: Any = None,
) -> AccessRun:
    """Validate the shared inputs (before any work), then compute the access windows once.
    `checks` runs the caller's own validation after the shared one and before the work."""
    from kizuna.eo import (
        AreaOfInterest,
        RevisitDefinition,
        compute_access,
        parse_geojson,
        parse_sensor,
        sample_points,
    )

    t0, t1 = window(parse_time(start, "--start"), days=days)
    supported_window(t0, t1, "--start/--days")
    check_number(spacing_km, "--spacing-km", minimum=MIN_SPACING_KM, maximum=MAX_SPACING_KM, unit="km")
    check_number(step_s, "--step-s", minimum=MIN_ACCESS_STEP_S, maximum=MAX_ACCESS_STEP_S, unit="s")
    grid_steps((t1 - t0).total_seconds(), step_s)
    check_number(min_dwell_s, "--min-dwell-s", minimum=0.0, maximum=MAX_DWELL_S, unit="s")
    check_number(merge_gap_s, "--merge-gap-s", minimum=0.0, maximum=MAX_DWELL_S, unit="s")
    if fresh_min is not None:
        positive(fresh_min, "--fresh-min", maximum=MAX_FRESH_MIN, unit="min")
    try:
        sens = parse_sensor(sensor)
    except ValueError as exc:
        fail(f"--sensor {sensor!r}: {exc}")
    parsed = [parse_point(p) for p in points or []]
    if aoi is None and not parsed:
        fail("--aoi/--point: give a GeoJSON file with --aoi, or ground points with --point LAT,LON[,NAME]")
    text = read_text(aoi, "--aoi") if aoi is not None else None
    if checks is not None:
        checks()
    try:
        areas = parse_geojson(text, str(aoi)) if text is not None else []
        taken = {a.name for a in areas}
        for lat, lon, name in parsed:
            if name in taken:
                fail(f"--point {name!r}: the name is already used by another --point or an --aoi feature")
            taken.add(name)
            areas.append(AreaOfInterest(name, "point", ((lon, lat),), {}))
        targets = sample_points(areas, spacing_km)
        definition = RevisitDefinition(
            merge_gap_s=merge_gap_s,
            min_dwell_s=min_dwell_s,
            fresh_s=60.0 * (fresh_min if fresh_min is not None else DEFAULT_FRESH_S / 60.0),
        )
        const = resolve_constellation(constellation, db, t0)
        with progress() as bar:
            task = bar.add_task(f"access {len(const)} satellites x {len(targets)} points", total=None)
            acc = compute_access(
                const,
                targets,
                t0,
                t1,
                sens,
                step_s=step_s,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
            )
    except (KizunaError, ValueError) as exc:
        fail(exc)
    usable = definition.usable(acc)
    parameters = {
        "constellation": const.name,
        "satellites": len(const),
        "sensor": sens.describe(),
        "start_utc": iso(t0),
        "stop_utc": iso(t1),
        "days": days,
        "step_s": step_s,
        "spacing_km": spacing_km,
        "points": len(targets),
        "min_dwell_s": min_dwell_s,
        "merge_gap_s": merge_gap_s,
        "windows_shorter_than_min_dwell": len(acc) - len(usable),
    }
    if fresh_min is not None:
        parameters["fresh_min"] = fresh_min
    return AccessRun(const, sens, targets, usable, definition, t0, t1, parameters)


ACCESS_COLUMNS = tuple(
    Column(k, k)
    for k in (
        "satellite",
        "norad_id",
        "target",
        "area",
        "target_lat_deg",
        "target_lon_deg",
        "start_utc",
        "stop_utc",
        "duration_s",
        "incidence_start_deg",
        "incidence_mid_deg",
        "incidence_end_deg",
        "off_nadir_mid_deg",
        "look_side",
        "slant_range_mid_km",
        "pass_direction",
        "revisit",
    )
)


@eo_app.command("access")
def access(
    constellation: ConstOption,
    start: StartOption,
    aoi: AoiOption = None,
    point: PointOption = None,
    days: DaysOption = 1.0,
    sensor: SensorOption = "sar:15-45:both",
    spacing_km: SpacingOption = 10.0,
    step_s: StepOption = 60.0,
    min_dwell_s: MinDwellOption = 0.0,
    merge_gap_s: MergeGapOption = DEFAULT_MERGE_GAP_S,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or geojson")] = "table",
    db: DbOption = None,
) -> None:
    """Every access window of a constellation over ground points: the windows `eo revisit` counts."""
    from kizuna.eo import revisit_number

    fmt = output_format(fmt, "--format", ACCESS_FORMATS)
    run = run_access(
        constellation=constellation,
        aoi=aoi,
        points=point,
        start=start,
        days=days,
        sensor=sensor,
        spacing_km=spacing_km,
        step_s=step_s,
        min_dwell_s=min_dwell_s,
        merge_gap_s=merge_gap_s,
        fresh_min=None,
        db=db,
    )
    acc, targets = run.access, run.targets
    rows = acc.records(targets, revisit_number(acc, run.definition))
    unseen = [str(n) for n in targets.name[np.bincount(acc.target_index, minlength=len(targets)) == 0]]
    definition = run.definition.describe(with_freshness=False)
    if fmt == "geojson":
        print_json(
            {
                "type": "FeatureCollection",
                "parameters": run.parameters,
                "definition": definition,
                "targets_without_access": unseen,
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Point",
                            "coordinates": [r["target_lon_deg"], r["target_lat_deg"]],
                        },
                        "properties": {
                            k: v for k, v in r.items() if k not in ("target_lat_deg", "target_lon_deg")
                        },
                    }
                    for r in rows
                ],
            }
        )
    elif fmt in ("json", "csv"):
        emit_rows(
            rows,
            ACCESS_COLUMNS,
            fmt,
            title="",
            parameters=run.parameters,
            key="windows",
            extra={"definition": definition, "targets_without_access": unseen},
        )
    else:
        from kizuna.plots.tables import access_tables

        title = (
            f"{run.constellation.name} ({len(run.constellation)} sats), {run.sensor.describe()}, "
            f"{iso(run.start)} + {days:g} d: {len(rows)} windows"
        )
        out.print(access_tables(rows, [str(n) for n in targets.name], title, caption=definition))


REVISIT_COLUMNS = tuple(
    Column(name, name)
    for name in (
        "name",
        "points",
        "unseen_points",
        "accesses",
        "revisits",
        "revisits_per_day",
        "mean_revisit_s",
        "median_revisit_s",
        "p95_gap_s",
        "p99_gap_s",
        "max_gap_s",
        "time_average_gap_s",
        "mean_response_time_s",
        "time_to_first_access_s",
        "coverage_time_pct",
        "fresh_time_pct",
        "coverage_area_pct",
    )
)


@eo_app.command("revisit")
def revisit(
    constellation: ConstOption,
    start: StartOption,
    aoi: AoiOption = None,
    point: PointOption = None,
    days: DaysOption = 1.0,
    sensor: SensorOption = "sar:15-45:both",
    spacing_km: SpacingOption = 10.0,
    step_s: StepOption = 60.0,
    min_dwell_s: MinDwellOption = 0.0,
    merge_gap_s: MergeGapOption = DEFAULT_MERGE_GAP_S,
    fresh_min: Annotated[
        float,
        typer.Option(
            "--fresh-min",
            help=f"age of information: report the share of time with data younger than this [min], "
            f"(0, {MAX_FRESH_MIN:g}]",
        ),
    ] = DEFAULT_FRESH_S / 60.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    plot: Annotated[Path | None, typer.Option(help="write the gap timeline PNG here")] = None,
    force: ForceOption = False,
    per_point: Annotated[bool, typer.Option(help="also list every sample point")] = False,
    db: DbOption = None,
) -> None:
    """Revisit statistics and figures of merit of a constellation over areas of interest."""
    from kizuna.eo import aggregate, per_aoi, per_target

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    run = run_access(
        constellation=constellation,
        aoi=aoi,
        points=point,
        start=start,
        days=days,
        sensor=sensor,
        spacing_km=spacing_km,
        step_s=step_s,
        min_dwell_s=min_dwell_s,
        merge_gap_s=merge_gap_s,
        fresh_min=fresh_min,
        db=db,
        checks=lambda: output_file(plot, "--plot", force=force),
    )
    acc, targets, definition = run.access, run.targets, run.definition
    rows = per_aoi(acc, targets, definition)
    points = per_target(acc, targets, definition)
    total = aggregate(points)
    unseen = [p.name for p in points if not p.seen]
    if plot:
        from kizuna.plots.eo import plot_gap_timeline

        plot_gap_timeline(
            acc, targets.aoi, plot, f"{run.constellation.name}: {run.sensor.describe()}, {days:g} d"
        )
    if fmt == "json":
        doc: dict[str, Any] = {
            "parameters": run.parameters,
            "definition": definition.describe(),
            "areas": [r.as_dict() for r in rows],
            "all_points": total.as_dict(),
            "unseen_targets": unseen,
            "access_windows": len(acc),
        }
        if per_point:
            doc["points"] = [p.as_dict() for p in points]
        print_json(doc)
    elif fmt == "csv":
        listed = rows + [total] + (points if per_point else [])
        emit_rows([asdict(r) for r in listed], REVISIT_COLUMNS, "csv", title="")
    else:
        from kizuna.plots.tables import revisit_table

        title = (
            f"{run.constellation.name} ({len(run.constellation)} sats), {run.sensor.describe()}, "
            f"{iso(run.start)} + {days:g} d"
        )
        listed = rows + [total] + (points if per_point else [])
        breaks = (len(rows) - 1, len(rows)) if per_point else (len(rows) - 1,)
        out.print(revisit_table(listed, title, caption=definition.describe(), breaks=breaks))
        if unseen:
            shown = ", ".join(unseen[:10]) + (f" and {len(unseen) - 10} more" if len(unseen) > 10 else "")
            warn(f"{len(unseen)} of {len(points)} targets never seen in the period: {shown}")


PLAN_COLUMNS = (
    Column("request", "request_id"),
    Column("satellite", "satellite"),
    Column("NORAD", "norad_id", justify="right"),
    Column("start (UTC)", "start_utc"),
    Column("stop (UTC)", "stop_utc"),
    Column("inc deg", "incidence_deg", lambda v: f"{v:.1f}", "right"),
    Column("off-nadir deg", "off_nadir_deg", lambda v: f"{v:.1f}", "right"),
    Column("side", "look_side"),
    Column("mode", "mode"),
    Column("prio", "priority", justify="right"),
)


@eo_app.command("plan")
def plan(
    constellation: ConstOption,
    requests: Annotated[Path, typer.Option(help="JSON list of {id, lat, lon, priority, start, stop, mode}")],
    start: Annotated[str, typer.Option(help="ISO-8601 start of the plan; offsets and Z accepted")],
    hours: Annotated[float, typer.Option(help=f"plan length [h], (0, {MAX_PLAN_HOURS:g}]")] = 24.0,
    agility_deg_s: Annotated[float, typer.Option("--agility-deg-s", help="slew rate [deg/s], > 0")] = 1.0,
    settle_s: Annotated[float, typer.Option("--settle-s", help="settling after a slew [s], >= 0")] = 15.0,
    duty_cycle: Annotated[
        float, typer.Option("--duty-cycle", help="imaging share of each orbit, (0, 1]")
    ] = 0.1,
    method: Annotated[
        str, typer.Option(help="optimal (0-1 program, HiGHS) or greedy (by priority)")
    ] = "optimal",
    time_limit_s: Annotated[
        float,
        typer.Option("--time-limit-s", help="optimiser time limit [s]; greedy plan if it finds nothing"),
    ] = 30.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json, table or csv")] = "json",
    db: DbOption = None,
) -> None:
    """Collection plan: one look at a time, slew/settle, per-orbit duty cycle; priorities lexicographic."""
    from kizuna.eo.planning import parse_requests, plan_collections

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    positive(hours, "--hours", maximum=MAX_PLAN_HOURS, unit="h")
    t0, t1 = window(parse_time(start, "--start"), stop=parse_time(start, "--start") + timedelta(hours=hours))
    supported_window(t0, t1, "--start/--hours")
    positive(agility_deg_s, "--agility-deg-s", maximum=180.0, unit="deg/s")
    check_number(settle_s, "--settle-s", minimum=0.0, maximum=3600.0, unit="s")
    positive(duty_cycle, "--duty-cycle", maximum=1.0)
    positive(time_limit_s, "--time-limit-s", maximum=86400.0, unit="s")
    if method not in PLAN_METHODS:
        fail(f"--method {method!r}: unknown planner; use optimal or greedy")
    text = read_text(requests, "--requests")
    try:
        reqs = parse_requests(text, str(requests))
        const = resolve_constellation(constellation, db, t0)
        result = plan_collections(
            const,
            reqs,
            t0,
            t1,
            agility_deg_s=agility_deg_s,
            settle_s=settle_s,
            duty_cycle=duty_cycle,
            method=method,
            time_limit_s=time_limit_s,
        )
    except (KizunaError, ValueError) as exc:
        fail(exc)
    if fmt == "json":
        print_json({"constellation": const.name, **result.as_dict()})
        return
    collections = [asdict(c) for c in sorted(result.collections, key=lambda c: c.start_utc)]
    title = (
        f"{len(result.collections)} collections, {len(result.unfulfilled)} unfulfilled "
        f"({result.parameters['method']}), {iso(t0)} + {hours:g} h"
    )
    emit_rows(collections, PLAN_COLUMNS, fmt, title=title)
    for u in result.unfulfilled:
        warn(f"unfulfilled {u['request_id']}: {u['reason']}")


@eo_app.command("save")
def save(
    name: str,
    design: Annotated[str, typer.Option(help="walker:T/P/F:ALT:INC, sso:COUNT:ALT:LTAN or a catalog prefix")],
    epoch: Annotated[
        str | None,
        typer.Option(
            help="epoch of a design's elements (ISO-8601); without it the design takes each analysis's "
            "start, as an inline design does"
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Store a design or catalog selection under NAME for later --constellation NAME."""
    from dataclasses import replace

    from kizuna.eo.constellation import DESIGN_AT_START, is_design
    from kizuna.store.eo_store import ConstellationStore

    if not name.strip():
        fail("NAME: give a name for the constellation")
    t_epoch = parse_time(epoch, "--epoch") if epoch is not None else None
    floating = t_epoch is None and is_design(design)
    if floating and len(design.strip()) > MAX_DESIGN_CHARS:
        fail(f"--design: at most {MAX_DESIGN_CHARS} characters")
    store = open_store(db)
    try:
        # A design without an epoch is stored as its text (rebuilt at each analysis start); the
        # members written beside it are that design at today's 00:00 UTC, for readers of the table.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        c = replace(resolve_constellation(design, db, t_epoch or today), name=name)
        if floating:
            c = replace(c, design=design.strip(), source=DESIGN_AT_START)
        elif t_epoch is not None and c.source == DESIGN_AT_START:
            c = replace(c, source="design")  # a copy of a stored design, now at a fixed epoch
        ConstellationStore(store).save(c)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    if c.design is None:
        what = "catalog selection"
    else:
        what = f"{c.design}, epoch " + (
            "the start of each analysis" if c.source == DESIGN_AT_START else iso(t_epoch or today)
        )
    out.print(f"saved {name}: {len(c)} satellites ({what})", highlight=False)


def register(app: typer.Typer) -> None:
    from kizuna.cli import eo_delivery  # noqa: F401  (registers `eo delivery` and `eo coverage` on eo_app)

    app.add_typer(eo_app, name="eo")


from kizuna.cli.eo_design import design_app  # noqa: E402  (it reuses this module's options)

eo_app.add_typer(design_app, name="design")
