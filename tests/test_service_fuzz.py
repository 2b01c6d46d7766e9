"""Fuzzing the node's write endpoints (POST /products, POST /products/{id}/downgrade) as an
authenticated publisher, on SQLite and on PostgreSQL.

Two sources of inputs: schemathesis, from the app's own OpenAPI document (inputs that fit the schema
and inputs that do not), and hypothesis strategies written here for what a schema does not describe:
nesting past the depth limit, strings at and past the size limit, unicode that misleads readers or
breaks encoders (confusables, bidirectional overrides, NUL, lone surrogates written as JSON escapes,
combining marks), boundary numbers (0, -1, 2^31-1, 2^31, 2^63, 2^64, NaN and Infinity as JSON
tokens, numbers of thousands of digits), and ids, versions and object lists at and past the limits of
:mod:`kizuna.share.limits`.

Properties, after every input: the node never answers 5xx; a stored product reads back by id and
verifies; and the feed cursor keeps moving: a good product published next is seen by a reader holding
the per-type list cursor and the SSE Last-Event-ID from before. At the end every stored product is
served by the per-type lists and the feed, and the audit chain and every signature verify.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import PG_URL, _postgres_reason

from kizuna.service import create_app
from kizuna.service.routes.products import COLLECTION_PATHS
from kizuna.share import limits
from kizuna.share.loopback import write_coalition
from kizuna.share.node import Node
from kizuna.share.products import PRODUCT_TYPES

ANALYST = {"Authorization": "Bearer token-JPN"}  # SECRET, ORCON; publisher, auditor, downgrader
JSON_BODY = {**ANALYST, "content-type": "application/json"}
# Example counts that keep this file near 30 s per database on a two-core machine; the `slow` run
# multiplies them.
FUZZ_EXAMPLES = 100
SCHEMA_EXAMPLES = 25
SLOW_FACTOR = 10


@dataclass
class Target:
    node: Node
    client: TestClient
    list_cursor: str | None = None  # the element-set list cursor of a reader following along
    last_event_id: str | None = None  # the SSE feed position of the same reader
    good: int = 0


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request, tmp_path_factory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzz")
    cfgs = write_coalition(tmp, {"JPN": 1, "USA": 2})
    schema = None
    if request.param == "sqlite":
        db = str(tmp / "JPN.db")
    else:
        reason = _postgres_reason()
        if reason:
            pytest.skip(reason)
        import psycopg

        schema = f"t_fuzz_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        db = f"{PG_URL}?options=-csearch_path%3D{schema}"
    node = Node.open(db, cfgs["JPN"], tmp / "keys")
    # Server errors come back as 500 responses, so every property sees the status a client would.
    with TestClient(create_app(node, sse_poll_s=0.005), raise_server_exceptions=False) as client:
        yield Target(node, client)
    node.catalog.close()
    if schema is not None:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# ------------------------------------------------------------------------ JSON text with raw tokens
class Raw(str):
    """A JSON token written as is (NaN, Infinity, a number of 5000 digits, a nesting of 100000)."""


def to_json(value: object) -> str:
    """JSON text of `value`; strings are ASCII-escaped, so a lone surrogate becomes a \\udXXX escape."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # NaN, Infinity, -Infinity: not JSON, but what Python's parser reads
    return json.dumps(value)


def nested(depth: int, kind: str) -> Raw:
    inner = "0"
    return Raw(
        ("[" * depth + inner + "]" * depth) if kind == "list" else ('{"a":' * depth + inner + "}" * depth)
    )


TRICKY_TEXT = [
    "\u202egnp.exe",  # right-to-left override
    "\u2066\u2067\u2068\u2069",  # bidirectional isolates
    "\u200b\u200c\u200d\u2060",  # zero-width characters
    "\ufeffSECRET",  # byte order mark
    "a\x00b",  # NUL
    "\x1b[31mred\x1b[0m",  # terminal escape
    "SЕCRET",  # Cyrillic Е in an otherwise Latin word (confusable)
    "ｓｅｃｒｅｔ",  # fullwidth forms
    "e" + "\u0301" * 200,  # a stack of combining marks
    "\U0001f6f0\ufe0f",  # satellite emoji with a variation selector
    "\uffff\U0010ffff",  # noncharacters
    "İıßﬁ",  # case mapping changes the length
    "\ud800",  # lone high surrogate (sent as an escape)
    "\udfff\ud800",  # reversed pair
]
BOUNDARY_NUMBERS = [
    0,
    -1,
    1,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**40,
    -0.0,
    5e-324,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
]
RAW_NUMBERS = [Raw(t) for t in ("1e400", "-1e400", "1E-400", "-0", "0e0", "1" + "0" * 4299, "1" + "0" * 4301)]

