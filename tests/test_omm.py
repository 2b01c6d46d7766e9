"""CCSDS OMM readers and writers (KVN, XML, JSON, CSV). References: the OMM example of
CCSDS 502.0-B-2 (GOES 9), sgp4's own OMM parser (`sgp4.omm`) as a peer, and real CelesTrak files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec
from tests.conftest import SAMPLE, SHARED_DATA, shared

from kizuna.formats.detect import detect_format, read_text
from kizuna.formats.omm import (
    read_omm_csv,
    read_omm_json,
    read_omm_kvn,
    read_omm_xml,
    write_omm_csv,
    write_omm_json,
    write_omm_kvn,
    write_omm_xml,
)
from kizuna.formats.tle import format_tle
from kizuna.orbit import satrec_from_element_set

# CCSDS 502.0-B-2, section 4 OMM example (GOES 9), as printed in the standard.
CCSDS_EXAMPLE = """CCSDS_OMM_VERS = 2.0
CREATION_DATE = 2007-065T16:00:00
ORIGINATOR = NOAA/USA
OBJECT_NAME = GOES 9
OBJECT_ID = 1995-025A
CENTER_NAME = EARTH
REF_FRAME = TEME
TIME_SYSTEM = UTC
MEAN_ELEMENT_THEORY = SGP/SGP4
EPOCH = 2007-064T10:34:41.4264
MEAN_MOTION = 1.00273272
ECCENTRICITY = 0.0005013
INCLINATION = 3.0539
RA_OF_ASC_NODE = 81.7939
ARG_OF_PERICENTER = 249.2363
MEAN_ANOMALY = 150.1602
GM = 398600.8 [km**3/s**2]
EPHEMERIS_TYPE = 0
CLASSIFICATION_TYPE = U
NORAD_CAT_ID = 23581
ELEMENT_SET_NO = 0925
REV_AT_EPOCH = 4316
BSTAR = 0.0001 [1/ER]
MEAN_MOTION_DOT = -0.00000113 [rev/day**2]
MEAN_MOTION_DDOT = 0.0 [rev/day**3]
"""


def test_ccsds_example_kvn():
    assert detect_format(CCSDS_EXAMPLE) == "omm-kvn"
    (es,) = read_omm_kvn(CCSDS_EXAMPLE, "goes9.kvn").raise_first().records
    assert es.norad_id == 23581 and es.object_name == "GOES 9" and es.object_id == "1995-025A"
    # Day-of-year epoch 2007-064 = 5 March.
    assert es.epoch_utc == datetime(2007, 3, 5, 10, 34, 41, 426400, tzinfo=UTC)
    assert es.bstar_per_er == 0.0001 and es.mean_motion_dot_revday2 == -0.00000113
    assert es.element_set_no == 925 and es.rev_at_epoch == 4316
    line1, line2 = format_tle(es)
    # The same elements as a TLE: epoch day 064.44075725 (10:34:41.4264 = 0.44075725 d).
    assert line1[:68] == "1 23581U 95025A   07064.44075725 -.00000113  00000-0  10000-3 0  925"
    assert line2[:68] == "2 23581   3.0539  81.7939 0005013 249.2363 150.1602  1.00273272 4316"


def test_kvn_refuses_non_sgp4_elements_with_the_field():
    text = CCSDS_EXAMPLE.replace("MEAN_ELEMENT_THEORY = SGP/SGP4", "MEAN_ELEMENT_THEORY = DSST")
    result = read_omm_kvn(text, "x.kvn")
    assert not result.records
    assert (result.issues[0].field, result.issues[0].line) == ("MEAN_ELEMENT_THEORY", 9)


def _active_sample():
    return read_omm_csv((SAMPLE / "active_2026-07_sample.csv").read_text(), "sample").raise_first().records


def test_csv_agrees_with_sgp4_omm_parser():
    """Same file through sgp4.omm (peer): identical SGP4 initialisation for every record."""
    text = (SAMPLE / "active_2026-07_sample.csv").read_text()
    ours = _active_sample()
    peers = list(sgp4_omm.parse_csv(io.StringIO(text)))
    assert len(ours) == len(peers) == 47
    for es, fields in zip(ours, peers, strict=True):
        ref = Satrec()
        sgp4_omm.initialize(ref, fields)
        sat = satrec_from_element_set(es)
        for attr in ("ecco", "inclo", "nodeo", "argpo", "mo", "no_kozai", "bstar", "ndot", "nddot"):
            # Equal to the last bit or so (unit conversions differ in operation order).
            assert getattr(sat, attr) == pytest.approx(getattr(ref, attr), rel=1e-15), attr
        assert sat.jdsatepoch + sat.jdsatepochF == pytest.approx(ref.jdsatepoch + ref.jdsatepochF, abs=1e-11)


@pytest.mark.parametrize(
    "writer,reader",
    [
        (write_omm_json, read_omm_json),
        (write_omm_kvn, read_omm_kvn),
        (write_omm_xml, read_omm_xml),
        (write_omm_csv, read_omm_csv),
    ],
)
def test_round_trip_lossless(writer, reader):
    records = _active_sample()
    back = reader(writer(records), "rt").raise_first().records
    assert back == records


def test_round_trip_lossless_full_active_file():
    path = shared("tle/celestrak_active_omm_2026-07.csv")
    records = read_omm_csv(path.read_text(), str(path)).raise_first().records
    assert len(records) == 15985
    for writer, reader in (
        (write_omm_json, read_omm_json),
        (write_omm_kvn, read_omm_kvn),
        (write_omm_xml, read_omm_xml),
    ):
        assert reader(writer(records), "rt").raise_first().records == records


def test_our_xml_is_read_by_sgp4_peer_parser():
    records = _active_sample()[:5]
    peers = list(sgp4_omm.parse_xml(io.BytesIO(write_omm_xml(records).encode())))
    assert [int(p["NORAD_CAT_ID"]) for p in peers] == [r.norad_id for r in records]
    assert [float(p["MEAN_MOTION"]) for p in peers] == [r.mean_motion_revday for r in records]


def test_json_numbers_as_strings_space_track_style():
    text = (
        '[{"OBJECT_NAME":"X","NORAD_CAT_ID":"25544","EPOCH":"2026-07-10 06:00:00",'
        '"MEAN_MOTION":"15.5","ECCENTRICITY":"0.0005","INCLINATION":"51.6","RA_OF_ASC_NODE":"10",'
        '"ARG_OF_PERICENTER":"20","MEAN_ANOMALY":"30","BSTAR":"0.0001"}]'
    )
    (es,) = read_text(text, "st.json").raise_first().records
    assert es.norad_id == 25544 and es.mean_motion_revday == 15.5


def test_xml_entity_expansion_refused():
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        "<ndm><omm><OBJECT_NAME>&lol2;</OBJECT_NAME></omm></ndm>"
    )
    result = read_omm_xml(bomb, "bomb.xml")
    assert not result.records
    assert result.issues  # refused or reported, never expanded into a record


def test_json_bad_record_keeps_the_others():
    good = write_omm_json(_active_sample()[:3], indent=1)
    bad = good.replace('"ECCENTRICITY": ', '"ECCENTRICITY": "one half", "WAS": ', 1)
    result = read_omm_json(bad, "b.json")
    assert len(result.records) == 2
    (issue,) = result.issues
    assert issue.field == "ECCENTRICITY" and issue.line > 1


ISS_HISTORY = "tle/history/iss_25544_gp_history_2020-2024.csv"


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED_DATA / ISS_HISTORY).exists(), reason="shared data absent: ../shared/data")
def test_real_iss_gp_history_with_offset_epochs_loads_whole():
    """9,571 Space-Track GP rows whose EPOCH reads `2020-01-01 06:11:10.983264+00:00` (space,
    offset): every row is read, each epoch agrees with the TLE line 1 epoch in the same row."""
    from kizuna.formats.detect import read_path
    from kizuna.formats.tle import read_tle

    path = SHARED_DATA / ISS_HISTORY
    result = read_path(path)
    assert result.format == "omm-csv" and result.issues == []
    assert len(result.records) == 9571
    assert {r.norad_id for r in result.records} == {25544}
    first, last = result.records[0], result.records[-1]
    assert first.epoch_utc == datetime(2020, 1, 1, 6, 11, 10, 983264, tzinfo=UTC)
    assert last.epoch_utc.year == 2024 and last.epoch_utc.tzinfo is not None
    rows = list(csv.DictReader(path.open()))
    for row, es in zip(rows[::500], result.records[::500], strict=True):
        (tle,) = read_tle(row["TLE_LINE1"] + "\n" + row["TLE_LINE2"] + "\n").records
        # the TLE epoch has 8 decimals of a day (0.864 ms): the CSV holds the exact one
        assert abs((tle.epoch_utc - es.epoch_utc).total_seconds()) < 0.001
