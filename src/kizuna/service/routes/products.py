"""Products: publish, downgrade, and per product type a list of current versions and a get by id."""

import hashlib
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from kizuna.service import models
from kizuna.service.cursors import envelope
from kizuna.service.deps import Caller, CallerDep, CursorsDep, NodeDep, audit_access, require_role
from kizuna.service.responses import AUTH_RESPONSES, BAD_CURSOR, INVALID, NOT_VISIBLE
from kizuna.share import limits
from kizuna.share.audit import AuditEvent
from kizuna.share.markings import MarkingError, parse_banner
from kizuna.share.node import Node, NotAvailableError
from kizuna.share.policy import PolicyError
from kizuna.share.products import PRODUCT_TYPES, Product, ProductError


def _refused(
    node: Node,
    c: Caller,
    status: int,
    detail: str,
    action: str,
    product_id: str | None = None,
    version: int | None = None,
) -> HTTPException:
    """A refusal answered here, with its audit entry (the caller gets `detail`, nothing more). The id
    and version come from the request path: an id no product can have (over 80 characters, a NUL) is
    kept in the detail, cut short and with its digest, so the audit row always fits its columns and the
    refusal is never lost to a store error."""
    named = limits.safe_id(product_id)
    extra = (
        {}
        if named == product_id
        else {
            "requested_id": str(product_id)[:200],
            "id_sha256": hashlib.sha256(str(product_id).encode()).hexdigest(),
        }
    )
    node.audit.record(
        AuditEvent(
            "refusal",
            c.subject.name,
            named,
            limits.safe_version(version),
            {"action": action, "status": status, "reason": detail, **extra},
        )
    )
    return HTTPException(status, detail)


def _role(node: Node, c: Caller, role: str, action: str) -> None:
    try:
        require_role(c, role)
    except HTTPException as exc:
        raise _refused(node, c, exc.status_code, str(exc.detail), action) from None


# The collection path of each product type, written out: adding an "s" to every type name gave
# `/products/dark-vesselss` and `/products/deriveds`.
COLLECTION_PATHS = {
    "element_set": "element-sets",
    "conjunction": "conjunctions",
    "revisit_report": "revisit-reports",
    "maneuver": "maneuvers",
    "proximity_alert": "proximity-alerts",
    "dark_vessels": "dark-vessels",
    "maritime_alert": "maritime-alerts",
    "maritime_event": "maritime-events",
    "launch_event": "launch-events",
    "track_update": "track-updates",
    "impact_prediction": "impact-predictions",
    "observations": "observations",
    "orbit_determination": "orbit-determinations",
    "derived": "derived",
}


