"""`kizuna screen -f json|csv` written from the EventTable's columns a block at a time.

Reference: the bytes of the per-event path (`ConjunctionEvent.as_dict` row by row through
`stream_json` / `stream_csv`) and of the whole-document writers of kizuna.cli._common
(`print_json`, `emit_rows`), which are json.dumps and csv.writer: the column writer must print
exactly what they print, for hostile tables and for a real screening of the shared catalog.
"""

from __future__ import annotations

import io
import json
import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from tests.cli_harness import invoke

from kizuna.cli._common import emit_rows, print_json
from kizuna.cli.sda import EVENT_COLUMNS, EventRows, _json_row, stream_csv, stream_json
from kizuna.demo import sample_files
from kizuna.formats.detect import read_path
from kizuna.sda import screen
from kizuna.sda.records import ConjunctionEvent, EventTable

CATALOG = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tle" / "full_catalog_3le_2022-07.txt"
)

HEAD = {"parameters": {"volume": {"shape": "sphere"}, "step_s": 60.0}, "shown": 0, "total": 0}
TAIL = {"problems": [{"norad_id": 7, "reason": "stale", "detail": 'a "b"'}], "objects": 3, "primaries": 3}

NAMES = [
    'q"uote',
    "back\\slash",
    "Ä日本😀",
    "ctrl\x00\x01\x1f\x7f\n\r\t\u2028",
    "",
    "/slash</script>",
    "\ud800lone",
]
OBJECT_IDS = ["1998-067A", "", '"', "\\", "é", "\x1b[31m", "2022-001ZZZ"]
SOURCES = ["default", 'cara"table', "\\", "", "ü", "a+b", "\x00"]
NORAD_IDS = [25544, 0, 339999, 1, 99999, 100000, 7]

#: floats where printing or rounding goes wrong first: signed zeros, the extremes, rounding
#: halfway cases at 6 decimals, values that round to zero, and non-finite ones
HOSTILE = [
    -0.0,
    0.0,
    math.nan,
    math.inf,
    -math.inf,
    5e-324,
    -5e-324,
    1e-300,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    1e22,
    1e16,
    123456789.1234565,
    0.0000005,
    0.0000015,
    -0.0000005,
    2.675e-6,
    1.0000005,
    0.1 + 0.2,
    1 / 3,
    -4.9999995e-7,
]


def _table(n: int, seed: int, *, itrf_width: int = 6, pc: np.ndarray | None = None) -> EventTable:
    rng = np.random.default_rng(seed)
    hostile = np.array(HOSTILE)

    def floats(*shape: int) -> np.ndarray:
        # random magnitudes over 36 decades, with the hostile values mixed in
        x = rng.choice([-1.0, 1.0], shape) * 10.0 ** rng.uniform(-18, 18, shape)
        pick = rng.random(shape) < 0.3
        x[pick] = rng.choice(hostile, int(pick.sum()))
        return x

    t0 = np.datetime64("2022-07-01T00:00:00", "ns").astype(np.int64)
    tca = t0 + rng.integers(-(10**15), 10**15, n)
    tca[: min(n, 4)] = [t0 - 1, t0 + 999_999, t0 + 999_999_999, np.iinfo(np.int64).min][: min(n, 4)]  # NaT
    k = len(NORAD_IDS)
    cols = {
        "primary": rng.integers(0, k, n).astype(np.int32),
        "secondary": rng.integers(0, k, n).astype(np.int32),
        "tca_ns": tca,
        "miss_km": floats(n),
        "rel_speed_kms": floats(n),
        "rtn_km": floats(n, 3),
        "primary_teme": floats(n, 6),
        "secondary_teme": floats(n, 6),
        "primary_itrf": floats(n, itrf_width),
        "secondary_itrf": floats(n, itrf_width),
        "pc": floats(n) if pc is None else pc,
        "hbr_m": floats(n),
    }
    return EventTable(
        cols,
        norad_ids=NORAD_IDS,
        names=NAMES,
        object_ids=OBJECT_IDS,
        hbr_sources=SOURCES,
        pc_method='max"pc\\',
    )


def _json(rows) -> str:
    sink = io.StringIO()
    stream_json(HEAD, "events", rows, TAIL, sink)
    return sink.getvalue()


def _csv(rows) -> str:
    sink = io.StringIO()
    stream_csv(rows, EVENT_COLUMNS, sink)
    return sink.getvalue()


