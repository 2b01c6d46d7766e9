"""Track cleaning's sort is numpy's four-key lexsort, permutation for permutation.

The reference is ``np.lexsort((lon, lat, time, mmsi))`` itself, on random inputs dense in ties
(repeated reports, equal times, -0.0 against 0.0, NaN coordinates), where a stable sort's order
among equal keys is what decides which duplicate cleaning keeps.
"""

from __future__ import annotations

import numpy as np
import pytest

from kizuna.maritime.tracks import vessel_time_position_order


@pytest.mark.parametrize("seed", range(5))
def test_the_order_is_lexsorts_on_tie_dense_inputs(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        n = int(rng.integers(0, 300))
        mmsi = rng.integers(0, int(rng.integers(1, 6)), n) + 431_000_000
        time_ns = rng.integers(-3, int(rng.integers(1, 8)), n) * 10**9
        lat = rng.choice(np.array([0.0, -0.0, 1.5, np.nan, 2.0, -89.9]), n)
        lon = rng.choice(np.array([0.0, -0.0, 3.0, np.nan, 180.0]), n)
        got = vessel_time_position_order(mmsi, time_ns, lat, lon)
        np.testing.assert_array_equal(got, np.lexsort((lon, lat, time_ns, mmsi)))


def test_the_order_is_lexsorts_on_a_feed_sized_input():
    rng = np.random.default_rng(16)
    n = 200_000
    mmsi = rng.integers(0, 2000, n) + 200_000_000
    time_ns = np.sort(rng.integers(0, 86_400, n)) * 10**9 + rng.integers(0, 2, n) * 500_000_000
    lat, lon = np.round(rng.uniform(-60, 60, n), 4), np.round(rng.uniform(-180, 180, n), 4)
    got = vessel_time_position_order(mmsi, time_ns, lat, lon)
    np.testing.assert_array_equal(got, np.lexsort((lon, lat, time_ns, mmsi)))
