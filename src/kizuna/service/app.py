"""FastAPI application factory for a coalition node.

Policy is enforced in one place: :func:`caller` turns credentials into a policy :class:`Subject`, and
every query goes through ``node.visibility(subject)``, so a route never sees a row its caller may not.
Requests for a single product answer 403 with the same body whether the product does not exist or is
not releasable to the caller, so the answer leaks neither ids nor counts; list cursors are encrypted.
"""

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from kizuna.errors import KizunaError
from kizuna.service import models
from kizuna.share.audit import AuditEvent
from kizuna.share.federation import verify_node_request
from kizuna.share.markings import MarkingError, parse_banner
from kizuna.share.node import Node
from kizuna.share.policy import PolicyError, Subject
from kizuna.share.products import PRODUCT_TYPES, Product, ProductError
from kizuna.store.share_store import ProductRow

NOT_VISIBLE = "no such product is releasable to you"
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "missing or invalid credentials"},
    403: {"model": models.Error, "description": "not permitted (reveals nothing about products)"},
}
BAD_CURSOR = {400: {"model": models.Error, "description": "invalid cursor"}}
INVALID = {400: {"model": models.Error, "description": "invalid marking, product or policy violation"}}


@dataclass(frozen=True)
class Caller:
    subject: Subject
    kind: str  # "user" or "node"
    node_id: str | None = None


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
        from kizuna.share.signing import b64u

        nonce = os.urandom(12)
        return b64u(nonce + self._aead.encrypt(nonce, seq.to_bytes(8, "big"), b"cursor"))

    def open(self, token: str | None) -> int:
        from kizuna.share.signing import unb64u

        if not token:
            return 0
        try:
            raw = unb64u(token)
            return int.from_bytes(self._aead.decrypt(raw[:12], raw[12:], b"cursor"), "big")
        except (InvalidTag, ValueError):
            raise HTTPException(400, "invalid cursor") from None


