"""Every check of a batch of received signed products, shared between this process and worker processes.

A received product costs ~80-100 us of Ed25519 and about as much again of Python checks (shape,
limits, the one canonical form, the RFC 8785 bytes) on the 2-core host: more than writing it. libsodium releases the GIL,
but the checks around it hold it, so threads do not help and processes do.

How a batch is shared (:class:`VerifierPool`): the whole batch goes to every worker at once (a sender
thread per worker, so the caller never waits on a pipe), and the documents are claimed in blocks
through counters in shared memory: workers from the front, the caller from the back when it wants the
verdicts (after writing the previous page) or has time (waiting for the next one), until the two meet. Nobody waits for work and no document
is checked twice. An earlier design handed out chunks through a process pool executor: its feeder
thread needed this process's GIL, held by the page write, so the worker starved and this process
ended up checking three products in four itself.

A worker that dies or stalls costs speed, never a verdict: whatever it claimed and did not answer is
checked here (after `stall_s` without an answer), and its late answers are dropped.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import queue
import re
import struct
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from datetime import datetime
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kizuna.share.markings import Marking, MarkingConfig
from kizuna.share.products import Product
from kizuna.share.signing import (
    CheckedDocument,
    IntegrityError,
    TrustStore,
    check_signed,
    verify_signed,
    wire_text,
)

# Batches in flight at once (a sync has two; a node syncing several partners, a few more). A batch
# that finds every slot taken is checked in this process.
SLOTS = 64
_HEADER = struct.Struct("<qqq")  # a worker's answer: (job id, first position, count), then the answers


class Verdicts:
    """The verdicts on a batch of signed documents, in order: a :class:`Product` or the
    :class:`IntegrityError` refusing it. Checks shared with a :class:`VerifierPool` may still be running
    until :meth:`result`."""

    def __init__(self, verdicts: list[Product | IntegrityError], job: _Job | None = None):
        self._verdicts = verdicts
        self._job = job
        # The stored wire text of accepted documents, by position, where a worker made it.
        self.wires: dict[int, str] = {}

    def help(self) -> bool:
        """Check here one block of documents no worker has claimed yet (from the end of the batch),
        for a caller that would otherwise wait; False when none is left."""
        return self._job is not None and self._job.help(self._verdicts)

    def result(self) -> list[Product | IntegrityError]:
        """Every verdict: this process checks the documents no worker has claimed yet, then takes the
        workers' answers for the rest."""
        if self._job is not None:
            job, self._job = self._job, None
            job.finish(self._verdicts, self.wires)
        return self._verdicts


def _verdict(
    doc: Mapping[str, object], trust: TrustStore, config: MarkingConfig | None
) -> Product | IntegrityError:
    """:func:`verify_signed` of one document, its refusal returned rather than raised."""
    try:
        return verify_signed(doc, trust, config)
    except IntegrityError as exc:
        return exc


def start_verification(
    docs: Sequence[Mapping[str, object]],
    trust: TrustStore,
    config: MarkingConfig | None = None,
    *,
    check_signature: bool = True,
    pool: VerifierPool | None = None,
    page: tuple[bytes, list[int]] | None = None,
) -> Verdicts:
    """:func:`verify_signed` of each document, each verdict on its own (a refusal is returned, never
    raised). With a `pool` and `pool.min_batch` documents or more, the checks are shared with the
    pool's workers while the caller goes on; otherwise every check runs now, here."""
    if check_signature and pool is not None and len(docs) >= pool.min_batch:
        try:
            job = pool.start(docs, trust, config, page)
        except Exception:  # noqa: BLE001 - no workers here (e.g. a daemon process): verify in this one
            pool.reset()
        else:
            if job is not None:
                placeholder = IntegrityError("not verified")  # every one is replaced by `result`
                shared = Verdicts([placeholder] * len(docs), job)
                # Verdicts never asked for (the sync failed first) give their slot back when dropped.
                weakref.finalize(shared, pool._free_slot, job.id, job.slot)
                return shared
    verdicts: list[Product | IntegrityError] = []
    checked: list[tuple[int, CheckedDocument]] = []
    for doc in docs:
        try:
            c = check_signed(doc, trust, config, with_message=check_signature)
        except IntegrityError as exc:
            verdicts.append(exc)
            continue
        checked.append((len(verdicts), c))
        verdicts.append(c.product)
    for i, c in checked if check_signature else ():
        if not c.signature_ok():
            verdicts[i] = IntegrityError("bad signature", c.product.id, c.product.version)
    return Verdicts(verdicts)


