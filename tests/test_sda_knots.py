"""SGP4 knot spacing of the screening sweep: each object's cubic Hermite interpolation between
its knots stays within its stated error bound and within KNOT_TOL_KM of SGP4 itself (the
reference: python-sgp4 evaluated at the interval midpoints, where a cubic Hermite's error
peaks), over the shared 2022 full catalog (LEO, eccentric, MEO, GEO), at the start of a window
and six days into it. Longer knots must not lose an event: the same screening with every object
on 120 s knots (as before per-object spacing) finds the same events."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import SatrecArray

from kizuna.formats.detect import read_path
from kizuna.orbit.propagate import satrec_from_element_set
from kizuna.orbit.timescale import as_datetime64, jd_pair
from kizuna.sda import screen, screening
from kizuna.sda._sweep import hermite_states
from kizuna.sda.screening import (
    KNOT_TOL_ASSETS_KM,
    KNOT_TOL_KM,
    MAX_KNOT_S,
    MIN_KNOT_S,
    flag_impossible_states,
    knot_error_bound_km,
    knot_spacing_s,
    prepare,
)

CATALOG = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
)
NS = 1_000_000_000

needs_catalog = pytest.mark.skipif(
    not CATALOG.exists(), reason="../shared/data/tle/full_catalog_3le_2022-07.txt absent"
)


@pytest.fixture(scope="module")
def full_catalog():
    sets = read_path(CATALOG).records
    start = sorted(e.epoch_utc for e in sets)[len(sets) // 2].replace(minute=0, second=0, microsecond=0)
    return sets, start


def _midpoint_errors_km(sats, apogee_km, knot_s: float, t0_ns: int, hours: float) -> np.ndarray:
    """Largest distance per object between Hermite at interval midpoints and SGP4 there."""
    h_ns = int(knot_s * NS)
    knots = t0_ns + h_ns * np.arange(int(hours * 3600 / knot_s) + 1, dtype="int64")
    mids = knots[:-1] + h_ns // 2
    arr = SatrecArray(sats)
    e1, r, v = arr.sgp4(*jd_pair(knots.astype("datetime64[ns]")))
    e2, rm, vm = arr.sgp4(*jd_pair(mids.astype("datetime64[ns]")))
    e1 = flag_impossible_states(e1, r, v, apogee_km)
    e2 = flag_impossible_states(e2, rm, vm, apogee_km)
    # the sweep's own interpolation, knot-major as it reads the knots
    r_k = np.ascontiguousarray(r.transpose(1, 0, 2))
    v_k = np.ascontiguousarray(v.transpose(1, 0, 2))
    pos = np.empty_like(rm)
    vel = np.empty((len(sats), 3))
    for a in range(len(mids)):
        hermite_states(r_k, v_k, a, 0.5, knot_s, pos[:, a], vel, 0)
    err = np.linalg.norm(pos - rm, axis=2)
    # screening drops states with an SGP4 error or impossible (decayed objects): no interpolation there
    err[(e1[:, :-1] != 0) | (e1[:, 1:] != 0) | (e2 != 0) | ~np.isfinite(err)] = 0.0
    return err.max(axis=1)


@needs_catalog
@pytest.mark.parametrize(
    ("days_in", "tol_km", "leo_knot_s"),
    [
        (0, KNOT_TOL_KM, 4 * MIN_KNOT_S),
        (6, KNOT_TOL_KM, 4 * MIN_KNOT_S),
        (6, KNOT_TOL_ASSETS_KM, 8 * MIN_KNOT_S),
    ],
)
def test_hermite_between_knots_within_bound(full_catalog, days_in, tol_km, leo_knot_s):
    sets, start = full_catalog
    cat = prepare(sets, start, primaries=None, threshold_km=10.0)
    spacing = knot_spacing_s(cat, tol_km)
    assert set(np.unique(spacing)) >= {2 * MIN_KNOT_S, leo_knot_s, MAX_KNOT_S}  # eccentric, LEO, GEO
    leo = (cat.perigee_km > 500.0) & (cat.apogee_km < 2000.0)
    assert np.median(spacing[leo]) == leo_knot_s
    ecc = np.array([e.eccentricity for e in cat.sets])
    mean_motion = np.array([e.mean_motion_revday for e in cat.sets])
    t0_ns = int(as_datetime64(start)[0].astype("int64")) + days_in * 86400 * NS
    worst = 0.0
    for h in np.unique(spacing):
        sel = np.flatnonzero(spacing == h)
        err = _midpoint_errors_km(
            [satrec_from_element_set(cat.sets[k]) for k in sel], cat.apogee_km[sel], float(h), t0_ns, 6.0
        )
        bound = knot_error_bound_km(cat.perigee_km[sel], ecc[sel], mean_motion[sel], float(h))
        over = np.flatnonzero(err > bound)
        assert not over.size, [(int(cat.norad_ids[sel[k]]), float(err[k]), float(bound[k])) for k in over[:5]]
        worst = max(worst, float(err.max()))
    assert worst <= tol_km


def _dense_sample(full_catalog):
    """The densest 1,500 LEO objects of the full catalog and every fourth eccentric or high one."""
    sets, start = full_catalog
    fresh = [e for e in sets if 0 <= (start - e.epoch_utc).days <= 7 and e.perigee_alt_km < 2000]
    alt = np.array([0.5 * (e.perigee_alt_km + e.apogee_alt_km) for e in fresh])
    # the busiest 25 km shell and its neighbours: many close approaches in a small sample
    keep = np.argsort(np.abs(alt - 550.0))[:1500]
    # and every eccentric or high object of the catalog, whose knots differ most
    extra = [
        e
        for e in sets
        if 0 <= (start - e.epoch_utc).days <= 7 and (e.eccentricity > 0.1 or e.perigee_alt_km > 15000)
    ]
    return [fresh[k] for k in sorted(keep)] + extra[::4]


def _assert_same_events(found, reference) -> None:
    """Every reference event found (same pair, TCA within 0.1 s, miss within 10 m), none more."""
    key = lambda e: (e.primary, e.secondary)  # noqa: E731
    by_pair: dict[tuple[int, int], list] = {}
    for e in found:
        by_pair.setdefault(key(e), []).append(e)
    for e in reference:
        t = int(e.tca_utc.astype("int64"))
        near = [x for x in by_pair.get(key(e), []) if abs(int(x.tca_utc.astype("int64")) - t) <= 0.1 * NS]
        assert near, f"lost {key(e)} at {e.tca_utc} (miss {e.miss_km:.3f} km)"
        assert abs(near[0].miss_km - e.miss_km) <= 0.010
    assert len(found) == len(reference)


@needs_catalog
def test_longer_knots_lose_no_event(full_catalog, monkeypatch):
    """The densest 1,500 objects of the full catalog, 6 hours: events with per-object knots are
    those with every object on 120 s knots (TCA within 0.1 s, miss within 10 m)."""
    sample = _dense_sample(full_catalog)
    start = full_catalog[1]
    stop = start + timedelta(hours=6)
    grouped = screen(sample, start, stop, threshold_km=10.0)
    monkeypatch.setattr(
        screening, "knot_spacing_s", lambda cat, tol_km=KNOT_TOL_KM: np.full(len(cat.sets), 2 * MIN_KNOT_S)
    )
    uniform = screen(sample, start, stop, threshold_km=10.0)
    assert len(uniform.events) > 50
    _assert_same_events(grouped.events, uniform.events)


@needs_catalog
def test_assets_knots_lose_no_event(full_catalog, monkeypatch):
    """Assets mode interpolates between knots KNOT_TOL_ASSETS_KM apart from SGP4 (and widens the
    reach to match): 150 assets of the dense sample over 6 hours find the events they find with
    the all-vs-all tolerance."""
    sample = _dense_sample(full_catalog)
    start = full_catalog[1]
    stop = start + timedelta(hours=6)
    assets = [e.norad_id for e in sample[::10]]
    coarse = screen(sample, start, stop, primaries=assets, threshold_km=10.0)
    monkeypatch.setattr(screening, "KNOT_TOL_ASSETS_KM", KNOT_TOL_KM)
    fine = screen(sample, start, stop, primaries=assets, threshold_km=10.0)
    assert len(fine.events) > 20
    assert coarse.n_candidates > fine.n_candidates  # the wider reach is in force
    _assert_same_events(coarse.events, fine.events)


def test_hermite_states_is_the_cubic_hermite():
    """The compiled interpolation against the textbook cubic Hermite basis, written out here,
    on a circular orbit (where it must also stay within r (w h)^4 / 384 of the truth)."""
    r_km, w = 7000.0, np.sqrt(398600.8 / 7000.0**3)
    h = 240.0
    t = np.array([0.0, h])
    r = np.stack([r_km * np.cos(w * t), r_km * np.sin(w * t), np.zeros(2)], axis=1)[:, None, :]
    v = np.stack([-r_km * w * np.sin(w * t), r_km * w * np.cos(w * t), np.zeros(2)], axis=1)[:, None, :]
    for u in (0.0, 0.25, 0.5, 0.9):
        pos, vel = np.empty((1, 3)), np.empty((1, 3))
        hermite_states(np.ascontiguousarray(r), np.ascontiguousarray(v), 0, u, h, pos, vel, 0)
        h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
        expect = h00 * r[0, 0] + h10 * h * v[0, 0] + h01 * r[1, 0] + h11 * h * v[1, 0]
        np.testing.assert_allclose(pos[0], expect, atol=1e-9)
        truth = r_km * np.array([np.cos(w * u * h), np.sin(w * u * h), 0.0])
        assert np.linalg.norm(pos[0] - truth) <= r_km * (w * h) ** 4 / 384 * 1.001 + 1e-9
        truth_v = r_km * w * np.array([-np.sin(w * u * h), np.cos(w * u * h), 0.0])
        # the error's time derivative: r w^4 h^3 / 24 * max d/du [u^2 (1 - u)^2] (0.192)
        assert np.linalg.norm(vel[0] - truth_v) <= r_km * w * (w * h) ** 3 * 0.193 / 24
