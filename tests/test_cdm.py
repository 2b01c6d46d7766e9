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


# ------------------------------------------------------------ CDMs written from a screening
@pytest.fixture(scope="module")
def sample_events():
    """Events of a real screening of the bundled sample catalog, with HBRs from a CARA-style
    table (every other object a 'CARA Protected Primary', the rest CARA 'Default')."""
    from datetime import timedelta

    from kizuna.demo import sample_files
    from kizuna.formats.detect import read_path
    from kizuna.model.records import ElementSet
    from kizuna.sda.hbr import hbr_table, parse_cara_hbr
    from kizuna.sda.screening import screen

    sets = [r for f in sample_files() for r in read_path(f).records if isinstance(r, ElementSet)]
    ids = sorted({s.norad_id for s in sets})
    rows = [
        f"{n},{5 + n % 3},0,{'CARA Protected Primary' if k % 2 else 'Default'}" for k, n in enumerate(ids)
    ]
    cara = parse_cara_hbr("ObjectID,HBR,HBRSigma,HBRSource\n" + "\n".join(rows) + "\n", "hbr.csv")
    t0 = sorted(s.epoch_utc for s in sets)[len(sets) // 2].replace(minute=0, second=0, microsecond=0)
    result = screen(sets, t0, t0 + timedelta(hours=12), threshold_km=20.0, hbr_m=hbr_table([], cara.records))
    assert len(result.events) >= 5
    by_id = {s.norad_id: s for s in sets}
    return sorted(result.events, key=lambda e: e.miss_km)[:6], by_id


def _round_trips(cdm):
    from kizuna.sda.assess import assess_cdm

    for writer in (write_cdm_kvn, write_cdm_xml):
        text = writer(cdm)
        back = read_cdm(text, f"event.{writer.__name__}")
        yield text, back, assess_cdm(back)


def test_screening_cdm_states_a_maximum_pc_its_own_covariance_reproduces(sample_events):
    """The TLE-only maximum Pc used to sit beside a fixed default covariance from which the
    message's own Pc was ~1e-46: now the message says it is a maximum, carries the covariance
    the maximum is attained at, and re-assessing it gives the Pc it states."""
    from kizuna.sda.assess import CDM_MAX_PC_METHOD, event_to_cdm

    events, by_id = sample_events
    for event in events:
        cdm = event_to_cdm(event)
        for text, back, got in _round_trips(cdm):
            stated = back.collision_probability
            assert stated is not None and stated > 0
            assert got.pc == pytest.approx(stated, rel=1e-6)
            assert stated == pytest.approx(event.pc, rel=1e-6)  # the screening's own number
            assert got.maximum_pc and "MAXIMUM" in got.note
            assert got.pc_max_isotropic == pytest.approx(stated, rel=1e-6)
            assert back.relative["COLLISION_PROBABILITY_METHOD"] == CDM_MAX_PC_METHOD
            assert any("MAXIMUM Pc" in c for c in back.relative_comments)
            for obj, norad in zip(back.objects, (event.primary, event.secondary), strict=True):
                designator = by_id[norad].object_id
                assert designator and re.fullmatch(r"\d{4}-\d{3}[A-Z]{1,3}", designator)
                assert obj.fields["INTERNATIONAL_DESIGNATOR"] == designator
            assert "CARA CARA" not in text and got.hbr_m == event.hbr_m


def test_screening_cdm_with_covariance_pc_writes_that_covariance(sample_events):
    """An anisotropic RTN covariance (in-track 4x radial): the message's Pc must be the event's
    and what its own covariance gives, which needs the RTN frame of the ITRF states built on
    the inertial velocity (the Earth-relative one tilts T and N by ~3.5 degrees)."""
    from kizuna.sda.assess import event_to_cdm, with_covariance_pc

    events, _ = sample_events
    # sigmas of the order of each miss keep the Pc well above underflow
    for event in events:
        sig = event.miss_km
        (cov_event,) = with_covariance_pc([event], {}, (sig / 2.0, 2.0 * sig, sig / 2.0))
        assert cov_event.pc > 1e-12
        cdm = event_to_cdm(cov_event)
        for _text, back, got in _round_trips(cdm):
            stated = back.collision_probability
            assert back.relative["COLLISION_PROBABILITY_METHOD"] == "FOSTER-1992"
            assert not got.maximum_pc and got.pc_max_isotropic is None
            assert got.pc == pytest.approx(stated, rel=1e-6)
            assert stated == pytest.approx(cov_event.pc, rel=1e-6)
            c = back.objects[0].covariance_rtn_km2()
            assert c[0, 0] == pytest.approx((sig / 2.0) ** 2) and c[1, 1] == pytest.approx(4.0 * sig**2)


def test_designator_unknown_only_when_the_catalog_has_none(sample_events):
    from dataclasses import replace

    from kizuna.sda.assess import event_to_cdm

    events, _ = sample_events
    cdm = event_to_cdm(replace(events[0], secondary_object_id=""))
    assert cdm.objects[0].fields["INTERNATIONAL_DESIGNATOR"] == events[0].primary_object_id != ""
    assert cdm.objects[1].fields["INTERNATIONAL_DESIGNATOR"] == "UNKNOWN"


def test_cara_hbr_source_is_not_prefixed_twice():
    from kizuna.sda.hbr import parse_cara_hbr

    text = "ObjectID,HBR,HBRSigma,HBRSource\n1,7.5,0,CARA Protected Primary\n2,1.1,0,Default\n"
    assert [s for _n, _h, s in parse_cara_hbr(text).records] == ["CARA Protected Primary", "CARA Default"]
