"""The node's own health for its operators: partner sync state (role `auditor`)."""

from fastapi import APIRouter

from kizuna.service import models
from kizuna.service.deps import CallerDep, NodeDep, require_role
from kizuna.service.responses import AUTH_RESPONSES
from kizuna.share.federation import partner_status

router = APIRouter(prefix="/node", tags=["node"])


@router.get("/status", response_model=models.NodeStatus, responses=AUTH_RESPONSES)
def node_status(c: CallerDep, node: NodeDep) -> dict[str, object]:
    """Sync health per partner: last success, last error, failures since the last success, lag. For
    this node's auditors only: a partner learns nothing about the node's other partners."""
    require_role(c, "auditor")
    return {"node_id": node.node_id, "insecure": node.config.insecure, "partners": partner_status(node)}
