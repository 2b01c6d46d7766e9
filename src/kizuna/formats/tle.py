"""Two-line and three-line element sets (TLE / 3LE), with alpha-5 catalog numbers.

Column layout after the Space-Track / CelesTrak TLE documentation (and Vallado,
"Revisiting Spacetrack Report #3", 2006). Checksums are verified (modulo 10, a
minus sign counts as 1). Every problem is reported with file, line and field
(field names follow the CCSDS OMM keywords so TLE and OMM errors read alike),
and reading goes on with the next set.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import numpy as np

from kizuna.formats.common import ParseResult, fixed, physical_lines
from kizuna.formats.common import digits as _digits
from kizuna.model.records import ElementSet

# Alpha-5: the first of five characters is a letter worth 10..33, skipping I and O.
_ALPHA5_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_ALPHA5_VALUE = {c: i + 10 for i, c in enumerate(_ALPHA5_LETTERS)}
_EXP_FIELD = re.compile(r"^([+-]?)(\d{1,5})([+-]\d)$")
_TLE_LINE_LENGTH = 69
_MICROSECONDS_PER_DAY = 86_400_000_000
# Byte -> checksum value: '0'..'9' their digit, '-' one, every other byte zero.
_CHECKSUM_VALUES = bytes(b - 48 if 48 <= b <= 57 else 1 if b == 45 else 0 for b in range(256))
# Compiled once: re.fullmatch(pattern, ...) looks its pattern up in re's cache on every call,
# which cost more than the match itself at catalog scale (eight numeric fields per set).
_FLOAT_TEXT = re.compile(r"-?(\d+\.?\d*|\.\d+)")
_SHORT_INT = re.compile(r"[+-]?\d{1,5}")
_EPOCH_TEXT = re.compile(r"(\d{2})(\d{3})(?:\.(\d{1,8}))?")
_DESIGNATOR_TLE = re.compile(r"(\d{2})(\d{3})([A-Z]{0,3})")


class _FieldError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def tle_checksum(line: str) -> int:
    """Checksum of the first 68 columns: digits add their value, '-' adds 1.

    Summed in C (bytes.translate maps each character to its value, sum() adds them) rather
    than by a Python loop over characters, which cost 10 us per line, a quarter of a
    full-catalog load. Only the ASCII digits and '-' count; every other character, non-ASCII
    digits included, adds nothing (dropped by the encode, or mapped to 0).
    """
    return sum(line[:68].encode("ascii", "ignore").translate(_CHECKSUM_VALUES)) % 10


def decode_catalog_number(text: str) -> int:
    """Five-column catalog number: digits (blank- or zero-padded) or alpha-5."""
    s = text.strip()
    if not s:
        raise ValueError("blank catalog number")
    if s[0].isalpha():
        letter = s[0].upper()
        if letter not in _ALPHA5_VALUE or len(s) != 5 or not _digits(s[1:]):
            raise ValueError(f"{text!r} is not an alpha-5 catalog number (letters I and O are not used)")
        return _ALPHA5_VALUE[letter] * 10000 + int(s[1:])
    if not _digits(s):
        raise ValueError(f"{text!r} is not a catalog number")
    return int(s)


def encode_catalog_number(norad_id: int) -> str:
    if 0 <= norad_id <= 99999:
        return f"{norad_id:05d}"
    if 100000 <= norad_id <= 339999:
        return _ALPHA5_LETTERS[norad_id // 10000 - 10] + f"{norad_id % 10000:04d}"
    raise ValueError(f"catalog number {norad_id} cannot be written in five TLE columns")


def _float(field: str, text: str) -> float:
    s = text.strip()
    if s.startswith("+"):
        s = s[1:]
    if not s or not _FLOAT_TEXT.fullmatch(s):
        raise _FieldError(field, f"{text.strip()!r} is not a number")
    value = float(s)
    if not math.isfinite(value):
        raise _FieldError(field, f"{text.strip()!r} is not finite")
    return value


def _exp_field(field: str, text: str) -> float:
    """An 'assumed decimal point' field such as ' 11563-4' meaning 0.11563e-4."""
    s = text.strip()
    m = _EXP_FIELD.match(s) if s else None
    if not m:
        if s and _SHORT_INT.fullmatch(s):  # some producers omit a zero exponent
            m = _EXP_FIELD.match(s + "+0")
        if not m:
            raise _FieldError(field, f"{text.strip()!r} is not an assumed-decimal number like ' 12345-4'")
    sign, digits, exponent = m.groups()
    return float(f"{sign}0.{digits}e{exponent}")


def _int(field: str, text: str, blank: int | None = None) -> int:
    s = text.strip()
    if not s and blank is not None:
        return blank
    if s.startswith("+"):
        s = s[1:]
    if not _digits(s):
        raise _FieldError(field, f"{text.strip()!r} is not an integer")
    return int(s)


def _epoch(text: str) -> datetime:
    """TLE epoch 'YYDDD.DDDDDDDD', two-digit year pivoting at 57 (1957..2056)."""
    s = text.strip()
    m = _EPOCH_TEXT.fullmatch(s)
    if not m:
        raise _FieldError("EPOCH", f"{text!r} is not a TLE epoch YYDDD.DDDDDDDD")
    yy, day_text, frac_text = m.groups()
    return _epoch_from_parts(yy, day_text, frac_text)


def _epoch_from_parts(yy: str, day_text: str, frac_text: str | None) -> datetime:
    frac_text = frac_text or "0"
    # Exact integer rounding to the microsecond: 8 decimals of a day are 864 us each.
    scale = 10 ** len(frac_text)
    micro = (int(frac_text) * _MICROSECONDS_PER_DAY * 2 + scale) // (2 * scale)
    return _day_start(yy, day_text) + timedelta(microseconds=micro)


@functools.lru_cache(maxsize=4096)
def _day_start(yy: str, day_text: str) -> datetime:
    """00:00 UTC of a TLE epoch's day; cached because a catalog's epochs fall on few days
    and building the date cost more than the rest of the epoch."""
    year = 1900 + int(yy) if int(yy) >= 57 else 2000 + int(yy)
    day = int(day_text)
    days_in_year = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    if not 1 <= day <= days_in_year:
        raise _FieldError("EPOCH", f"day of year {day} outside 1..{days_in_year}")
    return datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1)


def _designator_from_tle(text: str) -> str | None:
    s = text.strip()
    if not s:
        return None
    m = _DESIGNATOR_TLE.fullmatch(s)
    if not m:
        raise _FieldError("OBJECT_ID", f"{s!r} is not an international designator like 98067A")
    yy, launch, piece = m.groups()
    year = 1900 + int(yy) if int(yy) >= 57 else 2000 + int(yy)
    return f"{year}-{launch}{piece}"


def _designator_to_tle(object_id: str | None) -> str:
    if not object_id:
        return " " * 8
    m = re.fullmatch(r"(\d{4})-(\d{3})([A-Z]{0,3})", object_id.strip())
    if not m:
        # Already in TLE form, or an analyst label: keep what fits.
        return f"{object_id.strip()[:8]:<8}"
    year, launch, piece = m.groups()
    return f"{year[2:]}{launch}{piece:<3}"


# (keyword, first column, last column), 1-based as the TLE documentation counts them
_COLUMNS = {
    1: (
        ("NORAD_CAT_ID", 3, 7),
        ("CLASSIFICATION_TYPE", 8, 8),
        ("OBJECT_ID", 10, 17),
        ("EPOCH", 19, 32),
        ("MEAN_MOTION_DOT", 34, 43),
        ("MEAN_MOTION_DDOT", 45, 52),
        ("BSTAR", 54, 61),
        ("EPHEMERIS_TYPE", 63, 63),
        ("ELEMENT_SET_NO", 65, 68),
        ("checksum", 69, 69),
    ),
    2: (
        ("NORAD_CAT_ID", 3, 7),
        ("INCLINATION", 9, 16),
        ("RA_OF_ASC_NODE", 18, 25),
        ("ECCENTRICITY", 27, 33),
        ("ARG_OF_PERICENTER", 35, 42),
        ("MEAN_ANOMALY", 44, 51),
        ("MEAN_MOTION", 53, 63),
        ("REV_AT_EPOCH", 64, 68),
        ("checksum", 69, 69),
    ),
}


def _length_message(which: int, line: str) -> str:
    """'line 2 is 40 characters, ...' plus, for a cut line, the first field it cuts."""
    text = f"line {which} is {len(line)} characters, a TLE line has {_TLE_LINE_LENGTH}"
    if len(line) < _TLE_LINE_LENGTH:
        name, first, last = next(c for c in _COLUMNS[which] if c[2] > len(line))
        where = f"column {first}" if first == last else f"columns {first}-{last}"
        text += f": cut short in {name} ({where})"
    return text


# The usual layout of a well-formed pair, as CelesTrak and Space-Track write it: five-digit
# catalog numbers, fixed-point fields padded with blanks, blank separators. A pair that matches
# is converted straight from the groups; anything else (alpha-5, short epochs, odd padding, and
# every error) goes through the field-by-field reader, which alone phrases the error messages.
# Each group accepts a subset of what that reader accepts, so both give the same record.
_W3 = r"(?:  \d| \d\d|\d{3})"  # a right-aligned integer part of three columns
_FAST_LINE1 = re.compile(
    r"1 (\d{5}| \d{4}|  \d{3}|   \d\d|    \d)([UCS ]) "
    r"(?:(\d\d)(\d{3})([A-Z]{3}|[A-Z]{2} |[A-Z]  |   )|        ) "
    r"(\d\d)(\d{3})\.(\d{8}) "
    r"([ +-]\.\d{8}) "
    r"([ +-])(\d{5})([+-]\d) "
    r"([ +-])(\d{5})([+-]\d) "
    r"([\d ]) "
    r"(\d{4}| \d{3}|  \d\d|   \d|    )\d",
    re.ASCII,  # \d is 0-9 only, as the field reader's digits()
)
_FAST_LINE2 = re.compile(
    rf"2 (\d{{5}}| \d{{4}}|  \d{{3}}|   \d\d|    \d) ({_W3}\.\d{{4}}) ({_W3}\.\d{{4}}) (\d{{7}}) ({_W3}\.\d{{4}}) ({_W3}\.\d{{4}}) "
    r"((?: \d|\d\d)\.\d{8})(\d{5}| \d{4}|  \d{3}|   \d\d|    \d|     )\d",
    re.ASCII,
)


def _parse_pair_fast(
    line1: str, line2: str, name: str | None, file: str, lineno1: int, verify_checksum: bool
) -> ElementSet | None:
    """The set of a well-formed pair, or None when the pair needs the field-by-field reader."""
    m1 = _FAST_LINE1.fullmatch(line1)
    m2 = _FAST_LINE2.fullmatch(line2) if m1 else None
    if m2 is None or m1 is None:
        return None
    if verify_checksum and (int(line1[68]) != tle_checksum(line1) or int(line2[68]) != tle_checksum(line2)):
        return None
    (
        cat1, cls, d_yy, d_launch, d_piece, e_yy, e_day, e_frac, ndot,
        dd_sign, dd_digits, dd_exp, b_sign, b_digits, b_exp, eph, elnum,
    ) = m1.groups()  # fmt: skip
    cat2, inc_text, raan_text, ecc_text, argp_text, ma_text, mm_text, rev = m2.groups()
    norad_id = int(cat1)
    if norad_id != int(cat2):
        return None
    inclination, raan = float(inc_text), float(raan_text)
    argp, mean_anomaly, mean_motion = float(argp_text), float(ma_text), float(mm_text)
    if not (
        inclination <= 180.0
        and raan <= 360.0
        and argp <= 360.0
        and mean_anomaly <= 360.0
        and mean_motion > 0.0
    ):
        return None
    try:
        day_start = _day_start(e_yy, e_day)
    except _FieldError:
        return None
    # _epoch_from_parts with its eight decimals: (f * us_per_day * 2 + 1e8) // 2e8, exact.
    epoch = day_start + timedelta(microseconds=(int(e_frac) * 172_800_000_000 + 100_000_000) // 200_000_000)
    if d_yy is None:
        object_id = None
    else:
        year = 1900 + int(d_yy) if int(d_yy) >= 57 else 2000 + int(d_yy)
        object_id = f"{year}-{d_launch}{d_piece.rstrip()}"
    try:
        return ElementSet(
            norad_id=norad_id,
            epoch_utc=epoch,
            mean_motion_revday=mean_motion,
            eccentricity=float("0." + ecc_text),
            inclination_deg=inclination,
            raan_deg=raan,
            arg_perigee_deg=argp,
            mean_anomaly_deg=mean_anomaly,
            # Same text-to-float conversions as _exp_field, so both paths give identical bits.
            bstar_per_er=float(f"{b_sign.strip()}0.{b_digits}e{b_exp}"),
            mean_motion_dot_revday2=float(ndot),
            mean_motion_ddot_revday3=float(f"{dd_sign.strip()}0.{dd_digits}e{dd_exp}"),
            object_name=name,
            object_id=object_id,
            classification=cls.strip() or "U",
            ephemeris_type=0 if eph == " " else int(eph),
            element_set_no=int(elnum) if elnum.strip() else 0,
            rev_at_epoch=int(rev) if rev.strip() else 0,
            source=f"{file}:{lineno1}",
        )
    except ValueError:
        return None


# Batches of pairs that matched the fast layout are converted column by column with numpy (one
# pass in C per field instead of a float() or int() per field per set), then each set is built.
# Every conversion gives the bits _parse_pair_fast's gives: decimal text to float64 through
# the same correctly rounded parse, assumed-decimal fields as an exact integer scaled by an
# exact power of ten (one correctly rounded IEEE operation, as the correctly rounded parse of
# the same number), and the epoch fraction as 864 us per unit of the eighth decimal of a day
# (exact). A pair that fails a check comes back as None, for the field-by-field reader.
_DIGIT_TABLE = np.array([b - 48 if 48 <= b <= 57 else 0 for b in range(256)], dtype=np.int64)
_CHECKSUM_TABLE = np.frombuffer(_CHECKSUM_VALUES, dtype=np.uint8).astype(np.int64)
_POWERS_OF_TEN = np.array([float(10**k) for k in range(23)])  # exact in float64 up to 1e22


def _columns_int(lines: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Right-aligned integers of columns [first, stop) (blanks and a sign count 0, as the
    leading padding the fast layout allows)."""
    weights = 10 ** np.arange(stop - first - 1, -1, -1, dtype=np.int64)
    return _DIGIT_TABLE[lines[:, first:stop]] @ weights


