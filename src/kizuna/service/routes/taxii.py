"""TAXII 2.1-style discovery and the one collection: every product version the caller may hold."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kizuna.service import models
from kizuna.service.cursors import envelope
from kizuna.service.deps import CallerDep, CursorsDep, NodeDep, audit_access
from kizuna.service.responses import AUTH_RESPONSES, BAD_CURSOR

router = APIRouter(prefix="/taxii2", tags=["taxii"])


@router.get("/", response_model=models.Discovery, responses=AUTH_RESPONSES)
def discovery(c: CallerDep, node: NodeDep) -> dict[str, object]:
    return {"title": f"Kizuna node {node.node_id}", "api_roots": ["/taxii2/"]}


@router.get("/collections/", response_model=models.Collections, responses=AUTH_RESPONSES)
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


@router.get(
    "/collections/products/objects/",
    response_model=models.Envelope,
    responses=AUTH_RESPONSES | BAD_CURSOR,
)
def feed(
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
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
    audit_access(node, c, rows, "feed")
    return envelope(box, rows, after, limit)
