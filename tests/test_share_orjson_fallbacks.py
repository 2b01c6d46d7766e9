"""orjson writes the stored wire text, sizes payloads and reads feed pages; where it refuses a value the
standard library accepts, the standard library's answer is the one given (never a failed page, never a
product lost), and the payload size limit stays the one stated: compact JSON by the standard library."""

from __future__ import annotations

import json

import pytest

from kizuna.share import limits
from kizuna.share.signing import wire_text
from kizuna.share.verifier import parse_page

BIG = 2**70  # beyond orjson's 64-bit integers


def test_the_wire_text_parses_back_to_the_document() -> None:
    doc = {"product": {"payload": {"pc": 1e-05, "miss_km": 5.0, "name": 'ü "x"\n\u2028'}}, "banner": "S"}
    assert json.loads(wire_text(doc)) == doc


@pytest.mark.parametrize("value", [BIG, -BIG])
def test_a_value_orjson_will_not_write_is_written_by_the_standard_library(value: int) -> None:
    doc = {"product": {"payload": {"n": value}}}
    assert wire_text(doc) == json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def test_a_numpy_float_is_written_as_its_number() -> None:
    np = pytest.importorskip("numpy")
    assert json.loads(wire_text({"x": np.float64(0.125)})) == {"x": 0.125}


def test_the_payload_size_is_the_standard_librarys_even_where_orjson_writes_less() -> None:
    # orjson writes 1e-05 as "1e-5": 5 bytes a number against 6, so this payload is under the limit
    # by orjson's count and over it by the stated one
    n = limits.MAX_PAYLOAD_BYTES // 5 - 8
    payload = {"p": [1e-05] * n}
    assert len(json.dumps(payload, separators=(",", ":"))) > limits.MAX_PAYLOAD_BYTES
    with pytest.raises(limits.LimitError, match="bytes as JSON"):
        limits.check_payload(payload)


def test_a_payload_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    overhead = len(json.dumps({"s": ""}, separators=(",", ":")))
    limits.check_payload({"s": "x" * (limits.MAX_PAYLOAD_BYTES - overhead)})
    with pytest.raises(limits.LimitError):
        limits.check_payload({"s": "x" * (limits.MAX_PAYLOAD_BYTES - overhead + 1)})


@pytest.mark.parametrize(
    "body",
    [
        b'{"objects":[{"product":{"n":%d}}],"more":false}' % BIG,
        b'{"objects":[{"product":{"s":"\\ud800"}}],"more":false}',
        b'{"objects":[{"product":{"x":NaN}}],"more":false}',
    ],
)
def test_a_page_orjson_refuses_is_read_as_the_standard_library_reads_it(body: bytes) -> None:
    assert repr(parse_page(body)) == repr(json.loads(body))


def test_a_page_is_read_as_the_standard_library_reads_it() -> None:
    body = b'{"objects":[{"product":{"pc":1e-05,"k":[1,2.5,"\\u00e9"]}}],"more":true,"next":"c"}'
    assert parse_page(body) == json.loads(body)


@pytest.mark.parametrize(
    "value",
    [
        __import__("datetime").datetime(2026, 12, 1),
        __import__("uuid").UUID(int=7),
        __import__("enum").Enum("Colour", "RED").RED,
        {1: "an integer key"},
    ],
)
def test_a_payload_orjson_would_write_but_json_would_not_is_judged_as_before(value: object) -> None:
    payload = {"v": value}
    try:
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    except TypeError:
        with pytest.raises(limits.LimitError, match="not JSON"):
            limits.check_payload(payload)
    else:
        limits.check_payload(payload)  # the standard library writes it: accepted, as before
