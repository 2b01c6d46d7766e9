"""Maneuver detection: hand-checkable burns, quiet and decaying histories, real operator logs, ISS."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from tests.conftest import SAMPLE, shared

from kizuna.formats.maneuver_logs import read_fengyun_maneuvers, read_ids_maneuvers, read_maneuver_log
from kizuna.formats.tle import read_tle
from kizuna.model.records import MU_WGS72_KM3_S2, ElementSet
from kizuna.orbit.propagate import satrec_from_element_set
from kizuna.orbit.timescale import jd_pair
from kizuna.sda import maneuvers as M

# Real sets: QPS-SAR-7 from the bundled 2026-06 sample; a PEGASUS rocket body (perigee 315 km, high
# BSTAR) copied from ../shared/data/tle/full_catalog_3le_2022-07.txt (Space-Track data).
PEGASUS_RB = (
    "1 32766U 08017B   22194.57880874  .00093040  00000-0  56987-3 0  9999",
    "2 32766  12.9936 176.5873 0051510  47.3746 313.0870 15.73390409789687",
)


def _qps_sar_7() -> ElementSet:
    sets = read_tle((SAMPLE / "leo_2026-06_sample.3le").read_text()).records
    return next(s for s in sets if s.norad_id == 59447)


def sgp4_history(
    es: ElementSet, days: float, step_days: float, noise_a_km: float = 0.0, seed: int = 1
) -> list[ElementSet]:
    """A history of one object: SGP4's own mean elements (Satrec.nm, em, im, Om, om, mm after each
    propagation) re-epoched every step, with optional Gaussian noise on a (TLE-like scatter)."""
    sat = satrec_from_element_set(es)
    rng = np.random.default_rng(seed)
    out = []
    for k in range(int(days / step_days) + 1):
        t = es.epoch_utc + timedelta(days=k * step_days)
        jd, fr = jd_pair(np.array([np.datetime64(t.replace(tzinfo=None), "ns")]))
        e, _, _ = sat.sgp4(float(jd[0]), float(fr[0]))
        assert e == 0
        n_revday = sat.nm * 1440.0 / (2 * math.pi)
        if noise_a_km:
            a = (MU_WGS72_KM3_S2 / (n_revday * 2 * math.pi / 86400) ** 2) ** (1 / 3) + rng.normal(
                0, noise_a_km
            )
            n_revday = math.sqrt(MU_WGS72_KM3_S2 / a**3) * 86400 / (2 * math.pi)
        out.append(
            dataclasses.replace(
                es,
                epoch_utc=t,
                mean_motion_revday=n_revday,
                eccentricity=sat.em,
                inclination_deg=math.degrees(sat.im),
                raan_deg=math.degrees(sat.Om) % 360,
                arg_perigee_deg=math.degrees(sat.om) % 360,
                mean_anomaly_deg=math.degrees(sat.mm) % 360,
            )
        )
    return out


def apply_in_track_burn(es: ElementSet, dv_mps: float) -> ElementSet:
    """Gauss's equation for a tangential burn on a near-circular orbit (Vallado sec. 9.3):
    da = 2 a^2 v dv / mu, with v = sqrt(mu / a)."""
    n = es.mean_motion_revday * 2 * math.pi / 86400
    a = (MU_WGS72_KM3_S2 / n**2) ** (1 / 3)
    v = math.sqrt(MU_WGS72_KM3_S2 / a)
    da = 2 * a * a * v * (dv_mps / 1000) / MU_WGS72_KM3_S2
    n_new = math.sqrt(MU_WGS72_KM3_S2 / (a + da) ** 3)
    return dataclasses.replace(es, mean_motion_revday=n_new * 86400 / (2 * math.pi))


def test_gauss_in_track_burn_size_and_direction():
    """A 0.5 m/s prograde burn, applied analytically to a real set, is found in the right window with
    |dv| within 5 % (0.025 m/s) and the +in-track direction; nothing else is reported."""
    base = sgp4_history(_qps_sar_7(), days=30, step_days=0.5, noise_a_km=0.005)
    burn_at = 40
    hist = base[:burn_at] + [apply_in_track_burn(s, 0.5) for s in base[burn_at:]]
    # da for 0.5 m/s at a ~ 6890 km: 2 a dv / v = 0.90 km (hand value).
    a0 = M.element_series(hist).a_km
    assert a0[burn_at] - a0[burn_at - 1] == pytest.approx(0.904, abs=0.03)
    found = M.detect_maneuvers(hist)
    assert len(found) == 1
    m = found[0]
    assert m.window_start_utc == np.datetime64(hist[burn_at - 1].epoch_utc.replace(tzinfo=None), "ns")
    assert m.dv_mps == pytest.approx(0.5, abs=0.025)
    assert m.direction == "+in-track" and m.kind == "orbit raise"
    assert m.dv_rtn_mps[1] > 0


def test_retrograde_burn_is_orbit_lower():
    base = sgp4_history(_qps_sar_7(), days=20, step_days=0.5, noise_a_km=0.005, seed=3)
    hist = base[:25] + [apply_in_track_burn(s, -0.2) for s in base[25:]]
    (m,) = M.detect_maneuvers(hist)
    assert m.direction == "-in-track" and m.kind == "orbit lower"
    assert m.dv_mps == pytest.approx(0.2, abs=0.02)


def test_quiet_history_has_no_maneuver():
    hist = sgp4_history(_qps_sar_7(), days=30, step_days=0.5, noise_a_km=0.005, seed=2)
    assert M.detect_maneuvers(hist) == []


def test_decaying_rocket_body_is_not_a_maneuver():
    """PEGASUS R/B (real set, BSTAR 5.7e-4): 40 days of SGP4 drag decay (a falls by several km, faster
    and faster) with 20 m TLE-like scatter. Drag is the trend, not a burn: nothing is reported."""
    rb = read_tle("\n".join(PEGASUS_RB)).records[0]
    hist = sgp4_history(rb, days=40, step_days=0.5, noise_a_km=0.02, seed=4)
    a = M.element_series(hist).a_km
    assert a[0] - a[-1] > 3.0  # it really decays
    assert M.detect_maneuvers(hist) == []
    # The plain a-jump baseline, without a drag model, does not flood here either; but on the real
    # ISS history below it does.


def test_outlier_set_is_not_a_maneuver():
    hist = sgp4_history(_qps_sar_7(), days=20, step_days=0.5, noise_a_km=0.005, seed=5)
    bad = hist[20]
    hist[20] = dataclasses.replace(bad, mean_motion_revday=bad.mean_motion_revday * (1 + 2e-4))
    assert M.detect_maneuvers(hist) == []


def test_sgp4_residuals_locate_the_burn():
    """SGP4 residuals are evidence: a 0.3 m/s burn leaves kilometres of in-track error a day later, and
    the best-estimate time from the forward/backward in-track residual ratio (time_anchor=None) lies
    inside the window; the tuned preset puts it at the window start (the last set before the change)."""
    base = sgp4_history(_qps_sar_7(), days=20, step_days=1.0)
    hist = base[:10] + [apply_in_track_burn(s, 0.3) for s in base[10:]]
    (m,) = M.detect_maneuvers(hist, dataclasses.replace(M.LEO_CONFIG, time_anchor=None))
    assert m.window_start_utc < m.t_utc < m.window_end_utc
    (m0,) = M.detect_maneuvers(hist)
    assert m0.t_utc == m0.window_start_utc == np.datetime64(hist[9].epoch_utc.replace(tzinfo=None), "ns")
    assert abs(m.residual_rtn_km[1]) > 1.0  # a 0.3 m/s burn: kilometres of in-track error after a day


def test_product_payload_is_json_ready():
    import json

    base = sgp4_history(_qps_sar_7(), days=20, step_days=0.5, noise_a_km=0.005)
    hist = base[:20] + [apply_in_track_burn(s, 0.5) for s in base[20:]]
    (m,) = M.detect_maneuvers(hist)
    d = json.loads(json.dumps(m.to_product_payload()))
    assert d["product_type"] == "maneuver_report" and d["norad"] == 59447
    assert set(m.as_row()) == {
        "norad",
        "t_utc",
        "window_start_utc",
        "window_end_utc",
        "dv_mps",
        "direction",
        "kind",
        "confidence",
    }


# ----------------------------------------------------------------- operator logs
def test_ids_reader_day_of_year_and_burns():
    line = (
        "JASO2 2008 175 01 31 2008 175 04 20     007 2 2008 175 01 31 48.767 04.5020000000000e+00 "
        "00.0000000000000e+00 01.6890000000000e-02 00.0000000000000e+00 00.0000000000000e+00 "
        "03.7516659262550e+03 00.0000000000000e+00 00.0000000000000e+00 00.0000000000000e+00 "
        "00.0000000000000e+00 2008 175 04 20 11.059 04.5030000000000e+00 00.0000000000000e+00 "
        "01.6890000000000e-02 00.0000000000000e+00 00.0000000000000e+00 03.7508327781479e+03 "
        "00.0000000000000e+00 00.0000000000000e+00 00.0000000000000e+00 00.0000000000000e+00\n"
        "TOPEX 1992 230 18 22 1992 230 18 22\nJUNK 1992 999\n"
    )
    res = read_ids_maneuvers(line, "x.txt")
    assert len(res.records) == 2 and len(res.issues) == 1 and res.issues[0].line == 3
    ja = res.records[0]
    # Day 175 of 2008 (a leap year) is June 23, not June 24 as the processed YAML has it.
    assert ja.start_utc.isoformat() == "2008-06-23T01:31:00+00:00" and ja.norad_id == 33105
    assert len(ja.burns) == 2 and ja.burns[0].dv_rtn_mps == (0.0, 0.01689, 0.0)
    assert ja.dv_mps == pytest.approx(0.03378)
    assert res.records[1].start_utc.isoformat() == "1992-08-17T18:22:00+00:00"


def test_fengyun_reader_converts_cst_to_utc():
    text = (
        'GEO-EW-STATION-KEEPING 2006-053A "2015-04-10T15:30:00 CST" "2015-04-10T16:30:00 CST"\n'
        'GEO-ATTITUDE-CONTROL 2006-053A "2015-01-27T02:30:00 CST" "2015-01-27T03:30:00 CST"\n'
        "bad line\n"
    )
    res = read_fengyun_maneuvers(text)
    assert [r.start_utc.isoformat() for r in res.records] == [
        "2015-01-26T18:30:00+00:00",
        "2015-04-10T07:30:00+00:00",
    ]
    assert not res.records[0].orbital and res.records[1].norad_id == 29640
    assert len(res.issues) == 1 and res.issues[0].line == 3


BENCH = "maneuvers/shorten_tle_benchmark"


def _evaluate(name: str, log: str) -> tuple[M.Evaluation, M.Evaluation]:
    sets = read_tle(shared(f"{BENCH}/processed_files/{name}.tle").read_text()).records
    truth = [
        r.start_utc
        for r in read_maneuver_log(shared(f"{BENCH}/raw_data/manoeuvres/{log}").read_text()).records
        if r.orbital
    ]
    det = M.detect(sets, residuals=False)
    te = M.truth_events(truth, det.series.times_utc)
    ours = M.match_events([m.t_utc for m in det.maneuvers], te, 1.5)
    base = M.match_events(M.detect_baseline(sets), te, 1.5)
    return ours, base


def test_sentinel3a_against_operator_log():
    """Sentinel-3A (a training satellite) against the raw IDS/DORIS log, matching tolerance 1.5 days:
    F1 0.94 (precision 1.00) measured; the plain a-jump baseline gets 0.55."""
    ours, base = _evaluate("Sentinel-3A", "s3aman.txt")
    assert ours.f1 >= 0.9 and ours.precision >= 0.95
    assert ours.f1 > base.f1 + 0.2


def test_fengyun_2f_against_operator_log():
    """Fengyun-2F (held-out GEO) against the CMA station-keeping log (CST -> UTC), tolerance 1.5 days:
    F1 0.91 measured, baseline 0.29."""
    ours, base = _evaluate("Fengyun-2F", "manFY2F.txt.fy")
    assert ours.f1 >= 0.85
    assert ours.f1 > base.f1 + 0.5


def test_iss_reboosts_are_in_track_and_plausible():
    """ISS 2023 (bundled real history): reboosts are found as +in-track burns of 0.1-2.5 m/s, and drag
    does not flood the output (fewer than 30 events >= 0.1 m/s in the year; ~1,900 TLEs)."""
    from importlib import resources

    path = resources.files("kizuna") / "data" / "maneuvers" / "iss_25544_2023.tle"
    sets = read_tle(path.read_text()).records
    cfg = dataclasses.replace(M.LEO_CONFIG, min_dv_mps=0.1)
    found = M.detect(sets, cfg).maneuvers
    assert 8 <= len(found) < 30
    raises = [m for m in found if m.direction == "+in-track"]
    assert len(raises) >= 0.8 * len(found)
    dv = np.array([m.dv_mps for m in raises])
    assert np.all((dv > 0.1) & (dv < 2.5)) and 0.3 < np.median(dv) < 2.0
    baseline = M.detect_baseline(sets)
    assert len(baseline) > len(found)


def test_fit_centre_semi_major_axis_quiets_a_drag_affected_history():
    """SARAL in 2014 (near solar maximum, real TLEs): the epoch mean motion trades against B*, so the
    epoch semi-major axis scatters by ~13 m from set to set; at the fit centre chosen without labels
    (1-1.5 days before epoch) the scatter is several times smaller."""
    sets = M.clean_history(read_tle(shared(f"{BENCH}/processed_files/SARAL.tle").read_text()).records)
    year = [s for s in sets if s.epoch_utc.year == 2014]
    series = M.element_series(year)
    assert 0.5 <= series.a_lookback_days <= 2.0

    def scatter_m(a_km: np.ndarray) -> float:
        d = np.diff(a_km) * 1000.0
        return 1.4826 * float(np.median(np.abs(d - np.median(d))))

    epoch_a = np.array([es.semi_major_axis_km for es in year])
    assert scatter_m(series.a_km) < 0.4 * scatter_m(epoch_a)


def test_fit_centre_keeps_the_epoch_value_without_drag():
    """B* = 0 throughout (no SGP4 drag terms): every look-back gives the same orbit, so the epoch value
    is kept and the look-back is 0."""
    hist = [
        dataclasses.replace(s, bstar_per_er=0.0) for s in sgp4_history(_qps_sar_7(), days=10, step_days=1.0)
    ]
    a_epoch = np.array([s.semi_major_axis_km for s in M.clean_history(hist)])
    a_fit, lookback = M.fit_centre_semi_major_axis(M.clean_history(hist), a_epoch)
    assert lookback == 0.0 and a_fit is a_epoch


def test_fast_nanmedian_matches_numpy():
    """The row median used by the rolling noise model agrees with numpy.nanmedian (the peer) exactly."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 31))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[5] = np.nan
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        ref = np.nanmedian(x, axis=1)
    np.testing.assert_array_equal(M.nanmedian_rows(x), ref)


