"""Missile-warning products: a replayed launch gives a launch event, track updates and impact
predictions that converge on the flight's own impact point, and a partner node receives all three
types through real federation on loopback with markings honoured (a partner not released to sees
none of them)."""

from __future__ import annotations

import json
import math

import httpx
import numpy as np
import pytest
from tests.cli_harness import invoke

from kizuna.mw.products import (
    DETECT_ALT_M,
    MW_PRODUCT_TYPES,
    line_of_sight_clear,
    replay_products,
    replay_sensor_pair,
)
from kizuna.mw.trajectory import ecef_to_geodetic, fly, geodetic_to_ecef
from kizuna.service import create_app
from kizuna.share.federation import sync_partner
from kizuna.share.loopback import ServerThread, free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product

LAUNCH = (39.0, 125.7)
TARGET = (37.5, 127.0)  # an SRBM shot of ~200 km: quick to fly


@pytest.fixture(scope="module")
def srbm():
    return fly("SRBM", *LAUNCH, *TARGET, launch_utc=np.datetime64("2026-11-30T12:00:00"))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    a, b = geodetic_to_ecef(lat1, lon1), geodetic_to_ecef(lat2, lon2)
    return float(np.linalg.norm(a - b)) / 1000.0


def test_replay_sequence_detects_tracks_and_converges_on_the_impact(srbm) -> None:
    prods = replay_products(srbm, replay_sensor_pair(LAUNCH[1]), seed=3)
    types = [p.type for p in prods]
    assert set(types) == set(MW_PRODUCT_TYPES) and types[0] == "launch_event"
    assert [p.time_s for p in prods] == sorted(p.time_s for p in prods)
    # detection: during boost, once the missile is above the cloud tops
    det = prods[0]
    i = np.searchsorted(srbm.time_s, det.time_s)
    _, _, alt = ecef_to_geodetic(srbm.position_ecef_m[: i + 1])
    assert det.time_s <= srbm.burnout_time_s and alt[-1] >= DETECT_ALT_M - 2000.0
    # track updates at the cadence asked for
    tu = [p for p in prods if p.type == "track_update"]
    assert np.allclose(np.diff([p.time_s for p in tu]), 10.0, atol=2.0 + 1e-9)
    # each track update's position is within a few sigma of the flight at that time
    for p in tu:
        j = np.searchsorted(srbm.time_s, p.time_s)
        truth = srbm.position_ecef_m[j - 1] + (p.time_s - srbm.time_s[j - 1]) * srbm.velocity_ecef_m_s[j - 1]
        err = np.linalg.norm(np.array(p.payload["position_ecef_m"]) - truth)
        assert err < 5 * p.payload["position_sigma_m"] + 2000.0, (p.time_s, err)
    # the last impact prediction: close to where the flight came down, and when
    ip = [p for p in prods if p.type == "impact_prediction"]
    last = ip[-1].payload
    miss = _km(last["impact_lat_deg"], last["impact_lon_deg"], srbm.impact_lat_deg, srbm.impact_lon_deg)
    assert miss < max(2.0 * last["ellipse"]["semi_major_km"], 2.0), miss
    left = srbm.flight_time_s - ip[-1].time_s
    assert last["warning_time_s"] == pytest.approx(left, abs=3.0)
    # every payload becomes a product (finite numbers, within the product limits)
    marking = parse_banner("SECRET//REL TO USA, JPN")
    for p in prods:
        Product.new(p.type, p.payload, marking, "JPN")
        json.dumps(p.payload, allow_nan=False)
        assert p.payload["synthetic"] is True and p.payload["product_type"] == p.type


