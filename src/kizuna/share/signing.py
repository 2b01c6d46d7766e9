"""Ed25519 signatures over canonical product bytes (RFC 8032 via `cryptography`) and the trust store.

A signed product on the wire is ``{"product": <document>, "banner": ..., "signature": {"alg": "Ed25519",
"key_id": ..., "value": <base64url>}}``. The key id is the first 16 bytes (hex) of SHA-256 over the raw
public key, so a partner cannot claim another node's key.

The exact signed bytes
----------------------
``value`` is the unpadded base64url (RFC 4648 §5) of the 64-byte Ed25519 signature (RFC 8032, pure
Ed25519, no prehash) over::

    JCS({"kizuna_product": 1, "id", "version", "type", "created_utc", "originator", "objects",
         "marking", "payload"[, "downgrade_of"]})

where JCS is the RFC 8785 JSON Canonicalization Scheme (members sorted by UTF-16 code units, no
whitespace, ECMAScript number form, UTF-8), the members are those of ``product`` as a Kizuna signer
writes them on the wire (the verifier rebuilds them from the parsed product, so a member not listed
here is not covered by the signature and is ignored), and ``"kizuna_product": 1`` is the context member: it makes the signature mean "version 1 of
a Kizuna product" and nothing else (audit checkpoints carry their own context,
``"kizuna audit checkpoint v1"``). ``marking`` is the STANAG 4774-style label object
(``policy_identifier``, ``classification``, ``owner``, ``releasable_to``, ``caveats``); the ``banner``
beside the document is not signed but must equal the banner of the signed label. ``downgrade_of`` is
present only on a version made by an explicit downgrade. The signing key must be the originator's: a
version of product *P* is accepted only when signed by the node that signed the versions already held.

To check a product independently: decode ``value``, canonicalise ``{"kizuna_product": 1, **product}``
with any RFC 8785 implementation, and verify with the originator's public key (the node's partners
config names it); ``kizuna product verify FILE_OR_ID`` does exactly this against the node's trust store.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kizuna.errors import KizunaError
from kizuna.share.markings import MarkingConfig
from kizuna.share.products import Product, ProductError

ALG = "Ed25519"


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
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise KizunaError("not an Ed25519 public key")
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


def verify_signed(
    doc: Mapping[str, object],
    trust: TrustStore,
    config: MarkingConfig | None = None,
    *,
    check_signature: bool = True,
) -> Product:
    """Verify a signed product document and return the product, or raise :class:`IntegrityError`.

    Checks, in order: shape, signature present, key known, key belongs to the originator, marking valid
    and banner equal to the label, Ed25519 signature over the canonical bytes.
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
    if doc.get("banner") != product.marking.banner():
        raise IntegrityError(
            f"banner {doc.get('banner')!r} does not match the signed label {product.marking.banner()!r}",
            pid,
            ver,
        )
    if check_signature:
        try:
            public.verify(unb64u(str(sig["value"])), product.canonical_bytes())
        except (InvalidSignature, ValueError):
            raise IntegrityError("bad signature", pid, ver) from None
    return product