def _columns_fixed(lines: np.ndarray, first: int, point: int, stop: int) -> np.ndarray:
    """Fixed-point text of columns [first, stop) with its point at `point` and a sign or
    blanks before the digits, as float64: the digits as one exact integer divided by an exact
    power of ten, one correctly rounded operation (numpy's own text parse costs more than
    Python's float() per value)."""
    decimals = stop - point - 1
    digits = _columns_int(lines, first, point) * 10**decimals + _columns_int(lines, point + 1, stop)
    value = digits / _POWERS_OF_TEN[decimals]
    return np.where((lines[:, first:point] == ord("-")).any(axis=1), -value, value)


def _columns_assumed_decimal(lines: np.ndarray, first: int) -> np.ndarray:
    """The ' 12345-4' field starting at `first`: sign, five digits, signed exponent digit."""
    mantissa = _columns_int(lines, first + 1, first + 6).astype(np.float64)
    exponent = _DIGIT_TABLE[lines[:, first + 7]] * np.where(lines[:, first + 6] == ord("-"), -1, 1)
    shift = exponent - 5  # 0.12345e-4 = 12345 x 10^(-4-5)
    value = np.where(
        shift >= 0,
        mantissa * _POWERS_OF_TEN[np.clip(shift, 0, None)],
        mantissa / _POWERS_OF_TEN[np.clip(-shift, 0, None)],
    )
    return np.where(lines[:, first] == ord("-"), -value, value)


