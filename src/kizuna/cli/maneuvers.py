"""`kizuna maneuvers ...` and `kizuna proximity ...` (wiring only; analysis in kizuna.sda).

Options are checked before any history is read or propagated; ids that the store does not hold are
named in a warning and the command exits 2 without output, so a typo never reads as "no maneuvers".
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    check_choice,
    check_number,
    emit_rows,
    fail,
    iso,
    missing_ids,
    note,
    open_store,
    optional_time,
    optional_window,
    output_file,
    parse_ids,
    parse_time,
    positive,
    print_json,
    progress,
    read_text,
    text_file,
    warn,
    window,
)
from kizuna.errors import KizunaError

maneuvers_app = typer.Typer(help="Maneuver detection from element-set history.", no_args_is_help=True)
proximity_app = typer.Typer(help="Proximity (RPO) watch around protected assets.", no_args_is_help=True)

FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]

MAX_DV_MPS = 10_000.0  # more than any orbit change; a larger floor would hide every maneuver
MAX_WATCH_DAYS = 366.0  # SGP4 from one element set is meaningless long before this
MAX_WATCH_STEP_S = 86_400.0
MAX_WATCH_STEPS = 1_000_000  # time steps per watch: bounds memory (objects x steps x states)
MAX_RANGE_KM = 100_000.0  # wider than the GEO belt's diameter


def register(app: typer.Typer) -> None:
    app.add_typer(maneuvers_app, name="maneuvers")
    app.add_typer(proximity_app, name="proximity")


def _read_sets(path: Path, option: str) -> list[Any]:
    from kizuna.formats.detect import read_path
    from kizuna.model.records import ElementSet

    text_file(path, option)
    try:
        result = read_path(path)
    except (KizunaError, ValueError) as exc:
        fail(f"{option} {path}: {exc}")
    for issue in result.issues[:20]:
        warn(f"skipped: {issue}")
    if len(result.issues) > 20:
        warn(f"{len(result.issues) - 20} more problems in {path}")
    sets = [r for r in result.records if isinstance(r, ElementSet)]
    if not sets:
        fail(f"{option} {path}: no element sets in the file")
    return sets


def _histories(
    ids: list[int], file: Path | None, start: datetime | None, stop: datetime | None, db: str | None
) -> dict[int, list[Any]]:
    hist: dict[int, list[Any]] = defaultdict(list)
    if file is not None:
        for es in _read_sets(file, "--file"):
            if (start is None or es.epoch_utc >= start) and (stop is None or es.epoch_utc <= stop):
                hist[es.norad_id].append(es)
    else:
        store = open_store(db, must_exist=True)
        absent = []
        for n in ids:
            sets = store.history(n, start, stop)
            if not sets:
                warn(f"no element sets stored for NORAD {n}")
                absent.append(n)
            hist[n] = sets
        if absent:
            fail(f"--norad: {len(absent)} of {len(ids)} objects have no stored history in the window")
    return {k: v for k, v in hist.items() if v}


def _plot_paths(plot: Path | None, norads: list[int], force: bool) -> dict[int, Path]:
    """One PNG per object (NORAD id appended when several), each checked before any detection runs."""
    if plot is None:
        return {}
    paths = {n: plot if len(norads) == 1 else plot.with_name(f"{plot.stem}_{n}{plot.suffix}") for n in norads}
    for p in paths.values():
        output_file(p, "--plot", force=force)
    return paths


MANEUVER_COLUMNS = (
    Column("NORAD", "norad"),
    Column("best time (UTC)", "t_utc", lambda v: str(v)[:19]),
    Column("window start", "window_start_utc", lambda v: str(v)[:16]),
    Column("window end", "window_end_utc", lambda v: str(v)[:16]),
    Column("dv m/s", "dv_mps", lambda v: f"{v:.3f}", "right"),
    Column("direction", "direction"),
    Column("kind", "kind"),
    Column("conf.", "confidence", lambda v: f"{v:.2f}", "right"),
)


@maneuvers_app.command("detect")
def maneuvers_detect(
    norad: Annotated[list[str] | None, typer.Option(help="objects whose stored history to scan")] = None,
    file: Annotated[Path | None, typer.Option(help="element-set history (TLE/3LE/OMM), any objects")] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601: first epoch to use")] = None,
    stop: Annotated[str | None, typer.Option(help="ISO-8601: last epoch to use")] = None,
    min_dv: Annotated[
        float, typer.Option("--min-dv", help="report only maneuvers of at least this many m/s")
    ] = 0.0,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="PNG: element series with maneuvers (one per object; NORAD id appended when several)"
        ),
    ] = None,
    fmt: FormatOption = "table",
    db: DbOption = None,
    force: ForceOption = False,
) -> None:
    """Maneuvers (time window, best time, delta-v, direction, kind) in each object's history."""
    from kizuna.sda import maneuvers as M

    check_choice(fmt, "--format", TABLE_FORMATS)
    ids = parse_ids(norad, "--norad")
    if bool(ids) == (file is not None):
        fail("give --norad ids or --file, not both")
    t0, t1 = optional_window(optional_time(start, "--start"), optional_time(stop, "--stop"))
    check_number(min_dv, "--min-dv", minimum=0.0, maximum=MAX_DV_MPS, unit="m/s")
    if plot is not None:
        output_file(plot, "--plot", force=force)  # the directory, before any history is read
    hist = _histories(ids, file, t0, t1, db)
    if not hist:
        fail("no element sets to scan" + (" in the --start/--stop window" if t0 or t1 else ""))
    plots = _plot_paths(plot, sorted(hist), force)
    rows: list[dict[str, object]] = []
    with progress() as bar:
        task = bar.add_task("detecting maneuvers", total=len(hist))
        for n, sets in sorted(hist.items()):
            s = M.element_series(sets)
            cfg = dataclasses.replace(M.config_for_regime(s.regime), min_dv_mps=min_dv)
            det = M.detect(sets, cfg)
            # as_row rounds for products; the command's output keeps full precision
            rows.extend(
                {**m.as_row(), "dv_mps": float(m.dv_mps), "confidence": float(m.confidence)}
                for m in det.maneuvers
            )
            if n in plots:
                from kizuna.plots.maneuvers import plot_detection

                plot_detection(det, plots[n])
                note(f"wrote {plots[n]}")
            bar.advance(task)
    parameters = {
        "source": str(file) if file is not None else "store",
        "norad": sorted(hist),
        "start_utc": iso(t0) if t0 else None,
        "stop_utc": iso(t1) if t1 else None,
        "min_dv_mps": min_dv,
        "histories": len(hist),
        "element_sets": sum(len(v) for v in hist.values()),
    }
    emit_rows(
        rows,
        MANEUVER_COLUMNS,
        fmt,
        title=f"{len(rows)} maneuvers in {len(hist)} histories",
        parameters=parameters,
        key="maneuvers",
    )


