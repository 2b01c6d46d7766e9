"""CCSDS Orbit Ephemeris Message (OEM, CCSDS 502.0-B-2/B-3, versions 2.0 and 3.0): KVN and XML,
with covariance.

An OEM is how an orbit leaves an orbit-determination run for another system: states (km, km/s,
optionally km/s^2) at epochs, and 6x6 position/velocity covariances (km^2, km^2/s, km^2/s^2) at
chosen epochs. Epochs are kept as ``datetime64[ns]`` in the segment's ``TIME_SYSTEM``, read from
the text to the nanosecond.

Reading: a header or metadata problem (missing mandatory keyword, unknown keyword, a stop before
the start) raises a :class:`~kizuna.errors.FormatError` naming file, line and keyword, since the
states under it could not be interpreted; a bad ephemeris line is an issue by line and the other
states are kept; a covariance block with a bad row is an issue and is left out whole, never half
read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from lxml import etree

from kizuna.errors import FormatError, FormatIssue
from kizuna.formats.ndm import finite_number, one_line, parse_xml, source_line, xml_block
from kizuna.orbit.ephemeris import Ephemeris, EphemerisError, frame_of

HEADER_KEYWORDS = ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
MANDATORY_HEADER = ("CREATION_DATE", "ORIGINATOR")
METADATA_KEYWORDS = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "CENTER_NAME",
    "REF_FRAME",
    "REF_FRAME_EPOCH",
    "TIME_SYSTEM",
    "START_TIME",
    "USEABLE_START_TIME",
    "USEABLE_STOP_TIME",
    "STOP_TIME",
    "INTERPOLATION",
    "INTERPOLATION_DEGREE",
)
MANDATORY_METADATA = (
    "OBJECT_NAME",
    "OBJECT_ID",
    "CENTER_NAME",
    "REF_FRAME",
    "TIME_SYSTEM",
    "START_TIME",
    "STOP_TIME",
)
STATE_KEYS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
ACCELERATION_KEYS = ("X_DDOT", "Y_DDOT", "Z_DDOT")
# lower triangle, row by row, as the standard lays it out: CX_X, CY_X, CY_Y, CZ_X, ...
COVARIANCE_KEYS = tuple(f"C{STATE_KEYS[i]}_{STATE_KEYS[j]}" for i in range(6) for j in range(i + 1))
_TIME_METADATA = ("START_TIME", "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME", "REF_FRAME_EPOCH")


@dataclass
class Covariance:
    """A 6x6 position/velocity covariance at ``epoch`` (km, km/s units), in ``frame`` (None: the
    segment's ``REF_FRAME``)."""

    epoch: np.datetime64
    matrix: np.ndarray
    frame: str | None = None
    comments: list[str] = field(default_factory=list)


@dataclass
class OemSegment:
    metadata: dict[str, str] = field(default_factory=dict)
    epochs: np.ndarray = field(default_factory=lambda: np.empty(0, "datetime64[ns]"))
    states: np.ndarray = field(default_factory=lambda: np.empty((0, 6)))  # km, km/s
    accelerations: np.ndarray | None = None  # km/s^2, when every line carries them
    covariances: list[Covariance] = field(default_factory=list)
    metadata_comments: list[str] = field(default_factory=list)
    data_comments: list[str] = field(default_factory=list)


@dataclass
class Oem:
    version: str = "3.0"
    header: dict[str, str] = field(default_factory=dict)
    header_comments: list[str] = field(default_factory=list)
    segments: list[OemSegment] = field(default_factory=list)
    file: str = "<oem>"
    issues: list[FormatIssue] = field(default_factory=list)


# ------------------------------------------------------------------------------------ values
_DOY = re.compile(r"^(\d{4})-(\d{3})T(\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z?$")


def parse_epoch_ns(text: str, file: str, line: int, key: str) -> np.datetime64:
    """A CCSDS epoch (calendar or day-of-year form) to the nanosecond."""
    body = text.strip()
    doy = _DOY.match(body)
    try:
        if doy:
            day = np.datetime64(f"{doy[1]}-01-01") + np.timedelta64(int(doy[2]) - 1, "D")
            if day.astype("datetime64[Y]") != np.datetime64(doy[1], "Y") or int(doy[2]) < 1:
                raise ValueError("day of year out of range")
            return np.datetime64(f"{day}T{doy[3]}", "ns")
        if not re.match(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$", body):
            raise ValueError("not a CCSDS time")
        return np.datetime64(body.rstrip("Z"), "ns")
    except ValueError as exc:
        raise FormatError(file, line, key, f"epoch {body!r}: {exc}") from None


def _format_epoch(epoch: np.datetime64) -> str:
    text = str(np.asarray(epoch).astype("datetime64[ns]"))
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _check_header(oem: Oem, file: str, line: int) -> None:
    for key in MANDATORY_HEADER:
        if key not in oem.header:
            raise FormatError(file, line, key, "mandatory header keyword missing")
    parse_epoch_ns(oem.header["CREATION_DATE"], file, line, "CREATION_DATE")


def _check_metadata(segment: OemSegment, file: str, line: int) -> None:
    for key in MANDATORY_METADATA:
        if key not in segment.metadata:
            raise FormatError(file, line, key, "mandatory metadata keyword missing")
    times = {
        k: parse_epoch_ns(segment.metadata[k], file, line, k) for k in _TIME_METADATA if k in segment.metadata
    }
    if times["STOP_TIME"] < times["START_TIME"]:
        raise FormatError(file, line, "STOP_TIME", "is before START_TIME")
    if "INTERPOLATION_DEGREE" in segment.metadata:
        degree = segment.metadata["INTERPOLATION_DEGREE"]
        if not degree.isdigit() or not 1 <= int(degree) <= 32:
            raise FormatError(file, line, "INTERPOLATION_DEGREE", f"{degree!r} is not an integer 1-32")


def _metadata_value(segment: OemSegment, key: str, value: str, file: str, line: int) -> None:
    if key not in METADATA_KEYWORDS:
        raise FormatError(file, line, key, "not an OEM metadata keyword")
    if key in segment.metadata:
        raise FormatError(file, line, key, "given twice in one metadata block")
    if not value:
        raise FormatError(file, line, key, "empty value")
    if key in _TIME_METADATA:
        parse_epoch_ns(value, file, line, key)
    segment.metadata[key] = value


def _covariance_matrix(values: list[float]) -> np.ndarray:
    matrix = np.zeros((6, 6))
    matrix[np.tril_indices(6)] = values
    return matrix + np.tril(matrix, -1).T


class _Rows:
    """The state lines of one segment while they are read."""

    def __init__(self) -> None:
        self.epochs: list[np.datetime64] = []
        self.states: list[list[float]] = []
        self.accelerations: list[list[float] | None] = []

    def close(self, segment: OemSegment, oem: Oem, file: str, line: int) -> None:
        segment.epochs = np.array(self.epochs, dtype="datetime64[ns]")
        segment.states = np.array(self.states, dtype=float).reshape(-1, 6)
        if self.accelerations and all(a is not None for a in self.accelerations):
            segment.accelerations = np.array(self.accelerations, dtype=float)
        elif any(a is not None for a in self.accelerations):
            oem.issues.append(
                FormatIssue(file, line, "X_DDOT", "accelerations on some lines only: all dropped")
            )


# -------------------------------------------------------------------------------------- KVN
_KVN = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$")


def read_oem_kvn(text: str, file: str = "<oem>") -> Oem:
    """Read a KVN OEM (versions 1.0-3.0)."""
    oem = Oem(file=file)
    state = "start"
    segment: OemSegment | None = None
    rows = _Rows()
    cov_lines: list[tuple[int, str]] = []
    cov_head: dict[str, str] = {}
    cov_comments: list[str] = []
    last = 0

    def finish_covariance(number: int) -> None:
        assert segment is not None
        try:
            if "EPOCH" not in cov_head:
                raise FormatError(file, number, "EPOCH", "a covariance needs its EPOCH")
            epoch = parse_epoch_ns(cov_head["EPOCH"], file, number, "EPOCH")
            values: list[float] = []
            for k, (at, row) in enumerate(cov_lines):
                parts = row.split()
                if len(parts) != k + 1:
                    raise FormatError(
                        file, at, "COVARIANCE", f"row {k + 1} needs {k + 1} values, has {len(parts)}"
                    )
                values += [finite_number(p, file, at, "COVARIANCE") for p in parts]
            if len(cov_lines) != 6:
                raise FormatError(file, number, "COVARIANCE", f"needs 6 rows, has {len(cov_lines)}")
            segment.covariances.append(
                Covariance(
                    epoch, _covariance_matrix(values), cov_head.get("COV_REF_FRAME"), list(cov_comments)
                )
            )
        except FormatError as exc:
            oem.issues.append(exc.issue)

    for number, raw in enumerate(text.splitlines(), start=1):
        last = number
        line = raw.strip()
        if not line:
            continue
        if line.startswith("COMMENT"):
            comment = line[7:].strip()
            target = {
                "header": oem.header_comments,
                "meta": segment.metadata_comments if segment else None,
                "data": segment.data_comments if segment else None,
                "cov": cov_comments,
            }.get(state)
            if target is None:
                raise FormatError(file, number, "COMMENT", "a comment is not allowed here")
            target.append(comment)
            continue
        if line == "META_START":
            if state not in ("header", "data"):
                raise FormatError(file, number, "META_START", "unexpected here")
            if state == "header":
                _check_header(oem, file, number)
            elif segment is not None:
                rows.close(segment, oem, file, number)
            segment, rows = OemSegment(), _Rows()
            oem.segments.append(segment)
            state = "meta"
            continue
        if line == "META_STOP":
            if state != "meta" or segment is None:
                raise FormatError(file, number, "META_STOP", "unexpected here")
            _check_metadata(segment, file, number)
            state = "data"
            continue
        if line == "COVARIANCE_START":
            if state != "data":
                raise FormatError(file, number, "COVARIANCE_START", "unexpected here")
            state, cov_lines, cov_head, cov_comments = "cov", [], {}, []
            continue
        if line == "COVARIANCE_STOP":
            if state != "cov":
                raise FormatError(file, number, "COVARIANCE_STOP", "unexpected here")
            if cov_lines or cov_head:
                finish_covariance(number)
            state = "data"
            continue
        match = _KVN.match(line)
        if state == "start":
            if not match or match[1] != "CCSDS_OEM_VERS":
                raise FormatError(file, number, "CCSDS_OEM_VERS", "an OEM starts with CCSDS_OEM_VERS")
            if match[2] not in ("1.0", "2.0", "3.0"):
                raise FormatError(file, number, "CCSDS_OEM_VERS", f"{match[2]!r} is not 1.0, 2.0 or 3.0")
            oem.version, state = match[2], "header"
        elif state == "header":
            if not match or match[1] not in HEADER_KEYWORDS:
                raise FormatError(file, number, match[1] if match else "-", "not an OEM header keyword")
            oem.header[match[1]] = match[2]
        elif state == "meta" and segment is not None:
            if not match:
                raise FormatError(file, number, "-", "not a KEYWORD = value line")
            _metadata_value(segment, match[1], match[2], file, number)
        elif state == "cov":
            if match and match[1] in ("EPOCH", "COV_REF_FRAME"):
                if cov_lines:  # the next matrix of the block starts
                    finish_covariance(number)
                    cov_lines, cov_head, cov_comments = [], {}, []
                cov_head[match[1]] = match[2]
            else:
                cov_lines.append((number, line))
        elif state == "data" and segment is not None:
            if match:
                raise FormatError(file, number, match[1], "a keyword inside the ephemeris data")
            _statesource_line(oem, segment, rows, line, file, number)
        else:
            raise FormatError(file, number, "-", "unexpected line")
    if state != "data" or segment is None:
        raise FormatError(
            file,
            max(last, 1),
            "META_START" if state != "cov" else "COVARIANCE_STOP",
            "missing: the message ends early",
        )
    rows.close(segment, oem, file, last)
    return oem


def _statesource_line(oem: Oem, segment: OemSegment, rows: _Rows, line: str, file: str, number: int) -> None:
    parts = line.split()
    try:
        if len(parts) not in (7, 10):
            raise FormatError(
                file, number, "EPHEMERIS", f"needs an epoch and 6 or 9 values, has {len(parts) - 1}"
            )
        epoch = parse_epoch_ns(parts[0], file, number, "EPOCH")
        keys = STATE_KEYS + ACCELERATION_KEYS
        values = [finite_number(p, file, number, keys[k]) for k, p in enumerate(parts[1:])]
        start = parse_epoch_ns(segment.metadata["START_TIME"], file, number, "START_TIME")
        stop = parse_epoch_ns(segment.metadata["STOP_TIME"], file, number, "STOP_TIME")
        if not start <= epoch <= stop:
            raise FormatError(file, number, "EPOCH", "outside START_TIME..STOP_TIME")
        if rows.epochs and epoch <= rows.epochs[-1]:
            raise FormatError(file, number, "EPOCH", "not after the previous state's epoch")
    except FormatError as exc:
        oem.issues.append(exc.issue)
        return
    rows.epochs.append(epoch)
    rows.states.append(values[:6])
    rows.accelerations.append(values[6:] if len(values) == 9 else None)


def _fmt(value: float) -> str:
    return repr(float(value))


def write_oem_kvn(oem: Oem) -> str:
    """The message as KVN; reading it back gives the same message."""
    out = [f"CCSDS_OEM_VERS = {oem.version}"]
    out += [f"COMMENT {one_line(c)}" for c in oem.header_comments]
    out += [f"{k} = {one_line(oem.header[k])}" for k in HEADER_KEYWORDS if k in oem.header]
    for segment in oem.segments:
        out += ["", "META_START"]
        out += [f"COMMENT {one_line(c)}" for c in segment.metadata_comments]
        out += [f"{k} = {one_line(segment.metadata[k])}" for k in METADATA_KEYWORDS if k in segment.metadata]
        out += ["META_STOP", ""]
        out += [f"COMMENT {one_line(c)}" for c in segment.data_comments]
        for k, epoch in enumerate(segment.epochs):
            values = list(segment.states[k])
            if segment.accelerations is not None:
                values += list(segment.accelerations[k])
            out.append(" ".join([_format_epoch(epoch), *(_fmt(v) for v in values)]))
        if segment.covariances:
            out += ["", "COVARIANCE_START"]
            for cov in segment.covariances:
                out += [f"COMMENT {one_line(c)}" for c in cov.comments]
                out.append(f"EPOCH = {_format_epoch(cov.epoch)}")
                if cov.frame:
                    out.append(f"COV_REF_FRAME = {cov.frame}")
                out += [" ".join(_fmt(cov.matrix[i, j]) for j in range(i + 1)) for i in range(6)]
            out.append("COVARIANCE_STOP")
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------- XML
def write_oem_xml(oem: Oem) -> str:
    """The message as NDM/XML (502.0-B-3 element names and order)."""
    root = etree.Element("oem", id="CCSDS_OEM_VERS", version=oem.version)
    xml_block(root, "header", oem.header_comments, oem.header, HEADER_KEYWORDS)
    body = etree.SubElement(root, "body")
    for segment in oem.segments:
        seg = etree.SubElement(body, "segment")
        xml_block(seg, "metadata", segment.metadata_comments, segment.metadata, METADATA_KEYWORDS)
        data = etree.SubElement(seg, "data")
        for comment in segment.data_comments:
            etree.SubElement(data, "COMMENT").text = comment
        for k, epoch in enumerate(segment.epochs):
            sv = etree.SubElement(data, "stateVector")
            etree.SubElement(sv, "EPOCH").text = _format_epoch(epoch)
            for key, value in zip(STATE_KEYS, segment.states[k], strict=True):
                etree.SubElement(sv, key).text = _fmt(value)
            if segment.accelerations is not None:
                for key, value in zip(ACCELERATION_KEYS, segment.accelerations[k], strict=True):
                    etree.SubElement(sv, key).text = _fmt(value)
        for cov in segment.covariances:
            cm = etree.SubElement(data, "covarianceMatrix")
            for comment in cov.comments:
                etree.SubElement(cm, "COMMENT").text = comment
            etree.SubElement(cm, "EPOCH").text = _format_epoch(cov.epoch)
            if cov.frame:
                etree.SubElement(cm, "COV_REF_FRAME").text = cov.frame
            lower = cov.matrix[np.tril_indices(6)]
            for key, value in zip(COVARIANCE_KEYS, lower, strict=True):
                etree.SubElement(cm, key).text = _fmt(value)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


def read_oem_xml(text: str | bytes, file: str = "<oem>") -> Oem:
    """Read an NDM/XML OEM; errors carry the XML source line."""
    root = parse_xml(text, file)
    if root.tag != "oem":
        raise FormatError(file, source_line(root), str(root.tag), "root element is not <oem>")
    oem = Oem(file=file, version=root.get("version", "3.0"))
    header = root.find("header")
    if header is None:
        raise FormatError(file, source_line(root), "header", "missing <header>")
    for element in header:
        if not isinstance(element.tag, str):
            continue
        if element.tag == "COMMENT":
            oem.header_comments.append((element.text or "").strip())
        elif element.tag in HEADER_KEYWORDS:
            oem.header[str(element.tag)] = (element.text or "").strip()
        else:
            raise FormatError(file, source_line(element), str(element.tag), "not an OEM header keyword")
    _check_header(oem, file, source_line(header))
    for seg in root.findall("body/segment"):
        segment = OemSegment()
        oem.segments.append(segment)
        meta = seg.find("metadata")
        if meta is None:
            raise FormatError(file, source_line(seg), "metadata", "missing <metadata>")
        for element in meta:
            if not isinstance(element.tag, str):
                continue
            value = (element.text or "").strip()
            if element.tag == "COMMENT":
                segment.metadata_comments.append(value)
            else:
                _metadata_value(segment, str(element.tag), value, file, source_line(element))
        _check_metadata(segment, file, source_line(meta))
        rows = _Rows()
        for element in seg.findall("data/*"):
            if element.tag == "COMMENT":
                segment.data_comments.append((element.text or "").strip())
            elif element.tag == "stateVector":
                fields = {str(c.tag): (c.text or "").strip() for c in element if isinstance(c.tag, str)}
                keys = STATE_KEYS + (ACCELERATION_KEYS if "X_DDOT" in fields else ())
                line = " ".join([fields.get("EPOCH", "?"), *(fields.get(k, "?") for k in keys)])
                _statesource_line(oem, segment, rows, line, file, source_line(element))
            elif element.tag == "covarianceMatrix":
                _xml_covariance(oem, segment, element, file)
        rows.close(segment, oem, file, source_line(seg))
    if not oem.segments:
        raise FormatError(file, source_line(root), "segment", "no <segment> in <body>")
    return oem


def _xml_covariance(oem: Oem, segment: OemSegment, element: etree._Element, file: str) -> None:
    fields = {
        str(c.tag): (c.text or "").strip() for c in element if isinstance(c.tag, str) and c.tag != "COMMENT"
    }
    comments = [(c.text or "").strip() for c in element if c.tag == "COMMENT"]
    line = source_line(element)
    try:
        missing = [k for k in ("EPOCH", *COVARIANCE_KEYS) if k not in fields]
        if missing:
            raise FormatError(file, line, missing[0], "missing from <covarianceMatrix>")
        epoch = parse_epoch_ns(fields["EPOCH"], file, line, "EPOCH")
        values = [finite_number(fields[k], file, line, k) for k in COVARIANCE_KEYS]
        segment.covariances.append(
            Covariance(epoch, _covariance_matrix(values), fields.get("COV_REF_FRAME"), comments)
        )
    except FormatError as exc:
        oem.issues.append(exc.issue)


def read_oem(text: str, file: str = "<oem>") -> Oem:
    """KVN or XML, told apart by the first non-blank character."""
    return read_oem_xml(text, file) if text.lstrip().startswith("<") else read_oem_kvn(text, file)


__all__ = [
    "Covariance",
    "Oem",
    "OemSegment",
    "oem_ephemeris",
    "parse_epoch_ns",
    "read_oem",
    "read_oem_kvn",
    "read_oem_xml",
    "write_oem_kvn",
    "write_oem_xml",
]


def oem_ephemeris(segment: OemSegment, file: str = "<oem>") -> Ephemeris:
    """One segment as an interpolable ephemeris (``kizuna.orbit.ephemeris``), with the
    ``INTERPOLATION`` and ``INTERPOLATION_DEGREE`` it declares (Lagrange of degree 7 when it
    declares none, the degree CCSDS's OEM examples use). UTC, Earth-centred segments only; a
    segment that cannot be interpolated raises a FormatError naming the file and the keyword."""
    meta = segment.metadata
    if meta.get("TIME_SYSTEM", "UTC").upper() != "UTC":
        raise FormatError(
            file, 0, "TIME_SYSTEM", f"{meta['TIME_SYSTEM']}: only UTC ephemerides are interpolated"
        )
    if meta.get("CENTER_NAME", "EARTH").upper() != "EARTH":
        raise FormatError(file, 0, "CENTER_NAME", f"{meta['CENTER_NAME']}: only Earth-centred ephemerides")
    method = meta.get("INTERPOLATION", "LAGRANGE").strip().lower()
    degree = int(meta.get("INTERPOLATION_DEGREE", "7"))
    if method == "linear":
        degree = 1
    try:
        frame = frame_of(meta.get("REF_FRAME", ""))
    except EphemerisError as exc:
        raise FormatError(file, 0, "REF_FRAME", str(exc)) from None
    try:
        return Ephemeris(
            epochs_utc=segment.epochs,
            position_km=segment.states[:, :3],
            velocity_kms=segment.states[:, 3:],
            frame=frame,
            method=method,
            degree=degree,
            name=meta.get("OBJECT_NAME", ""),
        )
    except EphemerisError as exc:
        raise FormatError(file, 0, "INTERPOLATION", str(exc)) from None
