"""The database schema: one metadata, Alembic migrations, safe first use, clear refusals.

Run on SQLite and PostgreSQL (each PostgreSQL test in its own schema, chosen by search_path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, inspect, select, text
from tests.conftest import PG_URL, REPO, SAMPLE, _postgres_reason

from kizuna.errors import StoreError


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A URL of a new, empty database (a SQLite file or a fresh PostgreSQL schema), not yet opened."""
    if request.param == "sqlite":
        yield str(tmp_path / "new.db")
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _differences(engine) -> list:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from kizuna.store.schema import metadata

    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def _revision(engine) -> str | None:  # type: ignore[no-untyped-def]
    from kizuna.store.migrate import current_revision

    with engine.connect() as conn:
        return current_revision(conn)


# ---------------------------------------------------------------- one metadata
def test_every_table_of_every_store_is_on_the_one_metadata():
    from kizuna.store import (
        ais_store,
        cdm_store,
        eo_store,
        pipeline_jobs,
        session_store,
        share_store,
        taxii_status,
    )
    from kizuna.store.schema import metadata

    used = [
        ais_store.ais_position,
        ais_store.ais_static,
        ais_store.ais_static_history,
        cdm_store.cdm_messages,
        eo_store.eo_constellation,
        share_store.products,
        share_store.counters,
        share_store.cursors,
        share_store.audit,
        share_store.audit_head,
        share_store.audit_witness,
        taxii_status.taxii_status,
        pipeline_jobs.pipeline_job,
        pipeline_jobs.pipeline_step,
        pipeline_jobs.pipeline_http_validator,
        session_store.console_session,
    ]
    assert all(t.metadata is metadata for t in used)
    assert {t.name for t in used} | {"kizuna_schema", "space_object", "element_set", "ingest_log"} == set(
        metadata.tables
    )


def test_every_store_wrapper_takes_the_opened_database(tmp_path):
    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisStore
    from kizuna.store.cdm_store import CdmStore
    from kizuna.store.eo_store import ConstellationStore
    from kizuna.store.share_store import ShareStore
    from kizuna.store.taxii_status import TaxiiStatusStore

    with CatalogStore(str(tmp_path / "k.db")) as store:
        for wrapper in (AisStore, CdmStore, ConstellationStore, ShareStore, TaxiiStatusStore):
            w = wrapper(store)
            assert w.store is store and w.engine is store.engine


# ---------------------------------------------------------------- migrations
def test_a_new_database_is_migrated_to_head_and_equals_the_models(db_url):
    from kizuna.store import CatalogStore
    from kizuna.store.migrate import head_revision
    from kizuna.store.share_store import ShareStore

    with CatalogStore(db_url) as store:
        assert _revision(store.engine) == head_revision()
        assert _differences(store.engine) == []
        assert ShareStore(store).audit_head_now() == (0, "0" * 64)  # seeded by the baseline
    with CatalogStore(db_url) as again:  # reopening changes nothing
        assert _revision(again.engine) == head_revision()


@pytest.mark.parametrize("made", ["catalog tables", "every table"])
def test_a_database_from_the_release_before_migrations_is_stamped_and_kept(db_url, made):
    """The previous release made tables with create_all (the catalog's first, the others when first
    used) and wrote the `kizuna_schema` version row: it must be adopted in place, no row lost."""
    from kizuna.store import CatalogStore, database_url
    from kizuna.store.migrate import head_revision
    from kizuna.store.schema import element_set, kizuna_schema, metadata, share_counter, space_object

    old = create_engine(database_url(db_url))
    # That release had the tables of the baseline revision; tables added by later revisions it lacked.
    later = {"taxii_status", "ais_static_history", "pipeline_job", "pipeline_step", "console_session"}
    later |= {"pipeline_http_validator"}
    everything = [t for t in metadata.sorted_tables if t.name not in later]
    tables = [kizuna_schema, space_object, element_set] if made == "catalog tables" else everything
    metadata.create_all(old, tables=tables)
    row = {
        "norad_id": 25544,
        "epoch_utc": datetime(2026, 6, 1, 12, 0, 0, 123456),
        "mean_motion_revday": 15.5,
        "eccentricity": 0.0004,
        "inclination_deg": 51.64,
        "raan_deg": 10.0,
        "arg_perigee_deg": 20.0,
        "mean_anomaly_deg": 30.0,
        "bstar_per_er": 1e-4,
        "mean_motion_dot_revday2": 0.0,
        "mean_motion_ddot_revday3": 0.0,
        "classification": "U",
        "ephemeris_type": 0,
        "element_set_no": 999,
        "rev_at_epoch": 1,
        "ingested_utc": datetime(2026, 6, 2),
    }
    with old.begin() as conn:
        conn.execute(insert(kizuna_schema).values(version=1))
        conn.execute(insert(element_set).values(**row))
        conn.execute(insert(space_object).values(norad_id=25544, object_name="ISS (ZARYA)"))
        if made == "every table":  # the old sharing layer had already numbered 7 products
            conn.execute(
                insert(share_counter), [{"name": "product", "value": 7}, {"name": "audit", "value": 0}]
            )
    assert _revision(old) is None
    old.dispose()

    with CatalogStore(db_url) as store:
        assert _revision(store.engine) == head_revision()
        assert store.count_element_sets() == 1 and store.count_objects() == 1
        assert store.history(25544)[0].epoch_utc.microsecond == 123456
        assert _differences(store.engine) == []  # the tables it lacked were created
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(kizuna_schema)).scalar() == 1
            counters = dict(conn.execute(select(share_counter.c.name, share_counter.c.value)).all())
        assert counters == {"product": 7 if made == "every table" else 0, "audit": 0}