def _sets_from_fast_pairs(
    pairs: list[tuple[str, str, str | None, int, int, int]], file: str, verify_checksum: bool
) -> list[ElementSet | None]:
    """The sets of (line 1, line 2, name, line 1's number, line 2's number, first line's
    number) pairs whose lines matched _FAST_LINE1 and _FAST_LINE2 (69 ASCII characters each),
    in order; None for a pair _parse_pair_fast would refuse."""
    n = len(pairs)
    one = np.frombuffer("".join([p[0] for p in pairs]).encode("ascii"), dtype=np.uint8).reshape(n, 69)
    two = np.frombuffer("".join([p[1] for p in pairs]).encode("ascii"), dtype=np.uint8).reshape(n, 69)
    norad = _columns_int(one, 2, 7)
    inclination = _columns_fixed(two, 8, 11, 16)
    raan = _columns_fixed(two, 17, 20, 25)
    argp = _columns_fixed(two, 34, 37, 42)
    mean_anomaly = _columns_fixed(two, 43, 46, 51)
    mean_motion = _columns_fixed(two, 52, 54, 63)
    good = (
        (norad == _columns_int(two, 2, 7))
        & (inclination <= 180.0)
        & (raan <= 360.0)
        & (argp <= 360.0)
        & (mean_anomaly <= 360.0)
        & (mean_motion > 0.0)
    )
    if verify_checksum:
        for lines in (one, two):
            good &= _CHECKSUM_TABLE[lines[:, :68]].sum(axis=1) % 10 == _DIGIT_TABLE[lines[:, 68]]
    columns = zip(
        pairs,
        good.tolist(),
        norad.tolist(),
        (_columns_int(one, 24, 32) * 864).tolist(),  # microseconds since the epoch's day start
        mean_motion.tolist(),
        (_columns_int(two, 26, 33) / 1e7).tolist(),
        inclination.tolist(),
        raan.tolist(),
        argp.tolist(),
        mean_anomaly.tolist(),
        _columns_assumed_decimal(one, 53).tolist(),
        _columns_fixed(one, 33, 34, 43).tolist(),
        _columns_assumed_decimal(one, 44).tolist(),
        _columns_int(one, 62, 63).tolist(),
        _columns_int(one, 64, 68).tolist(),
        _columns_int(two, 63, 68).tolist(),
        strict=True,
    )
    out: list[ElementSet | None] = []
    for (line1, _, name, _, _, start), ok, norad_id, micro, n_rev, ecc, inc, node, w, m, b, nd, ndd, eph, elnum, rev in columns:  # fmt: skip
        if not ok:
            out.append(None)
            continue
        try:
            epoch = _day_start(line1[18:20], line1[20:23]) + timedelta(microseconds=micro)
        except _FieldError:
            out.append(None)
            continue
        if line1[9] == " ":  # the regex allows a blank designator only as eight blanks
            object_id = None
        else:
            year = 1900 + int(line1[9:11]) if line1[9:11] >= "57" else 2000 + int(line1[9:11])
            object_id = f"{year}-{line1[11:17].rstrip()}"
        classification = line1[7]
        try:
            out.append(
                ElementSet(
                    norad_id,
                    epoch,
                    n_rev,
                    ecc,
                    inc,
                    node,
                    w,
                    m,
                    b,
                    nd,
                    ndd,
                    name,
                    object_id,
                    "U" if classification == " " else classification,
                    eph,
                    elnum,
                    rev,
                    f"{file}:{start}",
                )
            )
        except ValueError:
            out.append(None)
    return out


