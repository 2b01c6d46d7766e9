"""Hostile values for every option and the input of `kizuna od case`: exit 2, one line naming
the option, the input file's key and line, or the measurement file."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli_harness import refused

pytest.importorskip("orekit_jpype")

W3B = Path(__file__).parent / "data" / "orekit" / "W3B"
OK = ["od", "case", "{input}"]
ROWS: list[tuple[list[str], str]] = [
    ([*OK, "-f", "xml"], "--format 'xml': use one of"),
    ([*OK, "--object-name", " "], "--object-name"),
    ([*OK, "--object-name", "x" * 81], "--object-name"),
    ([*OK, "--opm", "{existing}"], "--opm {existing}: exists (use --force"),
    ([*OK, "--opm", "{tmp}/nodir/o.opm"], "--opm {tmp}/nodir/o.opm: directory"),
    ([*OK, "--opm", "{tmp}", "--force"], "--opm {tmp}: is a directory"),
    ([*OK, "--solar-activity", "{tmp}/missing.txt"], "--solar-activity {tmp}/missing.txt: no such file"),
    ([*OK, "--solar-activity", "{tmp}"], "--solar-activity {tmp}: is a directory"),
    (
        [*OK, "--solar-activity", "{bad_msafe}"],
        "--solar-activity {bad_msafe}: file bad_F10.txt is not a Marshall",
    ),
    (["od", "case", "{tmp}/missing.in"], "INPUT {tmp}/missing.in: no such file"),
    (["od", "case", "{tmp}"], "INPUT {tmp}: is a directory"),
    (["od", "case", "{garbled}"], "INPUT {garbled}:3: key: not a 'key = value' line"),
    (["od", "case", "{tides}"], "solid.tides.sun: only false is supported here"),
    (["od", "case", "{unknown_key}"], "mystery.key: not a key this orbit-determination path knows"),
    (["od", "case", "{bad_station}"], "ground.station.latitude[1]: not a number"),
    (["od", "case", "{no_measurements}"], "measurements.files {tmp}/nowhere.aer: no such file"),
    (["od", "case", "{empty_measurements}"], "measurements.files empty.aer: no range or azimuth/elevation"),
    (["od", "case", "{unknown_station}"], "station 'Nowhere': no site or no tracking model given"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("hostile_od_case")
    text = (W3B / "od_test_W3.in").read_text()
    aer = (W3B / "W3B.aer").read_text()

    def case(name: str, body: str) -> str:
        (tmp / name).write_text(body)
        return str(tmp / name)

    (tmp / "W3B.aer").write_text(aer)
    (tmp / "empty.aer").write_text("# nothing\n")
    (tmp / "stranger.aer").write_text("2010-11-02T03:00:13.3851   RANGE   Nowhere   38014.9488\n")
    (tmp / "bad_F10.txt").write_text("hello\nworld\n")
    (tmp / "existing.opm").write_text("x\n")
    return {
        "tmp": str(tmp),
        "input": case("ok.in", text),
        "existing": str(tmp / "existing.opm"),
        "bad_msafe": str(tmp / "bad_F10.txt"),
        "garbled": case("garbled.in", "# a\n\nthis is not a key value line\n"),
        "tides": case("tides.in", text.replace("solid.tides.sun    = false;", "solid.tides.sun = true")),
        "unknown_key": case("unknown.in", text + "\nmystery.key = 1\n"),
        "bad_station": case(
            "station.in",
            text.replace(
                "ground.station.latitude                        [1] =   36.1247623774",
                "ground.station.latitude [1] = north",
            ),
        ),
        "no_measurements": case(
            "nomeas.in", text.replace("measurements.files = W3B.aer", "measurements.files = nowhere.aer")
        ),
        "empty_measurements": case(
            "empty.in", text.replace("measurements.files = W3B.aer", "measurements.files = empty.aer")
        ),
        "unknown_station": case(
            "stranger.in", text.replace("measurements.files = W3B.aer", "measurements.files = stranger.aer")
        ),
    }


@pytest.mark.parametrize("row", ROWS, ids=[" ".join(r[0][2:])[:80] for r in ROWS])
def test_hostile_value_is_refused_in_one_line(row, files):  # noqa: ANN001
    args, fragment = row
    refused([a.format(**files) for a in args], contains=fragment.format(**files))


def test_every_option_has_rows() -> None:
    import typer

    from kizuna.cli import app

    group = typer.main.get_command(app).commands["od"]  # type: ignore[attr-defined]
    seen = {a for args, _ in ROWS for a in args if a.startswith("-")}
    for param in group.commands["case"].params:
        if param.opts and param.opts[0].startswith("-") and "--force" not in param.opts:
            assert set(param.opts) & seen, f"no hostile row for od case {param.opts[0]}"
