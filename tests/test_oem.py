"""CCSDS OEM (502.0-B-3) with covariance, KVN and XML, against the standard's examples and ccsds-ndm."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from kizuna.errors import FormatError
from kizuna.formats.oem import (
    Covariance,
    Oem,
    OemSegment,
    read_oem,
    read_oem_kvn,
    write_oem_kvn,
    write_oem_xml,
)

DATA = Path(__file__).parent / "data" / "ccsds" / "oem"
EXAMPLES = sorted(p.name for p in DATA.glob("OEMExample*"))


def _read(name: str) -> Oem:
    return read_oem((DATA / name).read_text(encoding="utf-8"), name)


def _same(a: Oem, b: Oem) -> None:
    assert a.header == b.header and a.version == b.version and len(a.segments) == len(b.segments)
    for x, y in zip(a.segments, b.segments, strict=True):
        assert x.metadata == y.metadata
        assert np.array_equal(x.epochs, y.epochs) and np.array_equal(x.states, y.states)
        assert (x.accelerations is None) == (y.accelerations is None)
        assert [(c.epoch, c.frame) for c in x.covariances] == [(c.epoch, c.frame) for c in y.covariances]
        for c, d in zip(x.covariances, y.covariances, strict=True):
            assert np.array_equal(c.matrix, d.matrix)


def test_the_standards_first_example_with_its_covariances() -> None:
    oem = _read("OEMExample1.kvn")
    assert oem.version == "3.0" and oem.header["ORIGINATOR"] == "NASA/JPL"
    assert [len(s.epochs) for s in oem.segments] == [4, 4, 4]
    first = oem.segments[0]
    assert (
        first.metadata["CENTER_NAME"] == "MARS BARYCENTER" and first.metadata["INTERPOLATION_DEGREE"] == "7"
    )
    assert first.epochs[0] == np.datetime64("1996-12-18T12:00:00.331", "ns")
    assert first.states[0].tolist() == [2789.619, -280.045, -1746.755, 4.73372, -2.49586, -1.04195]
    cov = oem.segments[1].covariances[0]
    assert cov.frame == "EME2000" and cov.epoch == np.datetime64("1996-12-28T21:29:07.267", "ns")
    assert cov.matrix[0, 0] == 3.3313494e-04 and cov.matrix[5, 5] == 6.2244443e-10
    assert cov.matrix[1, 0] == cov.matrix[0, 1] == 4.6189273e-04
    assert np.array_equal(cov.matrix, cov.matrix.T)
    # the example repeats its last state line: an issue by line, the other states kept
    assert [(i.line, i.field) for i in oem.issues] == [(81, "EPOCH")]


def test_the_xml_example_maps_each_named_covariance_element_to_its_place() -> None:
    xml = _read("OEMExample3.xml")
    cov = xml.segments[0].covariances[0]
    assert cov.frame == "ITRF1997" and cov.epoch == np.datetime64("1996-12-28T22:28:00.331", "ns")
    m = cov.matrix
    assert (m[1, 0], m[2, 1], m[3, 1], m[3, 3], m[4, 3], m[5, 2], m[5, 5]) == (
        0.722,  # CY_X
        0.715,  # CZ_Y
        0.306,  # CX_DOT_Y
        0.797,  # CX_DOT_X_DOT
        0.079,  # CY_DOT_X_DOT
        0.950,  # CZ_DOT_Z
        0.991,  # CZ_DOT_Z_DOT
    )
    assert np.array_equal(m, m.T)
    assert xml.segments[0].accelerations is not None


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("writer", [write_oem_kvn, write_oem_xml])
def test_written_messages_read_back_to_the_same_message(name: str, writer) -> None:
    oem = _read(name)
    again = read_oem(writer(oem), "again")
    _same(oem, again)
    assert again.issues == []


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("writer", [write_oem_kvn, write_oem_xml])
def test_ccsds_ndm_accepts_what_we_write(name: str, writer) -> None:
    from ccsds_ndm.ndm_io import NdmIo

    oem = _read(name)
    oem.version = "3.0"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parsed = NdmIo().from_string(writer(oem))
    assert type(parsed).__name__ == "Oem"
    assert [len(s.data.state_vector) for s in parsed.body.segment] == [len(s.epochs) for s in oem.segments]
    assert [len(s.data.covariance_matrix) for s in parsed.body.segment] == [
        len(s.covariances) for s in oem.segments
    ]


def test_an_orbit_fit_result_round_trips_to_the_nanosecond() -> None:
    epochs = np.datetime64("2026-11-30T12:00:00.123456789", "ns") + np.arange(3) * np.timedelta64(60, "s")
    rng = np.random.default_rng(7)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T * 1e-6
    seg = OemSegment(
        metadata={
            "OBJECT_NAME": "ISS (ZARYA)",
            "OBJECT_ID": "1998-067A",
            "CENTER_NAME": "EARTH",
            "REF_FRAME": "GCRF",
            "TIME_SYSTEM": "UTC",
            "START_TIME": "2026-11-30T12:00:00.123456789",
            "STOP_TIME": "2026-11-30T12:02:00.123456789",
        },
        epochs=epochs,
        states=rng.normal(size=(3, 6)) * 1000,
        covariances=[Covariance(epochs[0], cov, "RTN")],
    )
    oem = Oem(header={"CREATION_DATE": "2026-11-30T13:00:00", "ORIGINATOR": "JPN"}, segments=[seg])
    for writer in (write_oem_kvn, write_oem_xml):
        again = read_oem(writer(oem))
        _same(oem, again)
        assert str(again.segments[0].epochs[0]) == "2026-11-30T12:00:00.123456789"


HEAD = "CCSDS_OEM_VERS = 3.0\nCREATION_DATE = 2026-11-30T00:00:00\nORIGINATOR = JPN\n"
META = (
    "META_START\nOBJECT_NAME = SAT\nOBJECT_ID = 2026-001A\nCENTER_NAME = EARTH\nREF_FRAME = GCRF\n"
    "TIME_SYSTEM = UTC\nSTART_TIME = 2026-11-30T00:00:00\nSTOP_TIME = 2026-11-30T01:00:00\nMETA_STOP\n"
)
STATE = "2026-11-30T00:00:00 7000 0 0 0 7.5 0\n"
STATE2 = "2026-11-30T00:01:00 6999 450 0 -0.5 7.49 0\n"

HOSTILE = [
    ("CCSDS_OEM_VERS = 9.0\n", 1, "CCSDS_OEM_VERS", "is not 1.0, 2.0 or 3.0"),
    (HEAD.replace("ORIGINATOR = JPN\n", "") + META + STATE, 3, "ORIGINATOR", "mandatory header"),
    (HEAD + META.replace("REF_FRAME = GCRF\n", ""), 11, "REF_FRAME", "mandatory metadata"),
    (
        HEAD + META.replace("STOP_TIME = 2026-11-30T01", "STOP_TIME = 2026-11-29T01"),
        12,
        "STOP_TIME",
        "before START_TIME",
    ),
    (
        HEAD + META.replace("START_TIME = 2026-11-30T00:00:00", "START_TIME = noon"),
        10,
        "START_TIME",
        "epoch 'noon'",
    ),
    (
        HEAD + META.replace("META_STOP", "INTERPOLATION_DEGREE = 0\nMETA_STOP"),
        13,
        "INTERPOLATION_DEGREE",
        "1-32",
    ),
    (HEAD + META.replace("META_STOP", "SPEED = 3\nMETA_STOP"), 12, "SPEED", "not an OEM metadata keyword"),
    (HEAD + META + STATE + "REF_FRAME = ITRF\n", 14, "REF_FRAME", "a keyword inside the ephemeris data"),
    (
        HEAD + META + STATE + "COVARIANCE_START\nEPOCH = 2026-11-30T00:00:00\n1\n",
        16,
        "COVARIANCE_STOP",
        "ends early",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), HOSTILE)
def test_a_broken_header_or_metadata_is_refused_naming_line_and_field(text, line, field, message) -> None:
    with pytest.raises(FormatError) as err:
        read_oem_kvn(text, "bad.oem")
    assert (err.value.line, err.value.field) == (line, field)
    assert message in str(err.value)


BAD_LINES = [
    ("2026-11-30T00:00:30 7000 0 0 0 7.5\n", "EPHEMERIS", "needs an epoch and 6 or 9 values, has 5"),
    ("2026-11-30T00:00:30 7000 0 0 0 7.5 x\n", "Z_DOT", "'x' is not a number"),
    ("2026-11-30T00:00:30 7000 0 0 nan 7.5 0\n", "X_DOT", "'nan' is not finite"),
    ("2026-11-30T02:00:00 7000 0 0 0 7.5 0\n", "EPOCH", "outside START_TIME..STOP_TIME"),
    ("2026-11-30T00:00:00 7000 0 0 0 7.5 0\n", "EPOCH", "not after the previous state's epoch"),
    ("2026-11-31T00:00:30 7000 0 0 0 7.5 0\n", "EPOCH", "epoch '2026-11-31T00:00:30'"),
]


@pytest.mark.parametrize(("line", "field", "message"), BAD_LINES)
def test_a_bad_state_line_is_an_issue_and_the_others_are_kept(line, field, message) -> None:
    oem = read_oem_kvn(HEAD + META + STATE + line + STATE2, "bad.oem")
    assert len(oem.segments[0].epochs) == 2
    assert [(i.line, i.field) for i in oem.issues] == [(14, field)]
    assert message in oem.issues[0].message


def test_a_covariance_with_a_bad_row_is_left_out_whole() -> None:
    rows = ["1e-3", "0 1e-3", "0 0 1e-3", "0 0 0 1e-9", "0 0 0 0 1e-9", "0 0 0 0 0 1e-9"]
    good = "COVARIANCE_START\nEPOCH = 2026-11-30T00:00:00\n" + "\n".join(rows) + "\nCOVARIANCE_STOP\n"
    oem = read_oem_kvn(HEAD + META + STATE + good, "ok.oem")
    assert len(oem.segments[0].covariances) == 1 and oem.issues == []
    bad = good.replace("0 0 0 1e-9", "0 0 1e-9")
    oem = read_oem_kvn(HEAD + META + STATE + bad, "bad.oem")
    assert oem.segments[0].covariances == []
    assert [(i.field, "row 4 needs 4 values, has 3" in i.message) for i in oem.issues] == [
        ("COVARIANCE", True)
    ]
    assert len(oem.segments[0].epochs) == 1
