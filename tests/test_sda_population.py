"""The future catalog: filed shells as the plan states them, breakup debris, determinism."""

from __future__ import annotations

import collections
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from kizuna.formats.detect import read_path
from kizuna.sda.population import (
    FUTURE_NORAD_BASE,
    PopulationError,
    bundled_shells,
    future_catalog,
    nested_subsets,
    read_shells,
)

SAMPLE = Path(__file__).parents[1] / "src" / "kizuna" / "data" / "sample" / "leo_2026-06_sample.3le"
EPOCH = datetime(2026, 6, 11, tzinfo=UTC)
MU_KM3_S2 = 398_600.8
RE_KM = 6_378.135


def test_the_filed_and_approved_layouts_carry_the_filings_counts() -> None:
    for layout, starlink in (("filed", 29_988), ("approved", 7_560)):
        counts = collections.Counter()
        for shell in bundled_shells(layout):
            counts[shell.constellation] += shell.count
            assert len(shell.source) > 30
        assert counts == {"STARLINK-GEN2": starlink, "GUOWANG": 12_992, "QIANFAN": 13_968, "KUIPER": 3_236}
    kuiper = sorted((s.alt_km, s.inc_deg, s.count) for s in bundled_shells() if s.constellation == "KUIPER")
    assert [a for a, _, _ in kuiper] == [590.0, 610.0, 630.0]


@pytest.fixture(scope="module")
def small():
    base = read_path(SAMPLE).records
    return base, future_catalog(base, seed=7, debris=400, epoch_utc=EPOCH)


def test_each_generated_satellite_flies_its_shells_altitude_and_inclination(small) -> None:
    base, fc = small
    generated = [es for es in fc.element_sets if es.norad_id >= FUTURE_NORAD_BASE]
    assert len(generated) == sum(s.count for s in bundled_shells()) + 400
    assert fc.counts["debris"] == 400 and fc.counts["base"] == len({es.norad_id for es in base})
    shells = bundled_shells()
    k = 0
    for shell in shells:
        sets = generated[k : k + shell.count]
        k += shell.count
        n_rad_s = np.array([es.mean_motion_revday for es in sets]) * 2 * math.pi / 86_400
        alt_km = (MU_KM3_S2 / n_rad_s**2) ** (1 / 3) - RE_KM
        assert np.all(np.abs(alt_km - shell.alt_km) < 15.0), shell.label  # SGP4 mean vs nominal
        assert np.allclose([es.inclination_deg for es in sets], shell.inc_deg), shell.label
        assert all(es.epoch_utc == EPOCH for es in sets)
    debris = generated[k:]
    assert len({es.norad_id for es in fc.element_sets}) == len(fc.element_sets)
    n_rad_s = np.array([es.mean_motion_revday for es in debris]) * 2 * math.pi / 86_400
    a_km = (MU_KM3_S2 / n_rad_s**2) ** (1 / 3)
    perigee_km = a_km * (1 - np.array([es.eccentricity for es in debris])) - RE_KM
    assert perigee_km.min() > 290.0  # fragments below 300 km are drawn again


def test_the_same_seed_gives_the_same_catalog_and_another_seed_another(small) -> None:
    base, fc = small
    again = future_catalog(base, seed=7, debris=400, epoch_utc=EPOCH)
    other = future_catalog(base, seed=8, debris=400, epoch_utc=EPOCH)
    assert again.element_sets == fc.element_sets
    assert other.element_sets != fc.element_sets


def test_subsets_are_nested() -> None:
    small_set, large_set = nested_subsets(1000, [100, 500], seed=3)
    assert set(small_set) <= set(large_set) and len(set(large_set)) == 500
    with pytest.raises(PopulationError):
        nested_subsets(10, [11], seed=0)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{alt_km: 90, inc_deg: 53, planes: 2, per_plane: 2, phasing: 1, planes_basis: filing}", "alt_km"),
        ("{alt_km: 550, inc_deg: 190, planes: 2, per_plane: 2, phasing: 1, planes_basis: filing}", "inc_deg"),
        ("{alt_km: 550, inc_deg: 53, planes: 0, per_plane: 2, phasing: 1, planes_basis: filing}", "planes"),
        (
            "{alt_km: 550, inc_deg: 53, planes: 2, per_plane: x, phasing: 1, planes_basis: filing}",
            "per_plane",
        ),
    ],
)
def test_a_bad_shell_row_is_refused_naming_the_file_and_field(row: str, message: str) -> None:
    text = (
        "constellations:\n  - name: X\n    operator: Y\n    layouts:\n      filed:\n"
        "        source: a filing of this constellation, with its number\n"
        f"        shells:\n          - {row}\n"
    )
    with pytest.raises(PopulationError) as err:
        read_shells(text, "plan.yaml")
    assert "plan.yaml" in str(err.value) and message in str(err.value)
