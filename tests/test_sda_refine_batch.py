"""Batched TCA refinement, encounter building and the closed-form maximum Pc against the
per-pair answers they replace.

References: the per-pair Brent refinement (`refine_tca`, scipy's brentq on SGP4 range-rates
evaluated one call at a time, then polished onto the range minimum in plain floats, kept as the
reference), the per-pair loop that decided which
refined candidates are new encounters (copied below as it stood), and for the maximum Pc
scipy's own non-central chi-square CDF maximised by scipy's bounded scalar minimiser.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats
from tests.conftest import SAMPLE

from kizuna.formats.detect import read_path
from kizuna.ops.screening import default_start
from kizuna.orbit.geometry import to_rtn
from kizuna.orbit.timescale import jd_pair
from kizuna.sda import ScreeningVolume
from kizuna.sda import screening as S
from kizuna.sda.pc import pc_max_isotropic, pc_max_isotropic_search

FULL_CATALOG = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
)
NS = S.NS
#: the batched TCA against Brent's: their range-rate roots are well under a microsecond apart
#: (xtol 1e-7 s), and both polish them from the same SGP4 times onto the same range minimum, but
#: a root within TCA_RANGE_TOL_S (1 us) of that minimum is kept: two roots on either side of
#: that line end up to 1 us apart
TCA_TOL_NS = S.TCA_RANGE_TOL_NS
STEP_S = 60.0


def _candidates(sets, hours: float, threshold_km: float):
    start_dt = default_start(sets)
    cat, volume, start_ns, stop_ns, grid = S.setup_run(
        sets, start_dt, start_dt + timedelta(hours=hours), None, None, threshold_km, STEP_S, 14.0
    )
    ci, cj, ct, _errors = S.find_candidates(cat, grid, start_ns, stop_ns, STEP_S, volume.bound_km)
    return cat, volume, start_ns, stop_ns, ci, cj, ct


@pytest.fixture(scope="module")
def sample_candidates():
    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records
    got = _candidates(sets, 12.0, 50.0)
    assert len(got[4]) > 100, "the sample must give enough candidates to compare"
    return got


def _per_pair(sats, ci, cj, ct, start_ns, stop_ns):
    out = []
    for i, j, t in zip(ci.tolist(), cj.tolist(), ct.tolist(), strict=True):
        try:
            out.append(S.refine_tca(sats[i], sats[j], t, STEP_S, start_ns, stop_ns))
        except ValueError:
            out.append(None)
    return out


def _assert_same_tcas(per_pair, tca, ok):
    want_ok = np.array([t is not None for t in per_pair])
    assert np.array_equal(want_ok, ok), "the batch must keep exactly the candidates Brent keeps"
    want = np.array([t if t is not None else 0 for t in per_pair], np.int64)
    assert np.max(np.abs(want[ok] - tca[ok]), initial=0) <= TCA_TOL_NS


def test_batched_refinement_matches_brent_per_pair(sample_candidates):
    """Every candidate of the bundled LEO sample (12 h, 50 km), and the same candidates with
    their estimates moved 3 to 200 s away, so the bracket must grow on either side, reach the
    window's edges or give up past two steps (refine_tca's None), as Brent's loop does."""
    cat, _volume, start_ns, stop_ns, ci, cj, ct = sample_candidates
    sats = S._satrecs(cat, np.concatenate([ci, cj]), {})
    tca, ok = S.refine_tca_batch(sats, ci, cj, ct, STEP_S, start_ns, stop_ns)
    _assert_same_tcas(_per_pair(sats, ci, cj, ct, start_ns, stop_ns), tca, ok)
    assert ok.mean() > 0.5

    rng = np.random.default_rng(7)
    shift_s = rng.choice([-200, -90, -25, -3, 3, 25, 90, 200], len(ct)) + rng.uniform(-1, 1, len(ct))
    moved = np.clip(ct + (shift_s * NS).astype(np.int64), start_ns - 30 * NS, stop_ns + 30 * NS)
    tca, ok = S.refine_tca_batch(sats, ci, cj, moved, STEP_S, start_ns, stop_ns)
    per_pair = _per_pair(sats, ci, cj, moved, start_ns, stop_ns)
    _assert_same_tcas(per_pair, tca, ok)
    assert 0 < ok.sum() < len(ok), "the moved estimates must both succeed and fail"


