"""`kizuna screen` and `kizuna cdm show|assess`: wiring only; the work is in kizuna.sda."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from kizuna.errors import KizunaError

out = Console()
err = Console(stderr=True)
cdm_app = typer.Typer(help="CCSDS conjunction data messages: show, assess.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]


def _fail(msg: str) -> None:
    err.print(f"[red]error:[/] {msg}")
    raise typer.Exit(2)


def screen_cmd(
    assets: Annotated[
        list[int] | None, typer.Option("--assets", help="NORAD ids of protected objects")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="protect every payload of this SATCAT owner")] = None,
    all_: Annotated[bool, typer.Option("--all", help="all-vs-all")] = False,
    start: Annotated[
        str | None, typer.Option(help="ISO UTC start (default: the catalog's median epoch, hour)")
    ] = None,
    days: Annotated[float, typer.Option(help="window length [d]")] = 1.0,
    threshold_km: Annotated[
        float, typer.Option("--threshold-km", help="spherical miss threshold [km]")
    ] = 10.0,
    rtn_km: Annotated[
        str | None, typer.Option("--rtn-km", help="ellipsoid semi-axes R,T,N [km], e.g. 1,12.5,12.5")
    ] = None,
    step_s: Annotated[float, typer.Option("--step-s", help="coarse grid step [s]")] = 60.0,
    stale_days: Annotated[
        float, typer.Option(help="element sets older than this are listed, not screened")
    ] = 14.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, cdm-kvn or cdm-xml")] = "table",
    out_dir: Annotated[Path | None, typer.Option("--out", help="directory for CDM files")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler tcp://host:port, or 'local'")] = None,
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
    """Screen protected objects (or everything) for close approaches; Pc and method per event."""
    from kizuna.sda import ScreeningVolume, screen
    from kizuna.store import CatalogStore

    if sum([bool(assets), bool(owner), all_]) != 1:
        _fail("give exactly one of --assets, --owner or --all")
    if fmt not in ("table", "json", "cdm-kvn", "cdm-xml"):
        _fail(f"unknown format {fmt!r}")
    if publish and (partners is None or keys is None):
        _fail("--publish needs --partners and --keys")
    sigma: tuple[float, float, float] | None = None
    if sigma_rtn_km:
        try:
            sr, st, sn = (float(x) for x in sigma_rtn_km.split(","))
        except ValueError:
            _fail("--sigma-rtn-km wants three numbers R,T,N")
        if min(sr, st, sn) <= 0:
            _fail("--sigma-rtn-km values must be positive")
        sigma = (sr, st, sn)
    try:
        store = CatalogStore(db)
    except KizunaError as exc:
        _fail(str(exc))
    sets = store.latest_element_sets()
    if not sets:
        _fail("the catalog is empty; run `kizuna catalog load` first")
    primaries = None
    if owner:
        primaries = [e.norad_id for e in store.search(owner=owner, object_type="PAYLOAD")]
        if not primaries:
            _fail(f"no payloads of owner {owner} in the catalog")
    elif assets:
        primaries = list(assets)
    try:
        t0 = (
            datetime.fromisoformat(start.replace("Z", "+00:00"))
            if start
            else sorted(e.epoch_utc for e in sets)[len(sets) // 2].replace(minute=0, second=0, microsecond=0)
        )
    except ValueError:
        _fail(f"--start is not an ISO time: {start!r}")
    t0 = t0 if t0.tzinfo else t0.replace(tzinfo=UTC)
    t1 = t0 + timedelta(days=days)
    from kizuna.sda.hbr import hbr_table, parse_cara_hbr

    cara = []
    if hbr_csv:
        try:
            parsed = parse_cara_hbr(hbr_csv.read_text(), str(hbr_csv))
        except OSError as exc:
            _fail(str(exc))
        cara = parsed.records
    hbr = hbr_table([e.space_object for e in store.search() if e.space_object is not None], cara)
    volume = ScreeningVolume.sphere(threshold_km)
    if rtn_km:
        try:
            r, t, n = (float(x) for x in rtn_km.split(","))
        except ValueError:
            _fail("--rtn-km wants three numbers R,T,N")
        volume = ScreeningVolume.ellipsoid(r, t, n)
    if scheduler:
        from distributed import Client, LocalCluster

        from kizuna.sda.scaleout import screen_dask

        cluster = LocalCluster(processes=False, dashboard_address=None) if scheduler == "local" else None
        with Client(cluster or scheduler) as client:
            result = screen_dask(
                client,
                sets,
                t0,
                t1,
                primaries=primaries,
                volume=volume,
                step_s=step_s,
                stale_days=stale_days,
                hbr_m=hbr,
            )
    else:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=not err.is_terminal,
        ) as progress:
            task = progress.add_task(f"screening {len(sets)} objects", total=None)
            result = screen(
                sets,
                t0,
                t1,
                primaries=primaries,
                volume=volume,
                step_s=step_s,
                stale_days=stale_days,
                hbr_m=hbr,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    if sigma is not None:
        from dataclasses import replace as _replace

        from kizuna.sda.assess import with_covariance_pc

        result = _replace(result, events=with_covariance_pc(result.events, {}, sigma))
    _emit(result, fmt, out_dir)
    if publish:
        from kizuna.share.publishing import publish_payloads

        items = [("conjunction", e.as_dict(), (e.primary, e.secondary)) for e in result.events]
        try:
            published = publish_payloads(
                db or "kizuna.db",
                partners,
                keys,
                publish,
                items,  # type: ignore[arg-type]
                actor="screen",
            )
        except (KizunaError, OSError, ValueError, PermissionError) as exc:
            _fail(str(exc))
        err.print(f"published {len(published)} conjunction products marked {publish}")


def _emit(result, fmt: str, out_dir: Path | None) -> None:  # type: ignore[no-untyped-def]
    from kizuna.formats.cdm import write_cdm_kvn, write_cdm_xml
    from kizuna.sda.assess import event_to_cdm

    if fmt == "json":
        print(
            json.dumps(
                {
                    "events": [e.as_dict() for e in result.events],
                    "problems": [p.as_dict() for p in result.problems],
                    "objects": result.n_objects,
                    "primaries": result.n_primaries,
                },
                indent=2,
            )
        )
    elif fmt == "table":
        table = Table(title=f"{len(result.events)} events, {result.n_objects} objects screened")
        for col in (
            "primary",
            "secondary",
            "TCA (UTC)",
            "miss km",
            "R km",
            "T km",
            "N km",
            "v km/s",
            "Pc",
            "pc_method",
        ):
            table.add_column(col)
        for e in sorted(result.events, key=lambda e: e.miss_km)[:50]:
            table.add_row(
                f"{e.primary} {e.primary_name}",
                f"{e.secondary} {e.secondary_name}",
                str(e.tca_utc)[:23],
                f"{e.miss_km:.3f}",
                f"{e.radial_km:.3f}",
                f"{e.intrack_km:.3f}",
                f"{e.crosstrack_km:.3f}",
                f"{e.rel_speed_kms:.3f}",
                f"{e.pc:.2e}",
                e.pc_method,
            )
        out.print(table)
        if result.problems:
            out.print(
                f"{len(result.problems)} objects not fully screened: "
                + ", ".join(f"{p.norad_id} ({p.reason})" for p in result.problems[:20])
            )
    else:
        writer, ext = (write_cdm_kvn, "cdm") if fmt == "cdm-kvn" else (write_cdm_xml, "xml")
        texts = [(e, writer(event_to_cdm(e))) for e in result.events]
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            for e, text in texts:
                (
                    out_dir / f"{e.primary}_{e.secondary}_{str(e.tca_utc)[:19].replace(':', '')}.{ext}"
                ).write_text(text)
            err.print(f"wrote {len(texts)} CDMs to {out_dir}")
        else:
            for _e, text in texts:
                print(text)


def _read(path: Path):  # type: ignore[no-untyped-def]
    from kizuna.formats.cdm import read_cdm

    try:
        return read_cdm(path.read_text(), str(path))
    except (OSError, KizunaError) as exc:
        _fail(str(exc))


@cdm_app.command("show")
def cdm_show(file: Path, fmt: Annotated[str, typer.Option("--format", "-f")] = "table") -> None:
    """Print a CDM's fields (KVN or XML)."""
    cdm = _read(file)
    if fmt == "json":
        print(
            json.dumps(
                {"header": cdm.header, "relative": cdm.relative, "objects": [o.fields for o in cdm.objects]},
                indent=2,
                default=str,
            )
        )
        return
    table = Table(title=f"CDM {cdm.message_id}", show_header=False)
    for k, v in list(cdm.header.items()) + list(cdm.relative.items()):
        table.add_row(k, str(v))
    for o in cdm.objects:
        for k in ("OBJECT", "OBJECT_DESIGNATOR", "OBJECT_NAME", "REF_FRAME", "COVARIANCE_METHOD"):
            table.add_row(k, str(o.fields.get(k, "")))
    out.print(table)
    for w in cdm.warnings:
        err.print(f"[yellow]warning:[/] {w}")


