"""`kizuna sensors`: the node's space-surveillance network (radars, telescopes, space-based optical
sensors, laser ranging), each sensor with what it sees and the public source of its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    emit_rows,
    fail,
    input_file,
    key_value_table,
    out,
    output_format,
    print_json,
)

sensors_app = typer.Typer(help="The space-surveillance sensor network: list, show.", no_args_is_help=True)

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
