"""The array-based line finder and 6-bit decoder of `ais load` against pyais itself.

Two references nobody here wrote: pyais's own decode of every real shared line the bulk path
takes (field by field), and the decoder's all-pyais path (``vectorized=False``) on real lines
corrupted at random (bytes replaced, dropped, duplicated; separators and non-ASCII inserted): the
records, their lines, the issues (file/line/field) and the counts must be identical.
"""

from __future__ import annotations

import math

import numpy as np
import pyais
import pytest
from pyais import encode_dict
from tests.conftest import shared

from kizuna.formats.ais import NmeaDecoder, _decode_sixbit, _fast_line_spans

NMEA_SUFFIXES = (".log", ".txt", ".aivdm", ".nmea", ".ais")


def _key(r: object) -> tuple[object, ...]:
    values = [getattr(r, f) for f in r.__slots__]  # type: ignore[attr-defined]
    return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in values)


def _decode(lines: list[str], vectorized: bool) -> tuple[object, ...]:
    dec = NmeaDecoder("t.nmea")
    dec.vectorized = vectorized
    records, where, issues = dec.feed(lines)
    issues += dec.finish()
    return [_key(r) for r in records], where, [i.as_dict() for i in issues], dec.counts.as_dict()


def _shared_lines() -> list[str]:
    root = shared("ais")
    out: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in NMEA_SUFFIXES):
        out += path.read_text(errors="replace").splitlines()
    return out


def _tagged(msg: dict[str, object], t_unix: int, station: str = "rKZ") -> str:
    body = f"s:{station},c:{t_unix}"
    check = 0
    for ch in body.encode():
        check ^= ch
    (sentence,) = encode_dict(msg, talker_id="AI", sentence_type="VDM")
    return f"\\{body}*{check:02X}\\{sentence}"


def _bulk_rows(lines: list[str]) -> np.ndarray:
    """Indices of the lines the array-based finder takes (before checksum and tag checks)."""
    joined = np.frombuffer("\n".join(lines).encode("ascii", errors="replace"), np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(joined == 10) + 1])
    ends = np.append(starts[1:] - 1, len(joined))
    ascii_ok = np.array([t.isascii() for t in lines], bool)
    return _fast_line_spans(joined, starts.astype(np.int64), ends.astype(np.int64), ascii_ok)[0]


def test_shared_corpus_covers_the_cases():
    """The real lines compared here and in test_ais_columns hold every kind the bulk path must
    leave to pyais: multi-sentence messages, bad checksums, other types, lines that are not NMEA."""
    lines = _shared_lines()
    types = set()
    for msg in pyais.stream.IterMessages([t.encode(errors="replace") for t in lines]):
        try:
            types.add(int(msg.decode().msg_type))
        except Exception:  # noqa: BLE001 - pyais rejects some real lines; they are compared too
            continue
    assert {1, 2, 3, 5, 18, 19, 24, 27} <= types
    multi = sum(",2,1," in t or ",3,1," in t for t in lines)
    issues = _decode(lines, False)[2]
    fields = [i["field"] for i in issues]  # type: ignore[index]
    assert multi > 100 and fields.count("checksum") > 0 and fields.count("sentence") > 10


def test_bulk_fields_equal_pyais_on_every_real_line_it_takes():
    lines = _shared_lines()
    rows = _bulk_rows(lines)
    assert len(rows) > 1500
    payloads = []
    refs = []
    for k in rows.tolist():
        sentence = lines[k][lines[k].index("!") :]
        payloads.append(sentence.split(",")[5].encode())
        refs.append(pyais.decode(sentence))
    got = _decode_sixbit(np.frombuffer(b"".join(payloads), np.uint8).reshape(-1, 28))
    for i, ref in enumerate(refs):
        assert got["msg_type"][i] == ref.msg_type and got["mmsi"][i] == ref.mmsi
        assert got["lat_deg"][i] == ref.lat and got["lon_deg"][i] == ref.lon
        # pyais gives 102.3 kn, 360.0 deg and 511 for "not available"; the columns give NaN
        for name, value, na in (
            ("sog_kn", ref.speed, 102.3),
            ("cog_deg", ref.course, 360.0),
            ("heading_deg", ref.heading, 511),
        ):
            want = math.nan if value == na else float(value)
            assert got[name][i] == want or (math.isnan(want) and math.isnan(got[name][i])), name
        status = getattr(ref, "status", None)
        assert got["nav_status"][i] == (-1 if status is None else int(status))
        assert got["accuracy"][i] == int(ref.accuracy) and got["raim"][i] == int(ref.raim)


