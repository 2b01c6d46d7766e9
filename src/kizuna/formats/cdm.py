"""CCSDS Conjunction Data Message (CCSDS 508.0-B-1, CDM 1.0) in KVN and XML.

A CDM is a header, a relative metadata/data section and two object sections (OBJECT1, OBJECT2),
each with metadata, OD parameters, additional parameters, a state vector and an RTN
covariance (508.0-B-1 section 3). Keywords and their order come from tables 3-1 to 3-5 of the
standard (the same order as the NDM/XML CDM schema, which the XML writer must follow).

Values are kept as read: numbers as floats in the standard's units (units in brackets are
checked against the standard's and then dropped), the rest as strings, so a message written
back out and read again gives the same fields. Problems raise :class:`FormatError` naming the
file, the 1-based line and the keyword.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import numpy as np
from lxml import etree

from kizuna.errors import FormatError, FormatIssue
from kizuna.formats.common import parse_utc_datetime, physical_lines

HEADER_KEYS = ("CCSDS_CDM_VERS", "CREATION_DATE", "ORIGINATOR", "MESSAGE_FOR", "MESSAGE_ID")
RELATIVE_STATE_KEYS = (
    "RELATIVE_POSITION_R",
    "RELATIVE_POSITION_T",
    "RELATIVE_POSITION_N",
    "RELATIVE_VELOCITY_R",
    "RELATIVE_VELOCITY_T",
    "RELATIVE_VELOCITY_N",
)
RELATIVE_KEYS = (
    "TCA",
    "MISS_DISTANCE",
    "RELATIVE_SPEED",
    *RELATIVE_STATE_KEYS,
    "START_SCREEN_PERIOD",
    "STOP_SCREEN_PERIOD",
    "SCREEN_VOLUME_FRAME",
    "SCREEN_VOLUME_SHAPE",
    "SCREEN_VOLUME_X",
    "SCREEN_VOLUME_Y",
    "SCREEN_VOLUME_Z",
    "SCREEN_ENTRY_TIME",
    "SCREEN_EXIT_TIME",
    "COLLISION_PROBABILITY",
    "COLLISION_PROBABILITY_METHOD",
)
METADATA_KEYS = (
    "OBJECT",
    "OBJECT_DESIGNATOR",
    "CATALOG_NAME",
    "OBJECT_NAME",
    "INTERNATIONAL_DESIGNATOR",
    "OBJECT_TYPE",
    "OPERATOR_CONTACT_POSITION",
    "OPERATOR_ORGANIZATION",
    "OPERATOR_PHONE",
    "OPERATOR_EMAIL",
    "EPHEMERIS_NAME",
    "COVARIANCE_METHOD",
    "MANEUVERABLE",
    "ORBIT_CENTER",
    "REF_FRAME",
    "GRAVITY_MODEL",
    "ATMOSPHERIC_MODEL",
    "N_BODY_PERTURBATIONS",
    "SOLAR_RAD_PRESSURE",
    "EARTH_TIDES",
    "INTRACK_THRUST",
)
OD_KEYS = (
    "TIME_LASTOB_START",
    "TIME_LASTOB_END",
    "RECOMMENDED_OD_SPAN",
    "ACTUAL_OD_SPAN",
    "OBS_AVAILABLE",
    "OBS_USED",
    "TRACKS_AVAILABLE",
    "TRACKS_USED",
    "RESIDUALS_ACCEPTED",
    "WEIGHTED_RMS",
)
ADDITIONAL_KEYS = (
    "AREA_PC",
    "AREA_DRG",
    "AREA_SRP",
    "MASS",
    "CD_AREA_OVER_MASS",
    "CR_AREA_OVER_MASS",
    "THRUST_ACCELERATION",
    "SEDR",
)
STATE_KEYS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_COV_AXES = ("R", "T", "N", "RDOT", "TDOT", "NDOT", "DRG", "SRP", "THR")
_COV_ROWS = ("CR", "CT", "CN", "CRDOT", "CTDOT", "CNDOT", "CDRG", "CSRP", "CTHR")
COVARIANCE_KEYS = tuple(f"{_COV_ROWS[i]}_{_COV_AXES[j]}" for i in range(9) for j in range(i + 1))
COVARIANCE_6X6_KEYS = COVARIANCE_KEYS[:21]
DATA_KEYS = OD_KEYS + ADDITIONAL_KEYS + STATE_KEYS + COVARIANCE_KEYS
OBJECT_KEYS = METADATA_KEYS + DATA_KEYS

MANDATORY_HEADER = ("CCSDS_CDM_VERS", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
MANDATORY_RELATIVE = ("TCA", "MISS_DISTANCE")
MANDATORY_OBJECT = (
    "OBJECT",
    "OBJECT_DESIGNATOR",
    "CATALOG_NAME",
    "OBJECT_NAME",
    "INTERNATIONAL_DESIGNATOR",
    "EPHEMERIS_NAME",
    "COVARIANCE_METHOD",
    "MANEUVERABLE",
    "REF_FRAME",
    *STATE_KEYS,
    *COVARIANCE_6X6_KEYS,
)

_TEXT_KEYS = {
    "CCSDS_CDM_VERS",
    "CREATION_DATE",
    "ORIGINATOR",
    "MESSAGE_FOR",
    "MESSAGE_ID",
    "TCA",
    "START_SCREEN_PERIOD",
    "STOP_SCREEN_PERIOD",
    "SCREEN_VOLUME_FRAME",
    "SCREEN_VOLUME_SHAPE",
    "SCREEN_ENTRY_TIME",
    "SCREEN_EXIT_TIME",
    "COLLISION_PROBABILITY_METHOD",
    "TIME_LASTOB_START",
    "TIME_LASTOB_END",
    *METADATA_KEYS,
}
_INT_KEYS = {"OBS_AVAILABLE", "OBS_USED", "TRACKS_AVAILABLE", "TRACKS_USED"}
_TIME_KEYS = {
    "CREATION_DATE",
    "TCA",
    "START_SCREEN_PERIOD",
    "STOP_SCREEN_PERIOD",
    "SCREEN_ENTRY_TIME",
    "SCREEN_EXIT_TIME",
    "TIME_LASTOB_START",
    "TIME_LASTOB_END",
}


def _unit(key: str) -> str | None:
    """The unit 508.0-B-1 prescribes for a keyword (tables 3-2 to 3-5), None if unitless."""
    if key in ("MISS_DISTANCE", "SCREEN_VOLUME_X", "SCREEN_VOLUME_Y", "SCREEN_VOLUME_Z") or key.startswith(
        "RELATIVE_POSITION_"
    ):
        return "m"
    if key == "RELATIVE_SPEED" or key.startswith("RELATIVE_VELOCITY_"):
        return "m/s"
    if key in ("X", "Y", "Z"):
        return "km"
    if key.endswith("_DOT") and key in STATE_KEYS:
        return "km/s"
    if key in ("RECOMMENDED_OD_SPAN", "ACTUAL_OD_SPAN"):
        return "d"
    if key == "RESIDUALS_ACCEPTED":
        return "%"
    if key in ("AREA_PC", "AREA_DRG", "AREA_SRP"):
        return "m**2"
    if key == "MASS":
        return "kg"
    if key in ("CD_AREA_OVER_MASS", "CR_AREA_OVER_MASS"):
        return "m**2/kg"
    if key == "THRUST_ACCELERATION":
        return "m/s**2"
    if key == "SEDR":
        return "W/kg"
    if key in COVARIANCE_KEYS:
        row, col = key.split("_", 1)[0][1:], key.split("_", 1)[1]
        dims = {
            "R": "m",
            "T": "m",
            "N": "m",
            "RDOT": "m/s",
            "TDOT": "m/s",
            "NDOT": "m/s",
            "DRG": "m**2/kg",
            "SRP": "m**2/kg",
            "THR": "m/s**2",
        }
        return f"{dims[row]}*{dims[col]}"  # informative only; units are not checked for covariances
    return None


@dataclass
class CdmObject:
    """OBJECT1 or OBJECT2: metadata strings and data values (floats in CDM units)."""

    fields: dict[str, str | float] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    @property
    def designator(self) -> str:
        return str(self.fields.get("OBJECT_DESIGNATOR", ""))

    @property
    def name(self) -> str:
        return str(self.fields.get("OBJECT_NAME", ""))

    @property
    def ref_frame(self) -> str:
        return str(self.fields.get("REF_FRAME", ""))

    def state_km(self) -> tuple[np.ndarray, np.ndarray]:
        """Position [km] and velocity [km/s] in REF_FRAME."""
        s = np.array([float(self.fields[k]) for k in STATE_KEYS])
        return s[:3], s[3:]

    def covariance_rtn_km2(self) -> np.ndarray:
        """The 6x6 position/velocity covariance in the object's RTN frame, in km and km/s."""
        c = np.empty((6, 6))
        k = 0
        for i in range(6):
            for j in range(i + 1):
                c[i, j] = c[j, i] = float(self.fields[COVARIANCE_6X6_KEYS[k]]) * 1e-6  # m^2 -> km^2
                k += 1
        return c


