"""The live feed: products as they arrive, as Server-Sent Events."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from kizuna.service import models
from kizuna.service.deps import CallerDep, CursorsDep, NodeDep, audit_access
from kizuna.service.responses import AUTH_RESPONSES, BAD_CURSOR

router = APIRouter(prefix="/feed", tags=["feed"])


@router.get(
    "/stream",
    responses=AUTH_RESPONSES
    | BAD_CURSOR
    | {200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
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
    reconnecting with Last-Event-ID resumes without gaps."""
    after = box.open(request.headers.get("last-event-id") or next)
    vis = node.visibility(c.subject)
    # Set by create_app: how often to poll the store, and the event the server sets on shutdown so
    # open streams end instead of holding it up.
    poll_s: float = request.app.state.sse_poll_s
    stopping = request.app.state.stopping

    async def events() -> AsyncIterator[bytes]:
        nonlocal after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        yield b": kizuna live feed\n\n"
        while loop.time() < deadline and not stopping.is_set():
            rows = await asyncio.to_thread(node.share.page, vis, after=after, limit=200, type=type)
            if rows:
                audit_access(node, c, rows, "stream")
            for r in rows:
                after = r.seq
                yield (f"event: product\nid: {box.seal(r.seq)}\ndata: {r.wire}\n\n").encode()
            if not rows:
                if await request.is_disconnected():
                    return
                await asyncio.sleep(poll_s)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
