"""The live node's pipeline: watched directories -> durable jobs -> ingest, screening, products.

Each file that arrives in a watched directory becomes a job keyed by the SHA-256 of its bytes
(:mod:`kizuna.store.pipeline_jobs`); a runner takes jobs one at a time and runs their steps in order:

``ingest``
    the element sets into the catalog (one transaction per file; the store's (object, epoch) rule makes
    a second run a no-op).
``screen``
    the protected assets against the objects this file changed (its objects whose newest stored set is
    the one in the file): the whole catalog when a protected asset itself changed, otherwise only the
    protected assets and the changed objects. Each close approach that involves a changed object becomes
    a conjunction product marked by the first matching rule of the config, with an id derived from the
    job, the pair and the TCA; the products and the step's "done" row commit in one transaction.
``maneuvers``
    the maneuver detector over the stored history of each object whose history the file grew; the
    maneuvers this arrival can reveal become maneuver products (ids derived from object and window),
    committed with the step's row.

Why this queue and not Redis, NATS or a task framework: the job state and the products it makes must
commit atomically, and the only store that holds both is the node's database; a broker would add a
second source of truth (a crash between "product stored" and "message acked" duplicates or loses one)
and a service the demo's SQLite node does not have. PostgreSQL sites claim with ``FOR UPDATE SKIP
LOCKED``, so several runners may share a queue; on SQLite one runner works at a time.

Memory is bounded: files are hashed in 1 MiB chunks, the watcher remembers at most
:data:`SEEN_CACHE` (path, size, mtime) fingerprints, and it stops enqueueing when ``max_queued`` jobs
are waiting (the files stay in the directory and are taken on a later scan).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from kizuna.errors import KizunaError
from kizuna.model.records import ElementSet
from kizuna.share.markings import Marking, MarkingConfig, parse_banner
from kizuna.share.node import ConfigError, Node
from kizuna.share.products import Product, derived_product_id
from kizuna.store.pipeline_jobs import JobLedger, JobRecord

if TYPE_CHECKING:
    from kizuna.ops.ais_batches import StreamSettings

KINDS = ("elements", "ais", "sar_detections", "cdm", "tdm")
# Each kind's steps in order (elements: `proximity` follows when the config has a proximity section).
STEPS = {
    "elements": ("ingest", "screen", "maneuvers"),
    "ais": ("ingest", "events"),
    "sar_detections": ("dark_vessels",),
    "cdm": ("ingest", "conjunction"),
    "tdm": ("observations",),
}
PRODUCT_KINDS = (
    "conjunction",
    "maneuver",
    "proximity_alert",
    "maritime_event",
    "dark_vessels",
    "observations",
)
# A maneuver needs sets after it to be seen (the detector's persistence test), so an arrival can reveal
# one a few sets back: those ending this long before the arrival's first new set are still published
# (ids derived from object and window, so one found again is not stored twice).
MANEUVER_LOOKBACK_DAYS = 10.0
SEEN_CACHE = 100_000  # file fingerprints remembered by the watcher (~200 bytes each)
HASH_CHUNK = 1 << 20
MAX_POLL_S = 3600.0
MAX_QUEUED = 1_000_000
MAX_SCREEN_DAYS = 7.0
MAX_PROXIMITY_KM = 5000.0
MAX_LOOKBACK_H = 720.0  # 30 days of AIS history per arrival at most
MAX_AOIS = 1000
MAX_AOI_VERTICES = 100_000
MAX_AOI_BYTES = 64 << 20
MAX_HTTP_SOURCES = 100
MAX_HTTP_BYTES = 1 << 30
# Files still being written: the convention is to write elsewhere (or under a dot/.part name) and
# rename into the directory; a file younger than this is also left for the next scan.
SETTLE_S = 0.2
_PARTIAL_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")


class PipelineError(KizunaError):
    """A job cannot run (its file vanished, no protected asset in the catalog, a bad marking rule)."""


# ------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class MarkingRule:
    """`product` products that involve an asset of `owner` (or one of `norad`; neither: every product)
    are marked `marking`. The first matching rule wins."""

    product: str
    marking: Marking
    banner: str
    owner: str | None = None
    norad: frozenset[int] = frozenset()
    aoi: str | None = None  # maritime products: one found in this area of interest

    def matches(
        self, product: str, owners: Sequence[str | None], objects: Sequence[int], areas: Sequence[str] = ()
    ) -> bool:
        if product != self.product:
            return False
        if self.aoi is not None and self.aoi not in areas:
            return False
        if self.owner is not None and self.owner not in {(o or "").upper() for o in owners}:
            return False
        return not self.norad or bool(self.norad & set(objects))


@dataclass(frozen=True)
class ProximitySettings:
    """`pipeline.proximity`: each element-set arrival watches the protected assets for objects coming
    within `range_km` over `days` from the newest arrived epoch (`sda.proximity.watch`)."""

    range_km: float = 50.0
    days: float = 1.0
    step_s: float = 60.0


@dataclass(frozen=True)
class AreaSettings:
    """One area of interest: a name and its polygons (rings of (lon, lat), GeoJSON order)."""

    name: str
    polygons: tuple[tuple[tuple[tuple[float, float], ...], ...], ...]


@dataclass(frozen=True)
class MaritimeSettings:
    """`pipeline.maritime`: AIS events (GFW definitions, `maritime.events`) of the vessels an AIS file
    reported, over `lookback_h` before its first position; only events inside an AOI are published."""

    aois: tuple[AreaSettings, ...] = ()
    events: tuple[str, ...] = ("gap", "encounter", "loitering", "spoofing", "port_visit")
    lookback_h: float = 24.0
    shore: bool = True


@dataclass(frozen=True)
class DarkSettings:
    """`pipeline.dark_vessels`: SAR detections matched with stored AIS (`maritime.dark`)."""

    gate_m: float = 1000.0
    time_tolerance_s: float = 60.0


@dataclass(frozen=True)
class HttpSource:
    """One `pipeline.http` entry: `url` fetched every `every_s` into the `kind` directory."""

    url: str
    kind: str
    every_s: float = 300.0
    timeout_s: float = 30.0
    max_bytes: int = 64 << 20


@dataclass(frozen=True)
class PipelineConfig:
    """The `pipeline:` section of a node config. Defaults work: a one-second poll, screening one day
    at a 10 km sphere, and products marked for this node alone until a rule releases them."""

    watch: Mapping[str, Path]
    default_marking: Marking
    default_banner: str
    poll_s: float = 1.0
    max_queued: int = 10_000
    protected_owner: str | None = None
    protected_norad: tuple[int, ...] = ()
    screen_days: float = 1.0
    threshold_km: float = 10.0
    step_s: float = 60.0
    stale_days: float = 14.0
    maneuvers: bool = True
    maneuver_history_days: float = 60.0
    rules: tuple[MarkingRule, ...] = field(default=())
    proximity: ProximitySettings | None = None
    maritime: MaritimeSettings = field(default_factory=MaritimeSettings)
    dark: DarkSettings = field(default_factory=DarkSettings)
    http: tuple[HttpSource, ...] = ()
    ais_stream: StreamSettings | None = None

    def steps(self, kind: str) -> tuple[str, ...]:
        """The steps a job of `kind` runs, in order."""
        extra = ("proximity",) if kind == "elements" and self.proximity is not None else ()
        return STEPS[kind] + extra

    def marking_for(
        self, product: str, owners: Sequence[str | None], objects: Sequence[int], areas: Sequence[str] = ()
    ) -> Marking:
        for rule in self.rules:
            if rule.matches(product, owners, objects, areas):
                return rule.marking
        return self.default_marking

    @classmethod
    def load(
        cls, config_path: Path, nation: str, clearance: str, markings: MarkingConfig
    ) -> PipelineConfig | None:
        """The section from the node config file (None when it has none)."""
        try:
            data = yaml.safe_load(config_path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{config_path}: cannot read: {exc}") from None
        if not isinstance(data, Mapping) or data.get("pipeline") is None:
            return None
        return cls.from_mapping(
            data["pipeline"], config_path.parent, str(config_path), nation, clearance, markings
        )

    @classmethod
    def from_mapping(
        cls,
        data: object,
        base: Path,
        source: str,
        nation: str,
        clearance: str,
        markings: MarkingConfig,
    ) -> PipelineConfig:
        """Validate the section; every error is one line naming `source` and the field."""

        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{source}: invalid pipeline configuration: pipeline.{key}: {problem}")

        if not isinstance(data, Mapping):
            raise bad("", "must be a mapping")
        known = (
            "watch",
            "poll_s",
            "max_queued",
            "protected",
            "screening",
            "maneuvers",
            "proximity",
            "maritime",
            "dark_vessels",
            "http",
            "ais_stream",
            "markings",
        )
        _no_unknown(data, known, "", bad)
        watch_raw = data.get("watch")
        if not isinstance(watch_raw, Mapping) or not watch_raw:
            raise bad("watch", f"a mapping of kind -> directory is needed; kinds: {list(KINDS)}")
        watch: dict[str, Path] = {}
        for kind, d in watch_raw.items():
            if kind not in KINDS:
                raise bad(f"watch.{kind}", f"unknown kind; this release watches: {list(KINDS)}")
            if not isinstance(d, str) or not d.strip():
                raise bad(f"watch.{kind}", "must be a directory path")
            path = (base / d).resolve()
            if not path.is_dir():
                raise bad(f"watch.{kind}", f"{path} is not a directory")
            watch[str(kind)] = path
        poll_s = _number(data, "poll_s", 1.0, 0.01, MAX_POLL_S, bad)
        max_queued = _whole(data, "max_queued", 10_000, 1, MAX_QUEUED, bad)
        prot = data.get("protected")
        owner: str | None = None
        norad: tuple[int, ...] = ()
        if prot is not None:
            if not isinstance(prot, Mapping):
                raise bad("protected", "must be a mapping with owner and/or norad")
            _no_unknown(prot, ("owner", "norad"), "protected.", bad)
            if prot.get("owner") is not None:
                if not isinstance(prot["owner"], str) or not prot["owner"].strip():
                    raise bad("protected.owner", "must be a SATCAT owner code such as JPN")
                owner = prot["owner"].strip().upper()
            norad = _norad_list(prot, "norad", "protected.norad", bad)
        if owner is None and not norad:
            owner = nation.upper()  # the node protects its own nation's payloads unless told otherwise
        scr = data.get("screening") or {}
        if not isinstance(scr, Mapping):
            raise bad("screening", "must be a mapping")
        _no_unknown(scr, ("days", "threshold_km", "step_s", "stale_days"), "screening.", bad)
        days = _number(scr, "days", 1.0, 1e-3, MAX_SCREEN_DAYS, bad, "screening.")
        threshold = _number(scr, "threshold_km", 10.0, 1e-3, 1000.0, bad, "screening.")
        step = _number(scr, "step_s", 60.0, 1.0, 3600.0, bad, "screening.")
        stale = _number(scr, "stale_days", 14.0, 0.01, 36525.0, bad, "screening.")
        man = data.get("maneuvers") or {}
        if not isinstance(man, Mapping):
            raise bad("maneuvers", "must be a mapping with enabled and history_days")
        _no_unknown(man, ("enabled", "history_days"), "maneuvers.", bad)
        enabled = man.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad("maneuvers.enabled", f"must be true or false, not {enabled!r}")
        history_days = _number(man, "history_days", 60.0, 1.0, 3660.0, bad, "maneuvers.")
        proximity = _proximity(data.get("proximity"), bad)
        maritime = _maritime(data.get("maritime"), base, bad)
        dark = _dark(data.get("dark_vessels"), bad)
        http = _http(data.get("http"), watch, bad)
        ais_stream = _ais_stream(data.get("ais_stream"), watch, bad)
        mk = data.get("markings") or {}
        if not isinstance(mk, Mapping):
            raise bad("markings", "must be a mapping with default and rules")
        _no_unknown(mk, ("default", "rules"), "markings.", bad)
        default_banner = str(mk.get("default") or f"{clearance}//REL TO {nation}")
        default_marking = _banner(default_banner, "markings.default", markings, bad)
        rules_raw = mk.get("rules") or []
        if not isinstance(rules_raw, list):
            raise bad("markings.rules", "must be a list")
        rules = []
        for i, r in enumerate(rules_raw):
            at = f"markings.rules[{i}]"
            if not isinstance(r, Mapping):
                raise bad(at, "must be a mapping with product, marking and optionally involves_owner/norad")
            _no_unknown(
                r, ("product", "marking", "involves_owner", "involves_norad", "in_aoi"), f"{at}.", bad
            )
            product = r.get("product")
            if product not in PRODUCT_KINDS:
                raise bad(f"{at}.product", f"{product!r} is not one of {list(PRODUCT_KINDS)}")
            if not isinstance(r.get("marking"), str):
                raise bad(f"{at}.marking", "missing (a banner such as 'SECRET//REL TO USA, JPN')")
            rule_owner = r.get("involves_owner")
            if rule_owner is not None and (not isinstance(rule_owner, str) or not rule_owner.strip()):
                raise bad(f"{at}.involves_owner", "must be a SATCAT owner code such as JPN")
            rules.append(
                MarkingRule(
                    str(product),
                    _banner(r["marking"], f"{at}.marking", markings, bad),
                    r["marking"],
                    rule_owner.strip().upper() if rule_owner else None,
                    frozenset(_norad_list(r, "involves_norad", f"{at}.involves_norad", bad)),
                    _rule_aoi(r.get("in_aoi"), f"{at}.in_aoi", maritime, bad),
                )
            )
        return cls(
            watch=watch,
            default_marking=default_marking,
            default_banner=default_banner,
            poll_s=poll_s,
            max_queued=max_queued,
            protected_owner=owner,
            protected_norad=norad,
            screen_days=days,
            threshold_km=threshold,
            step_s=step,
            stale_days=stale,
            maneuvers=enabled,
            maneuver_history_days=history_days,
            rules=tuple(rules),
            proximity=proximity,
            maritime=maritime,
            dark=dark,
            http=http,
            ais_stream=ais_stream,
        )


def _no_unknown(
    data: Mapping[Any, Any], known: Sequence[str], at: str, bad: Callable[[str, str], ConfigError]
) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise bad(f"{at}{unknown[0]}", f"unknown key; known: {list(known)}")


def _number(
    data: Mapping[str, Any],
    key: str,
    default: float,
    lo: float,
    hi: float,
    bad: Callable[[str, str], ConfigError],
    at: str = "",
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        raise bad(f"{at}{key}", f"must be a number from {lo:g} to {hi:g}, not {value!r}")
    return float(value)


def _whole(
    data: Mapping[str, Any],
    key: str,
    default: int,
    lo: int,
    hi: int,
    bad: Callable[[str, str], ConfigError],
    at: str = "",
) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise bad(f"{at}{key}", f"must be a whole number from {lo} to {hi}, not {value!r}")
    return value


def _section(
    data: object, key: str, known: Sequence[str], bad: Callable[[str, str], ConfigError]
) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise bad(key, f"must be a mapping with {', '.join(known)}")
    _no_unknown(data, known, f"{key}.", bad)
    return data


def _proximity(data: object, bad: Callable[[str, str], ConfigError]) -> ProximitySettings | None:
    """None (no proximity step) unless the section is there and not disabled."""
    if data is None:
        return None
    sec = _section(data, "proximity", ("enabled", "range_km", "days", "step_s"), bad)
    enabled = sec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad("proximity.enabled", f"must be true or false, not {enabled!r}")
    settings = ProximitySettings(
        range_km=_number(sec, "range_km", 50.0, 0.01, MAX_PROXIMITY_KM, bad, "proximity."),
        days=_number(sec, "days", 1.0, 1e-3, MAX_SCREEN_DAYS, bad, "proximity."),
        step_s=_number(sec, "step_s", 60.0, 1.0, 3600.0, bad, "proximity."),
    )
    return settings if enabled else None


def _maritime(data: object, base: Path, bad: Callable[[str, str], ConfigError]) -> MaritimeSettings:
    from kizuna.maritime.events import EVENT_TYPES

    sec = _section(data, "maritime", ("aois", "events", "lookback_h", "shore"), bad)
    events = sec.get("events", list(EVENT_TYPES))
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise bad("maritime.events", f"must be a list of event types from {list(EVENT_TYPES)}")
    for e in events:
        if e not in EVENT_TYPES:
            raise bad("maritime.events", f"{e!r} is not one of {list(EVENT_TYPES)}")
    shore = sec.get("shore", True)
    if not isinstance(shore, bool):
        raise bad("maritime.shore", f"must be true or false, not {shore!r}")
    return MaritimeSettings(
        aois=_aois(sec.get("aois"), base, bad),
        events=tuple(dict.fromkeys(events)),
        lookback_h=_number(sec, "lookback_h", 24.0, 0.0, MAX_LOOKBACK_H, bad, "maritime."),
        shore=shore,
    )


def _aois(data: object, base: Path, bad: Callable[[str, str], ConfigError]) -> tuple[AreaSettings, ...]:
    """A GeoJSON file (relative to the config) or a list of {name, polygon: [[lon, lat], ...]}."""
    from kizuna.eo.aoi import parse_geojson
    from kizuna.errors import FormatError

    if data is None:
        return ()
    if isinstance(data, str):
        path = (base / data).resolve()
        try:
            if path.stat().st_size > MAX_AOI_BYTES:
                raise bad("maritime.aois", f"{path} is larger than {MAX_AOI_BYTES >> 20} MiB")
            areas = parse_geojson(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise bad("maritime.aois", f"{path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise bad("maritime.aois", f"{path}: not UTF-8 text") from None
        except FormatError as exc:
            raise bad("maritime.aois", str(exc)) from None
        out = [
            AreaSettings(a.name, tuple(tuple(tuple(r) for r in p) for p in a.coordinates))
            for a in areas
            if a.kind == "polygon"
        ]
        if not out:
            raise bad("maritime.aois", f"{path}: has no Polygon or MultiPolygon feature")
        for a in out:
            _check_area(a, bad, "maritime.aois", f"{path}: {a.name}: ")
        return tuple(out)
    if not isinstance(data, list) or not data:
        raise bad("maritime.aois", "must be a GeoJSON file path or a list of {name, polygon}")
    if len(data) > MAX_AOIS:
        raise bad("maritime.aois", f"at most {MAX_AOIS} areas, not {len(data)}")
    inline = []
    for i, a in enumerate(data):
        at = f"maritime.aois[{i}]"
        if not isinstance(a, Mapping):
            raise bad(at, "must be a mapping with name and polygon")
        _no_unknown(a, ("name", "polygon"), f"{at}.", bad)
        name = a.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise bad(f"{at}.name", "must be a name of 1-200 characters")
        ring = a.get("polygon")
        if not isinstance(ring, list) or not 3 <= len(ring) <= MAX_AOI_VERTICES:
            raise bad(f"{at}.polygon", f"must be a list of 3-{MAX_AOI_VERTICES} [lon, lat] pairs")
        points: list[tuple[float, float]] = []
        for j, c in enumerate(ring):
            if (
                not isinstance(c, list)
                or len(c) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in c)
                or not (-180 <= c[0] <= 180 and -90 <= c[1] <= 90)
            ):
                raise bad(
                    f"{at}.polygon[{j}]",
                    f"must be [lon, lat] in degrees (lon -180..180, lat -90..90), not {c!r}",
                )
            points.append((float(c[0]), float(c[1])))
        if points[0] != points[-1]:
            points.append(points[0])  # the ring closes itself
        if len(set(points)) < 3:
            raise bad(f"{at}.polygon", "needs at least 3 distinct vertices")
        inline.append(_check_area(AreaSettings(name.strip(), ((tuple(points),),)), bad, f"{at}.polygon"))
    return tuple(inline)


def _check_area(
    area: AreaSettings, bad: Callable[[str, str], ConfigError], at: str, prefix: str = ""
) -> AreaSettings:
    """The area, once it is known to make a geometry (a ring across the antimeridian is cut there;
    one around a pole, or self-intersecting across it, is refused here rather than on every event)."""
    from kizuna.maritime.areas import area_geometry

    try:
        area_geometry(area.polygons)
    except ValueError as exc:
        raise bad(at, f"{prefix}{exc}") from None
    return area


def _ais_stream(
    data: object, watch: Mapping[str, Path], bad: Callable[[str, str], ConfigError]
) -> StreamSettings | None:
    """`tcp://HOST:PORT` (or udp://), or a mapping with source, batch_s, batch_lines, arrival_time."""
    from kizuna.ops.ais_batches import StreamSettings
    from kizuna.ops.ais_stream import StreamSourceError, parse_source

    if data is None:
        return None
    sec = {"source": data} if isinstance(data, str) else data
    known = ("source", "batch_s", "batch_lines", "arrival_time")
    sec = _section(sec, "ais_stream", known, bad)
    text = sec.get("source")
    if not isinstance(text, str) or "://" not in text:
        raise bad("ais_stream.source", "must be tcp://HOST:PORT or udp://HOST:PORT")
    try:
        source = parse_source(text)
    except StreamSourceError as exc:
        raise bad("ais_stream.source", str(exc)) from None
    if "ais" not in watch:
        raise bad("ais_stream", "needs pipeline.watch.ais: its batches are AIS jobs written there")
    arrival = sec.get("arrival_time", False)
    if not isinstance(arrival, bool):
        raise bad("ais_stream.arrival_time", f"must be true or false, not {arrival!r}")
    return StreamSettings(
        source=source,
        batch_s=_number(sec, "batch_s", 10.0, 0.1, 3600.0, bad, "ais_stream."),
        batch_lines=_whole(sec, "batch_lines", 5000, 1, 100_000, bad, "ais_stream."),
        arrival_time=arrival,
    )


def _rule_aoi(
    value: object, at: str, maritime: MaritimeSettings, bad: Callable[[str, str], ConfigError]
) -> str | None:
    if value is None:
        return None
    names = [a.name for a in maritime.aois]
    if not isinstance(value, str) or value not in names:
        raise bad(at, f"{value!r} is not an area of pipeline.maritime.aois ({names[:10]})")
    return value


def _dark(data: object, bad: Callable[[str, str], ConfigError]) -> DarkSettings:
    from kizuna.maritime.dark import MIN_GATE_M

    sec = _section(data, "dark_vessels", ("gate_m", "time_tolerance_s"), bad)
    return DarkSettings(
        gate_m=_number(sec, "gate_m", 1000.0, MIN_GATE_M, 100_000.0, bad, "dark_vessels."),
        time_tolerance_s=_number(sec, "time_tolerance_s", 60.0, 0.0, 86_400.0, bad, "dark_vessels."),
    )


def _http(
    data: object, watch: Mapping[str, Path], bad: Callable[[str, str], ConfigError]
) -> tuple[HttpSource, ...]:
    """Polled only when listed; each body lands in the watched directory of its kind."""
    from urllib.parse import urlsplit

    if data is None:
        return ()
    if not isinstance(data, list):
        raise bad("http", "must be a list of {url, kind, every_s}")
    if len(data) > MAX_HTTP_SOURCES:
        raise bad("http", f"at most {MAX_HTTP_SOURCES} sources, not {len(data)}")
    out = []
    for i, h in enumerate(data):
        at = f"http[{i}]"
        if not isinstance(h, Mapping):
            raise bad(at, "must be a mapping with url, kind and every_s")
        _no_unknown(h, ("url", "kind", "every_s", "timeout_s", "max_bytes"), f"{at}.", bad)
        url = h.get("url")
        if not isinstance(url, str) or len(url) > 2000:
            raise bad(f"{at}.url", "must be an http:// or https:// URL")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise bad(f"{at}.url", f"{url!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad(f"{at}.url", f"{url!r} is not an http:// or https:// URL with a host")
        if port == 0:
            raise bad(f"{at}.url", f"{url!r}: port 0 is not a port")
        if parts.username or parts.password:
            raise bad(f"{at}.url", "credentials in the URL are refused (they would be logged)")
        kind = h.get("kind")
        if kind not in KINDS:
            raise bad(f"{at}.kind", f"{kind!r} is not one of {list(KINDS)}")
        if kind not in watch:
            raise bad(
                f"{at}.kind", f"{kind!r} is not watched: add pipeline.watch.{kind} (its bodies land there)"
            )
        out.append(
            HttpSource(
                url=url,
                kind=str(kind),
                every_s=_number(h, "every_s", 300.0, 1.0, 86_400.0, bad, f"{at}."),
                timeout_s=_number(h, "timeout_s", 30.0, 0.1, 600.0, bad, f"{at}."),
                max_bytes=_whole(h, "max_bytes", 64 << 20, 1, MAX_HTTP_BYTES, bad, f"{at}."),
            )
        )
    return tuple(out)


def _norad_list(
    data: Mapping[str, Any], key: str, at: str, bad: Callable[[str, str], ConfigError]
) -> tuple[int, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 999_999_999 for n in value
    ):
        raise bad(at, "must be a list of NORAD ids (whole numbers from 1 to 999999999)")
    return tuple(value)


def _banner(
    text: object, at: str, markings: MarkingConfig, bad: Callable[[str, str], ConfigError]
) -> Marking:
    try:
        return parse_banner(str(text), markings)
    except (KizunaError, ValueError) as exc:
        raise bad(at, f"{text!r}: {exc}") from None


# ------------------------------------------------------------------ watching
def file_sha256(path: Path) -> str:
    """SHA-256 of a file read in 1 MiB chunks (memory stays flat however large the file)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class Watcher:
    """Scans the watched directories and enqueues each new content once. Remembers (path, size,
    mtime) -> sha256 for at most :data:`SEEN_CACHE` files, so an unchanged file is not hashed again,
    and which of them the ledger already holds, so a directory of processed files costs a stat per
    file and poll, not a database round."""

    def __init__(self, config: PipelineConfig, ledger: JobLedger, node: Node):
        self.config, self.ledger, self.node = config, ledger, node
        self._seen: OrderedDict[tuple[str, int, int], str] = OrderedDict()
        self._in_ledger: set[tuple[str, int, int]] = set()  # keys of _seen whose job is recorded

    def scan(self, now_s: float | None = None) -> int:
        """Enqueue what arrived; returns the number of new jobs."""
        now_s = time.time() if now_s is None else now_s
        found: list[tuple[str, str, str]] = []  # (kind, sha256, path)
        keys: dict[tuple[str, str], tuple[str, int, int]] = {}
        for kind, directory in self.config.watch.items():
            try:
                entries = sorted(directory.iterdir(), key=lambda p: p.name)
            except OSError:
                continue  # the directory went away: nothing to take this time
            for p in entries:
                if p.name.startswith(".") or p.name.endswith(_PARTIAL_SUFFIXES):
                    continue
                try:
                    st = p.stat()
                except OSError:
                    continue
                if not p.is_file() or now_s - st.st_mtime < SETTLE_S:
                    continue
                key = (str(p), st.st_size, st.st_mtime_ns)
                sha = self._seen.get(key)
                if sha is None:
                    try:
                        sha = file_sha256(p)
                    except OSError:
                        continue
                    self._seen[key] = sha
                    while len(self._seen) > SEEN_CACHE:
                        self._in_ledger.discard(self._seen.popitem(last=False)[0])
                else:
                    self._seen.move_to_end(key)
                    if key in self._in_ledger:
                        continue
                found.append((kind, sha, str(p)))
                keys[(kind, str(p))] = key
        if not found:
            return 0
        from kizuna.store.pipeline_jobs import job_id_for

        new = 0
        with self.node.share.write() as conn:
            known = self.ledger.known(conn, [job_id_for(k, s) for k, s, _ in found])
            room = self.config.max_queued - self.ledger.pending(conn)
            recorded = []
            for kind, sha, path in found:
                if job_id_for(kind, sha) not in known:
                    if room <= 0:
                        break  # bounded queue: the rest wait in the directory for a later scan
                    _, created = self.ledger.enqueue(conn, kind, sha, path)
                    known.add(job_id_for(kind, sha))
                    new += created
                    room -= created
                recorded.append(keys[(kind, path)])
        self._in_ledger.update(recorded)  # after the commit: only what the ledger really holds
        return new


# ------------------------------------------------------------------ running
@dataclass
class StepContext:
    """What one job's steps share while it runs (rebuilt from the file when a job resumes)."""

    job: JobRecord
    path: Path
    element_sets: list[ElementSet] = field(default_factory=list)


class StepFailed(PipelineError):
    pass


class Runner:
    """Runs queued jobs' steps in order, each committed with its ledger row; a step already done
    (before a crash) is skipped. `after_step(job_id, step)` is called after each commit (tests use it
    to crash between steps; `kizuna serve` could notify there)."""

    def __init__(
        self,
        node: Node,
        config: PipelineConfig,
        ledger: JobLedger | None = None,
        *,
        after_step: Callable[[str, str], None] | None = None,
        on_published: Callable[[Sequence[Product]], None] | None = None,
        log: Callable[[str], None] = lambda _m: None,
    ):
        self.node, self.config = node, config
        self.ledger = ledger or JobLedger(node.catalog)
        self.after_step = after_step
        self.on_published = on_published
        self.log = log

    def run_pending(self, max_jobs: int | None = None) -> list[str]:
        """Claim and run jobs until none is waiting (or `max_jobs`); returns the job ids run."""
        ran: list[str] = []
        while max_jobs is None or len(ran) < max_jobs:
            with self.node.share.write() as conn:
                job = self.ledger.claim(conn)
            if job is None:
                break
            self.run(job)
            ran.append(job.job_id)
        return ran

    def run(self, job: JobRecord) -> None:
        ctx = StepContext(job, Path(job.path))
        done = job.done_steps()
        for step in self.config.steps(job.kind):
            if step in done:
                continue
            started = datetime.now(UTC)
            try:
                self._step(job.kind, step)(ctx, started)
            except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, the runner goes on
                reason = f"{type(exc).__name__}: {exc}"[:2000]
                with self.node.share.write() as conn:
                    self.ledger.mark_step(conn, job.job_id, step, started, {}, error=reason)
                    self.ledger.finish(conn, job.job_id, error=f"{step}: {reason}")
                self.ledger.release(job.job_id)
                self.log(f"job {job.job_id} failed at {step}: {reason}")
                return
            if self.after_step is not None:
                self.after_step(job.job_id, step)
        with self.node.share.write() as conn:
            self.ledger.finish(conn, job.job_id)
        self.ledger.release(job.job_id)

    # ------------------------------------------------------------ steps
    def _step(self, kind: str, step: str) -> Callable[[StepContext, datetime], None]:
        """The function of `step` for a job of `kind`: the element-set steps are methods here, the
        other kinds' live in :mod:`kizuna.ops.pipeline_kinds` as `<kind>_<step>(runner, ctx, started)`."""
        if kind == "elements":
            return getattr(self, f"_step_{step}")
        from kizuna.ops import pipeline_kinds

        fn = getattr(pipeline_kinds, f"{kind}_{step}")
        return lambda ctx, started: fn(self, ctx, started)

    def read_checked(self, ctx: StepContext, max_bytes: int | None = None) -> bytes:
        """The job's file, refused when its content is no longer the job's (edited in place) or, with
        `max_bytes`, when it is larger (checked before reading)."""
        try:
            if max_bytes is not None and ctx.path.stat().st_size > max_bytes:
                raise StepFailed(f"{ctx.path}: larger than {max_bytes} bytes, the limit for this kind")
            raw = ctx.path.read_bytes()
        except OSError as exc:
            raise StepFailed(f"{ctx.path}: {exc.strerror or exc}") from None
        if hashlib.sha256(raw).hexdigest() != ctx.job.sha256:
            raise StepFailed(f"{ctx.path}: the file changed after it arrived; its new content is a new job")
        return raw

    def check_unchanged(self, ctx: StepContext) -> None:
        """Like :meth:`read_checked` for files that may be large: hashed in chunks, not held."""
        try:
            sha = file_sha256(ctx.path)
        except OSError as exc:
            raise StepFailed(f"{ctx.path}: {exc.strerror or exc}") from None
        if sha != ctx.job.sha256:
            raise StepFailed(f"{ctx.path}: the file changed after it arrived; its new content is a new job")

    def mark_and_publish(
        self,
        ctx: StepContext,
        step: str,
        started: datetime,
        products: Sequence[Product],
        counts: dict[str, object],
        *,
        grown: Callable[[Product, Product], bool] | None = None,
    ) -> list[Product]:
        """Store `products` (ids already stored are skipped, or published as their next version when
        `grown(stored head, product)`) and the step's done row in one transaction."""
        job_id = ctx.job.job_id

        def mark(conn: Any) -> None:
            self.ledger.mark_step(conn, job_id, step, started, counts)

        stored = self.node.publish_idempotent(products, actor=f"pipeline:{job_id}", within=mark, grown=grown)
        if stored:
            self.log(f"job {job_id}: published {len(stored)} {products[0].type} product(s)")
            self._published(stored)
        return stored

    def owners_of(self, norad_ids: Sequence[int]) -> dict[int, str | None]:
        return {
            e.norad_id: (e.space_object.owner if e.space_object else None)
            for e in self.node.catalog.search(norad_ids=list(norad_ids))
        }

    def _read_sets(self, ctx: StepContext) -> list[ElementSet]:
        from kizuna.formats.detect import read_bytes

        if not ctx.element_sets:
            raw = self.read_checked(ctx)
            result = read_bytes(raw, str(ctx.path))
            ctx.element_sets = [r for r in result.records if isinstance(r, ElementSet)]
        return ctx.element_sets

    def _step_ingest(self, ctx: StepContext, started: datetime) -> None:
        from kizuna.store.ingest import LoadSummary, load_file

        self._read_sets(ctx)  # checks the content is still the job's
        summary = load_file(self.node.catalog, ctx.path, LoadSummary())
        counts = {"loaded": summary.loaded, "duplicates": summary.duplicates, "rejected": summary.rejected}
        errors = [e.as_dict() for e in summary.errors[:20]]
        with self.node.share.write() as conn:
            self.ledger.mark_step(conn, ctx.job.job_id, "ingest", started, counts | {"first_errors": errors})

    def warm_up(self) -> None:
        """Screen one protected asset against itself for an hour (the result is discarded)."""
        from kizuna.sda.hbr import hbr_table  # noqa: F401 - imported for its cost, now
        from kizuna.sda.records import ScreeningVolume
        from kizuna.sda.screening import screen

        sets = self.node.catalog.latest_element_sets(sorted(self.protected_ids())[:1])
        if sets:
            t0 = sets[0].epoch_utc
            screen(
                sets,
                t0,
                t0 + timedelta(hours=1),
                primaries=[sets[0].norad_id],
                volume=ScreeningVolume.sphere(1.0),
            )

    def changed_objects(self, sets: Sequence[ElementSet]) -> list[ElementSet]:
        """The file's element sets that are their object's newest stored set: what this arrival changed
        (the same answer when a resumed job runs it again)."""
        newest = {e.norad_id: e for e in self.node.catalog.latest_element_sets({e.norad_id for e in sets})}
        mine: dict[int, ElementSet] = {}
        for e in sets:
            stored = newest.get(e.norad_id)
            if stored is not None and stored.epoch_utc == e.epoch_utc:
                mine[e.norad_id] = stored
        return [mine[n] for n in sorted(mine)]

    def changed_objects_all(self, sets: Sequence[ElementSet]) -> list[ElementSet]:
        """Every set of the file's objects whose newest stored set is in the file (their history grew)."""
        grown = {e.norad_id for e in self.changed_objects(sets)}
        return [e for e in sets if e.norad_id in grown]

    def protected_ids(self) -> set[int]:
        ids = set(self.config.protected_norad)
        if self.config.protected_owner:
            ids |= {
                e.norad_id
                for e in self.node.catalog.search(owner=self.config.protected_owner, object_type="PAYLOAD")
            }
        return ids

    def screen_products(
        self, job_id: str, changed: Sequence[ElementSet]
    ) -> tuple[list[Product], dict[str, object]]:
        """Screen the protected assets against what changed; the conjunction products (not stored)."""
        from kizuna.sda.hbr import hbr_table
        from kizuna.sda.records import ScreeningVolume
        from kizuna.sda.screening import screen

        cfg = self.config
        protected = self.protected_ids()
        changed_ids = {e.norad_id for e in changed}
        counts: dict[str, object] = {"changed_objects": len(changed_ids), "protected": len(protected)}
        if not changed_ids or not protected:
            return [], counts | {"events": 0, "products": 0}
        catalog = self.node.catalog
        if protected & changed_ids:
            sets = catalog.latest_element_sets()  # a protected asset moved: against everything
        else:
            sets = catalog.latest_element_sets(protected | changed_ids)
        primaries = sorted(n for n in protected if n in {e.norad_id for e in sets})
        # The window starts at the newest changed epoch (to the hour): the time these elements describe.
        t0 = max(e.epoch_utc for e in changed).replace(minute=0, second=0, microsecond=0)
        t0 = t0 if t0.tzinfo else t0.replace(tzinfo=UTC)
        t1 = t0 + timedelta(days=cfg.screen_days)
        involved = protected | changed_ids
        entries = catalog.search(norad_ids=involved)
        owners = {e.norad_id: (e.space_object.owner if e.space_object else None) for e in entries}
        hbr = hbr_table([e.space_object for e in entries if e.space_object is not None], [])
        result = screen(
            sets,
            t0,
            t1,
            primaries=primaries,
            volume=ScreeningVolume.sphere(cfg.threshold_km),
            step_s=cfg.step_s,
            stale_days=cfg.stale_days,
            hbr_m=hbr,
        )
        products = []
        for ev in result.events:
            if ev.primary not in changed_ids and ev.secondary not in changed_ids:
                continue  # nothing new about this pair: an earlier job published it
            objects = (ev.primary, ev.secondary)
            marking = cfg.marking_for("conjunction", [owners.get(n) for n in objects], objects)
            tca = str(np.datetime_as_string(ev.tca_utc, unit="ms"))
            payload = ev.as_dict() | {
                "screening": {
                    "start_utc": t0.isoformat().replace("+00:00", "Z"),
                    "days": cfg.screen_days,
                    "threshold_km": cfg.threshold_km,
                    "step_s": cfg.step_s,
                    "job": job_id,
                }
            }
            pid = derived_product_id(self.node.node_id, f"{job_id}/screen/{ev.primary}/{ev.secondary}/{tca}")
            products.append(
                Product.new("conjunction", payload, marking, self.node.node_id, objects=objects, id=pid)
            )
        counts |= {"screened_sets": len(sets), "events": len(result.events), "products": len(products)}
        return products, counts

    def _step_screen(self, ctx: StepContext, started: datetime) -> None:
        changed = self.changed_objects(self._read_sets(ctx))
        products, counts = self.screen_products(ctx.job.job_id, changed)
        job_id = ctx.job.job_id

        def mark(conn: Any) -> None:
            self.ledger.mark_step(conn, job_id, "screen", started, counts)

        stored = self.node.publish_idempotent(products, actor=f"pipeline:{job_id}", within=mark)
        if stored:
            self.log(f"job {job_id}: published {len(stored)} conjunction product(s)")
            self._published(stored)

    def maneuver_products(
        self, job_id: str, sets: Sequence[ElementSet]
    ) -> tuple[list[Product], dict[str, object]]:
        """Maneuvers of the objects whose history this arrival grew (not stored): each object's stored
        history up to its newest set in the file, over `maneuver_history_days`, through the detector;
        the maneuvers ending no earlier than MANEUVER_LOOKBACK_DAYS before the file's first set of it."""
        from kizuna.sda.maneuvers import detect_maneuvers

        cfg = self.config
        by_object: dict[int, list[ElementSet]] = {}
        for e in sets:
            by_object.setdefault(e.norad_id, []).append(e)
        catalog = self.node.catalog
        owners = {
            e.norad_id: (e.space_object.owner if e.space_object else None)
            for e in catalog.search(norad_ids=list(by_object))
        }
        products: list[Product] = []
        scanned = 0
        for norad in sorted(by_object):
            mine = by_object[norad]
            first = min(e.epoch_utc for e in mine)
            last = max(e.epoch_utc for e in mine)
            history = catalog.history(norad, first - timedelta(days=cfg.maneuver_history_days), last)
            if len(history) < 4:
                continue  # too short a history to tell a maneuver from noise
            scanned += 1
            since = np.datetime64(first.replace(tzinfo=None) - timedelta(days=MANEUVER_LOOKBACK_DAYS), "ns")
            for m in detect_maneuvers(history):
                if m.window_end_utc < since:
                    continue
                end = str(np.datetime_as_string(m.window_end_utc, unit="ms"))
                marking = cfg.marking_for("maneuver", [owners.get(norad)], (norad,))
                pid = derived_product_id(self.node.node_id, f"maneuver/{norad}/{end}")
                payload = m.to_product_payload() | {"job": job_id}
                products.append(
                    Product.new("maneuver", payload, marking, self.node.node_id, objects=(norad,), id=pid)
                )
        return products, {"objects": len(by_object), "histories_scanned": scanned, "products": len(products)}

    def _step_maneuvers(self, ctx: StepContext, started: datetime) -> None:
        job_id = ctx.job.job_id
        if self.config.maneuvers:
            products, counts = self.maneuver_products(job_id, self.changed_objects_all(self._read_sets(ctx)))
        else:
            products, counts = [], {"disabled": True}

        def mark(conn: Any) -> None:
            self.ledger.mark_step(conn, job_id, "maneuvers", started, counts)

        stored = self.node.publish_idempotent(products, actor=f"pipeline:{job_id}", within=mark)
        if stored:
            self.log(f"job {job_id}: published {len(stored)} maneuver product(s)")
            self._published(stored)

    def proximity_products(
        self, job_id: str, changed: Sequence[ElementSet]
    ) -> tuple[list[Product], dict[str, object]]:
        """The protected assets' proximity watch (`sda.proximity.watch`) over `proximity.days` from the
        newest changed epoch (to the hour): the objects coming within `range_km` of an asset, when the
        asset or the object is one this arrival changed (not stored)."""
        from kizuna.sda.proximity import ProximityConfig, watch

        prox = self.config.proximity
        assert prox is not None  # the step runs only when configured
        protected = self.protected_ids()
        changed_ids = {e.norad_id for e in changed}
        counts: dict[str, object] = {"changed_objects": len(changed_ids), "protected": len(protected)}
        if not changed_ids or not protected:
            return [], counts | {"alerts": 0, "products": 0}
        catalog = self.node.catalog
        assets = catalog.latest_element_sets(sorted(protected))
        # an asset that moved is watched against everything, otherwise only the objects that moved
        others = catalog.latest_element_sets() if protected & changed_ids else list(changed)
        t0 = max(e.epoch_utc for e in changed).replace(minute=0, second=0, microsecond=0)
        t0 = t0 if t0.tzinfo else t0.replace(tzinfo=UTC)
        alerts = watch(
            assets,
            others,
            np.datetime64(t0.replace(tzinfo=None), "ns"),
            prox.days,
            prox.range_km,
            config=ProximityConfig(step_s=prox.step_s),
        )
        alerts = [a for a in alerts if a.asset_norad in changed_ids or a.object_norad in changed_ids]
        owners = self.owners_of(sorted({n for a in alerts for n in (a.asset_norad, a.object_norad)}))
        products = []
        for a in alerts:
            objects = (a.asset_norad, a.object_norad)
            tca = str(np.datetime_as_string(a.tca_utc, unit="ms"))
            marking = self.config.marking_for("proximity_alert", [owners.get(n) for n in objects], objects)
            payload = a.to_product_payload() | {
                "watch": {
                    "start_utc": t0.isoformat().replace("+00:00", "Z"),
                    "days": prox.days,
                    "step_s": prox.step_s,
                    "job": job_id,
                }
            }
            pid = derived_product_id(
                self.node.node_id, f"{job_id}/proximity/{a.asset_norad}/{a.object_norad}/{tca}"
            )
            products.append(
                Product.new("proximity_alert", payload, marking, self.node.node_id, objects=objects, id=pid)
            )
        counts |= {"watched_objects": len(others), "alerts": len(alerts), "products": len(products)}
        return products, counts

    def _step_proximity(self, ctx: StepContext, started: datetime) -> None:
        changed = self.changed_objects(self._read_sets(ctx))
        products, counts = self.proximity_products(ctx.job.job_id, changed)
        self.mark_and_publish(ctx, "proximity", started, products, counts)

    def _published(self, stored: Sequence[Product]) -> None:
        if self.on_published is not None:
            try:
                self.on_published(stored)
            except Exception as exc:  # noqa: BLE001 - a notification never fails the committed step
                self.log(f"notify after publishing: {type(exc).__name__}: {exc}")


# ------------------------------------------------------------------ the loop in `kizuna serve`
class PipelineLoop:
    """Scan, then run what is waiting, every `poll_s`, in one background thread (one runner per node
    on SQLite; on PostgreSQL other processes may run more). Never dies on a job's failure."""

    def __init__(
        self, node: Node, config: PipelineConfig, log: Callable[[str], None] = print, *, notify: bool = True
    ):
        from kizuna.share.federation import PartnerNotifier

        self.ledger = JobLedger(node.catalog)
        self.watcher = Watcher(config, self.ledger, node)
        self.notifier = (
            PartnerNotifier(node, log)
            if notify and any(p.url for p in node.config.partners.values())
            else None
        )
        self.runner = Runner(
            node, config, self.ledger, log=log, on_published=self._notify if self.notifier else None
        )
        self.config, self.log = config, log
        self.http = None
        if config.http:  # polled only when the config lists sources
            from kizuna.ops.http_source import HttpPoller
            from kizuna.store.pipeline_jobs import HttpValidators

            self.http = HttpPoller(
                config.http, dict(config.watch), log, validators=HttpValidators(node.catalog)
            )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pipeline-{node.node_id}", daemon=True)
        self.stream: Any = None  # the live AIS feed cut into jobs, when configured
        if config.ais_stream is not None:
            from kizuna.ops.ais_batches import BatchWriter
            from kizuna.store.ais_store import AisStore

            self.stream = BatchWriter(
                AisStore(node.catalog), config.ais_stream, config.watch["ais"], stop=self._stop, log=log
            )
        self._stream_thread = threading.Thread(
            target=self._run_stream, name=f"pipeline-ais-{node.node_id}", daemon=True
        )

    def start(self, *, warm_up: bool = True) -> PipelineLoop:
        """Start the loop; with `warm_up` first screen one protected asset alone, here and now, so the
        analyses' imports, compiled kernels and Earth orientation tables are ready before the first
        arrival (cold, that costs seconds on the first job; warm, the first job is as fast as any)."""
        if warm_up:
            self.runner.warm_up()
        if self.notifier is not None:
            self.notifier.start()
        self._thread.start()
        if self.stream is not None:
            self._stream_thread.start()
        return self

    def _run_stream(self) -> None:
        while not self._stop.is_set():
            try:
                self.stream.run()  # returns when stopped; it reconnects by itself
            except Exception as exc:  # noqa: BLE001 - the feed outlives a bad batch; it starts again
                self.log(f"pipeline ais_stream: {type(exc).__name__}: {exc}")
                self._stop.wait(1.0)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        if self._stream_thread.is_alive():
            self._stream_thread.join(timeout_s)
        if not self._thread.is_alive():
            self.ledger.close()
        if self.notifier is not None:
            self.notifier.stop()
        if self.http is not None:
            self.http.close()

    def _notify(self, stored: Sequence[Product]) -> None:
        """Tell the partners that may hold at least one of `stored` (a partner it is not released to
        learns nothing, not even that something was published)."""
        node = self.runner.node
        due = []
        for p in node.config.partners.values():
            vis = node.visibility(p.subject)
            if p.url and any(node.releasable_to(vis, product) for product in stored):
                due.append(p.id)
        if due and self.notifier is not None:
            self.notifier.notify(due)

    def _run(self) -> None:
        if self.ledger.dialect == "sqlite":  # the only runner: jobs left running died with a process
            with self.runner.node.share.write() as conn:
                self.ledger.requeue_running(conn)
        while not self._stop.is_set():
            try:
                if self.http is not None:
                    self.http.poll()
                self.watcher.scan()
                self.runner.run_pending()
            except Exception as exc:  # noqa: BLE001 - the loop outlives a store hiccup; it retries
                self.log(f"pipeline: {type(exc).__name__}: {exc}")
            self._stop.wait(self.config.poll_s)


def run_once(
    node: Node,
    config: PipelineConfig,
    log: Callable[[str], None] = lambda _m: None,
    *,
    ledger: JobLedger | None = None,
) -> list[JobRecord]:
    """Enqueue what is waiting in the watched directories, run every job, return the jobs run. On
    SQLite jobs left running by a dead process are resumed now; on PostgreSQL (where other runners may
    be alive) once their heartbeat is `ledger.stale_s` old."""
    own = ledger is None
    ledger = ledger or JobLedger(node.catalog)
    try:
        return _run_once(node, config, log, ledger)
    finally:
        if own:
            ledger.close()  # its job locks end with it (PostgreSQL)


def _run_once(
    node: Node, config: PipelineConfig, log: Callable[[str], None], ledger: JobLedger
) -> list[JobRecord]:
    if ledger.dialect == "sqlite":  # the only runner: jobs left running died with a process
        with node.share.write() as conn:
            ledger.requeue_running(conn)
    if config.http:  # each configured source fetched once, into its kind's directory
        from kizuna.ops.http_source import HttpPoller
        from kizuna.store.pipeline_jobs import HttpValidators

        poller = HttpPoller(config.http, dict(config.watch), log, validators=HttpValidators(node.catalog))
        try:
            poller.poll()
        finally:
            poller.close()
    Watcher(config, ledger, node).scan(now_s=time.time() + SETTLE_S)
    ran = Runner(node, config, ledger, log=log).run_pending()
    return [j for j in (ledger.get(i) for i in ran) if j is not None]
