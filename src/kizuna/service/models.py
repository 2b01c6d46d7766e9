"""Pydantic models: the single source of the OpenAPI document and of response validation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kizuna.share.products import PRODUCT_TYPES

ProductType = Literal[PRODUCT_TYPES]  # type: ignore[valid-type]


class Label(BaseModel):
    policy_identifier: str
    classification: str
    owner: str | None = None
    releasable_to: list[str]
    caveats: list[str]


class ProductDocument(BaseModel):
    # Signed members this model does not name (e.g. `downgrade_of`) must reach the client unchanged,
    # or the signature no longer verifies there.
    model_config = ConfigDict(extra="allow")

    id: str
    version: int
    type: str
    created_utc: str
    originator: str
    objects: list[int]
    marking: Label
    payload: dict[str, Any]


class Signature(BaseModel):
    alg: str
    key_id: str
    value: str


class SignedProduct(BaseModel):
    product: ProductDocument
    banner: str = Field(description="banner line of the marking, e.g. SECRET//REL TO USA, JPN")
    signature: Signature


class Envelope(BaseModel):
    """TAXII 2.1 envelope: `next` is an opaque cursor; pass it back to continue after the last item."""

    more: bool
    next: str | None = None
    objects: list[SignedProduct]


class PublishRequest(BaseModel):
    type: ProductType
    payload: dict[str, Any]
    marking: str = Field(description="banner line, e.g. SECRET//REL TO USA, JPN", max_length=400)
    objects: list[int] = Field(default_factory=list, max_length=10000)
    id: str | None = Field(default=None, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$")
    version: int = Field(default=1, ge=1, le=2**31 - 1)


class DowngradeRequest(BaseModel):
    marking: str = Field(max_length=400)
    justification: str = Field(min_length=1, max_length=2000)


class AuditReportModel(BaseModel):
    ok: bool
    entries: int
    problems: list[str]


class AuditCheckpoint(BaseModel):
    """A node's signed statement that its audit entry `seq` has hash `hash` (Ed25519 over JCS)."""

    node: str
    seq: int
    hash: str
    ts_utc: str
    key_id: str
    signature: str


class Health(BaseModel):
    status: str
    node_id: str


class Discovery(BaseModel):
    title: str
    api_roots: list[str]


class Collection(BaseModel):
    id: str
    title: str
    can_read: bool
    can_write: bool
    media_types: list[str]


class Collections(BaseModel):
    collections: list[Collection]


class Error(BaseModel):
    detail: str
