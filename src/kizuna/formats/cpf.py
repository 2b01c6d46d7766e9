"""ILRS Consolidated Prediction Format (CPF, versions 1 and 2): the predicted orbits laser stations
point with, published daily per satellite.

A file (ILRS, *Consolidated Laser Ranging Prediction Format*, v1.01 2006 and v2.00 2018) is a header
(``H1`` format, version, producer, production date, sequence numbers, target name; ``H2`` ILRS id,
SIC, NORAD id, start and end of the prediction, step, reference frame, centre-of-mass flag; ``H5``
the centre-of-mass offset; ``H9`` its end) then position records (``10``: direction flag, MJD,
seconds of day (UTC), leap-second flag, geocentric x, y, z in metres), optional velocity records
(``20``, m/s, after their position), comments (``00``) and an end record (``99``). Records ``30``
to ``70`` (corrections, transponder, offsets, rotation angles) are skipped.

The header must be readable (a :class:`~kizuna.errors.FormatError` naming file, line and field
otherwise: nothing under it could be interpreted); a bad position or velocity record is an issue by
line and field, and the other records are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kizuna.errors import FormatError, FormatIssue
from kizuna.orbit.ephemeris import Ephemeris, frame_of

#: H2 reference frame codes (CPF v2.00 section 2.2)
REFERENCE_FRAMES = {0: "ITRF", 1: "TOD", 2: "J2000"}
_MJD_UNIX_DAYS = 40587  # MJD of 1970-01-01


@dataclass
class Cpf:
    """One CPF file: the header facts and the states (instantaneous vectors, direction flag 0)."""

    file: str
    version: int
    source: str
    production_utc: np.datetime64  # date and hour of production
    sequence_number: int
    sub_daily_sequence_number: int | None  # version 2
    target_name: str
    ilrs_id: str
    sic: str
    norad_id: int | None
    start_utc: np.datetime64
    stop_utc: np.datetime64
    step_s: int
    tiv_compatible: bool
    target_class: int
    reference_frame: str  # ITRF, TOD or J2000
    center_of_mass_applied: bool
    center_of_mass_offset_m: float | None = None  # H5
    target_location: int | None = None  # version 2: 1 Earth orbit, 2 lunar surface, ...
    comments: list[str] = field(default_factory=list)
    epochs_utc: np.ndarray = field(default_factory=lambda: np.zeros(0, "datetime64[ns]"))
    position_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    velocity_ms: np.ndarray | None = None  # when every state has a 20 record
    lines: list[int] = field(default_factory=list)  # line of each state's 10 record
    issues: list[FormatIssue] = field(default_factory=list)


def _int(tokens: list[str], i: int, file: str, line: int, name: str) -> int:
    try:
        return int(tokens[i])
    except IndexError:
        raise FormatError(file, line, name, "missing") from None
    except ValueError:
        raise FormatError(file, line, name, f"{tokens[i]!r} is not an integer") from None


def _float(tokens: list[str], i: int, file: str, line: int, name: str) -> float:
    try:
        value = float(tokens[i])
    except IndexError:
        raise FormatError(file, line, name, "missing") from None
    except ValueError:
        raise FormatError(file, line, name, f"{tokens[i]!r} is not a number") from None
    if not np.isfinite(value):
        raise FormatError(file, line, name, f"{tokens[i]!r} is not finite")
    return value


def _datetime(tokens: list[str], i: int, file: str, line: int, name: str) -> np.datetime64:
    y, mo, d, h, mi, s = (_int(tokens, i + k, file, line, name) for k in range(6))
    try:
        day = np.datetime64(f"{y:04d}-{mo:02d}-{d:02d}", "ns")
    except ValueError:
        raise FormatError(file, line, name, f"{y}-{mo}-{d} is not a date") from None
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= s < 61):
        raise FormatError(file, line, name, f"{h}:{mi}:{s} is not a time of day")
    return day + np.timedelta64(h * 3600 + mi * 60 + s, "s")


def _epoch(mjd: int, sod: float) -> np.datetime64:
    ns = round(sod * 1e9)
    return np.datetime64((mjd - _MJD_UNIX_DAYS) * 86_400_000_000_000 + ns, "ns")


def read_cpf(text: str, file: str = "<cpf>") -> Cpf:
    """Read one CPF file (versions 1 and 2): module docstring for what is kept and how errors are
    reported."""
    header: dict[str, list[str]] = {}
    header_lines: dict[str, int] = {}
    comments: list[str] = []
    issues: list[FormatIssue] = []
    epochs: list[np.datetime64] = []
    positions: list[tuple[float, float, float]] = []
    velocities: dict[int, tuple[float, float, float]] = {}
    state_lines: list[int] = []
    header_done = False
    ended = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        tokens = line.split()
        kind = tokens[0].upper()
        if kind == "00":
            comments.append(line[2:].strip())
            continue
        if ended:
            issues.append(FormatIssue(file, number, "record", f"{kind} after the end record 99"))
            continue
        if kind.startswith("H"):
            if header_done:
                raise FormatError(file, number, kind, "a header record after the header's end (H9)")
            if kind == "H9":
                header_done = True
            elif kind in ("H1", "H2", "H3", "H4", "H5"):
                header[kind] = tokens
                header_lines[kind] = number
            else:
                raise FormatError(file, number, "record type", f"{tokens[0]!r} is not a CPF header record")
            continue
        if not header_done:
            raise FormatError(file, number, "H9", f"record {tokens[0]!r} before the header's end (H9)")
        if kind == "99":
            ended = True
            continue
        if kind == "10":
            try:
                flag = _int(tokens, 1, file, number, "direction flag")
                mjd = _int(tokens, 2, file, number, "MJD")
                sod = _float(tokens, 3, file, number, "seconds of day")
                _int(tokens, 4, file, number, "leap second flag")
                xyz = tuple(_float(tokens, 5 + k, file, number, "xyz"[k] + " position") for k in range(3))
                if not 0.0 <= sod < 86_401.0:
                    raise FormatError(file, number, "seconds of day", f"{sod} is outside 0..86400")
                if not 15_000 <= mjd <= 88_000:
                    raise FormatError(file, number, "MJD", f"{mjd} is outside 1900..2100")
            except FormatError as exc:
                issues.append(exc.issue)
                continue
            if flag != 0:  # transmit/receive vectors of two-way predictions: not the common epoch
                continue
            epochs.append(_epoch(mjd, sod))
            positions.append(xyz)  # type: ignore[arg-type]
            state_lines.append(number)
        elif kind == "20":
            try:
                flag = _int(tokens, 1, file, number, "direction flag")
                vel = tuple(_float(tokens, 2 + k, file, number, "xyz"[k] + " velocity") for k in range(3))
            except FormatError as exc:
                issues.append(exc.issue)
                continue
            if flag == 0 and state_lines and state_lines[-1] < number:
                velocities[len(positions) - 1] = vel  # type: ignore[assignment]
        elif kind in ("30", "40", "50", "60", "70"):
            continue
        else:
            issues.append(FormatIssue(file, number, "record type", f"{tokens[0]!r} is not a CPF record"))
    if "H1" not in header:
        raise FormatError(file, 1, "H1", "no H1 record: not a CPF file")
    h1, n1 = header["H1"], header_lines["H1"]
    if len(h1) < 2 or h1[1].upper() != "CPF":
        raise FormatError(file, n1, "format", f"{h1[1] if len(h1) > 1 else ''!r} is not 'CPF'")
    version = _int(h1, 2, file, n1, "version")
    if version not in (1, 2):
        raise FormatError(file, n1, "version", f"{version} is not 1 or 2")
    source = h1[3] if len(h1) > 3 else ""
    y, mo, d, hour = (_int(h1, 4 + k, file, n1, "production date") for k in range(4))
    production = _datetime([str(y), str(mo), str(d), str(hour), "0", "0"], 0, file, n1, "production date")
    sequence = _int(h1, 8, file, n1, "sequence number")
    sub_daily = _int(h1, 9, file, n1, "sub-daily sequence number") if version == 2 else None
    name_at = 10 if version == 2 else 9
    target = h1[name_at] if len(h1) > name_at else ""
    if "H2" not in header:
        raise FormatError(file, n1, "H2", "no H2 record (target and prediction span)")
    h2, n2 = header["H2"], header_lines["H2"]
    norad = _int(h2, 3, file, n2, "NORAD id")
    start = _datetime(h2, 4, file, n2, "start")
    stop = _datetime(h2, 10, file, n2, "end")
    if stop < start:
        raise FormatError(file, n2, "end", f"{stop} is before the start {start}")
    step = _int(h2, 16, file, n2, "step")
    frame_code = _int(h2, 19, file, n2, "reference frame")
    if frame_code not in REFERENCE_FRAMES:
        raise FormatError(file, n2, "reference frame", f"{frame_code} is not 0 (ITRF), 1 (TOD) or 2 (J2000)")
    com_offset = None
    if "H5" in header:
        com_offset = _float(header["H5"], 1, file, header_lines["H5"], "center of mass offset")
    cpf = Cpf(
        file=file,
        version=version,
        source=source,
        production_utc=production,
        sequence_number=sequence,
        sub_daily_sequence_number=sub_daily,
        target_name=target,
        ilrs_id=h2[1] if len(h2) > 1 else "",
        sic=h2[2] if len(h2) > 2 else "",
        norad_id=norad or None,
        start_utc=start,
        stop_utc=stop,
        step_s=step,
        tiv_compatible=_int(h2, 17, file, n2, "TIV compatibility") == 1,
        target_class=_int(h2, 18, file, n2, "target class"),
        reference_frame=REFERENCE_FRAMES[frame_code],
        center_of_mass_applied=_int(h2, 21, file, n2, "center of mass correction") == 1,
        center_of_mass_offset_m=com_offset,
        target_location=_int(h2, 22, file, n2, "target location") if version == 2 and len(h2) > 22 else None,
        comments=comments,
        lines=state_lines,
        issues=issues,
    )
    if epochs:
        t = np.array(epochs, "datetime64[ns]")
        order = np.argsort(t, kind="stable")
        repeat = np.flatnonzero(np.diff(t[order].astype("int64")) == 0) + 1
        for k in repeat:
            issues.append(
                FormatIssue(file, state_lines[order[k]], "epoch", "a second state at the same epoch")
            )
        keep = np.setdiff1d(order, order[repeat], assume_unique=True)
        keep = keep[np.argsort(t[keep], kind="stable")]
        cpf.epochs_utc = t[keep]
        cpf.position_m = np.array(positions, float)[keep]
        cpf.lines = [state_lines[k] for k in keep]
        if velocities and len(velocities) == len(positions):
            cpf.velocity_ms = np.array([velocities[k] for k in range(len(positions))], float)[keep]
    return cpf


def cpf_ephemeris(cpf: Cpf, degree: int = 9) -> Ephemeris:
    """The CPF as an interpolable ephemeris: Lagrange of degree 9 (10 states), as Orekit reads CPF;
    velocities from the polynomial unless the file carries 20 records."""
    if cpf.reference_frame == "TOD":
        raise FormatError(cpf.file, 1, "reference frame", "true-of-date CPF states are not supported")
    return Ephemeris(
        epochs_utc=cpf.epochs_utc,
        position_km=cpf.position_m / 1000.0,
        velocity_kms=None if cpf.velocity_ms is None else cpf.velocity_ms / 1000.0,
        frame=frame_of("ITRF" if cpf.reference_frame == "ITRF" else "EME2000"),
        method="lagrange",
        degree=degree,
        name=cpf.target_name,
    )
