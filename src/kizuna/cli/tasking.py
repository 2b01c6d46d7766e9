"""`kizuna tasking`: observation schedules across the sensor network."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    check_number,
    count,
    emit_rows,
    fail,
    output_format,
    parse_ids,
)
from kizuna.cli.sensors import (
    CATALOG,
    DIAMETER,
    HOURS,
    NORAD,
    RETRO,
    SENSOR_NAMES,
    SENSORS_OPTION,
    START,
    TLE,
    _load,
    _parameters,
    hours_of,
    load_objects,
    passes_with_progress,
    retro_ids,
    select_sensors,
    start_of,
)

tasking_app = typer.Typer(help="Sensor tasking: plan.", no_args_is_help=True)

COLUMNS = (
    Column("time (UTC)", "time_utc"),
    Column("sensor", "sensor"),
    Column("norad", "norad_id", str, "right"),
    Column("az", "az_deg", lambda v: f"{v:.1f}", "right"),
    Column("el", "el_deg", lambda v: f"{v:.1f}", "right"),
    Column("range km", "range_km", lambda v: f"{v:.0f}", "right"),
    Column("value", "value", lambda v: f"{v:.2f}", "right"),
)


def register(app: typer.Typer) -> None:
    app.add_typer(tasking_app, name="tasking")


def _conjunctions(values: list[str] | None) -> dict[int, float]:
    out: dict[int, float] = {}
    for v in values or []:
        for part in v.replace(",", " ").split():
            norad, sep, pc = part.partition(":")
            if not sep:
                fail(f"--conjunction {part!r}: use NORAD:PC, e.g. 25544:3e-4")
            (n,) = parse_ids([norad], "--conjunction")
            try:
                value = float(pc)
            except ValueError:
                fail(f"--conjunction {part!r}: {pc!r} is not a probability")
            if not 0.0 <= value <= 1.0:
                fail(f"--conjunction {part!r}: Pc must lie in 0..1")
            out[n] = max(value, out.get(n, 0.0))
    return out


@tasking_app.command("plan")
def plan_cmd(
    sensor: Annotated[list[str] | None, SENSOR_NAMES] = None,
    norad: Annotated[list[str] | None, NORAD] = None,
    all_objects: Annotated[bool, CATALOG] = False,
    tle: Annotated[Path | None, TLE] = None,
    start: Annotated[str | None, START] = None,
    hours: Annotated[float, HOURS] = 24.0,
    budget: Annotated[int, typer.Option("--budget", help="tracks to plan at most")] = 10_000,
    protect: Annotated[
        list[str] | None, typer.Option("--protect", help="protected assets (NORAD ids)")
    ] = None,
    conjunction: Annotated[
        list[str] | None, typer.Option("--conjunction", help="recent conjunctions as NORAD:PC (repeatable)")
    ] = None,
    pc_threshold: Annotated[
        float, typer.Option("--pc-threshold", help="a conjunction at or above this Pc raises the value")
    ] = 1e-4,
    maneuver: Annotated[
        list[str] | None, typer.Option("--maneuver", help="maneuver suspects (NORAD ids)")
    ] = None,
    dwell_s: Annotated[float, typer.Option("--dwell-s", help="seconds one track occupies a sensor")] = 10.0,
    diameter_m: Annotated[float, DIAMETER] = 1.0,
    retro: Annotated[list[str] | None, RETRO] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="rows shown at most (the JSON total counts all)")
    ] = 1000,
    sensors_file: Annotated[Path | None, SENSORS_OPTION] = None,
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Schedule tracks across the network by value (protected assets, conjunctions over a Pc
    threshold, maneuver suspects, uncertainty grown since the element set's epoch) under each
    sensor's tracks per hour and slew rate."""
    import numpy as np

    from kizuna.ssa.tasking import growth_km_day2, object_values, plan, sigma_km

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    budget = count(budget, "--budget", maximum=10_000_000)
    limit = count(limit, "--limit", maximum=10_000_000)
    check_number(pc_threshold, "--pc-threshold", minimum=0.0, exclusive_minimum=True, maximum=1.0)
    check_number(dwell_s, "--dwell-s", minimum=0.0, maximum=3600.0, unit="s")
    check_number(diameter_m, "--diameter-m", minimum=0.0, exclusive_minimum=True, maximum=100.0, unit="m")
    length = hours_of(hours)
    retro_list = retro_ids(retro)
    protected = parse_ids(protect, "--protect")
    suspects = parse_ids(maneuver, "--maneuver")
    pcs = _conjunctions(conjunction)
    network = _load(sensors_file)
    chosen = select_sensors(network, sensor, "--sensor")
    sets = load_objects(tle, norad, all_objects, db)
    t0 = start_of(start, sets)
    passes = passes_with_progress(sets, chosen, t0, length, diameter_m, retro_list)
    ids = np.array([s.norad_id for s in sets])
    age_days = np.array([(t0 - s.epoch_utc).total_seconds() / 86400.0 for s in sets])
    alt = np.array([s.semi_major_axis_km - 6378.137 for s in sets])
    sig = sigma_km(0.1, growth_km_day2(alt), np.abs(age_days))
    values = object_values(
        ids,
        sig,
        protected=protected,
        conjunction_pc=pcs,
        pc_threshold=pc_threshold,
        maneuver_suspects=suspects,
    )
    result = plan(
        passes, chosen, dict(zip(ids.tolist(), values.tolist(), strict=True)), budget, dwell_s=dwell_s
    )
    rows = result.records()
    emit_rows(
        rows[:limit],
        COLUMNS,
        fmt,
        title=f"tasking plan: {len(result)} tracks on {len(chosen)} sensors",
        parameters=_parameters(
            chosen, sets, t0, hours, budget=budget, pc_threshold=pc_threshold, dwell_s=dwell_s
        ),
        total=len(rows),
        key="tracks",
        extra={
            "candidates": result.considered,
            "refused_for_capacity": result.rejected_capacity,
            "objects_tracked": len(set(result.norad_id.tolist())),
        },
    )
