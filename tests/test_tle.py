"""TLE / 3LE reader and writer: fields, alpha-5, checksums, round trips, and errors that
name file, line and field. References: CelesTrak/Space-Track TLE documentation, sgp4's
own TLE parser (Vallado's twoline2rv) as a peer, real catalog snapshots."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from sgp4.api import Satrec
from tests.conftest import SAMPLE, shared

from kizuna.formats.tle import (
    decode_catalog_number,
    encode_catalog_number,
    format_tle,
    read_tle,
    tle_checksum,
    write_tle,
)

ISS = """0 ISS (ZARYA)
1 25544U 98067A   26161.41633915  .00005345  00000-0  10452-3 0  9990
2 25544  51.6361 333.6061 0005881 172.3680 187.7399 15.49162374570700
"""


def test_fields_of_a_real_iss_set():
    (es,) = read_tle(ISS, "iss.tle").raise_first().records
    assert es.norad_id == 25544 and es.object_name == "ISS (ZARYA)"
    assert es.object_id == "1998-067A" and es.classification == "U"
    # Day 161.41633915 of 2026 = 10 June 09:59:31.702560 (0.41633915 d = 35971.702560 s).
    assert es.epoch_utc == datetime(2026, 6, 10, 9, 59, 31, 702560, tzinfo=UTC)
    assert es.mean_motion_dot_revday2 == 0.00005345
    assert es.bstar_per_er == pytest.approx(0.10452e-3, rel=1e-15)
    assert es.eccentricity == 0.0005881 and es.inclination_deg == 51.6361
    assert es.mean_motion_revday == 15.49162374 and es.rev_at_epoch == 57070
    assert es.element_set_no == 999 and es.source == "iss.tle:1"


def test_agrees_with_sgp4_twoline2rv_on_the_sample_catalog():
    """Every bundled set: our fields equal those Vallado's parser extracts."""
    text = (SAMPLE / "leo_2026-06_sample.3le").read_text()
    lines = text.splitlines()
    records = read_tle(text, "sample").raise_first().records
    assert len(records) == len(lines) // 3
    for k, es in enumerate(records):
        sat = Satrec.twoline2rv(lines[3 * k + 1], lines[3 * k + 2])
        assert sat.satnum == es.norad_id
        assert sat.ecco == es.eccentricity
        assert sat.bstar == pytest.approx(es.bstar_per_er, rel=1e-12, abs=1e-300)
        assert math.degrees(sat.inclo) == pytest.approx(es.inclination_deg, abs=1e-12)
        assert sat.no_kozai * 1440 / (2 * math.pi) == pytest.approx(es.mean_motion_revday, rel=1e-14)
        epoch_jd = sat.jdsatepoch + sat.jdsatepochF
        ours = (es.epoch_utc - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds() / 86400
        assert epoch_jd - 2451545.0 == pytest.approx(ours, abs=1e-8)  # < 1 ms


@pytest.mark.parametrize(
    "text,value",
    [
        ("00005", 5),
        ("    5", 5),
        ("25544", 25544),
        ("A0000", 100000),
        ("A0404", 100404),
        ("H9999", 179999),
        ("J0000", 180000),
        ("P0000", 230000),
        ("Z9999", 339999),
        ("T0000", 270000),
    ],
)
def test_alpha5_catalog_numbers(text, value):
    assert decode_catalog_number(text) == value
    assert encode_catalog_number(value) == text.strip().zfill(5) if text[0] != " " else True


@pytest.mark.parametrize("bad", ["I0000", "O1234", "A12", "12a45", ""])
def test_alpha5_rejects_i_o_and_garbage(bad):
    with pytest.raises(ValueError):
        decode_catalog_number(bad)


def test_alpha5_files_agree_with_sgp4_alpha5():
    from sgp4.alpha5 import from_alpha5

    path = shared("tle/gpconf/alpha5-tle/alpha5-synthetic-letters.tle")
    result = read_tle(path.read_text(), str(path)).raise_first()
    assert len(result.records) == 46
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("1 ")]
    for es, line in zip(result.records, lines, strict=True):
        assert es.norad_id == from_alpha5(line[2:7])


def test_epoch_year_pivot_at_57():
    path = shared("tle/gpconf/alpha5-tle/alpha5-synthetic-epoch-years.tle")
    result = read_tle(path.read_text(), str(path)).raise_first()
    years = sorted(es.epoch_utc.year for es in result.records)
    assert years[0] == 1957 and years[-1] == 2056 and len(set(years)) == 100


