"""Products: every shareable record wrapped with identity, version, originator and marking.

The bytes a signature covers are the RFC 8785 JSON Canonicalization Scheme (JCS) serialisation of a
document that binds the marking label to the payload, id, version, type, time, objects and originator:
changing or stripping any of them changes the bytes.

Identity: a product id is bound to its originator. Ids minted here are ``product--<UUID>`` with a
version 8 UUID (RFC 9562 §5.8) whose first 48 bits are the originator's tag, the first 48 bits of
SHA-256(``"kizuna product originator\n" + node id``), and whose other 74 free bits are random. Any node
can recompute the tag from the signed ``originator``, so a partner can never sign a product under an id
minted by another node (the signature binds the originator to its key, the tag binds the id to the
originator). Ids without a tag (minted before tags, or chosen by a caller) are bound by the receiving
node's store instead: the first originator stored for the id keeps it (see ``Node.ingest``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache

import orjson

from kizuna.errors import KizunaError
from kizuna.share import limits, payloads
from kizuna.share.markings import Marking, MarkingConfig, default_config, marking_from_label

PRODUCT_TYPES = (
    "element_set",
    "conjunction",
    "revisit_report",
    "maneuver",
    "proximity_alert",
    "dark_vessels",
    "maritime_alert",
    "maritime_event",
    "launch_event",
    "track_update",
    "impact_prediction",
    "observations",
    "orbit_determination",
    "derived",
)


class ProductError(KizunaError, ValueError):
    """A product document is malformed."""


def canonical_json(value: object) -> bytes:
    """RFC 8785 canonical JSON: keys sorted by UTF-16 code units, no whitespace, ECMAScript number
    form (RFC 8785 §3.2.2.3), UTF-8. The reference serialiser: any Python value (tuples as arrays),
    refusing non-string keys; :func:`canonical_json_parsed` gives the same bytes faster for parsed JSON."""
    out: list[str] = []
    _jcs(value, out)
    return "".join(out).encode("utf-8")


# Where the standard library's compact, key-sorted JSON differs from RFC 8785 (for a value as
# `json.loads` returns it): a float that Python writes with an exponent (1e-05, 1.5e+16: ECMAScript
# writes 0.00001 and 15000000000000000, and 1.5e-7 without the exponent's leading zero) or with a
# trailing ".0" (5.0: ECMAScript writes 5); and key order when a key holds a character outside the
# Basic Multilingual Plane (Python sorts code points, RFC 8785 UTF-16 code units). Integers, strings
# (escaped the same way: `json.dumps` is what `_jcs` uses for them), literals and every other float
# (both print the shortest round-trip digits) are already byte-identical.
# A Python float token, found from where it differs from ECMAScript: its exponent ("e-", "e+") or a
# fraction of just "0" (".0" not followed by a digit), each right after a digit.
_PY_FLOAT_MARKS = ("e-", "e+", ".0")
_PY_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?")


def _float_marks(text: str) -> list[int]:
    """Positions of the marks in `text`, in order (str.find: the text is scanned at C speed)."""
    found = []
    for mark in _PY_FLOAT_MARKS:
        i = text.find(mark)
        while i != -1:
            digit_after = "0" <= text[i + 2 : i + 3] <= "9"
            if i and "0" <= text[i - 1] <= "9" and digit_after != (mark == ".0"):
                found.append(i)
            i = text.find(mark, i + 1)
    return sorted(found)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def canonical_json_parsed(value: object, *, nulls: int | None = None) -> bytes:
    """:func:`canonical_json` of a value as `json.loads` returns it (string keys; dict, list, str, int,
    float, bool, None), byte for byte, at the speed of the C JSON encoder: it serialises with sorted
    keys and rewrites only the number tokens whose Python form differs from ECMAScript's (found outside
    strings), and hands the rare document with a key outside the BMP to the reference serialiser.

    `nulls`: a number of JSON nulls `value` is known to hold, at least (a product: its label's owner).
    Given it, orjson writes the sorted text, in a fifth of the time, and its number tokens that differ
    from ECMAScript's carry the same marks (an exponent, a ".0"; checked against the reference over
    400,000 doubles). orjson writes NaN and Infinity as null where RFC 8785 refuses them, so its text
    is used only when it holds exactly `nulls` "null": anything more (another null, a NaN, the word in
    a string) takes the standard library's path, which refuses NaN."""
    if nulls is not None:
        try:
            raw: bytes | None = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | limits.ORJSON_STRICT)
        except TypeError:  # orjson.JSONEncodeError: beyond 64-bit integers, lone surrogates, depth
            raw = None
        if raw is not None and raw.count(b"null") == nulls:
            text = raw.decode("utf-8")
            if not raw.isascii() and _ASTRAL.search(text):
                return canonical_json(value)
            marks = _float_marks(text)
            return _ecmascript_numbers(text, marks).encode("utf-8") if marks else raw
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ProductError("NaN and Infinity are not allowed in canonical JSON") from None
    except TypeError as exc:
        raise ProductError(f"not JSON-serialisable: {exc}") from None
    if not text.isascii() and _ASTRAL.search(text):
        return canonical_json(value)
    marks = _float_marks(text)
    if marks:
        text = _ecmascript_numbers(text, marks)
    return text.encode("utf-8")