def _parse_pair(
    line1: str, line2: str, name: str | None, file: str, lineno1: int, verify_checksum: bool
) -> ElementSet:
    """Parse one set; raises _FieldError carrying the field (line numbers added by caller)."""
    fast = _parse_pair_fast(line1, line2, name, file, lineno1, verify_checksum)
    if fast is not None:
        return fast
    for which, line in ((1, line1), (2, line2)):
        if len(line) != _TLE_LINE_LENGTH:
            raise _FieldError(f"LINE{which}", _length_message(which, line))
        if verify_checksum:
            digit = line[68]
            if not _digits(digit):
                raise _FieldError(f"LINE{which}", f"checksum column 69 is {digit!r}, not a digit")
            if int(digit) != tle_checksum(line):
                raise _FieldError(
                    f"LINE{which}", f"checksum {digit} does not match computed {tle_checksum(line)}"
                )
    try:
        norad1 = decode_catalog_number(line1[2:7])
    except ValueError as exc:
        raise _FieldError("NORAD_CAT_ID", str(exc)) from None
    try:
        norad2 = decode_catalog_number(line2[2:7])
    except ValueError as exc:
        raise _FieldError("NORAD_CAT_ID@2", str(exc)) from None
    if norad1 != norad2:
        raise _FieldError("NORAD_CAT_ID@2", f"line 2 catalog number {norad2} differs from line 1's {norad1}")
    classification = line1[7].strip() or "U"
    if classification not in "UCS":
        raise _FieldError("CLASSIFICATION_TYPE", f"{classification!r} is not U, C or S")
    object_id = _designator_from_tle(line1[9:17])
    epoch = _epoch(line1[18:32])
    ndot = _float("MEAN_MOTION_DOT", line1[33:43])
    nddot = _exp_field("MEAN_MOTION_DDOT", line1[44:52])
    bstar = _exp_field("BSTAR", line1[53:61])
    ephemeris_type = _int("EPHEMERIS_TYPE", line1[62], blank=0)
    element_set_no = _int("ELEMENT_SET_NO", line1[64:68], blank=0)
    inclination = _float("INCLINATION", line2[8:16])
    raan = _float("RA_OF_ASC_NODE", line2[17:25])
    ecc_text = line2[26:33].strip()
    if not _digits(ecc_text):
        raise _FieldError("ECCENTRICITY", f"{line2[26:33]!r} is not seven digits of eccentricity")
    eccentricity = float("0." + ecc_text)
    argp = _float("ARG_OF_PERICENTER", line2[34:42])
    mean_anomaly = _float("MEAN_ANOMALY", line2[43:51])
    mean_motion = _float("MEAN_MOTION", line2[52:63])
    rev = _int("REV_AT_EPOCH", line2[63:68], blank=0)
    if not 0.0 <= inclination <= 180.0:
        raise _FieldError("INCLINATION", f"{inclination} outside 0..180 degrees")
    for fname, value in (
        ("RA_OF_ASC_NODE", raan),
        ("ARG_OF_PERICENTER", argp),
        ("MEAN_ANOMALY", mean_anomaly),
    ):
        if not 0.0 <= value <= 360.0:
            raise _FieldError(fname, f"{value} outside 0..360 degrees")
    if mean_motion <= 0.0:
        raise _FieldError("MEAN_MOTION", f"{mean_motion} rev/day is not positive")
    return ElementSet(
        norad_id=norad1,
        epoch_utc=epoch,
        mean_motion_revday=mean_motion,
        eccentricity=eccentricity,
        inclination_deg=inclination,
        raan_deg=raan,
        arg_perigee_deg=argp,
        mean_anomaly_deg=mean_anomaly,
        bstar_per_er=bstar,
        mean_motion_dot_revday2=ndot,
        mean_motion_ddot_revday3=nddot,
        object_name=name,
        object_id=object_id,
        classification=classification,
        ephemeris_type=ephemeris_type,
        element_set_no=element_set_no,
        rev_at_epoch=rev,
        source=f"{file}:{lineno1}",
    )


