"""The live pipeline's job ledger, in the node's own database (SQLite or PostgreSQL).

Invariants the pipeline relies on (``kizuna.ops.pipeline``):

- An arrival is a job keyed by its kind and the SHA-256 of its bytes: enqueueing the same content again
  returns the existing job and changes nothing, so a file seen twice (a re-scan, a copy, a restart) is
  processed once.
- A step is done exactly when its ``pipeline_step`` row says so, and that row is written by the caller
  in the same transaction as the step's effects (:meth:`JobLedger.mark_step`): a process killed at any
  point leaves each step either done with its effects or not done without them.
- A job claimed by a process that died stays ``running``; :meth:`JobLedger.claim` takes such jobs again
  after ``stale_s`` without a heartbeat (each committed step is one), and the steps already done
  are skipped, so the resume neither repeats nor loses work.
- On PostgreSQL a runner also holds a session-level advisory lock on each job it runs, taken inside
  the claiming transaction (so a job is never seen ``running`` without it) on a connection the ledger
  keeps for its lifetime. The server frees a session's locks when its connection ends, a killed
  process included, so ``pg_try_advisory_lock`` succeeding on a ``running`` job means its runner is
  gone: the job is taken back at once instead of after ``stale_s``. A job whose lock is still held
  is taken only after ``stale_s`` as before (a runner alive but silent that long).

Claims: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several runners share the queue; on SQLite the
write lock (``BEGIN IMMEDIATE``) serialises claims, one runner at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, RowMapping

from kizuna.store.catalog import CatalogStore
from kizuna.store.schema import pipeline_http_validator, pipeline_job, pipeline_step

JOB_STATES = ("queued", "running", "done", "failed")
#: finished jobs kept (the newest); older ones and their steps are dropped as new jobs finish
KEEP_DONE = 10_000
#: a job in `running` for longer than this without progress belongs to a runner that died [s]
STALE_S = 120.0
#: attempts before a job is left `failed` for an operator (each failure is recorded on the step)
MAX_ATTEMPTS = 3
#: the first key of the two-key advisory locks on PostgreSQL ("KZ"), so they stay apart from others'
LOCK_CLASS = 0x4B5A
#: jobs looked at per claim on PostgreSQL (queued ones and running ones whose runner may be gone)
CLAIM_SCAN = 50


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _utc(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.replace(tzinfo=UTC)


def _utc_set(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC)


def job_id_for(kind: str, sha256: str) -> str:
    return f"{kind}-{sha256[:32]}"


def lock_key(job_id: str) -> int:
    """The job's advisory-lock key (a signed 32-bit int; two jobs sharing one only delay a takeover)."""
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:4], "big", signed=True)


@dataclass(frozen=True)
class StepRecord:
    step: str
    state: str
    started_utc: datetime
    finished_utc: datetime
    counts: dict[str, object]
    error: str | None

    @property
    def duration_s(self) -> float:
        return (self.finished_utc - self.started_utc).total_seconds()

    def as_dict(self) -> dict[str, object]:
        return {
            "step": self.step,
            "state": self.state,
            "started_utc": _iso(self.started_utc),
            "finished_utc": _iso(self.finished_utc),
            "duration_s": round(self.duration_s, 6),
            "counts": self.counts,
            "error": self.error,
        }


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    kind: str
    sha256: str
    path: str
    state: str
    attempts: int
    queued_utc: datetime
    started_utc: datetime | None
    finished_utc: datetime | None
    error: str | None
    steps: tuple[StepRecord, ...] = field(default=())

    @property
    def duration_s(self) -> float | None:
        if self.started_utc is None or self.finished_utc is None:
            return None
        return (self.finished_utc - self.started_utc).total_seconds()

    def done_steps(self) -> set[str]:
        return {s.step for s in self.steps if s.state == "done"}

    def as_dict(self) -> dict[str, object]:
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "sha256": self.sha256,
            "path": self.path,
            "state": self.state,
            "attempts": self.attempts,
            "queued_utc": _iso(self.queued_utc),
            "started_utc": _iso(self.started_utc),
            "finished_utc": _iso(self.finished_utc),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 6),
            "error": self.error,
            "steps": [s.as_dict() for s in self.steps],
        }


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


