"""Hostile values for every option of `kizuna catalog future`, and a written file that loads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_harness import MALFORMED_TIMES, invoke, refused

from kizuna.formats.detect import read_path

SAMPLE = str(Path(__file__).parents[1] / "src" / "kizuna" / "data" / "sample" / "leo_2026-06_sample.3le")
BASE = ["catalog", "future", "--out", "{tmp}/f.3le", "--base", SAMPLE]

ROWS: list[tuple[list[str], str]] = [
    (["catalog", "future", "--base", SAMPLE], "--out"),
    (["catalog", "future", "--out", "{tmp}/g.3le"], "--epoch: needed when no --base"),
    (BASE[:4] + ["--base", "{tmp}/missing.3le"], "--base"),
    (BASE[:4] + ["--base", "{garbage}"], "--base"),
    (BASE + ["--debris", "-1"], "--debris -1"),
    (BASE + ["--debris", "10000000"], "--debris 10000000"),
    (BASE + ["--debris", "abc"], "--debris"),
    (BASE + ["--debris", "5", "--total", "50000"], "--total and --debris both set"),
    (BASE + ["--total", "0"], "--total 0"),
    (BASE + ["--total", "abc"], "--total"),
    (BASE + ["--total", "10"], "already"),
    (BASE + ["--seed", "-1"], "--seed -1"),
    (BASE + ["--seed", str(2**33)], f"--seed {2**33}"),
    (BASE + ["--layout", "dreamed"], "--layout 'dreamed': use one of"),
    *[(BASE + ["--epoch", t], "--epoch") for t in MALFORMED_TIMES],
    (BASE + ["--format", "kvn"], "--format 'kvn': use one of"),
    (["catalog", "future", "--out", "{existing}", "--base", SAMPLE], "exists (use --force"),
    (["catalog", "future", "--out", "{tmp}/no/such/dir/f.3le", "--base", SAMPLE], "does not exist"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_future")
    existing = tmp / "existing.3le"
    existing.write_text("x")
    garbage = tmp / "garbage.3le"
    garbage.write_text("not a catalog\n")
    return {"tmp": str(tmp), "existing": str(existing), "garbage": str(garbage)}


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0][2:])[:80] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_rows():
    import typer

    from kizuna.cli import app

    command = typer.main.get_command(app).commands["catalog"].commands["future"]  # type: ignore[attr-defined]
    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for param in command.params:
        if "--force" in param.opts:
            continue
        assert set(param.opts) & seen, f"no hostile row for catalog future {param.opts[0]}"


def test_the_written_catalog_loads_back_whole(tmp_path: Path) -> None:
    out = tmp_path / "future.3le"
    result = invoke(
        ["catalog", "future", "--out", str(out), "--base", SAMPLE, "--debris", "300", "--layout", "approved"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    parsed = read_path(out)
    assert parsed.issues == []
    assert len(parsed.records) == summary["objects"] == sum(summary["counts"].values())
    assert summary["counts"]["STARLINK-GEN2"] == 7_560 and summary["counts"]["debris"] == 300
