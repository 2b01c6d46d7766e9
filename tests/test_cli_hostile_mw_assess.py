"""Hostile values for every option of `kizuna mw sensors` and `kizuna mw assess`.

Each row is a command line valid except for one option and a fragment the one-line refusal must
contain: exit 2, one `error:` line, no traceback, nothing on stdout (tests/cli_harness.refused).
Every refusal comes before any trajectory is flown (the rows run in well under a second each).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.cli_harness import MALFORMED_TIMES, invoke, refused

SENSORS = ["mw", "sensors"]
ASSESS = ["mw", "assess", "--threats", "nk-irbm-tokyo", "--architecture", "geo"]
BAD_NUMBERS = ("nan", "inf", "-inf")


def _numbers(option: str, values: tuple[str, ...]) -> list[tuple[list[str], str]]:
    rows = [(ASSESS + [option, v], f"{option} {v}: must be a finite number") for v in BAD_NUMBERS]
    rows += [(ASSESS + [option, v], f"{option} {float(v):g}: must be") for v in values]
    rows.append((ASSESS + [option, "abc"], option))
    return rows


def _drop(args: list[str], option: str) -> list[str]:
    i = args.index(option)
    return args[:i] + args[i + 2 :]


ROWS: list[tuple[list[str], str]] = [
    # ---------------------------------------------------------------- mw sensors
    (SENSORS + ["--architecture", "nope"], "--architecture 'nope': no such architecture"),
    (SENSORS + ["--architecture", ""], "--architecture '': give at least one"),
    (SENSORS + ["--architecture", ","], "give at least one"),
    (SENSORS + ["-f", "xml"], "--format 'xml': use one of"),
    # ---------------------------------------------------------------- mw assess
    (["mw", "assess", "--architecture", "geo"], "--threats"),
    (["mw", "assess", "--threats", "nk-irbm-tokyo"], "--architecture"),
    (_drop(ASSESS, "--threats") + ["--threats", "nope"], "--threats 'nope': no such threat scenario"),
    (_drop(ASSESS, "--threats") + ["--threats", ""], "--threats '': give at least one"),
    (_drop(ASSESS, "--threats") + ["--threats", "nk-irbm-tokyo,nk-irbm-tokyo"], "named twice"),
    (_drop(ASSESS, "--threats") + ["--threats", "nk-irbm-tokyo,../x"], "--threats '../x'"),
    (_drop(ASSESS, "--architecture") + ["--architecture", "nope"], "--architecture 'nope': no such"),
    (_drop(ASSESS, "--architecture") + ["--architecture", ""], "--architecture '': give at least one"),
    (_drop(ASSESS, "--architecture") + ["--architecture", "geo,geo"], "named twice"),
    (ASSESS + ["--launches", "0"], "--launches 0: must be at least 1"),
    (ASSESS + ["--launches", "-5"], "--launches -5"),
    (ASSESS + ["--launches", "100001"], "--launches 100001"),
    (ASSESS + ["--launches", "1e3"], "--launches"),
    (ASSESS + ["--launches", "abc"], "--launches"),
    (ASSESS + ["--seed", "-1"], "--seed -1"),
    (ASSESS + ["--seed", str(2**33)], f"--seed {2**33}"),
    (ASSESS + ["--seed", "abc"], "--seed"),
    *[(ASSESS + ["--start", t], "--start") for t in MALFORMED_TIMES],
    (ASSESS + ["--start", "2199-12-31T23:00:00Z"], "--start 2199-12-31T23:00:00Z: the launch window leaves"),
    *_numbers("--window-hours", ("-1", "1e9")),
    *_numbers("--azimuth-spread-deg", ("-1", "46", "1e300")),
    *_numbers("--step-s", ("0", "-1", "0.1", "31")),
    (ASSESS + ["-f", "xml"], "--format 'xml': use one of"),
    (ASSESS + ["--plot", "{tmp}/no/such/dir/a.png"], "does not exist"),
    (ASSESS + ["--plot", "{existing}/a.png"], "does not exist"),
    (ASSESS + ["--plot", "{adir}"], "--plot {adir}: is a directory"),
    (ASSESS + ["--plot", "{existing}"], "--plot {existing}: exists (use --force"),
    (ASSESS + ["--plot", "{ro_dir}/a.png"], "not writable"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_mw")
    existing = tmp / "existing.txt"
    existing.write_text("x")
    adir = tmp / "adir"
    adir.mkdir()
    ro_dir = tmp / "ro_dir"
    ro_dir.mkdir()
    ro_dir.chmod(0o500)
    return {"tmp": str(tmp), "existing": str(existing), "adir": str(adir), "ro_dir": str(ro_dir)}


def _id(row: tuple[list[str], str]) -> str:
    return " ".join(a.replace("{", "").replace("}", "") for a in row[0])[:90]


@pytest.mark.parametrize("row", ROWS, ids=[_id(r) for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    if "{ro_dir}" in " ".join(args) and os.geteuid() == 0:
        pytest.skip("permission bits do not bind root")
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_rows():
    """Each option of both commands appears in at least one refused row."""
    import typer

    from kizuna.cli import app

    group = typer.main.get_command(app).commands["mw"]  # type: ignore[attr-defined]
    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for name in ("sensors", "assess"):
        for param in group.commands[name].params:
            if "--force" in param.opts:
                continue  # --force only lifts the refusal of an existing --plot
            assert set(param.opts) & seen, f"no hostile row for mw {name} {param.opts[0]}"


def test_sensors_json_carries_sources_and_parameters():
    result = invoke(["mw", "sensors", "--architecture", "geo-leo", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["parameters"]["architecture"] == "geo-leo"
    assert doc["shown"] == doc["total"] == 3
    assert all(row["source"] for row in doc["sensors"])
    assert {row["sensor"]: row["count"] for row in doc["sensors"]}["leo-tracking"] == 28


def test_assess_runs_and_writes_csv_and_plot(tmp_path: Path):
    """One small Monte Carlo end to end (two launches, two architectures)."""
    png = tmp_path / "mw.png"
    args = ["mw", "assess", "--threats", "nk-irbm-tokyo", "--architecture", "geo,japan-radars"]
    result = invoke(["-q", *args, "--launches", "2", "-f", "csv", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("threat,architecture,launches")
    assert len(lines) == 3
    assert png.stat().st_size > 10_000