@dataclass
class Cdm:
    header: dict[str, str | float] = field(default_factory=dict)
    relative: dict[str, str | float] = field(default_factory=dict)
    objects: list[CdmObject] = field(default_factory=list)
    header_comments: list[str] = field(default_factory=list)
    relative_comments: list[str] = field(default_factory=list)
    file: str = "<cdm>"
    #: problems that did not stop the read (unit labels off the standard, empty optional values)
    warnings: list[FormatIssue] = field(default_factory=list, compare=False)

    @property
    def message_id(self) -> str:
        return str(self.header.get("MESSAGE_ID", ""))

    @property
    def tca_utc(self) -> datetime:
        return parse_utc_datetime(str(self.relative["TCA"]))

    @property
    def miss_km(self) -> float:
        return float(self.relative["MISS_DISTANCE"]) / 1000.0

    @property
    def collision_probability(self) -> float | None:
        pc = self.relative.get("COLLISION_PROBABILITY")
        return None if pc is None else float(pc)

    def hbr_m(self) -> float | None:
        """Combined hard-body radius, when the originator put it in a comment (CARA: `HBR = 10 [m]`)."""
        for text in self.relative_comments + [c for o in self.objects for c in o.comments]:
            m = re.match(r"\s*HBR\s*=\s*([0-9.eE+-]+)", text)
            if m:
                return float(m.group(1))
        return None


