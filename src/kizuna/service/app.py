"""FastAPI application factory for a coalition node.

``create_app`` only assembles: it keeps the node and the per-app state on ``app.state`` and mounts one
router per domain (:mod:`kizuna.service.routes`). Who the caller is and what they may see is decided in
:mod:`kizuna.service.deps`. Requests for a single product answer 403 with the same body whether the
product does not exist or is not releasable to the caller, so the answer leaks neither ids nor counts;
list cursors are encrypted (:mod:`kizuna.service.cursors`).
"""

import threading

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kizuna.errors import KizunaError
from kizuna.service.cursors import CursorBox
from kizuna.service.routes import ROUTERS
from kizuna.share.node import Node


async def _kizuna_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


def create_app(node: Node, *, sse_poll_s: float = 0.25) -> FastAPI:
    app = FastAPI(
        title=f"Kizuna node {node.node_id}",
        version="1.0.0",
        description="Marked, signed and audited space-intelligence products shared between coalition nodes.",
    )
    app.state.node = node
    app.state.cursors = CursorBox(node)
    app.state.sse_poll_s = sse_poll_s
    # Set by the server on shutdown (share.loopback) so open SSE streams end.
    app.state.stopping = threading.Event()
    app.add_exception_handler(KizunaError, _kizuna_error)
    for router in ROUTERS:
        app.include_router(router)
    return app
