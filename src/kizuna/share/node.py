"""A coalition node: its identity, keys, partners and users, and the operations that change its store.

Every product that enters the store passes through :meth:`Node.publish` (own products, signed here) or
:meth:`Node.ingest` (partners' products: signature, marking and this node's own policy re-checked), and
every such step writes an audit entry in the same transaction.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from kizuna.errors import KizunaError
from kizuna.share import limits
from kizuna.share.audit import AuditEvent, AuditLog
from kizuna.share.markings import Classification, Marking, MarkingConfig, default_config
from kizuna.share.policy import (
    Decision,
    PolicyError,
    Subject,
    at_least_as_restrictive,
    check_downgrade,
    may_access,
    releasable_nations,
    with_originator,
)
from kizuna.share.products import Product, banner_of
from kizuna.share.signing import (
    IntegrityError,
    Signer,
    TrustStore,
    load_private_key,
    load_public_key,
    verify_signed,
    wire_text,
)
from kizuna.share.verifier import Verdicts, VerifierPool, default_verifier_pool, start_verification
from kizuna.store.catalog import CatalogStore
from kizuna.store.share_store import PageWrite, ProductRow, ShareStore, Visibility, delimited

# Publishing with an id the caller may not see answers exactly as for an id that does not exist, so the
# refusal reveals nothing (the same words the API uses for a product that is not releasable).
NOT_AVAILABLE = "no such product is releasable to you"
VERIFIED_CACHE_SIZE = 100_000  # verified wire documents kept by digest (~ a few hundred bytes each)
# Store failures that say nothing about the products (connection lost, database locked): a batch that
# meets one is retried later, never quarantined.
STORE_DOWN = (OperationalError, InterfaceError)


def settle_heap() -> None:
    """Collect once, then move every object made so far (modules, the node, its configuration) out of
    the garbage collector's reach (`gc.freeze`). A node process is long-lived and allocates heavily
    per product: without this, every full collection rescans the ~170,000 objects of its start-up,
    ~200 ms on the 2-core host, which fell in every other 3,000-product sync (benchmarks/README.md).
    Called by `kizuna serve` once set up (a long-lived process), never by the library on its own:
    objects frozen are never collected, so a process that opens and drops nodes (tests, a one-shot
    CLI command) should not."""
    gc.collect()
    gc.freeze()


class NotAvailableError(PolicyError):
    """The product id is unknown or not visible to the caller; the message is the same either way."""

    def __init__(self) -> None:
        super().__init__(NOT_AVAILABLE)


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


# The most SSE streams a config may allow: each holds a connection and polls the store.
MAX_FEED_STREAMS = 10_000


@dataclass(frozen=True)
class FeedLimits:
    """Concurrent live-feed (SSE) streams, config key `feed`: per caller (a user or a partner node), so
    one client cannot hold every connection, and in all, so the store's polling stays bounded."""

    max_streams_per_caller: int = 4
    max_streams: int = 64


# The longest a person's console session may be configured to last: a week.
MAX_SESSION_H = 7 * 24.0


