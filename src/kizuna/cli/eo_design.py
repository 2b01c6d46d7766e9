"""`kizuna eo design ...`: constellations composed from parts, and the search for designs that meet a
revisit target (wiring only; the work is in kizuna.eo.design)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    check_number,
    count,
    emit_rows,
    fail,
    grid_steps,
    iso,
    key_value_table,
    note,
    open_store,
    out,
    output_format,
    parse_time,
    positive,
    progress,
    read_text,
    supported_window,
    window,
)
from kizuna.cli.eo import (
    MAX_ACCESS_STEP_S,
    MAX_DWELL_S,
    MAX_PLAN_HOURS,
    MAX_SPACING_KM,
    MIN_ACCESS_STEP_S,
    MIN_SPACING_KM,
    AoiOption,
    MergeGapOption,
    MinDwellOption,
    PointOption,
    SensorOption,
    SpacingOption,
    StepOption,
    parse_point,
)
from kizuna.eo.revisit import DEFAULT_MERGE_GAP_S
from kizuna.errors import KizunaError

design_app = typer.Typer(
    help="Constellations composed from parts, and the search for designs that meet a revisit target.",
    no_args_is_help=True,
)

#: the stored name and design columns' width (store.schema.eo_constellation)
MAX_NAME_CHARS = 120
#: the largest satellite budget a search takes: beyond it one evaluation is minutes, not a second
MAX_SEARCH_SATELLITES = 2000
#: evaluations a search may run unless told otherwise (about a second each at 1,000 points x 7 days)
DEFAULT_MAX_EVALUATIONS = 500
MAX_EVALUATIONS = 100_000
SEARCH_FORMATS = TABLE_FORMATS


def parse_part(text: str) -> Any:
    """`SPEC[@EPOCH]`: a catalog name prefix, walker:... or sso:..., with an optional ISO-8601 epoch."""
    from kizuna.eo.constellation import is_design, parse_design
    from kizuna.eo.design import DesignPart

    spec, at, epoch_text = text.strip().rpartition("@")
    spec = spec.strip() if at else text.strip()
    epoch = parse_time(epoch_text, f"--part {text!r}") if at else None
    if not spec:
        fail(
            f"--part {text!r}: empty part; give a catalog name prefix, walker:T/P/F:ALT:INC or sso:N:ALT:LTAN"
        )
    if is_design(spec):
        try:  # a design that cannot be built is refused now, not at the first analysis
            parse_design(spec, epoch or datetime(2026, 1, 1, tzinfo=UTC))
        except (KizunaError, ValueError) as exc:
            fail(f"--part {text!r}: {exc}")
    return DesignPart(spec, epoch)


def compose_with_catalog(name: str, parts: Any, store: Any, start_utc: datetime) -> Any:
    """`kizuna.eo.design.compose` with the catalog of `store`: real satellites by name prefix, and
    designed satellites numbered clear of every catalog id."""
    from kizuna.eo.design import ALPHA5_MAX_NORAD, DESIGN_NORAD_FLOOR, compose
    from kizuna.store.eo_store import ConstellationStore

    return compose(
        name,
        parts,
        start_utc,
        catalog=lambda prefix: [e.latest for e in store.search(name=prefix) if e.latest is not None],
        catalog_ids=ConstellationStore(store).catalog_norad_ids(DESIGN_NORAD_FLOOR, ALPHA5_MAX_NORAD),
    )


def build_stored(stored: Any, store: Any, start_utc: datetime) -> Any:
    """A stored composed design for an analysis starting at `start_utc` (what --constellation NAME
    runs): rebuilt from its parts, each at its own epoch or at the start."""
    from kizuna.eo.design import parts_from_dicts

    return compose_with_catalog(stored.name, parts_from_dicts(stored.notes["parts"]), store, start_utc)


def _today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _name(name: str) -> str:
    if not name.strip():
        fail("NAME: give a name for the design")
    if len(name) > MAX_NAME_CHARS:
        fail(f"NAME: at most {MAX_NAME_CHARS} characters")
    return name


@design_app.command("add")
def add(
    name: str,
    part: Annotated[
        list[str],
        typer.Option(
            "--part",
            help="a part (repeatable): a catalog name prefix (e.g. QPS-SAR), walker:T/P/F:ALT_KM:INC_DEG"
            "[:star] or sso:COUNT:ALT_KM:LTAN_H, each with an optional @EPOCH (ISO-8601; default: the "
            "start of each analysis)",
        ),
    ],
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Store a design composed of parts under NAME, for --constellation NAME in eo access/revisit/plan."""
    from dataclasses import replace

    from kizuna.eo.design import MAX_PARTS
    from kizuna.store.eo_store import ConstellationStore

    _name(name)
    if len(part) > MAX_PARTS:
        fail(f"--part: {len(part)} parts, at most {MAX_PARTS}")
    parts = [parse_part(p) for p in part]
    store = open_store(db)
    cstore = ConstellationStore(store)
    if not force and cstore.load(name) is not None:
        fail(f"NAME {name!r}: a constellation of that name is stored; use --force to replace it")
    try:
        # The members stored beside the parts are the design at today's 00:00 UTC, for readers of
        # the table; analyses rebuild it from the parts.
        c = compose_with_catalog(name, parts, store, _today())
        if c.design is not None and len(c.design) > MAX_NAME_CHARS:
            c = replace(c, design=c.design[: MAX_NAME_CHARS - 3] + "...")
        cstore.save(c)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    out.print(f"saved {name}: {len(c)} satellites in {len(parts)} parts", highlight=False)


