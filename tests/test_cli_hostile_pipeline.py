"""Hostile values for every option of `kizuna jobs list|show` and `kizuna pipeline run-once`, and a bad
`pipeline:` section refused by `kizuna serve` before it serves."""

from __future__ import annotations

import json

import pytest
import yaml
from tests.cli_harness import invoke, refused
from tests.pipeline_support import coalition, load_sample

from kizuna.share.loopback import free_port

ROWS: list[tuple[list[str], str]] = [
    (["jobs", "list", "--db", "{db}", "-f", "xml"], "--format 'xml': use one of"),
    (["jobs", "list", "--db", "{db}", "--state", "lost"], "--state 'lost': use one of"),
    (["jobs", "list", "--db", "{db}", "--limit", "0"], "--limit 0: must be at least 1"),
    (["jobs", "list", "--db", "{db}", "--limit", "100000"], "--limit 100000"),
    (["jobs", "list", "--db", "{tmp}/missing.db"], "--db"),
    (["jobs", "show", "nope", "--db", "{db}"], "JOB nope: no such job"),
    (["jobs", "show", "x" * 200, "--db", "{db}"], "not a job id"),
    (["jobs", "show", "nope", "--db", "{db}", "-f", "xml"], "--format 'xml': use one of"),
    (["jobs", "show", "nope", "--db", "{tmp}/missing.db"], "--db"),
    (
        ["pipeline", "run-once", "--partners", "{usa}", "--keys", "{keys}", "--db", "{db}"],
        "no `pipeline:` section",
    ),
    (
        ["pipeline", "run-once", "--partners", "{bad}", "--keys", "{keys}", "--db", "{db}"],
        "pipeline.poll_s: must be",
    ),
    (
        ["pipeline", "run-once", "--partners", "{tmp}/none.yaml", "--keys", "{keys}", "--db", "{db}"],
        "--partners",
    ),
    (["pipeline", "run-once", "--partners", "{jpn}", "--keys", "{tmp}/nokeys", "--db", "{db}"], "--keys"),
    (
        ["pipeline", "run-once", "--partners", "{jpn}", "--keys", "{keys}", "--db", "{db}", "-f", "xml"],
        "--format",
    ),
    (
        ["serve", "--partners", "{bad}", "--keys", "{keys}", "--db", "{db}", "--insecure"],
        "pipeline.poll_s: must be",
    ),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_pipeline")
    paths = coalition(tmp, {n: free_port() for n in ("JPN", "USA", "UKR")})
    db = tmp / "jpn.db"
    load_sample(str(db))
    cfg = yaml.safe_load(paths["JPN"].read_text())
    cfg["pipeline"]["poll_s"] = -1
    bad = tmp / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    return {
        "tmp": str(tmp),
        "db": str(db),
        "jpn": str(paths["JPN"]),
        "usa": str(paths["USA"]),
        "bad": str(bad),
        "keys": str(tmp / "keys"),
    }


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0])[:80] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_rows():
    import typer

    from kizuna.cli import app

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for group, name in (("jobs", "list"), ("jobs", "show"), ("pipeline", "run-once")):
        for param in commands[group].commands[name].params:
            if param.opts[0].startswith("-"):
                assert set(param.opts) & seen, f"no hostile row for {group} {name} {param.opts[0]}"


def test_run_once_then_list_and_show(files):
    result = invoke(
        [
            "pipeline",
            "run-once",
            "--partners",
            files["jpn"],
            "--keys",
            files["keys"],
            "--db",
            files["db"],
            "-f",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["jobs"] == []  # nothing has arrived
    listed = json.loads(invoke(["jobs", "list", "--db", files["db"], "-f", "json"]).stdout)
    assert listed["counts"] == {"queued": 0, "running": 0, "done": 0, "failed": 0}
