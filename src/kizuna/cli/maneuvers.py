"""`kizuna maneuvers ...` and `kizuna proximity ...` (wiring only; analysis in kizuna.sda)."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kizuna.errors import KizunaError

maneuvers_app = typer.Typer(help="Maneuver detection from element-set history.", no_args_is_help=True)
proximity_app = typer.Typer(help="Proximity (RPO) watch around protected assets.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table or json")]


def register(app: typer.Typer) -> None:
    app.add_typer(maneuvers_app, name="maneuvers")
    app.add_typer(proximity_app, name="proximity")


def _fail(msg: object) -> typer.Exit:
    err.print(f"[red]error:[/] {msg}")
    return typer.Exit(2)


def _time(text: str | None, option: str) -> datetime | None:
    from kizuna.model.time import parse_utc_datetime

    if text is None:
        return None
    try:
        return parse_utc_datetime(text)
    except ValueError as exc:
        raise _fail(f"{option} {text!r}: {exc}") from None


def _ids(values: list[str] | None, option: str) -> list[int]:
    ids: list[int] = []
    for v in values or []:
        for part in v.replace(",", " ").split():
            if not part.isdigit():
                raise _fail(f"{option}: {part!r} is not a NORAD catalog number")
            ids.append(int(part))
    return ids


def _store(db: str | None):  # type: ignore[no-untyped-def]
    from kizuna.store import CatalogStore

    try:
        return CatalogStore(db)
    except KizunaError as exc:
        raise _fail(exc) from None


def _read_sets(path: Path) -> list:  # type: ignore[type-arg]
    from kizuna.formats.detect import read_path
    from kizuna.model.records import ElementSet

    if not path.exists():
        raise _fail(f"{path}: no such file")
    try:
        result = read_path(path)
    except (KizunaError, ValueError, OSError) as exc:
        raise _fail(f"{path}: {exc}") from None
    for issue in result.issues[:20]:
        err.print(f"[yellow]skipped:[/] {issue}")
    if len(result.issues) > 20:
        err.print(f"[yellow]... {len(result.issues) - 20} more problems[/]")
    return [r for r in result.records if isinstance(r, ElementSet)]


def _histories(
    norad: list[str] | None, file: Path | None, start: datetime | None, stop: datetime | None, db: str | None
) -> dict[int, list]:  # type: ignore[type-arg]
    ids = _ids(norad, "--norad")
    if bool(ids) == (file is not None):
        raise _fail("give --norad ids or --file, not both")
    hist: dict[int, list] = defaultdict(list)  # type: ignore[type-arg]
    if file is not None:
        for es in _read_sets(file):
            if (start is None or es.epoch_utc >= start) and (stop is None or es.epoch_utc <= stop):
                hist[es.norad_id].append(es)
    else:
        store = _store(db)
        for n in ids:
            sets = store.history(n, start, stop)
            if not sets:
                err.print(f"[yellow]no element sets stored for NORAD {n}[/]")
            hist[n] = sets
    return {k: v for k, v in hist.items() if v}


def _progress():  # type: ignore[no-untyped-def]
    from kizuna.cli._common import progress as root_progress

    return root_progress(err)


@maneuvers_app.command("detect")
def maneuvers_detect(
    norad: Annotated[list[str] | None, typer.Option(help="objects whose stored history to scan")] = None,
    file: Annotated[Path | None, typer.Option(help="element-set history (TLE/3LE/OMM), any objects")] = None,
    start: Annotated[str | None, typer.Option(help="ISO-8601 UTC: first epoch to use")] = None,
    stop: Annotated[str | None, typer.Option(help="ISO-8601 UTC: last epoch to use")] = None,
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
) -> None:
    """Maneuvers (time window, best time, delta-v, direction, kind) in each object's history."""
    from kizuna.sda import maneuvers as M

    if fmt not in ("table", "json"):
        raise _fail("--format: use table or json")
    hist = _histories(norad, file, _time(start, "--start"), _time(stop, "--stop"), db)
    if not hist:
        raise _fail("no element sets to scan")
    rows: list[dict[str, object]] = []
    with _progress() as progress:
        task = progress.add_task("detecting maneuvers", total=len(hist))
        for n, sets in sorted(hist.items()):
            s = M.element_series(sets)
            cfg = dataclasses.replace(M.config_for_regime(s.regime), min_dv_mps=min_dv)
            det = M.detect(sets, cfg)
            rows.extend(m.as_row() for m in det.maneuvers)
            if plot is not None:
                from kizuna.plots.maneuvers import plot_detection

                path = plot if len(hist) == 1 else plot.with_name(f"{plot.stem}_{n}{plot.suffix}")
                plot_detection(det, path)
                err.print(f"wrote {path}")
            progress.advance(task)
    if fmt == "json":
        print(json.dumps(rows, indent=1))
        return
    table = Table(title=f"{len(rows)} maneuvers in {len(hist)} histories")
    for col in (
        "NORAD",
        "best time (UTC)",
        "window start",
        "window end",
        "dv m/s",
        "direction",
        "kind",
        "conf.",
    ):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["norad"]),
            str(r["t_utc"])[:19],
            str(r["window_start_utc"])[:16],
            str(r["window_end_utc"])[:16],
            f"{r['dv_mps']:.3f}",
            str(r["direction"]),
            str(r["kind"]),
            f"{r['confidence']:.2f}",
        )
    out.print(table)


