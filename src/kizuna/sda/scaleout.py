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

import multiprocessing
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

import numpy as np

from kizuna.model.records import ElementSet
from kizuna.sda.records import ScreeningResult, ScreeningVolume
from kizuna.sda.screening import (
    DEFAULT_STEP_S,
    PreparedCatalog,
    finish,
    merge_found,
    screen_partition,
    setup_run,
)

#: blocks per worker: steps do not all cost the same (the 7-day full-catalog run left one of two
#: workers idle while the other finished its half), so each worker takes several blocks as it frees
#: up; more blocks only add edge refinements and a little scheduling
BLOCKS_PER_WORKER = 4

Progress = Callable[[int, int], None]
Part = tuple[list[tuple[int, int, int]], dict[int, tuple[int, int]], int]


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
    for _found, errs, _n in parts:
        for i, (code, nbad) in errs.items():
            prev = errors.get(i, (code, 0))
            errors[i] = (prev[0], prev[1] + nbad)
    found = merge_found(p[0] for p in parts)
    return finish(
        cat, found, errors, sum(p[2] for p in parts), start_ns, stop_ns, volume, step_s, n_steps, hbr_m
    )


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

    The prepared catalog is scattered once to every worker; each task is one time block.
    `progress(done_steps, total_steps)` is called as blocks finish."""
    from distributed import as_completed

    cat, volume, start_ns, stop_ns, grid = setup_run(
        element_sets, start_utc, stop_utc, primaries, volume, threshold_km, step_s, stale_days
    )
    if partitions is None:
        partitions = max(1, BLOCKS_PER_WORKER * sum(client.nthreads().values()))
    blocks = time_blocks(grid, partitions)
    cat_f = client.scatter(cat, broadcast=True)
    futures = [
        client.submit(screen_partition, cat_f, b, start_ns, stop_ns, step_s, volume, pure=True)
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


# one catalog per worker process, sent once by the pool's initializer instead of once per block
_WORKER_CAT: PreparedCatalog | None = None


def _init_worker(cat: PreparedCatalog) -> None:
    global _WORKER_CAT
    _WORKER_CAT = cat


def _screen_block(
    block: np.ndarray, start_ns: int, stop_ns: int, step_s: float, volume: ScreeningVolume
) -> Part:
    if _WORKER_CAT is None:  # the initializer always runs first; this guards a misuse
        raise RuntimeError("screening worker started without its catalog")
    return screen_partition(_WORKER_CAT, block, start_ns, stop_ns, step_s, volume)


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
) -> ScreeningResult:
    """Screen with `workers` local processes over contiguous blocks of the time grid.

    The sweep is numpy and SGP4 code that holds the GIL for much of its time, so threads do not
    scale; processes do. No cluster needed: this is the plain way to use every core of one box.
    `workers` 1 screens in this process. `progress(done_steps, total_steps)` is called as the
    sweep advances (per step in one process, per finished block with several)."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
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

        parts = [screen_partition(cat, grid, start_ns, stop_ns, step_s, volume, tick)]
    else:
        parts = _run_pool(cat, blocks, min(workers, len(blocks)), start_ns, stop_ns, step_s, volume, progress)
    return _combine(cat, parts, start_ns, stop_ns, volume, step_s, len(grid), hbr_m)


def _run_pool(
    cat: PreparedCatalog,
    blocks: list[np.ndarray],
    workers: int,
    start_ns: int,
    stop_ns: int,
    step_s: float,
    volume: ScreeningVolume,
    progress: Progress | None,
) -> list[Part]:
    total = sum(len(b) for b in blocks)
    results: list[Part | None] = [None] * len(blocks)
    # spawn, not fork: the parent may hold threads (BLAS, a progress bar) that fork would copy
    # in an arbitrary state
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(cat,),
    ) as pool:
        pending = {
            pool.submit(_screen_block, b, start_ns, stop_ns, step_s, volume): k for k, b in enumerate(blocks)
        }
        done_steps = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                k = pending.pop(fut)
                results[k] = fut.result()
                done_steps += len(blocks[k])
            if progress:
                progress(done_steps, total)
    return _all(results)