def verify_signed_many(
    docs: Sequence[Mapping[str, object]],
    trust: TrustStore,
    config: MarkingConfig | None = None,
    *,
    check_signature: bool = True,
    pool: VerifierPool | None = None,
) -> list[Product | IntegrityError]:
    """The verdicts of :func:`start_verification`, once every check has run."""
    return start_verification(docs, trust, config, check_signature=check_signature, pool=pool).result()


# Any integer orjson may not hold exactly. Fractions match too: a product's small numbers are written
# as ECMAScript writes them (8.2e-05 as 0.00008212742919913083), so most real pages take the standard
# library's path. A regular expression for integer tokens alone scanned a page for longer than the
# parse takes, and a scan by bytes.translate and find left ~1 us a product of orjson's gain
# (benchmarks/README.md, run E), so this stays the simple test.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def parse_page(body: bytes) -> object:
    """A feed page as `json.loads` reads it: by orjson (about 40% less time), or by the standard
    library where the two differ: orjson refuses NaN and lone surrogate escapes, and reads an integer
    beyond 64 bits as a float (19 digits in a row anywhere send the page to the standard library).
    One odd product is then checked, and quarantined, on its own rather than failing the page."""
    if _LONG_DIGITS.search(body) is None:
        try:
            return orjson.loads(body)
        except ValueError:  # orjson.JSONDecodeError is a ValueError
            pass
    return json.loads(body)


# ---------------------------------------------------------------- worker side
# The trust stores and marking configurations met so far, by the digest of their pickled form (a node
# ships its own with each batch; rebuilding the keys and the configuration's patterns per batch would
# cost more than the checks of a small one).
_worker_setups: dict[bytes, tuple[TrustStore, MarkingConfig | None]] = {}


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _setup_bytes(trust: TrustStore, config: MarkingConfig | None) -> bytes:
    # Every key id the store answers for (a key replaced by `add` included), so a worker looks keys
    # up exactly as this process does.
    kids = sorted((kid, node, _raw_public(key)) for kid, (node, key) in trust._by_kid.items())
    return pickle.dumps((kids, config), protocol=pickle.HIGHEST_PROTOCOL)


def _worker_setup(setup: bytes) -> tuple[TrustStore, MarkingConfig | None]:
    digest = hashlib.sha256(setup).digest()
    found = _worker_setups.get(digest)
    if found is None:
        kids, config = pickle.loads(setup)  # noqa: S301 - from the parent process, never from a partner
        if len(_worker_setups) >= 16:
            _worker_setups.clear()
        trust = TrustStore({})
        for kid, node, raw in kids:
            key = Ed25519PublicKey.from_public_bytes(raw)
            trust._by_kid[kid] = (node, key)
            trust.keys.setdefault(node, key)
        found = _worker_setups[digest] = (trust, config)
    return found


_Answer = tuple[datetime, Marking, str] | tuple[str, str | None, int | None]


def _answer(doc: Mapping[str, object], trust: TrustStore, config: MarkingConfig | None) -> _Answer:
    """A worker's verdict on one document: for a product, what the caller cannot rebuild from its own
    copy of the document without checking it again (the parsed time and marking: see
    :meth:`Product.from_checked`) and the wire text the node will store (made here, so the receiving
    process does not serialise it); for a refusal, its (reason, id, version). The payload is not sent
    back: the caller holds it already."""
    verdict = _verdict(doc, trust, config)
    if isinstance(verdict, IntegrityError):
        return (verdict.reason, verdict.product_id, verdict.version)
    return (verdict.created_utc, verdict.marking, wire_text(doc))


