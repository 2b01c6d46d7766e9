"""`kizuna catalog ...` and `kizuna propagate`: wiring only; the work is in kizuna.store and kizuna.orbit."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kizuna.errors import KizunaError
from kizuna.formats.detect import read_path
from kizuna.model.records import ElementSet
from kizuna.orbit import FRAMES, iter_propagate, time_grid
from kizuna.orbit.frames import itrf_to_geodetic
from kizuna.orbit.timescale import iso_utc

catalog_app = typer.Typer(help="The space-object catalog: load, show, search, export.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table or json")]


def _store(db: str | None):  # type: ignore[no-untyped-def]
    from kizuna.store import CatalogStore

    try:
        return CatalogStore(db)
    except KizunaError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _progress(console: Console = err) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal and not _force_progress(),
    )


def _force_progress() -> bool:
    import os

    return os.environ.get("KIZUNA_PROGRESS") == "1"


# ---------------------------------------------------------------- catalog
@catalog_app.command("load")
def catalog_load(
    files: Annotated[list[Path], typer.Argument(help="TLE/3LE, OMM (KVN, XML, JSON, CSV) or SATCAT CSV")],
    db: DbOption = None,
    max_errors: Annotated[int, typer.Option(help="errors listed in the summary (all are counted)")] = 200,
) -> None:
    """Load files (format detected from content), one transaction per file.

    Prints {"loaded", "duplicates", "rejected", "errors": [{file, line, field, message}]}.
    Exit code 0 when anything was accepted (loaded or already stored), 2 when nothing could be.
    """
    from kizuna.store.ingest import LoadSummary, load_file

    store = _store(db)
    summary = LoadSummary()
    with _progress() as progress:
        task = progress.add_task("loading", total=len(files))
        for path in files:
            progress.update(task, description=f"loading {path.name}")
            load_file(store, path, summary)
            progress.advance(task)
    print(json.dumps(summary.as_dict(max_errors), indent=2))
    raise typer.Exit(0 if summary.accepted > 0 else 2)


def _entry_dict(entry) -> dict[str, object]:  # type: ignore[no-untyped-def]
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


@catalog_app.command("show")
def catalog_show(
    norad: int,
    db: DbOption = None,
    fmt: FormatOption = "table",
    history: Annotated[bool, typer.Option(help="list every stored element set")] = False,
) -> None:
    """One object: SATCAT facts, newest elements, and (with --history) every stored set."""
    store = _store(db)
    entry = store.get_object(norad)
    if entry is None:
        err.print(f"[red]error:[/] NORAD {norad} is not in the catalog ({store.safe_url})")
        raise typer.Exit(2)
    sets = store.history(norad) if history else []
    if fmt == "json":
        d = _entry_dict(entry)
        if history:
            from kizuna.formats.omm import omm_fields

            d["history"] = [omm_fields(es) for es in sets]
        print(json.dumps(d, indent=2, default=str))
        return
    table = Table(title=f"NORAD {norad}", show_header=False)
    for key, value in _flatten(_entry_dict(entry)):
        table.add_row(key, str(value))
    out.print(table)
    if history:
        h = Table(title=f"{len(sets)} element sets")
        for col in ("epoch (UTC)", "n [rev/d]", "e", "i [deg]", "perigee [km]", "apogee [km]"):
            h.add_column(col)
        for es in sets:
            h.add_row(
                es.epoch_utc.strftime("%Y-%m-%d %H:%M:%S"),
                f"{es.mean_motion_revday:.8f}",
                f"{es.eccentricity:.7f}",
                f"{es.inclination_deg:.4f}",
                f"{es.perigee_alt_km:.1f}",
                f"{es.apogee_alt_km:.1f}",
            )
        out.print(h)


def _plain(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _flatten(d: dict, prefix: str = ""):  # type: ignore[no-untyped-def]
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


@catalog_app.command("search")
def catalog_search(
    owner: Annotated[str | None, typer.Option(help="SATCAT owner code, e.g. JPN, US, PRC")] = None,
    object_type: Annotated[
        str | None, typer.Option("--type", help="PAYLOAD, ROCKET BODY, DEBRIS, UNKNOWN")
    ] = None,
    regime: Annotated[str | None, typer.Option(help="LEO, MEO, GEO or HEO")] = None,
    name: Annotated[str | None, typer.Option(help="substring of the object name")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many rows")] = None,
    db: DbOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Objects matching every filter, with their newest element set."""
    if regime and regime.upper() not in ("LEO", "MEO", "GEO", "HEO"):
        err.print(f"[red]error:[/] --regime {regime!r}: use LEO, MEO, GEO or HEO")
        raise typer.Exit(2)
    store = _store(db)
    entries = store.search(owner=owner, object_type=object_type, regime=regime, name=name, limit=limit)
    if fmt == "json":
        print(json.dumps([_entry_dict(e) for e in entries], indent=2, default=str))
        return
    table = Table(title=f"{len(entries)} objects")
    for col in (
        "NORAD",
        "name",
        "owner",
        "type",
        "regime",
        "epoch (UTC)",
        "perigee km",
        "apogee km",
        "incl deg",
    ):
        table.add_column(col)
    for e in entries:
        es, obj = e.latest, e.space_object
        table.add_row(
            str(e.norad_id),
            (es.object_name if es else None) or (obj.object_name if obj else "") or "",
            (obj.owner if obj else None) or "?",
            (obj.object_type if obj else None) or "?",
            e.regime or "?",
            es.epoch_utc.strftime("%Y-%m-%d %H:%M") if es else "-",
            f"{es.perigee_alt_km:.0f}" if es else "-",
            f"{es.apogee_alt_km:.0f}" if es else "-",
            f"{es.inclination_deg:.2f}" if es else "-",
        )
    out.print(table)


