from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
SAMPLE = REPO / "src" / "kizuna" / "data" / "sample"
PG_URL = os.environ.get("KIZUNA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def shared(relative: str) -> Path:
    """A file under ../shared/data, or skip the test cleanly when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data not present: ../shared/data/{relative}")
    return path


def _postgres_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


@contextmanager
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema, dropped afterwards; skips the test
    when PostgreSQL is not reachable."""
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    """The same store tests run on SQLite and on PostgreSQL (each test in its own schema)."""
    from kizuna.store import CatalogStore

    if request.param == "sqlite":
        s = CatalogStore(str(tmp_path / "kizuna.db"))
        yield s
        s.close()
        return
    with pg_schema_url() as url:
        s = CatalogStore(url)
        try:
            yield s
        finally:
            s.close()


def assert_looks_respect_slew(collections, settle_s: float = 15.0, agility_deg_s: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    """Consecutive looks of each satellite in a collection plan are at least settle + slew apart
    (off-nadir signed: right positive; it is rounded to 0.01 deg in the output, hence the slack)."""
    import numpy as np

    by_sat: dict[str, list] = {}
    for col in collections:
        by_sat.setdefault(col.satellite, []).append(col)
    for cols in by_sat.values():
        cols.sort(key=lambda c: c.start_utc)
        for a, b in zip(cols, cols[1:], strict=False):
            gap_s = (np.datetime64(b.start_utc[:-1]) - np.datetime64(a.stop_utc[:-1])).astype(
                "timedelta64[ms]"
            )
            slew_s = (
                settle_s
                + abs(
                    (a.off_nadir_deg * (1 if a.look_side == "right" else -1))
                    - (b.off_nadir_deg * (1 if b.look_side == "right" else -1))
                )
                / agility_deg_s
            )
            assert gap_s.astype(float) / 1000 >= slew_s - 0.6, (a, b)
