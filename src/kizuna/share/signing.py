"""Ed25519 signatures over canonical product bytes (RFC 8032) and the trust store.

Keys are made, stored and used for signing with `cryptography`; every signature a node receives is
verified with libsodium (PyNaCl, :func:`ed25519_verify`), which does the same check in less than half
the time of OpenSSL's on the machines measured (`benchmarks/bench_share.py`, ``floor_*``) and is
stricter: besides what RFC 8032 requires (S below the group order), it refuses public keys and ``R``
values of small order and non-canonical key encodings, which no honest signer produces.

A signed product on the wire is ``{"product": <document>, "banner": ..., "signature": {"alg": "Ed25519",
"key_id": ..., "value": <base64url>}}``. The key id is the first 16 bytes (hex) of SHA-256 over the raw
public key, so a partner cannot claim another node's key.

The exact signed bytes
----------------------
``value`` is the unpadded base64url (RFC 4648 §5) of the 64-byte Ed25519 signature (RFC 8032, pure
Ed25519, no prehash) over::

    JCS({"kizuna_product": 1, **product})

where ``product`` is the ``product`` member exactly as received (every member it has: ``id``,
``version``, ``type``, ``created_utc``, ``originator``, ``objects``, ``marking``, ``payload`` and, only on
a version made by an explicit downgrade, ``downgrade_of``), JCS is the RFC 8785 JSON Canonicalization
Scheme (members sorted by UTF-16 code units, no whitespace, ECMAScript number form, UTF-8), and
``"kizuna_product": 1`` is the context member: it makes the signature mean "version 1 of a Kizuna
product" and nothing else (audit checkpoints carry their own context, ``"kizuna audit checkpoint v1"``).
``marking`` is the STANAG 4774-style label object (``policy_identifier``, ``classification``, ``owner``,
``releasable_to``, ``caveats``); the ``banner`` beside the document is not signed but must equal the
banner of the signed label. The signing key must be the originator's, and an id minted with an
originator's tag (see :mod:`kizuna.share.products`) may only be signed by that originator.

How the verifier gets those bytes: it canonicalises the received ``product`` member itself, never a
document rebuilt from what it parsed, so the bytes verified are the bytes stored and served (the stored
wire form is the received document). orjson (or the standard library's C encoder) with sorted keys
already writes RFC 8785 for integers, strings and most floats; the few number tokens where it and
ECMAScript differ (``1e-7`` for ``1e-07``, ``5.0``, ``1e+16``) are rewritten, and a document with a key
outside the BMP goes to the reference serialiser (`canonical_json_parsed`, property-tested byte for
byte against `canonical_json`).

One form per product: the received ``product`` must be exactly what a Kizuna signer writes for the
product the node parsed from it (no extra or missing member, the label in its normal form, the time as
``YYYY-MM-DDTHH:MM:SS.ffffffZ``). A document that is not is refused ("not in canonical form"), even
when its signature verifies: every node then derives its policy columns from one byte form.

To check a product independently: decode ``value``, canonicalise ``{"kizuna_product": 1, **product}``
with any RFC 8785 implementation, and verify with the originator's public key (the node's partners
config names it); ``kizuna product verify FILE_OR_ID`` does exactly this against the node's trust store.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_core_ed25519_is_valid_point
from nacl.exceptions import CryptoError as SodiumError
from nacl.signing import VerifyKey

from kizuna.errors import KizunaError
from kizuna.share import limits
from kizuna.share.markings import MarkingConfig
from kizuna.share.products import (
    Product,
    ProductError,
    banner_of,
    canonical_json_parsed,
    id_identity_problem,
)

ALG = "Ed25519"

# libsodium's form of each public key met so far, by its raw 32 bytes (a handful: one per partner).
_sodium_keys: dict[bytes, VerifyKey] = {}
_sodium_keys_lock = threading.Lock()


def ed25519_verify(public_key: Ed25519PublicKey | bytes, signature: bytes, message: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `message` by `public_key` (a key object
    or its raw 32 bytes), checked by libsodium: a wrong length, a bad signature or a key libsodium
    refuses (small order, non-canonical) is False, never an exception."""
    raw = public_key if isinstance(public_key, bytes) else public_key.public_bytes_raw()
    key = _sodium_keys.get(raw)
    if key is None:
        try:
            key = VerifyKey(raw)
        except (SodiumError, TypeError):
            return False
        with _sodium_keys_lock:
            if len(_sodium_keys) >= 256:  # keys rotate: never grow without bound
                _sodium_keys.clear()
            _sodium_keys[raw] = key
    try:
        key.verify(message, signature)
    except (SodiumError, TypeError):
        return False
    return True