@catalog_app.command("export")
def catalog_export(
    norad: Annotated[list[int] | None, typer.Option(help="objects to export (default all)")] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="tle, 3le, omm-json, omm-kvn, omm-xml, omm-csv, satcat-csv")
    ] = "3le",
    db: DbOption = None,
) -> None:
    """Write the newest element set of each object (or SATCAT) to standard output."""
    from kizuna.formats import omm, satcat, tle

    store = _store(db)
    if fmt == "satcat-csv":
        objs = [e.space_object for e in store.search(norad_ids=norad) if e.space_object]
        sys.stdout.write(satcat.write_satcat_csv(objs))
        return
    sets = store.latest_element_sets(norad)
    writers = {
        "tle": lambda s: tle.write_tle(s, names=False),
        "3le": tle.write_tle,
        "omm-json": lambda s: omm.write_omm_json(s, indent=1),
        "omm-kvn": omm.write_omm_kvn,
        "omm-xml": omm.write_omm_xml,
        "omm-csv": omm.write_omm_csv,
    }
    if fmt not in writers:
        err.print(f"[red]error:[/] --format {fmt!r}: use one of {', '.join(writers)}, satcat-csv")
        raise typer.Exit(2)
    sys.stdout.write(writers[fmt](sets))


@catalog_app.command("publish")
def catalog_publish(
    norad: Annotated[list[int], typer.Option(help="objects whose newest element set to publish")],
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
    from kizuna.store import CatalogStore

    try:
        sets = CatalogStore(db).latest_element_sets(norad)
    except KizunaError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    missing = sorted(set(norad) - {s.norad_id for s in sets})
    if missing:
        err.print(f"[red]error:[/] not in catalog: {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    items = [
        ("element_set", {k: _plain(v) for k, v in omm_fields(es).items()}, (es.norad_id,)) for es in sets
    ]
    try:
        published = publish_payloads(db or "kizuna.db", partners, keys, marking, items, actor=actor)
    except (KizunaError, OSError, ValueError, PermissionError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    print(json.dumps([p | {"norad_id": p["objects"][0]} for p in published], indent=2))


# ---------------------------------------------------------------- propagate
def _parse_ids(values: Sequence[str]) -> list[int]:
    ids: list[int] = []
    for v in values:
        for part in str(v).replace(",", " ").split():
            if not part.isdigit():
                raise typer.BadParameter(f"{part!r} is not a NORAD catalog number", param_hint="--norad")
            ids.append(int(part))
    return ids


def propagate(
    ctx: typer.Context,
    start: Annotated[str, typer.Option(help="ISO-8601 UTC start")],
    stop: Annotated[str, typer.Option(help="ISO-8601 UTC stop")],
    norad: Annotated[
        list[str] | None, typer.Option(help="NORAD ids from the store: --norad 25544 43013")
    ] = None,
    file: Annotated[Path | None, typer.Option(help="element sets to propagate (any catalog format)")] = None,
    step_s: Annotated[float, typer.Option("--step-s", help="time step in seconds")] = 60.0,
    frame: Annotated[str, typer.Option(help="teme, itrf or gcrs")] = "teme",
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="write here instead of stdout")] = None,
    db: DbOption = None,
) -> None:
    """Vectorized SGP4 for N objects x T times; ITRF adds WGS-84 lat/lon/alt.

    SGP4 failures (decayed, eccentricity out of range) are reported per object on
    stderr (and in the JSON), never stop the run.
    """
    if frame not in FRAMES:
        raise typer.BadParameter(f"use one of {', '.join(FRAMES)}", param_hint="--frame")
    if fmt not in ("csv", "json"):
        raise typer.BadParameter("use csv or json", param_hint="--format")
    ids = _parse_ids([*(norad or []), *ctx.args])
    if (not ids) == (file is None):
        raise typer.BadParameter("give --norad ids or --file, not both", param_hint="--norad/--file")
    sets: list[ElementSet]
    if file is not None:
        result = read_path(file)
        for issue in result.issues:
            err.print(f"[yellow]skipped:[/] {issue}")
        sets = [r for r in result.records if isinstance(r, ElementSet)]
    else:
        store = _store(db)
        sets = store.latest_element_sets(ids)
        missing = sorted(set(ids) - {s.norad_id for s in sets})
        for m in missing:
            err.print(f"[yellow]not in catalog:[/] NORAD {m}")
    if not sets:
        err.print("[red]error:[/] no element sets to propagate")
        raise typer.Exit(2)
    try:
        times = time_grid(start, stop, step_s)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--start/--stop/--step-s") from None
    sink = output.open("w", newline="") if output else sys.stdout
    errors: list[dict[str, object]] = []
    objects_json: list[dict[str, object]] = []
    iso = iso_utc(times)
    try:
        with _progress() as progress:
            task = progress.add_task(f"SGP4 {len(sets)} objects x {len(times)} times", total=len(sets))
            writer = csv.writer(sink, lineterminator="\n") if fmt == "csv" else None
            if writer:
                header = ["norad_id", "t_utc", "x_km", "y_km", "z_km", "vx_kms", "vy_kms", "vz_kms"]
                writer.writerow(header + (["lat_deg", "lon_deg", "alt_km"] if frame == "itrf" else []))
            for part in iter_propagate(
                sets, times, frame, chunk_states=500_000, progress=lambda n: progress.advance(task, n)
            ):
                errors.extend(e.as_dict() for e in part.errors())
                geo = itrf_to_geodetic(part.position_km) if frame == "itrf" else None
                for i, norad_id in enumerate(part.norad_ids):
                    good = part.error_code[i] == 0
                    cols = [part.position_km[i], part.velocity_kms[i]]
                    if geo is not None:
                        cols.append(np.stack([g[i] for g in geo], axis=-1))
                    block = np.round(np.concatenate(cols, axis=1), 6)
                    if writer:
                        for j in np.flatnonzero(good):
                            writer.writerow([int(norad_id), iso[j], *block[j].tolist()])
                    else:
                        names = ["x_km", "y_km", "z_km", "vx_kms", "vy_kms", "vz_kms"] + (
                            ["lat_deg", "lon_deg", "alt_km"] if geo is not None else []
                        )
                        objects_json.append(
                            {
                                "norad_id": int(norad_id),
                                "states": [
                                    {"t_utc": iso[j], **dict(zip(names, block[j].tolist(), strict=True))}
                                    for j in np.flatnonzero(good)
                                ],
                            }
                        )
        if fmt == "json":
            json.dump(
                {
                    "frame": frame,
                    "start": iso[0],
                    "stop": iso[-1],
                    "step_s": step_s,
                    "objects": objects_json,
                    "errors": errors,
                },
                sink,
            )
            sink.write("\n")
    finally:
        if output:
            sink.close()
    for e in errors:
        err.print(
            f"[yellow]SGP4 error:[/] NORAD {e['norad_id']}: {e['message']} "
            f"(code {e['code']}, from {e['first_error_utc']}, {e['failed_steps']}/{e['total_steps']} steps)"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
    app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})(propagate)