def _ecmascript_numbers(text: str, marks: list[int]) -> str:
    """Rewrite the float tokens of compact JSON `text` (found at `marks`) that lie outside strings in
    ECMAScript form."""
    out: list[str] = []
    quotes = ""
    done = counted = inside = 0
    for start in marks:
        if start < done:
            continue  # a second mark of a token already rewritten
        # Outside strings a number token follows one of ':,[' (or starts the text) and runs to one of
        # ',]}' (or its end); a mark without that frame is text inside a string.
        while start > done and text[start - 1] in "0123456789.-":
            start -= 1
        token = _PY_NUMBER.match(text, start)
        if token is None:
            continue
        end = token.end()
        if (start and text[start - 1] not in ":,[") or (end < len(text) and text[end] not in ",]}"):
            continue
        if not quotes:
            # Escaped backslashes and quotes blanked (same length): every '"' left delimits a string,
            # so a position is outside every string when an even number of them precede it.
            quotes = text.replace("\\\\", "__").replace('\\"', "__")
        inside = (inside + quotes.count('"', counted, start)) % 2
        counted = start
        if inside:
            continue
        out.append(text[done:start])
        out.append(_es_number(float(text[start:end])))
        done = end
    out.append(text[done:])
    return "".join(out)


def _jcs(v: object, out: list[str]) -> None:
    import json

    if v is None or v is True or v is False:
        out.append("null" if v is None else ("true" if v else "false"))
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, int):
        out.append(str(int(v)))  # int(): a subclass (IntEnum) may print otherwise
    elif isinstance(v, float):
        out.append(_es_number(v))
    elif isinstance(v, Mapping):
        out.append("{")
        for i, k in enumerate(sorted(v, key=lambda k: str(k).encode("utf-16-be"))):
            if not isinstance(k, str):
                raise ProductError(f"JSON object keys must be strings, got {k!r}")
            if i:
                out.append(",")
            out.append(json.dumps(k, ensure_ascii=False))
            out.append(":")
            _jcs(v[k], out)
        out.append("}")
    elif isinstance(v, list | tuple):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _jcs(item, out)
        out.append("]")
    else:
        raise ProductError(f"not JSON-serialisable: {type(v).__name__}")


