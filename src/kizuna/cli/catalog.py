"""`kizuna catalog ...` and `kizuna propagate`: wiring only; the work is in kizuna.store and kizuna.orbit."""

from __future__ import annotations

import csv
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import Progress, TaskID

from kizuna.cli._common import (
    MAX_WINDOW_DAYS,
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    atomic_output,
    count,
    emit_rows,
    fail,
    grid_steps,
    input_file,
    iso,
    key_value_table,
    missing_ids,
    open_store,
    out,
    output_file,
    output_format,
    parse_ids,
    parse_time,
    positive,
    print_json,
    progress,
    supported_window,
    warn,
    window,
)
from kizuna.errors import KizunaError
from kizuna.model.records import ElementSet

catalog_app = typer.Typer(help="The space-object catalog: load, show, search, export.", no_args_is_help=True)

FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
REGIMES = ("LEO", "MEO", "GEO", "HEO")
EXPORT_FORMATS = ("tle", "3le", "omm-json", "omm-kvn", "omm-xml", "omm-csv", "satcat-csv")
#: more errors than this in one summary is a listing nobody reads; all of them are still counted
MAX_LISTED_ERRORS = 1_000_000


# ---------------------------------------------------------------- catalog
@catalog_app.command("load")
def catalog_load(
    files: Annotated[list[Path], typer.Argument(help="TLE/3LE, OMM (KVN, XML, JSON, CSV) or SATCAT CSV")],
    db: DbOption = None,
    max_errors: Annotated[
        int, typer.Option(help="errors listed in the summary, 0 or more (all are counted)")
    ] = 200,
    strict: Annotated[bool, typer.Option(help="exit 2 when any record was rejected")] = False,
) -> None:
    """Load files (format detected from content), one transaction per file.

    Prints {"loaded", "duplicates", "rejected", "errors": [{file, line, field, message}]}.
    Exit code 0 when anything was accepted (loaded or already stored), 2 when nothing could be
    (or, with --strict, when anything was rejected).
    """
    from kizuna.store.ingest import LoadSummary, load_file

    count(max_errors, "--max-errors", minimum=0, maximum=MAX_LISTED_ERRORS)
    for path in files:
        input_file(path, "FILES")
    store = open_store(db)
    summary = LoadSummary()
    with progress() as bar:
        # One bar per file, advanced as its records are written: a 30,000-object catalog in one
        # file shows progress instead of a bar stuck at 0 of 1.
        for i, path in enumerate(files, 1):
            task = bar.add_task(f"loading {path.name} ({i}/{len(files)})", total=None)
            load_file(store, path, summary, progress=_bar_updater(bar, task))
    print_json(summary.as_dict(max_errors))
    failed = summary.accepted == 0 or (strict and summary.rejected > 0)
    raise typer.Exit(2 if failed else 0)


def _bar_updater(bar: Progress, task: TaskID) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update


def _plain(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _entry_dict(entry: Any) -> dict[str, object]:
    from kizuna.formats.omm import omm_fields

    obj = entry.space_object
    d: dict[str, object] = {"norad_id": entry.norad_id, "regime": entry.regime}
    if obj is not None:
        d["satcat"] = {
            f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name != "source"
        }
    if entry.latest is not None:
        es = entry.latest
        d["latest"] = omm_fields(es) | {
            "PERIOD_MIN": round(es.period_min, 4),
            "APOGEE_ALT_KM": round(es.apogee_alt_km, 3),
            "PERIGEE_ALT_KM": round(es.perigee_alt_km, 3),
        }
    return d


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            items += _flatten(v, f"{prefix}{k}.")
        else:
            items.append((f"{prefix}{k}", v))
    return items


HISTORY_COLUMNS = (
    Column("epoch (UTC)", "epoch_utc", iso),
    Column("n [rev/d]", "mean_motion_revday", lambda v: f"{v:.8f}", "right"),
    Column("e", "eccentricity", lambda v: f"{v:.7f}", "right"),
    Column("i [deg]", "inclination_deg", lambda v: f"{v:.4f}", "right"),
    Column("perigee [km]", "perigee_alt_km", lambda v: f"{v:.1f}", "right"),
    Column("apogee [km]", "apogee_alt_km", lambda v: f"{v:.1f}", "right"),
)


def _history_row(es: Any) -> dict[str, Any]:
    return {c.key: getattr(es, c.key) for c in HISTORY_COLUMNS}


@catalog_app.command("show")
def catalog_show(
    norad: int,
    db: DbOption = None,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="table, csv (field,value; the history with --history) or json"),
    ] = "table",
    history: Annotated[bool, typer.Option(help="list every stored element set")] = False,
) -> None:
    """One object: SATCAT facts, newest elements, and (with --history) every stored set."""
    from kizuna.formats.omm import omm_fields

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    store = open_store(db, must_exist=True)
    entry = store.get_object(norad)
    if entry is None:
        fail(f"NORAD {norad} is not in the catalog ({store.safe_url})")
    sets = store.history(norad) if history else []
    d = _entry_dict(entry)
    if fmt == "json":
        if history:
            d["history"] = [omm_fields(es) for es in sets]
        print_json(d)
    elif fmt == "csv":
        if history:
            emit_rows([_history_row(es) for es in sets], HISTORY_COLUMNS, "csv", title="")
        else:
            fields = (Column("field", "field"), Column("value", "value"))
            emit_rows([{"field": k, "value": v} for k, v in _flatten(d)], fields, "csv", title="")
    else:
        out.print(key_value_table(f"NORAD {norad}", _flatten(d)))
        if history:
            emit_rows(
                [_history_row(es) for es in sets], HISTORY_COLUMNS, "table", title=f"{len(sets)} element sets"
            )


