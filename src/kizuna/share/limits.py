"""Limits on what a product may contain, checked wherever a product enters a node (the publish API, the
CLI, a partner's feed) before anything is stored.

Each limit is a stated constant with its reason. A product over a limit would either fail in the
database (and roll back everything written with it) or be stored and then break every later read, so
it is refused on its own, with a one-line reason, instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import orjson

from kizuna.errors import KizunaError

# Nesting depth of the payload (the payload object itself is depth 1). Real products are a few levels
# deep; serialisers and validators downstream (pydantic-core, recursive JSON canonicalisation, SSE
# encoders) fail between ~255 and ~1000 levels, so a deep payload stored once broke every read after it.
MAX_PAYLOAD_DEPTH = 32
# Size of the payload as compact UTF-8 JSON (within a few bytes of the signed canonical form). One
# product is a message, not a file transfer; 1 MiB bounds the memory a feed page of 500 costs a reader.
MAX_PAYLOAD_BYTES = 1 << 20
# Product ids: the store's `product_id` column is VARCHAR(80) (PostgreSQL refuses longer ids and rolls
# back the transaction), and the id appears in URL paths, so only URL-safe ASCII is allowed.
MAX_ID_CHARS = 80
ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
_ID = re.compile(r"[A-Za-z0-9._:-]{1,80}")
# Versions: the store's `version` column is a 32-bit INTEGER on PostgreSQL (SQLite stores up to 2^63-1);
# the smaller bound is the one both dialects hold, and it leaves room for 2 billion versions.
MAX_VERSION = 2**31 - 1
# NORAD catalogue numbers, as the CLI accepts them; a product names at most this many objects.
MAX_OBJECT_ID = 999_999_999
MAX_OBJECTS = 10_000


class LimitError(KizunaError, ValueError):
    """A product exceeds a stated limit (depth, size, id, version, objects)."""


def payload_depth_exceeds(value: object, limit: int = MAX_PAYLOAD_DEPTH) -> bool:
    """Whether `value` nests deeper than `limit` containers. Iterative, so a hostile depth of a million
    costs a walk, not a RecursionError; stops as soon as the limit is passed."""
    return _walk(value, limit)[0]


def _walk(value: object, limit: int) -> tuple[bool, bool]:
    """(nests deeper than `limit`, holds a leaf that is not exactly str/int/float/bool/None)."""
    odd = False
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        kind = type(v)
        # Exact JSON types first (what a parser returns: the abstract-class checks cost more than the
        # rest of the walk), then any other mapping or sequence a caller may hand in.
        if kind is dict:
            children: object = v.values()  # type: ignore[attr-defined]
        elif kind is list:
            children = v
        elif kind in _SCALARS:
            continue
        elif isinstance(v, Mapping):
            children = v.values()
        elif isinstance(v, list | tuple):
            children = v
        else:
            odd = True  # a datetime, UUID, enum, numpy scalar, str subclass ...
            continue
        if depth > limit:
            return True, odd
        stack.extend([(c, depth + 1) for c in children if type(c) not in _SCALARS])  # type: ignore[attr-defined]
    return False, odd


_SCALARS = frozenset((str, int, float, bool, type(None)))
# orjson refusing (rather than writing) subclasses, dataclasses and datetimes, as the standard library
# does: wherever orjson stands in for it, those go to the standard library.
ORJSON_STRICT = (
    orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def check_payload(payload: object) -> None:
    """Raise :class:`LimitError` when the payload is too deep or too large."""
    deep, odd = _walk(payload, MAX_PAYLOAD_DEPTH)
    if deep:
        raise LimitError(f"payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
    try:
        # orjson's compact text first (a sixth of the time): the standard library's is at most 2.25
        # times as long (a float token: "1e-05" for "1e-5", "Infinity" for "null"), so far below
        # the limit it settles the question; near it, where orjson will not write the value, or
        # where it writes what the standard library refuses (a datetime, a UUID: `odd` leaves), the
        # standard library decides, with the size stated.
        if not odd and len(orjson.dumps(payload, option=ORJSON_STRICT)) * 9 // 4 < MAX_PAYLOAD_BYTES:
            return
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a non-string key, ...
        pass
    try:
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise LimitError(f"payload is not JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise LimitError(f"payload is {size} bytes as JSON; the limit is {MAX_PAYLOAD_BYTES} (1 MiB)")


def check_id(product_id: object) -> None:
    if not isinstance(product_id, str) or _ID.fullmatch(product_id) is None:
        shown = repr(product_id)[:40]
        raise LimitError(f"product id {shown} is not 1-{MAX_ID_CHARS} characters of A-Z a-z 0-9 . _ : -")


def check_version(version: object) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= MAX_VERSION:
        raise LimitError(f"version {str(version)[:40]} is not an integer in 1..{MAX_VERSION}")


def check_objects(objects: object) -> None:
    if not isinstance(objects, list | tuple) or len(objects) > MAX_OBJECTS:
        raise LimitError(f"objects must be a list of at most {MAX_OBJECTS} NORAD ids")
    for o in objects:
        if not isinstance(o, int) or isinstance(o, bool) or not 0 <= o <= MAX_OBJECT_ID:
            raise LimitError(f"object {str(o)[:40]} is not a NORAD id in 0..{MAX_OBJECT_ID}")


def check_document(doc: Mapping[str, object]) -> None:
    """Every limit on a product document (wire form): id, version, objects, payload."""
    check_id(doc.get("id"))
    check_version(doc.get("version"))
    check_objects(doc.get("objects", []))
    check_payload(doc.get("payload"))


def safe_id(product_id: object) -> str | None:
    """The id to name in an audit entry about a refused product: itself when within limits, else None
    (an over-long id would fail the audit table's column and take the refusal down with it)."""
    return product_id if isinstance(product_id, str) and _ID.fullmatch(product_id) else None


def safe_version(version: object) -> int | None:
    ok = isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= MAX_VERSION
    return version if ok else None  # type: ignore[return-value]
