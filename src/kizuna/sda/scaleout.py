"""The same screening over several processes or a Dask cluster: the time grid is cut into
partitions, each a pure call of :func:`kizuna.sda.screening.screen_partition`; results merge
exactly as in one process (every grid step belongs to one partition, and an encounter refined
from both sides of a partition edge converges to the same TCA and is kept once)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from kizuna.model.records import ElementSet
from kizuna.sda.records import ScreeningResult, ScreeningVolume
from kizuna.sda.screening import (
    DEFAULT_STEP_S,
    finish,
    merge_found,
    screen_partition,
    setup_run,
)


def _combine(cat, parts, start_ns, stop_ns, volume, step_s, n_steps, hbr_m) -> ScreeningResult:
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
    client,
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
) -> ScreeningResult:
    """Screen on a `distributed.Client` (a LocalCluster or `Client("tcp://...")`)."""
    cat, volume, start_ns, stop_ns, grid = setup_run(
        element_sets, start_utc, stop_utc, primaries, volume, threshold_km, step_s, stale_days
    )
    if partitions is None:
        partitions = max(1, 4 * sum(client.nthreads().values()))
    cat_f = client.scatter(cat, broadcast=True)
    futures = [
        client.submit(screen_partition, cat_f, part, start_ns, stop_ns, step_s, volume, pure=True)
        for part in np.array_split(grid, partitions)
        if len(part)
    ]
    parts = client.gather(futures)
    return _combine(cat, parts, start_ns, stop_ns, volume, step_s, len(grid), hbr_m)


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
) -> ScreeningResult:
    """Screen with `workers` local processes over contiguous blocks of the time grid.

    The sweep is numpy and SGP4 code that holds the GIL for much of its time, so threads do not
    scale; processes do. No cluster needed: this is the plain way to use every core of one box.
    The grid is cut into 4 blocks per worker, handed out as workers free up: steps do not all cost
    the same, and with one block per worker the 7-day full-catalog run left one worker idle while
    the other finished its half."""
    cat, volume, start_ns, stop_ns, grid = setup_run(
        element_sets, start_utc, stop_utc, primaries, volume, threshold_km, step_s, stale_days
    )
    blocks = [b for b in np.array_split(grid, 4 * workers if workers > 1 else 1) if len(b)]
    if len(blocks) <= 1:
        parts = [screen_partition(cat, grid, start_ns, stop_ns, step_s, volume)]
    else:
        # spawn, not fork: the parent may hold threads (BLAS, a progress bar) that fork would copy
        # in an arbitrary state
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(screen_partition, cat, b, start_ns, stop_ns, step_s, volume) for b in blocks
            ]
            parts = [f.result() for f in futures]
    return _combine(cat, parts, start_ns, stop_ns, volume, step_s, len(grid), hbr_m)