def test_checksum_examples():
    line = "1 25544U 98067A   20001.25776601  .00001469  00000-0  34254-4 0  9999"
    assert tle_checksum(line) == 9


def test_writer_reproduces_real_lines_exactly():
    text = (SAMPLE / "leo_2026-06_sample.3le").read_text()
    source_lines = [ln for ln in text.splitlines() if ln[:2] in ("1 ", "2 ")]
    written = write_tle(read_tle(text).records, names=False).splitlines()
    assert written == source_lines


def test_round_trip_is_lossless_on_full_snapshots():
    for rel in ("tle/full_catalog_3le_2022-07.txt", "tle/full_catalog_3le_2019-03.txt"):
        path = shared(rel)
        first = read_tle(path.read_text(), str(path)).raise_first().records
        again = read_tle(write_tle(first), "rewritten").raise_first().records
        assert again == first


def test_2019_plus_signs_and_zero_padding_read_as_values():
    text = (
        "1 44160U 19006AX  20162.79712247 +.00816806 +19088-3 +34711-2 0  9997\n"
        "2 44160 095.2472 272.0808 0216413 032.6694 328.7739 15.58006382062511\n"
    )
    (es,) = read_tle(text).raise_first().records
    assert es.mean_motion_dot_revday2 == 0.00816806 and es.bstar_per_er == pytest.approx(0.34711e-2)
    assert es.inclination_deg == 95.2472
    sat = Satrec.twoline2rv(*text.splitlines())
    assert sat.bstar == pytest.approx(es.bstar_per_er, rel=1e-12)


def test_omm_precision_is_rounded_as_celestrak_renders_it():
    """gpconf's renderer reproduces CelesTrak TLEs from OMM values: we must too."""
    from kizuna.formats.omm import read_omm_json

    orig = shared("tle/gpconf/corrupt-input/unedited-array.json")
    tle = shared("tle/gpconf/corrupt-input/unedited-sets.tle")
    omm_sets = read_omm_json(orig.read_text(), str(orig)).raise_first().records
    tle_lines = [ln for ln in tle.read_text().splitlines() if ln[:2] in ("1 ", "2 ")]
    ours = [ln for es in omm_sets for ln in format_tle(es)]

    # CelesTrak writes a zero exponent field as '00000+0', Space-Track (and we) as '00000-0';
    # the checksum moves with it. Every other column must match.
    def norm(line: str) -> str:
        return line[:68].replace(" 00000+0", " 00000-0")

    assert sorted(norm(o) for o in ours) == sorted(norm(t) for t in tle_lines)


def _corrupt_cases():

    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "tle" / "gpconf" / "corrupt-input"
    if not folder.exists():
        return []
    return sorted(p for p in folder.glob("c*.provenance.json"))


@pytest.mark.parametrize("provenance", _corrupt_cases(), ids=lambda p: p.name.split(".")[0])
def test_gpconf_corrupt_inputs_give_the_described_error(provenance):
    """Each corrupt file: the good records are kept; the bad one is reported at the line and
    field its provenance file names."""
    import json

    from kizuna.formats.detect import read_path

    meta = json.loads(provenance.read_text())
    data_file = provenance.parent / meta["file"].split("/")[-1]
    result = read_path(data_file)
    valid = [r for r in meta["records"] if r.get("role") == "valid"]
    assert len(result.records) == len(valid)
    assert len(result.issues) == 1
    issue = result.issues[0]
    assert issue.file == str(data_file)
    lines = data_file.read_text().splitlines()
    expected = {
        "corrupt-tle-checksum-digit": ("LINE1", "checksum"),
        "corrupt-tle-line-short": ("LINE2", "68 characters, a TLE line has 69: cut short in checksum"),
        "corrupt-tle-letter-in-number": ("EPOCH", "7O990935"),
        "corrupt-tle-missing-line-2": ("LINE2", "expected line 2"),
    }
    check = meta["check"]
    if check in expected:
        field, words = expected[check]
        assert issue.field == field and words in issue.message
        bad_norad = next(r["norad_cat_id"] for r in meta["records"] if r.get("role") == "corrupt")
        # The reported line is inside the corrupt set (its line 1, or where line 2 should be).
        near = " ".join(lines[max(0, issue.line - 2) : issue.line])
        assert str(bad_norad) in near
    elif data_file.suffix == ".csv":
        # The cut falls in MEAN_MOTION_DOT, so the row ends one column early: MEAN_MOTION_DDOT
        # is the missing field (the provenance: "MEAN_MOTION_DDOT ... missing").
        assert "MEAN_MOTION_DDOT" in meta["records"][-1]["edit"]["statement"]
        assert issue.field == "MEAN_MOTION_DDOT" and issue.line == len(lines)
    else:  # JSON cut before its closing bracket
        assert issue.field == "JSON" and "closing" in issue.message and issue.line == len(lines)
    assert {r.norad_id for r in result.records} == {r["norad_cat_id"] for r in valid}