# ------------------------------------------------------------------------ KVN reader
_KVN_LINE = re.compile(r"^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$")
# Real CDMs carry truncated units ("85.4  [") too; the value before the bracket still stands.
_UNITS = re.compile(r"^(.*?)\s*\[([^\]]*)\]?\s*$")


def _value(
    key: str, raw: str, file: str, line: int, unit: str | None, warnings: list[FormatIssue]
) -> str | float:
    if key in _TEXT_KEYS:
        if key in _TIME_KEYS and raw:
            try:
                parse_utc_datetime(raw)
            except ValueError as exc:
                raise FormatError(file, line, key, f"not a CCSDS time: {raw!r}") from exc
        return raw
    expected = _unit(key)
    if (
        unit is not None
        and expected is not None
        and key not in COVARIANCE_KEYS
        and unit.replace(" ", "").lower() != expected.lower()
    ):
        # CARA's own sample CDMs label relative velocities [m]: warn, the number is still usable.
        warnings.append(
            FormatIssue(file, line, key, f"unit [{unit}] where the standard prescribes [{expected}]")
        )
    if raw == "" and key not in MANDATORY_OBJECT and key not in MANDATORY_RELATIVE:
        warnings.append(FormatIssue(file, line, key, "empty value"))
        return raw
    try:
        return float(raw)
    except ValueError:
        what = "covariance term" if key in COVARIANCE_KEYS else "value"
        raise FormatError(file, line, key, f"non-numeric {what}: {raw!r}") from None


