"""`kizuna ais stream SOURCE`: live AIS into the store, events as they close, alerts to partners.

Wiring only: the loop is kizuna.ops.ais_stream, the incremental events kizuna.maritime.incremental.
Every option is checked before the feed is opened. Output: one JSON object per line on stdout,
``{"event": ...}`` for each closed event, ``{"alert": ...}`` for each alert and ``{"summary": ...}``
at the end; a status line on stderr every --status-s seconds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from kizuna.cli._common import (
    DbOption,
    check_choice,
    check_number,
    count,
    fail,
    finite_or_none,
    input_file,
    json_default,
    note,
    open_store,
    parse_bbox,
    positive,
    warn,
)
from kizuna.cli.maritime import ais_app
from kizuna.errors import KizunaError

MAX_FLUSH_S = 3600.0  # a batch held longer than an hour is no longer live
MAX_FLUSH_MESSAGES = 1_000_000
MAX_VESSELS = 1_000_000
MAX_WINDOW_H = 30 * 24.0
MAX_POINTS = 1_000_000
MAX_DARK_AFTER_H = 30 * 24.0
MAX_SHORE_NM = 100.0  # the bundled land mask answers distances up to 200 km (108 nm)
MAX_PORT_RADIUS_KM = 500.0
MAX_RETRY_S = 3600.0
MAX_IDLE_S = 30 * 86400.0
MAX_STATUS_S = 86400.0


@ais_app.command("stream")
def ais_stream(
    source: Annotated[
        str, typer.Argument(help="tcp://HOST:PORT (connect), udp://HOST:PORT (listen), or a file to follow")
    ],
    db: DbOption = None,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="gap|encounter|loitering|spoofing (repeat)")
    ] = None,
    no_shore: Annotated[
        bool, typer.Option("--no-shore", help="skip the distance-from-shore and on-land conditions")
    ] = False,
    flush_s: Annotated[float, typer.Option("--flush-s", help="store a batch at least this often [s]")] = 5.0,
    flush_messages: Annotated[
        int, typer.Option("--flush-messages", help="store a batch once it holds this many records")
    ] = 5_000,
    max_vessels: Annotated[
        int, typer.Option("--max-vessels", help="vessels held in memory (least recently heard evicted)")
    ] = 5_000,
    window_h: Annotated[float, typer.Option("--window-h", help="per-vessel window for events [h]")] = 48.0,
    max_points: Annotated[
        int, typer.Option("--max-points", help="positions held per vessel (oldest dropped)")
    ] = 1_440,
    aoi: Annotated[
        list[str] | None, typer.Option("--aoi", help="W,S,E,N box: alert on encounters inside (repeat)")
    ] = None,
    dark_after_h: Annotated[
        float, typer.Option("--dark-after-h", help="alert on a vessel silent this long [h]")
    ] = 12.0,
    dark_min_shore_nm: Annotated[
        float, typer.Option("--dark-min-shore-nm", help="dark-vessel alerts only this far offshore [nm]")
    ] = 50.0,
    sanctioned_ports: Annotated[
        Path | None,
        typer.Option(
            "--sanctioned-ports", help="CSV of ports (name, lat, lon): alert on gaps starting near one"
        ),
    ] = None,
    port_radius_km: Annotated[
        float, typer.Option("--port-radius-km", help="'near' a sanctioned port [km]")
    ] = 10.0,
    partners: Annotated[
        Path | None, typer.Option("--partners", help="this node's coalition config: publish alerts")
    ] = None,
    keys: Annotated[Path | None, typer.Option("--keys", help="this node's key directory")] = None,
    marking: Annotated[
        str,
        typer.Option("--marking", help="marking banner of published alerts, e.g. 'SECRET//REL TO USA, JPN'"),
    ] = "UNCLASSIFIED",
    events_log: Annotated[
        Path | None,
        typer.Option("--events", help="append events and alerts here (JSON lines); read back on restart"),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="stop at the end of the source (file end, TCP close)")
    ] = False,
    idle_exit_s: Annotated[
        float, typer.Option("--idle-exit-s", help="stop after this long without data [s] (0: never)")
    ] = 0.0,
    arrival_time: Annotated[
        bool, typer.Option("--arrival-time", help="stamp untimed reports with the time they were read")
    ] = False,
    retry_max_s: Annotated[
        float, typer.Option("--retry-max-s", help="longest wait between reconnects [s]")
    ] = 60.0,
    max_retries: Annotated[
        int, typer.Option("--max-retries", help="reconnects in a row before giving up (0: never give up)")
    ] = 0,
    status_s: Annotated[float, typer.Option("--status-s", help="status line interval [s]")] = 10.0,
) -> None:
    """Decode a live AIS feed continuously: store it, update events, publish alerts through the node.

    Stops on SIGINT/SIGTERM (or --once / --idle-exit-s), storing and reporting what it holds first.
    """
    from kizuna.maritime.events import EVENT_TYPES
    from kizuna.maritime.incremental import StreamLimits
    from kizuna.ops.ais_stream import (
        AisStream,
        AlertRules,
        Backoff,
        StreamConfig,
        StreamSourceError,
        node_publisher,
        parse_source,
        read_events_log,
        read_ports,
    )
    from kizuna.store.ais_store import AisStore

    try:
        src = parse_source(source)
    except StreamSourceError as exc:
        fail(f"SOURCE {exc}")
    if src.kind == "file" and src.path is not None:
        if src.path.is_dir():
            fail(f"SOURCE {src.path}: is a directory, not a file")
        if once and not src.path.exists():
            fail(f"SOURCE {src.path}: no such file")
    wanted = types or list(EVENT_TYPES)
    for t in wanted:
        check_choice(t, "--type", EVENT_TYPES)
    positive(flush_s, "--flush-s", maximum=MAX_FLUSH_S, unit="s")
    count(flush_messages, "--flush-messages", maximum=MAX_FLUSH_MESSAGES)
    count(max_vessels, "--max-vessels", maximum=MAX_VESSELS)
    positive(window_h, "--window-h", maximum=MAX_WINDOW_H, unit="h")
    count(max_points, "--max-points", minimum=2, maximum=MAX_POINTS)
    boxes = tuple(parse_bbox(a, "--aoi") for a in aoi or [])
    positive(dark_after_h, "--dark-after-h", maximum=MAX_DARK_AFTER_H, unit="h")
    check_number(dark_min_shore_nm, "--dark-min-shore-nm", minimum=0.0, maximum=MAX_SHORE_NM, unit="nm")
    positive(port_radius_km, "--port-radius-km", maximum=MAX_PORT_RADIUS_KM, unit="km")
    check_number(idle_exit_s, "--idle-exit-s", minimum=0.0, maximum=MAX_IDLE_S, unit="s")
    positive(retry_max_s, "--retry-max-s", maximum=MAX_RETRY_S, unit="s")
    count(max_retries, "--max-retries", minimum=0, maximum=1_000_000)
    positive(status_s, "--status-s", maximum=MAX_STATUS_S, unit="s")
    ports: list[Any] = []
    if sanctioned_ports is not None:
        input_file(sanctioned_ports, "--sanctioned-ports")
        try:
            ports = read_ports(sanctioned_ports)
        except (KizunaError, UnicodeDecodeError, OSError) as exc:
            fail(f"--sanctioned-ports {exc}")
        if not ports:
            fail(f"--sanctioned-ports {sanctioned_ports}: no ports listed")
    if (partners is None) != (keys is None):
        fail("--partners and --keys go together (alerts are published through the node)")
    if partners is not None:
        input_file(partners, "--partners")
        assert keys is not None
        if not keys.is_dir():
            fail(f"--keys {keys}: no such directory")
    known_events: list[str] = []
    known_alerts: list[str] = []
    if events_log is not None:
        _check_log(events_log)
        try:
            known_events, known_alerts = read_events_log(events_log)
        except (KizunaError, UnicodeDecodeError, OSError) as exc:
            fail(f"--events {exc}")
    marking_value = _marking(marking, partners, keys)
    store = open_store(db)
    node = None
    if partners is not None and keys is not None:
        node = _node(store, partners, keys)
    shore = None
    if not no_shore:
        from kizuna.maritime.shore import default_shore, preload

        shore = default_shore()
        note("loading the GLOBE land mask (once per run)")
        preload()
    limits = StreamLimits(
        max_vessels=max_vessels, window_s=window_h * 3600.0, max_points_per_vessel=max_points
    )
    config = StreamConfig(
        source=src,
        flush_s=flush_s,
        flush_messages=flush_messages,
        limits=limits,
        rules=AlertRules(
            aois=boxes,  # type: ignore[arg-type]
            dark_after_s=dark_after_h * 3600.0,
            dark_min_shore_nm=dark_min_shore_nm,
            sanctioned_ports=tuple(ports),
            port_radius_km=port_radius_km,
        ),
        backoff=Backoff(cap_s=retry_max_s, base_s=min(0.5, retry_max_s), max_retries=max_retries),
        once=once,
        idle_exit_s=idle_exit_s,
        arrival_time=arrival_time,
        status_s=status_s,
    )
    log_fh = events_log.open("a", encoding="utf-8") if events_log is not None else None

    def emit(kind: str, doc: dict[str, object]) -> None:
        line = json.dumps(finite_or_none({kind: doc}), default=json_default, allow_nan=False)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if log_fh is not None and not log_fh.closed and kind != "summary":
            log_fh.write(line + "\n")
            log_fh.flush()

    stop = threading.Event()
    from kizuna.cli.maritime import _identity_history
    from kizuna.maritime.events import detect_events, vessel_classes
    from kizuna.maritime.identity import attach_identity
    from kizuna.maritime.ports import load_ports
    from kizuna.maritime.tracks import clean_tracks

    ais_store = AisStore(store)
    ports = load_ports()

    def detect(positions: Any) -> list[Any]:  # noqa: ANN401 - PositionArrays in, events out
        # the same defaults as `ais events`: bundled ports, vessel classes from the static data so far
        return detect_events(
            clean_tracks(positions),
            wanted,
            shore=shore,
            step_s=config.step_s,
            ports=ports,
            classes_by_mmsi=vessel_classes(ais_store.statics()),
        )

    stream = AisStream(
        ais_store,
        config,
        detect,
        shore=shore,
        publisher=node_publisher(node, marking_value) if node is not None else None,
        on_event=lambda d: emit("event", d),
        on_alert=lambda d: emit("alert", d),
        log=warn,
        on_status=lambda s: note(s.line()),
        stop=stop,
        known_keys=known_events,
        known_alerts=known_alerts,
        # identity (name, flag, MMSI issues) as of each event, exactly as `ais events` attaches it
        enrich=lambda events: attach_identity(events, _identity_history(ais_store)),
    )
    note(
        f"streaming {src}: at most {max_vessels} vessels x {max_points} positions in memory "
        f"(<= {limits.max_bytes / 1e6:.0f} MB of windows), window {window_h:g} h"
        + ("" if node is not None else "; alerts not published (no --partners/--keys)")
    )
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        for s in previous:
            signal.signal(s, on_signal)
    try:
        status = stream.run()
    except KizunaError as exc:
        fail(f"SOURCE {exc}")
    finally:
        if in_main:
            for s, h in previous.items():
                signal.signal(s, h)
        if log_fh is not None:
            log_fh.close()
    summary = status.as_dict()
    summary["marking"] = marking_value.banner() if node is not None else None
    summary["memory_bound_bytes"] = limits.max_bytes
    emit("summary", summary)


def _check_log(path: Path) -> None:
    if path.is_dir():
        fail(f"--events {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        fail(f"--events {path}: directory {parent} does not exist")
    if not os.access(parent if not path.exists() else path, os.W_OK):
        fail(f"--events {path}: not writable")


def _marking(banner: str, partners: Path | None, keys: Path | None) -> Any:
    from kizuna.share.markings import parse_banner

    config = None
    if partners is not None:
        from kizuna.share.node import NodeConfig

        try:
            config = NodeConfig.load(partners).markings
        except (KizunaError, OSError, ValueError) as exc:
            fail(f"--partners {partners}: {exc}")
    try:
        return parse_banner(banner, config)
    except (KizunaError, ValueError) as exc:
        fail(f"--marking {banner!r}: {exc}")


def _node(store: Any, partners: Path, keys: Path) -> Any:
    from kizuna.share.node import Node, NodeConfig
    from kizuna.share.signing import Signer, load_private_key

    try:
        config = NodeConfig.load(partners)
    except (KizunaError, OSError, ValueError) as exc:
        fail(f"--partners {partners}: {exc}")
    key_path = keys / f"{config.node_id}.key.pem"
    input_file(key_path, "--keys")
    try:
        return Node(store, config, Signer(config.node_id, load_private_key(key_path)))
    except (KizunaError, OSError, ValueError) as exc:
        fail(f"--keys {key_path}: {exc}")
