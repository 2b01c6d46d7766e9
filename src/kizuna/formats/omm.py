"""CCSDS Orbit Mean-elements Messages (OMM, CCSDS 502.0-B-3) for SGP4 element sets.

Readers: KVN, XML (the NDM/XML schema CelesTrak and Space-Track serve), CelesTrak
JSON and CSV. Writers: JSON, KVN, XML and CSV. Writing then reading gives back the
same values bit for bit (floats are written in their shortest round-trip form).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import cast
from xml.sax.saxutils import escape

from lxml import etree

from kizuna.formats.common import (
    ParseResult,
    csv_table,
    format_utc_datetime,
    parse_utc_datetime,
    physical_lines,
)
from kizuna.model.records import ElementSet

#: Keywords of an SGP4 OMM in CelesTrak's column order.
OMM_FIELDS = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)
_REQUIRED = (
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "NORAD_CAT_ID",
)
_UNITS = re.compile(r"\s*\[[^\]]*\]\s*$")
_TEXT_KEYWORDS = {
    "OBJECT_NAME",
    "OBJECT_ID",
    "ORIGINATOR",
    "MESSAGE_ID",
    "COMMENT",
    "CENTER_NAME",
    "REF_FRAME",
    "TIME_SYSTEM",
    "MEAN_ELEMENT_THEORY",
}
_SGP4_THEORIES = {"SGP4", "SGP/SGP4", "SGP4-XP", "SGP"}


class _FieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


def _number(fields: Mapping[str, object], key: str, default: float | None = None) -> float:
    raw = fields.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if default is None:
            raise _FieldError(key, "missing")
        return default
    if isinstance(raw, bool):
        raise _FieldError(key, f"{raw!r} is not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = _UNITS.sub("", str(raw)).strip()
        try:
            value = float(text)
        except ValueError:
            raise _FieldError(key, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise _FieldError(key, f"{raw!r} is not finite")
    return value


def _integer(fields: Mapping[str, object], key: str, default: int | None = None) -> int:
    value = _number(fields, key, None if default is None else float(default))
    if value != int(value):
        raise _FieldError(key, f"{value!r} is not an integer")
    return int(value)


def element_set_from_fields(fields: Mapping[str, object], source: str | None = None) -> ElementSet:
    """Build an ElementSet from OMM keywords; raises _FieldError naming the keyword."""
    for key in _REQUIRED:
        if _text(fields.get(key)) == "":
            raise _FieldError(key, "missing")
    theory = _text(fields.get("MEAN_ELEMENT_THEORY")).upper()
    if theory and theory not in _SGP4_THEORIES:
        raise _FieldError("MEAN_ELEMENT_THEORY", f"{theory!r} is not SGP4 mean elements")
    frame = _text(fields.get("REF_FRAME")).upper()
    if frame and frame != "TEME":
        raise _FieldError("REF_FRAME", f"{frame!r}: SGP4 elements are in TEME")
    time_system = _text(fields.get("TIME_SYSTEM")).upper()
    if time_system and time_system != "UTC":
        raise _FieldError("TIME_SYSTEM", f"{time_system!r}: only UTC is supported")
    try:
        epoch = parse_utc_datetime(_text(fields["EPOCH"]))
    except ValueError as exc:
        raise _FieldError("EPOCH", str(exc)) from None
    norad = _integer(fields, "NORAD_CAT_ID")
    if not 0 <= norad <= 339999:
        raise _FieldError("NORAD_CAT_ID", f"{norad} outside 0..339999")
    mean_motion = _number(fields, "MEAN_MOTION")
    if mean_motion <= 0:
        raise _FieldError("MEAN_MOTION", f"{mean_motion} rev/day is not positive")
    eccentricity = _number(fields, "ECCENTRICITY")
    if not 0.0 <= eccentricity < 1.0:
        raise _FieldError("ECCENTRICITY", f"{eccentricity} outside 0 <= e < 1")
    inclination = _number(fields, "INCLINATION")
    if not 0.0 <= inclination <= 180.0:
        raise _FieldError("INCLINATION", f"{inclination} outside 0..180 degrees")
    angles = {}
    for key in ("RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY"):
        angles[key] = _number(fields, key)
        if not -360.0 <= angles[key] <= 360.0:
            raise _FieldError(key, f"{angles[key]} outside -360..360 degrees")
    classification = _text(fields.get("CLASSIFICATION_TYPE")) or "U"
    if classification not in ("U", "C", "S"):
        raise _FieldError("CLASSIFICATION_TYPE", f"{classification!r} is not U, C or S")
    name = _text(fields.get("OBJECT_NAME")) or None
    object_id = _text(fields.get("OBJECT_ID")) or None
    return ElementSet(
        norad_id=norad,
        epoch_utc=epoch,
        mean_motion_revday=mean_motion,
        eccentricity=eccentricity,
        inclination_deg=inclination,
        raan_deg=angles["RA_OF_ASC_NODE"],
        arg_perigee_deg=angles["ARG_OF_PERICENTER"],
        mean_anomaly_deg=angles["MEAN_ANOMALY"],
        bstar_per_er=_number(fields, "BSTAR", 0.0),
        mean_motion_dot_revday2=_number(fields, "MEAN_MOTION_DOT", 0.0),
        mean_motion_ddot_revday3=_number(fields, "MEAN_MOTION_DDOT", 0.0),
        object_name=name,
        object_id=object_id,
        classification=classification,
        ephemeris_type=_integer(fields, "EPHEMERIS_TYPE", 0),
        element_set_no=_integer(fields, "ELEMENT_SET_NO", 999),
        rev_at_epoch=_integer(fields, "REV_AT_EPOCH", 0),
        source=source,
    )


def _add_record(
    result: ParseResult[ElementSet],
    fields: Mapping[str, object],
    line: int,
    field_lines: Mapping[str, int] | None = None,
) -> None:
    try:
        record = element_set_from_fields(fields, source=f"{result.file}:{line}")
    except _FieldError as exc:
        at = (field_lines or {}).get(exc.field, line)
        result.issue(at, exc.field, str(exc))
    except ValueError as exc:
        result.issue(line, "RECORD", str(exc))
    else:
        result.add(record, line)


# ---------------------------------------------------------------- KVN
def read_omm_kvn(text: str, file: str = "<text>") -> ParseResult[ElementSet]:
    """One or more KVN OMMs, each starting with CCSDS_OMM_VERS."""
    result: ParseResult[ElementSet] = ParseResult(file=file, format="omm-kvn")
    fields: dict[str, str] = {}
    field_lines: dict[str, int] = {}
    start = 0

    def flush() -> None:
        if fields:
            _add_record(result, fields, start, field_lines)

    for lineno, raw in enumerate(physical_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("COMMENT"):
            continue
        if line in ("META_START", "META_STOP", "DATA_START", "DATA_STOP"):
            continue
        if "=" not in line:
            result.issue(lineno, "KVN", f"{line[:40]!r} is not a KEYWORD = value line")
            continue
        key, _, value = line.partition("=")
        key = key.strip().upper()
        if not re.fullmatch(r"[A-Z0-9_]+", key):
            result.issue(lineno, "KVN", f"{key[:40]!r} is not a KVN keyword")
            continue
        if key == "CCSDS_OMM_VERS":
            flush()
            fields, field_lines, start = {}, {}, lineno
        elif not fields and key != "CCSDS_OMM_VERS" and start == 0:
            start = lineno
        if key in fields and key != "COMMENT":
            result.issue(lineno, key, f"{key} given twice in one message (first on line {field_lines[key]})")
            continue
        # Units in brackets follow numbers only; names may contain brackets.
        fields[key] = value.strip() if key in _TEXT_KEYWORDS else _UNITS.sub("", value).strip()
        field_lines[key] = lineno
    flush()
    return result


def format_omm_kvn(
    es: ElementSet, *, originator: str = "KIZUNA", creation_date: datetime | None = None
) -> str:
    created = creation_date or datetime.now(UTC)
    rows = [
        ("CCSDS_OMM_VERS", "3.0"),
        ("CREATION_DATE", format_utc_datetime(created)),
        ("ORIGINATOR", originator),
        ("OBJECT_NAME", es.object_name or "UNKNOWN"),
        ("OBJECT_ID", es.object_id or "UNKNOWN"),
        ("CENTER_NAME", "EARTH"),
        ("REF_FRAME", "TEME"),
        ("TIME_SYSTEM", "UTC"),
        ("MEAN_ELEMENT_THEORY", "SGP4"),
        ("EPOCH", format_utc_datetime(es.epoch_utc)),
        ("MEAN_MOTION", repr(es.mean_motion_revday)),
        ("ECCENTRICITY", repr(es.eccentricity)),
        ("INCLINATION", repr(es.inclination_deg)),
        ("RA_OF_ASC_NODE", repr(es.raan_deg)),
        ("ARG_OF_PERICENTER", repr(es.arg_perigee_deg)),
        ("MEAN_ANOMALY", repr(es.mean_anomaly_deg)),
        ("EPHEMERIS_TYPE", str(es.ephemeris_type)),
        ("CLASSIFICATION_TYPE", es.classification),
        ("NORAD_CAT_ID", str(es.norad_id)),
        ("ELEMENT_SET_NO", str(es.element_set_no)),
        ("REV_AT_EPOCH", str(es.rev_at_epoch)),
        ("BSTAR", repr(es.bstar_per_er)),
        ("MEAN_MOTION_DOT", repr(es.mean_motion_dot_revday2)),
        ("MEAN_MOTION_DDOT", repr(es.mean_motion_ddot_revday3)),
    ]
    units = {
        "MEAN_MOTION": " [rev/day]",
        "INCLINATION": " [deg]",
        "RA_OF_ASC_NODE": " [deg]",
        "ARG_OF_PERICENTER": " [deg]",
        "MEAN_ANOMALY": " [deg]",
        "BSTAR": " [1/ER]",
        "MEAN_MOTION_DOT": " [rev/day**2]",
        "MEAN_MOTION_DDOT": " [rev/day**3]",
    }
    return "".join(f"{k:<19} = {v}{units.get(k, '')}\n" for k, v in rows)


def write_omm_kvn(element_sets: Iterable[ElementSet], **kwargs: object) -> str:
    return "\n".join(format_omm_kvn(es, **kwargs) for es in element_sets)  # type: ignore[arg-type]


# ---------------------------------------------------------------- JSON
def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def read_omm_json(text: str, file: str = "<text>") -> ParseResult[ElementSet]:
    """CelesTrak / Space-Track OMM JSON: an array of flat objects (or one object).

    Objects are decoded one at a time, so a file cut short keeps every complete
    record before the cut and reports where it ends.
    """
    result: ParseResult[ElementSet] = ParseResult(file=file, format="omm-json")
    for fields, line in iter_json_objects(text, result):
        _add_record(result, fields, line)
    return result


def iter_json_objects(text: str, result: ParseResult) -> Iterable[tuple[dict, int]]:
    """Yield (object, line) from a JSON array of objects, recording issues in `result`."""
    decoder = json.JSONDecoder()
    n = len(text)
    i = 0
    counted_to, counted_lines = 0, 1

    def line_at(index: int) -> int:
        # Incremental count: records are visited in order, so this stays linear.
        nonlocal counted_to, counted_lines
        if index < counted_to:
            return _line_of(text, index)
        counted_lines += text.count("\n", counted_to, index)
        counted_to = index
        return counted_lines

    def skip_ws(k: int) -> int:
        while k < n and text[k] in " \t\r\n\ufeff":
            k += 1
        return k

    i = skip_ws(i)
    if i >= n:
        result.issue(1, "JSON", "empty file")
        return
    if text[i] == "{":
        try:
            obj, _ = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            result.issue(exc.lineno, "JSON", exc.msg)
            return
        yield obj, line_at(i)
        return
    if text[i] != "[":
        result.issue(line_at(i), "JSON", "expected a JSON array of OMM objects")
        return
    i = skip_ws(i + 1)
    if i < n and text[i] == "]":
        return
    while True:
        i = skip_ws(i)
        if i >= n:
            result.issue(line_at(n), "JSON", "file ends inside the array (no closing ']')")
            return
        line = line_at(i)
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            result.issue(exc.lineno, "JSON", f"{exc.msg} (record starting on line {line})")
            return
        if isinstance(obj, dict):
            yield obj, line
        else:
            result.issue(line, "JSON", f"array element is a {type(obj).__name__}, not an object")
        i = skip_ws(end)
        if i >= n:
            result.issue(line_at(n), "JSON", "file ends inside the array (no closing ']')")
            return
        if text[i] == ",":
            i += 1
            continue
        if text[i] == "]":
            return
        result.issue(line_at(i), "JSON", f"expected ',' or ']', found {text[i]!r}")
        return


def omm_fields(es: ElementSet) -> dict[str, object]:
    """CelesTrak's JSON/CSV keywords and values for one element set."""
    return {
        "OBJECT_NAME": es.object_name,
        "OBJECT_ID": es.object_id,
        "EPOCH": format_utc_datetime(es.epoch_utc),
        "MEAN_MOTION": es.mean_motion_revday,
        "ECCENTRICITY": es.eccentricity,
        "INCLINATION": es.inclination_deg,
        "RA_OF_ASC_NODE": es.raan_deg,
        "ARG_OF_PERICENTER": es.arg_perigee_deg,
        "MEAN_ANOMALY": es.mean_anomaly_deg,
        "EPHEMERIS_TYPE": es.ephemeris_type,
        "CLASSIFICATION_TYPE": es.classification,
        "NORAD_CAT_ID": es.norad_id,
        "ELEMENT_SET_NO": es.element_set_no,
        "REV_AT_EPOCH": es.rev_at_epoch,
        "BSTAR": es.bstar_per_er,
        "MEAN_MOTION_DOT": es.mean_motion_dot_revday2,
        "MEAN_MOTION_DDOT": es.mean_motion_ddot_revday3,
    }


