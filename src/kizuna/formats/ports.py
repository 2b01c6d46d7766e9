"""Port and anchorage tables: the NGA World Port Index (Pub. 150) CSV and Kizuna's compact port CSV.

Two layouts are read, told apart by the header:

- **World Port Index** (NGA Pub. 150 CSV export; at least the columns ``World Port Index Number``,
  ``Main Port Name``, ``Latitude``, ``Longitude``; ``Country Code``, ``UN/LOCODE``, ``Harbor Size``
  and ``Harbor Type`` are kept when present);
- **compact** (what ``scripts/make_port_table.py`` derives from it, what ``kizuna ais anchorages``
  writes, and what a user's own anchorage file uses): ``lat_deg,lon_deg`` required, and optionally
  ``port_id,name,country,kind,unlocode,harbor_size,harbor_type,source``. ``kind`` is ``port`` or
  ``anchorage`` (default ``anchorage``); a row without ``port_id`` gets ``<file stem>:<line>``.

A bad row is named by file, line and field and skipped; the good rows around it are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from kizuna.formats.common import ParseResult, csv_table, digits

__all__ = [
    "BUNDLED_PORTS",
    "PORT_COLUMNS",
    "Port",
    "parse_ports",
    "read_bundled_ports",
    "read_ports_file",
    "write_ports_csv",
]

#: the compact table shipped in the package (derived from the WPI; see data/maritime/README.md)
BUNDLED_PORTS = "world_port_index_compact.csv"

#: compact CSV columns, in the order written
PORT_COLUMNS = (
    "port_id",
    "name",
    "country",
    "kind",
    "lat_deg",
    "lon_deg",
    "unlocode",
    "harbor_size",
    "harbor_type",
    "source",
)

KINDS = ("port", "anchorage")

_WPI = {
    "id": "WORLD PORT INDEX NUMBER",
    "name": "MAIN PORT NAME",
    "country": "COUNTRY CODE",
    "unlocode": "UN/LOCODE",
    "size": "HARBOR SIZE",
    "type": "HARBOR TYPE",
    "lat": "LATITUDE",
    "lon": "LONGITUDE",
}


@dataclass(frozen=True, slots=True)
class Port:
    """One port or anchorage point (degrees, WGS 84)."""

    port_id: str  # "wpi:60390" for the World Port Index, "<file>:<line>" or the user's own id
    name: str
    lat_deg: float
    lon_deg: float
    country: str | None = None
    kind: str = "port"  # "port" | "anchorage"
    unlocode: str | None = None
    harbor_size: str | None = None
    harbor_type: str | None = None
    source: str | None = None  # where the point came from (table name, file, "learned")


def _coord(result: ParseResult[Port], line: int, name: str, text: str, limit: float) -> float | None:
    try:
        v = float(text)
    except ValueError:
        result.issue(line, name, f"not a number: {text!r}")
        return None
    if not math.isfinite(v) or abs(v) > limit:
        result.issue(line, name, f"{text!r} is outside -{limit:g}..{limit:g} degrees")
        return None
    return v


def _text(value: str | None) -> str | None:
    v = (value or "").strip()
    return v or None


def parse_ports(text: str, file: str = "<text>") -> ParseResult[Port]:
    """Read a World Port Index or compact port CSV (layout from the header)."""
    stem = Path(file).stem if file != "<text>" else "row"
    probe = ParseResult[Port](file, "ports")
    table = csv_table(text, probe)
    if table is None:
        return probe
    header, rows = table
    wpi = _WPI["id"] in header
    result = ParseResult[Port](file, "wpi-csv" if wpi else "ports-csv", issues=probe.issues)
    need = [_WPI[k] for k in ("id", "name", "lat", "lon")] if wpi else ["LAT_DEG", "LON_DEG"]
    missing = [c for c in need if c not in header]
    if missing:
        result.issue(1, missing[0], f"missing column(s) {', '.join(missing)} in the header")
        return result
    seen: dict[str, int] = {}
    for line, row in rows:
        lat_key, lon_key = (_WPI["lat"], _WPI["lon"]) if wpi else ("LAT_DEG", "LON_DEG")
        lat = _coord(result, line, lat_key, row.get(lat_key, "").strip(), 90.0)
        lon = _coord(result, line, lon_key, row.get(lon_key, "").strip(), 180.0)
        if lat is None or lon is None:
            continue
        if wpi:
            number = row[_WPI["id"]].strip()
            whole, _, frac = number.partition(".")
            if not (digits(whole) and (not frac or digits(frac))):
                result.issue(line, _WPI["id"], f"not a port number: {number!r}")
                continue
            name = _text(row[_WPI["name"]])
            if name is None:
                result.issue(line, _WPI["name"], "empty port name")
                continue
            port = Port(
                f"wpi:{int(whole)}{'.' + frac if frac else ''}",
                name,
                lat,
                lon,
                country=_text(row.get(_WPI["country"])),
                kind="port",
                unlocode=_text(row.get(_WPI["unlocode"])),
                harbor_size=_text(row.get(_WPI["size"])),
                harbor_type=_text(row.get(_WPI["type"])),
                source="NGA World Port Index (Pub. 150)",
            )
            id_field = _WPI["id"]
        else:
            kind = (_text(row.get("KIND")) or "anchorage").lower()
            if kind not in KINDS:
                result.issue(line, "KIND", f"{kind!r} is not one of {', '.join(KINDS)}")
                continue
            port_id = _text(row.get("PORT_ID")) or f"{stem}:{line}"
            port = Port(
                port_id,
                _text(row.get("NAME")) or port_id,
                lat,
                lon,
                country=_text(row.get("COUNTRY")),
                kind=kind,
                unlocode=_text(row.get("UNLOCODE")),
                harbor_size=_text(row.get("HARBOR_SIZE")),
                harbor_type=_text(row.get("HARBOR_TYPE")),
                source=_text(row.get("SOURCE")) or file,
            )
            id_field = "PORT_ID"
        if port.port_id in seen:
            result.issue(
                line,
                id_field,
                f"duplicate id {port.port_id} (first on line {seen[port.port_id]}; kept that one)",
            )
            continue
        seen[port.port_id] = line
        result.add(port, line)
    return result


def read_ports_file(path: Path | str) -> ParseResult[Port]:
    """Read a port/anchorage CSV from disk (UTF-8, BOM tolerated)."""
    p = Path(path)
    return parse_ports(p.read_text(encoding="utf-8-sig"), str(p))


def read_bundled_ports() -> ParseResult[Port]:
    """The compact World Port Index table shipped in ``kizuna/data/maritime``."""
    ref = resources.files("kizuna") / "data" / "maritime" / BUNDLED_PORTS
    res = parse_ports(ref.read_text(encoding="utf-8"), BUNDLED_PORTS)
    res.records = [replace(p, source="NGA World Port Index (Pub. 150)") for p in res.records]
    return res


def write_ports_csv(ports: list[Port]) -> str:
    """The compact CSV text for ``ports`` (readable by :func:`parse_ports`)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PORT_COLUMNS)
    for p in ports:
        w.writerow(
            [
                p.port_id,
                p.name,
                p.country or "",
                p.kind,
                f"{p.lat_deg:.6f}".rstrip("0").rstrip("."),
                f"{p.lon_deg:.6f}".rstrip("0").rstrip("."),
                p.unlocode or "",
                p.harbor_size or "",
                p.harbor_type or "",
                p.source or "",
            ]
        )
    return buf.getvalue()
