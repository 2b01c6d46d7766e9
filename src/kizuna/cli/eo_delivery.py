"""`kizuna eo delivery`: time from request to delivered image through ground stations (wiring only)."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    ForceOption,
    atomic_output,
    check_number,
    count,
    emit_rows,
    fail,
    grid_steps,
    iso,
    output_file,
    output_format,
    parse_time,
    positive,
    print_json,
    progress,
    read_text,
    supported_window,
    warn,
)
from kizuna.cli.eo import (
    MAX_ACCESS_STEP_S,
    MAX_PLAN_HOURS,
    MAX_SPACING_KM,
    MIN_ACCESS_STEP_S,
    MIN_SPACING_KM,
    AoiOption,
    ConstOption,
    PointOption,
    SensorOption,
    SpacingOption,
    eo_app,
    parse_point,
    resolve_constellation,
)
from kizuna.errors import KizunaError

#: collection and downlink after the last request: a day covers every LEO station revisit
MAX_HORIZON_HOURS = 10 * 24.0
#: requests x targets evaluated at once; beyond this, sample the area coarser or request less often
MAX_REQUESTS = 2_000_000
#: targets looked at one by one (each through every satellite)
MAX_TARGETS = 500
MAX_IMAGE_GBIT = 10_000.0
MAX_STORAGE_GBIT = 1_000_000.0
AccessStepOption = Annotated[
    float,
    typer.Option(
        "--step-s", help=f"coarse propagation step [s], {MIN_ACCESS_STEP_S:g} to {MAX_ACCESS_STEP_S:g}"
    ),
]

DELIVERY_COLUMNS = (
    Column("target", "target"),
    Column("requests", "requests", justify="right"),
    Column("delivered", "delivered", justify="right"),
    Column("late", "not_delivered_in_period", justify="right"),
    *(
        Column(
            f"{step} {stat} min", f"{step}_{stat}_min", lambda v: "-" if v is None else f"{v:.1f}", "right"
        )
        for step in ("tasking", "collection", "downlink", "delivery")
        for stat in ("mean", "median", "p90", "max")
        if step == "delivery" or stat in ("mean", "p90")
    ),
)
CSV_COLUMNS = tuple(
    Column(k, k)
    for k in ("target", "requests", "delivered", "not_delivered_in_period")
    + tuple(
        f"{step}_{stat}_min"
        for step in ("tasking", "collection", "downlink", "delivery")
        for stat in ("mean", "median", "p90", "max")
    )
)


def _minutes(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        (k[:-2] + "_min" if k.endswith("_s") else k): (
            round(v / 60.0, 3) if k.endswith("_s") and v is not None else v
        )
        for k, v in stats.items()
    }


@eo_app.command("delivery")
def delivery(
    constellation: ConstOption,
    start: Annotated[str, typer.Option(help="ISO-8601 start of the requests; offsets and Z accepted")],
    aoi: AoiOption = None,
    point: PointOption = None,
    stations: Annotated[
        Path | None,
        typer.Option(
            help="ground stations, YAML or CSV (name, lat_deg, lon_deg, alt_m, min_elevation_deg, "
            "downlink_mbps, uplink); default: the bundled set (KSAT, SSC, AWS, JAXA sites)"
        ),
    ] = None,
    hours: Annotated[
        float, typer.Option(help=f"period over which requests are made [h], (0, {MAX_PLAN_HOURS:g}]")
    ] = 24.0,
    horizon_hours: Annotated[
        float,
        typer.Option(
            "--horizon-hours",
            help=f"time after the last request for collection and downlink [h], 0 to {MAX_HORIZON_HOURS:g}",
        ),
    ] = 24.0,
    requests_every_min: Annotated[
        float | None,
        typer.Option("--requests-every-min", help="a request every this many minutes (default 60)"),
    ] = None,
    random_requests: Annotated[
        int | None,
        typer.Option("--random-requests", help="this many requests at uniform random times instead"),
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed for --random-requests")] = 0,
    image_gbit: Annotated[
        float, typer.Option("--image-gbit", help=f"volume of one image [Gbit], (0, {MAX_IMAGE_GBIT:g}]")
    ] = 10.0,
    imaging_s: Annotated[
        float, typer.Option("--imaging-s", help="imaging time within an access window [s], (0, 3600]")
    ] = 10.0,
    storage_gbit: Annotated[
        float,
        typer.Option("--storage-gbit", help=f"on-board storage [Gbit], (0, {MAX_STORAGE_GBIT:g}]"),
    ] = 1000.0,
    sensor: SensorOption = "sar:15-45:both",
    spacing_km: SpacingOption = 10.0,
    step_s: AccessStepOption = 60.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    png: Annotated[Path | None, typer.Option(help="write a histogram of delivery latency (PNG) here")] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Time from request to delivered image: wait for an uplink, collect, downlink through stations."""
    from kizuna.eo import AreaOfInterest, compute_access, parse_geojson, parse_sensor, sample_points
    from kizuna.eo.delivery import (
        DeliveryModel,
        contact_windows,
        deliver,
        latency_stats,
        parse_stations,
        request_times,
    )

    fmt = output_format(fmt, "--format", TABLE_FORMATS)
    t0 = parse_time(start, "--start")
    positive(hours, "--hours", maximum=MAX_PLAN_HOURS, unit="h")
    check_number(horizon_hours, "--horizon-hours", minimum=0.0, maximum=MAX_HORIZON_HOURS, unit="h")
    t_req_end = t0 + timedelta(hours=hours)
    t1 = t_req_end + timedelta(hours=horizon_hours)
    supported_window(t0, t1, "--start/--hours/--horizon-hours")
    # The coarse access step: edges are refined to well under 1 s whatever it is, so a finer step
    # only multiplies memory (a day at 1 ms is 86 M states a satellite).
    check_number(step_s, "--step-s", minimum=MIN_ACCESS_STEP_S, maximum=MAX_ACCESS_STEP_S, unit="s")
    grid_steps((t1 - t0).total_seconds(), step_s)
    check_number(spacing_km, "--spacing-km", minimum=MIN_SPACING_KM, maximum=MAX_SPACING_KM, unit="km")
    if requests_every_min is not None and random_requests is not None:
        fail("--requests-every-min/--random-requests: give one or the other, not both")
    count(seed, "--seed", minimum=0, maximum=2**63 - 1)
    if random_requests is not None:
        count(random_requests, "--random-requests", maximum=MAX_REQUESTS)
    else:
        requests_every_min = 60.0 if requests_every_min is None else requests_every_min
        positive(requests_every_min, "--requests-every-min", maximum=hours * 60.0, unit="min")
    positive(image_gbit, "--image-gbit", maximum=MAX_IMAGE_GBIT, unit="Gbit")
    positive(imaging_s, "--imaging-s", maximum=3600.0, unit="s")
    positive(storage_gbit, "--storage-gbit", maximum=MAX_STORAGE_GBIT, unit="Gbit")
    if image_gbit > storage_gbit:
        fail(f"--image-gbit {image_gbit:g}: larger than --storage-gbit {storage_gbit:g}")
    try:
        sens = parse_sensor(sensor)
    except ValueError as exc:
        fail(f"--sensor {sensor!r}: {exc}")
    parsed = [parse_point(p) for p in point or []]
    if aoi is None and not parsed:
        fail("--aoi/--point: give a GeoJSON file with --aoi, or ground points with --point LAT,LON[,NAME]")
    aoi_text = read_text(aoi, "--aoi") if aoi is not None else None
    if stations is not None:
        station_text, station_source = read_text(stations, "--stations"), str(stations)
    else:
        bundled = resources.files("kizuna") / "data" / "ground_stations" / "stations.yaml"
        station_text, station_source = bundled.read_text(encoding="utf-8"), "bundled stations.yaml"
    output_file(png, "--png", force=force)
    try:
        station_list = parse_stations(station_text, station_source)
    except ValueError as exc:
        fail(f"--stations {exc}" if stations is not None else exc)
    try:
        areas = parse_geojson(aoi_text, str(aoi)) if aoi_text is not None else []
        taken = {a.name for a in areas}
        for lat, lon, name in parsed:
            if name in taken:
                fail(f"--point {name!r}: the name is already used by another --point or an --aoi feature")
            taken.add(name)
            areas.append(AreaOfInterest(name, "point", ((lon, lat),), {}))
        targets = sample_points(areas, spacing_km)
        if len(targets) > MAX_TARGETS:
            fail(
                f"--aoi/--spacing-km: {len(targets)} targets; at most {MAX_TARGETS} (a larger --spacing-km "
                "samples the area coarser)"
            )
        req_s = request_times(
            hours * 3600.0,
            every_s=None if random_requests is not None else 60.0 * float(requests_every_min or 60.0),
            random_count=random_requests,
            seed=seed,
        )
        if len(req_s) * len(targets) > MAX_REQUESTS:
            fail(f"--requests-every-min: {len(req_s) * len(targets)} requests; at most {MAX_REQUESTS}")
        model = DeliveryModel(image_gbit=image_gbit, imaging_s=imaging_s, storage_gbit=storage_gbit)
        const = resolve_constellation(constellation, db, t0)
        with progress() as bar:
            task = bar.add_task(
                f"contacts {len(const)} satellites x {len(station_list)} stations", total=None
            )
            contacts = contact_windows(const, station_list, t0, t1, step_s=step_s)
            bar.update(task, description=f"access {len(const)} satellites x {len(targets)} points")
            acc = compute_access(const, targets, t0, t1, sens, step_s=step_s)
        results = [deliver(req_s, acc, k, contacts, station_list, model) for k in range(len(targets))]
    except (KizunaError, ValueError) as exc:
        fail(exc)
    names = [str(n) for n in targets.name]
    rows = [{"target": n, **_minutes(latency_stats(r))} for n, r in zip(names, results, strict=True)]
    if len(results) > 1:
        from kizuna.eo.delivery import DeliveryResult

        every = DeliveryResult(
            *(
                np.concatenate([getattr(r, f) for r in results])
                for f in ("request_s", "tasked_s", "collected_s", "delivered_s", "sat_index")
            )
        )
        rows.append({"target": "all targets", **_minutes(latency_stats(every))})
    late = sum(int((~r.delivered).sum()) for r in results)
    parameters = {
        "constellation": const.name,
        "satellites": len(const),
        "sensor": sens.describe(),
        "stations": len(station_list),
        "station_source": station_source,
        "contacts": len(contacts),
        "start_utc": iso(t0),
        "requests_until_utc": iso(t_req_end),
        "stop_utc": iso(t1),
        "requests": "random" if random_requests is not None else f"every {requests_every_min:g} min",
        "image_gbit": image_gbit,
        "imaging_s": imaging_s,
        "storage_gbit": storage_gbit,
    }
    if png is not None:
        from kizuna.plots.eo_delivery import plot_delivery_histogram

        plot_delivery_histogram(
            np.concatenate([r.latency_s[r.delivered] for r in results]),
            png,
            f"{const.name}: request to delivery, {len(station_list)} stations",
            not_delivered=late,
        )
    if fmt == "json":
        print_json(
            {
                "parameters": parameters,
                "targets": rows,
                "requests": [
                    {
                        "target": n,
                        "requested_utc": iso_or_none(contacts, r.request_s[i]),
                        "tasked_utc": iso_or_none(contacts, r.tasked_s[i]),
                        "collected_utc": iso_or_none(contacts, r.collected_s[i]),
                        "delivered_utc": iso_or_none(contacts, r.delivered_s[i]),
                        "satellite": contacts.sat_names[r.sat_index[i]] if r.sat_index[i] >= 0 else None,
                        "delivery_latency_min": round(float(r.latency_s[i]) / 60.0, 3)
                        if r.delivered[i]
                        else None,
                    }
                    for n, r in zip(names, results, strict=True)
                    for i in range(len(r.request_s))
                ],
            }
        )
    else:
        title = (
            f"{const.name} ({len(const)} sats), {len(station_list)} stations: request to delivered image, "
            f"{iso(t0)} + {hours:g} h"
        )
        emit_rows(
            rows, DELIVERY_COLUMNS if fmt == "table" else CSV_COLUMNS, fmt, title=title, parameters=parameters
        )
    if late:
        warn(
            f"{late} requests not delivered by {iso(t1)}: left out of the statistics "
            "(a longer --horizon-hours gives them time)"
        )


