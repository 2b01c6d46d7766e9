"""IOD (Interactive Orbit Determination, G. D. Lewis 1998, clarified 2002): the fixed-column
format in which amateur and small-telescope observers report satellite positions.

One observation per line::

    23533 95 015A   8305 G 20031120011047590 56 35 2027142-289077 26

columns 1-5 NORAD number, 7-15 international designator, 17-20 station (COSPAR number), 22 sky
or station status, 24-40 UTC ``YYYYMMDDHHMMSSsss`` (trailing digits may be blank: less precision),
42-43 time uncertainty ``MX`` = M x 10^(X-8) s, 45 angle format, 46 epoch (equinox) code, 48-54 the
first angle, 55 its partner's sign, 56-61 the second angle, 63-64 position uncertainty
``MX`` = M x 10^(X-8) in the unit of the angle format, 66 optical behaviour, 67-70 visual
magnitude (sign and three digits, tenths).

Angle formats: 1 RA/Dec ``HHMMSSs+DDMMSS`` (uncertainty in arcseconds), 2 ``HHMMmmm+DDMMmm``
(arcminutes), 3 ``HHMMmmm+DDdddd`` (degrees), 4 Az/El ``DDDMMSS+DDMMSS`` (arcseconds),
5 ``DDDMMmm+DDMMmm`` (arcminutes), 6 ``DDDdddd+DDdddd`` (degrees), 7 RA/Dec ``HHMMSSs+DDdddd``
(degrees). Epoch codes: 0 of date, 1 B1855, 2 B1875, 3 B1900, 4 B1950, 5 J2000, 6 J2050.

Station-status lines (``C`` clouded out, ``O`` observer away) carry no position and are skipped.
A malformed line is an issue naming file, line and field; the other observations are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kizuna.formats.common import ParseResult

EQUINOXES = {
    "0": "of date",
    "1": "B1855",
    "2": "B1875",
    "3": "B1900",
    "4": "B1950",
    "5": "J2000",
    "6": "J2050",
}
# per angle format: (frame, first angle's layout, second angle's layout, uncertainty unit in degrees)
ANGLE_FORMATS = {
    "1": ("radec", "HHMMSSs", "DDMMSS", 1 / 3600),
    "2": ("radec", "HHMMmmm", "DDMMmm", 1 / 60),
    "3": ("radec", "HHMMmmm", "DDdddd", 1.0),
    "4": ("azel", "DDDMMSS", "DDMMSS", 1 / 3600),
    "5": ("azel", "DDDMMmm", "DDMMmm", 1 / 60),
    "6": ("azel", "DDDdddd", "DDdddd", 1.0),
    "7": ("radec", "HHMMSSs", "DDdddd", 1.0),
}


@dataclass(frozen=True)
class AngleObservation:
    """One optical position: RA/Dec (``frame`` ``radec``, RA as an angle in degrees) or Az/El."""

    norad_id: int
    international_designator: str
    station: int
    epoch_utc: np.datetime64
    frame: str
    equinox: str
    angle_1_deg: float  # right ascension or azimuth
    angle_2_deg: float  # declination or elevation
    time_sigma_s: float = math.nan
    position_sigma_deg: float = math.nan
    magnitude: float = math.nan


class _Bad(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field_name = field_name


def _digits(text: str, field_name: str) -> str:
    """A fixed-width numeric field; trailing blanks are missing precision (read as zeros)."""
    body = text.rstrip()
    if not body or not body.isdigit():
        raise _Bad(field_name, f"{text!r} is not digits")
    return body + "0" * (len(text) - len(body))


def _mx(text: str, scale: float) -> float:
    """The format's ``MX`` uncertainty: M x 10^(X-8), times the unit; blank is unknown."""
    if not text.strip():
        return math.nan
    if len(text) != 2 or not text.isdigit():
        raise _Bad("uncertainty", f"{text!r} is not two digits M X")
    return int(text[0]) * 10.0 ** (int(text[1]) - 8) * scale