def create_app(node: Node, *, sse_poll_s: float = 0.25) -> FastAPI:
    app = FastAPI(
        title=f"Kizuna node {node.node_id}",
        version="1.0.0",
        description="Marked, signed and audited space-intelligence products shared between coalition nodes.",
    )
    app.state.node = node
    app.state.stopping = threading.Event()
    box = CursorBox(node)

    @app.exception_handler(KizunaError)
    async def _kizuna_error(_request: Request, exc: KizunaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    def caller(request: Request) -> Caller:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            user = node.user_for_token(auth[7:].strip())
            if user is not None:
                return Caller(user.subject, "user")
        peer = (request.scope.get("state") or {}).get("peer_node")
        path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        signed = verify_node_request(request.headers, request.method, path_qs, node.trust)
        node_id = signed or None
        if node_id is not None and peer is not None and peer != node_id:
            node_id = None  # TLS identity and request signature must name the same node
        if node_id is not None and node_id in node.config.partners:
            return Caller(node.config.partners[node_id].subject, "node", node_id)
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})

    CallerDep = Annotated[Caller, Depends(caller)]

    def require_role(c: Caller, role: str) -> None:
        if c.kind != "user" or role not in c.subject.roles:
            raise HTTPException(403, f"the {role!r} role is required")

    def audit_access(c: Caller, rows: list[ProductRow], what: str) -> None:
        event = "release" if c.kind == "node" else "access"
        node.audit.record(
            AuditEvent(
                event,
                c.subject.name,
                None,
                None,
                {"what": what, "items": [f"{r.product_id}@{r.version}" for r in rows]},
            )
        )

    def envelope(rows: list[ProductRow], after: int, limit: int) -> dict[str, object]:
        last = rows[-1].seq if rows else after
        return {
            "more": len(rows) == limit,
            "next": box.seal(last),
            "objects": [json.loads(r.wire) for r in rows],
        }

    @app.get("/health", response_model=models.Health, tags=["node"])
    def health() -> dict[str, str]:
        return {"status": "ok", "node_id": node.node_id}

    # ------------------------------------------------------------ TAXII 2.1-style collection
    taxii = APIRouter(prefix="/taxii2", tags=["taxii"])

    @taxii.get("/", response_model=models.Discovery, responses=AUTH_RESPONSES)
    def discovery(c: CallerDep) -> dict[str, object]:
        return {"title": f"Kizuna node {node.node_id}", "api_roots": ["/taxii2/"]}

    @taxii.get("/collections/", response_model=models.Collections, responses=AUTH_RESPONSES)
    def collections(c: CallerDep) -> dict[str, object]:
        return {
            "collections": [
                {
                    "id": "products",
                    "title": "Products releasable to the caller",
                    "can_read": True,
                    "can_write": False,
                    "media_types": ["application/json"],
                }
            ]
        }

    @taxii.get(
        "/collections/products/objects/",
        response_model=models.Envelope,
        responses=AUTH_RESPONSES | BAD_CURSOR,
    )
    def feed(
        c: CallerDep,
        next: Annotated[str | None, Query(max_length=200, description="cursor from a previous page")] = None,
        added_after: Annotated[datetime | None, Query(description="only items added after")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        type: Annotated[models.ProductType | None, Query()] = None,
    ) -> dict[str, object]:
        """Every version of every product the caller may hold, in the order this node added them.

        Partners receive what this node's policy releases to them (their own products excluded)."""
        after = box.open(next)
        rows = node.share.page(
            node.visibility(c.subject),
            after=after,
            limit=limit,
            type=type,
            added_after=added_after,
            exclude_originator=c.node_id if c.kind == "node" else None,
        )
        audit_access(c, rows, "feed")
        return envelope(rows, after, limit)

    app.include_router(taxii)

    # ------------------------------------------------------------ products, one router per type
    for ptype in PRODUCT_TYPES:
        app.include_router(_type_router(ptype, node, box, caller, audit_access, envelope))

    @app.post(
        "/products",
        response_model=models.SignedProduct,
        status_code=201,
        tags=["products"],
        responses=AUTH_RESPONSES | INVALID,
    )
    def publish(c: CallerDep, body: models.PublishRequest) -> dict[str, object]:
        """Publish a product of this node (role `publisher`); the node signs it."""
        require_role(c, "publisher")
        try:
            marking = parse_banner(body.marking, node.config.markings)
            product = Product.new(
                body.type,
                body.payload,
                marking,
                node.node_id,
                objects=tuple(body.objects),
                id=body.id,
                version=body.version,
            )
            return node.publish(product, actor=c.subject.name)
        except (MarkingError, ProductError, PolicyError) as exc:
            raise HTTPException(400, str(exc)) from None

    @app.post(
        "/products/{product_id}/downgrade",
        response_model=models.SignedProduct,
        tags=["products"],
        responses=AUTH_RESPONSES | INVALID,
    )
    def downgrade(c: CallerDep, product_id: str, body: models.DowngradeRequest) -> dict[str, object]:
        """Lower a product's marking (role `downgrader`, originating nation only); audited."""
        require_role(c, "downgrader")
        if node.share.get(node.visibility(c.subject), product_id) is None:
            raise HTTPException(403, NOT_VISIBLE)
        try:
            marking = parse_banner(body.marking, node.config.markings)
            return node.downgrade(product_id, marking, actor=c.subject, justification=body.justification)
        except MarkingError as exc:
            raise HTTPException(400, str(exc)) from None
        except PolicyError as exc:
            raise HTTPException(403, str(exc)) from None

    @app.get(
        "/audit/verify", response_model=models.AuditReportModel, tags=["audit"], responses=AUTH_RESPONSES
    )
    def audit_verify(c: CallerDep) -> dict[str, object]:
        """Recompute the audit hash chain (role `auditor`)."""
        require_role(c, "auditor")
        return node.audit.verify().as_dict()

    @app.get(
        "/audit/checkpoint",
        response_model=models.AuditCheckpoint,
        tags=["audit"],
        responses=AUTH_RESPONSES | {404: {"description": "no audit entry with that number"}},
    )
    def audit_checkpoint(
        c: CallerDep,
        at: Annotated[
            int | None, Query(ge=0, le=2**53, description="an entry number (default: the head)")
        ] = None,
    ) -> dict[str, object]:
        """This node's signed audit checkpoint, for partners to witness (partner nodes, role `auditor`).
        It tells the caller how many audit entries this node holds: that is what witnessing costs."""
        if c.kind != "node":
            require_role(c, "auditor")
        doc = node.audit.checkpoint(node.signer, at)
        if doc is None:
            raise HTTPException(404, "no audit entry with that number")
        return doc

    @app.get(
        "/audit/witnessed",
        response_model=models.AuditCheckpoint,
        tags=["audit"],
        responses=AUTH_RESPONSES | {404: {"description": "nothing witnessed of the caller yet"}},
    )
    def audit_witnessed(c: CallerDep) -> dict[str, object]:
        """The latest checkpoint of the calling partner's own audit log that this node witnessed, as
        that partner signed it: the partner's auditor compares it with its chain (partner nodes only)."""
        if c.kind != "node" or c.node_id is None:
            raise HTTPException(403, "only a partner node can ask what was witnessed of it")
        doc = node.share.witness(c.node_id)
        if doc is None:
            raise HTTPException(404, "nothing witnessed of the caller yet")
        return json.loads(doc)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ live feed (SSE)
    @app.get(
        "/feed/stream",
        tags=["feed"],
        responses=AUTH_RESPONSES
        | BAD_CURSOR
        | {200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    )
    async def stream(
        request: Request,
        c: CallerDep,
        next: Annotated[str | None, Query(max_length=200)] = None,
        type: Annotated[models.ProductType | None, Query()] = None,
        max_s: Annotated[float, Query(ge=0, le=86400, description="close after")] = 3600,
    ) -> StreamingResponse:
        """Products as they arrive (SSE, W3C HTML Living Standard §9.2). Each event's id is a cursor;
        reconnecting with Last-Event-ID resumes without gaps."""
        after = box.open(request.headers.get("last-event-id") or next)
        vis = node.visibility(c.subject)

        async def events() -> AsyncIterator[bytes]:
            nonlocal after
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max_s
            yield b": kizuna live feed\n\n"
            while loop.time() < deadline and not app.state.stopping.is_set():
                rows = await asyncio.to_thread(node.share.page, vis, after=after, limit=200, type=type)
                if rows:
                    audit_access(c, rows, "stream")
                for r in rows:
                    after = r.seq
                    yield (f"event: product\nid: {box.seal(r.seq)}\ndata: {r.wire}\n\n").encode()
                if not rows:
                    if await request.is_disconnected():
                        return
                    await asyncio.sleep(sse_poll_s)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    return app


def _type_router(ptype: str, node: Node, box: CursorBox, caller, audit_access, envelope) -> APIRouter:  # type: ignore[no-untyped-def]
    slug = ptype.replace("_", "-") + "s"
    router = APIRouter(prefix=f"/products/{slug}", tags=[f"products: {ptype}"])
    CallerDep = Annotated[Caller, Depends(caller)]

    @router.get(
        "",
        response_model=models.Envelope,
        responses=AUTH_RESPONSES | BAD_CURSOR,
        name=f"list_{ptype}",
        operation_id=f"list_{ptype}",
    )
    def list_products(
        c: CallerDep,
        since: Annotated[datetime | None, Query(description="created at or after")] = None,
        until: Annotated[datetime | None, Query(description="created at or before")] = None,
        norad_id: Annotated[int | None, Query(ge=0, le=999_999_999, description="about this object")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, object]:
        after = box.open(next)
        rows = node.share.page(
            node.visibility(c.subject),
            after=after,
            limit=limit,
            type=ptype,
            since=since,
            until=until,
            norad_id=norad_id,
            current_only=True,
        )
        audit_access(c, rows, f"list {ptype}")
        return envelope(rows, after, limit)

    @router.get(
        "/{product_id}",
        response_model=models.SignedProduct,
        responses=AUTH_RESPONSES,
        name=f"get_{ptype}",
        operation_id=f"get_{ptype}",
    )
    def get_product(
        c: CallerDep, product_id: str, version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
    ) -> dict[str, object]:
        row = node.share.get(node.visibility(c.subject), product_id, version)
        if row is None or row.type != ptype:
            raise HTTPException(403, NOT_VISIBLE)
        audit_access(c, [row], f"get {ptype}")
        return json.loads(row.wire)

    return router
