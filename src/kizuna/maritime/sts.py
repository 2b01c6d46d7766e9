"""Ship-to-ship (STS) transfers: encounters between vessel classes that move cargo at sea.

An STS transfer event is an encounter (:func:`kizuna.maritime.events.detect_encounters`, GFW
definition: within 500 m for >= 2 h at median speed < 2 kn, away from anchorages) whose two parties
form one of the ``pairs`` of vessel classes: by default tanker-tanker (oil and refined products, the
pattern of the illicit deliveries to the Democratic People's Republic of Korea in the UN Panel of
Experts reports, e.g. S/2019/171 paragraphs 8-29) and carrier-fishing (transshipment of catch,
Miller et al. 2018). Classes come from the AIS ship type broadcast as of the encounter
(:func:`kizuna.maritime.identity.ship_class`: 80-89 tanker, 70-79 carrier, 30 fishing). AIS has no
refrigerated-carrier (reefer) type, so "carrier" is every cargo type unless ``vessel_class`` gives
a registry's classes per MMSI (which take precedence).

Each event carries both identities as of its start (name, callsign, IMO, flag from the MID), its
duration and location, the distance from shore when a shore model is given, and each party's
previous and next port visit with the nearest port of the ``sanctioned`` list
(``data/maritime/sanctioned_ports.csv``: DPRK ports named by the Panel, with sources) and whether
that is within ``sanctioned_radius_km``.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from kizuna.maritime.identity import IdentityHistory, identity_fields, ship_class
from kizuna.maritime.tracks import haversine_m
from kizuna.model.maritime import MaritimeEvent

DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (("tanker", "tanker"), ("carrier", "fishing"))


@dataclass(frozen=True)
class SanctionedPort:
    name: str
    country: str
    lat_deg: float
    lon_deg: float
    source: str = ""


def load_sanctioned_ports(path: Path | str | None = None) -> list[SanctionedPort]:
    """The bundled list, or a user's CSV with the same columns (``name,country,lat_deg,lon_deg``,
    optional ``source``; lines starting with ``#`` are comments). A bad row raises ``ValueError``
    naming the file, line and field."""
    if path is None:
        text = (resources.files("kizuna") / "data" / "maritime" / "sanctioned_ports.csv").read_text("utf-8")
        where = "data/maritime/sanctioned_ports.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")
    ]
    if not lines:
        raise ValueError(f"{where}: no header line (name,country,lat_deg,lon_deg)")
    reader = csv.DictReader([line for _, line in lines])
    missing = {"name", "lat_deg", "lon_deg"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{where}:{lines[0][0]}: missing column(s) {', '.join(sorted(missing))}")
    out = []
    for (n, _), row in zip(lines[1:], reader, strict=True):
        vals = {}
        for f, lo, hi in (("lat_deg", -90.0, 90.0), ("lon_deg", -180.0, 180.0)):
            try:
                v = float(row.get(f) or "")
            except ValueError:
                raise ValueError(f"{where}:{n}: {f} {row.get(f)!r} is not a number") from None
            if not lo <= v <= hi:
                raise ValueError(f"{where}:{n}: {f} {v:g} outside [{lo:g}, {hi:g}]")
            vals[f] = v
        out.append(
            SanctionedPort(
                (row.get("name") or "").strip(),
                (row.get("country") or "").strip(),
                vals["lat_deg"],
                vals["lon_deg"],
                (row.get("source") or "").strip(),
            )
        )
    return out


def _port_name(e: MaritimeEvent) -> str | None:
    for k in ("port_name", "port", "name"):
        v = e.details.get(k)
        if isinstance(v, str) and v:
            return v
    return None


def _nearest_sanctioned(
    lat: float, lon: float, ports: Sequence[SanctionedPort]
) -> tuple[str | None, float | None]:
    if not ports:
        return None, None
    d = haversine_m(np.array([p.lat_deg for p in ports]), np.array([p.lon_deg for p in ports]), lat, lon)
    k = int(np.argmin(d))
    return ports[k].name, round(float(d[k]) / 1000, 3)


def _visit_fields(
    visits: Sequence[MaritimeEvent],
    prefix: str,
    ports: Sequence[SanctionedPort],
    radius_km: float,
) -> tuple[dict[str, str | float | int | None], bool]:
    from kizuna.orbit.timescale import iso_utc

    if not visits:
        return {f"{prefix}port": None}, False
    v = visits[0]
    name, dist = _nearest_sanctioned(v.lat_deg, v.lon_deg, ports)
    hit = dist is not None and dist <= radius_km
    return {
        f"{prefix}port": _port_name(v) or f"{v.lat_deg:.4f},{v.lon_deg:.4f}",
        f"{prefix}port_start_utc": str(iso_utc(np.array([v.start_utc]))[0]),
        f"{prefix}port_end_utc": str(iso_utc(np.array([v.end_utc]))[0]),
        f"{prefix}port_lat_deg": round(v.lat_deg, 5),
        f"{prefix}port_lon_deg": round(v.lon_deg, 5),
        f"{prefix}nearest_sanctioned_port": name,
        f"{prefix}sanctioned_port_km": dist,
        f"{prefix}sanctioned": hit,
    }, hit


def detect_sts(
    encounters: Sequence[MaritimeEvent],
    history: IdentityHistory | None,
    *,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
    vessel_class: Mapping[int, str] | None = None,
    port_visits: Sequence[MaritimeEvent] | None = None,
    sanctioned: Sequence[SanctionedPort] | None = None,
    sanctioned_radius_km: float = 30.0,
    shore: object | None = None,
    min_shore_distance_km: float = 0.0,
) -> list[MaritimeEvent]:
    """STS transfer events from encounter events (others are ignored); see the module docstring.

    ``port_visits``: port-visit events (any kind; ``mmsi``, times and location are used, the port
    name from ``details["port_name"]`` when present). ``shore``: a model with
    ``distance_to_shore_m`` to state (and, with ``min_shore_distance_km``, require) the distance
    from shore. ``sanctioned=None`` uses the bundled list; ``[]`` turns the check off.
    """
    wanted = {frozenset(p) for p in pairs}
    ports = load_sanctioned_ports() if sanctioned is None else list(sanctioned)
    by_mmsi: dict[int, list[MaritimeEvent]] = {}
    for v in port_visits or ():
        by_mmsi.setdefault(int(v.mmsi), []).append(v)
    for lst in by_mmsi.values():
        lst.sort(key=lambda v: v.start_utc)
    pair_text = ", ".join(f"{a}-{b}" for a, b in pairs)
    definition = (
        f"STS transfer: a GFW encounter between vessel classes {pair_text} (AIS ship type as of the "
        "encounter: 80-89 tanker, 70-79 carrier (any cargo type), 30 fishing; caller-supplied classes first)"
        + (
            f", >= {min_shore_distance_km:g} km from shore"
            if shore is not None and min_shore_distance_km
            else ""
        )
        + (
            f"; previous/next port visit within {sanctioned_radius_km:g} km of a listed sanctioned port "
            f"({len(ports)} ports) flagged"
            if ports
            else "; no sanctioned-port list"
        )
        + ("" if port_visits is not None else " [no port visits given: previous/next port unknown]")
    )
    out: list[MaritimeEvent] = []
    for e in encounters:
        if e.kind != "encounter" or e.other_mmsi is None:
            continue
        ids = {m: identity_fields(m, e.start_utc, history) for m in (e.mmsi, e.other_mmsi)}
        cls = {
            m: (vessel_class or {}).get(m) or ship_class(ids[m]["ship_type"])  # type: ignore[arg-type]
            for m in ids
        }
        if None in cls.values() or frozenset(cls.values()) not in wanted:
            continue
        details: dict[str, str | float | int | None] = {
            "pair": "-".join(sorted(c for c in cls.values() if c)),
            "duration_s": e.duration_s,
        }
        if shore is not None:
            d_km = float(shore.distance_to_shore_m(np.array([e.lat_deg]), np.array([e.lon_deg]))[0]) / 1000  # type: ignore[attr-defined]
            if d_km < min_shore_distance_km:
                continue
            details["shore_distance_km"] = round(d_km, 3) if np.isfinite(d_km) else None
        sanctioned_link = False
        for prefix, m in (("a_", e.mmsi), ("b_", e.other_mmsi)):
            details[f"{prefix}mmsi"] = m
            details.update({f"{prefix}{k}": v for k, v in ids[m].items()})
            details[f"{prefix}ship_class"] = cls[m]
            visits = by_mmsi.get(m, [])
            before = [v for v in visits if v.end_utc <= e.start_utc][-1:]
            after = [v for v in visits if v.start_utc >= e.end_utc][:1]
            f_prev, h_prev = _visit_fields(before, f"{prefix}prev_", ports, sanctioned_radius_km)
            f_next, h_next = _visit_fields(after, f"{prefix}next_", ports, sanctioned_radius_km)
            details.update(f_prev)
            details.update(f_next)
            sanctioned_link |= h_prev or h_next
        details["sanctioned_port_link"] = sanctioned_link
        for k in ("median_distance_m", "min_distance_m", "median_speed_kn"):
            if k in e.details:
                details[k] = e.details[k]
        pair = str(details["pair"])
        out.append(
            dataclasses.replace(e, kind="sts_transfer", subtype=pair, details=details, definition=definition)
        )
    return out