def _angle(layout: str, text: str, field_name: str) -> float:
    """Degrees from one of the format's layouts (hours become degrees: x 15)."""
    d = _digits(text, field_name)
    if layout == "HHMMSSs":
        hours = int(d[0:2]) + int(d[2:4]) / 60 + int(d[4:7]) / 36000
        return hours * 15.0
    if layout == "HHMMmmm":
        return (int(d[0:2]) + int(d[2:7]) / 1000 / 60) * 15.0
    if layout == "DDDMMSS":
        return int(d[0:3]) + int(d[3:5]) / 60 + int(d[5:7]) / 3600
    if layout == "DDDMMmm":
        return int(d[0:3]) + int(d[3:7]) / 100 / 60
    if layout == "DDDdddd":
        return int(d[0:7]) / 10_000
    if layout == "DDMMSS":
        return int(d[0:2]) + int(d[2:4]) / 60 + int(d[4:6]) / 3600
    if layout == "DDMMmm":
        return int(d[0:2]) + int(d[2:6]) / 100 / 60
    return int(d[0:6]) / 10_000  # DDdddd


def _epoch(text: str) -> np.datetime64:
    d = text.rstrip()
    if len(d) < 12 or not d.isdigit():
        raise _Bad("time", f"{text.strip()!r} needs at least YYYYMMDDHHMM")
    d = d + "0" * (17 - len(d))
    try:
        minute = np.datetime64(f"{d[0:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}", "ns")
    except ValueError:
        raise _Bad("time", f"{text.strip()!r} is not a date and time") from None
    seconds_ms = int(d[12:17])
    if seconds_ms >= 61_000:  # 60.xxx is a leap second
        raise _Bad("time", f"{text.strip()!r} is not a time of day")
    return minute + np.timedelta64(seconds_ms, "ms")


def _observation(line: str) -> AngleObservation:
    padded = line.rstrip("\r\n").ljust(80)
    norad_text = padded[0:5].strip()
    if not norad_text.isdigit():
        raise _Bad("norad_id", f"{padded[0:5]!r} is not a catalogue number")
    station_text = padded[16:20].strip()
    if not station_text.isdigit():
        raise _Bad("station", f"{padded[16:20]!r} is not a station number")
    epoch = _epoch(padded[23:40])
    code, equinox_code = padded[44], padded[45]
    if code not in ANGLE_FORMATS:
        raise _Bad("angle_format", f"{code!r} is not an angle format 1-7")
    if equinox_code not in EQUINOXES:
        raise _Bad("epoch_code", f"{equinox_code!r} is not an epoch code 0-6")
    frame, first, second, unit_deg = ANGLE_FORMATS[code]
    angle_1 = _angle(first, padded[47:54], "angle_1")
    sign = padded[54]
    if sign not in "+-":
        raise _Bad("angle_2", f"sign {sign!r} is not + or -")
    angle_2 = _angle(second, padded[55:61], "angle_2") * (-1.0 if sign == "-" else 1.0)
    if not 0.0 <= angle_1 < 360.0:
        raise _Bad("angle_1", f"{angle_1:g} deg is outside 0-360")
    if abs(angle_2) > 90.0:
        raise _Bad("angle_2", f"{angle_2:g} deg is outside -90..90")
    magnitude = math.nan
    if padded[66] in "+-" and padded[67:70].strip():
        magnitude = int(_digits(padded[67:70], "magnitude")) / 10 * (-1 if padded[66] == "-" else 1)
    return AngleObservation(
        norad_id=int(norad_text),
        international_designator=padded[6:15].strip(),
        station=int(station_text),
        epoch_utc=epoch,
        frame=frame,
        equinox=EQUINOXES[equinox_code],
        angle_1_deg=angle_1,
        angle_2_deg=angle_2,
        time_sigma_s=_mx(padded[41:43], 1.0),
        position_sigma_deg=_mx(padded[62:64], unit_deg),
        magnitude=magnitude,
    )


def read_iod(text: str, file: str = "<iod>") -> ParseResult[AngleObservation]:
    """Every positional observation of an IOD file (other lines of a report are skipped)."""
    result: ParseResult[AngleObservation] = ParseResult(file, "iod")
    for number, line in enumerate(text.splitlines(), start=1):
        padded = line.ljust(80)
        # a report mixes observation lines with prose; an observation starts with 5 digits and
        # a space and carries its status in column 22
        if not (padded[0:5].strip().isdigit() and padded[5] == " " and padded[21] != " "):
            continue
        if padded[21] in "CO" and not padded[44:61].strip():
            continue  # clouded out / observer away: no position
        try:
            result.add(_observation(line), number)
        except _Bad as exc:
            result.issue(number, exc.field_name, str(exc))
    return result
