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
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from kizuna.errors import KizunaError
from kizuna.share import limits
from kizuna.share.audit import AuditEvent, CheckpointError, verify_checkpoint
from kizuna.share.node import IngestReport, Node, Partner, StagedIngest
from kizuna.share.signing import Signer, TrustStore, ed25519_verify, unb64u
from kizuna.share.taxii import objects_path
from kizuna.share.verifier import parse_page
from kizuna.store.share_store import audit as audit_table
from kizuna.store.share_store import cursors as cursor_table

CHECKPOINT_PATH = "/audit/checkpoint"
WITNESSED_PATH = "/audit/witnessed"
MAX_SKEW_S = 300.0
# A partner's answer is read up to this many bytes: a page of 500 products is ~a few MiB in practice,
# and a partner that streams without end must not exhaust this node's memory.
MAX_RESPONSE_BYTES = 256 << 20
# Wall-clock bound on one answer, on top of httpx's per-read timeout: a partner trickling one byte
# every few seconds would otherwise hold a sync for ever.
MAX_RESPONSE_S = 120.0
# The stored cursor column is VARCHAR(200); a longer `next` could never be stored.
MAX_CURSOR_CHARS = 200


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
        if not ed25519_verify(
            trust.keys[node_id], unb64u(sig), _request_text(node_id, date, method, path_qs)
        ):
            return None
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


def _bounded_get(client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
    """GET, reading at most MAX_RESPONSE_BYTES within MAX_RESPONSE_S."""
    started = time.monotonic()
    request = client.build_request("GET", url, headers=headers)
    response = client.send(request, stream=True)
    try:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise SyncError(f"{url}: answer over {MAX_RESPONSE_BYTES} bytes")
            if time.monotonic() - started > MAX_RESPONSE_S:
                raise SyncError(f"{url}: answer took over {MAX_RESPONSE_S:g} s")
    finally:
        response.close()
    # The body is already decoded: drop the headers that describe its encoding on the wire.
    wire_only = ("content-encoding", "content-length", "transfer-encoding")
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in wire_only]
    return httpx.Response(response.status_code, headers=kept, content=bytes(body), request=request)


def _get(client: httpx.Client, node: Node, url: str, path_qs: str, backoff: Backoff) -> httpx.Response:
    last: Exception | str = "no attempt"
    for attempt in range(backoff.attempts):
        try:
            r = _bounded_get(client, url + path_qs, node_auth_headers(node.signer, "GET", path_qs))
            if r.status_code < 500 and r.status_code != 429:
                return r
            last = f"HTTP {r.status_code}"
        except (httpx.TransportError, httpx.DecodingError) as exc:
            last = exc
        if attempt + 1 < backoff.attempts:
            time.sleep(backoff.delay(attempt))
    raise SyncError(f"{url}: giving up after {backoff.attempts} attempts: {last}")


def check_transport(node: Node, partner: Partner) -> bool:
    """Refuse a plain-HTTP partner unless the node is explicitly `insecure`; True when the transport is
    insecure (and allowed), so the caller announces it."""
    url = partner.url or ""
    if url.startswith("https://"):
        return False
    if url.startswith("http://"):
        if not node.config.insecure:
            raise SyncError(
                f"partner {partner.id}: {url} is plain HTTP; TLS is required between nodes "
                "(use an https:// url, or --insecure / `insecure: true` to allow it)"
            )
        return True
    raise SyncError(f"partner {partner.id}: {url!r} is not an https:// url")