def _himawari_9() -> ElementSet:
    from kizuna.formats.omm import read_omm_csv

    sets = read_omm_csv((SAMPLE / "active_2026-07_sample.csv").read_text()).records
    return next(s for s in sets if s.norad_id == 41836)


@pytest.mark.parametrize(
    ("dv_mps", "d_inc_deg", "kind", "direction"),
    [
        (0.3, 0.0, "EW station-keeping", "+in-track"),
        (-3.0, 0.0, "relocation drift start", "-in-track"),
        (0.0, 0.1, "NS station-keeping", "cross-track"),
    ],
)
def test_geo_events_are_classified(dv_mps, d_inc_deg, kind, direction):
    """Himawari-9 (real GEO set): an EW trim of 0.3 m/s (da = 2 a dv / v = 8.2 km), a 3 m/s burn that
    starts a ~1 deg/day drift, and a 0.1 deg inclination change (dv = v di = 5.4 m/s)."""
    base = sgp4_history(_himawari_9(), days=40, step_days=1.0, noise_a_km=0.1, seed=7)
    after = [apply_in_track_burn(s, dv_mps) for s in base[20:]] if dv_mps else base[20:]
    if d_inc_deg:
        after = [dataclasses.replace(s, inclination_deg=s.inclination_deg + d_inc_deg) for s in after]
    found = M.detect_maneuvers(base[:20] + after)
    assert len(found) == 1
    m = found[0]
    assert m.regime == "GEO" and m.kind == kind and m.direction == direction
    expected = abs(dv_mps) if dv_mps else 3074.7 * math.radians(d_inc_deg)
    assert m.dv_mps == pytest.approx(expected, rel=0.1)


