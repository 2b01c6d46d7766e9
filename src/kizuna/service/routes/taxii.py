"""TAXII 2.1 (OASIS Standard, 10 June 2021) over the node's products.

URL layout (``{collection}`` is the UUID of :func:`kizuna.share.taxii.collection_id`)::

    /taxii2/                                                     discovery
    /taxii2/kizuna/                                              the API root
    /taxii2/kizuna/status/{status_id}/                           status of an add-objects request
    /taxii2/kizuna/collections/                                  collections
    /taxii2/kizuna/collections/{collection}/                     one collection
    /taxii2/kizuna/collections/{collection}/objects/             get objects (GET), add objects (POST)
    /taxii2/kizuna/collections/{collection}/objects/{id}/        one object
    /taxii2/kizuna/collections/{collection}/objects/{id}/versions/
    /taxii2/kizuna/collections/{collection}/manifest/

The one collection, alias ``products``, holds every product version the caller may hold. Its objects are
the signed product documents, exactly as signed (media type ``application/vnd.kizuna.product+json``,
not STIX): an object's TAXII id is its product id, its TAXII version the ``created_utc`` the version
was signed with (each version is signed with its own), its ``date_added`` when this node stored it.

``match[version]`` takes ``first``, ``last`` (the default, as TAXII 2.1 requires), ``all``, timestamps
(matched against the signed ``created_utc``, to the microsecond) and, as a Kizuna extension, product
version numbers (digits only). First and last are decided among the versions the caller may see.
``match[id]`` and ``match[type]`` (product types) take comma-separated values; ``match[spec_version]``
is ignored (nothing here is STIX). Pages follow the order products were added; ``next`` is an opaque
cursor (:class:`kizuna.service.cursors.CursorBox`) and is exact, where paging by ``added_after`` and
``X-TAXII-Date-Added-Last`` is only as fine as the store's ``added_utc`` (one instant per transaction).

Every answer is limited to what ``node.visibility(caller)`` releases, and a partner node is not served
the products it originated: an object the caller may not see answers 404 exactly as one that does not
exist. Every TAXII answer, errors included, is ``application/taxii+json;version=2.1``; a request whose
Accept header excludes it is refused (406), an add-objects request in another Content-Type too (415).
"""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import ValidationError

import kizuna.share.taxii as addressing
from kizuna.model.time import parse_utc_datetime
from kizuna.service import models
from kizuna.service.cursors import CursorBox
from kizuna.service.deps import Caller, CallerDep, CursorsDep, NodeDep, audit_access, require_role
from kizuna.service.responses import (
    NOT_VISIBLE,
    PRODUCT_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    TAXII_READ,
    TAXII_WRITE,
    TaxiiJSONResponse,
    accepts_taxii,
    is_taxii_content_type,
)
from kizuna.service.routes.products import publish_request
from kizuna.share import limits
from kizuna.share.audit import AuditEvent
from kizuna.share.node import Node
from kizuna.share.products import iso_z
from kizuna.store.share_store import ProductRow, VersionMatch
from kizuna.store.taxii_status import TaxiiStatusStore

# Page sizes: as the product lists (a page of 1000 products of up to 1 MiB each is what a reader can
# be made to hold); a larger `limit` is served as this many, which TAXII 2.1 allows.
MAX_PAGE = 1000
DEFAULT_PAGE = 100
# Values of one match[...] filter: each becomes a bound SQL parameter.
MAX_MATCH_VALUES = 100
# Objects in one add-objects envelope: each is its own signed, audited transaction, so a request is
# bounded in work as well as in bytes (the body limit alone admits ~40 000 minimal products).
MAX_ADD_OBJECTS = 500
# A status message names the object by its place in the envelope and says why, briefly.
MAX_MESSAGE_CHARS = 500

API_ROOT = addressing.API_ROOT_PATH
COLLECTION = API_ROOT + "collections/{collection_id}/"


async def require_taxii_accept(request: Request) -> None:
    if not accepts_taxii(request.headers.get("accept")):
        raise HTTPException(406, f"this endpoint answers {TAXII_MEDIA_TYPE} only")


