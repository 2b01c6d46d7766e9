"""Position inserts from columns on both stores, and PostgreSQL's straight COPY against its stage.

The reference is the rule the store promises, computed here row by row: the first arrival of each
(mmsi, time, lat, lon) is kept, in arrival order, "not available" (NaN) stored as NULL, a missing
source as ''. PostgreSQL must give it both ways (straight COPY into the table when nothing stored
can collide, and the stage + ON CONFLICT way), and fall back to the stage when a row collides
after the probe.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import select

from kizuna.formats.ais import PositionColumns
from kizuna.store import ais_store
from kizuna.store.ais_store import AisStore
from kizuna.store.schema import ais_position

T0_NS = 1_772_323_200 * 10**9


def _columns(n: int = 3000, seed: int = 7) -> PositionColumns:
    rng = np.random.default_rng(seed)
    mmsi = rng.integers(431_000_000, 431_000_040, n)
    time_ns = T0_NS + rng.integers(0, 600, n) * 10**9
    lat = np.round(rng.uniform(30, 31, n), 6)
    lon = np.round(rng.uniform(139, 140, n), 6)
    # repeats of earlier rows (a receiver heard twice), one with -0.0 against 0.0
    rep = rng.integers(0, n // 2, n // 10)
    dst = rng.integers(n // 2, n, n // 10)
    mmsi[dst], time_ns[dst], lat[dst], lon[dst] = mmsi[rep], time_ns[rep], lat[rep], lon[rep]
    lat[0], lat[n - 1], lon[n - 1], mmsi[n - 1], time_ns[n - 1] = 0.0, -0.0, lon[0], mmsi[0], time_ns[0]
    sog = np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(0, 20, n), 1))
    cog = np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(0, 359, n), 1))
    hdg = np.where(rng.random(n) < 0.3, np.nan, rng.integers(0, 360, n).astype(float))
    return PositionColumns(
        mmsi,
        time_ns,
        lat,
        lon,
        sog,
        cog,
        hdg,
        rng.choice(np.array([1, 2, 3, 18], np.int16), n),
        np.full(n, -1, np.int16),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        rng.integers(0, 3, n).astype(np.int32),
        [None, "rJPN-01", "station ü " + "x" * 250],  # the last is cut to 200 characters
        np.arange(1, n + 1),
    )


def _expected(cols: PositionColumns) -> list[tuple[object, ...]]:
    seen: dict[tuple[object, ...], tuple[object, ...]] = {}
    for r in cols.to_records():
        assert r.time_utc is not None
        key = (r.mmsi, r.time_utc, r.lat_deg + 0.0, r.lon_deg + 0.0)  # -0.0 + 0.0 is 0.0
        seen.setdefault(
            key,
            (
                r.mmsi,
                r.time_utc.replace(tzinfo=None),
                r.lat_deg,
                r.lon_deg,
                *(None if math.isnan(v) else v for v in (r.sog_kn, r.cog_deg, r.heading_deg)),
                r.msg_type,
                (r.source or "")[:200],
            ),
        )
    return list(seen.values())


def _stored(store) -> list[tuple[object, ...]]:  # noqa: ANN001
    c = ais_position.c
    q = select(
        c.mmsi, c.time_utc, c.lat_deg, c.lon_deg, c.sog_kn, c.cog_deg, c.heading_deg, c.msg_type, c.source
    )
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q.order_by(c.id))]


def _load(ais: AisStore, cols: PositionColumns) -> tuple[int, int, int]:
    with ais.engine.begin() as conn:
        return ais.add_columns(cols, conn)


def test_first_arrivals_are_kept_in_order_with_nulls(store):
    ais = AisStore(store)
    cols = _columns()
    want = _expected(cols)
    loaded, dup, untimed = _load(ais, cols)
    assert (loaded, dup, untimed) == (len(want), len(cols) - len(want), 0)
    assert len(want) < len(cols) - 200  # the repeats were there to drop
    assert _stored(store) == want
    assert _load(ais, cols) == (0, len(cols), 0)  # a reload adds nothing
    assert _stored(store) == want


@pytest.mark.postgres
def test_postgresql_straight_copy_and_stage_agree(store, monkeypatch):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    ais = AisStore(store)
    cols = _columns()
    calls = {"stage": 0}
    stage = AisStore._pg_stage_copy

    def counted(self, c, driver):  # noqa: ANN001, ANN202
        calls["stage"] += 1
        return stage(self, c, driver)

    monkeypatch.setattr(AisStore, "_pg_stage_copy", counted)
    assert _load(ais, cols)[0] == len(_expected(cols))
    assert calls["stage"] == 0  # nothing stored: straight in, the batch's own repeats dropped first
    assert _load(ais, cols) == (0, len(cols), 0)  # same vessels and times: through the stage
    assert calls["stage"] == 1
    assert _stored(store) == _expected(cols)


@pytest.mark.postgres
def test_postgresql_collision_after_the_probe_falls_back_to_the_stage(store, monkeypatch):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    ais = AisStore(store)
    cols = _columns()
    _load(ais, cols.take(np.arange(100)))
    # a writer that stored rows between the probe and the COPY: the probe saw nothing
    monkeypatch.setattr(ais_store, "_pg_overlaps_stored", lambda cur, c: False)
    loaded, dup, _ = _load(ais, cols)
    want = _expected(cols)
    assert loaded == len(want) - len(_expected(cols.take(np.arange(100))))
    assert _stored(store) == want


@pytest.mark.postgres
def test_postgresql_probe_sees_only_the_batch_vessels_own_spans(store):
    """Stored rows of other vessels in the batch's time span, or of its vessels outside their own
    spans, cannot collide (straight COPY); one stored row inside a vessel's span can (the stage)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    ais = AisStore(store)
    cols = _columns()
    others = cols.take(np.arange(len(cols)))
    others.mmsi = others.mmsi + 1000  # other vessels, same times
    _load(ais, others)
    vessel = int(cols.mmsi[0])
    mine = cols.take(np.flatnonzero(cols.mmsi == vessel))
    before = mine.take(np.arange(1))
    before.time_ns = before.time_ns - 3600 * 10**9  # this vessel, an hour before its span
    _load(ais, before)
    driver_conn = store.engine.raw_connection()
    try:
        with driver_conn.driver_connection.cursor() as cur:  # type: ignore[union-attr]
            assert not ais_store._pg_overlaps_stored(cur, cols)
            inside = mine.take(np.arange(1))
            inside.lat_deg = inside.lat_deg + 0.5  # same vessel and time, another position
            _load(ais, inside)
            assert ais_store._pg_overlaps_stored(cur, cols)
    finally:
        driver_conn.close()


