"""The fast `ais events` read-back (binary COPY on PostgreSQL) against the reference path.

A planted scenario (an encounter, a 13 h gap, a slow loiterer, a teleport, a duplicate and a late
report, not-available speed and heading) is encoded by pyais, loaded into the store (SQLite and
PostgreSQL) and read back both ways: the columns and every event must be identical, and identical
to the events computed straight from the file by the per-line pyais decoder (no store at all).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from pyais import encode_dict

from kizuna.formats.ais import NmeaDecoder
from kizuna.maritime.events import detect_events
from kizuna.maritime.tracks import clean_tracks
from kizuna.model.constants import EARTH_MEAN_RADIUS_M, KN_TO_MS
from kizuna.model.maritime import PositionArrays, VesselPosition
from kizuna.store.ais_store import AisStore, _parse_pg_positions

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LAT0, LON0 = 30.0, 150.0  # open NW Pacific, far from land
M_PER_DEG = EARTH_MEAN_RADIUS_M * np.pi / 180
COLUMNS = ("mmsi", "time_utc", "lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg")


def _tag(t: datetime) -> str:
    body = f"s:rPLANT,c:{int(t.timestamp())}"
    c = 0
    for ch in body.encode():
        c ^= ch
    return f"\\{body}*{c:02X}\\"


def _line(mmsi: int, minute: float, north_m: float, east_m: float, sog_kn: float, heading: int = 511) -> str:
    t = T0 + timedelta(minutes=minute)
    lat = LAT0 + north_m / M_PER_DEG
    lon = LON0 + east_m / (M_PER_DEG * np.cos(np.radians(LAT0)))
    msg = {
        "type": 1,
        "mmsi": mmsi,
        "lat": lat,
        "lon": lon,
        "speed": sog_kn,
        "course": 90.0,
        "heading": heading,
    }
    (s,) = encode_dict(msg, talker_id="AI", sentence_type="VDM")
    return _tag(t) + s


def _planted() -> list[str]:
    lines: list[str] = []
    run = 10 * KN_TO_MS * 60  # metres per minute at 10 kn
    for m in range(-60, 241, 5):  # A drifts; B comes in, stays 300 m north for 3 h, leaves
        drift = 0.5 * KN_TO_MS * m * 60
        off = -m * run if m < 0 else (m - 180) * run if m > 180 else 0.0
        lines.append(_line(111111111, m, 0.0, drift, 0.5, heading=90))
        lines.append(_line(222222222, m, 300.0 + off, drift, 10.0 if off else 0.5))
    for m in [*range(-80, 60, 10), 50 + 13 * 60, 60 + 13 * 60]:  # silent for 13 h, 200 km south
        lines.append(_line(333000333, m, -200_000.0, 0.0, 0.0))
    for m in range(0, 301, 10):  # slow from 00:30 to 04:30, 100 km north
        lines.append(_line(444000444, m, 100_000.0, m * 10.0, 0.5 if 30 <= m <= 270 else 102.3))
    for m in range(0, 100, 10):  # jumps 300 km east once and stays
        east = m * 100.0 if m < 50 else 300_000.0 + m * 100.0
        lines.append(_line(777000777, m, -100_000.0, east, 6.0))
    lines.append(lines[7])  # a duplicate
    lines.append(lines[3])  # and a late report of one already stored
    return lines


def _same(a: PositionArrays, b: PositionArrays) -> None:
    assert len(a) == len(b)
    for name in COLUMNS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name


def _events(pos: PositionArrays) -> list[tuple[object, ...]]:
    ev = detect_events(clean_tracks(pos))
    return [
        (e.kind, e.subtype, e.mmsi, e.other_mmsi, e.start_utc, e.end_utc, e.lat_deg, e.lon_deg) for e in ev
    ]


def test_fast_read_back_gives_the_reference_columns_and_events(store, tmp_path):
    path = tmp_path / "planted.nmea"
    path.write_text("\n".join(_planted()) + "\n")
    ais = AisStore(store)
    summary = ais.load_file(path, chunk_lines=40)  # several transactions
    assert summary.positions_duplicate == 2 and not summary.issues
    fast, ref = ais.positions(), ais.positions(reference=True)
    _same(fast, ref)
    assert np.isnan(fast.sog_kn).sum() == 6 and np.isnan(fast.heading_deg).any()
    ev = _events(fast)
    assert ev == _events(ref)
    kinds = {(k, sub) for k, sub, *_ in ev}
    assert {("encounter", None), ("gap", None), ("loitering", None), ("spoofing", "teleport")} <= kinds
    # the store round trip against decoding the file line by line through pyais
    records, _, issues = NmeaDecoder(str(path), vectorized=False).feed(path.read_text().splitlines())
    assert not issues
    direct = PositionArrays.from_records([r for r in records if isinstance(r, VesselPosition)])
    assert _events(direct) == ev
    # filters go through the COPY statement's parameters
    start = T0 + timedelta(hours=1)
    q = {"bbox": (149.0, 29.0, 151.0, 30.5), "start": start, "mmsi": [111111111, 777000777]}
    sub = ais.positions(**q)  # type: ignore[arg-type]
    _same(sub, ais.positions(reference=True, **q))  # type: ignore[arg-type]
    assert set(sub.mmsi.tolist()) == {111111111} and sub.time_utc.min() >= np.datetime64("2026-03-01T01:00")
    assert len(ais.positions(mmsi=[999])) == 0


def test_position_block_parser_rejects_what_it_does_not_expect():
    assert len(_parse_pg_positions(b"")) == 0
    with pytest.raises(ValueError, match="layout"):
        _parse_pg_positions(bytes(57))


def test_postgresql_read_back_in_blocks_gives_every_row_once(store, tmp_path, monkeypatch):
    """Blocks of a few rows (keyset by id): the same columns as one block and the reference."""
    from kizuna.store import ais_store

    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    path = tmp_path / "planted.nmea"
    path.write_text("\n".join(_planted()) + "\n")
    ais = AisStore(store)
    ais.load_file(path)
    whole = ais.positions()
    monkeypatch.setattr(ais_store, "_PG_READ_ROWS", 7)
    _same(ais.positions(), whole)
    _same(ais.positions(), ais.positions(reference=True))
    q = {"bbox": (149.0, 29.0, 151.0, 30.5), "mmsi": [111111111, 777000777]}
    _same(ais.positions(**q), ais.positions(reference=True, **q))  # type: ignore[arg-type]


def test_port_lookup_bounded_by_the_exit_radius_agrees_with_the_full_lookup():
    from kizuna.maritime.ports import PortIndex, load_ports

    index = PortIndex(load_ports())
    rng = np.random.default_rng(16)
    # points scattered 0-8 km around real ports, and anywhere on the globe
    k = rng.integers(0, len(index), 4000)
    lat = np.r_[index.lat_deg[k] + rng.uniform(-0.07, 0.07, 4000), rng.uniform(-80, 80, 4000)]
    lon = np.r_[index.lon_deg[k] + rng.uniform(-0.07, 0.07, 4000), rng.uniform(-180, 180, 4000)]
    full_d, full_k = index.nearest(lat, lon)
    d, near = index.nearest(lat, lon, max_m=4000.0)
    inside = full_d <= 4000.0
    assert 1000 < inside.sum() < 7000  # both sides of the bound are exercised
    assert np.array_equal(d[inside], full_d[inside]) and np.array_equal(near[inside], full_k[inside])
    assert np.all(np.isinf(d[~inside])) and np.all(near[~inside] == -1)