def test_refined_states_are_sgp4_at_tca(sample_candidates):
    """The states kept from the last refinement round are SGP4's at the TCA itself."""
    cat, _volume, start_ns, stop_ns, ci, cj, ct = sample_candidates
    sats = S._satrecs(cat, np.concatenate([ci, cj]), {})
    tca, ok, states = S._refine_batch(sats, ci, cj, ct, STEP_S, start_ns, stop_ns)
    for k in np.flatnonzero(ok)[:200]:
        jd, fr = jd_pair(np.array([tca[k]], "datetime64[ns]"))
        _e, r1, v1 = sats[int(ci[k])].sgp4(jd[0], fr[0])
        _e, r2, v2 = sats[int(cj[k])].sgp4(jd[0], fr[0])
        assert np.array_equal(states[k], np.array([r1, v1, r2, v2]))


def _events_per_pair(cat, ci, cj, ct, start_ns, stop_ns, volume):
    """refine_events as it was: Brent per candidate in (i, j, t) order, skipping a candidate
    within a quarter step of a TCA already found for its pair, and a TCA within 1 s of one."""
    sats = S._satrecs(cat, np.concatenate([ci, cj]), {})
    found: dict[tuple[int, int], list[int]] = {}
    for n in np.lexsort((ct, cj, ci)):
        i, j, t = int(ci[n]), int(cj[n]), int(ct[n])
        seen = found.setdefault((i, j), [])
        if any(abs(t - s) < STEP_S * NS / 4 for s in seen if s >= 0):
            continue
        try:
            tca = S.refine_tca(sats[i], sats[j], t, STEP_S, start_ns, stop_ns)
        except ValueError:
            continue
        if tca is None or any(abs(tca - s) < NS for s in seen):
            continue
        seen.append(tca)
    arr = np.array([(i, j, t) for (i, j), ts in found.items() for t in ts], np.int64)
    r1, v1, r2, v2 = S._states_at(cat, sats, arr)
    rel = r2 - r1
    inside = volume.contains(to_rtn(r1, v1, rel), np.linalg.norm(rel, axis=1))
    return sorted(map(tuple, arr[inside].tolist()))


def _assert_same_encounters(want, got):
    assert [w[:2] for w in want] == [g[:2] for g in got], "same pairs in the same order"
    assert max(abs(w[2] - g[2]) for w, g in zip(want, got, strict=True)) <= TCA_TOL_NS


def test_refine_events_keeps_the_per_pair_encounters(sample_candidates):
    """Same encounters as the per-pair loop, including pairs with several candidates (adjacent
    steps of one encounter, and several encounters of one pair in the window), and with a
    candidate duplicated at the next step, which must come out once."""
    cat, volume, start_ns, stop_ns, ci, cj, ct = sample_candidates
    pairs, counts = np.unique(np.stack([ci, cj], 1), axis=0, return_counts=True)
    assert (counts > 1).sum() >= 5, "the sample must hold pairs with several candidates"
    ci2 = np.concatenate([ci, ci[:50]])
    cj2 = np.concatenate([cj, cj[:50]])
    ct2 = np.concatenate([ct, ct[:50] + int(STEP_S * NS)])
    for a, b, c in ((ci, cj, ct), (ci2, cj2, ct2)):
        want = _events_per_pair(cat, a, b, c, start_ns, stop_ns, volume)
        got = sorted(S.refine_events(cat, a, b, c, STEP_S, start_ns, stop_ns, volume))
        _assert_same_encounters(want, got)
    ellipsoid = ScreeningVolume.ellipsoid(2.0, 25.0, 25.0)
    want = _events_per_pair(cat, ci, cj, ct, start_ns, stop_ns, ellipsoid)
    got = sorted(S.refine_events(cat, ci, cj, ct, STEP_S, start_ns, stop_ns, ellipsoid))
    _assert_same_encounters(want, got)