def read_cdm_kvn(text: str, file: str = "<cdm>") -> Cdm:
    """Read one KVN CDM (508.0-B-1 section 4)."""
    cdm = Cdm(file=file)
    section = "header"
    lines: dict[tuple[int, str], int] = {}
    current: CdmObject | None = None
    pending: list[str] = []
    last_line = 0
    for lineno, raw in enumerate(physical_lines(text), start=1):
        last_line = lineno
        s = raw.strip()
        if not s:
            continue
        if s.startswith("COMMENT"):
            # a comment belongs to the section of the keyword that follows it
            pending.append(s[7:].strip())
            continue
        m = _KVN_LINE.match(s)
        if not m:
            raise FormatError(file, lineno, "-", f"not a KEY = value line: {s[:60]!r}")
        key, rest = m.group(1), m.group(2)
        unit = None
        um = _UNITS.match(rest)
        if um:
            rest, unit = um.group(1), um.group(2)
        if key == "OBJECT":
            section = "object"
            current = CdmObject()
            cdm.objects.append(current)
            if len(cdm.objects) > 2:
                raise FormatError(file, lineno, key, "more than two OBJECT sections")
        elif key in RELATIVE_KEYS and section == "header":
            section = "relative"
        if section == "header":
            if key not in HEADER_KEYS:
                raise FormatError(file, lineno, key, "unknown keyword in the CDM header")
            target: dict[str, str | float] = cdm.header
        elif section == "relative":
            if key not in RELATIVE_KEYS:
                raise FormatError(file, lineno, key, "unknown keyword in the relative metadata/data")
            target = cdm.relative
        else:
            if key not in OBJECT_KEYS:
                raise FormatError(file, lineno, key, "unknown keyword in an object section")
            assert current is not None
            target = current.fields
        if key in target:
            raise FormatError(file, lineno, key, "keyword given twice in one section")
        if pending:
            _comments(cdm, section, current).extend(pending)
            pending = []
        target[key] = _value(key, rest, file, lineno, unit, cdm.warnings)
        lines[(len(cdm.objects), key)] = lineno
    _comments(cdm, section, current).extend(pending)
    _check_mandatory(cdm, file, last_line, lines)
    return cdm


def _comments(cdm: Cdm, section: str, current: CdmObject | None) -> list[str]:
    if section == "header":
        return cdm.header_comments
    if section == "relative":
        return cdm.relative_comments
    assert current is not None
    return current.comments


def _check_mandatory(cdm: Cdm, file: str, last_line: int, lines: dict[tuple[int, str], int]) -> None:
    for key in MANDATORY_HEADER:
        if key not in cdm.header:
            raise FormatError(file, 1, key, "mandatory header keyword missing")
    rel_line = min((v for (o, _k), v in lines.items() if o == 0), default=1)
    for key in MANDATORY_RELATIVE:
        if key not in cdm.relative:
            raise FormatError(file, rel_line, key, "mandatory relative metadata keyword missing")
    if len(cdm.objects) != 2:
        raise FormatError(
            file, last_line, "OBJECT", f"a CDM has two object sections, found {len(cdm.objects)}"
        )
    for n, obj in enumerate(cdm.objects, start=1):
        start = lines.get((n, "OBJECT"), last_line)
        if obj.fields.get("OBJECT") != f"OBJECT{n}":
            raise FormatError(file, start, "OBJECT", f"section {n} must be OBJECT{n}")
        for key in MANDATORY_OBJECT:
            if key not in obj.fields:
                raise FormatError(file, start, key, f"mandatory keyword missing in OBJECT{n}")


