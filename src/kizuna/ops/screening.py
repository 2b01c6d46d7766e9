"""Conjunction screening of a stored catalog: which primaries, which element sets, which window.

The command line validates and prints; this module decides what is screened and says what it used
(window, volume, step, the epoch range of the element sets screened), so every output can state it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kizuna.errors import KizunaError
from kizuna.model.records import ElementSet
from kizuna.sda.records import ScreeningResult, ScreeningVolume
from kizuna.sda.screening import DEFAULT_STEP_S
from kizuna.store import CatalogStore

if TYPE_CHECKING:
    from kizuna.sda.scaleout import LocalWorkers

#: problem reasons for which an element set was left out of the screening entirely
_NOT_SCREENED = ("stale", "duplicate-elements", "no-elements")


class ScreeningRequestError(KizunaError):
    """The request cannot be screened against this catalog (empty catalog, no such primaries)."""


@dataclass(frozen=True)
class ScreeningRequest:
    """What to screen. Exactly one selector: `assets` (NORAD ids), `owner` (SATCAT owner: its
    payloads) or `all_vs_all`. `start_utc` None: the catalog's median epoch, to the hour."""

    assets: tuple[int, ...] = ()
    owner: str | None = None
    all_vs_all: bool = False
    start_utc: datetime | None = None
    days: float = 1.0
    volume: ScreeningVolume = field(default_factory=lambda: ScreeningVolume.sphere(10.0))
    step_s: float = DEFAULT_STEP_S
    stale_days: float = 14.0
    hbr_table_path: Path | None = None
    sigma_rtn_km: tuple[float, float, float] | None = None
    # None or "local": processes on this machine (`workers` of them); "tcp://host:port": a Dask
    # scheduler whose workers do the screening
    scheduler: str | None = None
    # local processes; 1: in this process; None: one per core when the screening is big enough
    # to pay for starting them (see local_workers)
    workers: int | None = 1

    def __post_init__(self) -> None:
        if sum([bool(self.assets), bool(self.owner), self.all_vs_all]) != 1:
            raise ScreeningRequestError("give exactly one of assets, owner or all-vs-all")
        if self.workers is not None and self.workers < 1:
            raise ScreeningRequestError(f"workers must be at least 1, not {self.workers}")
        if self.scheduler not in (None, "local") and "://" not in str(self.scheduler):
            raise ScreeningRequestError(
                f"scheduler {self.scheduler!r}: 'local' or a Dask scheduler address such as tcp://host:8786"
            )

    @property
    def on_cluster(self) -> bool:
        return self.scheduler not in (None, "local")


#: object-steps (element sets x coarse grid steps) worth one more local process: the sweep runs
#: ~0.5-0.7 M object-steps/s per core (benchmarks/results/screening.json), and starting a spawned
#: worker and sending it the catalog costs ~1-2 s, so below ~3 s of work per process the start-up
#: eats the gain
OBJECT_STEPS_PER_WORKER = 2_000_000
#: how long to try reaching a Dask scheduler before saying it cannot be reached [s]
CONNECT_TIMEOUT_S = 10.0


