"""Hostile values for `kizuna screen --workers` (and its pairing with --scheduler).

Each row runs through `cli_harness.refused`: exit 2, one `error:` line, no traceback, nothing on
stdout, and the refusal comes before any screening (a refused run must be quick).
"""

from __future__ import annotations

import pytest
from tests.cli_harness import NOT_A_NUMBER, invoke, refused

from kizuna.cli.sda import max_workers
from kizuna.demo import sample_files

SCREEN = ["screen", "--owner", "JPN", "--days", "0.1", "--db", "{db}"]

HOSTILE = [
    *[([*SCREEN, f"--workers={v}"], "--workers") for v in ("0", "-1", "-999", str(10**9), str(2**63))],
    # typer's own conversion refuses these; still one line through the root group
    *[([*SCREEN, f"--workers={v}"], "--workers") for v in (*NOT_A_NUMBER, "x", "1.5", "2e3", "0x10", "two")],
    ([*SCREEN, f"--workers={max_workers() + 1}"], "--workers"),
    ([*SCREEN, "--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "--workers"),
    ([*SCREEN, "--workers", "2", "--scheduler", "nowhere"], "--scheduler"),
    ([*SCREEN, "--scheduler", "tcp:/127.0.0.1"], "--scheduler"),
    ([*SCREEN, "--scheduler", ""], "--scheduler"),
]


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("workers")
    db = root / "k.db"
    loaded = invoke(["-q", "catalog", "load", *map(str, sample_files()), "--db", str(db)])
    assert loaded.exit_code == 0, loaded.output
    return {"db": str(db)}


@pytest.mark.parametrize(("args", "fragment"), HOSTILE, ids=[" ".join(a[7:]) for a, _ in HOSTILE])
def test_hostile_workers_value_is_refused_in_one_line(paths, args, fragment):
    refused([a.format(**paths) for a in args], contains=fragment)


def test_unreachable_scheduler_is_one_line(paths, monkeypatch):
    """Port 9 (discard) on loopback has no Dask scheduler: one line naming the address, exit 2."""
    monkeypatch.setattr("kizuna.ops.screening.CONNECT_TIMEOUT_S", 1.0)
    refused(
        [a.format(**paths) for a in SCREEN] + ["--scheduler", "tcp://127.0.0.1:9"], contains="127.0.0.1:9"
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_good_workers_values_are_accepted(paths, workers):
    res = invoke([a.format(**paths) for a in SCREEN] + ["--workers", workers, "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("primary,primary_name,secondary")
