"""`kizuna ais ...`, `kizuna sar ...`, `kizuna dark`: wiring only, analyses live in kizuna.maritime."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from kizuna.errors import KizunaError

out = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="KIZUNA_DB", help="SQLite file or postgresql:// URL (default kizuna.db)"),
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="table, json or geojson")]
MapOption = Annotated[Path | None, typer.Option("--map", help="write a PNG map here")]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(2)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json", "geojson"):
        raise _fail(f"--format must be table, json or geojson, not {fmt!r}")


def _ais_store(db: str | None):  # type: ignore[no-untyped-def]
    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisStore

    try:
        return AisStore(CatalogStore(db))
    except KizunaError as exc:
        raise _fail(str(exc)) from None


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        w, s, e, n = (float(x) for x in text.split(","))
    except ValueError:
        raise _fail(f"--bbox wants W,S,E,N in degrees, got {text!r}") from None
    if not (-90 <= s < n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        raise _fail(f"--bbox {text!r} is not a valid W,S,E,N box")
    return w, s, e, n


def _time(text: str | None, name: str) -> datetime | None:
    from kizuna.model.time import parse_utc_datetime

    if not text:
        return None
    try:
        return parse_utc_datetime(text)
    except ValueError as exc:
        raise _fail(f"{name}: {exc}") from None


def _save(fig, path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    err.print(f"map written to {path}")


def _progress():  # type: ignore[no-untyped-def]
    from kizuna.cli._common import progress

    return progress(err)


def register(app: typer.Typer) -> None:
    ais_app = typer.Typer(
        help="AIS: load NMEA/CSV, list events (gap, encounter, loitering, spoofing).", no_args_is_help=True
    )
    sar_app = typer.Typer(help="SAR ship detection (CFAR) and synthetic scenes.", no_args_is_help=True)
    app.add_typer(ais_app, name="ais")
    app.add_typer(sar_app, name="sar")

    @ais_app.command("load")
    def ais_load(
        files: Annotated[list[Path], typer.Argument(help="AIS NMEA (AIVDM, tag blocks, $PGHP) or CSV")],
        db: DbOption = None,
        max_errors: Annotated[int, typer.Option(help="errors listed (all are counted)")] = 200,
    ) -> None:
        """Stream files into the store in chunks. Prints a JSON summary with every issue's file and line."""
        from kizuna.store.ais_store import AisLoadSummary

        store = _ais_store(db)
        summary = AisLoadSummary()
        with _progress() as progress:
            for path in files:
                if not path.exists():
                    raise _fail(f"{path}: no such file")
                task = progress.add_task(f"loading {path.name}", total=path.stat().st_size)
                store.load_file(
                    path, summary, progress=lambda done, total, t=task: progress.update(t, completed=done)
                )
        print(json.dumps(summary.as_dict(max_errors), indent=2))
        raise typer.Exit(
            0 if summary.positions_loaded + summary.positions_duplicate + summary.statics > 0 else 2
        )

    @ais_app.command("events")
    def ais_events(
        types: Annotated[
            list[str] | None, typer.Option("--type", help="gap|encounter|loitering|spoofing (repeat)")
        ] = None,
        bbox: Annotated[str | None, typer.Option(help="W,S,E,N degrees")] = None,
        start: Annotated[str | None, typer.Option(help="ISO UTC")] = None,
        stop: Annotated[str | None, typer.Option(help="ISO UTC")] = None,
        db: DbOption = None,
        fmt: FormatOption = "table",
        map_png: MapOption = None,
        no_shore: Annotated[
            bool,
            typer.Option(
                "--no-shore",
                help="skip the distance-from-shore and on-land conditions (default: GLOBE 1-km land mask)",
            ),
        ] = False,
    ) -> None:
        """Events with Global Fishing Watch definitions (stated in the output) on stored AIS."""
        from kizuna.maritime.events import EVENT_TYPES, detect_events, event_dict
        from kizuna.maritime.tracks import clean_tracks

        _check_format(fmt)
        wanted = types or list(EVENT_TYPES)
        if set(wanted) - set(EVENT_TYPES):
            raise _fail(f"--type must be one of {', '.join(EVENT_TYPES)}")
        store = _ais_store(db)
        pos = store.positions(bbox=_bbox(bbox), start=_time(start, "--start"), stop=_time(stop, "--stop"))
        tracks = clean_tracks(pos)
        shore = None
        if not no_shore and {"gap", "loitering", "spoofing"} & set(wanted):
            from kizuna.maritime.shore import default_shore, preload

            shore = default_shore()
            with err.status("loading the GLOBE land mask (once per run)"):
                preload()
        events = detect_events(tracks, wanted, shore=shore)
        if map_png:
            from kizuna.plots.maritime import maritime_map

            _save(
                maritime_map(positions=tracks.positions, events=events, title="AIS tracks and events"),
                map_png,
            )
        dicts = [event_dict(e) for e in events]
        if fmt == "json":
            print(
                json.dumps(
                    {
                        "positions": len(pos),
                        "cleaning": tracks.report.as_dict(),
                        "events": dicts,
                        "definitions": sorted({e.definition for e in events}),
                    },
                    indent=2,
                )
            )
            return
        if fmt == "geojson":
            print(
                json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            {
                                "type": "Feature",
                                "geometry": {"type": "Point", "coordinates": [d["lon_deg"], d["lat_deg"]]},
                                "properties": {k: v for k, v in d.items() if k not in ("lat_deg", "lon_deg")},
                            }
                            for d in dicts
                        ],
                    },
                    indent=2,
                )
            )
            return
        table = Table(title=f"{len(events)} events from {len(pos)} positions")
        for col in ("type", "mmsi", "other", "start (UTC)", "end (UTC)", "hours", "lat", "lon", "details"):
            table.add_column(col)
        for d in dicts:
            table.add_row(
                f"{d['type']}{'/' + d['subtype'] if d['subtype'] else ''}",
                str(d["mmsi"]),
                str(d["other_mmsi"] or ""),
                str(d["start_utc"])[:19],
                str(d["end_utc"])[:19],
                f"{d['duration_s'] / 3600:.2f}",
                f"{d['lat_deg']:.4f}",
                f"{d['lon_deg']:.4f}",
                ", ".join(f"{k}={v}" for k, v in d["details"].items()),
            )  # type: ignore[union-attr]
        out.print(table)
        for definition in sorted({e.definition for e in events}):
            out.print(f"[dim]{definition}[/]")

    @sar_app.command("detect")
    def sar_detect(
        image: Annotated[
            Path, typer.Argument(help="calibrated SAR GeoTIFF (intensity, or amplitude with --amplitude)")
        ],
        pfa: Annotated[float, typer.Option(help="false-alarm probability per pixel")] = 1e-7,
        method: Annotated[str, typer.Option(help="ca (cell averaging) or os (order statistic)")] = "ca",
        clutter: Annotated[str, typer.Option(help="exponential or k")] = "k",
        guard: Annotated[int, typer.Option(help="guard half-width [px]")] = 16,
        background: Annotated[int, typer.Option(help="background outer half-width [px]")] = 26,
        amplitude: Annotated[bool, typer.Option(help="image holds amplitude (squared before CFAR)")] = False,
        fmt: FormatOption = "table",
        output: Annotated[Path | None, typer.Option(help="write GeoJSON here")] = None,
        map_png: MapOption = None,
    ) -> None:
        """CFAR ship detection; positions from the image geotransform."""
        from kizuna.formats.sar import read_sar_geotiff, scene_lonlat
        from kizuna.maritime.cfar import CfarConfig, cfar, detections_from

        _check_format(fmt)
        try:
            scene = read_sar_geotiff(image, amplitude=amplitude or None)
            cfg = CfarConfig(
                pfa=pfa, guard=guard, background=background, method=method, clutter=clutter, min_pixels=2
            )
            res = cfar(scene.intensity, cfg, land=scene.land)
        except (KizunaError, ValueError) as exc:
            raise _fail(str(exc)) from None
        dets = detections_from(
            res,
            scene.intensity,
            lambda r, c: scene_lonlat(scene, r, c),
            scene.pixel_size_m,
            time_utc=scene.time_utc,
        )
        gj = _detections_geojson(dets, synthetic=scene.synthetic)
        if output:
            output.write_text(json.dumps(gj, indent=2))
        if map_png:
            from kizuna.model.maritime import DarkVesselResult
            from kizuna.plots.maritime import maritime_map

            empty = np.zeros(0)
            dv = DarkVesselResult(
                np.datetime64("NaT", "ns"),
                0.0,
                [],
                list(range(len(dets))),
                [],
                dets,
                empty.astype(np.int64),
                empty,
                empty,
                empty.astype("U1"),
            )
            _save(
                maritime_map(
                    dark=dv,
                    image=scene.intensity,
                    image_extent=scene.footprint(),
                    title=f"CFAR detections: {image.name}",
                    synthetic_note="SYNTHETIC scene" if scene.synthetic else None,
                ),
                map_png,
            )
        if fmt in ("json", "geojson"):
            print(json.dumps(gj, indent=2))
            return
        table = Table(
            title=f"{len(dets)} detections in {image.name}" + (" (SYNTHETIC)" if scene.synthetic else "")
        )
        for col in ("id", "lat", "lon", "length [m]", "confidence", "peak SCR [dB]", "pixels"):
            table.add_column(col)
        for d in dets:
            table.add_row(
                d.detection_id,
                f"{d.lat_deg:.5f}",
                f"{d.lon_deg:.5f}",
                f"{d.length_m:.0f}",
                f"{d.confidence:.3f}",
                f"{d.peak_scr_db:.1f}",
                str(d.n_pixels),
            )
        out.print(table)

    @sar_app.command("scene")
    def sar_scene(
        output: Annotated[Path, typer.Argument(help="GeoTIFF to write")],
        seed: Annotated[int, typer.Option()] = 0,
        size: Annotated[int, typer.Option(help="pixels per side")] = 1024,
        ships: Annotated[int, typer.Option(help="ships placed at random")] = 10,
        nu: Annotated[float, typer.Option(help="K shape (texture)")] = 4.0,
        time: Annotated[str, typer.Option(help="image time, ISO UTC")] = "2026-06-01T01:30:00Z",
    ) -> None:
        """Write a SYNTHETIC K-clutter scene with ships (truth printed as JSON)."""
        from kizuna.formats.sar import write_scene_geotiff
        from kizuna.maritime.scene import ShipTruth, synthetic_scene

        rng = np.random.default_rng(seed)
        # ships on a jittered grid so that no two overlap (truth stays unambiguous)
        side = int(np.ceil(np.sqrt(max(ships, 1))))
        cell_m = size * 10.0 * 0.8 / side
        m_per_deg = 111_195.0
        truth = []
        for k in range(ships):
            r, c = divmod(k, side)
            north = (r - (side - 1) / 2) * cell_m + rng.uniform(-0.2, 0.2) * cell_m
            east = (c - (side - 1) / 2) * cell_m + rng.uniform(-0.2, 0.2) * cell_m
            truth.append(
                ShipTruth(
                    35.0 + north / m_per_deg,
                    139.8 + east / (m_per_deg * np.cos(np.radians(35.0))),
                    float(rng.uniform(50, 250)),
                    20.0,
                    float(rng.uniform(0, 180)),
                )
            )
        scene = synthetic_scene((size, size), ships=truth, nu=nu, time_utc=_time(time, "--time"), seed=seed)
        write_scene_geotiff(output, scene)
        print(json.dumps({"synthetic": True, "ships": [dataclasses.asdict(s) for s in truth]}, indent=2))

    @app.command("dark")
    def dark(
        detections: Annotated[
            Path,
            typer.Option(
                "--detections", help="detections CSV or GeoJSON (e.g. from `kizuna sar detect --output`)"
            ),
        ],
        time: Annotated[str, typer.Option("--time", help="image time, ISO UTC")],
        ais: Annotated[list[Path] | None, typer.Option("--ais", help="AIS files (else the store)")] = None,
        gate_m: Annotated[float, typer.Option("--gate-m", help="matching gate [m]")] = 1000.0,
        bbox: Annotated[str | None, typer.Option(help="footprint W,S,E,N (default: detections' box)")] = None,
        db: DbOption = None,
        fmt: FormatOption = "table",
        map_png: MapOption = None,
    ) -> None:
        """Match SAR detections with AIS at the image time; list dark-vessel candidates."""
        from kizuna.formats.ais import read_ais_file, split_records
        from kizuna.formats.sar import read_detections
        from kizuna.maritime.dark import dark_geojson, dark_product, find_dark_vessels
        from kizuna.model.maritime import PositionArrays

        _check_format(fmt)
        t = _time(time, "--time")
        if not detections.exists():
            raise _fail(f"{detections}: no such file")
        res = read_detections(detections)
        for issue in res.issues:
            err.print(f"[yellow]{issue}[/]")
        footprint = _bbox(bbox)
        if ais:
            recs = []
            for path in ais:
                if not path.exists():
                    raise _fail(f"{path}: no such file")
                r = read_ais_file(path)
                recs += r.records
                for issue in r.issues[:20]:
                    err.print(f"[yellow]{issue}[/]")
            pos = PositionArrays.from_records(split_records(recs)[0])
        else:
            pos = _ais_store(db).positions()
        result = find_dark_vessels(
            res.records, pos, np.datetime64(t.replace(tzinfo=None), "ns"), gate_m=gate_m, footprint=footprint
        )
        if map_png:
            from kizuna.plots.maritime import maritime_map

            _save(
                maritime_map(positions=pos, dark=result, footprint=footprint, title="Dark-vessel candidates"),
                map_png,
            )
        if fmt == "geojson":
            print(json.dumps(dark_geojson(result), indent=2))
            return
        prod = dark_product(result, source=str(detections))
        if fmt == "json":
            print(json.dumps(prod, indent=2))
            return
        _print_dark(prod)


