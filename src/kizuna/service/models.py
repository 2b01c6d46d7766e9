"""Pydantic models: the single source of the OpenAPI document and of response validation."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kizuna.share import limits
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
    """Checked against :mod:`kizuna.share.limits` before anything is stored (422 otherwise)."""

    type: ProductType
    payload: dict[str, Any] = Field(
        description=f"at most {limits.MAX_PAYLOAD_DEPTH} levels deep and {limits.MAX_PAYLOAD_BYTES} bytes as JSON"
    )
    marking: str = Field(description="banner line, e.g. SECRET//REL TO USA, JPN", max_length=400)
    objects: list[Annotated[int, Field(ge=0, le=limits.MAX_OBJECT_ID)]] = Field(
        default_factory=list, max_length=limits.MAX_OBJECTS
    )
    id: str | None = Field(default=None, max_length=limits.MAX_ID_CHARS, pattern=limits.ID_PATTERN)
    version: int = Field(default=1, ge=1, le=limits.MAX_VERSION)

    @field_validator("payload")
    @classmethod
    def _payload_within_limits(cls, payload: dict[str, Any]) -> dict[str, Any]:
        limits.check_payload(payload)  # LimitError is a ValueError: pydantic answers 422 with its text
        return payload


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


# ---------------------------------------------------------------- TAXII 2.1 resources (OASIS TAXII 2.1)
class Discovery(BaseModel):
    """TAXII 2.1 discovery resource."""

    title: str
    description: str | None = None
    default: str | None = Field(default=None, description="URL of the default API root")
    api_roots: list[str] = Field(description="URLs of the API roots")


class ApiRoot(BaseModel):
    """TAXII 2.1 API root resource."""

    title: str
    description: str | None = None
    versions: list[str]
    max_content_length: int = Field(description="largest request body accepted, in bytes")


class Collection(BaseModel):
    """TAXII 2.1 collection resource; can_read/can_write are the caller's own."""

    id: str
    title: str
    description: str | None = None
    alias: str | None = None
    can_read: bool
    can_write: bool
    media_types: list[str]


class Collections(BaseModel):
    collections: list[Collection]


class ManifestRecord(BaseModel):
    """TAXII 2.1 manifest-record: `version` is the version's signed creation time."""

    id: str
    date_added: str
    version: str
    media_type: str


class Manifest(BaseModel):
    more: bool
    next: str | None = None
    objects: list[ManifestRecord]


class Versions(BaseModel):
    """TAXII 2.1 versions resource."""

    more: bool
    next: str | None = None
    versions: list[str]


class StatusDetails(BaseModel):
    """TAXII 2.1 status-details."""

    id: str
    version: str
    message: str | None = None


class Status(BaseModel):
    """TAXII 2.1 status resource."""

    id: str
    status: Literal["complete", "pending"]
    request_timestamp: str | None = None
    total_count: int
    success_count: int
    successes: list[StatusDetails] = Field(default_factory=list)
    failure_count: int
    failures: list[StatusDetails] = Field(default_factory=list)
    pending_count: int
    pendings: list[StatusDetails] = Field(default_factory=list)


class AddEnvelope(BaseModel):
    """TAXII 2.1 envelope sent to Add Objects: each object is a product to publish, in the form
    of `PublishRequest` (checked one by one: a bad object fails alone, listed in the status)."""

    more: bool | None = None
    next: str | None = None
    objects: list[Any]


class TaxiiError(BaseModel):
    """TAXII 2.1 error message."""

    title: str
    description: str | None = None
    http_status: str | None = None


class Error(BaseModel):
    detail: str


class PartnerSync(BaseModel):
    """Sync health of one partner, as this node's audit log records it."""

    partner: str
    url: str | None
    transport: str = Field(description="https, or `http (insecure)` when explicitly allowed")
    last_success_utc: str | None
    last_error_utc: str | None
    last_error: str | None
    failures_since_success: int
    lag_s: float | None = Field(description="seconds since the last successful sync")
    cursor_updated_utc: str | None


class NodeStatus(BaseModel):
    node_id: str
    insecure: bool
    partners: list[PartnerSync]
