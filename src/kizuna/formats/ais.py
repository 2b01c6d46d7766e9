"""AIS readers: NMEA 0183 AIVDM/AIVDO (decoded by pyais) and national-authority AIS CSV.

Text in, records and issues out; ``iter_ais_file`` at the end streams a file in chunks of lines. What the NMEA reader accepts (ITU-R M.1371-5 payloads in IEC 61162-1
sentences):

- single and multi-sentence messages (assembled per sequence id, channel and talker, as pyais does);
- NMEA 4.0 tag blocks ``\\s:station,c:unixtime*hh\\`` (IEC 61162-450 section 7.9): ``c:`` gives the
  receiver time (seconds, or milliseconds when it has 13 digits), ``s:`` the source station;
- Gatehouse ``$PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,...`` wrappers: the time applies to the next sentence;
- vendor suffixes after the checksum (``...,0*28,d-109,S2105,...,1325394060``, the USCG/libais
  "N-AIS" form): the last all-digit field of 9-10 digits is the receiver unix time;
- time carried by the stream itself, for sentences with none of the above: the UTC of an AIS
  type 4 base-station report or type 11 UTC/date response (when no field is "not available"),
  and ``$--ZDA`` or valid (status ``A``) ``$--RMC`` sentences. Every message after such a time
  takes it until the next one; messages before the first stay untimed. The time is the
  receiver's or base station's clock when that report arrived, so positions between two time
  reports share one time (typically seconds apart in a recorded feed).

Bad input never stops a batch. Each of these is an issue with file, line and field: a line that
is not NMEA, a bad sentence or tag-block checksum, a truncated or undecodable payload, a
fragment with no start or a multi-sentence message never completed, an impossible position
(latitude outside +-90 / longitude outside +-180 other than the "not available" values 91/181,
which are counted, not reported) and an impossible time (before 1990 or after 2100).
"""

from __future__ import annotations

import csv
import io
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate, islice
from pathlib import Path

import numpy as np
from pyais.messages import AISSentence, GatehouseSentence, NMEASentenceFactory

from kizuna.errors import FormatIssue
from kizuna.formats.common import ParseResult, parse_utc_datetime
from kizuna.model.maritime import (
    COG_NOT_AVAILABLE,
    HEADING_NOT_AVAILABLE,
    LAT_NOT_AVAILABLE,
    LON_NOT_AVAILABLE,
    SOG_NOT_AVAILABLE,
    VesselPosition,
    VesselStatic,
)

POSITION_TYPES = frozenset({1, 2, 3, 9, 18, 19, 27})
STATIC_TYPES = frozenset({5, 19, 24})
EARLIEST_UTC = datetime(1990, 1, 1, tzinfo=UTC)
LATEST_UTC = datetime(2100, 1, 1, tzinfo=UTC)
# A vendor-suffixed sentence: everything up to the "*hh" checksum, then optional ",field,..." tail.
_SUFFIX = re.compile(rb"^(.*?\*[0-9A-Fa-f]{2})((?:,[^,]*)*)$")
# Fragments of a multi-sentence message arrive within a few lines; older partial groups are dropped.
MAX_FRAGMENT_SPAN_LINES = 50

AisRecord = VesselPosition | VesselStatic


@dataclass
class DecodeCounts:
    lines: int = 0
    sentences: int = 0
    messages: int = 0
    positions: int = 0
    statics: int = 0
    position_not_available: int = 0
    other_messages: int = 0  # valid AIS of types that carry no vessel position or static data
    other_nmea: int = 0  # valid non-AIS NMEA ($GPRMC, ...) skipped on purpose
    issues: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Pending:
    first_line: int
    parts: list[AISSentence | None]
    time_utc: datetime | None
    source: str | None


# ------------------------------------------------------------------------ columns of positions
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAT = int(np.iinfo(np.int64).min)  # the bit pattern of numpy's NaT in datetime64[ns]
NAT_NS = _NAT  # PositionColumns.time_ns of a report without a time
_US = timedelta(microseconds=1)


def _ns(t: datetime) -> int:
    """A UTC datetime as integer nanoseconds since 1970 (exact: datetimes hold microseconds)."""
    return (t - _EPOCH) // _US * 1000