def _type_router(ptype: str) -> APIRouter:
    """Routes for one product type. A router per type (rather than a `{type}` path parameter) gives
    each type its own OpenAPI tag and operation ids (`list_conjunction`, `get_conjunction`, ...)."""
    slug = COLLECTION_PATHS[ptype]
    typed = APIRouter(prefix=f"/products/{slug}", tags=[f"products: {ptype}"])

    @typed.get(
        "",
        response_model=models.Envelope,
        responses=AUTH_RESPONSES | BAD_CURSOR,
        name=f"list_{ptype}",
        operation_id=f"list_{ptype}",
    )
    def list_products(
        c: CallerDep,
        node: NodeDep,
        box: CursorsDep,
        since: Annotated[datetime | None, Query(description="created at or after")] = None,
        until: Annotated[datetime | None, Query(description="created at or before")] = None,
        norad_id: Annotated[int | None, Query(ge=0, le=999_999_999, description="about this object")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, object]:
        after = box.open(next)
        rows = node.share.page(
            node.visibility(c.subject),
            after=after,
            limit=limit,
            type=ptype,
            since=since,
            until=until,
            norad_id=norad_id,
            current_only=True,
        )
        audit_access(node, c, rows, f"list {ptype}")
        return envelope(box, rows, after, limit)

    @typed.get(
        "/{product_id}",
        response_model=models.SignedProduct,
        responses=AUTH_RESPONSES,
        name=f"get_{ptype}",
        operation_id=f"get_{ptype}",
    )
    def get_product(
        c: CallerDep,
        node: NodeDep,
        product_id: str,
        version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> dict[str, object]:
        # The store returns only rows that verify and that the signed label releases to the caller. An
        # id no product can have (a NUL, which PostgreSQL refuses in a query) is not looked up at all.
        row = (
            node.share.get(node.visibility(c.subject), product_id, version)
            if limits.safe_id(product_id)
            else None
        )
        if row is None or row.type != ptype:
            raise _refused(node, c, 403, NOT_VISIBLE, f"get {ptype}", product_id, version)
        audit_access(node, c, [row], f"get {ptype}")
        return json.loads(row.wire)

    return typed


router = APIRouter()
for _ptype in PRODUCT_TYPES:
    router.include_router(_type_router(_ptype))


@router.post(
    "/products",
    response_model=models.SignedProduct,
    status_code=201,
    tags=["products"],
    responses=AUTH_RESPONSES | INVALID,
)
def publish(c: CallerDep, node: NodeDep, body: models.PublishRequest) -> dict[str, object]:
    """Publish a product of this node (role `publisher`); the node signs it. A new product gets its id
    from the node (omit `id`); `id` with `version` >= 2 publishes a new version of a product this node
    originated and the caller can see. The publisher's clearance must cover the marking."""
    _role(node, c, "publisher", "publish")
    return publish_request(node, c, body)


def publish_request(node: Node, c: Caller, body: models.PublishRequest) -> dict[str, object]:
    """Publish one product for a caller already checked for the `publisher` role: the id rules, the
    marking, the limits and the node's policy (shared with the TAXII add-objects endpoint). Returns the
    signed document; a refusal is an HTTPException, audited."""
    if body.id is not None and body.version == 1:
        # Ids of new products are the node's to choose: accepting a chosen one would tell the caller
        # whether a product they may not see already holds it.
        raise _refused(node, c, 400, "a new product gets its id from the node: omit `id`", "publish", body.id)
    if body.id is None and body.version != 1:
        raise _refused(node, c, 400, "a new version names the product: give `id`", "publish")
    try:
        marking = parse_banner(body.marking, node.config.markings)
        product = Product.new(
            body.type,
            body.payload,
            marking,
            node.node_id,
            objects=tuple(body.objects),
            id=body.id,
            version=body.version,
        )
        return node.publish(product, actor=c.subject.name, publisher=c.subject)
    except NotAvailableError:
        raise HTTPException(403, NOT_VISIBLE) from None  # audited by the node with the real reason
    except PolicyError as exc:
        raise HTTPException(403, str(exc)) from None  # audited by the node
    except (MarkingError, ProductError) as exc:
        raise _refused(node, c, 400, str(exc), "publish", body.id, body.version) from None


@router.post(
    "/products/{product_id}/downgrade",
    response_model=models.SignedProduct,
    tags=["products"],
    responses=AUTH_RESPONSES | INVALID,
)
def downgrade(
    c: CallerDep, node: NodeDep, product_id: str, body: models.DowngradeRequest
) -> dict[str, object]:
    """Lower a product's marking (role `downgrader`, originating nation only); audited."""
    _role(node, c, "downgrader", "downgrade")
    if limits.safe_id(product_id) is None or node.share.get(node.visibility(c.subject), product_id) is None:
        raise _refused(node, c, 403, NOT_VISIBLE, "downgrade", product_id)
    try:
        marking = parse_banner(body.marking, node.config.markings)
        return node.downgrade(product_id, marking, actor=c.subject, justification=body.justification)
    except MarkingError as exc:
        raise _refused(node, c, 400, str(exc), "downgrade", product_id) from None
    except NotAvailableError:
        raise HTTPException(403, NOT_VISIBLE) from None
    except PolicyError as exc:
        raise HTTPException(403, str(exc)) from None  # audited by the node