def _mutate(rng: np.random.Generator, text: str) -> str:
    if not text:
        return text
    pos = int(rng.integers(0, len(text)))
    kind = int(rng.integers(0, 6))
    if kind == 0:  # one byte replaced by a printable one
        return text[:pos] + chr(int(rng.integers(32, 127))) + text[pos + 1 :]
    if kind == 1:  # one byte dropped
        return text[:pos] + text[pos + 1 :]
    if kind == 2:  # a separator inserted
        return text[:pos] + str(rng.choice([",", "*", "\\", "!", "$"])) + text[pos:]
    if kind == 3:  # a non-ASCII character
        return text[:pos] + "é" + text[pos + 1 :]
    if kind == 4:  # a cut line
        return text[:pos]
    return text + text[pos:]  # a tail repeated


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_corrupted_real_lines_equal_the_pyais_path(seed):
    rng = np.random.default_rng(seed)
    lines = _shared_lines()
    planted = [
        _tagged({"msg_type": 1, "mmsi": 431000001, "lat": 35.0, "lon": 139.5, "speed": 12.3}, 1_772_323_200),
        _tagged({"msg_type": 18, "mmsi": 431000002, "lat": -33.9, "lon": 151.2, "speed": 4.0}, 1_772_323_210),
        _tagged({"msg_type": 2, "mmsi": 431000003, "lat": 91.0, "lon": 181.0}, 1_772_323_220, "r2"),
    ]
    base = lines + planted * 50
    picked = rng.choice(len(base), 6000)
    corrupted = [_mutate(rng, base[i]) if rng.random() < 0.7 else base[i] for i in picked.tolist()]
    got, ref = _decode(corrupted, True), _decode(corrupted, False)
    assert got[0] == ref[0]
    assert got[1] == ref[1]
    assert got[2] == ref[2]
    assert got[3] == ref[3]
    # the bulk path did take part: many intact or harmlessly changed position lines
    assert got[3]["positions"] > 500


def test_tag_block_forms_equal_the_pyais_path():
    good = _tagged({"msg_type": 1, "mmsi": 431000001, "lat": 35.0, "lon": 139.5}, 1_772_323_200)
    tag, sentence = good[1:].split("\\", 1)
    lines = [
        good,
        "\\" + tag + sentence,  # block never closed
        "\\\\" + sentence,  # empty block
        "\\" + tag.replace("c:", "c:x") + "\\" + sentence,  # bad checksum and time
        "\\s:only*00\\" + sentence,
        "\\" + tag + "\\ " + sentence,  # a space before the sentence
        " " + good,  # leading space
        good + " ",  # trailing space
        good.replace("AIVDM", "AIVDO"),
        good.replace("AIVDM", "aiVDM"),
        good.replace(",0*", ",2*"),  # fill bits
    ]
    got, ref = _decode(lines, True), _decode(lines, False)
    assert got == ref
    assert got[1][0] == 1


def _resum(body: str) -> str:
    """``!<body>*hh`` with a correct checksum, so that only the changed field can reject it."""
    check = 0
    for ch in body.encode():
        check ^= ch
    return f"!{body}*{check:02X}"


def test_malformed_fields_with_valid_checksums_equal_the_pyais_path():
    (sentence,) = encode_dict(
        {"msg_type": 3, "mmsi": 431000004, "lat": 1.0, "lon": 2.0}, talker_id="AI", sentence_type="VDM"
    )
    body = sentence[1:-3]
    head, payload, fill = body.rsplit(",", 2)
    lines = [
        _resum(body),
        _resum(head + "," + payload + ",0"),
        _resum(head.replace(",A", ",,A") + "," + payload + "," + fill),  # an extra field
        _resum(head.replace(",A", ",A*") + "," + payload + "," + fill),  # '*' in the channel
        _resum(head + "," + payload[:-1] + "," + fill),  # 27 characters
        _resum(head + "," + payload + "0," + fill),  # 29 characters
        _resum(head + "," + payload[:-1] + "x," + fill),  # outside the 6-bit alphabet
        _resum(head + "," + "5" + payload[1:] + "," + fill),  # type 5 character
        _resum(head.replace("AIVDM,1,1", "AIVDM,2,1") + "," + payload + "," + fill),
        _resum(head.replace("AIVDM", "AIXDM") + "," + payload + "," + fill),
        _resum(head.replace("AI", "A1") + "," + payload + "," + fill),
    ]
    got, ref = _decode(lines, True), _decode(lines, False)
    assert got == ref
    assert got[1][:2] == [1, 2]
