"""`ais load` on real-world inputs: stream times, CSV zones, static-data counts, directories,
arrival order for the cleaning report, bulk inserts on SQLite and PostgreSQL, the land-mask cache."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pyais import encode_dict
from tests.cli_harness import invoke, refused
from tests.conftest import shared

from kizuna.formats.ais import parse_ais_csv, parse_nmea, read_ais_file, split_records
from kizuna.store import CatalogStore
from kizuna.store.ais_store import AisStore

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def _nmea(fields: dict) -> list[str]:  # type: ignore[type-arg]
    return list(encode_dict(fields, talker_id="AIVDM"[:2]))


def _pos(mmsi: int, lat: float, lon: float) -> list[str]:
    return _nmea(
        {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": 5.0, "course": 90.0, "heading": 511}
    )


def _base(t: datetime, mmsi: int = 4310001) -> list[str]:
    return _nmea(
        {
            "type": 4,
            "mmsi": mmsi,
            "year": t.year,
            "month": t.month,
            "day": t.day,
            "hour": t.hour,
            "minute": t.minute,
            "second": t.second,
            "lat": 35.0,
            "lon": 129.0,
        }
    )


def _nmea_sum(body: str) -> str:
    c = 0
    for ch in body.encode():
        c ^= ch
    return f"${body}*{c:02X}"


def _positions(text: str):  # type: ignore[no-untyped-def]
    res = parse_nmea(text)
    return split_records(res.records)[0], res


# ------------------------------------------------------------------ times carried by the stream
def test_type4_base_station_time_applies_until_the_next_time_report():
    lines = _pos(111000001, 35.1, 129.1)  # before any time: untimed
    lines += _base(T0) + _pos(111000001, 35.2, 129.2) + _pos(111000002, 35.3, 129.3)
    lines += _base(T0 + timedelta(minutes=1)) + _pos(111000001, 35.21, 129.2)
    pos, res = _positions("\n".join(lines) + "\n")
    assert not res.issues
    assert [p.time_utc for p in pos] == [None, T0, T0, T0 + timedelta(minutes=1)]


def test_type4_with_not_available_fields_sets_no_time():
    # ITU-R M.1371-5: hour 24 = not available
    bad = _nmea({"type": 4, "mmsi": 4310001, "year": 2026, "month": 3, "day": 1, "hour": 24, "minute": 60})
    pos, _ = _positions("\n".join(bad + _pos(111000001, 35.2, 129.2)) + "\n")
    assert pos[0].time_utc is None


def test_zda_and_rmc_sentences_give_the_time():
    zda = _nmea_sum("GPZDA,061502.50,01,03,2026,00,00")
    rmc = _nmea_sum("GPRMC,071000,A,3500.000,N,12900.000,E,0.0,0.0,010326,,")
    rmc_void = _nmea_sum("GPRMC,081000,V,3500.000,N,12900.000,E,0.0,0.0,010326,,")
    text = "\n".join(
        [zda, *_pos(1, 35.0, 129.0), rmc, *_pos(1, 35.1, 129.0), rmc_void, *_pos(1, 35.2, 129.0)]
    )
    pos, res = _positions(text + "\n")
    assert not res.issues
    assert [p.time_utc for p in pos] == [
        datetime(2026, 3, 1, 6, 15, 2, 500000, tzinfo=UTC),
        datetime(2026, 3, 1, 7, 10, tzinfo=UTC),
        datetime(2026, 3, 1, 7, 10, tzinfo=UTC),  # a no-fix RMC keeps the previous time
    ]


def test_bad_zda_is_reported_with_line_and_kind():
    text = "\n".join(["$GPZDA,061502,01,13,2026,00,00*41", _nmea_sum("GPZDA,xx,01,03,2026,00,00")])
    _, res = _positions(text + "\n")
    assert [(i.line, i.field) for i in res.issues] == [(1, "checksum"), (2, "ZDA")]


def test_gpsd_recording_is_timed_by_its_own_rmc_and_zda_sentences():
    """gpsd's test log interleaves $GPRMC/$GPZDA with AIVDM: every position gets the time of the
    time sentence before it (read here independently of the decoder)."""
    path = shared("ais/gpsd/ais-nmea.log")
    res = read_ais_file(path)
    lines = path.read_text().splitlines()
    checked = 0
    for rec, line_no in zip(res.records, res.lines, strict=True):
        if type(rec).__name__ != "VesselPosition":
            continue
        prior = [ln for ln in lines[: line_no - 1] if ln[3:6] in ("ZDA", "RMC") and ",V," not in ln]
        assert prior, "the log starts with a time sentence"
        f = prior[-1].split("*")[0].split(",")
        if f[0][3:] == "ZDA":
            day, month, year = int(f[2]), int(f[3]), int(f[4])
        else:
            day, month, year = int(f[9][:2]), int(f[9][2:4]), 2000 + int(f[9][4:])
        hms = f[1]
        want = datetime(year, month, day, int(hms[:2]), int(hms[2:4]), int(hms[4:6]), tzinfo=UTC)
        assert rec.time_utc is not None
        assert timedelta(0) <= rec.time_utc - want < timedelta(seconds=1)
        checked += 1
    assert checked == 141


def test_cli_untimed_file_exits_2_with_one_line(tmp_path):
    f = tmp_path / "untimed.nmea"
    f.write_text("\n".join(_pos(111000001, 35.1, 129.1) + _pos(111000002, 35.2, 129.2)) + "\n")
    refused(["ais", "load", str(f), "--db", str(tmp_path / "a.db")], contains="no usable time")


def test_cli_timed_by_base_station_stores_positions(tmp_path):
    f = tmp_path / "based.nmea"
    f.write_text("\n".join(_base(T0) + _pos(111000001, 35.1, 129.1)) + "\n")
    r = invoke(["ais", "load", str(f), "--db", str(tmp_path / "a.db")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["positions_loaded"] == 1


# ------------------------------------------------------------------ CSV zones
@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T06:00:00+00:00",
        "2026-03-01T06:00:00Z",
        "2026-03-01T15:00:00+09:00",
        "2026-03-01 06:00:00 +00:00",
        "2026-03-01 06:00:00 UTC",
        "01/03/2026 06:00:00+00:00",  # DMA day-first form with a zone
        "01/03/2026 01:00:00-05:00",
    ],
)
def test_csv_time_zones_are_converted_to_utc(text):
    res = parse_ais_csv(f"MMSI,BaseDateTime,LAT,LON\n111000001,{text},35.0,129.0\n")
    assert not res.issues, res.issues
    assert res.records[0].time_utc == T0


def test_csv_bad_offset_is_named():
    res = parse_ais_csv("MMSI,BaseDateTime,LAT,LON\n111000001,2026-03-01T06:00:00+25:00,35.0,129.0\n")
    assert [(i.line, i.field) for i in res.issues] == [(2, "time")]


# ------------------------------------------------------------------ static-data count
def test_static_vessel_count_is_per_vessel_not_per_chunk(tmp_path):
    lines: list[str] = []
    for k in range(6):  # every vessel sends its static data again in every 10-line stretch
        lines += _base(T0 + timedelta(minutes=k))
        for mmsi in (211000001, 211000002, 211000003):
            lines += _nmea({"type": 5, "mmsi": mmsi, "shipname": f"SHIP {mmsi % 10}", "callsign": "ABC"})
            lines += _pos(mmsi, 35.0 + k / 100, 129.0)
    f = tmp_path / "static.nmea"
    f.write_text("\n".join(lines) + "\n")
    ais = AisStore(CatalogStore(str(tmp_path / "s.db")))
    summary = ais.load_file(f, chunk_lines=7)
    assert summary.statics == 3
    assert summary.static_vessels_in_store == 3 == len(ais.statics())


# ------------------------------------------------------------------ directories
def test_cli_directory_loads_its_ais_files_sorted(tmp_path):
    d = tmp_path / "feed"
    d.mkdir()
    (d / "b.nmea").write_text("\n".join(_base(T0) + _pos(111000002, 35.2, 129.2)) + "\n")
    (d / "a.csv").write_text("MMSI,BaseDateTime,LAT,LON\n111000001,2026-03-01T06:00:00Z,35.0,129.0\n")
    (d / "README.md").write_text("not AIS\n")
    (d / "sub").mkdir()
    (d / "sub" / "c.nmea").write_text("\n".join(_base(T0) + _pos(111000003, 35.3, 129.3)) + "\n")
    db = tmp_path / "d.db"
    r = invoke(["ais", "load", str(d), "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["positions_loaded"] == 2
    # arrival order follows the sorted names: a.csv before b.nmea
    assert AisStore(CatalogStore(str(db))).positions().mmsi.tolist() == [111000001, 111000002]


def test_cli_directory_without_ais_files_is_refused(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "notes.md").write_text("x\n")
    refused(
        ["ais", "load", str(d), "--db", str(tmp_path / "e.db")], contains="is a directory with no AIS file"
    )


# ------------------------------------------------------------------ cleaning report from the CLI
def test_cli_cleaning_report_counts_out_of_order_arrivals(tmp_path):
    rows = ["MMSI,BaseDateTime,LAT,LON,SOG,COG"]
    times = [0, 10, 20, 15, 30, 40]  # the 15-min report arrives after the 20-min one
    for m in times:
        rows.append(f"111000001,{(T0 + timedelta(minutes=m)).isoformat()},{35 + m / 600:.5f},129.0,6,0")
    rows.append(f"111000001,{(T0 + timedelta(minutes=40)).isoformat()},35.2,129.0,6,0")  # same time
    f = tmp_path / "ooo.csv"
    f.write_text("\n".join(rows) + "\n")
    db = str(tmp_path / "o.db")
    r = invoke(["ais", "load", str(f), "--db", db])
    assert json.loads(r.stdout)["cleaning"]["out_of_order"] == 1
    r = invoke(["ais", "events", "--db", db, "--no-shore", "--format", "json"])
    assert r.exit_code == 0, r.output
    cleaning = json.loads(r.stdout)["cleaning"]
    assert cleaning["out_of_order"] == 1
    assert cleaning["duplicates"] == 1


# ------------------------------------------------------------------ bulk inserts, both databases
def test_bulk_insert_counts_and_round_trip(store, tmp_path):
    lines = _base(T0)
    for k in range(40):
        lines += _base(T0 + timedelta(seconds=10 * k)) + _pos(300000000 + k % 4, 35 + k / 1000, 129.0)
    f = tmp_path / "bulk.nmea"
    f.write_text("\n".join(lines) + "\n")
    ais = AisStore(store)
    first = ais.load_file(f, chunk_lines=9)
    again = ais.load_file(f)
    assert (first.positions_loaded, first.positions_duplicate) == (40, 0)
    assert (again.positions_loaded, again.positions_duplicate) == (0, 40)
    pos = ais.positions()
    assert pos.mmsi.tolist() == [300000000 + k % 4 for k in range(40)]  # arrival order
    want = np.datetime64(T0.replace(tzinfo=None), "ns") + np.arange(40) * np.timedelta64(10, "s")
    assert (pos.time_utc == want).all()
    assert np.allclose(pos.lat_deg, 35 + np.arange(40) / 1000, atol=1e-6)
    assert np.isnan(pos.heading_deg).all()  # "not available" stored as NULL, read back as nan
    # the public batch insert used by live feeds: same rules
    p = split_records(parse_nmea("\n".join(_base(T0) + _pos(399000000, 36.0, 129.0)) + "\n").records)[0]
    assert ais.insert_positions(p) == (1, 0, 0)
    assert ais.insert_positions(p) == (0, 1, 0)
    assert len(ais.positions(start=T0, stop=T0, mmsi=[399000000])) == 1


# ------------------------------------------------------------------ land-mask cache
def test_land_mask_cache_is_built_once_memory_mapped_and_rebuilt_when_the_source_changes(
    tmp_path, monkeypatch
):
    from kizuna.maritime import shore

    builds = []

    def fake_build(source: Path) -> dict[str, np.ndarray]:
        builds.append(source)
        return {
            "land_bits": np.full((4, 2), 0xF0, np.uint8),
            "coast_rows": np.array([1, 2], np.int32),
            "coast_cols": np.array([3, 4], np.int32),
        }

    monkeypatch.setattr(shore, "_build_arrays", fake_build)
    source = tmp_path / "mask.npz"
    source.write_bytes(b"x")
    cache = tmp_path / "cache"
    a = shore._cached_arrays(source, cache)
    b = shore._cached_arrays(source, cache)
    assert len(builds) == 1
    assert isinstance(b["land_bits"], np.memmap) and (b["land_bits"] == a["land_bits"]).all()
    os.utime(source, ns=(1, 1))  # the source changed: rebuilt
    shore._cached_arrays(source, cache)
    assert len(builds) == 2
    ro = tmp_path / "ro"
    ro.write_text("a file where the cache directory should be")
    got = shore._cached_arrays(source, ro / "kizuna")  # cannot be written: kept in memory
    assert len(builds) == 3 and got["coast_rows"].tolist() == [1, 2]


def test_banded_coast_tree_matches_brute_force_nearest_coastal_cell():
    from kizuna.maritime import shore
    from kizuna.maritime.tracks import haversine_m

    m = shore.GlobalLandMask(max_distance_km=200.0)
    rng = np.random.default_rng(7)
    lat = rng.uniform(33.0, 40.0, 40)
    lon = rng.uniform(128.0, 136.0, 40)
    got = m.distance_to_shore_m(lat, lon)
    data = shore._load()
    a, b = np.searchsorted(data.coast_rows, shore.cell_index([43.0, 29.0], [0, 0])[0])
    clat, clon = shore.cell_centres(data.coast_rows[a:b], data.coast_cols[a:b])
    keep = (clon > 120) & (clon < 145)
    clat, clon = clat[keep], clon[keep]
    sea = ~m.is_land(lat, lon)
    for i in np.flatnonzero(sea):
        d = haversine_m(lat[i], lon[i], clat, clon).min()
        assert got[i] == pytest.approx(d if d <= 200_000 else np.inf, rel=1e-6)


# ------------------------------------------------------------------ fast position decoding
def test_fast_position_path_agrees_with_pyais_on_shared_files():
    """Single-sentence type 1/2/3/18 reports skip pyais; every one must decode as pyais does."""
    from pyais import NMEAMessage

    from kizuna.formats.ais import NmeaDecoder

    checked = 0
    for name in ("ais/gpsd/ais-nmea.log", "ais/gpsd/ais-18-27.log", "ais/pyais_nmea_data_sample.txt"):
        path = shared(name)
        lines = path.read_text(errors="replace").splitlines()
        dec = NmeaDecoder(str(path))
        records, where, _ = dec.feed(lines)
        for rec, line_no in zip(records, where, strict=True):
            text = lines[line_no - 1]
            if (
                type(rec).__name__ != "VesselPosition"
                or ",1,1," not in text
                or rec.msg_type not in (1, 2, 3, 18)
            ):
                continue
            msg = NMEAMessage(text[text.index("!") :].encode()).decode()
            assert (rec.mmsi, rec.msg_type) == (msg.mmsi, msg.msg_type)
            assert (rec.lat_deg, rec.lon_deg) == (msg.lat, msg.lon)
            assert rec.sog_kn == msg.speed or (np.isnan(rec.sog_kn) and msg.speed == 102.3)
            assert rec.cog_deg == msg.course or (np.isnan(rec.cog_deg) and msg.course == 360.0)
            assert rec.heading_deg == msg.heading or (np.isnan(rec.heading_deg) and msg.heading == 511)
            assert rec.raim == bool(msg.raim) and rec.position_accuracy == int(msg.accuracy)
            checked += 1
    assert checked > 300