@cdm_app.command("assess")
def cdm_assess(
    file: Path,
    hbr_m: Annotated[float | None, typer.Option("--hbr-m")] = None,
    db: DbOption = None,
    store_it: Annotated[bool, typer.Option("--store/--no-store")] = True,
    fmt: Annotated[str, typer.Option("--format", "-f")] = "table",
) -> None:
    """Recompute Pc (Foster, Chan cross-check) from a received CDM and store it."""
    from kizuna.sda.assess import assess_cdm

    cdm = _read(file)
    try:
        a = assess_cdm(cdm, hbr_m)
    except ValueError as exc:
        _fail(f"{file}: {exc}")
    if store_it:
        from kizuna.store import CatalogStore
        from kizuna.store.cdm_store import CdmStore

        CdmStore(CatalogStore(db)).add(cdm, file.read_text(), str(file))
    if fmt == "json":
        print(json.dumps(a.as_dict(), indent=2))
        return
    table = Table(title=f"assessment of {a.message_id}", show_header=False)
    for k, v in a.as_dict().items():
        table.add_row(
            k, f"{v:.6e}" if isinstance(v, float) and k.startswith(("pc", "originator_pc")) else str(v)
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("screen")(screen_cmd)
    app.add_typer(cdm_app, name="cdm")