# Values a product may carry: stored, signed and served back unchanged in meaning.
storable_text = st.one_of(
    st.sampled_from(TRICKY_TEXT[:-2]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    st.lists(st.sampled_from(TRICKY_TEXT[:-2]), max_size=4).map("".join),
)
storable_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([n for n in BOUNDARY_NUMBERS if math.isfinite(n)]),
    st.sampled_from([Raw("-0"), Raw("0e0"), Raw("1E-400"), Raw("1" + "0" * 4299)]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    storable_text,
)
storable_value = st.recursive(
    storable_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(storable_text, children, max_size=4)
    ),
    max_leaves=25,
)
storable_payload = st.one_of(
    st.dictionaries(storable_text, storable_value, max_size=6),
    # {"deep": <n containers>} is n + 1 levels: 31 is the deepest a payload may be.
    st.tuples(st.sampled_from([1, 30, 31]), st.sampled_from(["list", "dict"])).map(
        lambda d: {"deep": nested(*d)}
    ),
)
# Anything at all, for one field at a time.
text = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(max_size=30),
    st.lists(st.sampled_from(TRICKY_TEXT), max_size=4).map("".join),
)
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(BOUNDARY_NUMBERS),
    st.sampled_from(RAW_NUMBERS),
    st.integers(),
    st.floats(),
    text,
)
json_value = st.recursive(
    leaf,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)),
    max_leaves=25,
)
hostile_payload = st.one_of(
    st.dictionaries(text, json_value, max_size=6),
    st.tuples(st.sampled_from([32, 33, 64, 2000, 100_000]), st.sampled_from(["list", "dict"])).map(
        lambda d: {"deep": nested(*d)}
    ),
    json_value,  # not an object at all
)
# Markings the publisher (JPN, SECRET, ORCON) may apply, and markings it may not or that are wrong.
GOOD_BANNERS = [
    "UNCLASSIFIED",
    "CONFIDENTIAL//REL TO USA, JPN",
    "SECRET//REL TO USA, JPN",
    "SECRET//ORCON//REL TO USA, JPN",
]
BAD_BANNERS = [
    "TOP SECRET//REL TO USA, JPN",  # above the publisher's clearance
    "SECRET//NOFORN/REL TO USA",  # contradictory
    "SECRET",  # classified without releasability
    "",
]
hostile_marking = st.one_of(
    st.sampled_from(BAD_BANNERS), text, st.sampled_from(GOOD_BANNERS).map(lambda b: b + "\u202e")
)
good_objects = st.lists(st.sampled_from([0, 1, 25544, limits.MAX_OBJECT_ID]), max_size=5)
hostile_objects = st.one_of(
    st.lists(
        st.sampled_from([limits.MAX_OBJECT_ID + 1, -1, 2**31, 2**63, 1.5, "25544"]), min_size=1, max_size=3
    ),
    st.just(list(range(limits.MAX_OBJECTS + 1))),
    json_value,
)
ids = st.one_of(
    st.sampled_from(
        ["a" * limits.MAX_ID_CHARS, "a" * (limits.MAX_ID_CHARS + 1), "../etc", "id with space", ""]
    ),
    text,
)
versions = st.one_of(
    st.sampled_from([0, -1, 1, 2, limits.MAX_VERSION, limits.MAX_VERSION + 1, 2**63, 1.5, "2"]),
    st.sampled_from(RAW_NUMBERS),
)


