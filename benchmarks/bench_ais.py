"""AIS end to end: `ais load` + `ais events` against a bare pyais decode loop over the same lines.

For each input the same lines are timed three ways in one run (best of --repeats):

- floor: a bare pyais loop, ``for msg in pyais.stream.IterMessages(lines): msg.decode()``;
- kizuna on SQLite: ``AisStore.load_file`` into a fresh database (decode, validate, bulk insert),
  then what ``kizuna ais events`` runs: ``positions()``, ``clean_tracks``, ``detect_events`` with
  the GLOBE land mask (the memory-mapped cache, built beforehand and timed separately);
- the same on PostgreSQL (fresh schema) when it answers at $KIZUNA_BENCH_PG or
  postgresql://postgres@127.0.0.1:5432/test;
- and on each store what ``kizuna ais events --load`` runs (keys ``*_events_load``): the same load
  keeping the stored positions, which the events pass takes from memory
  (``AisStore.loaded_positions``) instead of reading them back. Every run must find the same
  positions and events.

``load_s`` includes opening the fresh database (schema creation, ``store_open_s``, a fixed cost
reported on its own); a second ratio leaves it out.

The ratio is the floor's time over kizuna's (above 1: load + events beat a bare decode), for
the two commands together and for each alone (``load_ratio_*``, ``events_ratio_*``), by wall
time and by this process's CPU time.

Inputs: the largest NMEA file under ../shared/data/ais/ (timed by its own $GPRMC/$GPZDA
sentences), and a SYNTHETIC file of --messages type 1 reports (default 1,000,000; 2,000 vessels
steaming on straight tracks with NMEA 4.0 tag-block times, encoded here with numpy and checked
against pyais on a sample; written to a temporary directory, never committed).

Run: .venv/bin/python benchmarks/bench_ais.py [--quick]. Writes benchmarks/results/ais.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED_AIS = ROOT.parent / "shared" / "data" / "ais"
PG_URL = os.environ.get("KIZUNA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
NMEA_SUFFIXES = (".log", ".txt", ".aivdm", ".nmea", ".ais")
ARMOR = np.frombuffer(b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw", np.uint8)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def largest_nmea() -> Path | None:
    cands = [p for p in SHARED_AIS.rglob("*") if p.is_file() and p.suffix in NMEA_SUFFIXES]
    return max(cands, key=lambda p: p.stat().st_size) if cands else None


# ---------------------------------------------------------------- synthetic input
def _bits(values: np.ndarray, width: int) -> np.ndarray:
    v = values.astype(np.int64) & ((1 << width) - 1)
    return ((v[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8)


def synthetic_lines(n: int, vessels: int = 2000, seed: int = 16) -> list[bytes]:
    """``n`` single-sentence type 1 reports with tag-block times, 10 s apart per vessel."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    v = k % vessels
    step = k // vessels
    mmsi = 200_000_000 + v * 37
    lat0 = rng.uniform(-50, 50, vessels)
    lon0 = rng.uniform(-170, 170, vessels)
    course = rng.uniform(0, 360, vessels)
    sog = rng.uniform(5, 15, vessels)
    dist_deg = sog[v] * 1852 / 111_195 * 10 * step / 3600
    lat = lat0[v] + dist_deg * np.cos(np.radians(course[v]))
    lon = lon0[v] + dist_deg * np.sin(np.radians(course[v])) / np.cos(np.radians(lat0[v]))
    t_unix = 1_772_323_200 + step * 10 + (v % 10)
    fields = [
        (np.ones(n), 6),
        (np.zeros(n), 2),
        (mmsi, 30),
        (np.zeros(n), 4),
        (np.full(n, -128), 8),
        (np.round(sog[v] * 10), 10),
        (np.ones(n), 1),
        (np.round(lon * 600_000), 28),
        (np.round(lat * 600_000), 27),
        (np.round(course[v] * 10), 12),
        (np.round(course[v]) % 360, 9),
        (t_unix % 60, 6),
        (np.zeros(n), 2),
        (np.zeros(n), 3),
        (np.zeros(n), 1),
        (np.zeros(n), 19),
    ]
    bits = np.hstack([_bits(np.asarray(a), w) for a, w in fields])  # (n, 168)
    sixes = bits.reshape(n, 28, 6) @ np.array([32, 16, 8, 4, 2, 1], np.uint8)
    payload = ARMOR[sixes]  # (n, 28) ascii
    head = np.frombuffer(b"AIVDM,1,1,,A,", np.uint8)
    tail = np.frombuffer(b",0", np.uint8)
    body = np.hstack([np.tile(head, (n, 1)), payload, np.tile(tail, (n, 1))])
    check = np.bitwise_xor.reduce(body, axis=1)
    tag_body = np.array([f"c:{t}".encode() for t in t_unix.tolist()])
    tag_arr = np.frombuffer(tag_body.tobytes(), np.uint8).reshape(n, -1)
    tag_check = np.bitwise_xor.reduce(tag_arr, axis=1)
    hexd = np.frombuffer(b"0123456789ABCDEF", np.uint8)
    lines = np.hstack(
        [
            np.full((n, 1), ord("\\"), np.uint8),
            tag_arr,
            np.full((n, 1), ord("*"), np.uint8),
            hexd[tag_check >> 4][:, None],
            hexd[tag_check & 15][:, None],
            np.frombuffer(b"\\!", np.uint8)[None, :].repeat(n, 0),
            body,
            np.full((n, 1), ord("*"), np.uint8),
            hexd[check >> 4][:, None],
            hexd[check & 15][:, None],
        ]
    )
    return [bytes(r) for r in lines]