@dataclass(frozen=True)
class SessionLifetimes:
    """People's console sessions, config key `sessions`: a session ends `idle_h` hours after its last
    request or `absolute_h` hours after login, whichever comes first."""

    idle_h: float = 8.0
    absolute_h: float = 12.0


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
    # Plain-HTTP partners and serving without TLS are refused unless this is set (config `insecure:
    # true` or `--insecure`); when set, every use is announced and audited.
    insecure: bool = False
    feed: FeedLimits = field(default_factory=FeedLimits)
    sessions: SessionLifetimes = field(default_factory=SessionLifetimes)

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], base: Path = Path("."), source: str = "node configuration"
    ) -> NodeConfig:
        """Build the configuration from its YAML form, failing closed: the node, every partner and every
        user must state `clearance` and `accesses` (an empty list grants no caveat); nothing defaults to
        more than was written. Errors are one line naming `source` and the key."""
        where = _Where(source)
        if not isinstance(data, Mapping):
            raise where.error("", "the configuration must be a mapping")
        try:
            markings = MarkingConfig.from_mapping(data.get("markings") or {})
        except (KizunaError, TypeError, ValueError) as exc:
            raise where.error("markings", str(exc)) from None
        me = where.mapping(data, "node", "node")
        node_id = where.text(me, "id", "node")
        partners: dict[str, Partner] = {}
        keys: dict[str, bytes] = {}
        for i, p in enumerate(where.sequence(data, "partners")):
            at = f"partners[{i}]"
            p = where.mapping({"p": p}, "p", at)
            pid = where.text(p, "id", at)
            at = f"partners[{i}] ({pid})"
            if pid in partners or pid == node_id:
                raise where.error(f"{at}.id", f"{pid!r} is configured twice")
            url = p.get("url")
            if url is not None:
                url = where.text(p, "url", at)
                if not url.startswith(("https://", "http://")):
                    raise where.error(f"{at}.url", f"{url!r} is not an https:// (or http://) URL")
            partners[pid] = Partner(
                pid,
                str(p.get("nation", pid)),
                url,
                where.clearance(p, at),
                where.accesses(p, at, markings),
            )
            keys[pid] = where.pem(p, at, base)
        for i, t in enumerate(where.sequence(data, "trusted_keys")):
            at = f"trusted_keys[{i}]"
            t = where.mapping({"t": t}, "t", at)
            keys[where.text(t, "id", at)] = where.pem(t, at, base)
        users = []
        for i, u in enumerate(where.sequence(data, "users")):
            at = f"users[{i}]"
            u = where.mapping({"u": u}, "u", at)
            name = where.text(u, "name", at)
            at = f"users[{i}] ({name})"
            if u.get("token_sha256"):
                digest = where.text(u, "token_sha256", at)
            else:
                digest = hashlib.sha256(where.text(u, "token", at).encode()).hexdigest()
            roles = u.get("roles") or []
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise where.error(f"{at}.roles", "must be a list of role names")
            users.append(
                User(
                    name,
                    digest,
                    Subject(
                        name,
                        where.text(u, "nationality", at),
                        where.clearance(u, at),
                        where.accesses(u, at, markings),
                        frozenset(roles),
                    ),
                )
            )
        tls = None
        if data.get("tls"):
            t = where.mapping(data, "tls", "tls")
            tls = TlsFiles(*(base / where.text(t, k, "tls") for k in ("ca", "cert", "key")))
        insecure = data.get("insecure", False)
        if not isinstance(insecure, bool):
            raise where.error("insecure", f"must be true or false, not {insecure!r}")
        feed = where.feed_limits(data)
        sessions = where.session_lifetimes(data)
        return cls(
            node_id=node_id,
            nation=str(me.get("nation", node_id)),
            clearance=where.clearance(me, "node"),
            accesses=where.accesses(me, "node", markings),
            partners=partners,
            users=users,
            public_keys=keys,
            markings=markings,
            tls=tls,
            insecure=insecure,
            feed=feed,
            sessions=sessions,
        )

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}:{line} not YAML: {getattr(exc, 'problem', exc)}") from None
        return cls.from_mapping(data or {}, path.parent, str(path))

    def plain_http_partners(self) -> list[Partner]:
        """Partners whose url is plain HTTP: refused unless `insecure` is set."""
        return [p for p in self.partners.values() if p.url and p.url.startswith("http://")]