@st.composite
def publish_body(draw: st.DrawFn) -> dict[str, object]:
    """A body a publisher may send, with hostile but storable content; then, most of the time, one
    field replaced by something hostile (and, rarely, all of them)."""
    body: dict[str, object] = {
        "type": draw(st.sampled_from(PRODUCT_TYPES)),
        "payload": draw(storable_payload),
        "marking": draw(st.sampled_from(GOOD_BANNERS)),
    }
    if draw(st.booleans()):
        body["objects"] = draw(good_objects)
    hostile = {
        "type": text,
        "payload": hostile_payload,
        "marking": hostile_marking,
        "objects": hostile_objects,
        "id": ids,
        "version": versions,
    }
    choice = draw(st.sampled_from([None, None, None, *hostile, "missing", "all"]))
    if choice == "missing":
        del body[draw(st.sampled_from(["type", "payload", "marking"]))]
    elif choice == "all":
        body |= {k: draw(v) for k, v in hostile.items()}
    elif choice is not None:
        body[choice] = draw(hostile[choice])
    return body


# ------------------------------------------------------------------------ properties
def _events(text_body: str) -> list[tuple[str, str]]:
    """(id, data) of each SSE event. Lines end at LF only, as the SSE grammar says: str.splitlines would
    also break a product at U+2028 or U+0085, which JSON leaves unescaped."""
    out = []
    for block in text_body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.split("\n") if ": " in line and not line.startswith(":")
        )
        if fields.get("event") == "product":
            out.append((fields["id"], fields["data"]))
    return out


def check_reads_back(t: Target, stored: dict[str, object]) -> None:
    """A product the node answered 201 for is served by id, verified, byte for byte as returned."""
    doc = stored["product"]
    assert isinstance(doc, dict)
    slug = COLLECTION_PATHS[str(doc["type"])]
    r = t.client.get(f"/products/{slug}/{quote(str(doc['id']), safe='')}", headers=ANALYST)
    assert r.status_code == 200, r.text[:200]
    assert r.json() == stored
    assert t.node.verify_wire(r.text).id == doc["id"]


def check_feed_moves(t: Target) -> None:
    """A good product published now is seen from the cursors held before it, on the element-set list
    and on the SSE feed; everything the feed carries on the way verifies."""
    t.good += 1
    body = {"type": "element_set", "payload": {"good": t.good}, "marking": "UNCLASSIFIED"}
    r = t.client.post("/products", json=body, headers=ANALYST)
    assert r.status_code == 201, r.text[:200]
    good_id = r.json()["product"]["id"]
    seen: list[str] = []
    while good_id not in seen:
        page = t.client.get(
            "/products/element-sets", params={"limit": 1000, "next": t.list_cursor or ""}, headers=ANALYST
        )
        assert page.status_code == 200, page.text[:200]
        envelope = page.json()
        assert envelope["next"], "a page always carries a cursor to resume from"
        t.list_cursor = envelope["next"]
        seen += [o["product"]["id"] for o in envelope["objects"]]
        if not envelope["more"]:
            break
    assert good_id in seen
    # Resume from the last event seen until the good product arrives: a short stream may end before it
    # has sent everything published since (it stops at max_s), never skip past it.
    streamed: list[str] = []
    for _attempt in range(50):
        headers = {**ANALYST, **({"Last-Event-ID": t.last_event_id} if t.last_event_id else {})}
        stream = t.client.get("/feed/stream", params={"max_s": 0.05}, headers=headers)
        assert stream.status_code == 200, stream.text[:200]
        events = _events(stream.text)
        for _, data in events:
            t.node.verify_wire(data)
        streamed += [json.loads(data)["product"]["id"] for _, data in events]
        if events:
            t.last_event_id = events[-1][0]
        if good_id in streamed:
            break
    assert good_id in streamed


def post_raw(t: Target, path: str, body: object) -> tuple[int, str]:
    r = t.client.post(path, content=to_json(body).encode("ascii"), headers=JSON_BODY)
    assert r.status_code < 500, f"{r.status_code} for {to_json(body)[:300]}: {r.text[:200]}"
    return r.status_code, r.text