def test_geo_relocation_drift_stop_is_classified():
    """Himawari-9 drifting after a -3 m/s burn (about 1 deg/day east-west drift: d(lon rate) =
    -3/2 n da / a), stopped on day 20 by +3 m/s: one +in-track event, "relocation drift stop"."""
    drifting = apply_in_track_burn(_himawari_9(), -3.0)
    base = sgp4_history(drifting, days=40, step_days=1.0, noise_a_km=0.1, seed=8)
    series = M.element_series(base)
    assert abs(float(np.median(series.drift_deg_day))) > 0.5
    hist = base[:20] + [apply_in_track_burn(s, 3.0) for s in base[20:]]
    found = M.detect_maneuvers(hist)
    assert len(found) == 1
    m = found[0]
    assert m.kind == "relocation drift stop" and m.direction == "+in-track"
    assert m.dv_mps == pytest.approx(3.0, rel=0.1)
    assert m.window_start_utc == np.datetime64(hist[19].epoch_utc.replace(tzinfo=None), "ns")


def burn_at(es: ElementSet, dv_mps: float, t_burn: datetime) -> ElementSet:
    """The set after an in-track burn at t_burn, at the same epoch: the mean motion changes by Gauss's
    equation and the mean anomaly at epoch so that both orbits are at the same place at t_burn."""
    after = apply_in_track_burn(es, dv_mps)
    days = (t_burn - es.epoch_utc).total_seconds() / 86400
    shift_deg = 360.0 * (es.mean_motion_revday - after.mean_motion_revday) * days
    return dataclasses.replace(after, mean_anomaly_deg=(es.mean_anomaly_deg + shift_deg) % 360)


