"""`kizuna mw replay`: feed a simulated launch through the live node, as marked products.

Wiring only: the flight comes from :func:`kizuna.mw.trajectory.fly`, the products from
:func:`kizuna.mw.products.replay_products` (a replay sensor pair, stated there, stands in for a
warning architecture), and each product is published by this node (signed, stored, audited) at its
time in the flight, scaled by ``--speed``; a node served on the same database (`kizuna serve`)
gives them to its partners as they are published. Every payload says ``synthetic: true``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import typer

from kizuna.cli._common import (
    TABLE_FORMATS,
    Column,
    DbOption,
    check_choice,
    check_number,
    count,
    emit_rows,
    fail,
    identifier,
    note,
    parse_time,
    positive,
)
from kizuna.cli.mw import mw_app
from kizuna.cli.share import KeysOption, PartnersOption, _node
from kizuna.errors import KizunaError

REPLAY_CLASSES = ("SRBM", "MRBM", "IRBM", "ICBM")  # ballistic: the impact prediction is a ballistic coast
REPLAY_PROFILES = ("minimum_energy", "lofted", "depressed")
DEFAULT_MARKING = "SECRET//REL TO USA, JPN"
MAX_SPEED = 1000.0
MAX_SEED = 2**32 - 1

COLUMNS = (
    Column("t+ s", "time_s", lambda v: f"{v:.0f}", "right"),
    Column("time (UTC)", "t_utc"),
    Column("type", "type"),
    Column("summary", "summary"),
    Column("marking", "banner"),
    Column("id", "id"),
)


def _latlon(text: str, option: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        fail(f"{option} {text!r}: wants LAT,LON in degrees")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        fail(f"{option} {text!r}: wants LAT,LON in degrees")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        fail(f"{option} {text!r}: LAT and LON must be finite")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 360.0):
        fail(f"{option} {text!r}: LAT within -90..90 and LON within -180..360")
    return lat, lon


def _summary(kind: str, p: dict[str, object]) -> str:
    if kind == "launch_event":
        fix = p.get("first_fix")
        where = f" at {fix['lat_deg']:.2f}, {fix['lon_deg']:.2f}" if isinstance(fix, dict) else ""
        return f"launch detected{where} by {len(p['sensors'])} sensor(s)"  # type: ignore[arg-type]
    if kind == "track_update":
        return f"alt {p['alt_km']:.0f} km, {p['speed_m_s']:.0f} m/s, sigma {p['position_sigma_m']:.0f} m"
    e = p["ellipse"]
    assert isinstance(e, dict)
    return (
        f"impact {p['impact_lat_deg']:.3f}, {p['impact_lon_deg']:.3f} in {p['warning_time_s']:.0f} s, "
        f"{e['semi_major_km']:.1f} x {e['semi_minor_km']:.1f} km"
        + (" (instantaneous, thrusting)" if p.get("thrusting") else "")
    )


@mw_app.command("replay")
def replay(
    partners: PartnersOption,
    keys: KeysOption,
    db: DbOption = None,
    node_id: Annotated[
        str | None, typer.Option("--node-id", help="refuse unless the config is this node")
    ] = None,
    threat_class: Annotated[str, typer.Option("--threat-class", help="SRBM, MRBM, IRBM or ICBM")] = "MRBM",
    profile: Annotated[str, typer.Option(help="minimum_energy, lofted or depressed")] = "minimum_energy",
    apogee_km: Annotated[float | None, typer.Option(help="apogee of a lofted or depressed shot [km]")] = None,
    launch: Annotated[str, typer.Option(help="launch site LAT,LON [deg]")] = "39.0,125.7",
    target: Annotated[str, typer.Option(help="aim point LAT,LON [deg]")] = "40.0,134.0",
    launch_utc: Annotated[str | None, typer.Option("--launch-utc", help="launch time (default now)")] = None,
    marking: Annotated[str, typer.Option(help="banner every product is published under")] = DEFAULT_MARKING,
    track_interval_s: Annotated[float, typer.Option(help="seconds between track updates (1-600)")] = 10.0,
    frame_s: Annotated[
        float, typer.Option(help="sensor frame time [s] (0.1-60, at most the track interval)")
    ] = 2.0,
    firm_ratio: Annotated[
        float, typer.Option(help="publish a new impact prediction when its ellipse shrinks below this share")
    ] = 0.7,
    first_ellipse_km: Annotated[
        float, typer.Option(help="first impact prediction once its semi-major axis is within this [km]")
    ] = 200.0,
    sigma_urad: Annotated[float, typer.Option(help="replay sensors' angular noise [microradian]")] = 30.0,
    seed: Annotated[int, typer.Option(help="seed of the sensor noise")] = 0,
    speed: Annotated[float, typer.Option(help="flight seconds per wall second; 0 publishes at once")] = 0.0,
    actor: Annotated[str, typer.Option(help="who publishes (recorded in the audit log)")] = "mw-replay",
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Fly a simulated launch and publish its launch event, track updates and impact predictions."""
    from kizuna.share.markings import parse_banner
    from kizuna.share.products import Product

    check_choice(fmt, "--format", TABLE_FORMATS)
    if node_id is not None:
        identifier(node_id, "--node-id")
    check_choice(threat_class, "--threat-class", REPLAY_CLASSES)
    check_choice(profile, "--profile", REPLAY_PROFILES)
    if apogee_km is not None:
        positive(apogee_km, "--apogee-km", maximum=10_000.0, unit="km")
        if profile == "minimum_energy":
            fail("--apogee-km: a minimum-energy shot has its own apogee (use --profile lofted or depressed)")
    lat0, lon0 = _latlon(launch, "--launch")
    lat1, lon1 = _latlon(target, "--target")
    when = parse_time(launch_utc, "--launch-utc") if launch_utc is not None else datetime.now(UTC)
    check_number(track_interval_s, "--track-interval-s", minimum=1.0, maximum=600.0, unit="s")
    check_number(frame_s, "--frame-s", minimum=0.1, maximum=60.0, unit="s")
    if frame_s > track_interval_s:
        fail(f"--frame-s {frame_s:g}: must be at most --track-interval-s {track_interval_s:g}")
    check_number(firm_ratio, "--firm-ratio", minimum=0.0, exclusive_minimum=True, maximum=0.99)
    positive(first_ellipse_km, "--first-ellipse-km", maximum=20_000.0, unit="km")
    positive(sigma_urad, "--sigma-urad", maximum=10_000.0, unit="microradian")
    count(seed, "--seed", minimum=0, maximum=MAX_SEED)
    check_number(speed, "--speed", minimum=0.0, maximum=MAX_SPEED)
    if not actor.strip():
        fail("--actor: empty name")
    if not marking.strip():
        fail("--marking: empty banner")

    node = _node(db, partners, keys, node_id)
    try:
        try:
            banner = parse_banner(marking, node.config.markings)
        except (KizunaError, ValueError) as exc:
            fail(f"--marking {marking!r}: {exc}")

        from kizuna.mw.products import replay_products, replay_sensor_pair
        from kizuna.mw.trajectory import ShootingError, fly

        t_launch = np.datetime64(when.replace(tzinfo=None), "ns")
        try:
            traj = fly(
                threat_class,
                lat0,
                lon0,
                lat1,
                lon1,
                profile=profile,
                apogee_km=apogee_km,
                launch_utc=t_launch,
            )
        except ShootingError as exc:
            fail(f"--target {target}: {exc}")
        sensors = replay_sensor_pair(lon0, sigma_rad=sigma_urad * 1e-6)
        products = replay_products(
            traj,
            sensors,
            frame_s=frame_s,
            track_interval_s=track_interval_s,
            firm_ratio=firm_ratio,
            first_ellipse_max_km=first_ellipse_km,
            seed=seed,
        )
        note(
            f"{traj.threat_id}: {traj.flight_time_s:.0f} s flight, apogee {traj.apogee_km:.0f} km, "
            f"range {traj.ground_range_km:.0f} km; replay sensors {', '.join(sensors.names)}"
        )
        rows = []
        start = time.monotonic()
        for wp in products:
            if speed > 0:
                delay = start + wp.time_s / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            product = Product.new(wp.type, wp.payload, banner, node.node_id)
            try:
                signed = node.publish(product, actor=actor)
            except (KizunaError, ValueError) as exc:
                fail(f"--marking {marking!r}: {exc}")
            if speed > 0:  # live: say each product as it goes out
                note(f"t+{wp.time_s:.0f} s published {wp.type} {product.id}")
            rows.append(
                {
                    "time_s": round(wp.time_s, 1),
                    "t_utc": str(
                        wp.payload.get("t_utc")
                        or wp.payload.get("predicted_at_utc")
                        or wp.payload.get("detected_utc")
                    ),
                    "type": wp.type,
                    "summary": _summary(wp.type, wp.payload),
                    "banner": signed["banner"],
                    "id": product.id,
                }
            )
    finally:
        node.catalog.close()
    emit_rows(
        rows,
        COLUMNS,
        fmt,
        title=f"mw replay at {node.node_id}: {traj.threat_id}",
        parameters={
            "threat_class": threat_class,
            "profile": profile,
            "launch": [lat0, lon0],
            "target": [lat1, lon1],
            "launch_utc": str(t_launch) + "Z",
            "marking": marking,
            "track_interval_s": track_interval_s,
            "frame_s": frame_s,
            "sigma_urad": sigma_urad,
            "seed": seed,
            "speed": speed,
        },
        key="products",
    )
