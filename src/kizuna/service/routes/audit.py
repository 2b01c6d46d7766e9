"""The audit log: verification for auditors, signed checkpoints for partners to witness."""

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from kizuna.service import models
from kizuna.service.deps import CallerDep, NodeDep, require_role
from kizuna.service.responses import AUTH_RESPONSES

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/verify", response_model=models.AuditReportModel, responses=AUTH_RESPONSES)
def audit_verify(c: CallerDep, node: NodeDep) -> dict[str, object]:
    """Recompute the audit hash chain (role `auditor`)."""
    require_role(c, "auditor")
    return node.audit.verify().as_dict()


@router.get(
    "/checkpoint",
    response_model=models.AuditCheckpoint,
    responses=AUTH_RESPONSES | {404: {"description": "no audit entry with that number"}},
)
def audit_checkpoint(
    c: CallerDep,
    node: NodeDep,
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


@router.get(
    "/witnessed",
    response_model=models.AuditCheckpoint,
    responses=AUTH_RESPONSES | {404: {"description": "nothing witnessed of the caller yet"}},
)
def audit_witnessed(c: CallerDep, node: NodeDep) -> dict[str, object]:
    """The latest checkpoint of the calling partner's own audit log that this node witnessed, as
    that partner signed it: the partner's auditor compares it with its chain (partner nodes only)."""
    if c.kind != "node" or c.node_id is None:
        raise HTTPException(403, "only a partner node can ask what was witnessed of it")
    doc = node.share.witness(c.node_id)
    if doc is None:
        raise HTTPException(404, "nothing witnessed of the caller yet")
    return json.loads(doc)