def _claim(claims: Any, slot: int, job_id: int, size: int, *, front: bool) -> tuple[int, int] | None:
    """The next `size` unclaimed positions of job `job_id` in `slot` (from the front or the back), or
    None when none are left (or the slot now holds another job)."""
    base = 3 * slot
    with claims.get_lock():
        counters = claims.get_obj()
        start, end = counters[base + 1], counters[base + 2]
        if counters[base] != job_id or start >= end:
            return None
        if front:
            counters[base + 1] = min(start + size, end)
            return start, counters[base + 1]
        counters[base + 2] = max(end - size, start)
        return counters[base + 2], end


def _worker_main(conn: Connection, claims: Any, block: int) -> None:
    """A worker: for each batch received, claim blocks from the front and answer each one, until the
    batch is all claimed; exit when the pipe closes or a batch id below zero arrives."""
    while True:
        try:
            job_id, slot, setup, docs, page = pickle.loads(conn.recv_bytes())  # noqa: S301 - the parent
        except (EOFError, OSError):
            return
        if job_id < 0:
            return
        if _claim(claims, slot, job_id, 0, front=True) is None:
            continue  # the caller has checked it all already (this worker was behind): not even read
        if docs is None:  # the feed page as received: read here as the caller read it
            body, positions = page
            objects = parse_page(body)["objects"]  # type: ignore[index]
            docs = [objects[i] for i in positions]
        trust, config = _worker_setup(setup)
        while (claimed := _claim(claims, slot, job_id, block, front=True)) is not None:
            start, end = claimed
            answers = [_answer(doc, trust, config) for doc in docs[start:end]]
            body = pickle.dumps(answers, protocol=pickle.HIGHEST_PROTOCOL)
            try:
                conn.send_bytes(_HEADER.pack(job_id, start, end - start) + body)
            except OSError:
                return


