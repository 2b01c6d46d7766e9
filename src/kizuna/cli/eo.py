"""`kizuna eo ...`: constellation access, revisit and collection planning (wiring only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kizuna.errors import KizunaError
from kizuna.plots.tables import revisit_table

eo_app = typer.Typer(help="Earth observation: access, revisit and collection planning.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]
ConstOption = Annotated[
    str,
    typer.Option(
        "--constellation",
        help="catalog name prefix (e.g. QPS-SAR), a stored "
        "constellation name, or walker:T/P/F:ALT_KM:INC_DEG",
    ),
]


def _fail(msg: object) -> typer.Exit:
    err.print(f"[red]error:[/] {msg}")
    return typer.Exit(2)


def _read_input(path: Path, option: str) -> str:
    """The text of an input file, or a clear error naming the option and the file."""
    try:
        return path.read_text()
    except OSError as exc:
        raise _fail(f"{option} {path}: {exc.strerror}") from None


def _start(text: str) -> datetime:
    from kizuna.model.time import parse_utc_datetime

    try:
        dt = parse_utc_datetime(text)
    except (ValueError, KizunaError) as exc:
        raise _fail(f"--start {text!r}: {exc}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def resolve_constellation(spec: str, db: str | None, epoch: datetime):  # type: ignore[no-untyped-def]
    """A design, a stored constellation, or catalog objects whose name starts with `spec`."""
    from kizuna.eo.constellation import from_element_sets, is_design, parse_design

    if is_design(spec):
        return parse_design(spec, epoch)
    from kizuna.store import CatalogStore
    from kizuna.store.eo_store import ConstellationStore

    store = CatalogStore(db)
    stored = ConstellationStore(store).load(spec)
    if stored is not None:
        return stored
    sets = [e.latest for e in store.search(name=spec) if e.latest is not None]
    return from_element_sets(spec, sets, prefix=spec)


def _progress():  # type: ignore[no-untyped-def]
    from kizuna.cli._common import progress as root_progress

    return root_progress(err)


@eo_app.command("revisit")
def revisit(
    constellation: ConstOption,
    aoi: Annotated[Path, typer.Option("--aoi", help="GeoJSON points / polygons")],
    start: Annotated[str, typer.Option(help="ISO-8601 UTC start")],
    days: Annotated[float, typer.Option(help="length of the period [days]")] = 1.0,
    sensor: Annotated[
        str,
        typer.Option(
            help="sar:INC_MIN-INC_MAX:left|right|both, sar:spotlight, cone:HALF_DEG, "
            "optical:MAX_OFF_NADIR[:SUN_DEG]"
        ),
    ] = "sar:15-45:both",
    spacing_km: Annotated[float, typer.Option("--spacing-km", help="polygon sampling (H3 grid)")] = 10.0,
    step_s: Annotated[float, typer.Option("--step-s", help="coarse propagation step")] = 60.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    plot: Annotated[Path | None, typer.Option(help="write the gap timeline PNG here")] = None,
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

    if fmt not in ("table", "json"):
        raise _fail(f"--format {fmt!r}: use table or json")
    if not days > 0:
        raise _fail(f"--days {days}: the period must be longer than zero")
    t0 = _start(start)
    text = _read_input(aoi, "--aoi")
    try:
        sens = parse_sensor(sensor)
        areas = parse_geojson(text, str(aoi))
        targets = sample_points(areas, spacing_km)
        const = resolve_constellation(constellation, db, t0)
        with _progress() as progress:
            task = progress.add_task(f"access {len(const)} satellites x {len(targets)} points", total=None)
            acc = compute_access(
                const,
                targets,
                t0,
                t0 + timedelta(days=days),
                sens,
                step_s=step_s,
                progress=lambda d, n: progress.update(task, completed=d, total=n),
            )
    except KizunaError as exc:
        raise _fail(exc) from None
    rows = per_aoi(acc, targets)
    points = per_target(acc, targets)
    total = aggregate(points)
    if plot:
        from kizuna.plots.eo import plot_gap_timeline

        plot_gap_timeline(acc, targets.aoi, plot, f"{const.name}: {sens.describe()}, {days:g} d")
    if fmt == "json":
        doc = {
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
        print(json.dumps(doc, indent=2, default=_nan_none))
        return
    out.print(
        revisit_table(rows + [total], f"{const.name} ({len(const)} sats), {sens.describe()}, {days:g} d")
    )
    out.print(f"[dim]{GAP_DEFINITION}[/]")


def _nan_none(v: object) -> object:
    return None


@eo_app.command("plan")
def plan(
    constellation: ConstOption,
    requests: Annotated[Path, typer.Option(help="JSON list of {id, lat, lon, priority, start, stop, mode}")],
    start: Annotated[str, typer.Option(help="ISO-8601 UTC start of the plan")],
    hours: Annotated[float, typer.Option(help="plan length [h]")] = 24.0,
    agility_deg_s: Annotated[float, typer.Option("--agility-deg-s", help="slew rate")] = 1.0,
    settle_s: Annotated[float, typer.Option("--settle-s")] = 15.0,
    duty_cycle: Annotated[float, typer.Option("--duty-cycle", help="imaging share of each orbit")] = 0.1,
    method: Annotated[
        str, typer.Option(help="optimal (0-1 program, HiGHS) or greedy (by priority)")
    ] = "optimal",
    time_limit_s: Annotated[
        float, typer.Option("--time-limit-s", help="optimiser time limit; greedy plan if it finds nothing")
    ] = 30.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or table")] = "json",
    db: DbOption = None,
) -> None:
    """Collection plan: one look at a time, slew/settle, per-orbit duty cycle; priorities lexicographic."""
    from kizuna.eo.planning import parse_requests, plan_collections

    if not hours > 0:
        raise _fail(f"--hours {hours}: the plan must be longer than zero")
    t0 = _start(start)
    text = _read_input(requests, "--requests")
    try:
        reqs = parse_requests(text, str(requests))
        const = resolve_constellation(constellation, db, t0)
        result = plan_collections(
            const,
            reqs,
            t0,
            t0 + timedelta(hours=hours),
            agility_deg_s=agility_deg_s,
            settle_s=settle_s,
            duty_cycle=duty_cycle,
            method=method,
            time_limit_s=time_limit_s,
        )
    except (KizunaError, ValueError) as exc:  # ValueError: an unknown --method
        raise _fail(exc) from None
    if fmt == "json":
        print(json.dumps({"constellation": const.name, **result.as_dict()}, indent=2))
        return
    table = Table(
        title=f"{len(result.collections)} collections, {len(result.unfulfilled)} unfulfilled "
        f"({result.parameters['method']})"
    )
    for col in ("request", "satellite", "start (UTC)", "inc deg", "side", "prio"):
        table.add_column(col)
    for c in sorted(result.collections, key=lambda c: c.start_utc):
        table.add_row(
            c.request_id, c.satellite, c.start_utc, f"{c.incidence_deg:.1f}", c.look_side, str(c.priority)
        )
    out.print(table)
    for u in result.unfulfilled:
        out.print(f"[yellow]unfulfilled[/] {u['request_id']}: {u['reason']}")


@eo_app.command("save")
def save(
    name: str,
    design: Annotated[str, typer.Option(help="walker:T/P/F:ALT:INC or a catalog prefix")],
    epoch: Annotated[str, typer.Option(help="epoch of a design (ISO UTC)")] = "2026-06-11T00:00:00Z",
    db: DbOption = None,
) -> None:
    """Store a design or catalog selection under NAME for later --constellation NAME."""
    from dataclasses import replace

    from kizuna.store import CatalogStore
    from kizuna.store.eo_store import ConstellationStore

    try:
        c = replace(resolve_constellation(design, db, _start(epoch)), name=name)
        ConstellationStore(CatalogStore(db)).save(c)
    except KizunaError as exc:
        raise _fail(exc) from None
    out.print(f"saved {name}: {len(c)} satellites ({c.design or 'catalog'})")


def register(app: typer.Typer) -> None:
    app.add_typer(eo_app, name="eo")