SEARCH_COLUMNS = (
    Column("NORAD", "norad_id", justify="right"),
    Column("name", "name"),
    Column("owner", "owner"),
    Column("type", "object_type"),
    Column("regime", "regime"),
    Column("epoch (UTC)", "epoch_utc", iso),
    Column("perigee km", "perigee_alt_km", lambda v: f"{v:.1f}", "right"),
    Column("apogee km", "apogee_alt_km", lambda v: f"{v:.1f}", "right"),
    Column("incl deg", "inclination_deg", lambda v: f"{v:.4f}", "right"),
)


def _search_row(e: Any) -> dict[str, Any]:
    es, obj = e.latest, e.space_object
    return {
        "norad_id": e.norad_id,
        "name": (es.object_name if es else None) or (obj.object_name if obj else None) or "",
        "owner": obj.owner if obj else None,
        "object_type": obj.object_type if obj else None,
        "regime": e.regime,
        "epoch_utc": es.epoch_utc if es else None,
        "perigee_alt_km": es.perigee_alt_km if es else None,
        "apogee_alt_km": es.apogee_alt_km if es else None,
        "inclination_deg": es.inclination_deg if es else None,
    }


def _has_satcat(store: Any) -> bool:
    owners = store.summary()["owner"]
    return any(k != "UNKNOWN" for k in owners)


