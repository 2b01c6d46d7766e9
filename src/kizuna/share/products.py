"""Products: every shareable record wrapped with identity, version, originator and marking.

The bytes a signature covers are the RFC 8785 JSON Canonicalization Scheme (JCS) serialisation of a
document that binds the marking label to the payload, id, version, type, time, objects and originator:
changing or stripping any of them changes the bytes.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from kizuna.errors import KizunaError
from kizuna.share import limits
from kizuna.share.markings import Marking, MarkingConfig, marking_from_label

PRODUCT_TYPES = (
    "element_set",
    "conjunction",
    "revisit_report",
    "maneuver",
    "proximity_alert",
    "dark_vessels",
    "derived",
)


class ProductError(KizunaError, ValueError):
    """A product document is malformed."""


def canonical_json(value: object) -> bytes:
    """RFC 8785 canonical JSON: keys sorted by UTF-16 code units, no whitespace, ECMAScript number
    form (RFC 8785 §3.2.2.3), UTF-8."""
    out: list[str] = []
    _jcs(value, out)
    return "".join(out).encode("utf-8")


def _jcs(v: object, out: list[str]) -> None:
    import json

    if v is None or v is True or v is False:
        out.append("null" if v is None else ("true" if v else "false"))
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, int):
        out.append(str(v))
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
    mant, _, exp = repr(abs(x)).partition("e")
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


def iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_z(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ProductError(f"time {text!r} has no UTC offset")
    return dt.astimezone(UTC)


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
        except limits.LimitError as exc:
            raise ProductError(str(exc)) from None
        return cls(
            id=id or f"product--{uuid.uuid4()}",
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
            downgrade_of = doc.get("downgrade_of")
            if downgrade_of is not None and (
                not isinstance(downgrade_of, int)
                or isinstance(downgrade_of, bool)
                or not 1 <= downgrade_of < version
            ):
                raise ProductError("downgrade_of must be an earlier version number")
            marking = marking_from_label(doc["marking"], config)  # type: ignore[arg-type]
            return cls(
                id=str(doc["id"]),
                version=version,
                type=str(doc["type"]),
                created_utc=parse_iso_z(str(doc["created_utc"])),
                originator=str(doc["originator"]),
                payload=payload,
                marking=marking,
                objects=tuple(objects),
                downgrade_of=downgrade_of,
            )
        except KeyError as exc:
            raise ProductError(f"product document lacks {exc.args[0]!r}") from None
        except ValueError as exc:
            if isinstance(exc, KizunaError):
                raise
            raise ProductError(str(exc)) from None
