"""The audit log: verification for auditors, signed checkpoints for partners to witness."""

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from kizuna.service import models
from kizuna.service.deps import CallerDep, NodeDep, require_role
from kizuna.service.responses import AUTH_RESPONSES
from kizuna.share.audit import AuditEvent

router = APIRouter(prefix="/audit", tags=["audit"])


def _refused(node: NodeDep, c: CallerDep, status: int, detail: str, action: str) -> HTTPException:
    """A refusal answered here, with its audit entry."""
    node.audit.record(
        AuditEvent(
            "refusal", c.subject.name, None, None, {"action": action, "status": status, "reason": detail}
        )
    )
    return HTTPException(status, detail)


def _require_role(node: NodeDep, c: CallerDep, role: str, action: str) -> None:
    try:
        require_role(c, role)
    except HTTPException as exc:
        raise _refused(node, c, exc.status_code, str(exc.detail), action) from None


@router.get("/verify", response_model=models.AuditReportModel, responses=AUTH_RESPONSES)
def audit_verify(c: CallerDep, node: NodeDep) -> dict[str, object]:
    """Recompute the audit hash chain and verify every stored product's signature and policy columns
    (role `auditor`)."""
    _require_role(node, c, "auditor", "audit verify")
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
        _require_role(node, c, "auditor", "audit checkpoint")
    doc = node.audit.checkpoint(node.signer, at)
    if doc is None:
        raise _refused(node, c, 404, "no audit entry with that number", "audit checkpoint")
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
        raise _refused(
            node, c, 403, "only a partner node can ask what was witnessed of it", "audit witnessed"
        )
    doc = node.share.witness(c.node_id)
    if doc is None:
        raise HTTPException(404, "nothing witnessed of the caller yet")
    return json.loads(doc)
