"""Ed25519 verification by libsodium (`ed25519_verify`): the same verdicts as OpenSSL on every honest
and tampered signature, never an exception, and stricter where OpenSSL accepts forgeries."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from tests.test_share_sync_batch import product, received

from kizuna.errors import KizunaError
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.node import ConfigError, NodeConfig
from kizuna.share.signing import (
    IntegrityError,
    Signer,
    TrustStore,
    b64u,
    ed25519_verify,
    load_public_key,
    verify_signed,
)

# The identity point: a public key of small order (order 1). RFC 8032's cofactorless check with
# S = 0 and R = the identity holds for every message, so this one signature "signs" anything.
IDENTITY_KEY = b"\x01" + b"\x00" * 31
IDENTITY_FORGERY = b"\x01" + b"\x00" * 63


def openssl_verifies(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except Exception:  # noqa: BLE001 - InvalidSignature, or a malformed signature
        return False
    return True


def test_same_verdicts_as_openssl_on_honest_and_tampered_signatures() -> None:
    rng = random.Random(20261201)
    for _ in range(200):
        key = Ed25519PrivateKey.generate()
        public = key.public_key()
        message = rng.randbytes(rng.randrange(0, 2000))
        signature = key.sign(message)
        assert ed25519_verify(public, signature, message) is True
        assert ed25519_verify(public.public_bytes_raw(), signature, message) is True
        flipped = bytearray(signature)
        flipped[rng.randrange(64)] ^= 1 << rng.randrange(8)
        other = message + b"x"
        for sig, msg in ((bytes(flipped), message), (signature, other)):
            assert ed25519_verify(public, sig, msg) is openssl_verifies(public, sig, msg) is False


@pytest.mark.parametrize("length", [0, 1, 63, 65, 128])
def test_a_signature_of_the_wrong_length_is_false_not_an_exception(length: int) -> None:
    public = Ed25519PrivateKey.generate().public_key()
    assert ed25519_verify(public, os.urandom(length), b"message") is False


def test_a_key_libsodium_cannot_load_is_false_not_an_exception() -> None:
    assert ed25519_verify(b"\x00" * 31, b"\x00" * 64, b"message") is False


def test_the_identity_key_forgery_openssl_accepts_is_refused() -> None:
    message = b"any product at all"
    openssl = Ed25519PublicKey.from_public_bytes(IDENTITY_KEY)
    assert openssl_verifies(openssl, IDENTITY_FORGERY, message)  # why OpenSSL is not used to verify
    assert ed25519_verify(openssl, IDENTITY_FORGERY, message) is False
    assert ed25519_verify(IDENTITY_KEY, IDENTITY_FORGERY, message) is False  # raw bytes, as workers get keys


def test_a_forged_product_under_a_small_order_key_is_refused() -> None:
    """A trust store that somehow holds the identity key (a tampered or careless configuration) still
    accepts no product: the forgery's verdict is "bad signature"."""
    honest = Signer("JPN", Ed25519PrivateKey.generate())
    doc = received(honest.sign_product(product("P-forged", {"miss_km": 0.4})))
    forged_key = Ed25519PublicKey.from_public_bytes(IDENTITY_KEY)
    trust = TrustStore({"JPN": forged_key})
    kid = next(iter(trust._by_kid))
    forged = {**doc, "signature": {"alg": "Ed25519", "key_id": kid, "value": b64u(IDENTITY_FORGERY)}}
    with pytest.raises(IntegrityError, match="bad signature"):
        verify_signed(forged, trust)


def test_small_order_keys_are_refused_when_loaded() -> None:
    pem = Ed25519PublicKey.from_public_bytes(IDENTITY_KEY).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KizunaError, match="small order"):
        load_public_key(pem)
    with pytest.raises(KizunaError, match="not a PEM public key"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    good = Ed25519PrivateKey.generate().public_key()
    assert (
        load_public_key(
            good.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).public_bytes_raw()
        == good.public_bytes_raw()
    )


def test_a_configuration_naming_a_small_order_partner_key_is_refused_naming_the_key(tmp_path: Path) -> None:
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    (tmp_path / "keys" / "JPN.pub.pem").write_bytes(
        Ed25519PublicKey.from_public_bytes(IDENTITY_KEY).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(ConfigError) as err:
        NodeConfig.load(cfgs["USA"])
    message = str(err.value)
    assert "USA.yaml" in message and "public_key" in message and "small order" in message
    assert "\n" not in message
    generated = yaml.safe_load(cfgs["USA"].read_text())
    assert generated["partners"][0]["public_key"] == "keys/JPN.pub.pem"  # the file replaced above