async def taxii_body(request: Request) -> bytes:
    """The body of a TAXII write, once its Content-Type is known to be TAXII 2.1 (else 415)."""
    if not is_taxii_content_type(request.headers.get("content-type")):
        raise HTTPException(415, f"send the envelope as {TAXII_MEDIA_TYPE}")
    return await request.body()


router = APIRouter(
    tags=["taxii"],
    default_response_class=TaxiiJSONResponse,
    dependencies=[Depends(require_taxii_accept)],
)

NextQ = Annotated[str | None, Query(max_length=200, description="`next` of the previous page")]
LimitQ = Annotated[
    int | None,
    Query(ge=1, description=f"at most this many ({DEFAULT_PAGE} if not given, {MAX_PAGE} at most)"),
]
AddedAfterQ = Annotated[
    str | None, Query(max_length=64, description="only what this node added after this time (RFC 3339)")
]
_LIST = MAX_MATCH_VALUES * (limits.MAX_ID_CHARS + 1)
MatchIdQ = Annotated[
    str | None, Query(alias="match[id]", max_length=_LIST, description="product ids, comma-separated")
]
MatchTypeQ = Annotated[
    str | None, Query(alias="match[type]", max_length=_LIST, description="product types, comma-separated")
]
MatchVersionQ = Annotated[
    str | None,
    Query(
        alias="match[version]",
        max_length=_LIST,
        description="`first`, `last` (default), `all`, signed creation times or version numbers, comma-separated",
    ),
]


# ---------------------------------------------------------------- filters
@dataclass(frozen=True)
class Filters:
    after: int
    limit: int
    added_after: datetime | None
    ids: tuple[str, ...]
    types: tuple[str, ...]
    versions: VersionMatch | None  # None: every version


def _values(name: str, text: str | None) -> tuple[str, ...]:
    values = tuple(v.strip() for v in (text or "").split(",") if v.strip())
    if len(values) > MAX_MATCH_VALUES:
        raise HTTPException(400, f"{name}: at most {MAX_MATCH_VALUES} values")
    return values


def version_match(text: str | None) -> VersionMatch | None:
    """`match[version]` as a store selector (None: every version); `last` when not given."""
    tokens = _values("match[version]", text) or ("last",)
    if "all" in tokens:
        return None
    numbers: set[int] = set()
    created: set[datetime] = set()
    for token in tokens:
        if token in ("first", "last"):
            continue
        if token.isascii() and token.isdigit():
            # Length first: int() refuses over 4300 digits (CPython's limit), with a ValueError.
            if len(token) > len(str(limits.MAX_VERSION)) or not 1 <= int(token) <= limits.MAX_VERSION:
                raise HTTPException(
                    400, f"match[version]: version {token[:20]} is not in 1..{limits.MAX_VERSION}"
                )
            numbers.add(int(token))
            continue
        try:
            created.add(parse_utc_datetime(token))
        except ValueError:
            raise HTTPException(
                400,
                f"match[version]: {token[:40]!r} is not first, last, all, a timestamp or a version number",
            ) from None
    return VersionMatch("first" in tokens, "last" in tokens, frozenset(numbers), frozenset(created))


def _filters(
    box: CursorBox,
    next: str | None,
    limit: int | None,
    added_after: str | None,
    match_id: str | None = None,
    match_type: str | None = None,
    match_version: str | None = None,
    *,
    all_versions: bool = False,
) -> Filters:
    since = None
    if added_after is not None:
        try:
            since = parse_utc_datetime(added_after)
        except ValueError as exc:
            raise HTTPException(400, f"added_after: {exc}") from None
    return Filters(
        after=box.open(next),
        limit=min(limit or DEFAULT_PAGE, MAX_PAGE),
        added_after=since,
        ids=_values("match[id]", match_id),
        types=_values("match[type]", match_type),
        versions=None if all_versions else version_match(match_version),
    )


def _page(
    node: Node, c: Caller, f: Filters, ids: tuple[str, ...] | None = None
) -> tuple[list[ProductRow], bool]:
    return node.share.select_page(
        node.visibility(c.subject),
        after=f.after,
        limit=f.limit,
        ids=f.ids if ids is None else ids,
        types=f.types,
        versions=f.versions,
        added_after=f.added_after,
        exclude_originator=c.node_id if c.kind == "node" else None,
    )