@pytest.mark.parametrize(("make", "dv_mps"), [(_himawari_9, 0.3), (_qps_sar_7, 0.5)])
def test_orbits_meet_along_track_at_the_burn(make, dv_mps):
    """The set before and the set after an in-track burn meet along-track at the burn time: found
    within 0.02 d from 8 days of samples, for a GEO trim and a LEO raise."""
    pre = make()
    t_burn = pre.epoch_utc + timedelta(days=3.4)
    post = burn_at(pre, dv_mps, t_burn)
    t0 = np.datetime64(pre.epoch_utc.replace(tzinfo=None), "ns")
    found = M.along_track_crossing(pre, post, t0, t0 + np.timedelta64(8, "D"))
    assert found is not None
    err_days = abs((found - np.datetime64(t_burn.replace(tzinfo=None), "ns")).astype("int64")) / 86400e9
    assert err_days < 0.02


def test_geo_burn_the_catalog_followed_late_is_timed_at_the_burn():
    """Himawari-9 trims 0.3 m/s on day 20.4 but the catalog keeps issuing pre-burn sets until day 23:
    the change shows between days 23 and 24, and the best time goes back to where the orbits meet.
    The synthetic sets are re-epoched SGP4 mean elements, which drift ~10 km/day along-track from
    the orbit they came from (SGP4's internal mean motion is not the TLE's); against the burn's
    77 km/day that costs up to ~0.3 d here, so the bound is 0.5 d (the window start is 2.6 d late)."""
    pre = _himawari_9()
    t_burn = pre.epoch_utc + timedelta(days=20.4)
    before = sgp4_history(pre, days=40, step_days=1.0)
    after = sgp4_history(burn_at(pre, 0.3, t_burn), days=40, step_days=1.0)
    found = M.detect_maneuvers(before[:24] + after[24:])
    assert len(found) == 1
    m = found[0]
    assert m.window_start_utc == np.datetime64(before[23].epoch_utc.replace(tzinfo=None), "ns")
    err_days = abs((m.t_utc - np.datetime64(t_burn.replace(tzinfo=None), "ns")).astype("int64")) / 86400e9
    assert err_days < 0.5


