"""Dependencies every router takes: the node, the cursor box and the authenticated caller.

Policy is enforced here, in one place: :func:`current_caller` turns credentials into a policy
:class:`Subject`, :func:`require_role` gates the user-only operations, and routes query only through
``node.visibility(caller.subject)``, so a route never sees a row its caller may not.
"""

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from kizuna.service.cursors import CursorBox
from kizuna.share.audit import AuditEvent
from kizuna.share.federation import verify_node_request
from kizuna.share.node import Node
from kizuna.share.policy import Subject
from kizuna.store.share_store import ProductRow


@dataclass(frozen=True)
class Caller:
    subject: Subject
    kind: str  # "user" or "node"
    node_id: str | None = None


def get_node(request: Request) -> Node:
    """The node this app serves (set by ``create_app``)."""
    return cast(Node, request.app.state.node)


def get_cursors(request: Request) -> CursorBox:
    """The app's cursor box, keyed from the node key (set by ``create_app``)."""
    return cast(CursorBox, request.app.state.cursors)


NodeDep = Annotated[Node, Depends(get_node)]
CursorsDep = Annotated[CursorBox, Depends(get_cursors)]


def authenticate(node: Node, request: Request) -> Caller | None:
    """A user by bearer token, or a partner node by its request signature (which, over mutual TLS, must
    name the same node as the client certificate); None otherwise. Reads headers only, never the body,
    so the body-limit middleware can refuse an unauthenticated write before a byte of it is read."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = node.user_for_token(auth[7:].strip())
        if user is not None:
            return Caller(user.subject, "user")
    peer = (request.scope.get("state") or {}).get("peer_node")
    path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    signed = verify_node_request(request.headers, request.method, path_qs, node.trust)
    node_id = signed or None
    if node_id is not None and peer is not None and peer != node_id:
        node_id = None  # TLS identity and request signature must name the same node
    if node_id is not None and node_id in node.config.partners:
        return Caller(node.config.partners[node_id].subject, "node", node_id)
    return None


def current_caller(request: Request, node: NodeDep) -> Caller:
    """The authenticated caller (:func:`authenticate`); anything else is 401."""
    caller = authenticate(node, request)
    if caller is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_role(c: Caller, role: str) -> None:
    """Roles belong to users; a partner node never holds one."""
    if c.kind != "user" or role not in c.subject.roles:
        raise HTTPException(403, f"the {role!r} role is required")


def audit_access(node: Node, c: Caller, rows: list[ProductRow], what: str) -> None:
    """Record what a caller was shown: a release when the caller is a partner node, an access otherwise.
    Refusals are audited where they are decided, by the node (a downgrade the policy forbids, a synced
    product not releasable here); a 401 or 403 answered by the routers is not an audit event."""
    event = "release" if c.kind == "node" else "access"
    node.audit.record(
        AuditEvent(
            event,
            c.subject.name,
            None,
            None,
            {"what": what, "items": [f"{r.product_id}@{r.version}" for r in rows]},
        )
    )