# ---------------------------------------------------------------- caller side
class _Job:
    """One batch shared with the workers: its claim slot, the answers received so far."""

    def __init__(
        self,
        pool: VerifierPool,
        job_id: int,
        slot: int,
        docs: Sequence[Mapping[str, object]],
        trust: TrustStore,
        config: MarkingConfig | None,
    ):
        self.pool, self.id, self.slot = pool, job_id, slot
        self.docs, self.trust, self.config = docs, trust, config
        self.answers: list[tuple[int, bytes]] = []  # (first position, pickled answers), as they come
        self.received = 0  # positions answered so far
        self.changed = threading.Condition()
        self.settled = [False] * len(docs)  # positions whose verdict is in
        self.here_from = len(docs)  # the lowest position this process has claimed (from the back)

    def deliver(self, start: int, body: bytes, count: int) -> None:
        with self.changed:
            self.answers.append((start, body))
            self.received += count
            self.changed.notify_all()

    def wake(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def help(self, verdicts: list[Product | IntegrityError]) -> bool:
        """Check one block no worker has claimed, from the back, here; False when none is left."""
        claimed = _claim(self.pool.claims, self.slot, self.id, self.pool.block_here, front=False)
        if claimed is None:
            return False
        start, end = claimed
        self.here_from = start
        for i in range(start, end):
            verdicts[i] = _verdict(self.docs[i], self.trust, self.config)
            self.settled[i] = True
        return True

    def finish(self, verdicts: list[Product | IntegrityError], wires: dict[int, str]) -> None:
        """Check here, from the back, every document no worker has claimed; then take the workers'
        answers for the front (checking here what a dead or stalled worker left)."""
        pool = self.pool
        settled = self.settled
        try:
            while self.help(verdicts):
                pass
            meet = self._meet(self.here_from)
            self._await(meet)
            with self.changed:
                answers, self.answers = self.answers, []
            for start, body in answers:
                for i, answer in enumerate(pickle.loads(body), start):  # noqa: S301 - our own workers
                    if settled[i]:
                        continue
                    settled[i] = True
                    if isinstance(answer[0], datetime):
                        raw = self.docs[i]["product"]
                        verdicts[i] = Product.from_checked(raw, answer[0], answer[1])  # type: ignore[arg-type]
                        wires[i] = answer[2]
                    else:
                        verdicts[i] = IntegrityError(*answer)
        finally:
            pool.release(self)
        for i, done in enumerate(settled):
            if not done:  # claimed by a worker that died or stalled: checked here instead
                verdicts[i] = _verdict(self.docs[i], self.trust, self.config)

    def _meet(self, here_from: int) -> int:
        """Where the workers' claims end: everything before it is theirs to answer."""
        base = 3 * self.slot
        with self.pool.claims.get_lock():
            counters = self.pool.claims.get_obj()
            if counters[base] != self.id:
                return 0
            return min(counters[base + 1], here_from)

    def _await(self, count: int) -> None:
        """Wait until the workers have answered `count` positions, while they make progress."""
        received = -1
        deadline = 0.0
        with self.changed:
            while self.received < count and not self.pool.broken:
                if self.received != received:
                    received, deadline = self.received, time.monotonic() + self.pool.stall_s
                left = deadline - time.monotonic()
                if left <= 0:
                    return  # a stalled worker: what it holds is checked here
                self.changed.wait(left)


class _Worker:
    """One worker process, its pipe and the thread sending it batches."""

    def __init__(self, ctx: Any, claims: Any, block: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, claims, block), daemon=True)
        self.process.start()
        child.close()
        self.outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.sender = threading.Thread(target=self._send, daemon=True, name="verifier-send")
        self.sender.start()

    def _send(self) -> None:
        # A batch is larger than a pipe's buffer: sending it here lets the caller go on while the
        # worker finishes the previous one.
        while (message := self.outbox.get()) is not None:
            try:
                self.conn.send_bytes(message)
            except OSError:
                return

    def stop(self, wait_s: float) -> None:
        self.outbox.put(pickle.dumps((-1, 0, b"", [], None)))
        self.outbox.put(None)
        self.sender.join(wait_s)
        self.process.join(wait_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(wait_s)
        self.conn.close()


class VerifierPool:
    """Checks of large batches shared with `workers` worker processes (see the module's description).

    `min_batch`: the smallest batch worth shipping to the workers. `chunk`: documents a worker claims
    at a time (its answers come back in blocks of this size); this process claims `block_here` at a
    time. `stall_s`: how long the caller waits for a worker's answer before checking its share itself.
    Workers start with the first batch, with "spawn" (a node runs threads, which a fork would copy
    mid-operation).
    """

    def __init__(self, workers: int = 1, min_batch: int = 64, chunk: int = 8, stall_s: float = 1.0):
        if workers < 1 or min_batch < 1 or chunk < 1:
            raise ValueError("a verifier pool needs at least one worker, batch and chunk")
        self.workers = workers
        self.min_batch = min_batch
        self.chunk = chunk
        self.block_here = chunk
        self.stall_s = stall_s
        self.broken = False
        self._ctx = get_context("spawn")
        # Made with the first workers: a shared lock starts multiprocessing's resource tracker (a
        # process), which a node that never checks a large batch (a CLI command) should not pay for.
        self.claims: Any = None
        self._lock = threading.Lock()
        self._claims_lock = threading.Lock()
        self._running: list[_Worker] = []
        self._jobs: dict[int, _Job] = {}
        self._free = list(range(SLOTS))
        self._next_id = 1
        self._generation = 0
        self._reader: threading.Thread | None = None

    # -- lifecycle
    def _started(self) -> list[_Worker]:
        with self._lock:
            if not self._running:
                self._claims()
                self.broken = False
                self._generation += 1
                self._running = [_Worker(self._ctx, self.claims, self.chunk) for _ in range(self.workers)]
                self._reader = threading.Thread(
                    target=self._read,
                    args=(list(self._running), self._generation),
                    daemon=True,
                    name="verifier-read",
                )
                self._reader.start()
            return self._running

    def _claims(self) -> Any:
        """The shared claim counters, made on first use."""
        with self._claims_lock:
            if self.claims is None:
                self.claims = self._ctx.Array("q", 3 * SLOTS, lock=self._ctx.Lock())
            return self.claims

    def worker_pids(self) -> list[int]:
        """The process ids of the workers started so far (none before the first batch)."""
        with self._lock:
            return sorted(w.process.pid for w in self._running if w.process.pid is not None)

    def reset(self) -> None:
        """Drop broken workers (batches in flight are checked here); the next batch starts fresh ones."""
        self._stop(wait_s=0.0)

    def close(self) -> None:
        self._stop(wait_s=10.0)

    def _stop(self, wait_s: float) -> None:
        with self._lock:
            running, self._running = self._running, []
            self.broken = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.wake()
        for worker in running:
            if wait_s <= 0:
                worker.process.kill()
            worker.stop(wait_s or 1.0)

    # -- batches
    def start(
        self,
        docs: Sequence[Mapping[str, object]],
        trust: TrustStore,
        config: MarkingConfig | None,
        page: tuple[bytes, list[int]] | None = None,
    ) -> _Job | None:
        """Ship `docs` to every worker and open their claims; None when every slot is in use. With
        `page` (the feed page they were read from by :func:`parse_page`, and their positions in its
        objects), the page's bytes are shipped instead: the workers read it themselves, which costs
        this process nothing (pickling the documents cost it ~7 us each)."""
        running = self._started()
        # Made per batch, not cached: a key rotated since must never be checked with the old one.
        setup = _setup_bytes(trust, config)
        with self._lock:
            if not self._free:
                return None
            slot = self._free.pop()
            job_id, self._next_id = self._next_id, self._next_id + 1
            job = self._jobs[job_id] = _Job(self, job_id, slot, docs, trust, config)
        claims = self._claims()
        with claims.get_lock():
            counters = claims.get_obj()
            counters[3 * slot], counters[3 * slot + 1], counters[3 * slot + 2] = job_id, 0, len(docs)
        shipped = (None, page) if page is not None else (list(docs), None)
        message = pickle.dumps((job_id, slot, setup, *shipped), protocol=pickle.HIGHEST_PROTOCOL)
        for worker in running:
            worker.outbox.put(message)
        return job

    def release(self, job: _Job) -> None:
        """The batch's verdicts are in: its slot may serve another batch."""
        self._free_slot(job.id, job.slot)

    def _free_slot(self, job_id: int, slot: int) -> None:
        with self.claims.get_lock():
            counters = self.claims.get_obj()
            if counters[3 * slot] == job_id:
                counters[3 * slot + 1] = counters[3 * slot + 2]  # nothing left to claim
        with self._lock:
            if self._jobs.pop(job_id, None) is not None:
                self._free.append(slot)

    def _read(self, workers: list[_Worker], generation: int) -> None:
        """Route the workers' answers to their batches; a worker gone marks the pool broken."""
        conns = {w.conn: w for w in workers}
        sentinels = {w.process.sentinel: w for w in workers}
        while conns:
            try:
                ready = wait([*conns, *sentinels])
            except OSError:
                break
            for r in ready:
                if r in sentinels:
                    self._lost(generation)
                    return
                try:
                    message = r.recv_bytes()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    self._lost(generation)
                    return
                job_id, start, count = _HEADER.unpack_from(message)
                with self._lock:
                    job = self._jobs.get(job_id)
                if job is not None:
                    job.deliver(start, message[_HEADER.size :], count)

    def _lost(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # workers already replaced: this reader's were stopped on purpose
            stopping = self.broken
            self.broken = True
            jobs = list(self._jobs.values())
        for job in jobs:
            job.wake()
        if not stopping:
            threading.Thread(target=self.reset, daemon=True).start()


_default_pool: VerifierPool | None = None
_default_pool_lock = threading.Lock()


def default_verifier_pool() -> VerifierPool | None:
    """The pool a node uses unless told otherwise, shared by every node of this process: one worker
    per core beyond this one (at most 4), None on a single core. Its workers start with the first
    batch large enough to use them; `benchmarks/bench_share.py` measures what they buy."""
    global _default_pool
    cores = os.cpu_count() or 1
    if cores < 2:
        return None
    with _default_pool_lock:
        if _default_pool is None:
            _default_pool = VerifierPool(workers=min(cores - 1, 4))
        return _default_pool