def _envelope(r: httpx.Response, partner: Partner) -> tuple[list[object], bool, str | None]:
    """The feed page's objects, `more` and `next`, or SyncError: a partner answering HTML, a wrong
    shape or an unstorable cursor is a failed sync, never an uncaught exception."""
    try:
        env = parse_page(r.content)
    except (ValueError, RecursionError):
        kind = r.headers.get("content-type", "unknown type")
        raise SyncError(f"{partner.id}: the feed answered {kind}, not JSON") from None
    if not isinstance(env, dict):
        raise SyncError(f"{partner.id}: the feed answered a JSON {type(env).__name__}, not an envelope")
    objects, more, nxt = env.get("objects") or [], env.get("more"), env.get("next")
    if not isinstance(objects, list):
        raise SyncError(f"{partner.id}: the envelope's objects is not a list")
    if not isinstance(more, bool | None):
        raise SyncError(f"{partner.id}: the envelope's more is not true or false")
    if nxt is not None and (not isinstance(nxt, str) or not 0 < len(nxt) <= MAX_CURSOR_CHARS):
        raise SyncError(
            f"{partner.id}: the envelope's next is not a cursor of 1-{MAX_CURSOR_CHARS} characters"
        )
    return objects, bool(more), nxt


def _stage_page(node: Node, objects: Sequence[object], body: bytes) -> StagedIngest:
    """Start ingesting one page, whatever its products are (:meth:`Node.commit_ingest` writes it, its
    cursor and its audit entries in one transaction).

    Documents that are not signed products, or whose id or version the store could not hold, are
    quarantined before anything else; the rest is checked, and its signatures verified (in the
    verifier pool for a large page) while the previous page is written. The store quarantines on its
    own any product it still refuses. One poison product never blocks a feed.
    """
    quarantined: list[tuple[object, str]] = []
    good: list[Mapping[str, object]] = []
    positions: list[int] = []  # of the good ones in the page, for workers that read it themselves
    for position, doc in enumerate(objects):
        raw = doc.get("product") if isinstance(doc, Mapping) else None
        if not isinstance(raw, Mapping):
            quarantined.append((doc, "not a signed product document"))
            continue
        try:
            limits.check_id(raw.get("id"))
            limits.check_version(raw.get("version"))
        except limits.LimitError as exc:
            quarantined.append((doc, str(exc)))
            continue
        good.append(doc)  # type: ignore[arg-type]
        positions.append(position)
    return node.stage_ingest(good, quarantined=quarantined, page=(body, positions))


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
    the first page not yet committed: nothing lost, nothing twice. Pages flow through three stages at
    once: page k+1 is fetched while page k is checked (its signatures verified in the node's verifier
    pool) and page k-1 is written; a page that fails drops the ones behind it.
    """
    if not partner.url:
        raise SyncError(f"partner {partner.id} has no url")
    insecure = check_transport(node, partner)
    own = client is None
    report = SyncReport(partner.id)
    try:
        client = client or make_client(node)
        base = partner.url.rstrip("/")

        def fetch(cursor: str | None) -> tuple[list[object], bool, str | None, bytes]:
            # Every version, not only the latest (the TAXII default): a partner keeps the history.
            qs = f"?match[version]=all&limit={limit}" + (f"&next={cursor}" if cursor else "")
            r = _get(client, node, base, objects_path(partner.id) + qs, backoff)
            if r.status_code != 200:
                raise SyncError(f"{partner.id}: HTTP {r.status_code}: {r.text[:200]}")
            return (*_envelope(r, partner), r.content)

        try:
            cursor = node.share.cursor(partner.id)

            def write(staged: StagedIngest, cursor: str | None) -> None:
                report.ingest.add(node.commit_ingest(staged, source=partner.id, cursor=cursor))
                report.pages += 1
                if on_page is not None:
                    on_page(report)

            with ThreadPoolExecutor(1, thread_name_prefix=f"fetch-{partner.id}") as ahead:
                page = ahead.submit(fetch, cursor)
                fetched_pages = 0
                behind: tuple[StagedIngest, str | None] | None = None
                while True:
                    # While the next page is on its way, check the page behind from its end (the
                    # workers go on from its front): this process's time is the sync's critical path.
                    while behind is not None and not page.done() and behind[0].verdicts.help():
                        pass
                    objects, more, nxt, body = page.result()
                    fetched_pages += 1
                    report.fetched += len(objects)
                    cursor = nxt or cursor
                    more = more and (max_pages is None or fetched_pages < max_pages)
                    if more:
                        page = ahead.submit(fetch, cursor)
                    staged = _stage_page(node, objects, body)
                    if behind is not None:
                        write(*behind)
                    behind = (staged, cursor)
                    if not more:
                        break
                write(*behind)
                # The checkpoint is fetched once the last page is visible, not beside its write: there
                # it took this process's and the partner's cores from the write (two requests, each
                # signed, answered, audited), and publish -> visible is what a partner waits on.
                seen = _fetch_checkpoints(node, partner, client, backoff)
                report.witness, witness_event, good = _judge_checkpoints(node, partner, seen)
        finally:
            if own:
                client.close()
    except Exception as exc:  # noqa: BLE001 - any partner behaviour ends as one SyncError, recorded
        error = exc if isinstance(exc, SyncError) else SyncError(f"{partner.id}: {type(exc).__name__}: {exc}")
        _record_sync(node, {**report.as_dict(), "error": str(error)[:500], "insecure": insecure})
        raise error from None
    # The witnessed checkpoint and the sync's audit entry (after a bad checkpoint's) in one transaction.
    detail = {**report.as_dict(), **({"insecure": True} if insecure else {})}
    with node.share.write() as conn:
        if good is not None:
            node.share.set_witness(conn, partner.id, *good)
        events = [witness_event] if witness_event is not None else []
        node.audit.append(conn, [*events, AuditEvent("sync", f"node:{node.node_id}", None, None, detail)])
    return report


def _record_sync(node: Node, detail: dict[str, object]) -> None:
    """The sync's audit entry: partner health (`node status`) is read back from these. An insecure
    (plain-HTTP) pull says so in its entry."""
    try:
        node.audit.record(AuditEvent("sync", f"node:{node.node_id}", None, None, detail))
    except Exception:  # noqa: BLE001 - a store that cannot write must not mask the sync's own error
        if "error" not in detail:
            raise


@dataclass(frozen=True)
class _Checkpoints:
    """What one witness check fetched: the partner's checkpoint now (or why not), the checkpoint this
    node witnessed before (stored JSON), and the partner's checkpoint at that entry when it moved on."""

    now: tuple[int, str, str] | str
    before: str | None
    then: tuple[int, str, str] | str | None = None