def iso_or_none(contacts: Any, seconds: float) -> str | None:
    if not np.isfinite(seconds):
        return None
    return str(np.datetime_as_string(contacts.utc(np.array([seconds]))[0], unit="s")) + "Z"


#: H3 cells of one area: a country at 1 km is about 400,000
MAX_COVERAGE_CELLS = 1_000_000
COVERAGE_FORMATS = ("table", "csv", "json")
COVERAGE_COLUMNS = (
    Column("satellite", "satellite"),
    Column("start (UTC)", "start_utc"),
    Column("stop (UTC)", "stop_utc"),
    Column("side", "look_side"),
    Column("inc near", "incidence_near_deg", lambda v: f"{v:.1f}", "right"),
    Column("inc far", "incidence_far_deg", lambda v: f"{v:.1f}", "right"),
    Column("km2", "covered_km2", lambda v: f"{v:,.0f}", "right"),
    Column("% of area", "covered_pct", lambda v: f"{v:.2f}", "right"),
    Column("% new", "new_pct", lambda v: f"{v:.2f}", "right"),
    Column("% total", "cumulative_pct", lambda v: f"{v:.2f}", "right"),
)


@eo_app.command("coverage")
def coverage(
    constellation: ConstOption,
    start: Annotated[str, typer.Option(help="ISO-8601 start; offsets and Z accepted, naive is UTC")],
    aoi: Annotated[Path, typer.Option(help="GeoJSON polygons (areas to cover)")],
    mode: Annotated[str, typer.Option(help="SAR mode: spotlight, stripmap or scansar")] = "stripmap",
    look_side: Annotated[str, typer.Option("--look-side", help="left, right or both")] = "both",
    hours: Annotated[float, typer.Option(help=f"period [h], (0, {MAX_PLAN_HOURS:g}]")] = 24.0,
    spacing_km: Annotated[
        float,
        typer.Option(
            "--spacing-km",
            help=f"area sampling (H3 cells) [km], {MIN_SPACING_KM:g} to {MAX_SPACING_KM:g}; "
            "a strip is resolved to about this at its edges",
        ),
    ] = 2.0,
    step_s: AccessStepOption = 60.0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
    png: Annotated[Path | None, typer.Option(help="write the coverage map (PNG) here")] = None,
    geojson: Annotated[
        Path | None, typer.Option(help="write the strips (GeoJSON polygons with their coverage) here")
    ] = None,
    force: ForceOption = False,
    db: DbOption = None,
) -> None:
    """Area coverage by SAR strips: each pass's swath over the area, per pass and accumulated."""
    from kizuna.eo import parse_geojson, sample_points
    from kizuna.eo.coverage import strip_coverage
    from kizuna.eo.sensors import SAR_MODES

    fmt = output_format(fmt, "--format", COVERAGE_FORMATS)
    if mode not in SAR_MODES:
        fail(f"--mode {mode!r}: use one of {', '.join(SAR_MODES)}")
    if look_side not in ("left", "right", "both"):
        fail(f"--look-side {look_side!r}: use left, right or both")
    t0 = parse_time(start, "--start")
    positive(hours, "--hours", maximum=MAX_PLAN_HOURS, unit="h")
    t1 = t0 + timedelta(hours=hours)
    supported_window(t0, t1, "--start/--hours")
    # The coarse access step: edges are refined to well under 1 s whatever it is, so a finer step
    # only multiplies memory (a day at 1 ms is 86 M states a satellite).
    check_number(step_s, "--step-s", minimum=MIN_ACCESS_STEP_S, maximum=MAX_ACCESS_STEP_S, unit="s")
    grid_steps((t1 - t0).total_seconds(), step_s)
    check_number(spacing_km, "--spacing-km", minimum=MIN_SPACING_KM, maximum=MAX_SPACING_KM, unit="km")
    text = read_text(aoi, "--aoi")
    output_file(png, "--png", force=force)
    output_file(geojson, "--geojson", force=force)
    try:
        areas = [a for a in parse_geojson(text, str(aoi)) if a.kind != "point"]
        if not areas:
            fail(f"--aoi {aoi}: no Polygon or MultiPolygon to cover")
        targets = sample_points(areas, spacing_km)
        if len(targets) > MAX_COVERAGE_CELLS:
            fail(
                f"--spacing-km {spacing_km:g}: {len(targets)} cells; at most {MAX_COVERAGE_CELLS} "
                "(a larger --spacing-km samples the area coarser)"
            )
        const = resolve_constellation(constellation, db, t0)
        with progress() as bar:
            bar.add_task(f"strips {len(const)} satellites x {len(targets)} cells", total=None)
            cov = strip_coverage(const, targets, t0, t1, mode, look_side=look_side, step_s=step_s)
    except (KizunaError, ValueError) as exc:
        fail(exc)
    rows = [p.as_dict(cov.area_km2) for p in cov.passes]
    spec = SAR_MODES[mode]
    parameters = {
        "constellation": const.name,
        "satellites": len(const),
        "mode": mode,
        "swath_km": spec["swath_km"],
        "incidence_deg": f"{spec['inc_min_deg']:g}-{spec['inc_max_deg']:g}",
        "look_side": look_side,
        "start_utc": iso(t0),
        "stop_utc": iso(t1),
        "area_km2": round(cov.area_km2, 3),
        "cells": len(targets),
        "spacing_km": spacing_km,
        "covered_pct": round(cov.covered_pct, 3),
    }
    if png is not None:
        from kizuna.plots.eo_delivery import plot_coverage_map

        starts_h = np.array(
            [(p.start_utc - np.datetime64(t0.replace(tzinfo=None), "ns")) for p in cov.passes]
        )
        first_h = np.full(len(targets), np.nan)
        seen = cov.first_pass >= 0
        if seen.any():
            first_h[seen] = starts_h[cov.first_pass[seen]].astype("int64") / 3.6e12
        plot_coverage_map(
            targets.lon_deg,
            targets.lat_deg,
            first_h,
            [p.outline_lonlat for p in cov.passes],
            png,
            f"{const.name}, {mode}: {cov.covered_pct:.1f} % of {cov.area_km2:,.0f} km2 in {hours:g} h",
        )
    if geojson is not None:
        doc = {
            "type": "FeatureCollection",
            "parameters": parameters,
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [np.round(p.outline_lonlat, 6).tolist()]},
                    "properties": row,
                }
                for p, row in zip(cov.passes, rows, strict=True)
            ],
        }
        with atomic_output(geojson) as fh:
            print_json(doc, fh)
    title = (
        f"{const.name} ({len(const)} sats), {mode}: {len(rows)} strips, {cov.covered_pct:.2f} % of "
        f"{cov.area_km2:,.0f} km2 covered, {iso(t0)} + {hours:g} h"
    )
    emit_rows(rows, COVERAGE_COLUMNS, fmt, title=title, parameters=parameters, key="passes")
