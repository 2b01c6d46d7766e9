"""Federation: pull each partner's feed with a persisted cursor, verify, re-check policy, ingest.

Node-to-node requests carry an Ed25519 request signature (node id, time, method, path and query) on top
of mutual TLS when it is configured, so the serving node knows which partner asks and releases to it
only what that partner may hold.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from kizuna.errors import KizunaError
from kizuna.share.audit import AuditEvent, CheckpointError, verify_checkpoint
from kizuna.share.node import IngestReport, Node, Partner
from kizuna.share.signing import Signer, TrustStore, unb64u

FEED_PATH = "/taxii2/collections/products/objects/"
CHECKPOINT_PATH = "/audit/checkpoint"
WITNESSED_PATH = "/audit/witnessed"
MAX_SKEW_S = 300.0


class SyncError(KizunaError):
    """A partner could not be reached or answered with an error after all retries."""


# ---------------------------------------------------------------- request signatures
def _request_text(node_id: str, date: str, method: str, path_qs: str) -> bytes:
    return f"kizuna-node-request\n{node_id}\n{date}\n{method.upper()}\n{path_qs}".encode()


def node_auth_headers(signer: Signer, method: str, path_qs: str) -> dict[str, str]:
    date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "X-Kizuna-Node": signer.node_id,
        "X-Kizuna-Date": date,
        "X-Kizuna-Signature": signer.sign_bytes(_request_text(signer.node_id, date, method, path_qs)),
    }


def verify_node_request(
    headers: Mapping[str, str], method: str, path_qs: str, trust: TrustStore, now: datetime | None = None
) -> str | None:
    """The node id when the request signature verifies with that node's trusted key, else None."""
    node_id, date, sig = (
        headers.get("x-kizuna-node"),
        headers.get("x-kizuna-date"),
        headers.get("x-kizuna-signature"),
    )
    if not (node_id and date and sig) or node_id not in trust.keys:
        return None
    try:
        t = datetime.fromisoformat(date.replace("Z", "+00:00"))
        if abs(((now or datetime.now(UTC)) - t).total_seconds()) > MAX_SKEW_S:
            return None
        trust.keys[node_id].verify(unb64u(sig), _request_text(node_id, date, method, path_qs))
    except Exception:  # noqa: BLE001 - any failure is "not authenticated"
        return None
    return node_id


# ---------------------------------------------------------------- pulling
@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter")."""

    attempts: int = 5
    base_s: float = 0.2
    cap_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


@dataclass
class SyncReport:
    partner: str
    pages: int = 0
    fetched: int = 0
    ingest: IngestReport = field(default_factory=IngestReport)
    witness: WitnessReport | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "partner": self.partner,
            "pages": self.pages,
            "fetched": self.fetched,
            "ingested": self.ingest.ingested,
            "duplicates": self.ingest.duplicates,
            "refused": len(self.ingest.refused),
            "witness": None if self.witness is None else self.witness.as_dict(),
        }


@dataclass(frozen=True)
class WitnessReport:
    """One check of a partner's audit chain against a checkpoint (ok None: could not be checked)."""

    partner: str
    ok: bool | None
    seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"partner": self.partner, "ok": self.ok, "seq": self.seq, "problem": self.problem}


def _get(client: httpx.Client, node: Node, url: str, path_qs: str, backoff: Backoff) -> httpx.Response:
    last: Exception | str = "no attempt"
    for attempt in range(backoff.attempts):
        try:
            r = client.get(url + path_qs, headers=node_auth_headers(node.signer, "GET", path_qs))
            if r.status_code < 500 and r.status_code != 429:
                return r
            last = f"HTTP {r.status_code}"
        except httpx.TransportError as exc:
            last = exc
        if attempt + 1 < backoff.attempts:
            time.sleep(backoff.delay(attempt))
    raise SyncError(f"{url}: giving up after {backoff.attempts} attempts: {last}")