# ---------------------------------------------------------------- answers
def _date_added(row: ProductRow) -> str:
    return f"{row.added_utc:%Y-%m-%dT%H:%M:%S.%f}Z"


def _date_headers(response: Response, rows: list[ProductRow]) -> None:
    """TAXII 2.1: when the first and the last object of this page were added (absent on an empty one)."""
    if rows:
        response.headers["X-TAXII-Date-Added-First"] = _date_added(rows[0])
        response.headers["X-TAXII-Date-Added-Last"] = _date_added(rows[-1])


def _version(node: Node, row: ProductRow) -> str:
    """The TAXII version of a stored product version: the creation time it was signed with (the row has
    passed the store's row check, so its verified product is at hand)."""
    return iso_z(node.verified_row(row).created_utc)


def _next(box: CursorBox, rows: list[ProductRow], f: Filters) -> str:
    """Resumes after the last row, or where the caller started (an empty page can be polled again)."""
    return box.seal(rows[-1].seq if rows else f.after)


def _refused(
    node: Node, c: Caller, status: int, detail: str, action: str, product_id: str | None = None
) -> HTTPException:
    """A refusal answered here, with its audit entry (an over-long id is not written into the audit)."""
    node.audit.record(
        AuditEvent(
            "refusal",
            c.subject.name,
            limits.safe_id(product_id),
            None,
            {"action": action, "status": status, "reason": detail},
        )
    )
    return HTTPException(status, detail)


def _collection(node: Node, collection_id: str) -> str:
    """The alias of the collection `collection_id` of this node; 404 for any other id."""
    for alias in addressing.COLLECTIONS:
        if addressing.collection_id(node.node_id, alias) == collection_id:
            return alias
    raise HTTPException(404, "no such collection")


def _may_publish(c: Caller) -> bool:
    return c.kind == "user" and "publisher" in c.subject.roles


def _collection_resource(node: Node, c: Caller, alias: str) -> dict[str, object]:
    return {
        "id": addressing.collection_id(node.node_id, alias),
        "title": f"Products of node {node.node_id} releasable to the caller",
        "description": "Signed Kizuna product documents this node releases to the caller, in the order "
        "the node added them: each product an object, each of its versions an object version.",
        "alias": alias,
        "can_read": True,
        "can_write": _may_publish(c),
        "media_types": [PRODUCT_MEDIA_TYPE],
    }


def _visible(node: Node, c: Caller, object_id: str, action: str) -> None:
    """404, audited, unless the caller may see some version of `object_id`: the same answer whether it
    does not exist or is not releasable to the caller."""
    anything = Filters(after=0, limit=1, added_after=None, ids=(object_id,), types=(), versions=None)
    seen, _ = _page(node, c, anything)
    if not seen:
        raise _refused(node, c, 404, NOT_VISIBLE, action, object_id)


