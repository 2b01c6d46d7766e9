"""What every command shares: consoles, output formats, progress, option validation and the error exit.

The contract of the command line, enforced here so each domain module reads as wiring only:

- Bad input (an option value, a file, an id) ends in ONE line on stderr, ``error: ...`` naming the
  option or the file, and exit code 2 -- never a traceback. Validation runs before any work, so a
  bad ``--out`` is refused before a nine-second screening, not after it.
- Tables print at full width when stdout is not a terminal (a pipe or a file gets complete
  numbers, never ``2026…``); every table command also takes ``-f csv`` and ``-f json``, and JSON
  carries the parameters it was computed with and how many rows were shown of how many.
- ``-q`` silences notes and progress, ``-v`` adds detail (and the traceback of an internal error).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer import _click as click
from typer.core import TyperGroup

from kizuna.errors import KizunaError
from kizuna.orbit.timescale import MAX_GRID_POINTS as MAX_GRID_STEPS
from kizuna.plots.tables import make_console

if TYPE_CHECKING:
    from kizuna.store import CatalogStore

out = make_console(stderr=False)
err = make_console(stderr=True)


@dataclass
class Verbosity:
    level: int = 0  # -1 quiet, 0 normal, 1 verbose


verbosity = Verbosity()


# ---------------------------------------------------------------- errors
class CliError(KizunaError):
    """A refusal of the command line: printed as one line, exit 2."""


def fail(message: object) -> NoReturn:
    """Refuse: one line on stderr, exit 2. Markup in the message is shown literally."""
    err.print(f"[red]error:[/] {escape(one_line(message))}")
    raise typer.Exit(2)


def warn(message: object) -> None:
    err.print(f"[yellow]warning:[/] {escape(one_line(message))}")


def note(message: object) -> None:
    """A remark for people (suppressed by -q)."""
    if verbosity.level >= 0:
        err.print(escape(str(message)))


def one_line(message: object) -> str:
    text = str(message).strip() or type(message).__name__
    return " ".join(text.split())


class KizunaGroup(TyperGroup):
    """The root command group: every failure that escapes a command becomes one line.

    Usage errors (unknown option, a value typer cannot convert) are click's; input errors are
    KizunaError and OSError (a file named by the user). Anything else is a bug: one line too, with
    exit 1 and the traceback only under -v.
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            code = 0
        except click.exceptions.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
            err.print(f"[red]error:[/] {escape(one_line(exc.format_message()))}{escape(hint)}")
            code = 2
        except typer.Abort:
            err.print("[red]error:[/] aborted")
            code = 130
        except click.ClickException as exc:
            err.print(f"[red]error:[/] {escape(one_line(exc.format_message()))}")
            code = exc.exit_code
        except KizunaError as exc:
            err.print(f"[red]error:[/] {escape(one_line(exc))}")
            code = 2
        except OSError as exc:
            err.print(f"[red]error:[/] {escape(one_line(os_error_text(exc)))}")
            code = 2
        except KeyboardInterrupt:
            err.print("[red]error:[/] interrupted")
            code = 130
        except Exception as exc:  # a bug: say so in one line, full detail on request
            if verbosity.level > 0:
                err.print_exception()
            err.print(
                f"[red]internal error:[/] {escape(type(exc).__name__)}: {escape(one_line(exc))} "
                "(rerun with -v for the traceback)"
            )
            code = 1
        else:
            code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def os_error_text(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


# ---------------------------------------------------------------- shared options
DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]
ForceOption = Annotated[bool, typer.Option("--force", help="overwrite existing output files")]
TABLE_FORMATS = ("table", "csv", "json")


def check_choice(value: str, option: str, choices: Sequence[str]) -> str:
    if value not in choices:
        fail(f"{option} {value!r}: use one of {', '.join(choices)}")
    return value


# ---------------------------------------------------------------- numbers
def check_number(
    value: float,
    option: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    unit: str = "",
) -> float:
    """A finite number within bounds, or a refusal naming the option and the allowed range."""
    u = f" {unit}" if unit else ""
    if not isinstance(value, int | float) or not math.isfinite(value):
        fail(f"{option} {value}: must be a finite number")
    if minimum is not None:
        if exclusive_minimum and not value > minimum:
            fail(f"{option} {value:g}: must be greater than {minimum:g}{u}")
        if not exclusive_minimum and value < minimum:
            fail(f"{option} {value:g}: must be at least {minimum:g}{u}")
    if maximum is not None and value > maximum:
        fail(f"{option} {value:g}: must be at most {maximum:g}{u}")
    return float(value)


