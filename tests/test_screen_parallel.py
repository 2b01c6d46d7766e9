"""Screening over local processes builds the events in the workers and still gives the
one-process result bit for bit.

References: the one-process `screen()` (events, columns, objects, problems) and, for the merge,
`build_events` over `merge_found`'s rows, which decide which of an encounter found twice near a
partition edge is kept. The element sets are the shared 2022 full catalog (real records: names,
designators, sources, epochs to the microsecond) and the LEO sample.
"""

from __future__ import annotations

import json
import os
import pickle
from datetime import timedelta

import numpy as np
import pytest
from tests.cli_harness import invoke
from tests.conftest import SAMPLE, shared

from kizuna.demo import sample_files
from kizuna.formats.detect import read_path
from kizuna.ops import screening as ops
from kizuna.sda import scaleout as SO
from kizuna.sda import screen
from kizuna.sda import screening as S

FULL_CATALOG = "tle/full_catalog_3le_2022-07.txt"  # under ../shared/data: skipped where absent
NS = S.NS


def _same_tables(a, b) -> None:
    """Every column equal bit for bit (same dtype, shape, values), same per-object lists."""
    assert len(a) == len(b)
    for name in a.COLUMNS:
        x, y = a._cols[name], b._cols[name]
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x.view(np.uint8), y.view(np.uint8)), name
    assert a._objects == b._objects
    assert list(a) == list(b)


@pytest.fixture(scope="module")
def leo():
    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records[:300]
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    return sets, start, start + timedelta(hours=12)


def test_workers_build_the_one_process_events_bit_for_bit(leo):
    """Two processes, eight blocks, events built per block: the very table `screen` builds,
    with a hard-body radius table reaching the workers."""
    sets, start, stop = leo
    hbr = {sets[k].norad_id: (1.5 + k, f"CARA {k}") for k in range(0, 300, 7)}
    single = screen(sets, start, stop, threshold_km=40.0, hbr_m=hbr)
    assert len(single.events) > 50  # enough to tell a lost, doubled or moved event
    par = SO.screen_local(sets, start, stop, threshold_km=40.0, workers=2, hbr_m=hbr)
    _same_tables(single.events, par.events)
    assert par.problems == single.problems
    assert (par.n_objects, par.n_primaries) == (single.n_objects, single.n_primaries)
    assert any(s != "default" for s in par.events._objects[3])  # the radii were used


def test_partition_returns_arrays_and_event_columns_row_for_row(leo):
    """A partition's rows are an (n, 3) int64 array (24 bytes an event) and its columns are those
    `build_events` gives the same rows."""
    sets, start, stop = leo
    cat, volume, start_ns, stop_ns, grid = S.setup_run(sets, start, stop, None, None, 40.0, 60.0, 14.0)
    found, _errors, _n = S.screen_partition(cat, grid, start_ns, stop_ns, 60.0, volume)
    assert isinstance(found, np.ndarray) and found.dtype == np.int64 and found.shape[1] == 3
    radius_m = S.object_hbr(cat, None)[0]
    part = SO.screen_partition_events(cat, grid, start_ns, stop_ns, 60.0, volume, radius_m)
    assert np.array_equal(part.found, found)
    rows = S.primary_first(cat, found)
    whole = S.build_events(cat, found)
    back = np.argsort(S.event_order(cat, rows), kind="stable")  # table order -> found order
    assert np.array_equal(part.columns["tca_ns"], whole._cols["tca_ns"][back])
    assert np.array_equal(part.columns["primary_itrf"], whole._cols["primary_itrf"][back])
    assert np.array_equal(part.columns["pc"], whole._cols["pc"][back])


