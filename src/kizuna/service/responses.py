"""Error bodies shared by the routers, so every route documents its refusals the same way in OpenAPI, and
the TAXII 2.1 media types, content negotiation and error messages of everything under ``/taxii2/``."""

import json
from collections.abc import Mapping
from email.message import Message
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from kizuna.service import models

# One body whether a product does not exist or is not releasable to the caller: the answer leaks neither
# ids nor counts.
NOT_VISIBLE = "no such product is releasable to you"

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": models.Error, "description": "missing or invalid credentials"},
    403: {"model": models.Error, "description": "not permitted (reveals nothing about products)"},
}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {400: {"model": models.Error, "description": "invalid cursor"}}
INVALID: dict[int | str, dict[str, Any]] = {
    400: {"model": models.Error, "description": "invalid marking, product or policy violation"}
}

# ---------------------------------------------------------------- TAXII 2.1
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
TAXII_VERSION = "2.1"
_TAXII_TYPE = "application/taxii+json"
# What a TAXII collection of this node holds: signed Kizuna product documents, not STIX objects (their
# signature covers their exact members, so they travel as they were signed).
PRODUCT_MEDIA_TYPE = "application/vnd.kizuna.product+json;version=1"
TAXII_PREFIX = "/taxii2"


class TaxiiJSONResponse(JSONResponse):
    media_type = TAXII_MEDIA_TYPE


def is_taxii_path(path: str) -> bool:
    return path == TAXII_PREFIX or path.startswith(TAXII_PREFIX + "/")


def taxii_error_document(status: int, description: str) -> dict[str, str]:
    """A TAXII 2.1 error message: `title` is the HTTP reason phrase, `description` the reason."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {"title": title, "description": description, "http_status": str(status)}


def taxii_error(status: int, description: str, headers: Mapping[str, str] | None = None) -> TaxiiJSONResponse:
    return TaxiiJSONResponse(taxii_error_document(status, description), status_code=status, headers=headers)


def error_body(path: str, status: int, detail: str) -> tuple[bytes, str]:
    """(body, content type) of an error answered outside the routers (the body-limit middleware): a
    TAXII error message under /taxii2/, FastAPI's `{"detail": ...}` elsewhere."""
    if is_taxii_path(path):
        return json.dumps(taxii_error_document(status, detail)).encode(), TAXII_MEDIA_TYPE
    return json.dumps({"detail": detail}).encode(), "application/json"


def _media_range(item: str) -> tuple[str, dict[str, str]]:
    media, *raw = (p.strip() for p in item.split(";"))
    params = {}
    for p in raw:
        key, _, value = p.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    return media.lower(), params


def accepts_taxii(accept: str | None) -> bool:
    """Whether an Accept header (RFC 9110 §12.5.1) admits TAXII 2.1: absent, or its most specific range
    matching `application/taxii+json;version=2.1` has q > 0. A range naming another TAXII version
    does not match; `*/*` and `application/*` do."""
    if accept is None or not accept.strip():
        return True
    best: tuple[int, float] | None = None  # (specificity, q) of the most specific matching range
    for item in accept.split(","):
        if not item.strip():
            continue
        media, params = _media_range(item)
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue  # a malformed range matches nothing
        if media == "*/*":
            specificity = 0
        elif media == "application/*":
            specificity = 1
        elif media == _TAXII_TYPE and params.get("version") in (None, TAXII_VERSION):
            specificity = 2 if "version" not in params else 3
        else:
            continue
        if best is None or specificity > best[0] or (specificity == best[0] and q > best[1]):
            best = (specificity, q)
    return best is not None and best[1] > 0


def is_taxii_content_type(content_type: str | None) -> bool:
    """Whether a request's Content-Type is TAXII 2.1 (`application/taxii+json`, version 2.1 or unstated)."""
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    version = message.get_param("version")
    return message.get_content_type() == _TAXII_TYPE and version in (None, TAXII_VERSION)


def _taxii(description: str) -> dict[str, Any]:
    return {"model": models.TaxiiError, "description": description}


TAXII_READ: dict[int | str, dict[str, Any]] = {
    400: _taxii("the request, a filter or the cursor is not understood"),
    401: _taxii("missing or invalid credentials"),
    404: _taxii("no such collection, object or status, or none the caller may see"),
    406: _taxii("the Accept header excludes application/taxii+json;version=2.1"),
}
TAXII_WRITE: dict[int | str, dict[str, Any]] = TAXII_READ | {
    403: _taxii("the caller may not write to this collection (role `publisher`)"),
    413: _taxii("the request body or its number of objects is over the limit"),
    415: _taxii("the Content-Type is not application/taxii+json;version=2.1"),
}
