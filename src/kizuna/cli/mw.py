"""`kizuna mw`: missile warning and tracking.

The group lives here; its commands live in one module each (trajectories, sensors and
assessment, replay through the live node), imported at the bottom so that each registers itself
on :data:`mw_app`.
"""

from __future__ import annotations

import typer

mw_app = typer.Typer(
    help="Missile warning: threat trajectories, warning architectures, assessment, live replay.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(mw_app, name="mw")


# Command modules register on mw_app when imported (one line each).
from kizuna.cli import mw_assess  # noqa: E402, F401  (kizuna mw sensors, kizuna mw assess)
from kizuna.cli import mw_replay as _mw_replay  # noqa: E402,F401
from kizuna.cli import mw_trajectory as _mw_trajectory  # noqa: E402,F401
