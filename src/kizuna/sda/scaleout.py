"""The same screening over several processes or a Dask cluster: the time grid is cut into
partitions, each a pure call of :func:`kizuna.sda.screening.screen_partition`; results merge
exactly as in one process (every grid step belongs to one partition, and an encounter refined
from both sides of a partition edge converges to the same TCA and is kept once).

Partitions are contiguous blocks of the coarse time grid, not blocks of objects: every object
can meet every other at any time, so an object partition must still compare each block with all
the others (N^2/2 block pairs, each moving two blocks), while a time block needs the whole
prepared catalog once per worker and nothing else. docs/screening-at-scale.md has the numbers.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from kizuna.model.records import ElementSet
from kizuna.sda.records import ScreeningResult, ScreeningVolume
from kizuna.sda.screening import (
    DEFAULT_STEP_S,
    PreparedCatalog,
    event_columns,
    finish,
    merge_events,
    merge_found,
    object_hbr,
    primary_first,
    screen_partition,
    setup_run,
)

#: blocks per worker: steps do not all cost the same (the 7-day full-catalog run left one of two
#: workers idle while the other finished its half), so each worker takes several blocks as it frees
#: up; more blocks only add edge refinements and a little scheduling
BLOCKS_PER_WORKER = 4

Progress = Callable[[int, int], None]


class Part(NamedTuple):
    """What one time partition returns: numpy arrays, not Python tuples (a 100,000-object
    catalog finds ~5 M events a day)."""

    #: (n, 3) int64 rows (i, j, tca_ns) refined inside the volume, as :func:`screen_partition`
    found: np.ndarray
    #: SGP4 errors per catalog index: (first error code, grid steps lost)
    errors: dict[int, tuple[int, int]]
    n_candidates: int
    #: :func:`~kizuna.sda.screening.event_columns` of `found` primary first, row for row;
    #: None when the events are built after the merge instead
    columns: dict[str, np.ndarray] | None = None


def screen_partition_events(
    cat: PreparedCatalog,
    grid_ns: np.ndarray,
    start_ns: int,
    stop_ns: int,
    step_s: float,
    volume: ScreeningVolume,
    radius_m: np.ndarray,
    sats: dict[int, Any] | None = None,
) -> Part:
    """:func:`screen_partition` and the event columns of what it found (SGP4 states, frames and
    Pc at each TCA), so that building the events runs in the workers, in parallel, and the
    merge only picks rows. `radius_m`: hard-body radius of each catalog object; `sats`: SGP4
    records by catalog index kept between calls (8 us each; a block meets most objects)."""
    sats = {} if sats is None else sats
    found, errors, n_cand = screen_partition(cat, grid_ns, start_ns, stop_ns, step_s, volume, sats=sats)
    return Part(found, errors, n_cand, event_columns(cat, primary_first(cat, found), radius_m, sats))


def time_blocks(grid_ns: np.ndarray, n_blocks: int) -> list[np.ndarray]:
    """Contiguous, non-empty blocks of the grid, in time order, covering every step once."""
    return [b for b in np.array_split(grid_ns, max(1, n_blocks)) if len(b)]


def _combine(
    cat: PreparedCatalog,
    parts: Sequence[Part],
    start_ns: int,
    stop_ns: int,
    volume: ScreeningVolume,
    step_s: float,
    n_steps: int,
    hbr_m: Mapping[int, tuple[float, str]] | None,
) -> ScreeningResult:
    """Merge partitions given in time order (so the SGP4 error code kept per object is the
    first one in time, as in one process)."""
    errors: dict[int, tuple[int, int]] = {}
    for part in parts:
        for i, (code, nbad) in part.errors.items():
            prev = errors.get(i, (code, 0))
            errors[i] = (prev[0], prev[1] + nbad)
    n_cand = sum(p.n_candidates for p in parts)
    if all(p.columns is not None for p in parts):
        events = merge_events(cat, [(p.found, p.columns or {}) for p in parts], hbr_m)
        return finish(cat, None, errors, n_cand, start_ns, stop_ns, volume, step_s, n_steps, hbr_m, events)
    found = merge_found(p.found for p in parts)
    return finish(cat, found, errors, n_cand, start_ns, stop_ns, volume, step_s, n_steps, hbr_m)


def screen_dask(
    client: Any,
    element_sets: Sequence[ElementSet],
    start_utc: object,
    stop_utc: object,
    *,
    primaries: Iterable[int] | None = None,
    volume: ScreeningVolume | None = None,
    threshold_km: float | None = None,
    step_s: float = DEFAULT_STEP_S,
    stale_days: float = 14.0,
    partitions: int | None = None,
    hbr_m: Mapping[int, tuple[float, str]] | None = None,
    progress: Progress | None = None,
) -> ScreeningResult:
    """Screen on a `distributed.Client` (`Client("tcp://host:8786")` to a cluster started with
    `dask scheduler` and `dask worker tcp://host:8786`, or a LocalCluster).

    The prepared catalog is scattered once to every worker; each task is one time block and
    builds its own events. `progress(done_steps, total_steps)` is called as blocks finish."""
    from distributed import as_completed

    cat, volume, start_ns, stop_ns, grid = setup_run(
        element_sets, start_utc, stop_utc, primaries, volume, threshold_km, step_s, stale_days
    )
    if partitions is None:
        partitions = max(1, BLOCKS_PER_WORKER * sum(client.nthreads().values()))
    blocks = time_blocks(grid, partitions)
    cat_f = client.scatter(cat, broadcast=True)
    radius_f = client.scatter(object_hbr(cat, hbr_m)[0], broadcast=True)
    futures = [
        client.submit(
            screen_partition_events, cat_f, b, start_ns, stop_ns, step_s, volume, radius_f, pure=True
        )
        for b in blocks
    ]
    index = {f.key: k for k, f in enumerate(futures)}
    parts: list[Part | None] = [None] * len(blocks)
    done = 0
    for fut in as_completed(futures):
        k = index[fut.key]
        parts[k] = fut.result()
        done += len(blocks[k])
        if progress:
            progress(done, len(grid))
    return _combine(cat, _all(parts), start_ns, stop_ns, volume, step_s, len(grid), hbr_m)


def _all(parts: Sequence[Part | None]) -> list[Part]:
    out = [p for p in parts if p is not None]
    if len(out) != len(parts):  # every future is awaited above; a gap would be a lost block
        raise RuntimeError(f"{len(parts) - len(out)} screening blocks returned no result")
    return out


# --------------------------------------------------------------------------- local processes

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def pack_catalog(cat: PreparedCatalog, radius_m: np.ndarray) -> bytes:
    """The prepared catalog as worker processes need it, compact: one array per element-set
    field (epochs as integer microseconds, a TLE epoch's resolution), the catalog's arrays and
    the hard-body radii, pickled once for all the workers (the pool's initializer pickled the
    catalog once per process, with the parent blocked). For the 23,907 sets of the 2022 catalog:
    50 ms of CPU to pack against 180 ms to pickle the dataclasses, the same 5.6 MB, ~200 ms to
    unpack in each worker either way (making the ElementSets)."""
    columns: dict[str, Any] = {}
    for f in dataclasses.fields(ElementSet):
        values = [getattr(e, f.name) for e in cat.sets]
        if all(type(v) is float for v in values):
            columns[f.name] = np.array(values, np.float64)
        elif all(type(v) is int for v in values):
            columns[f.name] = np.array(values, np.int64)
        elif all(type(v) is datetime and v.tzinfo is UTC for v in values):
            columns[f.name] = np.array([(v - _UNIX_EPOCH) // _US for v in values], np.int64)
            columns[f.name + ":us"] = True
        else:  # text, or mixed types: as they are
            columns[f.name] = values
    arrays = (cat.norad_ids, cat.is_primary, cat.perigee_km, cat.apogee_km, radius_m)
    return pickle.dumps((len(cat.sets), columns, arrays), protocol=pickle.HIGHEST_PROTOCOL)


def unpack_catalog(payload: bytes) -> tuple[PreparedCatalog, np.ndarray]:
    """(catalog, hard-body radius per object) from :func:`pack_catalog`: the same element sets
    field for field; the problems stay with the parent, which reports them."""
    n, columns, (ids, is_primary, perigee_km, apogee_km, radius_m) = pickle.loads(payload)
    values: dict[str, list[Any]] = {}
    for f in dataclasses.fields(ElementSet):
        col = columns[f.name]
        if columns.get(f.name + ":us"):
            values[f.name] = [_UNIX_EPOCH + timedelta(microseconds=us) for us in col.tolist()]
        else:
            values[f.name] = col.tolist() if isinstance(col, np.ndarray) else list(col)
    names = list(values)
    sets = tuple(
        ElementSet(**dict(zip(names, row, strict=True))) for row in zip(*values.values(), strict=True)
    )
    if len(sets) != n:
        raise ValueError(f"packed catalog holds {len(sets)} element sets, not {n}")
    return PreparedCatalog(sets, ids, is_primary, perigee_km, apogee_km, ()), radius_m


# the catalog of the run in progress, unpacked once per worker process (a worker serves one run),
# with its hard-body radii and the SGP4 records made so far
_WORKER_CAT: dict[str, tuple[PreparedCatalog, np.ndarray, dict[int, Any]]] = {}


def _warm_up() -> None:
    """A worker's first task: nothing; unpickling it imported this module, so numpy, numba, sgp4
    and the screening code are loaded before the catalog is ready."""


def _screen_block(
    run: str,
    payload: bytes,
    block: np.ndarray,
    start_ns: int,
    stop_ns: int,
    step_s: float,
    volume: ScreeningVolume,
) -> Part:
    if run not in _WORKER_CAT:
        _WORKER_CAT.clear()
        _WORKER_CAT[run] = (*unpack_catalog(payload), {})
    cat, radius_m, sats = _WORKER_CAT[run]
    return screen_partition_events(cat, block, start_ns, stop_ns, step_s, volume, radius_m, sats)


class LocalWorkers:
    """`n` spawned worker processes, started at once and left to import the screening code while
    the caller reads and prepares the catalog (~1.5 s a process, which used to block the parent
    one process after the other). Use as a context manager, or `close()`."""

    def __init__(self, n: int):
        if n < 1:
            raise ValueError(f"workers must be at least 1, not {n}")
        self.n = n
        # spawn, not fork: the parent may hold threads (BLAS, a progress bar) that fork would copy
        # in an arbitrary state
        self.pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"))
        # one submit per process: a spawning pool starts a process for each task no idle worker
        # takes, so all n start now, each sent only this small task
        self._warm: list[Future[None]] = [self.pool.submit(_warm_up) for _ in range(n)]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def screen_local(
    element_sets: Sequence[ElementSet],
    start_utc: object,
    stop_utc: object,
    *,
    workers: int = 2,
    primaries: Iterable[int] | None = None,
    volume: ScreeningVolume | None = None,
    threshold_km: float | None = None,
    step_s: float = DEFAULT_STEP_S,
    stale_days: float = 14.0,
    hbr_m: Mapping[int, tuple[float, str]] | None = None,
    progress: Progress | None = None,
    pool: LocalWorkers | None = None,
) -> ScreeningResult:
    """Screen with `workers` local processes over contiguous blocks of the time grid.

    The sweep is numpy and SGP4 code that holds the GIL for much of its time, so threads do not
    scale; processes do. No cluster needed: this is the plain way to use every core of one box.
    `workers` 1 screens in this process. `pool`: processes started earlier (:class:`LocalWorkers`,
    as many as `workers`; the caller closes it), else they are started here and closed after.
    `progress(done_steps, total_steps)` is called as the sweep advances (per step in one
    process, per finished block with several). Each block builds its own events; the merge
    picks their rows, so the result equals the one-process :func:`~kizuna.sda.screening.screen`
    event for event, bit for bit."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if pool is not None and pool.n != workers:
        raise ValueError(f"a pool of {pool.n} processes for {workers} workers")
    own = LocalWorkers(workers) if pool is None and workers > 1 else None
    try:
        cat, volume, start_ns, stop_ns, grid = setup_run(
            element_sets, start_utc, stop_utc, primaries, volume, threshold_km, step_s, stale_days
        )
        blocks = time_blocks(grid, BLOCKS_PER_WORKER * workers if workers > 1 else 1)
        if len(blocks) <= 1:
            done = [0]

            def tick(n: int) -> None:
                done[0] += n
                if progress:
                    progress(done[0], len(grid))

            parts = [Part(*screen_partition(cat, grid, start_ns, stop_ns, step_s, volume, tick))]
        else:
            workers_pool = pool or own
            assert workers_pool is not None  # workers > 1 here: given or started above
            payload = pack_catalog(cat, object_hbr(cat, hbr_m)[0])
            parts = _run_pool(workers_pool, payload, blocks, start_ns, stop_ns, step_s, volume, progress)
            del payload
    finally:
        if own is not None:
            own.close()
    return _combine(cat, parts, start_ns, stop_ns, volume, step_s, len(grid), hbr_m)


def _run_pool(
    workers: LocalWorkers,
    payload: bytes,
    blocks: list[np.ndarray],
    start_ns: int,
    stop_ns: int,
    step_s: float,
    volume: ScreeningVolume,
    progress: Progress | None,
) -> list[Part]:
    total = sum(len(b) for b in blocks)
    results: list[Part | None] = [None] * len(blocks)
    run = uuid.uuid4().hex  # which catalog: a worker unpacks it once, on its first block
    pending = {
        workers.pool.submit(_screen_block, run, payload, b, start_ns, stop_ns, step_s, volume): k
        for k, b in enumerate(blocks)
    }
    try:
        done_steps = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                k = pending.pop(fut)
                results[k] = fut.result()
                done_steps += len(blocks[k])
            if progress:
                progress(done_steps, total)
    finally:
        for fut in pending:  # a block failed (or the caller was interrupted): drop the rest
            fut.cancel()
    return _all(results)