def fuzz_publish(t: Target, examples: int) -> None:
    @given(publish_body())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(body: dict[str, object]) -> None:
        status, answer = post_raw(t, "/products", body)
        assert status in (201, 400, 403, 422), (status, answer[:200])
        if status == 201:
            check_reads_back(t, json.loads(answer))
        check_feed_moves(t)

    run()


def fuzz_downgrade(t: Target, examples: int) -> None:
    mine = t.client.post(
        "/products",
        json={"type": "conjunction", "payload": {}, "marking": "SECRET//REL TO USA, JPN"},
        headers=ANALYST,
    ).json()["product"]["id"]
    product_ids = st.one_of(st.just(mine), ids, st.integers(1, 400).map(lambda n: "p" * n))

    markings = st.one_of(st.sampled_from(GOOD_BANNERS), hostile_marking)

    @given(product_ids, markings, st.one_of(text, st.sampled_from(["", "x" * 2000, "x" * 2001])))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(product_id: str, new_marking: str, justification: str) -> None:
        path = f"/products/{quote(product_id.encode('utf-8', 'surrogatepass'), safe='')}/downgrade"
        status, answer = post_raw(t, path, {"marking": new_marking, "justification": justification})
        assert status in (200, 400, 403, 404, 405, 422), (status, answer[:200])
        if status == 200:
            check_reads_back(t, json.loads(answer))
        check_feed_moves(t)

    run()


def test_fuzzed_publish_never_fails_and_the_feed_keeps_moving(target):
    fuzz_publish(target, FUZZ_EXAMPLES)


