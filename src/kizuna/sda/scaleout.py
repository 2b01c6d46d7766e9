"""The same screening over a Dask cluster: the time grid is cut into partitions, each a pure
call of :func:`kizuna.sda.screening.screen_partition`; results merge exactly as in one process
(every grid step belongs to one partition, and an encounter refined from both sides of a
partition edge converges to the same TCA and is kept once)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from kizuna.model.records import ElementSet
from kizuna.orbit.timescale import as_datetime64
from kizuna.sda.records import ScreeningResult, ScreeningVolume
from kizuna.sda.screening import DEFAULT_STEP_S, finish, grid_steps, merge_found, prepare, screen_partition


def screen_dask(client, element_sets: Sequence[ElementSet], start_utc: object, stop_utc: object, *,  # type: ignore[no-untyped-def]
                primaries: Iterable[int] | None = None, volume: ScreeningVolume | None = None,
                threshold_km: float | None = None, step_s: float = DEFAULT_STEP_S, stale_days: float = 14.0,
                partitions: int | None = None, hbr_m: Mapping[int, tuple[float, str]] | None = None,
                ) -> ScreeningResult:
    """Screen on a `distributed.Client` (a LocalCluster or `Client("tcp://...")`)."""
    if volume is None:
        volume = ScreeningVolume.sphere(10.0 if threshold_km is None else threshold_km)
    cat = prepare(element_sets, start_utc, primaries=primaries, threshold_km=volume.bound_km,
                  stale_days=stale_days)
    start_ns = int(as_datetime64(start_utc)[0].astype("int64"))
    stop_ns = int(as_datetime64(stop_utc)[0].astype("int64"))
    grid = grid_steps(start_utc, stop_utc, step_s)
    if partitions is None:
        partitions = max(1, 4 * sum(client.nthreads().values()))
    cat_f = client.scatter(cat, broadcast=True)
    futures = [client.submit(screen_partition, cat_f, part, start_ns, stop_ns, step_s, volume, pure=True)
               for part in np.array_split(grid, partitions) if len(part)]
    parts = client.gather(futures)
    errors: dict[int, tuple[int, int]] = {}
    for _found, errs, _n in parts:
        for i, (code, nbad) in errs.items():
            prev = errors.get(i, (code, 0))
            errors[i] = (prev[0], prev[1] + nbad)
    found = merge_found(p[0] for p in parts)
    return finish(cat, found, errors, sum(p[2] for p in parts), start_ns, stop_ns, volume, step_s,
                  len(grid), hbr_m)