def test_a_database_from_a_newer_kizuna_is_refused(db_url):
    from kizuna.store import CatalogStore, database_url

    CatalogStore(db_url).close()
    engine = create_engine(database_url(db_url))
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(StoreError, match="revision f00dfeed is newer than this Kizuna"):
        CatalogStore(db_url)


def test_a_pre_migration_database_of_a_newer_schema_version_is_refused(tmp_path):
    from kizuna.store import CatalogStore, database_url
    from kizuna.store.schema import kizuna_schema

    path = str(tmp_path / "old.db")
    engine = create_engine(database_url(path))
    kizuna_schema.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(kizuna_schema).values(version=2))
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 2 is newer than this Kizuna"):
        CatalogStore(path)


# ---------------------------------------------------------------- concurrent first use
# Each worker imports everything first, then waits for the start file, so the five first opens of
# the new database really overlap (spawn order alone staggers them by the import time).
_WORKER = """
import sys, time
from pathlib import Path
import kizuna.store.ingest
from kizuna.cli import app
go, deadline = Path(sys.argv[1]), time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.002)
sys.argv = ["kizuna", "catalog", "load", sys.argv[2], "--db", sys.argv[3]]
app()
"""


def _split_sample(tmp_path: Path, parts: int) -> tuple[list[Path], set[int]]:
    lines = (SAMPLE / "leo_2026-06_sample.3le").read_text().splitlines()
    sets = [lines[i : i + 3] for i in range(0, len(lines), 3)]
    files = []
    for k in range(parts):
        chunk = sets[k * len(sets) // parts : (k + 1) * len(sets) // parts]
        path = tmp_path / f"part{k}.tle"
        path.write_text("\n".join(line for s in chunk for line in s) + "\n")
        files.append(path)
    return files, {int(s[1][2:7]) for s in sets}


def test_parallel_first_loads_into_a_new_database_all_succeed(db_url, tmp_path):
    from kizuna.store import CatalogStore

    files, norad_ids = _split_sample(tmp_path, 5)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(go), str(f), db_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for f in files
    ]
    time.sleep(0.5)
    go.touch()
    outputs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=180)
            outputs.append((p.returncode, out, err))
    finally:
        for p in procs:
            p.kill()
    for code, _out, err in outputs:
        assert code == 0, err
    loaded = [json.loads(out)["loaded"] for _, out, _ in outputs]
    assert loaded == [135, 135, 136, 135, 136] and sum(loaded) == 677
    with CatalogStore(db_url) as store:
        assert store.count_element_sets() == 677
        assert store.count_objects() == len(norad_ids)
        assert {es.norad_id for es in store.latest_element_sets()} == norad_ids


# ---------------------------------------------------------------- refusals
def test_an_unsupported_url_is_refused_naming_the_scheme():
    from kizuna.store import CatalogStore

    with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'.*sqlite.*postgresql"):
        CatalogStore("mysql://u@h/db")


def test_a_sqlite_file_in_a_missing_directory_is_refused_naming_the_path(tmp_path):
    from kizuna.store import CatalogStore

    path = tmp_path / "nowhere" / "k.db"
    with pytest.raises(
        StoreError, match=f"cannot create database {path}: directory .*nowhere does not exist"
    ):
        CatalogStore(str(path))
    assert not path.parent.exists()


def test_must_exist_refuses_a_missing_database_instead_of_creating_it(tmp_path, monkeypatch):
    from kizuna.store import CatalogStore

    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="^no database at typo.db$"):
        CatalogStore("typo.db", must_exist=True)
    assert not (tmp_path / "typo.db").exists()
    (tmp_path / "empty.db").touch()  # a file, but not a Kizuna database
    with pytest.raises(StoreError, match="no Kizuna database at sqlite:///empty.db"):
        CatalogStore("empty.db", must_exist=True)
    CatalogStore("real.db").close()
    with CatalogStore("real.db", must_exist=True) as store:
        assert store.count_element_sets() == 0


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_must_exist_refuses_a_postgresql_schema_without_kizuna_tables(db_url):
    from kizuna.store import CatalogStore, database_url

    with pytest.raises(StoreError, match="no Kizuna database at postgresql"):
        CatalogStore(db_url, must_exist=True)
    engine = create_engine(database_url(db_url))
    assert inspect(engine).get_table_names() == []  # nothing was created
    engine.dispose()
    CatalogStore(db_url).close()
    CatalogStore(db_url, must_exist=True).close()


def test_the_cli_refuses_a_bad_database_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    env["COLUMNS"] = "400"  # rich would wrap the line at 80 columns
    for db, words in [("mysql://u@h/db", "'mysql'"), (str(tmp_path / "no" / "k.db"), str(tmp_path / "no"))]:
        run = subprocess.run(
            [sys.executable, "-m", "kizuna", "catalog", "search", "--db", db],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert run.returncode == 2
        assert "Traceback" not in run.stderr and words in run.stderr
