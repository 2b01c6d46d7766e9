"""CDM reader/writer (CCSDS 508.0-B-1) on NASA CARA's real CDMs, checked with ccsds-ndm."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import pytest
from tests.conftest import shared

from kizuna.errors import FormatError
from kizuna.formats.cdm import read_cdm, read_cdm_kvn, read_cdm_xml, write_cdm_kvn, write_cdm_xml


def _all_cdms():
    root = shared("cdm_pc/cara")
    files = sorted(root.glob("*/*.cdm")) + sorted((root / "UnitTestCDMs").glob("*.txt"))
    assert len(files) == 91
    return files


def _same(a, b):
    def eq(x, y):
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            return True
        return x == y

    def same_dict(p, q):
        return p.keys() == q.keys() and all(eq(p[k], q[k]) for k in p)

    return (
        same_dict(a.header, b.header)
        and same_dict(a.relative, b.relative)
        and all(same_dict(x.fields, y.fields) for x, y in zip(a.objects, b.objects, strict=True))
        and a.relative_comments == b.relative_comments
        and [x.comments for x in a.objects] == [y.comments for y in b.objects]
    )


def test_every_cara_cdm_parses_and_round_trips_kvn_and_xml():
    for path in _all_cdms():
        cdm = read_cdm(path.read_text(), path.name)
        assert len(cdm.objects) == 2 and cdm.objects[0].fields["OBJECT"] == "OBJECT1"
        assert _same(cdm, read_cdm_kvn(write_cdm_kvn(cdm)))
        assert _same(cdm, read_cdm_xml(write_cdm_xml(cdm)))


def test_values_read_as_written():
    path = shared("cdm_pc/cara/PcTestCaseCDMs/000020580_conj_000022015_20210315_212955_20210313_065123.cdm")
    cdm = read_cdm(path.read_text(), path.name)
    assert cdm.tca_utc.isoformat() == "2021-03-15T21:29:55.881000+00:00"
    assert cdm.miss_km == pytest.approx(1.275)
    assert cdm.collision_probability == pytest.approx(6.115e-4)
    o1 = cdm.objects[0]
    assert o1.name == "HST" and o1.ref_frame == "EME2000"
    assert o1.fields["CT_T"] == pytest.approx(1.011943759055940027e05)
    assert o1.covariance_rtn_km2()[1, 1] == pytest.approx(1.011943759055940027e05 * 1e-6)


def test_xml_is_accepted_by_ccsds_ndm_schema_bindings():
    """ccsds-ndm 3.1.1 ships no .xsd file, but xsdata bindings generated from the official NDM/XML
    schema; its strict parser (unknown elements fail, units enumerated) stands in for XSD validation."""
    from ccsds_ndm.ndm_io import NdmIo

    for path in sorted(shared("cdm_pc/cara/PcTestCaseCDMs").glob("*.cdm"))[:10]:
        xml = write_cdm_xml(read_cdm(path.read_text()))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            msg = NdmIo().from_string(xml)
        assert type(msg).__name__ == "Cdm"
        assert msg.body.segment[0].data.state_vector.x.value == pytest.approx(
            read_cdm(path.read_text()).objects[0].fields["X"]
        )


def _good_text():
    return shared(
        "cdm_pc/cara/PcTestCaseCDMs/000020580_conj_000022015_20210315_212955_20210313_065123.cdm"
    ).read_text()


def test_missing_mandatory_field_names_file_line_keyword():
    text = _good_text().replace("OBJECT_DESIGNATOR                           = 000022015\n", "")
    with pytest.raises(FormatError) as exc:
        read_cdm(text, "bad.cdm")
    assert exc.value.file == "bad.cdm" and exc.value.field == "OBJECT_DESIGNATOR"
    assert exc.value.line == 81  # the OBJECT = OBJECT2 line that opens the incomplete section
    text = "\n".join(ln for ln in _good_text().splitlines() if not ln.startswith("TCA"))
    with pytest.raises(FormatError, match="TCA"):
        read_cdm(text, "bad.cdm")


def test_non_numeric_covariance_names_line_and_keyword():
    lines = _good_text().splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.startswith("CN_T"))
    lines[k] = "CN_T                                        = 8.9x+00 [m**2]"
    with pytest.raises(FormatError) as exc:
        read_cdm("\n".join(lines), "bad.cdm")
    assert (exc.value.file, exc.value.line, exc.value.field) == ("bad.cdm", k + 1, "CN_T")
    assert "non-numeric covariance" in str(exc.value)


def test_xml_errors_carry_source_lines():
    xml = write_cdm_xml(read_cdm(_good_text()))
    bad = re.sub(r'<CN_N units="m\*\*2">[^<]*<', '<CN_N units="m**2">abc<', xml, count=1)
    assert bad != xml
    line = bad.splitlines().index(next(ln for ln in bad.splitlines() if ">abc<" in ln)) + 1
    with pytest.raises(FormatError) as exc:
        read_cdm_xml(bad, "bad.xml")
    assert (exc.value.line, exc.value.field) == (line, "CN_N")


def test_real_defects_are_warnings_not_failures():
    """CARA's sample CDMs label relative velocities [m] and truncate a unit to '['."""
    path = shared("cdm_pc/cara/SampleCDMs/AlfanoTestCase01.cdm")
    cdm = read_cdm(path.read_text(), path.name)
    assert any(w.field == "RELATIVE_VELOCITY_R" for w in cdm.warnings)
    assert Path(path).name in cdm.warnings[0].file
