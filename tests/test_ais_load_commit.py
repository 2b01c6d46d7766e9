"""``ais load`` on PostgreSQL commits each chunk without waiting for its WAL flush, and only there.

The setting must be the transaction's own (``SET LOCAL``): the pooled connection goes back to the
server's durable default, and a live feed's ``insert_positions`` never runs without it. The rows
stored are checked against pyais's own decoding of the same lines.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pyais import decode, encode_dict
from sqlalchemy import select, text

from kizuna.model.maritime import VesselPosition
from kizuna.store.ais_store import AisStore
from kizuna.store.schema import ais_position

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _tagged(mmsi: int, minute: int) -> tuple[str, str]:
    body = f"s:rLOAD,c:{int((T0 + timedelta(minutes=minute)).timestamp())}"
    c = 0
    for ch in body.encode():
        c ^= ch
    msg = {"type": 1, "mmsi": mmsi, "lat": 30.0 + minute / 600, "lon": 150.0, "speed": 10.0, "course": 0.0}
    (sentence,) = encode_dict(msg, talker_id="AI", sentence_type="VDM")
    return f"\\{body}*{c:02X}\\{sentence}", sentence


@pytest.mark.postgres
def test_postgresql_load_commits_asynchronously_in_its_own_transactions_only(store, tmp_path, monkeypatch):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    pairs = [_tagged(431_000_000 + v, m) for v in range(3) for m in range(40)]
    path = tmp_path / "load.nmea"
    path.write_text("".join(line + "\n" for line, _ in pairs))
    seen: list[str] = []
    add_columns = AisStore.add_columns

    def spying(self, cols, conn):  # noqa: ANN001, ANN202
        seen.append(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())
        return add_columns(self, cols, conn)

    monkeypatch.setattr(AisStore, "add_columns", spying)
    ais = AisStore(store)
    summary = ais.load_file(path, chunk_lines=50)  # several transactions
    assert len(seen) >= 2 and set(seen) == {"off"}
    assert summary.positions_loaded == len(pairs)
    with store.engine.connect() as conn:  # the pooled connection, back to the durable default
        assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
    seen.clear()
    p = VesselPosition(mmsi=431_000_009, time_utc=T0, lat_deg=1.0, lon_deg=2.0)
    ais.insert_positions([p])  # a live feed's batch: durable
    assert seen == ["on"]
    # what was stored is what pyais decodes from the same sentences
    c = ais_position.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(c.mmsi, c.lat_deg, c.lon_deg).where(c.mmsi != 431_000_009).order_by(c.id)
        ).all()
    want = [(d.mmsi, round(d.lat, 6), round(d.lon, 6)) for d in (decode(s) for _, s in pairs)]
    assert [(m, round(la, 6), round(lo, 6)) for m, la, lo in rows] == want