def write_omm_json(element_sets: Iterable[ElementSet], *, indent: int | None = None) -> str:
    return json.dumps([omm_fields(es) for es in element_sets], indent=indent)


# ---------------------------------------------------------------- CSV
def read_omm_csv(text: str, file: str = "<text>") -> ParseResult[ElementSet]:
    """CelesTrak GP CSV: a header row of OMM keywords, one element set per row."""
    result: ParseResult[ElementSet] = ParseResult(file=file, format="omm-csv")
    table = csv_table(text, result)
    if table is None:
        return result
    header, rows = table
    missing = [k for k in _REQUIRED if k not in header]
    if missing:
        result.issue(1, missing[0], f"header has no {', '.join(missing)} column")
        return result
    for line, fields in rows:
        _add_record(result, fields, line)
    return result


def write_omm_csv(element_sets: Iterable[ElementSet]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OMM_FIELDS)
    for es in element_sets:
        fields = omm_fields(es)
        writer.writerow(["" if fields[k] is None else _text(fields[k]) for k in OMM_FIELDS])
    return out.getvalue()


# ---------------------------------------------------------------- XML
def safe_xml_parser() -> etree.XMLParser:
    """No entity expansion, no network, no DTD: input comes from other nodes."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )


def _sourceline(element: etree._Element) -> int:
    # lxml-stubs types `sourceline` as `...`; lxml gives an int, or None for a built tree
    return cast("int | None", element.sourceline) or 1


def read_omm_xml(text: str | bytes, file: str = "<text>") -> ParseResult[ElementSet]:
    """NDM/XML: `<ndm>` holding `<omm>` elements, or a single `<omm>`."""
    result: ParseResult[ElementSet] = ParseResult(file=file, format="omm-xml")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        root = etree.fromstring(data, parser=safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        result.issue(exc.lineno or 1, "XML", exc.msg)
        return result
    if root is None:
        result.issue(1, "XML", "empty document")
        return result
    omms = (
        [root]
        if etree.QName(root).localname == "omm"
        else [e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "omm"]
    )
    if not omms:
        result.issue(_sourceline(root), "XML", f"no <omm> element under <{etree.QName(root).localname}>")
    for omm in omms:
        fields: dict[str, str] = {}
        lines: dict[str, int] = {}
        for el in omm.iter():
            if not isinstance(el.tag, str) or len(el):
                continue
            key = etree.QName(el).localname
            if key.upper() == key and key not in fields:
                fields[key] = (el.text or "").strip()
                lines[key] = _sourceline(el)
        _add_record(result, fields, _sourceline(omm), lines)
    return result


def write_omm_xml(element_sets: Iterable[ElementSet], *, originator: str = "KIZUNA") -> str:
    created = format_utc_datetime(datetime.now(UTC))
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<ndm xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    ]
    for es in element_sets:
        f = omm_fields(es)

        def el(key: str, fields: dict[str, object] = f) -> str:
            return f"<{key}>{escape(_text(fields[key]))}</{key}>"

        parts.append(
            '<omm id="CCSDS_OMM_VERS" version="3.0">'
            f"<header><CREATION_DATE>{created}</CREATION_DATE><ORIGINATOR>{escape(originator)}"
            "</ORIGINATOR></header><body><segment><metadata>"
            f"{el('OBJECT_NAME')}{el('OBJECT_ID')}<CENTER_NAME>EARTH</CENTER_NAME>"
            "<REF_FRAME>TEME</REF_FRAME><TIME_SYSTEM>UTC</TIME_SYSTEM>"
            "<MEAN_ELEMENT_THEORY>SGP4</MEAN_ELEMENT_THEORY></metadata><data><meanElements>"
            + "".join(
                el(k)
                for k in (
                    "EPOCH",
                    "MEAN_MOTION",
                    "ECCENTRICITY",
                    "INCLINATION",
                    "RA_OF_ASC_NODE",
                    "ARG_OF_PERICENTER",
                    "MEAN_ANOMALY",
                )
            )
            + "</meanElements><tleParameters>"
            + "".join(
                el(k)
                for k in (
                    "EPHEMERIS_TYPE",
                    "CLASSIFICATION_TYPE",
                    "NORAD_CAT_ID",
                    "ELEMENT_SET_NO",
                    "REV_AT_EPOCH",
                    "BSTAR",
                    "MEAN_MOTION_DOT",
                    "MEAN_MOTION_DDOT",
                )
            )
            + "</tleParameters></data></segment></body></omm>"
        )
    parts.append("</ndm>")
    return "\n".join(parts) + "\n"