def _fetch_checkpoints(node: Node, partner: Partner, client: httpx.Client, backoff: Backoff) -> _Checkpoints:
    """The partner's checkpoint now and, when this node witnessed one before, at that entry."""
    before = node.share.witness(partner.id)
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
        except (CheckpointError, ValueError, RecursionError) as exc:
            return str(exc)
        return seq, h, r.text

    if before is None:
        return _Checkpoints(fetch(CHECKPOINT_PATH), before)
    # The partner's log has almost always moved on since (it audits every feed request), so the entry
    # witnessed before is asked for at the same time as the head, not after it.
    old_seq = int(json.loads(before)["seq"])  # verified when it was stored
    with ThreadPoolExecutor(1, thread_name_prefix=f"witness-{partner.id}") as beside:
        at_old = beside.submit(fetch, f"{CHECKPOINT_PATH}?at={old_seq}")
        now = fetch(CHECKPOINT_PATH)
        then = at_old.result()
    moved = not isinstance(now, str) and now[0] > old_seq
    return _Checkpoints(now, before, then if moved else None)


def _judge_checkpoints(
    node: Node, partner: Partner, seen: _Checkpoints
) -> tuple[WitnessReport, AuditEvent | None, tuple[int, str, str] | None]:
    """The witness report, the audit entry of a bad checkpoint, and the checkpoint to store (good)."""
    if isinstance(seen.now, str):
        return WitnessReport(partner.id, None, problem=seen.now), None, None
    seq, h, text = seen.now
    problem = None
    if seen.before is not None:
        stored = json.loads(seen.before)  # verified when stored; the partner's key may since have rotated
        old_seq, old_hash = int(stored["seq"]), str(stored["hash"])
        if seq < old_seq:
            problem = f"audit log shrank from entry {old_seq} (witnessed) to {seq}"
        else:
            then = seen.now if seq == old_seq else seen.then
            if then is None or isinstance(then, str):
                problem = f"entry {old_seq} (witnessed) is gone: {then}"
            elif then[1] != old_hash:
                problem = f"entry {old_seq} changed since it was witnessed (history rewritten)"
    if problem is not None:
        detail = {"partner": partner.id, "problem": problem, "checkpoint": json.loads(text)}
        event = AuditEvent("witness", f"node:{node.node_id}", None, None, detail)
        return WitnessReport(partner.id, False, seq, problem), event, None
    return WitnessReport(partner.id, True, seq), None, (seq, h, text)