@dataclass
class PositionColumns:
    """Decoded positions as columns, one row per report in arrival order.

    ``time_ns`` is UTC nanoseconds since 1970 (``_NAT``: no time); ``nav_status``, ``accuracy``
    and ``raim`` are -1 where the report has no such field; SOG/COG/heading NaN when not available.
    ``source_code`` indexes ``sources`` (the tag block ``s:`` station, or None).
    """

    mmsi: np.ndarray  # int64
    time_ns: np.ndarray  # int64
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sog_kn: np.ndarray
    cog_deg: np.ndarray
    heading_deg: np.ndarray
    msg_type: np.ndarray  # int16
    nav_status: np.ndarray  # int16
    accuracy: np.ndarray  # int8
    raim: np.ndarray  # int8
    source_code: np.ndarray  # int32
    sources: list[str | None]
    line: np.ndarray  # int64, 1-based line where the report starts

    _ARRAYS = (
        "mmsi",
        "time_ns",
        "lat_deg",
        "lon_deg",
        "sog_kn",
        "cog_deg",
        "heading_deg",
        "msg_type",
        "nav_status",
        "accuracy",
        "raim",
        "source_code",
        "line",
    )

    def __len__(self) -> int:
        return len(self.mmsi)

    @classmethod
    def empty(cls) -> PositionColumns:
        return cls.from_records([], [])

    def take(self, index: np.ndarray) -> PositionColumns:
        arrays = {a: getattr(self, a)[index] for a in self._ARRAYS}
        return PositionColumns(**arrays, sources=self.sources)

    @classmethod
    def concat(cls, parts: Sequence[PositionColumns]) -> PositionColumns:
        """Rows of all parts in order; source codes re-numbered into one list."""
        sources: list[str | None] = []
        index: dict[str | None, int] = {}
        codes = []
        for p in parts:
            remap = np.array([index.setdefault(s, len(index)) for s in p.sources] or [0], np.int32)
            codes.append(remap[p.source_code])
        sources = list(index)
        arrays = {
            a: np.concatenate([getattr(p, a) for p in parts]) for a in cls._ARRAYS if a != "source_code"
        }
        return PositionColumns(**arrays, source_code=np.concatenate(codes), sources=sources or [None])

    @classmethod
    def from_records(cls, records: Sequence[VesselPosition], lines: Sequence[int]) -> PositionColumns:
        index: dict[str | None, int] = {None: 0}
        return PositionColumns(
            np.array([r.mmsi for r in records], np.int64),
            np.array([_NAT if r.time_utc is None else _ns(r.time_utc) for r in records], np.int64),
            np.array([r.lat_deg for r in records], np.float64),
            np.array([r.lon_deg for r in records], np.float64),
            np.array([r.sog_kn for r in records], np.float64),
            np.array([r.cog_deg for r in records], np.float64),
            np.array([r.heading_deg for r in records], np.float64),
            np.array([r.msg_type for r in records], np.int16),
            np.array([-1 if r.nav_status is None else r.nav_status for r in records], np.int16),
            np.array([-1 if r.position_accuracy is None else r.position_accuracy for r in records], np.int8),
            np.array([-1 if r.raim is None else int(r.raim) for r in records], np.int8),
            np.array([index.setdefault(r.source, len(index)) for r in records], np.int32),
            list(index),
            np.array(lines, np.int64),
        )

    def times(self) -> list[datetime | None]:
        """``time_ns`` as aware UTC datetimes (None: no time); each distinct time converted once."""
        uniq, inverse = np.unique(self.time_ns, return_inverse=True)
        conv = [None if v == _NAT else _EPOCH + timedelta(microseconds=v // 1000) for v in uniq.tolist()]
        return [conv[i] for i in inverse.tolist()]

    def to_records(self) -> list[VesselPosition]:
        src = self.sources
        return [
            VesselPosition(
                m,
                t,
                la,
                lo,
                s,
                c,
                h,
                mt,
                None if st < 0 else st,
                src[sc],
                None if ac < 0 else ac,
                None if ra < 0 else bool(ra),
            )
            for m, t, la, lo, s, c, h, mt, st, sc, ac, ra in zip(
                self.mmsi.tolist(),
                self.times(),
                self.lat_deg.tolist(),
                self.lon_deg.tolist(),
                self.sog_kn.tolist(),
                self.cog_deg.tolist(),
                self.heading_deg.tolist(),
                self.msg_type.tolist(),
                self.nav_status.tolist(),
                self.source_code.tolist(),
                self.accuracy.tolist(),
                self.raim.tolist(),
                strict=True,
            )
        ]


@dataclass
class DecodedChunk:
    """What :meth:`NmeaDecoder.feed_columns` gives for a chunk: positions as columns, static
    records, issues in line order. ``*_emit`` is the chunk line index at which each record was
    completed (a multi-sentence message completes on its last fragment), the arrival order."""

    positions: PositionColumns
    positions_emit: np.ndarray
    statics: list[VesselStatic]
    static_lines: list[int]
    static_emit: list[int]
    issues: list[FormatIssue]
    consumed_bytes: int = 0  # how far the file is read after this chunk (progress)

    def records(self) -> tuple[list[AisRecord], list[int]]:
        """Positions and static records merged in arrival order, with their lines."""
        pos = self.positions.to_records()
        if not self.statics:
            return list(pos), self.positions.line.tolist()
        keyed = [
            *(
                (e, 0, r, w)
                for e, r, w in zip(
                    self.positions_emit.tolist(), pos, self.positions.line.tolist(), strict=True
                )
            ),
            *(
                (e, 1, r, w)
                for e, r, w in zip(self.static_emit, self.statics, self.static_lines, strict=True)
            ),
        ]
        keyed.sort(key=lambda x: (x[0], x[1]))
        return [x[2] for x in keyed], [x[3] for x in keyed]  # type: ignore[misc]


_UNSEEN = (0, 0)  # a tag block not in the cache yet
_HEX = np.zeros(256, np.uint8)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
# AIS 6-bit armouring (ITU-R M.1371-5 annex 8 table 44) as a byte lookup
_SIX = np.zeros(256, np.uint8)
_SIX[48:88] = np.arange(40)
_SIX[96:120] = np.arange(40, 64)
_IS_SIX = np.zeros(256, bool)  # the armouring alphabet: '0'..'W' and '`'..'w'
_IS_SIX[48:88] = _IS_SIX[96:120] = True
_IS_HEX = np.zeros(256, bool)
_IS_HEX[np.frombuffer(b"0123456789ABCDEFabcdef", np.uint8)] = True
_IS_UPPER = np.zeros(256, bool)
_IS_UPPER[65:91] = True
_FAST_FIRST_BYTE = np.zeros(256, bool)  # first payload character of types 1, 2, 3 and 18
_FAST_FIRST_BYTE[np.frombuffer(b"123B", np.uint8)] = True
# the shortest fast sentence: "!" "xxVDM" ",1,1," "," "," <28 payload> ",0*hh"
_FAST_MIN_LEN = 46


def _fast_line_spans(
    byte: np.ndarray, starts: np.ndarray, ends: np.ndarray, line_ascii: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lines decoded in bulk, found with array operations over the chunk's bytes.

    A line qualifies when it is, in full, an optional NMEA 4.0 tag block ``\\...\\`` (no '\\'
    inside) then a single-sentence AIVDM/AIVDO ``!ttVDM,1,1,<seq>,<channel>,<payload>,0*hh``
    whose sequence id and channel hold no ',' or '*' and whose payload is 28 armoured characters
    (168 bits, no fill bits) starting with the character of type 1, 2, 3 or 18. Returns the line
    indices, where each checksummed span starts (after '!'), and the tag block's span inside
    its two '\\' (-1 when there is none). Checksums, tag-block contents and field values are
    checked by the caller; every other line goes through the per-line path.
    """
    k = np.flatnonzero(ends - starts >= _FAST_MIN_LEN)
    if line_ascii is not None:
        k = k[line_ascii[k]]
    s, e = starts[k], ends[k]
    has_tag = byte[s] == 92
    bang = s.copy()
    tag_a = np.full(len(k), -1, np.int64)
    tag_b = np.full(len(k), -1, np.int64)
    if has_tag.any():
        backslash = np.flatnonzero(byte == 92)
        t = np.flatnonzero(has_tag)
        j = np.searchsorted(backslash, s[t] + 1)
        closed = j < len(backslash)
        close = np.where(closed, backslash[np.minimum(j, len(backslash) - 1)], e[t])
        tag_a[t], tag_b[t] = s[t] + 1, close
        bang[t] = close + 1
    sel = np.flatnonzero(e - bang >= _FAST_MIN_LEN)
    k, s, e, bang, tag_a, tag_b = k[sel], s[sel], e[sel], bang[sel], tag_a[sel], tag_b[sel]
    ok = (byte[bang] == 33) & _IS_UPPER[byte[bang + 1]] & _IS_UPPER[byte[bang + 2]]
    for off, ch in enumerate(b"VD"):
        ok &= byte[bang + 3 + off] == ch
    ok &= (byte[bang + 5] == 77) | (byte[bang + 5] == 79)  # VDM or VDO
    for off, ch in enumerate(b",1,1,"):
        ok &= byte[bang + 6 + off] == ch
    for off, ch in enumerate(b",0*"):
        ok &= byte[e - 5 + off] == ch
    ok &= (byte[e - 34] == 44) & _IS_HEX[byte[e - 2]] & _IS_HEX[byte[e - 1]]
    ok &= _FAST_FIRST_BYTE[byte[e - 33]]
    # sequence id and channel: exactly one ',' and no '*' between ",1,1," and the payload's ','
    a, b = bang + 11, e - 34
    width = int((b - a).max()) if len(a) else 0
    if width <= 32:  # the usual "<seq>,<channel>": a small gather
        grid = a[:, None] + np.arange(width)
        inside = grid < b[:, None]
        region = byte[np.minimum(grid, len(byte) - 1)]
        ok &= (((region == 44) & inside).sum(axis=1) == 1) & ~((region == 42) & inside).any(axis=1)
    else:
        comma = np.concatenate([[0], np.cumsum(byte == 44, dtype=np.int32)])
        star = np.concatenate([[0], np.cumsum(byte == 42, dtype=np.int32)])
        ok &= (comma[b] - comma[a] == 1) & (star[b] == star[a])
    sel = np.flatnonzero(ok)
    k, e, bang, tag_a, tag_b = k[sel], e[sel], bang[sel], tag_a[sel], tag_b[sel]
    payload_ok = _IS_SIX[byte[e[:, None] - 33 + np.arange(28)]].all(axis=1)
    sel = np.flatnonzero(payload_ok)
    return k[sel], bang[sel] + 1, tag_a[sel], tag_b[sel]


def _decode_sixbit(payload: np.ndarray) -> dict[str, np.ndarray]:
    """Type 1/2/3/18 reports of 28 armoured characters each (rows of ``payload``) to fields.

    Field layout and scaling as pyais 3 decodes them (ITU-R M.1371-5 tables 45 and 60;
    latitude/longitude rounded to 1e-6 deg as pyais does): the equality is tested on every
    message of the shared AIS files.
    """
    n = len(payload)
    six = _SIX[payload].astype(np.int64)  # (n, 28) values of 6 bits, most significant first

    def field(rows: np.ndarray | slice, start: int, width: int) -> np.ndarray:
        # the characters the field spans (at most 6 for 30 bits: 36 bits fit an int64), joined
        # then shifted and masked: a few column operations per field instead of one per bit
        c0, c1 = start // 6, (start + width - 1) // 6
        acc = six[rows, c0]
        for c in range(c0 + 1, c1 + 1):
            acc = (acc << 6) | six[rows, c]
        return (acc >> ((c1 + 1) * 6 - start - width)) & ((1 << width) - 1)

    everything = slice(None)
    mtype = field(everything, 0, 6)
    out = {
        "msg_type": mtype.astype(np.int16),
        "mmsi": field(everything, 8, 30),
        "nav_status": np.full(n, -1, np.int16),
    }
    sog = np.empty(n, np.int64)
    acc = np.empty(n, np.int64)
    lon = np.empty(n, np.int64)
    lat = np.empty(n, np.int64)
    cog = np.empty(n, np.int64)
    hdg = np.empty(n, np.int64)
    raim = np.empty(n, np.int64)
    class_b = mtype == 18
    a = np.flatnonzero(~class_b)  # class A (types 1-3, table 45)
    b = np.flatnonzero(class_b)  # class B (table 60)
    for rows, (o_sog, o_acc, o_lon, o_lat, o_cog, o_hdg, o_raim) in (
        (a, (50, 60, 61, 89, 116, 128, 148)),
        (b, (46, 56, 57, 85, 112, 124, 147)),
    ):
        if len(rows) == 0:
            continue
        sel: np.ndarray | slice = everything if len(rows) == n else rows
        sog[sel] = field(sel, o_sog, 10)
        acc[sel] = field(sel, o_acc, 1)
        lon[sel] = field(sel, o_lon, 28)
        lat[sel] = field(sel, o_lat, 27)
        cog[sel] = field(sel, o_cog, 12)
        hdg[sel] = field(sel, o_hdg, 9)
        raim[sel] = field(sel, o_raim, 1)
        if rows is a:
            out["nav_status"][sel] = field(sel, 38, 4)
    lon = np.where(lon >= 1 << 27, lon - (1 << 28), lon)  # two's complement
    lat = np.where(lat >= 1 << 26, lat - (1 << 27), lat)
    # 1/10000 minute to degrees rounded to 1e-6 as pyais does: floor((10 * raw + 3) / 6) / 1e6
    out["lon_deg"] = ((10 * lon + 3) // 6) / 1e6
    out["lat_deg"] = ((10 * lat + 3) // 6) / 1e6
    out["sog_kn"] = np.where(sog == 1023, np.nan, sog / 10.0)
    out["cog_deg"] = np.where(cog == 3600, np.nan, cog / 10.0)
    out["heading_deg"] = np.where(hdg == HEADING_NOT_AVAILABLE, np.nan, hdg.astype(np.float64))
    out["accuracy"] = acc.astype(np.int8)
    out["raim"] = raim.astype(np.int8)
    return out


@dataclass
class NmeaDecoder:
    """Incremental NMEA decoder: feed chunks of lines, fragments carry across chunk boundaries."""

    file: str = "<text>"
    counts: DecodeCounts = field(default_factory=DecodeCounts)
    _pending: dict[tuple[object, ...], _Pending] = field(default_factory=dict)
    _gatehouse_time: datetime | None = None
    _stream_time: datetime | None = None  # last type 4/11, ZDA or RMC time (see the module doc)
    _px: bytes = b""  # cumulative XOR of the chunk's bytes (see feed)
    _tags: dict[bytes, tuple[datetime | None, str | None] | str] = field(default_factory=dict)
    _off: int = 0  # where the current line starts in it
    vectorized: bool = True  # False: every line through pyais (the reference the fast path is tested on)
    _tag_cols: dict[bytes, tuple[int, int] | None] = field(default_factory=dict)
    _sources: list[str | None] = field(default_factory=lambda: [None])
    _source_codes: dict[str | None, int] = field(default_factory=lambda: {None: 0})

    def feed(
        self, lines: Iterable[str], first_line: int = 1
    ) -> tuple[list[AisRecord], list[int], list[FormatIssue]]:
        """Records (positions and static data in arrival order), their lines, and the issues."""
        chunk = self.feed_columns(lines, first_line)
        records, where = chunk.records()
        return records, where, chunk.issues

    def feed_columns(self, lines: Iterable[str], first_line: int = 1) -> DecodedChunk:
        """Decode a chunk of lines into position columns, static records and issues.

        Single-sentence type 1/2/3/18 reports (nearly every line of a feed) are recognised by one
        regular expression per line and decoded together with numpy (:func:`_decode_sixbit`); every
        other line goes through the per-line path (pyais) in file order, which also keeps the
        stream state (Gatehouse and base-station times, pending fragments) that the fast lines read.
        """
        lines = lines if isinstance(lines, list) else list(lines)
        n = len(lines)
        # NMEA checksums are XORs of byte ranges: one cumulative XOR over the chunk answers each
        # range with two lookups instead of a Python loop per sentence.
        text = "\n".join(lines)
        joined = text.encode("ascii", errors="replace")  # one byte per character
        byte = np.frombuffer(joined, np.uint8)
        px_arr = np.bitwise_xor.accumulate(byte) if joined else np.zeros(0, np.uint8)
        self._px = px_arr.tobytes()
        newlines = np.flatnonzero(byte == 10)
        if len(newlines) == n - 1:
            starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
        else:  # a caller's line holding a newline of its own: offsets line by line
            starts = np.array([0, *accumulate(len(t) + 1 for t in lines)][:n], np.int64)
        ends = np.append(starts[1:] - 1, len(byte)) if n else starts  # one past each line's last byte
        offsets = starts.tolist()
        if self.vectorized and n:
            # a replaced non-ASCII character reads as '?', a valid payload character: such lines
            # take the per-line path, which reports them
            line_ascii = None if text.isascii() else np.array([t.isascii() for t in lines], bool)
            fk, first, tag_a, tag_b = _fast_line_spans(byte, starts, ends, line_ascii)
            ft = np.full(len(fk), _NAT, np.int64)
            fsrc = np.zeros(len(fk), np.int32)
            tagged = np.flatnonzero(tag_a >= 0)
            if len(tagged):
                ok = self._tag_values(byte, tag_a[tagged], tag_b[tagged], ft, fsrc, tagged)
                keep = np.ones(len(fk), bool)
                keep[tagged[~ok]] = False  # a bad tag block: the per-line path reports it
                fk, first, ft, fsrc = fk[keep], first[keep], ft[keep], fsrc[keep]
            # sentence checksum: XOR of the bytes between '!' and '*' against the two hex digits
            e = ends[fk]
            xor = px_arr[e - 4] ^ px_arr[first - 1]
            good = xor == (_HEX[byte[e - 2]] << 4 | _HEX[byte[e - 1]])
            keep_idx = np.flatnonzero(good)  # a bad checksum goes the per-line way, which names it
            fk, ft, fsrc = fk[keep_idx], ft[keep_idx], fsrc[keep_idx]
            # every fast line ends "...,<28 payload characters>,0*hh": the payload from the line's end
            payload = byte[e[keep_idx, None] - 33 + np.arange(28)]
        else:
            fk = np.zeros(0, np.int64)
            ft = np.zeros(0, np.int64)
            fsrc = np.zeros(0, np.int32)
            payload = np.zeros((0, 28), np.uint8)
        is_fast = np.zeros(n, bool)
        is_fast[fk] = True
        # per-line path, in order; between two such lines a run of fast lines takes the stream
        # time as it stands there (a Gatehouse time applies to the run's first sentence only)
        records: list[AisRecord] = []
        where: list[int] = []
        emit: list[int] = []
        keyed: list[tuple[int, int, FormatIssue]] = []
        gate_first = np.zeros(len(fk), bool)
        default_t = np.full(len(fk), _NAT, np.int64)
        fi = 0  # next fast line (index into fk)
        slow = np.flatnonzero(~is_fast).tolist()
        fk_list = fk.tolist()
        for k in [*slow, n]:
            start = fi
            fi = bisect_left(fk_list, k, fi)
            if fi > start:
                if self._gatehouse_time is not None:
                    gate_first[start] = True
                    default_t[start] = _ns(self._gatehouse_time)
                    self._gatehouse_time = None
                stream = _NAT if self._stream_time is None else _ns(self._stream_time)
                default_t[start + int(gate_first[start]) : fi] = stream
                self._expire_run(first_line, fk_list[start], fk_list[fi - 1], keyed)
            if k == n:
                break
            issues: list[FormatIssue] = []
            before = len(records)
            self._off = offsets[k]
            line_no = first_line + k
            self.counts.lines += 1
            try:
                self._line(lines[k], line_no, records, where, issues)
            except Exception as exc:  # noqa: BLE001 - a decoder bug on one line must not stop the batch
                issues.append(
                    FormatIssue(
                        self.file, line_no, "sentence", f"undecodable ({exc.__class__.__name__}: {exc})"[:200]
                    )
                )
            self._expire(line_no, issues)
            emit += [k] * (len(records) - before)
            keyed += [(k, 0, i) for i in issues]
        self.counts.lines += len(fk)
        cols, pos_emit = self._decode_fast(fk, ft, fsrc, payload, gate_first, default_t, first_line, keyed)
        keyed.sort(key=lambda x: (x[0], x[1]))
        issues_out = [i for _, _, i in keyed]
        self.counts.issues += len(issues_out)
        slow_pos = [
            (r, w, e) for r, w, e in zip(records, where, emit, strict=True) if isinstance(r, VesselPosition)
        ]
        statics = [
            (r, w, e) for r, w, e in zip(records, where, emit, strict=True) if isinstance(r, VesselStatic)
        ]
        if slow_pos:
            extra = PositionColumns.from_records([r for r, _, _ in slow_pos], [w for _, w, _ in slow_pos])
            order = np.argsort(np.concatenate([pos_emit, [e for _, _, e in slow_pos]]), kind="stable")
            cols = PositionColumns.concat([cols, extra]).take(order)
            pos_emit = np.concatenate([pos_emit, np.array([e for _, _, e in slow_pos], np.int64)])[order]
        return DecodedChunk(
            cols,
            pos_emit,
            [r for r, _, _ in statics],
            [w for _, w, _ in statics],
            [e for _, _, e in statics],
            issues_out,
        )

    def _tag_values(
        self,
        byte: np.ndarray,
        tag_a: np.ndarray,
        tag_b: np.ndarray,
        ft: np.ndarray,
        fsrc: np.ndarray,
        rows: np.ndarray,
    ) -> np.ndarray:
        """Receiver time (ns) and source code of the tag blocks ``byte[tag_a:tag_b]`` (between the
        two '\\') written into ``ft``/``fsrc`` at ``rows``; False where a block is bad. A feed repeats
        its blocks (one per second and station): each distinct block is parsed once, and cached."""
        width = int((tag_b - tag_a).max())
        grid = tag_a[:, None] + np.arange(width)
        inside = grid < tag_b[:, None]
        block = np.where(inside, byte[np.minimum(grid, len(byte) - 1)], 0).astype(np.uint8)
        # a block holding a NUL would be cut by the fixed-width bytes dtype: never fast
        has_nul = ((block == 0) & inside).any(axis=1)
        keys = np.ascontiguousarray(block).view(f"S{width}").ravel()
        uniq, inverse = np.unique(keys, return_inverse=True)
        time_ns = np.empty(len(uniq), np.int64)
        code = np.empty(len(uniq), np.int32)
        ok = np.empty(len(uniq), bool)
        cache = self._tag_cols
        for u, key in enumerate(uniq.tolist()):
            info = cache.get(key, _UNSEEN)
            if info is _UNSEEN:
                info = self._tag_columns(key)
            ok[u] = info is not None
            time_ns[u], code[u] = (info[0], info[1]) if info is not None else (_NAT, 0)
        inverse = inverse.ravel()
        ft[rows] = time_ns[inverse]
        fsrc[rows] = code[inverse]
        return ok[inverse] & ~has_nul

    def _tag_columns(self, tag: bytes) -> tuple[int, int] | None:
        """(receiver time in ns or _NAT, source code) of a tag block, None when it is bad (cached)."""
        parsed = _parse_tag_block(tag)
        info: tuple[int, int] | None
        if isinstance(parsed, str):
            info = None
        else:
            t, source = parsed
            if t is not None and not (EARLIEST_UTC <= t < LATEST_UTC):
                info = None
            else:
                info = (_NAT if t is None else _ns(t), self._source_code(source))
        if len(self._tag_cols) > 4096:
            self._tag_cols.clear()
        self._tag_cols[tag] = info
        return info

    def _source_code(self, source: str | None) -> int:
        code = self._source_codes.get(source)
        if code is None:
            code = self._source_codes[source] = len(self._sources)
            self._sources.append(source)
        return code

    def _expire_run(
        self, first_line: int, ka: int, kb: int, keyed: list[tuple[int, int, FormatIssue]]
    ) -> None:
        """Fragments that expire while a run of fast lines [ka, kb] goes by (as _expire per line would)."""
        for key, p in list(self._pending.items()):
            expire_line = p.first_line + MAX_FRAGMENT_SPAN_LINES + 1
            if expire_line <= first_line + kb:
                keyed.append(
                    (
                        max(expire_line - first_line, ka),
                        1,
                        FormatIssue(
                            self.file,
                            p.first_line,
                            "fragment",
                            "multi-sentence message incomplete (later fragments missing)",
                        ),
                    )
                )
                del self._pending[key]

    def _decode_fast(
        self,
        fk: np.ndarray,
        ft: np.ndarray,
        fsrc: np.ndarray,
        payload: np.ndarray,
        gate_first: np.ndarray,
        default_t: np.ndarray,
        first_line: int,
        keyed: list[tuple[int, int, FormatIssue]],
    ) -> tuple[PositionColumns, np.ndarray]:
        f = _decode_sixbit(payload)
        n = len(fk)
        counts = self.counts
        counts.sentences += n
        counts.messages += n
        # a Gatehouse time is used only when the sentence has no tag-block time
        t = np.where(ft == _NAT, default_t, ft)
        na = (np.abs(f["lat_deg"] - LAT_NOT_AVAILABLE) < 1e-6) | (
            np.abs(f["lon_deg"] - LON_NOT_AVAILABLE) < 1e-6
        )
        bad = ~na & ((np.abs(f["lat_deg"]) > 90.0) | (np.abs(f["lon_deg"]) > 180.0))
        counts.position_not_available += int(na.sum())
        for i in np.flatnonzero(bad).tolist():
            lat, lon = f["lat_deg"][i], f["lon_deg"][i]
            keyed.append(
                (
                    int(fk[i]),
                    0,
                    FormatIssue(
                        self.file,
                        first_line + int(fk[i]),
                        "position",
                        f"impossible position lat={lat:.5f} lon={lon:.5f}",
                    ),
                )
            )
        ok = np.flatnonzero(~na & ~bad)
        counts.positions += len(ok)
        cols = PositionColumns(
            f["mmsi"][ok],
            t[ok],
            f["lat_deg"][ok],
            f["lon_deg"][ok],
            f["sog_kn"][ok],
            f["cog_deg"][ok],
            f["heading_deg"][ok],
            f["msg_type"][ok],
            f["nav_status"][ok],
            f["accuracy"][ok],
            f["raim"][ok],
            fsrc[ok],
            list(self._sources),
            fk[ok] + first_line,
        )
        return cols, fk[ok]

    def finish(self) -> list[FormatIssue]:
        """Report multi-sentence messages that never completed."""
        issues = [
            FormatIssue(
                self.file,
                p.first_line,
                "fragment",
                f"multi-sentence message incomplete: {sum(x is not None for x in p.parts)}"
                f" of {len(p.parts)} fragments",
            )
            for p in self._pending.values()
        ]
        self._pending.clear()
        self.counts.issues += len(issues)
        return issues

    # ------------------------------------------------------------------ internals
    def _xor(self, a: int, b: int) -> int:
        """XOR of characters [a, b) of the current (stripped) line."""
        px, off = self._px, self._off
        return px[off + b - 1] ^ (px[off + a - 1] if off + a > 0 else 0)

    def _time_sentence(self, body: bytes, issue) -> None:
        """``$--ZDA,hhmmss.ss,dd,mm,yyyy,...`` or ``$--RMC,hhmmss.ss,A,...,ddmmyy,...``: the stream time."""
        m = _SUFFIX.match(body)
        if m is None or not _checksum_ok(m.group(1)):
            issue("checksum", f"{body[1:6].decode()}: bad or missing NMEA checksum")
            return
        f = m.group(1).rsplit(b"*", 1)[0].decode().split(",")
        kind = f[0][3:]
        try:
            if kind == "ZDA":
                hms, day, month, year = f[1], int(f[2]), int(f[3]), int(f[4])
            else:
                if len(f) < 10 or f[2] != "A":
                    return  # no fix: the receiver's clock is not trusted
                hms, dmy = f[1], f[9]
                day, month, year = int(dmy[0:2]), int(dmy[2:4]), 2000 + int(dmy[4:6])
            if len(hms) < 6:
                raise ValueError("time field shorter than hhmmss")
            sec = float(hms[4:])
            t = datetime(year, month, day, int(hms[0:2]), int(hms[2:4]), tzinfo=UTC) + timedelta(seconds=sec)
        except (ValueError, IndexError) as exc:
            issue(kind, f"unreadable date/time: {exc}")
            return
        if not (EARLIEST_UTC <= t < LATEST_UTC):
            issue(kind, f"impossible time {t.isoformat()}")
            return
        self._stream_time = t

    def _base_station_time(self, msg) -> None:
        """Type 4/11 UTC (ITU-R M.1371-5 table 16: year 0, month 0, day 0, hour 24, minute 60 or
        second 60+ mean "not available"; such a report sets no time)."""
        try:
            y, mo, d = int(msg.year), int(msg.month), int(msg.day)
            h, mi, sec = int(msg.hour), int(msg.minute), int(msg.second)
            if not (y and mo and d) or h > 23 or mi > 59 or sec > 59:
                return
            t = datetime(y, mo, d, h, mi, sec, tzinfo=UTC)
        except (TypeError, ValueError):
            return
        if EARLIEST_UTC <= t < LATEST_UTC:
            self._stream_time = t

    def _expire(self, line_no: int, issues: list[FormatIssue]) -> None:
        if not self._pending:
            return
        for key, p in list(self._pending.items()):
            if line_no - p.first_line > MAX_FRAGMENT_SPAN_LINES:
                issues.append(
                    FormatIssue(
                        self.file,
                        p.first_line,
                        "fragment",
                        "multi-sentence message incomplete (later fragments missing)",
                    )
                )
                del self._pending[key]

    def _line(
        self, text: str, line_no: int, records: list[AisRecord], where: list[int], issues: list[FormatIssue]
    ) -> None:
        s = text.strip()
        if not s or s.startswith("#"):
            return
        if s[0] != text[0]:
            self._off += len(text) - len(text.lstrip())

        def issue(field_name: str, message: str) -> None:
            issues.append(FormatIssue(self.file, line_no, field_name, message))

        raw = s.encode("ascii", errors="replace") if not s.isascii() else s.encode("ascii")
        if not s.isascii():
            issue("sentence", "non-ASCII characters")
            return
        tag_time: datetime | None = None
        source: str | None = None
        body = raw
        if raw.startswith(b"\\"):
            end = raw.find(b"\\", 1)
            if end < 0:
                issue("tag_block", "tag block not closed by '\\'")
                return
            tag_raw, body = raw[1:end], raw[end + 1 :]
            tag = self._tags.get(tag_raw)  # a feed repeats its tag blocks (one per second and station)
            if tag is None:
                star = tag_raw.rfind(b"*")
                tag = _parse_tag_block(tag_raw, self._xor(1, star + 1) if star > 0 else None)
                if len(self._tags) > 4096:
                    self._tags.clear()
                self._tags[tag_raw] = tag
            if isinstance(tag, str):
                issue("tag_block", tag)
                return
            tag_time, source = tag
            if tag_time is not None and not (EARLIEST_UTC <= tag_time < LATEST_UTC):
                issue("tag_block.c", f"impossible receiver time {tag_time.isoformat()}")
                return
        if not body.startswith((b"!", b"$")):
            issue("sentence", "not an NMEA sentence (no '!' or '$' start)")
            return
        if body[3:6] not in (b"VDM", b"VDO") and not body.startswith(b"$PGHP"):
            # other NMEA: only ZDA and RMC are read (for their time); the rest carries nothing AIS needs
            self.counts.other_nmea += 1
            if body[3:6] in (b"ZDA", b"RMC"):
                self._time_sentence(body, issue)
            return
        m = _SUFFIX.match(body)
        if m is None:
            issue("checksum", "no '*hh' checksum: truncated sentence")
            return
        body, tail = m.group(1), m.group(2)
        if tail and tag_time is None:
            tag_time = _suffix_time(tail)
        try:
            sentence = NMEASentenceFactory.produce(body)
        except Exception as exc:  # noqa: BLE001 - pyais raises several types for malformed input
            name = exc.__class__.__name__
            issue("sentence", f"malformed sentence ({name})")
            return
        # pyais checks $PGHP sums from the wrong offset; the NMEA rule (XOR between '$' and '*') is used.
        valid = _checksum_ok(body) if isinstance(sentence, GatehouseSentence) else sentence.is_valid
        if not valid:
            issue("checksum", f"bad NMEA checksum (sentence says {sentence.checksum:02X})")
            return
        if isinstance(sentence, GatehouseSentence):
            t = sentence.timestamp.replace(tzinfo=UTC)
            if not (EARLIEST_UTC <= t < LATEST_UTC):
                issue("PGHP", f"impossible time {t.isoformat()}")
                self._gatehouse_time = None
            else:
                self._gatehouse_time = t
            return
        if not isinstance(sentence, AISSentence):  # pragma: no cover - factory returns one of the two
            return
        self.counts.sentences += 1
        if tag_time is None and self._gatehouse_time is not None:
            tag_time = self._gatehouse_time
        self._gatehouse_time = None
        if tag_time is None:
            tag_time = self._stream_time
        if sentence.frag_cnt == 1:
            self._decode(sentence, tag_time, source, line_no, records, where, issue)
            return
        key = (sentence.seq_id, sentence.channel, sentence.talker_id, sentence.frag_cnt)
        if sentence.frag_num == 1:
            if key in self._pending:
                issues.append(
                    FormatIssue(
                        self.file,
                        self._pending[key].first_line,
                        "fragment",
                        "multi-sentence message incomplete (restarted)",
                    )
                )
            parts: list[AISSentence | None] = [None] * sentence.frag_cnt
            parts[0] = sentence
            self._pending[key] = _Pending(line_no, parts, tag_time, source)
            return
        pending = self._pending.get(key)
        expected = None if pending is None else sum(p is not None for p in pending.parts) + 1
        if pending is None or sentence.frag_num != expected:
            issue("fragment", f"fragment {sentence.frag_num} of {sentence.frag_cnt} without its predecessors")
            return
        pending.parts[sentence.frag_num - 1] = sentence
        if sentence.frag_num == sentence.frag_cnt:
            del self._pending[key]
            whole = AISSentence.assemble_from_iterable([p for p in pending.parts if p is not None])
            first = pending.first_line

            def issue_first(field_name: str, message: str) -> None:
                issues.append(FormatIssue(self.file, first, field_name, message))

            self._decode(
                whole,
                pending.time_utc or tag_time,
                pending.source or source,
                first,
                records,
                where,
                issue_first,
            )

    def _decode(
        self,
        sentence: AISSentence,
        time_utc: datetime | None,
        source: str | None,
        line_no: int,
        records: list[AisRecord],
        where: list[int],
        issue,
    ) -> None:
        try:
            msg = sentence.decode()
        except Exception as exc:  # noqa: BLE001
            issue("payload", f"undecodable payload ({exc.__class__.__name__})")
            return
        self.counts.messages += 1
        mtype = int(msg.msg_type)
        mmsi = msg.mmsi
        if mmsi is None:
            issue("payload", f"type {mtype} payload truncated before the MMSI")
            return
        produced = False
        if mtype in (4, 11):
            self._base_station_time(msg)
        if mtype in POSITION_TYPES:
            pos = _position(msg, mtype, time_utc, source)
            if isinstance(pos, str):
                if pos == "n/a":
                    self.counts.position_not_available += 1
                else:
                    issue("position", pos)
                    return
            else:
                records.append(pos)
                where.append(line_no)
                self.counts.positions += 1
            produced = True
        if mtype in STATIC_TYPES:
            st = _static(msg, mtype, time_utc)
            if st is not None:
                records.append(st)
                where.append(line_no)
                self.counts.statics += 1
            produced = True
        if not produced:
            self.counts.other_messages += 1


def _xor_fold(data: bytes) -> int:
    """XOR of all bytes (the NMEA checksum), by folding the bytes as one integer in halves."""
    x = int.from_bytes(data, "big")
    n = len(data)
    while n > 1:
        half = (n + 1) // 2
        x = (x >> (8 * half)) ^ (x & ((1 << (8 * half)) - 1))
        n = half
    return x


def _checksum_ok(body: bytes) -> bool:
    star = body.rfind(b"*")
    if star < 1:
        return False
    c = 0
    for b in body[1:star]:
        c ^= b
    try:
        return c == int(body[star + 1 : star + 3], 16)
    except ValueError:
        return False


def _parse_tag_block(raw: bytes, xor: int | None = None) -> tuple[datetime | None, str | None] | str:
    """(receiver time, source station) from an NMEA 4.0 tag block, or an error message.
    ``xor``: the XOR of the bytes before '*' when the caller has it already."""
    if b"*" not in raw:
        return "tag block without checksum"
    payload, _, check = raw.rpartition(b"*")
    c = _xor_fold(payload) if xor is None else xor
    try:
        if c != int(check[:2], 16):
            return "bad tag block checksum"
    except ValueError:
        return "bad tag block checksum"
    t: datetime | None = None
    source: str | None = None
    for item in payload.split(b","):
        code, _, value = item.partition(b":")
        if code == b"c":
            if not value.isdigit():
                return f"receiver time c:{value.decode()!r} is not an integer"
            v = int(value)
            seconds = v / 1000.0 if len(value) >= 13 else float(v)  # some feeds send milliseconds
            if not (0 <= seconds < 4.2e9):
                return f"impossible receiver time c:{v}"
            t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
        elif code == b"s":
            source = value.decode("ascii", errors="replace")
    return t, source


def _suffix_time(tail: bytes) -> datetime | None:
    for item in reversed(tail.split(b",")):
        if item.isdigit() and 9 <= len(item) <= 10:
            t = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(item))
            if EARLIEST_UTC <= t < LATEST_UTC:
                return t
    return None


def _num(value: object, not_available: float | None = None) -> float:
    if value is None:
        return math.nan
    v = float(value)  # type: ignore[arg-type]
    if not_available is not None and abs(v - not_available) < 1e-6:
        return math.nan
    return v


def _position(msg, mtype: int, time_utc: datetime | None, source: str | None) -> VesselPosition | str:
    lat, lon = msg.lat, msg.lon
    if lat is None or lon is None:
        return f"type {mtype} payload truncated before the position"
    lat, lon = float(lat), float(lon)
    if abs(lat - LAT_NOT_AVAILABLE) < 1e-6 or abs(lon - LON_NOT_AVAILABLE) < 1e-6:
        return "n/a"
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        return f"impossible position lat={lat:.5f} lon={lon:.5f}"
    if mtype == 27:  # long-range broadcast: whole knots (63 = n/a) and whole degrees (511 = n/a)
        sog = _num(getattr(msg, "speed", None), 63.0)
        cog = _num(getattr(msg, "course", None), 511.0)
        heading = math.nan
    else:
        sog = _num(getattr(msg, "speed", None), SOG_NOT_AVAILABLE if mtype != 9 else 1023.0)
        cog = _num(getattr(msg, "course", None), COG_NOT_AVAILABLE)
        heading = _num(getattr(msg, "heading", None), float(HEADING_NOT_AVAILABLE))
    status = getattr(msg, "status", None)
    accuracy, raim = getattr(msg, "accuracy", None), getattr(msg, "raim", None)
    return VesselPosition(
        int(msg.mmsi),
        time_utc,
        lat,
        lon,
        sog,
        cog,
        heading,
        mtype,
        None if status is None else int(status),
        source,
        None if accuracy is None else int(bool(accuracy)),
        None if raim is None else bool(raim),
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    s = str(value).replace("@", " ").strip()
    return s or None


def _static(msg, mtype: int, time_utc: datetime | None) -> VesselStatic | None:
    name = _text(getattr(msg, "shipname", None))
    callsign = _text(getattr(msg, "callsign", None))
    ship_type = getattr(msg, "ship_type", None)
    ship_type = None if ship_type is None or int(ship_type) == 0 else int(ship_type)
    bow, stern = getattr(msg, "to_bow", None), getattr(msg, "to_stern", None)
    port, stbd = getattr(msg, "to_port", None), getattr(msg, "to_starboard", None)
    length = float(bow + stern) if bow is not None and stern is not None and bow + stern > 0 else None
    beam = float(port + stbd) if port is not None and stbd is not None and port + stbd > 0 else None
    imo = getattr(msg, "imo", None)
    draught = getattr(msg, "draught", None)
    if not any((name, callsign, ship_type, length, beam, imo)):
        return None
    return VesselStatic(
        int(msg.mmsi),
        time_utc,
        name,
        callsign,
        int(imo) if imo else None,
        ship_type,
        length,
        beam,
        float(draught) if draught else None,
        _text(getattr(msg, "destination", None)),
        mtype,
    )


def parse_nmea(text: str, file: str = "<text>") -> ParseResult[AisRecord]:
    """Decode a whole NMEA text. See the module docstring for what is accepted and reported."""
    from kizuna.formats.common import physical_lines

    decoder = NmeaDecoder(file)
    result: ParseResult[AisRecord] = ParseResult(file=file, format="ais-nmea")
    records, where, issues = decoder.feed(physical_lines(text))
    result.records, result.lines = records, where
    result.issues = issues + decoder.finish()
    return result


# ---------------------------------------------------------------------------------------------- CSV
# Header aliases, lower-cased: NOAA MarineCadastre (BaseDateTime, LAT, LON, SOG, COG, Heading,
# VesselName, VesselType, Length, Width), Danish Maritime Authority ("# Timestamp", Latitude,
# Longitude, "Ship type"), MarineTraffic-style exports such as the OpenTNSim sample (SHIP_ID,
# SPEED in 0.1 kn, COURSE, HEADING, SHIPNAME, SHIPTYPE, LENGTH, WIDTH) and plain lower-case names.
_ALIASES: dict[str, tuple[str, ...]] = {
    "mmsi": ("mmsi", "ship_id", "userid", "user_id"),
    "time": (
        "basedatetime",
        "# timestamp",
        "timestamp",
        "time",
        "datetime",
        "time_utc",
        "t_utc",
        "date_time_utc",
    ),
    "lat": ("lat", "latitude", "lat_deg", "y"),
    "lon": ("lon", "longitude", "long", "lon_deg", "x"),
    "sog": ("sog", "speed", "sog_kn"),
    "cog": ("cog", "course", "cog_deg"),
    "heading": ("heading", "true_heading", "heading_deg"),
    "name": ("vesselname", "shipname", "name", "ship_name", "vessel_name"),
    "ship_type": ("vesseltype", "shiptype", "ship type", "ship_type"),
    "callsign": ("callsign", "call_sign"),
    "imo": ("imo",),
    "length": ("length", "length_m"),
    "beam": ("width", "beam", "beam_m"),
    "destination": ("destination",),
}


# A trailing zone: "Z", "+hh", "+hhmm", "+hh:mm" (optionally after a space) or the words UTC/GMT.
_ZONE = re.compile(r"^(?P<body>.*?\d)\s*(?P<zone>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)(?:\[UTC\])?$")


def _time_of(value: str) -> datetime:
    """A CSV time as UTC: ISO-8601 with or without an offset (other offsets converted to UTC),
    the DMA ``dd/mm/yyyy HH:MM:SS`` form, unix seconds; a zone may follow after a space."""
    v = value.strip()
    offset = timedelta(0)
    m = _ZONE.match(v)
    if m and len(m["body"]) >= 13:  # a zone after a date and time, not the "-05" of a bare date
        zone = m["zone"]
        if zone[0] in "+-":
            hh, mm = int(zone[1:3]), int(zone[-2:]) if len(zone) > 3 else 0
            if hh > 23 or mm > 59:
                raise ValueError(f"bad UTC offset in {value!r}")
            offset = (1 if zone[0] == "+" else -1) * timedelta(hours=hh, minutes=mm)
        v = m["body"]
    if re.match(r"^\d{2}/\d{2}/\d{4} ", v):  # DMA: dd/mm/yyyy HH:MM:SS
        return datetime.strptime(v, "%d/%m/%Y %H:%M:%S").replace(tzinfo=UTC) - offset
    if offset:
        return parse_utc_datetime(v) - offset
    if v.isdigit() and len(v) in (9, 10):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(v))
    return parse_utc_datetime(v)


def parse_ais_csv(text: str, file: str = "<text>") -> ParseResult[AisRecord]:
    """Read AIS CSV (header row required). One position and, when present, static data per row.

    SOG is taken as knots, except for MarineTraffic-style exports (a ``SHIP_ID`` column with
    ``SPEED``) whose speed is in tenths of a knot; their ``SHIP_ID`` is a site id, not an MMSI,
    and is used as the vessel key. Rows without a time give untimed positions (time_utc None).
    """
    result: ParseResult[AisRecord] = ParseResult(file=file, format="ais-csv")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        result.issue(1, "header", "empty file")
        return result
    except csv.Error as exc:
        result.issue(1, "header", f"not CSV: {exc}")
        return result
    lower = [h.strip().lower() for h in header]
    col: dict[str, int] = {}
    for key, names in _ALIASES.items():
        for n in names:
            if n in lower:
                col[key] = lower.index(n)
                break
    missing = [k for k in ("mmsi", "lat", "lon") if k not in col]
    if missing:
        result.issue(1, "header", f"no column for {', '.join(missing)} (have: {', '.join(header)[:200]})")
        return result
    tenth_knots = "ship_id" in lower and "speed" in lower and "sog" not in lower
    line_no = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line_no += 1
            result.issue(line_no, "row", f"unreadable CSV row: {exc}")
            continue
        line_no = reader.line_num
        if not row or all(not c.strip() for c in row):
            continue
        rec = _csv_row(row, col, tenth_knots, file, line_no)
        if isinstance(rec, FormatIssue):
            result.issues.append(rec)
            continue
        for r in rec:
            result.add(r, line_no)
    return result


def _cell(row: Sequence[str], col: dict[str, int], key: str) -> str:
    i = col.get(key)
    return row[i].strip() if i is not None and i < len(row) else ""


def _float_or_nan(v: str) -> float:
    if v == "" or v.lower() in ("nan", "none", "null", "unknown"):
        return math.nan
    return float(v)


def _csv_row(
    row: Sequence[str], col: dict[str, int], tenth_knots: bool, file: str, line_no: int
) -> list[AisRecord] | FormatIssue:
    field_name = "MMSI"
    try:
        mmsi = int(float(_cell(row, col, "mmsi")))
        field_name = "time"
        t_text = _cell(row, col, "time")
        t = _time_of(t_text) if t_text else None
        if t is not None and not (EARLIEST_UTC <= t < LATEST_UTC):
            return FormatIssue(file, line_no, "time", f"impossible time {t_text!r}")
        field_name = "lat/lon"
        lat, lon = float(_cell(row, col, "lat")), float(_cell(row, col, "lon"))
        field_name = "SOG/COG/heading"
        sog = _float_or_nan(_cell(row, col, "sog"))
        cog = _float_or_nan(_cell(row, col, "cog"))
        heading = _float_or_nan(_cell(row, col, "heading"))
    except (ValueError, OverflowError) as exc:  # OverflowError: int(float("1e309"))
        return FormatIssue(file, line_no, field_name, f"unreadable value: {exc}")
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        if lat == LAT_NOT_AVAILABLE or lon == LON_NOT_AVAILABLE:
            return []
        return FormatIssue(file, line_no, "lat/lon", f"impossible position lat={lat} lon={lon}")
    if tenth_knots:
        sog /= 10.0
    sog = math.nan if sog >= SOG_NOT_AVAILABLE - 1e-6 or sog < 0 else sog
    cog = math.nan if cog >= COG_NOT_AVAILABLE or cog < 0 else cog
    heading = math.nan if heading >= 360 or heading < 0 else heading
    out: list[AisRecord] = [VesselPosition(mmsi, t, lat, lon, sog, cog, heading, 0, None, file)]
    name = _cell(row, col, "name") or None
    stype = _cell(row, col, "ship_type")
    try:
        ship_type = int(float(stype)) if stype and stype.lower() != "nan" else None
    except (ValueError, OverflowError):
        ship_type = None  # DMA writes the type as text ("Fishing"); kept numeric-only here
    try:
        length = _float_or_nan(_cell(row, col, "length")) if _cell(row, col, "length") else math.nan
        beam = _float_or_nan(_cell(row, col, "beam")) if _cell(row, col, "beam") else math.nan
    except ValueError:
        length = beam = math.nan  # size is optional: a bad cell does not cost the position
    length = length if math.isfinite(length) and length > 0 else math.nan
    beam = beam if math.isfinite(beam) and beam > 0 else math.nan
    if name and name.lower() == "nan":
        name = None
    if name or ship_type or math.isfinite(length):
        imo_text = _cell(row, col, "imo").upper().removeprefix("IMO")
        out.append(
            VesselStatic(
                mmsi,
                t,
                name,
                _cell(row, col, "callsign") or None,
                int(imo_text) if imo_text.isdigit() else None,
                ship_type,
                length if math.isfinite(length) else None,
                beam if math.isfinite(beam) else None,
                None,
                _cell(row, col, "destination") or None,
                0,
            )
        )
    return out


def split_records(records: Iterable[AisRecord]) -> tuple[list[VesselPosition], list[VesselStatic]]:
    pos: list[VesselPosition] = []
    st: list[VesselStatic] = []
    for r in records:
        if isinstance(r, VesselPosition):
            pos.append(r)
        else:
            st.append(r)
    return pos, st


def latest_static(statics: Iterable[VesselStatic]) -> dict[int, VesselStatic]:
    """Static data per MMSI, merging messages (type 24 A gives the name, B the type and size)."""
    out: dict[int, VesselStatic] = {}
    for s in statics:
        old = out.get(s.mmsi)
        if old is None:
            out[s.mmsi] = s
            continue
        merged = {
            f: (getattr(s, f) if getattr(s, f) is not None else getattr(old, f))
            for f in VesselStatic.__slots__
        }
        out[s.mmsi] = VesselStatic(**merged)
    return out


def looks_like_nmea(head: str) -> bool:
    """Content sniffing: NMEA if any of the first lines is a sentence or tag block."""
    for line in head.splitlines()[:50]:
        s = line.strip()
        if s.startswith(("!", "\\", "$")):
            return True
    return False


# ---------------------------------------------------------------- files, streamed
CHUNK_LINES = 50_000


def iter_ais_chunks(path: Path | str, chunk_lines: int = CHUNK_LINES) -> Iterator[DecodedChunk]:
    """Read an AIS NMEA or CSV file in chunks of lines (bounded memory; fragments span chunks),
    positions as columns. Each chunk's ``consumed_bytes`` attribute tells how far the file is read
    (for progress)."""
    path = Path(path)
    name = str(path)
    total = path.stat().st_size
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        head = fh.read(8192)
        fh.seek(0)
        consumed = 0
        if looks_like_nmea(head):
            decoder = NmeaDecoder(name)
            line_no = 1
            while True:
                raw = list(islice(fh, chunk_lines))
                if not raw:
                    break
                block = "".join(raw)
                consumed += len(block)
                if "\r" in block:  # '\r' and '\r\n' end lines too (the file is read with newline="")
                    lines = [ln.rstrip("\r\n") for ln in raw]
                else:  # one split instead of a strip per line
                    lines = block.split("\n")
                    if block.endswith("\n"):
                        lines.pop()
                chunk = decoder.feed_columns(lines, line_no)
                line_no += len(raw)
                chunk.consumed_bytes = min(consumed, total)
                yield chunk
            tail = DecodedChunk(PositionColumns.empty(), np.zeros(0, np.int64), [], [], [], decoder.finish())
            tail.consumed_bytes = total
            yield tail
            return
        header = fh.readline()
        consumed = len(header)
        offset = 1
        while True:
            lines = list(islice(fh, chunk_lines))
            if not lines:
                break
            consumed += sum(map(len, lines))
            res = parse_ais_csv(header + "".join(lines), name)
            # line numbers in the chunk count its header as line 1
            where = [ln + offset - 1 for ln in res.lines]
            issues = [
                type(i)(i.file, i.line + offset - 1 if i.line > 1 else i.line, i.field, i.message)
                for i in res.issues
            ]
            offset += len(lines)
            pos: list[tuple[VesselPosition, int, int]] = []
            sts: list[tuple[VesselStatic, int, int]] = []
            for k, (r, w) in enumerate(zip(res.records, where, strict=True)):
                if isinstance(r, VesselPosition):
                    pos.append((r, w, k))
                else:
                    sts.append((r, w, k))
            chunk = DecodedChunk(
                PositionColumns.from_records([r for r, _, _ in pos], [w for _, w, _ in pos]),
                np.array([k for _, _, k in pos], np.int64),
                [r for r, _, _ in sts],
                [w for _, w, _ in sts],
                [k for _, _, k in sts],
                issues,
            )
            chunk.consumed_bytes = min(consumed, total)
            yield chunk


def iter_ais_file(path: Path | str, chunk_lines: int = CHUNK_LINES) -> Iterator[ParseResult[AisRecord]]:
    """Read an AIS NMEA or CSV file in chunks of lines as records (see :func:`iter_ais_chunks`).

    Each chunk is a ParseResult; ``bytes_read`` progress can be had from the file size and the
    chunk's ``consumed_bytes`` attribute.
    """
    name = str(path)
    with Path(path).open("r", encoding="utf-8", errors="replace", newline="") as fh:
        kind = "ais-nmea" if looks_like_nmea(fh.read(8192)) else "ais-csv"
    for chunk in iter_ais_chunks(path, chunk_lines):
        records, where = chunk.records()
        res: ParseResult[AisRecord] = ParseResult(name, kind, records, where, chunk.issues)
        res.consumed_bytes = chunk.consumed_bytes  # type: ignore[attr-defined]
        yield res


def read_ais_file(path: Path | str) -> ParseResult[AisRecord]:
    """The whole file as one ParseResult."""
    path = Path(path)
    total: ParseResult[AisRecord] = ParseResult(str(path), "ais")
    for part in iter_ais_file(path):
        total.format = part.format
        total.records += part.records
        total.lines += part.lines
        total.issues += part.issues
    return total
