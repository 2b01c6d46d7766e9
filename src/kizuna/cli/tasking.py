"""`kizuna tasking`: observation schedules across the sensor network."""

from __future__ import annotations

import typer

tasking_app = typer.Typer(help="Sensor tasking: plan.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(tasking_app, name="tasking")
