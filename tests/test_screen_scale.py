"""Screening past one process: streamed output, local worker processes, a real Dask cluster.

References: the streamed JSON and CSV are byte for byte what the whole-document writers of
kizuna.cli._common print (the format users already parse); every parallel run gives the events
of the single-process `screen()`, event for event.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.cli_harness import invoke
from tests.conftest import SAMPLE

from kizuna.cli._common import Column, emit_rows, print_json
from kizuna.cli.sda import EVENT_COLUMNS, EventRows, stream_csv, stream_json
from kizuna.demo import sample_files
from kizuna.formats.detect import read_path
from kizuna.sda import screen
from kizuna.sda.scaleout import screen_local


def _key(result):
    return [(e.primary, e.secondary, e.tca_utc, round(e.miss_km, 9)) for e in result.events]


@pytest.fixture(scope="module")
def leo():
    sets = read_path(SAMPLE / "leo_2026-06_sample.3le").records[:250]
    start = max(e.epoch_utc for e in sets).replace(minute=0, second=0, microsecond=0)
    return sets, start, start + timedelta(hours=6)


@pytest.fixture(scope="module")
def single(leo):
    sets, start, stop = leo
    res = screen(sets, start, stop, threshold_km=40.0)
    assert len(res.events) > 3  # enough to tell a lost or doubled event
    return res


# ---------------------------------------------------------------- streamed output
HEADS = [
    {
        "parameters": {
            "a": 1,
            "nested": {"x": [1, 2.5, None], "e": {}, "l": []},
            "t": datetime(2026, 1, 1, tzinfo=UTC),
        }
    },
    {"parameters": {}, "shown": 0, "total": 0},
]
ROWS = [
    [],
    [{"v": 1.0, "nan": math.nan, "inf": -math.inf, "s": 'q"uote\nline', "list": [1, [2, 3]], "none": None}],
    [{"i": i, "d": {"k": [i, i / 3]}} for i in range(3)],
]


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("rows", ROWS)
def test_streamed_json_is_byte_identical_to_the_whole_document(head, rows):
    tail = {"problems": [{"norad_id": 1, "reason": "stale"}], "objects": 3, "empty": []}
    whole, streamed = io.StringIO(), io.StringIO()
    print_json({**head, "events": rows, **tail}, whole)
    stream_json(head, "events", iter(rows), tail, streamed)
    assert streamed.getvalue() == whole.getvalue()


def test_streamed_csv_is_byte_identical_to_emit_rows(single):
    rows = EventRows(single.events)
    whole, streamed = io.StringIO(), io.StringIO()
    emit_rows([e.as_dict() for e in single.events], EVENT_COLUMNS, "csv", title="", sink=whole)
    stream_csv(rows, EVENT_COLUMNS, streamed)
    assert streamed.getvalue() == whole.getvalue()
    odd = [{"a": math.nan, "b": datetime(2026, 1, 1, tzinfo=UTC)}, {"a": "x,y", "b": None}]
    cols = (Column("a", "a"), Column("b", "b"))
    whole, streamed = io.StringIO(), io.StringIO()
    emit_rows(odd, cols, "csv", title="", sink=whole)
    stream_csv(odd, cols, streamed)
    assert streamed.getvalue() == whole.getvalue()


def test_cli_json_is_what_the_whole_document_writer_prints(tmp_path):
    """The command's JSON re-printed by print_json is the same bytes: same layout as before."""
    db = str(tmp_path / "k.db")
    assert invoke(["-q", "catalog", "load", *map(str, sample_files()), "--db", db]).exit_code == 0
    res = invoke(
        ["screen", "--owner", "JPN", "--days", "0.5", "--threshold-km", "60", "-f", "json", "--db", db]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["events"] and doc["parameters"]["workers"] == 1  # small: screened in this process
    again = io.StringIO()
    print_json(doc, again)
    assert res.stdout == again.getvalue()


# ---------------------------------------------------------------- local processes
def test_local_processes_equal_single_process_with_progress_per_block(leo, single):
    sets, start, stop = leo
    calls: list[tuple[int, int]] = []
    par = screen_local(
        sets, start, stop, threshold_km=40.0, workers=2, progress=lambda d, t: calls.append((d, t))
    )
    assert _key(par) == _key(single)
    assert [p.norad_id for p in par.problems] == [p.norad_id for p in single.problems]
    total = calls[-1][1]
    # 2 workers x 4 blocks, one report per finished block, ending at every step done
    assert len(calls) == 8 and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_local_workers_refuses_zero(leo):
    sets, start, stop = leo
    with pytest.raises(ValueError, match="at least 1"):
        screen_local(sets, start, stop, workers=0)


# ---------------------------------------------------------------- a real Dask cluster
def _dask_cli() -> Path:
    exe = Path(sys.executable).parent / "dask"
    if not exe.exists():
        found = shutil.which("dask")
        if found is None:
            pytest.skip("the `dask` command (package distributed) is not installed")
        exe = Path(found)
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_workers(address: str, n: int, timeout_s: float = 60.0) -> None:
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=timeout_s)


def test_dask_cluster_of_separate_processes_equals_single_process(leo, single, tmp_path):
    """`dask scheduler` and two `dask worker tcp://...` processes on loopback, as the docs start them."""
    pytest.importorskip("distributed")
    from distributed import Client, get_task_stream

    from kizuna.sda.scaleout import screen_dask

    dask = _dask_cli()
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port), *common],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [str(dask), "worker", address, "--nthreads", "1", "--host", "127.0.0.1", *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    cwd=tmp_path,
                )
            )
        _wait_for_workers(address, 2)
        sets, start, stop = leo
        calls: list[tuple[int, int]] = []
        t0 = time.monotonic()
        with Client(address) as client, get_task_stream(client) as stream:
            assert len(client.nthreads()) == 2
            par = screen_dask(
                client, sets, start, stop, threshold_km=40.0, progress=lambda d, t: calls.append((d, t))
            )
        ran_on = {t["worker"] for t in stream.data if "screen_partition" in str(t["key"])}
        assert time.monotonic() - t0 < 60
        assert _key(par) == _key(single)
        assert [p.norad_id for p in par.problems] == [p.norad_id for p in single.problems]
        assert calls[-1][0] == calls[-1][1] and len(calls) == 8  # 4 blocks per worker thread
        assert len(ran_on) == 2  # both worker processes screened blocks
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_default_workers_use_every_core_only_when_the_work_pays(monkeypatch):
    from kizuna.ops import screening as ops

    monkeypatch.setattr(ops.os, "cpu_count", lambda: 4)
    auto = ops.ScreeningRequest(all_vs_all=True, workers=None)
    per = ops.OBJECT_STEPS_PER_WORKER
    assert ops.local_workers(auto, 300, 1441) == 1  # the bundled sample, one day: in-process
    assert ops.local_workers(auto, 24_000, 1441) == 4  # the full catalog, one day: every core
    assert ops.local_workers(auto, 2 * per // 1441 + 1, 1441) == 2
    assert ops.local_workers(ops.ScreeningRequest(all_vs_all=True, workers=3), 24_000, 1441) == 3
    assert (
        ops.local_workers(ops.ScreeningRequest(all_vs_all=True, workers=None, scheduler="local"), 10, 10) == 4
    )
    with pytest.raises(ops.ScreeningRequestError, match="at least 1"):
        ops.ScreeningRequest(all_vs_all=True, workers=0)
    with pytest.raises(ops.ScreeningRequestError, match="scheduler"):
        ops.ScreeningRequest(all_vs_all=True, scheduler="nowhere")
