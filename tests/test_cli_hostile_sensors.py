"""Hostile values for every option of `kizuna sensors list` and `kizuna sensors show`."""

from __future__ import annotations

import json

import pytest
from tests.cli_harness import invoke, refused

ROWS: list[tuple[list[str], str]] = [
    (["sensors", "list", "--kind", "sonar"], "--kind 'sonar': use one of"),
    (["sensors", "list", "--operator", "12"], "--operator '12': use an ISO 3166 alpha-3 code"),
    (["sensors", "list", "--operator", "JAPAN"], "--operator 'JAPAN'"),
    (["sensors", "list", "-f", "xml"], "--format 'xml': use one of"),
    (["sensors", "list", "--sensors", "{tmp}/missing.yaml"], "--sensors"),
    (["sensors", "list", "--sensors", "{bad_yaml}"], "is not valid YAML"),
    (["sensors", "list", "--sensors", "{bad_entry}"], "sensor x: kind 'sonar' is not one of"),
    (["sensors", "list", "--sensors", "{tmp}"], "--sensors"),
    (["sensors", "show", "nope"], "sensor 'nope': not in the network"),
    (["sensors", "show", "bisei-1m", "-f", "csv"], "--format 'csv': use one of"),
    (["sensors", "show", "bisei-1m", "--sensors", "{bad_entry}"], "sensor x: kind 'sonar'"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_sensors")
    bad_yaml = tmp / "bad.yaml"
    bad_yaml.write_text("sensors: [unclosed\n")
    bad_entry = tmp / "entry.yaml"
    bad_entry.write_text("sensors:\n  x: {kind: sonar}\n")
    return {"tmp": str(tmp), "bad_yaml": str(bad_yaml), "bad_entry": str(bad_entry)}


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0])[:80] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_rows():
    import typer

    from kizuna.cli import app

    group = typer.main.get_command(app).commands["sensors"]  # type: ignore[attr-defined]
    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for name in ("list", "show"):
        for param in group.commands[name].params:
            if param.opts[0].startswith("-"):
                assert set(param.opts) & seen, f"no hostile row for sensors {name} {param.opts[0]}"


def test_list_filters_and_json_carries_sources():
    result = invoke(["sensors", "list", "--operator", "jpn", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["shown"] == 6 and {r["operator"] for r in doc["sensors"]} == {"JPN"}
    assert all(len(r["source"]) > 60 for r in doc["sensors"])
    radars = json.loads(invoke(["sensors", "list", "--kind", "radar", "-f", "json"]).stdout)
    assert {r["kind"] for r in radars["sensors"]} == {"radar"} and radars["shown"] == 9


def test_show_gives_every_figure():
    doc = json.loads(invoke(["sensors", "show", "kamisaibara-radar", "-f", "json"]).stdout)
    assert (doc["reference_diameter_m"], doc["reference_range_km"]) == (0.1, 650.0)
    assert doc["operator"] == "JPN" and "Kamisaibara" in doc["source"]