EVAL_COLUMNS = (
    Column("method", "method"),
    Column("TP", "true_positives", str, "right"),
    Column("FP", "false_positives", str, "right"),
    Column("FN", "false_negatives", str, "right"),
    Column("precision", "precision", lambda v: f"{v:.3f}", "right"),
    Column("recall", "recall", lambda v: f"{v:.3f}", "right"),
    Column("F1", "f1", lambda v: f"{v:.3f}", "right"),
)


@maneuvers_app.command("evaluate")
def maneuvers_evaluate(
    file: Annotated[Path, typer.Option(help="element-set history of one object")],
    truth: Annotated[Path, typer.Option(help="operator maneuver log: IDS/DORIS *man.txt or Fengyun *.fy")],
    tolerance_days: Annotated[
        float, typer.Option(help="matching tolerance |t_detected - t_logged|, in (0, 1.5]")
    ] = 1.5,
    plot: Annotated[Path | None, typer.Option(help="PNG with detections and logged maneuvers")] = None,
    fmt: FormatOption = "table",
    force: ForceOption = False,
) -> None:
    """Precision, recall and F1 against an operator log, next to the plain a-jump baseline.

    Logged maneuvers that fall between the same two element sets count as one (no history can separate
    them); attitude-control entries are not maneuvers.
    """
    from kizuna.formats.maneuver_logs import read_maneuver_log
    from kizuna.sda import maneuvers as M

    check_choice(fmt, "--format", TABLE_FORMATS)
    positive(tolerance_days, "--tolerance-days", maximum=1.5, unit="days")
    output_file(plot, "--plot", force=force)
    sets = _read_sets(file, "--file")
    ids = {s.norad_id for s in sets}
    if len(ids) != 1:
        fail(f"--file {file}: expected the history of one object, found {len(ids)}")
    log = read_maneuver_log(read_text(truth, "--truth"), str(truth))
    for issue in log.issues[:20]:
        warn(f"skipped: {issue}")
    truth_t = [r.start_utc for r in log.records if r.orbital]
    if not truth_t:
        fail(f"--truth {truth}: no orbital maneuvers in the log")
    det = M.detect(sets)
    te = M.truth_events(truth_t, det.series.times_utc)
    ours = M.match_events([m.t_utc for m in det.maneuvers], te, tolerance_days)
    base = M.match_events(M.detect_baseline(sets), te, tolerance_days)
    if plot is not None:
        from kizuna.plots.maneuvers import plot_detection

        plot_detection(det, plot, truth_utc=list(te))
        note(f"wrote {plot}")
    result: dict[str, Any] = {
        "norad": next(iter(ids)),
        "regime": det.series.regime,
        "element_sets": len(det.series.a_km),
        "logged_events": len(te),
        "tolerance_days": tolerance_days,
        "detector": ours.as_dict(),
        "baseline_a_jump": base.as_dict(),
    }
    parameters = {"file": str(file), "truth": str(truth), "tolerance_days": tolerance_days}
    if fmt == "json":
        print_json({"parameters": parameters, **result})
        return
    emit_rows(
        [
            {
                "method": name,
                "true_positives": ev.true_positives,
                "false_positives": ev.false_positives,
                "false_negatives": ev.false_negatives,
                "precision": ev.precision,
                "recall": ev.recall,
                "f1": ev.f1,
            }
            for name, ev in (("detector", ours), ("baseline (a jumps)", base))
        ],
        EVAL_COLUMNS,
        fmt,
        title=f"NORAD {result['norad']} ({result['regime']}): {len(te)} logged maneuvers, "
        f"match within {tolerance_days:g} days",
        parameters=parameters,
    )