def test_line_of_sight_clear_by_geometry() -> None:
    geo = geodetic_to_ecef(0.0, 130.0, 35_786e3)
    near = geodetic_to_ecef(35.0, 130.0, 100e3)  # under the satellite
    far = geodetic_to_ecef(0.0, -50.0, 100e3)  # the other side of the Earth
    limb = geodetic_to_ecef(0.0, 130.0 + 81.0, 0.0)  # just inside the geostationary horizon
    beyond = geodetic_to_ecef(0.0, 130.0 + 82.0, 0.0)
    assert line_of_sight_clear(geo, near) and not line_of_sight_clear(geo, far)
    # the geostationary horizon on the equator is at arccos(a / (a + h)) = 81.3 deg of longitude
    horizon = math.degrees(math.acos(6378.137 / (6378.137 + 35_786.0)))
    assert 81.0 < horizon < 82.0
    assert line_of_sight_clear(geo, limb + 1000.0 * limb / np.linalg.norm(limb))
    assert not line_of_sight_clear(geo, beyond)


@pytest.fixture()
def coalition(tmp_path):
    ports = {"JPN": free_port(), "USA": free_port(), "UKR": free_port()}
    cfgs = write_coalition(tmp_path, ports)
    yield tmp_path, ports, cfgs


def test_partner_receives_the_three_types_with_markings_honoured(coalition, srbm) -> None:
    tmp, ports, cfgs = coalition
    # JPN publishes a replay through the command line, under the default marking (REL TO USA, JPN)
    res = invoke(
        [
            "-q",
            "mw",
            "replay",
            "--partners",
            str(cfgs["JPN"]),
            "--keys",
            str(tmp / "keys"),
            "--db",
            str(tmp / "JPN.db"),
        ]
        + ["--threat-class", "SRBM", "--launch", "39.0,125.7", "--target", "37.5,127.0", "-f", "json"]
        + ["--launch-utc", "2026-11-30T12:00:00Z"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    published = {p["id"]: p for p in doc["products"]}
    assert {p["type"] for p in published.values()} == set(MW_PRODUCT_TYPES)
    assert {p["banner"] for p in published.values()} == {"SECRET//REL TO USA, JPN"}

    jpn = Node.open(str(tmp / "JPN.db"), cfgs["JPN"], tmp / "keys")
    usa = Node.open(str(tmp / "USA.db"), cfgs["USA"], tmp / "keys")
    ukr = Node.open(str(tmp / "UKR.db"), cfgs["UKR"], tmp / "keys")
    server = ServerThread(create_app(jpn), ports["JPN"]).start()
    try:
        # a second launch released to UKR as well, published by the node directly
        rel_ukr = parse_banner("SECRET//REL TO USA, JPN, UKR", jpn.config.markings)
        shared = [
            Product.new(p.type, p.payload, rel_ukr, "JPN")
            for p in replay_products(srbm, replay_sensor_pair(LAUNCH[1]), seed=9, track_id="track-2")
        ]
        jpn.publish_many(shared, actor="test")
        with httpx.Client(timeout=30) as client:
            sync_partner(usa, usa.config.partners["JPN"], client=client)
            sync_partner(ukr, ukr.config.partners["JPN"], client=client)
        usa_rows = [r for r in usa.share.stored_rows() if r["originator"] == "JPN"]
        ukr_rows = [r for r in ukr.share.stored_rows() if r["originator"] == "JPN"]
        usa_ids = {r["product_id"] for r in usa_rows}
        ukr_ids = {r["product_id"] for r in ukr_rows}
        # USA holds everything; UKR holds the UKR-released launch and none of the other
        assert usa_ids == set(published) | {p.id for p in shared}
        assert ukr_ids == {p.id for p in shared}
        assert not ukr_ids & set(published)
        assert {r["type"] for r in ukr_rows} == set(MW_PRODUCT_TYPES)
        for r in usa_rows:
            wire = json.loads(str(r["wire"]))
            assert wire["banner"] == r["banner"]
            assert r["banner"] in ("SECRET//REL TO USA, JPN", "SECRET//REL TO USA, JPN, UKR")
        assert usa.audit.verify().ok and ukr.audit.verify().ok
    finally:
        server.stop()
        for n in (jpn, usa, ukr):
            n.catalog.close()
