"""Property tests: garbage, truncated and mutated inputs give kizuna format issues with file,
line and field, and never an unhandled exception, for every reader."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import SAMPLE

from kizuna.errors import FormatError
from kizuna.formats.detect import read_text
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
from kizuna.formats.satcat import read_satcat_csv, read_satcat_json
from kizuna.formats.tle import read_tle, write_tle

_SETS = read_omm_csv((SAMPLE / "active_2026-07_sample.csv").read_text()).records[:4]
_SATCAT = "\n".join((SAMPLE / "satcat_sample.csv").read_text().splitlines()[:6]) + "\n"
VALID = {
    "tle": (read_tle, write_tle(_SETS)),
    "omm-kvn": (read_omm_kvn, write_omm_kvn(_SETS)),
    "omm-xml": (read_omm_xml, write_omm_xml(_SETS)),
    "omm-json": (read_omm_json, write_omm_json(_SETS, indent=1)),
    "omm-csv": (read_omm_csv, write_omm_csv(_SETS)),
    "satcat-csv": (read_satcat_csv, _SATCAT),
    "satcat-json": (read_satcat_json, '[{"NORAD_CAT_ID": 5, "OWNER": "US", "OBJECT_TYPE": "PAY"}]'),
}
READERS = [reader for reader, _ in VALID.values()] + [read_text]


def _check(reader, text: str) -> None:
    result = reader(text, "fuzz.txt")
    n_lines = text.count("\n") + 2
    for issue in result.issues:
        assert issue.file == "fuzz.txt"
        assert isinstance(issue.line, int) and 0 <= issue.line <= n_lines
        assert isinstance(issue.field, str) and issue.field
        assert isinstance(issue.message, str) and issue.message
    assert len(result.records) == len(result.lines)
    if result.issues:
        try:
            result.raise_first()
        except FormatError as exc:
            assert exc.file == "fuzz.txt" and exc.field
        else:  # pragma: no cover
            raise AssertionError("raise_first did not raise")


fuzz = settings(
    max_examples=int(os.environ.get("KIZUNA_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@fuzz
@given(st.sampled_from(READERS), st.text(max_size=400))
def test_garbage(reader, text):
    _check(reader, text)


@fuzz
@given(st.sampled_from(sorted(VALID)), st.data())
def test_truncated(fmt, data):
    reader, text = VALID[fmt]
    cut = data.draw(st.integers(0, len(text)))
    _check(reader, text[:cut])
    _check(read_text, text[:cut])


@fuzz
@given(st.sampled_from(sorted(VALID)), st.data())
def test_mutated(fmt, data):
    reader, text = VALID[fmt]
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, max(len(chars) - 1, 0)))
        op = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        ch = data.draw(st.characters(codec="utf-8"))
        if op == "replace" and chars:
            chars[pos] = ch
        elif op == "delete" and chars:
            del chars[pos]
        else:
            chars.insert(pos, ch)
    mutated = "".join(chars)
    _check(reader, mutated)
    _check(read_text, mutated)


def test_valid_inputs_have_no_issues():
    for fmt, (reader, text) in VALID.items():
        result = reader(text, fmt)
        assert not result.issues, (fmt, result.issues)
        assert result.records
