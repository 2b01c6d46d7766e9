"""Live AIS: read a feed continuously, store it in batches, update events, publish alerts.

Sources (:func:`parse_source`):

- ``tcp://HOST:PORT`` connects to a feed server (an AIS receiver or aggregator serving NMEA lines)
  and reconnects after a drop with exponential backoff and full jitter (bounded delay, logged);
- ``udp://HOST:PORT`` binds that address and reads datagrams (receivers push UDP), each one or
  more NMEA lines;
- ``file:PATH`` or a plain path follows a file being appended, like ``tail -F``: read from its
  start, then wait for more, reopening it when it is replaced (new inode) or truncated.

Lines go through the NMEA decoder of ``kizuna ais load`` (:class:`kizuna.formats.ais.NmeaDecoder`):
multi-sentence messages, tag blocks, ``$PGHP`` and receiver-time suffixes behave as there, and
untimed reports are not stored (``arrival_time`` stamps them with the time they were read
instead). Records are stored by :class:`kizuna.store.ais_store.AisStore` in one transaction per
batch, a batch closing after ``flush_messages`` records or ``flush_s`` seconds, so the stored
positions are those ``ais load`` stores from the same lines. Each batch then updates
:class:`kizuna.maritime.incremental.IncrementalEvents`, whose events and the alerts derived from
them are handed to the caller's sinks and, given a node, published as ``maritime_alert`` products
under the configured marking.

Alerts (each once per key; product ids are derived from the key, so a restart republishes
nothing): ``dark_vessel`` (a vessel silent for ``dark_after_s`` by the stream clock whose last
position is at least ``dark_min_shore_nm`` offshore: a GFW gap starting), ``gap_near_sanctioned_port``
(silent, last seen within ``port_radius_km`` of a listed port) and ``encounter_in_aoi`` (an
encounter, open or closed, whose position lies in one of the AOI boxes). The stream clock is the
newest report time seen, so a replayed recording raises the alerts it would have raised live.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import random
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kizuna.errors import FormatError, FormatIssue, KizunaError
from kizuna.formats.ais import NmeaDecoder, split_records
from kizuna.maritime.incremental import (
    Detector,
    IncrementalEvents,
    SilentVessel,
    StreamLimits,
    event_key,
)
from kizuna.maritime.tracks import haversine_m
from kizuna.model.constants import METERS_PER_NM
from kizuna.model.maritime import MaritimeEvent, PositionArrays, VesselPosition
from kizuna.store.ais_store import AisStore

SCHEMES = ("tcp", "udp", "file")
_READ_TIMEOUT_S = 0.25  # how often a blocked read looks at the stop flag and the flush timer
_MAX_LINE_BYTES = 4096  # an NMEA sentence is at most 82 characters; tag blocks add a few dozen
_MAX_ISSUES_KEPT = 200
MAX_ALERT_KEYS = 100_000  # alert keys remembered against repeats (about 10 MB)  # issues are counted; only the first ones are kept for the summary


class StreamSourceError(KizunaError, ValueError):
    """A source address that cannot be read (bad scheme, host or port)."""


@dataclass(frozen=True)
class StreamSource:
    kind: str  # "tcp" | "udp" | "file"
    host: str = ""
    port: int = 0
    path: Path | None = None

    def __str__(self) -> str:
        return f"file:{self.path}" if self.kind == "file" else f"{self.kind}://{self.host}:{self.port}"


def parse_source(text: str) -> StreamSource:
    """``tcp://HOST:PORT``, ``udp://HOST:PORT``, ``file:PATH`` or a path (followed like tail -F)."""
    s = text.strip()
    if not s:
        raise StreamSourceError("empty source; use tcp://HOST:PORT, udp://HOST:PORT or file:PATH")
    if s.startswith("file:"):
        path = s[5:].removeprefix("//")
        if not path:
            raise StreamSourceError(f"{text!r}: file: needs a path")
        return StreamSource("file", path=Path(path))
    if "://" not in s:
        return StreamSource("file", path=Path(s))
    scheme, _, rest = s.partition("://")
    if scheme.lower() not in ("tcp", "udp"):
        raise StreamSourceError(f"{text!r}: unknown scheme {scheme!r}; use tcp://, udp:// or file:")
    host, sep, port_text = rest.rstrip("/").rpartition(":")
    if not sep or not host:
        raise StreamSourceError(f"{text!r}: wants {scheme}://HOST:PORT")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:10110
    if not port_text.isdigit():
        raise StreamSourceError(f"{text!r}: port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise StreamSourceError(f"{text!r}: port {port} is outside 1-65535")
    if any(c.isspace() or c in "/?#@" for c in host):
        raise StreamSourceError(f"{text!r}: {host!r} is not a host name or address")
    return StreamSource(scheme.lower(), host, port)


@dataclass(frozen=True)
class Port:
    name: str
    lat_deg: float
    lon_deg: float


def read_ports(path: Path) -> list[Port]:
    """A port list as CSV with a header: a name column (name, port_name, main_port_name), latitude
    (lat, lat_deg, latitude) and longitude (lon, lon_deg, longitude); lines starting with ``#`` are
    notes. Raises naming file, line and field."""
    with path.open(encoding="utf-8", newline="") as fh:
        numbered = [(n, line) for n, line in enumerate(fh, start=1) if not line.lstrip().startswith("#")]
    rows = list(csv.reader(line for _n, line in numbered))
    if not rows:
        raise FormatError(str(path), 1, "header", "empty file")
    line_of = [n for n, _line in numbered]  # comment lines (provenance notes) skipped, numbers kept
    head = [h.strip().lower() for h in rows[0]]

    def col(names: tuple[str, ...], what: str) -> int:
        for n in names:
            if n in head:
                return head.index(n)
        raise FormatError(str(path), line_of[0], "header", f"no {what} column (have: {', '.join(head)})")

    i_name = col(("name", "port_name", "main_port_name"), "name")
    i_lat = col(("lat", "lat_deg", "latitude"), "latitude")
    i_lon = col(("lon", "lon_deg", "longitude"), "longitude")
    ports = []
    for k, row in enumerate(rows[1:], start=1):
        line = line_of[k] if k < len(line_of) else k + 1
        if not any(c.strip() for c in row):
            continue
        try:
            lat, lon = float(row[i_lat]), float(row[i_lon])
        except (ValueError, IndexError):
            raise FormatError(str(path), line, "lat/lon", "not a number") from None
        if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
            raise FormatError(str(path), line, "lat/lon", f"impossible position {lat}, {lon}")
        ports.append(Port(row[i_name].strip() if i_name < len(row) else "", lat, lon))
    return ports


@dataclass(frozen=True)
class AlertRules:
    aois: tuple[tuple[float, float, float, float], ...] = ()  # W,S,E,N boxes for encounter alerts
    dark_after_s: float = 12 * 3600.0  # the GFW gap length
    dark_min_shore_nm: float = 50.0  # the GFW gap's offshore condition (at the gap's start)
    sanctioned_ports: tuple[Port, ...] = ()
    port_radius_km: float = 10.0


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: the n-th retry waits uniform(0, min(cap, base * 2**n))."""

    base_s: float = 0.5
    cap_s: float = 60.0
    max_retries: int = 0  # 0: retry for ever

    def delay(self, attempt: int) -> float:
        return random.uniform(0.0, min(self.cap_s, self.base_s * 2 ** min(attempt, 62)))


@dataclass(frozen=True)
class StreamConfig:
    source: StreamSource
    flush_s: float = 5.0
    flush_messages: int = 5_000
    limits: StreamLimits = field(default_factory=StreamLimits)
    step_s: float = 600.0
    rules: AlertRules = field(default_factory=AlertRules)
    backoff: Backoff = field(default_factory=Backoff)
    once: bool = False  # stop at the end of the source instead of waiting / reconnecting
    idle_exit_s: float = 0.0  # stop after this long without a line (0: never)
    arrival_time: bool = False  # stamp untimed reports with the time they were read
    status_s: float = 10.0
    connect_timeout_s: float = 10.0


@dataclass
class StreamStatus:
    source: str
    lines: int = 0
    positions_loaded: int = 0
    positions_duplicate: int = 0
    positions_untimed: int = 0
    statics: int = 0
    batches: int = 0
    issues: int = 0
    events: int = 0
    alerts: int = 0
    published: int = 0
    connections: int = 0
    reconnects: int = 0
    vessels_tracked: int = 0
    vessels_evicted: int = 0
    points_in_windows: int = 0
    clock_utc: str | None = None
    stopped_by: str = ""
    first_issues: list[FormatIssue] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "first_issues"}
        d["errors"] = [i.as_dict() for i in self.first_issues]
        return d

    def line(self) -> str:
        return (
            f"{self.source}: {self.lines} lines, {self.positions_loaded} positions stored "
            f"({self.positions_duplicate} duplicate, {self.positions_untimed} untimed), "
            f"{self.vessels_tracked} vessels, {self.events} events, {self.alerts} alerts, "
            f"{self.issues} bad lines, {self.reconnects} reconnects"
            + (f", clock {self.clock_utc}" if self.clock_utc else "")
        )


class _Stop(Exception):
    pass


def alert_product_id(originator: str, key: str) -> str:
    """A product id bound to `originator` (its 48-bit tag, as kizuna.share.products mints them) whose
    other bits come from SHA-256 of the alert key: the same alert always gets the same id."""
    from kizuna.share.products import ID_PREFIX, originator_tag

    digest = int.from_bytes(hashlib.sha256(f"kizuna maritime alert\n{key}".encode()).digest()[:10])
    bits = digest >> 6  # 74 bits
    value = (int(originator_tag(originator), 16) << 80) | (0x8 << 76) | ((bits >> 62) << 64)
    value |= (0b10 << 62) | (bits & ((1 << 62) - 1))
    return ID_PREFIX + str(uuid.UUID(int=value))


def _iso(t: np.datetime64) -> str:
    return str(np.asarray(t).astype("datetime64[ms]")) + "Z"


class AisStream:
    """One live feed into one store. ``run()`` returns when stopped (``stop`` set, end of source
    with ``once``, idle limit, retries exhausted), after flushing what it holds."""

    def __init__(
        self,
        store: AisStore,
        config: StreamConfig,
        detector: Detector,
        *,
        shore: Any = None,
        publisher: Callable[[dict[str, object]], bool] | None = None,
        on_event: Callable[[dict[str, object]], None] | None = None,
        on_alert: Callable[[dict[str, object]], None] | None = None,
        log: Callable[[str], None] | None = None,
        on_status: Callable[[StreamStatus], None] | None = None,
        stop: threading.Event | None = None,
        known_keys: Sequence[str] = (),
        known_alerts: Sequence[str] = (),
        enrich: Callable[[list[MaritimeEvent]], list[MaritimeEvent]] | None = None,
    ):
        self.store = store
        self.config = config
        self.shore = shore
        # what `ais events` adds to detected events before printing them (e.g. vessel identity)
        self.enrich = enrich or (lambda events: events)
        self.events = IncrementalEvents(detector, config.limits, step_s=config.step_s)
        self.events.remember(known_keys)
        # alert keys raised (bounded: the oldest are forgotten first; an alert that old is not re-raised
        # anyway, its vessel having reported since or been evicted)
        self.alerted: OrderedDict[str, None] = OrderedDict((k, None) for k in known_alerts)
        self.publisher = publisher
        self.on_event = on_event or (lambda d: None)
        self.on_alert = on_alert or (lambda d: None)
        self.log = log or (lambda s: None)
        self.on_status = on_status
        self.stop = stop or threading.Event()
        self.status = StreamStatus(str(config.source))
        self.decoder = NmeaDecoder(str(config.source))
        self._lines: list[str] = []
        self._records: list[Any] = []
        self._last_flush = time.monotonic()
        self._last_status = time.monotonic()
        self._last_line = time.monotonic()

    # ------------------------------------------------------------------ main loop
    def run(self) -> StreamStatus:
        try:
            for line in self._read():
                if line is not None:
                    self._lines.append(line)
                    self._last_line = time.monotonic()
                    if len(self._lines) >= min(1000, self.config.flush_messages):
                        self._decode()
                else:  # the source is quiet: decode what came (stored at the next flush)
                    self._decode()
                self._tick()
        except _Stop:
            pass
        self._flush(final=True)
        self._report_status(force=True)
        return self.status

    def _tick(self) -> None:
        now = time.monotonic()
        if self.stop.is_set():
            self.status.stopped_by = self.status.stopped_by or "signal"
            raise _Stop
        if self.config.idle_exit_s > 0 and now - self._last_line >= self.config.idle_exit_s:
            self.status.stopped_by = "idle"
            raise _Stop
        if now - self._last_flush >= self.config.flush_s:
            self._flush()
        self._report_status()

    def _decode(self) -> None:
        if not self._lines:
            return
        first = self.status.lines + 1
        lines, self._lines = self._lines, []
        self.status.lines += len(lines)
        records, _where, issues = self.decoder.feed(lines, first)
        if self.config.arrival_time:
            now = datetime.now(UTC)
            records = [
                dataclasses.replace(r, time_utc=now)
                if isinstance(r, VesselPosition) and r.time_utc is None
                else r
                for r in records
            ]
        self._records += records
        self._issues(issues)
        if len(self._records) >= self.config.flush_messages:
            self._flush()

    def _issues(self, issues: Sequence[FormatIssue]) -> None:
        self.status.issues += len(issues)
        room = _MAX_ISSUES_KEPT - len(self.status.first_issues)
        if room > 0:
            self.status.first_issues += list(issues[:room])
        for i in issues[: max(room, 0)][:5]:
            self.log(f"{i.file}:{i.line}: {i.field}: {i.message}")

    # ------------------------------------------------------------------ store, events, alerts
    def _flush(self, final: bool = False) -> None:
        self._decode()
        if final:
            self._issues(self.decoder.finish())
        self._last_flush = time.monotonic()
        records, self._records = self._records, []
        if records:
            pos, st = split_records(records)
            with self.store.engine.begin() as conn:
                loaded, dup, untimed = self.store.add_positions(pos, conn)
                self.status.statics += self.store.upsert_static(st, conn)
                self.store.record_static_history(st, conn)  # identity over time, as `ais load` keeps it
            self.status.positions_loaded += loaded
            self.status.positions_duplicate += dup
            self.status.positions_untimed += untimed
            self.status.batches += 1
            self.events.add(PositionArrays.from_records(pos))
        if not records and not final:
            return
        update = self.events.update(final=final)
        if update.closed or update.open:
            update.closed, update.open = self.enrich(update.closed), self.enrich(update.open)
        for e in update.closed:
            d = self._event_doc(e)
            self.status.events += 1
            self.on_event(d)
        for e in update.closed + update.open:
            if e.kind == "encounter" and self._in_aoi(e.lat_deg, e.lon_deg):
                self._alert("encounter_in_aoi", event_key(e), self._event_doc(e))
        for s in self.events.silent(self.config.rules.dark_after_s):
            self._silence(s)
        ev = self.events
        self.status.vessels_tracked = len(ev)
        self.status.vessels_evicted = ev.evicted
        self.status.points_in_windows = ev.points
        if ev.clock_ns is not None:
            self.status.clock_utc = _iso(np.datetime64(ev.clock_ns, "ns"))

    def _event_doc(self, e: MaritimeEvent) -> dict[str, object]:
        from kizuna.maritime.events import event_dict

        return {"key": event_key(e), **event_dict(e)}

    def _in_aoi(self, lat: float, lon: float) -> bool:
        for w, s, e, n in self.config.rules.aois:
            inside_lon = w <= lon <= e if w <= e else (lon >= w or lon <= e)
            if s <= lat <= n and inside_lon:
                return True
        return False

    def _silence(self, s: SilentVessel) -> None:
        rules = self.config.rules
        base = {
            "mmsi": s.mmsi,
            "last_utc": _iso(s.last_utc),
            "lat_deg": round(s.lat_deg, 6),
            "lon_deg": round(s.lon_deg, 6),
            "silent_s": round(s.silent_s, 1),
        }
        offshore_ok = True
        if self.shore is not None:
            d_m = float(np.asarray(self.shore.distance_to_shore_m(s.lat_deg, s.lon_deg)))
            base["shore_distance_km"] = round(min(d_m, 1e7) / 1000, 3)
            offshore_ok = d_m >= rules.dark_min_shore_nm * METERS_PER_NM
        key_tail = f"{s.mmsi}|{_iso(s.last_utc)}"
        if offshore_ok:
            definition = (
                f"dark vessel: no position for >= {rules.dark_after_s / 3600:g} h by the stream clock"
                + (
                    f", last seen >= {rules.dark_min_shore_nm:g} nm from shore (GFW gap start)"
                    if self.shore is not None
                    else " [distance-from-shore condition NOT applied: shore model disabled]"
                )
            )
            self._alert("dark_vessel", f"dark_vessel|{key_tail}", {**base, "definition": definition})
        if rules.sanctioned_ports:
            lat = np.array([p.lat_deg for p in rules.sanctioned_ports])
            lon = np.array([p.lon_deg for p in rules.sanctioned_ports])
            d = haversine_m(lat, lon, s.lat_deg, s.lon_deg)
            k = int(np.argmin(d))
            if d[k] <= rules.port_radius_km * 1000:
                port = rules.sanctioned_ports[k]
                definition = (
                    f"gap starting near a sanctioned port: no position for >= {rules.dark_after_s / 3600:g} h, "
                    f"last seen within {rules.port_radius_km:g} km of a listed port"
                )
                self._alert(
                    "gap_near_sanctioned_port",
                    f"gap_near_sanctioned_port|{key_tail}",
                    {
                        **base,
                        "port": port.name,
                        "port_distance_km": round(float(d[k]) / 1000, 3),
                        "definition": definition,
                    },
                )

    def _alert(self, kind: str, key: str, body: dict[str, object]) -> None:
        key = key if key.startswith(kind) else f"{kind}|{key}"
        if key in self.alerted:
            return
        self.alerted[key] = None
        while len(self.alerted) > MAX_ALERT_KEYS:
            self.alerted.popitem(last=False)
        doc: dict[str, object] = {"alert": kind, "key": key, **{k: v for k, v in body.items() if k != "key"}}
        self.status.alerts += 1
        if self.publisher is not None:
            try:
                if self.publisher(doc):
                    self.status.published += 1
            except (KizunaError, OSError, ValueError) as exc:
                self.log(f"alert {key}: not published ({exc})")
        self.on_alert(doc)

    def _report_status(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.on_status is not None and (force or now - self._last_status >= self.config.status_s):
            self._last_status = now
            self.on_status(self.status)

    # ------------------------------------------------------------------ sources
    def _read(self) -> Iterator[str | None]:
        kind = self.config.source.kind
        if kind == "tcp":
            return self._read_tcp()
        if kind == "udp":
            return self._read_udp()
        return self._read_file()

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            self._tick()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, _READ_TIMEOUT_S))

    def _retry(self, attempt: int, why: str) -> None:
        b = self.config.backoff
        if b.max_retries and attempt > b.max_retries:
            self.status.stopped_by = f"gave up after {b.max_retries} retries ({why})"
            self.log(self.status.stopped_by)
            raise _Stop
        delay = b.delay(attempt - 1)
        self.log(f"{self.config.source}: {why}; retry {attempt} in {delay:.1f} s")
        self._flush()
        self._wait(delay)

    def _split(self, buf: bytearray, data: bytes) -> Iterator[str]:
        buf += data
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > _MAX_LINE_BYTES:  # no newline in sight: garbage, not NMEA
                    yield buf.decode("ascii", errors="replace")
                    del buf[:]
                return
            line = bytes(buf[:nl]).rstrip(b"\r")
            del buf[: nl + 1]
            yield line.decode("ascii", errors="replace")

    def _read_tcp(self) -> Iterator[str | None]:
        src = self.config.source
        attempt = 0
        while True:
            try:
                sock = socket.create_connection((src.host, src.port), timeout=self.config.connect_timeout_s)
            except OSError as exc:
                attempt += 1
                self._retry(attempt, f"cannot connect ({exc.strerror or exc})")
                continue
            self.status.connections += 1
            if self.status.connections > 1:
                self.status.reconnects += 1
            self.log(f"{src}: connected")
            why = "connection closed by the server"
            buf = bytearray()
            try:
                sock.settimeout(_READ_TIMEOUT_S)
                while True:
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:
                        yield None
                        continue
                    if not data:
                        break
                    attempt = 0  # data flowed: the next drop starts the backoff afresh
                    yield from self._split(buf, data)
            except OSError as exc:
                why = f"connection lost ({exc.strerror or exc})"
            finally:
                sock.close()
            if buf:  # a sentence cut by the drop is incomplete: decoded (and reported) as it is
                yield buf.decode("ascii", errors="replace")
            if self.config.once:
                self.status.stopped_by = "end of stream"
                raise _Stop
            attempt += 1
            self._retry(attempt, why)

    def _read_udp(self) -> Iterator[str | None]:
        src = self.config.source
        family = socket.AF_INET6 if ":" in src.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((src.host, src.port))
            sock.settimeout(_READ_TIMEOUT_S)
            self.status.connections += 1
            self.log(f"{src}: listening")
            while True:
                try:
                    data, _addr = sock.recvfrom(65535)
                except TimeoutError:
                    yield None
                    continue
                buf = bytearray()
                yield from self._split(buf, data)
                if buf:  # a datagram is whole: its last line needs no newline
                    yield buf.decode("ascii", errors="replace")
        finally:
            sock.close()

    def _read_file(self) -> Iterator[str | None]:
        path = self.config.source.path
        assert path is not None
        attempt = 0
        while True:
            try:
                fh = path.open("rb")
            except OSError as exc:
                if self.config.once:
                    raise StreamSourceError(f"{path}: {exc.strerror or exc}") from None
                attempt += 1
                self._retry(attempt, f"cannot open ({exc.strerror or exc})")
                continue
            attempt = 0
            self.status.connections += 1
            if self.status.connections > 1:
                self.status.reconnects += 1
            ino = os.fstat(fh.fileno()).st_ino
            buf = bytearray()
            try:
                while True:
                    data = fh.read(65536)
                    if data:
                        yield from self._split(buf, data)
                        continue
                    if self.config.once:
                        if buf:
                            yield buf.decode("ascii", errors="replace")
                        self.status.stopped_by = "end of file"
                        raise _Stop
                    yield None
                    time.sleep(_READ_TIMEOUT_S)
                    try:
                        st = path.stat()
                    except OSError:
                        continue  # moved away: keep reading the old file until it reappears
                    if st.st_ino != ino or st.st_size < fh.tell():
                        self.log(f"{path}: replaced or truncated; reading it from the start")
                        break
            finally:
                fh.close()


# ---------------------------------------------------------------------------- publishing
def node_publisher(node: Any, marking: Any, actor: str = "ais-stream") -> Callable[[dict[str, object]], bool]:
    """Publish an alert document as a ``maritime_alert`` product of `node` under `marking`, once:
    the id is derived from the alert key, so an alert already stored (by an earlier run) is skipped.
    Returns whether it was published now."""
    from kizuna.share.products import Product

    def publish(doc: dict[str, object]) -> bool:
        pid = alert_product_id(node.node_id, str(doc["key"]))
        if node.share.stored_row(pid) is not None:
            return False
        payload = _plain_json(doc)
        node.publish(Product.new("maritime_alert", payload, marking, node.node_id, id=pid), actor=actor)
        return True

    return publish


def _plain_json(value: Any) -> Any:
    """JSON-ready: NaN and infinities as null (canonical JSON has neither), other values as text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def read_events_log(path: Path) -> tuple[list[str], list[str]]:
    """Event keys and alert keys already written to an events log (JSON lines) by an earlier run."""
    events: list[str] = []
    alerts: list[str] = []
    if not path.exists():
        return events, alerts
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                raise FormatError(str(path), line_no, "line", "not JSON") from None
            if isinstance(doc, dict) and isinstance(doc.get("event"), dict) and "key" in doc["event"]:
                events.append(str(doc["event"]["key"]))
            elif isinstance(doc, dict) and isinstance(doc.get("alert"), dict) and "key" in doc["alert"]:
                alerts.append(str(doc["alert"]["key"]))
    return events, alerts
