"""Hostile values for every option of `kizuna sensors passes|coverage`, `kizuna observe simulate`
and `kizuna tasking plan`, and one good run of each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_harness import invoke, refused

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "kizuna" / "data" / "sample"
LEO = str(SAMPLE / "leo_2026-06_sample.3le")
T = "2026-06-10T00:00:00Z"
PASSES = ["sensors", "passes", "--tle", LEO, "--start", T]
PLAN = ["tasking", "plan", "--tle", LEO, "--norad", "25544,11", "--start", T, "--hours", "3"]
OBS = ["observe", "simulate", "--tle", LEO, "--start", T, "--out", "{tmp}/sim"]
COVER = ["sensors", "coverage", "--tle", LEO, "--catalog", "--start", T]

ROWS: list[tuple[list[str], str]] = [
    ([*PASSES, "--norad", "25544", "--sensor", "sonar"], "--sensor 'sonar': not in the network"),
    ([*PASSES, "--norad", "25544", "--sensor", ","], "--sensor: name at least one sensor"),
    ([*PASSES, "--norad", "25544", "--sensor", "sapphire"], "--sensor: space-based sensors have no passes"),
    ([*PASSES, "--norad", "abc"], "--norad: 'abc' is not a catalog number"),
    ([*PASSES], "--norad: name objects"),
    ([*PASSES, "--norad", "25544", "--catalog"], "--catalog: give --norad or --catalog"),
    ([*PASSES, "--norad", "99999"], "--norad: no element sets"),
    (["sensors", "passes", "--tle", "{tmp}/missing.tle", "--catalog"], "--tle"),
    (["sensors", "passes", "--tle", "{tmp}", "--catalog"], "--tle"),
    (["sensors", "passes", "--tle", "{bad_tle}", "--catalog"], "--catalog: no element sets"),
    (["sensors", "passes", "--db", "{tmp}/nothing.db", "--catalog"], "--db"),
    ([*PASSES[:4], "--start", "yesterday", "--norad", "25544"], "--start"),
    ([*PASSES, "--norad", "25544", "--hours", "0"], "--hours"),
    ([*PASSES, "--norad", "25544", "--hours", "nan"], "--hours"),
    ([*PASSES, "--norad", "25544", "--hours", "1000"], "--hours"),
    ([*PASSES, "--norad", "25544", "--diameter-m", "-1"], "--diameter-m"),
    ([*PASSES, "--norad", "25544", "--diameter-m", "inf"], "--diameter-m"),
    ([*PASSES, "--norad", "25544", "--retro", "x1"], "--retro: 'x1' is not a catalog number"),
    ([*PASSES, "--norad", "25544", "--limit", "0"], "--limit"),
    ([*PASSES, "--norad", "25544", "-f", "xml"], "--format 'xml': use one of"),
    ([*PASSES, "--norad", "25544", "--sensors", "{bad_entry}"], "sensor x: kind 'sonar'"),
    ([*PASSES, "--norad", "25544", "--detectable-only", "--hours", "-3"], "--hours"),
    ([*COVER, "--networks", "JPN+XYZ"], "--networks network 'JPN+XYZ': XYZ operates no sensor"),
    ([*COVER, "--networks", ","], "--networks: name at least one network"),
    ([*COVER, "--hours", "0"], "--hours"),
    ([*COVER, "--diameter-m", "0"], "--diameter-m"),
    ([*COVER, "--retro", "-1"], "--retro"),
    ([*COVER, "--png", "{exists}"], "--png"),
    ([*COVER, "--png", "{nonempty}"], "--png {nonempty}: directory is not empty"),
    ([*COVER, "--png", "{nonempty}", "--force", "--hours", "inf"], "--hours"),
    ([*COVER, "--start", "2262-05-01T00:00:00Z"], "--start"),
    ([*COVER, "-f", "yaml"], "--format 'yaml'"),
    ([*COVER, "--sensors", "{bad_entry}"], "sensor x: kind 'sonar'"),
    (["sensors", "coverage", "--tle", LEO, "--norad", "x"], "--norad: 'x' is not a catalog number"),
    (
        ["sensors", "coverage", "--tle", LEO, "--norad", "11", "--catalog"],
        "--catalog: give --norad or --catalog",
    ),
    (["sensors", "coverage", "--db", "{tmp}/nothing.db", "--catalog"], "--db"),
    ([*OBS, "--norad", "abc"], "--norad: 'abc' is not a catalog number"),
    ([*OBS, "--norad", "99999"], "--norad: no element sets"),
    ([*OBS[:4], "--out", "{tmp}/o1"], "--norad: the --tle file holds"),
    (["observe", "simulate", "--out", "{tmp}/o2"], "--norad: name the truth object"),
    (["observe", "simulate", "--out", "{tmp}/o2", "--norad", "25544", "--db", "{tmp}/none.db"], "--db"),
    ([*OBS, "--norad", "25544", "--tle", "{tmp}/missing.tle"], "--tle"),
    ([*OBS, "--norad", "25544", "--sensor", "nope"], "--sensor 'nope'"),
    ([*OBS, "--norad", "25544", "--sensor", "sapphire"], "--sensor: space-based sensors are not simulated"),
    ([*OBS, "--norad", "25544", "--start", "1800-01-01"], "--start"),
    ([*OBS, "--norad", "25544", "--hours", "-1"], "--hours"),
    ([*OBS, "--norad", "25544", "--seed", "-1"], "--seed"),
    ([*OBS, "--norad", "25544", "--cadence-s", "0"], "--cadence-s"),
    ([*OBS, "--norad", "25544", "--cadence-s", "nan", "--biases", "--no-noise"], "--cadence-s"),
    ([*OBS, "--norad", "25544", "--diameter-m", "1e9"], "--diameter-m"),
    ([*OBS, "--norad", "25544", "--retro", "1.5"], "--retro"),
    ([*OBS, "--norad", "25544", "--format", "json"], "--format 'json'"),
    ([*OBS, "--norad", "25544", "-f", "kvn"], "--output 'kvn'"),
    ([*OBS, "--norad", "25544", "--sensors", "{bad_entry}"], "sensor x: kind 'sonar'"),
    (["observe", "simulate", "--tle", LEO, "--norad", "25544", "--out", "{exists}"], "--out"),
    (
        ["observe", "simulate", "--tle", LEO, "--norad", "25544", "--out", "{nonempty}"],
        "--out {nonempty}: directory is not empty",
    ),
    (
        [
            "observe",
            "simulate",
            "--tle",
            LEO,
            "--norad",
            "25544",
            "--out",
            "{nonempty}",
            "--force",
            "--hours",
            "0",
        ],
        "--hours",
    ),
    ([*PLAN, "--budget", "0"], "--budget"),
    ([*PLAN, "--budget", "x"], "--budget"),
    ([*PLAN, "--protect", "a"], "--protect: 'a' is not a catalog number"),
    ([*PLAN, "--maneuver", "-5"], "--maneuver"),
    ([*PLAN, "--conjunction", "25544"], "--conjunction '25544': use NORAD:PC"),
    ([*PLAN, "--conjunction", "25544:abc"], "is not a probability"),
    ([*PLAN, "--conjunction", "25544:2"], "Pc must lie in 0..1"),
    ([*PLAN, "--conjunction", "x:0.1"], "--conjunction: 'x' is not a catalog number"),
    ([*PLAN, "--pc-threshold", "0"], "--pc-threshold"),
    ([*PLAN, "--pc-threshold", "nan"], "--pc-threshold"),
    ([*PLAN, "--dwell-s", "-1"], "--dwell-s"),
    ([*PLAN, "--diameter-m", "0"], "--diameter-m"),
    ([*PLAN, "--retro", "r"], "--retro"),
    ([*PLAN, "--limit", "-1"], "--limit"),
    ([*PLAN, "--hours", "200"], "--hours"),
    ([*PLAN, "--start", "2026-02-30"], "--start"),
    ([*PLAN, "--sensor", "x"], "--sensor 'x'"),
    ([*PLAN, "--catalog"], "--catalog: give --norad or --catalog"),
    ([*PLAN, "--tle", "{tmp}"], "--tle"),
    ([*PLAN, "-f", "html"], "--format 'html'"),
    ([*PLAN, "--sensors", "{bad_entry}"], "sensor x: kind 'sonar'"),
    (["tasking", "plan", "--db", "{tmp}/none.db", "--catalog"], "--db"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_ssa")
    bad_entry = tmp / "entry.yaml"
    bad_entry.write_text("sensors:\n  x: {kind: sonar}\n")
    bad_tle = tmp / "bad.tle"
    bad_tle.write_text("1 25544U 98067A   26161.5 garbage\n2 25544 nonsense\n")
    nonempty = tmp / "full"
    nonempty.mkdir()
    (nonempty / "x.png").write_text("x")
    out_file = tmp / "exists.txt"
    out_file.write_text("x")
    return {
        "tmp": str(tmp),
        "bad_entry": str(bad_entry),
        "bad_tle": str(bad_tle),
        "exists": str(out_file),
        "nonempty": str(nonempty),
    }


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0][1:])[-80:] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


COMMANDS = {("sensors", "passes"), ("sensors", "coverage"), ("observe", "simulate"), ("tasking", "plan")}


def test_every_option_has_rows():
    import typer

    from kizuna.cli import app

    root = typer.main.get_command(app)
    from tests.test_cli_hostile_ssa_more import ROWS as MORE_ROWS  # the truth/reference ephemeris options

    seen = {a for args, _ in [*ROWS, *MORE_ROWS] for a in args if a.startswith("-")}
    for group, name in COMMANDS:
        command = root.commands[group].commands[name]  # type: ignore[attr-defined]
        for param in command.params:
            if param.opts[0].startswith("-"):
                assert set(param.opts) & seen, f"no hostile row for {group} {name} {param.opts[0]}"


def test_passes_json_counts_and_parameters():
    result = invoke(
        [*PASSES, "--norad", "25544,11", "--sensor", "kamisaibara-radar", "--hours", "12", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["parameters"]["sensors"] == ["kamisaibara-radar"] and doc["total"] == len(doc["passes"]) >= 3
    assert doc["detectable"] == sum(p["detectable"] for p in doc["passes"])


def test_coverage_table_and_maps(tmp_path):
    out = tmp_path / "maps"
    args = ["sensors", "coverage", "--tle", LEO, "--norad", "25544,11,5,694", "--start", T, "--hours", "6"]
    result = invoke([*args, "--networks", "JPN,JPN+USA", "--png", str(out), "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["network"] for r in doc["networks"]] == ["JPN", "JPN+USA"]
    assert doc["networks"][0]["leo_objects"] == 2  # 25544 and 11; Vanguard 1 (5) and 694 fly higher
    assert (out / "geo_strip.png").stat().st_size > 5000 and (out / "leo_coverage.png").stat().st_size > 5000


def test_observe_writes_one_tdm_per_sensor_that_saw_the_object(tmp_path):
    from kizuna.formats.tdm import read_tdm

    out = tmp_path / "tdm"
    args = ["observe", "simulate", "--tle", LEO, "--norad", "25544", "--start", T, "--hours", "6"]
    result = invoke(
        [*args, "--sensor", "kamisaibara-radar,cobra-dane", "--out", str(out), "--seed", "5", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    written = [r for r in doc["sensors"] if r["file"]]
    assert written and all(Path(r["file"]).exists() for r in written)
    for r in written:
        tdm = read_tdm(Path(r["file"]).read_text())
        assert tdm.observations == 4 * r["observations"]  # range, two angles, range rate
    again = invoke(
        [
            *args,
            "--sensor",
            "kamisaibara-radar,cobra-dane",
            "--out",
            str(out),
            "--seed",
            "5",
            "--force",
            "-f",
            "json",
        ]
    )
    assert json.loads(again.stdout)["sensors"] == doc["sensors"]


def test_plan_json_respects_the_budget():
    result = invoke(
        [
            "tasking",
            "plan",
            "--tle",
            LEO,
            "--catalog",
            "--start",
            T,
            "--hours",
            "2",
            "--budget",
            "50",
            "--protect",
            "25544",
            "-f",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["total"] == len(doc["tracks"]) == 50 and doc["parameters"]["budget"] == 50
    assert doc["objects_tracked"] <= 50