def _es_number(x: float) -> str:
    """ECMAScript Number::toString (ECMA-262 7.1.12.1) from Python's shortest round-trip digits."""
    if not math.isfinite(x):
        raise ProductError("NaN and Infinity are not allowed in canonical JSON")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # float(): a float subclass (numpy.float64) has its own repr ("np.float64(0.5)"), and the digits
    # signed must be those any JSON reader gets back
    mant, _, exp = repr(float(abs(x))).partition("e")
    intpart, _, frac = mant.partition(".")
    digits = (intpart + frac).lstrip("0")
    # n: position of the decimal point relative to the first significant digit (ECMA-262 notation).
    lead_zeros = len(intpart + frac) - len((intpart + frac).lstrip("0"))
    n = len(intpart) - lead_zeros + (int(exp) if exp else 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return sign + s


# ------------------------------------------------------------------ ids bound to their originator
ID_PREFIX = "product--"
_TAGGED_ID = re.compile(r"product--([0-9a-f]{8})-([0-9a-f]{4})-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@lru_cache(maxsize=1024)
def originator_tag(originator: str) -> str:
    """The 48-bit tag (12 hex digits) that ids minted by `originator` start with."""
    return hashlib.sha256(b"kizuna product originator\n" + originator.encode("utf-8")).hexdigest()[:12]


def new_product_id(originator: str) -> str:
    """A fresh id bound to `originator`: ``product--`` and a version 8 UUID (RFC 9562 §5.8) made of
    the originator's tag (48 bits), the version and variant bits and 74 random bits."""
    random_bits = int.from_bytes(os.urandom(10)) >> 6  # 74 bits
    value = (int(originator_tag(originator), 16) << 80) | (0x8 << 76) | ((random_bits >> 62) << 64)
    value |= (0b10 << 62) | (random_bits & ((1 << 62) - 1))
    return ID_PREFIX + str(uuid.UUID(int=value))


def derived_product_id(originator: str, key: str) -> str:
    """The id `originator` gives the product identified by `key` (e.g. a pipeline job, step and
    content): the same layout as :func:`new_product_id` with the 74 free bits taken from
    SHA-256(key) instead of chance, so making the same product again gives the same id (a resumed
    job finds its products already stored instead of storing them twice)."""
    digest = hashlib.sha256(b"kizuna derived product\n" + key.encode("utf-8")).digest()
    random_bits = int.from_bytes(digest[:10]) >> 6  # 74 bits
    value = (int(originator_tag(originator), 16) << 80) | (0x8 << 76) | ((random_bits >> 62) << 64)
    value |= (0b10 << 62) | (random_bits & ((1 << 62) - 1))
    return ID_PREFIX + str(uuid.UUID(int=value))


def id_tag(product_id: str) -> str | None:
    """The originator tag an id carries, or None for an id minted without one."""
    m = _TAGGED_ID.fullmatch(product_id)
    return None if m is None else m.group(1) + m.group(2)


def id_identity_problem(product_id: str, originator: str) -> str | None:
    """Why `originator` may not hold `product_id` (an id minted by another node), or None."""
    tag = id_tag(product_id)
    if tag is None or tag == originator_tag(originator):
        return None
    return f"identity: {product_id} was minted by another originator than {originator}"


class _LabelCache:
    """Markings parsed from labels, by label content and marking configuration: a feed repeats a
    handful of labels, and parsing one (with its validation) costs more than the rest of a product."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._parsed: OrderedDict[tuple[int, bytes], tuple[MarkingConfig, Marking]] = OrderedDict()
        self._lock = threading.Lock()

    def marking(self, label: object, config: MarkingConfig | None) -> Marking:
        cfg = config or default_config()
        key = _label_key(label)
        if key is None:  # not a label of plain strings and lists: the parser says what is wrong
            return marking_from_label(label, cfg)  # type: ignore[arg-type]
        with self._lock:
            hit = self._parsed.get((id(cfg), key))
        if hit is not None and hit[0] is cfg:
            return hit[1]
        marking = marking_from_label(label, cfg)  # type: ignore[arg-type]
        with self._lock:
            self._parsed[(id(cfg), key)] = (cfg, marking)
            if len(self._parsed) > self.size:
                self._parsed.popitem(last=False)
        return marking


def _label_key(label: object) -> bytes | None:
    """The cache key of a label: its JSON text (orjson, ~1 us), so two labels share a marking only
    when they are the same JSON value; None for what is not a small JSON object (the parser then says
    what is wrong, uncached)."""
    if type(label) is not dict or len(label) > 8:
        return None
    try:
        key = orjson.dumps(label)
    except TypeError:  # orjson.JSONEncodeError: not JSON (or not representable as such)
        return None
    return key if len(key) <= 4096 else None


_LABELS = _LabelCache()


@lru_cache(maxsize=4096)
def banner_of(marking: Marking) -> str:
    """`marking.banner()`, remembered: the same few markings are bannered for every product."""
    return marking.banner()


@lru_cache(maxsize=4096)
def _label_of(marking: Marking) -> dict[str, object]:
    return marking.as_label()


def iso_z(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. isoformat writes the same text in half strftime's time
    (this runs for every product checked); below year 1000 strftime does not pad the year, and its
    text is the one products have always been signed with."""
    utc = dt.astimezone(UTC)
    if utc.year >= 1000:
        return utc.isoformat(timespec="microseconds")[:-6] + "Z"  # "+00:00" off
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_z(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ProductError(f"time {text!r} has no UTC offset")
    return dt.astimezone(UTC)


_DOCUMENT_MEMBERS = frozenset(
    ("id", "version", "type", "created_utc", "originator", "objects", "marking", "payload")
)
# Members of a product document without / with `downgrade_of`.
_MEMBERS = {False: _DOCUMENT_MEMBERS, True: _DOCUMENT_MEMBERS | {"downgrade_of"}}


@dataclass(frozen=True)
class Product:
    id: str
    version: int
    type: str
    created_utc: datetime
    originator: str
    payload: Mapping[str, object]
    marking: Marking
    objects: tuple[int, ...] = field(default=())
    # Set only on a version made by an explicit downgrade of version `downgrade_of` by the originator:
    # signed with the rest, so a receiving node can tell an audited downgrade from a version that
    # silently lowers the marking (which it refuses).
    downgrade_of: int | None = None

    @classmethod
    def new(
        cls,
        type: str,
        payload: Mapping[str, object],
        marking: Marking,
        originator: str,
        *,
        objects: tuple[int, ...] = (),
        id: str | None = None,
        version: int = 1,
        created_utc: datetime | None = None,
    ) -> Product:
        if type not in PRODUCT_TYPES:
            raise ProductError(f"unknown product type {type!r}; known: {PRODUCT_TYPES}")
        # Limits first: a product over one would fail in the store or break every later read.
        try:
            if id is not None:
                limits.check_id(id)
            limits.check_version(version)
            limits.check_objects(list(objects))
            limits.check_payload(payload)
            payloads.check(type, payload)
        except limits.LimitError as exc:
            raise ProductError(str(exc)) from None
        return cls(
            id=id or new_product_id(originator),
            version=version,
            type=type,
            created_utc=(created_utc or datetime.now(UTC)).astimezone(UTC),
            originator=originator,
            payload=dict(payload),
            marking=marking,
            objects=tuple(sorted({int(o) for o in objects})),
        )

    def next_version(
        self,
        *,
        payload: Mapping[str, object] | None = None,
        marking: Marking | None = None,
        downgrade: bool = False,
    ) -> Product:
        return replace(
            self,
            version=self.version + 1,
            created_utc=datetime.now(UTC),
            payload=dict(payload) if payload is not None else self.payload,
            marking=marking or self.marking,
            downgrade_of=self.version if downgrade else None,
        )

    def document(self) -> dict[str, object]:
        """The signed content, in the form that is serialised on the wire."""
        doc: dict[str, object] = {
            "id": self.id,
            "version": self.version,
            "type": self.type,
            "created_utc": iso_z(self.created_utc),
            "originator": self.originator,
            "objects": list(self.objects),
            "marking": self.marking.as_label(),
            "payload": self.payload,
        }
        if self.downgrade_of is not None:  # absent otherwise, so earlier products keep their bytes
            doc["downgrade_of"] = self.downgrade_of
        return doc

    def canonical_bytes(self) -> bytes:
        return canonical_json({"kizuna_product": 1, **self.document()})

    def noncanonical_member(self, doc: Mapping[str, object]) -> str | None:
        """The first member of `doc` (the received form of this product, as parsed by
        :meth:`from_document`) that is not exactly what :meth:`document` writes, or None. A signed
        document is accepted only in that one form, so the bytes verified, stored and served are the
        ones a Kizuna signer produces for the product this node decides on."""
        if doc.keys() != _MEMBERS[self.downgrade_of is not None]:
            extra = sorted(set(doc) ^ _MEMBERS[self.downgrade_of is not None])
            return f"members {extra[:3]} are not those of a product document"
        if doc["payload"] is not self.payload and doc["payload"] != self.payload:
            return "payload"
        expected: tuple[tuple[str, object], ...] = (
            ("id", self.id),
            ("version", self.version),
            ("type", self.type),
            ("originator", self.originator),
            ("objects", list(self.objects)),
            ("marking", _label_of(self.marking)),
            ("created_utc", iso_z(self.created_utc)),
            ("downgrade_of", self.downgrade_of),
        )
        for name, value in expected:
            if doc.get(name) != value:
                return name
        return None

    @classmethod
    def from_checked(cls, doc: Mapping[str, object], created_utc: datetime, marking: Marking) -> Product:
        """The product of a document :meth:`from_document` accepted (here or in a verifier worker), from
        the time and marking it parsed: the same product, nothing checked again."""
        return cls(
            id=str(doc["id"]),
            version=doc["version"],  # type: ignore[arg-type]
            type=str(doc["type"]),
            created_utc=created_utc,
            originator=str(doc["originator"]),
            payload=doc["payload"],  # type: ignore[arg-type]
            marking=marking,
            objects=tuple(doc.get("objects", [])),  # type: ignore[arg-type]
            downgrade_of=doc.get("downgrade_of"),  # type: ignore[arg-type]
        )

    @classmethod
    def from_document(cls, doc: Mapping[str, object], config: MarkingConfig | None = None) -> Product:
        """Rebuild a product from its wire form; raises ProductError or MarkingError."""
        try:
            try:
                limits.check_document(doc)  # a partner's product is held to the same limits as our own
            except limits.LimitError as exc:
                raise ProductError(str(exc)) from None
            objects = doc.get("objects", [])
            if not isinstance(objects, list) or not all(isinstance(o, int) for o in objects):
                raise ProductError("objects must be a list of integers")
            payload = doc["payload"]
            if not isinstance(payload, Mapping):
                raise ProductError("payload must be a JSON object")
            version = doc["version"]
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise ProductError("version must be a positive integer")
            if doc["type"] not in PRODUCT_TYPES:
                raise ProductError(f"unknown product type {doc['type']!r}")
            try:
                payloads.check(str(doc["type"]), payload)
            except limits.LimitError as exc:
                raise ProductError(str(exc)) from None
            downgrade_of = doc.get("downgrade_of")
            if downgrade_of is not None and (
                not isinstance(downgrade_of, int)
                or isinstance(downgrade_of, bool)
                or not 1 <= downgrade_of < version
            ):
                raise ProductError("downgrade_of must be an earlier version number")
            marking = _LABELS.marking(doc["marking"], config)
            return cls.from_checked(doc, parse_iso_z(str(doc["created_utc"])), marking)
        except KeyError as exc:
            raise ProductError(f"product document lacks {exc.args[0]!r}") from None
        except ValueError as exc:
            if isinstance(exc, KizunaError):
                raise
            raise ProductError(str(exc)) from None