def _name_from_line(line: str) -> str:
    s = line.strip()
    if s.startswith("0 "):
        s = s[2:]
    return s.strip()


def read_tle(text: str, file: str = "<text>", *, verify_checksum: bool = True) -> ParseResult[ElementSet]:
    """Read TLE or 3LE text (names optional, with or without the '0 ' prefix).

    Returns every good set and exactly one issue per bad set (a set is an optional name line,
    a line 1 and a line 2), so a count of issues is a count of rejected sets; never raises on
    content.
    """
    result: ParseResult[ElementSet] = ParseResult(file=file, format="tle")
    lines = physical_lines(text)
    pending_name: tuple[str, int] | None = None
    pending_line1: tuple[str, int] | None = None
    # A line 1 already reported bad (too short, too long): its line 2 belongs to the same
    # rejected set and must not be reported again as "line 2 without a line 1".
    rejected_line1 = False

    def bad(lineno: int, field: str, message: str) -> None:
        result.issue(lineno, field, message)

    def take_pair(line1: str, lineno1: int, line2: str, lineno2: int, name: str | None, start: int) -> None:
        """The set of a line 1 and a line 2 (and the name before them, if any), or its issue."""
        try:
            record = _parse_pair(line1, line2, name, file, start, verify_checksum)
        except _FieldError as exc:
            at_line = (
                lineno2
                if exc.field.endswith("@2") or exc.field in _LINE2_FIELDS or exc.field == "LINE2"
                else lineno1
            )
            bad(at_line, exc.field.removesuffix("@2"), str(exc))
        except ValueError as exc:  # record-level validation
            bad(lineno1, "RECORD", str(exc))
        else:
            result.add(record, start)

    # Well-formed pairs waiting for their batch conversion (_sets_from_fast_pairs); converted
    # before anything else is added to the result, so records and issues keep the file's order.
    batch: list[tuple[str, str, str | None, int, int, int]] = []

    def flush() -> None:
        for pair, record in zip(batch, _sets_from_fast_pairs(batch, file, verify_checksum), strict=True):
            if record is None:
                line1, line2, name, lineno1, lineno2, start = pair
                # The field-by-field reader decides, and names the problem.
                take_pair(line1, lineno1, line2, lineno2, name, start)
            else:
                result.add(record, pair[5])
        batch.clear()

    def whole_set(line1: str, lineno1: int, line2: str, name: str | None, start: int) -> None:
        if _FAST_LINE1.fullmatch(line1) and _FAST_LINE2.fullmatch(line2):
            batch.append((line1, line2, name, lineno1, lineno1 + 1, start))
            return
        if batch:
            flush()
        take_pair(line1, lineno1, line2, lineno1 + 1, name, start)

    n_lines = len(lines)
    index = 0
    while index < n_lines:
        line = lines[index].rstrip()
        index += 1
        lineno = index
        if not line:
            continue
        starts_line1 = line.startswith("1 ")
        starts_line2 = line.startswith("2 ")
        if pending_name is None and pending_line1 is None and not rejected_line1 and index < n_lines:
            # A whole set on consecutive lines (name, line 1, line 2, or line 1, line 2), taken
            # in one step: the same checks and the same outcome as the line-by-line steps below,
            # without a pass through them per line.
            if starts_line1:
                line2 = lines[index].rstrip()
                if len(line) == _TLE_LINE_LENGTH and line2.startswith("2 "):
                    whole_set(line, lineno, line2, None, lineno)
                    index += 1
                    continue
            elif not starts_line2 and index + 1 < n_lines:
                line1, line2 = lines[index].rstrip(), lines[index + 1].rstrip()
                if (
                    line1.startswith("1 ")
                    and len(line1) == _TLE_LINE_LENGTH
                    and line2.startswith("2 ")
                    and len(line.strip()) <= 80
                    and line.isprintable()
                ):
                    whole_set(line1, lineno + 1, line2, _name_from_line(line), lineno)
                    index += 2
                    continue
        if batch:
            flush()
        if rejected_line1:
            rejected_line1 = False
            if starts_line2:
                continue
        if pending_line1 is not None:
            line1, lineno1 = pending_line1
            pending_line1 = None
            if not starts_line2:
                bad(
                    lineno1,
                    "LINE2",
                    f"expected line 2 of the set that starts on line {lineno1}, "
                    f"found {line[:24]!r} on line {lineno}",
                )
                pending_name = None
                # fall through: this line may start the next set
            else:
                name = pending_name[0] if pending_name else None
                start = pending_name[1] if pending_name else lineno1
                pending_name = None
                take_pair(line1, lineno1, line, lineno, name, start)
                continue
        if starts_line1:
            if len(line) != _TLE_LINE_LENGTH:
                bad(lineno, "LINE1", _length_message(1, line))
                pending_name = None
                rejected_line1 = True
                continue
            pending_line1 = (line, lineno)
            continue
        if starts_line2:
            bad(lineno, "LINE1", "line 2 without a line 1 before it")
            pending_name = None
            continue
        if len(line.strip()) > 80 or not line.isprintable():
            bad(lineno, "OBJECT_NAME", "not a name line (too long or not printable text)")
            pending_name = None
            continue
        if pending_name is not None:
            bad(pending_name[1], "LINE1", f"name line {pending_name[0]!r} is not followed by a TLE")
        pending_name = (_name_from_line(line), lineno)
    if batch:
        flush()
    if pending_line1 is not None:
        bad(
            pending_line1[1],
            "LINE2",
            f"expected line 2 of the set that starts on line {pending_line1[1]}, found the end of the file",
        )
    elif pending_name is not None:
        bad(pending_name[1], "LINE1", f"name line {pending_name[0]!r} is not followed by a TLE")
    return result