def _print_dark(prod: dict) -> None:  # type: ignore[type-arg]
    c = prod["counts"]
    out.print(
        f"detections {c['detections']}, matched to AIS {c['matched']}, dark candidates "
        f"{c['dark_candidates']}, AIS in footprint not detected {c['ais_not_detected']}"
    )
    table = Table(
        title="Dark-vessel candidates" + (" (SYNTHETIC image)" if prod.get("synthetic_image") else "")
    )
    for col in ("detection", "lat", "lon", "length [m]", "confidence"):
        table.add_column(col)
    for d in prod["dark_candidates"]:
        table.add_row(
            d["detection_id"],
            f"{d['lat_deg']:.5f}",
            f"{d['lon_deg']:.5f}",
            str(d["length_m"]),
            str(d["confidence"]),
        )
    out.print(table)


def _detections_geojson(dets, synthetic: bool) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {
        "type": "FeatureCollection",
        "properties": {"synthetic_image": synthetic},
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [d.lon_deg, d.lat_deg]},
                "properties": {
                    "detection_id": d.detection_id,
                    "length_m": d.length_m,
                    "confidence": d.confidence,
                    "peak_scr_db": d.peak_scr_db,
                    "time_utc": d.time_utc.strftime("%Y-%m-%dT%H:%M:%SZ") if d.time_utc else None,
                },
            }
            for d in dets
        ],
    }