def positive(value: float, option: str, *, maximum: float | None = None, unit: str = "") -> float:
    return check_number(value, option, minimum=0.0, exclusive_minimum=True, maximum=maximum, unit=unit)


def count(value: int, option: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        fail(f"{option} {value}: must be at least {minimum}{upper}")
    return value


def parse_triple(text: str, option: str, *, positive_values: bool = True) -> tuple[float, float, float]:
    """Three comma-separated finite numbers such as R,T,N."""
    try:
        a, b, c = (float(x) for x in text.split(","))
    except ValueError:
        fail(f"{option} {text!r}: wants three numbers separated by commas")
    for v in (a, b, c):
        if not math.isfinite(v) or (positive_values and v <= 0):
            fail(
                f"{option} {text!r}: every value must be a finite number"
                + (" > 0" if positive_values else "")
            )
    return a, b, c


def parse_ids(values: Iterable[str | int] | None, option: str) -> list[int]:
    """NORAD (or other) integer ids from repeated and/or comma/space separated values."""
    ids: list[int] = []
    for v in values or []:
        for part in str(v).replace(",", " ").split():
            if not (part.isascii() and part.isdigit()) or int(part) > 999_999_999:
                fail(f"{option}: {part!r} is not a catalog number")
            ids.append(int(part))
    return ids


def missing_ids(asked: Iterable[int], found: Iterable[int], what: str = "in the catalog") -> list[int]:
    """Warn about ids that were asked for but not found; the caller exits non-zero if it matters."""
    missing = sorted(set(asked) - set(found))
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        warn(f"not {what}: {shown}")
    return missing


# ---------------------------------------------------------------- times
# A window longer than this is refused before any grid is built: a century covers every analysis
# a node runs, and the grid-size cap in kizuna.orbit.timescale still guards the step.
MAX_WINDOW_DAYS = 36_525.0


def parse_time(text: str, option: str) -> datetime:
    """The one ISO-8601 parser (offsets and Z accepted, naive is UTC), errors naming the option."""
    from kizuna.model.time import parse_utc_datetime

    try:
        return parse_utc_datetime(text)
    except ValueError as exc:
        fail(f"{option}: {exc}")


def optional_time(text: str | None, option: str) -> datetime | None:
    return None if text is None else parse_time(text, option)


def window(
    start: datetime, *, days: float | None = None, stop: datetime | None = None, option: str = "--days"
) -> tuple[datetime, datetime]:
    """(start, stop) with a positive length no longer than MAX_WINDOW_DAYS; give `days` or `stop`."""
    if stop is None:
        length_days = check_number(
            float("nan") if days is None else days,
            option,
            minimum=0.0,
            exclusive_minimum=True,
            maximum=MAX_WINDOW_DAYS,
            unit="days",
        )
        stop = start + timedelta(days=length_days)
    if stop <= start:
        fail(f"{option}: the stop ({iso(stop)}) is not after the start ({iso(start)})")
    if (stop - start) > timedelta(days=MAX_WINDOW_DAYS):
        fail(f"{option}: the window {iso(start)} to {iso(stop)} is longer than {MAX_WINDOW_DAYS:g} days")
    return start, stop


def iso(dt: datetime) -> str:
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- paths
def input_file(path: Path, option: str) -> Path:
    """An existing, readable regular file."""
    if not path.exists():
        fail(f"{option} {path}: no such file")
    if path.is_dir():
        fail(f"{option} {path}: is a directory, not a file")
    if not os.access(path, os.R_OK):
        fail(f"{option} {path}: not readable")
    return path


def read_text(path: Path, option: str) -> str:
    """The UTF-8 text of an input file, or a refusal naming the option and the file."""
    input_file(path, option)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{option} {path}: not a UTF-8 text file")
    except OSError as exc:
        fail(f"{option} {path}: {exc.strerror}")


def output_file(path: Path | None, option: str, *, force: bool = False) -> Path | None:
    """Check an output file before any work: its directory exists and is writable, and it does not
    already exist unless --force."""
    if path is None:
        return None
    if path.is_dir():
        fail(f"{option} {path}: is a directory")
    if path.exists() and not force:
        fail(f"{option} {path}: exists (use --force to overwrite)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"{option} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        fail(f"{option} {path}: directory {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        fail(f"{option} {path}: not writable")
    return path


def output_dir(path: Path | None, option: str, *, force: bool = False) -> Path | None:
    """A directory for output files: created if missing (its parent must exist and be writable); an
    existing non-empty directory needs --force, since files in it may be overwritten."""
    if path is None:
        return None
    if path.exists() and not path.is_dir():
        fail(f"{option} {path}: exists and is not a directory")
    if path.is_dir():
        if not os.access(path, os.W_OK):
            fail(f"{option} {path}: directory is not writable")
        if any(path.iterdir()) and not force:
            fail(f"{option} {path}: directory is not empty (use --force to write into it)")
        return path
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"{option} {path}: parent directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        fail(f"{option} {path}: parent directory {parent} is not writable")
    return path


def creatable_dir(path: Path, option: str, *, named: object = None) -> Path:
    """A directory that exists or can be made with its parents: the nearest existing ancestor is a
    writable directory. `named` is what the refusal quotes (default: the directory itself)."""
    shown = path if named is None else named
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        fail(f"{option} {shown}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK):
        fail(f"{option} {shown}: {ancestor} is not writable")
    return path


@contextmanager
def atomic_output(path: Path | None, newline: str | None = None) -> Iterator[Any]:
    """Write to `path` through a temporary file renamed into place on success (nothing half-written),
    or to stdout when path is None."""
    if path is None:
        yield sys.stdout
        return
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tmp.open("w", newline=newline, encoding="utf-8") as fh:
            yield fh
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---------------------------------------------------------------- store
def open_store(db: str | None, *, must_exist: bool = False) -> CatalogStore:
    """The node's database, or a one-line refusal naming --db (bad URL, missing directory, and for
    read-only commands a database that does not exist: they never create one)."""
    from kizuna.store import CatalogStore

    try:
        return CatalogStore(db, must_exist=must_exist)
    except KizunaError as exc:
        fail(f"--db {db or 'kizuna.db'}: {exc}")


# ---------------------------------------------------------------- progress
def progress(console: Console | None = None) -> Progress:
    """A progress bar on stderr: shown on a terminal (or with KIZUNA_PROGRESS=1), never with -q."""
    console = console or err
    shown = (console.is_terminal or os.environ.get("KIZUNA_PROGRESS") == "1") and verbosity.level >= 0
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not shown,
    )


# ---------------------------------------------------------------- output
def json_default(value: object) -> object:
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def finite_or_none(value: Any) -> Any:
    """JSON has no NaN: NaN and infinities become null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def print_json(doc: object, sink: Any = None) -> None:
    text = json.dumps(finite_or_none(doc), indent=2, default=json_default, allow_nan=False)
    (sink or sys.stdout).write(text + "\n")


@dataclass(frozen=True)
class Column:
    """One column of a table: its header, the row key, and how the table shows the value.

    CSV and JSON get the raw value (full precision); only the table view is formatted.
    """

    header: str
    key: str
    fmt: Callable[[Any], str] = str
    justify: str = "left"


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    fmt: str,
    *,
    title: str,
    parameters: Mapping[str, Any] | None = None,
    total: int | None = None,
    key: str = "rows",
    extra: Mapping[str, Any] | None = None,
    sink: Any = None,
) -> None:
    """Print rows as a rich table, CSV or JSON (with parameters and shown/total counts).

    `rows` are what is shown; `total` is how many there were before a limit (default: all shown).
    """
    total = len(rows) if total is None else total
    if fmt == "json":
        doc: dict[str, Any] = {"parameters": dict(parameters or {}), "shown": len(rows), "total": total}
        doc.update(extra or {})
        doc[key] = [dict(r) for r in rows]
        print_json(doc, sink)
        return
    if fmt == "csv":
        writer = csv.writer(sink or sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for r in rows:
            writer.writerow([_csv_cell(r.get(c.key)) for c in columns])
        return
    shown = f"{len(rows)} of {total}" if total != len(rows) else f"{len(rows)}"
    table = Table(title=f"{title} ({shown} shown)" if total != len(rows) else title)
    for c in columns:
        table.add_column(c.header, justify=c.justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(*[_cell(c, r.get(c.key)) for c in columns])
    out.print(table)
    if parameters and verbosity.level >= 0:
        err.print(escape("; ".join(f"{k}: {_plain(v)}" for k, v in parameters.items())), style="dim")


def _cell(column: Column, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return escape(column.fmt(value))


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else value.isoformat()
    return value


def _plain(value: Any) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_value_table(title: str, items: Iterable[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field")
    table.add_column("value")
    for k, v in items:
        table.add_row(escape(str(k)), escape(str(v)))
    return table


# ---------------------------------------------------------------- input sniffing, map boxes, identifiers
SNIFF_BYTES = 65_536


def text_file(path: Path, option: str) -> Path:
    """An input file that looks like text: its first SNIFF_BYTES hold no NUL byte and decode as
    UTF-8. For files streamed later (too large for read_text), so a binary file is refused by name
    instead of being read as thousands of bad lines."""
    import codecs

    input_file(path, option)
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        fail(f"{option} {path}: {exc.strerror}")
    try:
        # Incremental: a multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        fail(f"{option} {path}: not a UTF-8 text file")
    if b"\x00" in head:
        fail(f"{option} {path}: not a text file (NUL bytes)")
    return path


def parse_bbox(text: str | None, option: str = "--bbox") -> tuple[float, float, float, float] | None:
    """W,S,E,N in degrees: finite, latitudes in [-90, 90] with S < N, longitudes in [-180, 180]."""
    if text is None:
        return None
    try:
        w, s, e, n = (float(x) for x in text.split(","))
    except ValueError:
        fail(f"{option} {text!r}: wants W,S,E,N in degrees")
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        fail(f"{option} {text!r}: every value must be a finite number")
    if not (-90 <= s < n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        fail(f"{option} {text!r}: not a W,S,E,N box (latitudes -90..90 with S < N, longitudes -180..180)")
    return w, s, e, n


def optional_window(
    start: datetime | None, stop: datetime | None, option: str = "--stop"
) -> tuple[datetime | None, datetime | None]:
    """An open or closed time range: when both ends are given, checked and capped like window()."""
    if start is not None and stop is not None:
        window(start, stop=stop, option=option)
    return start, stop


def identifier(value: str, option: str) -> str:
    """A node/partner id or similar name that also becomes part of file names: letters, digits,
    '-', '_' and '.', at most 64 characters, not starting with '.' (no path tricks)."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}", value):
        fail(f"{option} {value!r}: use 1-64 letters, digits, '-', '_' or '.' (not starting with '.')")
    return value


# ---------------------------------------------------------------- grids, windows and formats
# A time grid with more steps than MAX_GRID_STEPS is refused before it is built: the same cap
# time_grid enforces in the library, checked here so the refusal names the option before any work.


def grid_steps(length_s: float, step_s: float, option: str = "--step-s") -> int:
    """How many steps a window of length_s seconds makes at step_s, or a refusal when that exceeds
    MAX_GRID_STEPS (200 years at 1 s would otherwise end in a MemoryError)."""
    n = int(length_s // step_s) + 1
    if n > MAX_GRID_STEPS:
        fail(
            f"{option} {step_s:g}: a window of {length_s / 86400:g} days at this step is {n:,} time "
            f"steps (at most {MAX_GRID_STEPS:,}); use a longer step or a shorter window"
        )
    return n


def supported_window(start: datetime, stop: datetime, option: str) -> tuple[datetime, datetime]:
    """Both ends inside kizuna.model.time.SUPPORTED_RANGE_UTC (a start near its end plus a long
    window would wrap numpy's nanoseconds), or a refusal naming the option."""
    from kizuna.model.time import SUPPORTED_RANGE_UTC, supported_range_text

    lo, hi = SUPPORTED_RANGE_UTC
    if start < lo or stop > hi:
        fail(
            f"{option}: the window {iso(start)} to {iso(stop)} leaves the supported range {supported_range_text()}"
        )
    return start, stop


def output_format(value: str, option: str, choices: Sequence[str]) -> str:
    """A -f/--format value, case-insensitive, checked against `choices`."""
    return check_choice(value.lower(), option, choices)
