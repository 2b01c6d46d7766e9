"""The `kizuna` command line: one module per domain, the shared face in `_common`.

Commands mirror the library; no analysis logic lives here. Every failure ends in one line and
exit 2 (bad input) -- see :mod:`kizuna.cli._common` for the contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kizuna.cli import _common
from kizuna.cli import catalog as _catalog
from kizuna.cli import eo as _eo
from kizuna.cli import maneuvers as _maneuvers
from kizuna.cli import maritime as _maritime
from kizuna.cli import mw as _mw
from kizuna.cli import observe as _observe
from kizuna.cli import od as _od
from kizuna.cli import pipeline as _pipeline
from kizuna.cli import pnt as _pnt
from kizuna.cli import sda as _sda
from kizuna.cli import sensors as _sensors
from kizuna.cli import share as _share
from kizuna.cli import tasking as _tasking
from kizuna.cli._common import KizunaGroup, out

app = typer.Typer(
    cls=KizunaGroup,
    help="Kizuna: coalition space intelligence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from kizuna import __version__

        print(f"kizuna {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit"),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="only results and errors: no notes, no progress")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="more detail; tracebacks of internal errors")
    ] = False,
) -> None:
    """Kizuna: coalition space intelligence."""
    if quiet and verbose:
        _common.fail("-q and -v contradict each other: give one")
    _common.verbosity.level = -1 if quiet else (1 if verbose else 0)


DEMO_DB = "out/demo/kizuna-demo.db"


@app.command()
def demo(
    db: Annotated[
        str, typer.Option(help="SQLite file for the demo; it is deleted and recreated on every run")
    ] = DEMO_DB,
    out_dir: Annotated[Path, typer.Option(help="where plots and CSVs go")] = Path("out/demo"),
    force: Annotated[
        bool, typer.Option("--force", help="replace an existing --db other than the default")
    ] = False,
) -> None:
    """Load the bundled sample catalog, then run every capability once on it (about 15 s)."""
    from kizuna.demo import run_demo

    # The demo deletes its database before loading the sample: never a user's database by accident.
    if "://" in db:
        _common.fail(f"--db {db}: the demo recreates its database, so it takes a SQLite file path, not a URL")
    db_path = Path(db)
    if db != DEMO_DB and db_path.exists() and not force:
        _common.fail(
            f"--db {db}: exists; the demo deletes and recreates its database (use --force to replace it)"
        )
    if db_path.is_dir():
        _common.fail(f"--db {db}: is a directory")
    _common.creatable_dir(out_dir, "--out-dir")
    _common.creatable_dir(db_path.parent, "--db", named=db)
    run_demo(db=db, out_dir=out_dir, console=out)


_DOMAINS = (
    _catalog,
    _sda,
    _eo,
    _maritime,
    _maneuvers,
    _share,
    _pnt,
    _mw,
    _sensors,
    _observe,
    _tasking,
    _od,
    _pipeline,
)
for _domain in _DOMAINS:
    _domain.register(app)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
