"""kizuna.orbit.propagate: identical to sgp4's SatrecArray, chunk-size independent, per-object
errors, time handling."""

from __future__ import annotations

import numpy as np
import pytest
from sgp4.api import Satrec, SatrecArray
from tests.conftest import SAMPLE

from kizuna.formats.detect import read_path
from kizuna.orbit import iter_propagate, jd_pair, propagate, time_grid

SETS = read_path(SAMPLE / "leo_2026-06_sample.3le").records
LINES = (SAMPLE / "leo_2026-06_sample.3le").read_text().splitlines()


def test_matches_satrecarray_from_the_raw_lines():
    times = time_grid("2026-06-10T00:00:00", "2026-06-11T00:00:00", 300)
    eph = propagate(SETS, times)
    sats = [Satrec.twoline2rv(LINES[3 * k + 1], LINES[3 * k + 2]) for k in range(len(SETS))]
    e, r, v = SatrecArray(sats).sgp4(*jd_pair(times))
    ok = (e == 0) & eph.ok
    assert np.array_equal(e != 0, ~eph.ok)
    # Same SGP4 core and the same exact epoch: agreement to rounding (micrometres).
    assert np.abs(eph.position_km[ok] - r[ok]).max() < 1e-8
    assert np.abs(eph.velocity_kms[ok] - v[ok]).max() < 1e-11


def test_chunking_does_not_change_results():
    times = time_grid("2026-06-10T00:00:00", "2026-06-10T03:00:00", 60)
    whole = propagate(SETS[:100], times, "itrf")
    small = propagate(SETS[:100], times, "itrf", chunk_states=7 * len(times))
    np.testing.assert_array_equal(whole.position_km, small.position_km)
    parts = list(iter_propagate(SETS[:100], times, chunk_states=10 * len(times)))
    assert len(parts) == 10 and sum(len(p.norad_ids) for p in parts) == 100


def test_progress_reports_every_object():
    seen = []
    propagate(
        SETS[:50], time_grid("2026-06-10", "2026-06-10T01:00:00", 600), chunk_states=70, progress=seen.append
    )
    assert sum(seen) == 50


def test_time_grid_and_jd_pair_are_exact():
    times = time_grid("2026-06-10T00:00:00", "2026-06-10T00:00:01", 0.25)
    assert len(times) == 5
    jd, fr = jd_pair(times)
    assert np.all(jd == 2461201.5)
    np.testing.assert_array_equal(fr * 86400.0, [0, 0.25, 0.5, 0.75, 1.0])


def test_bad_frame_and_geodetic_of_non_itrf():
    with pytest.raises(ValueError):
        propagate(SETS[:1], ["2026-06-10T00:00:00"], "j2000")
    with pytest.raises(ValueError):
        propagate(SETS[:1], ["2026-06-10T00:00:00"], "teme").geodetic()


def test_eccentricity_out_of_range_is_reported_per_object():
    from dataclasses import replace

    broken = replace(SETS[0], eccentricity=0.999999, mean_motion_revday=16.0)
    eph = propagate([SETS[1], broken, SETS[2]], time_grid("2026-06-10", "2026-06-10T02:00:00", 600))
    errs = eph.errors()
    assert [e.norad_id for e in errs] == [broken.norad_id]
    assert eph.ok[0].all() and eph.ok[2].all()
