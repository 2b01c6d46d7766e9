"""SATCAT: who owns each object, what it is, when it was launched and decayed.

Reads CelesTrak's SATCAT CSV (and the same keys in JSON) and Space-Track's
SATCAT CSV (SATNAME, COUNTRY, LAUNCH, DECAY, RCS_SIZE). Dates may be ISO or
M/D/YYYY (spreadsheets rewrite them that way).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping

from kizuna.formats.common import ParseResult, csv_table, parse_date
from kizuna.formats.common import digits as _digits
from kizuna.model.records import OBJECT_TYPE_NAMES, SpaceObject

# Space-Track column -> CelesTrak column.
_ALIASES = {
    "SATNAME": "OBJECT_NAME",
    "INTLDES": "OBJECT_ID",
    "COUNTRY": "OWNER",
    "LAUNCH": "LAUNCH_DATE",
    "SITE": "LAUNCH_SITE",
    "DECAY": "DECAY_DATE",
    "RCS_SIZE": "RCS_SIZE",
    "CURRENT": "CURRENT",
    "OBJECT_NUMBER": "NORAD_CAT_ID",
}
SATCAT_FIELDS = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "NORAD_CAT_ID",
    "OBJECT_TYPE",
    "OPS_STATUS_CODE",
    "OWNER",
    "LAUNCH_DATE",
    "LAUNCH_SITE",
    "DECAY_DATE",
    "PERIOD",
    "INCLINATION",
    "APOGEE",
    "PERIGEE",
    "RCS",
    "DATA_STATUS_CODE",
    "ORBIT_CENTER",
    "ORBIT_TYPE",
)


class _FieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _opt_float(fields: Mapping[str, object], key: str) -> float | None:
    raw = fields.get(key)
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _FieldError(key, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _FieldError(key, f"{text!r} is not finite")
    return value


def _opt_text(fields: Mapping[str, object], key: str) -> str | None:
    raw = fields.get(key)
    text = "" if raw is None else str(raw).strip()
    return text or None


def space_object_from_fields(fields: Mapping[str, object], source: str | None = None) -> SpaceObject:
    norm = {_ALIASES.get(k.strip().upper(), k.strip().upper()): v for k, v in fields.items()}
    norad_text = _opt_text(norm, "NORAD_CAT_ID")
    if norad_text is None:
        raise _FieldError("NORAD_CAT_ID", "missing")
    if not _digits(norad_text):
        raise _FieldError("NORAD_CAT_ID", f"{norad_text!r} is not a catalog number")
    norad = int(norad_text)
    if norad > 339999:
        raise _FieldError("NORAD_CAT_ID", f"{norad} outside 0..339999")
    dates = {}
    for key in ("LAUNCH_DATE", "DECAY_DATE"):
        try:
            dates[key] = parse_date(_opt_text(norm, key) or "")
        except ValueError as exc:
            raise _FieldError(key, str(exc)) from None
    object_type = _opt_text(norm, "OBJECT_TYPE")
    if object_type:
        object_type = OBJECT_TYPE_NAMES.get(object_type.upper(), object_type.upper())
    rcs_m2: float | None = None
    rcs_size = _opt_text(norm, "RCS_SIZE")
    rcs_text = _opt_text(norm, "RCS")
    if rcs_text is not None:
        if rcs_text.upper() in ("SMALL", "MEDIUM", "LARGE"):
            rcs_size = rcs_text.upper()
        else:
            rcs_m2 = _opt_float(norm, "RCS")
            if rcs_m2 is not None and rcs_m2 < 0:
                raise _FieldError("RCS", f"{rcs_m2} m^2 is negative")
    if rcs_size is None and rcs_m2 is not None:
        # Space-Track's size classes: small < 0.1 m^2 <= medium < 1 m^2 <= large.
        rcs_size = "SMALL" if rcs_m2 < 0.1 else ("MEDIUM" if rcs_m2 < 1.0 else "LARGE")
    return SpaceObject(
        norad_id=norad,
        object_name=_opt_text(norm, "OBJECT_NAME"),
        object_id=_opt_text(norm, "OBJECT_ID"),
        object_type=object_type,
        ops_status=_opt_text(norm, "OPS_STATUS_CODE"),
        owner=_opt_text(norm, "OWNER"),
        launch_date=dates["LAUNCH_DATE"],
        launch_site=_opt_text(norm, "LAUNCH_SITE"),
        decay_date=dates["DECAY_DATE"],
        period_min=_opt_float(norm, "PERIOD"),
        inclination_deg=_opt_float(norm, "INCLINATION"),
        apogee_km=_opt_float(norm, "APOGEE"),
        perigee_km=_opt_float(norm, "PERIGEE"),
        rcs_m2=rcs_m2,
        rcs_size=rcs_size,
        data_status=_opt_text(norm, "DATA_STATUS_CODE"),
        orbit_center=_opt_text(norm, "ORBIT_CENTER"),
        orbit_type=_opt_text(norm, "ORBIT_TYPE"),
        source=source,
    )


def _add(result: ParseResult[SpaceObject], fields: Mapping[str, object], line: int) -> None:
    try:
        obj = space_object_from_fields(fields, source=f"{result.file}:{line}")
    except _FieldError as exc:
        result.issue(line, exc.field, str(exc))
    else:
        result.add(obj, line)


def read_satcat_csv(text: str, file: str = "<text>") -> ParseResult[SpaceObject]:
    result: ParseResult[SpaceObject] = ParseResult(file=file, format="satcat-csv")
    table = csv_table(text, result)
    if table is None:
        return result
    header, rows = table
    if "NORAD_CAT_ID" not in header and "OBJECT_NUMBER" not in header:
        result.issue(1, "NORAD_CAT_ID", "header has no NORAD_CAT_ID column")
        return result
    for line, fields in rows:
        _add(result, fields, line)
    return result


def read_satcat_json(text: str, file: str = "<text>") -> ParseResult[SpaceObject]:
    from kizuna.formats.omm import iter_json_objects

    result: ParseResult[SpaceObject] = ParseResult(file=file, format="satcat-json")
    for fields, line in iter_json_objects(text, result):
        _add(result, fields, line)
    return result


def write_satcat_csv(objects: Iterable[SpaceObject]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SATCAT_FIELDS)
    short = {v: k for k, v in OBJECT_TYPE_NAMES.items() if k != "TBA"}
    for o in objects:
        writer.writerow(
            [
                o.object_name or "",
                o.object_id or "",
                o.norad_id,
                short.get(o.object_type or "", o.object_type or ""),
                o.ops_status or "",
                o.owner or "",
                o.launch_date.isoformat() if o.launch_date else "",
                o.launch_site or "",
                o.decay_date.isoformat() if o.decay_date else "",
                *(
                    "" if v is None else repr(v)
                    for v in (o.period_min, o.inclination_deg, o.apogee_km, o.perigee_km)
                ),
                "" if o.rcs_m2 is None else repr(o.rcs_m2),
                o.data_status or "",
                o.orbit_center or "",
                o.orbit_type or "",
            ]
        )
    return out.getvalue()