# ------------------------------------------------------------------------ KVN writer
def _fmt(key: str, value: str | float) -> str:
    if isinstance(value, str):
        return value
    if key in _INT_KEYS and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def write_cdm_kvn(cdm: Cdm) -> str:
    """KVN text with keywords in the standard's order and units in brackets."""
    width = 36
    out: list[str] = []

    def put(key: str, value: str | float) -> None:
        unit = _unit(key) if not isinstance(value, str) and key not in COVARIANCE_KEYS else None
        if key in COVARIANCE_KEYS:
            unit = _cov_unit(key)
        text = f"{key:<{width}}= {_fmt(key, value)}"
        out.append(f"{text} [{unit}]" if unit else text)

    put("CCSDS_CDM_VERS", cdm.header.get("CCSDS_CDM_VERS", "1.0"))
    out.extend(f"COMMENT {c}" for c in cdm.header_comments)
    for key in HEADER_KEYS[1:]:
        if key in cdm.header:
            put(key, cdm.header[key])
    out.extend(f"COMMENT {c}" for c in cdm.relative_comments)
    for key in RELATIVE_KEYS:
        if key in cdm.relative:
            put(key, cdm.relative[key])
    for obj in cdm.objects:
        put("OBJECT", obj.fields["OBJECT"])
        out.extend(f"COMMENT {c}" for c in obj.comments)
        for key in OBJECT_KEYS[1:]:
            if key in obj.fields:
                put(key, obj.fields[key])
    return "\n".join(out) + "\n"


def _cov_unit(key: str) -> str:
    row, col = key.split("_", 1)
    rowv = row[1:]
    # (unit, metre power, second power[, "kg" when the term is per mass])
    dims: dict[str, tuple[str, int, int] | tuple[str, int, int, str]] = {
        "R": ("m", 1, 0),
        "T": ("m", 1, 0),
        "N": ("m", 1, 0),
        "RDOT": ("m", 1, 1),
        "TDOT": ("m", 1, 1),
        "NDOT": ("m", 1, 1),
        "DRG": ("m", 2, 0, "kg"),
        "SRP": ("m", 2, 0, "kg"),
        "THR": ("m", 1, 2),
    }
    m_pow = dims[rowv][1] + dims[col][1]
    s_pow = dims[rowv][2] + dims[col][2]
    kg_pow = sum(1 for d in (dims[rowv], dims[col]) if len(d) == 4)
    num = f"m**{m_pow}"
    den = [
        p
        for p in (
            (f"kg**{kg_pow}" if kg_pow > 1 else "kg") if kg_pow else "",
            (f"s**{s_pow}" if s_pow > 1 else "s") if s_pow else "",
        )
        if p
    ]
    if not den:
        return num
    return f"{num}/{den[0]}" if len(den) == 1 else f"{num}/({den[0]}*{den[1]})"


# ------------------------------------------------------------------------ XML
_XML_GROUPS = (
    ("odParameters", OD_KEYS),
    ("additionalParameters", ADDITIONAL_KEYS),
    ("stateVector", STATE_KEYS),
    ("covarianceMatrix", COVARIANCE_KEYS),
)


def write_cdm_xml(cdm: Cdm) -> str:
    """NDM/XML CDM (CCSDS 505.0-B-1 with the CDM 1.0 schema): element order as in the schema."""
    root = etree.Element("cdm", id="CCSDS_CDM_VERS", version=str(cdm.header.get("CCSDS_CDM_VERS", "1.0")))
    header = etree.SubElement(root, "header")
    for c in cdm.header_comments:
        etree.SubElement(header, "COMMENT").text = c
    for key in HEADER_KEYS[1:]:
        if key in cdm.header:
            etree.SubElement(header, key).text = _fmt(key, cdm.header[key])
    body = etree.SubElement(root, "body")
    rel = etree.SubElement(body, "relativeMetadataData")
    for c in cdm.relative_comments:
        etree.SubElement(rel, "COMMENT").text = c
    rsv = None
    for key in RELATIVE_KEYS:
        if key not in cdm.relative:
            continue
        parent = rel
        if key in RELATIVE_STATE_KEYS:
            if rsv is None:
                rsv = etree.SubElement(rel, "relativeStateVector")
            parent = rsv
        _xml_value(parent, key, cdm.relative[key])
    for obj in cdm.objects:
        seg = etree.SubElement(body, "segment")
        meta = etree.SubElement(seg, "metadata")
        for c in obj.comments:
            etree.SubElement(meta, "COMMENT").text = c
        for key in METADATA_KEYS:
            if key in obj.fields:
                _xml_value(meta, key, obj.fields[key])
        data = etree.SubElement(seg, "data")
        for tag, keys in _XML_GROUPS:
            present = [k for k in keys if k in obj.fields]
            if present:
                grp = etree.SubElement(data, tag)
                for key in present:
                    _xml_value(grp, key, obj.fields[key])
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def _xml_value(parent: etree._Element, key: str, value: str | float) -> None:
    el = etree.SubElement(parent, key)
    el.text = _fmt(key, value)
    unit = _cov_unit(key) if key in COVARIANCE_KEYS else _unit(key)
    if unit and not isinstance(value, str):
        el.set("units", unit)


