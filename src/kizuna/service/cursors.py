"""Opaque feed cursors and the TAXII-style page envelope that carries them."""

import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import HTTPException

from kizuna.share.node import Node
from kizuna.share.signing import b64u, unb64u
from kizuna.store.share_store import ProductRow


class CursorBox:
    """Opaque, authenticated feed cursors (AES-GCM, key derived from the node key by HKDF, RFC 5869):
    a caller cannot read the global sequence number from them, so they leak no counts."""

    def __init__(self, node: Node):
        raw = node.signer.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        key = HKDF(hashes.SHA256(), 32, salt=None, info=b"kizuna feed cursor v1").derive(raw)
        self._aead = AESGCM(key)

    def seal(self, seq: int) -> str:
        nonce = os.urandom(12)
        return b64u(nonce + self._aead.encrypt(nonce, seq.to_bytes(8, "big"), b"cursor"))

    def open(self, token: str | None) -> int:
        if not token:
            return 0
        try:
            raw = unb64u(token)
            return int.from_bytes(self._aead.decrypt(raw[:12], raw[12:], b"cursor"), "big")
        except (InvalidTag, ValueError):
            raise HTTPException(400, "invalid cursor") from None


def envelope(box: CursorBox, rows: list[ProductRow], after: int, limit: int) -> dict[str, object]:
    """One page: a full page says there may be more; `next` resumes after the last row (or where the
    caller started, so an empty page can be polled again with the cursor it returns)."""
    last = rows[-1].seq if rows else after
    return {
        "more": len(rows) == limit,
        "next": box.seal(last),
        "objects": [json.loads(r.wire) for r in rows],
    }