@catalog_app.command("search")
def catalog_search(
    owner: Annotated[str | None, typer.Option(help="SATCAT owner code, e.g. JPN, US, PRC")] = None,
    object_type: Annotated[
        str | None, typer.Option("--type", help="PAYLOAD, ROCKET BODY, DEBRIS, UNKNOWN")
    ] = None,
    regime: Annotated[str | None, typer.Option(help="LEO, MEO, GEO or HEO")] = None,
    name: Annotated[str | None, typer.Option(help="substring of the object name")] = None,
    limit: Annotated[int, typer.Option(help="show at most this many rows (0: all)")] = 0,
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Objects matching every filter, with their newest element set.

    JSON: {"parameters", "shown", "total", "objects": [...]}."""
    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    if regime and regime.upper() not in REGIMES:
        fail(f"--regime {regime!r}: use LEO, MEO, GEO or HEO")
    count(limit, "--limit", minimum=0)
    store = open_store(db, must_exist=True)
    if (owner or object_type) and not _has_satcat(store):
        fail(
            "no SATCAT rows loaded: --owner/--type need SATCAT data "
            "(load a SATCAT CSV with `kizuna catalog load`)"
        )
    entries = store.search(owner=owner, object_type=object_type, regime=regime, name=name)
    shown = entries[:limit] if limit else entries
    parameters = {"owner": owner, "type": object_type, "regime": regime, "name": name, "limit": limit}
    if fmt == "json":
        print_json(
            {
                "parameters": parameters,
                "shown": len(shown),
                "total": len(entries),
                "objects": [_entry_dict(e) for e in shown],
            }
        )
        return
    emit_rows(
        [_search_row(e) for e in shown],
        SEARCH_COLUMNS,
        fmt,
        title=f"{len(entries)} objects",
        total=len(entries),
    )


@catalog_app.command("export")
def catalog_export(
    norad: Annotated[
        list[str] | None, typer.Option(help="objects to export (default all; repeat or comma-separate)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=", ".join(EXPORT_FORMATS))] = "3le",
    db: DbOption = None,
) -> None:
    """Write the newest element set of each object (or SATCAT) to standard output.

    Exit 2 when an asked-for object is not in the catalog (the others are still written)."""
    from kizuna.formats import omm, satcat, tle

    fmt = output_format(fmt, "--format", EXPORT_FORMATS)
    ids = parse_ids(norad, "--norad") or None
    store = open_store(db, must_exist=True)
    if fmt == "satcat-csv":
        records = [e.space_object for e in store.search(norad_ids=ids) if e.space_object]
        found = {o.norad_id for o in records}
    else:
        sets = store.latest_element_sets(ids)
        found = {s.norad_id for s in sets}
    what = "SATCAT rows" if fmt == "satcat-csv" else "element sets"
    if not found:
        shown = f" for --norad {', '.join(map(str, ids))}" if ids else " in the catalog"
        fail(f"no {what}{shown}: nothing to export")
    missing = missing_ids(ids or [], found, f"in the catalog ({what})")
    if fmt == "satcat-csv":
        sys.stdout.write(satcat.write_satcat_csv(records))
    else:
        writers: dict[str, Callable[[Sequence[ElementSet]], str]] = {
            "tle": lambda s: tle.write_tle(s, names=False),
            "3le": tle.write_tle,
            "omm-json": lambda s: omm.write_omm_json(s, indent=1),
            "omm-kvn": omm.write_omm_kvn,
            "omm-xml": omm.write_omm_xml,
            "omm-csv": omm.write_omm_csv,
        }
        sys.stdout.write(writers[fmt](sets))
    if missing:
        raise typer.Exit(2)


@catalog_app.command("publish")
def catalog_publish(
    norad: Annotated[list[str], typer.Option(help="objects whose newest element set to publish")],
    partners: Annotated[Path, typer.Option(help="this node's coalition config (partners.yaml)")],
    keys: Annotated[Path, typer.Option(help="directory with this node's signing key")],
    marking: Annotated[
        str, typer.Option(help="banner, e.g. 'UNCLASSIFIED' or 'SECRET//REL TO USA, JPN'")
    ] = "UNCLASSIFIED",
    db: DbOption = None,
    actor: Annotated[str, typer.Option(help="who publishes, for the audit log")] = "cli",
) -> None:
    """Publish element sets as marked, signed, audited products for partner nodes."""
    from kizuna.formats.omm import omm_fields
    from kizuna.share.publishing import publish_payloads

    ids = parse_ids(norad, "--norad")
    if not ids:
        fail("--norad: give at least one catalog number")
    input_file(partners, "--partners")
    sets = open_store(db, must_exist=True).latest_element_sets(ids)
    missing = sorted(set(ids) - {s.norad_id for s in sets})
    if missing:
        fail(f"--norad: not in the catalog: {', '.join(map(str, missing))}")
    items = [
        ("element_set", {k: _plain(v) for k, v in omm_fields(es).items()}, (es.norad_id,)) for es in sets
    ]
    try:
        published = publish_payloads(db or "kizuna.db", partners, keys, marking, items, actor=actor)
    except (KizunaError, OSError, ValueError) as exc:
        fail(exc)
    print_json([p | {"norad_id": p["objects"][0]} for p in published])  # type: ignore[index]


# ---------------------------------------------------------------- propagate
MAX_PROPAGATE_STEP_S = MAX_WINDOW_DAYS * 86400.0


def propagate(
    ctx: typer.Context,
    start: Annotated[str, typer.Option(help="ISO-8601 start; offsets and Z accepted, naive is UTC")],
    stop: Annotated[str, typer.Option(help="ISO-8601 stop, after the start")],
    norad: Annotated[
        list[str] | None, typer.Option(help="NORAD ids from the store: --norad 25544 43013")
    ] = None,
    file: Annotated[Path | None, typer.Option(help="element sets to propagate (any catalog format)")] = None,
    step_s: Annotated[float, typer.Option("--step-s", help="time step in seconds, > 0")] = 60.0,
    frame: Annotated[str, typer.Option(help="teme, itrf or gcrs")] = "teme",
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="write here instead of stdout")] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Vectorized SGP4 for N objects x T times; ITRF adds WGS-84 lat/lon/alt.

    SGP4 failures (decayed, eccentricity out of range) are reported per object on
    stderr (and in the JSON), never stop the run. Exit 2 when an asked-for id is not in the
    catalog (the others are still propagated).
    """
    from kizuna.formats.detect import read_path
    from kizuna.model.records import ElementSet
    from kizuna.orbit import FRAMES, time_grid

    frame = output_format(frame, "--frame", tuple(FRAMES))
    fmt = output_format(fmt, "--format", ("csv", "json"))
    ids = parse_ids([*(norad or []), *ctx.args], "--norad")
    if (not ids) == (file is None):
        fail("give --norad ids or --file, not both")
    t0, t1 = window(parse_time(start, "--start"), stop=parse_time(stop, "--stop"), option="--start/--stop")
    supported_window(t0, t1, "--start/--stop")
    positive(step_s, "--step-s", maximum=MAX_PROPAGATE_STEP_S, unit="s")
    grid_steps((t1 - t0).total_seconds(), step_s)
    output_file(output, "--out", force=force)
    if file is not None:
        input_file(file, "--file")
    missing: list[int] = []
    sets: list[ElementSet]
    if file is not None:
        result = read_path(file)
        for issue in result.issues:
            warn(f"skipped: {issue}")
        sets = [r for r in result.records if isinstance(r, ElementSet)]
    else:
        sets = open_store(db, must_exist=True).latest_element_sets(ids)
        missing = missing_ids(ids, {s.norad_id for s in sets})
    if not sets:
        fail("no element sets to propagate")
    times = time_grid(t0, t1, step_s)
    with atomic_output(output, newline="") as sink:
        errors = _propagate_to(sink, sets, times, frame, fmt, step_s)
    for e in errors:
        warn(
            f"SGP4 error: NORAD {e['norad_id']}: {e['message']} "
            f"(code {e['code']}, from {e['first_error_utc']}, {e['failed_steps']}/{e['total_steps']} steps)"
        )
    if missing:
        raise typer.Exit(2)


def _propagate_to(
    sink: Any, sets: list[Any], times: np.ndarray, frame: str, fmt: str, step_s: float
) -> list[dict[str, Any]]:
    """Write the states (CSV rows or one JSON document) to sink; the SGP4 errors met."""
    from kizuna.orbit import iter_propagate
    from kizuna.orbit.frames import itrf_to_geodetic
    from kizuna.orbit.timescale import iso_utc

    errors: list[dict[str, Any]] = []
    objects_json: list[dict[str, object]] = []
    stamps = iso_utc(times)
    names = ["x_km", "y_km", "z_km", "vx_kms", "vy_kms", "vz_kms"] + (
        ["lat_deg", "lon_deg", "alt_km"] if frame == "itrf" else []
    )
    writer = csv.writer(sink, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(["norad_id", "t_utc", *names])
    with progress() as bar:
        task = bar.add_task(f"SGP4 {len(sets)} objects x {len(times)} times", total=len(sets))
        for part in iter_propagate(
            sets, times, frame, chunk_states=500_000, progress=lambda n: bar.advance(task, n)
        ):
            errors.extend(e.as_dict() for e in part.errors())
            geo = itrf_to_geodetic(part.position_km) if frame == "itrf" else None
            for i, norad_id in enumerate(part.norad_ids):
                good = np.flatnonzero(part.error_code[i] == 0)
                cols = [part.position_km[i], part.velocity_kms[i]]
                if geo is not None:
                    cols.append(np.stack([g[i] for g in geo], axis=-1))
                block = np.round(np.concatenate(cols, axis=1), 6)
                if writer:
                    for j in good:
                        writer.writerow([int(norad_id), stamps[j], *block[j].tolist()])
                else:
                    states = [
                        {"t_utc": stamps[j], **dict(zip(names, block[j].tolist(), strict=True))} for j in good
                    ]
                    objects_json.append({"norad_id": int(norad_id), "states": states})
    if fmt == "json":
        print_json(
            {
                "parameters": {
                    "frame": frame,
                    "start_utc": stamps[0],
                    "stop_utc": stamps[-1],
                    "step_s": step_s,
                    "objects": len(sets),
                    "times": len(times),
                    "element_set_epoch_first_utc": iso(min(s.epoch_utc for s in sets)),
                    "element_set_epoch_last_utc": iso(max(s.epoch_utc for s in sets)),
                },
                "frame": frame,
                "start": stamps[0],
                "stop": stamps[-1],
                "step_s": step_s,
                "objects": objects_json,
                "errors": errors,
            },
            sink,
        )
    return errors


def register(app: typer.Typer) -> None:
    from kizuna.cli import catalog_future

    catalog_future.register(catalog_app)
    app.add_typer(catalog_app, name="catalog")
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})(propagate)