def _assets(spec: list[str], store: Any) -> list[Any]:
    """NORAD ids, owner:CODE, or a file of element sets; anything that names nothing is refused."""
    sets = []
    ids: list[int] = []
    for item in spec:
        if item.lower().startswith("owner:"):
            owned = [e.latest for e in store.search(owner=item[6:]) if e.latest is not None]
            if not owned:
                warn(f"no objects with element sets for SATCAT owner {item[6:]!r}")
                fail(f"--assets {item}: names no object in the catalog")
            sets.extend(owned)
        elif Path(item).exists():
            sets.extend(_read_sets(Path(item), "--assets"))
        else:
            ids.extend(parse_ids([item], "--assets"))
    if ids:
        found = store.latest_element_sets(ids)
        absent = missing_ids(ids, {s.norad_id for s in found})
        if absent:
            fail(f"--assets: {len(absent)} of {len(set(ids))} NORAD ids are not in the catalog")
        sets.extend(found)
    return sets


PROXIMITY_COLUMNS = (
    Column("asset", "asset"),
    Column("object", "object"),
    Column("name", "name"),
    Column("patterns", "patterns"),
    Column("min range km", "min_range_km", lambda v: f"{v:.2f}", "right"),
    Column("TCA (UTC)", "tca_utc", lambda v: str(v)[:19]),
    Column("rel speed km/s", "rel_speed_at_tca_kms", lambda v: f"{v:.3f}", "right"),
    Column("hours within", "hours_within", lambda v: f"{v:.1f}", "right"),
    Column("entries", "entries", str, "right"),
)