def _first_arrivals_by_lexsort(cols: PositionColumns) -> np.ndarray:
    """The rule itself with one four-key sort of every batch (the reference)."""
    t_us = cols.time_ns // 1000
    order = np.lexsort((cols.lon_deg, cols.lat_deg, t_us, cols.mmsi))
    m, t, la, lo = cols.mmsi[order], t_us[order], cols.lat_deg[order], cols.lon_deg[order]
    repeat = np.zeros(len(order), bool)
    repeat[1:] = (m[1:] == m[:-1]) & (t[1:] == t[:-1]) & (la[1:] == la[:-1]) & (lo[1:] == lo[:-1])
    return np.sort(order[~repeat])


@pytest.mark.parametrize("seed", range(40))
def test_first_arrivals_with_and_without_repeats_equal_the_four_key_sort(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    cols = _columns(n, seed)
    if seed % 2:  # no repeated (mmsi, time): the quick exit; times before 1970 and far apart too
        cols.mmsi = 200_000_000 + rng.permutation(n) * 7
        cols.time_ns = rng.integers(-(2**62), 2**62, n)
    cols.lat_deg[rng.random(n) < 0.05] = np.nan  # NaN never equals: never a repeat
    cols.lon_deg[rng.random(n) < 0.05] = -0.0
    got = ais_store._first_arrivals(cols)
    assert np.array_equal(got, _first_arrivals_by_lexsort(cols))
    assert got.dtype.kind == "i"
