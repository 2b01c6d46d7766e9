"""`kizuna eo ...`: constellation access, revisit and collection planning (wiring only)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

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
#: element sets (and so plans) are good for days, not months
MAX_PLAN_HOURS = 31 * 24.0
PLAN_METHODS = ("optimal", "greedy")


def resolve_constellation(spec: str, db: str | None, epoch: datetime) -> Any:
    """A design, a stored constellation, or catalog objects whose name starts with `spec`."""
    from kizuna.eo.constellation import from_element_sets, is_design, parse_design
    from kizuna.store.eo_store import ConstellationStore

    if is_design(spec):
        return parse_design(spec, epoch)
    store = open_store(db)
    stored = ConstellationStore(store).load(spec)
    if stored is not None:
        return stored
    sets = [e.latest for e in store.search(name=spec) if e.latest is not None]
    return from_element_sets(spec, sets, prefix=spec)


REVISIT_COLUMNS = tuple(
    Column(name, name)
    for name in (
        "name",
        "points",
        "accesses",
        "accesses_per_day",
        "mean_revisit_s",
        "median_revisit_s",
        "p95_gap_s",
        "p99_gap_s",
        "max_gap_s",
        "time_average_gap_s",
        "mean_wait_s",
        "time_to_first_access_s",
        "coverage_time_pct",
        "coverage_area_pct",
    )
)


@eo_app.command("revisit")
def revisit(
    constellation: ConstOption,
    aoi: Annotated[Path, typer.Option("--aoi", help="GeoJSON points / polygons")],
    start: Annotated[str, typer.Option(help="ISO-8601 start; offsets and Z accepted, naive is UTC")],
    days: Annotated[float, typer.Option(help="length of the period [days], > 0")] = 1.0,
    sensor: Annotated[
        str,
        typer.Option(
            help="sar:INC_MIN-INC_MAX:left|right|both, sar:spotlight, cone:HALF_DEG, "
            "optical:MAX_OFF_NADIR[:SUN_DEG]"
        ),
    ] = "sar:15-45:both",
    spacing_km: Annotated[
        float,
        typer.Option(
            "--spacing-km", help=f"polygon sampling (H3 grid) [km], {MIN_SPACING_KM:g} to {MAX_SPACING_KM:g}"
        ),
    ] = 10.0,
    step_s: Annotated[
        float, typer.Option("--step-s", help=f"coarse propagation step [s], (0, {MAX_ACCESS_STEP_S:g}]")
    ] = 60.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    plot: Annotated[Path | None, typer.Option(help="write the gap timeline PNG here")] = None,
    force: ForceOption = False,
    per_point: Annotated[bool, typer.Option(help="also list every sample point")] = False,
    db: DbOption = None,
) -> None:
    """Access windows and revisit statistics of a constellation over areas of interest."""
    from kizuna.eo import (
        aggregate,
        compute_access,
        parse_geojson,
        parse_sensor,
        per_aoi,
        per_target,
        sample_points,
    )
    from kizuna.eo.revisit import GAP_DEFINITION

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    t0, t1 = window(parse_time(start, "--start"), days=days)
    supported_window(t0, t1, "--start/--days")
    check_number(spacing_km, "--spacing-km", minimum=MIN_SPACING_KM, maximum=MAX_SPACING_KM, unit="km")
    positive(step_s, "--step-s", maximum=MAX_ACCESS_STEP_S, unit="s")
    grid_steps((t1 - t0).total_seconds(), step_s)
    output_file(plot, "--plot", force=force)
    text = read_text(aoi, "--aoi")
    try:
        sens = parse_sensor(sensor)
        areas = parse_geojson(text, str(aoi))
        targets = sample_points(areas, spacing_km)
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
    except (KizunaError, ValueError) as exc:  # ValueError: a malformed --sensor
        fail(exc)
    rows = per_aoi(acc, targets)
    points = per_target(acc, targets)
    total = aggregate(points)
    if plot:
        from kizuna.plots.eo import plot_gap_timeline

        plot_gap_timeline(acc, targets.aoi, plot, f"{const.name}: {sens.describe()}, {days:g} d")
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
    }
    if fmt == "json":
        doc: dict[str, Any] = {
            "parameters": parameters,
            "constellation": const.name,
            "satellites": len(const),
            "sensor": sens.describe(),
            "start": t0.isoformat(),
            "days": days,
            "gap_definition": GAP_DEFINITION,
            "areas": [r.as_dict() for r in rows],
            "all_points": total.as_dict(),
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

        title = f"{const.name} ({len(const)} sats), {sens.describe()}, {iso(t0)} + {days:g} d"
        out.print(revisit_table(rows + [total] + (points if per_point else []), title))
        out.print(GAP_DEFINITION, style="dim", highlight=False)


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
    design: Annotated[str, typer.Option(help="walker:T/P/F:ALT:INC or a catalog prefix")],
    epoch: Annotated[str, typer.Option(help="epoch of a design (ISO-8601)")] = "2026-06-11T00:00:00Z",
    db: DbOption = None,
) -> None:
    """Store a design or catalog selection under NAME for later --constellation NAME."""
    from dataclasses import replace

    from kizuna.store.eo_store import ConstellationStore

    if not name.strip():
        fail("NAME: give a name for the constellation")
    t_epoch = parse_time(epoch, "--epoch")
    store = open_store(db)
    try:
        c = replace(resolve_constellation(design, db, t_epoch), name=name)
        ConstellationStore(store).save(c)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    out.print(f"saved {name}: {len(c)} satellites ({c.design or 'catalog'})", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(eo_app, name="eo")
