"""The bulk (numpy) AIS decoder and the column inserts, against pyais on every shared message."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
from tests.conftest import shared

from kizuna.formats.ais import NmeaDecoder, PositionColumns, iter_ais_chunks
from kizuna.model.maritime import VesselPosition
from kizuna.store import CatalogStore
from kizuna.store.ais_store import AisStore, _out_of_order_columns

NMEA_SUFFIXES = (".log", ".txt", ".aivdm", ".nmea", ".ais")


def _key(r: object) -> tuple[object, ...]:
    values = [getattr(r, f) for f in r.__slots__] if hasattr(r, "__slots__") else list(vars(r).values())
    return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in values)


def _decode(lines: list[str], vectorized: bool, name: str):  # noqa: ANN202
    dec = NmeaDecoder(name)
    dec.vectorized = vectorized
    records, where, issues = dec.feed(lines)
    issues += dec.finish()
    return records, where, issues, dec.counts.as_dict()


def test_bulk_decoder_equals_pyais_on_every_shared_message():
    """Every record, line, issue and count of the bulk path equals the all-pyais path, file by file."""
    root = shared("ais")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in NMEA_SUFFIXES)
    fast_positions = 0
    for path in files:
        lines = path.read_text(errors="replace").splitlines()
        got = _decode(lines, True, path.name)
        ref = _decode(lines, False, path.name)
        assert [_key(r) for r in got[0]] == [_key(r) for r in ref[0]], path.name
        assert [getattr(r, "source", None) for r in got[0]] == [getattr(r, "source", None) for r in ref[0]]
        assert got[1] == ref[1], path.name
        assert [i.as_dict() for i in got[2]] == [i.as_dict() for i in ref[2]], path.name
        assert got[3] == ref[3], path.name
        fast_positions += sum(isinstance(r, VesselPosition) and r.msg_type in (1, 2, 3, 18) for r in got[0])
    assert fast_positions > 1000


def test_bad_fast_lines_are_named_and_good_ones_kept():
    good = "!AIVDM,1,1,,B,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09"
    bad_sum = good[:-2] + "00"
    tagged = "\\c:1262304000*59\\" + good
    bad_tag = "\\c:1262304000*00\\" + good
    lines = [good, bad_sum, tagged, bad_tag, "garbage", good]
    records, where, issues, counts = _decode(lines, True, "t.nmea")
    assert where == [1, 3, 6]
    assert [(i.line, i.field) for i in issues] == [(2, "checksum"), (4, "tag_block"), (5, "sentence")]
    assert records[1].time_utc == datetime(2010, 1, 1, tzinfo=UTC)
    assert counts["positions"] == 3 and counts["lines"] == 6


def test_chunks_carry_stream_time_to_bulk_lines(tmp_path):
    # a type 4 base-station report times the untimed position reports after it, across chunks
    lines = [
        "!AIVDM,1,1,,A,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*00",  # bad sum: reported
        "!AIVDM,1,1,,A,403Ovl@000Htt<tSF0l4Q@100`Pq,0*28",
        "!AIVDM,1,1,,B,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09",
        "!AIVDM,1,1,,B,15NBj>PP1gG>1PVKTDTUJOv00<0M,0*09",
    ]
    f = tmp_path / "s.nmea"
    f.write_text("\n".join(lines) + "\n")
    chunks = list(iter_ais_chunks(f, chunk_lines=2))
    cols = PositionColumns.concat([c.positions for c in chunks])
    ref = _decode(lines, False, str(f))[0]
    assert [_key(r) for r in cols.to_records()] == [_key(r) for r in ref]
    assert [i.line for c in chunks for i in c.issues] == [1]


def test_out_of_order_on_columns_matches_a_loop():
    rng = np.random.default_rng(3)
    n = 500
    mmsi = rng.integers(1, 6, n)
    t = rng.integers(0, 50, n) * 10**9
    t[rng.random(n) < 0.1] = np.iinfo(np.int64).min  # untimed rows are not compared
    cols = PositionColumns(
        mmsi,
        t,
        *(np.zeros(n) for _ in range(5)),
        *(np.zeros(n, np.int16) for _ in range(2)),
        *(np.zeros(n, np.int8) for _ in range(2)),
        np.zeros(n, np.int32),
        [None],
        np.arange(n),
    )
    last: dict[int, int] = {2: 10**12}
    got = _out_of_order_columns(cols.take(np.arange(250)), last) + _out_of_order_columns(
        cols.take(np.arange(250, n)), last
    )
    prev: dict[int, int] = {2: 10**12}
    want = 0
    for m, tt in zip(mmsi.tolist(), t.tolist(), strict=True):
        if tt == np.iinfo(np.int64).min:
            continue
        want += m in prev and tt < prev[m]
        prev[m] = tt
    assert got == want and last == prev


def test_column_insert_keeps_nulls_order_and_skips_duplicates(tmp_path):
    path = shared("ais/gpsd/ais-nmea.log")
    store = CatalogStore(str(tmp_path / "c.db"))
    ais = AisStore(store)
    first = ais.load_file(path)
    again = ais.load_file(path)
    assert first.positions_loaded > 100 and again.positions_loaded == 0
    assert again.positions_duplicate == first.positions_loaded
    pos = ais.positions()
    ref = [r for r in _decode(path.read_text().splitlines(), False, "x")[0] if isinstance(r, VesselPosition)]
    seen: dict[tuple[object, ...], VesselPosition] = {}
    for r in ref:
        if r.time_utc is not None:
            seen.setdefault((r.mmsi, r.time_utc, r.lat_deg, r.lon_deg), r)
    want = list(seen.values())  # arrival order, first of each duplicate
    assert pos.mmsi.tolist() == [r.mmsi for r in want]
    assert pos.lat_deg.tolist() == [r.lat_deg for r in want]
    # "not available" is stored as NULL and read back as NaN, nothing else is
    assert np.array_equal(np.isnan(pos.sog_kn), [math.isnan(r.sog_kn) for r in want])
    assert np.array_equal(np.isnan(pos.heading_deg), [math.isnan(r.heading_deg) for r in want])
    store.close()