def local_workers(request: ScreeningRequest, n_sets: int, n_steps: int) -> int:
    """How many local processes screen: `request.workers` when given; otherwise every core, but
    no more than the work pays for (a small screening runs in this process)."""
    if request.workers is not None:
        return request.workers
    cores = os.cpu_count() or 1
    if request.scheduler == "local":  # asked for processes: one per core
        return cores
    return max(1, min(cores, (n_sets * n_steps) // OBJECT_STEPS_PER_WORKER))


@dataclass(frozen=True)
class ScreeningRun:
    """A screening and the facts it was computed from."""

    result: ScreeningResult
    parameters: dict[str, Any]
    #: asked-for assets with no element set in the catalog (the caller warns and exits non-zero)
    missing_assets: tuple[int, ...] = ()


def resolve_primaries(
    store: CatalogStore, request: ScreeningRequest, sets: Sequence[ElementSet]
) -> tuple[list[int] | None, tuple[int, ...]]:
    """(primary ids or None for all-vs-all, asked-for ids missing from the catalog)."""
    if request.all_vs_all:
        return None, ()
    if request.owner:
        primaries = [e.norad_id for e in store.search(owner=request.owner, object_type="PAYLOAD")]
        if not primaries:
            raise ScreeningRequestError(f"no payloads of owner {request.owner} in the catalog")
        return primaries, ()
    known = {s.norad_id for s in sets}
    missing = tuple(sorted(set(request.assets) - known))
    primaries = [n for n in dict.fromkeys(request.assets) if n in known]
    if not primaries:
        raise ScreeningRequestError(
            f"no element sets for any asset ({', '.join(map(str, missing))}): nothing to screen"
        )
    return primaries, missing


def default_start(sets: Sequence[ElementSet]) -> datetime:
    """The catalog's median epoch, truncated to the hour: a window the catalog describes well."""
    median = sorted(e.epoch_utc for e in sets)[len(sets) // 2]
    return median.replace(minute=0, second=0, microsecond=0)


def run_screening(
    store: CatalogStore,
    request: ScreeningRequest,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ScreeningRun:
    """Screen the store's newest element sets as `request` says; the result and its parameters."""
    # Worker processes take ~1.5 s each to start (a fresh interpreter importing numpy, numba and
    # the screening code): start them now, to import while this process reads the catalog.
    early = _early_workers(store, request)
    try:
        return _run(store, request, progress, early)
    finally:
        if early is not None:
            early.close()


def _early_workers(store: CatalogStore, request: ScreeningRequest) -> LocalWorkers | None:
    """Local worker processes started before the catalog is read, when the screening will use
    them: `request.workers` if given, else one per core when even the catalog's count of
    element sets (the most that can be screened) pays for them."""
    if request.on_cluster or request.workers == 1:
        return None
    from kizuna.sda.scaleout import LocalWorkers

    n = request.workers
    if n is None:
        n_steps = math.ceil(request.days * 86400.0 / request.step_s) + 1
        n = local_workers(request, store.count_element_sets(), n_steps)
    return LocalWorkers(n) if n > 1 else None


def _run(
    store: CatalogStore,
    request: ScreeningRequest,
    progress: Callable[[int, int], None] | None,
    early: LocalWorkers | None,
) -> ScreeningRun:
    from datetime import timedelta

    from kizuna.sda.hbr import hbr_table, parse_cara_hbr

    sets = store.latest_element_sets()
    if not sets:
        raise ScreeningRequestError("the catalog is empty; run `kizuna catalog load` first")
    primaries, missing = resolve_primaries(store, request, sets)
    t0 = request.start_utc or default_start(sets)
    t0 = t0 if t0.tzinfo else t0.replace(tzinfo=UTC)
    t1 = t0 + timedelta(days=request.days)
    cara: list[tuple[int, float, str]] = []
    if request.hbr_table_path is not None:
        path = request.hbr_table_path
        cara = parse_cara_hbr(path.read_text(encoding="utf-8"), str(path)).records
    hbr = hbr_table([e.space_object for e in store.search() if e.space_object is not None], cara)
    kwargs: dict[str, Any] = dict(
        primaries=primaries,
        volume=request.volume,
        step_s=request.step_s,
        stale_days=request.stale_days,
        hbr_m=hbr,
    )
    workers = 0  # a cluster's workers are the scheduler's, not counted here
    if request.on_cluster:
        result = _on_cluster(str(request.scheduler), sets, t0, t1, kwargs, progress)
    else:
        from kizuna.sda.scaleout import screen_local

        n_steps = math.ceil(request.days * 86400.0 / request.step_s) + 1
        workers = local_workers(request, len(sets), n_steps)
        # the early processes serve when they are as many as the work pays for (the count of
        # element sets above may include history: then fewer, or none, are used)
        pool = early if early is not None and early.n == workers else None
        result = screen_local(sets, t0, t1, workers=workers, progress=progress, pool=pool, **kwargs)
    if request.sigma_rtn_km is not None:
        from kizuna.sda.assess import with_covariance_pc

        result = replace(result, events=with_covariance_pc(result.events, {}, request.sigma_rtn_km))
    params = _parameters(request, result, sets, t0, t1, primaries)
    # how it ran: the cluster's address, or one process, or this many local processes
    if not request.on_cluster:
        params["scheduler"] = "single-process" if workers == 1 else "local"
    params["workers"] = workers
    return ScreeningRun(result, params, missing)


def _on_cluster(
    address: str,
    sets: Sequence[ElementSet],
    t0: datetime,
    t1: datetime,
    kwargs: dict[str, Any],
    progress: Callable[[int, int], None] | None,
) -> ScreeningResult:
    try:
        from distributed import Client
    except ImportError as exc:  # an optional extra: say which, not a traceback
        raise ScreeningRequestError(f"scheduler {address}: needs the 'distributed' package") from exc
    from kizuna.sda.scaleout import screen_dask

    try:
        client = Client(address, timeout=f"{CONNECT_TIMEOUT_S:g}s")
    except (OSError, TimeoutError) as exc:
        raise ScreeningRequestError(f"scheduler {address}: cannot connect ({exc})") from exc
    with client:
        return screen_dask(client, sets, t0, t1, progress=progress, **kwargs)


def _parameters(
    request: ScreeningRequest,
    result: ScreeningResult,
    sets: Sequence[ElementSet],
    t0: datetime,
    t1: datetime,
    primaries: list[int] | None,
) -> dict[str, Any]:
    left_out = {p.norad_id for p in result.problems if p.reason in _NOT_SCREENED}
    epochs = [s.epoch_utc for s in sets if s.norad_id not in left_out]
    v = request.volume
    selector: dict[str, Any]
    if request.all_vs_all:
        selector = {"all": True}
    elif request.owner:
        selector = {"owner": request.owner}
    else:
        selector = {"assets": list(primaries or [])}
    return {
        **selector,
        "start_utc": _iso(t0),
        "stop_utc": _iso(t1),
        "days": request.days,
        "volume": {
            "shape": v.shape,
            "radial_km": v.radial_km,
            "intrack_km": v.intrack_km,
            "crosstrack_km": v.crosstrack_km,
        },
        "threshold_km": v.bound_km,
        "step_s": request.step_s,
        "stale_days": request.stale_days,
        "sigma_rtn_km": list(request.sigma_rtn_km) if request.sigma_rtn_km else None,
        "hbr_table": str(request.hbr_table_path) if request.hbr_table_path else None,
        "scheduler": request.scheduler or "single-process",
        "catalog_element_sets": len(sets),
        "catalog_epoch_first_utc": _iso(min(epochs)) if epochs else None,
        "catalog_epoch_last_utc": _iso(max(epochs)) if epochs else None,
    }


def _iso(dt: datetime) -> str:
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")
