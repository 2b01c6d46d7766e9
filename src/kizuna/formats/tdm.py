"""CCSDS Tracking Data Message (TDM, CCSDS 503.0-B-2, versions 1.0 and 2.0): KVN and XML.

A TDM carries what a sensor measured of a spacecraft: ranges, range rates (``DOPPLER_INSTANTANEOUS``,
km/s), angle pairs (``ANGLE_1``/``ANGLE_2`` in degrees, whose meaning ``ANGLE_TYPE`` gives: AZEL,
RADEC, XEYN, XSYE), magnitudes, radar cross-sections, and the media and clock data around them.
It is how radar tracks and telescope angles move between sensor sites, orbit determination and
partners, so every observation Kizuna makes or receives goes through this module.

Reading keeps going past a bad data line: the line becomes an issue naming file, line and keyword,
and the other observations are kept. A header or metadata block that cannot be understood (an
unknown keyword, a missing ``TIME_SYSTEM`` or ``PARTICIPANT_1``, a value outside its enumeration)
stops the read with a :class:`~kizuna.errors.FormatError`: the observations under it could not be
interpreted. Epochs are calendar times in the segment's ``TIME_SYSTEM`` (the day-of-year form is
read too), kept to the microsecond.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from kizuna.errors import FormatError, FormatIssue
from kizuna.formats.common import format_utc_datetime, parse_utc_datetime
from kizuna.formats.ndm import finite_number, one_line, parse_xml, source_line, xml_block

HEADER_KEYWORDS = ("CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
MANDATORY_HEADER = ("CREATION_DATE", "ORIGINATOR")

_NUMBERED = tuple(range(1, 6))
METADATA_KEYWORDS = (
    "TRACK_ID",
    "DATA_TYPES",
    "TIME_SYSTEM",
    "START_TIME",
    "STOP_TIME",
    *(f"PARTICIPANT_{n}" for n in _NUMBERED),
    "MODE",
    "PATH",
    "PATH_1",
    "PATH_2",
    *(f"EPHEMERIS_NAME_{n}" for n in _NUMBERED),
    "TRANSMIT_BAND",
    "RECEIVE_BAND",
    "TURNAROUND_NUMERATOR",
    "TURNAROUND_DENOMINATOR",
    "TIMETAG_REF",
    "INTEGRATION_INTERVAL",
    "INTEGRATION_REF",
    "FREQ_OFFSET",
    "RANGE_MODE",
    "RANGE_MODULUS",
    "RANGE_UNITS",
    "ANGLE_TYPE",
    "REFERENCE_FRAME",
    "INTERPOLATION",
    "INTERPOLATION_DEGREE",
    "DOPPLER_COUNT_BIAS",
    "DOPPLER_COUNT_SCALE",
    "DOPPLER_COUNT_ROLLOVER",
    *(f"TRANSMIT_DELAY_{n}" for n in _NUMBERED),
    *(f"RECEIVE_DELAY_{n}" for n in _NUMBERED),
    "DATA_QUALITY",
    "CORRECTION_ANGLE_1",
    "CORRECTION_ANGLE_2",
    "CORRECTION_DOPPLER",
    "CORRECTION_MAG",
    "CORRECTION_RANGE",
    "CORRECTION_RCS",
    "CORRECTION_RECEIVE",
    "CORRECTION_TRANSMIT",
    "CORRECTION_ABERRATION_YEARLY",
    "CORRECTION_ABERRATION_DIURNAL",
    "CORRECTIONS_APPLIED",
)
MANDATORY_METADATA = ("TIME_SYSTEM", "PARTICIPANT_1")

# The standard's enumerations (503.0-B-2 table 3-3); TDM 1.0 files use a subset of each.
METADATA_ENUMS: dict[str, tuple[str, ...]] = {
    "MODE": ("SEQUENTIAL", "SINGLE_DIFF"),
    "TIMETAG_REF": ("TRANSMIT", "RECEIVE"),
    "INTEGRATION_REF": ("START", "MIDDLE", "END"),
    "RANGE_MODE": ("COHERENT", "CONSTANT", "ONE_WAY"),
    "RANGE_UNITS": ("km", "s", "RU"),
    "ANGLE_TYPE": ("AZEL", "RADEC", "XEYN", "XSYE"),
    "DATA_QUALITY": ("RAW", "VALIDATED", "DEGRADED"),
    "CORRECTIONS_APPLIED": ("YES", "NO"),
    "DOPPLER_COUNT_ROLLOVER": ("YES", "NO"),
}
# Time systems whose epochs this module reads; a TDM in another is refused by name.
TIME_SYSTEMS = ("UTC", "TAI", "TT", "GPS", "TDB", "TCB", "TCG", "UT1")
_TIME_METADATA = ("START_TIME", "STOP_TIME")
_NUMBER_METADATA = (
    "TURNAROUND_NUMERATOR",
    "TURNAROUND_DENOMINATOR",
    "INTEGRATION_INTERVAL",
    "FREQ_OFFSET",
    "RANGE_MODULUS",
    "INTERPOLATION_DEGREE",
    "DOPPLER_COUNT_BIAS",
    "DOPPLER_COUNT_SCALE",
    *(f"TRANSMIT_DELAY_{n}" for n in _NUMBERED),
    *(f"RECEIVE_DELAY_{n}" for n in _NUMBERED),
    *(k for k in METADATA_KEYWORDS if k.startswith("CORRECTION_")),
)

DATA_KEYWORDS = (
    "ANGLE_1",
    "ANGLE_2",
    "CARRIER_POWER",
    "CLOCK_BIAS",
    "CLOCK_DRIFT",
    "DOPPLER_COUNT",
    "DOPPLER_INSTANTANEOUS",
    "DOPPLER_INTEGRATED",
    "DOR",
    "MAG",
    "PC_N0",
    "PR_N0",
    "PRESSURE",
    "RANGE",
    "RCS",
    "RECEIVE_FREQ",
    *(f"RECEIVE_FREQ_{n}" for n in _NUMBERED),
    *(f"RECEIVE_PHASE_CT_{n}" for n in _NUMBERED),
    "RHUMIDITY",
    "STEC",
    "TEMPERATURE",
    *(f"TRANSMIT_FREQ_{n}" for n in _NUMBERED),
    *(f"TRANSMIT_FREQ_RATE_{n}" for n in _NUMBERED),
    *(f"TRANSMIT_PHASE_CT_{n}" for n in _NUMBERED),
    "TROPO_DRY",
    "TROPO_WET",
    "VLBI_DELAY",
)
# Physical bounds a value must meet (the XML schema's, where it has one): a value outside is a
# broken measurement, reported by line and dropped, never passed on to orbit determination.
# Angles lie in [-360, 360), relative humidity in [0, 100] %; the rest only have a floor.
_DATA_BOUNDS: dict[str, tuple[float, float]] = {
    "ANGLE_1": (-360.0, 360.0),
    "ANGLE_2": (-360.0, 360.0),
    "RHUMIDITY": (0.0, 100.0),
    "PRESSURE": (0.0, math.inf),
    "RCS": (0.0, math.inf),
    "RANGE": (0.0, math.inf),
}
_HIGH_EXCLUSIVE = frozenset({"ANGLE_1", "ANGLE_2"})
_DATA_SET = frozenset(DATA_KEYWORDS)
_METADATA_SET = frozenset(METADATA_KEYWORDS)


@dataclass(frozen=True)
class Observation:
    """One measured value: ``keyword`` (a TDM data keyword), ``epoch`` (calendar time in the
    segment's time system, tz-aware for convenience), ``value`` in the keyword's TDM unit."""

    keyword: str
    epoch: datetime
    value: float


@dataclass
class TdmSegment:
    """Metadata (keyword -> text, in file order) and the observations under it."""

    metadata: dict[str, str] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    metadata_comments: list[str] = field(default_factory=list)
    data_comments: list[str] = field(default_factory=list)

    @property
    def time_system(self) -> str:
        return self.metadata["TIME_SYSTEM"]

    @property
    def angle_type(self) -> str | None:
        return self.metadata.get("ANGLE_TYPE")

    def values(self, keyword: str) -> list[Observation]:
        return [o for o in self.observations if o.keyword == keyword]


@dataclass
class Tdm:
    """A tracking data message; ``issues`` lists the data lines left out while reading."""

    version: str = "2.0"
    header: dict[str, str] = field(default_factory=dict)
    header_comments: list[str] = field(default_factory=list)
    segments: list[TdmSegment] = field(default_factory=list)
    file: str = "<tdm>"
    issues: list[FormatIssue] = field(default_factory=list)

    @property
    def observations(self) -> int:
        return sum(len(s.observations) for s in self.segments)


# ----------------------------------------------------------------------------------- checks
def _check_version(version: str, file: str, line: int) -> str:
    if version.strip() not in ("1.0", "2.0"):
        raise FormatError(file, line, "CCSDS_TDM_VERS", f"{version.strip()!r} is not 1.0 or 2.0")
    return version.strip()


def _check_metadata_value(key: str, text: str, file: str, line: int) -> str:
    if key not in _METADATA_SET:
        raise FormatError(file, line, key, "not a TDM metadata keyword")
    if not text:
        raise FormatError(file, line, key, "empty value")
    if key in METADATA_ENUMS:
        allowed = METADATA_ENUMS[key]
        match = next((a for a in allowed if a.upper() == text.upper()), None)
        if match is None:
            raise FormatError(file, line, key, f"{text!r} is not one of {', '.join(allowed)}")
        return match
    if key == "TIME_SYSTEM" and text.upper() not in TIME_SYSTEMS:
        raise FormatError(file, line, key, f"{text!r} is not one of {', '.join(TIME_SYSTEMS)}")
    if key in _TIME_METADATA:
        _epoch(text, file, line, key)
    if key in _NUMBER_METADATA:
        finite_number(text, file, line, key)
    return text.upper() if key == "TIME_SYSTEM" else text


def _check_segment(segment: TdmSegment, file: str, line: int) -> None:
    for key in MANDATORY_METADATA:
        if key not in segment.metadata:
            raise FormatError(file, line, key, "mandatory metadata keyword missing")
    if "START_TIME" in segment.metadata and "STOP_TIME" in segment.metadata:
        start = _epoch(segment.metadata["START_TIME"], file, line, "START_TIME")
        stop = _epoch(segment.metadata["STOP_TIME"], file, line, "STOP_TIME")
        if stop < start:
            raise FormatError(file, line, "STOP_TIME", "is before START_TIME")


def _epoch(text: str, file: str, line: int, key: str) -> datetime:
    try:
        return parse_utc_datetime(text)
    except ValueError as exc:
        raise FormatError(file, line, key, f"epoch {text!r}: {exc}") from None


def _observation(key: str, epoch_text: str, value_text: str, file: str, line: int) -> Observation:
    """One data line's observation; raises FormatError naming the line and keyword."""
    if key not in _DATA_SET:
        raise FormatError(file, line, key, "not a TDM data keyword")
    epoch = _epoch(epoch_text, file, line, key)
    value = finite_number(value_text, file, line, key)
    lo, hi = _DATA_BOUNDS.get(key, (-math.inf, math.inf))
    above = value >= hi if key in _HIGH_EXCLUSIVE else value > hi
    if value < lo or above:
        closing = ")" if key in _HIGH_EXCLUSIVE else "]"
        raise FormatError(file, line, key, f"{value_text} is outside [{lo:g}, {hi:g}{closing}")
    return Observation(key, epoch, value)


def _check_header(tdm: Tdm, file: str, line: int) -> None:
    for key in MANDATORY_HEADER:
        if key not in tdm.header:
            raise FormatError(file, line, key, "mandatory header keyword missing")
    _epoch(tdm.header["CREATION_DATE"], file, line, "CREATION_DATE")


# -------------------------------------------------------------------------------------- KVN
_KVN = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$")


def read_tdm_kvn(text: str, file: str = "<tdm>") -> Tdm:
    """Read a KVN TDM. Bad data lines become ``issues``; a bad header or metadata raises."""
    tdm = Tdm(file=file)
    state = "start"  # start -> header -> (meta -> between -> data -> after)*
    segment: TdmSegment | None = None
    last = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        last = number
        line = raw.strip()
        if not line:
            continue
        if line.startswith("COMMENT"):
            comment = line[7:].strip()
            if state == "header":
                tdm.header_comments.append(comment)
            elif state == "meta" and segment is not None:
                segment.metadata_comments.append(comment)
            elif state == "data" and segment is not None:
                segment.data_comments.append(comment)
            else:
                raise FormatError(file, number, "COMMENT", f"a comment is not allowed {_where(state)}")
            continue
        if line in ("META_START", "META_STOP", "DATA_START", "DATA_STOP"):
            state, segment = _marker(tdm, line, state, segment, file, number)
            continue
        match = _KVN.match(line)
        if match is None:
            issue_or_raise = state == "data"
            message = "not a KEYWORD = value line"
            if issue_or_raise:
                tdm.issues.append(FormatIssue(file, number, "-", message))
                continue
            raise FormatError(file, number, "-", message)
        key, value = match[1].upper(), match[2]
        if state == "start":
            if key != "CCSDS_TDM_VERS":
                raise FormatError(file, number, key, "a TDM starts with CCSDS_TDM_VERS")
            tdm.version = _check_version(value, file, number)
            state = "header"
        elif state == "header":
            if key not in HEADER_KEYWORDS:
                raise FormatError(file, number, key, "not a TDM header keyword")
            if key == "CREATION_DATE":
                _epoch(value, file, number, key)
            tdm.header[key] = value
        elif state == "meta" and segment is not None:
            if key in segment.metadata:
                raise FormatError(file, number, key, "given twice in one metadata block")
            segment.metadata[key] = _check_metadata_value(key, value, file, number)
        elif state == "data" and segment is not None:
            parts = value.split()
            try:
                if len(parts) != 2:
                    raise FormatError(file, number, key, "needs an epoch and one value")
                segment.observations.append(_observation(key, parts[0], parts[1], file, number))
            except FormatError as exc:
                tdm.issues.append(exc.issue)
        else:
            raise FormatError(file, number, key, f"a keyword is not allowed {_where(state)}")
    if state == "start":
        raise FormatError(file, max(last, 1), "CCSDS_TDM_VERS", "empty input: no TDM")
    if state in ("header", "meta", "data") or not tdm.segments:
        what = {"header": "META_START", "meta": "META_STOP", "data": "DATA_STOP"}.get(state, "META_START")
        raise FormatError(file, max(last, 1), what, "missing: the message ends early")
    return tdm


def _where(state: str) -> str:
    return {
        "start": "before CCSDS_TDM_VERS",
        "between": "between META_STOP and DATA_START",
        "after": "between DATA_STOP and META_START",
    }.get(state, "here")


def _marker(
    tdm: Tdm, marker: str, state: str, segment: TdmSegment | None, file: str, number: int
) -> tuple[str, TdmSegment | None]:
    expected = {
        "META_START": ("header", "after"),
        "META_STOP": ("meta",),
        "DATA_START": ("between",),
        "DATA_STOP": ("data",),
    }[marker]
    if state not in expected:
        raise FormatError(file, number, marker, f"unexpected {_where(state) if state != 'meta' else 'here'}")
    if marker == "META_START":
        if state == "header":
            _check_header(tdm, file, number)
        segment = TdmSegment()
        tdm.segments.append(segment)
        return "meta", segment
    if marker == "META_STOP":
        assert segment is not None
        _check_segment(segment, file, number)
        return "between", segment
    if marker == "DATA_START":
        return "data", segment
    return "after", segment


def _format_value(value: float) -> str:
    return repr(float(value))


def _format_epoch(epoch: datetime) -> str:
    return format_utc_datetime(epoch).rstrip("Z")


def write_tdm_kvn(tdm: Tdm) -> str:
    """The message as KVN; reading it back gives the same message."""
    out = [f"CCSDS_TDM_VERS = {tdm.version}"]
    out += [f"COMMENT {one_line(c)}" for c in tdm.header_comments]
    out += [f"{k} = {one_line(tdm.header[k])}" for k in HEADER_KEYWORDS if k in tdm.header]
    for segment in tdm.segments:
        out += ["", "META_START"]
        out += [f"COMMENT {one_line(c)}" for c in segment.metadata_comments]
        out += [f"{k} = {one_line(v)}" for k, v in segment.metadata.items()]
        out += ["META_STOP", "", "DATA_START"]
        out += [f"COMMENT {one_line(c)}" for c in segment.data_comments]
        out += [
            f"{o.keyword} = {_format_epoch(o.epoch)} {_format_value(o.value)}" for o in segment.observations
        ]
        out.append("DATA_STOP")
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------- XML
def read_tdm_xml(text: str | bytes, file: str = "<tdm>") -> Tdm:
    """Read an XML TDM (NDM/XML, schema of 503.0-B-1 or B-2); errors carry the XML source line."""
    root = parse_xml(text, file)
    if root.tag != "tdm":
        raise FormatError(file, source_line(root), str(root.tag), "root element is not <tdm>")
    tdm = Tdm(file=file, version=_check_version(root.get("version", ""), file, source_line(root)))
    header = root.find("header")
    if header is None:
        raise FormatError(file, source_line(root), "header", "missing <header>")
    for element in _leaves(header):
        key, value = str(element.tag), (element.text or "").strip()
        if key == "COMMENT":
            tdm.header_comments.append(value)
        elif key in HEADER_KEYWORDS:
            tdm.header[key] = value
        else:
            raise FormatError(file, source_line(element), key, "not a TDM header keyword")
    _check_header(tdm, file, source_line(header))
    segments = root.findall("body/segment")
    if not segments:
        raise FormatError(file, source_line(root), "segment", "no <segment> in <body>")
    for seg in segments:
        segment = TdmSegment()
        tdm.segments.append(segment)
        meta = seg.find("metadata")
        if meta is None:
            raise FormatError(file, source_line(seg), "metadata", "missing <metadata>")
        for element in _leaves(meta):
            key, value = str(element.tag), (element.text or "").strip()
            if key == "COMMENT":
                segment.metadata_comments.append(value)
                continue
            if key in segment.metadata:
                raise FormatError(file, source_line(element), key, "given twice in one metadata block")
            segment.metadata[key] = _check_metadata_value(key, value, file, source_line(element))
        _check_segment(segment, file, source_line(meta))
        body = seg.find("data")
        if body is None:
            raise FormatError(file, source_line(seg), "data", "missing <data>")
        for element in body:
            if not isinstance(element.tag, str):
                continue
            if element.tag == "COMMENT":
                segment.data_comments.append((element.text or "").strip())
                continue
            _read_xml_observation(tdm, segment, element, file)
    return tdm


def _read_xml_observation(tdm: Tdm, segment: TdmSegment, element: etree._Element, file: str) -> None:
    line = source_line(element)
    try:
        if element.tag != "observation":
            raise FormatError(file, line, str(element.tag), "not <observation> or <COMMENT> in <data>")
        children = [c for c in element if isinstance(c.tag, str)]
        if len(children) != 2 or children[0].tag != "EPOCH":
            raise FormatError(file, line, "observation", "needs <EPOCH> and one measurement")
        key = str(children[1].tag)
        segment.observations.append(
            _observation(key, (children[0].text or "").strip(), (children[1].text or "").strip(), file, line)
        )
    except FormatError as exc:
        tdm.issues.append(exc.issue)


def _leaves(block: etree._Element) -> Iterable[etree._Element]:
    return (e for e in block if isinstance(e.tag, str))


_ANGLE_UNITS = {"ANGLE_1": "deg", "ANGLE_2": "deg"}


def write_tdm_xml(tdm: Tdm) -> str:
    """The message as NDM/XML (the 503.0-B-2 schema's element names and order)."""
    root = etree.Element("tdm", id="CCSDS_TDM_VERS", version=tdm.version)
    xml_block(root, "header", tdm.header_comments, tdm.header, HEADER_KEYWORDS)
    body = etree.SubElement(root, "body")
    for segment in tdm.segments:
        seg = etree.SubElement(body, "segment")
        # the schema fixes the order of metadata elements: the standard's table order
        xml_block(seg, "metadata", segment.metadata_comments, segment.metadata, METADATA_KEYWORDS)
        data = etree.SubElement(seg, "data")
        for comment in segment.data_comments:
            etree.SubElement(data, "COMMENT").text = comment
        for obs in segment.observations:
            element = etree.SubElement(data, "observation")
            etree.SubElement(element, "EPOCH").text = _format_epoch(obs.epoch)
            value = etree.SubElement(element, obs.keyword)
            value.text = _format_value(obs.value)
            if obs.keyword in _ANGLE_UNITS:
                value.set("units", _ANGLE_UNITS[obs.keyword])
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def read_tdm(text: str, file: str = "<tdm>") -> Tdm:
    """KVN or XML, told apart by the first non-blank character."""
    return read_tdm_xml(text, file) if text.lstrip().startswith("<") else read_tdm_kvn(text, file)