_LINE2_FIELDS = {
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ECCENTRICITY",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "MEAN_MOTION",
    "REV_AT_EPOCH",
}


def _format_exp_field(value: float, field: str) -> str:
    """' 12345-4' form: sign, five mantissa digits, signed one-digit exponent."""
    if value == 0.0:
        return " 00000-0"
    d = abs(value)
    exponent = math.floor(math.log10(d)) + 1
    mantissa = round(d * 10.0 ** (5 - exponent))
    if mantissa >= 100000:
        mantissa //= 10
        exponent += 1
    if mantissa == 0:
        return " 00000-0"
    if not -9 <= exponent <= 9:
        raise ValueError(f"{field} {value} does not fit the TLE's one-digit exponent")
    sign = "-" if value < 0 else " "
    return f"{sign}{mantissa:05d}{'-' if exponent < 0 else '+'}{abs(exponent)}"


def _format_ndot(value: float) -> str:
    if abs(value) >= 1.0:
        raise ValueError(f"MEAN_MOTION_DOT {value} does not fit the TLE field")
    text = fixed(value, 8)  # '-0.00001234'
    sign = "-" if text.startswith("-") else " "
    return sign + text.lstrip("-")[1:]  # drop the leading zero: ' .00001234'


def _format_epoch(epoch: datetime) -> str:
    epoch = epoch.astimezone(UTC)
    start_of_day = epoch.replace(hour=0, minute=0, second=0, microsecond=0)
    micro = (epoch - start_of_day) // timedelta(microseconds=1)
    frac8 = (micro * 10**8 * 2 + _MICROSECONDS_PER_DAY) // (2 * _MICROSECONDS_PER_DAY)
    if frac8 >= 10**8:  # rounds up into the next day
        start_of_day += timedelta(days=1)
        frac8 -= 10**8
    doy = start_of_day.timetuple().tm_yday
    if not 1957 <= start_of_day.year <= 2056:
        raise ValueError(f"epoch year {start_of_day.year} outside the TLE's 1957..2056")
    return f"{start_of_day.year % 100:02d}{doy:03d}.{frac8:08d}"


