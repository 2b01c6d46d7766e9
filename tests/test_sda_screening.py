"""Screening recall against a brute-force reference written plainly here.

Reference: every pair, every second of the window, SGP4 positions from kizuna.orbit.propagate
(itself checked against Vallado's published SGP4 vectors); each local minimum of the sampled
range is refined independently of the screener by the vertex of the parabola through the three
samples around it (exact for straight-line relative motion, which holds over +-1 s), and its
miss distance is the SGP4 range at that vertex time.
Tolerances from the issue: TCA within 0.1 s, miss within 10 m, no event missed, none spurious.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from tests.conftest import SAMPLE

from kizuna.formats.detect import read_path
from kizuna.orbit import propagate
from kizuna.orbit.timescale import as_datetime64
from kizuna.sda import ScreeningVolume, screen

THRESHOLD_KM = 30.0


def _sample_sets():
    return read_path(SAMPLE / "leo_2026-06_sample.3le").records


def _dense_shell(sets, n):
    """The n objects whose mean altitude is closest to the sample's busiest shell, so that a
    small subset still has many close approaches (the sample is sparse overall)."""
    alt = np.array([0.5 * (e.perigee_alt_km + e.apogee_alt_km) for e in sets])
    hist, edges = np.histogram(alt, bins=np.arange(300, 1500, 25))
    centre = edges[np.argmax(hist)] + 12.5
    order = np.argsort(np.abs(alt - centre))
    return [sets[k] for k in sorted(order[:n])]


def brute_force(sets, start, seconds, threshold_km, chunk=1800):
    """Every pair, every second: local minima of range below the threshold.

    Every sample second 0..seconds is examined exactly once, with one extra sample on each side
    of a chunk (and of the window) as its neighbours; a minimum counts when its parabola vertex
    lies inside the window."""
    n = len(sets)
    iu, ju = np.triu_indices(n, 1)
    t0 = as_datetime64(start)[0]
    t0_ns = int(t0.astype("int64"))
    found = []
    for c0 in range(0, seconds + 1, chunk):
        c1 = min(c0 + chunk, seconds + 1)  # this chunk owns samples c0 .. c1 - 1
        times = t0 + np.arange(c0 - 1, c1 + 1).astype("timedelta64[s]")
        pos = propagate(sets, times).position_km  # (n, T, 3)
        d = np.linalg.norm(pos[ju] - pos[iu], axis=2)  # (pairs, T)
        mid = d[:, 1:-1]
        is_min = (mid < d[:, :-2]) & (mid <= d[:, 2:]) & (mid < threshold_km + 1.0)
        for p, k in zip(*np.nonzero(is_min), strict=True):
            sec = c0 + k
            y0, y1, y2 = d[p, k] ** 2, d[p, k + 1] ** 2, d[p, k + 2] ** 2
            dt = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
            t_ns = t0_ns + sec * 1_000_000_000 + int(round(dt * 1e9))
            if not t0_ns <= t_ns <= t0_ns + seconds * 1_000_000_000:
                continue  # the minimum lies outside the window: the range there only falls to the edge
            e = propagate([sets[iu[p]], sets[ju[p]]], np.array([t_ns], dtype="datetime64[ns]"))
            miss = float(np.linalg.norm(e.position_km[1, 0] - e.position_km[0, 0]))
            if miss < threshold_km:
                found.append((sets[iu[p]].norad_id, sets[ju[p]].norad_id, t_ns, miss))
    return found


def _compare(events, reference, threshold_km):
    events = list(events)  # a table makes its events as they are read: match these very ones
    by_pair: dict[tuple[int, int], list] = {}
    for e in events:
        by_pair.setdefault(tuple(sorted((e.primary, e.secondary))), []).append(e)
    matched = set()
    for a, b, t_ns, miss in reference:
        cands = by_pair.get((a, b), [])
        best = min(cands, key=lambda e: abs(int(e.tca_utc.astype("int64")) - t_ns), default=None)
        if best is None or abs(int(best.tca_utc.astype("int64")) - t_ns) > 0.1e9:
            assert miss > threshold_km - 0.010, f"missed {a}-{b} at {t_ns} miss {miss:.3f} km"
            continue
        assert abs(int(best.tca_utc.astype("int64")) - t_ns) <= 0.1e9  # TCA within 0.1 s
        assert abs(best.miss_km - miss) <= 0.010, (a, b, best.miss_km, miss)  # miss within 10 m
        matched.add(id(best))
    for e in events:
        if id(e) not in matched:  # spurious unless right at the threshold
            assert e.miss_km > threshold_km - 0.010, f"spurious {e.primary}-{e.secondary} {e.tca_utc}"
    return len(matched)


@pytest.fixture(scope="module")
def shell():
    sets = _dense_shell(_sample_sets(), 70)
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    return sets, start


def test_recall_against_brute_force_one_day(shell):
    sets, start = shell
    seconds = 86400
    reference = brute_force(sets, start, seconds, THRESHOLD_KM)
    result = screen(sets, start, start + timedelta(seconds=seconds), threshold_km=THRESHOLD_KM)
    assert len(reference) >= 10, "the subset must hold events for the test to mean anything"
    matched = _compare(result.events, reference, THRESHOLD_KM)
    assert matched >= len(reference) - sum(1 for r in reference if r[3] > THRESHOLD_KM - 0.01)


@pytest.mark.slow
def test_recall_300_objects_one_day():
    sets = _dense_shell(_sample_sets(), 300)
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    fresh = [e for e in sets if (start - e.epoch_utc).days <= 14]
    reference = brute_force(fresh, start, 86400, THRESHOLD_KM)
    result = screen(fresh, start, start + timedelta(days=1), threshold_km=THRESHOLD_KM)
    assert len(reference) > 50
    _compare(result.events, reference, THRESHOLD_KM)


def test_assets_mode_is_the_all_vs_all_subset(shell):
    sets, start = shell
    stop = start + timedelta(hours=6)
    full = screen(sets, start, stop, threshold_km=THRESHOLD_KM)
    assets = sorted({e.primary for e in full.events})[:5]
    part = screen(sets, start, stop, primaries=assets, threshold_km=THRESHOLD_KM)
    want = {
        (e.primary, e.secondary, str(e.tca_utc)[:21])
        for e in full.events
        if e.primary in assets or e.secondary in assets
    }
    got = {
        (min(e.primary, e.secondary), max(e.primary, e.secondary), str(e.tca_utc)[:21]) for e in part.events
    }
    assert {(min(a, b), max(a, b), t) for a, b, t in want} == got
    assert all(e.primary in assets for e in part.events)


def test_rtn_volume_and_components(shell):
    sets, start = shell
    stop = start + timedelta(hours=6)
    res = screen(sets, start, stop, threshold_km=THRESHOLD_KM)
    e = res.events[0]
    rtn = np.array([e.radial_km, e.intrack_km, e.crosstrack_km])
    assert np.linalg.norm(rtn) == pytest.approx(e.miss_km, abs=1e-9)
    rel = np.array(e.secondary_teme[3:]) - np.array(e.primary_teme[3:])
    # at TCA the relative position is normal to the relative velocity (range-rate root)
    cosang = np.dot(np.array(e.secondary_teme[:3]) - np.array(e.primary_teme[:3]), rel) / (
        e.miss_km * np.linalg.norm(rel)
    )
    assert abs(cosang) < 1e-5
    # ITRF keeps the distance between the two objects (a rotation), to 1 mm
    d_itrf = np.linalg.norm(np.array(e.secondary_itrf[:3]) - np.array(e.primary_itrf[:3]))
    assert d_itrf == pytest.approx(e.miss_km, abs=1e-6)
    box = screen(sets, start, stop, volume=ScreeningVolume.box(2.0, 30.0, 30.0))
    assert all(
        abs(x.radial_km) <= 2 and abs(x.intrack_km) <= 30 and abs(x.crosstrack_km) <= 30 for x in box.events
    )
    inside = [
        x
        for x in res.events
        if abs(x.radial_km) <= 2 and abs(x.intrack_km) <= 30 and abs(x.crosstrack_km) <= 30
    ]
    assert {(x.primary, x.secondary) for x in inside} <= {(x.primary, x.secondary) for x in box.events}


def test_stale_and_bad_objects_are_listed(shell):
    sets, start = shell
    from dataclasses import replace

    old = replace(sets[0], epoch_utc=sets[0].epoch_utc - timedelta(days=40))
    decayed = replace(sets[1], mean_motion_revday=17.5, bstar_per_er=0.9)  # re-enters within hours
    res = screen([old, decayed, *sets[2:]], start, start + timedelta(days=1), threshold_km=THRESHOLD_KM)
    reasons = {p.norad_id: p.reason for p in res.problems}
    assert reasons[old.norad_id] == "stale"
    assert reasons.get(decayed.norad_id) == "sgp4"


def _eccentric_through_shell(sets, n, perigee_alt_km):
    """n synthetic objects on e = 0.3 orbits whose perigee (8.6 km/s) lies in the shell, so
    that the fast-object path of the sweep (speed above FAST_KMS) takes part in events."""
    from dataclasses import replace

    e = 0.3
    a_km = (6378.135 + perigee_alt_km) / (1 - e)
    n_revday = 86400.0 / (2 * np.pi * np.sqrt(a_km**3 / 398600.8))
    return [
        replace(
            sets[k],
            norad_id=90000 + k,
            eccentricity=e,
            mean_motion_revday=n_revday,
            arg_perigee_deg=(37.0 * k) % 360,
            mean_anomaly_deg=(71.0 * k) % 360,
            raan_deg=(sets[k].raan_deg + 23.0 * k) % 360,
            bstar_per_er=0.0,
        )
        for k in range(n)
    ]


def test_recall_with_fast_eccentric_objects(shell, monkeypatch):
    """Same brute-force reference, with objects faster than FAST_KMS crossing the shell; then
    again with FAST_KMS lowered below the LEO speeds, so that nearly every object takes the
    fast path and most events need it (without that path this second run misses events)."""
    from kizuna.sda import screening

    sets, start = shell
    alt = float(np.median([0.5 * (e.perigee_alt_km + e.apogee_alt_km) for e in sets]))
    fast = _eccentric_through_shell(sets, 24, alt)
    cat = [*sets[:40], *fast]
    seconds = 6 * 3600
    threshold = 150.0
    reference = brute_force(cat, start, seconds, threshold)
    result = screen(cat, start, start + timedelta(seconds=seconds), threshold_km=threshold)
    fast_ids = {e.norad_id for e in fast}
    fast_events = [e for e in result.events if e.primary in fast_ids or e.secondary in fast_ids]
    speeds = [
        np.linalg.norm((e.secondary_teme if e.secondary in fast_ids else e.primary_teme)[3:])
        for e in fast_events
    ]
    assert sum(s > screening.FAST_KMS for s in speeds) >= 3, "the test must exercise the fast-object path"
    matched = _compare(result.events, reference, threshold)
    assert matched >= len(reference) - sum(1 for r in reference if r[3] > threshold - 0.01)
    monkeypatch.setattr(screening, "FAST_KMS", 3.0)
    lowered = screen(cat, start, start + timedelta(seconds=seconds), threshold_km=threshold)
    assert _compare(lowered.events, reference, threshold) == matched


def test_radial_reach_bounds_sgp4_radius_changes():
    """The radial filter's bound against SGP4 itself: over +-T around 100 sampled instants (2 days) per
    object, the radius of every object of the bundled catalogs (every other LEO 3LE, and the GEO/MEO/HEO OMM
    sample, eccentricities up to 0.91) never leaves |r(0)| +- radial_reach_km."""
    from kizuna.sda.screening import radial_reach_km

    sets = [*_sample_sets()[::2], *read_path(SAMPLE / "active_2026-07_sample.csv").records]
    half_s = 30.0
    # within two days after each epoch, where screening uses an element set (a month later a
    # decaying LEO set is far outside SGP4's physical regime)
    after = (np.arange(100) * 1727.0).astype("timedelta64[s]")
    offsets = np.arange(-half_s, half_s + 1.0, 1.0).astype("timedelta64[s]")
    for e in sets:
        centres = as_datetime64(e.epoch_utc)[0] + after
        times = (centres[:, None] + offsets[None, :]).reshape(-1)
        eph = propagate([e], times)
        if not eph.ok.all():
            continue
        pos = eph.position_km[0].reshape(len(centres), len(offsets), 3)
        vel = eph.velocity_kms[0].reshape(len(centres), len(offsets), 3)
        c = len(offsets) // 2
        r = np.linalg.norm(pos, axis=2)
        bound = radial_reach_km(pos[:, c], vel[:, c], half_s)
        assert np.all(np.abs(r - r[:, c : c + 1]).max(axis=1) <= bound), e.norad_id


def test_radial_reach_is_tight_for_circular_leo():
    """The bound is tight enough to matter: for near-circular LEO it is ~1 km, not the shell."""
    from kizuna.sda.screening import radial_reach_km

    sets = _sample_sets()[:200]
    start = max(e.epoch_utc for e in sets)
    eph = propagate(sets, as_datetime64(start))
    ok = eph.ok[:, 0]
    rho = radial_reach_km(eph.position_km[ok, 0], eph.velocity_kms[ok, 0], 30.0)
    assert np.median(rho) < 2.0


def test_local_processes_equal_single_process():
    """Two spawned processes over eight blocks of the grid give the single-process events."""
    from kizuna.sda.scaleout import screen_local

    sets = _sample_sets()[:250]
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    stop = start + timedelta(hours=6)
    single = screen(sets, start, stop, threshold_km=40.0)
    par = screen_local(sets, start, stop, threshold_km=40.0, workers=2)
    assert len(single.events) > 0
    key = [(e.primary, e.secondary, e.tca_utc, round(e.miss_km, 9)) for e in single.events]
    assert key == [(e.primary, e.secondary, e.tca_utc, round(e.miss_km, 9)) for e in par.events]
    assert [p.norad_id for p in single.problems] == [p.norad_id for p in par.problems]


# NORAD 52438 (COSMOS 1408 debris) as published on 2022-07-10 (2022 full catalog): it re-entered
# days later; SGP4 then returns error 0 again with the object at ~117,000 km by 2022-07-21.
DEBRIS_52438 = (
    "1 52438U 82092BXU 22191.58229552  .04436628  39531-1  50695-2 0  9998",
    "2 52438  82.5536 243.0008 0020375 258.5766 101.3231 16.12444062 12886",
)


def test_physically_impossible_states_are_object_problems(shell):
    """The re-entered debris is listed as an object problem (impossible state) and takes part in
    no filter: before, its error-0 state 117,000 km out passed into the pair search, and its
    speed set the search radius of every fast object."""
    from dataclasses import replace

    from kizuna.formats.tle import read_tle
    from kizuna.sda import screening

    debris = read_tle("\n".join(DEBRIS_52438)).records[0]
    sets, _ = shell
    epoch = debris.epoch_utc
    others = [replace(e, epoch_utc=epoch) for e in sets[:30]]
    start = epoch + timedelta(days=10, hours=20)
    res = screen([debris, *others], start, start + timedelta(hours=2), threshold_km=THRESHOLD_KM)
    problem = next(p for p in res.problems if p.norad_id == 52438)
    assert problem.reason == "sgp4" and "physically impossible" in problem.detail
    assert all(52438 not in (e.primary, e.secondary) for e in res.events)
    # the flag on SGP4 states: beyond escape speed, or far above the apogee; never on a good state
    err = np.zeros((2, 3), int)
    r = np.array([[[7000.0, 0, 0]] * 3, [[117_000.0, 0, 0], [7000.0, 0, 0], [7000.0, 0, 0]]])
    v = np.array([[[0, 7.5, 0]] * 3, [[0, 1.8, 0], [0, 12.0, 0], [0, 7.5, 0]]])
    flagged = screening.flag_impossible_states(err, r, v, np.array([700.0, 700.0]))
    assert flagged.tolist() == [[0, 0, 0], [screening.IMPOSSIBLE_STATE, screening.IMPOSSIBLE_STATE, 0]]
