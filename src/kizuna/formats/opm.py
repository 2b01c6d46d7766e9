"""CCSDS Orbit Parameter Message (OPM, CCSDS 502.0-B-3, versions 2.0 and 3.0), KVN: one state
vector at an epoch with its optional 6x6 covariance, spacecraft parameters and comments.

An OPM is how an orbit-determination result leaves a node: the estimated state and the covariance
that a partner's screening needs. The reader keeps the state and covariance (km, km/s; km^2 ...),
the metadata and spacecraft parameters as text; keplerian elements and maneuvers are read as text
keywords too, so a partner's OPM with them reads without loss of what Kizuna uses.

A line that cannot be understood raises :class:`~kizuna.errors.FormatError` naming file, line and
keyword: an OPM is one state, there is no "rest of the batch" to keep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from kizuna.errors import FormatError
from kizuna.formats.ndm import finite_number, one_line
from kizuna.formats.oem import _format_epoch, parse_epoch_ns

HEADER_KEYWORDS = ("CLASSIFICATION", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID")
MANDATORY_HEADER = ("CREATION_DATE", "ORIGINATOR")
METADATA_KEYWORDS = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "REF_FRAME_EPOCH", "TIME_SYSTEM")
MANDATORY_METADATA = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM")
STATE_KEYS = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
_AXES = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")
COVARIANCE_KEYS = tuple(f"C{_AXES[i]}_{_AXES[j]}" for i in range(6) for j in range(i + 1))
# Optional data keywords kept as text (spacecraft parameters, keplerian elements, user-defined).
SPACECRAFT_KEYS = ("MASS", "SOLAR_RAD_AREA", "SOLAR_RAD_COEFF", "DRAG_AREA", "DRAG_COEFF")
KEPLERIAN_KEYS = (
    "SEMI_MAJOR_AXIS",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "TRUE_ANOMALY",
    "MEAN_ANOMALY",
    "GM",
)
_KVN = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$")
_UNIT = re.compile(r"^(.*?)\s*\[[^\]]*\]\s*$")


@dataclass
class Opm:
    """A state (km, km/s) at ``epoch`` in ``metadata['REF_FRAME']``; ``covariance`` 6x6 in km^2,
    km^2/s, km^2/s^2 (in ``COV_REF_FRAME`` when given, else the state's frame)."""

    epoch: np.datetime64
    state_km: np.ndarray
    metadata: dict[str, str]
    header: dict[str, str] = field(default_factory=dict)
    version: str = "3.0"
    covariance_km: np.ndarray | None = None
    cov_ref_frame: str | None = None
    spacecraft: dict[str, float] = field(default_factory=dict)
    keplerian: dict[str, float] = field(default_factory=dict)
    user: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    file: str = "<opm>"


def _fmt(value: float) -> str:
    return repr(float(value))


def write_opm_kvn(opm: Opm) -> str:
    """The message as KVN; reading it back gives the same message."""
    out = [f"CCSDS_OPM_VERS = {opm.version}"]
    out += [f"{k} = {one_line(opm.header[k])}" for k in HEADER_KEYWORDS if k in opm.header]
    out += [f"{k} = {one_line(opm.metadata[k])}" for k in METADATA_KEYWORDS if k in opm.metadata]
    out += [f"COMMENT {one_line(c)}" for c in opm.comments]
    out.append(f"EPOCH = {_format_epoch(opm.epoch)}")
    units = ("km", "km", "km", "km/s", "km/s", "km/s")
    out += [f"{k} = {_fmt(v)} [{u}]" for k, v, u in zip(STATE_KEYS, opm.state_km, units, strict=True)]
    if opm.keplerian:
        out += [f"{k} = {_fmt(opm.keplerian[k])}" for k in KEPLERIAN_KEYS if k in opm.keplerian]
    if opm.spacecraft:
        out += [f"{k} = {_fmt(opm.spacecraft[k])}" for k in SPACECRAFT_KEYS if k in opm.spacecraft]
    if opm.covariance_km is not None:
        if opm.cov_ref_frame:
            out.append(f"COV_REF_FRAME = {opm.cov_ref_frame}")
        out += [
            f"{k} = {_fmt(opm.covariance_km[i, j])}"
            for (i, j), k in zip(_lower(), COVARIANCE_KEYS, strict=True)
        ]
    out += [f"USER_DEFINED_{k} = {one_line(v)}" for k, v in opm.user.items()]
    return "\n".join(out) + "\n"


def _lower() -> list[tuple[int, int]]:
    return [(i, j) for i in range(6) for j in range(i + 1)]


def read_opm_kvn(text: str, file: str = "<opm>") -> Opm:
    """Read a KVN OPM; any bad line raises a FormatError naming file, line and keyword."""
    header: dict[str, str] = {}
    metadata: dict[str, str] = {}
    values: dict[str, float] = {}
    user: dict[str, str] = {}
    comments: list[str] = []
    version = ""
    epoch: np.datetime64 | None = None
    cov_frame: str | None = None
    last = 0
    text_keys = {"MAN_REF_FRAME", "MAN_EPOCH_IGNITION"}
    for number, raw in enumerate(text.splitlines(), start=1):
        last = number
        line = raw.strip()
        if not line:
            continue
        if line.startswith("COMMENT"):
            comments.append(line[7:].strip())
            continue
        match = _KVN.match(line)
        if match is None:
            raise FormatError(file, number, "-", "not a KEYWORD = value line")
        key, value = match[1].upper(), match[2]
        unit = _UNIT.match(value)
        if unit:
            value = unit[1]
        if not version:
            if key != "CCSDS_OPM_VERS":
                raise FormatError(file, number, key, "an OPM starts with CCSDS_OPM_VERS")
            if value not in ("1.0", "2.0", "3.0"):
                raise FormatError(file, number, key, f"{value!r} is not 1.0, 2.0 or 3.0")
            version = value
        elif key in HEADER_KEYWORDS:
            header[key] = value
        elif key in METADATA_KEYWORDS:
            metadata[key] = value
        elif key == "EPOCH":
            epoch = parse_epoch_ns(value, file, number, key)
        elif key == "COV_REF_FRAME":
            cov_frame = value
        elif key.startswith("USER_DEFINED_"):
            user[key[len("USER_DEFINED_") :]] = value
        elif key in STATE_KEYS or key in COVARIANCE_KEYS or key in SPACECRAFT_KEYS or key in KEPLERIAN_KEYS:
            if key in values:
                raise FormatError(file, number, key, "given twice")
            values[key] = finite_number(value, file, number, key)
        elif key.startswith("MAN_") or key in text_keys:
            continue  # maneuvers are not used by Kizuna's OD; read past them
        else:
            raise FormatError(file, number, key, "not an OPM keyword")
    if not version:
        raise FormatError(file, last, "CCSDS_OPM_VERS", "empty message")
    for key in MANDATORY_HEADER:
        if key not in header:
            raise FormatError(file, last, key, "mandatory header keyword missing")
    for key in MANDATORY_METADATA:
        if key not in metadata:
            raise FormatError(file, last, key, "mandatory metadata keyword missing")
    if epoch is None:
        raise FormatError(file, last, "EPOCH", "mandatory keyword missing")
    missing = [k for k in STATE_KEYS if k not in values]
    if missing:
        raise FormatError(file, last, missing[0], "state vector component missing")
    covariance = None
    present = [k for k in COVARIANCE_KEYS if k in values]
    if present:
        if len(present) != len(COVARIANCE_KEYS):
            absent = next(k for k in COVARIANCE_KEYS if k not in values)
            raise FormatError(file, last, absent, "covariance incomplete")
        covariance = np.zeros((6, 6))
        for (i, j), k in zip(_lower(), COVARIANCE_KEYS, strict=True):
            covariance[i, j] = covariance[j, i] = values[k]
    return Opm(
        epoch=epoch,
        state_km=np.array([values[k] for k in STATE_KEYS]),
        metadata=metadata,
        header=header,
        version=version,
        covariance_km=covariance,
        cov_ref_frame=cov_frame,
        spacecraft={k: values[k] for k in SPACECRAFT_KEYS if k in values},
        keplerian={k: values[k] for k in KEPLERIAN_KEYS if k in values},
        user=user,
        comments=comments,
        file=file,
    )