class JobLedger:
    """Jobs and their steps in the opened store. Writers pass the connection of their transaction (the
    node's :meth:`ShareStore.write`, so ledger rows and products share one transaction and one lock)."""

    def __init__(
        self,
        store: CatalogStore,
        *,
        keep_done: int = KEEP_DONE,
        stale_s: float = STALE_S,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        if keep_done < 1:
            raise ValueError(f"keep_done must be at least 1, not {keep_done}")
        self.store = store
        self.engine = store.engine
        self.keep_done, self.stale_s, self.max_attempts = keep_done, stale_s, max_attempts
        self._session: Connection | None = None  # PostgreSQL: the connection holding the job locks
        self._held: set[str] = set()  # jobs whose lock this ledger holds (locks are re-entrant)

    def close(self) -> None:
        """End the lock session (its jobs' locks are freed, as when the process dies)."""
        if self._session is not None:
            session, self._session = self._session, None
            self._held.clear()
            try:  # a pooled connection outlives close(): its session locks must go first
                session.execute(text("SELECT pg_advisory_unlock_all()"))
            except Exception:  # noqa: BLE001 - a broken session: drop the connection, and its locks with it
                session.invalidate()
            session.close()

    def _try_lock(self, job_id: str) -> bool:
        if self._session is None:
            self._session = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        q = text("SELECT pg_try_advisory_lock(:c, :k)")
        locked = bool(self._session.execute(q, {"c": LOCK_CLASS, "k": lock_key(job_id)}).scalar())
        if locked:
            self._held.add(job_id)
        return locked

    def release(self, job_id: str) -> None:
        """This runner is done with the job (after its final commit): free its lock."""
        if self._session is not None and job_id in self._held:
            self._held.discard(job_id)
            q = text("SELECT pg_advisory_unlock(:c, :k)")
            self._session.execute(q, {"c": LOCK_CLASS, "k": lock_key(job_id)})

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)

    # ------------------------------------------------------------ queue
    def enqueue(self, conn: Connection, kind: str, sha256: str, path: str) -> tuple[str, bool]:
        """The job for this content (created queued when new): (job id, created now)."""
        job_id = job_id_for(kind, sha256)
        found = conn.execute(select(pipeline_job.c.seq).where(pipeline_job.c.job_id == job_id)).first()
        if found is not None:
            return job_id, False
        conn.execute(
            insert(pipeline_job).values(
                job_id=job_id,
                kind=kind,
                sha256=sha256,
                path=path,
                state="queued",
                attempts=0,
                queued_utc=_now(),
            )
        )
        return job_id, True

    def known(self, conn: Connection, job_ids: list[str]) -> set[str]:
        out: set[str] = set()
        for start in range(0, len(job_ids), 500):
            part = job_ids[start : start + 500]
            q = select(pipeline_job.c.job_id).where(pipeline_job.c.job_id.in_(part))
            out.update(str(r[0]) for r in conn.execute(q))
        return out

    def pending(self, conn: Connection) -> int:
        """Jobs waiting or running (the queue length the watcher caps)."""
        q = (
            select(func.count())
            .select_from(pipeline_job)
            .where(pipeline_job.c.state.in_(("queued", "running")))
        )
        return int(conn.execute(q).scalar() or 0)

    def claim(self, conn: Connection) -> JobRecord | None:
        """Take the oldest queued job, or a running one whose runner went silent for `stale_s`, or a
        failed one with attempts left: mark it running and return it (with the steps already done)."""
        j = pipeline_job.c
        stale = _now() - timedelta(seconds=self.stale_s)
        claimable = or_(
            j.state == "queued",
            (j.state == "running") & (j.heartbeat_utc < stale),
            (j.state == "failed") & (j.attempts < self.max_attempts) & (j.finished_utc < stale),
        )
        if self.dialect == "postgresql":
            row = self._claim_pg(conn, claimable, stale)
        else:
            row = (
                conn.execute(select(pipeline_job).where(claimable).order_by(j.seq).limit(1))
                .mappings()
                .first()
            )
        if row is None:
            return None
        now = _now()
        conn.execute(
            update(pipeline_job)
            .where(j.job_id == row["job_id"])
            .values(
                state="running",
                attempts=j.attempts + 1,
                started_utc=now,
                heartbeat_utc=now,
                finished_utc=None,
            )
        )
        return self._job(conn, row["job_id"])

    def _claim_pg(self, conn: Connection, claimable: Any, stale: datetime) -> RowMapping | None:
        """The first job this runner may take, its advisory lock now held: a claimable one, or a
        running one whose lock is free (its runner's session ended: the runner is gone)."""
        j = pipeline_job.c
        candidate = or_(claimable, j.state == "running")
        ids = (
            conn.execute(select(j.job_id).where(candidate).order_by(j.seq).limit(CLAIM_SCAN)).scalars().all()
        )
        for job_id in ids:
            if job_id in self._held:
                continue  # this ledger's own running job (a re-entrant lock would look free)
            # one row at a time: FOR UPDATE on the whole scan would lock every candidate until commit
            one = select(pipeline_job).where(j.job_id == job_id, candidate).with_for_update(skip_locked=True)
            row = conn.execute(one).mappings().first()
            if row is None:
                continue  # another runner is claiming it now, or it has just finished
            locked = self._try_lock(str(job_id))
            fresh_run = row["state"] == "running" and row["heartbeat_utc"] >= stale
            if locked or not fresh_run:
                # a stale running job whose lock is still held: taken as before, after stale_s
                return row
        return None

    def requeue_running(self, conn: Connection) -> int:
        """Put every running job back in the queue: for a single runner starting up (SQLite), whose
        running jobs can only be those of a process that died; their done steps are kept."""
        res = conn.execute(
            update(pipeline_job).where(pipeline_job.c.state == "running").values(state="queued")
        )
        return int(res.rowcount or 0)

    def heartbeat(self, conn: Connection, job_id: str) -> None:
        """The runner is still on this job (called as each step commits): not stale."""
        conn.execute(update(pipeline_job).where(pipeline_job.c.job_id == job_id).values(heartbeat_utc=_now()))

    def mark_step(
        self,
        conn: Connection,
        job_id: str,
        step: str,
        started_utc: datetime,
        counts: Mapping[str, object],
        *,
        error: str | None = None,
    ) -> None:
        """Record a step done (or failed, with `error`), in the caller's transaction."""
        s = pipeline_step.c
        conn.execute(delete(pipeline_step).where(s.job_id == job_id, s.step == step))
        conn.execute(
            insert(pipeline_step).values(
                job_id=job_id,
                step=step,
                started_utc=started_utc.astimezone(UTC).replace(tzinfo=None),
                finished_utc=_now(),
                counts=json.dumps(dict(counts), sort_keys=True, default=str),
                state="failed" if error else "done",
                error=error,
            )
        )
        if error is None:
            self.heartbeat(conn, job_id)

    def finish(self, conn: Connection, job_id: str, *, error: str | None = None) -> None:
        """The job is done (or failed with `error`); finished jobs beyond `keep_done` are dropped."""
        conn.execute(
            update(pipeline_job)
            .where(pipeline_job.c.job_id == job_id)
            .values(state="failed" if error else "done", finished_utc=_now(), error=error)
        )
        self._trim(conn)

    def _trim(self, conn: Connection) -> None:
        j = pipeline_job.c
        cut = conn.execute(
            select(j.seq).where(j.state == "done").order_by(j.seq.desc()).offset(self.keep_done).limit(1)
        ).scalar()
        if cut is None:
            return
        old = select(j.job_id).where(j.state == "done", j.seq <= cut)
        conn.execute(delete(pipeline_step).where(pipeline_step.c.job_id.in_(old)))
        conn.execute(delete(pipeline_job).where(j.state == "done", j.seq <= cut))

    # ------------------------------------------------------------ reading
    def _job(self, conn: Connection, job_id: str) -> JobRecord | None:
        row = conn.execute(select(pipeline_job).where(pipeline_job.c.job_id == job_id)).mappings().first()
        if row is None:
            return None
        steps = conn.execute(
            select(pipeline_step).where(pipeline_step.c.job_id == job_id).order_by(pipeline_step.c.seq)
        ).mappings()
        return _record(row, tuple(_step(s) for s in steps))

    def get(self, job_id: str) -> JobRecord | None:
        with self.engine.connect() as conn:
            return self._job(conn, job_id)

    def list(self, *, limit: int = 100, state: str | None = None) -> list[JobRecord]:
        """The newest jobs first, with their steps."""
        j = pipeline_job.c
        q = select(pipeline_job).order_by(j.seq.desc()).limit(limit)
        if state is not None:
            q = q.where(j.state == state)
        with self.engine.connect() as conn:
            rows = list(conn.execute(q).mappings())
            ids = [r["job_id"] for r in rows]
            steps: dict[str, list[StepRecord]] = {}
            for start in range(0, len(ids), 500):
                sq = (
                    select(pipeline_step)
                    .where(pipeline_step.c.job_id.in_(ids[start : start + 500]))
                    .order_by(pipeline_step.c.seq)
                )
                for s in conn.execute(sq).mappings():
                    steps.setdefault(s["job_id"], []).append(_step(s))
        return [_record(r, tuple(steps.get(r["job_id"], ()))) for r in rows]

    def counts(self) -> dict[str, int]:
        """Jobs per state."""
        j = pipeline_job.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(j.state, func.count()).group_by(j.state)).all()
        return {s: 0 for s in JOB_STATES} | {str(s): int(n) for s, n in rows}

    def iter_all(self) -> Iterator[JobRecord]:
        yield from self.list(limit=self.keep_done + 1000)