def read_cdm_xml(text: str | bytes, file: str = "<cdm>") -> Cdm:
    """Read one NDM/XML CDM; errors carry the XML source line."""
    data = text.encode() if isinstance(text, str) else text
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FormatError(file, exc.lineno or 0, "-", f"not well-formed XML: {exc.msg}") from None
    root = _strip_ns(root)
    if root.tag != "cdm":
        raise FormatError(file, _sourceline(root), root.tag, "root element is not <cdm>")
    cdm = Cdm(file=file)
    cdm.header["CCSDS_CDM_VERS"] = root.get("version", "1.0")
    lines: dict[tuple[int, str], int] = {}
    header = root.find("header")
    if header is None:
        raise FormatError(file, _sourceline(root), "header", "missing <header>")
    _read_xml_block(header, cdm.header, cdm.header_comments, HEADER_KEYS, file, lines, 0, cdm.warnings)
    rel = root.find("body/relativeMetadataData")
    if rel is None:
        raise FormatError(file, _sourceline(root), "relativeMetadataData", "missing relative metadata")
    _read_xml_block(rel, cdm.relative, cdm.relative_comments, RELATIVE_KEYS, file, lines, 0, cdm.warnings)
    for n, seg in enumerate(root.findall("body/segment"), start=1):
        obj = CdmObject()
        cdm.objects.append(obj)
        lines[(n, "OBJECT")] = _sourceline(seg)
        _read_xml_block(seg, obj.fields, obj.comments, OBJECT_KEYS, file, lines, n, cdm.warnings)
    _check_mandatory(cdm, file, _sourceline(root), lines)
    return cdm


def _sourceline(element: etree._Element) -> int:
    # lxml-stubs types `sourceline` as `...`; lxml gives an int, or None for a built tree
    return cast("int | None", element.sourceline) or 0


def _strip_ns(root: etree._Element) -> etree._Element:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def _read_xml_block(
    block: etree._Element,
    target: dict[str, str | float],
    comments: list[str],
    keys: tuple[str, ...],
    file: str,
    lines: dict[tuple[int, str], int],
    n: int,
    warnings: list[FormatIssue],
) -> None:
    for el in block.iter():
        if not isinstance(el.tag, str) or el is block or len(el):
            continue
        key = el.tag
        text = (el.text or "").strip()
        if key == "COMMENT":
            comments.append(text)
            continue
        if key not in keys:
            raise FormatError(file, _sourceline(el), key, "unknown element in a CDM")
        if key in target:
            raise FormatError(file, _sourceline(el), key, "element given twice in one section")
        target[key] = _value(key, text, file, _sourceline(el), el.get("units"), warnings)
        lines[(n, key)] = _sourceline(el)


def read_cdm(text: str, file: str = "<cdm>") -> Cdm:
    """KVN or XML, told apart by the first non-blank character."""
    return read_cdm_xml(text, file) if text.lstrip().startswith("<") else read_cdm_kvn(text, file)