@maneuvers_app.command("evaluate")
def maneuvers_evaluate(
    file: Annotated[Path, typer.Option(help="element-set history of one object")],
    truth: Annotated[Path, typer.Option(help="operator maneuver log: IDS/DORIS *man.txt or Fengyun *.fy")],
    tolerance_days: Annotated[float, typer.Option(help="matching tolerance |t_detected - t_logged|")] = 1.5,
    plot: Annotated[Path | None, typer.Option(help="PNG with detections and logged maneuvers")] = None,
    fmt: FormatOption = "table",
) -> None:
    """Precision, recall and F1 against an operator log, next to the plain a-jump baseline.

    Logged maneuvers that fall between the same two element sets count as one (no history can separate
    them); attitude-control entries are not maneuvers.
    """
    from kizuna.formats.maneuver_logs import read_maneuver_log
    from kizuna.sda import maneuvers as M

    if not 0 < tolerance_days <= 1.5:
        raise _fail("--tolerance-days must be in (0, 1.5]")
    sets = _read_sets(file)
    ids = {s.norad_id for s in sets}
    if len(ids) != 1:
        raise _fail(f"{file}: expected the history of one object, found {len(ids)}")
    if not truth.exists():
        raise _fail(f"{truth}: no such file")
    log = read_maneuver_log(truth.read_text(errors="replace"), str(truth))
    for issue in log.issues[:20]:
        err.print(f"[yellow]skipped:[/] {issue}")
    truth_t = [r.start_utc for r in log.records if r.orbital]
    det = M.detect(sets)
    te = M.truth_events(truth_t, det.series.times_utc)
    ours = M.match_events([m.t_utc for m in det.maneuvers], te, tolerance_days)
    base = M.match_events(M.detect_baseline(sets), te, tolerance_days)
    if plot is not None:
        from kizuna.plots.maneuvers import plot_detection

        plot_detection(det, plot, truth_utc=list(te))
        err.print(f"wrote {plot}")
    result = {
        "norad": next(iter(ids)),
        "regime": det.series.regime,
        "element_sets": len(det.series.a_km),
        "logged_events": len(te),
        "tolerance_days": tolerance_days,
        "detector": ours.as_dict(),
        "baseline_a_jump": base.as_dict(),
    }
    if fmt == "json":
        print(json.dumps(result, indent=1))
        return
    table = Table(
        title=f"NORAD {result['norad']} ({result['regime']}): {len(te)} logged maneuvers, "
        f"match within {tolerance_days} days"
    )
    for col in ("method", "TP", "FP", "FN", "precision", "recall", "F1"):
        table.add_column(col)
    for name, ev in (("detector", ours), ("baseline (a jumps)", base)):
        table.add_row(
            name,
            str(ev.true_positives),
            str(ev.false_positives),
            str(ev.false_negatives),
            f"{ev.precision:.3f}",
            f"{ev.recall:.3f}",
            f"{ev.f1:.3f}",
        )
    out.print(table)


def _assets(spec: list[str], store) -> list:  # type: ignore[no-untyped-def, type-arg]
    """NORAD ids, owner:CODE, or a file of element sets."""
    sets = []
    ids: list[int] = []
    for item in spec:
        if item.lower().startswith("owner:"):
            sets.extend(e.latest for e in store.search(owner=item[6:]) if e.latest is not None)
        elif Path(item).exists():
            sets.extend(_read_sets(Path(item)))
        else:
            ids.extend(_ids([item], "--assets"))
    if ids:
        found = store.latest_element_sets(ids)
        for m in sorted(set(ids) - {s.norad_id for s in found}):
            err.print(f"[yellow]not in catalog:[/] NORAD {m}")
        sets.extend(found)
    return sets


@proximity_app.command("watch")
def proximity_watch(
    assets: Annotated[list[str], typer.Option(help="NORAD ids, owner:CODE (SATCAT owner) or a file")],
    start: Annotated[str, typer.Option(help="ISO-8601 UTC start")],
    days: Annotated[float, typer.Option(help="length of the watch [days]")] = 1.0,
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

    if fmt not in ("table", "json"):
        raise _fail("--format: use table or json")
    if days <= 0 or range_km <= 0 or step_s <= 0:
        raise _fail("--days, --range-km and --step-s must be positive")
    t0 = _time(start, "--start")
    assert t0 is not None
    store = _store(db)
    asset_sets = _assets(assets, store)
    if not asset_sets:
        raise _fail("no assets with element sets")
    catalog = store.latest_element_sets(as_of=t0 + timedelta(days=days))
    cfg = ProximityConfig(step_s=step_s)
    with _progress() as progress:
        task = progress.add_task(f"watching {len(asset_sets)} assets", total=len(catalog))
        alerts = watch(
            asset_sets, catalog, t0, days, range_km, config=cfg, progress=lambda n: progress.advance(task, n)
        )
    if maneuver_history and alerts:
        found: dict[int, list] = {}  # type: ignore[type-arg]
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
    if fmt == "json":
        print(json.dumps([a.to_product_payload() for a in alerts], indent=1))
        return
    table = Table(title=f"{len(alerts)} proximity alerts within {range_km:g} km, {days:g} days from {start}")
    for col in (
        "asset",
        "object",
        "name",
        "patterns",
        "min range km",
        "TCA (UTC)",
        "rel speed km/s",
        "hours within",
        "entries",
    ):
        table.add_column(col)
    for a in alerts:
        r = a.as_row()
        table.add_row(
            str(a.asset_norad),
            str(a.object_norad),
            a.object_name or "",
            ", ".join(a.patterns),
            f"{a.min_range_km:.2f}",
            str(r["tca_utc"])[:19],
            f"{a.rel_speed_at_tca_kms:.3f}",
            f"{a.hours_within:.1f}",
            str(a.entries),
        )
    out.print(table)
