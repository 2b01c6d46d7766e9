"""CCSDS TDM (503.0-B-2) in KVN and XML against the standard's own examples and ccsds-ndm."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kizuna.errors import FormatError
from kizuna.formats.tdm import (
    Observation,
    Tdm,
    TdmSegment,
    read_tdm,
    read_tdm_kvn,
    write_tdm_kvn,
    write_tdm_xml,
)

DATA = Path(__file__).parent / "data" / "ccsds" / "tdm"
EXAMPLES = ["TDMExample2", "TDMExample4", "TDMExample8", "TDMExample15", "TDMExampleAllKeywordsSequential"]


def _read(name: str, ext: str) -> Tdm:
    path = DATA / f"{name}.{ext}"
    return read_tdm(path.read_text(encoding="utf-8"), path.name)


def _content(tdm: Tdm) -> list:
    return [(s.metadata, s.observations, s.metadata_comments, s.data_comments) for s in tdm.segments]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_kvn_and_xml_encodings_of_each_standard_example_read_the_same(name: str) -> None:
    kvn, xml = _read(name, "kvn"), _read(name, "xml")
    assert kvn.observations == xml.observations > 0
    assert [s.observations for s in kvn.segments] == [s.observations for s in xml.segments]
    assert [s.time_system for s in kvn.segments] == [s.time_system for s in xml.segments]
    assert [s.metadata.keys() for s in kvn.segments] == [s.metadata.keys() for s in xml.segments]
    assert kvn.header_comments == xml.header_comments


def test_values_and_epochs_are_the_standards() -> None:
    tdm = _read("TDMExample8", "kvn")
    assert [s.metadata["PARTICIPANT_1"] for s in tdm.segments] == ["HBSTK", "WHM1"]
    second = tdm.segments[1]
    assert second.angle_type == "AZEL" and second.metadata["RANGE_UNITS"] == "s"
    first_range = second.values("RANGE")[0]
    assert first_range == Observation(
        "RANGE", datetime(2007, 8, 29, 6, 0, 2, tzinfo=UTC), 4.00165248953670e04
    )
    # day-of-year epochs (2005-159 is 8 June) read as the XML's calendar dates
    example2 = _read("TDMExample2", "kvn")
    assert example2.segments[0].observations[0].epoch == datetime(2005, 6, 8, 17, 41, tzinfo=UTC)


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("writer", [write_tdm_kvn, write_tdm_xml])
def test_written_messages_read_back_to_the_same_message(name: str, writer) -> None:
    tdm = _read(name, "kvn")
    again = read_tdm(writer(tdm), "again")
    assert _content(again) == _content(tdm)
    assert again.header == tdm.header and again.version == tdm.version
    assert again.issues == []


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("writer", [write_tdm_kvn, write_tdm_xml])
def test_ccsds_ndm_accepts_what_we_write(name: str, writer) -> None:
    from ccsds_ndm.ndm_io import NdmIo

    tdm = _read(name, "kvn")
    tdm.version = "2.0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its XML reader only warns on a bad enumeration
        parsed = NdmIo().from_string(writer(tdm))
    assert type(parsed).__name__ == "Tdm"
    assert sum(len(s.data.observation) for s in parsed.body.segment) == tdm.observations


def test_ccsds_ndm_check_is_not_blind() -> None:
    """The acceptance test above would catch a bad enumeration in our output."""
    from ccsds_ndm.ndm_io import NdmIo

    tdm = _read("TDMExample8", "kvn")
    tdm.version = "2.0"
    bad = write_tdm_xml(tdm).replace("<ANGLE_TYPE>AZEL", "<ANGLE_TYPE>AZXX")
    with warnings.catch_warnings(), pytest.raises(Exception, match="AZXX"):
        warnings.simplefilter("error")
        NdmIo().from_string(bad)


@pytest.mark.parametrize("ext", ["kvn", "xml"])
def test_out_of_range_values_are_issues_by_line_and_the_rest_is_kept(ext: str) -> None:
    tdm = _read("TDMExampleAllKeywordsSequential", ext)
    assert [(i.field, i.message) for i in tdm.issues] == [
        ("ANGLE_1", "2062.6480624709635516 is outside [-360, 360)"),
        ("ANGLE_2", "2119.9438419840458724 is outside [-360, 360)"),
        ("RHUMIDITY", "4600.0 is outside [0, 100]"),
    ]
    if ext == "kvn":
        assert [i.line for i in tdm.issues] == [106, 107, 120]
    assert tdm.observations == 47 - 3


def test_a_simulated_radar_track_round_trips_to_the_microsecond() -> None:
    t0 = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
    seg = TdmSegment(
        metadata={
            "TIME_SYSTEM": "UTC",
            "PARTICIPANT_1": "KAMISAIBARA",
            "PARTICIPANT_2": "25544",
            "MODE": "SEQUENTIAL",
            "PATH": "1,2,1",
            "ANGLE_TYPE": "AZEL",
            "RANGE_UNITS": "km",
        }
    )
    for k in range(3):
        epoch = t0.replace(second=k)
        seg.observations += [
            Observation("RANGE", epoch, 812.345678901 + k),
            Observation("DOPPLER_INSTANTANEOUS", epoch, -6.5432109876),
            Observation("ANGLE_1", epoch, 359.999999),
            Observation("ANGLE_2", epoch, 12.5),
        ]
    tdm = Tdm(header={"CREATION_DATE": "2026-11-30T12:00:00", "ORIGINATOR": "JPN"}, segments=[seg])
    for writer in (write_tdm_kvn, write_tdm_xml):
        assert read_tdm(writer(tdm)).segments[0].observations == seg.observations


HEAD = "CCSDS_TDM_VERS = 2.0\nCREATION_DATE = 2026-11-30T00:00:00\nORIGINATOR = JPN\n"
META = "META_START\nTIME_SYSTEM = UTC\nPARTICIPANT_1 = DSS-25\nMETA_STOP\n"
DATA_OK = "DATA_START\nRANGE = 2026-11-30T00:00:01 812.5\nDATA_STOP\n"

HOSTILE = [
    ("", 1, "CCSDS_TDM_VERS", "empty input"),
    ("CCSDS_TDM_VERS = 3.0\n", 1, "CCSDS_TDM_VERS", "'3.0' is not 1.0 or 2.0"),
    ("ORIGINATOR = JPN\n", 1, "ORIGINATOR", "a TDM starts with CCSDS_TDM_VERS"),
    (HEAD.replace("ORIGINATOR = JPN\n", "") + META + DATA_OK, 3, "ORIGINATOR", "mandatory header keyword"),
    (HEAD.replace("2026-11-30T00:00:00", "yesterday") + META, 2, "CREATION_DATE", "epoch 'yesterday'"),
    (HEAD + "SPACECRAFT = X\n" + META, 4, "SPACECRAFT", "not a TDM header keyword"),
    (HEAD + META.replace("TIME_SYSTEM = UTC\n", "") + DATA_OK, 6, "TIME_SYSTEM", "mandatory metadata"),
    (HEAD + META.replace("UTC", "MARS") + DATA_OK, 5, "TIME_SYSTEM", "'MARS' is not one of"),
    (
        HEAD + META.replace("META_STOP", "ANGLE_TYPE = ALTAZ\nMETA_STOP") + DATA_OK,
        7,
        "ANGLE_TYPE",
        "is not one of",
    ),
    (
        HEAD + META.replace("META_STOP", "RANGE_UNITS = m\nMETA_STOP") + DATA_OK,
        7,
        "RANGE_UNITS",
        "is not one of",
    ),
    (
        HEAD + META.replace("META_STOP", "FREQ_OFFSET = nan\nMETA_STOP") + DATA_OK,
        7,
        "FREQ_OFFSET",
        "is not finite",
    ),
    (HEAD + META.replace("META_STOP", "PARTICIPANT_1 = X\nMETA_STOP"), 7, "PARTICIPANT_1", "given twice"),
    (HEAD + META.replace("META_STOP", "SPEED = 3\nMETA_STOP"), 7, "SPEED", "not a TDM metadata keyword"),
    (
        HEAD + META.replace("META_STOP", "START_TIME = 2026-12-01\nSTOP_TIME = 2026-11-01\nMETA_STOP"),
        9,
        "STOP_TIME",
        "is before START_TIME",
    ),
    (HEAD + META + "RANGE = 2026-11-30T00:00:01 812.5\n", 8, "RANGE", "between META_STOP and DATA_START"),
    (HEAD + "META_START\nTIME_SYSTEM UTC\n", 5, "-", "not a KEYWORD = value line"),
    (HEAD + META + "DATA_START\nRANGE = 2026-11-30T00:00:01 812.5\n", 9, "DATA_STOP", "missing"),
    (HEAD + META + DATA_OK + "DATA_STOP\n", 11, "DATA_STOP", "unexpected"),
    (HEAD + "COMMENT ok\n" + META + DATA_OK + "COMMENT stray\n", 12, "COMMENT", "not allowed"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), HOSTILE)
def test_a_broken_header_or_metadata_is_refused_naming_line_and_field(text, line, field, message) -> None:
    with pytest.raises(FormatError) as err:
        read_tdm_kvn(text, "bad.tdm")
    assert (err.value.file, err.value.line, err.value.field) == ("bad.tdm", line, field)
    assert message in str(err.value)


BAD_DATA = [
    ("RANGE = 2026-11-30T00:00:01\n", "RANGE", "needs an epoch and one value"),
    ("RANGE = 2026-11-30T00:00:01 812.5 3\n", "RANGE", "needs an epoch and one value"),
    ("RANGE = 2026-13-30T00:00:01 812.5\n", "RANGE", "epoch '2026-13-30T00:00:01'"),
    ("RANGE = 2026-11-30T00:00:01 far\n", "RANGE", "'far' is not a number"),
    ("RANGE = 2026-11-30T00:00:01 inf\n", "RANGE", "'inf' is not finite"),
    ("RANGE = 2026-11-30T00:00:01 -1\n", "RANGE", "-1 is outside [0, inf]"),
    ("ANGLE_2 = 2026-11-30T00:00:01 360\n", "ANGLE_2", "360 is outside [-360, 360)"),
    ("SPEED = 2026-11-30T00:00:01 7.5\n", "SPEED", "not a TDM data keyword"),
    ("just words\n", "-", "not a KEYWORD = value line"),
]


@pytest.mark.parametrize(("line_text", "field", "message"), BAD_DATA)
def test_a_bad_data_line_is_an_issue_and_its_neighbours_are_kept(line_text, field, message) -> None:
    text = (
        HEAD
        + META
        + "DATA_START\nRANGE = 2026-11-30T00:00:00 800\n"
        + line_text
        + "RANGE = 2026-11-30T00:00:02 801\nDATA_STOP\n"
    )
    tdm = read_tdm_kvn(text, "bad.tdm")
    assert [o.value for o in tdm.segments[0].observations] == [800.0, 801.0]
    assert len(tdm.issues) == 1
    assert (tdm.issues[0].line, tdm.issues[0].field) == (10, field)
    assert message in tdm.issues[0].message


def test_xml_entities_and_external_doctypes_are_not_resolved() -> None:
    xml = (
        '<?xml version="1.0"?><!DOCTYPE tdm [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<tdm id="CCSDS_TDM_VERS" version="2.0"><header><COMMENT>&x;</COMMENT>'
        "<CREATION_DATE>2026-11-30T00:00:00</CREATION_DATE><ORIGINATOR>JPN</ORIGINATOR></header>"
        "<body><segment><metadata><TIME_SYSTEM>UTC</TIME_SYSTEM><PARTICIPANT_1>A</PARTICIPANT_1></metadata>"
        "<data><observation><EPOCH>2026-11-30T00:00:01</EPOCH><RANGE>1.5</RANGE></observation></data>"
        "</segment></body></tdm>"
    )
    tdm = read_tdm(xml, "x.xml")
    assert "root:" not in "".join(tdm.header_comments)
    assert tdm.segments[0].observations[0].value == 1.5


def test_a_line_break_in_a_comment_cannot_inject_a_keyword() -> None:
    tdm = _read("TDMExample2", "kvn")
    tdm.header_comments.append("note\nORIGINATOR = EVIL")
    again = read_tdm(write_tdm_kvn(tdm))
    assert again.header["ORIGINATOR"] == "NASA/JPL"
    assert again.header_comments[-1] == "note ORIGINATOR = EVIL"