def test_fuzzed_downgrade_never_fails_and_the_feed_keeps_moving(target):
    fuzz_downgrade(target, FUZZ_EXAMPLES // 2)


@pytest.mark.slow
def test_fuzzed_writes_long_run(target):
    fuzz_publish(target, FUZZ_EXAMPLES * SLOW_FACTOR)
    fuzz_downgrade(target, FUZZ_EXAMPLES * SLOW_FACTOR // 2)


# ------------------------------------------------------------------------ limits, exactly at and past
def _padded(total_bytes: int, char: str) -> dict[str, str]:
    """A payload {"s": char * n} whose compact UTF-8 JSON is `total_bytes` long (the limit's measure)."""
    unit = len(json.dumps(char, ensure_ascii=False)[1:-1].encode())
    n, rest = divmod(total_bytes - len('{"s":""}'), unit)
    return {"s": "x" * rest + char * n}


@pytest.mark.parametrize(
    ("char", "over", "status"),
    [
        ("x", 0, 201),
        ("x", 1, 422),
        ("é", 0, 201),  # two bytes each
        ("é", 2, 422),
        ("\x00", 0, 201),  # six bytes each as the escape \u0000
        ("\x00", 6, 422),
    ],
)
def test_payload_size_at_and_past_the_limit(target, char, over, status):
    body = {
        "type": "derived",
        "payload": _padded(limits.MAX_PAYLOAD_BYTES + over, char),
        "marking": "UNCLASSIFIED",
    }
    r = target.client.post("/products", json=body, headers=ANALYST)
    assert r.status_code == status, r.text[:200]
    if status == 201:
        check_reads_back(target, r.json())
    check_feed_moves(target)


def test_ids_versions_objects_and_depth_at_and_past_the_limits(target):
    t = target
    first = t.client.post(
        "/products", json={"type": "maneuver", "payload": {}, "marking": "UNCLASSIFIED"}, headers=ANALYST
    ).json()["product"]["id"]
    deepest = {"a": 0}
    for _ in range(limits.MAX_PAYLOAD_DEPTH - 2):
        deepest = {"a": deepest}
    cases: list[tuple[dict[str, object], int]] = [
        ({"payload": {"d": deepest}}, 201),  # exactly MAX_PAYLOAD_DEPTH levels
        ({"payload": {"d": {"a": deepest}}}, 422),
        ({"objects": list(range(limits.MAX_OBJECTS))}, 201),
        ({"objects": list(range(limits.MAX_OBJECTS + 1))}, 422),
        ({"objects": [limits.MAX_OBJECT_ID]}, 201),
        ({"objects": [limits.MAX_OBJECT_ID + 1]}, 422),
        ({"id": first, "version": limits.MAX_VERSION}, 201),
        ({"id": first, "version": limits.MAX_VERSION + 1}, 422),
        ({"id": first, "version": 2**63}, 422),
        ({"id": "a" * limits.MAX_ID_CHARS, "version": 2}, 403),  # well formed, not there: not releasable
        ({"id": "a" * (limits.MAX_ID_CHARS + 1), "version": 2}, 422),
    ]
    for extra, status in cases:
        body = {"type": "maneuver", "payload": {}, "marking": "UNCLASSIFIED", **extra}
        r = t.client.post("/products", json=body, headers=ANALYST)
        assert r.status_code == status, (list(extra), r.text[:200])
        if status == 201:
            check_reads_back(t, r.json())
        check_feed_moves(t)
    # Ids in the URL that no product can have: over the id column, or with a NUL PostgreSQL refuses.
    for raw_id in ("a" * limits.MAX_ID_CHARS, "a" * (limits.MAX_ID_CHARS + 1), "a" * 1000, "a\x00b"):
        product_id = quote(raw_id, safe="")
        for r in (
            t.client.get(f"/products/maneuvers/{product_id}", headers=ANALYST),
            t.client.post(
                f"/products/{product_id}/downgrade",
                json={"marking": "UNCLASSIFIED", "justification": "x"},
                headers=ANALYST,
            ),
        ):
            assert r.status_code == 403, (product_id[:20], r.status_code, r.text[:200])


# ------------------------------------------------------------------------ the OpenAPI document
def _schemathesis_run(op, mode: GenerationMode, examples: int) -> None:
    checks = [not_a_server_error]
    if mode is GenerationMode.POSITIVE:  # answers to input outside the schema are not in the document
        checks += [status_code_conformance, content_type_conformance, response_schema_conformance]

    @given(op.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        case.call_and_validate(headers=ANALYST, checks=checks)

    run()


def test_schemathesis_write_operations(target):
    """Every POST of the OpenAPI document, with inputs that fit the schema and inputs that do not.
    Driven by hand: schemathesis' pytest plugin does not load under pytest 9."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.client.app)
    writes = [op for op in (r.ok() for r in schema.get_all_operations()) if op.method.upper() == "POST"]
    assert {op.path for op in writes} == {
        "/products",
        "/products/{product_id}/downgrade",
        "/session",  # the console's login
        "/taxii2/kizuna/collections/{collection_id}/objects/",
        "/sync/notify",  # partner nodes only: a user is refused 403
    }
    for op in writes:
        # The login and /sync/notify take no body and no parameter (only the Authorization header):
        # there is nothing outside their schema to generate.
        no_input = op.path in {"/session", "/sync/notify"}
        modes = (GenerationMode.POSITIVE,) if no_input else tuple(GenerationMode)
        for mode in modes:
            _schemathesis_run(op, mode, SCHEMA_EXAMPLES)
    check_feed_moves(target)


# ------------------------------------------------------------------------ after all of it
def test_everything_stored_still_reads_back(target):
    """Runs last in this module: every stored product is served and verifies."""
    t = target
    stored = t.node.share.count()
    assert stored > FUZZ_EXAMPLES  # the fuzzing above stored something
    current: set[str] = set()
    for ptype in PRODUCT_TYPES:
        cursor = ""
        while True:
            r = t.client.get(
                f"/products/{COLLECTION_PATHS[ptype]}",
                params={"limit": 1000, "next": cursor},
                headers=ANALYST,
            )
            assert r.status_code == 200, r.text[:200]
            for o in r.json()["objects"]:
                t.node.verify_wire(json.dumps(o))
                current.add(o["product"]["id"])
            cursor = r.json()["next"]
            if not r.json()["more"]:
                break
    assert len(current) == len({pid for pid, _ in t.node.share.all_keys()})
    # Long enough to send every stored product (the stream stops at max_s, not when it runs dry).
    feed = t.client.get("/feed/stream", params={"max_s": 5}, headers=ANALYST)
    assert feed.status_code == 200
    assert len(_events(feed.text)) == stored
    report = t.node.audit.verify()
    assert report.ok, report.problems[:3]
    assert report.products == stored
