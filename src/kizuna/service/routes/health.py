"""Liveness and the node's identity."""

from fastapi import APIRouter

from kizuna.service import models
from kizuna.service.deps import NodeDep

router = APIRouter(tags=["node"])


@router.get("/health", response_model=models.Health)
def health(node: NodeDep) -> dict[str, str]:
    return {"status": "ok", "node_id": node.node_id}