def _step(s: Mapping[Any, Any]) -> StepRecord:
    return StepRecord(
        step=str(s["step"]),
        state=str(s["state"]),
        started_utc=_utc_set(s["started_utc"]),
        finished_utc=_utc_set(s["finished_utc"]),
        counts=json.loads(str(s["counts"])),
        error=None if s["error"] is None else str(s["error"]),
    )


def _record(r: Mapping[Any, Any], steps: tuple[StepRecord, ...]) -> JobRecord:
    return JobRecord(
        job_id=str(r["job_id"]),
        kind=str(r["kind"]),
        sha256=str(r["sha256"]),
        path=str(r["path"]),
        state=str(r["state"]),
        attempts=int(r["attempts"]),
        queued_utc=_utc_set(r["queued_utc"]),
        started_utc=_utc(r["started_utc"]),
        finished_utc=_utc(r["finished_utc"]),
        error=None if r["error"] is None else str(r["error"]),
        steps=steps,
    )


class HttpValidators:
    """The last ETag and Last-Modified of each polled URL, in the node's database: a restarted node's
    first fetch of an unchanged source is then conditional (a 304 and no body). A validator is saved
    only once its body is a file in the watched directory, so a crash in between costs one
    unconditional fetch of content that is the same job as before, never a lost body."""

    def __init__(self, store: CatalogStore):
        self.engine = store.engine

    @staticmethod
    def _key(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()

    def load(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) last saved for `url`; (None, None) when never fetched."""
        v = pipeline_http_validator.c
        q = select(v.etag, v.last_modified).where(v.url_sha256 == self._key(url))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return (None, None) if row is None else (row[0], row[1])

    def save(self, url: str, etag: str | None, last_modified: str | None) -> None:
        key = self._key(url)
        with self.engine.begin() as conn:  # delete + insert: one portable upsert in one transaction
            conn.execute(delete(pipeline_http_validator).where(pipeline_http_validator.c.url_sha256 == key))
            conn.execute(
                insert(pipeline_http_validator).values(
                    url_sha256=key, url=url, etag=etag, last_modified=last_modified, updated_utc=_now()
                )
            )