@proximity_app.command("watch")
def proximity_watch(
    assets: Annotated[list[str], typer.Option(help="NORAD ids, owner:CODE (SATCAT owner) or a file")],
    start: Annotated[str, typer.Option(help="ISO-8601 start (offsets accepted; naive is UTC)")],
    days: Annotated[
        float, typer.Option(help=f"length of the watch [days], at most {MAX_WATCH_DAYS:g}")
    ] = 1.0,
    range_km: Annotated[float, typer.Option("--range-km", help="alert radius [km]")] = 25.0,
    step_s: Annotated[float, typer.Option("--step-s", help="propagation step [s]")] = 60.0,
    maneuver_history: Annotated[
        bool, typer.Option(help="detect maneuvers of alerting objects from their stored history")
    ] = True,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Every catalog object within --range-km of an asset, with its pattern and evidence."""
    from kizuna.sda import maneuvers as M
    from kizuna.sda.proximity import ProximityConfig, watch

    check_choice(fmt, "--format", TABLE_FORMATS)
    t0 = parse_time(start, "--start")
    check_number(days, "--days", minimum=0.0, exclusive_minimum=True, maximum=MAX_WATCH_DAYS, unit="days")
    window(t0, days=days)
    positive(range_km, "--range-km", maximum=MAX_RANGE_KM, unit="km")
    positive(step_s, "--step-s", maximum=MAX_WATCH_STEP_S, unit="s")
    if days * 86_400.0 / step_s > MAX_WATCH_STEPS:
        fail(
            f"--step-s {step_s:g}: {days:g} days at this step is {days * 86_400.0 / step_s:.3g} steps, "
            f"more than {MAX_WATCH_STEPS:,}; use a larger step or a shorter watch"
        )
    store = open_store(db, must_exist=True)
    asset_sets = _assets(assets, store)
    if not asset_sets:
        fail("--assets: no assets with element sets")
    catalog = store.latest_element_sets(as_of=t0 + timedelta(days=days))
    cfg = ProximityConfig(step_s=step_s)
    with progress() as bar:
        task = bar.add_task(f"watching {len(asset_sets)} assets", total=len(catalog))
        alerts = watch(
            asset_sets, catalog, t0, days, range_km, config=cfg, progress=lambda n: bar.advance(task, n)
        )
    if maneuver_history and alerts:
        found: dict[int, list[Any]] = {}
        lookback = timedelta(days=cfg.maneuver_lookback_days)
        for oid in {a.object_norad for a in alerts}:
            hist = store.history(oid, t0 - lookback - timedelta(days=30), t0 + timedelta(days=days))
            if len(hist) >= 8:
                found[oid] = M.detect(hist).maneuvers
        if any(found.values()):
            ids = {k for k, v in found.items() if v}
            again = watch(
                asset_sets,
                [s for s in catalog if s.norad_id in ids],
                t0,
                days,
                range_km,
                config=cfg,
                maneuvers=found,
            )
            keyed = {(a.asset_norad, a.object_norad): a for a in again}
            alerts = [keyed.get((a.asset_norad, a.object_norad), a) for a in alerts]
    parameters = {
        "assets": sorted({s.norad_id for s in asset_sets}),
        "start_utc": iso(t0),
        "days": days,
        "range_km": range_km,
        "step_s": step_s,
        "catalog_objects": len(catalog),
        "maneuver_history": maneuver_history,
    }
    title = f"{len(alerts)} proximity alerts within {range_km:g} km, {days:g} days from {iso(t0)}"
    if fmt == "json":
        emit_rows(
            [a.to_product_payload() for a in alerts],
            (),
            fmt,
            title=title,
            parameters=parameters,
            key="alerts",
        )
        return
    emit_rows(
        [
            {
                # full precision here; as_row rounds for products
                **a.as_row(),
                "patterns": ", ".join(a.patterns),
                "min_range_km": float(a.min_range_km),
                "rel_speed_at_tca_kms": float(a.rel_speed_at_tca_kms),
                "hours_within": float(a.hours_within),
            }
            for a in alerts
        ],
        PROXIMITY_COLUMNS,
        fmt,
        title=title,
        parameters=parameters,
        key="alerts",
    )
