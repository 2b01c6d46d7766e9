"""A partner node says it has new products: this node pulls it now rather than at the end of its sync
interval (the live pipeline's notification; pulling stays the only way products move)."""

from fastapi import APIRouter, Request

from kizuna.service.deps import CallerDep, Refused
from kizuna.service.responses import AUTH_RESPONSES

router = APIRouter(prefix="/sync", tags=["sync"])


@router.post("/notify", status_code=202, responses=AUTH_RESPONSES)
def notify(request: Request, c: CallerDep) -> dict[str, object]:
    """Partner nodes only. Shortens this node's wait before pulling the caller; never pulls more than
    one sync at a time per partner, so a flood of notifications costs nothing more."""
    if c.kind != "node" or c.node_id is None:
        raise Refused(403, "partner nodes only", c, "a user called /sync/notify")
    loop = getattr(request.app.state, "sync_loop", None)
    pulled = bool(loop is not None and loop.poke(c.node_id))
    return {"pulled": pulled}
