"""Proximity watch on scripted relative orbits built from a real element set (QPS-SAR-7, bundled)."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import timedelta

import numpy as np
import pytest
from sgp4.ext import rv2coe
from tests.conftest import SAMPLE

from kizuna.formats.tle import read_tle
from kizuna.model.records import MU_WGS72_KM3_S2, ElementSet
from kizuna.orbit import propagate
from kizuna.sda.maneuvers import Maneuver
from kizuna.sda.proximity import watch

R_KM = 10.0


@pytest.fixture(scope="module")
def asset() -> ElementSet:
    sets = read_tle((SAMPLE / "leo_2026-06_sample.3le").read_text()).records
    return next(s for s in sets if s.norad_id == 59447)


def _obj(es: ElementSet, norad: int, **changes: float) -> ElementSet:
    return dataclasses.replace(es, norad_id=norad, object_name=f"SCRIPTED {norad}", **changes)


def co_located(a: ElementSet) -> ElementSet:
    # 0.03 deg of mean anomaly ~ 3.6 km behind on the same orbit: stays there.
    return _obj(a, 90001, mean_anomaly_deg=a.mean_anomaly_deg - 0.03)


def approaching(a: ElementSet) -> ElementSet:
    # 0.5 deg (~60 km) behind and faster by dn = 0.000625 rev/day (0.225 deg/day): closes 0.45 deg in
    # 2 days and ends ~6 km behind, inside R for only the last ~4 hours.
    dn = 0.45 / 360.0 / 2.0
    return _obj(
        a, 90002, mean_anomaly_deg=a.mean_anomaly_deg - 0.5, mean_motion_revday=a.mean_motion_revday + dn
    )


def shadowing(a: ElementSet) -> ElementSet:
    # Same period, eccentricity larger by 8e-4: a relative ellipse of +-5.5 km radial, +-11 km in-track
    # around a point 12 km behind; the object dips inside 10 km once per revolution at ~10 m/s.
    return _obj(a, 90003, eccentricity=a.eccentricity + 8e-4, mean_anomaly_deg=a.mean_anomaly_deg - 0.1)


def passing_once(a: ElementSet, when_h: float) -> ElementSet:
    """An object at the asset's position at t = epoch + when_h, on a plane turned 60 deg about the
    radius vector and 1 % faster (perigee there, apogee ~280 km higher): one crossing, then gone."""
    t = a.epoch_utc + timedelta(hours=when_h)
    eph = propagate(a, [t])
    r, v = eph.position_km[0, 0], eph.velocity_kms[0, 0]
    k = r / np.linalg.norm(r)
    ang = math.radians(60)
    v_rot = v * math.cos(ang) + np.cross(k, v) * math.sin(ang) + k * np.dot(k, v) * (1 - math.cos(ang))
    p, sma, ecc, incl, node, argp, nu, m, *_ = rv2coe(list(r), list(v_rot * 1.01), MU_WGS72_KM3_S2)
    n_revday = math.sqrt(MU_WGS72_KM3_S2 / sma**3) * 86400 / (2 * math.pi)
    return dataclasses.replace(
        a,
        norad_id=90004,
        object_name="SCRIPTED 90004",
        epoch_utc=t,
        mean_motion_revday=n_revday,
        eccentricity=ecc,
        inclination_deg=math.degrees(incl),
        raan_deg=math.degrees(node) % 360,
        arg_perigee_deg=math.degrees(argp) % 360,
        mean_anomaly_deg=math.degrees(m) % 360,
    )


def _only(alerts, norad):  # type: ignore[no-untyped-def]
    found = [x for x in alerts if x.object_norad == norad]
    assert len(found) == 1
    return found[0]


def test_each_scripted_pattern_is_recognised_and_no_other(asset):
    catalog = [co_located(asset), approaching(asset), shadowing(asset), passing_once(asset, 20.0)]
    alerts = watch([asset], catalog, asset.epoch_utc, 2.0, R_KM)
    assert {a.object_norad for a in alerts} == {90001, 90002, 90003, 90004}

    co = _only(alerts, 90001)
    assert co.patterns == ("co-location",)
    assert co.longest_dwell_h > 47 and 2.5 < co.min_range_km < 5.0

    ap = _only(alerts, 90002)
    assert ap.patterns == ("approach",)
    # Per-revolution closest approaches fall from ~60 km to under 10 km.
    assert ap.minima_range_km[0] > 45 and ap.minima_range_km[-1] < R_KM
    assert ap.longest_dwell_h < 6

    sh = _only(alerts, 90003)
    assert sh.patterns == ("shadowing",)
    assert sh.entries >= 20 and sh.rel_speed_at_tca_kms < 0.05

    fly = _only(alerts, 90004)
    assert fly.patterns == ("close-approach",)
    assert fly.entries == 1 and fly.rel_speed_at_tca_kms > 5.0
    assert (
        abs(
            (fly.tca_utc - np.datetime64(asset.epoch_utc.replace(tzinfo=None) + timedelta(hours=20), "ns"))
            / np.timedelta64(1, "s")
        )
        < 120
    )


def test_far_object_raises_no_alert(asset):
    far = _obj(asset, 90005, mean_anomaly_deg=asset.mean_anomaly_deg + 5.0)  # ~600 km ahead
    assert watch([asset], [far], asset.epoch_utc, 1.0, R_KM) == []


def test_maneuvered_then_approached(asset):
    obj = approaching(asset)
    t_man = np.datetime64(asset.epoch_utc.replace(tzinfo=None) + timedelta(hours=6), "ns")
    man = Maneuver(
        norad_id=90002,
        t_utc=t_man,
        window_start_utc=t_man,
        window_end_utc=t_man,
        dv_mps=0.1,
        dv_rtn_mps=(0.0, -0.1, 0.0),
        direction="-in-track",
        kind="orbit lower",
        confidence=0.9,
        score_sigma=20.0,
        delta_a_km=-0.19,
        delta_inc_deg=0.0,
        delta_drift_deg_day=0.0,
        residual_rtn_km=(0.0, 0.0, 0.0),
    )
    (alert,) = watch([asset], [obj], asset.epoch_utc, 2.0, R_KM, maneuvers={90002: [man]})
    assert alert.patterns == ("approach", "maneuvered-then-approached")
    payload = json.loads(json.dumps(alert.to_product_payload()))
    assert payload["product_type"] == "proximity_alert"
    assert payload["evidence"]["maneuvers"][0]["norad"] == 90002
    rtn = np.array([m["rtn_km"] for m in payload["evidence"]["closest_per_revolution"]])
    # Approach from behind on the same orbit: the relative position is mostly in-track (negative).
    assert np.all(rtn[:, 1] < 0) and np.all(np.abs(rtn[:, 1]) > 3 * np.abs(rtn[:, 0]))
    # A maneuver after the closest approach is not "followed by a closer approach".
    late = dataclasses.replace(man, t_utc=t_man + np.timedelta64(2, "D"))
    (alert2,) = watch([asset], [obj], asset.epoch_utc, 2.0, R_KM, maneuvers={90002: [late]})
    assert alert2.patterns == ("approach",)