def _assert_same_as_per_event(events) -> None:
    """Column writer == per-event rows through the same stream == the whole-document writers."""
    fast_json, fast_csv = _json(EventRows(events)), _csv(EventRows(events))
    assert fast_json == _json(iter(EventRows(events)))
    assert fast_csv == _csv(iter(EventRows(events)))
    whole = io.StringIO()
    print_json({**HEAD, "events": [e.as_dict() for e in events], **TAIL}, whole)
    assert fast_json == whole.getvalue()
    whole = io.StringIO()
    emit_rows([e.as_dict() for e in events], EVENT_COLUMNS, "csv", title="", sink=whole)
    assert fast_csv == whole.getvalue()


@pytest.fixture
def small_blocks(monkeypatch):
    # blocks of 7 events: the writer's seams (first, middle, last block, a short one) get tested
    monkeypatch.setattr(EventTable, "BLOCK", 7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hostile_table_prints_the_per_event_bytes(seed, small_blocks):
    table = _table(40, seed)
    assert sum(1 for _ in table.blocks()) == 6
    _assert_same_as_per_event(table)


def test_empty_itrf_lists_and_object_pc_with_none(small_blocks):
    pc = np.array([None, 1e-5, math.nan, math.inf, 0, -0.0, None, 3e-300] * 3, dtype=object)
    table = _table(len(pc), 3, itrf_width=0, pc=pc)
    assert table[0].primary_itrf == () and table[0].pc is None
    out = _json(EventRows(table))
    assert '"primary_itrf": [],' in out and '"pc": null,' in out and '"pc": 0,' in out
    _assert_same_as_per_event(table)


def test_closest_first_and_limit_views(small_blocks):
    table = _table(30, 4)
    ordered = table.closest_first()
    for view in (ordered, ordered[:5], ordered[:1], ordered[3:20], table[::-3], ordered[:0]):
        assert isinstance(view, EventTable)
        _assert_same_as_per_event(view)
    assert _json(EventRows(ordered[:0])) == _json(iter([]))


def test_table_is_written_without_making_events(monkeypatch):
    """The point of the change: the old writer made and described every event."""

    def refuse(self):
        raise AssertionError("as_dict called on the column path")

    table = _table(25, 5)
    expected_json, expected_csv = _json(iter(EventRows(table))), _csv(iter(EventRows(table)))
    monkeypatch.setattr(ConjunctionEvent, "as_dict", refuse)
    assert _json(EventRows(table)) == expected_json
    assert _csv(EventRows(table)) == expected_csv


def test_a_list_of_events_keeps_the_per_event_path(small_blocks):
    events = list(_table(12, 6))
    _assert_same_as_per_event(events)
    assert EventRows(events).csv_blocks(["primary"]) is None


def test_csv_with_a_field_the_columns_do_not_cover_falls_back():
    table = _table(5, 7)
    assert EventRows(table).csv_blocks(["primary", "primary_teme"]) is None
    assert EventRows(table).csv_blocks(["pc", "hbr_source"]) is not None


def test_blocks_refuse_a_size_below_one():
    with pytest.raises(ValueError, match="block size"):
        next(_table(3, 8).blocks(0))


def test_real_screening_of_the_shared_catalog(small_blocks):
    if not CATALOG.exists():
        pytest.skip(f"{CATALOG} is absent")
    sets = [e for e in read_path(CATALOG).records if e.mean_motion_revday > 11.0][:400]
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    res = screen(sets, start, start + timedelta(hours=12), threshold_km=50.0)
    assert isinstance(res.events, EventTable) and len(res.events) > 20
    assert len(res.events) > 2 * EventTable.BLOCK  # several blocks of the real table
    _assert_same_as_per_event(res.events)
    _assert_same_as_per_event(res.events.closest_first()[:25])


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("limit", ["3", "0"])
def test_cli_output_equals_the_per_event_path(tmp_path, monkeypatch, fmt, limit):
    db = str(tmp_path / "k.db")
    assert invoke(["-q", "catalog", "load", *map(str, sample_files()), "--db", db]).exit_code == 0
    args = ["screen", "--owner", "JPN", "--days", "0.5", "--threshold-km", "60", "-f", fmt, "--limit", limit]
    fast = invoke([*args, "--db", db])
    assert fast.exit_code == 0, fast.output
    # the per-event path, as the command wrote before the column writer
    monkeypatch.setattr(EventRows, "json_blocks", lambda self: map(_json_row, self))
    monkeypatch.setattr(EventRows, "csv_blocks", lambda self, keys: None)
    slow = invoke([*args, "--db", db])
    assert slow.exit_code == 0, slow.output
    assert fast.stdout == slow.stdout
    if fmt == "json":
        doc = json.loads(fast.stdout)
        assert len(doc["events"]) == (3 if limit == "3" else doc["total"]) and doc["total"] > 3
        misses = [e["miss_km"] for e in doc["events"]]
        assert misses == sorted(misses)
    else:
        lines = fast.stdout.splitlines()
        assert len(lines) == 4 if limit == "3" else len(lines) > 4