@dataclass(frozen=True)
class _Where:
    """Typed reads of one configuration file: each failure is a :class:`ConfigError` naming the file and
    the key (``JPN.yaml: partners[1] (USA).accesses: missing ...``)."""

    source: str

    def error(self, key: str, problem: str) -> ConfigError:
        where = f"{key}: " if key else ""
        return ConfigError(f"{self.source}: invalid node configuration: {where}{problem}")

    def mapping(self, data: Mapping[str, Any], key: str, at: str) -> Mapping[str, Any]:
        value = data.get(key)
        if not isinstance(value, Mapping):
            raise self.error(at, "missing" if value is None else "must be a mapping")
        return value

    def sequence(self, data: Mapping[str, Any], key: str) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        return value

    def text(self, data: Mapping[str, Any], key: str, at: str) -> str:
        value = data.get(key)
        if value is None or isinstance(value, Mapping | list) or not str(value).strip():
            raise self.error(f"{at}.{key}", "missing" if value is None else "must be a non-empty string")
        return str(value)

    def clearance(self, data: Mapping[str, Any], at: str) -> Classification:
        if "clearance" not in data:
            raise self.error(f"{at}.clearance", "missing (state it: nothing defaults to a clearance)")
        try:
            return Classification.parse(str(data["clearance"]))
        except ValueError:
            raise self.error(f"{at}.clearance", f"unknown classification {data['clearance']!r}") from None

    def accesses(self, data: Mapping[str, Any], at: str, markings: MarkingConfig) -> frozenset[str]:
        if "accesses" not in data:
            raise self.error(
                f"{at}.accesses", "missing (list the caveats granted; an empty list grants none)"
            )
        value = data["accesses"]
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise self.error(f"{at}.accesses", "must be a list of caveat names (an empty list grants none)")
        granted = frozenset(c.strip().upper() for c in value)
        unknown = sorted(granted - markings.caveats)
        if unknown:
            raise self.error(
                f"{at}.accesses", f"unknown caveat(s) {unknown}; known: {sorted(markings.caveats)}"
            )
        return granted

    def section(self, data: Mapping[str, Any], key: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        """An optional top-level section of the config (empty when absent), holding only `known` keys."""
        if data.get(key) is None:
            return {}
        section = self.mapping(data, key, key)
        unknown = sorted(str(k) for k in section if k not in known)
        if unknown:
            raise self.error(key, f"unknown key(s) {unknown}; known: {list(known)}")
        return section

    def feed_limits(self, data: Mapping[str, Any]) -> FeedLimits:
        known = ("max_streams_per_caller", "max_streams")
        feed = self.section(data, "feed", known)
        for key in known:
            value = feed.get(key)
            if key in feed and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_FEED_STREAMS
            ):
                raise self.error(
                    f"feed.{key}", f"must be a whole number from 1 to {MAX_FEED_STREAMS}, not {value!r}"
                )
        return FeedLimits(**{k: feed[k] for k in known if k in feed})

    def session_lifetimes(self, data: Mapping[str, Any]) -> SessionLifetimes:
        known = ("idle_h", "absolute_h")
        sessions = self.section(data, "sessions", known)
        for key in known:
            value = sessions.get(key)
            if key in sessions and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 < value <= MAX_SESSION_H  # also refuses NaN
            ):
                raise self.error(
                    f"sessions.{key}", f"must be hours above 0 and at most {MAX_SESSION_H:g}, not {value!r}"
                )
        lifetimes = SessionLifetimes(**{k: float(sessions[k]) for k in known if k in sessions})
        if lifetimes.idle_h > lifetimes.absolute_h:
            raise self.error(
                "sessions.idle_h",
                f"{lifetimes.idle_h:g} h is longer than sessions.absolute_h ({lifetimes.absolute_h:g} h)",
            )
        return lifetimes

    def pem(self, data: Mapping[str, Any], at: str, base: Path) -> bytes:
        value = self.text(data, "public_key", at)
        try:
            pem = _pem(value, base)
        except OSError as exc:
            raise self.error(f"{at}.public_key", f"{exc.filename or value}: {exc.strerror or exc}") from None
        try:
            load_public_key(pem)  # refused here, naming the key, rather than when the node starts
        except KizunaError as exc:
            raise self.error(f"{at}.public_key", str(exc)) from None
        return pem


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
        keys = {n: load_public_key(pem) for n, pem in config.public_keys.items()}
        keys[config.node_id] = signer.key.public_key()
        self.trust = TrustStore(keys)
        self.nations = {p.id: p.nation for p in config.partners.values()} | {config.node_id: config.nation}
        self._tokens = {u.token_sha256: u for u in config.users}
        # The signed label is the source of truth: every row read for serving is verified against its
        # signature (cached by the digest of the stored bytes) and re-decided from the signed marking.
        self._verified: OrderedDict[bytes, Product | IntegrityError] = OrderedDict()
        self._verified_lock = threading.Lock()
        self._refusals_audited: set[tuple[int, str]] = set()
        # The stored policy columns of each (marking, owner nation): they depend on nothing else.
        self._policy_columns: dict[tuple[Marking, str], dict[str, object]] = {}
        # Ed25519 checks of large ingest batches shared with worker processes (None: all here).
        self.verifier_pool: VerifierPool | None = default_verifier_pool()
        self.share = ShareStore(store, row_check=self._check_row)
        self.audit = AuditLog(self.share, product_check=self.stored_product_problem)

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

    def user_named(self, name: str) -> User | None:
        """The configured user called `name` (a console session names its user)."""
        return next((u for u in self.config.users if u.name == name), None)

    def visibility(self, subject: Subject) -> Visibility:
        lacking = self.config.markings.caveats - subject.accesses - {"NOFORN"}
        return Visibility(subject.nationality, int(subject.clearance), frozenset(lacking))

    def owner_nation(self, product: Product) -> str:
        return product.marking.owner or self.nations.get(product.originator, product.originator)

    # ------------------------------------------------------------ stored products, verified
    def verify_wire(self, wire: str) -> Product:
        """The product a stored (or received) signed document carries, verified against the trust
        store; raises IntegrityError. Results are cached by the SHA-256 of the exact bytes, so an edit
        of the stored text is always verified afresh."""
        digest = hashlib.sha256(wire.encode()).digest()
        with self._verified_lock:
            hit = self._verified.get(digest)
            if hit is not None:
                self._verified.move_to_end(digest)
        if hit is None:
            try:
                doc = json.loads(wire)
                if not isinstance(doc, Mapping):
                    raise IntegrityError("stored document is not a JSON object")
                hit = verify_signed(
                    doc, self.trust, self.config.markings, check_signature=self.verify_signatures
                )
            except IntegrityError as exc:
                hit = exc
            except (ValueError, RecursionError) as exc:
                hit = IntegrityError(f"stored document is not readable JSON ({type(exc).__name__})")
            with self._verified_lock:
                self._verified[digest] = hit
                if len(self._verified) > VERIFIED_CACHE_SIZE:
                    self._verified.popitem(last=False)
        if isinstance(hit, IntegrityError):
            raise hit
        return hit

    def verified_row(self, row: ProductRow) -> Product:
        """The verified product of a stored row whose identity columns agree with what was signed."""
        p = self.verify_wire(row.wire)
        if (p.id, p.version, p.type, p.originator, banner_of(p.marking)) != (
            row.product_id,
            row.version,
            row.type,
            row.originator,
            row.banner,
        ):
            raise IntegrityError(
                "stored columns disagree with the signed product", row.product_id, row.version
            )
        return p

    def releasable_to(self, vis: Visibility, product: Product) -> bool:
        """The policy decision for a reader, from the verified signed marking (never stored columns)."""
        m = product.marking
        nations = releasable_nations(m, self.owner_nation(product), self.config.markings)
        return (
            (nations is None or vis.nationality in nations)
            and vis.clearance >= int(m.classification)
            and not (m.access_caveats & vis.lacking_caveats)
        )

    def _check_row(self, row: ProductRow, vis: Visibility | None) -> bool:
        """Installed as the store's row check: a row is returned only when it verifies and the signed
        label releases it to the reader. Each refused stored row is audited once per process."""
        try:
            product = self.verified_row(row)
        except IntegrityError as exc:
            self._refuse_stored(row, f"stored product fails verification: {exc.reason}")
            return False
        if vis is None or self.releasable_to(vis, product):
            return True
        # The SQL filter let it through but the signed label does not: the policy columns were edited.
        self._refuse_stored(row, "stored policy columns disagree with the signed label")
        return False

    def _refuse_stored(self, row: ProductRow, reason: str) -> None:
        key = (row.seq, reason)
        if key in self._refusals_audited:
            return
        self._refusals_audited.add(key)
        self.audit.record(
            AuditEvent(
                "refusal",
                f"node:{self.node_id}",
                row.product_id,
                row.version,
                {"reason": reason, "seq": row.seq},
            )
        )

    def stored_product_problem(self, stored: Mapping[str, object]) -> str | None:
        """What is wrong with one stored product row (all columns), or None: its signature, and every
        column that the policy filters or the API rely on, recomputed from the signed document."""
        wire = str(stored["wire"])
        try:
            product = self.verify_wire(wire)
        except IntegrityError as exc:
            return exc.reason
        expected = self._row(product, json.loads(wire), str(stored["source"]))
        for column in (
            "product_id",
            "version",
            "type",
            "originator",
            "classification",
            "banner",
            "nations",
            "caveats",
            "objects",
            "signature",
        ):
            if expected[column] != stored[column]:
                return f"stored {column} disagrees with the signed product"
        return None

    def _head(self, row: ProductRow | None) -> Product | None:
        """The verified latest stored version of a product (None when there is none)."""
        return None if row is None else self.verified_row(row)

    # ------------------------------------------------------------ writes
    def _row(
        self, product: Product, signed: Mapping[str, object], source: str, wire: str | None = None
    ) -> dict[str, object]:
        """The row storing `product`; `wire` is :func:`wire_text` of `signed` when already made."""
        key = (product.marking, self.owner_nation(product))
        policy = self._policy_columns.get(key)
        if policy is None:  # a page carries a handful of markings: their columns are made once each
            nations = releasable_nations(product.marking, key[1], self.config.markings)
            policy = {
                "classification": int(product.marking.classification),
                "banner": banner_of(product.marking),
                "nations": delimited(nations),
                "caveats": delimited(product.marking.caveats),
            }
            if len(self._policy_columns) >= 4096:
                self._policy_columns.clear()
            self._policy_columns[key] = policy
        return {
            "product_id": product.id,
            "version": product.version,
            "type": product.type,
            "created_utc": product.created_utc,
            "originator": product.originator,
            **policy,
            "objects": delimited(product.objects),
            "source": source,
            "signature": str(signed["signature"]["value"]),  # type: ignore[index]
            "wire": wire_text(signed) if wire is None else wire,
        }

    def publish(self, product: Product, *, actor: str, publisher: Subject | None = None) -> dict[str, object]:
        """Sign and store a product of this node; raises PolicyError, audited.

        A version of an existing id is accepted only when this node originated that id (identity is
        bound to the node that signed version 1: partners derive new products, they never version
        another node's), it is newer than the stored one and it does not lower the marking (that is an
        audited :meth:`downgrade`). When `publisher` is given (a user of the API) their clearance and
        caveat accesses must cover the marking applied, and an existing id they may not see is answered
        as :class:`NotAvailableError`, exactly as an id that does not exist. The marking signed is the
        one given with this node's nation implied (:func:`~kizuna.share.policy.with_originator`).
        """
        if product.originator != self.node_id:
            raise PolicyError(f"{self.node_id} can only publish its own products")
        product.marking.validate(self.config.markings)
        try:
            implied = with_originator(product.marking, self.config.nation, self.config.markings)
        except PolicyError as exc:
            self._refuse(actor, product, "publish", str(exc))
        product = replace(product, marking=implied)
        if product.downgrade_of is not None:
            raise PolicyError("a downgrade is made with the downgrade operation, not by publishing")
        if publisher is not None:
            m = product.marking
            if publisher.clearance < m.classification or not m.access_caveats <= publisher.accesses:
                self._refuse(
                    actor, product, "publish", "the publisher's clearance does not cover the marking"
                )
        refusal: PolicyError | None = None
        with self.share.write() as conn:
            # PostgreSQL: the locks and reads in one round trip and the small writes in one more
            # (PageWrite); the stored head is read only for an id that has one.
            page = self.share.begin_page(conn, [product.id])
            stored = page is None or product.id in page.stored_ids
            head_row = self.share.latest(conn, [product.id]).get(product.id) if stored else None
            try:
                head = self._head(head_row)
            except IntegrityError:
                head = None  # a stored history that does not verify can never be extended
                refusal = (
                    NotAvailableError()
                    if publisher is not None
                    else PolicyError(f"{product.id}: stored version does not verify; refusing to version it")
                )
            if refusal is None:
                refusal = self._publish_refusal(product, head, head_row is not None, publisher)
            if refusal is None:
                signed = self.signer.sign_product(product)
                self.share.insert(conn, [self._row(product, signed, "local")], page)
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
                    page,
                )
                if page is not None:
                    self.share.finish_page(conn, page)
                return signed
        self._refuse(actor, product, "publish", str(refusal), refusal)
        raise AssertionError("unreachable")

    def _publish_refusal(
        self, product: Product, head: Product | None, exists: bool, publisher: Subject | None
    ) -> PolicyError | None:
        if head is None:
            if product.version > 1:  # versions continue a product this node holds; nothing to continue
                return (
                    NotAvailableError()
                    if publisher is not None
                    else PolicyError(f"{product.id}: no stored version to continue")
                )
            return None
        if publisher is not None and not may_access(
            publisher, head.marking, owner_nation=self.owner_nation(head), config=self.config.markings
        ):
            return NotAvailableError()  # the caller may not see it: same answer as for no product at all
        if head.originator != self.node_id:
            return PolicyError(
                f"{product.id} was originated by {head.originator}: only the originating node may version "
                "it; publish a derived product with a new id instead"
            )
        if product.version <= head.version:
            return PolicyError(f"{product.id} already has version {head.version}")
        if not at_least_as_restrictive(
            product.marking, head.marking, owner_nation=self.config.nation, config=self.config.markings
        ):
            return PolicyError("a new version may not lower the marking; use an audited downgrade")
        return None

    def _refuse(
        self, actor: str, product: Product, action: str, reason: str, exc: PolicyError | None = None
    ) -> None:
        """Audit a refused write and raise (the audit entry names the real reason, the caller may get
        the neutral one)."""
        self.audit.record(
            AuditEvent("refusal", actor, product.id, product.version, {"action": action, "reason": reason})
        )
        raise exc or PolicyError(reason)

    def publish_many(self, products: Sequence[Product], *, actor: str) -> int:
        """Bulk publish of new products (first versions, fresh ids) in one transaction."""
        rows, events = [], []
        for p in products:
            if p.originator != self.node_id:
                raise PolicyError(f"{self.node_id} can only publish its own products")
            if p.version != 1 or p.downgrade_of is not None:
                raise PolicyError(f"{p.id}: bulk publish takes first versions only")
            p.marking.validate(self.config.markings)
            p = replace(p, marking=with_originator(p.marking, self.config.nation, self.config.markings))
            signed = self.signer.sign_product(p)
            rows.append(self._row(p, signed, "local"))
            events.append(AuditEvent("publish", actor, p.id, p.version, {"banner": p.marking.banner()}))
        with self.share.write() as conn:
            taken = self.share.versions(conn, [p.id for p in products])
            if taken or len({p.id for p in products}) != len(products):
                raise PolicyError(f"bulk publish of ids already stored: {sorted(taken)[:5]}")
            self.share.insert(conn, rows)
            self.audit.append(conn, events)
        return len(rows)

    def publish_idempotent(
        self,
        products: Sequence[Product],
        *,
        actor: str,
        within: Callable[[Connection], None] | None = None,
        grown: Callable[[Product, Product], bool] | None = None,
    ) -> list[Product]:
        """Publish first versions whose ids are derived from their content (a pipeline job's), in one
        transaction that also runs `within(conn)` (the job ledger marking the step done): the products
        and the mark commit together or not at all. Ids already stored are skipped, not refused, so a
        job resumed after a crash stores nothing twice. Returns the products stored now (markings as
        signed, the originator's nation implied).

        With `grown(head, product)`, a product whose id is stored becomes the next version of the
        verified stored head when `grown` says it carries more than the head (an event that went on
        after it was first published), under the lock, so two runners never write one version twice.
        Only this node's own heads are continued, and a new version never lowers the head's marking
        (the head's is kept when the new one would). A head that does not verify is left alone."""
        prepared: list[tuple[Product, dict[str, object]]] = []
        for p in products:
            if p.originator != self.node_id:
                raise PolicyError(f"{self.node_id} can only publish its own products")
            if p.version != 1 or p.downgrade_of is not None:
                raise PolicyError(f"{p.id}: idempotent publish takes first versions only")
            p.marking.validate(self.config.markings)
            p = replace(p, marking=with_originator(p.marking, self.config.nation, self.config.markings))
            prepared.append((p, self.signer.sign_product(p)))
        with self.share.write() as conn:
            taken = self.share.versions(conn, [p.id for p, _ in prepared])
            fresh = {p.id: (p, signed) for p, signed in prepared if p.id not in taken}
            if grown is not None:
                fresh |= self._grown_versions(conn, [p for p, _ in prepared if p.id in taken], grown)
            rows = [self._row(p, signed, "local") for p, signed in fresh.values()]
            events = [
                AuditEvent("publish", actor, p.id, p.version, {"banner": p.marking.banner(), "type": p.type})
                for p, _ in fresh.values()
            ]
            self.share.insert(conn, rows)
            if events:
                self.audit.append(conn, events)
            if within is not None:
                within(conn)
        return [p for p, _ in fresh.values()]

    def _grown_versions(
        self, conn: Connection, products: Sequence[Product], grown: Callable[[Product, Product], bool]
    ) -> dict[str, tuple[Product, dict[str, object]]]:
        """The next versions of the stored heads that `products` grow, signed (for publish_idempotent)."""
        heads = self.share.latest(conn, [p.id for p in products])
        out: dict[str, tuple[Product, dict[str, object]]] = {}
        for p in products:
            try:
                head = self._head(heads.get(p.id))
            except IntegrityError:
                continue  # a stored history that does not verify can never be extended
            if head is None or head.originator != self.node_id or not grown(head, p):
                continue
            keep = at_least_as_restrictive(
                p.marking, head.marking, owner_nation=self.config.nation, config=self.config.markings
            )
            nxt = head.next_version(payload=p.payload, marking=p.marking if keep else head.marking)
            out[p.id] = (nxt, self.signer.sign_product(nxt))
        return out

    def _stored_product(self, product_id: str, version: int | None = None) -> Product | None:
        row = self.share.get(None, product_id, version)  # verified by the store's row check
        return None if row is None else self.verify_wire(row.wire)

    def downgrade(
        self, product_id: str, new_marking: Marking, *, actor: Subject, justification: str
    ) -> dict[str, object]:
        """Lower a product's marking: a new version, signed, with an audit entry naming who and why."""
        old = self._stored_product(product_id)
        if old is None:
            raise NotAvailableError()
        if old.originator != self.node_id:
            self._refuse(actor.name, old, "downgrade", "only the originating node may downgrade a product")
        new_marking.validate(self.config.markings)
        try:
            # The marking as it will be signed (originator implied) is what the actor must be able to hold.
            new_marking = with_originator(new_marking, self.config.nation, self.config.markings)
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
        new = old.next_version(marking=new_marking, downgrade=True)
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
        self,
        docs: Sequence[Mapping[str, object]],
        *,
        source: str,
        cursor: str | None = None,
        quarantined: Sequence[tuple[object, str]] = (),
    ) -> IngestReport:
        """Verify and store partners' products idempotently: one transaction for the whole batch, with
        its audit entries (appended together) and the cursor.

        Same id+version again is a no-op; an older version than stored is refused as a replay; the
        same id+version with different content is refused as a conflict; a version of an id that
        another originator holds here is refused as an identity violation (ids minted with their
        originator's tag are checked before that, with the signature). `quarantined` are documents the
        caller refused before (with the reason): audited in the same transaction.
        """
        staged = self.stage_ingest(docs, quarantined=quarantined)
        return self.commit_ingest(staged, source=source, cursor=cursor)

    def stage_ingest(
        self,
        docs: Sequence[Mapping[str, object]],
        *,
        quarantined: Sequence[tuple[object, str]] = (),
        page: tuple[bytes, list[int]] | None = None,
    ) -> StagedIngest:
        """The first half of :meth:`ingest`: every check of each document now, outside any
        transaction; the Ed25519 checks in the verifier pool when the batch is large enough to pay,
        running while the caller goes on (a sync writes the previous page meanwhile)."""
        verdicts = start_verification(
            docs,
            self.trust,
            self.config.markings,
            check_signature=self.verify_signatures,
            pool=self.verifier_pool,
            page=page,
        )
        return StagedIngest(list(docs), verdicts, list(quarantined))

    def commit_ingest(self, staged: StagedIngest, *, source: str, cursor: str | None = None) -> IngestReport:
        """The second half of :meth:`ingest`: policy, then one write transaction (decisions against
        the store, products, audit entries, cursor). If the store refuses the batch, it is written again
        with each product in its own savepoint: the products it refuses are quarantined on their own
        and the rest commit with the cursor. Store failures that are not the products' (connection
        lost, database locked) propagate: nothing is written and the caller retries later."""
        docs, quarantined = staged.docs, staged.quarantined
        report = IngestReport()
        actor = f"node:{source}"
        refusals: list[AuditEvent] = []
        for doc, reason in quarantined:
            refusals.append(self._quarantine(source, doc, reason, report))
        verdicts = staged.verdicts.result()
        wires = staged.verdicts.wires
        accepted: list[tuple[Product, Mapping[str, object], str | None]] = []
        # A page carries a handful of markings: each is decided once (the decision depends only on
        # the marking, its owner nation and this node).
        decisions: dict[tuple[Marking, str], Decision] = {}
        for i, (doc, verdict) in enumerate(zip(docs, verdicts, strict=True)):
            if isinstance(verdict, IntegrityError):
                pid, ver = limits.safe_id(verdict.product_id), limits.safe_version(verdict.version)
                report.refused.append((pid, ver, verdict.reason))
                refusals.append(
                    AuditEvent("refusal", actor, pid, ver, {"reason": verdict.reason, "source": source})
                )
                continue
            p = verdict
            owner = self.owner_nation(p)
            decision = decisions.get((p.marking, owner))
            if decision is None:
                decision = decisions[(p.marking, owner)] = may_access(
                    self.self_subject, p.marking, owner_nation=owner, config=self.config.markings
                )
            if not decision and p.originator != self.node_id:
                reason = f"not releasable to this node: {decision.reason}"
                report.refused.append((p.id, p.version, reason))
                refusals.append(
                    AuditEvent("refusal", actor, p.id, p.version, {"reason": reason, "source": source})
                )
                continue
            accepted.append((p, doc, wires.get(i)))
        try:
            with self.share.write() as conn:
                # PostgreSQL: the locks and reads in one round trip, the small writes in one more
                # before the commit (see PageWrite); None on SQLite, where statements are local calls.
                page = self.share.begin_page(conn, [p.id for p, _, _ in accepted])
                outcome = self._store_batch(conn, accepted, source, isolate=False, page=page)
                self.audit.append(conn, [*refusals, *outcome.events], page)
                if cursor is not None:
                    self.share.set_cursor(conn, source, cursor, page)
                if page is not None:
                    self.share.finish_page(conn, page)
        except STORE_DOWN:
            raise  # not the products' fault: nothing is written, the caller retries later
        except Exception:  # noqa: BLE001 - the store refused the batch: find the products it refuses
            with self.share.write() as conn:
                self.share.lock_products(conn)  # the transaction's first write, before any savepoint
                outcome = self._store_batch(conn, accepted, source, isolate=True)
                self.audit.append(conn, [*refusals, *outcome.events])
                if cursor is not None:
                    self.share.set_cursor(conn, source, cursor)
        report.add(outcome.report)
        if self.verify_signatures:
            self._remember_verified(outcome.stored)
        return report

    def _remember_verified(self, stored: Sequence[tuple[str, Product]]) -> None:
        """Products just verified and stored, by the digest of their stored bytes: serving them later
        finds them verified (the cache answers for exactly these bytes)."""
        with self._verified_lock:
            for wire, product in stored:
                self._verified[hashlib.sha256(wire.encode()).digest()] = product
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)

    def _store_batch(
        self,
        conn: Connection,
        accepted: Sequence[tuple[Product, Mapping[str, object], str | None]],
        source: str,
        *,
        isolate: bool,
        page: PageWrite | None = None,
    ) -> _Batch:
        """Decide each verified product against what is stored (in `conn`, under the write lock) and
        insert the ones that pass: all in one statement batch, or with `isolate` each in its own
        savepoint, quarantining the ones the store refuses. `page`: the versions were read by
        :meth:`ShareStore.begin_page`, and the insert's small writes join its deferred ones."""
        out = _Batch()
        actor = f"node:{source}"
        ids = list({p.id for p, _, _ in accepted})
        have = page.versions if page is not None else self.share.versions(conn, ids)
        heads: dict[str, Product | IntegrityError] = {}
        # The head of each id that has a stored version (`have` holds only those): none for new ids.
        for pid, row in self.share.latest(conn, list(have)).items():
            try:
                heads[pid] = self.verified_row(row)
            except IntegrityError as exc:
                heads[pid] = exc
        rows: list[tuple[Product, Mapping[str, object], dict[str, object]]] = []
        for p, doc, wire in accepted:
            try:
                reason = self._decide(p, doc, source, have, heads, rows, wire)
            except Exception as exc:  # noqa: BLE001 - a product nothing here can decide on, on its own
                out.events.append(
                    self._quarantine(source, doc, f"undecidable: {type(exc).__name__}", out.report)
                )
                continue
            if reason is _DUPLICATE:
                out.report.duplicates += 1
            elif reason is not None:
                out.report.refused.append((p.id, p.version, reason))
                out.events.append(
                    AuditEvent("refusal", actor, p.id, p.version, {"reason": reason, "source": source})
                )
        stored: list[tuple[Product, AuditEvent | None]] = []
        if not isolate:
            self.share.insert(conn, [values for _, _, values in rows], page)
            stored = [(p, None) for p, _, _ in rows]
        for p, doc, values in rows if isolate else ():
            try:
                with conn.begin_nested():
                    self.share.insert(conn, [values])
                stored.append((p, None))
            except STORE_DOWN:
                raise
            except Exception as exc:  # noqa: BLE001 - one product the store cannot hold
                reason = f"the store refused it: {type(exc).__name__}"
                stored.append((p, self._quarantine(source, doc, reason, out.report)))
        wires = {(p.id, p.version): str(values["wire"]) for p, _, values in rows}
        # One detail object per banner: the audit log serialises each object once.
        details: dict[str, dict[str, object]] = {}
        for p, refusal in stored:
            if refusal is not None:
                out.events.append(refusal)
                continue
            out.stored.append((wires[(p.id, p.version)], p))
            banner = banner_of(p.marking)
            detail = details.get(banner)
            if detail is None:
                detail = details[banner] = {"banner": banner, "source": source}
            out.events.append(AuditEvent("ingest", actor, p.id, p.version, detail))
            out.report.ingested += 1
        return out

    def _decide(
        self,
        p: Product,
        doc: Mapping[str, object],
        source: str,
        have: dict[str, dict[int, str]],
        heads: dict[str, Product | IntegrityError],
        rows: list[tuple[Product, Mapping[str, object], dict[str, object]]],
        wire: str | None = None,
    ) -> str | None:
        """One verified product against what is stored and what this batch stored before it: None when
        it is to be stored (its row appended to `rows`), `_DUPLICATE`, or the reason it is refused."""
        versions = have.setdefault(p.id, {})
        head = heads.get(p.id)
        sig = str(doc["signature"]["value"])  # type: ignore[index]
        if isinstance(head, IntegrityError):
            return "the stored version of this product fails verification; not extended"
        if head is not None and head.originator != p.originator:
            # Identity is bound to the originator: an id without its originator's tag belongs to the
            # originator already stored for it (a partner derives a new product under a new id).
            return f"identity: {p.id} belongs to {head.originator}; {p.originator} may not version it"
        if p.version in versions:
            if versions[p.version] == sig:
                return _DUPLICATE
            return "conflict: same id and version with different content"
        if versions and p.version < max(versions):
            return f"replay: version {p.version} is older than stored {max(versions)}"
        if (
            head is not None
            and p.downgrade_of is None
            and not at_least_as_restrictive(
                p.marking, head.marking, owner_nation=self.owner_nation(head), config=self.config.markings
            )
        ):
            return (
                f"version {p.version} lowers the marking of version {head.version} "
                "without an explicit downgrade by the originator"
            )
        rows.append((p, doc, self._row(p, doc, source, wire)))
        versions[p.version] = sig
        heads[p.id] = p
        return None

    def _quarantine(self, source: str, doc: object, reason: str, report: IngestReport) -> AuditEvent:
        """The refusal of one received document on its own: audited with a digest of what was received
        (enough to match it with the partner's copy), never stored, never holding back the rest."""
        raw = doc.get("product") if isinstance(doc, Mapping) else None
        pid = limits.safe_id(raw.get("id")) if isinstance(raw, Mapping) else None
        ver = limits.safe_version(raw.get("version")) if isinstance(raw, Mapping) else None
        try:
            received = json.dumps(doc, sort_keys=True, default=str).encode()
        except (ValueError, TypeError, RecursionError):
            received = repr(doc)[:100_000].encode()
        report.refused.append((pid, ver, reason))
        detail = {"reason": f"quarantined: {reason[:500]}", "source": source}
        return AuditEvent(
            "refusal", f"node:{source}", pid, ver, {**detail, "sha256": hashlib.sha256(received).hexdigest()}
        )


_DUPLICATE = "duplicate"  # `Node._decide`: the same version is already stored (a no-op)


@dataclass
class _Batch:
    """What writing one batch of verified products did: the report and the audit entries to append."""

    report: IngestReport = field(default_factory=IngestReport)
    events: list[AuditEvent] = field(default_factory=list)
    stored: list[tuple[str, Product]] = field(default_factory=list)  # (stored wire, product)


@dataclass
class StagedIngest:
    """A batch of received documents whose checks have started (:meth:`Node.stage_ingest`), with the
    documents refused before them; :meth:`Node.commit_ingest` writes it."""

    docs: list[Mapping[str, object]]
    verdicts: Verdicts
    quarantined: list[tuple[object, str]]