class IntegrityError(KizunaError):
    """A signed product was refused: unsigned, bad signature, unknown key, or label mismatch."""

    def __init__(self, reason: str, product_id: str | None = None, version: int | None = None):
        self.reason = reason
        self.product_id = product_id
        self.version = version
        super().__init__(f"{product_id or '?'} v{version or '?'}: {reason}")


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_keys(directory: Path, node_id: str, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``<node>.key.pem`` (PKCS#8, mode 0600) and ``<node>.pub.pem`` (SubjectPublicKeyInfo)."""
    directory.mkdir(parents=True, exist_ok=True)
    priv_path, pub_path = directory / f"{node_id}.key.pem", directory / f"{node_id}.pub.pem"
    if priv_path.exists() and not overwrite:
        raise KizunaError(f"{priv_path} exists; refusing to overwrite a node key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    pub_path.write_bytes(public_pem(key.public_key()))
    return priv_path, pub_path


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise KizunaError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    """The Ed25519 public key in `pem`; KizunaError for anything else, and for a key no honest signer
    has: a point of small order or a non-canonical encoding (under the identity point, OpenSSL accepts
    one fixed signature for every message; libsodium, which verifies here, refuses such keys)."""
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except (ValueError, TypeError):
        raise KizunaError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KizunaError("not an Ed25519 public key")
    if not crypto_core_ed25519_is_valid_point(key.public_bytes_raw()):
        raise KizunaError("not a usable Ed25519 public key (a point of small order or not canonical)")
    return key


@dataclass
class TrustStore:
    """Public keys this node trusts, by node id (its own included)."""

    keys: dict[str, Ed25519PublicKey]

    def __post_init__(self) -> None:
        self._by_kid = {key_id(k): (node, k) for node, k in self.keys.items()}

    def add(self, node_id: str, key: Ed25519PublicKey) -> None:
        self.keys[node_id] = key
        self._by_kid[key_id(key)] = (node_id, key)

    def lookup(self, kid: str) -> tuple[str, Ed25519PublicKey] | None:
        return self._by_kid.get(kid)


@dataclass(frozen=True)
class Signer:
    node_id: str
    key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.key.public_key())

    def sign_product(self, product: Product) -> dict[str, object]:
        if product.originator != self.node_id:
            raise KizunaError(f"{self.node_id} cannot sign a product originated by {product.originator}")
        sig = self.key.sign(product.canonical_bytes())
        return {
            "product": product.document(),
            "banner": product.marking.banner(),
            "signature": {"alg": ALG, "key_id": self.key_id, "value": b64u(sig)},
        }

    def sign_bytes(self, data: bytes) -> str:
        return b64u(self.key.sign(data))


@dataclass(frozen=True)
class CheckedDocument:
    """A signed product document that passed every check but the Ed25519 one: the product, the key of
    its originator, the signature and the exact bytes it must be a signature of."""

    product: Product
    public_key: Ed25519PublicKey
    signature: bytes
    message: bytes

    def signature_ok(self) -> bool:
        return ed25519_verify(self.public_key, self.signature, self.message)


def signed_bytes(product_document: Mapping[str, object]) -> bytes:
    """The bytes a product's signature covers: JCS of the received ``product`` member (as parsed, all
    its members) with the context member ``"kizuna_product": 1``."""
    label = product_document.get("marking")
    # The label's owner is the one null a product document is known to hold (see canonical_json_parsed).
    nulls = 1 if isinstance(label, Mapping) and "owner" in label and label["owner"] is None else 0
    return canonical_json_parsed({**product_document, "kizuna_product": 1}, nulls=nulls)


def check_signed(
    doc: Mapping[str, object],
    trust: TrustStore,
    config: MarkingConfig | None = None,
    *,
    with_message: bool = True,
) -> CheckedDocument:
    """Every check of a signed product document but the Ed25519 verification itself, which the caller
    makes (or hands to other processes) with the returned bytes; raises :class:`IntegrityError`.
    Without `with_message` (signatures not checked) the signed bytes are not computed (empty).

    Checks, in order: shape, signature present, key known, product well formed and within limits, key
    belongs to the originator, id not minted by another originator, document in its one canonical
    form, banner equal to the label.
    """
    raw = doc.get("product") if isinstance(doc, Mapping) else None
    pid = str(raw.get("id")) if isinstance(raw, Mapping) else None
    ver = raw.get("version") if isinstance(raw, Mapping) else None
    ver = ver if isinstance(ver, int) else None
    if not isinstance(raw, Mapping):
        raise IntegrityError("not a signed product document", pid, ver)
    sig = doc.get("signature")
    if not isinstance(sig, Mapping) or not sig.get("value"):
        raise IntegrityError("unsigned product", pid, ver)
    if sig.get("alg") != ALG:
        raise IntegrityError(f"unsupported signature algorithm {sig.get('alg')!r}", pid, ver)
    found = trust.lookup(str(sig.get("key_id")))
    if found is None:
        raise IntegrityError(f"unknown signing key {sig.get('key_id')!r}", pid, ver)
    signer_node, public = found
    try:
        product = Product.from_document(raw, config)
    except (ProductError, ValueError) as exc:
        raise IntegrityError(f"malformed product or marking: {exc}", pid, ver) from None
    if product.originator != signer_node:
        raise IntegrityError(
            f"signed by {signer_node}'s key but claims originator {product.originator}", pid, ver
        )
    identity = id_identity_problem(product.id, product.originator)
    if identity is not None:
        raise IntegrityError(identity, pid, ver)
    member = product.noncanonical_member(raw)
    if member is not None:
        raise IntegrityError(f"not in canonical form: {member}", pid, ver)
    banner = banner_of(product.marking)
    if doc.get("banner") != banner:
        raise IntegrityError(
            f"banner {doc.get('banner')!r} does not match the signed label {banner!r}", pid, ver
        )
    try:
        signature = unb64u(str(sig["value"]))
        message = signed_bytes(raw) if with_message else b""
    except (ValueError, ProductError):
        raise IntegrityError("bad signature", pid, ver) from None
    return CheckedDocument(product, public, signature, message)


def verify_signed(
    doc: Mapping[str, object],
    trust: TrustStore,
    config: MarkingConfig | None = None,
    *,
    check_signature: bool = True,
) -> Product:
    """Verify a signed product document and return the product, or raise :class:`IntegrityError`:
    :func:`check_signed`, then the Ed25519 signature over :func:`signed_bytes`."""
    checked = check_signed(doc, trust, config, with_message=check_signature)
    if check_signature and not checked.signature_ok():
        product = checked.product
        raise IntegrityError("bad signature", product.id, product.version)
    return checked.product


def wire_text(signed: Mapping[str, object]) -> str:
    """The text a node stores and serves for a signed document it accepted: the received document,
    compact (the signature covers the canonical bytes of its ``product``, not this text).

    Written by orjson (a tenth of the standard library's time: this runs once per stored product);
    what it will not write (an integer beyond 64 bits, a float subclass such as numpy's) goes to the
    standard library, so any value a product may hold is stored. Either text parses back to the same
    document."""
    try:
        return orjson.dumps(signed, option=limits.ORJSON_STRICT).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
