"""A coalition node: its identity, keys, partners and users, and the operations that change its store.

Every product that enters the store passes through :meth:`Node.publish` (own products, signed here) or
:meth:`Node.ingest` (partners' products: signature, marking and this node's own policy re-checked), and
every such step writes an audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kizuna.errors import KizunaError
from kizuna.share.audit import AuditEvent, AuditLog
from kizuna.share.markings import Classification, Marking, MarkingConfig, default_config
from kizuna.share.policy import (
    PolicyError,
    Subject,
    at_least_as_restrictive,
    check_downgrade,
    may_access,
    releasable_nations,
)
from kizuna.share.products import Product
from kizuna.share.signing import (
    IntegrityError,
    Signer,
    TrustStore,
    load_private_key,
    load_public_key,
    verify_signed,
)
from kizuna.store.catalog import CatalogStore
from kizuna.store.share_store import ShareStore, Visibility, delimited


class ConfigError(KizunaError):
    """The node or partners configuration is invalid."""


@dataclass(frozen=True)
class Partner:
    """A partner node as this node sees it: where to pull from, and what this node releases to it."""

    id: str
    nation: str
    url: str | None
    clearance: Classification
    accesses: frozenset[str]

    @property
    def subject(self) -> Subject:
        return Subject(f"node:{self.id}", self.nation, self.clearance, self.accesses)


@dataclass(frozen=True)
class User:
    name: str
    token_sha256: str
    subject: Subject


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


@dataclass
class NodeConfig:
    node_id: str
    nation: str
    clearance: Classification
    accesses: frozenset[str]
    partners: dict[str, Partner]
    users: list[User]
    public_keys: dict[str, bytes]
    markings: MarkingConfig = field(default_factory=default_config)
    tls: TlsFiles | None = None

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], base: Path = Path(".")
    ) -> NodeConfig:  # YAML, checked here
        try:
            markings = MarkingConfig.from_mapping(data.get("markings") or {})
            me = dict(data["node"])
            node_id = str(me["id"])
            partners, keys = {}, {}
            for p in data.get("partners") or []:
                pid = str(p["id"])
                partners[pid] = Partner(
                    pid,
                    str(p.get("nation", pid)),
                    p.get("url"),
                    Classification.parse(str(p.get("clearance", "UNCLASSIFIED"))),
                    frozenset(p.get("accesses") or []),
                )
                keys[pid] = _pem(p["public_key"], base)
            for t in data.get("trusted_keys") or []:
                keys[str(t["id"])] = _pem(t["public_key"], base)
            users = []
            for u in data.get("users") or []:
                digest = u.get("token_sha256") or hashlib.sha256(str(u["token"]).encode()).hexdigest()
                users.append(
                    User(
                        str(u["name"]),
                        str(digest),
                        Subject(
                            str(u["name"]),
                            str(u["nationality"]),
                            Classification.parse(str(u["clearance"])),
                            frozenset(u.get("accesses") or []),
                            frozenset(u.get("roles") or []),
                        ),
                    )
                )
            tls = None
            if data.get("tls"):
                t = dict(data["tls"])
                tls = TlsFiles(*(base / str(t[k]) for k in ("ca", "cert", "key")))
            return cls(
                node_id=node_id,
                nation=str(me.get("nation", node_id)),
                clearance=Classification.parse(str(me.get("clearance", "TOP SECRET"))),
                accesses=frozenset(me.get("accesses") or markings.caveats),
                partners=partners,
                users=users,
                public_keys=keys,
                markings=markings,
                tls=tls,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid node configuration: {exc.__class__.__name__}: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        return cls.from_mapping(yaml.safe_load(path.read_text()) or {}, path.parent)


def _pem(value: object, base: Path) -> bytes:
    s = str(value)
    if "BEGIN PUBLIC KEY" in s:
        return s.encode()
    return (base / s).read_bytes()


@dataclass
class IngestReport:
    ingested: int = 0
    duplicates: int = 0
    refused: list[tuple[str | None, int | None, str]] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        self.ingested += other.ingested
        self.duplicates += other.duplicates
        self.refused.extend(other.refused)


class Node:
    def __init__(
        self, store: CatalogStore, config: NodeConfig, signer: Signer, *, verify_signatures: bool = True
    ):
        if signer.node_id != config.node_id:
            raise ConfigError(f"key is for {signer.node_id}, node is {config.node_id}")
        self.catalog = store
        self.config = config
        self.signer = signer
        self.verify_signatures = verify_signatures
        self.share = ShareStore(store)
        self.audit = AuditLog(self.share)
        keys = {n: load_public_key(pem) for n, pem in config.public_keys.items()}
        keys[config.node_id] = signer.key.public_key()
        self.trust = TrustStore(keys)
        self.nations = {p.id: p.nation for p in config.partners.values()} | {config.node_id: config.nation}
        self._tokens = {u.token_sha256: u for u in config.users}

    @classmethod
    def open(cls, db: str, config_path: Path, keys_dir: Path) -> Node:
        config = NodeConfig.load(config_path)
        key = load_private_key(keys_dir / f"{config.node_id}.key.pem")
        return cls(CatalogStore(db), config, Signer(config.node_id, key))

    @property
    def node_id(self) -> str:
        return self.config.node_id

    @property
    def self_subject(self) -> Subject:
        c = self.config
        return Subject(f"node:{c.node_id}", c.nation, c.clearance, c.accesses)

    # ------------------------------------------------------------ identities
    def user_for_token(self, token: str) -> User | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        for known, user in self._tokens.items():
            if hmac.compare_digest(known, digest):
                return user
        return None

    def visibility(self, subject: Subject) -> Visibility:
        lacking = self.config.markings.caveats - subject.accesses - {"NOFORN"}
        return Visibility(subject.nationality, int(subject.clearance), frozenset(lacking))

    def owner_nation(self, product: Product) -> str:
        return product.marking.owner or self.nations.get(product.originator, product.originator)

    # ------------------------------------------------------------ writes
    def _row(self, product: Product, signed: Mapping[str, object], source: str) -> dict[str, object]:
        nations = releasable_nations(product.marking, self.owner_nation(product), self.config.markings)
        return {
            "product_id": product.id,
            "version": product.version,
            "type": product.type,
            "created_utc": product.created_utc,
            "originator": product.originator,
            "classification": int(product.marking.classification),
            "banner": product.marking.banner(),
            "nations": delimited(nations),
            "caveats": delimited(product.marking.caveats),
            "objects": delimited(product.objects),
            "source": source,
            "signature": str(signed["signature"]["value"]),  # type: ignore[index]
            "wire": json.dumps(signed, separators=(",", ":"), ensure_ascii=False),
        }

    def publish(self, product: Product, *, actor: str) -> dict[str, object]:
        """Sign and store a product of this node. A new version may not lower the marking."""
        if product.originator != self.node_id:
            raise PolicyError(f"{self.node_id} can only publish its own products")
        product.marking.validate(self.config.markings)
        with self.share.write() as conn:
            have = self.share.versions(conn, [product.id]).get(product.id, {})
            if have and product.version <= max(have):
                raise PolicyError(f"{product.id} already has version {max(have)}")
            if have:
                old = self._stored_product(product.id, max(have))
                if old is not None and not at_least_as_restrictive(
                    product.marking, old.marking, owner_nation=self.config.nation, config=self.config.markings
                ):
                    raise PolicyError("a new version may not lower the marking; use an audited downgrade")
            signed = self.signer.sign_product(product)
            self.share.insert(conn, [self._row(product, signed, "local")])
            self.audit.append(
                conn,
                [
                    AuditEvent(
                        "publish",
                        actor,
                        product.id,
                        product.version,
                        {"banner": product.marking.banner(), "type": product.type},
                    )
                ],
            )
        return signed

    def publish_many(self, products: Sequence[Product], *, actor: str) -> int:
        """Bulk publish of new products (first versions) in one transaction."""
        rows, events = [], []
        for p in products:
            if p.originator != self.node_id:
                raise PolicyError(f"{self.node_id} can only publish its own products")
            signed = self.signer.sign_product(p)
            rows.append(self._row(p, signed, "local"))
            events.append(AuditEvent("publish", actor, p.id, p.version, {"banner": p.marking.banner()}))
        with self.share.write() as conn:
            self.share.insert(conn, rows)
            self.audit.append(conn, events)
        return len(rows)

    def _stored_product(self, product_id: str, version: int | None = None) -> Product | None:
        row = self.share.get(None, product_id, version)
        if row is None:
            return None
        return Product.from_document(json.loads(row.wire)["product"], self.config.markings)

    def downgrade(
        self, product_id: str, new_marking: Marking, *, actor: Subject, justification: str
    ) -> dict[str, object]:
        """Lower a product's marking: a new version, signed, with an audit entry naming who and why."""
        old = self._stored_product(product_id)
        if old is None:
            raise PolicyError(f"no product {product_id}")
        if old.originator != self.node_id:
            raise PolicyError("only the originating node may downgrade a product")
        new_marking.validate(self.config.markings)
        try:
            check_downgrade(
                actor,
                old.marking,
                new_marking,
                owner_nation=self.config.nation,
                justification=justification,
                config=self.config.markings,
            )
        except PolicyError as exc:
            self.audit.record(
                AuditEvent(
                    "refusal",
                    actor.name,
                    product_id,
                    old.version,
                    {"action": "downgrade", "reason": str(exc)},
                )
            )
            raise
        new = old.next_version(marking=new_marking)
        signed = self.signer.sign_product(new)
        with self.share.write() as conn:
            self.share.insert(conn, [self._row(new, signed, "local")])
            self.audit.append(
                conn,
                [
                    AuditEvent(
                        "downgrade",
                        actor.name,
                        new.id,
                        new.version,
                        {
                            "from": old.marking.banner(),
                            "to": new_marking.banner(),
                            "justification": justification,
                        },
                    )
                ],
            )
        return signed

    def ingest(
        self, docs: Sequence[Mapping[str, object]], *, source: str, cursor: str | None = None
    ) -> IngestReport:
        """Verify and store partners' products idempotently, in one transaction with the cursor.

        Same id+version again is a no-op; an older version than stored is refused as a replay; the
        same id+version with different content is refused as a conflict.
        """
        report = IngestReport()
        accepted: list[tuple[Product, Mapping[str, object]]] = []
        events: list[AuditEvent] = []
        actor = f"node:{source}"
        for doc in docs:
            try:
                p = verify_signed(
                    doc, self.trust, self.config.markings, check_signature=self.verify_signatures
                )
            except IntegrityError as exc:
                report.refused.append((exc.product_id, exc.version, exc.reason))
                events.append(
                    AuditEvent(
                        "refusal",
                        actor,
                        exc.product_id,
                        exc.version,
                        {"reason": exc.reason, "source": source},
                    )
                )
                continue
            decision = may_access(
                self.self_subject, p.marking, owner_nation=self.owner_nation(p), config=self.config.markings
            )
            if not decision and p.originator != self.node_id:
                reason = f"not releasable to this node: {decision.reason}"
                report.refused.append((p.id, p.version, reason))
                events.append(
                    AuditEvent("refusal", actor, p.id, p.version, {"reason": reason, "source": source})
                )
                continue
            accepted.append((p, doc))
        with self.share.write() as conn:
            have = self.share.versions(conn, [p.id for p, _ in accepted])
            rows = []
            for p, doc in accepted:
                versions = have.setdefault(p.id, {})
                sig = str(doc["signature"]["value"])  # type: ignore[index]
                if p.version in versions:
                    if versions[p.version] == sig:
                        report.duplicates += 1
                        continue
                    reason = "conflict: same id and version with different content"
                elif versions and p.version < max(versions):
                    reason = f"replay: version {p.version} is older than stored {max(versions)}"
                else:
                    versions[p.version] = sig
                    rows.append(self._row(p, doc, source))
                    events.append(
                        AuditEvent(
                            "ingest", actor, p.id, p.version, {"banner": p.marking.banner(), "source": source}
                        )
                    )
                    report.ingested += 1
                    continue
                report.refused.append((p.id, p.version, reason))
                events.append(AuditEvent("refusal", actor, p.id, p.version, {"reason": reason}))
            self.share.insert(conn, rows)
            self.audit.append(conn, events)
            if cursor is not None:
                self.share.set_cursor(conn, source, cursor)
        return report