def sync_partner(
    node: Node,
    partner: Partner,
    *,
    client: httpx.Client | None = None,
    limit: int = 500,
    backoff: Backoff = Backoff(),
    max_pages: int | None = None,
    on_page: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    """Pull `partner`'s feed from this node's persisted cursor until it reports no more items.

    Each page is ingested and its cursor stored in one transaction, so a crash at any point resumes at
    the first page not yet committed: nothing lost, nothing twice.
    """
    if not partner.url:
        raise SyncError(f"partner {partner.id} has no url")
    own = client is None
    client = client or make_client(node)
    report = SyncReport(partner.id)
    try:
        while max_pages is None or report.pages < max_pages:
            cursor = node.share.cursor(partner.id)
            qs = f"?limit={limit}" + (f"&next={cursor}" if cursor else "")
            r = _get(client, node, partner.url.rstrip("/"), FEED_PATH + qs, backoff)
            if r.status_code != 200:
                raise SyncError(f"{partner.id}: HTTP {r.status_code}: {r.text[:200]}")
            env = r.json()
            objects = env.get("objects") or []
            report.pages += 1
            report.fetched += len(objects)
            report.ingest.add(node.ingest(objects, source=partner.id, cursor=env.get("next") or cursor))
            if on_page is not None:
                on_page(report)
            if not env.get("more"):
                break
        report.witness = witness_partner(node, partner, client=client, backoff=backoff)
    finally:
        if own:
            client.close()
    node.audit.record(AuditEvent("sync", f"node:{node.node_id}", None, None, report.as_dict()))
    return report


def witness_partner(
    node: Node, partner: Partner, *, client: httpx.Client, backoff: Backoff = Backoff()
) -> WitnessReport:
    """Fetch `partner`'s signed audit checkpoint and check it extends the one witnessed before: the
    entry witnessed then must still have the same hash, and the log must not have shrunk. A good
    checkpoint replaces the stored one; a bad one is kept out and written to this node's audit log."""
    base = (partner.url or "").rstrip("/")

    def fetch(path_qs: str) -> tuple[int, str, str] | str:
        try:
            r = _get(client, node, base, path_qs, backoff)
        except SyncError as exc:
            return str(exc)
        if r.status_code != 200:
            return f"{path_qs}: HTTP {r.status_code}"
        try:
            seq, h = verify_checkpoint(r.json(), node.trust, partner.id)
        except (CheckpointError, ValueError) as exc:
            return str(exc)
        return seq, h, r.text

    now = fetch(CHECKPOINT_PATH)
    if isinstance(now, str):
        return WitnessReport(partner.id, None, problem=now)
    seq, h, text = now
    problem = None
    before = node.share.witness(partner.id)
    if before is not None:
        stored = json.loads(before)  # verified when it was stored; the partner's key may since have rotated
        old_seq, old_hash = int(stored["seq"]), str(stored["hash"])
        if seq < old_seq:
            problem = f"audit log shrank from entry {old_seq} (witnessed) to {seq}"
        else:
            then = (seq, h, text) if seq == old_seq else fetch(f"{CHECKPOINT_PATH}?at={old_seq}")
            if isinstance(then, str):
                problem = f"entry {old_seq} (witnessed) is gone: {then}"
            elif then[1] != old_hash:
                problem = f"entry {old_seq} changed since it was witnessed (history rewritten)"
    if problem is not None:
        node.audit.record(
            AuditEvent(
                "witness",
                f"node:{node.node_id}",
                None,
                None,
                {"partner": partner.id, "problem": problem, "checkpoint": json.loads(text)},
            )
        )
        return WitnessReport(partner.id, False, seq, problem)
    with node.share.write() as conn:
        node.share.set_witness(conn, partner.id, seq, h, text)
    return WitnessReport(partner.id, True, seq)


def check_witnesses(
    node: Node, *, client: httpx.Client | None = None, backoff: Backoff = Backoff()
) -> list[WitnessReport]:
    """Ask every partner which checkpoint of this node's audit log it witnessed, and compare each with
    the local chain: a history rewritten here (rows and head together, which `AuditLog.verify` cannot
    see) no longer has the hash the partner holds."""
    own = client is None
    client = client or make_client(node)
    out = []
    try:
        for p in node.config.partners.values():
            if not p.url:
                continue
            try:
                r = _get(client, node, p.url.rstrip("/"), WITNESSED_PATH, backoff)
            except SyncError as exc:
                out.append(WitnessReport(p.id, None, problem=str(exc)))
                continue
            if r.status_code == 404:
                out.append(WitnessReport(p.id, None, problem="nothing witnessed yet"))
                continue
            if r.status_code != 200:
                out.append(WitnessReport(p.id, None, problem=f"HTTP {r.status_code}"))
                continue
            try:
                seq, h = verify_checkpoint(r.json(), node.trust, node.node_id)
            except (CheckpointError, ValueError) as exc:
                out.append(
                    WitnessReport(p.id, None, problem=f"{p.id} returned a checkpoint that is not ours: {exc}")
                )
                continue
            local = node.share.audit_hash_at(seq)
            if local is None:
                out.append(
                    WitnessReport(
                        p.id,
                        False,
                        seq,
                        f"{p.id} witnessed entry {seq}; the local log no longer has it (truncated)",
                    )
                )
            elif local != h:
                out.append(
                    WitnessReport(
                        p.id,
                        False,
                        seq,
                        f"entry {seq} differs from what {p.id} witnessed (history rewritten here)",
                    )
                )
            else:
                out.append(WitnessReport(p.id, True, seq))
    finally:
        if own:
            client.close()
    return out


def make_client(node: Node, timeout_s: float = 30.0) -> httpx.Client:
    tls = node.config.tls
    if tls is None:
        return httpx.Client(timeout=timeout_s)
    import ssl

    ctx = ssl.create_default_context(cafile=str(tls.ca))
    ctx.load_cert_chain(str(tls.cert), str(tls.key))
    return httpx.Client(timeout=timeout_s, verify=ctx)


def sync_all(node: Node, **kwargs: object) -> list[SyncReport]:
    out = []
    for p in node.config.partners.values():
        if p.url:
            out.append(sync_partner(node, p, **kwargs))  # type: ignore[arg-type]
    return out


class SyncLoop:
    """Background thread that syncs every partner each `interval_s` (errors are logged, not fatal)."""

    def __init__(self, node: Node, interval_s: float = 5.0, log: Callable[[str], None] = print):
        self.node, self.interval_s, self.log = node, interval_s, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sync-{node.node_id}", daemon=True)

    def start(self) -> SyncLoop:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            for p in self.node.config.partners.values():
                if not p.url or self._stop.is_set():
                    continue
                try:
                    rep = sync_partner(self.node, p, backoff=Backoff(attempts=2))
                    if rep.fetched:
                        self.log(f"sync {p.id}: {rep.as_dict()}")
                except (SyncError, httpx.HTTPError) as exc:
                    self.log(f"sync {p.id} failed: {exc}")
