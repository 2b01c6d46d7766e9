"""Full-catalog benchmark: ingest, SGP4 propagation against its peers, and peak memory.

Run from the repository root:  .venv/bin/python benchmarks/bench_catalog.py   (or `make bench`)

Input: ../shared/data/tle/full_catalog_3le_2022-07.txt (24,132 3LE sets). When
../shared/data is absent the benchmark says so and exits 0.

Measured in one run, side by side (see benchmarks/README.md for how to read it):
  1. ingest: parse only (read_path), load into a fresh SQLite store (load_file), the same load
     again (all duplicates), and the same two loads into PostgreSQL when it is reachable;
  2. propagation of every object at 60 s steps over 24 h (1441 times), TEME:
     kizuna.orbit.iter_propagate vs a plain sgp4 SatrecArray loop with the same chunk size
     (interleaved, best of --repeats), kizuna in ITRF and GCRS once each, and Skyfield's
     EarthSatellite(...).at(t) on a seeded random sample, extrapolated to the whole catalog;
     plus a check that kizuna and SatrecArray agree;
  3. peak RSS of streaming propagation, measured in a child process, against the size of the
     naive full (N x T x 3 x 2) float64 array.
Prints a plain-text table (stdout) and writes benchmarks/results/catalog.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"
CATALOG_REL = "../shared/data/tle/full_catalog_3le_2022-07.txt"
CATALOG = REPO / CATALOG_REL
RESULTS_REL = "benchmarks/results/catalog.json"
RESULTS = REPO / RESULTS_REL
PG_URL = os.environ.get("KIZUNA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

# 24 h at 60 s from 00:00 UTC the day after the catalog's median epoch (2022-07-14).
START_UTC = "2022-07-15T00:00:00Z"
STOP_UTC = "2022-07-16T00:00:00Z"
STEP_S = 60.0
MB = 1e6  # decimal megabytes throughout

err = Console(stderr=True, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- helpers
def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


def _fmt_rate(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M {unit}/s"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k {unit}/s"
    return f"{value:.0f} {unit}/s"


def read_3le_lines(path: Path) -> list[tuple[str, str, str]]:
    """(name, line1, line2) of each set, as the raw text gives them (the peers' input)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    out: list[tuple[str, str, str]] = []
    name = ""
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("1 ") and i + 1 < len(lines) and lines[i + 1].startswith("2 "):
            out.append((name, line, lines[i + 1].rstrip()))
            name = ""
            i += 2
            continue
        if line.strip():
            name = line[2:].strip() if line.startswith("0 ") else line.strip()
        i += 1
    return out


def machine_info() -> dict[str, object]:
    cpu = platform.processor() or ""
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kib = next(
            int(r.split()[1])
            for r in Path("/proc/meminfo").read_text().splitlines()
            if r.startswith("MemTotal")
        )
        mem_gb: float | None = round(mem_kib * 1024 / 1e9, 1)
    except (OSError, StopIteration, ValueError):
        mem_gb = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": mem_gb,
        "load_average_at_start": _loadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def versions() -> dict[str, object]:
    import sgp4
    import sqlalchemy
    from sgp4.api import accelerated

    import kizuna

    out: dict[str, object] = {
        "kizuna": getattr(kizuna, "__version__", "?"),
        "sgp4": sgp4.__version__,
        "sgp4_accelerated": bool(accelerated),
        "numpy": np.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
    }
    try:
        import skyfield

        out["skyfield"] = skyfield.__version__
    except ImportError:
        out["skyfield"] = None
    return out


def git_state() -> dict[str, object]:
    """The commit measured, and whether kizuna's sources differed from it."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "src_modified": bool(git("status", "--porcelain", "--", "src")),
    }


# ---------------------------------------------------------------- 1. ingest
# The floors the catalog load is held to (issue 21): parse every set with sgp4's C++
# `twoline2rv` and write its row, with nothing else, into the same element_set table of a fresh
# kizuna store, by executemany on SQLite and by COPY on PostgreSQL. No validation beyond what
# twoline2rv does, no duplicate check, no object table, no ingest log: what storing the sets costs
# at the least with these drivers.
_FLOOR_COLUMNS = (
    "norad_id",
    "epoch_utc",
    "mean_motion_revday",
    "eccentricity",
    "inclination_deg",
    "raan_deg",
    "arg_perigee_deg",
    "mean_anomaly_deg",
    "bstar_per_er",
    "mean_motion_dot_revday2",
    "mean_motion_ddot_revday3",
    "object_name",
    "object_id",
    "classification",
    "ephemeris_type",
    "element_set_no",
    "rev_at_epoch",
    "source",
    "ingested_utc",
)
_JD_1950 = 2433281.5  # Julian date of 1949-12-31 00:00 UTC


def floor_rows(path: Path) -> list[tuple[object, ...]]:
    """Every set of the file as a row of element_set, straight from twoline2rv's Satrec
    (its own units: radians, radians/minute), epoch as naive UTC."""
    from datetime import timedelta

    from sgp4.api import Satrec

    day0 = datetime(1949, 12, 31)
    now = datetime.now(UTC).replace(tzinfo=None)
    rows: list[tuple[object, ...]] = []
    for k, (name, l1, l2) in enumerate(read_3le_lines(path)):
        s = Satrec.twoline2rv(l1, l2)
        epoch = day0 + timedelta(days=(s.jdsatepoch - _JD_1950) + s.jdsatepochF)
        rows.append(
            (
                s.satnum,
                epoch,
                s.no_kozai,
                s.ecco,
                s.inclo,
                s.nodeo,
                s.argpo,
                s.mo,
                s.bstar,
                s.ndot,
                s.nddot,
                name,
                s.intldesg,
                s.classification,
                s.ephtype,
                s.elnum,
                s.revnum,
                f"{path}:{3 * k + 1}",
                now,
            )
        )
    return rows


def floor_sqlite(db_file: Path) -> tuple[float, float, int]:
    """(wall s, CPU s, rows) of twoline2rv + one executemany + commit into a fresh store's file,
    with the store's own pragmas and the same DATETIME text SQLAlchemy writes."""
    conn = sqlite3.connect(db_file)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        rows = [
            (*r[:1], r[1].isoformat(" ", "microseconds"), *r[2:18], r[18].isoformat(" ", "microseconds"))  # type: ignore[attr-defined]
            for r in floor_rows(CATALOG)
        ]
        marks = ", ".join("?" for _ in _FLOOR_COLUMNS)
        conn.executemany(f"INSERT INTO element_set ({', '.join(_FLOOR_COLUMNS)}) VALUES ({marks})", rows)
        conn.commit()
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        conn.close()
    return dt, cpu, len(rows)


def floor_postgres(url: str) -> tuple[float, float, int]:
    """(wall s, CPU s, rows) of twoline2rv + one COPY + commit into a fresh store's schema."""
    import psycopg

    with psycopg.connect(url) as conn:
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        rows = floor_rows(CATALOG)
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY element_set ({', '.join(_FLOOR_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dt, cpu, len(rows)


def _pg_reachable() -> tuple[str | None, str | None]:
    """(server version, None) or (None, why PostgreSQL is skipped)."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg not installed"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3, autocommit=True) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0]), None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return None, f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


class _FreshStore:
    """A fresh kizuna store per round: a SQLite file in `tmp`, or a PostgreSQL schema dropped
    on exit. `.url` opens it (CatalogStore or, for the floor, the driver alone)."""

    def __init__(self, kind: str, tmp: Path, round_no: int, what: str):
        self.kind = kind
        if kind == "sqlite":
            self.file = tmp / f"{what}-{round_no}.db"
            self.url = str(self.file)
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            self.url = f"{PG_URL}?options=-csearch_path%3D{self.schema}"

    def __enter__(self) -> _FreshStore:
        from kizuna.store.catalog import CatalogStore

        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
        CatalogStore(self.url).close()  # the schema, migrated, before any timing
        return self

    def __exit__(self, *exc: object) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')


def _best(runs: list[dict[str, float]]) -> dict[str, object]:
    return {
        "best_s": min(r["seconds"] for r in runs),
        "best_cpu_s": min(r["cpu_s"] for r in runs),
        "runs": runs,
    }


def bench_store(kind: str, rounds: int) -> dict[str, object]:
    """`rounds` rounds of floor, kizuna load, kizuna reload (all duplicates), each on a fresh
    store, interleaved so that a change of machine load falls on all three alike; best of each."""
    from kizuna.store.catalog import CatalogStore
    from kizuna.store.ingest import load_file

    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    floor_runs: list[dict[str, float]] = []
    load_runs: list[dict[str, float]] = []
    reload_runs: list[dict[str, float]] = []
    counts: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="kizuna-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for round_no in range(rounds):
            with _FreshStore(kind, tmp, round_no, "floor") as fresh:
                with err.status(f"ingest: {label} floor, round {round_no + 1}"):
                    if kind == "sqlite":
                        dt, cpu, n = floor_sqlite(fresh.file)
                    else:
                        dt, cpu, n = floor_postgres(fresh.url)
                floor_runs.append({"seconds": dt, "cpu_s": cpu, "rows": n})
            with _FreshStore(kind, tmp, round_no, "kizuna") as fresh:
                store = CatalogStore(fresh.url)
                try:
                    for runs, what in ((load_runs, "load"), (reload_runs, "reload")):
                        gc.collect()
                        with err.status(f"ingest: {label} {what} (load_file), round {round_no + 1}"):
                            c0, t0 = time.process_time(), time.perf_counter()
                            summary = load_file(store, CATALOG)
                            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                        runs.append(
                            {
                                "seconds": dt,
                                "cpu_s": cpu,
                                "loaded": summary.loaded,
                                "duplicates": summary.duplicates,
                                "rejected": summary.rejected,
                            }
                        )
                    counts = {
                        "stored_element_sets": store.count_element_sets(),
                        "stored_objects": store.count_objects(),
                    }
                finally:
                    store.close()
            err.print(
                f"  {label} round {round_no + 1}: floor {floor_runs[-1]['cpu_s']:.2f} s CPU, "
                f"load {load_runs[-1]['cpu_s']:.2f}, reload {reload_runs[-1]['cpu_s']:.2f}"
            )
    floor, load, reload = _best(floor_runs), _best(load_runs), _best(reload_runs)
    floor_name = "executemany" if kind == "sqlite" else "COPY"
    return {
        "floor": {"what": f"sgp4 twoline2rv + {floor_name} into element_set, one commit", **floor},
        "first_load": {"what": "kizuna load_file, fresh store", **load},
        "second_load": {"what": "kizuna load_file again, every set a duplicate", **reload},
        **counts,
        "ratios": {
            "load_over_floor_cpu": load["best_cpu_s"] / floor["best_cpu_s"],
            "load_over_floor_wall": load["best_s"] / floor["best_s"],
            "reload_over_floor_cpu": reload["best_cpu_s"] / floor["best_cpu_s"],
            "reload_over_floor_wall": reload["best_s"] / floor["best_s"],
            "reload_over_load_cpu": reload["best_cpu_s"] / load["best_cpu_s"],
            "reload_over_load_wall": reload["best_s"] / load["best_s"],
            "target_max_over_floor": 2.0,
        },
    }


def bench_ingest(n_expected: int, rounds: int) -> tuple[dict[str, object], list]:
    from kizuna.formats.detect import read_path

    out: dict[str, object] = {"rounds": rounds}
    gc.collect()
    with err.status("ingest: parse only (read_path)"):
        c0, t0 = time.process_time(), time.perf_counter()
        parsed = read_path(CATALOG)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(parsed.records)
    out["parse_only"] = {
        "records": n,
        "issues": len(parsed.issues),
        "seconds": dt,
        "cpu_s": cpu,
        "records_per_s": _rate(n, dt),
    }
    err.print(f"  parse only: {n:,} records, {len(parsed.issues)} issues, {dt:.2f} s")
    if n != n_expected:
        err.print(f"  [yellow]warning: read_path found {n} sets, the file has {n_expected}[/]")
    out["sqlite"] = bench_store("sqlite", rounds)
    server, skipped = _pg_reachable()
    if skipped is not None:
        err.print(f"  {skipped}: skipped")
        out["postgresql"] = {"skipped": skipped}
    else:
        from sqlalchemy.engine import make_url

        out["postgresql"] = {
            **bench_store("postgresql", rounds),
            "server_version": server,
            "url": make_url(PG_URL).render_as_string(hide_password=True)
            + "?options=-csearch_path%3D<fresh schema per run, dropped after>",
        }
    return out, parsed.records


# ---------------------------------------------------------------- 2. propagation
def run_kizuna(element_sets, times, frame: str, label: str) -> tuple[float, float, int, int]:
    """Stream iter_propagate over the catalog: (wall s, CPU s, states, objects with errors)."""
    from kizuna.orbit import iter_propagate

    states = failed = 0
    gc.collect()
    with _progress() as prog:
        task = prog.add_task(label, total=len(element_sets))
        c0, t0 = time.process_time(), time.perf_counter()
        for part in iter_propagate(element_sets, times, frame, progress=lambda k: prog.advance(task, k)):
            states += part.error_code.size
            failed += int(np.count_nonzero(part.error_code.any(axis=1)))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dt, cpu, states, failed


def run_satrecarray(tle_lines, jd, fr, chunk: int, label: str) -> tuple[float, float, int, int]:
    """The peer: twoline2rv + SatrecArray.sgp4 over the same chunks, nothing else."""
    from sgp4.api import Satrec, SatrecArray

    states = failed = 0
    gc.collect()
    with _progress() as prog:
        task = prog.add_task(label, total=len(tle_lines))
        c0, t0 = time.process_time(), time.perf_counter()
        for start in range(0, len(tle_lines), chunk):
            batch = tle_lines[start : start + chunk]
            sats = [Satrec.twoline2rv(l1, l2) for _name, l1, l2 in batch]
            e, r, v = SatrecArray(sats).sgp4(jd, fr)
            states += e.size
            failed += int(np.count_nonzero(e.any(axis=1)))
            prog.advance(task, len(batch))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dt, cpu, states, failed


def run_skyfield(tle_lines, sample_idx, n_times: int) -> dict[str, object]:
    """Skyfield's usual path, one EarthSatellite per object, all sharing one Time array.

    The first .at(t) also computes the Time array's own frame quantities (precession,
    nutation, sidereal time), which Skyfield then caches on `t`; a user pays that once, so
    the extrapolation is first call + (mean of the others) x (N - 1).
    """
    try:
        from skyfield.api import EarthSatellite, load
    except ImportError:
        return {"skipped": "skyfield not installed (pip install -e '.[dev]')"}
    ts = load.timescale()  # builtin leap-second / delta-T tables: nothing is downloaded
    t = ts.utc(2022, 7, 15, 0, 0, np.arange(n_times) * STEP_S)
    each = np.empty(len(sample_idx))
    gc.collect()
    with _progress() as prog:
        task = prog.add_task("Skyfield EarthSatellite.at", total=len(sample_idx))
        c0, t0 = time.process_time(), time.perf_counter()
        for k, i in enumerate(sample_idx):
            name, l1, l2 = tle_lines[i]
            t1 = time.perf_counter()
            EarthSatellite(l1, l2, name, ts).at(t)
            each[k] = time.perf_counter() - t1
            prog.advance(task)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_all = len(tle_lines)
    first, others = float(each[0]), each[1:]  # the sample has at least 2 objects
    rest = float(others.mean())
    extrapolated = first + rest * (n_all - 1)
    return {
        "sample": len(sample_idx),
        "sample_seconds": dt,
        "sample_cpu_s": cpu,
        "extrapolated_cpu_s": cpu * extrapolated / dt,
        "first_call_ms": first * 1e3,
        "per_object_ms": rest * 1e3,
        "per_object_median_ms": float(np.median(others)) * 1e3,
        "extrapolated": True,
        "extrapolated_seconds": extrapolated,
        "extrapolation": "first call + mean of the other calls x (N - 1)",
        "states_per_s": _rate(len(sample_idx) * n_times, dt),
        "frame": "GCRS (Skyfield .at())",
    }


AGREEMENT_SAMPLE = 200  # objects whose 1441 states are compared one by one


def agreement(element_sets, tle_lines, times, jd, fr, rng) -> dict[str, object]:
    """Same Satrec initialisation for every object, same states for a sample of objects."""
    from sgp4.api import Satrec, SatrecArray

    from kizuna.orbit import propagate
    from kizuna.orbit.propagate import satrec_from_element_set

    n = len(element_sets)
    d_epoch_us = np.empty(n)
    fields = ("inclo", "nodeo", "ecco", "argpo", "mo", "no_kozai", "bstar")
    field_diffs = dict.fromkeys(fields, 0)
    max_rel = 0.0
    element_mismatch = id_mismatch = 0
    with err.status("agreement: comparing Satrec initialisation for every object"):
        for i, (es, (_name, l1, l2)) in enumerate(zip(element_sets, tle_lines, strict=True)):
            k = satrec_from_element_set(es)
            p = Satrec.twoline2rv(l1, l2)
            id_mismatch += es.norad_id != p.satnum
            d_epoch_us[i] = ((k.jdsatepoch - p.jdsatepoch) + (k.jdsatepochF - p.jdsatepochF)) * 86400e6
            differs = False
            for f in fields:
                a, b = getattr(k, f), getattr(p, f)
                if a != b:
                    field_diffs[f] += 1
                    differs = True
                    max_rel = max(max_rel, abs(a - b) / max(abs(b), 1e-300))
            element_mismatch += differs
    # States: a random sample, the ISS, and the three objects with the largest epoch offset.
    worst = [int(i) for i in np.argsort(-np.abs(d_epoch_us), kind="stable")[:3]]
    iss = [i for i, es in enumerate(element_sets) if es.norad_id == 25544]
    picks = sorted({*(int(i) for i in rng.choice(n, min(AGREEMENT_SAMPLE, n), replace=False)), *worst, *iss})
    with err.status(f"agreement: comparing the states of {len(picks)} objects"):
        eph = propagate([element_sets[i] for i in picks], times, "teme")
        sats = [Satrec.twoline2rv(tle_lines[i][1], tle_lines[i][2]) for i in picks]
        e, r, v = SatrecArray(sats).sgp4(jd, fr)
    rows = []
    for row, i in enumerate(picks):
        ok = (eph.error_code[row] == 0) & (e[row] == 0)
        dr = np.linalg.norm(eph.position_km[row][ok] - r[row][ok], axis=-1) * 1e6  # mm
        dv = np.linalg.norm(eph.velocity_kms[row][ok] - v[row][ok], axis=-1) * 1e6  # mm/s
        rows.append(
            {
                "norad_id": element_sets[i].norad_id,
                "name": element_sets[i].object_name,
                "epoch_offset_us": float(d_epoch_us[i]),
                "max_position_diff_mm": float(dr.max()) if ok.any() else None,
                "max_velocity_diff_mm_s": float(dv.max()) if ok.any() else None,
                "error_codes_equal": bool(np.array_equal(eph.error_code[row], e[row])),
                "good_steps": int(ok.sum()),
            }
        )
    compared = [x for x in rows if x["max_position_diff_mm"] is not None]
    max_dr = max((x["max_position_diff_mm"] for x in compared), default=0.0)
    max_dv = max((x["max_velocity_diff_mm_s"] for x in compared), default=0.0)
    codes_equal = all(x["error_codes_equal"] for x in rows)
    return {
        "catalog_wide": {
            "objects": n,
            "norad_id_mismatches": int(id_mismatch),
            "element_mismatches": element_mismatch,
            "element_mismatches_by_field": field_diffs,
            "element_max_relative_diff": max_rel,
            "epoch_offset_nonzero": int(np.count_nonzero(d_epoch_us)),
            "epoch_offset_max_abs_us": float(np.abs(d_epoch_us).max()),
        },
        "objects_compared": len(rows),
        "states_compared": int(sum(x["good_steps"] for x in rows)),
        "objects_with_nonzero_diff": sum(1 for x in compared if x["max_position_diff_mm"] > 0),
        "max_position_diff_mm": max_dr,
        "max_velocity_diff_mm_s": max_dv,
        "error_codes_equal": codes_equal,
        "tolerance_mm": 1.0,
        "pass": bool(max_dr < 1.0 and codes_equal),
        "objects": sorted(rows, key=lambda x: -(x["max_position_diff_mm"] or 0.0)),
    }


def bench_propagation(
    element_sets,
    tle_lines,
    repeats: int,
    sky_sample: int,
    seed: int,
) -> dict[str, object]:
    from kizuna.orbit import jd_pair, time_grid
    from kizuna.orbit.eop import load_eop
    from kizuna.orbit.propagate import DEFAULT_CHUNK_STATES, _chunk_size

    times = time_grid(START_UTC, STOP_UTC, STEP_S)
    jd, fr = jd_pair(times)
    n, t_count = len(element_sets), len(times)
    chunk = _chunk_size(n, t_count, DEFAULT_CHUNK_STATES)
    out: dict[str, object] = {
        "times": t_count,
        "step_s": STEP_S,
        "start_utc": START_UTC,
        "stop_utc": STOP_UTC,
        "objects": n,
        "states": n * t_count,
        "chunk_objects": chunk,
        "chunk_states": chunk * t_count,
        "default_chunk_states": DEFAULT_CHUNK_STATES,
    }
    err.print(
        f"propagation: {n:,} objects x {t_count} times = {n * t_count:,} states, chunks of {chunk} objects"
    )

    kz_runs, sa_runs, kz_cpu, sa_cpu = [], [], [], []
    kz_failed = sa_failed = 0
    for rep in range(repeats):
        dt, cpu, states, kz_failed = run_kizuna(
            element_sets, times, "teme", f"kizuna TEME {rep + 1}/{repeats}"
        )
        kz_runs.append(dt)
        kz_cpu.append(cpu)
        err.print(f"  kizuna iter_propagate TEME, run {rep + 1}: {dt:.2f} s (CPU {cpu:.2f} s)")
        dt, cpu, states_b, sa_failed = run_satrecarray(
            tle_lines, jd, fr, chunk, f"SatrecArray {rep + 1}/{repeats}"
        )
        sa_runs.append(dt)
        sa_cpu.append(cpu)
        err.print(f"  SatrecArray loop,            run {rep + 1}: {dt:.2f} s (CPU {cpu:.2f} s)")
        assert states == states_b == n * t_count
    kz_best, sa_best = min(kz_runs), min(sa_runs)
    out["kizuna_teme"] = {
        "runs_s": kz_runs,
        "best_s": kz_best,
        "cpu_runs_s": kz_cpu,
        "best_cpu_s": min(kz_cpu),
        "states_per_s": _rate(n * t_count, kz_best),
        "objects_with_errors": kz_failed,
    }
    out["satrecarray_teme"] = {
        "runs_s": sa_runs,
        "best_s": sa_best,
        "cpu_runs_s": sa_cpu,
        "best_cpu_s": min(sa_cpu),
        "states_per_s": _rate(n * t_count, sa_best),
        "objects_with_errors": sa_failed,
    }

    with err.status("EOP table load (first frame conversion of a process)"):
        t0 = time.perf_counter()
        load_eop()
        eop_s = time.perf_counter() - t0
    out["eop_load_s"] = eop_s
    for frame in ("itrf", "gcrs"):
        dt, cpu, _states, failed = run_kizuna(element_sets, times, frame, f"kizuna {frame.upper()}")
        err.print(f"  kizuna iter_propagate {frame.upper()}: {dt:.2f} s (CPU {cpu:.2f} s)")
        out[f"kizuna_{frame}"] = {
            "runs_s": [dt],
            "best_s": dt,
            "cpu_runs_s": [cpu],
            "best_cpu_s": cpu,
            "states_per_s": _rate(n * t_count, dt),
            "overhead_vs_teme_s": dt - kz_best,
            "overhead_vs_teme_pct": 100.0 * (dt - kz_best) / kz_best,
            "cpu_overhead_vs_teme_pct": 100.0 * (cpu - min(kz_cpu)) / min(kz_cpu),
            "objects_with_errors": failed,
        }

    rng = np.random.default_rng(seed)
    sample_idx = sorted(int(i) for i in rng.choice(n, min(sky_sample, n), replace=False))
    sky = run_skyfield(tle_lines, sample_idx, t_count)
    sky["seed"] = seed
    out["skyfield"] = sky
    if "sample_seconds" in sky:
        err.print(
            f"  Skyfield: {sky['sample']} objects in {sky['sample_seconds']:.2f} s, "
            f"extrapolated to {n:,}: {sky['extrapolated_seconds']:.1f} s"
        )

    have_sky = "extrapolated_seconds" in sky
    kz_cpu_best, sa_cpu_best = min(kz_cpu), min(sa_cpu)
    out["ratios"] = {
        "kizuna_over_satrecarray": kz_best / sa_best,
        "target_max": 1.10,
        "within_target": kz_best / sa_best <= 1.10,
        "kizuna_over_satrecarray_cpu": kz_cpu_best / sa_cpu_best,
        "skyfield_over_kizuna_teme": sky["extrapolated_seconds"] / kz_best if have_sky else None,
        "skyfield_over_kizuna_gcrs": (
            sky["extrapolated_seconds"] / out["kizuna_gcrs"]["best_s"] if have_sky else None
        ),
        "skyfield_over_kizuna_teme_cpu": sky["extrapolated_cpu_s"] / kz_cpu_best if have_sky else None,
        "skyfield_over_kizuna_gcrs_cpu": (
            sky["extrapolated_cpu_s"] / out["kizuna_gcrs"]["best_cpu_s"] if have_sky else None
        ),
        "itrf_over_teme": out["kizuna_itrf"]["best_s"] / kz_best,
        "gcrs_over_teme": out["kizuna_gcrs"]["best_s"] / kz_best,
        "itrf_over_teme_cpu": out["kizuna_itrf"]["best_cpu_s"] / kz_cpu_best,
        "gcrs_over_teme_cpu": out["kizuna_gcrs"]["best_cpu_s"] / kz_cpu_best,
    }
    out["agreement"] = agreement(element_sets, tle_lines, times, jd, fr, rng)
    return out


# ---------------------------------------------------------------- 3. memory
_CHILD = r"""
import json, resource, sys
from kizuna.formats.detect import read_path
from kizuna.orbit import iter_propagate, time_grid

def status():
    out = {}
    with open("/proc/self/status") as fh:
        for row in fh:
            if row.startswith(("VmRSS:", "VmHWM:")):
                out[row.split(":")[0]] = int(row.split()[1])  # KiB
    return out

path, start, stop, step = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
element_sets = read_path(path).records
times = time_grid(start, stop, step)
before = status()
states = 0
for part in iter_propagate(element_sets, times, "teme"):
    states += part.error_code.size
    print("P", len(part.norad_ids), flush=True)
after = status()
print("R", json.dumps({"objects": len(element_sets), "times": len(times), "states": states,
                       "rss_before_kib": before.get("VmRSS"), "hwm_before_kib": before.get("VmHWM"),
                       "hwm_after_kib": after.get("VmHWM"),
                       "ru_maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}),
      flush=True)
"""


def bench_memory(n: int, t_count: int) -> dict[str, object]:
    """Peak RSS of a child that streams the whole catalog through iter_propagate.

    Run this while the benchmark process is still small: on Linux a child's ru_maxrss also
    counts the parent's resident memory that the child inherited until its exec().
    """
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cmd = [sys.executable, "-c", _CHILD, str(CATALOG), START_UTC, STOP_UTC, str(STEP_S)]
    report: dict[str, object] = {}
    t0 = time.perf_counter()
    with _progress() as prog:
        task = prog.add_task("peak RSS: child streams iter_propagate", total=n)
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("P "):
                    prog.advance(task, int(line.split()[1]))
                elif line.startswith("R "):
                    report = json.loads(line[2:])
        if proc.returncode != 0 or not report:
            raise RuntimeError(f"memory child failed with exit code {proc.returncode}")
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB
    naive = n * t_count * 3 * 2 * 8
    kib = lambda k: int(k) * 1024 / MB  # noqa: E731 - KiB -> MB
    peak_mb = kib(peak_kib)
    rss_before, hwm_before, hwm_after = (
        kib(report["rss_before_kib"]),
        kib(report["hwm_before_kib"]),
        kib(report["hwm_after_kib"]),
    )
    err.print(
        f"  child peak RSS {peak_mb:.0f} MB (RSS after import + parse {rss_before:.0f} MB), "
        f"naive full array {naive / MB:.0f} MB"
    )
    return {
        "method": "resource.getrusage(RUSAGE_CHILDREN).ru_maxrss after a child process (same python) "
        "ran read_path + iter_propagate(..., 'teme') over the full catalog",
        "child_wall_s": wall,
        "peak_rss_mb": peak_mb,
        "rss_after_import_and_parse_mb": rss_before,
        "hwm_after_import_and_parse_mb": hwm_before,
        "child_vmhwm_after_propagation_mb": hwm_after,
        "streaming_increment_mb": hwm_after - rss_before,
        "naive_full_array_mb": naive / MB,
        "naive_full_array_shape": [n, t_count, 3, 2],
        "naive_over_peak": naive / (peak_kib * 1024),
        "parent_maxrss_at_spawn_mb": kib(parent_kib),
        "children_maxrss_before_kib": before_children,
        "child_self_report": report,
    }


# ---------------------------------------------------------------- report
def ingest_rows(ing: dict[str, object]) -> list[tuple[str, ...]]:
    """Table rows of the floor, load and reload on each store (best of the rounds)."""
    rows: list[tuple[str, ...]] = []
    for key, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        db = ing[key]
        if "skipped" in db:
            rows.append((f"ingest  {label}", "-", "-", "-", "-", "skipped: " + str(db["skipped"])))
            continue
        for part, what in (
            ("floor", "floor: twoline2rv + " + ("executemany" if key == "sqlite" else "COPY")),
            ("first_load", "load_file, fresh store"),
            ("second_load", "load_file again (all dups)"),
        ):
            x = db[part]
            last = x["runs"][-1]
            total = last.get(
                "rows", last.get("loaded", 0) + last.get("duplicates", 0) + last.get("rejected", 0)
            )
            note = f"best of {len(x['runs'])}: CPU " + "/".join(f"{r['cpu_s']:.2f}" for r in x["runs"]) + " s"
            if part != "floor":
                note += f"; loaded {last['loaded']:,}, dup {last['duplicates']:,}, rej {last['rejected']}"
            rows.append(
                (
                    f"ingest  {label} {what}",
                    f"{total:,} sets",
                    f"{x['best_s']:.2f}",
                    f"{x['best_cpu_s']:.2f}",
                    _fmt_rate(_rate(total, x["best_s"]), "sets"),
                    note,
                )
            )
    return rows


def ingest_ratio_lines(ing: dict[str, object]) -> list[str]:
    lines = ["ingest ratios (best of each; kizuna / same-run floor, target <= 2.0; reload / load):"]
    for key, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        db = ing[key]
        if "skipped" in db:
            continue
        r = db["ratios"]
        limit = r["target_max_over_floor"]
        ok = lambda v, limit=limit: "PASS" if v <= limit else "FAIL"  # noqa: E731
        lines.append(
            f"  {label}: load / floor CPU {r['load_over_floor_cpu']:.2f} ({ok(r['load_over_floor_cpu'])}), "
            f"wall {r['load_over_floor_wall']:.2f}; reload / floor CPU {r['reload_over_floor_cpu']:.2f} "
            f"({ok(r['reload_over_floor_cpu'])}), wall {r['reload_over_floor_wall']:.2f}; reload / load CPU "
            f"{r['reload_over_load_cpu']:.2f}, wall {r['reload_over_load_wall']:.2f}"
        )
    return lines


def _format_table(rows: list[tuple[str, ...]]) -> list[str]:
    head = ("measurement", "items", "wall s", "CPU s", "rate (wall)", "note")
    widths = [max(len(r[i]) for r in (*rows, head)) for i in range(len(head))]
    align = ["<", ">", ">", ">", ">", "<"]
    fmt_row = lambda r: "  ".join(f"{c:{a}{w}}" for c, a, w in zip(r, align, widths, strict=True))  # noqa: E731
    return [fmt_row(head).rstrip(), "  ".join("-" * w for w in widths)] + [fmt_row(r).rstrip() for r in rows]


def table(result: dict[str, object]) -> str:
    ing, prop, mem = result["ingest"], result["propagation"], result["memory"]
    n = prop["objects"]
    states = prop["states"]
    rows: list[tuple[str, ...]] = []

    def add(name: str, items: str, secs: float | None, cpu: float | None, rate: str, note: str = "") -> None:
        rows.append(
            (
                name,
                items,
                "-" if secs is None else f"{secs:.2f}",
                "-" if cpu is None else f"{cpu:.2f}",
                rate,
                note,
            )
        )

    p = ing["parse_only"]
    add(
        "ingest  parse only (read_path)",
        f"{p['records']:,} sets",
        p["seconds"],
        p["cpu_s"],
        _fmt_rate(p["records_per_s"], "sets"),
        f"{p['issues']} issues",
    )
    rows.extend(ingest_rows(ing))
    reps = len(prop["kizuna_teme"]["runs_s"])
    runs = lambda key: "/".join(f"{s:.1f}" for s in prop[key]["runs_s"])  # noqa: E731
    add(
        "propagate  kizuna iter_propagate, TEME",
        f"{states:,} states",
        prop["kizuna_teme"]["best_s"],
        prop["kizuna_teme"]["best_cpu_s"],
        _fmt_rate(prop["kizuna_teme"]["states_per_s"], "states"),
        f"best of {reps}: {runs('kizuna_teme')} s",
    )
    add(
        "propagate  sgp4 SatrecArray loop, TEME",
        f"{states:,} states",
        prop["satrecarray_teme"]["best_s"],
        prop["satrecarray_teme"]["best_cpu_s"],
        _fmt_rate(prop["satrecarray_teme"]["states_per_s"], "states"),
        f"best of {reps}: {runs('satrecarray_teme')} s",
    )
    for frame in ("itrf", "gcrs"):
        x = prop[f"kizuna_{frame}"]
        add(
            f"propagate  kizuna iter_propagate, {frame.upper()}",
            f"{states:,} states",
            x["best_s"],
            x["best_cpu_s"],
            _fmt_rate(x["states_per_s"], "states"),
            f"1 run; frame cost {x['overhead_vs_teme_s']:+.1f} s ({x['overhead_vs_teme_pct']:+.0f}%), "
            f"CPU {x['cpu_overhead_vs_teme_pct']:+.0f}%",
        )
    sky = prop["skyfield"]
    if "skipped" in sky:
        add("propagate  Skyfield EarthSatellite.at", "-", None, None, "-", "skipped: " + str(sky["skipped"]))
    else:
        add(
            f"propagate  Skyfield .at(t), {sky['sample']} sampled",
            f"{sky['sample'] * prop['times']:,} states",
            sky["sample_seconds"],
            sky["sample_cpu_s"],
            _fmt_rate(sky["states_per_s"], "states"),
            f"seed {sky['seed']}; 1st call {sky['first_call_ms']:.0f} ms, then "
            f"{sky['per_object_ms']:.2f} ms/object",
        )
        add(
            f"propagate  Skyfield EXTRAPOLATED to {n:,}",
            f"{states:,} states",
            sky["extrapolated_seconds"],
            sky["extrapolated_cpu_s"],
            _fmt_rate(states / sky["extrapolated_seconds"], "states"),
            "1st call + per-object x (N-1); GCRS output",
        )
    add(
        "memory  peak RSS, child streaming TEME",
        f"{states:,} states",
        mem["child_wall_s"],
        None,
        "-",
        f"{mem['peak_rss_mb']:.0f} MB peak (RSS {mem['rss_after_import_and_parse_mb']:.0f} MB "
        f"before propagating: +{mem['streaming_increment_mb']:.0f} MB streaming)",
    )
    add(
        "memory  naive full N x T x 3 x 2 float64",
        f"{states:,} states",
        None,
        None,
        "-",
        f"{mem['naive_full_array_mb']:.0f} MB (not allocated)",
    )

    lines = _format_table(rows)

    ratios = prop["ratios"]
    ag = prop["agreement"]
    cw = ag["catalog_wide"]
    verdict = "PASS" if ratios["within_target"] else "FAIL"
    lines += [
        "",
        *ingest_ratio_lines(ing),
        "",
        "ratios (time of the first / time of the second; wall = perf_counter, CPU = process_time):",
        f"  kizuna / SatrecArray, TEME, best of {reps}: wall {ratios['kizuna_over_satrecarray']:.3f}"
        f"  (target <= {ratios['target_max']:.2f}: {verdict}), CPU "
        f"{ratios['kizuna_over_satrecarray_cpu']:.3f}",
    ]
    if ratios["skyfield_over_kizuna_teme"] is not None:
        lines += [
            f"  Skyfield (extrapolated) / kizuna TEME: wall {ratios['skyfield_over_kizuna_teme']:.2f}, "
            f"CPU {ratios['skyfield_over_kizuna_teme_cpu']:.2f};  / kizuna GCRS (like for like): "
            f"wall {ratios['skyfield_over_kizuna_gcrs']:.2f}, CPU {ratios['skyfield_over_kizuna_gcrs_cpu']:.2f}"
        ]
    lines += [
        f"  kizuna ITRF / TEME: wall {ratios['itrf_over_teme']:.2f}, CPU {ratios['itrf_over_teme_cpu']:.2f};"
        f"  GCRS / TEME: wall {ratios['gcrs_over_teme']:.2f}, CPU {ratios['gcrs_over_teme_cpu']:.2f}"
        f"  (EOP table load, once per process, {prop['eop_load_s']:.2f} s, not included)",
        f"  naive full array / streaming peak RSS = {mem['naive_over_peak']:.1f}",
        "",
        "agreement kizuna vs SatrecArray (TEME, same jd/fr):",
    ]
    by_field = ", ".join(f"{f} {c}" for f, c in cw["element_mismatches_by_field"].items() if c) or "none"
    lines += [
        f"  Satrec init, all {cw['objects']:,} objects: {cw['norad_id_mismatches']} id mismatches; "
        f"epoch differs for {cw['epoch_offset_nonzero']:,} (max {cw['epoch_offset_max_abs_us']:.3f} us); "
        f"elements differ for {cw['element_mismatches']:,} ({by_field}; max relative "
        f"{cw['element_max_relative_diff']:.1e})",
        f"  states of {ag['objects_compared']} objects ({ag['states_compared']:,} states): max |dr| "
        f"{ag['max_position_diff_mm']:.2e} mm, max |dv| {ag['max_velocity_diff_mm_s']:.2e} mm/s, "
        f"{ag['objects_with_nonzero_diff']} objects not bit-identical, error codes equal: "
        f"{ag['error_codes_equal']}",
    ]
    for x in ag["objects"][:4]:
        dr = x["max_position_diff_mm"]
        lines.append(
            f"    largest: {x['norad_id']:>6} {str(x['name'])[:24]:<24} max |dr| "
            + (f"{dr:.2e} mm" if dr is not None else "n/a (no good step)")
            + f", epoch offset {x['epoch_offset_us']:+.3f} us"
        )
    lines.append(f"  tolerance |dr| < {ag['tolerance_mm']:.0f} mm: {'PASS' if ag['pass'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="interleaved runs of kizuna and SatrecArray")
    ap.add_argument("--skyfield-sample", type=int, default=500, help="satellites Skyfield propagates")
    ap.add_argument("--seed", type=int, default=20220715, help="seed of the random samples")
    ap.add_argument("--output", type=Path, default=None, help=f"JSON results file (default {RESULTS_REL})")
    ap.add_argument("--ingest-rounds", type=int, default=3, help="interleaved rounds of floor, load, reload")
    ap.add_argument(
        "--ingest-only",
        action="store_true",
        help="measure the ingest (section 1) only; writes JSON only when --output is given",
    )
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.skyfield_sample < 2 or args.ingest_rounds < 1:
        ap.error("--repeats and --ingest-rounds must be >= 1 and --skyfield-sample >= 2")

    if not SHARED_DATA.is_dir() or not CATALOG.is_file():
        print(f"benchmark skipped: {CATALOG_REL} is not present (needs ../shared/data)")
        return 0
    started = time.perf_counter()
    info = machine_info()
    source = git_state()  # the code this run measures
    err.print(f"kizuna catalog benchmark on {info['cpus']} CPUs ({info['cpu_model']})")
    tle_lines = read_3le_lines(CATALOG)
    if args.ingest_only:
        return ingest_only(args, info, source, len(tle_lines), started)
    output = args.output or RESULTS

    # Memory first, while this process is small (see bench_memory).
    from kizuna.orbit import time_grid

    err.print("memory: peak RSS of a child process streaming the catalog")
    mem = bench_memory(len(tle_lines), len(time_grid(START_UTC, STOP_UTC, STEP_S)))
    err.print("ingest")
    ingest, element_sets = bench_ingest(len(tle_lines), args.ingest_rounds)
    if len(element_sets) != len(tle_lines):
        print(f"benchmark aborted: kizuna read {len(element_sets)} sets, the file has {len(tle_lines)}")
        return 1
    prop = bench_propagation(element_sets, tle_lines, args.repeats, args.skyfield_sample, args.seed)
    result = {
        "benchmark": "kizuna full-catalog ingest, propagation and memory",
        "generated_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": info,
        "versions": versions(),
        "source": source,
        "input": {"file": CATALOG_REL, "element_sets": len(element_sets)},
        "ingest": ingest,
        "propagation": prop,
        "memory": mem,
        "total_runtime_s": time.perf_counter() - started,
    }
    info["load_average_at_end"] = _loadavg()
    text = table(result)
    header = (
        f"kizuna catalog benchmark: {len(element_sets):,} element sets, "
        f"{prop['times']} times ({STEP_S:.0f} s over 24 h), "
        f"{info['cpus']} CPUs, Python {info['python']}, sgp4 {result['versions']['sgp4']}"
        f"{' (C++)' if result['versions']['sgp4_accelerated'] else ' (pure Python)'}"
    )
    print(header)
    print(
        f"load average (1/5/15 min) at start {info['load_average_at_start']}, at end "
        f"{info['load_average_at_end']}: other work on the machine slows every row"
    )
    print(text)
    print(
        f"\ntotal benchmark run time {result['total_runtime_s']:.0f} s; JSON: "
        f"{os.path.relpath(output, Path.cwd())}"
    )
    _write_json(output, result)
    return 0


def _write_json(output: Path, result: dict[str, object]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    os.replace(tmp, output)


def ingest_only(
    args: argparse.Namespace, info: dict[str, object], source: dict[str, object], n_sets: int, started: float
) -> int:
    """Section 1 alone: the floors, loads and reloads, their table and ratios."""
    ingest, _ = bench_ingest(n_sets, args.ingest_rounds)
    info["load_average_at_end"] = _loadavg()
    print(
        f"kizuna catalog ingest: {n_sets:,} element sets, {info['cpus']} CPUs, Python {info['python']}; "
        f"load average (1/5/15 min) at start {info['load_average_at_start']}, "
        f"at end {info['load_average_at_end']}"
    )
    p = ingest["parse_only"]
    parse_row = (
        "ingest  parse only (read_path)",
        f"{p['records']:,} sets",
        f"{p['seconds']:.2f}",
        f"{p['cpu_s']:.2f}",
        _fmt_rate(p["records_per_s"], "sets"),
        f"{p['issues']} issues",
    )
    print("\n".join([*_format_table([parse_row, *ingest_rows(ingest)]), "", *ingest_ratio_lines(ingest)]))
    if args.output is not None:
        _write_json(
            args.output,
            {
                "benchmark": "kizuna full-catalog ingest against its floors",
                "generated_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "machine": info,
                "versions": versions(),
                "source": source,
                "input": {"file": CATALOG_REL, "element_sets": n_sets},
                "ingest": ingest,
                "total_runtime_s": time.perf_counter() - started,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