def check_synthetic(lines: list[bytes]) -> None:
    """The generator against pyais: every sampled line decodes to the type 1 report it encodes."""
    from pyais.stream import IterMessages

    sample = lines[:: max(1, len(lines) // 500)]
    msgs = [m.decode() for m in IterMessages(sample)]
    assert len(msgs) == len(sample) and all(m.msg_type == 1 for m in msgs)
    assert msgs[0].mmsi == 200_000_000 and abs(msgs[0].speed) > 0


# ---------------------------------------------------------------- runs
def floor_loop(lines: list[bytes]) -> int:
    from pyais.stream import IterMessages

    n = 0
    for msg in IterMessages(lines):
        try:
            msg.decode()
            n += 1
        except Exception:  # noqa: BLE001 - the floor loop skips what it cannot decode
            pass
    return n


def kizuna_run(path: Path, url: str, combined: bool) -> dict[str, object]:
    """``combined``: ``ais events --load`` (the load keeps the stored positions for the events
    pass, which takes them from memory); else ``ais load`` then ``ais events`` (read back)."""
    from kizuna.maritime.events import detect_events
    from kizuna.maritime.shore import default_shore
    from kizuna.maritime.tracks import clean_tracks
    from kizuna.store import CatalogStore
    from kizuna.store.ais_store import AisLoadSummary, AisStore

    c0 = time.process_time()
    t0 = time.perf_counter()
    store = CatalogStore(url)
    ais = AisStore(store)
    t_open = time.perf_counter()
    server = _ServerCpu(store.engine) if store.engine.dialect.name == "postgresql" else None
    summary = ais.load_file(path, AisLoadSummary(kept=ais.keep_positions() if combined else None))
    t1 = time.perf_counter()
    c1 = time.process_time()
    pos = ais.loaded_positions(summary) if combined else ais.positions()
    handed_over = combined and summary.kept is not None and summary.kept.valid
    c_read = time.process_time()
    tracks = clean_tracks(pos)
    c_clean = time.process_time()
    events = detect_events(tracks, shore=default_shore())
    t2 = time.perf_counter()
    c2 = time.process_time()
    server_cpu_s = server.seconds() if server is not None else None
    store.close()
    return {
        # this process only: PostgreSQL's own server CPU is in server_cpu_s
        "total_cpu_s": c2 - c0,
        "server_cpu_s": server_cpu_s,
        "cpu_s": {
            "load": c1 - c0,
            "positions_read_back": c_read - c1,
            "clean_tracks": c_clean - c_read,
            "detect_events": c2 - c_clean,
        },
        "store_open_s": t_open - t0,
        "load_s": t1 - t0,
        "events_s": t2 - t1,
        "total_s": t2 - t0,
        "positions_loaded": summary.positions_loaded,
        "positions_from": "load" if handed_over else "store",
        "positions": len(pos),
        "events": len(events),
    }


class _ServerCpu:
    """CPU time of the PostgreSQL server processes that serve this engine's connections, from
    /proc (the server runs on this machine), counted from each connection's first use after the
    store is open (the schema creation is not in it). The server's background writers are not in
    it either. None when /proc does not show them."""

    def __init__(self, engine: object) -> None:
        from sqlalchemy import event

        self.start: dict[int, float | None] = {}

        @event.listens_for(engine, "checkout")
        def _seen(dbapi_conn, _record, _proxy) -> None:  # noqa: ANN001
            pid = dbapi_conn.info.backend_pid
            if pid not in self.start:
                self.start[pid] = self._cpu(pid)

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def seconds(self) -> float | None:
        total = 0.0
        for pid, start in self.start.items():
            end = self._cpu(pid)
            if start is None or end is None:
                return None
            total += end - start
        return total


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


def bench_input(label: str, path: Path, lines: list[bytes], repeats: int, pg: bool) -> dict[str, object]:
    load_before = [round(x, 2) for x in os.getloadavg()]
    best: dict[str, float] = {}
    # "<store>": `ais load` then `ais events`; "<store>_events_load": `ais events --load`
    runs: dict[str, list[dict[str, object]]] = {
        "sqlite": [],
        "sqlite_events_load": [],
        "postgresql": [],
        "postgresql_events_load": [],
    }
    n_floor = 0
    for r in range(repeats):
        t = time.perf_counter()
        c = time.process_time()
        n_floor = floor_loop(lines)
        best["floor"] = min(best.get("floor", np.inf), time.perf_counter() - t)
        best["floor_cpu"] = min(best.get("floor_cpu", np.inf), time.process_time() - c)
        log(f"{label}: pyais loop {time.perf_counter() - t:.2f} s ({n_floor} messages)")
        # the two paths alternate in order from one repeat to the next
        for combined in (r % 2 == 1, r % 2 == 0):
            key = "_events_load" if combined else ""
            with tempfile.TemporaryDirectory() as tmp:
                res = kizuna_run(path, str(Path(tmp) / f"b{r}.db"), combined)
            runs[f"sqlite{key}"].append(res)
            log(
                f"{label}: kizuna SQLite{key} load {res['load_s']:.2f} s + events {res['events_s']:.2f} s"
                f" (CPU {res['total_cpu_s']:.2f} s)"
            )
            if pg:
                import psycopg

                schema = f"bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
                try:
                    res = kizuna_run(path, f"{PG_URL}?options=-csearch_path%3D{schema}", combined)
                finally:
                    with psycopg.connect(PG_URL, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
                runs[f"postgresql{key}"].append(res)
                log(
                    f"{label}: kizuna PostgreSQL{key} load {res['load_s']:.2f} s + events"
                    f" {res['events_s']:.2f} s (CPU {res['total_cpu_s']:.2f} s + server {res['server_cpu_s']})"
                )
    counts = {(int(x["events"]), int(x["positions"])) for rs in runs.values() for x in rs}  # type: ignore[call-overload]
    assert len(counts) == 1, f"the runs disagree on events or positions: {counts}"
    out: dict[str, object] = {
        "file": str(path.relative_to(ROOT.parent)) if path.is_relative_to(ROOT.parent) else path.name,
        "lines": len(lines),
        "pyais_loop_messages": n_floor,
        "pyais_loop_s": round(best["floor"], 3),
        "pyais_loop_msgs_per_s": round(n_floor / best["floor"]),
        "pyais_loop_cpu_s": round(best["floor_cpu"], 3),
        # the machine is shared: its 1, 5 and 15 minute load averages around the runs
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    for db, rs in runs.items():
        if not rs:
            continue
        b = min(rs, key=lambda x: float(x["total_s"]))  # type: ignore[arg-type]
        total = float(b["total_s"])  # type: ignore[arg-type]
        open_s = float(b["store_open_s"])  # type: ignore[arg-type]
        out[db] = {
            "store_open_s": round(open_s, 3),
            "load_s": round(float(b["load_s"]), 3),  # type: ignore[arg-type]
            "events_s": round(float(b["events_s"]), 3),  # type: ignore[arg-type]
            "total_s": round(total, 3),
            "msgs_per_s": round(n_floor / total),
            "ratio_vs_pyais_loop": round(best["floor"] / total, 3),
            # each command on its own against the same loop: `ais load`, then `ais events`
            "load_ratio_vs_pyais_loop": round(best["floor"] / float(b["load_s"]), 3),  # type: ignore[arg-type]
            "events_ratio_vs_pyais_loop": round(best["floor"] / float(b["events_s"]), 3),  # type: ignore[arg-type]
            "load_cpu_ratio_vs_pyais_loop": round(best["floor_cpu"] / b["cpu_s"]["load"], 3),  # type: ignore[index]
            "events_cpu_ratio_vs_pyais_loop": round(
                best["floor_cpu"] / (float(b["total_cpu_s"]) - b["cpu_s"]["load"]),  # type: ignore[arg-type, index]
                3,
            ),
            "total_cpu_s": round(float(b["total_cpu_s"]), 3),  # type: ignore[arg-type]
            "cpu_s": {k: round(v, 3) for k, v in b["cpu_s"].items()},  # type: ignore[attr-defined]
            # CPU time of this process (the machine is shared): the same ratio, less noisy
            "cpu_ratio_vs_pyais_loop": round(best["floor_cpu"] / float(b["total_cpu_s"]), 3),  # type: ignore[arg-type]
            # PostgreSQL: the server's CPU for these connections, and the ratio counting it too
            "server_cpu_s": None if b["server_cpu_s"] is None else round(float(b["server_cpu_s"]), 3),  # type: ignore[arg-type]
            "cpu_ratio_with_server_vs_pyais_loop": None
            if b["server_cpu_s"] is None
            else round(best["floor_cpu"] / (float(b["total_cpu_s"]) + float(b["server_cpu_s"])), 3),  # type: ignore[arg-type]
            # a fresh database's schema creation is a fixed cost that swamps a small file
            "ratio_vs_pyais_loop_excluding_store_open": round(best["floor"] / (total - open_s), 3),
            "positions_loaded": b["positions_loaded"],
            "positions_from": b["positions_from"],
            "events": b["events"],
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="100,000 synthetic messages, one repeat")
    ap.add_argument("--no-shared", action="store_true", help="skip the largest shared file")
    ap.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "ais.json")
    args = ap.parse_args()
    if args.quick:
        args.messages, args.repeats = 100_000, 1
    sys.path.insert(0, str(ROOT / "src"))
    from kizuna.maritime.shore import preload

    t = time.perf_counter()
    preload()  # the land-mask cache: built on the first run on a machine, memory-mapped after
    mask_s = time.perf_counter() - t
    pg = _pg_available()
    results: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor(),
            "cores": os.cpu_count(),
        },
        "land_mask_open_s": round(mask_s, 3),
        "postgresql": pg,
    }
    real = None if args.no_shared else largest_nmea()
    if real is None:
        log("no ../shared/data/ais: the real-file row is skipped")
    else:
        lines = real.read_bytes().splitlines()
        results["largest_shared_file"] = bench_input("shared", real, lines, max(args.repeats, 3), pg)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        lines = synthetic_lines(args.messages)
        check_synthetic(lines)
        path = Path(tmp) / "synthetic.nmea"
        path.write_bytes(b"\n".join(lines) + b"\n")
        log(f"synthetic: {len(lines)} lines generated in {time.perf_counter() - t:.1f} s")
        results["synthetic"] = bench_input("synthetic", path, lines, args.repeats, pg)
        results["synthetic"]["file"] = f"SYNTHETIC {args.messages:,} type 1 reports, 2,000 vessels"  # type: ignore[index]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