LIST_COLUMNS = (
    Column("name", "name"),
    Column("source", "source"),
    Column("satellites", "satellites", justify="right"),
    Column("design", "design"),
)


@design_app.command("list")
def list_designs(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    db: DbOption = None,
) -> None:
    """Every stored constellation: composed designs, designs and catalog selections."""
    from kizuna.store.eo_store import ConstellationStore

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    rows = [
        {"name": n, "source": s, "satellites": size, "design": d or ""}
        for n, s, d, size in ConstellationStore(open_store(db, must_exist=True)).sizes()
    ]
    emit_rows(rows, LIST_COLUMNS, fmt, title="stored constellations", key="constellations")


PART_COLUMNS = (
    Column("part", "part", justify="right"),
    Column("spec", "spec"),
    Column("epoch", "epoch_utc"),
    Column("satellites", "satellites", justify="right"),
    Column("NORAD ids", "norad_ids"),
)


@design_app.command("show")
def show(
    name: str,
    start: Annotated[
        str | None,
        typer.Option(help="analysis start the parts without an epoch take (ISO-8601); default today 00:00Z"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    db: DbOption = None,
) -> None:
    """The parts of a stored design and the satellites and NORAD ids each contributes."""
    from kizuna.eo.design import COMPOSED
    from kizuna.store.eo_store import ConstellationStore

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    t0 = parse_time(start, "--start") if start is not None else _today()
    store = open_store(db, must_exist=True)
    stored = ConstellationStore(store).load(name)
    if stored is None:
        fail(f"NAME {name!r}: no stored constellation of that name (see eo design list)")
    try:
        if stored.source == COMPOSED:
            c = build_stored(stored, store, t0)
        else:
            from kizuna.cli.eo import resolve_constellation

            c = resolve_constellation(name, db, t0)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    if stored.source != COMPOSED:  # a design or catalog selection saved by eo save: one part
        from kizuna.eo.constellation import DESIGN_AT_START

        spec = stored.design or "catalog selection"
        epoch = None if stored.source == DESIGN_AT_START else iso(c.element_sets[0].epoch_utc)
        if stored.design is None:
            epoch = "stored catalog elements"
        parts: list[dict[str, Any]] = [{"spec": spec, "epoch_utc": epoch, "members": list(c.element_sets)}]
    else:
        ranges = {r["part"]: r["norad_ids"] for r in c.notes["designed_norad_ids"]}
        designed = {i for runs in ranges.values() for a, b in runs for i in range(a, b + 1)}
        parts = []
        for k, p in enumerate(c.notes["parts"], 1):
            if k in ranges:
                members = [es for es in c.element_sets if (es.object_name or "").startswith(f"{k}:")]
            else:  # a catalog part: the real satellites its prefix names
                prefix = str(p["spec"]).upper()
                members = [
                    es
                    for es in c.element_sets
                    if es.norad_id not in designed and (es.object_name or "").upper().startswith(prefix)
                ]
            parts.append({**p, "members": members})
    rows = [
        {
            "part": k,
            "spec": p["spec"],
            "epoch_utc": p["epoch_utc"] or f"analysis start ({iso(t0)})",
            "satellites": len(p["members"]),
            "norad_ids": ", ".join(
                f"{a}-{b}" if a != b else str(a) for a, b in _runs(sorted(es.norad_id for es in p["members"]))
            ),
        }
        for k, p in enumerate(parts, 1)
    ]
    if fmt == "table":
        out.print(
            key_value_table(
                name,
                [("source", stored.source), ("satellites", len(c)), ("design", stored.design or "")],
            )
        )
    emit_rows(
        rows,
        PART_COLUMNS,
        fmt,
        title=f"{name}: parts",
        parameters={"name": name, "source": stored.source, "satellites": len(c), "start_utc": iso(t0)},
        key="parts",
    )


def _runs(ids: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


@design_app.command("delete")
def delete(name: str, db: DbOption = None) -> None:
    """Remove a stored constellation."""
    from kizuna.store.eo_store import ConstellationStore

    if not ConstellationStore(open_store(db, must_exist=True)).delete(name):
        fail(f"NAME {name!r}: no stored constellation of that name (see eo design list)")
    out.print(f"deleted {name}", highlight=False)


# ---------------------------------------------------------------- search
def _numbers(text: str, option: str, *, lo: float, hi: float, integer: bool = False) -> list[float]:
    values = []
    for item in text.split(","):
        try:
            v = float(item)
        except ValueError:
            fail(f"{option} {text!r}: {item.strip()!r} is not a number")
        if not math.isfinite(v) or not lo <= v <= hi or (integer and v != int(v)):
            kind = "whole numbers" if integer else "numbers"
            fail(f"{option} {text!r}: {item.strip()} outside {lo:g}..{hi:g} ({kind})")
        values.append(v)
    return sorted(set(values))


def _inclinations(text: str) -> tuple[float | None, ...]:
    incs: list[float | None] = []
    for item in text.split(","):
        if item.strip().lower() == "sso":
            incs.append(None)
        else:
            incs.extend(_numbers(item, "--inclinations", lo=0.0, hi=180.0))
    return tuple(dict.fromkeys(incs))


SEARCH_COLUMNS = (
    Column("satellites", "satellites", justify="right"),
    Column("max gap min", "max_gap_min", lambda v: f"{v:.1f}", "right"),
    Column("mean response min", "mean_response_time_min", lambda v: f"{v:.1f}", "right"),
    Column("revisits/day", "revisits_per_day", lambda v: f"{v:.2f}", "right"),
    Column("unseen", "unseen_points", justify="right"),
    Column("meets target", "meets_target", lambda v: "yes" if v else "no"),
    Column("design", "design"),
)


@design_app.command("search")
def search(
    max_sats: Annotated[int, typer.Option("--max-sats", help="satellite budget, 1 to 2000")],
    target_max_gap_min: Annotated[
        float, typer.Option("--target-max-gap-min", help="the revisit target: maximum gap [min], > 0")
    ],
    start: Annotated[str, typer.Option(help="ISO-8601 start; offsets and Z accepted, naive is UTC")],
    aoi: AoiOption = None,
    point: PointOption = None,
    hours: Annotated[float, typer.Option(help=f"analysis period [h], (0, {MAX_PLAN_HOURS:g}]")] = 24.0,
    sensor: SensorOption = "sar:15-45:both",
    spacing_km: SpacingOption = 10.0,
    step_s: StepOption = 60.0,
    min_dwell_s: MinDwellOption = 0.0,
    merge_gap_s: MergeGapOption = DEFAULT_MERGE_GAP_S,
    altitudes_km: Annotated[
        str, typer.Option("--altitudes-km", help="shell altitudes [km], comma-separated, 150 to 40000")
    ] = "575",
    inclinations: Annotated[
        str,
        typer.Option(help="Walker inclinations [deg] and/or sso (sun-synchronous planes), comma-separated"),
    ] = "42,53,60,sso",
    planes: Annotated[str, typer.Option(help="plane counts tried, comma-separated, 1 to 100")] = "1,2,3,4,6",
    sats_per_plane: Annotated[
        str, typer.Option("--sats-per-plane", help="satellites per plane tried, comma-separated, 1 to 1000")
    ] = "1,2,3,4,6,8",
    sso_ltan_h: Annotated[
        float,
        typer.Option(
            "--sso-ltan-h", help="local time of ascending node of the first sun-synchronous plane [h], 0-24"
        ),
    ] = 10.5,
    mixes: Annotated[
        bool, typer.Option(help="also try each Walker shell plus one sun-synchronous plane")
    ] = True,
    max_evaluations: Annotated[
        int,
        typer.Option(
            "--max-evaluations", help=f"refuse a search of more designs than this, 1 to {MAX_EVALUATIONS}"
        ),
    ] = DEFAULT_MAX_EVALUATIONS,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """The Pareto front of satellites vs maximum gap vs mean response time over Walker shells, sun-
    synchronous planes and their mixes, with the design meeting the target at the fewest satellites."""
    import time

    from kizuna.eo import AreaOfInterest, RevisitDefinition, parse_geojson, parse_sensor, sample_points
    from kizuna.eo.design import SearchSpace, cheapest_meeting
    from kizuna.eo.design import search as run_search

    fmt = output_format(fmt, "--format", SEARCH_FORMATS)
    count(max_sats, "--max-sats", maximum=MAX_SEARCH_SATELLITES)
    positive(target_max_gap_min, "--target-max-gap-min", maximum=MAX_PLAN_HOURS * 60.0, unit="min")
    positive(hours, "--hours", maximum=MAX_PLAN_HOURS, unit="h")
    t0, t1 = window(parse_time(start, "--start"), stop=parse_time(start, "--start") + timedelta(hours=hours))
    supported_window(t0, t1, "--start/--hours")
    check_number(spacing_km, "--spacing-km", minimum=MIN_SPACING_KM, maximum=MAX_SPACING_KM, unit="km")
    check_number(step_s, "--step-s", minimum=MIN_ACCESS_STEP_S, maximum=MAX_ACCESS_STEP_S, unit="s")
    grid_steps((t1 - t0).total_seconds(), step_s)
    check_number(min_dwell_s, "--min-dwell-s", minimum=0.0, maximum=MAX_DWELL_S, unit="s")
    check_number(merge_gap_s, "--merge-gap-s", minimum=0.0, maximum=MAX_DWELL_S, unit="s")
    check_number(sso_ltan_h, "--sso-ltan-h", minimum=0.0, maximum=24.0, unit="h")
    count(max_evaluations, "--max-evaluations", maximum=MAX_EVALUATIONS)
    space = SearchSpace(
        max_satellites=max_sats,
        altitudes_km=tuple(_numbers(altitudes_km, "--altitudes-km", lo=150.0, hi=40000.0)),
        inclinations_deg=_inclinations(inclinations),
        planes=tuple(int(v) for v in _numbers(planes, "--planes", lo=1, hi=100, integer=True)),
        sats_per_plane=tuple(
            int(v) for v in _numbers(sats_per_plane, "--sats-per-plane", lo=1, hi=1000, integer=True)
        ),
        sso_ltan_h=sso_ltan_h,
        mixes=mixes,
    )
    try:
        sens = parse_sensor(sensor)
    except ValueError as exc:
        fail(f"--sensor {sensor!r}: {exc}")
    parsed = [parse_point(p) for p in point or []]
    if aoi is None and not parsed:
        fail("--aoi/--point: give a GeoJSON file with --aoi, or ground points with --point LAT,LON[,NAME]")
    text = read_text(aoi, "--aoi") if aoi is not None else None
    try:
        candidates = space.candidates()
    except (KizunaError, ValueError) as exc:
        fail(f"--altitudes-km/--inclinations: {exc}")
    if not candidates:
        fail(f"--max-sats {max_sats}: no design of --planes x --sats-per-plane fits the budget")
    if len(candidates) > max_evaluations:
        fail(
            f"--max-evaluations {max_evaluations}: the search space holds {len(candidates)} designs; "
            "narrow --altitudes-km/--inclinations/--planes/--sats-per-plane or raise the cap"
        )
    definition = RevisitDefinition(merge_gap_s=merge_gap_s, min_dwell_s=min_dwell_s)
    try:
        areas = parse_geojson(text, str(aoi)) if text is not None else []
        taken = {a.name for a in areas}
        for lat, lon, pname in parsed:
            if pname in taken:
                fail(f"--point {pname!r}: the name is already used by another --point or an --aoi feature")
            taken.add(pname)
            areas.append(AreaOfInterest(pname, "point", ((lon, lat),), {}))
        targets = sample_points(areas, spacing_km)
        tic = time.perf_counter()
        with progress() as bar:
            task = bar.add_task(f"{len(candidates)} designs x {len(targets)} points", total=len(candidates))
            points, front = run_search(
                space,
                targets,
                t0,
                t1,
                sens,
                definition,
                step_s=step_s,
                progress=lambda d, n: bar.update(task, completed=d, total=n),
            )
        elapsed_s = time.perf_counter() - tic
    except (KizunaError, ValueError) as exc:
        fail(exc)
    target_s = 60.0 * target_max_gap_min
    best = cheapest_meeting(front, target_s)
    parameters = {
        "start_utc": iso(t0),
        "stop_utc": iso(t1),
        "hours": hours,
        "days": hours / 24.0,
        "sensor": sens.describe(),
        "step_s": step_s,
        "spacing_km": spacing_km,
        "points": len(targets),
        "min_dwell_s": min_dwell_s,
        "merge_gap_s": merge_gap_s,
        "max_sats": max_sats,
        "target_max_gap_min": target_max_gap_min,
        "altitudes_km": list(space.altitudes_km),
        "inclinations": [("sso" if i is None else i) for i in space.inclinations_deg],
        "planes": list(space.planes),
        "sats_per_plane": list(space.sats_per_plane),
        "sso_ltan_h": sso_ltan_h,
        "mixes": mixes,
        "evaluations": len(points),
        "elapsed_s": round(elapsed_s, 3),
    }
    rows = [
        {
            "satellites": p.satellites,
            "max_gap_min": p.max_gap_s / 60.0,
            "mean_response_time_min": p.mean_response_time_s / 60.0,
            "max_gap_s": p.max_gap_s,
            "mean_response_time_s": p.mean_response_time_s,
            "revisits_per_day": p.revisits_per_day,
            "coverage_area_pct": p.coverage_area_pct,
            "unseen_points": p.unseen_points,
            "meets_target": p.max_gap_s <= target_s,
            "design": p.design,
            "parts": [q.text() for q in p.parts],
        }
        for p in front
    ]
    best_text = best.design if best is not None else None
    title = (
        f"Pareto front: {len(front)} of {len(points)} designs, {iso(t0)} + {hours:g} h, {sens.describe()}; "
        + (
            f"fewest satellites meeting {target_max_gap_min:g} min: {best_text} ({best.satellites})"
            if best is not None
            else f"no design within {max_sats} satellites meets {target_max_gap_min:g} min"
        )
    )
    emit_rows(
        rows,
        SEARCH_COLUMNS,
        fmt,
        title=title,
        parameters=parameters,
        key="pareto_front",
        extra={
            "fewest_satellites_meeting_target": best_text,
            "definition": definition.describe(with_freshness=False),
        },
    )
    note(f"{len(points)} designs evaluated in {elapsed_s:.1f} s ({len(points) / max(elapsed_s, 1e-9):.1f}/s)")