@pytest.mark.skipif(not FULL_CATALOG.exists(), reason="needs ../shared/data/tle/full_catalog_3le_2022-07.txt")
def test_full_catalog_hour_matches_per_pair():
    """One hour of the 2022 full catalog (10 km): the same encounters as the per-pair loop."""
    sets = read_path(FULL_CATALOG).records
    cat, volume, start_ns, stop_ns, ci, cj, ct = _candidates(sets, 1.0, 10.0)
    assert len(ci) > 3000
    want = _events_per_pair(cat, ci, cj, ct, start_ns, stop_ns, volume)
    got = sorted(S.refine_events(cat, ci, cj, ct, STEP_S, start_ns, stop_ns, volume))
    _assert_same_encounters(want, got)


def _scipy_max_pc(d: float, r: float) -> float:
    """max over sigma of P(chi'^2(2, (d/sigma)^2) <= (r/sigma)^2), scipy's CDF and minimiser."""

    def neg(log_s: float) -> float:
        s = math.exp(log_s)
        return -float(stats.ncx2.cdf((r / s) ** 2, 2, (d / s) ** 2))

    guess = math.log(d / math.sqrt(2))
    res = optimize.minimize_scalar(
        neg, bounds=(guess - 12, guess + 3), method="bounded", options={"xatol": 1e-10}
    )
    return -float(res.fun)


def test_max_pc_condition_matches_scipy_and_the_search():
    """The Bessel-ratio condition gives the maximum scipy's optimiser finds (1e-9), and the
    grid-plus-golden search it replaced (1e-12) wherever that search's grid (sigma >= d/100)
    holds the optimum; closer to contact the search stopped at its grid's end, below the max."""
    rng = np.random.default_rng(3)
    hbr = 0.01
    rho = np.concatenate([10 ** rng.uniform(-6, -1e-4, 300), [1e-6, 0.5, 0.99, 0.9999]])
    miss = hbr / rho
    pc, sigma = pc_max_isotropic(miss, hbr)
    for k in range(0, len(miss), 15):
        assert pc[k] == pytest.approx(_scipy_max_pc(float(miss[k]), hbr), rel=1e-9)
    old, old_sigma = pc_max_isotropic_search(miss, hbr)
    assert np.all(np.abs(pc - old) <= 1e-12 * old)
    assert np.all(np.abs(sigma - old_sigma) <= 1e-5 * old_sigma)  # a flat maximum: sigma is loose
    near = hbr / np.array([0.99999, 0.999999])
    pc_near, _ = pc_max_isotropic(near, hbr)
    assert np.all(pc_near > pc_max_isotropic_search(near, hbr)[0])
    for d, p in zip(near, pc_near, strict=True):
        assert p == pytest.approx(_scipy_max_pc(float(d), hbr), rel=1e-9)
    assert pc_max_isotropic(0.005, hbr) == (1.0, 0.0)  # the hard bodies overlap


