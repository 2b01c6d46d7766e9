"""The catalog store, run identically on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import SQLAlchemyError
from tests.conftest import SAMPLE, shared

from kizuna.formats.detect import read_path
from kizuna.store.ingest import load_file, load_files

SAMPLE_FILES = [
    SAMPLE / "satcat_sample.csv",
    SAMPLE / "leo_2026-06_sample.3le",
    SAMPLE / "active_2026-07_sample.csv",
]


def test_load_sample_then_reload_is_all_duplicates(store):
    first = load_files(store, SAMPLE_FILES)
    assert (first.loaded, first.duplicates, first.rejected) == (155 + 677 + 47, 0, 0)
    second = load_files(store, SAMPLE_FILES)
    assert (second.loaded, second.duplicates, second.rejected) == (0, 155 + 677 + 47, 0)
    assert store.count_element_sets() == 677 + 47


def test_history_keeps_every_epoch_and_latest_picks_the_newest(store):
    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records[:3]
    later = [replace(s, epoch_utc=s.epoch_utc + timedelta(hours=6), mean_anomaly_deg=1.0) for s in sets]
    store.add_element_sets(sets)
    counts = store.add_element_sets(later + sets)  # the old ones again: duplicates
    assert (counts.loaded, counts.duplicates) == (3, 3)
    hist = store.history(sets[0].norad_id)
    assert [h.epoch_utc for h in hist] == [sets[0].epoch_utc, later[0].epoch_utc]
    assert hist[0] == sets[0]  # lossless through the database, microseconds included
    latest = {s.norad_id: s for s in store.latest_element_sets()}
    assert latest[sets[1].norad_id] == later[1]
    as_of = store.latest_element_sets([sets[2].norad_id], as_of=sets[2].epoch_utc + timedelta(hours=1))
    assert as_of == [sets[2]]


def test_search_by_owner_type_and_regime(store):
    load_files(store, SAMPLE_FILES)
    jpn = store.search(owner="JPN", object_type="PAYLOAD")
    names = {e.space_object.object_name for e in jpn}
    assert "QPS-SAR-5 (TSUKUYOMI-I)" in names and "HIMAWARI-9" in names
    geo = store.search(owner="jpn", object_type="PAY", regime="GEO")
    assert {e.norad_id for e in geo} >= {41836, 42738, 62876}
    assert all(e.regime == "GEO" for e in geo)
    assert all(e.latest is not None for e in geo)
    summary = store.summary()
    assert summary["regime"]["LEO"] > 600 and summary["owner"]["JPN"] >= 30


def test_a_failed_file_leaves_the_store_unchanged(store, monkeypatch):
    load_file(store, SAMPLE / "active_2026-07_sample.csv")
    before = store.count_element_sets()
    original = store.add_element_sets

    def fail_half_way(records, conn=None):
        original(records[: len(records) // 2], conn)
        raise SQLAlchemyError("disk full")

    monkeypatch.setattr(store, "add_element_sets", fail_half_way)
    summary = load_file(store, SAMPLE / "leo_2026-06_sample.3le")
    assert summary.loaded == 0 and summary.rejected == 677
    assert summary.errors[0].field == "STORE" and "disk full" in summary.errors[0].message
    assert store.count_element_sets() == before  # nothing half-written


def test_bad_records_reported_good_ones_kept(store, tmp_path):
    lines = (SAMPLE / "leo_2026-06_sample.3le").read_text().splitlines()[:9]
    lines[4] = lines[4][:30] + "X" + lines[4][31:]  # corrupt the second set's line 1
    path = tmp_path / "mixed.tle"
    path.write_text("\n".join(lines) + "\n")
    summary = load_file(store, path)
    assert (summary.loaded, summary.rejected) == (2, 1)
    (issue,) = summary.errors
    assert (issue.file, issue.line) == (str(path), 5)


def test_full_shared_catalog_loads_then_reloads_as_duplicates(store):
    path = shared("tle/full_catalog_3le_2022-07.txt")
    first = load_file(store, path)
    assert (first.loaded, first.duplicates, first.rejected) == (24132, 0, 0)
    second = load_file(store, path)
    assert (second.loaded, second.duplicates, second.rejected) == (0, 24132, 0)
    assert store.count_element_sets() == 24132 and store.count_objects() == 24132
    # Nothing lost: every stored set equals the one read from the file.
    stored = {s.norad_id: s for s in store.latest_element_sets()}
    for es in read_path(path).records:
        assert stored[es.norad_id] == es


def test_iss_history_through_the_store(store):
    path = shared("tle/history/iss_25544_2020-2024.tle")
    summary = load_file(store, path)
    hist = store.history(25544)
    assert summary.loaded == len(hist) > 9000
    assert summary.loaded + summary.duplicates == 9571  # the file repeats some epochs
    assert all(a.epoch_utc < b.epoch_utc for a, b in zip(hist, hist[1:], strict=False))
    window = store.history(25544, datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 2, 1, tzinfo=UTC))
    assert window and all(s.epoch_utc.year == 2022 and s.epoch_utc.month == 1 for s in window)


def test_database_url_resolution(monkeypatch, tmp_path):
    from kizuna.store import database_url

    monkeypatch.delenv("KIZUNA_DB", raising=False)
    assert database_url(None) == "sqlite:///kizuna.db"
    assert database_url(str(tmp_path / "x.db")).startswith("sqlite:///")
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("KIZUNA_DB", "postgresql://a@b/c")
    assert database_url(None) == "postgresql+psycopg://a@b/c"


def test_unreachable_database_is_a_clear_error():
    from kizuna.errors import StoreError
    from kizuna.store import CatalogStore

    with pytest.raises(StoreError, match="cannot open store"):
        CatalogStore("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