# ---------------------------------------------------------------- discovery and API root
@router.get(
    addressing.DISCOVERY_PATH,
    response_model=models.Discovery,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def discovery(request: Request, c: CallerDep, node: NodeDep) -> dict[str, object]:
    root = str(request.base_url).rstrip("/") + API_ROOT
    return {
        "title": f"Kizuna node {node.node_id}",
        "description": "Marked, signed and audited space-intelligence products of a coalition node.",
        "default": root,
        "api_roots": [root],
    }


@router.get(API_ROOT, response_model=models.ApiRoot, response_model_exclude_none=True, responses=TAXII_READ)
def api_root(request: Request, c: CallerDep, node: NodeDep) -> dict[str, object]:
    return {
        "title": f"Kizuna node {node.node_id}: products",
        "description": "Products of this node and of its partners, as releasable to the caller.",
        "versions": [TAXII_MEDIA_TYPE],
        # The body limit the node enforces on every request (kizuna.service.app.BodyLimit).
        "max_content_length": int(request.app.state.max_body_bytes),
    }


@router.get(
    API_ROOT + "status/{status_id}/",
    response_model=models.Status,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def get_status(c: CallerDep, node: NodeDep, status_id: str) -> dict[str, object]:
    """The status of an add-objects request, to the caller who made it (404 to anyone else)."""
    doc = TaxiiStatusStore(node.catalog).get(status_id, _owner(c))
    if doc is None:
        raise HTTPException(404, "no such status")
    return dict(json.loads(doc))


# ---------------------------------------------------------------- collections
@router.get(
    API_ROOT + "collections/",
    response_model=models.Collections,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def collections(c: CallerDep, node: NodeDep) -> dict[str, object]:
    return {"collections": [_collection_resource(node, c, alias) for alias in addressing.COLLECTIONS]}


@router.get(
    COLLECTION, response_model=models.Collection, response_model_exclude_none=True, responses=TAXII_READ
)
def collection(c: CallerDep, node: NodeDep, collection_id: str) -> dict[str, object]:
    return _collection_resource(node, c, _collection(node, collection_id))


def _objects_envelope(
    response: Response, more: bool, nxt: str | None, rows: Sequence[ProductRow]
) -> Response:
    """The envelope with each object as the exact bytes that were signed and stored: a product is
    never re-serialised on its way out (a serialiser that drops a null member, such as an absent
    owner, would hand partners a document that is no longer the signed one)."""
    head = {"more": more, **({"next": nxt} if nxt is not None else {})}
    body = json.dumps(head)[:-1] + ',"objects":[' + ",".join(r.wire for r in rows) + "]}"
    headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-taxii")}
    return Response(body.encode(), media_type=TAXII_MEDIA_TYPE, headers=headers)


@router.get(
    COLLECTION + "objects/",
    response_model=models.Envelope,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def get_objects(
    response: Response,
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
    collection_id: str,
    next: NextQ = None,
    limit: LimitQ = None,
    added_after: AddedAfterQ = None,
    match_id: MatchIdQ = None,
    match_type: MatchTypeQ = None,
    match_version: MatchVersionQ = None,
) -> Response:
    """Product versions the caller may hold, in the order this node added them (the latest version of
    each unless `match[version]` says otherwise). Partners are not served their own products."""
    _collection(node, collection_id)
    f = _filters(box, next, limit, added_after, match_id, match_type, match_version)
    rows, more = _page(node, c, f)
    audit_access(node, c, rows, "taxii objects")
    _date_headers(response, rows)
    return _objects_envelope(response, more, _next(box, rows, f), rows)


@router.get(
    COLLECTION + "objects/{object_id}/",
    response_model=models.Envelope,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def get_object(
    response: Response,
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
    collection_id: str,
    object_id: str,
    next: NextQ = None,
    limit: LimitQ = None,
    added_after: AddedAfterQ = None,
    match_version: MatchVersionQ = None,
) -> Response:
    """One product: its latest version the caller may see, or the versions `match[version]` names."""
    _collection(node, collection_id)
    f = _filters(box, next, limit, added_after, match_version=match_version)
    _visible(node, c, object_id, "taxii get object")
    rows, more = _page(node, c, f, ids=(object_id,))
    audit_access(node, c, rows, "taxii object")
    _date_headers(response, rows)
    return _objects_envelope(response, more, _next(box, rows, f), rows)


@router.get(
    COLLECTION + "objects/{object_id}/versions/",
    response_model=models.Versions,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def get_versions(
    response: Response,
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
    collection_id: str,
    object_id: str,
    next: NextQ = None,
    limit: LimitQ = None,
    added_after: AddedAfterQ = None,
) -> dict[str, object]:
    """The versions of one product the caller may see, as the creation times they were signed with."""
    _collection(node, collection_id)
    f = _filters(box, next, limit, added_after, all_versions=True)
    _visible(node, c, object_id, "taxii versions")
    rows, more = _page(node, c, f, ids=(object_id,))
    audit_access(node, c, rows, "taxii versions")
    _date_headers(response, rows)
    return {"more": more, "next": _next(box, rows, f), "versions": [_version(node, r) for r in rows]}


@router.get(
    COLLECTION + "manifest/",
    response_model=models.Manifest,
    response_model_exclude_none=True,
    responses=TAXII_READ,
)
def get_manifest(
    response: Response,
    c: CallerDep,
    node: NodeDep,
    box: CursorsDep,
    collection_id: str,
    next: NextQ = None,
    limit: LimitQ = None,
    added_after: AddedAfterQ = None,
    match_id: MatchIdQ = None,
    match_type: MatchTypeQ = None,
    match_version: MatchVersionQ = None,
) -> dict[str, object]:
    """What Get Objects would return, as manifest records (id, date added, version, media type)."""
    _collection(node, collection_id)
    f = _filters(box, next, limit, added_after, match_id, match_type, match_version)
    rows, more = _page(node, c, f)
    audit_access(node, c, rows, "taxii manifest")
    _date_headers(response, rows)
    records = [
        {
            "id": r.product_id,
            "date_added": _date_added(r),
            "version": _version(node, r),
            "media_type": PRODUCT_MEDIA_TYPE,
        }
        for r in rows
    ]
    return {"more": more, "next": _next(box, rows, f), "objects": records}


# ---------------------------------------------------------------- add objects
def _owner(c: Caller) -> str:
    """Whose status documents these are: users and partner nodes never share a name space."""
    return f"{c.kind}:{c.subject.name}"


def _problems(exc: ValidationError) -> str:
    """Pydantic's complaints without the input they are about (a refused payload is not echoed)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg']}" for e in exc.errors())


def _details(product_id: str, version: str, message: str) -> dict[str, str]:
    return {"id": product_id, "version": version, "message": message[:MAX_MESSAGE_CHARS]}


@router.post(
    COLLECTION + "objects/",
    status_code=202,
    response_model=models.Status,
    response_model_exclude_none=True,
    responses=TAXII_WRITE,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {TAXII_MEDIA_TYPE: {"schema": models.AddEnvelope.model_json_schema()}},
        }
    },
)
def add_objects(
    c: CallerDep,
    node: NodeDep,
    collection_id: str,
    raw: Annotated[bytes, Depends(taxii_body)],
) -> dict[str, object]:
    """Publish each object of the envelope as a product of this node (role `publisher`), exactly as
    POST /products does: the node chooses the ids of new products, the publisher's clearance must cover
    each marking, every limit applies. Each object succeeds or fails on its own; the status (202, then
    at `status/{id}/`) lists them, each message naming the object by its place in the envelope
    (`objects[3]: ...`). A failed object is identified by its own `id` when it gave a valid one, else by
    that place; `version` is the signed creation time of a published one, the request time otherwise.
    """
    requested = datetime.now(UTC)
    _collection(node, collection_id)
    try:
        require_role(c, "publisher")
    except HTTPException as exc:
        raise _refused(node, c, 403, str(exc.detail), "taxii add objects") from None
    try:
        envelope = models.AddEnvelope.model_validate(json.loads(raw))
    except (ValueError, RecursionError) as exc:
        reason = _problems(exc) if isinstance(exc, ValidationError) else "the body is not JSON"
        raise HTTPException(400, f"not a TAXII envelope: {reason}"[:MAX_MESSAGE_CHARS]) from None
    if len(envelope.objects) > MAX_ADD_OBJECTS:
        raise HTTPException(413, f"{len(envelope.objects)} objects; at most {MAX_ADD_OBJECTS} per request")
    stamp = iso_z(requested)
    successes, failures = [], []
    for i, obj in enumerate(envelope.objects):
        where = f"objects[{i}]"
        label = (limits.safe_id(obj.get("id")) if isinstance(obj, dict) else None) or where
        try:
            body = models.PublishRequest.model_validate(obj)
        except ValidationError as exc:
            failures.append(_details(label, stamp, f"{where}: {_problems(exc)}"))
            continue
        try:
            signed = publish_request(node, c, body)
        except HTTPException as exc:
            failures.append(_details(label, stamp, f"{where}: {exc.detail}"))
            continue
        product = signed["product"]
        assert isinstance(product, dict)
        successes.append(
            _details(
                str(product["id"]),
                str(product["created_utc"]),
                f"{where}: published, version {product['version']}",
            )
        )
    status: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "status": "complete",  # each object was published (or refused) before this answer
        "request_timestamp": stamp,
        "total_count": len(envelope.objects),
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    }
    TaxiiStatusStore(node.catalog).save(str(status["id"]), _owner(c), json.dumps(status), requested)
    return status