def test_event_table_reads_as_the_events_it_holds(sample_candidates):
    """The columnar events read back as ConjunctionEvents whose states are SGP4's at the TCA,
    with the NORAD ids, names and hard-body radii of their objects; index, slice, iteration,
    equality with a list and the closest-first order all agree."""
    from kizuna.sda.records import ConjunctionEvent, EventTable, closest_first

    cat, volume, start_ns, stop_ns, ci, cj, ct = sample_candidates
    found = S.merge_found([S.refine_events(cat, ci, cj, ct, STEP_S, start_ns, stop_ns, volume)])
    some = int(cat.norad_ids[found[0, 0]])
    table = S.build_events(cat, found, {some: (2.5, "CARA test")})
    assert isinstance(table, EventTable) and len(table) == len(found) > 10
    events = list(table)
    assert events == table and table == events and events[3] == table[3] == table[-len(table) + 3]
    assert list(table[2:9:3]) == events[2:9:3]
    made = ConjunctionEvent(**{f.name: getattr(events[0], f.name) for f in dataclasses.fields(events[0])})
    assert made == events[0] and vars(made) == vars(events[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        events[0].miss_km = 0.0  # type: ignore[misc]
    by_id = {e.norad_id: e for e in cat.sets}
    sats = S._satrecs(cat, np.arange(len(cat.sets)), {})
    index = {int(n): k for k, n in enumerate(cat.norad_ids)}
    for e in events[:50]:
        jd, fr = jd_pair(np.array([e.tca_utc], "datetime64[ns]"))
        _e, r1, v1 = sats[index[e.primary]].sgp4(jd[0], fr[0])
        _e, r2, v2 = sats[index[e.secondary]].sgp4(jd[0], fr[0])
        assert e.primary_teme == (*r1, *v1) and e.secondary_teme == (*r2, *v2)
        assert e.miss_km == pytest.approx(math.dist(r1, r2), rel=1e-12)
        assert e.primary < e.secondary  # all-vs-all: the lower id first
        assert e.primary_name == (by_id[e.primary].object_name or "")
        hbr = {some: 2.5}
        assert e.hbr_m == hbr.get(e.primary, S.DEFAULT_HBR_M) + hbr.get(e.secondary, S.DEFAULT_HBR_M)
        want_source = "+".join("CARA test" if n == some else "default" for n in (e.primary, e.secondary))
        assert e.hbr_source == want_source
        assert e.pc == pc_max_isotropic(e.miss_km, e.hbr_m / 1000.0)[0]
    assert [e.tca_utc for e in events] == sorted(e.tca_utc for e in events)
    assert list(closest_first(table)) == closest_first(events)
    assert len(S.build_events(cat, [], None)) == 0


def test_merge_found_keeps_one_encounter_per_second():
    """Partitions that both found an encounter near their edge: kept once, the earlier TCA; a
    chain of TCAs each under 1 s from the one before is thinned as the per-row rule did."""
    parts = [
        [(1, 2, 10 * NS), (1, 3, 5 * NS)],
        [(1, 2, 10 * NS + NS // 2), (1, 2, 10 * NS + 3 * NS // 2), (1, 2, 10 * NS + 19 * NS // 10)],
        [(1, 2, 100 * NS), (0, 9, 7)],
    ]
    got = S.merge_found(parts).tolist()
    assert got == [
        [0, 9, 7],
        [1, 2, 10 * NS],
        [1, 2, 10 * NS + 3 * NS // 2],
        [1, 2, 100 * NS],
        [1, 3, 5 * NS],
    ]
    assert S.merge_found([]).shape == (0, 3)


def test_batches_do_not_change_the_result(sample_candidates, monkeypatch):
    """Refinement and event building in small batches (pairs split across batch edges) give
    the same encounters and events as in one batch."""
    cat, volume, start_ns, stop_ns, ci, cj, ct = sample_candidates
    whole = S.refine_events(cat, ci, cj, ct, STEP_S, start_ns, stop_ns, volume)
    events = list(S.build_events(cat, S.merge_found([whole])))
    monkeypatch.setattr(S, "REFINE_BATCH", 37)
    monkeypatch.setattr(S, "BUILD_BATCH", 11)
    split = S.refine_events(cat, ci, cj, ct, STEP_S, start_ns, stop_ns, volume)
    assert split == whole
    assert list(S.build_events(cat, S.merge_found([split]))) == events