def test_errors_name_file_line_and_field():
    text = ISS + ISS.replace("51.6361", "51.6X61")
    result = read_tle(text, "two.tle")
    assert len(result.records) == 1
    (issue,) = result.issues
    assert (issue.file, issue.line) == ("two.tle", 6)
    assert issue.field == "LINE2" and "checksum" in issue.message  # X counts 0, as 3 did
    unchecked = read_tle(text, "two.tle", verify_checksum=False)
    assert unchecked.issues[0].field == "INCLINATION" and unchecked.issues[0].line == 6


def _damaged_sample_3le() -> tuple[str, dict[int, tuple[int, str, str]]]:
    """The first 300 sets of the bundled 3LE sample with 5 sets damaged in 5 different ways;
    returns the text and, per damaged set index, the (line, field, words) its issue must name."""
    lines = (SAMPLE / "leo_2026-06_sample.3le").read_text().splitlines()
    sets = [lines[i : i + 3] for i in range(0, len(lines), 3)][:300]
    sets[10][2] = sets[10][2][:40]  # line 2 cut short
    sets[50][1] = sets[50][1][:68] + str((int(sets[50][1][68]) + 1) % 10)  # checksum digit off
    sets[100][1] = sets[100][1][:30]  # line 1 cut short
    sets[150][2] = sets[150][2][:8] + "51.6X61 " + sets[150][2][16:]  # letter in INCLINATION
    del sets[200][2]  # line 2 missing
    expected = {
        10: (10 * 3 + 3, "LINE2", "40 characters, a TLE line has 69: cut short in ARG_OF_PERICENTER"),
        50: (50 * 3 + 2, "LINE1", "checksum"),
        100: (100 * 3 + 2, "LINE1", "30 characters, a TLE line has 69: cut short in EPOCH"),
        150: (150 * 3 + 3, "LINE2", "checksum"),
        200: (200 * 3 + 2, "LINE2", "expected line 2 of the set that starts on line 602"),
    }
    return "\n".join(line for s in sets for line in s) + "\n", expected


def test_each_damaged_set_is_one_issue_at_its_line_and_field():
    """A cut line 1 or line 2 used to be reported twice (as the cut line, then as an orphan
    line 2 or as a missing line 2), so 5 bad sets of 300 counted as 6 or 7 rejected."""
    text, expected = _damaged_sample_3le()
    result = read_tle(text, "damaged.3le")
    assert len(result.records) == 295
    assert len(result.issues) == 5
    got = sorted((i.line, i.field, i.message) for i in result.issues)
    for (line, field, message), (eline, efield, words) in zip(got, sorted(expected.values()), strict=True):
        assert (line, field) == (eline, efield) and words in message, (line, field, message)


def test_catalog_load_counts_rejected_sets_not_issues(tmp_path):
    from kizuna.store import CatalogStore
    from kizuna.store.ingest import load_file

    text, _expected = _damaged_sample_3le()
    path = tmp_path / "damaged.3le"
    path.write_text(text)
    store = CatalogStore(str(tmp_path / "k.db"))
    try:
        summary = load_file(store, path)
    finally:
        store.close()
    assert (summary.loaded, summary.rejected) == (295, 5)


def test_cut_line_2_after_a_name_is_one_issue_and_the_next_set_reads():
    cut = ISS.splitlines()
    text = "\n".join([cut[0], cut[1], cut[2][:50]]) + "\n" + ISS
    result = read_tle(text, "cut.tle")
    assert len(result.records) == 1 and result.records[0].source == "cut.tle:4"
    (issue,) = result.issues
    assert (issue.line, issue.field) == (3, "LINE2") and "MEAN_ANOMALY" in issue.message
