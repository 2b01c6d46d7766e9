"""What a sequence of catalog loads stores, row for row, on SQLite and PostgreSQL.

The loads below exercise every rule of the catalog write path: objects created by element sets
without names then named by a later 3LE, newest epoch and regime kept when older sets arrive,
SATCAT facts next to element sets, duplicates inside a file and across files, a bad set among
good ones. The stored element sets (in insertion order), objects and ingest log are reduced to
one canonical text per table whose SHA-256 was taken from the write path as it was before the
catalog load was brought within twice its floor (issue 21): a faster path must store exactly
the same rows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from tests.conftest import SAMPLE, shared

from kizuna.formats.detect import read_path
from kizuna.formats.tle import write_tle
from kizuna.store.ingest import load_file
from kizuna.store.schema import element_set, ingest_log, space_object

# Canonical dumps of the sequence below, as the write path stored them before the speed-up
# (identical on SQLite and PostgreSQL).
EXPECTED_COUNTS = [
    ("older_unnamed.tle", 300, 0, 0),
    ("satcat_sample.csv", 155, 0, 0),
    ("leo_2026-06_sample.3le", 677, 0, 0),
    ("active_2026-07_sample.csv", 47, 0, 0),
    ("oldest_named.3le", 100, 0, 0),
    ("mixed.3le", 40, 21, 1),
    ("leo_2026-06_sample.3le", 0, 677, 0),
    ("newer_unnamed.tle", 50, 0, 0),
]
EXPECTED_SHA256 = {
    "element_set": "6d7e39da505c4273e0750140eb3d73d7923bb58814785623166f5bf66656877a",
    "space_object": "ceaf321c80772a498dddc57b7d2a348b7d0910080a5b11294409d3c573866e68",
    "ingest_log": "a4bbc010e9509e3b7322d2f38c466bf1ea1451bc0e224f8359bc51c7b56e4f09",
}


def _write_files(tmp_path: Path) -> list[Path]:
    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records
    older = [replace(s, epoch_utc=s.epoch_utc - timedelta(days=1), object_name=None) for s in sets[:300]]
    oldest = [replace(s, epoch_utc=s.epoch_utc - timedelta(days=2)) for s in sets[100:200]]
    newer = [
        replace(s, epoch_utc=s.epoch_utc + timedelta(days=1), mean_motion_revday=s.mean_motion_revday / 12.0)
        for s in sets[600:650]
    ]
    # 20 new sets, the same 20 again (duplicates inside the file), 20 more new ones, one already
    # stored (a duplicate across files) and one bad set (line 1's checksum altered).
    fresh = [replace(s, epoch_utc=s.epoch_utc + timedelta(hours=6)) for s in sets[:40]]
    mixed_text = write_tle(fresh[:20] + fresh[:20] + fresh[20:] + sets[:1])
    bad = write_tle(sets[1:2]).splitlines()
    bad[1] = bad[1][:68] + str((int(bad[1][68]) + 1) % 10)
    paths = {
        "older_unnamed.tle": write_tle(older, names=False),
        "oldest_named.3le": write_tle(oldest),
        "mixed.3le": mixed_text + "\n".join(bad) + "\n",
        "newer_unnamed.tle": write_tle(newer, names=False),
    }
    for name, text in paths.items():
        (tmp_path / name).write_text(text)
    order = [
        "older_unnamed.tle",
        "satcat_sample.csv",
        "leo_2026-06_sample.3le",
        "active_2026-07_sample.csv",
        "oldest_named.3le",
        "mixed.3le",
        "leo_2026-06_sample.3le",
        "newer_unnamed.tle",
    ]
    return [tmp_path / n if n in paths else SAMPLE / n for n in order]


def _canonical(value: object, folders: tuple[str, ...]) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        for folder in folders:
            value = value.replace(folder, "<dir>")
    return value


def _dump(store, folders: tuple[str, ...]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    tables = {
        # Insertion order is part of what is stored (ids), their values are not: a PostgreSQL
        # sequence also advances on a conflict, so its numbers depend on how rows are sent.
        "element_set": (element_set, element_set.c.id, {"id", "ingested_utc"}),
        "space_object": (space_object, space_object.c.norad_id, set()),
        "ingest_log": (ingest_log, ingest_log.c.id, {"id", "started_utc", "finished_utc"}),
    }
    out = {}
    with store.engine.connect() as conn:
        for name, (table, order, skip) in tables.items():
            rows = [
                {k: _canonical(v, folders) for k, v in row.items() if k not in skip}
                for row in conn.execute(select(table).order_by(order)).mappings()
            ]
            out[name] = json.dumps(rows, sort_keys=True)
    return out


def test_a_sequence_of_loads_stores_the_same_rows_as_before(store, tmp_path):
    paths = _write_files(tmp_path)
    counts = []
    for path in paths:
        summary = load_file(store, path)
        counts.append((path.name, summary.loaded, summary.duplicates, summary.rejected))
    assert counts == EXPECTED_COUNTS
    dump = _dump(store, (str(tmp_path), str(SAMPLE)))
    digests = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in dump.items()}
    (tmp_path / "dump.json").write_text(json.dumps(dump))  # to diff by hand when this fails
    assert digests == EXPECTED_SHA256


# The element sets differ by dialect in one way only: SQLite stores a float -0.0 (some sets'
# MEAN_MOTION_DOT is written "-.00000000") as 0.0, PostgreSQL keeps the sign.
FULL_CATALOG_SHA256 = {
    "sqlite": {
        "element_set": "e37f36178e00cf9c15c1850280b92f8a62c8df4fb75f711f213d29b635763baa",
        "space_object": "d698da3888ba7f50c093df41bc66a2b8f16a0d8f00f4f15a6ea9918f9d063910",
        "ingest_log": "26c936959a2bd0994a4b3fe896289208d3066652cacd9bf713f93a9be566f600",
    },
    "postgresql": {
        "element_set": "cd37a97d7ccf98e8fc6271e0f8e5ed30848ae7760065a1ba963131de01596ac1",
        "space_object": "d698da3888ba7f50c093df41bc66a2b8f16a0d8f00f4f15a6ea9918f9d063910",
        "ingest_log": "26c936959a2bd0994a4b3fe896289208d3066652cacd9bf713f93a9be566f600",
    },
}


def test_the_full_catalog_loaded_twice_stores_the_same_rows_as_before(store, tmp_path):
    catalog = shared("tle/full_catalog_3le_2022-07.txt")
    first = load_file(store, catalog)
    second = load_file(store, catalog)
    assert (first.loaded, first.duplicates, first.rejected) == (24_132, 0, 0)
    assert (second.loaded, second.duplicates, second.rejected) == (0, 24_132, 0)
    dump = _dump(store, (str(catalog.parent),))
    digests = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in dump.items()}
    assert digests == FULL_CATALOG_SHA256[store.dialect]


def test_a_store_error_after_the_sets_are_written_leaves_nothing_of_the_file(store, monkeypatch):
    """The objects' statement fails after the sets' statement wrote its rows (in the database,
    not in Python): the file's transaction rolls back sets, objects and log alike."""
    import kizuna.store.catalog as catalog

    load_file(store, SAMPLE / "active_2026-07_sample.csv")
    before = _dump(store, (str(SAMPLE),))
    monkeypatch.setattr(catalog, "_OBJECT_UPSERT", "ON CONFLICT (no_such_column) DO NOTHING")
    summary = load_file(store, SAMPLE / "leo_2026-06_sample.3le")
    assert (summary.loaded, summary.duplicates, summary.rejected) == (0, 0, 677)
    assert summary.errors[0].field == "STORE" and summary.errors[0].message.startswith("not stored: ")
    assert _dump(store, (str(SAMPLE),)) == before
