"""Tasking: the plan keeps every sensor's capacity and slew limits, spends the budget on value, and
the uncertainty study separates a 200 from a 10,000 observation-a-day network."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.ssa.sensors import load_sensors
from kizuna.ssa.tasking import DWELL_S, growth_km_day2, plan, sigma_km, uncertainty_study
from kizuna.ssa.visibility import find_passes

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"


@pytest.fixture(scope="module")
def setup():
    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records[:300]
    sensors = [s for s in load_sensors().values() if s.kind in ("radar", "optical")]
    passes = find_passes(sets, sensors, "2026-06-10T00:00:00Z", "2026-06-10T12:00:00Z")
    return sets, sensors, passes


def test_capacity_and_slew_are_kept(setup):
    sets, sensors, passes = setup
    p = plan(passes, sensors, {}, 100_000)
    assert len(p) > 500 and p.rejected_capacity > 0
    by_name = {s.name: s for s in sensors}
    hours = ((p.time_utc - passes.period_start_utc).astype("int64") // 3_600_000_000_000).astype(int)
    for name in set(p.sensor.astype(str)):
        m = p.sensor.astype(str) == name
        _, counts = np.unique(hours[m], return_counts=True)
        assert counts.max() <= by_name[name].tracks_per_hour
        t = (p.time_utc[m] - passes.period_start_utc).astype("int64") / 1e9
        az, el = np.radians(p.az_deg[m]), np.radians(p.el_deg[m])
        u = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
        for k in range(1, len(t)):
            angle = math.degrees(math.acos(min(1.0, float(u[k] @ u[k - 1]))))
            assert t[k] - t[k - 1] >= DWELL_S + angle / by_name[name].slew_deg_s - 1e-6


def test_budget_goes_to_value_first(setup):
    sets, sensors, passes = setup
    seen = set(passes.norad_id[passes.detectable].tolist())
    vip = sorted(seen)[:5]
    p = plan(passes, sensors, {n: 50.0 for n in vip}, 20)
    assert set(vip) <= set(p.norad_id.tolist())
    # with equal values a second look waits until every reachable object has had one (capacity allowing)
    q = plan(passes, sensors, {}, len(seen))
    assert len(set(q.norad_id.tolist())) == len(q)


def test_growth_model_is_as_stated():
    q = growth_km_day2(np.array([400.0, 500.0, 2000.0]))
    assert q[0] == pytest.approx(0.45) and q[1] == pytest.approx(0.45 * math.exp(-100 / 70))
    assert q[2] == pytest.approx(0.005)  # the floor
    assert float(sigma_km(0.1, q[0], 3.0)) == pytest.approx(0.1 + 0.5 * 0.45 * 9)


def test_more_observations_shrink_the_catalog_uncertainty(setup):
    sets, sensors, passes = setup
    ids = np.array([s.norad_id for s in sets])
    alt = np.array([s.semi_major_axis_km - 6378.137 for s in sets])
    few = uncertainty_study(passes, sensors, ids, alt, 20, days=4)
    many = uncertainty_study(passes, sensors, ids, alt, 1000, days=4)
    assert few.tracks_per_day[1:].tolist() == [20] * 4
    assert many.median_sigma_km[-1] < few.median_sigma_km[-1] / 3
    assert many.observed_fraction[-1] > 0.9 > few.observed_fraction[-1]
    # unobserved objects follow the growth law: with 20 tracks a day the 90th percentile grows
    assert few.p90_sigma_km[-1] > few.p90_sigma_km[0]
