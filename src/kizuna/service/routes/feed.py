"""The live feed: products as they arrive, as Server-Sent Events.

A stream holds a connection and polls the store for as long as it is open, so streams are counted
(:class:`StreamSlots`): per caller (a user, or a partner node) and in all, with the limits of the node
config (`feed:`, :class:`kizuna.share.node.FeedLimits`). A stream past either limit is refused with 429
and ``Retry-After``, audited; a stream frees its slot when it ends, however it ends (its time is up,
the server stops, the client disconnects).
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from kizuna.service import models
from kizuna.service.deps import CallerDep, CursorsDep, NodeDep, Refused, audit_access
from kizuna.service.responses import AUTH_RESPONSES, BAD_CURSOR
from kizuna.share.node import FeedLimits

router = APIRouter(prefix="/feed", tags=["feed"])

# Seconds a refused client is asked to wait: a slot frees only when another stream of the caller
# ends, which a client cannot learn; half a minute keeps a retrying client from hammering the node.
STREAM_RETRY_AFTER_S = 30


class StreamSlots:
    """Open SSE streams, per caller and in all (thread-safe: taken on the event loop, given back when a
    response ends)."""

    def __init__(self, limits: FeedLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._by_caller: dict[tuple[str, str], int] = {}
        self._open = 0

    def take(self, caller: tuple[str, str]) -> str | None:
        """Take a slot for `caller` (kind, name); None when taken, else why not (for the audit log)."""
        with self._lock:
            held = self._by_caller.get(caller, 0)
            if held >= self.limits.max_streams_per_caller:
                return f"caller holds {held} open streams (at most {self.limits.max_streams_per_caller})"
            if self._open >= self.limits.max_streams:
                return f"{self._open} open streams on this node (at most {self.limits.max_streams})"
            self._by_caller[caller] = held + 1
            self._open += 1
            return None

    def give_back(self, caller: tuple[str, str]) -> None:
        with self._lock:
            held = self._by_caller.pop(caller, 0) - 1
            if held > 0:
                self._by_caller[caller] = held
            self._open -= 1

    def held(self, caller: tuple[str, str] | None = None) -> int:
        """Streams open for `caller`, or in all."""
        with self._lock:
            return self._open if caller is None else self._by_caller.get(caller, 0)


class _SlotStream(StreamingResponse):
    """A streaming response that gives its slot back when it ends: after the body is sent, when the
    client disconnects (the stream task is cancelled), or on any error, even before its first byte."""

    def __init__(self, content: AsyncIterator[bytes], slots: StreamSlots, caller: tuple[str, str]) -> None:
        super().__init__(content, media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        self._slots, self._caller = slots, caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back(self._caller)


@router.get(
    "/stream",
    responses=AUTH_RESPONSES
    | BAD_CURSOR
    | {
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        429: {
            "model": models.Error,
            "description": "too many open streams (per caller or on the node); see Retry-After",
        },
    },
)
async def stream(
    request: Request,
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
    next: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[models.ProductType | None, Query()] = None,
    max_s: Annotated[float, Query(ge=0, le=86400, description="close after")] = 3600,
) -> StreamingResponse:
    """Products as they arrive (SSE, W3C HTML Living Standard §9.2). Each event's id is a cursor;
    reconnecting with Last-Event-ID resumes without gaps. A caller holds a limited number of open
    streams (node config `feed`); one more is answered 429 with Retry-After."""
    after = box.open(request.headers.get("last-event-id") or next)
    vis = node.visibility(c.subject)
    # Set by create_app: how often to poll the store, and the event the server sets on shutdown so
    # open streams end instead of holding it up.
    poll_s: float = request.app.state.sse_poll_s
    stopping = request.app.state.stopping
    slots: StreamSlots = request.app.state.streams
    key = (c.kind, c.subject.name)
    refused = slots.take(key)
    if refused is not None:
        raise Refused(
            429,
            "too many open streams; close one or retry later",
            c,
            refused,
            headers={"Retry-After": str(STREAM_RETRY_AFTER_S)},
        )

    async def events() -> AsyncIterator[bytes]:
        nonlocal after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        yield b": kizuna live feed\n\n"
        while loop.time() < deadline and not stopping.is_set():
            rows = await asyncio.to_thread(node.share.page, vis, after=after, limit=200, type=type)
            if rows:
                # A database write: off the event loop, which serves every other stream meanwhile.
                await asyncio.to_thread(audit_access, node, c, rows, "stream")
            for r in rows:
                after = r.seq
                yield (f"event: product\nid: {box.seal(r.seq)}\ndata: {r.wire}\n\n").encode()
            if not rows:
                if await request.is_disconnected():
                    return
                await asyncio.sleep(poll_s)

    return _SlotStream(events(), slots, key)
