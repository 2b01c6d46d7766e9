"""`kizuna screen` and `kizuna cdm show|assess`: parse, validate, print; the work is in kizuna.ops and kizuna.sda."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Annotated, Any, TextIO

import numpy as np
import typer

from kizuna.cli._common import (
    MAX_WINDOW_DAYS,
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    check_number,
    count,
    emit_rows,
    fail,
    finite_or_none,
    grid_steps,
    input_file,
    json_default,
    key_value_table,
    missing_ids,
    note,
    open_store,
    out,
    output_dir,
    output_format,
    parse_ids,
    parse_time,
    parse_triple,
    positive,
    print_json,
    progress,
    read_text,
    supported_window,
    warn,
    window,
)
from kizuna.cli._common import (
    _csv_cell as csv_cell,
)
from kizuna.errors import KizunaError

cdm_app = typer.Typer(help="CCSDS conjunction data messages: show, assess.", no_args_is_help=True)

SCREEN_FORMATS = (*TABLE_FORMATS, "cdm-kvn", "cdm-xml")
#: the table shows the closest events first, this many unless --limit says otherwise
TABLE_LIMIT = 50
#: a screening volume beyond this is not a conjunction screening (and its cost grows with the volume)
MAX_VOLUME_KM = 1000.0
#: the coarse grid step: beyond an hour the sweep's padding makes every pair a candidate
MAX_STEP_S = 3600.0
#: a 1-sigma position error beyond this says nothing about a collision
MAX_SIGMA_KM = 10_000.0
#: local worker processes per core at most: each holds a copy of the prepared catalog, and
#: processes beyond the cores only add copies and switching (a cluster is the way past one box)
MAX_WORKERS_PER_CORE = 4


def max_workers() -> int:
    return MAX_WORKERS_PER_CORE * (os.cpu_count() or 1)


EVENT_COLUMNS = (
    Column("primary", "primary"),
    Column("primary name", "primary_name"),
    Column("secondary", "secondary"),
    Column("secondary name", "secondary_name"),
    Column("TCA (UTC)", "tca_utc"),
    Column("miss km", "miss_km", lambda v: f"{v:.3f}", "right"),
    Column("R km", "radial_km", lambda v: f"{v:.3f}", "right"),
    Column("T km", "intrack_km", lambda v: f"{v:.3f}", "right"),
    Column("N km", "crosstrack_km", lambda v: f"{v:.3f}", "right"),
    Column("v km/s", "rel_speed_kms", lambda v: f"{v:.3f}", "right"),
    Column("Pc", "pc", lambda v: f"{v:.2e}", "right"),
    Column("pc_method", "pc_method"),
    Column("HBR m", "hbr_m", lambda v: f"{v:g}", "right"),
    Column("hbr_source", "hbr_source"),
)


# ---------------------------------------------------------------- screen
def screen_cmd(
    assets: Annotated[
        list[str] | None,
        typer.Option("--assets", help="NORAD ids of protected objects (repeat or comma-separate)"),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="protect every payload of this SATCAT owner")] = None,
    all_: Annotated[bool, typer.Option("--all", help="all-vs-all")] = False,
    start: Annotated[
        str | None,
        typer.Option(help="ISO-8601 start, offsets accepted (default: the catalog's median epoch, hour)"),
    ] = None,
    days: Annotated[
        float, typer.Option(help=f"window length [d], > 0 and at most {MAX_WINDOW_DAYS:g}")
    ] = 1.0,
    threshold_km: Annotated[
        float, typer.Option("--threshold-km", help=f"spherical miss threshold [km], (0, {MAX_VOLUME_KM:g}]")
    ] = 10.0,
    rtn_km: Annotated[
        str | None, typer.Option("--rtn-km", help="ellipsoid semi-axes R,T,N [km], e.g. 1,12.5,12.5")
    ] = None,
    step_s: Annotated[
        float, typer.Option("--step-s", help=f"coarse grid step [s], (0, {MAX_STEP_S:g}]")
    ] = 60.0,
    stale_days: Annotated[
        float, typer.Option(help="element sets older than this [d] are listed, not screened")
    ] = 14.0,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="table, csv, json, cdm-kvn or cdm-xml")
    ] = "table",
    limit: Annotated[
        int | None,
        typer.Option(
            help=f"show the N closest events (table default {TABLE_LIMIT}, csv/json default all; "
            "0: all); CDM output always has every event"
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="directory for CDM files (with -f cdm-kvn or cdm-xml); table, csv and json go to stdout",
        ),
    ] = None,
    force: ForceOption = False,
    workers: Annotated[
        int | None,
        typer.Option(
            help="worker processes on this machine (1: in this process; default: one per core, "
            "fewer for a screening too small to pay for starting them)"
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="a Dask scheduler tcp://host:port whose workers screen (started with `dask scheduler` "
            "and `dask worker tcp://host:port`); 'local': processes on this machine, one per core "
            "unless --workers says otherwise"
        ),
    ] = None,
    hbr_csv: Annotated[Path | None, typer.Option("--hbr-table", help="NASA CARA HBR estimates CSV")] = None,
    sigma_rtn_km: Annotated[
        str | None,
        typer.Option(
            "--sigma-rtn-km",
            help="1-sigma R,T,N position error in km for every object, e.g. 0.2,1,0.2: "
            "Pc by Foster's method instead of the TLE-only maximum Pc",
        ),
    ] = None,
    publish: Annotated[
        str | None,
        typer.Option(
            help="also publish each event as a signed conjunction product under this marking banner, "
            "e.g. 'SECRET//REL TO USA, JPN' (needs --partners and --keys)"
        ),
    ] = None,
    partners: Annotated[Path | None, typer.Option(help="this node's coalition config, for --publish")] = None,
    keys: Annotated[Path | None, typer.Option(help="this node's key directory, for --publish")] = None,
    db: DbOption = None,
) -> None:
    """Screen protected objects (or everything) for close approaches; Pc and method per event.

    Exit 2 when an asked-for asset is not in the catalog (the others are still screened)."""
    from kizuna.ops.screening import ScreeningRequest, run_screening
    from kizuna.sda import ScreeningVolume

    # every check before any work: a bad --out is refused before the screening, not after
    asset_ids = parse_ids(assets, "--assets")
    if sum([bool(asset_ids), bool(owner), all_]) != 1:
        fail("give exactly one of --assets, --owner or --all")
    fmt = output_format(fmt, "--format", SCREEN_FORMATS)
    if out_dir is not None and not fmt.startswith("cdm"):
        fail(f"--out is a directory for CDM files (-f cdm-kvn or cdm-xml); -f {fmt} prints to stdout")
    output_dir(out_dir, "--out", force=force)
    if publish and (partners is None or keys is None):
        fail("--publish needs --partners and --keys")
    if partners is not None:
        input_file(partners, "--partners")
    check_number(days, "--days", minimum=0.0, exclusive_minimum=True, maximum=MAX_WINDOW_DAYS, unit="days")
    positive(threshold_km, "--threshold-km", maximum=MAX_VOLUME_KM, unit="km")
    positive(step_s, "--step-s", maximum=MAX_STEP_S, unit="s")
    positive(stale_days, "--stale-days", maximum=MAX_WINDOW_DAYS, unit="days")
    volume = ScreeningVolume.sphere(threshold_km)
    if rtn_km:
        r, t, n = parse_triple(rtn_km, "--rtn-km")
        if max(r, t, n) > MAX_VOLUME_KM:
            fail(f"--rtn-km {rtn_km!r}: each semi-axis must be at most {MAX_VOLUME_KM:g} km")
        volume = ScreeningVolume.ellipsoid(r, t, n)
    sigma = parse_triple(sigma_rtn_km, "--sigma-rtn-km") if sigma_rtn_km else None
    if sigma and max(sigma) > MAX_SIGMA_KM:
        fail(f"--sigma-rtn-km {sigma_rtn_km!r}: each sigma must be at most {MAX_SIGMA_KM:g} km")
    if limit is not None:
        count(limit, "--limit", minimum=0)
    if hbr_csv is not None:
        input_file(hbr_csv, "--hbr-table")
    if scheduler is not None and scheduler != "local" and "://" not in scheduler:
        fail(f"--scheduler {scheduler!r}: use 'local' or a scheduler address such as tcp://host:8786")
    if workers is not None:
        count(workers, "--workers", minimum=1, maximum=max_workers())
        if scheduler not in (None, "local"):
            fail(f"--workers counts processes on this machine; the workers of {scheduler} are the cluster's")
    t0 = None
    if start is not None:
        t0, _ = supported_window(*window(parse_time(start, "--start"), days=days), "--start/--days")
    grid_steps(days * 86400.0, step_s)
    store = open_store(db)
    request = ScreeningRequest(
        assets=tuple(asset_ids),
        owner=owner,
        all_vs_all=all_,
        start_utc=t0,
        days=days,
        volume=volume,
        step_s=step_s,
        stale_days=stale_days,
        hbr_table_path=hbr_csv,
        sigma_rtn_km=sigma,
        scheduler=scheduler,
        workers=workers,
    )
    try:
        with progress() as bar:
            task = bar.add_task("screening", total=None)
            run = run_screening(
                store, request, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
    except KizunaError as exc:
        fail(exc)
    missing_ids(asset_ids, set(asset_ids) - set(run.missing_assets))
    _emit(run, fmt, out_dir, limit)
    if publish:
        _publish(run.result.events, db, partners, keys, publish)
    if run.missing_assets:
        raise typer.Exit(2)


def _emit(run: Any, fmt: str, out_dir: Path | None, limit: int | None) -> None:
    from kizuna.sda.records import closest_first

    result, params = run.result, run.parameters
    if fmt.startswith("cdm"):
        _write_cdms(result.events, fmt, out_dir)
        return
    # ordered as columns when the events are a table: sorting ConjunctionEvents would make them all
    events = closest_first(result.events)
    if limit is None:
        limit = TABLE_LIMIT if fmt == "table" else 0
    shown = events[:limit] if limit else events
    # rows are made one at a time as they are written: a full-catalog week is ~750,000 events, and
    # holding them all as dicts and then as one JSON string tripled the command's memory
    rows = EventRows(shown)
    if fmt == "json":
        stream_json(
            {"parameters": params, "shown": len(rows), "total": len(events)},
            "events",
            rows,
            {
                "problems": [p.as_dict() for p in result.problems],
                "objects": result.n_objects,
                "primaries": result.n_primaries,
            },
        )
        return
    if fmt == "csv":
        stream_csv(rows, EVENT_COLUMNS)
        if result.problems:
            _note_problems(result.problems)
        return
    emit_rows(rows, EVENT_COLUMNS, fmt, title=f"{len(events)} events", total=len(events))
    if fmt == "table":
        out.print(
            f"{result.n_objects} objects screened ({result.n_primaries} primaries); "
            f"window {params['start_utc']} to {params['stop_utc']}; "
            f"volume {_volume_text(params['volume'])}; step {params['step_s']:g} s; "
            f"catalog epochs {params['catalog_epoch_first_utc']} to {params['catalog_epoch_last_utc']}",
            highlight=False,
        )
        if len(shown) < len(events):
            note(f"{len(shown)} of {len(events)} events shown, closest first (--limit N, --limit 0 for all)")
    if result.problems:
        _note_problems(result.problems)


def _note_problems(problems: Sequence[Any]) -> None:
    note(
        f"{len(problems)} objects not fully screened: "
        + ", ".join(f"{p.norad_id} ({p.reason})" for p in problems[:20])
        + (" ..." if len(problems) > 20 else "")
    )


class EventRows(Sequence[dict[str, Any]]):
    """Events as output rows, each made when it is read (nothing is kept).

    When the events are an :class:`~kizuna.sda.records.EventTable`, `stream_json` and
    `stream_csv` write them from its columns a block at a time (:meth:`json_blocks`,
    :meth:`csv_blocks`): the same bytes as one `as_dict` row after another, without making
    the rows. Iterating gives the rows one at a time, the path for a plain list of events."""

    def __init__(self, events: Sequence[Any]) -> None:
        self._events = events

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [e.as_dict() for e in self._events[index]]
        return self._events[index].as_dict()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (e.as_dict() for e in self._events)

    def json_blocks(self) -> Iterator[str]:
        """The rows as `stream_json` lays them out inside its list (indented four spaces),
        joined by ",\n" within a block, a block of events at a time."""
        from kizuna.sda.records import EventTable

        if not isinstance(self._events, EventTable):
            yield from (_json_row(row) for row in self)
            return
        objects = _ObjectText(_json_scalar)
        template = ""
        for block in self._events.blocks():
            template = template or _json_row_template(block)
            yield ",\n".join(map(template.__mod__, zip(*_json_fields(block, objects), strict=True)))

    def csv_blocks(self, keys: Sequence[str]) -> Iterator[Iterable[Sequence[Any]]] | None:
        """The cells of `keys` for csv.writer, as `stream_csv` makes them from each row
        (`_csv_cell(row[key])`), a block of events at a time; None when the events are not a
        table or a key is not one of its scalar fields."""
        from kizuna.sda.records import EventTable

        if not isinstance(self._events, EventTable) or not set(keys) <= set(_SCALAR_FIELDS):
            return None
        return self._csv_blocks(self._events, keys)

    @staticmethod
    def _csv_blocks(table: Any, keys: Sequence[str]) -> Iterator[Iterable[Sequence[Any]]]:
        objects = _ObjectText(csv_cell)
        for block in table.blocks():
            cells = _scalar_cells(block, objects, csv_cell, _csv_numbers)
            yield zip(*(cells[k]() for k in keys), strict=True)


# The fields of ConjunctionEvent.as_dict, in its order: scalars, then lists of numbers.
_SCALAR_FIELDS = (
    "primary",
    "secondary",
    "primary_name",
    "secondary_name",
    "primary_object_id",
    "secondary_object_id",
    "tca_utc",
    "miss_km",
    "rel_speed_kms",
    "radial_km",
    "intrack_km",
    "crosstrack_km",
    "pc",
    "pc_method",
    "hbr_m",
    "hbr_source",
)
#: as_dict rounds these to 6 decimals (round(x, 6)); the states, pc and hbr_m are as computed
_ROUNDED_FIELDS = ("miss_km", "rel_speed_kms", "radial_km", "intrack_km", "crosstrack_km")
_VECTOR_FIELDS = ("primary_teme", "secondary_teme", "primary_itrf", "secondary_itrf")
#: a table holds no covariances: these are always empty lists
_EMPTY_FIELDS = ("primary_cov_rtn_km2", "secondary_cov_rtn_km2")


def _json_row(row: Mapping[str, Any]) -> str:
    return "    " + _dumps(dict(row)).replace("\n", "\n    ")


def _json_scalar(value: object) -> str:
    """`_dumps(value)` for one scalar; str and int directly, as json.dumps encodes them."""
    if type(value) is str:
        return encode_basestring_ascii(value)  # what json.dumps does with a str (ensure_ascii)
    if type(value) is int:
        return int.__repr__(value)
    return _dumps(value)


class _ObjectText:
    """NORAD id, name and OBJECT_ID of each object of a table, encoded once (on first use)."""

    def __init__(self, encode: Any) -> None:
        self._encode = encode
        self._done: dict[int, tuple[Any, Any, Any]] = {}

    def columns(self, block: Any, index: np.ndarray) -> tuple[list[Any], list[Any], list[Any]]:
        done, encode = self._done, self._encode
        for k in set(index.tolist()) - done.keys():
            done[k] = (encode(block.norad_ids[k]), encode(block.names[k]), encode(block.object_ids[k]))
        rows = [done[k] for k in index.tolist()]
        ids, names, oids = ([r[n] for r in rows] for n in range(3))
        return ids, names, oids


def _float_values(column: np.ndarray, *, rounded: bool) -> list[float] | None:
    """The column as as_dict holds it (Python floats; round(x, 6) for a rounded field), or None
    when it is not a float column (an object column with None, integers: the per-value path)."""
    if column.dtype.kind != "f" or column.dtype.itemsize > 8:
        return None
    values: list[float] = column.tolist()
    return [round(v, 6) for v in values] if rounded else values


def _json_numbers(column: np.ndarray, *, rounded: bool = False) -> list[str]:
    """Each value as json.dumps prints it after as_dict and finite_or_none: repr, NaN and
    infinities as null (round(x, 6) keeps a value finite or not, so the column's mask holds)."""
    values = _float_values(column, rounded=rounded)
    if values is None:
        return [_dumps(round(v, 6) if rounded else v) for v in column.tolist()]
    text = list(map(float.__repr__, values))
    for k in np.flatnonzero(~np.isfinite(column)).tolist():
        text[k] = "null"
    return text


def _csv_numbers(column: np.ndarray, *, rounded: bool = False) -> list[Any]:
    """Each value as stream_csv hands it to csv.writer: the float, "" for NaN, infinities, None."""
    values: list[Any] | None = _float_values(column, rounded=rounded)
    if values is None:
        return [csv_cell(round(v, 6) if rounded else v) for v in column.tolist()]
    for k in np.flatnonzero(~np.isfinite(column)).tolist():
        values[k] = ""
    return values


def _tca_text(tca_ns: np.ndarray) -> list[str]:
    """iso_utc of a whole block (as_dict calls it one event at a time)."""
    from kizuna.orbit.timescale import iso_utc

    if tca_ns.dtype.kind in "iu":
        return iso_utc(tca_ns.astype(np.int64).astype("datetime64[ns]"))
    return [iso_utc(np.array([np.datetime64(t, "ns")]))[0] for t in tca_ns.tolist()]


def _scalar_cells(block: Any, objects: _ObjectText, encode: Any, numbers: Any) -> dict[str, Any]:
    """For each scalar field of as_dict, a function making its cells for the block's rows:
    values by `encode` (as `_json_scalar` or `_csv_cell` would), float columns by `numbers`."""
    c = block.columns
    p, s = c["primary"], c["secondary"]
    ends: dict[str, dict[str, list[Any]]] = {}

    def of_object(end: str, field: str) -> Any:
        def cells() -> list[Any]:
            if end not in ends:  # NORAD ids, names and OBJECT_IDs of one end in one pass
                ids, names, oids = objects.columns(block, c[end])
                ends[end] = {"": ids, "_name": names, "_object_id": oids}
            return ends[end][field]

        return cells

    def floats(key: str, column: np.ndarray) -> Any:
        return lambda: numbers(column, rounded=key in _ROUNDED_FIELDS)

    def hbr_source() -> list[Any]:
        src = block.hbr_sources
        return [encode(f"{src[a]}+{src[b]}") for a, b in zip(p.tolist(), s.tolist(), strict=True)]

    rtn = c["rtn_km"]
    number_columns = {
        "miss_km": c["miss_km"],
        "rel_speed_kms": c["rel_speed_kms"],
        "radial_km": rtn[:, 0],
        "intrack_km": rtn[:, 1],
        "crosstrack_km": rtn[:, 2],
        "pc": c["pc"],
        "hbr_m": c["hbr_m"],
    }
    cells = {
        end + field: of_object(end, field)
        for end in ("primary", "secondary")
        for field in ("", "_name", "_object_id")
    }
    cells |= {key: floats(key, column) for key, column in number_columns.items()}
    cells["tca_utc"] = lambda: list(map(encode, _tca_text(c["tca_ns"])))
    cells["pc_method"] = lambda: [encode(block.pc_method)] * len(p)
    cells["hbr_source"] = hbr_source
    return cells


def _json_fields(block: Any, objects: _ObjectText) -> list[list[str]]:
    """The block's JSON texts, one list per placeholder of `_json_row_template`, in its order."""
    cells = _scalar_cells(block, objects, _json_scalar, _json_numbers)
    fields = [cells[k]() for k in _SCALAR_FIELDS]
    for key in _VECTOR_FIELDS:
        states = block.columns[key]
        fields += [_json_numbers(states[:, j]) for j in range(states.shape[1])]
    return fields


def _json_row_template(block: Any) -> str:
    """One event as `_json_row` lays out its as_dict (json.dumps indent 2, nested four spaces
    deep in the stream), a %s for each value; the state lists as wide as the table's columns."""
    lines = [f"      {json.dumps(k)}: %s" for k in _SCALAR_FIELDS]
    for key in _VECTOR_FIELDS:
        width = block.columns[key].shape[1]
        items = ",\n".join(["        %s"] * width)
        lines.append(f"      {json.dumps(key)}: " + (f"[\n{items}\n      ]" if width else "[]"))
    lines += [f"      {json.dumps(k)}: []" for k in _EMPTY_FIELDS]
    return "    {\n" + ",\n".join(lines) + "\n    }"


def _dumps(value: object) -> str:
    return json.dumps(finite_or_none(value), indent=2, default=json_default, allow_nan=False)


def stream_json(
    head: Mapping[str, Any],
    key: str,
    rows: Iterable[Mapping[str, Any]],
    tail: Mapping[str, Any],
    sink: TextIO | None = None,
) -> None:
    """Write {**head, key: rows, **tail} exactly as `print_json` would (indent 2, NaN as null),
    one row (or, for EventRows, one block of rows) at a time: the document is never held whole."""
    sink = sink or sys.stdout
    sink.write("{")
    first = True
    for k, v in head.items():
        sink.write(("\n" if first else ",\n") + f"  {json.dumps(k)}: " + _dumps(v).replace("\n", "\n  "))
        first = False
    sink.write(("\n" if first else ",\n") + f"  {json.dumps(key)}: [")
    blocks = rows.json_blocks() if isinstance(rows, EventRows) else map(_json_row, rows)
    n = 0
    for text in blocks:
        sink.write(("\n" if n == 0 else ",\n") + text)
        n += 1
    sink.write("\n  ]" if n else "]")
    for k, v in tail.items():
        sink.write(f",\n  {json.dumps(k)}: " + _dumps(v).replace("\n", "\n  "))
    sink.write("\n}\n")


def stream_csv(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Column], sink: TextIO | None = None
) -> None:
    """CSV as `emit_rows` writes it, one row (or, for EventRows of a table, one block) at a time."""
    writer = csv.writer(sink or sys.stdout, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    keys = [c.key for c in columns]
    blocks = rows.csv_blocks(keys) if isinstance(rows, EventRows) else None
    if blocks is not None:
        for cells in blocks:
            writer.writerows(cells)
        return
    for r in rows:
        writer.writerow([csv_cell(r.get(k)) for k in keys])


def _volume_text(v: dict[str, Any]) -> str:
    if v["shape"] == "sphere":
        return f"sphere {v['radial_km']:g} km"
    return f"{v['shape']} R,T,N {v['radial_km']:g},{v['intrack_km']:g},{v['crosstrack_km']:g} km"


def _write_cdms(events: Sequence[Any], fmt: str, out_dir: Path | None) -> None:
    from kizuna.formats.cdm import write_cdm_kvn, write_cdm_xml
    from kizuna.sda.assess import event_to_cdm

    writer, ext = (write_cdm_kvn, "cdm") if fmt == "cdm-kvn" else (write_cdm_xml, "xml")
    # one CDM at a time, written as it is made: the events may be a table of millions
    if out_dir is None:
        for e in events:
            print(writer(event_to_cdm(e)))
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for e in events:
        name = f"{e.primary}_{e.secondary}_{str(e.tca_utc)[:19].replace(':', '')}.{ext}"
        (out_dir / name).write_text(writer(event_to_cdm(e)), encoding="utf-8")
        written += 1
    note(f"wrote {written} CDMs to {out_dir}")


def _publish(events: Sequence[Any], db: str | None, partners: Any, keys: Any, marking: str) -> None:
    from kizuna.share.publishing import publish_payloads

    items = [("conjunction", e.as_dict(), (e.primary, e.secondary)) for e in events]
    try:
        published = publish_payloads(db or "kizuna.db", partners, keys, marking, items, actor="screen")
    except (KizunaError, OSError, ValueError) as exc:
        fail(exc)
    note(f"published {len(published)} conjunction products marked {marking}")


# ---------------------------------------------------------------- cdm
def _read(path: Path, option: str = "FILE"):  # noqa: ANN202 - kizuna.formats.cdm.Cdm
    from kizuna.formats.cdm import read_cdm

    text = read_text(path, option)
    try:
        return read_cdm(text, str(path)), text
    except KizunaError as exc:
        fail(exc)


FieldFormat = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
FIELD_COLUMNS = (Column("field", "field"), Column("value", "value"))


@cdm_app.command("show")
def cdm_show(file: Path, fmt: FieldFormat = "table") -> None:
    """Print a CDM's fields (KVN or XML)."""
    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    cdm, _ = _read(file)
    if fmt == "json":
        print_json(
            {"header": cdm.header, "relative": cdm.relative, "objects": [o.fields for o in cdm.objects]}
        )
    else:
        items = list(cdm.header.items()) + list(cdm.relative.items())
        for i, o in enumerate(cdm.objects, start=1):
            keys = ("OBJECT", "OBJECT_DESIGNATOR", "OBJECT_NAME", "REF_FRAME", "COVARIANCE_METHOD")
            items += [((k if fmt == "table" else f"OBJECT{i}.{k}"), o.fields.get(k, "")) for k in keys]
        if fmt == "table":
            out.print(key_value_table(f"CDM {cdm.message_id}", items))
        else:
            emit_rows([{"field": k, "value": v} for k, v in items], FIELD_COLUMNS, fmt, title="")
    for w in cdm.warnings:
        warn(w)


@cdm_app.command("assess")
def cdm_assess(
    file: Path,
    hbr_m: Annotated[
        float | None, typer.Option("--hbr-m", help="hard-body radius [m] instead of the CDM's")
    ] = None,
    db: DbOption = None,
    store_it: Annotated[
        bool, typer.Option("--store/--no-store", help="keep the CDM in the node's database")
    ] = True,
    fmt: FieldFormat = "table",
) -> None:
    """Recompute Pc (Foster, Chan cross-check) from a received CDM and store it."""
    from kizuna.sda.assess import assess_cdm

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    if hbr_m is not None:
        positive(hbr_m, "--hbr-m", maximum=1000.0, unit="m")
    cdm, text = _read(file)
    # open the store before the work, so a bad --db is one line and nothing is half-done
    store = open_store(db) if store_it else None
    try:
        a = assess_cdm(cdm, hbr_m)
    except (ValueError, KizunaError) as exc:
        fail(f"{file}: {exc}")
    if store is not None:
        from kizuna.store.cdm_store import CdmStore

        CdmStore(store).add(cdm, text, str(file))
    d = a.as_dict()
    if fmt == "json":
        print_json(d)
    elif fmt == "csv":
        emit_rows([{"field": k, "value": v} for k, v in d.items()], FIELD_COLUMNS, fmt, title="")
    else:
        items = [
            (k, f"{v:.6e}" if isinstance(v, float) and k.startswith(("pc", "originator_pc")) else v)
            for k, v in d.items()
        ]
        out.print(key_value_table(f"assessment of {a.message_id}", items))


def register(app: typer.Typer) -> None:
    app.command("screen")(screen_cmd)
    app.add_typer(cdm_app, name="cdm")