def witness_partner(
    node: Node, partner: Partner, *, client: httpx.Client, backoff: Backoff = Backoff()
) -> WitnessReport:
    """Fetch `partner`'s signed audit checkpoint and check it extends the one witnessed before: the
    entry witnessed then must still have the same hash, and the log must not have shrunk. A good
    checkpoint replaces the stored one; a bad one is kept out and written to this node's audit log."""
    seen = _fetch_checkpoints(node, partner, client, backoff)
    report, event, good = _judge_checkpoints(node, partner, seen)
    with node.share.write() as conn:
        if good is not None:
            node.share.set_witness(conn, partner.id, *good)
        if event is not None:
            node.audit.append(conn, [event])
    return report


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
            except (CheckpointError, ValueError, RecursionError) as exc:
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
    """Background sync of every partner with a url, one thread per partner so a slow or hostile partner
    never holds up the others. Whatever a partner does (non-JSON, wrong shape, timeouts, 5xx, poison
    products) ends one attempt, is logged and audited (`partner_status` reads it back), and the next
    attempt waits with exponential backoff and jitter; the loop itself never dies."""

    def __init__(
        self,
        node: Node,
        interval_s: float = 5.0,
        log: Callable[[str], None] = print,
        *,
        max_backoff_s: float = 300.0,
        attempts: int = 2,
    ):
        self.node, self.interval_s, self.log = node, interval_s, log
        self.max_backoff_s = max(max_backoff_s, interval_s)
        self.attempts = attempts
        self._stop = threading.Event()
        self.failures: dict[str, int] = {}
        # Set by poke(): the partner said it has new products, so its wait is cut short.
        self._wake = {p.id: threading.Event() for p in node.config.partners.values() if p.url}
        self._threads = [
            threading.Thread(target=self._run, args=(p,), name=f"sync-{node.node_id}-{p.id}", daemon=True)
            for p in node.config.partners.values()
            if p.url
        ]

    def start(self) -> SyncLoop:
        for t in self._threads:
            t.start()
        return self

    def poke(self, partner_id: str) -> bool:
        """Pull `partner_id` now instead of at the end of its wait (it notified new products). A poke
        only shortens a wait: a flood of pokes costs at most one sync at a time per partner, and a
        partner in backoff after failures is not pulled sooner. False for a partner not pulled here."""
        wake = self._wake.get(partner_id)
        if wake is None or self.failures.get(partner_id, 0):
            return False
        wake.set()
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        for wake in self._wake.values():
            wake.set()
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def delay_s(self, partner_id: str) -> float:
        """Seconds before the next attempt: the interval, doubled per consecutive failure up to the cap,
        with jitter so partners that fail together do not retry in lockstep."""
        n = self.failures.get(partner_id, 0)
        if n == 0:
            return self.interval_s
        return min(self.max_backoff_s, self.interval_s * 2**n) * random.uniform(0.5, 1.0)

    def _run(self, partner: Partner) -> None:
        wake = self._wake[partner.id]
        while True:
            wake.wait(self.delay_s(partner.id))
            wake.clear()
            if self._stop.is_set():
                return
            try:
                rep = sync_partner(self.node, partner, backoff=Backoff(attempts=self.attempts))
            except Exception as exc:  # noqa: BLE001 - the loop outlives any partner behaviour
                self.failures[partner.id] = self.failures.get(partner.id, 0) + 1
                self.log(f"sync {partner.id} failed ({self.failures[partner.id]} in a row): {exc}")
                continue
            self.failures[partner.id] = 0
            if rep.fetched:
                self.log(f"sync {partner.id}: {rep.as_dict()}")