def format_tle(es: ElementSet) -> tuple[str, str]:
    """The two TLE lines of an element set, checksums included.

    Values with more precision than the TLE holds (from OMM) are rounded as
    CelesTrak renders them: angles and mean motion rounded, eccentricity
    truncated to seven digits.
    """
    sat = encode_catalog_number(es.norad_id)
    line1 = (
        f"1 {sat}{(es.classification or 'U')[:1]} {_designator_to_tle(es.object_id)} "
        f"{_format_epoch(es.epoch_utc)} {_format_ndot(es.mean_motion_dot_revday2)} "
        f"{_format_exp_field(es.mean_motion_ddot_revday3, 'MEAN_MOTION_DDOT')} "
        f"{_format_exp_field(es.bstar_per_er, 'BSTAR')} {es.ephemeris_type % 10:1d} "
        f"{es.element_set_no % 10000:4d}"
    )
    ecc = fixed(es.eccentricity, 7, truncate=True)
    if not ecc.startswith("0."):
        raise ValueError(f"ECCENTRICITY {es.eccentricity} does not fit the TLE field")
    line2 = (
        f"2 {sat} {fixed(es.inclination_deg, 4):>8} {fixed(es.raan_deg, 4):>8} {ecc[2:]} "
        f"{fixed(es.arg_perigee_deg, 4):>8} {fixed(es.mean_anomaly_deg, 4):>8} "
        f"{fixed(es.mean_motion_revday, 8):>11}{es.rev_at_epoch % 100000:5d}"
    )
    line1 += str(tle_checksum(line1))
    line2 += str(tle_checksum(line2))
    return line1, line2


def write_tle(element_sets: Iterable[ElementSet], *, names: bool = True, zero_prefix: bool = False) -> str:
    """TLE text: 3LE when `names` (with '0 ' prefixes when `zero_prefix`), else 2LE."""
    out: list[str] = []
    for es in element_sets:
        if names:
            name = es.object_name or ""
            out.append(f"0 {name}" if zero_prefix else name)
        out.extend(format_tle(es))
    return "\n".join(out) + ("\n" if out else "")
