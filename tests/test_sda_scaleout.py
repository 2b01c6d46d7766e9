"""Dask scale-out gives the same events as one process (LocalCluster, threads)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import SAMPLE

from kizuna.formats.detect import read_path
from kizuna.sda import screen

distributed = pytest.importorskip("distributed")


def test_dask_equals_single_process():
    from kizuna.sda.scaleout import screen_dask

    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records[:250]
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    stop = start + timedelta(hours=6)
    single = screen(sets, start, stop, threshold_km=40.0)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        par = screen_dask(client, sets, start, stop, threshold_km=40.0, partitions=7)
    assert len(single.events) > 0
    key = [(e.primary, e.secondary, e.tca_utc, round(e.miss_km, 9)) for e in single.events]
    assert key == [(e.primary, e.secondary, e.tca_utc, round(e.miss_km, 9)) for e in par.events]
    assert [p.norad_id for p in single.problems] == [p.norad_id for p in par.problems]
