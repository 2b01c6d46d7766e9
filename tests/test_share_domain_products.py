"""Analyses' outputs travel as products: a maneuver report detected on the bundled ISS history
is marked, signed, verified by a partner and refused once tampered."""

from __future__ import annotations

import json

import pytest
from tests.conftest import REPO

from kizuna.formats.tle import read_tle
from kizuna.sda.maneuvers import detect_maneuvers
from kizuna.share.loopback import free_port, write_coalition
from kizuna.share.markings import parse_banner
from kizuna.share.node import Node
from kizuna.share.products import Product


@pytest.fixture()
def nodes(tmp_path):
    cfgs = write_coalition(tmp_path, {"JPN": free_port(), "USA": free_port()})
    opened = {n: Node.open(str(tmp_path / f"{n}.db"), cfgs[n], tmp_path / "keys") for n in ("JPN", "USA")}
    yield opened
    for node in opened.values():
        node.catalog.close()


def test_maneuver_report_signed_and_verified_by_partner(nodes):
    path = REPO / "src" / "kizuna" / "data" / "maneuvers" / "iss_25544_2023.tle"
    sets = read_tle(path.read_text(), str(path)).raise_first().records
    maneuvers = detect_maneuvers(sets)
    assert maneuvers
    jpn, usa = nodes["JPN"], nodes["USA"]
    marking = parse_banner("CONFIDENTIAL//REL TO USA, JPN", jpn.config.markings)
    product = Product.new(
        "maneuver", maneuvers[0].to_product_payload(), marking, jpn.node_id, objects=(25544,)
    )
    signed = jpn.publish(product, actor="analyst")
    report = usa.ingest([signed], source="JPN")
    assert report.ingested == 1
    tampered = json.loads(json.dumps(signed))
    tampered["product"]["payload"]["dv_mps"] = 0.0
    tampered["product"]["version"] = 2
    again = usa.ingest([tampered], source="JPN")
    assert again.ingested == 0 and [r[2] for r in again.refused] == ["bad signature"]
    assert usa.audit.verify().ok
