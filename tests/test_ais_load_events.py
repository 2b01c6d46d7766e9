"""`ais events --load`: the positions a load stored handed to the events pass without a read-back.

The kept columns must be exactly what ``positions()`` reads back (times to the microsecond, zero's
sign as the database keeps it, NULLs as NaN, repeats dropped as the unique key drops them), on
SQLite and PostgreSQL, and whenever that is not certain (a repeat across chunks, a store that
already held positions) the store is read back instead. The combined command prints the same
events as `ais load` then `ais events`.
"""

from __future__ import annotations

import json

import numpy as np
from tests.test_ais_fast_path import _planted, _same
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.formats.ais import PositionColumns
from kizuna.store.ais_store import AisLoadSummary, AisStore

runner = CliRunner()


def _load(ais: AisStore, path, chunk_lines: int) -> AisLoadSummary:  # type: ignore[no-untyped-def]
    return ais.load_file(path, AisLoadSummary(kept=ais.keep_positions()), chunk_lines=chunk_lines)


def test_kept_positions_are_the_read_back_and_only_kept_while_certain(store, tmp_path):
    path = tmp_path / "planted.nmea"
    path.write_text("\n".join(_planted()) + "\n")
    ais = AisStore(store)
    summary = _load(ais, path, chunk_lines=100_000)  # one chunk: its two repeats dropped in memory
    assert summary.positions_duplicate == 2 and summary.kept is not None and summary.kept.valid
    assert summary.kept.rows == summary.positions_loaded
    _same(ais.loaded_positions(summary), ais.positions())
    # a second load into a store that holds positions: nothing kept, read back
    again = _load(ais, path, chunk_lines=100_000)
    assert again.kept is not None and not again.kept.valid and again.positions_loaded == 0
    _same(ais.loaded_positions(again), ais.positions())


def test_a_repeat_across_chunks_drops_what_was_kept(store, tmp_path):
    path = tmp_path / "planted.nmea"
    path.write_text("\n".join(_planted()) + "\n")
    ais = AisStore(store)
    summary = _load(ais, path, chunk_lines=40)  # the repeats at the end repeat the first chunk
    assert summary.kept is not None and not summary.kept.valid
    _same(ais.loaded_positions(summary), ais.positions())


def test_kept_values_are_the_stored_values_to_the_bit(store):
    """Sub-microsecond times, -0.0, not-available fields: what the database does to each."""
    n = 4
    t_ns = np.datetime64("2026-03-01T00:00:00", "ns").astype(np.int64) + np.array([0, 999, 1_000_999, -1])
    cols = PositionColumns(
        np.array([431000001, 431000001, 431000002, 431000003]),
        t_ns,
        np.array([-0.0, 35.0, 0.0, -12.25]),
        np.array([139.0, -0.0, -0.0, 140.0]),
        np.array([np.nan, -0.0, 3.5, 0.0]),
        np.array([-0.0, np.nan, 359.9, 1.0]),
        np.array([511.0, np.nan, 0.0, -0.0]),
        np.ones(n, np.int16),
        np.full(n, -1, np.int16),
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n, np.int32),
        ["rx"],
        np.arange(1, n + 1),
    )
    ais = AisStore(store)
    kept = ais.keep_positions()
    with store.engine.begin() as conn:
        loaded, _, _ = ais.add_columns(cols, conn)
    kept.add(cols, loaded)
    summary = AisLoadSummary(kept=kept)
    mine, stored = ais.loaded_positions(summary), ais.positions()
    _same(mine, stored)
    for name in ("lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg"):
        assert np.array_equal(np.signbit(getattr(mine, name)), np.signbit(getattr(stored, name))), name


def test_events_load_prints_the_events_of_load_then_events(tmp_path):
    path = tmp_path / "planted.nmea"
    path.write_text("\n".join(_planted()) + "\n")
    two, one = str(tmp_path / "two.db"), str(tmp_path / "one.db")
    r = runner.invoke(app, ["ais", "load", str(path), "--db", two])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ais", "events", "--db", two, "--format", "json"])
    assert r.exit_code == 0, r.output
    separate = json.loads(r.stdout)
    r = runner.invoke(app, ["ais", "events", "--load", str(path), "--db", one, "--format", "json"])
    assert r.exit_code == 0, r.output
    combined = json.loads(r.stdout)
    assert len(separate["events"]) >= 3 and combined["positions_from"] == "load"
    assert combined["events"] == separate["events"]
    assert combined["cleaning"] == separate["cleaning"] and combined["positions"] == separate["positions"]
    assert combined["load"]["positions_loaded"] == separate["positions"]
    # a filtered run loads, then reads the window back: the same as the separate commands
    window = ["--bbox", "149,29,151,30.5", "--format", "json"]
    r = runner.invoke(app, ["ais", "events", "--db", two, *window])
    r2 = runner.invoke(app, ["ais", "events", "--load", str(path), "--db", str(tmp_path / "w.db"), *window])
    assert r.exit_code == r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["events"] == json.loads(r.stdout)["events"]
    assert json.loads(r2.stdout)["positions_from"] == "store"