class PartnerNotifier:
    """Tells partners that this node has new products for them (``POST /sync/notify``, signed like a
    pull), so their sync loops pull at once instead of at the end of their interval. Best effort: a
    partner that is down or does not answer is pulled-from anyway on its own schedule, so failures are
    logged, never retried. One background thread; notifications made while it is busy coalesce into
    the next round (bounded whatever the rate of products)."""

    PATH = "/sync/notify"

    def __init__(self, node: Node, log: Callable[[str], None] = print, timeout_s: float = 2.0):
        self.node, self.log, self.timeout_s = node, log, timeout_s
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"notify-{node.node_id}", daemon=True)

    def start(self) -> PartnerNotifier:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def notify(self, partner_ids: Iterable[str]) -> None:
        """Queue a notification for these partners (those with a url)."""
        with self._lock:
            self._pending |= {p for p in partner_ids if (q := self.node.config.partners.get(p)) and q.url}
        self._wake.set()

    def _run(self) -> None:
        with make_client(self.node, self.timeout_s) as client:
            while not self._stop.is_set():
                self._wake.wait()
                self._wake.clear()
                with self._lock:
                    due, self._pending = sorted(self._pending), set()
                for pid in due:
                    if self._stop.is_set():
                        return
                    url = str(self.node.config.partners[pid].url).rstrip("/") + self.PATH
                    try:
                        r = client.post(url, headers=node_auth_headers(self.node.signer, "POST", self.PATH))
                        if r.status_code >= 400:
                            self.log(f"notify {pid}: HTTP {r.status_code}")
                    except httpx.HTTPError as exc:
                        self.log(f"notify {pid} failed: {type(exc).__name__}")


# How far back `partner_status` reads the audit log for sync entries (newest first).
STATUS_WINDOW = 5_000


def partner_status(node: Node, now: datetime | None = None) -> list[dict[str, object]]:
    """Sync health per partner, from this node's audit log (so it holds across processes: the loop in
    `kizuna serve` writes it, `kizuna node status` and `GET /node/status` read it): last success, last
    error, failures since the last success, lag (seconds since the last success) and the transport."""
    now = now or datetime.now(UTC)
    found: dict[str, dict[str, object]] = {
        p.id: {
            "partner": p.id,
            "url": p.url,
            "transport": "https" if (p.url or "").startswith("https://") else "http (insecure)",
            "last_success_utc": None,
            "last_error_utc": None,
            "last_error": None,
            "failures_since_success": 0,
            "lag_s": None,
            "cursor_updated_utc": None,
        }
        for p in node.config.partners.values()
        if p.url
    }
    done: set[str] = set()
    q = (
        select(audit_table.c.ts_utc, audit_table.c.detail)
        .where(audit_table.c.event == "sync")
        .order_by(audit_table.c.seq.desc())
        .limit(STATUS_WINDOW)
    )
    with node.share.engine.connect() as conn:
        rows = conn.execute(q).all()
        cursor_rows = conn.execute(select(cursor_table.c.partner, cursor_table.c.updated_utc)).all()
    for ts, detail in rows:
        try:
            d = json.loads(detail)
        except ValueError:
            continue
        pid = d.get("partner") if isinstance(d, dict) else None
        if pid not in found or pid in done:
            continue
        st = found[pid]
        if "error" in d:
            st["failures_since_success"] = int(st["failures_since_success"]) + 1  # type: ignore[call-overload]
            if st["last_error_utc"] is None:
                st["last_error_utc"], st["last_error"] = ts, d["error"]
        else:
            st["last_success_utc"] = ts
            done.add(pid)
    for pid, updated in cursor_rows:
        if pid in found and updated is not None:
            found[pid]["cursor_updated_utc"] = updated.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for st in found.values():
        if st["last_success_utc"] is not None:
            last = datetime.fromisoformat(str(st["last_success_utc"]).replace("Z", "+00:00"))
            st["lag_s"] = round((now - last).total_seconds(), 3)
    return list(found.values())
