"""HBR sources (CARA table, SATCAT RCS) and the CDM store on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest
from tests.conftest import shared

from kizuna.formats.cdm import read_cdm
from kizuna.model.records import SpaceObject
from kizuna.sda.hbr import hbr_from_satcat, hbr_table, parse_cara_hbr
from kizuna.store.cdm_store import CdmStore


def test_cara_hbr_table_reads_published_values():
    path = shared("satcat/cara_hbr_mass_estimates_20260601.csv")
    res = parse_cara_hbr(path.read_text(), path.name)
    assert not res.issues
    table = {n: (h, s) for n, h, s in res.records}
    # 58,609 ids upstream, DISCOS-sourced (35,026) have blank HBR: the rest must be here
    assert len(table) == 58609 - 35026
    assert set(s for _h, s in table.values()) >= {"CARA Default", "CARA SFK RCS Estimate"}
    # every value equals the file's cell
    row = next(ln for ln in path.read_text().splitlines()[1:] if ln.split(",")[1])
    norad, hbr = int(row.split(",")[0]), float(row.split(",")[1])
    assert table[norad][0] == hbr


def test_bad_hbr_row_is_an_issue_with_line():
    res = parse_cara_hbr("ObjectID,HBR,HBRSigma,HBRSource\n5,1.2,0,Default\n6,abc,0,Default\n", "x.csv")
    assert [r[0] for r in res.records] == [5]
    assert (res.issues[0].line, res.issues[0].field) == (3, "HBR")


def test_satcat_rcs_and_priority():
    assert hbr_from_satcat(SpaceObject(1, rcs_m2=math.pi)) == (1.0, "SATCAT RCS")
    assert hbr_from_satcat(SpaceObject(2, rcs_size="LARGE"))[1] == "SATCAT RCS LARGE"
    assert hbr_from_satcat(SpaceObject(3)) is None
    table = hbr_table([SpaceObject(1, rcs_m2=math.pi)], [(1, 7.5, "CARA Override")])
    assert table[1] == (7.5, "CARA Override")


def test_cdm_store_round_trip(store):
    path = shared("cdm_pc/cara/PcTestCaseCDMs/000020580_conj_000022015_20210315_212955_20210313_065123.cdm")
    text = path.read_text()
    cdms = CdmStore(store)
    first = cdms.add(read_cdm(text), text, str(path))
    assert cdms.add(read_cdm(text), text, str(path)) == first  # idempotent on the bytes
    stored = cdms.list()
    assert len(stored) == 1 and stored[0].cdm.objects[1].name == "DELTA 2 R/B(1)"
    assert len(cdms.list(norad="22015")) == 1 and cdms.list(norad="99999") == []
    assert stored[0].cdm.relative["COLLISION_PROBABILITY"] == pytest.approx(6.115e-4)