def test_merge_events_keeps_the_row_merge_found_keeps(leo):
    """Encounters found twice or three times across partitions, less than 1 s apart: the merged
    table holds the rows merge_found keeps (the greedy rule over all partitions together: a row
    dropped within its own partition may not be the one dropped overall), built as build_events
    builds them."""
    sets, start, stop = leo
    cat, volume, start_ns, stop_ns, grid = S.setup_run(sets, start, stop, None, None, 40.0, 60.0, 14.0)
    found = S.screen_partition(cat, grid, start_ns, stop_ns, 60.0, volume)[0]
    assert len(found) > 20
    a, b, c = found[0::3], found[1::3], found[2::3]
    # one pair: A has t and t + 0.5 s, B has t - 0.6 s. Together: keep t - 0.6 s, drop t (0.6 s
    # after it), keep t + 0.5 s (1.1 s after the last kept). Thinned within A first, t + 0.5 s
    # would be lost.
    i, j, t = found[0].tolist()
    a = np.vstack([a, [[i, j, t + NS // 2]]])
    b = np.vstack([b, [[i, j, t - 6 * NS // 10]], a[1:2]])  # and one row found exactly twice
    parts = [a, b, c]
    want = S.build_events(cat, S.merge_found(parts))
    radius_m = S.object_hbr(cat, None)[0]
    given = [(p, S.event_columns(cat, S.primary_first(cat, p), radius_m)) for p in parts]
    got = S.merge_events(cat, given)
    _same_tables(want, got)
    tcas = set(got._cols["tca_ns"].tolist())
    assert {t - 6 * NS // 10, t + NS // 2} <= tcas and t not in tcas
    assert len(got) == len(found) + 1
    assert all(not cols for _rows, cols in given)  # each part's columns handed over, not kept
    empty = S.merge_events(cat, [(np.empty((0, 3), np.int64), {})])
    assert len(empty) == 0 and empty._cols.keys() == want._cols.keys()


def test_packed_catalog_is_the_same_catalog():
    """The compact form the workers get unpacks to the same element sets, field for field (the
    source too, which equality ignores), and the same arrays."""
    sets = read_path(shared(FULL_CATALOG)).records[:3000]
    start = ops.default_start(sets)
    cat = S.prepare(sets, start, primaries=None, threshold_km=10.0)
    radius_m = np.linspace(1.0, 9.0, len(cat.sets))
    payload = SO.pack_catalog(cat, radius_m)
    back, radius_back = SO.unpack_catalog(payload)
    assert back.sets == cat.sets
    assert [e.source for e in back.sets] == [e.source for e in cat.sets]
    assert [e.epoch_utc for e in back.sets] == [e.epoch_utc for e in cat.sets]
    assert all(type(x.rev_at_epoch) is int and type(x.eccentricity) is float for x in back.sets)
    for name in ("norad_ids", "is_primary", "perigee_km", "apogee_km"):
        assert np.array_equal(getattr(back, name), getattr(cat, name))
    assert np.array_equal(radius_back, radius_m)
    assert isinstance(pickle.loads(payload)[1]["mean_motion_revday"], np.ndarray)  # numbers as arrays


def test_cli_starts_workers_before_reading_the_catalog(tmp_path, monkeypatch):
    """With workers asked for, the processes start before the store is read and are the ones
    that screen; the events are those of one process."""
    db = str(tmp_path / "k.db")
    assert invoke(["-q", "catalog", "load", *map(str, sample_files()), "--db", db]).exit_code == 0
    calls: list[str] = []
    started, read = SO.LocalWorkers.__init__, ops.CatalogStore.latest_element_sets
    given: list[object] = []
    run_local = SO.screen_local

    def start(self, n):
        calls.append(f"start {n}")
        started(self, n)

    def latest(self, *args, **kwargs):
        calls.append("read")
        return read(self, *args, **kwargs)

    def local(*args, **kwargs):
        given.append(kwargs.get("pool"))
        return run_local(*args, **kwargs)

    monkeypatch.setattr(SO.LocalWorkers, "__init__", start)
    monkeypatch.setattr(ops.CatalogStore, "latest_element_sets", latest)
    monkeypatch.setattr(SO, "screen_local", local)
    store = ops.CatalogStore(db)
    request = ops.ScreeningRequest(all_vs_all=True, days=0.25, workers=2)
    run = ops.run_screening(store, request)
    assert calls[:2] == ["start 2", "read"] and isinstance(given[0], SO.LocalWorkers)
    assert run.parameters["workers"] == 2 and run.parameters["scheduler"] == "local"
    one = ops.run_screening(store, ops.ScreeningRequest(all_vs_all=True, days=0.25, workers=1))
    _same_tables(one.result.events, run.result.events)
    assert calls.count("start 2") == 1  # one process asked for: none started


@pytest.mark.parametrize("selector", [["--all"], ["--assets", "11,728"]])
def test_cli_default_uses_every_core(tmp_path, monkeypatch, selector):
    """No --workers: one process per core once the screening pays for them, all-vs-all and
    assets alike (here made to pay by a tiny threshold; the issue's sizes pay on their own)."""
    monkeypatch.setattr(ops, "OBJECT_STEPS_PER_WORKER", 1)
    db = str(tmp_path / "k.db")
    assert invoke(["-q", "catalog", "load", *map(str, sample_files()), "--db", db]).exit_code == 0
    res = invoke(["screen", *selector, "--days", "0.1", "-f", "json", "--db", db])
    assert res.exit_code == 0, res.output
    params = json.loads(res.stdout)["parameters"]
    assert params["workers"] == (os.cpu_count() or 1)


def test_issue_sizes_use_every_core():
    """The 2022 catalog (23,907 screened of ~24k sets) for a day or a week, all-vs-all or 200
    assets: every core (up to 17 for a day, 120 for a week)."""
    cores = os.cpu_count() or 1
    for request in (
        ops.ScreeningRequest(all_vs_all=True, days=1.0, workers=None),
        ops.ScreeningRequest(all_vs_all=True, days=7.0, workers=None),
        ops.ScreeningRequest(assets=tuple(range(1, 201)), days=7.0, workers=None),
    ):
        n_steps = int(request.days * 86400 / request.step_s) + 1
        assert ops.local_workers(request, 24_000, n_steps) == min(cores, 24_000 * n_steps // 2_000_000)
        assert ops.local_workers(request, 24_000, n_steps) == cores or cores > 17
