"""The TLE reader's batch conversion gives, bit for bit, the sets its one-pair fast path gives,
and a file that mixes good and bad sets keeps records and issues in the file's order."""

from __future__ import annotations

import struct
from dataclasses import fields
from pathlib import Path

import pytest
from tests.conftest import SAMPLE, SHARED_DATA

from kizuna.formats.tle import (
    _FAST_LINE1,
    _FAST_LINE2,
    _parse_pair_fast,
    _sets_from_fast_pairs,
    format_tle,
    read_tle,
)
from kizuna.model.records import ElementSet


def _bits(es: ElementSet) -> tuple[object, ...]:
    """Every field, floats by their bits (0.0 and -0.0 differ), the source included."""
    return tuple(
        struct.pack("<d", v).hex() if isinstance(v, float) else v
        for v in (getattr(es, f.name) for f in fields(es))
    )


def _pairs(text: str) -> list[tuple[str, str, str | None, int, int, int]]:
    lines = text.splitlines()
    out = []
    for i in range(len(lines) - 1):
        l1, l2 = lines[i].rstrip(), lines[i + 1].rstrip()
        if _FAST_LINE1.fullmatch(l1) and _FAST_LINE2.fullmatch(l2):
            name = lines[i - 1].strip() if i > 0 else None
            out.append((l1, l2, name, i + 1, i + 2, i))
    return out


CATALOGS = [
    SAMPLE / "leo_2026-06_sample.3le",
    SHARED_DATA / "tle" / "full_catalog_3le_2022-07.txt",
    SHARED_DATA / "tle" / "full_catalog_3le_2019-03.txt",
    SHARED_DATA / "tle" / "leo_catalog_3le_2026-06.txt",
]


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_batch_conversion_matches_the_one_pair_fast_path_bit_for_bit(path: Path):
    if not path.exists():
        pytest.skip(f"shared data not present: ../shared/data/tle/{path.name}")
    pairs = _pairs(path.read_text(encoding="utf-8-sig"))
    assert len(pairs) > 600
    batch = _sets_from_fast_pairs(pairs, "f", verify_checksum=True)
    one_by_one = [_parse_pair_fast(l1, l2, name, "f", start, True) for l1, l2, name, _, _, start in pairs]
    assert all(es is not None for es in one_by_one)
    assert [_bits(es) for es in batch] == [_bits(es) for es in one_by_one]  # type: ignore[arg-type]


def _damaged(line: str, column: int, char: str) -> str:
    return line[:column] + char + line[column + 1 :]


def fixed_sum(line: str) -> str:
    """The line with its checksum recomputed, so that only the damage made is wrong."""
    return line[:68] + str(sum(int(c) if c.isdigit() else c == "-" for c in line[:68]) % 10)


def test_pairs_the_batch_refuses_go_to_the_field_reader_in_file_order():
    """Each check of the batch, failed by one set between good ones: the same issue, at the same
    line, in the same place among the records, as when the set is read on its own."""
    sets = read_tle((SAMPLE / "leo_2026-06_sample.3le").read_text(), "s").records[:8]
    good = [format_tle(es) for es in sets]
    l1, l2 = good[1]
    damaged = [
        (_damaged(l1, 68, str((int(l1[68]) + 1) % 10)), l2),  # line 1 checksum
        (l1, _damaged(l2, 68, str((int(l2[68]) + 1) % 10))),  # line 2 checksum
        (l1, fixed_sum(_damaged(l2, 6, str((int(l2[6]) + 1) % 10)))),  # catalog numbers differ
        (l1, fixed_sum(l2[:8] + "181.0000" + l2[16:])),  # inclination out of range
        (l1, fixed_sum(l2[:43] + "361.0000" + l2[51:])),  # mean anomaly out of range
        (l1, fixed_sum(l2[:52] + " 0.00000000" + l2[63:])),  # mean motion not positive
        (fixed_sum(l1[:18] + "22366" + l1[23:]), l2),  # day 366 of a 365-day year
    ]
    for bad1, bad2 in damaged:
        alone = read_tle(f"BAD\n{bad1}\n{bad2}\n", "f")
        assert len(alone.issues) == 1 and not alone.records
        text = "".join(f"N{i}\n{a}\n{b}\n" for i, (a, b) in enumerate(good[:3]))
        text += f"BAD\n{bad1}\n{bad2}\n"
        text += "".join(f"M{i}\n{a}\n{b}\n" for i, (a, b) in enumerate(good[3:]))
        mixed = read_tle(text, "f")
        assert [(i.line - 9, i.field, i.message) for i in mixed.issues] == [
            (i.line, i.field, i.message) for i in alone.issues
        ]
        assert mixed.lines == [1, 4, 7, 13, 16, 19, 22, 25]
        assert [es.object_name for es in mixed.records] == ["N0", "N1", "N2", "M0", "M1", "M2", "M3", "M4"]
