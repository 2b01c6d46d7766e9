"""FastAPI application factory for a coalition node.

``create_app`` only assembles: it keeps the node and the per-app state on ``app.state`` and mounts one
router per domain (:mod:`kizuna.service.routes`). Who the caller is and what they may see is decided in
:mod:`kizuna.service.deps`. Requests for a single product answer 403 with the same body whether the
product does not exist or is not releasable to the caller, so the answer leaks neither ids nor counts;
list cursors are encrypted (:mod:`kizuna.service.cursors`). Request bodies are bounded and writes
authenticated before a byte of the body is read (:class:`BodyLimit`). Every 401 and 403 is audited
(:class:`kizuna.service.deps.RefusalAudit`, anonymous ones counted per client address and minute). Under
``/taxii2/`` every answer, errors and unknown paths included, is a TAXII 2.1 resource or error message
in the TAXII media type (:mod:`kizuna.service.routes.taxii`).
"""

import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from kizuna.errors import KizunaError
from kizuna.service.cursors import CursorBox
from kizuna.service.deps import Caller, RefusalAudit, Refused, identify
from kizuna.service.responses import error_body, is_taxii_path, taxii_error
from kizuna.service.routes import ROUTERS
from kizuna.service.routes.console import mount_console
from kizuna.service.routes.feed import StreamSlots
from kizuna.share.node import Node

# The largest request body any route accepts. A product payload is at most 1 MiB as compact JSON
# (kizuna.share.limits.MAX_PAYLOAD_BYTES); twice that leaves room for the envelope, whitespace and
# escapes, and bounds what one request can make the server hold in memory.
MAX_BODY_BYTES = 2 << 20
# Methods that carry a body to a route; all of them need an authenticated caller.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _kizuna_error(request: Request, exc: Exception) -> JSONResponse:
    if is_taxii_path(request.url.path):
        return taxii_error(400, str(exc))
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 as FastAPI answers it, without echoing the offending input back: a refused 1 MiB payload
    (or one nested too deep to serialise) would otherwise come back in the error body. Under /taxii2/
    a TAXII error message, 400 (TAXII 2.1: the request or its filter parameters are not understood)."""
    errors = [{k: v for k, v in e.items() if k != "input"} for e in exc.errors()]  # type: ignore[attr-defined]
    if is_taxii_path(request.url.path):
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors)
        return taxii_error(400, where[:2000] or "invalid request")
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Refusals under /taxii2/ (including unknown paths and methods) as TAXII error messages in the
    TAXII media type; FastAPI's own answer elsewhere."""
    assert isinstance(exc, StarletteHTTPException)
    if is_taxii_path(request.url.path):
        return taxii_error(exc.status_code, str(exc.detail), exc.headers)
    return await http_exception_handler(request, exc)


async def _refused(request: Request, exc: Exception) -> Response:
    """A refusal a dependency decided: audited (off the event loop: a database write), then answered
    by the app's handler of every other HTTP error, so it looks like one."""
    assert isinstance(exc, Refused)
    refusals: RefusalAudit = request.app.state.refusals
    await run_in_threadpool(refusals.record, request, exc.caller, exc.status_code, exc.reason)
    answer = request.app.exception_handlers.get(StarletteHTTPException, http_exception_handler)
    return cast(Response, await answer(request, exc))


async def _answer(
    send: Send, path: str, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body, content_type = error_body(path, status, detail)
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    # The unread rest of the body makes the connection unusable for another request: close it.
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware run before routing: refuses a body over `max_body_bytes` by its Content-Length
    or, when streamed, as soon as the count passes the limit (413), and refuses a write whose caller
    does not authenticate (401, audited) before reading any of its body. A body within the limit is
    buffered here and replayed to the route, so no route ever receives more than the limit. Every
    request passing here also writes the anonymous-refusal count of a window that has ended."""

    def __init__(
        self, app: ASGIApp, node: Node, refusals: RefusalAudit, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self.app, self.node, self.refusals, self.max_body_bytes = app, node, refusals, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.refusals.due():
            await run_in_threadpool(self.refusals.flush)
        request = Request(scope)
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _answer(send, scope["path"], 400, "invalid Content-Length")
                return
            if int(length) > self.max_body_bytes:
                await _answer(send, scope["path"], 413, f"request body over {self.max_body_bytes} bytes")
                return
        has_body = length not in (None, "0") or "transfer-encoding" in request.headers
        if scope["method"] in WRITE_METHODS:
            found = identify(self.node, request)
            if not isinstance(found, Caller):
                await run_in_threadpool(self.refusals.record, request, None, 401, found)
                await _answer(
                    send, scope["path"], 401, "authentication required", {"WWW-Authenticate": "Bearer"}
                )
                return
        elif not has_body:
            await self.app(scope, receive, send)  # reads and SSE streams: receive stays live for disconnects
            return
        chunks, total, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body_bytes:
                await _answer(send, scope["path"], 413, f"request body over {self.max_body_bytes} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(node: Node, *, sse_poll_s: float = 0.25, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    refusals = RefusalAudit(node)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(refusals.flush, everything=True)  # the counts of the last window

    app = FastAPI(
        lifespan=lifespan,
        title=f"Kizuna node {node.node_id}",
        version="1.0.0",
        description="Marked, signed and audited space-intelligence products shared between coalition nodes.",
    )
    app.state.node = node
    app.state.cursors = CursorBox(node)
    app.state.refusals = refusals
    app.state.streams = StreamSlots(node.config.feed)  # open SSE streams, per caller and in all
    app.state.sse_poll_s = sse_poll_s
    # The TAXII API root announces it as its max_content_length.
    app.state.max_body_bytes = max_body_bytes
    # Set by the server on shutdown (share.loopback) so open SSE streams end.
    app.state.stopping = threading.Event()
    app.add_exception_handler(KizunaError, _kizuna_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Refused, _refused)
    app.add_middleware(BodyLimit, node=node, refusals=refusals, max_body_bytes=max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app)  # the web console at `/`, after every API route
    return app