@pytest.mark.slow
def test_all_benchmark_satellites_beat_the_baseline():
    """Every satellite of the Shorten benchmark held here (8 LEO, 4 GEO), pooled per regime, tolerance
    1.5 days, shipped presets: measured F1 0.745 LEO / 0.84 GEO vs baseline 0.40 / 0.28
    (benchmarks/bench_maneuvers.py, which also reports the leave-one-satellite-out numbers)."""
    sats = {
        "CryoSat-2": "cs2man.txt",
        "Jason-1": "ja1man.txt",
        "Jason-2": "ja2man.txt",
        "SARAL": "srlman.txt",
        "Sentinel-3A": "s3aman.txt",
        "Sentinel-6A": "s6aman.txt",
        "Haiyang-2A": "h2aman.txt",
        "TOPEX": "topman.txt",
        "Fengyun-2D": "manFY2D.txt.fy",
        "Fengyun-2E": "manFY2E.txt.fy",
        "Fengyun-2F": "manFY2F.txt.fy",
        "Fengyun-4A": "manFY4A.txt.fy",
    }
    zero = M.Evaluation(1.5, 0, 0, 0)
    pooled = {"LEO": [zero, zero], "GEO": [zero, zero]}
    for name, log in sats.items():
        ours, base = _evaluate(name, log)
        reg = "GEO" if name.startswith("Fengyun") else "LEO"
        pooled[reg] = [pooled[reg][0] + ours, pooled[reg][1] + base]
    assert pooled["LEO"][0].f1 >= 0.72 and pooled["LEO"][0].f1 > pooled["LEO"][1].f1 + 0.3
    assert pooled["LEO"][0].precision >= 0.84
    assert pooled["GEO"][0].f1 >= 0.8 and pooled["GEO"][0].f1 > pooled["GEO"][1].f1 + 0.5
